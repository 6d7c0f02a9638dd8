"""The agenda, the place, the roster and the minutes as the leader meant them: a title that looks
like a personnel or major matter listed as general is flagged (never reclassified), a deferred
item named again is not listed twice, the place and the reasons are what was said of them, a
non-party member's addition is flagged to the leader and the committee (第十五条), a cancelled
meeting takes no number, a study item is not voted on, and 「下一项，换届筹备 举手表决」 opens that
vote."""

from __future__ import annotations

import json

from storage import models, repo
from tests.kit.console import ConsoleRig, check_in_and_open, convene_and_open

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
