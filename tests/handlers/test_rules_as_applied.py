"""Rules the chair could have bent: an emergency or a deferral chosen after the ballots were
seen, and a member who does not vote keeping the leader (who states a position last) from
voting at all."""

from __future__ import annotations

from bot.events import ChatKind
from storage import models, verify
from tests.kit.console import ConsoleRig, check_in_and_open, convene_and_open

NAMED = ("张伟", "李娜", "王强", "刘洋")


async def test_an_emergency_or_a_deferral_is_not_chosen_after_the_ballots(
    harness: ConsoleRig,
) -> None:
    """「紧急」 once the item's vote is open is refused (the rules say 事先宣布; it had turned a
    4-3 deferral into 通过); 「暂缓」 of an item with ballots cast is refused (the ballots had
    vanished from the record); before any ballot the chair may still defer it by hand."""
    h = harness
    await convene_and_open(h, "经费（重大）；换届（重大）")
    await h.say("张伟", "发起表决 1")
    for name in NAMED:
        await h.say(name, "赞成")
    late = (await h.say("张伟", "紧急 1 上级催办")).text
    assert late.startswith("议题1「经费」已经开始表决，紧急情况须在发起表决前宣布，没有记录。")
    deferred = (await h.say("张伟", "暂缓 1 意见不一")).text
    assert deferred.startswith("议题1「经费」的表决已有4人投票，不能再由主持人暂缓，没有办理。")
    # a bare 「推迟一周」 may mean meeting again: said with the same refusal
    later = (await h.say("张伟", "推迟一周")).text
    assert later.startswith("议题1「经费」的表决已有4人投票，不能再由主持人暂缓，没有办理。")
    assert later.endswith("如是指一周后再开会，请在散会后发送「召开会议 时间 地点 议题：…」。")
    item = await models.AgendaItem.get(number=1)
    assert (item.state, item.emergency_reason) == ("voting", "")
    for name in ("陈静", "杨帆", "赵敏"):
        await h.say(name, "反对")
    assert "暂缓决定" in await h.say("张伟", "结束表决")
    await h.say("张伟", "发起表决 2")
    assert "暂缓决定" in await h.say("张伟", "暂缓 2 材料不全")


async def test_the_leader_who_states_a_position_last_is_not_kept_from_voting(
    harness: ConsoleRig,
) -> None:
    """On a personnel item the leader votes last; a member present who does not vote had kept
    the leader from voting at all (4 yes needed, the leader's the 4th). The chair's 「结束表决」
    now calls time once: the leader may vote, then the vote is closed with the leader's ballot."""
    h = harness
    await convene_and_open(h, "干部任免（人事）", present=("张伟", "李娜", "王强", "刘洋", "陈静"))
    await h.say("张伟", "发起表决 1")
    for name in ("李娜", "王强", "刘洋"):
        await h.say(name, "投票 赞成", private=True)
    early = (await h.say("张伟", "投票 赞成", private=True)).text
    assert early.startswith("人事事项由组长最后表态，还有1位出席成员未投票。")
    called = (await h.say("张伟", "结束表决")).text
    assert called.startswith("议题1「干部任免」由组长最后表态，组长张伟还没有投票，本次表决截止。")
    assert await models.Vote.filter(state="open").count() == 1
    assert "已收到您的无记名投票（议题1 干部任免）" in await h.say(
        "张伟", "投票 赞成", private=True
    )
    # nobody votes after the leader (陈静's ballot had been counted after the cut-off)
    after = (await h.say("陈静", "投票 反对", private=True)).text
    assert after.startswith("人事事项由组长最后表态，组长已经投票"), after
    result = (await h.say("张伟", "结束表决")).text  # time was called: no third question
    assert "赞成4" in result
    assert "结果：通过" in result


