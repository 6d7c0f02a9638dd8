"""Reminders decided ahead (`prepare_seconds`): their messages wait in the outbox, held, until
their instant; a society that changed meanwhile, or a moment that passed, has them decided
afresh; nothing goes out early or twice."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from bot.reminders.plan import SocietyView
from bot.reminders.service import ReminderService
from storage import outbox as outbox_store
from storage import reminders as reminder_store
from storage import repo, snapshots
from tests.kit.clock import TZ, FakeScheduler
from tests.kit.console import ConsoleRig

DUE_24H = datetime(2026, 12, 4, 15, 0, tzinfo=TZ)  # the meeting convened below, 24 h before


def service(h: ConsoleRig, scheduler: FakeScheduler | None = None, **kw: object) -> ReminderService:
    assert h.delivery is not None
    return ReminderService(
        replace(h.settings, **kw) if kw else h.settings,  # type: ignore[arg-type]
        h.clock.now,
        instance="test",
        on_enqueued=h.delivery.sender.wake,
        arm=(lambda at: scheduler.arm("reminders", at)) if scheduler else None,
    )


async def convene(h: ConsoleRig) -> None:
    h.at("2026-12-01 08:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    await h.say("赵敏", "请假 出差")


async def prepared(h: ConsoleRig, at: str = "2026-12-04 14:59:00") -> ReminderService:
    """The meeting convened, its reminders materialised, and at `at` the 24 h one prepared."""
    await convene(h)
    svc = service(h)
    await svc.sweep()
    h.at(at)
    await svc.sweep()
    assert (await row_24h()).state == "prepared"
    return svc


async def drain(h: ConsoleRig) -> None:
    assert h.delivery is not None
    await h.delivery.sender.run_once()


async def row_24h() -> reminder_store.ReminderRow:
    (row,) = [r for r in await reminder_store.reminders() if r.ref == "meeting:1:24h"]
    return row


def reminded_24h(h: ConsoleRig, since: int = 0) -> list[str]:
    return sorted(
        m.private_to.name
        for m in h.adapter.sent[since:]
        if m.private_to is not None and "还有1天" in m.text
    )


async def test_prepared_ahead_held_then_released_at_the_instant(harness: ConsoleRig) -> None:
    h = harness
    await convene(h)
    sched = FakeScheduler()
    svc = service(h, sched)
    await svc.sweep()  # materialised
    h.at("2026-12-04 14:58:30")
    result = await svc.sweep()
    assert result.prepared >= 1
    row = await row_24h()
    assert row.state == "prepared"
    held = await outbox_store.outbox_rows(state="held")
    assert len(held) == 6  # one private reminder to each member yet to answer
    assert {x.next_attempt_at for x in held} == {DUE_24H}
    # The sender runs (it does after every command): nothing held goes out early.
    before = len(h.adapter.sent)
    await h.say("张伟", "会议状态")
    await drain(h)
    assert reminded_24h(h, before) == []
    # The next wake-up is the instant itself, to release them.
    assert sched.armed[-1][1] == DUE_24H
    h.at("2026-12-04 15:00")
    result = await svc.sweep()
    assert result.sent >= 1
    assert result.returned == 0
    await drain(h)
    assert reminded_24h(h, before) == sorted(["张伟", "王强", "刘洋", "陈静", "杨帆", "李娜"])
    row = await row_24h()
    assert row.state == "sent"
    assert row.decided_at == DUE_24H
    assert await outbox_store.outbox_rows(state="held") == []
    # Sweeping again sends nothing more.
    again = await svc.sweep()
    await drain(h)
    assert again.sent == 0
    assert len(reminded_24h(h)) == 6


async def test_a_change_after_preparing_has_it_decided_afresh(harness: ConsoleRig) -> None:
    """李娜 asks for leave between the preparation and the instant: the held messages are
    dropped and the reminder decided again, without her; nobody gets two."""
    h = harness
    svc = await prepared(h, "2026-12-04 14:58:30")
    h.at("2026-12-04 14:59:30")
    await h.say("李娜", "请假 身体不适")
    h.at("2026-12-04 15:00")
    result = await svc.sweep()
    assert result.returned >= 1
    await drain(h)
    assert reminded_24h(h) == sorted(["张伟", "王强", "刘洋", "陈静", "杨帆"])
    assert "李娜" not in reminded_24h(h)
    assert (await row_24h()).state == "sent"
    assert await outbox_store.outbox_rows(state="held") == []


async def test_a_change_in_flight_while_preparing_is_seen(
    harness: ConsoleRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard is the chain as read before the state: an event appended after that read, as
    a command committing while the preparation runs would, makes the preparation stale."""
    h = harness
    await convene(h)
    svc = service(h)
    await svc.sweep()
    h.at("2026-12-04 14:58:30")
    society = await repo.society_by_name("苏州市示例科技学会")
    assert society is not None
    real = snapshots.society_views

    async def views_after_a_change(ids: object = None) -> list[SocietyView]:
        out = await real(ids)  # type: ignore[arg-type]
        await repo.append_event(society.id, "note", {"what": "in flight"}, h.clock.now())
        return out

    with monkeypatch.context() as patch:
        patch.setattr(snapshots, "society_views", views_after_a_change)
        await svc.sweep()
    assert (await row_24h()).state == "prepared"
    h.at("2026-12-04 15:00")
    result = await svc.sweep()
    assert result.returned >= 1
    await drain(h)
    assert len(reminded_24h(h)) == 6
    assert (await row_24h()).state == "sent"


