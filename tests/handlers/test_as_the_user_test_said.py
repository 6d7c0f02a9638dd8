"""What a user test of the demo society typed, each read as meant: a notice written as a
sentence, agendas listed with commas, leaves with their opinions, proposals decided by number,
questions about a leave or a vote answered, and small replies answered in kind."""

from __future__ import annotations

from storage import models
from tests.kit.console import ConsoleRig


async def test_a_notice_written_as_a_sentence_keeps_its_place(harness: ConsoleRig) -> None:
    """「通知：12月9日15:00召开领导小组会议，地点302，议题：…」 had the place 「召 地点302」 and
    「12月9日下午三点召开领导小组会议，议题：…」 the place 「召」: 召 is the verb's."""
    h = harness
    h.at("2026-12-01 09:00")
    said = await h.say("张伟", "通知：12月9日15:00召开领导小组会议，地点302，议题：年度工作总结")
    assert "地点：302\n" in said.text
    meeting = await models.Meeting.get(number=1)
    assert meeting.place == "302"
    await h.say("张伟", "取消会议 说错了")
    said = await h.say("张伟", "12月9日下午三点召开领导小组会议，议题：年度工作总结")
    assert "地点：待定\n" in said.text
    assert (await models.Meeting.get(state="convened")).place == "待定"


async def _agenda() -> list[tuple[str, str]]:
    """The items of the meeting convened (those before it were cancelled), as (title, type)."""
    meeting = await models.Meeting.get(state="convened")
    items = await models.AgendaItem.filter(meeting=meeting).order_by("number")
    return [(it.title, it.matter_type) for it in items]


async def test_an_agenda_listed_with_commas_or_after_a_type_is_several_items(
    harness: ConsoleRig,
) -> None:
    """「议题：年度工作总结，经费预算（重大），会员发展」 had been one general item; a type marker
    before 、 ends a title too. 「党建、业务融合工作」 stays one title, a remark after a comma is
    no item, and 、 with the only marker at the end (one major title, or two?) is asked back:
    nothing convened until the yes."""
    h = harness
    h.at("2026-12-01 09:00")
    convene = "召开会议 下周三下午3点 学会302 议题："
    await h.say("张伟", f"{convene}年度工作总结，经费预算（重大），会员发展")
    assert await _agenda() == [
        ("年度工作总结", "general"),
        ("经费预算", "major"),
        ("会员发展", "general"),
    ]
    await h.say("张伟", "取消会议 重发")
    await h.say("张伟", f"{convene}党建、业务融合工作；经费预算（重大）、会员发展")
    assert await _agenda() == [
        ("党建、业务融合工作", "general"),
        ("经费预算", "major"),
        ("会员发展", "general"),
    ]
    await h.say("张伟", "取消会议 重发")
    await h.say("张伟", f"{convene}年度工作总结，请大家提前准备")
    assert await _agenda() == [("年度工作总结", "general")]  # the remark is no title
    await h.say("张伟", "取消会议 重发")
    asked = await h.say("张伟", f"{convene}年度工作总结、经费预算(重大)")
    assert "是一项，还是用「、」隔开的几项？" in asked.text
    assert await models.Meeting.filter(state="convened").count() == 0
    assert "【会议通知】" in await h.say("张伟", "是")
    assert await _agenda() == [("年度工作总结", "general"), ("经费预算", "major")]
    assert (await models.Meeting.get(state="convened")).place == "学会302"


async def test_views_on_numbered_items_after_a_leave_s_reason_are_written_opinions(
    harness: ConsoleRig,
) -> None:
    """「请假 身体不适 2同意 3弃权」 had kept the whole as the reason; the views on items 2 and 3
    are written opinions, as after 「书面意见：」. A number that opens no view stays in the
    reason (「3点的航班」)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say(
        "张伟", "召开会议 12月9日下午3点 学会302 议题：年度工作总结；经费预算（重大）；会员发展"
    )
    said = await h.say("陈静", "请假 身体不适 2同意 3弃权")
    assert said.text.startswith(
        "陈静已请假（身体不适）。已收到陈静对议题2「经费预算」、议题3「会员发展」"
    )
    assert "已请假（在外地 3点的航班）。如对议题有意见" in await h.say(
        "赵敏", "请假 在外地 3点的航班"
    )
    opinions = await models.WrittenOpinion.all().prefetch_related("item")
    assert sorted((o.item.number, o.text) for o in opinions) == [(2, "同意"), (3, "弃权")]
    reasons = {a.reason for a in await models.Attendance.all()}
    assert reasons == {"身体不适", "在外地 3点的航班"}


async def test_a_leave_asked_for_its_reason_takes_the_next_message_as_it(
    harness: ConsoleRig,
) -> None:
    """「我请个假」 is asked for its reason, and the member's next message is it (「出差」「出差
    北京」「理由是出差」 had not been understood); only the next one, not a question, not
    another's; a 「是」 asks again, 「算了」 drops it."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 12月9日下午3点 学会302 议题：年度工作总结")
    assert "请写明请假理由" in await h.say("刘洋", "我请个假")
    assert "没有听懂" in await h.say("王强", "出差")  # not the one asked
    assert "刘洋已请假（出差北京）" in await h.say("刘洋", "出差北京")
    assert "没有听懂" in await h.say("刘洋", "出差")  # answered already
    assert "请写明请假理由" in await h.say("赵敏", "我请个假")
    assert "请写明请假理由" in await h.say("赵敏", "是")
    assert "赵敏已请假（出差）" in await h.say("赵敏", "理由是出差")
    assert "请写明请假理由" in await h.say("杨帆", "我请个假")
    assert "已请假" not in await h.say("杨帆", "理由一定要写吗？")
    assert "已请假" not in await h.say("杨帆", "家里有事")  # the question waits no more
    assert "请写明请假理由" in await h.say("陈静", "我请个假")
    assert "没有办理" in await h.say("陈静", "算了")
    assert "已请假" not in await h.say("陈静", "出差")
    reasons = {a.reason for a in await models.Attendance.all()}
    assert reasons == {"出差北京", "出差"}


