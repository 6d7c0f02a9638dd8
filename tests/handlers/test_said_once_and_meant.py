"""Things said in the group that had been misread: a 「+1」, a member's 「签发」, a minutes note
edited by number, a bare 「推迟一周」, a conditional remark, a leave without its reason, and a
lateness notice said twice."""

from __future__ import annotations

from storage import models
from tests.kit.console import ConsoleRig, convene, convene_and_open


async def _ballots() -> int:
    return await models.Ballot.all().count()


async def test_plus_one_is_asked_in_a_vote_and_chatter_outside_it(harness: ConsoleRig) -> None:
    """「+1」 (「＋1」) after 李娜's 赞成 is asked back as 赞成, never cast; outside a vote it is
    agreement, answered like 「👍」 (it had been told no vote was open)."""
    h = harness
    h.at("2026-12-01 09:00")
    for chatter in ("+1", "＋1"):  # no meeting: after a remark
        said = (await h.say("李娜", chatter)).text
        assert said == "好的。", said
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度总结")
    # to the notice, as 「👍」 is: acknowledged
    assert (await h.say("王强", "+1")).text.startswith("王强已确认收到第1次会议")
    assert (await h.say("刘洋", "👍")).text.startswith("刘洋已确认收到第1次会议")
    h.at("2026-12-05 14:50")
    for name in ("张伟", "王强", "刘洋", "陈静", "杨帆"):
        await h.say(name, "签到")
    h.at("2026-12-05 15:00")
    await h.say("张伟", "开会")
    assert (await h.say("王强", "+1")).text == "好的。"  # no vote open yet
    await h.say("张伟", "发起表决 1")
    await h.say("陈静", "赞成")
    before = await _ballots()
    for who, said in (("王强", "+1"), ("刘洋", "＋1")):
        asked = (await h.say(who, said)).text
        assert asked == "是否投赞成票？回复「赞成」确认。", asked
    assert await _ballots() == before
    assert "已记录" in await h.say("王强", "赞成")


async def test_a_members_sign_off_is_the_leaders(harness: ConsoleRig) -> None:
    """「我看了没问题，签发」 from a member, in the meeting or after it: 签发 is the leader's, and
    what the member can do (it had been 「没有听懂」 while the meeting was on)."""
    h = harness
    await convene_and_open(h, "年度总结")
    for _ in range(2):
        said = (await h.say("李娜", "我看了没问题，签发")).text
        assert said.startswith("抱歉，「签发」只有组长可以使用。"), said
        assert "您可以发送「纪要」查看" in said
        assert "没有听懂" not in said
        await h.say("张伟", "散会 现在")
    assert await models.EventLog.filter(kind="minutes_signed").count() == 0


async def test_the_recorder_edits_a_note_by_its_number(harness: ConsoleRig) -> None:
    """「第1条备注改为王强建议再细一点」 edits note 1 (it had been read, for its 建议, as a written
    opinion and refused to the recorder)."""
    h = harness
    await convene_and_open(h, "年度总结")
    await h.say("周婷", "纪要备注 李娜建议加强宣传")
    said = (await h.say("周婷", "第1条备注改为王强建议再细一点")).text
    assert said.startswith("已把本次会议第1条备注由「李娜建议加强宣传」改为「王强建议再细一点」"), (
        said
    )
    assert await models.WrittenOpinion.all().count() == 0


