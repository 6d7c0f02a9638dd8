"""A vote's announcement on WeCom keeps its text wherever its card cannot go with it: through the
inbound queue (a configured server's default) the reply goes through the message's response_url,
which takes one message, so the text (the rule, the threshold, the voters mentioned) goes and
does not point at buttons nobody sees; in the passive reply the card goes with the text, which
then says the buttons can be used (both engines)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from bot.app import RUNTIME
from bot.clock import ManualClock
from bot.events import CARD_HINT
from storage import models
from tests.kit.clock import TZ
from tests.kit.seed import WECOM_ADMIN, WECOM_USERS
from tests.kit.wecom.rig import WeComRig, open_rig

MEMBERS = ("张伟", "李娜", "王强", "刘洋")


async def _applied(rig: WeComRig) -> None:
    """Every queued message applied and every reply sent."""
    async with asyncio.timeout(20):
        while await models.InboundMessage.filter(state="pending").exists():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    await rig.client.app[RUNTIME].delivery.sender.run_once()


async def _to_the_vote(rig: WeComRig, clock: ManualClock, queued: bool) -> str:
    """Bind, convene, check in, open and start the vote on item 1: its answer's text."""

    async def say(name: str, text: str) -> str:
        said = await rig.say(WECOM_USERS.get(name, name), text)
        if queued:
            await _applied(rig)
        return said.text

    await say(WECOM_ADMIN, "绑定学会 苏州市示例科技学会")
    await say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    clock.set(datetime(2026, 12, 5, 14, 50, tzinfo=TZ))
    for name in MEMBERS:
        await say(name, "签到")
    clock.set(datetime(2026, 12, 5, 15, 0, tzinfo=TZ))
    await say("张伟", "开会")
    return await say("张伟", "发起表决 1")


async def test_a_queued_vote_announcement_goes_as_text(database: str) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    async with open_rig(clock, inbound="queue") as (rig, _):
        await _to_the_vote(rig, clock, queued=True)
        answers = [c.body for c in rig.fake.accepted("aibot/response")]
        opening = [b for b in answers if "开始表决" in b.get("markdown", {}).get("content", "")]
        assert len(opening) == 1, answers[-3:]
        content = opening[0]["markdown"]["content"]
        assert "至少" in content  # the threshold
        assert f"<@{WECOM_USERS['李娜']}>" in content  # the voters mentioned
        assert CARD_HINT not in content  # no card went with it
        assert not [b for b in answers if b.get("msgtype") == "template_card"]


async def test_a_passive_vote_announcement_comes_with_its_card(database: str) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    async with open_rig(clock) as (rig, _):
        await _to_the_vote(rig, clock, queued=False)
        said = await rig.say(WECOM_USERS["张伟"], "计票")  # no card: no hint
        assert CARD_HINT not in said.text
        clock.set(datetime(2026, 12, 5, 15, 5, tzinfo=TZ))
        await rig.say(WECOM_USERS["张伟"], "撤回表决")
        opened = await rig.say(WECOM_USERS["张伟"], "发起表决 1")
        assert opened.card is not None
        assert "开始表决" in opened.text
        assert CARD_HINT in opened.text
