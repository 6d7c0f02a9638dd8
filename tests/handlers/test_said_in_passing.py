"""Things said the way people say them in the group, each acted on as meant (each of these had
been refused, misread as another command, or asked back for nothing)."""

from __future__ import annotations

import json

from bot import minutes as mn
from bot.ledger import canonical_json
from storage import models, repo
from tests.kit.console import ConsoleRig, check_in_and_open, convene_and_open

ADMIN = "市党委刘老师"


async def test_views_on_items_said_plainly_are_written_opinions(harness: ConsoleRig) -> None:
    """「年度总结我没意见，预算建议再细一点」 from a member on leave: one written opinion per item it
    names (it had been taken for the liaison's 年度总结 filing and refused as not theirs); from
    a member not on leave, the refusal says to ask for leave first, nothing written."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度总结；明年的经费预算")
    items = {it.number: it.id for it in await models.AgendaItem.all()}
    await h.say("杨帆", "请假 出差")
    said = (await h.say("杨帆", "年度总结我没意见，预算建议再细一点")).text
    assert said.startswith(
        "已收到杨帆对议题1「年度总结」、议题2「明年的经费预算」的书面意见，将在会上宣读"
    )
    opinions = sorted((o.item_id, o.text) for o in await models.WrittenOpinion.all())
    assert opinions == [(items[1], "年度总结我没意见"), (items[2], "预算建议再细一点")]
    refused = (await h.say("李娜", "预算我没意见")).text
    assert refused.startswith("书面意见由请假的成员提交。不能参会请先发送「请假 理由」")
    assert await models.WrittenOpinion.all().count() == 2
    # 「时间我没问题」 is no opinion on anything
    assert "书面意见" not in await h.say("王强", "时间我没问题")
    assert await models.WrittenOpinion.all().count() == 2


async def test_the_agenda_asked_for_in_a_sentence(harness: ConsoleRig) -> None:
    """「这次会议都讨论什么？」「开会讨论哪些议题」 show the meeting with its items (the second had
    been taken for 开会 and refused to a member)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度总结；经费预算")
    for said in ("这次会议都讨论什么？", "开会讨论哪些议题"):
        shown = (await h.say("刘洋", said)).text
        assert "议题1「年度总结」（一般事项）：已列入议程" in shown
        assert "议题2「经费预算」" in shown


async def test_a_proposal_put_on_or_kept_off_the_agenda_by_its_title(harness: ConsoleRig) -> None:
    """「同意把会员发展列入议程」 puts the proposal titled 会员发展 on the agenda (it had been
    taken for a ballot with no vote open); 「学会章程修订不列入议程，下次再说」 keeps that one off
    with the reason."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度总结")
    await h.say("王强", "提议议题 会员发展")
    await h.say("王强", "提议议题 学会章程修订")
    assert "议题2「会员发展」已列入议程（王强提议）" in await h.say(
        "张伟", "同意把会员发展列入议程"
    )
    kept_off = (await h.say("张伟", "学会章程修订不列入议程，下次再说")).text
    assert "议题建议3「学会章程修订」未列入议程，理由：下次再说。" in kept_off
    states = {it.number: it.state for it in await models.AgendaItem.all()}
    assert states == {1: "accepted", 2: "accepted", 3: "rejected"}


async def test_the_recorder_and_the_chair_named_in_a_sentence(harness: ConsoleRig) -> None:
    """「请陈静做记录」 makes 陈静 the recorder; 「我请李娜代为主持」「李娜来主持」 delegate the chair
    (both had not been understood); 「我来记录」 names no one and changes nothing."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度总结")
    society = await models.Society.first()
    assert society is not None
    before = society.recorder_id  # type: ignore[attr-defined]
    assert "已指定陈静为" in await h.say("张伟", "请陈静做记录")
    society = await models.Society.first()
    assert society is not None
    recorder = await models.Person.get(id=society.recorder_id)  # type: ignore[attr-defined]
    assert recorder.name == "陈静"
    assert recorder.id != before
    assert "已指定" not in await h.say("张伟", "我来记录")
    assert "委托李娜主持" in await h.say("张伟", "我请李娜代为主持")
    assert "委托王强主持" in await h.say("张伟", "王强来主持")
    meeting = await models.Meeting.get(number=1)
    chair = await models.Person.get(id=meeting.chair_id)  # type: ignore[attr-defined]
    assert chair.name == "王强"


