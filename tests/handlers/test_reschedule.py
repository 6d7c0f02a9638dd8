"""改期 and 更改地点: a meeting not yet open moves with a new notice to the whole roster; leave
stays, a check-in counts only when it was made in the new time's window, the minutes say what
changed, and a refusal writes nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from bot import governance as g
from storage import models, repo
from tests.kit.clock import TZ
from tests.kit.console import MEMBERS, ConsoleRig, check_in_and_open


async def _convene(h: ConsoleRig) -> None:
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 学会会议室 议题：年度工作总结；经费预算")


async def _events(kind: str) -> list[dict[str, object]]:
    rows = await models.EventLog.filter(kind=kind).order_by("seq")
    return [json.loads(r.payload) for r in rows]


async def test_reschedule_tells_the_roster_and_keeps_leave(harness: ConsoleRig) -> None:
    h = harness
    await _convene(h)
    await h.say("杨帆", "请假 出差")
    replies = await h.send("张伟", "把会议改到12月11日上午9点 三楼会议室 理由：组长出差")
    assert len(replies) == 1
    notice = replies[0]
    assert "【会议改期通知】" in notice.text
    assert "时间：2026年12月11日（星期五）09:00（原定2026年12月5日（星期六）15:00）" in notice.text
    assert "地点：三楼会议室（原定学会会议室）" in notice.text
    assert "理由：组长出差" in notice.text
    assert "1. 年度工作总结（一般事项）" in notice.text
    assert "已请假的杨帆：请假仍然有效" in notice.text
    assert {u.name for u in notice.mentions} == set(MEMBERS)
    status = await h.say("王强", "会议状态")
    assert "时间：2026年12月11日（星期五）09:00　地点：三楼会议室" in status
    assert "请假：杨帆（出差）" in status
    (event,) = await _events("meeting_rescheduled")
    assert datetime.fromisoformat(str(event["from"])) == datetime(2026, 12, 5, 15, tzinfo=TZ)
    assert datetime.fromisoformat(str(event["starts_at"])) == datetime(2026, 12, 11, 9, tzinfo=TZ)
    assert (event["place_from"], event["place"], event["reason"]) == (
        "学会会议室",
        "三楼会议室",
        "组长出差",
    )
    checked, broken = await repo.verify_all()
    assert checked
    assert broken is None


async def test_a_day_alone_keeps_the_hour_and_the_place(harness: ConsoleRig) -> None:
    h = harness
    await _convene(h)
    notice = await h.say("张伟", "改期到12月11日")
    assert "时间：2026年12月11日（星期五）15:00（原定" in notice
    assert "地点：学会会议室\n" in notice
    moved = await h.say("张伟", "会议地点改为学会办公室")
    assert "【会议地点变更通知】" in moved
    assert "时间：2026年12月11日（星期五）15:00\n" in moved
    assert "地点：学会办公室（原定学会会议室）" in moved


async def test_a_day_and_a_part_of_it_keeps_the_hour_that_lies_in_it(harness: ConsoleRig) -> None:
    """「改到12月11日下午」 keeps a 15:00 meeting at 15:00; 「改期 12月11日上午」 has no such hour
    and is asked for it, with nothing written."""
    h = harness
    await _convene(h)
    notice = await h.say("张伟", "改到12月11日下午，地点不变")
    assert "时间：2026年12月11日（星期五）15:00（原定2026年12月5日" in notice
    asked = await h.say("张伟", "改期 12月12日上午")
    assert asked.text == (
        "请写明新的钟点（2026年12月12日上午几点；原定 15:00），例如：改期 12月12日上午9点"
    )
    assert "时间：2026年12月11日（星期五）15:00" in await h.say("王强", "会议状态")
    assert await models.EventLog.filter(kind="meeting_rescheduled").count() == 1


async def test_checkins_count_only_in_the_new_window(harness: ConsoleRig) -> None:
    """Put back by 20 minutes, the room stays checked in (made within an hour of the new time);
    moved to the next day, those check-ins are void and the quorum is counted afresh."""
    h = harness
    await _convene(h)
    h.at("2026-12-05 14:30")
    for name in MEMBERS[:4]:
        await h.say(name, "签到")
    h.at("2026-12-05 14:40")
    notice = await h.say("张伟", "改期 15:20")
    assert "原签到作废" not in notice
    meeting = await repo.latest_meeting((await repo.society_by_name("苏州市示例科技学会")).id)  # type: ignore[union-attr]
    assert meeting is not None
    present = await repo.attendance(meeting.id)
    assert sum(r.status is g.Attendance.PRESENT for r in present.values()) == 4
    notice = await h.say("张伟", "改期 明天下午3点 理由：人数不齐")
    assert "改期前已签到的张伟、李娜、王强、刘洋：原签到作废" in notice
    records = await repo.attendance(meeting.id)
    assert {r.status for r in records.values()} == {g.Attendance.UNKNOWN}
    (_, second) = await _events("meeting_rescheduled")
    assert second["checkins"] == dict.fromkeys(MEMBERS[:4], "unknown")
    h.at("2026-12-06 15:00")
    refused = await h.say("张伟", "开会")
    assert "未达到法定人数" in refused
    assert "已签到" in await h.say("李娜", "签到")


def test_a_late_checkin_is_judged_for_the_new_time() -> None:
    policy = g.Policy()
    start = datetime(2026, 12, 5, 15, 0, tzinfo=TZ)
    late = start + policy.late_after + timedelta(minutes=1)
    assert g.checkin_counts_as(late, start, policy) is g.Attendance.LATE
    assert g.checkin_counts_as(late, start + timedelta(minutes=30), policy) is (
        g.Attendance.PRESENT
    )
    early = start - policy.checkin_opens_before
    assert g.checkin_counts_as(early, start, policy) is g.Attendance.PRESENT
    assert g.checkin_counts_as(early, start + timedelta(seconds=1), policy) is (
        g.Attendance.UNKNOWN
    )


async def test_refusals_write_nothing(harness: ConsoleRig) -> None:
    h = harness
    await _convene(h)
    before = await models.EventLog.all().count()
    assert "只有组长" in await h.say("李娜", "改期 12月11日上午9点")
    assert "请写明新的会议时间" in await h.say("张伟", "改期")
    assert "没能识别新的会议时间" in await h.say("张伟", "改期 改天再说")
    assert "已经过去了" in await h.say("张伟", "改期 今天上午8点")
    assert "没有变化" in await h.say("张伟", "改期 12月5日下午3点")
    assert "没有变化" in await h.say("张伟", "更改地点 学会会议室")
    assert "请写明新的会议地点" in await h.say("张伟", "更改地点")
    assert await models.EventLog.all().count() == before
    await check_in_and_open(h)
    opened = await models.EventLog.all().count()
    refused = await h.say("张伟", "改期 12月11日上午9点")
    assert "会议正在进行，这条指令现在用不了" in refused
    assert await models.EventLog.all().count() == opened


async def test_minutes_record_the_reschedule(harness: ConsoleRig) -> None:
    h = harness
    await _convene(h)
    await h.say("张伟", "改期 12月8日下午3点 二楼会议室 理由：组长出差")
    await check_in_and_open(h, day="2026-12-08")
    await h.say("张伟", "散会 现在")
    minutes = await h.say("张伟", "纪要 全文")
    assert "时间：2026年12月8日（星期二）15:00" in minutes
    assert "地点：二楼会议室" in minutes
    assert (
        "改期：原定2026年12月5日（星期六）15:00在学会会议室，改为2026年12月8日（星期二）15:00在二楼会议室（组长出差）"
        in minutes
    )


async def test_put_back_or_forward_by_a_while(harness: ConsoleRig) -> None:
    """「会议推迟半小时」「会议提前20分钟」「推迟会议 一个半小时 地点不变」 move the meeting by that
    much; 「会议推迟到…」 is a new time; 「地点不变」 keeps the place."""
    h = harness
    await _convene(h)
    later = await h.say("张伟", "会议推迟半小时")
    assert "时间：2026年12月5日（星期六）15:30（原定2026年12月5日（星期六）15:00）" in later
    earlier = await h.say("张伟", "会议提前20分钟")
    assert "时间：2026年12月5日（星期六）15:10（原定2026年12月5日（星期六）15:30）" in earlier
    kept = await h.say("张伟", "推迟会议 一个半小时 地点不变")
    assert "时间：2026年12月5日（星期六）16:40（原定" in kept
    assert "地点：学会会议室\n" in kept
    moved = await h.say("张伟", "会议推迟到12月11日上午9点，地点不变")
    assert "时间：2026年12月11日（星期五）09:00（原定2026年12月5日（星期六）16:40）" in moved
    assert "地点：学会会议室\n" in moved
    before = await models.EventLog.all().count()
    assert "请写明推迟或提前多久" in await h.say("张伟", "会议推迟")
    assert "请写明推迟或提前多久" in await h.say("张伟", "会议提前0分钟")
    assert await models.EventLog.all().count() == before


async def test_moved_to_a_room_is_a_change_of_place(harness: ConsoleRig) -> None:
    """「改到三楼会议室」 names a room and no time: the place changes, the time stays (it had
    said the new time was not understood)."""
    h = harness
    await _convene(h)
    notice = (await h.say("张伟", "改到三楼会议室")).text
    assert "【会议地点变更通知】" in notice
    assert "时间：2026年12月5日（星期六）15:00\n" in notice
    assert "地点：三楼会议室（原定学会会议室）" in notice


async def test_a_time_that_cannot_be_is_said_why(harness: ConsoleRig) -> None:
    """A date that does not exist, a day gone by, an hour out of range: the reply says which,
    and nothing changes."""
    h = harness
    await _convene(h)
    said = (await h.say("张伟", "改期 2月30日下午3点")).text
    assert said.startswith("没能识别新的会议时间：2月没有30日。请重新发送。")
    assert "那是已经过去的日子" in await h.say("张伟", "改期 昨天下午3点")
    assert "没能识别新的会议时间：钟点不对" in await h.say("张伟", "改期 明天25点")
    assert await models.EventLog.filter(kind="meeting_rescheduled").count() == 0


async def _convene_a_later_week(h: ConsoleRig) -> None:
    h.at("2026-12-04 09:00")  # a Friday; the meeting is on Thursday the 17th
    await h.say("张伟", "召开会议 12月17日下午3点 学会302 议题：预算")


@pytest.mark.parametrize(
    ("said", "new"),
    [
        ("改期 9号下午3点", "2026年12月9日（星期三）15:00"),
        ("改期 9号", "2026年12月9日（星期三）15:00"),
        ("改期 12.9 16:00", "2026年12月9日（星期三）16:00"),
        ("把会议改到12.9 16:00", "2026年12月9日（星期三）16:00"),
        ("改期 12/9 16:00", "2026年12月9日（星期三）16:00"),
        ("改期 周三（12月9日）下午4点", "2026年12月9日（星期三）16:00"),
        ("改期 12月9日（周三）下午", "2026年12月9日（星期三）15:00"),
    ],
)
async def test_the_dates_a_convening_reads(harness: ConsoleRig, said: str, new: str) -> None:
    """改期 reads a meeting's time as 召开会议 does: a day of the month alone, 12.9 and 12/9
    before a time, a weekday beside the date. 「改期 9号下午3点」「改期 12.9 16:00」 had not been
    understood; a month.day names a day, so the meeting does not keep its own (the 17th)."""
    h = harness
    await _convene_a_later_week(h)
    notice = (await h.say("张伟", said)).text
    assert f"时间：{new}（原定2026年12月17日（星期四）15:00）\n地点：学会302\n" in notice


@pytest.mark.parametrize(
    ("said", "example"),
    [
        ("改期 12月10日（周三）下午3点", "改期 12月10日 15:00"),
        ("改期 周三（12月10日）15:00 三楼会议室", "改期 12月10日 15:00 三楼会议室"),
        ("把会议改到12月10号（周三）下午3点", "改期 12月10日 15:00"),
        ("改期 12.10（周三）15:00", "改期 12月10日 15:00"),
        ("改期 12月10日（周三）", "改期 12月10日"),
        ("改期 12月10日（周三）下午", "改期 12月10日下午"),
    ],
)
async def test_a_weekday_that_is_not_the_dates_is_asked_about(
    harness: ConsoleRig, said: str, example: str
) -> None:
    """The 10th is a Thursday: which of the two is meant is not known, as when convening. It
    had been refused as an unreadable time; nothing is moved."""
    h = harness
    await _convene_a_later_week(h)
    asked = (await h.say("张伟", said)).text
    assert asked == (
        "2026年12月10日是星期四，不是星期三。会议是在12月10日（星期四），还是12月9日（星期三）？"
        f"会议没有改期，请写明日期重新发送，例如：{example}"
    )
    assert await models.EventLog.filter(kind="meeting_rescheduled").count() == 0
    assert "时间：2026年12月17日（星期四）15:00" in await h.say("王强", "会议状态")


async def test_a_numbered_room_is_no_day_of_the_month(harness: ConsoleRig) -> None:
    """Read as a meeting's time, 「9号」 is a day; 「2号会议室」 is a room, never the 2nd: the
    leader's 「改到2号会议室」 (refused, as no time, before) moves the meeting there, its time
    kept."""
    h = harness
    await _convene_a_later_week(h)
    notice = (await h.say("张伟", "改到2号会议室")).text
    assert notice.startswith("【会议地点变更通知】"), notice
    assert "时间：2026年12月17日（星期四）15:00\n地点：2号会议室（原定学会302）" in notice
    (event,) = await _events("meeting_rescheduled")
    assert (event["from"], event["place_from"], event["place"]) == (
        event["starts_at"],
        "学会302",
        "2号会议室",
    )


@pytest.mark.parametrize(
    ("said", "place"),
    [
        ("改到2号会议室", "2号会议室"),
        ("地点改到学会二楼会议室", "学会二楼会议室"),
        ("会议室换成302", "302"),
        ("会场改到3号楼报告厅", "3号楼报告厅"),
    ],
)
async def test_the_leader_changes_the_place_as_said(
    harness: ConsoleRig, said: str, place: str
) -> None:
    """「会议室换成302」 had not been understood, 「改到2号会议室」 refused: the place changes on
    the record, the roster told; a member saying it is told it is the leader's."""
    h = harness
    await _convene(h)
    refused = (await h.say("李娜", said)).text
    assert refused.startswith("抱歉，「"), refused
    assert refused.endswith("」只有组长可以使用。"), refused
    replies = await h.send("张伟", said)
    assert len(replies) == 1
    assert replies[0].text.startswith("【会议地点变更通知】")
    assert f"时间：2026年12月5日（星期六）15:00\n地点：{place}（原定学会会议室）" in replies[0].text
    assert {u.name for u in replies[0].mentions} == set(MEMBERS)
    (event,) = await _events("meeting_rescheduled")
    assert (event["place_from"], event["place"]) == ("学会会议室", place)
    assert f"地点：{place}" in await h.say("王强", "会议状态")


