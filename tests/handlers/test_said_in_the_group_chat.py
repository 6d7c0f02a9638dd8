"""A meeting's life typed as members type in the group chat (talk2): a vote's method said in a
clause after its item, 「我投弃权」, a show of hands said 「大家举手」 and recorded 「全部赞成」, a
deferral with its why after the item, a leave said to the leader 「请假一次」, lateness in
minutes, 「已读」 and 「把时间改到…」. Each had been 「没有听懂」 or read with the wrong words."""

from __future__ import annotations

from storage import models
from tests.kit.console import ConsoleRig, convene_and_open


async def test_votes_said_in_the_chat_are_started_cast_and_recorded(harness: ConsoleRig) -> None:
    """「对议题1进行表决，记名」 starts a named vote on item 1 (it had not been understood);
    「我投弃权」 casts 弃权 as 「我投反对」 casts 反对; 「议题2大家举手」 starts a show of hands, and
    the recorder's 「全部赞成」 records every hand present up (it had been taken for a ballot on
    「全部」 and refused)."""
    h = harness
    await convene_and_open(
        h, "年度总结；经费预算；会员发展", present=("张伟", "王强", "刘洋", "陈静", "杨帆")
    )
    started = (await h.say("张伟", "对议题1进行表决，记名")).text
    assert "开始表决：议题1「年度总结」（一般事项，记名表决）" in started, started
    cast = (await h.say("王强", "我投弃权")).text
    assert "王强：弃权（议题1 年度总结），已记录" in cast, cast
    assert await models.Ballot.all().count() == 1
    for name in ("张伟", "刘洋", "陈静", "杨帆"):
        await h.say(name, "赞成")
    await h.say("张伟", "结束表决")
    hands = (await h.say("张伟", "议题2大家举手")).text
    assert "开始表决：议题2「经费预算」（一般事项，举手表决）" in hands, hands
    recorded = (await h.say("周婷", "全部赞成")).text
    assert recorded.startswith("已录入议题2举手结果：赞成5、反对0、弃权0"), recorded
    assert await models.Ballot.all().count() == 5  # the show of hands casts no ballots


async def test_a_deferral_says_why_after_the_item(harness: ConsoleRig) -> None:
    """「议题3暂缓，下次再议」 defers item 3 (it had been asked back as 「暂缓 议题3暂缓」)."""
    h = harness
    await convene_and_open(h, "年度总结；经费预算；会员发展")
    said = (await h.say("张伟", "议题3暂缓，下次再议")).text
    assert "议题3「会员发展」暂缓决定（下次再议），将转入下次会议再行表决。" in said, said
    assert await models.EventLog.filter(kind="item_deferred").count() == 1


async def test_a_leave_said_to_the_leader_keeps_only_its_reason(harness: ConsoleRig) -> None:
    """「组长，13号我在北京开会，请假一次」 is asked back with the reason alone (it had been
    「请假 一次」), and a yes records that reason; lateness in minutes, 「已读」 and the leader's
    「把时间改到…」 are understood before the meeting."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度总结")
    asked = (await h.say("赵敏", "组长，5号我在北京开会，请假一次")).text
    assert asked == "是否请假？回复「是」或「请假 5号我在北京开会」确认。", asked
    assert "赵敏已请假（5号我在北京开会）" in await h.say("赵敏", "是")
    late = (await h.say("刘洋", "到时候可能晚十分钟")).text
    assert late.startswith("好的，刘洋会晚到"), late
    assert (await h.say("陈静", "已读")).text.startswith("陈静已确认收到第1次会议")
    moved = (await h.say("张伟", "把时间改到12月6日下午三点")).text
    assert "2026年12月6日（星期日）15:00" in moved, moved
    assert await models.EventLog.filter(kind="meeting_rescheduled").count() == 1


async def test_a_yes_to_a_leave_asked_without_its_reason_asks_for_it(harness: ConsoleRig) -> None:
    """「周四我去不了了😭」 is asked 「是否请假？请写明理由…」; a 「是」 to it asks for the reason
    (it had answered that no question was waiting), and the next message is the reason. Nothing
    is recorded before the reason comes."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度总结")
    asked = (await h.say("杨帆", "5号我去不了了😭")).text
    assert asked == "是否请假？请写明理由发送，例如「请假 出差在外」。", asked
    said = (await h.say("杨帆", "是")).text
    assert said == "请写明请假理由，例如：请假 出差在外", said
    assert await models.Attendance.filter(status="leave").count() == 0
    recorded = (await h.say("杨帆", "要去上海出差")).text
    assert recorded.startswith("杨帆已请假（要去上海出差）"), recorded


async def test_an_opinion_by_item_and_a_proposal_by_its_proposer(harness: ConsoleRig) -> None:
    """A member on leave writes 「议题2：同意，但建议经费使用要公开」: a written opinion on item 2
    (it had not been understood); the leader's 「刘洋提的议题同意列入」 puts 刘洋's proposal on
    the agenda (it had not been understood either)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度总结；经费预算")
    await h.say("李娜", "请假 孩子发烧")
    said = (await h.say("李娜", "议题2：同意，但建议经费使用要公开")).text
    assert said.startswith("已收到李娜对议题2「经费预算」的书面意见"), said
    opinions = await models.WrittenOpinion.all()
    assert [o.text for o in opinions] == ["同意，但建议经费使用要公开"]
    await h.say("刘洋", "提议议题 青年科技人才联谊活动")
    accepted = (await h.say("张伟", "刘洋提的议题同意列入")).text
    assert accepted.startswith("议题3「青年科技人才联谊活动」已列入议程（刘洋提议）"), accepted
