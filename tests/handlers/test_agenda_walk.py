"""The chair walks the agenda as said at a meeting: 「下一个议题」 shows the item to discuss next
(who proposed it, the written opinions of members on leave, who stepped aside, how its vote is
opened); 「举手表决」「议题2记名表决」 open a vote by the method named. Showing writes nothing;
a method the matter does not allow, or a member who is not the chair, is refused and writes
nothing."""

from __future__ import annotations

from storage import models
from tests.kit.console import MEMBERS, ConsoleRig, check_in_and_open, convene_and_open

PRESENT = MEMBERS[:6]  # 赵敏 is on leave


async def _meeting(h: ConsoleRig) -> None:
    h.at("2026-12-01 09:00")
    await h.say(
        "张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作；经费预算（重大）；换届（人事）"
    )
    await h.say("赵敏", "请假 出差")
    await h.say("赵敏", "书面意见 2 同意预算，建议压缩差旅")
    await check_in_and_open(h, present=PRESENT)
    await h.say("王强", "回避 2")


async def _rows() -> tuple[int, int, int]:
    return (
        await models.Vote.all().count(),
        await models.EventLog.all().count(),
        await models.Ballot.all().count(),
    )


async def test_next_item_walks_the_agenda_in_order(harness: ConsoleRig) -> None:
    h = harness
    await _meeting(h)
    before = await _rows()
    first = (await h.say("张伟", "下一个议题")).text
    assert first == (
        "议题1「年度工作」（一般事项，张伟提出）\n"
        "讨论后主持人发送「发起表决 1」（记名表决），或「举手表决 1」。"
    )
    assert await _rows() == before  # showing writes no record
    # No number: the item the chair turned to (three are waiting).
    opened = await h.say("张伟", "现在举手表决")
    assert "开始表决：议题1「年度工作」（一般事项，举手表决）" in opened
    second = (await h.say("李娜", "下一项")).text  # anyone may look; the vote under way comes first
    assert second.startswith(
        "议题1「年度工作」正在表决，主持人发送「结束表决」后再表决下一项。\n"
        "下一项：议题2「经费预算」（重大事项，张伟提出）\n"
        "书面意见（不计入票数）：\n- 赵敏：同意预算，建议压缩差旅\n回避：王强\n"
        "讨论后主持人发送「发起表决 2」（记名表决）。\n"
        "重大事项分歧较大的，可发送「暂缓 2 理由」暂缓到下次会议再议。"
    )
    # The recorder enters the show of hands as said (「举手表决 赞成…」 is the result, not a vote).
    assert "已录入" in await h.say("周婷", "举手表决 赞成5 反对1 弃权0")
    asked = await h.say("张伟", "大家都举过手了，结束表决")  # a remark first: asked back
    assert asked.text == "是否结束表决并按规则计算结果？回复「是」或「结束表决」确认。"
    assert await models.Vote.filter(state="open").count() == 1
    assert "结果：通过" in await h.say("张伟", "结束表决")
    assert (await h.say("张伟", "进入下一个议题")).text.startswith("议题2「经费预算」")
    third = (await h.say("张伟", "开始讨论第三个议题")).text
    assert third.startswith("议题3「换届」（人事事项，张伟提出）")
    assert "发送「发起表决 3」（无记名投票）" in third
    assert "此议题已表决，通过。" in await h.say("张伟", "讨论议题 1")


async def test_method_named_votes_and_their_refusals(harness: ConsoleRig) -> None:
    h = harness
    await _meeting(h)
    before = await _rows()
    refused = (await h.say("张伟", "议题2举手表决")).text
    assert refused.startswith("这类议题不能采用举手表决，可用记名表决。")
    assert "发起表决 议题编号 记名" in refused
    refused = (await h.say("张伟", "对议题2进行无记名表决")).text
    assert refused.startswith("这类议题不能采用无记名投票，可用记名表决。")
    assert "只有组长或受委托主持会议的成员可以使用" in await h.say("李娜", "记名表决 1")
    assert "只有记录人可以使用" in await h.say("李娜", "举手表决 赞成5 反对1")
    assert await _rows() == before  # every refusal wrote nothing
    opened = await h.say("张伟", "议题3无记名表决")
    assert "开始表决：议题3「换届」（人事事项，无记名投票）" in opened
    assert await models.Vote.filter(method="secret").count() == 1