async def test_a_meeting_left_open_takes_no_new_vote_the_next_day(harness: ConsoleRig) -> None:
    """A meeting opened on the 5th and never closed had taken a vote in August on the check-ins
    of that day; twelve hours after it opened no vote is opened, and it can still be closed."""
    h = harness
    await convene_and_open(h, "经费；换届", present=("张伟", "李娜", "王强", "刘洋"))
    h.at("2026-12-05 21:00")
    assert "开始表决" in await h.say("张伟", "发起表决 1")
    await h.say("李娜", "赞成")
    await h.say("张伟", "结束表决 1 现在")
    h.at("2026-12-06 09:00")
    stale = (await h.say("张伟", "发起表决 2")).text
    assert stale.startswith(
        "第1次会议开始已超过12小时，当时的签到已不能说明现在谁在场，没有发起表决。"
    )
    assert await models.Vote.all().count() == 1
    assert "第1次会议结束" in await h.say("张伟", "散会 现在")


async def test_a_one_and_said_checked_in_are_understood(harness: ConsoleRig) -> None:
    """「1」 answers a notice (收到请回复1); 「已签到」 checks in."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：经费")
    assert "李娜已确认收到第1次会议" in await h.say("李娜", "1")
    h.at("2026-12-05 14:50")
    assert "王强已签到" in await h.say("王强", "已签到")
    # asked, not done again: what is on record
    assert "第1次会议" in await h.say("王强", "我签到了吗")
    await h.say("刘洋", "请假 出差")
    assert "请假：刘洋（出差）" in await h.say("刘洋", "我的书面意见交上了吗")
    assert await models.WrittenOpinion.all().count() == 0


async def test_a_proposal_never_accepted_is_no_agenda_item_in_the_minutes(
    harness: ConsoleRig,
) -> None:
    """第十五条: a member's proposal joins the agenda when the leader accepts it; one never
    accepted had been listed in the minutes as item 2, 「未表决」."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：宣传")
    assert "议题建议" in await h.say("李娜", "提议议题 经费（重大）")
    await check_in_and_open(h)
    await h.say("张伟", "散会 现在")
    minutes = (await h.say("张伟", "纪要 全文")).text
    assert "未列入议程的议题建议：经费（李娜提议）" in minutes
    assert "2. 经费" not in minutes


async def test_the_quorum_at_a_close_counts_who_is_in_the_room_now(harness: ConsoleRig) -> None:
    """Four in the room when the vote opened; one left during it and another came: still four
    of seven. Only the opening's voters still here had been counted (「未达法定人数」 while four
    sat in the room). The one who came late does not vote on it; the quorum counts them."""
    h = harness
    await convene_and_open(h, "经费", present=NAMED)
    await h.say("张伟", "发起表决 1")
    for name in ("张伟", "李娜", "王强", "刘洋"):
        await h.say(name, "赞成")
    await h.say("刘洋", "离席 单位有急事")
    assert "可参加后续表决" in await h.say("陈静", "签到")
    assert "不能参加本项表决" in await h.say("陈静", "赞成")
    result = (await h.say("张伟", "结束表决")).text
    assert "未达法定人数" not in result, result
    assert "赞成4" in result, result
    assert "结果：通过" in result, result
    assert "表决结束时出席4人（计入法定人数）" in result, result


async def test_a_member_who_left_votes_no_more_and_the_leader_does_not_wait_for_them(
    harness: ConsoleRig,
) -> None:
    """离席 means the later votes no longer count the member as present: one who had left voted
    40 minutes later and made the 4th yes (「通过」 instead of 「未通过」); the leader who
    states a position last was kept waiting for one who had left. The ballot cast before
    leaving still counts."""
    h = harness
    five = ("张伟", "李娜", "王强", "刘洋", "陈静")
    await convene_and_open(h, "经费；干部任免（人事）", present=five)
    await h.say("张伟", "发起表决 1")
    await h.say("李娜", "赞成")
    assert "现出席4人" in await h.say("王强", "离席 单位急事")
    h.at("2026-12-05 15:40")
    refused = (await h.say("王强", "赞成")).text
    assert refused.startswith("您已中途离席，不能再参加表决"), refused
    for name in ("张伟", "刘洋"):
        await h.say(name, "赞成")
    await h.say("陈静", "反对")
    result = (await h.say("张伟", "结束表决")).text
    assert "赞成3" in result, result
    assert "结果：未通过" in result, result
    # back in the room: votes again from the next item on
    assert "回到会场" in await h.say("王强", "签到")
    await h.say("张伟", "发起表决 2")
    await h.say("刘洋", "离席 接孩子")
    for name in ("李娜", "王强", "陈静"):
        await h.say(name, "投票 赞成", private=True)
    taken = (await h.say("张伟", "投票 赞成", private=True)).text
    assert "已收到您的无记名投票（议题2 干部任免）" in taken, taken