async def test_an_apology_before_a_check_in_is_no_question(harness: ConsoleRig) -> None:
    """「不好意思，我到了」 checks in (it had been asked back, as if the remark might change what
    was meant); 「抱歉，赞成」 is still asked back (a ballot only from its words)."""
    h = harness
    await convene_and_open(h, "年度总结", present=("张伟", "王强", "刘洋", "陈静"))
    assert "李娜已签到" in await h.say("李娜", "不好意思，我到了")
    await h.say("张伟", "发起表决 1")
    asked = (await h.say("李娜", "抱歉，赞成")).text
    assert "回复「赞成」确认" in asked
    assert await models.Ballot.all().count() == 0


async def test_an_item_named_before_this_item_is_deferred_as_that_item(
    harness: ConsoleRig,
) -> None:
    """「会员发展这个议题下次再议」 asks to defer 会员发展 (the question had offered 「暂缓 会员发展
    这个议题」); yes defers that item, the other untouched."""
    h = harness
    await convene_and_open(h, "年度总结；会员发展")
    asked = (await h.say("张伟", "会员发展这个议题下次再议")).text
    assert "「暂缓 会员发展」" in asked
    assert "这个议题」" not in asked
    await h.say("张伟", "是")
    states = {it.number: it.state for it in await models.AgendaItem.all()}
    assert states[2] == "deferred"
    assert states[1] != "deferred"
    checked, broken = await repo.verify_all()
    assert checked
    assert broken is None


async def test_the_minutes_name_those_due_in_the_rosters_order(harness: ConsoleRig) -> None:
    """The full minutes list 应到会 as the roster stood at convening (the leader first), not in
    the order of the characters' code points (刘洋、张伟、李娜…, the stored minutes being JSON
    with sorted keys); minutes stored before, with the names as a mapping, still read."""
    h = harness
    await convene_and_open(h, "年度总结", present=("张伟", "李娜", "王强", "刘洋", "陈静"))
    await h.say("张伟", "散会 现在")
    full = (await h.say("张伟", "纪要 全文")).text
    assert "召开会议时的成员名单：张伟、李娜、王强、刘洋、陈静、杨帆、赵敏）" in full
    assert "出席：张伟、李娜、王强、刘洋、陈静；" in full
    version = await models.MinutesVersion.first()
    assert version is not None
    stored = json.loads(version.body)
    assert stored["attendance"][0] == ["张伟", "present"]
    older = dict(stored, attendance=dict(stored["attendance"]))
    minutes = mn.Minutes.from_json(json.loads(canonical_json(older)))
    assert list(minutes.attendance)[:3] == ["刘洋", "张伟", "李娜"]  # as it was stored then
    assert minutes.attendance["赵敏"] == "absent"


async def test_filings_and_the_roster_asked_about_in_a_sentence(harness: ConsoleRig) -> None:
    """The liaison's 「提交工作规则 …」 files the work rules and 「我们学会的工作制度备案了吗」 shows
    the filing; 「工作制度要备案吗」 says what is owed; the committee's 「哪些学会今年还没开会」 and
    「示例学会今年开了几次会」, and the leader's 「我们的任期到什么时候」, show what they ask
    (each had not been understood)."""
    h = harness
    h.at("2026-12-01 09:00")
    owed = (await h.say("陈静", "工作制度要备案吗")).text
    assert "工作制度尚未备案（第二十一条）" in owed
    filed = (await h.say("陈静", "提交工作规则 学会党建工作领导小组工作规则（2026年修订）")).text
    assert "学会党建工作领导小组工作规则（2026年修订）" in filed
    filings = [(f.kind, f.title) for f in await models.Filing.all()]
    assert filings == [("work_rules", "学会党建工作领导小组工作规则（2026年修订）")]
    history = (await h.say("陈静", "我们学会的工作制度备案了吗")).text
    assert "学会党建工作领导小组工作规则（2026年修订）" in history
    assert "今年开会 0 次" in await h.say(ADMIN, "示例学会今年开了几次会", private=True)
    summary = (await h.say(ADMIN, "哪些学会今年还没开会", private=True)).text
    assert "苏州市示例科技学会" in summary
    assert "本届任期至 2029-05-31" in await h.say("张伟", "我们的任期到什么时候")


