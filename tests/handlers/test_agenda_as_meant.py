"""The agenda, the place, the roster and the minutes as the leader meant them: a title that looks
like a personnel or major matter listed as general is flagged (never reclassified), a deferred
item named again is not listed twice, the place and the reasons are what was said of them, a
non-party member's addition is flagged to the leader and the committee (第十五条), a cancelled
meeting takes no number, a study item is not voted on, and 「下一项，换届筹备 举手表决」 opens that
vote."""

from __future__ import annotations

from tests.kit.console import ConsoleRig

ADMIN = "市党委刘老师"


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
