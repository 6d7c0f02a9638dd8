"""Votes item by item, as a meeting lives them: every ballot's receipt names the item it went to,
the chair who starts another item while one is open is told which and how to end it, members
can ask what is being voted on, who has not voted, what passes it and whether enough are here,
and a vote nobody voted in decides nothing."""

from __future__ import annotations

from storage import models
from tests.kit.console import ConsoleRig, check_in_and_open, convene_and_open

FIVE = ("张伟", "李娜", "王强", "刘洋", "杨帆")


async def test_ballots_sent_while_the_chair_starts_the_next_item_name_the_open_one(
    harness: ConsoleRig,
) -> None:
    """The chair asked to close item 1 and then said 「开始投票 2」: it had answered only 「上一项
    表决还没有结束」, three members' 「赞成」 meant for item 2 were recorded on item 1 with receipts
    that did not say so, and 「现在投的是哪个议题」 was not understood. Now each receipt names the
    item, the refusal says which item is open, how far it got and what closes it (a 「是」), and
    the question is answered."""
    h = harness
    await convene_and_open(h, "年度工作计划；学会章程修订（重大）", present=FIVE)
    await h.say("张伟", "发起表决 1")
    said = (await h.say("张伟", "赞成")).text
    assert said.startswith("张伟：赞成（议题1 年度工作计划），已记录（回执 "), said
    await h.say("李娜", "赞成")
    assert "确定现在结束表决吗" in await h.say("张伟", "结束表决")
    busy = (await h.say("张伟", "开始投票 2")).text
    assert busy == (
        "议题1「年度工作计划」还在表决（已投2/5），须先结束才能表决议题2（逐项表决）。"
        "现在结束议题1的表决吗（还有3人未投，不计赞成票）？回复「是」或「结束表决 1 现在」确认。"
    )
    said = (await h.say("王强", "赞成")).text
    assert said.startswith("王强：赞成（议题1 年度工作计划），已记录"), said
    asked = (await h.say("刘洋", "现在投的是哪个议题")).text
    assert asked == (
        "正在表决：议题1「年度工作计划」（一般事项，记名表决），已投3/5，未投：刘洋、杨帆。"
        "应到会7人，赞成至少4票方为通过；现在场5人，达到表决所需法定人数（至少4人）。"
    )
    assert (await h.say("杨帆", "在表决哪一项")).text == asked
    assert (await h.say("王强", "现在表决的是什么")).text == asked
    said = (await h.say("王强", "反对")).text
    assert said.startswith("王强改投反对（议题1 年度工作计划；原为赞成，已记录改票）"), said
    said = (await h.say("王强", "反对")).text
    assert said == "王强已投过反对票（议题1 年度工作计划），无需重复。", said
    assert "表决结果：议题1「年度工作计划」" in await h.say("张伟", "是")  # the question asked
    assert await models.Vote.filter(state="open").count() == 0
    assert "开始表决：议题2" in await h.say("张伟", "开始投票 2")
    none_open = await h.say("张伟", "发起表决 2")
    assert none_open.text.startswith("议题2「学会章程修订」正在记名表决（已投0/5），不用再发起")


