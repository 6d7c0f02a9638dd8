"""Reminders end to end through the demo society: materialised once, sent once, skipped with a
reason when too late; clock jumps; the scheduler only arms; one instance on SQLite."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import RUNTIME, build_app
from bot.reminders.listing import listing
from bot.reminders.service import ReminderService
from bot.scheduler import Heartbeat, SingleInstanceError
from storage import db
from storage import reminders as reminder_store
from tests.kit.clock import TZ, FakeScheduler
from tests.kit.console import ConsoleRig


def service(h: ConsoleRig, scheduler: FakeScheduler | None = None) -> ReminderService:
    assert h.delivery is not None
    return ReminderService(
        h.settings,
        h.clock.now,
        instance="test",
        on_enqueued=h.delivery.sender.wake,
        arm=(lambda at: scheduler.arm("reminders", at)) if scheduler else None,
    )


async def drain(h: ConsoleRig) -> None:
    assert h.delivery is not None
    await h.delivery.sender.run_once()


async def convene(h: ConsoleRig) -> None:
    h.at("2026-12-01 08:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    await h.say("赵敏", "请假 出差")


async def test_meeting_reminders_go_to_those_who_have_not_answered(harness: ConsoleRig) -> None:
    h = harness
    await convene(h)
    sched = FakeScheduler()
    svc = service(h, sched)
    await svc.sweep()
    assert sched.armed
    # Woken to prepare the 09:00 reminders ahead (`prepare_seconds`), not at 09:00 itself.
    assert sched.armed[-1][1] == datetime(2026, 12, 1, 9, 0, tzinfo=TZ) - svc.prepare_ahead
    h.at("2026-12-04 15:00")
    await h.say("李娜", "请假 身体不适")
    before = len(h.adapter.sent)
    result = await svc.sweep()
    await drain(h)
    private = [m for m in h.adapter.sent[before:] if m.private_to is not None]
    reminded = sorted(m.private_to.name for m in private if "还有1天" in m.text and m.private_to)
    assert reminded == sorted(["张伟", "王强", "刘洋", "陈静", "杨帆"])
    assert result.sent >= 1
    # Sweeping again at the same instant sends nothing more.
    again = await svc.sweep()
    await drain(h)
    assert again.sent == 0
    assert len([m for m in h.adapter.sent if "还有1天" in m.text]) == 5


async def test_bot_down_across_due_times(harness: ConsoleRig) -> None:
    """T16: the 24 h and 1 h notices passed while the bot was down: skipped with a reason; the
    check-in notice is still in time and goes out once."""
    h = harness
    await convene(h)
    svc = service(h)
    await svc.sweep()  # materialised, then the bot stops
    h.at("2026-12-05 15:10")
    await svc.sweep()
    await drain(h)
    rows = {r.key.split(":")[1] + ":" + r.ref: r for r in await reminder_store.reminders()}
    assert rows["meeting_before:meeting:1:24h"].state == "skipped"
    assert "已过时效" in rows["meeting_before:meeting:1:24h"].reason
    assert rows["meeting_before:meeting:1:1h"].state == "skipped"
    assert rows["checkin_open:meeting:1"].state == "sent"
    assert sum("【签到】" in m.text for m in h.adapter.sent) == 1
    due = [r for r in await reminder_store.reminders() if r.due_at <= h.clock.now()]
    assert due
    assert all(r.state in ("sent", "skipped") for r in due)
    assert all(r.reason for r in due if r.state == "skipped")


async def test_cancelled_meeting_skips_its_reminders(harness: ConsoleRig) -> None:
    h = harness
    await convene(h)
    svc = service(h)
    await svc.sweep()
    await h.say("张伟", "取消会议 时间冲突")
    h.at("2026-12-05 14:10")
    await svc.sweep()
    skipped = [r for r in await reminder_store.reminders() if r.kind == "meeting_before"]
    assert {r.state for r in skipped} == {"skipped"}
    assert all("会议已取消" in r.reason for r in skipped)


async def test_rescheduled_meeting_is_reminded_at_its_new_time(harness: ConsoleRig) -> None:
    """The reminders planned for the old time are skipped as no longer planned; the new time's
    go out, naming the new time."""
    h = harness
    await convene(h)
    svc = service(h)
    await svc.sweep()
    await h.say("张伟", "改期 12月8日下午3点 理由：组长出差")
    h.at("2026-12-04 15:00")  # the old meeting's 24 h reminder
    await svc.sweep()
    await drain(h)
    old_24h = datetime(2026, 12, 4, 15, 0, tzinfo=TZ)
    old = [r for r in await reminder_store.reminders() if r.due_at == old_24h]
    assert [r.kind for r in old] == ["meeting_before"]
    assert old[0].state == "skipped"
    assert "改期" in old[0].reason
    assert not [m for m in h.adapter.sent if "还有1天" in m.text]
    h.at("2026-12-07 15:00")
    await svc.sweep()
    await drain(h)
    reminded = [m for m in h.adapter.sent if "还有1天" in m.text]
    assert reminded
    assert all("2026-12-08 15:00" in m.text for m in reminded), [m.text for m in reminded]


async def test_clock_jumps_send_nothing_twice(
    harness: ConsoleRig, caplog: pytest.LogCaptureFixture
) -> None:
    """T18: the server clock jumps 2 h forwards, back, and forwards again."""
    h = harness
    await convene(h)
    svc = service(h)
    h.at("2026-12-05 13:10")
    mono = [0.0]
    beat = Heartbeat("test", h.clock.now, lambda: mono[0])
    await beat.start(single=False)
    await svc.sweep()
    await drain(h)
    for delta in (timedelta(hours=2), timedelta(hours=-2), timedelta(hours=2)):
        mono[0] += 60
        h.clock.advance(delta)
        with caplog.at_level(logging.WARNING, logger="bot.scheduler"):
            assert await beat.beat() is not None
        await svc.sweep()
        await drain(h)
    assert sum("clock jumped" in r.message for r in caplog.records) == 3
    sent = [r for r in await reminder_store.reminders() if r.state == "sent"]
    assert {r.kind for r in sent} >= {"meeting_before", "checkin_open"}
    # The jump carried 15:10 past the 1 h notice's moment: skipped with the reason, not lost.
    (one_hour,) = [r for r in await reminder_store.reminders() if r.ref == "meeting:1:1h"]
    assert one_hour.state == "skipped"
    assert "已过时效" in one_hour.reason
    texts = Counter((m.private_to.name if m.private_to else "群", m.text) for m in h.adapter.sent)
    reminders = {k: n for k, n in texts.items() if "【" in k[1] and "提醒" in k[1]}
    assert reminders
    assert max(reminders.values()) == 1
    await beat.stop()


async def test_one_instance_on_sqlite(harness: ConsoleRig, database: str) -> None:
    first = Heartbeat("one", harness.clock.now, lambda: 0.0)
    lock = db.lock_path(database)
    await first.start(single=db.is_sqlite(database), lock_file=lock)
    second = Heartbeat("two", harness.clock.now, lambda: 0.0)
    if db.is_sqlite(database):
        with pytest.raises(SingleInstanceError, match="SQLite 只支持运行一个机器人实例"):
            await second.start(single=True, lock_file=lock)
    else:
        await second.start(single=False)  # PostgreSQL: many instances
    await first.stop()
    if lock is not None:  # the lock goes with the instance: the next one starts at once
        await second.start(single=True, lock_file=lock)
        await second.stop()


async def test_listing_shows_plan_and_fallback(harness: ConsoleRig) -> None:
    h = harness
    await convene(h)
    found = await listing(h.settings, "苏州市示例科技学会", h.clock.now())
    assert found is not None
    text = "\n".join(found.lines)
    # said plainly: the meeting by its number, not the scheduler's key (「meeting:1:24h」)
    assert "2026-12-04 15:00  会前提醒（第1次会议，会前24小时）  [计划中]" in text
    assert 2027 in found.fallback_years
    h.at("2026-12-01 09:00")
    await service(h).sweep()
    found = await listing(h.settings, "苏州市示例科技学会", h.clock.now())
    assert found is not None
    assert (
        "2026-12-01 09:00  年度总结提醒（2026年度，截止前30天）  [已发送]（工作日依据：国务院节假日安排）"
        in found.lines
    )
    # A date-based reminder in a year chinesecalendar does not know names the holidays package.
    assert any(
        line.startswith("2027-") and line.endswith("（工作日依据：法定节假日推算）")
        for line in found.lines
    )
    # Reminders relative to a meeting are not moved by any calendar and name none.
    assert not any("会前提醒" in line and "工作日依据" in line for line in found.lines)
    assert await listing(h.settings, "不存在的学会", h.clock.now()) is None


async def test_app_wakes_sender_and_serves_health_and_metrics(harness: ConsoleRig) -> None:
    h = harness
    await convene(h)
    sched = FakeScheduler()
    app = build_app(h.settings, clock=h.clock, adapters=[h.adapter], scheduler=sched)
    async with TestClient(TestServer(app)) as client:
        assert sched.running
        await app[RUNTIME].caught_up.wait()
        # The start-up sweep armed the next due instant with the scheduler already running.
        assert sched.armed
        assert sched.armed_stopped == 0
        health = await (await client.get("/healthz")).json()
        assert health["status"] == "ok"
        assert health["scheduler"] == "running"
        metrics = await (await client.get("/metrics")).text()
        for name in (
            "yishi_inbound_events_total",
            "yishi_commands_total",
            "yishi_message_handling_seconds",
            'yishi_outbox_messages{state="pending"}',
            "yishi_send_failures_total",
            "yishi_reminder_lag_seconds",
        ):
            assert name in metrics
    assert not sched.running


async def test_a_meeting_never_opened_is_reported_to_the_leader_once_it_lapses(
    harness: ConsoleRig,
) -> None:
    """Three hours and a minute after the announced time (governance open_within), a convened
    meeting still not opened is reported to the leader: move it or cancel it. Moved, the report
    waits for the new time; opened in time, it is skipped."""
    h = harness
    await convene(h)
    svc = service(h)
    await svc.sweep()
    h.at("2026-12-05 18:00")
    await svc.sweep()
    await drain(h)
    assert not [m for m in h.adapter.sent if "【会议未召开】" in m.text]
    h.at("2026-12-05 18:02")
    await svc.sweep()
    await drain(h)
    (lapsed,) = [m for m in h.adapter.sent if "【会议未召开】" in m.text]
    assert lapsed.private_to is not None
    assert lapsed.private_to.name == "张伟"
    assert "原定2026-12-05 15:00召开" in lapsed.text
    assert "「改期 新时间」" in lapsed.text
    # Moved to the next day and opened on time: that meeting's report is skipped.
    await h.say("张伟", "改期 2026-12-06 15:00")
    await svc.sweep()
    h.at("2026-12-06 14:50")
    for name in ("张伟", "李娜", "王强", "刘洋"):
        await h.say(name, "签到")
    h.at("2026-12-06 15:00")
    assert "会议现在开始" in await h.say("张伟", "开会")
    h.at("2026-12-06 18:02")
    await svc.sweep()
    await drain(h)
    assert len([m for m in h.adapter.sent if "【会议未召开】" in m.text]) == 1
    rows = [r for r in await reminder_store.reminders() if r.kind == "meeting_lapsed"]
    assert sorted(r.state for r in rows) == ["sent", "skipped"]
