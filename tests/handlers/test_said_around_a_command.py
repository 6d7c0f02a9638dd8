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
    for said in ("王强提的这个可以", "同意王强的提议", "支持议题"):
        view = (await h.say("李娜", said)).text
        assert view == (
            "好的，您支持王强提出的议题建议2「会员发展工作」。"
            "是否列入议程由组长张伟决定（组长发送「同意议题 2」即列入）。"
        ), (said, view)
    assert "只有组长可以使用" in await h.say("吴国华", "王强提的这个可以")  # holds no role
    assert "只有组长可以使用" in await h.say("李娜", "同意议题 2")  # the leader's command
    mine = (await h.say("王强", "王强提的这个可以")).text
    assert mine.startswith("议题建议2「会员发展工作」是您提出的。是否列入议程由组长张伟决定"), mine
    assert await models.EventLog.all().count() == before
    accepted = (await h.say("张伟", "王强提的这个可以，加上吧")).text
    assert accepted == "议题2「会员发展工作」已列入议程（王强提议）。"
    assert "已列入议程" in await h.say("李娜", "支持议题 2")


async def test_signing_said_in_passing_before_the_close_says_why_not(harness: ConsoleRig) -> None:
    """The leader's 「我看了没问题，签发」 while the meeting was on had opened with 「没有听懂」 (the
    suggestions leading with 签发): it is 签发, told why it cannot be done yet (the meeting has
    not ended, the minutes' draft comes at the close); after the close it is asked back."""
    h = harness
    await convene_and_open(h, "年度工作总结", present=("张伟", "李娜", "王强", "刘洋"))
    said = (await h.say("张伟", "我看了没问题，签发")).text
    assert said == (
        "第1次会议正在进行，还没有散会（议题表决完后主持人发送「散会」），纪要没有签发："
        "纪要草稿在散会时生成，草稿生成后组长再发送「签发」。"
    ), said
    assert (await h.say("张伟", "签发")).text == said
    await h.say("张伟", "散会 现在")
    asked = (await h.say("张伟", "我看了没问题，签发")).text
    assert asked == "是否签发纪要（签发后锁定）？回复「是」或「签发」确认。"
    assert "已签发第1次会议纪要" in await h.say("张伟", "是")


async def test_a_command_typed_at_the_end_of_a_remark_is_read(harness: ConsoleRig) -> None:
    """「先看预算，上次没通过，这次再表决一下 发起表决 1」 had not been understood (「没有听懂」):
    the command typed in full at the end is read, and asked back with its arguments (the remark
    may change what is meant); the yes opens the vote. A command that only shows runs."""
    h = harness
    await convene_and_open(
        h, "经费预算（重大）；年度工作总结", present=("张伟", "李娜", "王强", "刘洋")
    )
    before = await models.EventLog.all().count()
    asked = (await h.say("张伟", "先看预算，上次没通过，这次再表决一下 发起表决 1")).text
    assert asked == "是否发起表决？回复「是」或「发起表决 1」确认。", asked
    assert await models.EventLog.all().count() == before
    assert "开始表决：议题1「经费预算」" in await h.say("张伟", "是")
    shown = (await h.say("李娜", "大家投得差不多了吧 计票")).text
    assert shown.startswith("议题1「经费预算」当前：赞成0、反对0、弃权0，已投0/4"), shown
