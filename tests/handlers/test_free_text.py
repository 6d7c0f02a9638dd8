"""Data as typed, bounded: the place keeps no piece of the time, reasons are at most 500
characters, a written opinion is stored whole up to 2000, and the group sees short echoes."""

from __future__ import annotations

import json

from bot.events import ChatKind
from bot.router import NO_VOTE_OPEN, NO_VOTE_YET
from handlers import texts as t
from storage import models, repo
from tests.kit.console import ConsoleRig, check_in_and_open, convene_and_open

MEMBERS = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏")

# A leave said without its reason: asked for it by example (a 「是」 could only be refused).
LEAVE_ASKED = "是否请假？请写明理由发送，例如「请假 出差在外」。"


async def test_the_place_keeps_no_piece_of_the_time(harness: ConsoleRig) -> None:
    h = harness
    h.at("2026-12-01 09:00")  # a Tuesday
    notice = await h.say("张伟", "召开会议 周五 3:30pm 会议室 议题：年度工作")
    assert "2026年12月4日（星期五）15:30" in notice
    assert "地点：会议室\n" in notice.text
    meeting = await models.Meeting.get(number=1)
    assert meeting.place == "会议室"


async def test_a_meeting_convened_as_said(harness: ConsoleRig) -> None:
    """「召开一次会议，12月10日下午3点，在会议室，议题是年度工作总结」: the place is 「会议室」 and the
    topic 「年度工作总结」 (before, the place was 「在会议室，议题是年度工作总结」 and there was no
    topic); 「在线会议」 keeps its 在."""
    h = harness
    h.at("2026-12-01 09:00")
    notice = (
        await h.say("张伟", "召开一次会议，12月10日下午3点，在会议室，议题是年度工作总结")
    ).text
    assert "2026年12月10日（星期四）15:00" in notice
    assert "地点：会议室\n" in notice
    assert "1. 年度工作总结（一般事项）" in notice
    assert "已取消" in await h.say("张伟", "取消会议 改期")
    notice = (await h.say("张伟", "召开会议 明天下午两点 在线会议 主要议题有：预算；换届")).text
    assert "地点：在线会议\n" in notice
    assert "1. 预算（一般事项）" in notice
    assert "2. 换届（一般事项）" in notice
    assert "已取消" in await h.say("张伟", "取消会议 改期")
    notice = (await h.say("张伟", "召开会议 明天下午两点 地点：三楼会议室 议程：预算")).text
    assert "地点：三楼会议室\n" in notice
    assert "1. 预算（一般事项）" in notice

    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    refused = await h.say("李娜", "请假 " + "出差" * 300)
    assert "请假理由最多500字，这条有600字，没有记录" in refused
    assert await models.Attendance.all().count() == 0

    reason = "到外地参加学术会议" + "、" * 100 + "返程另行告知"
    said = (await h.say("李娜", f"请假 {reason}")).text
    assert reason not in said
    assert t.echo(reason) in said
    assert f"（共{len(reason)}字）" in said
    (row,) = await models.Attendance.all()
    assert row.reason == reason  # stored as typed


async def test_a_meeting_convened_time_first(harness: ConsoleRig) -> None:
    """「下周四下午三点在三楼会议室开个会，议题：…」: the time, the place and the agenda around the
    verb. Not a convening: a question about when (「明天下午三点开会吗？」), a day without an hour
    (「明天开会」), something else after the verb (「明天下午三点开会我来不了」)."""
    h = harness
    h.at("2026-12-09 09:00")  # a Wednesday
    for text in ("明天下午三点开会吗？", "明天开会", "明天下午三点开会我来不了"):
        assert "会议通知" not in await h.say("张伟", text)
    assert await models.Meeting.all().count() == 0
    notice = (
        await h.say(
            "张伟", "下周四下午三点在三楼会议室开个会，议题：年度工作计划；经费预算（重大）"
        )
    ).text
    assert notice.startswith("【会议通知】")
    assert "时间：2026年12月17日（星期四）15:00\n地点：三楼会议室\n" in notice
    assert "1. 年度工作计划（一般事项）\n2. 经费预算（重大事项）" in notice
    assert "已取消" in await h.say("张伟", "取消会议 改期")
    notice = (await h.say("张伟", "明天上午9点开领导小组会议吧")).text
    assert "时间：2026年12月10日（星期四）09:00\n地点：待定\n" in notice


async def test_a_meeting_convened_with_what_it_is_to_discuss(harness: ConsoleRig) -> None:
    """「下周三下午3点开会，讨论换届」: the clause saying what is to be discussed is the agenda
    (before, the message was read as 开会 and answered that there was no meeting); a place named
    like a verb (「研究院三楼」「讨论室」) stays the place."""
    h = harness
    h.at("2026-12-07 09:00")  # a Monday
    notice = (await h.say("张伟", "下周三下午3点开会，讨论换届工作")).text
    assert "时间：2026年12月16日（星期三）15:00\n地点：待定\n" in notice
    assert "1. 换届工作（一般事项）" in notice
    assert "已取消" in await h.say("张伟", "取消会议 改期")
    notice = (await h.say("张伟", "12月10日上午9点在研究院三楼开会，研究一下经费预算（重大）")).text
    assert "地点：研究院三楼\n" in notice
    assert "1. 经费预算（重大事项）" in notice
    assert "已取消" in await h.say("张伟", "取消会议 改期")
    notice = (await h.say("张伟", "召开会议 明天下午三点 讨论室")).text
    assert "地点：讨论室\n" in notice
    assert "（暂无" in notice


async def test_topics_said_in_a_clause_are_one_item_each(harness: ConsoleRig) -> None:
    """「讨论换届和经费预算」 names two things to decide: two items, each voted on by itself (it
    had been one item 「换届和经费预算」). A clause splits at 、，和 及 以及 还有 when every part
    keeps two characters; 与 joins within a title, and a listed agenda (「议题：」) splits only
    at its semicolons, as the usage says."""
    h = harness
    h.at("2026-12-07 09:00")
    notice = (await h.say("张伟", "下周三下午3点开会，讨论换届和经费预算（重大）")).text
    assert "议题：\n1. 换届（一般事项）\n2. 经费预算（重大事项）\n" in notice
    assert "已取消" in await h.say("张伟", "取消会议 改期")
    said = "12月10日上午9点开会，研究一下会费、换届以及年度总结"
    notice = (await h.say("张伟", said)).text
    assert "1. 会费（一般事项）\n2. 换届（一般事项）\n3. 年度总结（一般事项）\n" in notice
    assert "已取消" in await h.say("张伟", "取消会议 改期")
    notice = (await h.say("张伟", "12月10日上午9点开会，讨论党建与业务融合")).text
    assert "1. 党建与业务融合（一般事项）\n收到" in notice
    assert "已取消" in await h.say("张伟", "取消会议 改期")
    notice = (await h.say("张伟", "召开会议 12月10日上午9点 议题：表彰优秀党员和党务工作者")).text
    assert "1. 表彰优秀党员和党务工作者（一般事项）\n收到" in notice


