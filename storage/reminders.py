"""Reminder rows: written by the planner's sweep, locked and decided once, or prepared ahead with
their messages held in the outbox and released at their instant.

    pending -> sent | skipped (decided at the instant, by exactly one instance)
    pending -> prepared (messages held, guarded by the society's event chain)
            -> sent (released at the instant: the society did not change)
            -> pending again (it changed, or the moment passed: decided afresh)

The sweep locks rows with `SELECT ... FOR UPDATE SKIP LOCKED` inside a short transaction on
PostgreSQL; SQLite (one instance, one writer) runs the same statements without the clause.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.reminders.plan import ReminderState
from storage import models as m
from storage import sql
from storage.outbox import OutboxState
from storage.sql import (
    execute_in,
    literals,
    raw_execute,
    raw_rows,
    rows_in,
    skip_locked,
    utc,
    when,
    when_opt,
)


@dataclass(frozen=True, slots=True)
class NewReminder:
    key: str
    society_id: int
    kind: str
    ref: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class ReminderRow:
    id: int
    key: str
    society_id: int
    kind: str
    ref: str
    due_at: datetime
    state: ReminderState
    reason: str
    decided_at: datetime | None
    instance: str = ""


_COLUMNS = "id, key, society_id, kind, ref, due_at, state, reason, decided_at, instance"


def _reminder(r: Mapping[str, Any]) -> ReminderRow:
    return ReminderRow(
        id=int(r["id"]),
        key=str(r["key"]),
        society_id=int(r["society_id"]),
        kind=str(r["kind"]),
        ref=str(r["ref"]),
        due_at=when(r["due_at"]),
        state=ReminderState(r["state"]),
        reason=str(r["reason"]),
        decided_at=when_opt(r["decided_at"]),
        instance=str(r["instance"]),
    )


_INSERT_REMINDER = sql.Insert(
    m.Reminder,
    ("key", "society_id", "kind", "ref", "due_at", "created_at"),
    (
        ("state", literals(ReminderState.PENDING)),
        ("reason", "''"),
        ("decided_at", "NULL"),
        ("instance", "''"),
    ),
    " ON CONFLICT (key) DO NOTHING",
)


async def add_reminders(items: Sequence[NewReminder], now: datetime) -> int:
    """Materialise planned reminders; a key already stored is left as it is (a concurrent
    instance writing the same keys is harmless: conflicts are ignored). Returns how many were
    new."""
    if not items:
        return 0
    sids = sorted({i.society_id for i in items})
    earliest = utc(min(i.due_at for i in items))
    existing = {
        str(r["key"])
        for r in await rows_in(  # by the society index: fast even on fresh stats
            m.Reminder,
            "SELECT key FROM reminder WHERE society_id IN ({values}) AND due_at >= ?",
            sids,
            after=[earliest],
        )
    }
    fresh: dict[str, NewReminder] = {}
    for i in items:
        if i.key not in existing:
            fresh.setdefault(i.key, i)
    if not fresh:
        return 0
    at = utc(now)
    await sql.insert_rows(
        _INSERT_REMINDER,
        [(i.key, i.society_id, i.kind, i.ref, utc(i.due_at), at) for i in fresh.values()],
    )
    return len(fresh)


# ---------------------------------------------------------------------------------------------
# Locking what the sweep decides


async def _lock_due(state: ReminderState, now: datetime, limit: int) -> list[ReminderRow]:
    rows = await raw_rows(
        m.Reminder,
        f"SELECT {_COLUMNS} FROM reminder WHERE state = {literals(state)} AND due_at <= ?"
        " ORDER BY due_at, id LIMIT ?" + skip_locked(m.Reminder),
        utc(now),
        limit,
    )
    return [_reminder(r) for r in rows]


async def lock_due_reminders(now: datetime, limit: int) -> list[ReminderRow]:
    """Inside the caller's transaction: lock due pending reminders, earliest first."""
    return await _lock_due(ReminderState.PENDING, now, limit)


