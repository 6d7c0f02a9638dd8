"""The acceptance scenario: two meetings from convening to signed minutes, through the console
adapter and the real router, on SQLite and PostgreSQL."""

from __future__ import annotations

from tortoise import connections

from bot import governance as g
from storage import db, models, repo
from tests.kit.console import ConsoleRig

MEMBERS = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏")


async def _items(number: int) -> dict[int, models.AgendaItem]:
    meeting = await models.Meeting.get(number=number)
    return {it.number: it for it in await models.AgendaItem.filter(meeting_id=meeting.id)}


async def test_two_meetings_from_convening_to_signed_minutes(
    harness: ConsoleRig, database: str
) -> None:
    h = harness
    say = h.say

    # --- Meeting 1: all seven present --------------------------------------------------------
    h.at("2026-12-01 09:00")
    assert "没能识别会议时间" in await say("张伟", "召开会议 改天再说")
    assert "已经过去了" in await say("张伟", "召开会议 2026-11-20 15:00 会议室")
    notice = await say(
        "张伟",
        "召开会议 12月5日下午3点 学会会议室 议题：2026年度工作总结；2027年经费预算（重大）；防汛物资采购（重大）",
    )
    assert "2026年12月5日（星期六）15:00" in notice
    assert "【会议通知】" in notice
    assert {m.name for m in h.sent[-1].mentions} == set(MEMBERS)

    # A member's topic accepted, another rejected.
    assert "待组长确定" in await say("王强", "提议议题 会员发展工作")
    assert "只有组长" in await say("王强", "同意议题 4")
    assert "已列入议程" in await say("张伟", "同意议题 4")
    assert "待组长确定" in await say("刘洋", "提议议题 年终聚餐")
    assert "未列入议程" in await say("张伟", "驳回议题 5 不属于领导小组职责")
    assert "已邀请吴国华列席" in await say("张伟", "列席 @吴国华 非党员理事长列席")

    assert "还不能签到" in await say("张伟", "签到")
    h.at("2026-12-05 14:40")
    assert "已签到（1/7）" in await say("张伟", "签到")
    assert "已签到（2/7）" in await say("李娜", "签到")
    assert "已签到（3/7）" in await say("王强", "签到")
    assert "已签到过了" in await say("王强", "签到")
    assert "列席" in await say("吴国华", "签到")

    # Opening refused for a member, and for lack of quorum; then accepted.
    assert "只有组长或受委托主持会议的成员" in await say("李娜", "开会")
    refused = await say("张伟", "开会")
    assert "未达到法定人数" in refused
    assert "实到3人" in refused
    assert "未回复：刘洋、陈静、杨帆、赵敏" in refused
    assert "已达法定人数" in await say("刘洋", "签到")
    await say("陈静", "签到")
    await say("杨帆", "签到")
    h.at("2026-12-05 15:02")
    opened = await say("张伟", "开会")
    assert "会议现在开始" in opened
    assert "迟到" in await say("赵敏", "签到")

    # Item 1, general: passes 4-3, with a duplicate vote, a changed vote, an observer refused.
    started = await say("张伟", "发起表决 1")
    assert "至少4票" in started
    assert any(r.card is not None for r in h.sent[-2:]), h.sent[-2:]
    for name in ("张伟", "李娜", "王强", "陈静"):
        assert "已记录" in await say(name, "赞成")
    assert "无需重复" in await say("王强", "同意")
    assert "列席人员不参加表决" in await say("吴国华", "赞成")
    # Not a plain vote phrase: asked back, nothing recorded (the count below shows it).
    assert "回复「反对」确认" in await say("刘洋", "反对票吧我想想")
    await say("刘洋", "反对")
    await say("杨帆", "不同意")
    await say("赵敏", "赞成")
    assert "改投反对" in await say("赵敏", "反对")
    count = await say("李娜", "计票")
    assert "赞成4、反对3、弃权0" in count
    result = await say("张伟", "结束表决")
    assert "结果：通过" in result
    assert "赞成：张伟、李娜、王强、陈静" in result
    assert "表决已经结束" in await say("王强", "反对 1") or "该表决已经结束" in await say(
        "王强", "反对 1"
    )

    # Item 2, major: 4-3 is significant disagreement -> deferred.
    await say("张伟", "发起表决 2")
    for name, choice in zip(
        MEMBERS, ("赞成", "赞成", "赞成", "反对", "赞成", "反对", "反对"), strict=True
    ):
        await say(name, choice)
    deferred = await say("张伟", "结束表决")
    assert "暂缓决定" in deferred
    assert "第十六条" in deferred

    # Item 3, major under a declared emergency: 4-3 passes.
    assert "一般事项无需宣布紧急情况" in await say("张伟", "紧急 1 理由")
    assert "须说明理由" in await say("张伟", "紧急 3")
    assert "宣布紧急情况" in await say("张伟", "紧急 3 汛期临近，物资须当周采购")
    await say("张伟", "发起表决 3")
    for name, choice in zip(
        MEMBERS, ("赞成", "赞成", "赞成", "反对", "赞成", "反对", "反对"), strict=True
    ):
        await say(name, choice)
    emergency = await say("张伟", "结束表决")
    assert "结果：通过" in emergency
    assert "紧急情况" in emergency

    # Item 4 deferred by hand.
    assert "暂缓决定" in await say("张伟", "暂缓 4 需进一步调研")
    closed = await say("张伟", "散会 现在")
    assert "纪要草稿" in closed
    assert "只有组长" in await say("李娜", "签发")
    assert "只有记录人" in await say("李娜", "纪要备注 补充")
    assert "第2版" in await say("周婷", "纪要备注 会议传达了市科技社团党委年度工作部署。")
    assert "已签发" in await say("张伟", "签发")
    assert "纪要已签发并锁定" in await say("周婷", "纪要备注 再改一次")
    minutes = await say("李娜", "纪要 全文")
    assert "书面意见" not in minutes
    assert "吴国华（非党员理事长列席）" in minutes
    assert "未列入议程的议题建议：年终聚餐（不属于领导小组职责）" in minutes
    assert "迟到：赵敏" in minutes

    items = await _items(1)
    assert items[1].outcome == g.Outcome.PASSED.value
    assert items[2].state == g.ItemState.DEFERRED.value
    assert items[3].outcome == g.Outcome.PASSED.value
    assert items[4].state == g.ItemState.DEFERRED.value
    assert items[5].state == g.ItemState.REJECTED.value
    first_vote = await models.Vote.filter(item_id=items[1].id).first()
    assert first_vote is not None
    assert await models.Ballot.filter(vote_id=first_vote.id).count() == 7

    # --- Meeting 2: four present ---------------------------------------------------------------
    h.at("2026-12-10 09:00")
    notice = await say(
        "张伟", "召开会议 12月15日 上午9点半 学会会议室 议题：增补理事人选（人事）；档案整理"
    )
    assert "上次会议暂缓，再行表决" in notice  # items 2 and 4 of meeting 1 are carried
    assert "已请假" in await say("杨帆", "请假 在外地出差")
    opinion = await say("杨帆", "书面意见 3 同意增补人选")
    assert "不计入票数" in opinion
    assert "书面意见由请假的成员提交" in await say("刘洋", "书面意见 3 我也有意见")
    h.at("2026-12-15 09:00")
    for name in ("张伟", "李娜", "王强", "刘洋"):
        await say(name, "签到")
    h.at("2026-12-15 09:31")
    assert "会议现在开始" in await say("张伟", "开会")
    late_leave = await say("赵敏", "请假 临时有事")
    assert "按缺席记录" in late_leave

    # The personnel item needs two thirds present: 4 of 7 is refused.
    m2 = await _items(2)
    personnel = next(n for n, it in m2.items() if it.matter_type == "personnel")
    general = next(n for n, it in m2.items() if it.title == "档案整理")
    refused = await say("张伟", f"发起表决 {personnel}")
    assert "未达到表决所需法定人数" in refused
    assert "至少5人" in refused

    # 4 present, 3 yes: not enough (4 needed of 7).
    warn = await say("张伟", f"发起表决 {general}")
    assert "至少4票" in warn
    for name, choice in (("张伟", "赞成"), ("李娜", "赞成"), ("王强", "赞成"), ("刘洋", "反对")):
        await say(name, choice)
    assert "结果：未通过" in await say("张伟", "结束表决")
    await say("张伟", "散会 现在")
    assert "已签发" in await say("张伟", "签发")
    minutes2 = await say("张伟", "纪要 全文")
    assert "书面意见（杨帆，不计票）：同意增补人选" in minutes2
    assert "缺席：陈静、赵敏" in minutes2 or "缺席：赵敏、陈静" in minutes2

    # The record verifies; one altered event is named.
    checked, broken = await repo.verify_all()
    assert broken is None
    assert checked > 50
    assert await repo.verify_signed_minutes() == []
    conn = connections.get(db.connection_name(database))
    await conn.execute_query(
        "UPDATE event_log SET payload = REPLACE(payload, '\"yes\"', '\"no\"') WHERE kind = 'ballot' AND seq = "
        "(SELECT MIN(seq) FROM event_log WHERE kind = 'ballot')"
    )
    _, broken = await repo.verify_all()
    assert broken is not None
    first_ballot = await models.EventLog.filter(kind="ballot").order_by("seq").first()
    assert first_ballot is not None
    assert broken.seq == first_ballot.seq
    assert broken.problem == "hash"