async def test_when_the_annual_summary_is_due_and_whether_it_was_filed(
    harness: ConsoleRig,
) -> None:
    """「年度总结什么时候交」「年度总结报了吗」 (第二十一条): the deadline and the days left, past
    it how many days ago; once filed, by whom and whether the committee has acknowledged it. It
    writes nothing."""
    h = harness
    h.at("2026-12-01 09:00")
    before = await models.EventLog.all().count()
    due = (await h.say("陈静", "我们学会的年度总结什么时候截止")).text
    assert due == (
        "苏州市示例科技学会2026年度工作总结（含党建部分）尚未提交，报送截止日期是2026年12月31日，"
        "还有30天。\n由党建联系人陈静或组长发送「年度总结 标题 内容」报送，标题写明年度，"
        "例如「年度总结 2026年度工作总结 …」。\n工作制度尚未备案（第二十一条）：发送「备案 标题 内容」。"
    )
    assert await models.EventLog.all().count() == before
    h.at("2026-12-31 10:00")
    assert "今天（2026年12月31日）是报送截止日期" in await h.say("王强", "年度总结报了吗")
    h.at("2027-01-03 10:00")
    late = (await h.say("陈静", "报送期限")).text  # last year's overdue, then this year's
    assert late.startswith(
        "苏州市示例科技学会2026年度工作总结（含党建部分）尚未提交，报送截止日期2026年12月31日已过3天，"
        "请尽快报送。\n苏州市示例科技学会2027年度工作总结（含党建部分）尚未提交，报送截止日期是"
        "2027年12月31日，还有362天。"
    )
    # Filed in January, last year's counts: named so in the reply, and this year's is still owed.
    sent = (await h.say("陈静", "年度总结 2026年度工作总结 全年召开会议2次")).text
    assert sent.startswith(
        "已向市科技社团党委提交2026年度工作总结（含党建部分） #1「2026年度工作总结」"
    )
    filed = (await h.say("李娜", "年度总结交了没有？")).text
    assert filed.startswith(
        "苏州市示例科技学会2026年度工作总结（含党建部分）已由陈静于2027年1月3日提交"
        "（逾期3天提交，#1「2026年度工作总结」），市科技社团党委尚未确认收到。\n"
        "苏州市示例科技学会2027年度工作总结（含党建部分）尚未提交，报送截止日期是2027年12月31日"
    )
    # In December a summary without a year is this year's.
    h.at("2027-12-20 10:00")
    sent = (await h.say("陈静", "年度总结 年度工作总结 全年召开会议3次")).text
    assert sent.startswith("已向市科技社团党委提交2027年度工作总结（含党建部分） #2")
    assert "2027年度工作总结（含党建部分）已由陈静于2027年12月20日提交" in await h.say(
        "李娜", "报送期限"
    )


async def test_a_written_opinion_is_stored_whole_and_echoed_short(harness: ConsoleRig) -> None:
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    await h.say("李娜", "请假 出差")
    too_long = "同" * (t.OPINION_MAX + 1)
    assert f"书面意见最多{t.OPINION_MAX}字" in await h.say("李娜", f"书面意见 1 {too_long}")
    opinion = "同意该方案。" + "建议压缩会务费用。" * 150
    assert len(opinion) > 1000
    assert "已收到李娜对议题1" in await h.say("李娜", f"书面意见 1 {opinion}")
    (item,) = await models.AgendaItem.all()
    assert await repo.opinions(item.id) == [(await _person("李娜"), opinion)]

    h.at("2026-12-05 14:50")
    for name in MEMBERS:
        if name != "李娜":
            await h.say(name, "签到")
    h.at("2026-12-05 15:00")
    assert "会议现在开始" in await h.say("张伟", "开会")
    opened = (await h.say("张伟", "发起表决 1")).text
    assert f"- 李娜：{t.echo(opinion)}" in opened
    assert len(opened) < 600


async def _person(name: str) -> int:
    return (await models.Person.get(name=name)).id


def test_echo_keeps_short_text_and_shortens_long_text() -> None:
    assert t.echo("出差在外") == "出差在外"
    assert t.echo("a\n b   c") == "a b c"
    long = "字" * 100
    assert t.echo(long) == "字" * t.ECHO_MAX + "……（共100字）"


async def test_a_leave_said_reason_first_is_asked_back_with_the_reason(
    harness: ConsoleRig,
) -> None:
    """「那天我要去上海出差，请个假」 records nothing (it might be about someone else): it is asked
    back with the reason as typed, so one reply asks for the leave."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    asked = (await h.say("李娜", "不好意思，那天我要去上海出差，请个假🙏")).text
    assert asked == "是否请假？回复「是」或「请假 那天我要去上海出差」确认。"
    assert await models.Attendance.all().count() == 0
    assert "李娜已请假（那天我要去上海出差）" in await h.say("李娜", "请假 那天我要去上海出差")
    (row,) = await models.Attendance.all()
    assert row.reason == "那天我要去上海出差"


async def test_a_leave_is_not_withdrawn_but_checking_in_counts(harness: ConsoleRig) -> None:
    """「撤销请假」「我又能来了」 write nothing: checking in from the window's opening counts the
    member present (and a member not on leave is told there is nothing to withdraw)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    assert "王强没有请假，不需要撤销" in await h.say("王强", "撤销请假")
    await h.say("李娜", "请假 出差")
    events = await models.EventLog.all().count()
    said = (await h.say("李娜", "我又能来了")).text
    assert said == (
        "李娜目前是请假。请假不用撤销：能来参会的话，2026年12月5日（星期六）14:00起发送「签到」，"
        "即按出席记录（会议开始后签到记为迟到）。"
    )
    assert await models.EventLog.all().count() == events
    h.at("2026-12-05 14:30")
    assert "现在就可以发送「签到」" in await h.say("李娜", "取消请假")
    assert "李娜已签到" in await h.say("李娜", "签到")