async def test_an_absence_said_is_explained_not_entered(harness: ConsoleRig) -> None:
    """「赵敏没来，算缺席吧」: no one enters an absence (at 散会 whoever neither checked in nor asked
    for leave is recorded absent); the reply says so and where 赵敏 stands, a member who did
    check in or asked for leave is said to have; 「还有谁没来」 names those not here. Nothing is
    written (it had not been understood)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度总结")
    await h.say("杨帆", "请假 出差")
    await check_in_and_open(h, present=("张伟", "李娜", "王强", "刘洋", "陈静"))
    events = await models.EventLog.all().count()
    said = (await h.say("张伟", "赵敏没来，算缺席吧")).text
    assert said == (
        "缺席不用登记：散会时既没有签到、也没有请假的成员记为缺席，写入纪要。"
        "赵敏目前没有签到也没有请假；到场后发送「签到」记为迟到。"
    )
    assert (await h.say("张伟", "记杨帆缺席")).text == "杨帆已请假（出差），纪要记为请假。"
    assert (await h.say("张伟", "李娜没来")).text == "李娜已签到，按出席记录。"
    assert (await h.say("张伟", "还有谁没来")).text.endswith("目前没有签到也没有请假：赵敏。")
    assert await models.EventLog.all().count() == events
    await h.say("张伟", "散会 现在")
    assert "缺席：赵敏" in await h.say("张伟", "纪要 全文")


async def test_an_item_named_in_prose_before_its_deferral_is_the_one_deferred(
    harness: ConsoleRig,
) -> None:
    """「预算这个议题分歧比较大，暂缓到下次」 while the chair is on another item defers 2027年经费预算
    with the reason 分歧比较大 (it had deferred the item in focus with the reason 「到下次」); a
    reason that only shares a word inside a title (「工作量太大」, 年度工作总结) names nothing, the
    item in focus is deferred; an item named so that was already voted is refused, none other
    deferred. 「大家对预算有什么意见」 turns the meeting to that item."""
    h = harness
    await convene_and_open(h, "会员发展；2027年经费预算（重大）；年度工作总结")
    await h.say("张伟", "下一项")  # item 1 in focus
    asked = (await h.say("张伟", "预算这个议题分歧比较大，暂缓到下次")).text
    assert "「暂缓 预算这个议题分歧比较大」" in asked
    said = (await h.say("张伟", "是")).text
    assert said == "议题2「2027年经费预算」暂缓决定（分歧比较大），将转入下次会议再行表决。"
    states = {it.number: it.state for it in await models.AgendaItem.all()}
    assert (states[1], states[2]) == ("accepted", "deferred")
    said = (await h.say("张伟", "暂缓 工作量太大")).text  # item 1 still in focus
    assert said.startswith("议题1「会员发展」暂缓决定（工作量太大）")
    await h.say("张伟", "发起表决 3")
    for name in ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏"):
        await h.say(name, "赞成")
    await h.say("张伟", "结束表决")
    refused = (await h.say("张伟", "暂缓 总结分歧大")).text
    assert "暂缓决定" not in refused
    states = {it.number: it.state for it in await models.AgendaItem.all()}
    assert states == {1: "deferred", 2: "deferred", 3: "decided"}


async def test_the_chair_asking_views_on_an_item_turns_to_it(harness: ConsoleRig) -> None:
    """「大家对预算有什么意见」 is 讨论 预算: the meeting turns to that item (its card shown), so
    that 「这个议题…暂缓」 then defers it; 「请吴国华理事长列席，他是非党员理事长」 invites him
    with that reason (both had not been understood)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：会员发展；2027年经费预算（重大）")
    invited = (await h.say("张伟", "请吴国华理事长列席，他是非党员理事长")).text
    assert "吴国华" in invited
    observers = [(o.reason,) for o in await models.Observer.all()]
    assert observers == [("他是非党员理事长",)]
    await check_in_and_open(h)
    shown = (await h.say("张伟", "大家对预算有什么意见")).text
    assert shown.startswith("议题2「2027年经费预算」")
    await h.say("张伟", "这个议题分歧比较大，暂缓吧")
    said = (await h.say("张伟", "是")).text
    assert said.startswith("议题2「2027年经费预算」暂缓决定（分歧比较大）")


