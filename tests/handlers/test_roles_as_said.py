"""The recorder, the leader, the liaison and the committee as they say things (each of these
had done something not meant, or lost what was said)."""

from __future__ import annotations

import json

from storage import models, verify
from tests.kit.console import ConsoleRig, convene_and_open

ADMIN = "市党委刘老师"


async def test_the_recorder_away_and_a_stand_in_change_no_one(harness: ConsoleRig) -> None:
    """In the meeting the leader's 「周婷今天请假，刘洋临时记录一下」 then 是 had recorded the
    leader himself as leaving; 「这次会议让刘洋来记录吧」「记录人改成 @刘洋，就今天一次」 had made
    刘洋 the recorder for good. Now nothing is recorded or changed and each says why."""
    h = harness
    await convene_and_open(h, "年度总结")
    told = (await h.say("张伟", "周婷今天请假，刘洋临时记录一下")).text
    assert "这句话说的是周婷请假" in told
    assert "缺席" not in told  # the recorder is not on the meeting's roster
    assert await models.Attendance.filter(status="left").count() == 0
    for said in ("这次会议让刘洋来记录吧", "记录人改成 @刘洋，就今天一次"):
        assert "记录人是长期指定的" in await h.say("张伟", said)
    society = await models.Society.first()
    assert society is not None
    recorder = await models.Person.get(id=society.recorder_id)  # type: ignore[attr-defined]
    assert recorder.name == "周婷"


async def test_a_sign_off_confirmed_after_a_new_version_signs_nothing(
    harness: ConsoleRig,
) -> None:
    """「纪要没问题，签发吧」 (asked back), then the recorder adds a note, then the leader's 是 had
    signed the new version he had not seen; now it says so and signs nothing, and a yes asked again signs."""
    h = harness
    await convene_and_open(h, "年度总结")
    await h.say("张伟", "散会 现在")
    h.at("2026-12-05 16:00")
    await h.say("张伟", "纪要没问题，签发吧")
    h.at("2026-12-05 16:01")
    await h.say("周婷", "纪要备注 李娜建议明年多开一次")
    h.at("2026-12-05 16:02")
    refused = (await h.say("张伟", "是")).text
    assert refused.startswith("纪要在您确认之前又更新为第2版")
    assert await models.Signature.all().count() == 0
    h.at("2026-12-05 16:03")
    await h.say("张伟", "纪要没问题，签发吧")
    h.at("2026-12-05 16:04")
    assert "已签发第1次会议纪要（第2版）" in await h.say("张伟", "是")


async def test_the_leaders_minutes_found_fine_ask_to_sign(harness: ConsoleRig) -> None:
    """The leader's 「纪要我看过了，没问题」 after the close had only shown the minutes: while they
    wait for sign-off it asks 「是否签发第1次会议纪要？」, signs nothing, and a yes signs. A
    member's same words show the minutes; once signed, the leader's show them too."""
    h = harness
    await convene_and_open(h, "年度总结")
    await h.say("张伟", "散会 现在")
    h.at("2026-12-05 16:00")
    shown = (await h.say("李娜", "纪要我看过了，没问题")).text
    assert shown.startswith("【草稿，待组长签发·第1版】")
    asked = (await h.say("张伟", "纪要我看过了，没问题")).text
    assert asked.startswith("是否签发第1次会议纪要？")
    assert asked.endswith("回复「是」或「签发」确认。")
    assert await models.Signature.all().count() == 0
    assert "已签发第1次会议纪要（第1版）" in await h.say("张伟", "是")
    assert await models.Signature.all().count() == 1
    again = (await h.say("张伟", "纪要我看过了，没问题")).text
    assert again.startswith("【已签发·第1版】")