async def test_a_vote_left_open_overnight_takes_no_ballot_the_next_day(
    harness: ConsoleRig,
) -> None:
    """A vote opened at the meeting and left open had taken three ballots 19 hours later (a
    poll of the next day, on the check-ins of the day before); it can still be closed."""
    h = harness
    await convene_and_open(h, "经费", present=NAMED)
    await h.say("张伟", "发起表决 1")
    await h.say("李娜", "赞成")
    h.at("2026-12-06 10:00")
    refused = (await h.say("王强", "赞成")).text
    assert refused.startswith("会议开始已超过12小时"), refused
    assert await models.Ballot.all().count() == 1
    assert "结果：未通过" in await h.say("张伟", "结束表决 现在")


async def test_absentees_standing_aside_do_not_let_three_of_seven_decide(
    harness: ConsoleRig,
) -> None:
    """Recused members leave the item's base, but the meeting's quorum still holds for the vote:
    with three in the room, three absentees' 「回避 1」 had opened a vote that passed 3 of 7."""
    h = harness
    await convene_and_open(h, "经费", present=NAMED)
    assert "不足法定人数" in await h.say("刘洋", "离席 有事")
    for name in ("陈静", "杨帆", "赵敏"):
        await h.say(name, "回避 1")
    refused = (await h.say("张伟", "发起表决 1")).text
    assert "未达到表决所需法定人数" in refused, refused
    assert "应到7人，实到3人" in refused, refused
    assert await models.Vote.all().count() == 0


async def test_a_check_in_the_next_day_and_a_leaving_before_the_start_are_not_recorded(
    harness: ConsoleRig,
) -> None:
    """A check-in on the 6th for the meeting of the 5th had counted as 迟到 (the minutes then
    said more were present); 「离席」 before the start was refused with a hint about 签到."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：经费")
    h.at("2026-12-05 14:50")
    await h.say("刘洋", "签到")
    before = (await h.say("刘洋", "离席 临时有事")).text
    assert before.startswith("第1次会议已发出通知，还没有开始，不用离席，没有记录。"), before
    for name in ("张伟", "李娜", "王强"):
        await h.say(name, "签到")
    h.at("2026-12-05 15:00")
    await h.say("张伟", "开会")
    h.at("2026-12-06 09:00")
    late = (await h.say("陈静", "签到")).text
    assert late.startswith("第1次会议开始已超过12小时，签到没有记录"), late
    assert await models.Attendance.filter(status="late").count() == 0


async def test_a_leave_asked_with_an_at_for_someone_else_is_not_the_senders(
    harness: ConsoleRig,
) -> None:
    """「请假 @赵敏 孩子生病」 from 李娜 had put 李娜 on leave."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：经费")
    refused = (await h.say("李娜", "请假 @赵敏 孩子生病")).text
    assert refused.startswith("这句话说的是赵敏请假。"), refused
    assert await models.Attendance.all().count() == 0


