"""The less travelled paths of a meeting: delegation, recusal, show of hands, cancellation,
and the tolerance of the command parser for /, full-width characters and the @bot mention."""

from __future__ import annotations

from handlers.common import parse_item_ref
from storage import models
from tests.kit.console import MEMBERS, ConsoleRig, convene_and_open


async def test_delegated_chair_runs_the_vote(harness: ConsoleRig) -> None:
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    assert "只有组长" in await h.say("李娜", "委托主持 @王强")
    assert "不是领导小组成员" in await h.say("张伟", "委托主持 @吴国华")
    assert "委托李娜主持" in await h.say("张伟", "委托主持 @李娜 组长出差")
    h.at("2026-12-05 14:50")
    for name in MEMBERS[1:]:
        await h.say(name, "签到")
    h.at("2026-12-05 15:00")  # not before the announced time
    assert "会议现在开始" in await h.say("李娜", "开会")
    assert "开始表决" in await h.say("李娜", "发起表决 1")
    assert "只有组长或受委托" in await h.say("王强", "结束表决 现在")
    for name in MEMBERS[1:]:
        await h.say(name, "赞成")
    assert "结果：通过" in await h.say("李娜", "结束表决 现在")
    await h.say("李娜", "散会")
    text = await h.say("张伟", "纪要 全文")
    assert "主持人：李娜" in text
    assert "张伟委托李娜主持（组长出差）" in text
    assert "缺席：张伟" in text


async def test_recused_member_leaves_the_base(harness: ConsoleRig) -> None:
    h = harness
    await convene_and_open(h, "王强同志任副组长人选（人事）；聘任审计机构（重大）")
    assert "就议题2" in await h.say("王强", "回避 2")
    assert "只有主持人" in await h.say("刘洋", "回避 2 @陈静")
    started = await h.say("张伟", "发起表决 2")
    assert "应到会6人" in started
    assert "已就本议题回避" in await h.say("王强", "赞成")
    for name in ("张伟", "李娜", "刘洋", "陈静", "杨帆", "赵敏"):
        await h.say(name, "赞成")
    result = await h.say("张伟", "结束表决 现在")
    assert "应到会6人" in result
    assert "结果：通过" in result


async def test_show_of_hands_recorded_by_the_recorder(harness: ConsoleRig) -> None:
    h = harness
    await convene_and_open(h, "会员发展工作")
    assert "举手表决" in await h.say("张伟", "发起表决 1 举手")
    assert "由记录人录入" in await h.say("李娜", "赞成")
    assert "请记录人先录入" in await h.say("张伟", "结束表决 现在")
    assert "只有记录人" in await h.say("李娜", "举手结果 赞成7")
    assert "超过了出席且有表决权的人数" in await h.say("周婷", "举手结果 赞成6 反对2")
    assert "请按格式录入" in await h.say("周婷", "举手结果 大家都同意")
    assert "已录入" in await h.say("周婷", "举手结果 赞成5 反对1 弃权1")
    result = await h.say("张伟", "结束表决 现在")
    assert "举手表决" in result
    assert "赞成5、反对1、弃权1" in result
    assert "结果：通过" in result


async def test_cancel_and_reconvene(harness: ConsoleRig) -> None:
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 明天下午3点 会议室 议题：年度工作")
    assert "办完后才能召开新会议" in await h.say("张伟", "召开会议 后天上午十点 会议室")
    assert "已取消" in await h.say("张伟", "取消会议 时间冲突")
    notice = await h.say("张伟", "召开会议 下周三 15:00 学会会议室 议题：年度工作")
    assert "2026年12月9日（星期三）15:00" in notice
    assert await models.Meeting.filter(state="cancelled").count() == 1


async def test_commands_tolerate_slash_fullwidth_and_mention(harness: ConsoleRig) -> None:
    h = harness
    h.at("2026-12-01 09:00")
    assert "【会议通知】" in await h.say(
        "张伟", "@议事　／召开会议　１２月５日下午３点　会议室　议题：年度工作"
    )
    h.at("2026-12-05 14:50")
    assert "已签到" in await h.say("李娜", "@议事 /签到")
    assert "已签到" in await h.say("王强", "/ 签到")


async def test_method_refused_for_the_matter_type(harness: ConsoleRig) -> None:
    h = harness
    await convene_and_open(h, "聘任审计机构（重大）；推荐人选（人事）")
    assert "不能采用举手表决" in await h.say("张伟", "发起表决 1 举手")
    assert "不能采用记名表决" in await h.say("张伟", "发起表决 2 记名")
    assert "无法识别" in await h.say("张伟", "发起表决 1 鼓掌")
    assert "没有议题9" in await h.say("张伟", "发起表决 9")


async def test_quorum_is_checked_again_when_a_vote_closes(harness: ConsoleRig) -> None:
    h = harness
    await convene_and_open(
        h, "年度工作；经费安排", present=("张伟", "李娜", "王强", "刘洋", "陈静")
    )
    await h.say("张伟", "发起表决 1")
    for name in ("张伟", "李娜", "王强", "刘洋"):
        await h.say(name, "赞成")
    assert "仍达到法定人数" in await h.say("陈静", "离席 接孩子")
    left = await h.say("刘洋", "离席")
    assert "已不足法定人数" in left
    result = await h.say("张伟", "结束表决 现在")
    assert "未达法定人数" in result
    assert "赞成4" in result
    assert "未达到表决所需法定人数" in await h.say("张伟", "发起表决 2")
    assert "已签到（4/7）" in await h.say("刘洋", "签到")
    assert "开始表决" in await h.say("张伟", "发起表决 2")
    assert "开始表决" not in await h.say("张伟", "发起表决 1")  # item 1 still open for a re-vote
    await h.say("张伟", "赞成")
    await h.say("张伟", "结束表决 现在")
    assert "开始表决" in await h.say("张伟", "发起表决 1")
    await h.say("张伟", "赞成")
    await h.say("张伟", "结束表决 现在")
    await h.say("张伟", "散会")
    assert "中途离席：陈静" in await h.say("张伟", "纪要 全文")


