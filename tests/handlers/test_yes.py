"""A yes to a question asked back (storage/questions.py): 「那天我有事来不了」 is asked 「是否请假？
回复「是」或「请假 那天我有事」确认。」, and the same person's 「是」 in the same chat runs it, with every
rule checked then. A no, something else said first, ten minutes, another person or chat: no.
A ballot is never asked this way, so nothing kept links a person to a choice."""

from __future__ import annotations

from datetime import timedelta

from tortoise import connections

from storage import db
from storage import models as m
from tests.kit.console import MEMBERS, ConsoleRig, check_in_and_open, convene

ASKED = "是否请假？回复「是」或「请假 那天我有事」确认。"


async def _convened(h: ConsoleRig) -> None:
    await convene(h, "年度工作；经费预算")


async def _leave_of(name: str) -> m.Attendance | None:
    person = await m.Person.get(name=name)
    return await m.Attendance.filter(person_id=person.id, status="leave").first()


async def test_a_yes_runs_the_command_asked_about_once(harness: ConsoleRig) -> None:
    h = harness
    await _convened(h)
    assert (await h.say("李娜", "那天我有事来不了")).text == ASKED
    assert await _leave_of("李娜") is None  # asking writes no record
    said = (await h.say("李娜", "是的")).text
    assert "李娜已请假（那天我有事）" in said
    leave = await _leave_of("李娜")
    assert leave is not None
    assert leave.reason == "那天我有事"
    # The question is answered: another 「是」 runs nothing.
    again = (await h.say("李娜", "是")).text
    assert "请假" not in again
    assert await m.Attendance.filter(status="leave").count() == 1


async def test_a_no_or_something_else_said_first_leaves_it_undone(harness: ConsoleRig) -> None:
    h = harness
    await _convened(h)
    assert (await h.say("王强", "那天我有事来不了")).text == ASKED
    assert (await h.say("王强", "算了")).text == "好的，没有办理。"
    assert "请假" not in (await h.say("王强", "是")).text
    # Asked again, then something else said: the question waits no more.
    await h.say("王强", "那天我有事来不了")
    assert "会议" in (await h.say("王强", "会议状态")).text
    assert "王强已请假" not in await h.say("王强", "好的")  # (it acknowledges the notice)
    # With nothing asked, a no is not answered as if something had been.
    assert (await h.say("王强", "不用了")).text != "好的，没有办理。"
    assert await _leave_of("王强") is None


async def test_a_yes_counts_for_ten_minutes_for_the_one_asked_in_that_chat(
    harness: ConsoleRig,
) -> None:
    h = harness
    await _convened(h)
    await h.say("刘洋", "那天我有事来不了")
    h.clock.advance(timedelta(minutes=11))
    assert (await h.say("刘洋", "是")).text.startswith("没有待确认的事项")
    assert await _leave_of("刘洋") is None
    # Another person's yes is not the asked person's; nor is a yes in another chat.
    await h.say("刘洋", "那天我有事来不了")
    assert "请假" not in (await h.say("陈静", "是")).text
    assert "请假" not in (await h.say("刘洋", "是", private=True)).text
    assert await _leave_of("陈静") is None
    assert await _leave_of("刘洋") is None
    assert "刘洋已请假（那天我有事）" in await h.say("刘洋", "@议事 是")


async def test_a_confirmed_command_is_checked_again_and_a_refusal_ends_the_question(
    harness: ConsoleRig,
) -> None:
    """「开始吧」 asks about 宣布开会; 「好的」 runs it, refused for want of a quorum; the question
    is answered by that, so another yes does nothing."""
    h = harness
    await _convened(h)
    h.at("2026-12-05 15:00")
    assert (await h.say("张伟", "开始吧")).text == "是否宣布开会？回复「是」或「宣布开会」确认。"
    assert "未达到法定人数" in await h.say("张伟", "好的")
    assert "法定人数" not in (await h.say("张伟", "好的")).text


async def test_a_redelivered_yes_is_applied_once(harness: ConsoleRig) -> None:
    h = harness
    await _convened(h)
    await h.say("杨帆", "那天我有事来不了")
    yes = h.adapter.decode("杨帆", "是")
    first = await h.adapter.feed(yes)
    assert "杨帆已请假" in first[0].text
    again = await h.adapter.feed(yes)  # the platform sends it again
    assert again[0].text.startswith("（重复消息，已处理过）")
    assert await m.Attendance.filter(status="leave").count() == 1


async def test_a_yes_through_the_inbound_queue(harness: ConsoleRig) -> None:
    """Queued, the yes is read at the door and again by the worker: both find the question."""
    h = harness
    await _convened(h)
    await h.say("赵敏", "那天我有事来不了")
    box = h.inbox()
    yes = h.adapter.decode("赵敏", "是")
    assert await h.router.answer_at_the_door(yes) is None  # queued, not answered there
    assert await box.submit(yes)
    assert await box.drain() == 1
    leave = await _leave_of("赵敏")
    assert leave is not None
    assert leave.reason == "那天我有事"