async def test_what_gives_no_reason_after_the_question_is_asked_back_not_taken(
    harness: ConsoleRig,
) -> None:
    """After 「请写明请假理由」 a hesitation, a thank-you or a reply quoted to someone else had
    been taken as the reason and the leave recorded (「刘洋已请假（我再想想）」); they are asked
    back with it, and only a 「是」 takes the leave."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 12月9日下午3点 学会302 议题：年度工作总结")
    for name, said in (
        ("刘洋", "我再想想"),
        ("陈静", "谢谢组长"),
        ("王强", "「李娜：周三谁去市里开会？」 我去"),
        ("杨帆", "明天要去北京，我看看能不能赶回来"),
    ):
        assert "请写明请假理由" in await h.say(name, "我请个假")
        asked = (await h.say(name, said)).text
        assert asked.startswith("是否请假？"), asked
    assert await models.Attendance.all().count() == 0
    assert "杨帆已请假（明天要去北京，我看看能不能赶回来）" in await h.say("杨帆", "是")
    assert await models.Attendance.all().count() == 1


async def test_one_opinion_glued_to_its_number_is_recorded(harness: ConsoleRig) -> None:
    """「书面意见 2同意」 and 「请假 身体不适 2同意」 had been answered 「请写明议题编号」."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 12月9日下午3点 学会302 议题：年度工作总结；经费预算（重大）")
    said = (await h.say("刘洋", "请假 身体不适 2同意")).text
    assert "刘洋已请假（身体不适）" in said, said
    assert "已收到刘洋对议题2「经费预算」的书面意见" in said, said
    await h.say("杨帆", "请假 出差")
    assert "已收到杨帆对议题1「年度工作总结」的书面意见" in await h.say("杨帆", "书面意见 1同意")
    assert await models.WrittenOpinion.all().count() == 2


async def test_the_leader_decides_proposals_by_number_or_proposer_before_any_vote(
    harness: ConsoleRig,
) -> None:
    """With no vote open, the leader's 「同意王强的议题」「同意4」 accept those proposals,
    「驳回5 …」「反对6」 reject them (「驳回」 had been refused as the committee's, 「同意4」 said
    there was no vote on item 4), 「议题3同意」 is asked back as accepting it (it had been told no
    vote is open); a member's 「同意5」 stays a ballot refused, and 「我也提一个：…」 proposes."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 12月9日下午3点 学会302 议题：年度工作总结；经费预算（重大）")
    await h.say("王强", "我想提个议题：会员发展工作")
    assert "已提交议题建议4「党建活动计划」" in await h.say("李娜", "我也提一个：党建活动计划")
    await h.say("刘洋", "提议议题 换届筹备")
    await h.say("杨帆", "提议议题 学术年会")
    await h.say("赵敏", "提议议题 科普活动")
    assert "议题3「会员发展工作」已列入议程" in await h.say("张伟", "同意王强的议题")
    assert "议题4「党建活动计划」已列入议程" in await h.say("张伟", "同意4")
    assert "还是刘洋提出的议题建议" in await h.say("李娜", "同意5")  # not the leader
    rejected = await h.say("张伟", "驳回5 时机不成熟")
    assert "议题建议5「换届筹备」未列入议程，理由：时机不成熟" in rejected
    assert "议题建议6「学术年会」未列入议程" in await h.say("张伟", "反对6")
    asked = await h.say("张伟", "议题7同意")
    assert "回复「是」或「同意议题 7」确认" in asked
    assert "议题7「科普活动」已列入议程" in await h.say("张伟", "是")
    states = {it.number: it.state for it in await models.AgendaItem.all()}
    assert states == {
        1: "accepted",
        2: "accepted",
        3: "accepted",
        4: "accepted",
        5: "rejected",
        6: "rejected",
        7: "accepted",
    }
    assert "只有市科技社团党委管理员" in await h.say("张伟", "驳回1")


async def test_questions_about_a_leave_or_a_vote_are_answered_not_acted_on(
    harness: ConsoleRig,
) -> None:
    """「请假成功了吗」「请假批了吗」 show the meeting's status with the leave on record (they had
    been asked back as a new leave); 「投票结束了吗？」「表决结束了吗」 show the count, the vote
    still open (they had been asked back as closing it)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 12月9日下午3点 学会302 议题：年度工作总结")
    await h.say("刘洋", "请假 出差")
    for said in ("请假成功了吗", "请假批了吗"):
        assert "请假：刘洋（出差）" in await h.say("刘洋", said)
    h.at("2026-12-09 14:30")
    for name in ("张伟", "李娜", "王强", "陈静"):
        await h.say(name, "签到")
    h.at("2026-12-09 15:00")
    await h.say("张伟", "开会")
    await h.say("张伟", "发起表决 1 记名")
    for who, said in (("李娜", "投票结束了吗？"), ("张伟", "表决结束了吗")):
        answer = (await h.say(who, said)).text
        assert "是否" not in answer
        assert "表决结果" not in answer
    assert await models.Vote.filter(state="open").count() == 1