async def test_notes_added_changed_and_taken_out_as_said(harness: ConsoleRig) -> None:
    """「纪要第二项加一句：…」「会议记录里加上：…」 had shown the minutes and added nothing (the
    leader then signed without them); 「修改纪要 第1条备注改为…」 had added the words as a new
    note. Now each adds, changes or takes out the note, in a new version (the earlier kept)."""
    h = harness
    await convene_and_open(h, "年度总结；经费预算")
    await h.say("周婷", "纪要里第二项加一句：刘洋、陈静认为会务费偏高")
    await h.say("张伟", "散会 现在")
    await h.say("周婷", "纪要第二项加一句：王强建议压缩")
    await h.say("周婷", "会议记录里加上：传达了市党委文件")
    changed = (await h.say("周婷", "上一条备注写错了，改成：传达了市科技社团党委文件")).text
    assert "第3条备注已改为「传达了市科技社团党委文件」" in changed
    assert "第1条备注" in await h.say("周婷", "把第1条备注删掉")
    assert "没有第5条" in await h.say("周婷", "修改纪要 第5条备注改为测试")
    assert "纪要备注由记录人补充" in await h.say("李娜", "纪要第二项加一句：我也同意")
    latest = await models.MinutesVersion.all().order_by("-version").first()
    assert latest is not None
    assert latest.notes == "第二项 王强建议压缩\n传达了市科技社团党委文件"
    assert await models.MinutesVersion.all().count() == 5


async def test_a_note_taken_in_the_meeting_is_withdrawn_on_record(harness: ConsoleRig) -> None:
    """「刚才那条记错了，删掉」「撤回上一条记录」 from the recorder were not understood, and the
    note noted in error went into the draft. During the meeting the recorder's own last note is
    withdrawn by an entry appended to the chain (the note's own entry stays, the chain verifies),
    and the draft made at 散会 leaves it out; after it, the same words take the note out of a
    new version of the draft. Nobody else withdraws a note."""
    h = harness
    await convene_and_open(h, "年度总结")
    await h.say("周婷", "记一下：王强建议压缩会务费")
    await h.say("周婷", "记录一下：李娜同意")
    asked = (await h.say("周婷", "刚才那条记错了，删掉")).text  # no 备注/记录: named first
    assert asked == "是否撤回本次会议第2条备注（李娜同意）？回复「是」或「撤回第2条备注」确认。"
    done = (await h.say("周婷", "是")).text
    assert done == (
        "已撤回本次会议第2条备注（李娜同意），散会时不写入纪要草稿；撤回已记录在案（现有1条备注）。"
    ), done
    assert "第2条备注" in await h.say("周婷", "记录一下：李娜反对")
    assert "只有记录人可以使用" in await h.say("李娜", "刚才那条记错了，删掉")
    member = (await h.say("王强", "撤回上一条")).text  # perhaps meaning a ballot
    assert member.startswith("撤回纪要备注只有记录人可以使用，您不是记录人，没有办理。"), member
    assert "要改票" in member
    assert "第2条备注（李娜反对）" in await h.say("周婷", "撤回上一条记录")
    assert "第1条备注（王强建议压缩会务费）" in await h.say("周婷", "撤回上一条记录。")
    none = (await h.say("周婷", "撤回上一条记录")).text
    assert none == "周婷在本次会议还没有记下备注（或都已撤回），没有可撤回的。", none
    await h.say("周婷", "记一下：会议气氛热烈")
    await h.say("周婷", "记一下：临时")
    assert "第2条备注（临时）" in await h.say("周婷", "撤回第２条备注")  # typed full width
    kinds = [e.kind for e in await models.EventLog.all().order_by("seq")]
    assert kinds.count("minutes_note") == 5
    assert kinds.count("minutes_note_withdrawn") == 4
    withdrawn = await models.EventLog.filter(kind="minutes_note_withdrawn").order_by("seq")
    assert [json.loads(e.payload)["text"] for e in withdrawn] == [
        "李娜同意",
        "李娜反对",
        "王强建议压缩会务费",
        "临时",
    ]
    assert "只有记录人可以使用" in await h.say("张伟", "记一下：组长总结")
    await h.say("张伟", "散会 现在")
    draft = await models.MinutesVersion.get(version=1)
    assert draft.notes == "会议气氛热烈"
    assert "记录人备注：会议气氛热烈" in await h.say("张伟", "纪要 全文")
    after = (await h.say("周婷", "撤回上一条记录")).text
    assert after.startswith("纪要已更新为第2版：第1条备注（会议气氛热烈）已删除"), after
    assert (await models.MinutesVersion.get(version=2)).notes == ""
    assert (await verify.run()).clean