async def test_secret_ballot_in_private_chat(harness: ConsoleRig) -> None:
    h = harness
    say = h.say
    h.at("2026-12-01 09:00")
    await say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：推荐副组长人选（人事）")
    h.at("2026-12-05 14:50")
    for name in MEMBERS:
        await say(name, "签到")
    await say("张伟", "开会")
    before = len(h.adapter.sent)
    await h.send("张伟", "发起表决 1")
    invitations = [r for r in h.adapter.sent[before:] if r.private_to is not None]
    assert sorted(r.private_to.name for r in invitations if r.private_to) == sorted(MEMBERS)
    assert "私聊" in await say("李娜", "赞成")  # in the group: refused, not counted
    assert "组长最后表态" in await say("张伟", "投票 赞成", private=True)
    for name, choice in zip(
        MEMBERS[1:], ("赞成", "赞成", "反对", "赞成", "赞成", "弃权"), strict=True
    ):
        assert "回执" in await say(name, f"投票 {choice}", private=True)
    assert "不允许改票" in await say("李娜", "投票 反对", private=True)
    live = await say("王强", "计票")
    assert "已投6/7" in live
    assert "赞成" not in live.text.split("未投")[0].replace("无记名投票", "")
    await say("张伟", "投票 赞成", private=True)
    result = await say("张伟", "结束表决")
    assert "赞成5、反对1、弃权1" in result
    assert "无记名投票回执" in result
    # The voter list and the ballot box share no key: names are never next to choices.
    vote = await models.Vote.first()
    assert vote is not None
    assert not await models.Ballot.filter(vote_id=vote.id).exists()
    box = await models.SecretBoxEntry.filter(vote_id=vote.id).values_list("choice", flat=True)
    assert sorted(box) == sorted(["yes"] * 5 + ["no", "abstain"])
    assert not await models.SecretBallotSealed.filter(vote_id=vote.id).exists()
    events = await models.EventLog.filter(kind="secret_ballot")
    assert all("choice" not in e.payload for e in events)


async def test_redelivered_message_is_processed_once(harness: ConsoleRig) -> None:
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    h.at("2026-12-05 14:50")
    for name in MEMBERS:
        await h.say(name, "签到")
    await h.say("张伟", "开会")
    await h.say("张伟", "发起表决 1")
    message = h.adapter.decode("李娜", "赞成")
    first = await h.router.dispatch(message)
    again = await h.router.dispatch(message)
    assert "已记录" in first[0].text
    assert "重复消息" in again[0].text
    assert await models.Ballot.all().count() == 1
    assert await models.ProcessedMessage.filter(message_id=message.message_id).count() == 1


async def test_unbound_group_and_unknown_command(harness: ConsoleRig) -> None:
    from dataclasses import replace

    from bot.events import ChatRef

    h = harness
    message = h.adapter.decode("张伟", "召开会议 明天下午3点 会议室")
    foreign = replace(message, chat=ChatRef(message.platform, "console", "other-group"))
    replies = await h.router.dispatch(foreign)
    assert "还没有绑定学会" in replies[0].text
    assert await models.Meeting.all().count() == 0
    assert "没有听懂" in await h.say("张伟", "今天天气不错")
    assert "没有听懂" in await h.say("张伟", "")