async def test_a_deferred_item_named_again_is_carried_not_added_twice(harness: ConsoleRig) -> None:
    """「下周三下午两点开会，继续讨论预算」 with 2027年经费预算 deferred convenes with that item
    once, carried (it had not been understood; 「…，讨论预算」 had added 预算 beside it); a topic
    that only begins with the same word (预算调整方案) is a new item. A cancelled meeting gives
    back what it carried: the next one carries it again (it had been lost, against 第十六条)."""
    h = harness
    await convene_and_open(h, "2027年经费预算（重大）；会员发展")
    await h.say("张伟", "暂缓 1 分歧较大")
    await h.say("张伟", "散会 现在")
    h.at("2026-12-10 09:00")
    notice = (await h.say("张伟", "下周三下午两点开会，继续讨论预算")).text
    assert "2026年12月16日（星期三）14:00" in notice
    assert "1. 2027年经费预算（重大事项，上次会议暂缓，再行表决）" in notice
    assert "2." not in notice
    await h.say("张伟", "取消会议 改期")
    notice = (await h.say("张伟", "召开会议 下周三下午两点 会议室 议题：预算调整方案")).text
    assert "1. 预算调整方案（一般事项）" in notice
    assert "2. 2027年经费预算（重大事项，上次会议暂缓，再行表决）" in notice
    checked, broken = await repo.verify_all()
    assert checked
    assert broken is None


async def test_leaving_the_group_and_a_note_for_the_minutes_said_plainly(
    harness: ConsoleRig,
) -> None:
    """A member's 「我要退出领导小组」 is told how (the leader proposes, the committee approves);
    the leader's 「王强申请退出领导小组，提议调整」 files that removal with the request as its
    reason; the recorder's 「纪要里王强的发言要补上：建议加强会员发展」 adds a note to the draft
    (it had shown the minutes)."""
    h = harness
    h.at("2026-12-01 09:00")
    told = (await h.say("王强", "我要退出领导小组")).text
    assert told == (
        "退出领导小组由组长提议、经市科技社团党委批准后生效（工作规则第六条）。"
        "请向组长张伟说明，由组长发送「提议免去 @王强 本人申请」。"
    )
    assert await models.RosterChange.all().count() == 0
    filed = (await h.say("张伟", "王强申请退出领导小组，提议调整")).text
    assert "已提交成员调整申请 #1：免去王强的领导小组成员职务" in filed
    change = await models.RosterChange.get()
    assert (change.kind, change.reason) == ("remove", "申请退出领导小组")
    await convene_and_open(h, "年度总结")
    await h.say("张伟", "散会 现在")
    noted = (await h.say("周婷", "纪要里王强的发言要补上：建议加强会员发展")).text
    assert "纪要已更新为第2版（已加入备注）" in noted
    assert "王强的发言 建议加强会员发展" in await h.say("张伟", "纪要 全文")