async def test_questions_during_a_vote_are_answered(harness: ConsoleRig) -> None:
    """「还差谁没投」「通过需要几票」「够人数了吗」「几个人了」「现在还够人吗」 during a vote had
    not been understood (only 「还有谁没投」 was): who has not voted, what passes this item by its
    rule, and whether its quorum holds with those in the room now. Before the meeting 「几个人
    了」 is the check-ins against the quorum; nothing is written."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作；换届（人事）")
    h.at("2026-12-05 14:50")
    for name in FIVE[:3]:
        await h.say(name, "签到")
    count = (await h.say("李娜", "几个人了")).text
    assert count == (
        "会议还没有开始，没有表决。法定人数：应到7人，实到3人，需超过半数即至少4人；"
        "还需1人签到才达到法定人数。"
    )
    for name in FIVE[3:]:
        await h.say(name, "签到")
    h.at("2026-12-05 15:00")
    await h.say("张伟", "开会")
    assert (await h.say("王强", "现在投的是哪个议题")).text.startswith(
        "目前没有正在进行的表决，主持人可发送「发起表决 议题编号」。法定人数：应到7人，实到5人"
    )
    await h.say("张伟", "发起表决 1")
    await h.say("张伟", "赞成")
    await h.say("李娜", "赞成")
    before = await models.EventLog.all().count()
    waiting = (await h.say("王强", "还差谁没投")).text
    assert "已投2/5，未投：王强、刘洋、杨帆" in waiting, waiting
    needed = (await h.say("王强", "通过需要几票")).text
    assert needed == (
        "正在表决的议题1「年度工作」（一般事项）：应到会7人，赞成至少4票方为通过。\n"
        "发送「表决规则 全部」查看全部规则。"
    )
    assert "人事事项：无记名投票" in await h.say("王强", "表决规则 全部")
    enough = (await h.say("刘洋", "够人数了吗")).text
    assert enough == (
        "正在表决：议题1「年度工作」（一般事项，记名表决），已投2/5，未投：王强、刘洋、杨帆。"
        "应到会7人，赞成至少4票方为通过；现在场5人，达到表决所需法定人数（至少4人）。"
    )
    assert (await h.say("杨帆", "几个人了")).text == enough
    await h.say("杨帆", "离席 接孩子")
    await h.say("刘洋", "离席 有事")
    short = (await h.say("王强", "现在还够人吗")).text
    assert short.endswith(
        "未投：王强。应到会7人，赞成至少4票方为通过；现在场3人，已不足表决所需法定人数（至少4人）。"
    ), short
    assert await models.EventLog.all().count() == before + 2  # only the two who left


async def test_a_vote_nobody_voted_in_is_not_closed_as_not_passed(harness: ConsoleRig) -> None:
    """A vote opened and closed before anyone voted had been recorded 「赞成0…未投4 结果：未通过」:
    a decision nobody made. It is not closed (nor asked about): the chair is told that members
    vote first or that the item can be deferred, and another item waits for it the same way."""
    h = harness
    await convene_and_open(h, "年度工作计划（重大）；会员发展", present=FIVE)
    await h.say("张伟", "发起表决 2")
    refused = (await h.say("张伟", "结束表决")).text
    assert refused == (
        "议题2「会员发展」还没有人投票，没有结束表决。无人投票不能作为表决结果：请出席成员投票后再"
        "发送「结束表决」；本次不再表决的，主持人可发送「暂缓 2 理由」转入下次会议。"
    )
    assert "没有待确认的事项" in await h.say("张伟", "是")
    assert "还没有人投票" in await h.say("张伟", "结束表决 2 现在")
    waiting = (await h.say("张伟", "发起表决 1")).text
    assert waiting.startswith("议题2「会员发展」还在表决（已投0/5），须先结束才能表决议题1"), (
        waiting
    )
    assert "「暂缓 2 理由」" in waiting
    assert await models.Vote.filter(state="open").count() == 1
    assert not await models.AgendaItem.filter(outcome="not_passed").exists()
    assert "暂缓决定" in await h.say("张伟", "暂缓 2 下次再议")
    assert "开始表决：议题1" in await h.say("张伟", "发起表决 1")
    await h.say("李娜", "反对")
    result = (await h.say("张伟", "结束表决 现在")).text
    assert "赞成0、反对1、弃权0、未投4" in result, result


async def test_agreeing_with_someone_is_asked_which_ballot_it_is(harness: ConsoleRig) -> None:
    """A quoted 「刘洋：反对，会务费太高」 answered 「同意」 had been recorded as 赞成 (agreeing with
    刘洋 is 反对); 「我同意刘洋的意见」「同意楼上」 had been asked 「是否投赞成票？」 and 「我不反对」
    offered 反对. Each is asked which ballot is meant (「我不反对」: 赞成 or 弃权), and nothing is
    recorded, not even on a 「是」. A reply that quotes the chair's call is the ballot it says."""
    h = harness
    await convene_and_open(h, "会务安排")
    await h.say("张伟", "发起表决 1")
    await h.say("刘洋", "反对")
    asked = (await h.say("王强", "「刘洋：反对，会务费太高」\n- - - - - - - - - -\n同意")).text
    assert asked == (
        "您是同意刘洋的意见（反对）吗？这句话没有记票，请直接回复「赞成」「反对」或「弃权」。"
    )
    assert "没有待确认的事项" in await h.say("王强", "是")
    assert (await h.say("李娜", "我同意刘洋的意见")).text == (
        "您是同意刘洋的意见吗？这句话没有记票，请直接回复「赞成」「反对」或「弃权」。"
    )
    assert (await h.say("杨帆", "同意楼上")).text.startswith("您是同意楼上的意见吗？")
    assert (await h.say("赵敏", "附议")).text.startswith("您是同意前面那位的意见吗？")
    assert (await h.say("陈静", "我不反对")).text == (
        "您是投赞成票还是弃权？这句话没有记票，请直接回复「赞成」或「弃权」。"
    )
    assert (await h.say("赵敏", "原则同意")).text == "是否投赞成票？回复「赞成」确认。"
    assert (await h.say("赵敏", "基本同意，建议进一步细化")).text.startswith("是否投赞成票？")
    assert (await h.say("王强", "我觉得不行")).text == "是否投反对票？回复「反对」确认。"
    assert (await h.say("刘洋", "反对意见保留，弃权")).text == "是否投弃权票？回复「弃权」确认。"
    ballots = await models.Ballot.all().prefetch_related("person")
    assert [(b.person.name, b.choice) for b in ballots] == [("刘洋", "no")]
    said = (await h.say("王强", "「张伟：请大家回复」\n- - - - - - - - - -\n同意")).text
    assert said.startswith("王强：赞成（议题1 会务安排），已记录"), said
    assert "王强改投反对（议题1 会务安排" in await h.say("王强", "反对")


async def test_no_ballot_is_offered_when_no_vote_is_open(harness: ConsoleRig) -> None:
    """「明天我可能要去无锡出差，看情况哈」 before the meeting and 「赞承」 in it before any vote
    had been offered 「赞成 —— 投赞成票」: no vote could take it. Once a vote is open, the
    mistyped ballot is offered its word."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：会务安排")
    said = (await h.say("王强", "明天我可能要去无锡出差，看情况哈")).text
    assert "赞成 ——" not in said, said
    await check_in_and_open(h)
    assert "赞成 ——" not in await h.say("杨帆", "赞承")
    await h.say("张伟", "发起表决 1")
    assert "赞成 —— 投赞成票" in await h.say("杨帆", "赞承")