async def test_a_ballot_is_never_kept_as_a_question(harness: ConsoleRig) -> None:
    """「我同意」 during a vote is asked back naming the one word to send; a 「是」 casts nothing,
    and no row anywhere holds who was asked about which choice."""
    h = harness
    await _convened(h)
    await check_in_and_open(h, present=MEMBERS)
    await h.say("张伟", "记名表决 1")
    for loose in ("我同意", "👍", "不同意吧"):
        asked = (await h.say("李娜", loose)).text
        assert asked.startswith("是否投")
        assert "「是」" not in asked
    said = (await h.say("李娜", "是")).text
    assert said == (
        "没有待确认的事项（反问后 10 分钟内回复「是」才有效），没有办理任何事。请直接发送要办理的"
        "指令；表决中请直接发送「赞成」「反对」或「弃权」，回复「是」不记票。"
    )
    assert await m.Ballot.all().count() == 0
    assert await m.PendingQuestion.all().count() == 0


async def test_a_database_that_cannot_keep_the_question_costs_only_the_short_answer(
    harness: ConsoleRig, database: str
) -> None:
    """With the question table away (as if locked or unreachable), the question is still asked, a 「是」
    is answered as if none had been, and the command typed in full works."""
    h = harness
    await _convened(h)
    conn = connections.get(db.connection_name(database))
    await conn.execute_script("ALTER TABLE pending_question RENAME TO pending_question_away")
    try:
        assert (await h.say("陈静", "那天我有事来不了")).text == ASKED
        said = (await h.say("陈静", "是")).text
        assert "系统出了点问题" not in said
        assert "请假" not in said
        assert "陈静已请假（那天我有事）" in await h.say("陈静", "请假 那天我有事")
    finally:
        await conn.execute_script("ALTER TABLE pending_question_away RENAME TO pending_question")


async def test_a_yes_in_a_quoted_reply_to_the_question(harness: ConsoleRig) -> None:
    """On a phone the question is often answered by quoting it: the quote is set aside."""
    h = harness
    await _convened(h)
    await h.say("王强", "那天我有事来不了")
    quoted = f"「议事：{ASKED}」\n- - - - - - - - - -\n是的"
    assert "王强已请假（那天我有事）" in await h.say("王强", quoted)


async def test_a_leave_said_as_what_is_on_that_day(harness: ConsoleRig) -> None:
    """「不好意思，那天我家里有事」 is asked back with the reason as said (the words 有事 are part
    of it, the apology is not), and a yes records it; 「谁有事」 asks nothing."""
    h = harness
    await _convened(h)
    asked = (await h.say("刘洋", "不好意思，那天我家里有事")).text
    assert asked == "是否请假？回复「是」或「请假 那天我家里有事」确认。"
    assert "刘洋已请假（那天我家里有事）" in await h.say("刘洋", "是")
    assert "是否请假" not in await h.say("陈静", "谁有事")


async def test_a_secret_ballot_said_loosely_in_private_is_not_kept(harness: ConsoleRig) -> None:
    """In a secret vote, 「我同意」 in the private chat is asked back naming 「赞成」; nothing is
    kept that links the voter to the choice, and a 「是」 casts nothing."""
    h = harness
    await _convened(h)
    await h.say("张伟", "添加议题 换届人选（人事）")
    await check_in_and_open(h, present=MEMBERS)
    assert "开始表决" in await h.say("张伟", "无记名表决 3")
    asked = (await h.say("李娜", "我同意", private=True)).text
    assert asked == "是否投赞成票？回复「赞成」确认。"
    assert "已收到" not in await h.say("李娜", "是", private=True)
    assert await m.PendingQuestion.all().count() == 0
    assert await m.SecretBallotSealed.all().count() == 0


async def test_a_meeting_said_without_its_hour_is_asked_at_the_usual_hour(
    harness: ConsoleRig,
) -> None:
    """「下周三下午开会，讨论换届」 names no hour: it is asked back at 下午3点 and a yes convenes
    it then; the written command without the hour is asked for it; nothing is written before."""
    h = harness
    h.at("2026-12-07 09:00")
    asked = (await h.say("张伟", "下周三下午开会，讨论换届")).text
    assert asked == (
        "没有说几点，先按下午3点。是否召集会议并通知全体成员？"
        "回复「是」或「召开会议 下周三下午3点 讨论换届」确认。"
    )
    assert await m.Meeting.all().count() == 0
    notice = (await h.say("张伟", "是")).text
    assert "时间：2026年12月16日（星期三）15:00" in notice
    assert "1. 换届（一般事项）" in notice
    await h.say("张伟", "取消会议 时间另定")
    refused = (await h.say("张伟", "召开会议 明天上午 三楼 议题：预算")).text
    assert refused == (
        "请写明开会的钟点（2026年12月8日上午几点），例如：召开会议 明天上午9点 三楼 议题：预算"
    )
    impossible = (await h.say("张伟", "召开会议 2月30日下午3点 三楼")).text
    assert impossible.startswith("没能识别会议时间：2月没有30日。请重新发送。")
    assert await m.Meeting.all().count() == 1


