"""Attendance as people say it in the group: whose leave, who has arrived, why they go, and how
the status and the minutes list them (each of these had been recorded wrongly, lost or not
understood)."""

from __future__ import annotations

from storage import models
from tests.kit.console import ConsoleRig, check_in_and_open, convene_and_open


async def _reason(name: str) -> str:
    person = await models.Person.get(name=name)
    row = await models.Attendance.get(person_id=person.id)
    return row.reason


async def test_a_leave_said_with_another_members_name_first_is_never_the_speakers(
    harness: ConsoleRig,
) -> None:
    """「杨帆请假 家里有事」 from 陈静, then 「是的」, had put 陈静 on leave (「陈静已请假（家里有
    事）」, 杨帆's name lost from the reason); 「帮杨帆请个假」「替杨帆请假」 had not been
    understood. Now each says at once (no question asked first) that the leave is 杨帆's to
    ask for, nothing recorded; 杨帆's own 「杨帆请假 出差」 is his leave."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度总结")
    told = (await h.say("陈静", "杨帆请假 家里有事")).text
    assert told.startswith("这句话说的是杨帆请假。请假须由本人发送「请假 理由」"), told
    assert "没有待确认的事项" in await h.say("陈静", "是的")
    told = (await h.say("陈静", "杨帆今天请假")).text
    assert told.startswith("这句话说的是杨帆请假。"), told
    for said in ("帮杨帆请个假，他家里有事", "替杨帆请假", "给杨帆请个假"):
        told = (await h.say("陈静", said)).text
        assert told.startswith("这句话说的是杨帆请假。"), (said, told)
        assert "杨帆来不了、又没有请假的，会后按缺席记录" in told
    told = (await h.say("陈静", "帮他请个假")).text
    assert told.startswith("这句话说的是替别人请假。"), told
    assert await models.Attendance.all().count() == 0
    await h.say("杨帆", "杨帆请假 出差")
    assert (await h.say("杨帆", "是")).text.startswith("杨帆已请假（出差）。")
    assert await models.Attendance.all().count() == 1
    assert await _reason("杨帆") == "出差"
    # what someone said of the speaker is the speaker's own leave
    await h.say("刘洋", "领导说他需要我陪同出差，请假")
    assert (await h.say("刘洋", "是")).text.startswith("刘洋已请假（领导说他需要我陪同出差）。")


async def test_a_late_arrival_said_plainly_checks_in(harness: ConsoleRig) -> None:
    """「不好意思路上堵车，刚到😅」 had not been understood (so the member was not counted and
    could not vote); 「刚到」「到啦」「已就位」 neither. Now each checks in, late once the meeting
    is open, and the member votes."""
    h = harness
    await convene_and_open(h, "年度总结", present=("张伟", "李娜", "王强", "刘洋"))
    h.at("2026-12-05 15:10")
    late = (await h.say("杨帆", "不好意思路上堵车，刚到😅")).text
    assert late.startswith("杨帆已签到（迟到）（5/7）"), late
    for name, said in (("陈静", "刚到"), ("赵敏", "到啦")):
        assert (await h.say(name, said)).text.startswith(f"{name}已签到（迟到）"), said
    assert await models.Attendance.filter(status="late").count() == 3
    await h.say("张伟", "发起表决 1")
    assert "已记录" in await h.say("杨帆", "赞成")


async def test_a_check_in_said_as_ready_before_the_meeting(harness: ConsoleRig) -> None:
    """「已就位」 in the hour before the start checks in (present, not late)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度总结")
    h.at("2026-12-05 14:50")
    assert (await h.say("李娜", "已就位")).text.startswith("李娜已签到（1/7）")
    assert (await h.say("王强", "我刚到")).text.startswith("王强已签到（2/7）")