async def test_a_postponement_before_the_meeting_defers_no_item(harness: ConsoleRig) -> None:
    """「延期到下周四吧」 the day before a one-item meeting had deferred its item at once (the
    new notice then had no agenda); before the start it asks whether to move the meeting, and
    暂缓 of an item is refused with 改期 and 撤回议题."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作总结")
    h.at("2026-12-04 10:00")
    asked = (await h.say("张伟", "延期到下周四吧")).text
    assert asked.startswith("是否将第1次会议改期到2026年12月10日（星期四）15:00？"), asked
    refused = (await h.say("张伟", "暂缓 1 材料不全")).text
    assert "还没有开始，暂缓是会上对议题的决定，没有办理。" in refused, refused
    assert await models.AgendaItem.filter(state="deferred").count() == 0


async def test_a_ballot_cast_before_leaving_is_said_in_the_result(harness: ConsoleRig) -> None:
    """Five ballots beside 「出席且有表决权4人」 had read as a miscount."""
    h = harness
    five = ("张伟", "李娜", "王强", "刘洋", "陈静")
    await convene_and_open(h, "经费", present=five)
    await h.say("张伟", "发起表决 1")
    for name in five:
        await h.say(name, "赞成")
    await h.say("陈静", "离席 接孩子")
    result = (await h.say("张伟", "结束表决")).text
    assert "赞成5" in result, result
    assert "表决结束时出席4人（计入法定人数），已投的票含中途离席前投出的" in result, result


async def test_the_leader_who_opens_without_checking_in_is_checked_in(
    harness: ConsoleRig,
) -> None:
    """第十七条: the leader chairs in the room. One who opened without 签到 had been listed
    「主持人：张伟 … 缺席：张伟」 and refused his own ballot; opening checks him in, said so."""
    h = harness
    await convene_and_open(h, "年度工作总结", present=("李娜", "王强", "陈静"))
    opened = next(r for r in h.sent if "会议现在开始" in r.text).text
    assert "主持人张伟此前没有签到，开会时已为其登记签到。" in opened, opened
    assert "应到7人，实到4人" in opened, opened
    await h.say("张伟", "发起表决 1")
    for name in ("李娜", "王强", "陈静"):
        await h.say(name, "赞成")
    assert "已记录" in await h.say("张伟", "赞成")
    assert "结果：通过" in await h.say("张伟", "结束表决")
    await h.say("张伟", "散会")
    minutes = (await h.say("张伟", "纪要 全文")).text
    assert "出席：张伟、李娜、王强、陈静；" in minutes, minutes
    assert "缺席：刘洋、杨帆、赵敏" in minutes, minutes


async def test_chair_actions_go_to_the_delegate_and_the_chair_in_the_room(
    harness: ConsoleRig,
) -> None:
    """The leader on leave had delegated the chair and still opened and closed votes and closed
    the meeting from afar; a delegate who had left kept opening votes. Both are refused, saying
    why and what to do; the delegate's leaving ends the delegation (the leader, away, is asked
    to delegate again), and back in the room (签到) the delegate chairs only when delegated
    anew."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：甲；乙")
    await h.say("张伟", "请假 出差")
    h.at("2026-12-05 14:50")
    for name in ("李娜", "王强", "刘洋", "陈静", "杨帆"):
        await h.say(name, "签到")
    h.at("2026-12-05 15:00")
    await h.say("张伟", "委托主持 @王强 组长出差")
    refused = (await h.say("张伟", "开会")).text
    assert refused.startswith("张伟已请假（出差），第1次会议已委托王强主持（第十七条）"), refused
    assert "会议现在开始" in await h.say("王强", "开会")
    for said in ("发起表决 1", "散会 现在"):
        refused = (await h.say("张伟", said)).text
        assert refused.startswith("张伟已请假（出差），第1次会议已委托王强主持（第十七条）"), (
            refused
        )
    assert "开始表决" in await h.say("王强", "发起表决 1")
    refused = (await h.say("张伟", "结束表决 现在")).text
    assert "已委托王强主持" in refused, refused
    assert "没有结束表决" in refused, refused
    assert await models.Vote.filter(state="open").count() == 1
    await h.say("李娜", "赞成")
    assert "结果：" in await h.say("王强", "结束表决 现在")
    left = (await h.say("王强", "离席 有事")).text
    assert (
        "王强已离席，受托主持第1次会议随之结束；组长张伟已请假，"
        "请组长发送「委托主持 @成员 理由」另行委托。"
    ) in left, left
    gone = (await h.say("王强", "发起表决 2")).text
    assert gone.startswith(
        "王强已离席，受托主持第1次会议已结束，主持已回到组长张伟（组长不在会场）（第十七条），"
        "「发起表决」没有办理。"
    ), gone
    away = (await h.say("张伟", "发起表决 2")).text
    assert away.startswith("张伟已请假（出差），不能主持本次会议，没有发起表决。"), away
    assert "受托主持第1次会议已结束" in await h.say("王强", "散会 现在")
    assert await models.Vote.all().count() == 1
    back = (await h.say("王强", "签到")).text
    assert "王强受托主持已在离席时结束，现由组长张伟主持" in back, back
    assert "受托主持第1次会议已结束" in await h.say("王强", "发起表决 2")
    assert await models.Vote.all().count() == 1
    await h.say("张伟", "委托主持 @王强 组长出差")
    assert "开始表决" in await h.say("王强", "发起表决 2")


