"""A restarted instance carries on from the plan mark stored with the reminders (the events
already re-planned, the last full plan's instant and planner): its first sweep re-plans only the
societies with events past the mark, unless the planner, the settings or the local day changed,
or the mark was never established. A full re-plan goes a slice of societies at a time; the
plans kept while deciding are bounded."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from bot.reminders import service as service_module
from bot.reminders.service import ReminderService
from storage import models
from storage import reminders as reminder_store
from tests.kit.console import ConsoleRig


def service(h: ConsoleRig, settings: object = None) -> ReminderService:
    return ReminderService(settings or h.settings, h.clock.now, instance="test")  # type: ignore[arg-type]


async def demo_id() -> int:
    society = await models.Society.all().order_by("id").first()
    assert society is not None
    return society.id


async def planned_fully(society_id: int) -> bool:
    """Whether the society (written with no event) has been planned: only a full plan sees it."""
    return "cadence" in {r.kind for r in await reminder_store.reminders(society_id)}


async def behind_the_bots_back(h: ConsoleRig) -> int:
    society = await models.Society.create(
        name="悄悄学会", term_start=date(2024, 1, 1), created_at=h.clock.now()
    )
    return society.id


async def ran_until(h: ConsoleRig, last_sweep: str) -> reminder_store.PlanMark:
    """An instance that planned everything at 08:00 and swept again at `last_sweep`: the mark
    it left."""
    first = service(h)
    for at in ("2026-12-01 08:00", last_sweep):
        h.at(at)
        await first.sweep()
    mark = await reminder_store.plan_mark()
    assert mark is not None
    assert mark.fingerprint == first.fingerprint
    return mark


async def planned_then_changed_behind_the_bots_back(h: ConsoleRig) -> int:
    """An instance plans everything at 08:00 and sweeps at 08:06 (events up to 08:00 covered);
    then a society is written without an event: only a full re-plan sees it."""
    assert (await ran_until(h, "2026-12-01 08:06")).covered >= 0
    quiet = await behind_the_bots_back(h)
    assert not await planned_fully(quiet)
    return quiet


async def test_a_restarted_instance_replans_only_what_changed(harness: ConsoleRig) -> None:
    h = harness
    quiet = await planned_then_changed_behind_the_bots_back(h)
    h.at("2026-12-01 08:07")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    restarted = service(h)
    h.at("2026-12-01 08:08")
    await restarted.sweep()
    kinds = {r.kind for r in await reminder_store.reminders(await demo_id())}
    assert {"meeting_before", "checkin_open"} <= kinds  # the event since the mark
    assert not await planned_fully(quiet)  # no full re-plan at start
    h.at("2026-12-01 09:00")  # an hour after the stored full plan
    await restarted.sweep()
    assert await planned_fully(quiet)


async def test_an_overdue_full_replan_waits_a_few_minutes_after_a_restart(
    harness: ConsoleRig,
) -> None:
    h = harness
    quiet = await planned_then_changed_behind_the_bots_back(h)
    restarted = service(h)
    h.at("2026-12-01 10:30")  # the full plan is 2.5 h old
    await restarted.sweep()
    assert not await planned_fully(quiet)
    h.at("2026-12-01 10:34")
    await restarted.sweep()
    assert not await planned_fully(quiet)
    h.at("2026-12-01 10:35")
    await restarted.sweep()
    assert await planned_fully(quiet)


@pytest.mark.parametrize("case", ["settings", "next_day", "clock_back", "not_established"])
async def test_a_restart_plans_everything_when_the_mark_does_not_hold(
    harness: ConsoleRig, case: str
) -> None:
    h = harness
    settings = h.settings
    if case == "not_established":
        # Stopped within the look-back of its first full plan: nothing proven covered yet.
        assert (await ran_until(h, "2026-12-01 08:02")).covered == -1
        quiet = await behind_the_bots_back(h)
        h.at("2026-12-01 08:03")
    else:
        quiet = await planned_then_changed_behind_the_bots_back(h)
        if case == "settings":
            settings = replace(
                h.settings, reminders=replace(h.settings.reminders, minutes_unsigned_days=5)
            )
            h.at("2026-12-01 08:07")
        elif case == "next_day":
            h.at("2026-12-02 07:00")
        else:
            h.at("2026-12-01 07:59")
    restarted = service(h, settings)
    await restarted.sweep()
    assert await planned_fully(quiet)
    assert restarted._full == h.clock.now()
    mark = await reminder_store.plan_mark()
    assert mark is not None
    assert mark.fingerprint == restarted.fingerprint


async def test_the_fingerprint_follows_the_settings(harness: ConsoleRig) -> None:
    h = harness
    same = service(h).fingerprint
    assert service(h).fingerprint == same
    other = replace(h.settings, timezone="Asia/Urumqi")
    assert service(h, other).fingerprint != same
    holidays = replace(h.settings, holidays=frozenset({date(2031, 1, 2)}))
    assert service(h, holidays).fingerprint != same
    # The governance window the lapsed-notice reminder is planned from.
    window = replace(h.settings, policy=replace(h.settings.policy, open_within=timedelta(hours=5)))
    assert service(h, window).fingerprint != same


async def test_coverage_only_grows_and_only_for_the_same_planner(harness: ConsoleRig) -> None:
    h = harness
    now = h.clock.now()
    await reminder_store.record_full_plan("a" * 64, now)
    await reminder_store.record_covered("a" * 64, 10, now)
    await reminder_store.record_covered("a" * 64, 7, now)  # an instance that lags behind
    await reminder_store.record_covered("b" * 64, 50, now)  # another planner: not its mark
    mark = await reminder_store.plan_mark()
    assert mark is not None
    assert (mark.covered, mark.fingerprint) == (10, "a" * 64)
    await reminder_store.record_full_plan("b" * 64, now)  # another planner planned everything
    mark = await reminder_store.plan_mark()
    assert mark is not None
    assert (mark.covered, mark.fingerprint) == (-1, "b" * 64)


async def test_a_full_replan_in_slices_stores_what_one_pass_would(
    harness: ConsoleRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    h.at("2026-12-01 08:00")
    for n in range(7):
        await models.Society.create(
            name=f"切片学会{n}", term_start=date(2024, 1, 1), created_at=h.clock.now()
        )
    await service(h).materialize(h.clock.now())
    whole = {(r.society_id, r.key) for r in await reminder_store.reminders()}
    assert len({sid for sid, _ in whole}) >= 8
    await models.Reminder.all().delete()
    monkeypatch.setattr(service_module, "PLAN_SLICE", 2)
    await service(h).materialize(h.clock.now())
    assert {(r.society_id, r.key) for r in await reminder_store.reminders()} == whole