async def test_a_leave_reason_changed_and_leave_as_hedged(harness: ConsoleRig) -> None:
    """「请假理由改一下：去北京开会」 replaces the reason (it had been recorded as the reason
    「理由改一下：去北京开会」); 「我可能去不了」 is asked back without 「我可能」 as a reason;
    「谁请假了」 is the status, not a leave of 「谁」."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    await h.say("王强", "请假 出差")
    assert "王强已请假（去北京开会）" in await h.say("王强", "请假理由改一下：去北京开会")
    (row,) = await models.Attendance.all()
    assert row.reason == "去北京开会"
    assert (await h.say("杨帆", "我可能去不了")).text == LEAVE_ASKED
    assert "请假：王强（去北京开会）" in await h.say("刘洋", "谁请假了")
    assert await models.Attendance.all().count() == 1


async def test_coming_late_and_coming_at_all_as_said(harness: ConsoleRig) -> None:
    """「我参加」 alone answers the notice (「我参加不了，…」 is still a leave); 「我可能晚到一会儿」
    answers it too and says what a late check-in means, writing no attendance; an emoji before
    a command (「🙏请假 出差」) does not hide it."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作；经费预算")
    assert "已确认收到第1次会议" in await h.say("王强", "我参加")
    assert "已请假（外地出差）" in await h.say("赵敏", "我参加不了，外地出差")
    late = await h.say("刘洋", "我可能晚到一会儿")
    assert "好的，刘洋会晚到" in late
    assert "会议开始后签到记为迟到" in late
    assert "已请假（出差）" in await h.say("杨帆", "🙏请假 出差")
    meeting = await models.Meeting.get(number=1)
    acked = await models.NoticeAck.filter(meeting_id=meeting.id).values_list(
        "person__name", flat=True
    )
    assert sorted(acked) == sorted(["王强", "刘洋"])  # type: ignore[type-var]
    records = await repo.attendance(meeting.id)
    names = {p.id: p.name for p in (await repo.people(list(records))).values()}
    assert sorted(names[p] for p in records) == sorted(["赵敏", "杨帆"])
    # the cause in front is no other person's: said at once (and kept for the status)
    assert "好的，陈静会晚到，已确认收到通知" in await h.say("陈静", "路上堵车，会迟到")
    # 「我能来」 from a member on leave: the notice is acknowledged and the leave explained.
    after_all = await h.say("赵敏", "我能来")
    assert "您目前是请假。请假不用撤销：能来参会的话" in after_all


async def test_a_vote_opened_object_first(harness: ConsoleRig) -> None:
    """「对议题2进行表决」「就第一项表决吧」 open the vote on that item; 「[强]」 (WeChat's 👍) asks
    back and records no ballot."""
    h = harness
    await convene_and_open(h, "年度工作；经费预算")
    assert "开始表决：议题2「经费预算」" in await h.say("张伟", "对议题2进行表决")
    assert "是否投赞成票？" in await h.say("李娜", "[强]")
    assert await models.Ballot.all().count() == 0
    for name in MEMBERS:
        await h.say(name, "赞成")
    assert "结果：通过" in await h.say("张伟", "结束表决 现在")
    assert "开始表决：议题1「年度工作」" in await h.say("张伟", "就第一项表决吧")


async def test_asking_to_change_a_vote_is_answered_for_the_votes_open(harness: ConsoleRig) -> None:
    """「我要改票」「我投错了」: how (a named ballot: send the choice again before the vote
    closes) or why not (a secret one), for the vote open now; nothing is written. 「改成反对」
    is asked back, like any loosely typed ballot."""
    h = harness
    await convene_and_open(h, "年度工作；换届人选（人事）")
    assert "目前没有进行中的表决" in await h.say("李娜", "我要改票")
    await h.say("张伟", "发起表决 1")
    await h.say("李娜", "赞成")
    before = await models.EventLog.all().count()
    named = await h.say("李娜", "我投错了")
    assert (
        "议题1「年度工作」是记名表决：结束表决前重新发送「赞成」「反对」或「弃权」即可改票" in named
    )
    assert "是否投反对票？" in await h.say("李娜", "改成反对")
    assert await models.EventLog.all().count() == before
    for name in MEMBERS[2:]:
        await h.say(name, "赞成")
    await h.say("张伟", "结束表决 现在")
    await h.say("张伟", "发起表决 2 无记名")
    secret = await h.say("王强", "撤回我的投票")
    assert "议题2「换届人选」是无记名投票：每人只能投一次，投出后不能更改" in secret


async def test_a_question_after_a_command_is_asked_back_not_run(harness: ConsoleRig) -> None:
    """「不开了吗？」 does not cancel the meeting, 「开会吗」 does not open it, 「年度总结什么时候交」
    files nothing, 「签发了吗」 signs nothing: a question after the words of a command that
    changes something is asked back, and so is a hold-off (「开会等一下」「签发先不要」). Commands
    that only show answer it (「几点开会？」); a question about the meeting itself (「不开了吗？」
    「散会吗」) is answered with its state (asked back, a reflexive 是 had cancelled it)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    before = await models.EventLog.all().count()
    assert "第1次会议：已通知" in await h.say("张伟", "不开了吗？")
    assert "2026年12月5日（星期六）15:00" in await h.say("李娜", "几点开会？")
    # Held off after the words: 「开会等一下，还有人没到」 does not open it either.
    assert "是否宣布开会？回复「是」或「宣布开会」确认。" in await h.say(
        "张伟", "开会等一下，还有人没到"
    )
    filed = await h.say("陈静", "年度总结要现在交吗")  # a question about it: answered
    assert "尚未提交" in filed
    asked = (await h.say("陈静", "年度总结什么时候交")).text  # answered
    assert asked.startswith("苏州市示例科技学会2026年度工作总结（含党建部分）尚未提交，")
    assert await models.Filing.all().count() == 0
    assert await models.EventLog.all().count() == before
    await check_in_and_open(h)
    assert "第1次会议：" in await h.say("张伟", "散会吗")
    assert (await models.Meeting.get(number=1)).state == "open"
    await h.say("张伟", "散会 现在")
    signed = await models.EventLog.filter(kind="minutes_signed").count()
    assert "【草稿，待组长签发" in await h.say("张伟", "签发了吗")  # answered with the minutes
    assert "回复「是」或「签发」确认" in await h.say("张伟", "签发先不要")
    assert await models.EventLog.filter(kind="minutes_signed").count() == signed == 0


async def test_a_proposal_accepted_by_its_proposers_name_or_as_the_one_waiting(
    harness: ConsoleRig,
) -> None:
    """「同意李娜的提议」 accepts 李娜's proposal, 「王强的建议先不列入，下次再议」 rejects 王强's
    with the reason; 「同意这个提议」 and a confirmed 「同意议题」 take the one proposal waiting.
    Several waiting and none named: nothing is decided, they are listed with their numbers."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    await h.say("李娜", "提议议题 会员发展工作")
    await h.say("王强", "提议议题 学术年会筹备")
    listed = (await h.say("张伟", "同意这个提议")).text
    assert listed == (
        "待确定的议题建议有：议题2「会员发展工作」（李娜提议）；议题3「学术年会筹备」（王强提议）。"
        "请写明编号，例如：同意议题 2"
    )
    assert "议题2「会员发展工作」已列入议程（李娜提议）" in await h.say("张伟", "同意李娜的提议")
    rejected = (await h.say("张伟", "王强的建议先不列入，下次再议")).text
    assert rejected == "议题建议3「学术年会筹备」未列入议程，理由：下次再议。"
    await h.say("刘洋", "提议议题 换届筹备")
    assert "是否把成员提议的议题列入议程" in await h.say("张伟", "可以，列入议程")
    assert "议题4「换届筹备」已列入议程（刘洋提议）" in await h.say("张伟", "同意议题")
    states = {it.number: it.state for it in await models.AgendaItem.all()}
    assert states == {1: "accepted", 2: "accepted", 3: "rejected", 4: "accepted"}
    assert "目前没有待组长确定的议题建议" in await h.say("张伟", "采纳王强的建议")
    # a member's 「同意王强的提议」 is a view (its proposal is decided already), not a refusal
    assert "目前没有待组长确定的议题建议" in await h.say("李娜", "同意王强的提议")


