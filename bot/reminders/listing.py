"""`yishi reminders`: what is scheduled for a society, the stored rows (sent, skipped with the
reason, pending, prepared) and what the planner would add, in time order. A date-based reminder
says which calendar decided its day (bot/workdays.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.config import Settings
from bot.reminders import texts
from bot.reminders.plan import DATED_KINDS, worth_storing
from bot.reminders.service import ReminderService
from storage import reminders as reminder_store
from storage import repo, snapshots


@dataclass(frozen=True, slots=True)
class Listing:
    lines: list[str]
    fallback_years: list[int]  # years chinesecalendar does not know (another source decides)


async def listing(settings: Settings, society_name: str, now: datetime) -> Listing | None:
    """What is scheduled for a society: stored rows plus what the planner would add."""
    soc = await repo.society_by_name(society_name)
    if soc is None:
        return None
    service = ReminderService(settings, lambda: now)
    views = await snapshots.society_views([soc.id])
    planned = {p.key: p for p in service.plan_for(views[0], now)} if views else {}
    stored = {r.key: r for r in await reminder_store.reminders(soc.id)}
    tz = settings.tz
    numbers = await repo.meeting_numbers(soc.id)

    def line(due: datetime, kind: str, ref: str, status: str, day: date | None = None) -> str:
        text = texts.listed(texts.local_time(due, tz), kind, ref, status, numbers)
        if kind in DATED_KINDS:
            text += texts.decided_by(service.workdays.source(day or due.astimezone(tz).date()))
        return text

    rows: list[tuple[datetime, str]] = []
    for r in stored.values():
        rows.append(
            (r.due_at, line(r.due_at, r.kind, r.ref, texts.stored_status(r.state, r.reason)))
        )
    for key, p in planned.items():
        if key in stored or not (views and worth_storing(p, views[0], now)):
            continue
        status = texts.planned_status(p.shifted_from)
        rows.append((p.due_at, line(p.due_at, p.kind, p.ref, status, p.shifted_from)))
    rows.sort(key=lambda x: x[0])
    years = {now.astimezone(tz).year, now.astimezone(tz).year + 1, *(d.year for d, _ in rows)}
    return Listing([text for _, text in rows], service.workdays.fallback_years(years))
