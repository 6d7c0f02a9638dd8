"""Messages written the way people write them (a copula or 「理由：」 after the words, several
things in one sentence), each acted on as meant and nothing else written."""

from __future__ import annotations

from storage import models
from tests.kit.console import ConsoleRig


async def test_a_written_opinion_and_a_leave_said_with_is_and_colon(harness: ConsoleRig) -> None:
    """「我的书面意见是：预算的会务费偏高，会员发展同意」 is one opinion per item it names (it had
    been refused, asking for an item number, the 「是：」 taken for the opinion's start);
    「请假 理由是：出差」 keeps 「出差」 as the reason (it had kept 「理由是：出差」), and
    「我的请假理由是要出差」 is the leave (it had been asked back with the whole sentence)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-08 15:00 会议室 议题：年度总结；2027年经费预算；会员发展")
    items = {it.number: it.id for it in await models.AgendaItem.all()}
    assert "王强已请假（出差）" in await h.say("王强", "请假 理由是：出差")
    said = (await h.say("王强", "我的书面意见是：预算的会务费偏高，会员发展同意")).text
    assert said.startswith("已收到王强对议题2「2027年经费预算」、议题3「会员发展」的书面意见")
    assert "已收到王强对议题1「年度总结」" in await h.say("王强", "书面意见如下：年度总结同意")
    opinions = sorted((o.item_id, o.text) for o in await models.WrittenOpinion.all())
    assert opinions == [
        (items[1], "同意"),
        (items[2], "预算的会务费偏高"),
        (items[3], "会员发展同意"),
    ]
    assert "赵敏已请假（要出差）" in await h.say("赵敏", "我的请假理由是要出差")
    reasons = {a.reason for a in await models.Attendance.all()}
    assert reasons == {"出差", "要出差"}