async def test_the_2nd_alone_is_a_day(harness: ConsoleRig) -> None:
    """「改到2号」 is the 2nd of a month (the meeting's hour and place kept), no room."""
    h = harness
    h.at("2026-12-20 09:00")
    await h.say("张伟", "召开会议 2026-12-28 15:00 学会会议室 议题：预算")
    notice = (await h.say("张伟", "改到2号")).text
    assert "时间：2027年1月2日（星期六）15:00" in notice, notice
    assert "地点：学会会议室\n" in notice


@pytest.mark.parametrize(
    "said",
    [
        "这个会延期一周",
        "会议推迟一周",
        "改到下周同一时间",
        "会议延期一个星期",
        "这次会议推迟一周，地点不变",
        "推迟到下个星期同一时间",
        "改期 一周",
        "会议延期七天",
    ],
)
async def test_a_week_later_at_the_same_hour_and_place(harness: ConsoleRig, said: str) -> None:
    """「这个会延期一周」「会议推迟一周」「改到下周同一时间」 had not been understood (or their
    time not read): the meeting moves by seven days, its hour and place kept, with the notice."""
    h = harness
    await _convene(h)
    replies = await h.send("张伟", said)
    assert len(replies) == 1
    notice = replies[0]
    assert notice.text.startswith("【会议改期通知】")
    assert (
        "时间：2026年12月12日（星期六）15:00（原定2026年12月5日（星期六）15:00）\n"
        "地点：学会会议室\n"
    ) in notice.text
    assert {u.name for u in notice.mentions} == set(MEMBERS)
    (event,) = await _events("meeting_rescheduled")
    assert datetime.fromisoformat(str(event["starts_at"])) == datetime(2026, 12, 12, 15, tzinfo=TZ)


