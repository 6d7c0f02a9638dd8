"""Messages written the way people write them (a copula or 「理由：」 after the words, several
things in one sentence), each acted on as meant and nothing else written."""

from __future__ import annotations

import json

from storage import models
from tests.kit.clock import TZ
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


async def test_two_roster_changes_in_one_message_and_the_same_change_twice(
    harness: ConsoleRig,
) -> None:
    """「免去陈静，增补吴国华」 files two requests (it had filed one, the removal, with
    「增补吴国华」 as its reason); the same change proposed again while it waits is refused, naming
    the request, nothing filed (it had been filed twice)."""
    h = harness
    h.at("2026-12-01 09:00")
    both = (await h.say("张伟", "免去陈静，增补吴国华")).replies
    assert both[0] == (
        "已提交成员调整申请 #1：免去陈静的领导小组成员职务。按工作规则第六条，须经市科技社团党委审核批准后生效。"
    )
    added, warned = both[1].split("\n", 1)  # 吴国华 is no party member: warned (第十五条)
    assert added == (
        "已提交成员调整申请 #2：增补吴国华为组员。按工作规则第六条，须经市科技社团党委审核批准后生效。"
    )
    assert warned.startswith("⚠ 吴国华不是中共党员。")
    assert len(both) == 2
    changes = [(c.kind, c.reason) for c in await models.RosterChange.all().order_by("id")]
    assert changes == [("remove", ""), ("add", "")]
    again = (await h.say("张伟", "提议免去 陈静 工作调动")).text
    assert again.startswith("申请 #1（免去陈静的领导小组成员职务）已经提交，正在等待")
    assert await models.RosterChange.all().count() == 2
    # a refusal of the second files neither
    refused = (await h.say("张伟", "免去王强，增补李娜")).text
    assert "李娜已是领导小组成员" in refused
    assert await models.RosterChange.all().count() == 2


async def test_a_command_word_made_a_noun_by_de_runs_nothing(harness: ConsoleRig) -> None:
    """「开会的材料都发群里了」 at the meeting's time had opened it, 「散会的时候大家把材料带走」 had
    closed it, 「签发的事我明天再说」 had signed and locked the minutes, 「取消会议的事我再想想」 had
    cancelled a meeting: a command's words followed by 「的」 and a noun are talked about."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度总结")
    await h.say("张伟", "取消会议的事我再想想")
    assert await models.Meeting.filter(state="cancelled").count() == 0
    h.at("2026-12-05 14:50")
    for name in ("张伟", "李娜", "王强", "刘洋", "陈静"):
        await h.say(name, "签到")
    h.at("2026-12-05 15:00")
    await h.say("张伟", "开会的材料都发群里了，大家看一下")
    assert (await models.Meeting.get(number=1)).state == "convened"
    await h.say("张伟", "开会")
    await h.say("张伟", "散会的时候大家把材料带走")
    assert (await models.Meeting.get(number=1)).state == "open"
    await h.say("张伟", "散会 现在")
    await h.say("张伟", "签发的事我明天再说")
    assert await models.Signature.all().count() == 0


async def test_what_is_said_after_a_new_time_is_no_place(harness: ConsoleRig) -> None:
    """「会议推迟半小时吧」 had moved the meeting to the place 「吧」, 「会议推迟到…9点，麻烦大家留意」
    to 「麻烦大家留意」, 「地点改为哪里还没定」 to 「哪里还没定」; a convening with its topics
    straight after the time (「…15:00 年度总结；经费预算」) had made them the place."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-08 15:00 年度总结；2027年经费预算")
    meeting = await models.Meeting.get(number=1)
    assert meeting.place == "待定"
    titles = [it.title for it in await models.AgendaItem.all().order_by("number")]
    assert titles == ["年度总结", "2027年经费预算"]
    await h.say("张伟", "改期 2026-12-09 15:00 学会二楼会议室")
    await h.say("张伟", "会议推迟半小时吧")
    await h.say("张伟", "会议推迟到12月21日上午9点，麻烦大家留意")
    assert "请写明新的会议地点" in await h.say("张伟", "地点改为哪里还没定")
    await h.say("张伟", "地点改到三楼会议室，请大家准时参加")
    meeting = await models.Meeting.get(number=1)
    assert meeting.place == "三楼会议室"
    moves = await models.EventLog.filter(kind="meeting_rescheduled").order_by("seq")
    places = [json.loads(e.payload)["place"] for e in moves]
    assert places == ["学会二楼会议室", "学会二楼会议室", "学会二楼会议室", "三楼会议室"]