async def test_a_written_opinion_said_in_prose_names_the_item_by_its_title(
    harness: ConsoleRig,
) -> None:
    """「关于经费预算，我的意见是同意，…」 from a member on leave is a written opinion on the item
    whose title holds 「经费预算」; a question (「…大家的意见是什么？」) is none; a title that fits
    no item, or several, is asked for by number with the agenda listed."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：2027年经费预算；换届方案")
    await h.say("李娜", "请假 出差")
    said = (await h.say("李娜", "关于经费预算，我的意见是同意，但建议压缩会务费")).text
    assert said.startswith("已收到李娜对议题1「2027年经费预算」的书面意见")
    assert "已收到李娜对议题2「换届方案」" in await h.say("李娜", "我对换届方案的意见是暂缓")
    opinions = {(o.item_id, o.text) for o in await models.WrittenOpinion.all()}
    items = {it.number: it.id for it in await models.AgendaItem.all()}
    assert opinions == {(items[1], "同意，但建议压缩会务费"), (items[2], "暂缓")}
    unknown = (await h.say("李娜", "关于会员发展我的意见是同意")).text
    assert unknown.startswith("请写明议题编号，例如：书面意见 2 同意该方案，建议压缩会务费用。")
    assert "议题1「2027年经费预算」；议题2「换届方案」" in unknown
    assert await models.WrittenOpinion.all().count() == 2
    assert "已收到" not in await h.say("李娜", "关于经费预算大家的意见是什么？")


async def test_an_opinion_on_every_item_and_one_said_with_the_leave(harness: ConsoleRig) -> None:
    """「两个议题都同意」 is an opinion on each item (it had gone to item 2 alone, 两个 read as
    第二个); 「请假 出差，书面意见：同意」 keeps both, the opinion on the one item the words name;
    an opinion that names no item of several is said back after the leave, which stays; a
    leave without its reason is refused, nothing written."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：2027年经费预算；换届方案")
    items = {it.number: it.id for it in await models.AgendaItem.all()}
    refused = (await h.say("李娜", "请假 书面意见：同意")).text
    assert refused == "请写明请假理由，例如：请假 出差在外，书面意见：同意"
    assert await models.Attendance.all().count() == 0
    said = (await h.say("李娜", "请假 出差，书面意见：两个议题都同意")).text
    assert said == (
        "李娜已请假（出差）。已收到李娜对议题1「2027年经费预算」、议题2「换届方案」的书面意见，"
        "将在会上宣读并写入纪要（不计入票数）。"
    )
    assert "已请假（那天有事）。已收到王强对议题2「换届方案」" in await h.say(
        "王强", "请假 那天有事，我的意见：换届方案 同意"
    )
    vague = (await h.say("刘洋", "请假 出差 书面意见 同意")).text
    assert vague.startswith("刘洋已请假（出差）。")
    assert "\n书面意见没有记下：请写明议题编号" in vague
    opinions = sorted((o.item_id, o.text) for o in await models.WrittenOpinion.all())
    assert opinions == [
        (items[1], "两个议题都同意"),
        (items[2], "两个议题都同意"),
        (items[2], "同意"),
    ]
    assert await models.Attendance.filter(status="leave").count() == 3
    checked, broken = await repo.verify_all()
    assert checked
    assert broken is None


async def test_views_said_in_a_leave_are_written_opinions_on_their_items(
    harness: ConsoleRig,
) -> None:
    """「我出差来不了，对换届没意见，预算建议压缩」: the clauses after the first that name an item
    and give a view on it are opinions on that item (the leave's reason is 「我出差」); they had
    stayed inside the reason, never read at the meeting. A clause with no view (「换届的事你们
    定」) or naming no item stays in the reason; 「书面意见 对换届没意见，预算建议压缩」 is one
    opinion per item."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：换届；2027年经费预算")
    items = {it.number: it.id for it in await models.AgendaItem.all()}
    asked = (await h.say("李娜", "我出差来不了，对换届没意见，预算建议压缩")).text
    assert asked == (
        "是否请假，并把「对换届没意见；预算建议压缩」作为对相应议题的书面意见提交"
        "（会上宣读并写入纪要，不计入票数）？回复「是」或「请假 我出差，对换届没意见，预算建议压缩」确认。"
    )
    said = (await h.say("李娜", "是")).text
    assert said == (
        "李娜已请假（出差）。已收到李娜对议题1「换届」、议题2「2027年经费预算」的书面意见，"
        "将在会上宣读并写入纪要（不计入票数）。"
    )
    kept = (await h.say("王强", "请假 出差，换届的事你们定，家里有事")).text
    assert kept.startswith("王强已请假（出差，换届的事你们定，家里有事）。如对议题有意见")
    await h.say("刘洋", "请假 出差")
    both = (await h.say("刘洋", "书面意见 对第一项没意见；预算同意")).text
    assert both.startswith("已收到刘洋对议题1「换届」、议题2「2027年经费预算」的书面意见")
    opinions = sorted((o.item_id, o.text) for o in await models.WrittenOpinion.all())
    assert opinions == sorted(
        [
            (items[1], "对换届没意见"),
            (items[2], "预算建议压缩"),
            (items[1], "对第一项没意见"),
            (items[2], "预算同意"),
        ]
    )
    reasons = sorted(a.reason for a in await models.Attendance.all())
    assert reasons == sorted(["出差", "出差，换届的事你们定，家里有事", "出差"])


async def test_a_meeting_never_opened_lapses_hours_after_its_announced_time(
    harness: ConsoleRig,
) -> None:
    """Three hours after the announced time a meeting that was not opened takes no check-in and
    does not open: the status and a new convening say to move or cancel it; moved, it runs."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    h.at("2026-12-05 17:59")
    assert "已签到（迟到）" in await h.say("李娜", "签到")
    h.at("2026-12-05 18:01")
    refused = (await h.say("王强", "签到")).text
    assert refused.startswith("第1次会议通知的时间是2026年12月5日（星期六）15:00，签到没有记录。")
    assert "「改期 新时间」" in refused
    for name in ("刘洋", "陈静", "张伟"):
        await h.say(name, "签到")
    assert "不能再按这次通知开会" in await h.say("张伟", "开会")
    meeting = await models.Meeting.get(number=1)
    assert meeting.state == "convened"
    assert await models.Attendance.filter(status="late").count() == 1
    lapsed = "下一步：通知的时间已过、没有开会，组长发送「改期 新时间」重新通知"
    assert lapsed in await h.say("李娜", "会议状态")
    assert lapsed in await h.say("张伟", "召开会议 2026-12-12 15:00 会议室")
    assert "会议改期通知" in await h.say("张伟", "改期 2026-12-06 15:00")
    h.at("2026-12-06 14:30")
    for name in MEMBERS[:4]:
        await h.say(name, "签到")
    h.at("2026-12-06 15:05")
    assert "现在开始" in await h.say("张伟", "开会")


