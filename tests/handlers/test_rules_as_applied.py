"""Rules the chair could have bent: an emergency or a deferral chosen after the ballots were
seen, and a member who does not vote keeping the leader (who states a position last) from
voting at all."""

from __future__ import annotations

from storage import models
from tests.kit.console import ConsoleRig, convene_and_open

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
    assert "已收到您对议题1的无记名投票" in await h.say("张伟", "投票 赞成", private=True)
    await h.say("张伟", "结束表决")
    result = (await h.say("张伟", "是")).text
    assert "赞成4" in result
    assert "结果：通过" in result