async def test_a_bare_weekday_that_would_move_a_meeting_to_an_earlier_week_is_asked(
    harness: ConsoleRig,
) -> None:
    """On Tuesday 1 December, 「会议改到周四下午3点」 of a meeting set for Wednesday 9 December
    had moved it to 3 December; now it asks which Thursday, nothing changed. 「下周四」 moves it."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-09 15:00 会议室 议题：年度总结")
    asked = (await h.say("张伟", "会议改到周四下午3点")).text
    assert asked.startswith(
        "「周四」是指12月3日（星期四），还是原定会议那一周的12月10日（星期四）？"
    )
    meeting = await models.Meeting.get(number=1)
    assert meeting.starts_at.astimezone(TZ).day == 9
    await h.say("张伟", "改期 下周四")
    meeting = await models.Meeting.get(number=1)
    assert meeting.starts_at.astimezone(TZ).day == 10


async def test_opinions_on_several_numbered_items_go_each_on_its_own(harness: ConsoleRig) -> None:
    """「书面意见：1 同意；2 同意但建议压缩会务费」 had put the whole text on item 1 and none on
    item 2; so had 「1 同意 2 反对，预算太高」 and 「书面意见 1 同意；书面意见 2 …」. A figure in an
    opinion (「预算压缩到 3 万元」) is no item. 「对第一项我同意，第二项我弃权」 with a leave gives
    both (the second had stayed in the reason), and 「张老师，」 before a reason is no part of it."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-08 15:00 会议室 议题：年度总结；2027年经费预算；会员发展")
    await h.say("杨帆", "请假 去上海出差，书面意见：1 同意；2 同意但建议压缩会务费")
    await h.say("王强", "我请假，孩子生病。书面意见：1 同意 2 反对，预算太高")
    await h.say("陈静", "请假 开会")
    await h.say("陈静", "书面意见 1 同意；书面意见 2 建议压缩会务费")
    await h.say("李娜", "请假 出差")
    await h.say("李娜", "书面意见 2 预算压缩到 3 万元")
    await h.say("赵敏", "张老师，我那天去北京出差，请假，对第一项我同意，第二项我弃权")
    await h.say("赵敏", "是")
    people = {p.id: p.name for p in await models.Person.all()}
    items = {it.id: it.number for it in await models.AgendaItem.all()}
    opinions = sorted(
        (people[o.person_id], items[o.item_id], o.text)  # type: ignore[attr-defined]
        for o in await models.WrittenOpinion.all()
    )
    assert opinions == [
        ("李娜", 2, "预算压缩到 3 万元"),
        ("杨帆", 1, "同意"),
        ("杨帆", 2, "同意但建议压缩会务费"),
        ("王强", 1, "同意"),
        ("王强", 2, "反对，预算太高"),
        ("赵敏", 1, "对第一项我同意"),
        ("赵敏", 2, "第二项我弃权"),
        ("陈静", 1, "同意"),
        ("陈静", 2, "建议压缩会务费"),
    ]
    leave = await models.Attendance.get(person_id=next(k for k, v in people.items() if v == "赵敏"))
    assert leave.reason == "那天去北京出差"


async def test_a_leave_told_of_someone_else_records_none(harness: ConsoleRig) -> None:
    """「报告一下，杨帆今天出差请假了」 from the leader, then 是, had recorded the leader's own leave
    with that reason (so had 「刘洋请假了，他让我跟大家说一下」 from a member); now it says at once
    that the member asks for leave themselves, nothing recorded. A reason that only mentions another
    member (「我和刘洋那天一起去北京出差」) is the speaker's own leave."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-08 15:00 会议室 议题：年度总结")
    told = (await h.say("张伟", "报告一下，杨帆今天出差请假了")).text
    assert told.startswith("这句话说的是杨帆请假。请假须由本人发送「请假 理由」")
    assert "是否请假" not in await h.say("王强", "刘洋请假了，他让我跟大家说一下")
    assert await models.Attendance.all().count() == 0
    await h.say("赵敏", "我和刘洋那天一起去北京出差，请假")
    assert "赵敏已请假（我和刘洋那天一起去北京出差）" in await h.say("赵敏", "是")


async def test_questions_and_remarks_with_a_command_word_change_nothing(
    harness: ConsoleRig,
) -> None:
    """「会议取消了吗？」 had been asked back as cancelling (a reflexive 是 cancelled the meeting)
    and a member's 「改到周五是这周五还是下周五？」 had been told only the leader may reschedule:
    both are answered with the meeting's state. 「提醒一下大家，材料已经发到邮箱了」 had @-ed
    everyone who had not answered the notice; 「赞成票要几票才能通过」 in a vote had been asked
    back as a ballot: now the rules."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-08 15:00 会议室 议题：年度总结；经费预算")
    before = await models.EventLog.all().count()
    assert "第1次会议：已通知" in await h.say("张伟", "会议取消了吗？")
    assert "第1次会议：已通知" in await h.say("李娜", "改到周五是这周五还是下周五？")
    nudged = await h.send("张伟", "提醒一下大家，材料已经发到邮箱了")
    assert [m.text for m in nudged if m.mentions] == []
    assert "没有发送提醒" in nudged[0].text
    assert await models.EventLog.all().count() == before
    await h.say("张伟", "会议往后推一天")
    meeting = await models.Meeting.get(number=1)
    assert meeting.starts_at.astimezone(TZ).day == 9
    await h.say("张伟", "那个会取消吧，领导临时有安排")
    assert "已取消：领导临时有安排" in await h.say("张伟", "是")


