"""The HTTP application end to end: health check, and the console feed through Delivery."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from aiohttp.test_utils import TestClient, TestServer

from bot.adapters.base import Feed
from bot.adapters.console import ConsoleAdapter
from bot.app import HOST_IN_NAME, INBOUND_WORKERS_POSTGRES, RUNTIME, build_app, instance_name
from bot.clock import ManualClock
from bot.config import Settings
from bot.demo import SOCIETY
from bot.events import ChatRef, IncomingMessage, OutgoingMessage, Platform, UserRef
from storage import db, repo
from tests.kit.clock import TZ, FakeScheduler
from tests.kit.console import ConsoleRig


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


async def test_card_button_votes_by_vote_id(harness: ConsoleRig) -> None:
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    h.at("2026-12-05 14:50")
    for name in ("张伟", "李娜", "王强", "刘洋"):
        await h.say(name, "签到")
    h.at("2026-12-05 15:00")  # not before the announced time
    await h.say("张伟", "开会")
    replies = await h.send("张伟", "发起表决 1")
    card = next(r.card for r in replies if r.card is not None)
    assert "已记录" in await h.say("李娜", f"投票 赞成 表决#{card.vote_id}")
    assert "未计票" in await h.say("王强", "投票 赞成 表决#999")


class RecordingAdapter:
    """A platform adapter with no platform behind it: it keeps the feed the app starts it with
    and what the app asks it to send."""

    platform = Platform.DINGTALK
    edits_cards = True

    def __init__(self) -> None:
        self.feed: Feed | None = None
        self.sent: list[OutgoingMessage] = []

    async def start(self, feed: Feed) -> None:
        self.feed = feed

    def merge(self, first: OutgoingMessage, then: OutgoingMessage) -> OutgoingMessage | None:
        return None  # one by one

    async def send(self, message: OutgoingMessage) -> None:
        self.sent.append(message)

    async def close(self) -> None:
        self.feed = None


def _commands_counted(metrics: str, word: str) -> int:
    from prometheus_client.parser import text_string_to_metric_families

    return sum(
        int(sample.value)
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "yishi_commands_total" and sample.labels["command"] == word
    )


async def test_a_command_is_counted_once_on_either_feed_path(harness: ConsoleRig) -> None:
    """The console's direct feed and a platform's queued feed (the inbound queue) each count a
    command once, and a redelivered message is not counted again on either path."""
    h = harness
    society = await repo.society_by_name(SOCIETY)
    assert society is not None
    await repo.bind_chat(Platform.DINGTALK, "ding-corp", "cid-group", society.id)
    platform = RecordingAdapter()
    app = build_app(
        replace(h.settings, inbound="queue"),
        clock=h.clock,
        adapters=[h.adapter, platform],
        scheduler=FakeScheduler(),
    )
    async with TestClient(TestServer(app)) as client:
        inbox = app[RUNTIME].inbox
        assert inbox is not None
        assert platform.feed is not None

        async def counted() -> int:
            return _commands_counted(await (await client.get("/metrics")).text(), "会议状态")

        assert await counted() == 0
        direct = h.adapter.decode("张伟", "会议状态")
        assert "目前没有会议" in (await h.adapter.feed(direct))[0].text
        assert "重复消息" in (await h.adapter.feed(direct))[0].text
        assert await counted() == 1

        message = IncomingMessage(
            platform=Platform.DINGTALK,
            chat=ChatRef(Platform.DINGTALK, "ding-corp", "cid-group"),
            sender=UserRef(Platform.DINGTALK, "ding-corp", "u-lina", "李娜"),
            text="会议状态",
            message_id="msg-1",
            received_at=h.clock.now(),
        )
        assert await platform.feed(message) == []
        assert await platform.feed(message) == []  # redelivered
        async with asyncio.timeout(30):
            while await inbox.depth():
                await inbox.drain()
                await asyncio.sleep(0.01)
        assert await counted() == 2


async def test_the_inbound_queue_runs_the_workers_its_engine_takes(harness: ConsoleRig) -> None:
    """`[http] inbound_workers`: 0 means the engine's default; SQLite (one writer) runs one
    worker whatever is asked, PostgreSQL what is asked, each claiming under its own name."""
    h = harness
    sqlite = db.is_sqlite(h.settings.database_url)
    for asked, expected in (
        (0, 1 if sqlite else INBOUND_WORKERS_POSTGRES),
        (3, 1 if sqlite else 3),
    ):
        settings = replace(h.settings, inbound="queue", inbound_workers=asked)
        adapters = [h.adapter, RecordingAdapter()]  # a platform's: the queue is for platforms
        app = build_app(settings, clock=h.clock, adapters=adapters, scheduler=FakeScheduler())
        inbox = app[RUNTIME].inbox
        assert inbox is not None
        names = [lane.name for lane in inbox.lanes]
        assert len(names) == expected
        assert len(set(names)) == expected


def test_an_instance_name_fits_the_columns_that_hold_it() -> None:
    """A long host name (Linux allows 64 characters) is cut so that the name, with the process
    id, the random suffix and an inbound worker's "/k", fits the 64-character columns
    (claimed_by, lease_owner, instance): PostgreSQL refuses a longer value."""
    host = "h" * 64
    name = instance_name(host, 4_194_304)  # the largest pid Linux hands out
    assert name.startswith("h" * HOST_IN_NAME + "-4194304-")
    assert len(name) <= 56
    assert len(f"{name}/63") <= 64
    assert instance_name("web-1", 7) != instance_name("web-1", 7)  # a restart is another instance
