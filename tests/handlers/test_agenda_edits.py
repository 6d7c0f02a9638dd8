"""修改议题 and 撤回议题: the leader corrects or withdraws an item before its vote, the roster is
told, the minutes follow; an item being voted on, a member's proposal and an item carried over
from a deferral are refused, and a refusal writes nothing."""

from __future__ import annotations

from storage import models, repo
from tests.kit.console import MEMBERS, ConsoleRig, check_in_and_open


async def _convene(h: ConsoleRig, topics: str) -> None:
    h.at("2026-12-01 09:00")
    await h.say("张伟", f"召开会议 2026-12-05 15:00 会议室 议题：{topics}")


async def test_edit_and_withdraw_before_the_vote(harness: ConsoleRig) -> None:
    h = harness
    await _convene(h, "年度工作总解；经费预算；换届筹备")
    replies = await h.send("张伟", "修改议题 1 年度工作总结")
    assert replies[0].text == (
        "第1次会议议题1已改为「年度工作总结」（一般事项），原为「年度工作总解」（一般事项）。"
    )
    assert {u.name for u in replies[0].mentions} == set(MEMBERS)
    typed = await h.say("张伟", "修改议题 2 2027年经费预算（重大）")
    assert "已改为「2027年经费预算」（重大事项），原为「经费预算」（一般事项）" in typed
    withdrawn = await h.say("张伟", "撤回议题 3 材料尚未准备好")
    assert "议题3「换届筹备」已撤出第1次会议议程，理由：材料尚未准备好。" in withdrawn
    status = await h.say("王强", "会议状态")
    assert "议题1「年度工作总结」（一般事项）：已列入议程" in status
    assert "议题2「2027年经费预算」（重大事项）：已列入议程" in status
    await check_in_and_open(h)
    vote = await h.say("张伟", "发起表决 2")
    assert "议题2「2027年经费预算」（重大事项" in vote
    assert "这个议题正在表决" in await h.say("张伟", "修改议题 2 预算")
    for name in MEMBERS:
        await h.say(name, "赞成")
    await h.say("张伟", "结束表决")
    await h.say("张伟", "发起表决 1")
    for name in MEMBERS:
        await h.say(name, "赞成")
    await h.say("张伟", "结束表决")
    await h.say("张伟", "散会 现在")
    minutes = await h.say("张伟", "纪要 全文")
    assert "年度工作总结" in minutes
    assert "年度工作总解" not in minutes
    assert "2027年经费预算" in minutes
    assert "撤出议程的议题：换届筹备（张伟撤回：材料尚未准备好）" in minutes
    checked, broken = await repo.verify_all()
    assert checked
    assert broken is None


async def test_refusals_write_nothing(harness: ConsoleRig) -> None:
    h = harness
    await _convene(h, "年度工作；经费预算")
    await h.say("王强", "提议议题 会员发展")
    before = await models.EventLog.all().count()
    assert "只有组长" in await h.say("李娜", "修改议题 1 年度工作总结")
    assert "只有组长" in await h.say("李娜", "撤回议题 1")
    assert "请写明议题编号" in await h.say("张伟", "修改议题 年度工作总结")
    assert "请写明新的议题标题" in await h.say("张伟", "修改议题 1")
    assert "没有变化" in await h.say("张伟", "修改议题 1 年度工作")
    assert "没有议题9" in await h.say("张伟", "撤回议题 9")
    assert "还是成员的提议" in await h.say("张伟", "撤回议题 3")
    assert "无法识别" in await h.say("张伟", "修改议题 1 年度工作（特急）")
    assert await models.EventLog.all().count() == before
    assert "已撤出" in await h.say("张伟", "撤回议题 2")
    assert "未列入议程，不能这样操作" in await h.say("张伟", "撤回议题 2")


async def test_an_item_carried_from_a_deferral_stays_as_it_was(harness: ConsoleRig) -> None:
    """第十六条: a deferred item is voted on again at the next meeting, as it was deferred."""
    h = harness
    await _convene(h, "年度工作；经费预算（重大）")
    await check_in_and_open(h)
    assert "暂缓" in await h.say("张伟", "暂缓 2 需进一步论证")
    await h.say("张伟", "散会 现在")
    await h.say("张伟", "签发")
    h.at("2026-12-10 09:00")
    notice = await h.say("张伟", "召开会议 2026-12-20 15:00 会议室 议题：会员发展")
    assert "经费预算（重大事项，上次会议暂缓，再行表决）" in notice
    before = await models.EventLog.all().count()
    refused = await h.say("张伟", "修改议题 2 经费预算调整")
    assert "是上次会议暂缓的议题，须在本次会议按原议题再行表决（第十六条），不能修改" in refused
    assert "不能撤回" in await h.say("张伟", "撤回议题 2")
    assert await models.EventLog.all().count() == before


async def test_an_item_named_by_its_title_gets_its_type(harness: ConsoleRig) -> None:
    """「把经费预算设为重大事项」 names the item by its title (it had not been understood); a
    title that fits no item asks for the number, nothing changed."""
    h = harness
    await _convene(h, "年度工作总结；2027年经费预算")
    said = (await h.say("张伟", "把经费预算设为重大事项")).text
    assert said == (
        "第1次会议议题2已改为「2027年经费预算」（重大事项），原为「2027年经费预算」（一般事项）。"
    )
    refused = (await h.say("张伟", "把换届方案设为重大事项")).text
    assert refused.startswith("请写明议题编号，例如：修改议题 2")
    types = [it.matter_type for it in await models.AgendaItem.all().order_by("number")]
    assert types == ["general", "major"]
