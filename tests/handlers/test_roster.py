"""Roster changes take effect only on the committee's approval (第六条), within 第五条's limits."""

from __future__ import annotations

from dataclasses import replace

from handlers.roster import _names_society
from storage import models
from tests.kit.console import ConsoleRig

ADMIN = "市党委刘老师"


async def _roster_names() -> set[str]:
    rows = await models.Member.filter(roster_role__in=["leader", "member"]).prefetch_related(
        "person"
    )
    return {r.person.name for r in rows}


async def test_changes_need_committee_approval_and_respect_the_limits(harness: ConsoleRig) -> None:
    say = harness.say
    assert "只有组长或市科技社团党委管理员" in await say("李娜", "提议增补 @孙磊 党员 理事")
    assert "须经市科技社团党委审核批准" in await say("张伟", "提议增补 @孙磊 党员 理事 工作需要")
    assert "孙磊" not in await _roster_names()
    assert "#1" in await say("张伟", "名单")
    assert "只有市科技社团党委管理员" in await say("张伟", "批准 1")
    assert "待审批" in await say(ADMIN, "待批", private=True)
    # 8 members would be too many and even: refused without an explicit exception.
    refused = (await say(ADMIN, "批准 1", private=True)).text
    assert refused == (
        "调整后的名单不符合工作规则：人数超过7人、人数为双数（应为单数）。如确需特批（超员或双数），"
        "聊天中发送「批准 1 特批」或在工作台勾选「特批」后批准；否则驳回并写明理由。"
    )  # the committee is told how to grant the exception, not to ask itself for it
    assert "孙磊" not in await _roster_names()
    approved = await say(ADMIN, "批准 1 特批", private=True)
    assert "已批准" in approved
    assert "孙磊" in await _roster_names()
    assert len(await _roster_names()) == 8

    # A removal may leave a vacancy: allowed, and the status views warn until it is filled.
    await say("张伟", "提议免去 @孙磊 工作调动")
    await say("张伟", "提议免去 @赵敏 退休")
    await say(ADMIN, "批准 2", private=True)
    assert "赵敏" in await _roster_names()
    await say(ADMIN, "批准 3", private=True)
    assert await _roster_names() == {"张伟", "李娜", "王强", "刘洋", "陈静", "杨帆"}
    assert "存在缺额" in await say("李娜", "名单")
    assert "存在缺额" in await say("李娜", "会议状态")

    # The leader is the party-member president, or a party-member vice-president (第五条).
    # The president not on the roster may be proposed as leader (added so), but not while he
    # is no party member.
    assert "增补吴国华为组长" in await say("张伟", "提议组长 @吴国华 理事长")
    assert (await say(ADMIN, "批准 4", private=True)).text == (
        "调整后的名单不符合工作规则：组长应为中共党员。这一项不能特批：请驳回并写明理由，由学会调整后重新提交。"
    )  # said to the committee: not 「请市科技社团党委管理员审批例外情况」
    assert "已驳回" in await say(ADMIN, "驳回 4 理事长非党员", private=True)
    await say("张伟", "提议组长 @王强")
    refused = await say(ADMIN, "批准 5", private=True)
    assert "组长应由党员理事长担任" in refused
    assert "已驳回" in await say(ADMIN, "驳回 5 组长应由副理事长担任", private=True)
    assert await models.RosterChange.filter(status="approved").count() == 3
    assert await models.EventLog.filter(kind="roster_change_approved").count() == 3


async def test_designations_and_filings(harness: ConsoleRig) -> None:
    say = harness.say
    assert "已指定王强为苏州市示例科技学会的党建联系人" in await say("张伟", "设置联系人 @王强")
    assert "只有组长或党建联系人" in await say("陈静", "备案 议事规则")
    assert "#1" in await say("王强", "备案 领导小组议事规则 经第1次会议通过")
    assert "#2" in await say("张伟", "报告 关于换届工作的请示 理事会将于明年换届")
    listing = await say(ADMIN, "报送情况", private=True)
    assert "待确认收到：2 件（工作制度备案 1、重大问题报告 1）" in listing
    assert "#1 苏州市示例科技学会「领导小组议事规则」" in listing
    assert "已确认收到" in await say(ADMIN, "确认收到 1", private=True)
    listing = await say(ADMIN, "报送情况", private=True)
    assert "待确认收到：1 件（重大问题报告 1）" in listing
    assert "#1 " not in listing
    assert "已指定刘洋为苏州市示例科技学会的记录人" in await say("张伟", "设置记录人 @刘洋")