async def test_a_check_in_said_with_more_checks_in_and_the_recorder_need_not(
    harness: ConsoleRig,
) -> None:
    """「我到了，另外第二项我需要回避，涉及我本人」 had been asked back as a recusal and
    「签到，顺便说一下我4点要先走」 as leaving: neither checked in, and both were refused their
    ballots. Now each checks in and says the rest was not done. The recorder's 「我到了」 had been
    told to get invited as an observer; a ballot said after its item (「第二项我赞成」) is asked
    back with the item's number, which, typed, is cast."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度总结；经费预算")
    h.at("2026-12-05 14:40")
    said = (await h.say("李娜", "我到了，另外第二项我需要回避，涉及我本人")).text
    assert said.startswith("李娜已签到（1/7）")
    assert "后面说的「另外第二项我需要回避，涉及我本人」没有办理" in said
    assert (await h.say("王强", "签到，顺便说一下我4点要先走")).text.startswith("王强已签到")
    assert "无需签到" in await h.say("周婷", "我到了")
    for name in ("张伟", "刘洋"):
        await h.say(name, "签到")
    statuses = sorted(a.status for a in await models.Attendance.all())
    assert statuses == ["present"] * 4
    assert await models.Recusal.all().count() == 0
    h.at("2026-12-05 15:00")
    await h.say("张伟", "开会")
    await h.say("张伟", "发起表决 2")
    assert "回复「赞成 2」确认" in await h.say("李娜", "第二项我赞成")
    await h.say("李娜", "赞成 2")
    assert await models.Ballot.all().count() == 1


async def test_the_recorders_count_said_like_a_ballot_in_a_show_of_hands(
    harness: ConsoleRig,
) -> None:
    """The recorder's 「赞成6」 while item 1 is put to a show of hands is asked back as 举手结果
    (it had been read as a ballot on an item 6 that does not exist); 「是」 records it, with the
    usual checks. Check-ins within the announced minute are on time, the next minute late."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-03 14:00 三楼会议室 议题：预算；会员发展")
    h.at("2026-12-03 14:00:40")
    for name in ("张伟", "李娜", "王强", "刘洋"):
        assert "迟到" not in await h.say(name, "签到")
    h.at("2026-12-03 14:01")
    assert "陈静已签到（迟到）" in await h.say("陈静", "签到")
    await h.say("张伟", "开会")
    await h.say("张伟", "举手表决 1")
    asked = (await h.say("周婷", "赞成6")).text
    assert asked.startswith("议题1「预算」正在举手表决，是要录入举手结果「赞成6」吗？")
    assert "举手结果 赞成6" in asked
    assert await models.Ballot.all().count() == 0
    assert "超过了出席且有表决权的人数（5" in await h.say("周婷", "是")
    await h.say("周婷", "赞成4")
    assert "已录入议题1举手结果：赞成4、反对0、弃权0" in await h.say("周婷", "是")
    assert await models.Ballot.all().count() == 0


async def test_a_leave_keeps_its_reason_without_the_greeting_and_the_not_coming(
    harness: ConsoleRig,
) -> None:
    """「张组长好，周六的会我去不了，在北京出差，预算我同意」 had been recorded with the reason
    「张组长好，周六的会我，在北京出差」 (in the status and the minutes)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 12月5日下午3点 学会会议室 议题：年度工作总结；经费预算（重大）")
    await h.say("杨帆", "张组长好，周六的会我去不了，在北京出差，预算我同意")
    assert "杨帆已请假（在北京出差）" in await h.say("杨帆", "是")
    await h.say("赵敏", "组长好 周六我来不了 家里有事")
    assert "赵敏已请假（家里有事）" in await h.say("赵敏", "是")
    reasons = sorted(a.reason for a in await models.Attendance.all())
    assert reasons == ["在北京出差", "家里有事"]