async def test_the_meetings_so_far_and_when_the_next_is_due(harness: ConsoleRig) -> None:
    """「上次会议什么时候开的」「今年开了几次会」 (历次会议): the last meetings with how far each
    went and what their items came to, the count held, and the half-year rule's next date
    (第十七条), or that it has passed. Writes nothing."""
    h = harness
    h.at("2026-06-01 09:00")
    assert "还没有召开过领导小组会议" in await h.say("李娜", "上次会议什么时候开的")
    await h.say("张伟", "召开会议 2026-06-05 15:00 会议室 议题：经费预算；换届筹备")
    await check_in_and_open(h, day="2026-06-05", present=MEMBERS[:4])
    await h.say("张伟", "发起表决 1")
    for name in MEMBERS[:4]:
        await h.say(name, "赞成")
    await h.say("张伟", "结束表决 现在")
    await h.say("张伟", "散会 现在")
    h.at("2026-06-10 09:00")
    await h.say("张伟", "召开会议 2026-06-20 15:00 会议室 议题：学术年会")
    await h.say("张伟", "取消会议 时间冲突")
    before = await models.EventLog.all().count()
    h.at("2026-09-01 09:00")
    shown = (await h.say("王强", "今年开了几次会")).text
    assert shown.splitlines() == [
        "苏州市示例科技学会领导小组最近的会议：",
        "2026年6月20日（星期六）15:00 会议室：已取消（未召开，不计次数）",
        "第1次 2026年6月5日（星期五）15:00 会议室：已散会，纪要待签发；通过1项",
        "累计召开1次，其中2026年1次。",
        "上次开会是2026年6月5日；领导小组每半年至少召开一次会议（第十七条），下次应在2026年12月5日前召开。",
    ]
    h.at("2026-12-06 09:00")
    assert "已超过半年" in await h.say("王强", "历次会议")
    assert await models.EventLog.all().count() == before


async def test_a_leave_said_cannot_come_first_then_the_reason(harness: ConsoleRig) -> None:
    """「这个会我参加不了，在外地出差」 is asked back as 请假 with 「在外地出差」; 「张伟帮我请个假」
    gives no reason (not 「张伟帮我」); a greeting before is no reason either."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    asked = (await h.say("王强", "这个会我参加不了，在外地出差")).text
    assert asked == "是否请假？回复「是」或「请假 在外地出差」确认。"
    assert (await h.say("刘洋", "张伟帮我请个假")).text == LEAVE_ASKED
    hedged = (await h.say("杨帆", "那天我要去医院，可能来不了")).text
    assert hedged == "是否请假？回复「是」或「请假 那天我要去医院」确认。"
    assert (await h.say("陈静", "大家好，我来不了")).text == LEAVE_ASKED
    assert await models.Attendance.all().count() == 0
    assert "已请假" in await h.say("王强", "请假 在外地出差")


async def test_the_chair_walks_the_agenda_in_everyday_words(harness: ConsoleRig) -> None:
    """「先讨论第一个议题」 and 「讨论一下换届」 (by title) show the item; 「那我们投票吧」 opens
    the vote on the one item left; 「大家都投了吗」 shows the count; 「第二个议题下次再议」 defers
    item 2."""
    h = harness
    await convene_and_open(h, "2027年经费预算（重大）；换届筹备", present=MEMBERS[:5])
    assert (await h.say("张伟", "先讨论第一个议题")).text.startswith("议题1「2027年经费预算」")
    assert (await h.say("张伟", "讨论一下换届")).text.startswith("议题2「换届筹备」")
    assert "暂缓决定" in await h.say("张伟", "第二个议题下次再议")
    (deferred,) = await models.AgendaItem.filter(state="deferred")
    assert deferred.number == 2
    assert "开始表决：议题1" in await h.say("张伟", "那我们投票吧")
    await h.say("李娜", "赞成")
    assert "已投1/5" in await h.say("张伟", "大家都投了吗")


async def test_an_observer_and_a_chair_named_without_at(harness: ConsoleRig) -> None:
    """「请吴国华理事长列席」 invites 吴国华 with 「理事长」 as the reason; 「我那天可能临时有事，请
    李娜主持」 delegates the chair to 李娜 with the clause before as the reason."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    assert "已邀请吴国华列席第1次会议（理事长）" in await h.say("张伟", "请吴国华理事长列席")
    delegated = (await h.say("张伟", "我那天可能临时有事，请李娜主持")).text
    assert delegated == (
        "组长张伟委托李娜主持第1次会议（我那天可能临时有事），已记录。"
        "张伟如不能参会，请另发送「请假 理由」。"
    )
    await h.say("张伟", "请假 出差")
    again = (await h.say("张伟", "请李娜代为主持会议")).text
    assert again == "组长张伟委托李娜主持第1次会议，已记录。"
    meeting = await models.Meeting.get(number=1)
    chair = await models.Person.get(id=meeting.chair_id)  # type: ignore[attr-defined]
    assert chair.name == "李娜"