async def test_names_and_titles_as_typed_with_punctuation(harness: ConsoleRig) -> None:
    """「提议免去赵敏，工作调动」 names 赵敏 (typed without @, a comma after the name); a filing's
    title ends at the first punctuation (「2026年度党建工作总结，全年召开会议2次」); 「向市委报告：…」
    is a report; a bare 「批准」 lists what waits, or says that nothing does. A name typed
    without @ may be followed by what it becomes (「吴国华为组员」) or 「同志」."""
    say = harness.say
    assert "目前没有待审批的成员调整申请" in await say(ADMIN, "批准", private=True)
    assert "已提交成员调整申请 #1：免去赵敏" in await say("张伟", "提议免去赵敏，工作调动")
    (change,) = await models.RosterChange.all()
    assert change.reason == "工作调动"
    bare = await say(ADMIN, "批准", private=True)
    assert "待审批：#1 苏州市示例科技学会：免去赵敏的领导小组成员职务" in bare
    assert await models.RosterChange.filter(status="pending").count() == 1
    filed = await say("陈静", "提交年度总结：2026年度党建工作总结，全年召开会议2次")
    assert "#1「2026年度党建工作总结」" in filed
    reported = await say("陈静", "向市委报告：关于换届工作的请示，拟于明年3月换届")
    assert "重大问题请示报告 #2「关于换届工作的请示」" in reported
    titles = [(f.title, f.body) for f in await models.Filing.all().order_by("id")]
    assert titles == [
        ("2026年度党建工作总结", "全年召开会议2次"),
        ("关于换届工作的请示", "拟于明年3月换届"),
    ]
    # A known name, then what the change makes of them: 「吴国华为组员」「赵敏同志」.
    assert "#2：增补吴国华为组员" in await say("张伟", "提议增补吴国华为组员")
    assert "#3：免去王强" in await say("张伟", "提议免去王强同志，工作需要")
    latest = await models.RosterChange.get(id=3)
    assert latest.reason == "工作需要"
    assert "#1 苏州市示例科技学会" in await say(ADMIN, "有哪些申请？", private=True)


async def test_the_committee_decides_a_change_as_said(harness: ConsoleRig) -> None:
    """「同意1号申请」 approves change 1, 「2号申请驳回，人数超了」 rejects change 2 with the
    reason; the same words from a leader are refused (only the committee decides)."""
    say = harness.say
    await say("张伟", "提议免去赵敏，工作调动")
    await say("张伟", "提议增补 @孙磊 党员 理事 工作需要")
    assert "只有市科技社团党委管理员" in await say("张伟", "同意1号申请")
    assert "已批准" in await say(ADMIN, "同意1号申请", private=True)
    assert "已驳回" in await say(ADMIN, "2号申请驳回，人数超了", private=True)
    decided = {c.id: (c.status, c.decision_note) for c in await models.RosterChange.all()}
    assert decided[1][0] == "approved"
    assert decided[2] == ("rejected", "人数超了")


async def test_the_committee_decides_a_change_by_the_person_named(harness: ConsoleRig) -> None:
    """「同意免去赵敏」「批准吴国华」 decide the one pending change about that person; a name no
    pending change (or several) is about lists them and asks for the number; a bare 「同意」 in
    private is no ballot for the committee: it says how to approve."""
    say = harness.say
    await say("张伟", "提议免去赵敏，工作调动")
    await say("张伟", "提议增补 @孙磊 党员 理事 工作需要")
    plain = (await say(ADMIN, "同意", private=True)).text
    assert plain.startswith(
        "市科技社团党委管理员不参加学会的表决。审批成员调整请发送「批准 申请编号」"
    )
    assert "待审批：#1" in await say(ADMIN, "批准王强", private=True)
    assert "已批准" in await say(ADMIN, "同意免去赵敏", private=True)
    assert "已批准" in await say(ADMIN, "批准孙磊", private=True)
    assert [c.status for c in await models.RosterChange.all().order_by("id")] == [
        "approved",
        "approved",
    ]


async def test_the_society_sees_what_it_filed(harness: ConsoleRig) -> None:
    """「我们的工作制度备案了吗」 (报送记录): the society's filings, the latest first, who filed
    each when and whether the committee acknowledged it; without work rules filed, how to file
    them. Nothing is written."""
    say = harness.say
    assert "还没有向市科技社团党委报送过材料" in await say("陈静", "报送记录")
    await say("陈静", "年度总结 2026年度工作总结 全年召开会议2次")
    await say(ADMIN, "确认收到 1", private=True)
    await say("陈静", "报告 关于换届工作的请示 拟于明年3月换届")
    before = await models.EventLog.all().count()
    shown = (await say("李娜", "我们的工作制度备案了吗")).text.splitlines()
    assert shown[0] == "苏州市示例科技学会向市科技社团党委报送的材料（共2件，最近的在前）："
    assert shown[1].startswith("#2 重大问题报告「关于换届工作的请示」：陈静于")
    assert shown[1].endswith("提交，尚未确认收到")
    assert shown[2].startswith("#1 年度总结「2026年度工作总结」")
    assert shown[2].endswith("已确认收到")
    assert shown[3] == "工作制度尚未备案（第二十一条）：发送「备案 标题 内容」。"
    assert await models.EventLog.all().count() == before


