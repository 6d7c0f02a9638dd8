"""What is said around a command, as the chair and the members say it: a member's view on another's
proposal is a view (not a refused decision), the leader's 「我看了没问题，签发」 while the meeting
is on is told why it cannot be signed yet, and a command typed at the end of a remark is read."""

from __future__ import annotations

from storage import models
from tests.kit.console import ConsoleRig, convene_and_open


async def test_a_members_approval_of_a_proposal_is_a_view(harness: ConsoleRig) -> None:
    """A member's 「王强提的这个可以」 had been refused as the leader's 「同意议题」 (「抱歉，「同意
    议题」只有组长可以使用」): it is said back as support, with who decides and how; nothing is
    written. The leader's 「王强提的这个可以，加上吧」 still puts it on the agenda."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作总结")
    await h.say("王强", "提议议题 会员发展工作")
    before = await models.EventLog.all().count()
    for said in ("王强提的这个可以", "同意议题 2", "支持议题"):
        view = (await h.say("李娜", said)).text
        assert view == (
            "好的，您支持王强提出的议题建议2「会员发展工作」。"
            "是否列入议程由组长张伟决定（组长发送「同意议题 2」即列入）。"
        ), (said, view)
    assert "只有组长可以使用" in await h.say("吴国华", "王强提的这个可以")  # holds no role
    assert await models.EventLog.all().count() == before
    accepted = (await h.say("张伟", "王强提的这个可以，加上吧")).text
    assert accepted == "议题2「会员发展工作」已列入议程（王强提议）。"
    assert "已列入议程" in await h.say("李娜", "支持议题 2")
