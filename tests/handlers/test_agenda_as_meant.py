"""The agenda, the place, the roster and the minutes as the leader meant them: a title that looks
like a personnel or major matter listed as general is flagged (never reclassified), a deferred
item named again is not listed twice, the place and the reasons are what was said of them, a
non-party member's addition is flagged to the leader and the committee (第十五条), a cancelled
meeting takes no number, a study item is not voted on, and 「下一项，换届筹备 举手表决」 opens that
vote."""

from __future__ import annotations

import json

from storage import models, repo
from tests.kit.console import MEMBERS, ConsoleRig, check_in_and_open, convene_and_open

ADMIN = "市党委刘老师"


async def test_a_title_that_looks_like_personnel_or_major_is_flagged_not_changed(
    harness: ConsoleRig,
) -> None:
    """「推荐李娜同志任学会秘书长」 listed without （人事） had been a general item in silence (a
    named vote, the general quorum, no deferral check, the leader not voting last): the notice
    says what it looks like and the reply that changes it; the type stays what was said. A type
    said is not second-guessed."""
    h = harness
    h.at("2026-12-01 09:00")
    notice = (
        await h.say(
            "张伟",
            "召开会议 2026-12-05 15:00 会议室 议题：推荐李娜同志任学会秘书长；"
            "2027年经费预算；会员发展工作；换届筹备（一般）",
        )
    ).text
    assert "1. 推荐李娜同志任学会秘书长（一般事项）" in notice
    assert (
        "⚠ 议题1「推荐李娜同志任学会秘书长」像是人事事项，但没有注明类型，现按一般事项列入"
        "（法定人数、表决方式和暂缓规则都按一般事项）。如是人事事项，请发送「议题1改成人事」。"
    ) in notice
    assert "⚠ 议题2「2027年经费预算」像是重大事项" in notice
    assert "请发送「议题2改成重大」" in notice
    assert "议题3" not in notice  # nothing to say of it
    assert "议题4" not in notice  # （一般） was said
    items = await models.AgendaItem.all().order_by("number")
    assert [i.matter_type for i in items] == ["general"] * 4
    changed = (await h.say("张伟", "议题1改成人事")).text
    assert "已改为「推荐李娜同志任学会秘书长」（人事事项）" in changed
    proposed = (await h.say("王强", "提议议题 增补刘洋为党建联系人人选")).text
    assert "像是人事事项" in proposed
    assert "组长可发送「议题5改成人事」" in proposed
    added = (await h.say("张伟", "添加议题 会员发展（一般）")).text
    assert "⚠" not in added


async def test_a_deferred_item_said_to_be_the_earlier_one_is_not_listed_twice(
    harness: ConsoleRig,
) -> None:
    """「上次暂缓的2027年经费预算」 with 「2027年学会经费预算」 deferred had been added as a new
    general item beside the carried one: it is the carried item, where it was listed, and the
    notice says so."""
    h = harness
    await convene_and_open(h, "2027年学会经费预算（重大）；会员发展")
    await h.say("张伟", "暂缓 1 分歧较大")
    await h.say("张伟", "散会 现在")
    h.at("2026-12-10 09:00")
    notice = (
        await h.say(
            "张伟",
            "召开会议 2026-12-20 15:00 会议室 议题：上次暂缓的2027年经费预算；年度工作总结",
        )
    ).text
    assert "1. 2027年学会经费预算（重大事项，上次会议暂缓，再行表决）" in notice
    assert "2. 年度工作总结（一般事项）" in notice
    assert "3." not in notice
    assert (
        "「上次暂缓的2027年经费预算」即上次会议暂缓的议题「2027年学会经费预算」，已作为议题1列入，"
        "按原议题再行表决，没有重复列入。"
    ) in notice
    meeting = await repo.active_meeting((await models.Society.first()).id)  # type: ignore[union-attr]
    assert meeting is not None
    items = await repo.items(meeting.id)
    assert [(it.title, it.carried_from_id is not None) for it in items] == [
        ("2027年学会经费预算", True),
        ("年度工作总结", False),
    ]
    checked, broken = await repo.verify_all()
    assert checked
    assert broken is None