async def test_when_the_meeting_is_and_how_to_cast_a_secret_ballot(harness: ConsoleRig) -> None:
    """「这次会议什么时候开」 shows the meeting with its time (it had not been understood);
    「无记名投票怎么投」 from a member says how a ballot is cast, not how the chair opens such a
    vote; 「我是组员，能做什么」 lists what the member can send."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度总结")
    assert "时间：2026年12月5日（星期六）15:00" in await h.say("李娜", "这次会议什么时候开")
    how = (await h.say("刘洋", "无记名投票怎么投", private=True)).text
    assert "私聊中发送「投票 赞成」「投票 反对」或「投票 弃权」" in how
    assert "无记名表决 2" not in how
    assert (await h.say("王强", "我是组员，能做什么")).text.startswith("您是组员")


async def test_remarks_that_open_with_a_command_word_do_not_run_it(harness: ConsoleRig) -> None:
    """「签发之前我再看看纪要」 does not sign (it had signed and locked the minutes); 「散会前我再
    强调一下纪律」 does not close; 「年度总结这个议题大家有什么意见」 files nothing with the
    committee (it had filed an annual summary titled 「这个议题大家有什么意见」): a question, it is
    answered with the summary's state; 「提议大家先把材料看一遍」 is no agenda item."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度总结")
    assert "不像议题名称，没有提交" in await h.say("李娜", "提议大家先把材料看一遍")
    assert await models.AgendaItem.all().count() == 1
    await check_in_and_open(h)
    asked = (await h.say("张伟", "年度总结这个议题大家有什么意见")).text
    assert "尚未提交" in asked  # a question: answered with the summary's state
    await h.say("张伟", "是")
    assert await models.Filing.all().count() == 0
    await h.say("张伟", "散会前我再强调一下纪律")
    meeting = await models.Meeting.get(number=1)
    assert meeting.state == "open"
    await h.say("张伟", "散会 现在")
    await h.say("张伟", "签发之前我再看看纪要")
    assert await models.Signature.all().count() == 0


async def test_leaving_early_and_coming_after_all_said_plainly(harness: ConsoleRig) -> None:
    """One present who asks for leave in the meeting (「孩子生病了，要提前走一下」, then 是) leaves
    it, counted present until then (it had recorded her absent for the whole meeting, her
    ballot standing); 「我又能来了，不请假了」 from one on leave is told how to come (it had
    recorded a leave with the reason 「不」); a late arrival refused a ballot in a vote already
    open is told why (it had been told to check in, having done so)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度总结；会员发展")
    await h.say("刘洋", "请假 孩子开家长会")
    said = (await h.say("刘洋", "我又能来了，不请假了")).text
    assert said.startswith("刘洋目前是请假。请假不用撤销")
    leave = await models.Attendance.get(status="leave")
    assert leave.reason == "孩子开家长会"
    await check_in_and_open(h, present=("张伟", "李娜", "王强", "陈静", "杨帆"))
    await h.say("张伟", "发起表决 1")
    await h.say("赵敏", "签到")
    refused = (await h.say("赵敏", "赞成")).text
    assert refused.startswith("本项表决开始时您不在出席名单中（没有签到，或在表决开始后才签到）")
    await h.say("李娜", "赞成")
    await h.say("李娜", "我家里孩子生病了，要请假先走")
    said = (await h.say("李娜", "是")).text
    assert said.startswith("李娜中途离席")
    statuses = {a.reason: a.status for a in await models.Attendance.all()}
    assert "absent" not in statuses.values()


async def test_the_committee_decides_only_the_change_its_words_name(harness: ConsoleRig) -> None:
    """「同意增补王强」 with only 免去王强 waiting approves nothing (it had approved the removal);
    「批准 2 增补周婷」 where #2 is another change is refused naming what #2 is; 「同意免去王强」
    approves it. 「1号收到了，谢谢」 acknowledges filing 1 (it had only said 「不客气」)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "提议免去 @王强 年龄原因")
    await h.say("张伟", "提议增补 @周婷 党员 理事 加强记录工作")
    said = (await h.say(ADMIN, "同意增补王强", private=True)).text
    assert said.startswith("请写明申请编号")
    mismatch = (await h.say(ADMIN, "批准 1 增补周婷", private=True)).text
    assert mismatch.startswith(
        "申请 #1 是「免去王强的领导小组成员职务」，与所写的「1 增补周婷」不符"
    )
    assert await models.RosterChange.filter(status="pending").count() == 2
    assert "已批准 #1" in await h.say(ADMIN, "同意免去王强", private=True)
    await h.say("陈静", "备案 学会党建工作领导小组工作规则 经第3次会议通过")
    assert "已确认收到" in await h.say(ADMIN, "1号收到了，谢谢", private=True)