async def test_the_agenda_and_the_place_changed_as_said(harness: ConsoleRig) -> None:
    """A convening without an hour is asked for it (the notice would carry an hour nobody
    chose); 「地点改成二楼小会议室」 moves the meeting; 「议题1改成2027年度经费预算（重大）」 edits
    the item, type included; 「把议题2删掉」 withdraws it."""
    h = harness
    h.at("2026-12-01 09:00")
    asked = (await h.say("张伟", "召开会议 明天 会议室")).text
    assert asked == "请写明开会的钟点（2026年12月2日几点），例如：召开会议 12月2日下午3点 会议室"
    assert await models.Meeting.all().count() == 0
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：经费预算；换届筹备")
    assert "地点：二楼小会议室" in await h.say("张伟", "地点改成二楼小会议室")
    edited = await h.say("张伟", "议题1改成2027年度经费预算（重大）")
    assert "2027年度经费预算" in edited
    assert "议题2「换届筹备」已撤出第1次会议议程" in await h.say("张伟", "把议题2删掉")
    items = {
        it.number: (it.title, it.matter_type, it.state) for it in await models.AgendaItem.all()
    }
    assert items[1] == ("2027年度经费预算", "major", "accepted")
    assert items[2][2] == "rejected"  # off the agenda (shown 「未列入」)
    meeting = await models.Meeting.get(number=1)
    assert meeting.place == "二楼小会议室"


async def test_the_minutes_as_the_recorder_and_the_members_say_it(harness: ConsoleRig) -> None:
    """「纪要里补充：…」「再补充一句：…」 add notes (the first had only shown the minutes);
    「纪要有问题，表决结果写错了」 shows the minutes and how a correction is made (it had said
    no vote was open); 「下载纪要」 says where the Word file is."""
    h = harness
    await convene_and_open(h, "经费预算", present=MEMBERS[:4])
    await h.say("张伟", "散会 现在")
    assert "纪要已更新为第2版" in await h.say("周婷", "纪要里补充：会议由张伟主持")
    assert "纪要已更新为第3版" in await h.say("周婷", "再补充一句：下次会议明年3月召开")
    wrong = (await h.say("张伟", "纪要有问题，表决结果写错了")).text
    assert wrong.startswith("【草稿，待组长签发·第3版】")
    assert "记录人发送「纪要备注 内容」补充" in wrong
    assert "纪要签发后可在工作台下载 Word 版" in await h.say("王强", "下载纪要")
    assert "纪要已锁定" in await h.say("张伟", "签发")
    assert "在工作台下载" in await h.say("王强", "下载纪要")
    assert "纪要已签发锁定，不能再修改" in await h.say("李娜", "纪要不对")
    (latest,) = await models.MinutesVersion.filter(version=3)
    assert latest.notes == "会议由张伟主持\n下次会议明年3月召开"


async def test_how_to_questions_and_thanks(harness: ConsoleRig) -> None:
    """「怎么请假」「年度总结怎么交」 explain that command (who may send it, when another role's);
    「怎么投票」 how one votes; 「谢谢」 is answered in two words, 「谢谢大家，会议状态」 is the
    status. Nothing is written."""
    h = harness
    h.at("2026-12-01 09:00")
    before = await models.EventLog.all().count()
    assert (await h.say("李娜", "怎么请假")).text.startswith(
        "「请假」：会前请假（会议开始后按缺席记录）。发送「请假 出差在外」。"
    )
    summary = (await h.say("陈静", "年度总结怎么交")).text
    assert summary.startswith("「年度总结」：报送年度工作总结（含党建部分）。")
    assert "（这条指令由组长使用。）" in await h.say("李娜", "如何发起表决？")
    assert "表决开始后，在群里发送「赞成」「反对」或「弃权」" in await h.say("李娜", "怎么投票")
    assert (await h.say("李娜", "谢谢")).text == "不客气。"
    assert "目前没有会议" in await h.say("李娜", "谢谢大家，会议状态")
    assert await models.EventLog.all().count() == before


async def test_an_acknowledgement_with_nothing_to_confirm_is_answered_in_kind(
    harness: ConsoleRig,
) -> None:
    """「好的」「OK👌」 with no vote open are answered 「好的。」 (not 「没有听懂」 with a vote
    suggested); during a vote 「好的」 is still asked back as 赞成."""
    h = harness
    h.at("2026-12-01 09:00")
    assert (await h.say("李娜", "好的")).text == "好的。"
    assert (await h.say("李娜", "OK👌")).text == "好的。"
    await convene_and_open(h, "经费预算", present=MEMBERS[:4])
    await h.say("张伟", "发起表决 1")
    assert (await h.say("李娜", "好的")).text == "是否投赞成票？回复「赞成」确认。"


async def test_agreeing_to_the_item_being_voted_on_is_a_ballot(harness: ConsoleRig) -> None:
    """While item 1 is voted on, 「同意议题一」 and 「不同意议题1」 are ballots on it (they had
    been the leader's agenda decisions, refused to members); a proposal is still accepted by
    「同意议题 2」 when no vote on it is open."""
    h = harness
    await convene_and_open(h, "经费预算", present=MEMBERS[:5])
    await h.say("李娜", "提议议题 会员发展")
    assert "已列入议程" in await h.say("张伟", "同意议题 2")
    await h.say("张伟", "发起表决 1")
    assert "李娜：赞成（议题1 经费预算），已记录" in await h.say("李娜", "同意议题一")
    assert "王强：反对（议题1 经费预算），已记录" in await h.say("王强", "不同意议题1")
    choices = sorted(b.choice for b in await models.Ballot.all())
    assert choices == ["no", "yes"]


async def test_a_leader_in_private_chat_announces_in_the_group(harness: ConsoleRig) -> None:
    """A leader on the phone convenes, moves and runs the meeting in a private chat with the
    bot: the notice, the new time go to the society's group (the members must see them; they
    had stayed in the leader's private chat), the leader is told so. A member's leave sent
    privately stays private. Without a group on that platform, it says so."""
    h = harness
    h.at("2026-12-01 09:00")

    async def sent(speaker: str, text: str) -> list[tuple[ChatKind, str]]:
        before = len(h.adapter.sent)
        await h.send(speaker, text, private=True)
        return [(m.chat.kind, m.text) for m in h.adapter.sent[before:]]

    notice = await sent("张伟", "召开会议 2026-12-05 15:00 会议室 议题：经费预算")
    assert [kind for kind, _ in notice] == [ChatKind.GROUP, ChatKind.PRIVATE]
    assert notice[0][1].startswith("【会议通知】")
    assert notice[1][1] == "已发到学会工作群。"
    group = [m for m in h.adapter.sent if m.chat.kind is ChatKind.GROUP]
    assert len(group[-1].mentions) == len(MEMBERS)
    assert [kind for kind, _ in await sent("李娜", "请假 出差")] == [ChatKind.PRIVATE]
    moved = await sent("张伟", "改期 2026-12-05 16:00")
    assert [kind for kind, _ in moved] == [ChatKind.GROUP, ChatKind.PRIVATE]
    assert "【会议改期通知】" in moved[0][1]
    await models.ChatBinding.all().delete()
    alone = await sent("张伟", "取消会议 时间冲突")
    assert [kind for kind, _ in alone] == [ChatKind.PRIVATE, ChatKind.PRIVATE]
    assert alone[-1][1] == "本学会在这个平台还没有绑定工作群，以上内容没有发到群里。"