async def test_a_delegated_chair_on_leave_hands_the_chair_back_to_the_leader(
    harness: ConsoleRig,
) -> None:
    """The chair delegated to 李娜, who then asked for leave: she kept the delegation, and the
    leader who came after all was refused 「已委托李娜主持」, nobody told. Her leave ends it: the
    group is told in one sentence, the chair is the leader's again (the meeting's row and the
    chain, as a delegation is recorded; the minutes say so and verify is clean), and 李娜 coming
    after all does not chair again unless delegated anew."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：经费")
    await h.say("张伟", "委托主持 @李娜 组长出差")
    said = (await h.say("李娜", "请假 临时出差")).text
    assert said.splitlines()[-1] == "李娜已请假，受托主持第1次会议随之结束，由组长张伟主持。", said
    zhang = await models.Person.get(name="张伟")
    assert (await models.Meeting.get(number=1)).chair_id == zhang.id
    ended = await models.EventLog.get(kind="chair_delegation_ended")
    assert '"why":"leave"' in ended.payload, ended.payload
    assert "主持：张伟" in await h.say("王强", "会议状态")
    h.at("2026-12-05 14:50")
    back = (await h.say("李娜", "签到")).text
    assert "李娜受托主持已在请假时结束，现由组长张伟主持；需要李娜继续主持的，" in back, back
    await check_in_and_open(h, present=("张伟", "王强", "刘洋", "陈静"))
    assert "李娜已请假，受托主持第1次会议已结束，主持已回到组长张伟（第十七条）" in await h.say(
        "李娜", "发起表决 1"
    )
    await h.say("张伟", "散会 现在")
    minutes = (await h.say("张伟", "纪要 全文")).text
    assert "主持人：张伟" in minutes, minutes
    assert "委托主持：李娜请假，受托主持随之结束，主持回到组长张伟" in minutes, minutes
    assert (await verify.run()).clean


async def test_a_delegated_chair_on_leave_in_private_is_told_to_the_group(
    harness: ConsoleRig,
) -> None:
    """The delegate's leave asked in a private chat: the leave is answered there, the end of the
    delegation goes to the group (the leader @-mentioned), and no other member's leave or
    leaving touches the chair."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：经费")
    await h.say("张伟", "委托主持 @李娜 组长出差")
    await h.say("王强", "请假 出差")
    assert await models.EventLog.filter(kind="chair_delegation_ended").count() == 0
    before = len(h.adapter.sent)
    await h.say("李娜", "请假 临时出差", private=True)
    sent = h.adapter.sent[before:]
    (told,) = [m for m in sent if m.chat.kind is ChatKind.GROUP]
    assert told.text == "李娜已请假，受托主持第1次会议随之结束，由组长张伟主持。", told.text
    assert [m.name for m in told.mentions] == ["张伟"]
    (answer,) = [m for m in sent if m.chat.kind is ChatKind.PRIVATE]
    assert answer.text.startswith("李娜已请假（临时出差）"), answer.text