async def test_vote_deadline_is_parsed_stored_and_shown(harness: ConsoleRig) -> None:
    h = harness
    await convene_and_open(h, "年度工作")
    h.at("2026-12-05 15:10")
    # Refusals are polite and write nothing.
    for args, expected in (
        ("截止", "请写明表决截止时间"),
        ("记名 截止 明天下午", "没能识别截止时间"),
        ("截止 16:30 以后再说", "无法识别"),
        ("截止 15:00", "已经过去了"),  # a bare time that passed today is not read as tomorrow
        ("截止 2026-12-04 16:00", "已经过去了"),
    ):
        assert expected in await h.say("张伟", f"发起表决 1 {args}")
    assert await models.Vote.all().count() == 0
    replies = await h.send("张伟", "发起表决 1 记名 截止 16:30")
    (card,) = [r for r in replies if r.card is not None]
    assert "截止时间：2026年12月5日（星期六）16:30" in card.text
    assert card.card is not None
    assert card.card.summary == "已投 0/7，截止 12-05 16:30"
    (vote,) = await models.Vote.all()
    assert vote.method == "named"
    assert vote.closes_at is not None
    assert vote.closes_at.isoformat() == "2026-12-05T08:30:00+00:00"
    assert "截止时间：2026年12月5日（星期六）16:30" in await h.say("李娜", "计票")
    # The deadline passing does not close the vote: only the chair does.
    h.at("2026-12-05 17:00")
    status = await h.say("李娜", "计票")
    assert "已过，请主持人发送「结束表决」" in status
    assert "赞成" in await h.say("李娜", "赞成")
    assert "结果：" in await h.say("张伟", "结束表决 现在")


async def test_vote_without_deadline_and_with_method_word_only(harness: ConsoleRig) -> None:
    h = harness
    await convene_and_open(h, "年度工作")
    replies = await h.send("张伟", "发起表决 1 举手")
    (opened,) = replies
    assert "截止时间" not in opened.text
    assert opened.card is None  # a show of hands: no buttons inviting ballots it refuses
    (vote,) = await models.Vote.all()
    assert vote.method == "show_of_hands"
    assert vote.closes_at is None
    await h.say("周婷", "举手结果 赞成6 反对1 弃权0")
    closed = await h.send("张伟", "结束表决 现在")
    assert "结果：通过" in closed[0].text
    assert [r.card for r in closed] == [None]  # nor a card to update


async def test_members_acknowledge_the_notice(harness: ConsoleRig) -> None:
    h = harness
    h.at("2026-12-01 09:00")
    notice = await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    assert "收到通知请回复「收到」" in notice
    assert "已确认收到第1次会议" in await h.say("李娜", "收到")
    assert "已确认收到" in await h.say("李娜", "收到")  # again: same answer, one row
    assert (await h.say("吴国华", "收到")).text == "好的。"  # not asked to come: nothing kept
    assert await models.NoticeAck.all().count() == 1
    h.at("2026-12-05 14:50")
    for name in MEMBERS:
        await h.say(name, "签到")
    h.at("2026-12-05 15:00")  # not before the announced time
    await h.say("张伟", "开会")
    assert "无需回复" in await h.say("王强", "收到")
    assert await models.NoticeAck.all().count() == 1


async def test_the_chair_names_the_item_as_said_or_not_at_all(harness: ConsoleRig) -> None:
    """「开始投票」 with two items still to vote on asks which, listing them; 「现在表决第一项」
    (a Chinese numeral) opens item 1; once one item is left, 「开始投票吧」 opens it."""
    h = harness
    await convene_and_open(h, "年度工作总结；换届筹备")
    asked = (await h.say("张伟", "开始投票")).text
    assert asked == (
        "请写明要表决的议题编号，例如：发起表决 1 记名。待表决：1「年度工作总结」、2「换届筹备」。"
    )
    assert await models.Vote.all().count() == 0
    assert "开始表决：议题1「年度工作总结」" in await h.say("张伟", "现在表决第一项")
    for name in MEMBERS:
        await h.say(name, "赞成")
    assert "结果：通过" in await h.say("张伟", "结束表决 现在")
    assert "开始表决：议题2「换届筹备」" in await h.say("张伟", "开始投票吧")
    for name in MEMBERS:
        await h.say(name, "赞成")
    assert "结果：通过" in await h.say("张伟", "结束表决 现在")
    assert "没有待表决的议题" in await h.say("张伟", "开始投票")


def test_item_numbers_in_chinese_numerals() -> None:
    said = {
        "第一项": (1, ""),
        "第二项 理由": (2, "理由"),
        "议题三": (3, ""),
        "十": (10, ""),
        "十二，理由": (12, "理由"),
        "二十三": (23, ""),
        "2 理由": (2, "理由"),
        "一致同意": (None, "一致同意"),  # not a number: no boundary after 一
        "十万火急": (None, "十万火急"),
        "一一": (None, "一一"),
        # Said as an item, what follows needs no separator; a bare number still does.
        "第二个议题涉及我本人": (2, "涉及我本人"),
        "议题2涉及本人": (2, "涉及本人"),
        "3号议题需要调研": (3, "需要调研"),
        "12月": (None, "12月"),
        "第1次会议": (None, "第1次会议"),
        "第二届": (None, "第二届"),
        "第十二月": (None, "第十二月"),
    }
    assert {text: parse_item_ref(text) for text in said} == said
