"""Questions people ask the bot plainly, by role: who am I here (「我是什么角色」), what does our
society still owe (「我们学会还有什么没交」), and the committee's 「收到1」 for a filing."""

from __future__ import annotations

from bot.adapters.console import console_user
from bot.demo import PEOPLE, seed_society
from storage import models
from tests.kit.console import ConsoleRig, check_in_and_open, convene_and_open

ADMIN = "市党委刘老师"


async def test_who_am_i_heads_the_help(harness: ConsoleRig) -> None:
    """The help opens with the speaker's roles; 「我是什么角色」「我能做什么」 are the help."""
    h = harness
    said = (await h.say("陈静", "我是什么角色")).text
    assert said.startswith("您是组员、党建联系人；目前没有进行中的会议。您现在可以发送")
    assert (await h.say("张伟", "我能做什么")).text.startswith("您是组长；")
    assert (await h.say("周婷", "帮助")).text.startswith("您是记录人（不是领导小组成员）；")
    assert (await h.say("吴国华", "我的身份")).text.startswith("您不是领导小组成员；")
    private = (await h.say(ADMIN, "我是什么角色", private=True)).text
    assert private.startswith("您是市科技社团党委管理员；")


async def test_what_the_society_still_owes(harness: ConsoleRig) -> None:
    """「我们学会还有什么没交」: the annual summary while it is owed, and the work rules while
    they are not filed (第二十一条); once filed, that line goes."""
    h = harness
    h.at("2026-12-07 09:00")
    owed = (await h.say("陈静", "我们学会还有什么没交")).text
    assert (
        "2026年度工作总结（含党建部分）尚未提交，报送截止日期是2026年12月31日，还有24天。" in owed
    )
    assert owed.endswith("工作制度尚未备案（第二十一条）：发送「备案 标题 内容」。")
    await h.say("陈静", "备案 领导小组工作规则 经第3次会议通过")
    owed = (await h.say("陈静", "今年的总结交了吗")).text
    assert "工作制度尚未备案" not in owed
    assert "尚未提交" in owed


async def test_the_committee_acknowledges_a_filing_as_said(harness: ConsoleRig) -> None:
    """「收到1」「收到 #2」「3号收到了」 from the committee acknowledge those filings; a member's 「收到
    1」 is refused as the committee's (a notice's 收到 takes no number), and a plain 「收到」
    still acknowledges a notice."""
    h = harness
    h.at("2026-12-07 09:00")
    await h.say("陈静", "备案 领导小组工作规则 经第3次会议通过")
    await h.say("陈静", "年度总结 2026年度工作总结 今年开展了三次活动")
    await h.say("张伟", "报告 关于换届工作的请示 拟于明年3月换届")
    assert "只有市科技社团党委管理员可以使用" in await h.say("李娜", "收到1")
    for said, number in (("收到1", 1), ("收到 #2", 2), ("3号收到了", 3)):
        assert "已确认收到" in await h.say(ADMIN, said, private=True), said
        filing = await models.Filing.get(id=number)
        assert filing.acknowledged_at is not None, said
    await h.say("张伟", "召开会议 2026-12-12 15:00 会议室 议题：年度工作")
    assert "收到" in (await h.say("李娜", "收到")).text
    assert await models.NoticeAck.all().count() == 1


async def test_someone_in_ones_place_is_answered_from_the_rules(harness: ConsoleRig) -> None:
    """「我可以派人代我参加吗」「能找人替我去开会吗」「让我们单位的小王代我参会行吗」: the rules
    provide for no stand-in (第十八条: members 到会, leave before the meeting, views in writing;
    第十九条: the convener names observers); the answer says how to ask for leave and send a
    written opinion, and writes nothing (it had been the help list)."""
    h = harness
    h.at("2026-12-07 09:00")
    await h.say("张伟", "召开会议 2026-12-09 15:00 会议室 议题：换届；预算（重大）")
    before = await models.EventLog.all().count()
    for said in ("我可以派人代我参加吗", "能找人替我去开会吗", "让我们单位的小王代我参会行吗"):
        answer = (await h.say("李娜", said)).text
        assert answer.startswith("工作规则没有规定成员可以委托他人代为参会："), said
        assert "成员因故不能参加的，应当在会前请假" in answer, said
        assert "代为参会的人不计入到会人数，也不能代为表决" in answer, said
        assert "发送「请假 理由」" in answer, said
        assert "「书面意见 议题编号 意见」" in answer, said
        assert "由召集人根据议题指定（第十九条）" in answer, said
    assert await models.EventLog.all().count() == before  # nothing recorded