async def test_a_leader_who_left_does_not_chair_until_back(harness: ConsoleRig) -> None:
    """A leader who chairs and leaves (离席) is told to delegate the chair or come back."""
    h = harness
    await convene_and_open(h, "甲；乙")
    await h.say("张伟", "离席 接个电话")
    refused = (await h.say("张伟", "发起表决 1")).text
    assert refused.startswith("张伟已离席（接个电话），不能再主持本次会议（第十七条）"), refused
    assert "请发送「委托主持 @成员 理由」由其他成员主持" in refused, refused
    assert await models.Vote.all().count() == 0
    await h.say("张伟", "委托主持 @李娜 组长有事")
    assert "开始表决" in await h.say("李娜", "发起表决 1")
    await h.say("张伟", "签到")
    assert "组长张伟恢复主持第1次会议" in await h.say("张伟", "委托主持 @张伟 回到会场")
    assert "结果：" in await h.say("张伟", "结束表决 现在")


async def test_a_written_opinion_is_withdrawn_when_its_author_attends(
    harness: ConsoleRig,
) -> None:
    """A member on leave sent a written opinion (反对), then came after all and voted 赞成: the
    opinion had been read out at the vote and listed in the minutes as a leave-member's. Their
    check-in withdraws it, said so; an opinion on an item already voted stands."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：宣传；经费（重大）")
    await h.say("刘洋", "请假 出差，书面意见：1 同意 2 反对，预算太高")
    assert await models.WrittenOpinion.all().count() == 2
    await check_in_and_open(h, present=(*NAMED[:3], "陈静"))
    await h.say("张伟", "发起表决 1")
    for name in ("张伟", "李娜", "王强", "陈静"):
        await h.say(name, "赞成")
    await h.say("张伟", "结束表决")
    assert "签到时，您对尚未表决议题提交的书面意见随之撤回" in await h.say("刘洋", "撤销请假")
    came = (await h.say("刘洋", "签到")).text
    assert "此前对议题2「经费」提交的书面意见已撤回，表决时不再宣读" in came, came
    assert await models.WrittenOpinion.all().count() == 1  # item 1's, read at its vote
    opened = (await h.say("张伟", "发起表决 2")).text
    assert "预算太高" not in opened, opened
    assert "书面意见" not in opened, opened
    for name in (*NAMED, "陈静"):
        await h.say(name, "赞成")
    await h.say("张伟", "结束表决")
    await h.say("张伟", "散会")
    minutes = (await h.say("张伟", "纪要 全文")).text
    assert "书面意见（刘洋，不计票）：同意" in minutes, minutes
    assert "预算太高" not in minutes, minutes
    assert "刘洋的书面意见已在本人签到到会时撤回" in minutes, minutes


async def test_a_leader_approved_after_the_convening_leads_from_the_next_meeting(
    harness: ConsoleRig,
) -> None:
    """The approval said 「本次调整自下次会议起适用」, yet the new leader (李娜) was the one who
    votes last on a personnel item and signed the minutes. The meeting's leader is the leader
    when it was convened: 张伟 chairs, votes last and signs; 李娜 is told why she does not."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：秘书长人选（人事）")
    await h.say("张伟", "提议组长 @李娜 副理事长 工作需要")
    assert "下次会议起适用" in await h.say("市党委刘老师", "批准 1", private=True)
    refused = (await h.say("李娜", "委托主持 @王强")).text
    assert refused.startswith("第1次会议召开时的组长是张伟，本次会议的组长职责仍由张伟履行"), (
        refused
    )
    # the meeting's leader decides its proposals in the short forms too (「同意2」「驳回3 …」)
    await h.say("王强", "提议议题 会员发展")
    await h.say("刘洋", "提议议题 换届筹备")
    assert "已列入议程" in await h.say("张伟", "同意2")
    assert "未列入议程" in await h.say("张伟", "驳回3 时机不成熟")
    states = {i.number: i.state for i in await models.AgendaItem.all()}
    assert states == {1: "accepted", 2: "accepted", 3: "rejected"}, states
    await check_in_and_open(h, present=("张伟", "李娜", "王强", "刘洋", "陈静"))
    refused = (await h.say("李娜", "发起表决 1")).text
    assert "由张伟主持" in refused, refused
    assert "组长调整自下次会议起适用" in refused, refused
    await h.say("张伟", "发起表决 1")
    early = (await h.say("张伟", "投票 赞成", private=True)).text
    assert early.startswith("人事事项由组长最后表态"), early
    for name in ("李娜", "王强", "刘洋", "陈静"):
        assert "已收到" in await h.say(name, "投票 赞成", private=True)
    assert "已收到" in await h.say("张伟", "投票 赞成", private=True)
    assert "赞成5" in await h.say("张伟", "结束表决")
    await h.say("张伟", "散会 现在")  # item 2 is left for another meeting
    refused = (await h.say("李娜", "签发")).text
    assert "纪要没有签发" in refused, refused
    assert "组长张伟已签发第1次会议纪要" in await h.say("张伟", "签发")