async def test_whether_an_item_passed_as_asked(harness: ConsoleRig) -> None:
    """「议题1通过了吗」「预算通过了吗」 (by title) 「议题1的表决结果」 show that item's result."""
    h = harness
    await convene_and_open(h, "经费预算；换届筹备", present=MEMBERS[:5])
    await h.say("张伟", "发起表决 1")
    for name in MEMBERS[:4]:
        await h.say(name, "赞成")
    await h.say("张伟", "结束表决 现在")
    for asked in ("议题1通过了吗", "预算通过了吗", "议题1的表决结果"):
        shown = (await h.say("李娜", asked)).text
        assert shown.startswith("表决结果：议题1「经费预算」"), asked
        assert "结果：通过" in shown, asked


async def test_the_recorder_enters_raised_hands_as_said(harness: ConsoleRig) -> None:
    """「5票赞成，1票反对」「赞成5票，反对1票」 are the recorder's count of hands (count first or
    after); 「举手结果 全票通过」 (or 「全票通过」 alone) counts every member present and entitled
    for."""
    h = harness
    await convene_and_open(h, "经费预算；换届筹备", present=MEMBERS[:6])
    await h.say("张伟", "举手表决 1")
    assert "已录入" in await h.say("周婷", "5票赞成，1票反对")
    vote = await models.Vote.get(item__number=1)
    assert json.loads(vote.hands) == {"yes": 5, "no": 1, "abstain": 0}
    await h.say("张伟", "结束表决 现在")
    await h.say("张伟", "举手表决 2")
    assert "已录入" in await h.say("周婷", "举手结果 全票通过")
    vote = await models.Vote.get(item__number=2)
    assert json.loads(vote.hands) == {"yes": 6, "no": 0, "abstain": 0}
    # Said alone, 「全票通过！」 is the same; by the leader, who is not the recorder, it is refused.
    await h.say("周婷", "举手结果 赞成3 反对3")
    assert "只有记录人可以使用" in await h.say("张伟", "全票通过")
    assert json.loads((await models.Vote.get(item__number=2)).hands)["yes"] == 3
    assert "已录入" in await h.say("周婷", "全票通过！")
    assert json.loads((await models.Vote.get(item__number=2)).hands)["yes"] == 6


async def test_a_vote_opened_from_a_private_chat_is_carded_in_the_group(
    harness: ConsoleRig,
) -> None:
    """The chair opens and closes a vote from a private chat: the announcement with its card and
    the result go to the group, where the members vote; the chair is told so privately."""
    h = harness
    await convene_and_open(h, "经费预算", present=MEMBERS[:4])
    before = len(h.adapter.sent)
    await h.send("张伟", "发起表决 1", private=True)
    opened = h.adapter.sent[before:]
    (card,) = [m for m in opened if m.card is not None]
    assert card.chat.kind is ChatKind.GROUP
    assert "开始表决：议题1" in card.text
    assert [m.text for m in opened if m.chat.kind is ChatKind.PRIVATE] == ["已发到学会工作群。"]
    for name in MEMBERS[:4]:
        await h.say(name, "赞成")
    before = len(h.adapter.sent)
    await h.send("张伟", "结束表决 现在", private=True)
    results = [m for m in h.adapter.sent[before:] if "表决结果" in m.text]
    assert [m.chat.kind for m in results] == [ChatKind.GROUP]