async def test_a_party_membership_said_in_a_proposal_waits_for_the_approval(
    harness: ConsoleRig,
) -> None:
    """「提议增补 @吴国华 党员 …」 of a person already known as not a party member (the demo's
    president) had made him one at once: a proposal not yet approved, perhaps never, changed a
    fact the rules check, and the committee could then not approve an unrelated removal (「组长
    应由党员理事长担任」). The claim is kept in the request's record and takes effect with the
    approval; a rejected proposal leaves the person as they were."""
    say = harness.say
    wu = await models.Person.get(name="吴国华")
    assert wu.is_party_member is False
    await say("张伟", "提议增补 @吴国华 党员 理事长 业务骨干")
    assert (await models.Person.get(name="吴国华")).is_party_member is False
    await say("张伟", "提议免去 @赵敏 工作调动")
    approved = (await say(ADMIN, "批准 2", private=True)).text
    assert approved.startswith("已批准 #2（")
    assert "已驳回" in await say(ADMIN, "驳回 1 名额已满", private=True)
    assert (await models.Person.get(name="吴国华")).is_party_member is False
    await say("张伟", "提议增补 @周婷 非党员 理事 熟悉会务")  # known as a party member
    assert (await models.Person.get(name="周婷")).is_party_member is True
    assert "已批准" in await say(ADMIN, "批准 3", private=True)
    assert (await models.Person.get(name="周婷")).is_party_member is False
    assert "周婷：组员（理事、非党员）" in await say("张伟", "名单")


async def test_the_committee_acknowledges_without_the_number(harness: ConsoleRig) -> None:
    """「确认收到」「收到年度总结」「示例学会的工作制度收到了」: the one filing awaiting
    acknowledgement that fits (its kind, the society's name) is acknowledged; with several that
    fit, those waiting are listed with their numbers and nothing is written (it had only said
    「请写明编号」, or not understood at all)."""
    say = harness.say
    assert (await say(ADMIN, "确认收到", private=True)).text == "目前没有待确认收到的报送。"
    await say("陈静", "年度总结 2026年度工作总结 全年召开会议2次")
    await say("陈静", "备案 工作规则 第一条……")
    listed = (await say(ADMIN, "确认收到", private=True)).text
    assert listed == (
        "请写明编号，例如：确认收到 1。待确认：#1 苏州市示例科技学会「2026年度工作总结」；"
        "#2 苏州市示例科技学会「工作规则」"
    )
    assert await models.Filing.filter(acknowledged_by_id__not_isnull=True).count() == 0
    done = (await say(ADMIN, "收到年度总结", private=True)).text
    assert done == "已确认收到 苏州市示例科技学会 的「2026年度工作总结」#1。"
    done = (await say(ADMIN, "示例学会的工作制度收到了", private=True)).text
    assert done == "已确认收到 苏州市示例科技学会 的「工作规则」#2。"
    assert "#2 工作制度备案「工作规则」：陈静于2026年12月1日提交，已确认收到" in await say(
        "陈静", "报送记录"
    )


async def test_someone_not_on_the_roster_proposed_as_leader_is_added_as_the_leader(
    harness: ConsoleRig,
) -> None:
    """「提议组长 @吴国华 党员 理事长 …」 for the president, not yet on the roster, had been
    refused (「不是领导小组成员」); proposed as 增补 first, the middle roster (a party-member
    president who is not the leader) broke 第五条 and the committee could not approve it. One
    change adds him as the leader, the old leader staying a member; his party membership is
    written with the approval."""
    say = harness.say
    await say("张伟", "提议免去 @赵敏 工作调动")
    assert "已批准" in await say(ADMIN, "批准 1", private=True)
    proposed = (await say("张伟", "提议组长 @吴国华 党员 理事长 党员理事长任组长")).text
    assert proposed.startswith("已提交成员调整申请 #2：增补吴国华为组长。")
    assert (await models.Person.get(name="吴国华")).is_party_member is False
    assert "已批准 #2" in await say(ADMIN, "批准 2", private=True)
    roster = (await say("张伟", "名单")).text
    assert "- 吴国华：组长（理事长、中共党员）" in roster
    assert "- 张伟：组员（副理事长、中共党员）" in roster
    assert len(await _roster_names()) == 7