async def test_leaving_during_a_vote_warns_when_its_item_quorum_is_lost(
    harness: ConsoleRig,
) -> None:
    """A personnel vote needs two thirds in the room: 刘洋 leaving it with five of seven present
    had been answered 「仍达到法定人数」 only (the meeting's), the vote then deciding nothing."""
    h = harness
    await convene_and_open(h, "增补委员人选（人事）", present=(*NAMED, "陈静"))
    await h.say("张伟", "发起表决 1")
    left = (await h.say("刘洋", "离席 有事")).text
    assert "现出席4人，仍达到开会的法定人数" in left, left
    assert "⚠ 正在表决的议题1「增补委员人选」（人事事项）已不足表决所需法定人数" in left, left
    assert "需达到三分之二即至少5人" in left, left


async def test_an_annual_summary_filed_after_its_deadline_is_said_to_be_late(
    harness: ConsoleRig,
) -> None:
    """2026's summary filed on 5 January 2027 had been shown as filed, like one on time, in
    「报送期限」 and to the committee; now 「逾期5天提交」 there."""
    h = harness
    h.at("2027-01-05 09:00")
    filed = (await h.say("陈静", "年度总结 2026年度工作总结 内容")).text
    assert "（逾期5天提交）" in filed, filed
    status = (await h.say("陈静", "报送期限")).text
    assert "已由陈静于2027年1月5日提交（逾期5天提交，#1「2026年度工作总结」）" in status, status
    seen = (await h.say("市党委刘老师", "报送情况", private=True)).text
    assert "「2026年度工作总结」（逾期5天提交）" in seen, seen


async def test_a_late_annual_summary_is_said_to_be_late_in_the_filing_record(
    harness: ConsoleRig,
) -> None:
    """「报送记录」 had listed 2026's summary filed on 5 January 2027 like any other filing; it
    says 「逾期5天提交」 now, as 「报送期限」 does. The committee's 报送情况 had counted it
    nowhere (not this year's, rightly, and not last year's either): it is last year's, filed
    late (「2026 年度总结逾期补报 1 个」), and 2027's is still to come."""
    h = harness
    h.at("2027-01-05 09:00")
    await h.say("陈静", "年度总结 2026年度工作总结 全年召开会议2次")
    await h.say("陈静", "备案 议事规则 经第1次会议通过")
    shown = (await h.say("李娜", "报送记录")).text.splitlines()
    assert shown[1] == "#2 工作制度备案「议事规则」：陈静于2027年1月5日提交，尚未确认收到", shown
    assert shown[2] == (
        "#1 年度总结「2026年度工作总结」：陈静于2027年1月5日逾期5天提交，尚未确认收到"
    ), shown
    seen = (await h.say("市党委刘老师", "报送情况", private=True)).text
    assert (
        "2027 年度总结：已报送 0 个，逾期未报送 0 个，未到截止日 1 个；2026 年度总结逾期补报 1 个"
    ) in seen, seen
    detail = (await h.say("市党委刘老师", "学会情况 苏州市示例科技学会", private=True)).text
    assert "2027 年度总结：未报送，2027-12-31 截止（剩 360 天）；上年逾期 5 天报送" in detail