async def test_here_and_is_there_a_quorum_as_said(harness: ConsoleRig) -> None:
    """「我来了」 alone is a check-in; 「人齐了吗」「够不够法定人数」 show the status with a line on the
    quorum (第十六条): how many are present against how many it needs, and what is still missing."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    h.at("2026-12-05 14:50")
    for name in ("张伟", "李娜"):
        await h.say(name, "签到")
    assert "王强已签到（3/7）" in await h.say("王强", "我来了")
    status = (await h.say("张伟", "人齐了吗")).text
    assert "法定人数：应到7人，实到3人，需超过半数即至少4人；还需1人签到才达到法定人数。" in status
    assert "刘洋已签到（4/7）" in await h.say("刘洋", "我已经在会议室了")
    status = (await h.say("张伟", "够不够法定人数？")).text
    assert "实到4人，需超过半数即至少4人；已达法定人数，组长可宣布开会。" in status
    assert "还需" not in await h.say("陈静", "来了几个人")  # a question, not a check-in
    assert await models.Attendance.filter(status="present").count() == 4


async def test_a_ballot_said_with_no_meeting_open_is_told_no_vote_takes_it(
    harness: ConsoleRig,
) -> None:
    """「我同意」「我赞成」「反对，预算太高」 before the meeting: no vote takes them, said plainly
    (it had said 「没有听懂「赞成」」 and offered 赞成 and 工作台); in the meeting with no vote
    open, likewise (it had asked 「是否投赞成票？回复「赞成」确认。」, and 「赞成」 was then told no
    vote was open); once a vote is open the same words are asked back as that ballot; nothing
    is recorded either way."""
    h = harness
    h.at("2026-12-01 09:00")
    for said in ("我同意", "我赞成", "反对，预算太高"):
        assert (await h.say("陈静", said)).text == NO_VOTE_OPEN
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：2027年经费预算")
    assert (await h.say("陈静", "我同意")).text == NO_VOTE_OPEN
    await check_in_and_open(h)
    for said in ("我赞成", "👍", "我同意"):  # in the meeting, before any vote: not asked back
        assert (await h.say("陈静", said)).text in (NO_VOTE_YET, "好的。")
    assert (await h.say("陈静", "我赞成")).text == NO_VOTE_YET
    await h.say("张伟", "发起表决 1")
    assert (await h.say("陈静", "我同意")).text == "是否投赞成票？回复「赞成」确认。"
    await h.say("张伟", "暂缓 1 下次再议")  # nobody voted: deferred, not closed
    assert (await h.say("陈静", "我同意")).text == NO_VOTE_YET
    assert await models.Ballot.all().count() == 0


async def test_the_recorder_notes_during_the_meeting_open_the_draft(harness: ConsoleRig) -> None:
    """「记一下：…」 by the recorder while the meeting is open is recorded (it had been refused:
    纪要备注 only after 散会); the draft made at 散会 carries the notes in order, one per line;
    a note after it makes the next version with all three; nobody else may add one."""
    h = harness
    await convene_and_open(h, "换届；2027年经费预算")
    assert (await h.say("周婷", "记一下：换届议题讨论充分")).text == (
        "已记下（本次会议第1条备注），散会时写入纪要草稿。"
    )
    assert "第2条备注" in await h.say("周婷", "纪要备注 传达了市党委的工作部署")
    assert "只有记录人" in await h.say("李娜", "记一下：我反对")
    await h.say("张伟", "散会 现在")
    (draft,) = await models.MinutesVersion.all()
    assert draft.notes == "换届议题讨论充分\n传达了市党委的工作部署"
    full = (await h.say("王强", "纪要 全文")).text
    assert "记录人备注：\n  换届议题讨论充分\n  传达了市党委的工作部署\n" in full
    assert "第2版" in await h.say("周婷", "纪要备注 会后补充：预算下次再议")
    latest = await models.MinutesVersion.filter(version=2).get()
    assert latest.notes.splitlines()[-1] == "会后补充：预算下次再议"
    checked, broken = await repo.verify_all()
    assert checked
    assert broken is None


async def test_the_count_after_the_vote_closed_is_its_result(harness: ConsoleRig) -> None:
    """「谁投了反对」「投票结果」 once the vote has closed give its result (they had said no vote
    was in progress), as 结束表决 said twice does (saying that no vote is open: a chair who
    meant to close another must not take it for closed)."""
    h = harness
    await convene_and_open(h, "换届；2027年经费预算")
    await h.say("张伟", "发起表决 1")
    await h.say("王强", "反对")
    await h.say("李娜", "赞成")
    closed = (await h.say("张伟", "结束表决 现在")).text
    assert closed.startswith("表决结果：议题1「换届」")
    assert (await h.say("刘洋", "谁投了反对")).text == closed
    assert (await h.say("张伟", "投票结果")).text == closed
    again = (await h.say("张伟", "结束表决 现在")).text  # said to be the last one's (not open)
    assert again == f"目前没有正在进行的表决。上一项表决已结束，结果如下：\n{closed}"


async def test_whether_i_voted_says_so_and_never_a_secret_choice(harness: ConsoleRig) -> None:
    """「我投了吗」: for each open vote one may vote in, whether one has; a named ballot's choice
    is said, a secret one's is not (it is not kept with the person)."""
    h = harness
    await convene_and_open(h, "换届；推荐优秀党员（人事）")
    assert (await h.say("李娜", "我投了吗")).text == "李娜目前没有需要参加的表决。"
    await h.say("张伟", "发起表决 1")
    assert "您还没有投票。" in await h.say("李娜", "我的票投了吗")
    await h.say("李娜", "赞成")
    named = (await h.say("李娜", "我投了吗")).text
    assert named == "苏州市示例科技学会 议题1「换届」（记名表决）：您已投赞成票。"
    await h.say("张伟", "结束表决 现在")
    await h.say("张伟", "发起表决 2 无记名")
    await h.say("李娜", "投票 反对", private=True)
    secret = (await h.say("李娜", "我投了吗", private=True)).text
    assert "您已投票（选择不与身份关联保存）" in secret
    assert not any(word in secret for word in ("赞成", "反对", "弃权"))


async def test_a_phrase_meaning_anothers_command_says_whose_it_is(harness: ConsoleRig) -> None:
    """A member's 「人齐了，开始吧」 means 宣布开会, which is the chair's: said so, as the command
    typed in full is (it had answered 「没有听懂「开始吧」」, the last clause only); the leader's
    is asked back; a member's 「好的」 still acknowledges the notice."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    h.at("2026-12-05 14:55")
    member = (await h.say("李娜", "人齐了，开始吧")).text
    assert member == (await h.say("李娜", "宣布开会")).text
    assert member.startswith("抱歉，「宣布开会」只有组长")
    assert (
        await h.say("张伟", "人齐了，开始吧")
    ).text == "是否宣布开会？回复「是」或「宣布开会」确认。"
    assert "已确认收到" in await h.say("王强", "好的")


async def test_arriving_late_leaving_early_and_not_coming_said_in_the_meeting(
    harness: ConsoleRig,
) -> None:
    """In the meeting: 「不好意思来晚了」 checks in late (it had not been understood); 「我有事先走
    一步」 leaves (its reason had been 「一步」); 「我今天来不了」 is asked for the reason, and
    「请假 …」 then records the absence with it (asked back as 「请假 我今天」 before, 「我今天」
    taken for the reason); 「还够法定人数吗」 is the status."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    await check_in_and_open(h, present=("张伟", "李娜", "王强", "刘洋", "陈静"))
    h.at("2026-12-05 15:10")
    assert "杨帆已签到（迟到）（6/7）" in await h.say("杨帆", "不好意思来晚了")
    assert (await h.say("王强", "我有事先走一步")).text.startswith("王强中途离席，现出席5人")
    asked = (await h.say("赵敏", "我今天来不了")).text
    assert asked == "是否请假？请写明理由发送，例如「请假 出差在外」。"
    absent = (await h.say("赵敏", "请假 家里有事")).text
    assert "本次按缺席记录（说明：家里有事）" in absent
    assert "实到5人" in await h.say("张伟", "还够法定人数吗")
    statuses = {a.status for a in await models.Attendance.all()}
    assert {"late", "left", "absent"} <= statuses


async def test_a_meeting_called_with_kai_moved_online_and_asked_about(harness: ConsoleRig) -> None:
    """「重新通知一下，下周二上午10点开，讨论换届」 convenes (the time, then 开 alone); 「改成线上开」
    moves it online; a member's 「会议改到几点了」 is the status (it had been refused as the
    leader's 改期)."""
    h = harness
    h.at("2026-12-07 09:00")  # a Monday
    notice = (await h.say("张伟", "重新通知一下，下周二上午10点开，讨论换届")).text
    assert "时间：2026年12月15日（星期二）10:00\n地点：待定\n" in notice
    assert "1. 换届（一般事项）" in notice
    moved = (await h.say("张伟", "改成线上开")).text
    assert "地点：线上（原定待定）" in moved
    status = (await h.say("李娜", "会议改到几点了")).text
    assert "时间：2026年12月15日（星期二）10:00　地点：线上" in status
    assert (await models.Meeting.get()).place == "线上"