async def test_a_proposal_not_on_the_agenda_is_not_taken_up(harness: ConsoleRig) -> None:
    """A member's proposal the leader has not put on the agenda is skipped, and does not make
    the walk skip the items before it."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    await h.say("李娜", "提议议题 青年人才托举")
    await h.say("张伟", "添加议题 经费预算")
    await check_in_and_open(h)
    assert (await h.say("张伟", "下一个议题")).text.startswith("议题1「年度工作」")
    assert "此议题待组长确定。" in await h.say("张伟", "讨论议题 2")
    await h.say("张伟", "发起表决 1")
    for name in MEMBERS:
        await h.say(name, "赞成")
    await h.say("张伟", "结束表决")
    assert (await h.say("张伟", "下一个议题")).text.startswith("议题3「经费预算」")


async def test_nothing_left_to_take_up(harness: ConsoleRig) -> None:
    h = harness
    await convene_and_open(h, "年度工作")
    await h.say("张伟", "记名表决 1")
    assert (await h.say("张伟", "下一个议题")).text == (
        "议题1「年度工作」正在表决，主持人发送「结束表决」后再表决下一项。\n这是议程上的最后一项。"
    )
    for name in MEMBERS:
        await h.say(name, "赞成")
    await h.say("张伟", "结束表决")
    assert (await h.say("张伟", "下一个议题")).text == (
        "议程上的议题都已表决或暂缓，主持人可发送「散会」结束会议。"
    )
    assert "没有议题5" in await h.say("张伟", "讨论议题 5")


async def test_a_break_and_not_meeting_today_write_nothing(harness: ConsoleRig) -> None:
    """The rules know no pause: 「休会」 explains what holds during a break. 「今天不开了」 is asked
    back as 取消会议, never run."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    before = await _rows()
    assert (
        await h.say("张伟", "今天不开了")
    ).text == "是否取消会议？回复「是」或「取消会议」确认。"
    early = (await h.say("李娜", "暂停一下")).text
    assert early.startswith("第1次会议还没有开始，没有可暂停的会议。")
    assert await _rows() == before
    assert (await models.Meeting.get()).state == "convened"
    await check_in_and_open(h)
    during = (await h.say("张伟", "休息十分钟")).text
    assert during.startswith(
        "第1次会议不设暂停：休息期间会议仍在进行，出席记录和进行中的表决照常有效"
    )
    assert "请组长发送「散会」" in during
    assert (await models.Meeting.get()).state == "open"