async def test_small_replies_are_answered_in_kind(harness: ConsoleRig) -> None:
    """The recorder's and an observer's 「收到」 are thanked (they had been told 「收到」 is the
    members'); a second meeting refused does not say 会议 twice; 「改成反对」 in a secret ballot
    says at once it cannot be changed (it had asked 「是否投反对票？」 first)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 12月9日下午3点 学会302 议题：增补委员人选（人事）")
    assert "记录人无需确认收到通知" in await h.say("周婷", "收到")
    assert (await h.say("吴国华", "收到")).text == "好的。"
    await h.say("张伟", "列席 @吴国华 非党员理事长列席")
    assert "列席人员无需确认收到通知" in await h.say("吴国华", "收到")
    again = (await h.say("张伟", "召开会议 12月20日下午3点 学会302 议题：换届")).text
    assert again.startswith("会议已发出通知，还没有开始（第1次会议，2026年12月9日（星期三）15:00）")
    h.at("2026-12-09 14:30")
    for name in ("张伟", "李娜", "王强", "陈静", "赵敏"):
        await h.say(name, "签到")
    h.at("2026-12-09 15:00")
    await h.say("张伟", "开会")
    await h.say("张伟", "无记名表决 1")
    await h.say("李娜", "投票 赞成", private=True)
    changed = (await h.say("李娜", "改成反对", private=True)).text
    assert "无记名投票：每人只能投一次，投出后不能更改" in changed


async def test_a_meeting_called_with_a_bare_place_before_the_agenda(harness: ConsoleRig) -> None:
    """「下周三下午3点开个会，学会302，议题：…」 convenes at 学会302 (it had not been
    understood: a place after the verb had to be introduced with 在 or 地点)."""
    h = harness
    h.at("2026-12-01 09:00")
    said = await h.say("张伟", "下周三下午3点开个会，学会302，议题：年度工作总结")
    assert "【会议通知】" in said
    meeting = await models.Meeting.get(number=1)
    assert meeting.place == "学会302"
    assert await _agenda() == [("年度工作总结", "general")]


async def test_a_remark_ending_the_agenda_is_no_part_of_its_last_title(
    harness: ConsoleRig,
) -> None:
    """「…，经费预算（重大），谢谢」 had become one general item 「年度工作总结，经费预算（重大），谢谢」
    (the deferral rule of major items then never applied); 「。请大家准时参加」 likewise."""
    h = harness
    h.at("2026-12-01 09:00")
    for agenda in (
        "年度工作总结，经费预算（重大），谢谢",
        "年度工作总结；经费预算（重大）。请大家准时参加",
        "年度工作总结，请示换届事宜（重大），请大家提前阅读材料",
    ):
        said = (await h.say("张伟", f"召开会议 12月10日下午3点 学会302 议题：{agenda}")).text
        assert "2. " in said, said
        items = await models.AgendaItem.filter(meeting__state="convened").order_by("number")
        assert len(items) == 2, [i.title for i in items]
        assert items[1].matter_type == "major", [(i.title, i.matter_type) for i in items]
        await h.say("张伟", "取消会议 测试")


async def test_a_view_on_a_pending_proposal_says_what_it_is(harness: ConsoleRig) -> None:
    """A member's 「同意2」 on a proposal not yet on the agenda had been told 「议题2还没有发起
    表决，主持人发送「发起表决 2」」, which then failed: it is a proposal for the leader."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 12月10日下午3点 学会302 议题：年度工作总结")
    await h.say("王强", "提议议题 会员发展")
    said = (await h.say("赵敏", "同意2")).text
    assert said.startswith("议题2「会员发展」还是王强提出的议题建议，尚未列入议程，没有表决。"), (
        said
    )
    assert await models.Ballot.all().count() == 0