def test_a_filing_is_named_by_part_of_its_societys_name() -> None:
    """Which society 「示例学会的工作制度收到了」 names: its name less 苏州市/科技/学会, or two
    characters of that; another society's name does not fit."""
    assert _names_society("示例学会的工作制度收到了", "苏州市示例科技学会")
    assert _names_society("苏州市示例科技学会的年报收到了", "苏州市示例科技学会")
    assert not _names_society("计算机学会的年报收到了", "苏州市示例科技学会")
    assert not _names_society("年报收到了", "苏州市示例科技学会")


async def test_how_to_file_the_annual_summary_asked_object_first(harness: ConsoleRig) -> None:
    """「年报怎么交」 says how 年度总结 is filed (「交年报」 is the phrase; it had shown the whole
    帮助)."""
    said = (await harness.say("陈静", "年报怎么交")).text
    assert said.startswith(
        "「年度总结」：报送年度工作总结（含党建部分）。发送「年度总结 标题 内容」。"
    )


async def test_an_approval_names_the_exception_and_what_it_covers(harness: ConsoleRig) -> None:
    """The approval with 特批 had read 「…即日生效。（人数超过7人）（人数为双数（应为单数））」:
    brackets in brackets, and no word of the 特批. It says the exception and the roster it
    covers in one sentence; a removal that leaves a vacancy says so; an ordinary approval
    says nothing more."""
    say = harness.say
    await say("张伟", "提议增补 @孙磊 党员 理事 工作需要")
    approved = (await say(ADMIN, "批准 1 特批", private=True)).text
    assert approved == (
        "已批准 #1（苏州市示例科技学会）：增补孙磊为组员，即日生效。"
        "按特批，领导小组现为8人：人数超过7人、人数为双数（应为单数）。"
    )
    await say("张伟", "提议免去 @孙磊 工作调动")
    assert (await say(ADMIN, "批准 2", private=True)).text == (
        "已批准 #2（苏州市示例科技学会）：免去孙磊的领导小组成员职务，即日生效。"
    )
    await say("张伟", "提议免去 @赵敏 退休")
    assert (await say(ADMIN, "批准 3", private=True)).text == (
        "已批准 #3（苏州市示例科技学会）：免去赵敏的领导小组成员职务，即日生效。"
        "请注意，领导小组现为6人：人数为双数（应为单数）。"
    )


async def test_the_adapters_flag_decides_that_names_are_only_text(harness: ConsoleRig) -> None:
    """Whether a name said stands for whoever registered under it (「我是赵六」), and whether a
    newcomer is told to register, is what the adapter says of the message (`names_in_text`),
    not which platform it came from: the console says it of none of its lines."""
    h = harness

    async def said(speaker: str, text: str, *, names_in_text: bool) -> str:
        message = replace(h.adapter.decode(speaker, text), names_in_text=names_in_text)
        return "".join(r.text for r in await h.router.dispatch(message) if r.private_to is None)

    assert "我是 姓名" in await said("zl", "签到", names_in_text=True)
    assert "我是 姓名" not in await said("zl2", "签到", names_in_text=False)
    assert "已登记" in await h.say("zl", "我是赵六")
    proposal = "提议增补 赵六 党员 理事 工作需要"
    assert "增补赵六" not in await said("张伟", proposal, names_in_text=False)
    assert await models.RosterChange.all().count() == 0
    assert "增补赵六为组员" in await said("张伟", proposal, names_in_text=True)
    (change,) = await models.RosterChange.all().prefetch_related("person")
    assert change.person.name == "赵六"


async def test_a_member_on_the_roster_is_not_renamed_by_registering(harness: ConsoleRig) -> None:
    """「我是张卫」 from 张伟, the leader: the roster's name is what the committee approved, so
    it stays, and nothing is registered; the same name registers as before. Someone not on a
    roster (吴国华, the president) is still renamed by registering."""
    h = harness
    refused = (await h.say("张伟", "我是张卫")).text
    assert "名单上的姓名是「张伟」，没有改动" in refused
    assert "市科技社团党委" in refused
    assert await models.Person.filter(name="张卫").count() == 0
    assert await models.Person.filter(name="张伟").count() == 1
    assert await models.Registration.all().count() == 0
    assert "已登记" in await h.say("张伟", "我是张伟")
    assert await models.Registration.filter(name="张伟").count() == 1
    assert "吴国华" not in await _roster_names()
    assert "已登记" in await h.say("吴国华", "登记姓名 吴国华（技术部）")
    assert await models.Person.filter(name="吴国华（技术部）").count() == 1