async def test_the_committee_approves_this_one_as_said(harness: ConsoleRig) -> None:
    """The committee's 「这个申请我批了」「这个我批了」 (they had not been understood): with none
    waiting it says so; with one, it asks whether to approve it, naming it, and approves on 是;
    with several, each is listed with how one is approved, and nothing is decided."""
    h = harness
    h.at("2026-12-01 09:00")
    none = (await h.say(ADMIN, "这个申请我批了", private=True)).text
    assert none == "目前没有待审批的成员调整申请。"
    await h.say("张伟", "提议免去 @王强 年龄原因")
    asked = (await h.say(ADMIN, "这个申请我批了", private=True)).text
    assert asked.startswith("是要批准申请 #1（苏州市示例科技学会：免去王强的领导小组成员职务）吗？")
    assert asked.endswith("回复「是」或「批准 1」确认。")
    assert await models.RosterChange.filter(status="pending").count() == 1
    await h.say(ADMIN, "是", private=True)
    assert await models.RosterChange.filter(status="pending").count() == 0
    await h.say("张伟", "提议免去 @赵敏 工作调动")
    await h.say("张伟", "提议增补 @周婷 党员 理事 加强记录工作")
    listed = (await h.say(ADMIN, "这个我批了", private=True)).text
    assert listed.startswith("目前有2项待审批的申请：#2 苏州市示例科技学会：免去赵敏")
    assert "#3 苏州市示例科技学会：增补周婷" in listed
    assert "请发送「批准 编号」批准其中一项（例如「批准 2」）" in listed
    assert await models.RosterChange.filter(status="pending").count() == 2


async def test_before_a_meeting_as_asked(harness: ConsoleRig) -> None:
    """「我线上参加可以吗」 is answered from the rules as they are (第十八条 says 到会, nothing of
    online; the bot counts check-ins); 「我可以列席吗」 says how 列席 is done and by whom; 「关于
    预算，我建议压缩会务费」 from a member on leave is a written opinion on item 2; the leader's
    「改到12月10日下午3点」 reschedules."""
    h = harness
    h.at("2026-12-07 09:00")
    await h.say("张伟", "召开会议 2026-12-09 15:00 会议室 议题：换届；预算（重大）")
    before = await models.EventLog.all().count()
    online = (await h.say("王强", "我线上参加可以吗")).text
    assert online.startswith("工作规则第十八条要求半数以上成员到会方可召开会议，没有写明线上参会")
    assert "能否线上参会，请组长决定" in online
    observer = (await h.say("吴国华", "我可以列席吗")).text
    assert observer.startswith("「列席」：")
    assert observer.endswith("（这条指令由组长使用。）")
    assert "「改期」" in await h.say("王强", "会议能改到下午吗")
    assert await models.EventLog.all().count() == before  # answers write nothing
    await h.say("李娜", "请假 出差")
    assert "已收到李娜对议题2「预算」的书面意见" in await h.say(
        "李娜", "关于预算，我建议压缩会务费"
    )
    (opinion,) = await models.WrittenOpinion.all()
    assert opinion.text == "我建议压缩会务费"
    moved = (await h.say("张伟", "改到12月10日下午3点")).text
    assert moved.startswith("【会议改期通知】")
    assert "时间：2026年12月10日（星期四）15:00（原定2026年12月9日（星期三）15:00）" in moved