async def test_the_leader_nudges_those_who_have_not_answered(harness: ConsoleRig) -> None:
    """「提醒一下没回复的人」: the roster members who have neither acknowledged, checked in nor
    asked for leave are @-mentioned; once the meeting is open, those not checked in. Writes
    nothing; a member who is not the chair cannot."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    await h.say("李娜", "收到")
    await h.say("王强", "请假 出差")
    before = await _rows()
    (nudged,) = await h.send("张伟", "提醒一下没回复的人")
    assert nudged.text.startswith(
        "【提醒】第1次会议定于2026年12月5日（星期六）15:00在会议室召开，尚未回复：刘洋、陈静、杨帆、赵敏。"
    )
    assert [u.name for u in nudged.mentions] == ["刘洋", "陈静", "杨帆", "赵敏"]
    assert "只有组长" in await h.say("李娜", "催一下")
    # The status says the same: a 收到 is an answer to the notice.
    status = await h.say("张伟", "会议状态")
    assert "已确认收到通知：李娜；未回复：张伟、刘洋、陈静、杨帆、赵敏；" in status
    assert await _rows() == before
    await check_in_and_open(h, present=("张伟", "李娜", "刘洋", "陈静"))
    (nudged,) = await h.send("张伟", "提醒签到")
    assert nudged.text.startswith("【提醒】第1次会议已经开始（会议室），尚未签到：杨帆、赵敏。")
    assert [u.name for u in nudged.mentions] == ["杨帆", "赵敏"]
    for name in ("杨帆", "赵敏"):
        await h.say(name, "签到")
    assert "第1次会议参会名单上的其他成员都已签到或请假，无需提醒。" in await h.say(
        "张伟", "催一下"
    )


async def test_this_item_is_the_one_the_chair_turned_to(harness: ConsoleRig) -> None:
    """「下一个议题」 said by the chair turns the meeting to the item shown: 「那我们投票吧」 and
    「这个议题分歧比较大，下次再议吧」 (asked back, then 「是」) mean that item. A member looking
    ahead turns nothing; with several items and none turned to, the number is asked."""
    h = harness
    await _meeting(h)
    asked = (await h.say("张伟", "开始投票")).text
    assert "请写明要表决的议题编号" in asked
    assert "待表决：1「年度工作」、2「经费预算」、3「换届」" in asked
    await h.say("张伟", "讨论议题 2")
    await h.say("李娜", "议题3")  # a member looks at item 3: the meeting stays on item 2
    asked = (await h.say("张伟", "这个议题分歧比较大，下次再议吧")).text
    assert asked == "是否把议题暂缓到下次会议？回复「是」或「暂缓 这个议题分歧比较大」确认。"
    assert (await h.say("张伟", "是")).text == (
        "议题2「经费预算」暂缓决定（分歧比较大），将转入下次会议再行表决。"
    )
    item = await models.AgendaItem.get(number=2)
    assert item.state == "deferred"
    # By its title: 「暂缓 换届」 defers item 3 (the meeting was on item 2).
    assert "议题3「换届」暂缓决定" in await h.say("张伟", "暂缓 换届")
    assert "开始表决：议题1「年度工作」" in await h.say("张伟", "那我们投票吧")  # the only one left


async def test_a_secret_or_named_vote_said_alone(harness: ConsoleRig) -> None:
    """「无记名投票」 said alone by the chair opens a secret vote on the item turned to (it had
    not been understood)."""
    h = harness
    await _meeting(h)
    await h.say("张伟", "讨论议题 3")
    opened = await h.say("张伟", "无记名投票")
    assert "开始表决：议题3「换届」（人事事项，无记名投票）" in opened
    vote = await models.Vote.get(state="open")
    assert vote.method == "secret"


async def test_this_item_in_votes_and_recusals(harness: ConsoleRig) -> None:
    """「这个议题我回避」 and 「这个议题记名表决」 are about the item the chair turned to; 「我回避」
    with several items and none turned to lists them; 「这一项暂缓」 defers the one turned to."""
    h = harness
    await _meeting(h)
    listed = (await h.say("刘洋", "我回避")).text
    assert listed.startswith("请写明要回避的议题编号，例如：回避 1。可以回避：1「年度工作」")
    await h.say("张伟", "讨论议题 3")
    assert "刘洋就议题3「换届」回避" in await h.say("刘洋", "这个议题我回避")
    assert "开始表决：议题3「换届」" in await h.say("张伟", "这个议题无记名投票")
    await h.say("张伟", "结束表决")
    await h.say("张伟", "讨论议题 1")
    assert "议题1「年度工作」暂缓决定" in await h.say("张伟", "这一项暂缓")


async def test_closing_with_items_not_voted_on_asks_first(harness: ConsoleRig) -> None:
    """「散会」 while agenda items have not been voted on names them and asks (closing is final:
    attendance is locked, the minutes drafted, and an item not deferred does not go to the next
    meeting); it had closed at once. 「是」 or 「散会 现在」 closes; with every item decided or
    deferred it closes at once. The question writes nothing."""
    h = harness
    await _meeting(h)
    await h.say("张伟", "记名表决 1")
    for name in PRESENT:
        await h.say(name, "赞成")
    await h.say("张伟", "结束表决")
    before = await _rows()
    asked = (await h.say("张伟", "散会")).text
    assert asked == (
        "议题2「经费预算」、议题3「换届」还没有表决，散会后不会自动列入下次会议（要下次再议的，"
        "请先发送「暂缓 议题编号 理由」）。确定现在散会吗？回复「是」或「散会 现在」确认。"
    )
    assert await _rows() == before
    assert (await models.Meeting.get()).state == "open"
    await h.say("张伟", "暂缓 2 意见分歧较大")
    await h.say("张伟", "撤回议题 3 材料未备齐")
    closed = (await h.say("张伟", "今天就到这里")).text
    assert closed.startswith("第1次会议结束，出勤情况已锁定。")
    assert (await models.Meeting.get()).state == "closed"


async def test_a_yes_closes_with_items_left(harness: ConsoleRig) -> None:
    h = harness
    await _meeting(h)
    assert "确定现在散会吗？" in await h.say("张伟", "散会")
    closed = (await h.say("张伟", "是")).text
    assert closed.startswith("第1次会议结束，出勤情况已锁定。未表决议题：1、2、3。")
    assert (await models.Meeting.get()).state == "closed"


async def test_a_vote_named_by_the_items_title_opens_on_that_item(harness: ConsoleRig) -> None:
    """「对换届进行无记名投票」「对经费预算进行表决」 open the vote on the item so titled, whatever
    the chair last turned to; the title had been dropped and the vote opened on the item in focus
    (or the title read as a method: 「表决方式「经费预算」无法识别」). A title that fits no item
    is refused with the agenda listed, nothing opened."""
    h = harness
    await _meeting(h)
    await h.say("张伟", "讨论议题 1")  # the focus is on item 1
    unknown = (await h.say("张伟", "对会员发展进行表决")).text
    assert unknown == (
        "没有找到「会员发展」对应的议题，请写明议题编号，例如「发起表决 2」。"
        "本次会议的议题：议题1「年度工作」；议题2「经费预算」；议题3「换届」"
    )
    assert await models.Vote.all().count() == 0
    assert (await h.say("张伟", "会员发展举手表决")).text.startswith("没有找到「会员发展」")
    opened = (await h.say("张伟", "换届无记名投票")).text  # the title bare before the method
    assert "开始表决：议题3「换届」（人事事项，无记名投票）" in opened
    for name in PRESENT[1:] + PRESENT[:1]:  # the leader last on a personnel matter
        await h.say(name, "投票 赞成", private=True)
    assert "结果：通过" in await h.say("张伟", "结束表决")
    opened = (await h.say("张伟", "对经费预算进行表决")).text
    assert "开始表决：议题2「经费预算」（重大事项，记名表决）" in opened
    assert await models.Vote.filter(state="open").count() == 1
    # With a vote open, another is refused for that first (it had said that the other item's
    # matter allowed no secret ballot).
    busy = (await h.say("张伟", "年度工作无记名投票")).text
    assert busy.startswith(
        "议题2「经费预算」还在表决（已投0/5），须先结束才能表决议题1（逐项表决）。"
    )


async def test_an_item_named_by_its_title_is_that_item_or_none(harness: ConsoleRig) -> None:
    """「把会员发展暂缓」 with no such item had deferred the item in focus, 「会员发展」 taken for
    the reason; 「对会员发展我回避」「把会员发展删掉」 had only asked for a number. An object said
    by its title is that item (暂缓, 撤回, 回避, 讨论) or, when no item fits, refused with the
    agenda listed; nothing is written."""
    h = harness
    await _meeting(h)
    await h.say("张伟", "讨论议题 1")
    before = await _rows()
    for said, example in (
        ("把会员发展暂缓", "暂缓 2 分歧较大"),
        ("把会员发展删掉", "撤回议题 2 材料尚未准备好"),
        ("对会员发展进行讨论", "讨论议题 2"),
    ):
        refused = (await h.say("张伟", said)).text
        assert refused.startswith(
            f"没有找到「会员发展」对应的议题，请写明议题编号，例如「{example}」。本次会议的议题："
        )
    assert (await h.say("李娜", "对会员发展我回避")).text.startswith("没有找到「会员发展」")
    assert await _rows() == before
    states = {it.number: it.state for it in await models.AgendaItem.all()}
    assert states == {1: "accepted", 2: "accepted", 3: "accepted"}
    assert "李娜就议题2「经费预算」回避" in await h.say("李娜", "对经费预算我回避")
    asked = (await h.say("刘洋", "换届我回避")).text  # the question's command works when sent
    assert asked == "是否就某议题回避（主持人可 @ 指定成员回避）？回复「是」或「回避 换届」确认。"
    assert "刘洋就议题3「换届」回避" in await h.say("刘洋", "回避 换届")
    assert "议题3「换届」暂缓决定" in await h.say("张伟", "把换届暂缓")
    assert "议题1「年度工作」已撤出" in await h.say("张伟", "把年度工作删掉")


async def test_this_item_is_never_another(harness: ConsoleRig) -> None:
    """「就这个问题表决吧」 opens the vote on the item turned to (「这个问题」「这件事」 say this
    item, as 「这个议题」 does); once that item is deferred, 「这件事下次再议」 is refused by its
    state: it had deferred the only other item that could still be."""
    h = harness
    await _meeting(h)
    await h.say("张伟", "讨论议题 2")
    assert "开始表决：议题2「经费预算」" in await h.say("张伟", "就这个问题表决吧")
    await h.say("张伟", "暂缓 2 意见分歧较大")
    await h.say("张伟", "撤回议题 3 材料未备齐")
    before = await _rows()
    refused = (await h.say("张伟", "这件事下次再议")).text
    assert refused.startswith("这个议题已暂缓决定")
    assert await _rows() == before
    states = {it.number: it.state for it in await models.AgendaItem.all()}
    assert states[1] == "accepted"