async def test_only_the_leader_moves_it_by_a_week(harness: ConsoleRig) -> None:
    h = harness
    await _convene(h)
    assert (await h.say("李娜", "这个会延期一周")).text == "抱歉，「推迟会议」只有组长可以使用。"
    assert (await h.say("王强", "改到下周同一时间")).text == "抱歉，「改期」只有组长可以使用。"
    assert await models.EventLog.filter(kind="meeting_rescheduled").count() == 0


@pytest.mark.parametrize(
    "said",
    ["这个会延期一周的话我就能来", "这个会延期一周？", "听说这个会延期一周", "这个议题延期一周"],
)
async def test_a_week_later_said_in_passing_moves_nothing(harness: ConsoleRig, said: str) -> None:
    """A condition, a question, hearsay, an item: the meeting is not moved, nobody refused."""
    h = harness
    await _convene(h)
    for who in ("张伟", "王强"):
        reply = (await h.say(who, said)).text
        assert "改期通知" not in reply
        assert "只有组长" not in reply
    assert await models.EventLog.filter(kind="meeting_rescheduled").count() == 0


async def test_the_same_hour_said_after_a_day_is_no_place(harness: ConsoleRig) -> None:
    """「改到下周四同一时间」: the meeting's hour on that day; 「同一时间」 had become the place."""
    h = harness
    await _convene(h)
    notice = (await h.say("张伟", "改到下周四同一时间")).text
    assert "时间：2026年12月10日（星期四）15:00（原定2026年12月5日（星期六）15:00）\n" in notice
    assert "地点：学会会议室\n" in notice