async def test_the_place_and_the_reasons_are_what_was_said_of_them(harness: ConsoleRig) -> None:
    """「…在学会三楼会议室开下半年的领导小组会，议题：…」 had stored the place 「学会三楼会议室 下半年的
    领导小组会」, 「学会会议室 再开一次会」 the place 「学会会议室 再」, 「学会302 请准时参加」 kept the
    remark; a member's 「…科普教育基地建设的事，建议作为一个议题」 was the title; the reason of
    「请吴理事长列席 @吴国华 非党员理事长，…」 began with whom it was about, and 「…出差，委托李娜同志
    主持这次会议」 was recorded with 「主持这次会议」 as its reason."""
    h = harness
    h.at("2026-12-01 09:10")
    notice = (
        await h.say(
            "张伟",
            "各位好，下周一（12月7号）下午两点半在学会三楼会议室开下半年的领导小组会，"
            "议题：1.年度工作总结 2.2027年学会经费预算（重大） 请大家安排好时间",
        )
    ).text
    assert "地点：学会三楼会议室\n" in notice
    assert "1. 年度工作总结（一般事项）" in notice
    assert "取消的会议不计入会议次数" in await h.say("张伟", "取消会议 改期")
    notice = (
        await h.say("张伟", "下周四（12月10日）上午9:00 学会会议室 再开一次会 议题：年度工作总结")
    ).text
    assert "地点：学会会议室\n" in notice
    await h.say("张伟", "取消会议 改期")
    notice = (await h.say("张伟", "召开会议 12月10日上午9:00 学会302 请准时参加")).text
    assert "地点：学会302\n" in notice
    await h.say("张伟", "取消会议 改期")
    notice = (
        await h.say(
            "张伟", "召开会议 12月10日上午9:00 学会三楼会议室开领导小组碰头会 议题：年度工作总结"
        )
    ).text
    assert "地点：学会三楼会议室\n" in notice
    meeting = await models.Meeting.filter(state="convened").first()
    assert meeting is not None
    assert meeting.place == "学会三楼会议室"
    proposed = (
        await h.say("刘洋", "我想在会上讨论一下科普教育基地建设的事，建议作为一个议题")
    ).text
    assert proposed.startswith("已提交议题建议2「科普教育基地建设」（一般事项）")
    observer = (await h.say("张伟", "请吴理事长列席 @吴国华 非党员理事长，听取预算和换届议题")).text
    assert "已邀请吴国华列席第1次会议（非党员理事长，听取预算和换届议题）" in observer
    delegated = (await h.say("张伟", "我12月10号要去深圳出差，委托李娜同志主持这次会议")).text
    assert delegated.startswith("组长张伟委托李娜主持第1次会议（我12月10号要去深圳出差），已记录")
    again = (await h.say("张伟", "委托主持 李娜同志主持这次会议")).text
    assert again.startswith("组长张伟委托李娜主持第1次会议，已记录")
    reasons = [o.reason for o in await models.Observer.all()]
    assert reasons == ["非党员理事长，听取预算和换届议题"]