async def test_several_decisions_in_one_message(harness: ConsoleRig) -> None:
    """The committee's 「驳回 2 4」 had rejected #2 with the reason 「4」 and left #4 waiting;
    「批准 3，4号驳回」 had approved #3 and ignored the rejection; 「确认收到 1、2」 had
    acknowledged #1 only. Each number is decided now; a refusal of one decides none."""
    h = harness
    h.at("2026-12-01 09:00")
    for said in (
        "提议增补 @孙磊 党员 理事 加强力量",
        "提议增补 @钱多 党员 理事 加强力量",
        "提议免去 @赵敏 工作调动",
        "提议免去 @杨帆 工作调动",
    ):
        await h.say("张伟", said)
    refused = (await h.say(ADMIN, "批准 1 2", private=True)).text
    assert "不符合工作规则" in refused
    assert await models.RosterChange.filter(status="pending").count() == 4
    await h.say(ADMIN, "批准 3，4号驳回，人数够了", private=True)
    await h.say(ADMIN, "驳回 1 2", private=True)
    statuses = {c.id: c.status for c in await models.RosterChange.all()}
    assert statuses == {1: "rejected", 2: "rejected", 3: "approved", 4: "rejected"}
    note = (await models.RosterChange.get(id=4)).decision_note
    assert note == "人数够了"
    await h.say("陈静", "年度总结 2026年度工作总结 全年开会两次")
    await h.say("陈静", "备案 议事规则 经第1次会议通过")
    await h.say(ADMIN, "确认收到 1、2", private=True)
    assert await models.Filing.filter(acknowledged_at__isnull=True).count() == 0


async def test_what_the_leader_and_liaison_write_is_kept_as_meant(harness: ConsoleRig) -> None:
    """「增补 @孙磊 党员 常务理事 …」 had kept the post in the reason (the roster then showed
    none); 「增补 @钱多，党员，副秘书长，…」 had kept 「@钱多，党员，…」 as the reason; 「组长换成
    李娜吧，她是…」 had the reason 「吧 她是…」; the liaison's 「上报一下会议纪要」 had sent the
    committee an empty report titled 会议纪要."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "增补 @孙磊 党员 常务理事 加强年轻力量")
    await h.say("张伟", "增补 @钱多，党员，副秘书长，加强年轻力量")
    await h.say("张伟", "组长换成李娜吧，她是新任理事长，我年纪大了")
    changes = [(c.position, c.reason) for c in await models.RosterChange.all().order_by("id")]
    assert changes == [
        ("director", "加强年轻力量"),
        ("none", "副秘书长，加强年轻力量"),
        ("vice_president", "她是新任理事长，我年纪大了"),
    ]
    assert "不用另行报送，没有提交" in await h.say("陈静", "上报一下会议纪要")
    assert await models.Filing.all().count() == 0


async def test_a_show_of_hands_said_in_words_is_recorded_on_a_yes(harness: ConsoleRig) -> None:
    """The recorder's 「五票赞成一票弃权」 and 「刚才录错了，应该是赞成4反对1弃权1」 had not been
    understood (「录错了，改一下：赞成4，反对1，弃权1」 had been asked back as her own ballot):
    each is asked back as 举手结果 with the counts, and a yes records them."""
    h = harness
    await convene_and_open(h, "年度总结", present=("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆"))
    await h.say("张伟", "发起表决 1 举手")
    asked = (await h.say("周婷", "五票赞成一票弃权")).text
    assert "回复「是」或「举手结果 赞成5 弃权1」确认" in asked
    assert "赞成5、反对0、弃权1" in await h.say("周婷", "是")
    asked = (await h.say("周婷", "录错了，改一下：赞成4，反对1，弃权1")).text
    assert "举手结果 赞成4 反对1 弃权1" in asked
    assert "赞成4、反对1、弃权1" in await h.say("周婷", "是")
    vote = await models.Vote.first()
    assert vote is not None
    assert json.loads(vote.hands or "{}") == {"yes": 4, "no": 1, "abstain": 1}


async def test_the_committee_decides_as_it_says_in_private(harness: ConsoleRig) -> None:
    """The committee's decisions said its own way in private: 「免去赵敏的申请先不批」 holds it
    (it had answered 「私聊时无法确定您所在的学会」), 「免去王强」 alone is asked which way,
    「免去王强同意」 approves, 「2号同意，3号驳回」 decides both, 「都同意吧」 lists all and waits
    for a yes, 「1号同意」 of a decided request says so, 「收到了」 asks which filing. A member's
    「1号同意」 and 「都同意」 stay ballots (refused here: no meeting)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "免去王强，增补吴国华")
    await h.say("张伟", "免去赵敏")
    held = (await h.say(ADMIN, "免去赵敏的申请先不批", private=True)).text
    assert held.startswith(
        "好的，申请 #3（苏州市示例科技学会：免去赵敏的领导小组成员职务）暂不审批"
    )
    asked = (await h.say(ADMIN, "免去王强", private=True)).text
    assert asked.startswith("是要批准申请 #1（苏州市示例科技学会：免去王强的领导小组成员职务）吗？")
    assert await _statuses() == ["pending", "pending", "pending"]
    assert "已批准 #1" in await h.say(ADMIN, "免去王强同意", private=True)
    assert "申请 #1（免去王强的领导小组成员职务）已批准，无需再审批" in await h.say(
        ADMIN, "1号同意", private=True
    )
    both = (await h.say(ADMIN, "2号同意，3号驳回", private=True)).replies
    assert [r.split("：")[0] for r in both] == [
        "已批准 #2（苏州市示例科技学会）",
        "已驳回 #3（苏州市示例科技学会）",
    ]
    assert await _statuses() == ["approved", "approved", "rejected"]
    await h.say("张伟", "免去刘洋")
    await h.say("张伟", "免去杨帆")
    listed = (await h.say(ADMIN, "都同意吧", private=True)).text
    assert listed.startswith("要批准全部2项待审批的申请吗？#4 ")
    assert "回复「是」或「批准 4 5」确认" in listed
    assert await _statuses() == ["approved", "approved", "rejected", "pending", "pending"]
    await h.say(ADMIN, "是", private=True)
    assert await _statuses() == ["approved"] * 2 + ["rejected"] + ["approved"] * 2
    await h.say("陈静", "年度总结 2026年度工作总结 全年开会两次")
    receipt = (await h.say(ADMIN, "收到了", private=True)).text
    assert receipt.startswith("是要确认收到 #1 苏州市示例科技学会「2026年度工作总结」吗？")
    assert not (await models.Filing.get()).acknowledged_at
    await h.say(ADMIN, "是", private=True)
    assert (await models.Filing.get()).acknowledged_at
    assert "没有记录投票" in await h.say("李娜", "都同意")