async def test_a_bare_put_off_asks_which_is_meant(harness: ConsoleRig) -> None:
    """「推迟一周」 in the meeting names no item: the item in focus to the next meeting, or meeting
    again in a week? Asked, nothing done (it had deferred the item); a yes defers the item, and
    「议题2推迟一周」 names it."""
    h = harness
    await convene_and_open(h, "年度总结；经费预算；会员发展")
    asked = (await h.say("张伟", "推迟一周")).text
    assert asked.startswith(
        "「一周」是指把某个议题暂缓到下次会议再行表决，还是一周后再开会？没有办理。"
    )
    await h.say("张伟", "下一个议题")
    asked = (await h.say("张伟", "推迟一周")).text
    assert asked.startswith(
        "「一周」是指把议题1「年度总结」暂缓到下次会议再行表决，还是一周后再开会？"
    )
    assert asked.endswith("回复「是」或「暂缓 1」确认。")
    assert await models.EventLog.filter(kind="item_deferred").count() == 0
    assert "议题1「年度总结」暂缓决定" in await h.say("张伟", "是")
    assert "议题2「经费预算」暂缓决定，将转入下次会议再行表决。" in await h.say(
        "张伟", "议题2推迟一周"
    )
    assert await models.EventLog.filter(kind="item_deferred").count() == 2


async def test_a_conditional_remark_on_ones_lateness_moves_nothing(harness: ConsoleRig) -> None:
    """The leader's 「要是提前半小时，我就赶不上了」 is no move of the meeting (it had been asked
    as one, to 14:30); 「延期一周的话我就能来」 is still a suggestion asked."""
    h = harness
    await convene(h, "年度总结")
    said = (await h.say("张伟", "要是提前半小时，我就赶不上了")).text
    assert said.startswith("这句话是假设，会议时间没有改动，仍为2026年12月5日"), said
    assert "是否" not in said
    assert (await h.say("张伟", "是")).text.startswith("没有待确认的事项")  # nothing was asked
    meeting = await models.Meeting.first()
    assert meeting is not None
    assert meeting.starts_at.hour == 7  # 15:00 in Shanghai, as convened
    assert "是否将第1次会议改期" in await h.say("张伟", "这个会延期一周的话我就能来")


async def test_a_leader_who_cannot_come_is_asked_for_the_reason(harness: ConsoleRig) -> None:
    """「我来不了，请李娜主持」 asks for the leave's reason (it had only delegated); the reason
    then records the leave and the delegation together."""
    h = harness
    await convene(h, "年度总结")
    asked = (await h.say("张伟", "我来不了，请李娜主持")).text
    assert "须请假并写明理由" in asked
    assert "现在都还没有办理" in asked
    assert await models.EventLog.filter(kind="chair_delegated").count() == 0
    done = (await h.say("张伟", "出差")).text
    assert "张伟已请假（出差）" in done
    assert "组长张伟委托李娜主持第1次会议" in done
    assert await models.EventLog.filter(kind="chair_delegated").count() == 1


async def test_a_yes_to_the_leaders_reason_question_keeps_the_delegation(
    harness: ConsoleRig,
) -> None:
    """A 「是」 to that question (it asks for a reason, not a yes) is asked again with the
    delegation named and kept: the reason sent next records both (it had been asked as a plain
    leave, and the reason then recorded the leave only, the chair never handed on)."""
    h = harness
    await convene(h, "年度总结")
    await h.say("张伟", "我来不了，请李娜主持")
    again = (await h.say("张伟", "是")).text
    assert "委托李娜主持" in again, again
    assert "现在都还没有办理" in again, again
    assert await models.EventLog.filter(kind__in=["chair_delegated", "leave"]).count() == 0
    done = (await h.say("张伟", "出差")).text
    assert "张伟已请假（出差）" in done
    assert "组长张伟委托李娜主持第1次会议" in done
    assert await models.EventLog.filter(kind="chair_delegated").count() == 1


async def test_a_lateness_said_again_is_kept_once(harness: ConsoleRig) -> None:
    """「我晚到半小时」 twice is one notice (「已记下」); a changed one replaces it, on the record."""
    h = harness
    await convene(h, "年度总结")
    await h.say("王强", "我晚到半小时")
    assert (await h.say("王强", "我晚到半小时")).text.startswith("已记下")
    assert await models.EventLog.filter(kind="late_notice").count() == 1
    assert "已更新，原为半小时" in await h.say("王强", "我晚到一小时")
    assert await models.EventLog.filter(kind="late_notice").count() == 2
    assert "王强会晚到（一小时）" in (await h.say("王强", "我晚到一小时")).text
    assert await models.EventLog.filter(kind="late_notice").count() == 2