async def test_stepping_aside_and_inviting_an_observer_as_said(harness: ConsoleRig) -> None:
    """「第二个议题涉及我本人，我回避」 is asked back (before the meeting too) and a yes records it;
    「请吴国华列席，非党员理事长」 invites with the reason after the sentence; 「谁回避了」 shows the
    status, which names who stepped aside from each item."""
    h = harness
    h.at("2026-12-07 09:00")
    await h.say("张伟", "召开会议 2026-12-09 15:00 会议室 议题：换届（人事）；李娜的评优（人事）")
    asked = (await h.say("李娜", "第二个议题涉及我本人，我回避")).text
    assert (
        asked
        == "是否就某议题回避（主持人可 @ 指定成员回避）？回复「是」或「回避 第二个议题涉及我本人」确认。"
    )
    assert "李娜就议题2「李娜的评优」回避" in await h.say("李娜", "是")
    invited = (await h.say("张伟", "请吴国华列席，非党员理事长")).text
    assert invited.startswith("已邀请吴国华列席第1次会议（非党员理事长）")
    status = (await h.say("王强", "谁回避了")).text
    assert "议题2「李娜的评优」（人事事项）：已列入议程（回避：李娜）" in status
    assert "列席：吴国华" in status


async def test_a_reason_for_stepping_aside_reaches_the_minutes(harness: ConsoleRig) -> None:
    """「回避 1 本人是候选人」 from a member is a reason, not a name: recorded with the recusal and
    shown in the minutes; the chair naming someone unknown is still refused, not recorded as the
    chair's own."""
    h = harness
    h.at("2026-12-07 09:00")
    await h.say("张伟", "召开会议 2026-12-09 15:00 会议室 议题：换届（人事）")
    assert "王强就议题1「换届」回避（本人是候选人）" in await h.say("王强", "回避 1 本人是候选人")
    assert "请 @ 要操作的成员" in await h.say("张伟", "回避 1 孙悟空")
    assert await models.Recusal.all().count() == 1
    h.at("2026-12-09 14:50")
    for name in ("张伟", "李娜", "刘洋", "陈静", "杨帆"):
        await h.say(name, "签到")
    h.at("2026-12-09 15:00")
    await h.say("张伟", "开会")
    await h.say("张伟", "散会 现在")
    minutes = (await h.say("周婷", "纪要 全文")).text
    assert "王强（本人是候选人）" in minutes


async def test_a_thumbs_up_to_a_notice_acknowledges_it(harness: ConsoleRig) -> None:
    """「👍」「好的」 from a member while a meeting is announced acknowledge its notice (收到; the
    reminder of who has not answered leaves them out); 「我会准时参加」 too. From someone not on
    the group, or with no meeting announced, it is only answered 「好的。」."""
    h = harness
    h.at("2026-12-07 09:00")
    assert (await h.say("刘洋", "👍")).text == "好的。"  # nothing announced
    await h.say("张伟", "召开会议 2026-12-09 15:00 会议室 议题：年度工作")
    assert "刘洋已确认收到第1次会议" in await h.say("刘洋", "👍")
    assert "陈静已确认收到第1次会议" in await h.say("陈静", "我会准时参加")
    assert (await h.say("吴国华", "好的")).text == "好的。"
    acked = {(await models.Person.get(id=a.person_id)).name for a in await models.NoticeAck.all()}
    assert acked == {"刘洋", "陈静"}
    assert "未回复：张伟、李娜、王强、杨帆、赵敏" in await h.say("张伟", "会议状态")