async def _statuses() -> list[str]:
    return [c.status for c in await models.RosterChange.all().order_by("id")]


async def test_a_note_changed_in_the_meeting_keeps_the_old_text_on_record(
    harness: ConsoleRig,
) -> None:
    """「备注2改成…」「第1条备注改为…」 during the meeting had been refused (withdraw and note
    again): the recorder's own note is changed by an entry of its own holding the old text and
    the new, the draft has the new; 「撤回上一条」 (no 备注) names the note before withdrawing."""
    h = harness
    await convene_and_open(h, "年度总结")
    await h.say("周婷", "记一下：王强建议压缩会务费")
    await h.say("周婷", "记一下：李娜同意")
    changed = (await h.say("周婷", "备注2改成刘洋同意")).text
    assert changed.startswith("已把本次会议第2条备注由「李娜同意」改为「刘洋同意」"), changed
    again = (await h.say("周婷", "第1条备注改为会务费要压缩")).text
    assert again.startswith("已把本次会议第1条备注由「王强建议压缩会务费」改为"), again
    assert "只有记录人可以使用" in await h.say("李娜", "备注2改成李娜反对")
    (event, _) = await models.EventLog.filter(kind="minutes_note_changed").order_by("seq")
    payload = json.loads(event.payload)
    assert (payload["from"], payload["text"]) == ("李娜同意", "刘洋同意")
    asked = (await h.say("周婷", "撤回上一条")).text
    assert asked == "是否撤回本次会议第2条备注（刘洋同意）？回复「是」或「撤回第2条备注」确认。"
    assert await models.EventLog.filter(kind="minutes_note_withdrawn").count() == 0
    assert "已撤回本次会议第2条备注（刘洋同意）" in await h.say("周婷", "是")
    await h.say("张伟", "散会 现在")
    draft = await models.MinutesVersion.get(version=1)
    assert draft.notes == "会务费要压缩"
    assert (await verify.run()).clean