async def test_a_while_then_an_hour_is_no_place(harness: ConsoleRig) -> None:
    """「改期 两天后下午3点」 had moved the day and made 「下午3点」 the meeting's place: refused,
    the meeting as it was."""
    h = harness
    h.at("2026-12-07 09:00")
    await h.say("张伟", "召开会议 2026-12-10 15:00 学会302 议题：换届")
    refused = (await h.say("张伟", "改期 两天后下午3点")).text
    assert refused.startswith("没有改期：「下午3点」是时间，不是地点。")
    meeting = await models.Meeting.get(number=1)
    assert meeting.place == "学会302"


@pytest.mark.parametrize(
    "said",
    [
        "这个会延期一周的话我就能来",
        "如果推迟一周我就能来",
        "要是改到下周六我就能参加",
        "会议推迟一周的话我就能来",
    ],
)
async def test_a_date_change_said_as_a_condition_is_a_suggestion(
    harness: ConsoleRig, said: str
) -> None:
    """「这个会延期一周的话我就能来」 had been taken as a receipt of the notice. A member is told
    that the leader decides the time; the leader is asked whether to move it so, and a yes
    moves it. Nothing is changed or acknowledged before."""
    h = harness
    await _convene(h)
    told = (await h.say("王强", said)).text
    assert told.startswith("会议时间由组长张伟决定，这句话没有改动会议时间。"), told
    assert await models.EventLog.filter(kind="notice_acknowledged").count() == 0
    asked = (await h.say("张伟", said)).text
    assert asked.startswith("这句话是假设，会议时间还没有改。是否将第1次会议改期到2026年12月1"), (
        asked
    )
    assert await models.EventLog.filter(kind="meeting_rescheduled").count() == 0
    assert (await h.say("张伟", "是")).text.startswith("【会议改期通知】")
    assert await models.EventLog.filter(kind="meeting_rescheduled").count() == 1