async def test_reasons_keep_what_they_say_and_views_are_asked_with_the_leave(
    harness: ConsoleRig,
) -> None:
    """Reasons had been cut mid-phrase: 「…，忘了请假了😭 今天参加不了」 kept 「我在去无锡的高铁
    上，今天」, 「我家里有点急事得先走了」 kept 「我家里有点急事得」; 「…评审，请假，对预算没意见，
    同意；秘书长人选也同意」 kept 「…评审，同意」 and filed two written opinions the question had
    not mentioned. Now the reason is what it says, and the question names the opinions."""
    h = harness
    h.at("2027-01-08 16:00")
    await h.say(
        "张伟", "召开会议 2027-01-14 09:00 会议室 议题：2027年经费预算；推荐李娜同志任学会秘书长"
    )
    items = {it.number: it.id for it in await models.AgendaItem.all()}
    h.at("2027-01-13 18:20")
    asked = (
        await h.say(
            "杨帆", "明天临时要去南京参加省里的评审，请假，对预算没意见，同意；秘书长人选也同意"
        )
    ).text
    assert asked.startswith(
        "是否请假，并把「对预算没意见，同意；秘书长人选也同意」作为对相应议题的书面意见提交"
        "（会上宣读并写入纪要，不计入票数）？"
    ), asked
    said = (await h.say("杨帆", "是")).text
    assert said.startswith(
        "杨帆已请假（明天临时要去南京参加省里的评审）。已收到杨帆对议题1「2027年经费预算」、"
        "议题2「推荐李娜同志任学会秘书长」的书面意见"
    ), said
    opinions = sorted((o.item_id, o.text) for o in await models.WrittenOpinion.all())
    assert opinions == [(items[1], "对预算没意见，同意"), (items[2], "秘书长人选也同意")]
    await h.say("陈静", "我手机快没电了 刚才刘洋帮我请了假，我自己再请一下：在外地调研，14号来不了")
    assert (await h.say("陈静", "是")).text.startswith("陈静已请假（在外地调研）。")
    h.at("2027-01-14 08:50")
    for name in ("张伟", "李娜", "刘洋", "赵敏"):
        await h.say(name, "签到")
    h.at("2027-01-14 09:00")
    assert "会议现在开始" in await h.say("张伟", "开会")
    asked = (
        await h.say("王强", "不好意思各位，我在去无锡的高铁上，忘了请假了😭 今天参加不了")
    ).text
    assert asked.startswith("是否请假？"), asked
    absent = (await h.say("王强", "是")).text
    assert absent.endswith("本次按缺席记录（说明：在去无锡的高铁上）。"), absent
    asked = (await h.say("李娜", "我家里有点急事得先走了")).text
    assert asked.endswith("回复「是」或「离席 我家里有点急事」确认。"), asked
    assert (await h.say("李娜", "是")).text.startswith("李娜中途离席（家里有点急事）")
    reasons = {n: await _reason(n) for n in ("杨帆", "陈静", "王强", "李娜")}
    assert reasons == {
        "杨帆": "明天临时要去南京参加省里的评审",
        "陈静": "在外地调研",
        "王强": "在去无锡的高铁上",
        "李娜": "家里有点急事",
    }


async def test_what_is_said_after_a_receipt_is_not_dropped(harness: ConsoleRig) -> None:
    """「收到，另外我那天可能晚到半小时」 had acknowledged the notice and dropped the lateness
    without a word; 「收到。另外今年年度总结什么时候截止来着？」 had only been asked back as a
    receipt. Now the first acknowledges and tells the group the member will be late; the second
    acknowledges and says the question was not answered."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-03 09:00 会议室 议题：年度总结")
    late = (await h.say("刘洋", "收到，另外我那天可能晚到半小时")).text
    assert late.startswith("好的，刘洋会晚到（半小时），已确认收到通知。"), late
    asked = (await h.say("陈静", "收到。另外今年年度总结什么时候截止来着？")).text
    assert asked.startswith("陈静已确认收到第1次会议"), asked
    assert "后面问的「今年年度总结什么时候截止来着？」没有回答" in asked, asked
    acked = await models.NoticeAck.all().values_list("person__name", flat=True)
    assert sorted(acked) == sorted(["刘洋", "陈静"])  # type: ignore[type-var]
    assert await models.Attendance.all().count() == 0


async def test_a_member_on_leave_asking_to_vote_online_is_told_how_to_give_a_view(
    harness: ConsoleRig,
) -> None:
    """「我在南京，能线上投一票吗？赞成」 from a member on leave had not been understood. Now: on
    leave, no vote, nothing counted; a written opinion goes on the items whose vote has not
    opened, and how."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：经费预算；年度总结")
    await h.say("杨帆", "请假 在南京出差")
    await check_in_and_open(h, present=("张伟", "李娜", "王强", "刘洋", "陈静"))
    await h.say("张伟", "发起表决 1")
    told = (await h.say("杨帆", "我在南京，能线上投一票吗？赞成")).text
    assert told.startswith("杨帆已请假，请假的成员不参加表决，这句话没有计票。"), told
    assert "对还没有开始表决的议题（议题2「年度总结」）可以提交书面意见" in told, told
    assert "「书面意见 2 同意」" in told, told
    assert await models.Ballot.all().count() == 0


