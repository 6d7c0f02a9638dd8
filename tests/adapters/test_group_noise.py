"""Group noise: how many messages a 7-member meeting puts into the group from convening to
signed minutes (one item, a named vote), on each platform. A card edited in place is not a new
message; a private message is not a group message. The figures are in the README (性能)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from bot.clock import ManualClock
from tests.kit.clock import TZ
from tests.kit.dingtalk.rig import running_bot
from tests.kit.dingtalk.server import FakeDingTalk
from tests.kit.seed import DINGTALK_ADMIN, WECOM_ADMIN, WECOM_USERS, seed_dingtalk_society
from tests.kit.wecom.rig import open_rig

MEMBERS = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏")
CHOICES = ("赞成", "赞成", "赞成", "赞成", "反对", "反对", "弃权")
GROUP = "cidNOISEmeeting01=="
# The meeting, command by command: (speaker, text, the local time to move the clock to, or "").
MEETING: list[tuple[str, str, str]] = [
    ("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作", ""),
    *((name, "签到", "2026-12-05 14:50" if name == "张伟" else "") for name in MEMBERS),
    ("张伟", "开会", "2026-12-05 15:00"),
    ("张伟", "发起表决 1", ""),
    *((name, choice, "") for name, choice in zip(MEMBERS, CHOICES, strict=True)),
    ("张伟", "结束表决", ""),
    ("张伟", "散会", "2026-12-05 16:00"),
    ("张伟", "签发", ""),
]
# Messages in the group per platform: notice 1, check-ins 7, opening 1, the vote's opening 1
# (+ the card where there are cards), ballots 7 (0 where the card's count is edited in place),
# result 1, close 1, sign-off 1.
EXPECTED = {"dingtalk-card": 14, "dingtalk-no-card": 20, "wecom": 20}


def _at(clock: ManualClock, text: str) -> None:
    if text:
        clock.set(datetime.fromisoformat(text).replace(tzinfo=TZ))


def _dingtalk_group_messages(fake: FakeDingTalk) -> int:
    """Texts posted into the group whichever way they went, plus each card created there."""
    return (
        len(fake.recorded["session"])
        + len(fake.recorded["custom_robot"])
        + len(fake.recorded["group_send"])
        + len(fake.recorded["card_create"])
    )


@pytest.mark.parametrize("cards", [True, False], ids=["card", "no-card"])
async def test_dingtalk_meeting_group_noise(database: str, cards: bool) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    table: dict[str, Any] = {} if cards else {"card_template_id": ""}
    async with FakeDingTalk(clock=clock.now) as fake, running_bot(fake, clock, **table) as rig:
        staff = await seed_dingtalk_society(fake.corp_id, 1, clock.now())
        await rig.say(DINGTALK_ADMIN, "绑定学会 示例科技学会0001", group=GROUP)
        before = _dingtalk_group_messages(fake)
        for speaker, text, when in MEETING:
            _at(clock, when)
            await rig.say(staff[speaker], text, group=GROUP)
            await rig.drain_outbox()
        noise = _dingtalk_group_messages(fake) - before
        assert "已签发" in fake.recorded["session"][-1].text
        assert noise == EXPECTED["dingtalk-card" if cards else "dingtalk-no-card"]


async def test_wecom_meeting_group_noise(database: str) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    async with open_rig(clock) as (rig, _adapter):
        await rig.say(WECOM_ADMIN, "绑定学会 苏州市示例科技学会")
        await rig.say(WECOM_ADMIN, "绑定推送 fake-webhook-key")
        from bot.app import RUNTIME

        sender = rig.client.app[RUNTIME].delivery.sender
        await sender.run_once()
        pushed = len(rig.fake.recorded["webhook/send"]) + len(rig.fake.recorded["aibot/response"])
        answers = 0
        last = ""
        for speaker, text, when in MEETING:
            _at(clock, when)
            said = await rig.say(WECOM_USERS[speaker], text)
            answers += 1 if said.replies else 0  # one passive reply per command at most
            last = said.text or last
            await sender.run_once()
        pushed = (
            len(rig.fake.recorded["webhook/send"])
            + len(rig.fake.recorded["aibot/response"])
            - pushed
        )
        assert "已签发" in last
        assert answers + pushed == EXPECTED["wecom"]