async def test_prepared_but_released_too_late_is_skipped_not_sent(harness: ConsoleRig) -> None:
    """Prepared, then the bot was down past the reminder's moment (the 24 h notice is over
    once the 1 h one is due): decided afresh, skipped with the reason, the held rows gone."""
    h = harness
    svc = await prepared(h)
    h.at("2026-12-05 14:30")
    await svc.sweep()
    await drain(h)
    row = await row_24h()
    assert row.state == "skipped"
    assert "已过时效" in row.reason
    assert reminded_24h(h) == []
    assert await outbox_store.outbox_rows(state="held") == []


async def test_clock_back_after_preparing_sends_once_at_the_instant(harness: ConsoleRig) -> None:
    h = harness
    svc = await prepared(h)
    h.clock.advance(timedelta(hours=-2))
    await svc.sweep()
    await drain(h)
    assert reminded_24h(h) == []
    assert (await row_24h()).state == "prepared"
    h.at("2026-12-04 15:00:05")
    await svc.sweep()
    await drain(h)
    assert len(reminded_24h(h)) == 6
    await svc.sweep()
    await drain(h)
    assert len(reminded_24h(h)) == 6


async def test_what_would_be_skipped_is_not_decided_early(harness: ConsoleRig) -> None:
    """Everyone has answered by the preparation: nothing to prepare, the reminder stays
    pending (someone may yet withdraw) and is decided at its instant."""
    h = harness
    await convene(h)
    svc = service(h)
    await svc.sweep()
    h.at("2026-12-04 14:00")
    for name in ("张伟", "王强", "刘洋", "陈静", "杨帆", "李娜"):
        await h.say(name, "请假 有事")
    h.at("2026-12-04 14:59:00")
    await svc.sweep()
    assert (await row_24h()).state == "pending"
    h.at("2026-12-04 15:00")
    await svc.sweep()
    row = await row_24h()
    assert row.state == "skipped"
    assert row.reason


async def test_unacknowledged_notice_check_is_not_prepared(harness: ConsoleRig) -> None:
    h = harness
    await convene(h)
    svc = service(h)
    await svc.sweep()
    (unacked,) = [r for r in await reminder_store.reminders() if r.kind == "notice_unacked"]
    h.clock.set(unacked.due_at - timedelta(seconds=30))
    await svc.sweep()
    (unacked,) = [r for r in await reminder_store.reminders() if r.kind == "notice_unacked"]
    assert unacked.state == "pending"
    h.clock.set(unacked.due_at)
    await svc.sweep()
    (unacked,) = [r for r in await reminder_store.reminders() if r.kind == "notice_unacked"]
    assert unacked.state in ("sent", "skipped")


async def test_prepare_off_decides_at_the_instant(harness: ConsoleRig) -> None:
    h = harness
    await convene(h)
    sched = FakeScheduler()
    svc = service(h, sched, prepare_seconds=0)
    await svc.sweep()
    assert sched.armed[-1][1] == datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
    h.at("2026-12-04 14:59:00")
    await svc.sweep()
    assert (await row_24h()).state == "pending"
    assert await outbox_store.outbox_rows(state="held") == []
    h.at("2026-12-04 15:00")
    await svc.sweep()
    await drain(h)
    assert len(reminded_24h(h)) == 6


async def test_instances_racing_prepare_and_release_send_once(
    harness: ConsoleRig, database: str
) -> None:
    """Three services (one per instance on PostgreSQL; on SQLite the one writer serialises
    them) prepare and release the same reminders at once: each message goes out once."""
    h = harness
    await convene(h)
    services = [service(h) for _ in range(3)]
    for i, svc in enumerate(services):
        svc.instance = f"i{i}"
        svc.batch = 2
        svc.release_batch = 2
    await services[0].sweep()
    h.at("2026-12-01 08:58:30")  # the 09:00 date-based reminders, and the 24 h ones later
    await asyncio.gather(*(s.sweep() for s in services))
    h.at("2026-12-01 09:00")
    results = await asyncio.gather(*(s.sweep() for s in services))
    await drain(h)
    due = [r for r in await reminder_store.reminders() if r.due_at <= h.clock.now()]
    assert due
    assert all(r.state in ("sent", "skipped") for r in due)
    sent = [r for r in due if r.state == "sent"]
    assert sum(r.sent for r in results) == len(sent)
    texts = [(m.chat.chat_id, m.private_to, m.text) for m in h.adapter.sent]
    assert len(texts) == len(set(texts))


async def test_start_up_sweep_leaves_preparing_to_the_sweep_it_arms_at_once(
    harness: ConsoleRig,
) -> None:
    h = harness
    await convene(h)
    sched = FakeScheduler()
    svc = service(h, sched)
    await svc.sweep()
    h.at("2026-12-04 14:59:00")
    await svc.sweep(prepare=False)  # as at start-up: the bot serves before it prepares
    assert (await row_24h()).state == "pending"
    assert sched.armed[-1][1] == h.clock.now()
    await svc.sweep()
    assert (await row_24h()).state == "prepared"
    assert sched.armed[-1][1] == DUE_24H