async def test_a_non_party_member_proposed_for_the_roster_is_flagged(harness: ConsoleRig) -> None:
    """「提议增补 @吴国华 理事长 理事长参与」 had been filed and approved with no word that 吴国华 is
    not a party member: he then voted in a personnel ballot. The rules (第十五条) have a non-party
    president attend as an observer: the leader is told so with how to invite him, the committee
    sees it in the request, the list and the approval. The committee has the final say (第六条):
    warned, not refused."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "提议免去 @赵敏 工作调动")
    await h.say(ADMIN, "批准 1", private=True)
    before = len(h.adapter.sent)
    group = (await h.say("张伟", "提议增补 @吴国华 理事长 理事长参与")).text
    assert group.startswith("已提交成员调整申请 #2：增补吴国华为组员。")
    assert "⚠ 吴国华不是中共党员。工作规则第十五条：可邀请非中共党员的理事长列席小组会议" in group
    assert "组长发送「列席 @吴国华 非党员理事长」" in group
    [request] = [r.text for r in h.adapter.sent[before:] if r.private_to is not None]
    assert request.startswith("【待审批】")
    assert "⚠ 吴国华不是中共党员" in request
    assert "⚠ 吴国华不是中共党员" in await h.say(ADMIN, "待批", private=True)
    approved = (await h.say(ADMIN, "批准 2", private=True)).text
    assert approved.startswith("已批准 #2（")
    assert "吴国华不是中共党员，将作为组员参加表决" in approved
    # a party member proposed is not flagged
    await h.say("张伟", "提议增补 @孙磊 党员 理事 工作需要")
    assert "⚠" not in await h.say("张伟", "名单")


async def test_a_cancelled_meeting_takes_no_number(harness: ConsoleRig) -> None:
    """A cancelled meeting had kept its number: the first meeting held was 「第2次会议记录」 while
    历次会议 said 累计召开1次. The next meeting convened takes the number back; the cancelled one is
    listed without one; numbers given before stay (a signed record keeps its title)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-10 14:30 会议室 议题：年度工作")
    cancelled = (await h.say("张伟", "取消会议 改天再说")).text
    assert cancelled.startswith("第1次会议（2026年12月10日（星期四）14:30）已取消：改天再说。")
    assert "下次召集的会议仍为第1次" in cancelled
    notice = (await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")).text
    assert "第1次会议" in notice
    await check_in_and_open(h)
    await h.say("张伟", "散会 现在")
    await h.say("张伟", "签发")
    assert "第1次会议记录" in await h.say("张伟", "纪要 全文")
    h.at("2026-12-10 09:00")
    shown = (await h.say("王强", "历次会议")).text.splitlines()
    assert shown[1:4] == [
        "第1次 2026年12月5日（星期六）15:00 会议室：纪要已签发",
        "2026年12月10日（星期四）14:30 会议室：已取消（未召开，不计次数）",
        "累计召开1次，其中2026年1次。",
    ]
    assert "第2次会议" in await h.say("张伟", "召开会议 2026-12-20 15:00 会议室 议题：会员发展")
    numbers = sorted(m.number for m in await models.Meeting.all())
    assert numbers[1:] == [1, 2]
    assert numbers[0] < 0  # the cancelled one gave its number back
    checked, broken = await repo.verify_all()
    assert checked
    assert broken is None


async def test_numbers_given_before_stay_as_they_are(harness: ConsoleRig) -> None:
    """Meetings numbered before (a cancelled one kept its number and the next one held took the
    one after it) keep their numbers: nothing held is renumbered (its signed minutes carry the
    number it was convened with), and the next meeting is numbered after the last one held."""
    h = harness
    await convene_and_open(h, "年度工作")
    await h.say("张伟", "散会 现在")
    await h.say("张伟", "签发")
    h.at("2026-12-06 09:00")
    await h.say("张伟", "召开会议 2026-12-10 15:00 会议室 议题：会员发展")
    await h.say("张伟", "取消会议 改期")
    await h.say("张伟", "召开会议 2026-12-12 15:00 会议室 议题：会员发展")
    # as numbered before: the cancelled meeting kept 2, the next one was 3
    cancelled = await models.Meeting.get(state="cancelled")
    convened = await models.Meeting.get(state="convened")
    await repo.update_meeting(convened.id, number=3)
    await repo.update_meeting(cancelled.id, number=2)
    await check_in_and_open(h, day="2026-12-12")
    await h.say("张伟", "散会 现在")
    h.at("2026-12-14 09:00")
    assert "第4次会议" in await h.say("张伟", "召开会议 2026-12-20 15:00 会议室 议题：会员发展")
    numbers = {m.state: m.number for m in await models.Meeting.all()}
    assert numbers == {"signed": 1, "cancelled": 2, "closed": 3, "convened": 4}
    signed = await models.Meeting.get(state="signed")
    bodies = [json.loads(v.body) for v in await models.MinutesVersion.filter(meeting_id=signed.id)]
    assert bodies
    assert all(b["number"] == 1 for b in bodies)
    checked, broken = await repo.verify_all()
    assert checked
    assert broken is None


async def test_a_study_item_is_not_voted_on(harness: ConsoleRig) -> None:
    """「学习传达…精神」 had ended as 「未表决」 in the minutes, and closing the meeting warned that it
    had not been voted on. Listed so, it is 学习通报 (the notice says how to have it voted on);
    the chair's 「第一项是学习，不需要表决，下一个」 or 「议题3学习完毕」 marks a general item so; a
    major item is refused; no vote opens on it; the minutes say 学习通报."""
    h = harness
    h.at("2026-12-01 09:00")
    notice = (
        await h.say(
            "张伟",
            "召开会议 2026-12-05 15:00 会议室 议题：学习传达市科技社团党委全会精神；"
            "2027年经费预算（重大）；通报今年会员发展情况（一般）",
        )
    ).text
    assert "1. 学习传达市科技社团党委全会精神（学习通报，不表决）" in notice
    assert "需要表决的，请发送「议题1改成一般」" in notice
    assert "3. 通报今年会员发展情况（一般事项）" in notice  # the type said stays
    await check_in_and_open(h)
    refused = (await h.say("张伟", "发起表决 1")).text
    assert refused.startswith("议题1「学习传达市科技社团党委全会精神」是学习通报事项，不表决")
    shown = (await h.say("张伟", "第一项是学习，不需要表决，下一个")).text
    assert shown.startswith("议题1「学习传达市科技社团党委全会精神」为学习通报事项，不表决")
    assert "下一项：议题2「2027年经费预算」" in shown
    assert "须由小组集体讨论、表决决定" in await h.say("张伟", "议题2不需要表决")
    await h.say("张伟", "发起表决 2")
    for name in MEMBERS:
        await h.say(name, "赞成")
    await h.say("张伟", "结束表决")
    assert "为学习通报事项" in await h.say("张伟", "议题3学习完毕")
    closed = (await h.say("张伟", "散会")).text
    assert closed.startswith("第1次会议结束")
    assert "未表决" not in closed
    minutes = (await h.say("张伟", "纪要 全文")).text
    assert "1. 学习传达市科技社团党委全会精神（学习通报），提出人：张伟\n   学习通报，不表决" in (
        minutes
    )
    assert "3. 通报今年会员发展情况（学习通报）" in minutes
    assert "未表决" not in minutes
    assert "1. 学习传达市科技社团党委全会精神：学习通报" in await h.say("张伟", "纪要")
    checked, broken = await repo.verify_all()
    assert checked
    assert broken is None


async def test_the_next_item_with_a_show_of_hands_opens_that_vote(harness: ConsoleRig) -> None:
    """「下一项，换届筹备 举手表决」 had only shown item 3: no show of hands was opened and the
    recorder's 举手结果 was refused. It opens the show of hands on that item, as 「举手表决 3」."""
    h = harness
    await convene_and_open(h, "年度工作；会员发展；关于换届筹备工作")
    await h.say("张伟", "发起表决 1")
    for name in MEMBERS:
        await h.say(name, "赞成")
    await h.say("张伟", "结束表决")
    opened = (await h.say("张伟", "下一项，换届筹备 举手表决")).text
    assert opened.startswith("开始表决：议题3「关于换届筹备工作」（一般事项，举手表决）")
    assert "已录入议题3举手结果" in await h.say("周婷", "举手结果 赞成7 反对0 弃权0")
    assert "结果：通过" in await h.say("张伟", "结束表决")
    opened = (await h.say("张伟", "下一项 举手表决")).text
    assert opened.startswith("开始表决：议题2「会员发展」（一般事项，举手表决）")
    assert "发起表决只有" in await h.say("王强", "下一项 举手表决")
    assert "没有待表决的议题" in await h.say("张伟", "下一项 举手表决")