async def test_the_committee_asks_about_one_society(harness: ConsoleRig) -> None:
    """「示例学会怎么样了」「苏州市示例科技学会的情况」: one society as the workbench shows it; a
    name several societies share is asked to be written in full; a leader is refused (the
    committee's view); 「各学会情况」 stays the summary of all."""
    h = harness
    h.at("2026-12-07 09:00")
    people = {name: console_user(f"{name}-2") for name, *_ in PEOPLE}
    await seed_society("苏州市示例工程学会", people, h.clock.now())
    detail = (await h.say(ADMIN, "苏州市示例科技学会的情况", private=True)).text
    assert detail.startswith("苏州市示例科技学会：\n领导小组：7 人（合规）；任期至 2029-05-31\n")
    assert "工作制度：未备案" in detail
    assert "2026 年度总结：未报送，2026-12-31 截止（剩 24 天）" in detail
    assert "需关注：未备案工作制度" in detail
    assert "示例工程学会：" in await h.say(ADMIN, "示例工程学会怎么样了", private=True)
    several = (await h.say(ADMIN, "学会情况 示例", private=True)).text
    assert several.startswith("名称含「示例」的学会有2个：")
    assert "只有市科技社团党委管理员可以使用" in await h.say("张伟", "苏州市示例科技学会的情况")
    assert "报送与备案情况（共 2 个学会）" in await h.say(ADMIN, "各学会情况", private=True)


async def test_a_second_written_opinion_says_the_first_is_kept(harness: ConsoleRig) -> None:
    """Opinions are added to the record, never rewritten: a second one on the same item says
    it is the second and that the first stays."""
    h = harness
    h.at("2026-12-07 09:00")
    await h.say("张伟", "召开会议 2026-12-09 15:00 会议室 议题：换届")
    await h.say("李娜", "请假 出差")
    first = (await h.say("李娜", "书面意见 1 同意")).text
    assert first.startswith("已收到李娜对议题1「换届」的书面意见，")
    second = (await h.say("李娜", "书面意见 1 同意，建议尽快换届")).text
    assert second.startswith("已收到李娜对议题1「换届」的第2条书面意见，前面的也保留")
    assert await models.WrittenOpinion.all().count() == 2


async def test_a_reminder_during_a_vote_is_for_the_ballots(harness: ConsoleRig) -> None:
    """「提醒没投票的人」「催一下」 while a vote is open @-mention who may vote and has not (the
    chair aside) and say how; those not yet checked in are named after. 「明天的会我参加」
    acknowledges the notice; 「我能不能不去」 is asked back as a leave."""
    h = harness
    h.at("2026-12-07 09:00")
    await h.say("张伟", "召开会议 2026-12-09 15:00 会议室 议题：换届")
    assert "李娜已确认收到第1次会议" in await h.say("李娜", "明天的会我参加")
    assert (await h.say("赵敏", "我能不能不去")).text == (
        "是否请假？请写明理由发送，例如「请假 出差在外」。"
    )
    await check_in_and_open(h, day="2026-12-09", present=("张伟", "王强", "刘洋", "陈静"))
    await h.say("张伟", "发起表决 1")
    await h.say("王强", "赞成")
    sent = await h.send("张伟", "提醒没投票的人")
    (reminder,) = sent
    assert reminder.text == (
        "【提醒】议题1「换届」正在表决，尚未投票：刘洋、陈静。请出席成员在群里发送「赞成」「反对」或"
        "「弃权」。\n尚未签到：李娜、杨帆、赵敏（到会后请先发送「签到」）。"
    )
    assert [m.name for m in reminder.mentions] == ["刘洋", "陈静"]


