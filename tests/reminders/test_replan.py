"""Re-planning on each sweep covers the societies whose state changed (their event log grew),
everything on the first sweep, hourly, on a new local day and after a clock jump; an event whose
transaction commits after a later one is still seen."""

from __future__ import annotations

import hashlib
import tracemalloc
from datetime import date, timedelta

from bot.reminders.service import ReminderService
from storage import models, snapshots
from storage import reminders as reminder_store
from storage.sql import Insert, insert_rows, raw_execute
from tests.kit.console import ConsoleRig


def service(h: ConsoleRig) -> ReminderService:
    return ReminderService(h.settings, h.clock.now, instance="test")


async def kinds(society_id: int) -> set[str]:
    return {r.kind for r in await reminder_store.reminders(society_id)}


async def demo_id() -> int:
    society = await models.Society.all().order_by("id").first()
    assert society is not None
    return society.id


async def test_a_convened_meeting_is_planned_on_the_next_sweep(harness: ConsoleRig) -> None:
    h = harness
    svc = service(h)
    h.at("2026-12-01 08:00")
    await svc.sweep()  # everything planned
    sid = await demo_id()
    assert "meeting_before" not in await kinds(sid)
    h.at("2026-12-01 08:01")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    h.at("2026-12-01 08:02")
    await svc.sweep()  # not a full re-plan: the society's new events bring it in
    assert svc._full is not None
    assert svc._full < h.clock.now()
    assert {"meeting_before", "checkin_open"} <= await kinds(sid)


async def test_a_change_without_an_event_waits_for_the_hourly_replan(harness: ConsoleRig) -> None:
    h = harness
    svc = service(h)
    h.at("2026-12-01 08:00")
    await svc.sweep()
    sid = await demo_id()
    before = {r.ref for r in await reminder_store.reminders(sid) if r.kind == "term_end"}
    # A term end set behind the bot's back (no event): the cheap sweep does not look.
    await models.Society.filter(id=sid).update(term_end=date(2027, 6, 30))
    h.at("2026-12-01 08:30")
    await svc.sweep()
    assert {r.ref for r in await reminder_store.reminders(sid) if r.kind == "term_end"} == before
    h.at("2026-12-01 09:00")
    await svc.sweep()  # an hour after the last full plan
    refs = {r.ref for r in await reminder_store.reminders(sid) if r.kind == "term_end"}
    assert {"2027-06-30:90d", "2027-06-30:30d"} <= refs


async def test_new_day_and_clock_jump_replan_everything(harness: ConsoleRig) -> None:
    h = harness
    svc = service(h)
    h.at("2026-12-01 23:50")
    await svc.sweep()
    first = svc._full
    h.at("2026-12-02 00:01")  # a new local day
    await svc.sweep()
    assert svc._full == h.clock.now() != first
    h.at("2026-12-01 22:00")  # the clock went back
    await svc.sweep()
    assert svc._full == h.clock.now()


async def test_an_event_committed_late_is_still_seen(harness: ConsoleRig) -> None:
    """Ids are taken at insert and seen at commit: an id below the last high-water mark may
    appear later. Simulated by writing event rows with chosen ids."""
    h = harness
    svc = service(h)
    h.at("2026-12-01 08:00")
    await svc.sweep()
    sid = await demo_id()
    top = await snapshots.last_event_id()
    other = await models.Society.create(
        name="迟到学会", term_start=date(2024, 1, 1), created_at=h.clock.now()
    )
    assert "cadence" not in await kinds(other.id)

    async def event(event_id: int, society_id: int) -> None:
        digest = hashlib.sha256(f"{event_id}".encode()).hexdigest()
        await raw_execute(
            models.EventLog,
            "INSERT INTO event_log (id, chain, seq, at, kind, meeting_id, payload, prev_hash,"
            " hash) VALUES (?, ?, ?, ?, 'test', NULL, '{}', '', ?)",
            event_id,
            f"society:{society_id}",
            100_000 + event_id,
            h.clock.now(),
            digest,
        )

    await event(top + 10, sid)  # committed first
    h.at("2026-12-01 08:01")
    await svc.sweep()  # high-water mark: top + 10
    await event(top + 5, other.id)  # an earlier id, committed later
    h.at("2026-12-01 08:02")
    await svc.sweep()
    assert "cadence" in await kinds(other.id)
    # Marks older than the look-back are dropped as sweeps go on.
    for minute in range(3, 20):
        h.at(f"2026-12-01 08:{minute:02d}")
        await svc.sweep()
    assert all(at >= h.clock.now() - timedelta(minutes=6) for at, _ in svc._marks[1:])


async def test_a_vote_deadline_is_planned_on_the_next_sweep(harness: ConsoleRig) -> None:
    """The most time-sensitive plan: a vote opened with a deadline minutes away."""
    h = harness
    svc = service(h)
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    h.at("2026-12-05 14:50")
    for name in ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆"):
        await h.say(name, "签到")
    h.at("2026-12-05 15:00")  # not before the announced time: one member is missing
    await h.say("张伟", "开会")
    await svc.sweep()  # a new day: everything planned
    full = svc._full
    assert "截止时间" in await h.say("张伟", "发起表决 1 记名 截止 16:30")
    h.at("2026-12-05 15:01")
    await svc.sweep()
    assert svc._full == full  # the cheap sweep found it
    assert {"vote_closing", "vote_deadline"} <= await kinds(await demo_id())


async def test_a_sweep_after_a_vote_burst_receives_one_row_a_society(
    harness: ConsoleRig,
) -> None:
    """A burst appends an event a ballot: 12,000 since the last sweep's mark, of three
    societies. What the sweep asks for comes back folded by the database: three chains, not
    12,000 rows (measured as the Python memory the call takes at its peak: 4 MB when every
    event came back, 7 KB on SQLite and under 0.3 MB on PostgreSQL when folded)."""
    h = harness
    top = await snapshots.last_event_id()
    assert await snapshots.societies_with_events_after(top) == []  # (its statement prepared)
    at = h.clock.now()
    ids = [(await demo_id()) + n for n in range(3)]
    insert = Insert(
        models.EventLog,
        ("chain", "seq", "at", "hash"),
        (("kind", "'ballot'"), ("payload", "'{}'"), ("prev_hash", "''")),
    )
    await insert_rows(
        insert,
        [
            (f"society:{ids[n % 3]}", 100_000 + n, at, hashlib.sha256(b"%d" % n).hexdigest())
            for n in range(12_000)
        ],
    )
    tracemalloc.start()
    try:
        changed = await snapshots.societies_with_events_after(top)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert changed == ids
    assert peak < 1024 * 1024, peak