async def lock_upcoming_reminders(
    now: datetime, until: datetime, limit: int, after: tuple[datetime, int] | None = None
) -> list[ReminderRow]:
    """Inside the caller's transaction: lock pending reminders due after `now` and by `until`
    (to be prepared ahead), in (due_at, id) order from past `after`, the last row of the
    previous page: rows left pending by a page are not read again."""
    start, last = after if after is not None else (now, 0)
    rows = await raw_rows(
        m.Reminder,
        f"SELECT {_COLUMNS} FROM reminder"
        f" WHERE state = {literals(ReminderState.PENDING)} AND due_at > ?"
        " AND due_at <= ? AND (due_at > ? OR (due_at = ? AND id > ?))"
        " ORDER BY due_at, id LIMIT ?" + skip_locked(m.Reminder),
        utc(now),
        utc(until),
        utc(start),
        utc(start),
        last,
        limit,
    )
    return [_reminder(r) for r in rows]


async def lock_prepared_reminders(now: datetime, limit: int) -> list[ReminderRow]:
    """Inside the caller's transaction: lock prepared reminders whose instant has come."""
    return await _lock_due(ReminderState.PREPARED, now, limit)


async def chain_tops(society_ids: Sequence[int]) -> dict[int, int]:
    """The last sequence number of each society's event chain (0 when it has none). A chain's
    appends are serialised by the society lock and numbered one past the last committed, so an
    append still in flight ends above what this reads: read it before the state it guards."""
    out = dict.fromkeys(society_ids, 0)
    rows = await rows_in(
        m.EventLog,
        "SELECT chain, MAX(seq) AS top FROM event_log WHERE chain IN ({values}) GROUP BY chain",
        [f"society:{sid}" for sid in sorted(set(society_ids))],
    )
    for r in rows:
        out[int(str(r["chain"]).split(":", 1)[1])] = int(r["top"] or 0)
    return out


# ---------------------------------------------------------------------------------------------
# Releasing prepared reminders at their instant


# PostgreSQL: one statement per batch, nothing sent back and forth but the counts. The batch is
# locked (other instances skip it); a reminder is stale when it has no held message, or one
# whose guard the society's chain has passed or whose moment is over. The `pending` and
# `dropped` writes run to completion although the final SELECT does not read them.
_RELEASE_PG = f"""
WITH batch AS (
    SELECT id, society_id FROM reminder
    WHERE state = {literals(ReminderState.PREPARED)} AND due_at <= ?
    ORDER BY due_at, id LIMIT ? FOR UPDATE SKIP LOCKED
), stale AS (
    SELECT b.id FROM batch b
    WHERE NOT EXISTS (SELECT 1 FROM outbox_message o WHERE o.reminder_id = b.id)
    OR EXISTS (
        SELECT 1 FROM outbox_message o WHERE o.reminder_id = b.id AND (
            o.guard_seq IS NULL OR o.not_after <= ? OR EXISTS (
                SELECT 1 FROM event_log e
                WHERE e.chain = 'society:' || CAST(b.society_id AS TEXT) AND e.seq > o.guard_seq
            )
        )
    )
), fresh AS (
    SELECT id FROM batch WHERE id NOT IN (SELECT id FROM stale)
), released AS (
    UPDATE reminder SET state = {literals(ReminderState.SENT)}, decided_at = ?, instance = ?
    WHERE id IN (SELECT id FROM fresh) RETURNING id
), pending AS (
    UPDATE outbox_message SET state = {literals(OutboxState.PENDING)}
    WHERE reminder_id IN (SELECT id FROM fresh) RETURNING id
), returned AS (
    UPDATE reminder SET state = {literals(ReminderState.PENDING)}, decided_at = NULL,
    instance = ''
    WHERE id IN (SELECT id FROM stale) RETURNING id
), dropped AS (
    DELETE FROM outbox_message WHERE reminder_id IN (SELECT id FROM stale) RETURNING id
)
SELECT (SELECT count(*) FROM batch) AS taken, (SELECT count(*) FROM released) AS released,
    (SELECT count(*) FROM returned) AS returned
"""