async def test_the_status_once_open_names_who_has_not_checked_in(harness: ConsoleRig) -> None:
    """Once the meeting was open, one who had acknowledged the notice but not checked in was
    listed 「未回复：王强」; now 「未签到：王强」 (before the start: 已确认收到通知)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度总结")
    await h.say("王强", "收到")
    assert "已确认收到通知：王强；" in await h.say("张伟", "会议状态")
    await check_in_and_open(h, present=("张伟", "李娜", "刘洋", "陈静"))
    opened = next(r for r in h.sent if "会议现在开始" in r.text).text
    assert "；未签到：王强、杨帆、赵敏；" in opened, opened
    status = (await h.say("张伟", "会议状态")).text
    assert "；未签到：王强、杨帆、赵敏；" in status, status
    assert "未回复" not in status, status
    assert "已确认收到通知" not in status, status


async def test_the_minutes_list_a_member_who_left_among_those_present(
    harness: ConsoleRig,
) -> None:
    """A member who checked in, voted and left had been missing from 「出席：」 while 实到 counted
    her (and the summary said 出席3人 beside 实到4人); now she is listed there, her leaving noted,
    and the counts agree."""
    h = harness
    await convene_and_open(h, "换届方案", present=("李娜", "刘洋", "陈静", "赵敏"))
    await h.say("张伟", "发起表决 1")
    for name in ("张伟", "李娜", "刘洋", "陈静", "赵敏"):
        await h.say(name, "赞成")
    assert "结果：通过" in await h.say("张伟", "结束表决")
    await h.say("赵敏", "离席 家里有急事")
    await h.say("张伟", "散会 现在")
    full = (await h.say("张伟", "纪要 全文")).text
    assert "出席：张伟、李娜、刘洋、陈静、赵敏（中途离席）；迟到：无" in full, full
    assert "中途离席：赵敏（家里有急事）" in full, full
    assert "实到5人" in full, full
    summary = (await h.say("张伟", "纪要")).text
    assert "出席5人，" in summary, summary


async def test_the_meeting_said_before_a_leave_is_not_echoed_as_its_reason(
    harness: ConsoleRig,
) -> None:
    """「１３号的会我请个假，孩子发烧」 (digits typed full width), 「12月13号的会我…」「13号下午的会
    我…」「十三号的会我…」: the question asked back had echoed 「请假 13号的会我，孩子发烧」; it
    reads 「请假 孩子发烧」, and the yes records that reason."""
    h = harness
    h.at("2026-12-07 09:00")
    await h.say("张伟", "召开会议 2026-12-13 15:00 会议室 议题：年度工作")
    for who, said in (
        ("李娜", "１３号的会我请个假，孩子发烧"),
        ("王强", "12月13号的会我请个假，孩子发烧"),
        ("刘洋", "13号下午的会我请个假，孩子发烧"),
        ("陈静", "十三号的会我请个假，孩子发烧"),
    ):
        asked = (await h.say(who, said)).text
        assert asked == "是否请假？回复「是」或「请假 孩子发烧」确认。", said
        await h.say(who, "是")
        assert await _reason(who) == "孩子发烧", said