async def test_a_change_talked_about_is_not_filed(harness: ConsoleRig) -> None:
    """「免去刘洋的申请不要了」「增补吴国华的事再等等」「记录人换成杨帆的事先不急」「联系人改成
    刘洋？我觉得不太合适」 change nothing and file nothing (each had filed a request or changed
    the recorder or liaison on the spot); 「上报 2026年度工作总结 …」 is refused as a report and
    told to file it as 年度总结 (it had been filed as a 重大问题请示报告)."""
    h = harness
    h.at("2026-12-01 09:00")
    society = await models.Society.first()
    assert society is not None
    before = (society.recorder_id, society.liaison_id)  # type: ignore[attr-defined]
    for said in (
        "免去刘洋的申请不要了",
        "增补吴国华的事再等等",
        "记录人换成杨帆的事先不急，等周婷回来再说",
        "联系人改成刘洋？我觉得不太合适",
    ):
        assert "没有办理" in await h.say("张伟", said), said
    assert await models.RosterChange.all().count() == 0
    society = await models.Society.first()
    assert society is not None
    assert (society.recorder_id, society.liaison_id) == before  # type: ignore[attr-defined]
    refused = (await h.say("陈静", "上报 2026年度工作总结 全年召开会议4次")).text
    assert refused.endswith("请发送「年度总结 2026年度工作总结 全年召开会议4次」。")
    assert await models.Filing.all().count() == 0
    filed = (await h.say("陈静", "报告 关于修订工作规则的请示 拟于明年修订")).text
    assert "关于修订工作规则的请示" in filed
    assert await models.Filing.filter(kind="major_issue").count() == 1


async def test_reasons_are_kept_as_said(harness: ConsoleRig) -> None:
    """「不好意思单位有急事，我先走了」 leaves with the reason 单位有急事, which the minutes give
    (they had named who left, without why, and the reason had been lost); the committee's
    「驳回 1，理由：人选不符合条件」 keeps 「人选不符合条件」 (it had been 「理由：理由：…」)."""
    h = harness
    await convene_and_open(h, "年度总结")
    asked = (await h.say("刘洋", "不好意思单位有急事，我先走了")).text
    assert "「离席 单位有急事」" in asked
    assert (await h.say("刘洋", "是")).text.startswith("刘洋中途离席（单位有急事）")
    await h.say("张伟", "散会 现在")
    assert "中途离席：刘洋（单位有急事）" in await h.say("张伟", "纪要 全文")
    await h.say("张伟", "提议增补 @吴国华 非党员 理事长 加强联系")
    said = await h.say(ADMIN, "驳回 1，理由：人选不符合条件", private=True)
    assert said.text.startswith("已驳回 #1")
    change = await models.RosterChange.get()
    assert (change.status, change.decision_note) == ("rejected", "人选不符合条件")


async def test_how_many_after_a_command_word_is_a_question(harness: ConsoleRig) -> None:
    """The leader's 「开会要到多少人才算数」 with enough checked in at the meeting's time answers
    the rules and does not open the meeting (it had opened it); 「先看第一个议题」 turns to item
    1 (it had not been understood)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度总结；会员发展")
    h.at("2026-12-05 14:50")
    for name in ("张伟", "李娜", "王强", "刘洋", "陈静"):
        await h.say(name, "签到")
    h.at("2026-12-05 15:00")
    rules = (await h.say("张伟", "开会要到多少人才算数")).text
    assert "开会：须超过半数成员到会，即至少4人（第十八条）" in rules
    assert (await models.Meeting.get(number=1)).state == "convened"
    assert "会议现在开始" in await h.say("张伟", "开会")
    assert (await h.say("张伟", "先看第一个议题")).text.startswith("议题1「年度总结」")
