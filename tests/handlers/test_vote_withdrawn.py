"""A vote opened by mistake, as a chair lives it: withdrawn while nobody has voted (the item back to
be voted on, the opening and the withdrawal on the record and in the minutes), or reopened by
another method in one step; once anyone has voted, refused, the ballots standing."""

from __future__ import annotations

from storage import models, verify
from tests.kit.console import ConsoleRig, convene_and_open

SIX = ("张伟", "李娜", "王强", "刘洋", "陈静", "赵敏")


async def test_a_vote_nobody_voted_in_is_withdrawn_and_on_the_record(harness: ConsoleRig) -> None:
    """「撤回表决」「表决发错了，撤销」「刚才的表决作废，撤回」 had not been understood (the second
    was read as 发起表决 with 「发错了，撤销」 as an item's title): the chair could not take back a
    vote opened on the wrong item. Now it is withdrawn, the group told, the item back to be voted
    on, and the chain, the recount and the minutes say it was opened and withdrawn."""
    h = harness
    await convene_and_open(h, "年度工作总结；经费预算（重大）", present=SIX)
    for said in ("撤回表决", "表决发错了，撤销", "刚才的表决作废，撤回"):
        assert "开始表决：议题2" in await h.say("张伟", "发起表决 2")
        refused = (await h.say("李娜", said)).text
        assert refused == "抱歉，「撤回表决」只有组长或受委托主持会议的成员可以使用。", refused
        withdrawn = (await h.say("张伟", said)).text
        assert withdrawn == (
            "议题2「经费预算」的记名表决已撤回。发起后尚无人投票，撤回已记录在案，议题回到待表决；"
            "主持人可重新发送「发起表决 2」。"
        ), withdrawn
        assert await models.Vote.filter(state="open").count() == 0
    assert "目前没有正在进行的表决" in await h.say("李娜", "赞成")
    assert "撤回" in await h.say("张伟", "计票 2")
    assert "开始表决：议题2" in await h.say("张伟", "发起表决 2 记名")
    for name in SIX:
        await h.say(name, "赞成")
    assert "结果：通过" in await h.say("张伟", "结束表决")
    assert await models.EventLog.filter(kind="vote_withdrawn").count() == 3
    await h.say("张伟", "散会 现在")
    minutes = (await h.say("张伟", "纪要 全文")).text
    assert minutes.count("15:00 记名表决发起后撤回（尚无人投票）") == 3, minutes
    assert "结果：通过" in minutes
    assert (await verify.run()).clean


async def test_a_vote_with_ballots_cast_is_not_withdrawn(harness: ConsoleRig) -> None:
    """Once anyone has voted, neither 「撤回表决」 nor a change of method is done: the ballots
    stand (the decision is collective and on the record) and the chair is told how the vote
    ends. Nothing is written."""
    h = harness
    await convene_and_open(h, "年度工作总结", present=SIX)
    await h.say("张伟", "发起表决 1")
    await h.say("李娜", "赞成")
    before = await models.EventLog.all().count()
    refused = (await h.say("张伟", "撤回表决")).text
    assert refused == (
        "议题1「年度工作总结」的记名表决已有1人投票，没有撤回。已投的票有效，不能撤回或作废："
        "表决由集体作出，每一票都记录在案。请出席成员投完后，主持人发送「结束表决」按规则计算结果"
        "（意见分歧较大的重大事项，届时依第十六条暂缓决定）。"
    ), refused
    refused = (await h.say("张伟", "改成无记名投票")).text
    assert refused.startswith("议题1「年度工作总结」的记名表决已有1人投票，没有改为无记名投票。")
    assert await models.EventLog.all().count() == before
    assert await models.Vote.filter(state="open").count() == 1
    said = (await h.say("王强", "赞成")).text
    assert said.startswith("王强：赞成（议题1 年度工作总结），已记录"), said


async def test_the_method_is_changed_while_nobody_has_voted(harness: ConsoleRig) -> None:
    """「改成无记名投票」「改为举手表决」 had been read as a vote on an item titled 「改成」. While
    nobody has voted, the open vote is withdrawn and the item's vote opened again by the method
    named, in one step; both are on the record. A show of hands with its result entered stands;
    a method the item's rules do not allow is refused."""
    h = harness
    await convene_and_open(h, "年度工作总结；换届（人事）", present=SIX)
    await h.say("张伟", "发起表决 1")
    changed = (await h.say("张伟", "改为举手表决")).text
    assert changed.startswith(
        "议题1「年度工作总结」的表决方式由记名表决改为举手表决：原记名表决尚无人投票，已撤回，"
        "记录在案。\n开始表决：议题1「年度工作总结」（一般事项，举手表决）。"
    ), changed
    assert "举手表决：由记录人录入结果" in changed
    assert "正在举手表决，不用改" in await h.say("张伟", "改为举手表决")
    assert "由举手表决改为记名表决" in await h.say("张伟", "改成记名投票")
    assert "由记名表决改为举手表决" in await h.say("张伟", "表决方式改为举手")
    await h.say("周婷", "举手结果 赞成5 反对0 弃权1")
    refused = (await h.say("张伟", "改成记名投票")).text
    assert refused.startswith("议题1「年度工作总结」的举手表决已录入举手结果，没有改为记名表决。")
    assert "结果：通过" in await h.say("张伟", "结束表决")
    await h.say("张伟", "发起表决 2")
    assert "不能采用记名表决" in await h.say("张伟", "改成记名投票")  # a personnel vote is secret
    assert await models.EventLog.filter(kind="vote_withdrawn").count() == 3
    assert await models.EventLog.filter(kind="vote_opened").count() == 5
    assert (await verify.run()).clean


async def test_nothing_to_withdraw_or_change_without_an_open_vote(harness: ConsoleRig) -> None:
    h = harness
    await convene_and_open(h, "年度工作总结", present=SIX)
    before = await models.EventLog.all().count()
    assert "目前没有正在进行的表决，没有可撤回的表决" in await h.say("张伟", "撤回表决")
    none = (await h.say("张伟", "改为举手表决")).text
    assert none == (
        "目前没有正在进行的表决，没有可改的表决方式。要用举手表决，请发送「举手表决 议题编号」。"
    )
    assert await models.EventLog.all().count() == before


async def test_an_open_vote_deferred_before_any_ballot_is_on_the_record(
    harness: ConsoleRig,
) -> None:
    """The chair's 「暂缓 1 …」 on an item whose vote nobody had voted in closed the vote with no
    entry in the chain saying so: 「yishi verify」 reported the vote row as tampered with, and
    「计票」 then failed with 「抱歉，系统出了点问题」. Now the deferral names the vote it closes
    (recounted as closed without a count) and 「计票」 says the item was deferred."""
    h = harness
    await convene_and_open(h, "年度工作总结", present=SIX)
    await h.say("张伟", "发起表决 1")
    assert "暂缓决定（材料不全）" in await h.say("张伟", "暂缓 1 材料不全")
    deferred = "议题1「年度工作总结」的表决尚无人投票时，由主持人暂缓决定，将转入下次会议再行表决。"
    assert (await h.say("李娜", "计票 1")).text == deferred
    assert deferred in await h.say("张伟", "结束表决")
    assert (await verify.run()).clean