async def test_closing_a_vote_some_have_not_cast_is_asked_first(harness: ConsoleRig) -> None:
    """「投票结束」 while present members have not voted names them and asks (nothing closed);
    the chair's 「是」 closes it; who left is not waited for; with everyone voted it closes
    without asking."""
    h = harness
    await _convened(h)
    await check_in_and_open(h, present=MEMBERS[:5])
    await h.say("张伟", "发起表决 1")
    await h.say("王强", "反对")
    await h.say("刘洋", "离席 临时有事")  # who left is not waited for
    asked = (await h.say("张伟", "投票结束")).text
    assert asked == (
        "议题1「年度工作」还有3人未投：张伟、李娜、陈静（未投的不计赞成票，结果一经公布不能更改）。"
        "确定现在结束表决吗？回复「是」或「结束表决 1 现在」确认。"
    )
    await h.say("李娜", "是")  # another's yes is not the chair's
    assert await m.Vote.filter(state="closed").count() == 0
    closed = (await h.say("张伟", "是")).text
    assert closed.startswith("表决结果：议题1「年度工作」")
    await h.say("张伟", "发起表决 2")
    for name in ("张伟", "李娜", "王强", "陈静"):
        await h.say(name, "赞成")
    assert (await h.say("张伟", "结束表决")).text.startswith("表决结果：议题2「经费预算」")
    assert await m.Vote.filter(state="closed").count() == 2


async def test_everyone_voted_so_end_it_is_asked_as_closing_the_vote(harness: ConsoleRig) -> None:
    """The chair's 「都投了，结束吧」 asks whether to close the vote (it had offered 计票, 弃权
    and 我的投票); a 「是」 closes it, the meeting stays open."""
    h = harness
    await _convened(h)
    await check_in_and_open(h, present=MEMBERS[:5])
    await h.say("张伟", "发起表决 1")
    for name in MEMBERS[:5]:
        await h.say(name, "赞成")
    asked = (await h.say("张伟", "都投了，结束吧")).text
    assert "结束表决" in asked, asked
    assert "是" in asked, asked
    assert await m.Vote.filter(state="closed").count() == 0
    assert (await h.say("张伟", "是")).text.startswith("表决结果：议题1「年度工作」")
    assert await m.Meeting.filter(state="open").count() == 1


async def test_closing_asked_and_confirmed_through_the_inbound_queue(harness: ConsoleRig) -> None:
    """Queued, the handler's question (AskBack) is kept by the worker and its 「是」, read at the
    door and by the worker, closes the vote; 「结束表决 现在」 closes at once."""
    h = harness
    await _convened(h)
    await check_in_and_open(h, present=MEMBERS[:5])
    await h.say("张伟", "发起表决 1")
    await h.say("王强", "赞成")
    box = h.inbox()
    assert await box.submit(h.adapter.decode("张伟", "结束表决"))
    assert await box.drain() == 1
    assert await m.Vote.filter(state="closed").count() == 0
    (kept,) = await m.PendingQuestion.all()
    assert kept.command == "结束表决 1 现在"
    yes = h.adapter.decode("张伟", "是")
    assert await h.router.answer_at_the_door(yes) is None  # queued, not answered there
    assert await box.submit(yes)
    assert await box.drain() == 1
    assert await m.Vote.filter(state="closed").count() == 1
    await h.say("张伟", "发起表决 2")
    await h.say("王强", "赞成")
    assert (await h.say("张伟", "结束表决 现在")).text.startswith("表决结果：议题2")


async def test_a_leave_said_without_a_reason_asks_for_it_not_for_a_yes(
    harness: ConsoleRig,
) -> None:
    """「今天去不了了」 gives no reason, and a leave needs one (第十八条): the question asks for
    it by example and keeps nothing; a 「是」 to it asks for the reason (it had answered that no
    question was waiting), and only the reason then records the leave;
    「临时有事，今天的会参加不了」 keeps 「临时有事」 as the reason (not 「…，今天的会」)."""
    h = harness
    await _convened(h)
    asked = (await h.say("李娜", "今天去不了了")).text
    assert asked == "是否请假？请写明理由发送，例如「请假 出差在外」。"
    assert (await h.say("李娜", "是")).text == "请写明请假理由，例如：请假 出差在外"
    assert await _leave_of("李娜") is None
    with_reason = (await h.say("王强", "临时有事，今天的会参加不了")).text
    assert with_reason == "是否请假？回复「是」或「请假 临时有事」确认。"
    assert "王强已请假（临时有事）" in await h.say("王强", "是")