async def test_a_view_said_as_a_ballot_by_one_on_leave_points_to_the_written_opinion(
    harness: ConsoleRig,
) -> None:
    """「议题2我同意」 (or 「赞成」) from a member on leave, no vote open: told that one on leave
    does not vote and on which items a written opinion can be given, as 「能线上投一票吗」 is
    (it had said to send 赞成 once the vote opens); nothing recorded. From one not on leave the
    answer is as before."""
    h = harness
    await convene(h, "年度总结；经费预算")
    await h.say("李娜", "请假 出差")
    events = await models.EventLog.all().count()
    for said in ("议题2我同意", "关于议题1，我同意换届方案", "我同意预算", "赞成"):
        answer = (await h.say("李娜", said)).text
        assert answer.startswith("李娜已请假，请假的成员不参加表决，这句话没有计票。"), answer
        assert "（议题1「年度总结」、议题2「经费预算」）可以提交书面意见" in answer
    assert await models.EventLog.all().count() == events
    assert (await h.say("王强", "议题2我同意")).text.startswith("目前没有正在进行的表决")


async def test_a_written_opinion_about_an_item_by_number(harness: ConsoleRig) -> None:
    """「书面意见 关于议题1，我同意换届方案」 goes on item 1 as 「我同意换届方案」 (the 关于 before
    the number had made it ask for the item's number)."""
    h = harness
    await convene(h, "换届方案；经费预算")
    await h.say("李娜", "请假 出差")
    said = (await h.say("李娜", "书面意见 关于议题1，我同意换届方案")).text
    assert said.startswith("已收到李娜对议题1「换届方案」的书面意见"), said
    opinion = await models.WrittenOpinion.get()
    assert opinion.text == "我同意换届方案"


async def test_an_acknowledgement_in_front_of_a_leave_is_no_part_of_its_reason(
    harness: ConsoleRig,
) -> None:
    """「好的，我那天出差，请个假」: the question and the record leave out 「好的」 (it had asked
    「请假 好的，我那天出差」 and recorded it so)."""
    h = harness
    await convene(h, "年度总结")
    asked = (await h.say("王强", "好的，我那天出差，请个假")).text
    assert asked == "是否请假？回复「是」或「请假 我那天出差」确认。", asked
    assert (await h.say("王强", "是")).text.startswith("王强已请假（那天出差）。")
    row = await models.Attendance.get()
    assert row.reason == "那天出差"


async def test_an_acknowledgement_after_checking_in_says_so(harness: ConsoleRig) -> None:
    """「👍」「收到」 from one already checked in, before the start: 「好的。…已签到」 (it had said
    the notice was acknowledged and that one could check in from an hour before)."""
    h = harness
    await convene(h, "年度总结")
    h.at("2026-12-05 14:30")
    await h.say("王强", "签到")
    for said in ("👍", "收到"):
        answer = (await h.say("王强", said)).text
        assert answer.startswith("好的。王强已签到，第1次会议"), answer
        assert "可发送「签到」" not in answer


async def test_asking_for_the_meeting_materials_is_answered(harness: ConsoleRig) -> None:
    """「需要准备什么材料吗」「会议材料发一下」: the bot sends no documents; it says the agenda and
    whom to ask (it had offered 回避, 纪要 and 报送期限); nothing recorded."""
    h = harness
    await convene(h, "年度总结；经费预算")
    events = await models.EventLog.all().count()
    for said in ("需要准备什么材料吗", "会议材料发一下"):
        answer = (await h.say("陈静", said)).text
        assert answer.startswith("机器人不收发会议材料（文件）。第1次会议"), answer
        assert "1. 年度总结；2. 经费预算" in answer
        assert "请向组长张伟索取" in answer
    assert await models.EventLog.all().count() == events