async def release_due(now: datetime, limit: int, instance: str) -> tuple[int, int, int]:
    """Inside the caller's transaction: take up to `limit` prepared reminders whose instant has
    come and release or return them (see `release_reminders`). Returns (taken, released,
    returned). PostgreSQL does it in one statement; SQLite (one instance, one writer) reads the
    batch and writes it by id."""
    if sql.is_postgres(m.Reminder):
        at = utc(now)
        (r,) = await raw_rows(m.Reminder, _RELEASE_PG, at, limit, at, at, instance)
        return int(r["taken"]), int(r["released"]), int(r["returned"])
    batch = await lock_prepared_reminders(now, limit)
    released, returned = await release_reminders(batch, now, instance)
    return len(batch), len(released), len(returned)


async def release_reminders(
    rows: Sequence[ReminderRow], now: datetime, instance: str
) -> tuple[list[int], list[int]]:
    """For prepared reminders the caller holds (their instant has come): release the held
    messages of those whose society has not changed since (its chain no longer than the guard)
    and whose moment has not passed, to be sent now; drop the held messages of the others and
    put them back to pending, to be decided afresh. Returns (released ids, returned ids).

    The held rows are found by their reminder and written by primary key alone, with no state
    condition (the lock on their reminders keeps them as read): a state literal would let the
    planner prefer the state index from statistics taken before any row was held or prepared,
    and read every held row for each statement."""
    if not rows:
        return [], []
    by_id = {r.id: r for r in rows}
    tops = await chain_tops(sorted({r.society_id for r in rows}))
    fresh: dict[int, bool] = {}
    messages: dict[int, list[int]] = {}
    at = utc(now)
    held = await rows_in(
        m.OutboxMessage,
        "SELECT id, reminder_id, state, guard_seq, not_after FROM outbox_message"
        " WHERE reminder_id IN ({values})",
        sorted(by_id),
    )
    for h in held:
        if h["state"] != OutboxState.HELD:
            continue
        rid = int(h["reminder_id"])
        guard = h["guard_seq"]
        not_after = when_opt(h["not_after"])
        ok = (
            guard is not None
            and tops.get(by_id[rid].society_id, 0) <= int(guard)
            and (not_after is None or at < not_after)
        )
        fresh[rid] = fresh.get(rid, True) and ok
        messages.setdefault(rid, []).append(int(h["id"]))
    released = sorted(rid for rid, ok in fresh.items() if ok)
    returned = sorted(rid for rid in by_id if not fresh.get(rid, False))
    go = [mid for rid in released for mid in messages[rid]]
    drop = [mid for rid in returned for mid in messages.get(rid, ())]
    await execute_in(
        m.OutboxMessage,
        f"UPDATE outbox_message SET state = {literals(OutboxState.PENDING)}"
        " WHERE id IN ({values})",
        go,
    )
    await execute_in(m.OutboxMessage, "DELETE FROM outbox_message WHERE id IN ({values})", drop)
    await execute_in(
        m.Reminder,
        f"UPDATE reminder SET state = {literals(ReminderState.SENT)}, decided_at = ?,"
        " instance = ? WHERE id IN ({values})",
        released,
        before=[at, instance],
    )
    await execute_in(
        m.Reminder,
        f"UPDATE reminder SET state = {literals(ReminderState.PENDING)}, decided_at = NULL,"
        " instance = '' WHERE id IN ({values})",
        returned,
    )
    return released, returned


# ---------------------------------------------------------------------------------------------
# Deciding


# "Still pending" for rows picked by id, in a form no index serves: with statistics from
# before a burst the planner would otherwise read every pending row through the state index.
_IS_PENDING = f"(CASE WHEN state = {literals(ReminderState.PENDING)} THEN 1 ELSE 0 END) = 1"


async def decide_reminders(
    ids: Sequence[int], state: ReminderState, reason: str, now: datetime, instance: str
) -> int:
    """pending -> sent | skipped | prepared for rows the caller holds; returns how many changed
    (the rows RETURNING names: a row decided meanwhile is no longer pending)."""
    rows = await rows_in(
        m.Reminder,
        "UPDATE reminder SET state = ?, reason = ?, decided_at = ?, instance = ?"
        f" WHERE id IN ({{values}}) AND {_IS_PENDING} RETURNING id",
        ids,
        before=[state, reason, utc(now), instance],
        size=500,
    )
    return len(rows)


# ---------------------------------------------------------------------------------------------
# When, and what: the next wake-up, listings, /metrics

_UNDECIDED = literals(ReminderState.PENDING, ReminderState.PREPARED)