async def test_convened_with_the_place_after_and_the_next_one_due(harness: ConsoleRig) -> None:
    """「下周三下午三点开会，地点学会会议室，议题是换届」 convenes with place and agenda after the
    verb; 「明天三点开会在外地来不了」 is no convening. Once the minutes are signed, the status
    says when the next meeting is due (第十七条). 「身体不舒服」 is asked back as a leave; the
    chair's 「宣布结果」 asks before closing the vote."""
    h = harness
    h.at("2026-12-07 09:00")  # a Monday
    notice = (await h.say("张伟", "下周三下午三点开会，地点学会会议室，议题是换届")).text
    assert "时间：2026年12月16日（星期三）15:00\n地点：学会会议室\n" in notice
    assert "1. 换届（一般事项）" in notice
    assert "会议通知" not in await h.say("王强", "明天三点开会在外地来不了")
    asked = (await h.say("赵敏", "身体不舒服")).text
    assert asked == "是否请假？回复「是」或「请假 身体不舒服」确认。"
    await check_in_and_open(h, day="2026-12-16", present=("张伟", "李娜", "王强", "刘洋"))
    await h.say("张伟", "发起表决 1")
    assert (await h.say("张伟", "宣布结果")).text.startswith("是否结束表决")
    await h.say("王强", "赞成")  # a vote nobody voted in is not closed
    await h.say("张伟", "结束表决 现在")
    await h.say("张伟", "散会 现在")
    await h.say("张伟", "签发")
    status = (await h.say("李娜", "下次开会是什么时候")).text
    assert status.endswith(
        "目前没有已通知的会议。上次开会是2026年12月16日；领导小组每半年至少召开一次会议（第十七条），"
        "下次应在2027年6月16日前召开。"
    )


