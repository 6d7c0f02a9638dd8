"""What a user test of the demo society typed, each read as meant: a notice written as a
sentence, agendas listed with commas, leaves with their opinions, proposals decided by number,
questions about a leave or a vote answered, and small replies answered in kind."""

from __future__ import annotations

from storage import models
from tests.kit.console import ConsoleRig


async def test_a_notice_written_as_a_sentence_keeps_its_place(harness: ConsoleRig) -> None:
    """「通知：12月9日15:00召开领导小组会议，地点302，议题：…」 had the place 「召 地点302」 and
    「12月9日下午三点召开领导小组会议，议题：…」 the place 「召」: 召 is the verb's."""
    h = harness
    h.at("2026-12-01 09:00")
    said = await h.say("张伟", "通知：12月9日15:00召开领导小组会议，地点302，议题：年度工作总结")
    assert "地点：302\n" in said.text
    meeting = await models.Meeting.get(number=1)
    assert meeting.place == "302"
    await h.say("张伟", "取消会议 说错了")
    said = await h.say("张伟", "12月9日下午三点召开领导小组会议，议题：年度工作总结")
    assert "地点：待定\n" in said.text
    assert (await models.Meeting.get(number=2)).place == "待定"