@pytest.mark.parametrize("said", ["延期一周", "推迟一周"])
async def test_a_bare_week_later_before_the_meeting_asks_to_move_it(
    harness: ConsoleRig, said: str
) -> None:
    """A bare 「延期一周」「推迟一周」 from the leader before the meeting had been refused as an
    item's deferral (or not understood): whether to move the meeting is asked, naming the new
    time, and a yes moves it; no item is deferred. A member is told the leader decides."""
    h = harness
    await _convene(h)
    told = (await h.say("李娜", said)).text
    assert told.startswith("会议时间由组长张伟决定"), told
    asked = (await h.say("张伟", said)).text
    assert asked == (
        "是否将第1次会议改期到2026年12月12日（星期六）15:00？"
        "回复「是」或「改期 2026年12月12日 15:00」确认。"
    ), asked
    assert await models.EventLog.filter(kind="meeting_rescheduled").count() == 0
    notice = (await h.say("张伟", "是")).text
    assert "时间：2026年12月12日（星期六）15:00（原定2026年12月5日（星期六）15:00）" in notice
    assert await models.AgendaItem.filter(state="deferred").count() == 0


async def test_in_the_meeting_a_week_later_defers_the_item_without_a_reason(
    harness: ConsoleRig,
) -> None:
    """In the meeting 「延期一周」 asks whether the item under discussion or the meeting is meant;
    a yes defers the item to the next meeting (「一周」 is no reason); 「推迟半小时」 defers
    nothing."""
    h = harness
    await _convene(h)
    await check_in_and_open(h, present=("张伟", "李娜", "王强", "刘洋", "陈静"))
    await h.say("张伟", "下一个议题")
    refused = (await h.say("张伟", "推迟半小时")).text
    assert "「半小时」不是暂缓，没有办理" in refused, refused
    asked = (await h.say("张伟", "延期一周")).text
    assert asked.startswith("「一周」是指把议题1「年度工作总结」暂缓到下次会议再行表决，还是"), (
        asked
    )
    done = (await h.say("张伟", "是")).text
    assert done == "议题1「年度工作总结」暂缓决定，将转入下次会议再行表决。", done