async def test_counts_and_receipts_said_shortly(harness: ConsoleRig) -> None:
    """The recorder's 「全体同意」 and 「5个人同意，1个人反对」 are counts of hands; the
    committee's 「确认1」 acknowledges filing 1."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("陈静", "备案 领导小组工作规则 经第3次会议通过")
    assert "已确认收到" in await h.say(ADMIN, "确认1", private=True)
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作；预算")
    await check_in_and_open(h, present=("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆"))
    await h.say("张伟", "举手表决 1")
    assert "已录入议题1举手结果：赞成6、反对0、弃权0" in await h.say("周婷", "全体同意")
    await h.say("张伟", "结束表决 现在")
    await h.say("张伟", "举手表决 2")
    assert "赞成5、反对1" in await h.say("周婷", "5个人同意，1个人反对")


async def test_all_agreed_is_the_show_of_hands(harness: ConsoleRig) -> None:
    """The recorder's 「全部同意」 in a show-of-hands vote records every hand present for, as
    「全部赞成」 does (it had been read as the committee's 「都同意吧」 and refused as a ballot);
    the committee's 「全部同意」 in private still asks to approve every request waiting."""
    h = harness
    await convene_and_open(h, "年度工作；预算")
    await h.say("张伟", "举手表决 1")
    assert "已录入议题1举手结果：赞成7、反对0、弃权0" in await h.say("周婷", "全部同意")
    await h.say("张伟", "提议免去 @赵敏 工作调动")
    asked = (await h.say(ADMIN, "全部同意", private=True)).text
    assert asked.startswith("要批准全部1项待审批的申请吗？#1 苏州市示例科技学会：免去赵敏")
    assert await models.RosterChange.filter(status="pending").count() == 1


async def test_an_hour_only_keeps_the_meetings_day(harness: ConsoleRig) -> None:
    """「时间改成下午4点」「推迟到5点」「提前到两点半」「改期 16:00」 move the meeting within its
    own day (they had moved it to today); a day said (「改期 明天下午3点」) moves the day."""
    h = harness
    h.at("2026-12-07 09:00")
    await h.say("张伟", "召开会议 2026-12-09 15:00 会议室 议题：换届；预算")
    for said, when in (
        ("时间改成下午4点", "2026年12月9日（星期三）16:00"),
        ("推迟到5点", "2026年12月9日（星期三）17:00"),
        ("提前到两点半", "2026年12月9日（星期三）14:30"),
        ("改期 明天下午3点", "2026年12月8日（星期二）15:00"),
        ("改期 16:00", "2026年12月8日（星期二）16:00"),
    ):
        assert f"时间：{when}（原定" in await h.say("张伟", said), said


async def test_edits_and_asides_as_said(harness: ConsoleRig) -> None:
    """「议题2设为重大」「把第二个议题改成重大事项」 change the type and keep the title (it had become
    the title); 「收到，那天出差去不了」 is asked back as a leave, not taken as 收到; the chair's
    「请王强回避」 steps 王强 aside from the item turned to."""
    h = harness
    h.at("2026-12-07 09:00")
    await h.say("张伟", "召开会议 2026-12-09 15:00 会议室 议题：换届；预算")
    edited = (await h.say("张伟", "把第二个议题改成重大事项")).text
    assert "议题2已改为「预算」（重大事项），原为「预算」（一般事项）" in edited
    assert (
        await h.say("李娜", "收到，那天出差去不了")
    ).text == "是否请假？回复「是」或「请假 那天出差」确认。"
    assert await models.NoticeAck.all().count() == 0
    await check_in_and_open(h, day="2026-12-09", present=("张伟", "王强", "刘洋", "陈静"))
    await h.say("张伟", "讨论议题 2")
    assert "王强就议题2「预算」回避" in await h.say("张伟", "请王强回避")
    assert "只有主持人可以要求其他成员回避" in await h.say("王强", "刘洋回避一下")


async def test_the_rules_worked_out_for_the_roster(harness: ConsoleRig) -> None:
    """「多少票才能通过」「法定人数是多少」: the society's thresholds for its roster as it stands
    (第十八条 to meet, each matter type's share and method, deferral by 第十六条); with a member
    removed, the numbers follow."""
    h = harness
    said = (await h.say("李娜", "多少票才能通过")).text
    assert said.startswith("苏州市示例科技学会领导小组现有7人")
    assert "开会：须超过半数成员到会，即至少4人（第十八条）" in said
    assert (
        "- 一般事项、文件把关：记名表决、举手表决；到会超过半数（至少4人）方可表决，赞成至少4票。"
        in said
    )
    assert "- 人事事项：无记名投票；到会达到三分之二（至少5人）方可表决，赞成至少4票；" in said
    assert "组长最后表态。" in said
    await h.say("张伟", "提议免去赵敏，工作调动")
    await h.say(ADMIN, "批准 1", private=True)
    assert "现有6人" in await h.say("李娜", "法定人数是多少")


async def test_who_can_see_a_ballot_as_asked(harness: ConsoleRig) -> None:
    """「无记名投票安全吗」「别人能看到我投什么吗」: who sees what, as the threat model says it (the
    platform and a key holder during the vote are named as outside it); 「谁投了反对」 is the
    count, not a question back about a ballot."""
    h = harness
    said = (await h.say("李娜", "别人能看到我投什么吗")).text
    assert said.startswith("记名表决和举手表决：谁投了什么会在结果里公布。")
    assert "「查回执 回执号」" in said
    assert "钉钉或企业微信平台能看到私聊消息" in said
    assert said == (await h.say("王强", "无记名投票安全吗")).text
    assert "是否投" not in await h.say("王强", "赞成的都有谁")


async def test_when_the_next_meeting_is_due_with_none_announced(harness: ConsoleRig) -> None:
    """「下次会议什么时候」 with no meeting: none announced, and when the next is due by the
    half-year rule (第十七条), before any meeting and after one was signed."""
    h = harness
    h.at("2026-12-07 09:00")
    said = (await h.say("陈静", "下次会议什么时候")).text
    assert said == (
        "苏州市示例科技学会：目前没有会议。"
        "还没有开成过会议。领导小组每半年至少召开一次会议（第十七条）。"
    )
    assert (await h.say("王强", "年度报告什么时候交")).text == (
        await h.say("王强", "报送期限")
    ).text


async def test_whether_i_must_attend_as_the_meeting_sees_it(harness: ConsoleRig) -> None:
    """「我需要参加吗」: the meeting's roster at convening decides (a removal approved since
    applies from the next meeting), an invited observer is welcome and does not vote, the
    recorder attends to keep the minutes, one on leave is told how to come after all, one the
    meeting does not wait for is told so; nothing is written."""
    h = harness
    h.at("2026-12-07 09:00")
    assert "目前没有会议" in await h.say("李娜", "我需要参加吗？")
    await h.say("张伟", "召开会议 2026-12-09 15:00 会议室 议题：换届；预算（重大）")
    await h.say("张伟", "列席 @吴国华 非党员理事长列席")
    await h.say("张伟", "提议免去 @赵敏 工作调动")
    await h.say(ADMIN, "批准 1", private=True)
    await h.say("杨帆", "请假 出差")
    before = await models.EventLog.all().count()
    member = (await h.say("李娜", "我要参加吗")).text
    assert member.startswith("需要。李娜在第1次会议（")
    assert "请在会前发送「请假 理由」" in member
    removed = (await h.say("赵敏", "我还要参加这次会吗")).text
    assert removed.startswith("需要。赵敏在第1次会议（")
    assert "本次仍按召开会议时的名单" in removed
    observer = (await h.say("吴国华", "我需要参加吗？")).text
    assert observer.startswith("吴国华受邀列席第1次会议（")
    assert "不参加表决" in observer
    assert "做会议记录" in await h.say("周婷", "我需要参加吗")
    assert "请假" in await h.say("杨帆", "我还需要参加吗")
    assert "不需要参加" in await h.say(ADMIN, "我需要参加吗")
    assert await models.EventLog.all().count() == before
    h.at("2026-12-09 15:00")
    await h.say("王强", "签到")
    assert (await h.say("王强", "我需要参加吗")).text.startswith("王强已签到参加第1次会议")


async def test_decisions_said_in_passing(harness: ConsoleRig) -> None:
    """The committee's 「第二个不批，非党员不能进领导小组」 refuses request 2 with that reason
    (it had not been understood; 「…先不批」 still holds a request); the leader's 「再提议增补…」
    proposes; 「李娜提的这个可以，加上吧」 puts 李娜's proposal on the agenda."""
    h = harness
    h.at("2026-12-07 09:00")
    await h.say("张伟", "提议免去 @赵敏 工作调动")
    assert "成员调整申请 #2" in await h.say("张伟", "再提议增补 @吴国华 理事长")
    held = (await h.say(ADMIN, "免去赵敏的申请先不批", private=True)).text
    assert "暂不审批" in held
    refused = (await h.say(ADMIN, "第二个不批，非党员不能进领导小组", private=True)).text
    assert refused.startswith("已驳回 #2")
    change = await models.RosterChange.get(id=2)
    assert change.status == "rejected"
    assert change.decision_note == "非党员不能进领导小组"
    assert (await models.RosterChange.get(id=1)).status == "pending"
    await h.say("张伟", "召开会议 2026-12-09 15:00 会议室 议题：换届")
    await h.say("李娜", "提议议题 科普基地建设")
    accepted = (await h.say("张伟", "李娜提的这个可以，加上吧")).text
    assert accepted.startswith("议题2「科普基地建设」已列入议程")


async def test_what_cannot_be_done_now_says_why(harness: ConsoleRig) -> None:
    """A member on leave who sends 「赞成」 is told the leave is why (not the check-in advice);
    散会 with a vote open names the item; the committee's 「1号先不批」 holds request 1 (it had
    not been understood); nothing is written by any of them."""
    h = harness
    h.at("2026-12-07 09:00")
    await h.say("张伟", "提议免去 @赵敏 工作调动")
    assert "暂不审批" in await h.say(ADMIN, "1号先不批", private=True)
    assert (await models.RosterChange.get(id=1)).status == "pending"
    await h.say("张伟", "召开会议 2026-12-09 15:00 会议室 议题：换届")
    await h.say("杨帆", "请假 出差")
    await check_in_and_open(h, day="2026-12-09", present=("张伟", "李娜", "王强", "刘洋"))
    await h.say("张伟", "发起表决 1")
    before = await models.EventLog.all().count()
    on_leave = (await h.say("杨帆", "赞成")).text
    assert on_leave.startswith("杨帆已请假，不参加本次会议的表决，本条对议题1未计票")
    assert "不在出席名单中" in await h.say("赵敏", "赞成")  # not on leave: checking in helps
    assert (await h.say("张伟", "散会")).text.startswith("议题1「换届」还在表决")
    assert await models.EventLog.all().count() == before