async def test_that_will_do_for_today_asks_to_close_the_meeting(harness: ConsoleRig) -> None:
    """「今天就到这里吧，剩下的下次再说」 had been asked as deferring the item turned to, for the
    reason 「剩下的」; it asks whether to close the meeting, saying truthfully that the items not
    voted are not carried to the next meeting unless deferred (暂缓) first."""
    h = harness
    await convene_and_open(h, "年度工作总结；党建活动计划；会员发展工作")
    await h.say("张伟", "下一个议题")
    asked = (await h.say("张伟", "今天就到这里吧，剩下的下次再说")).text
    assert asked.startswith(
        "议题1「年度工作总结」、议题2「党建活动计划」、议题3「会员发展工作」还没有表决，"
        "散会后不会自动列入下次会议（要下次再议的，请先发送「暂缓 议题编号 理由」）。确定现在散会吗？"
    ), asked
    assert await models.AgendaItem.filter(state="deferred").count() == 0
    assert "第1次会议结束" in await h.say("张伟", "是")


async def test_the_chair_is_not_handed_to_one_who_cannot_chair(harness: ConsoleRig) -> None:
    """The chair delegated to a member on leave, the leader then on leave too: five present and
    nobody could open the meeting; a leader on leave 「委托主持 @自己」 took it back likewise."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：经费")
    await h.say("赵敏", "请假 出差")
    refused = (await h.say("张伟", "委托主持 @赵敏 组长出差")).text
    assert refused.startswith("赵敏已请假，不能主持第1次会议，没有委托。"), refused
    assert "委托李娜主持" in await h.say("张伟", "委托主持 @李娜 组长出差")
    await h.say("张伟", "请假 出差")
    back = (await h.say("张伟", "委托主持 @张伟")).text
    assert back.startswith("组长本人已请假，不能主持第1次会议"), back
    meeting = await models.Meeting.get(number=1)
    assert meeting.chair_id == (await models.Person.get(name="李娜")).id


async def test_a_refused_delegation_does_not_suggest_the_one_refused(harness: ConsoleRig) -> None:
    """Its example had always named 李娜, even when she was the member on leave refused."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：经费")
    await h.say("李娜", "请假 出差")
    refused = (await h.say("张伟", "委托主持 @李娜 组长出差")).text
    assert refused.startswith("李娜已请假，不能主持第1次会议，没有委托。"), refused
    assert "@李娜" not in refused
    assert "委托主持 @成员 理由" in refused


async def test_a_member_back_after_leaving_is_present_and_the_leaving_is_minuted(
    harness: ConsoleRig,
) -> None:
    """One who left at 15:10 and checked in again at 15:20 had been recorded 迟到 and the
    leaving had vanished from the minutes; now present as before, 「中途离席：刘洋（单位有事，
    15:20返回）」."""
    h = harness
    five = ("张伟", "李娜", "王强", "刘洋", "陈静")
    await convene_and_open(h, "经费", present=five)
    h.at("2026-12-05 15:10")
    await h.say("刘洋", "离席 单位有事")
    h.at("2026-12-05 15:20")
    assert "刘洋已签到（5/7），回到会场，可参加之后的表决。" in await h.say("刘洋", "签到")
    await h.say("陈静", "离席 接孩子")
    await h.say("张伟", "发起表决 1")
    for name in ("张伟", "李娜", "王强", "刘洋"):
        await h.say(name, "赞成")
    await h.say("张伟", "结束表决")
    await h.say("张伟", "散会")
    minutes = (await h.say("张伟", "纪要 全文")).text
    assert "出席：张伟、李娜、王强、刘洋、陈静（中途离席）；迟到：无" in minutes, minutes
    assert "中途离席：刘洋（单位有事，15:20返回）、陈静（接孩子）" in minutes, minutes


async def test_opinions_withdrawn_at_a_check_in_are_said_when_leave_is_asked_again(
    harness: ConsoleRig,
) -> None:
    """A member checked in (opinions withdrawn) and then asked for leave again: told that the
    opinions are not restored (they had silently gone, the minutes saying he attended)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：经费；换届")
    await h.say("杨帆", "请假 出差 1 反对 2 弃权")
    h.at("2026-12-05 14:30")
    assert "书面意见已撤回" in await h.say("杨帆", "签到")
    again = (await h.say("杨帆", "请假 临时有事")).text
    assert "您签到时撤回的书面意见不会自动恢复" in again, again