def _first_due_sql(where: str) -> str:
    return f"SELECT due_at FROM reminder WHERE {where} ORDER BY due_at LIMIT 1"


async def _first_due(where: str, *params: object) -> datetime | None:
    rows = await raw_rows(m.Reminder, _first_due_sql(where), *params)
    return when(rows[0]["due_at"]) if rows else None


async def next_wake(now: datetime, ahead: timedelta) -> datetime | None:
    """When the sweep must run next: at the instant of the first reminder pending or prepared
    within `ahead` of now (decided or released then), or `ahead` before the first pending one
    beyond (prepared then)."""
    horizon = utc(now + ahead)
    near = await _first_due(f"state IN ({_UNDECIDED}) AND due_at <= ?", horizon)
    far = await _first_due(f"state = {literals(ReminderState.PENDING)} AND due_at > ?", horizon)
    wakes = [w for w in (near, None if far is None else far - ahead) if w is not None]
    return min(wakes) if wakes else None


async def oldest_overdue(now: datetime) -> datetime | None:
    return await _first_due(_OVERDUE, utc(now))


async def reminders(
    society_id: int | None = None, *, state: ReminderState | None = None
) -> list[ReminderRow]:
    where, params = sql.where_equal(society_id=society_id, state=state)
    rows = await raw_rows(
        m.Reminder, f"SELECT {_COLUMNS} FROM reminder{where} ORDER BY due_at, id", *params
    )
    return [_reminder(r) for r in rows]


UNDECIDED = (ReminderState.PENDING, ReminderState.PREPARED)
UNDECIDED_COUNTS_SQL = (
    f"SELECT state, COUNT(*) AS n FROM reminder WHERE state IN ({_UNDECIDED}) GROUP BY state"
)
# The first due, undecided reminder (/metrics: the lag); `?` is now.
_OVERDUE = f"state IN ({_UNDECIDED}) AND due_at <= ?"
OLDEST_OVERDUE_SQL = _first_due_sql(_OVERDUE)


async def undecided_counts() -> dict[str, int]:
    """state -> reminders not decided yet; served by the (state, due_at, id) index."""
    rows = await raw_rows(m.Reminder, UNDECIDED_COUNTS_SQL)
    return {str(r["state"]): int(r["n"]) for r in rows}


async def reminder_counts() -> dict[str, int]:
    """state -> how many reminders."""
    return await sql.counts_by(m.Reminder, "state")


# ---------------------------------------------------------------------------------------------
# How far the stored reminders reflect the societies (models.PlanMark)

_MARK = "reminders"


@dataclass(frozen=True, slots=True)
class PlanMark:
    covered: int  # every event up to this id is reflected; -1: not established yet
    full_at: datetime
    fingerprint: str


async def plan_mark() -> PlanMark | None:
    row = await m.PlanMark.get_or_none(name=_MARK)
    if row is None:
        return None
    return PlanMark(row.covered, row.full_at, row.fingerprint)


async def record_full_plan(fingerprint: str, at: datetime) -> None:
    """Everything was planned at `at` with `fingerprint`. The coverage stays if the planner is the
    same; with another one it is established afresh by the sweeps that follow."""
    await raw_execute(
        m.PlanMark,
        "INSERT INTO plan_mark (name, covered, full_at, fingerprint, updated_at)"
        " VALUES (?, -1, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
        " covered = CASE WHEN plan_mark.fingerprint = excluded.fingerprint"
        " THEN plan_mark.covered ELSE -1 END,"
        " full_at = CASE WHEN plan_mark.fingerprint = excluded.fingerprint"
        " AND plan_mark.full_at > excluded.full_at THEN plan_mark.full_at ELSE excluded.full_at END,"
        " fingerprint = excluded.fingerprint, updated_at = excluded.updated_at",
        _MARK,
        utc(at),
        fingerprint,
        utc(at),
    )


async def record_covered(fingerprint: str, covered: int, at: datetime) -> None:
    """Every event up to `covered` has been re-planned by the planner `fingerprint`."""
    await m.PlanMark.filter(name=_MARK, fingerprint=fingerprint, covered__lt=covered).update(
        covered=covered, updated_at=at
    )
