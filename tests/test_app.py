"""The HTTP application end to end: health check, and the console feed through Delivery."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from bot.adapters.console import ConsoleAdapter
from bot.app import build_app
from bot.clock import ManualClock
from bot.config import Settings
from tests.fakes import TZ, Harness


async def test_healthz_reports_database_and_adapters(database: str) -> None:
    from datetime import datetime

    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    adapter = ConsoleAdapter(bot_name="议事", clock=clock)
    app = build_app(Settings(), clock=clock, adapters=[adapter])
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/healthz")
        assert resp.status == 200
        body = await resp.json()
        assert {k: body[k] for k in ("status", "database", "adapters")} == {
            "status": "ok",
            "database": "ok",
            "adapters": ["console"],
        }
        assert body["scheduler"] == "running"
        assert body["sender"] == "running"
        assert body["channels"] == {}


async def test_card_button_votes_by_vote_id(harness: Harness) -> None:
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    h.at("2026-12-05 14:50")
    for name in ("张伟", "李娜", "王强", "刘洋"):
        await h.say(name, "签到")
    await h.say("张伟", "开会")
    replies = await h.send("张伟", "发起表决 1")
    card = next(r.card for r in replies if r.card is not None)
    assert "已记录" in await h.say("李娜", f"投票 赞成 表决#{card.vote_id}")
    assert "已失效" in await h.say("王强", "投票 赞成 表决#999")
