"""Delivery storage: the outbox, send attempts, channel state, reminders and running instances.

Claims are safe with several instances on one PostgreSQL. The sender's batched claims take a row
or a channel by a conditional UPDATE (still due, or its lease ran out) whose RETURNING clause
names exactly what this instance won; the reminder sweep locks rows with
`SELECT ... FOR UPDATE SKIP LOCKED` inside a short transaction. SQLite (one instance, one
writer) runs the same statements without FOR UPDATE, which it does not know.

The reminder sweep and the sender run hand-written SQL (`raw_rows`/`raw_execute`, `?`
placeholders): building model instances and compiling ORM queries cost more CPU than the
statements themselves. Datetimes are bound in UTC (SQLite compares the stored ISO text) and read
back through `_when` (SQLite returns that text, asyncpg a datetime).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise.functions import Count
from tortoise.transactions import in_transaction

from bot import governance as g
from bot.events import Platform
from storage import models as m
from storage.repo import raw_execute, raw_rows

SHORT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _when(value: Any) -> datetime:
    """A datetime column read by hand-written SQL: SQLite gives the ISO text the ORM stored."""
    return _utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def _when_opt(value: Any) -> datetime | None:
    return None if value is None else _when(value)


def _day(value: Any) -> date | None:
    """A date column read by hand-written SQL: SQLite gives ISO text."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _marks(count: int) -> str:
    return ", ".join("?" * count)


# Parameters one statement binds at most: below SQLite's historical limit of 999 (builds older
# than 3.32) and PostgreSQL's 32767. An IN list takes up to this many values; a multi-row
# INSERT takes `_PARAMS // parameters per row` rows.
_PARAMS = 900


def _chunks(values: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _postgres() -> bool:
    """SQLite has no `FOR UPDATE`; every model shares the one connection."""
    return bool(m.Reminder._meta.db.capabilities.dialect == "postgres")


def new_short_id() -> str:
    # 32 symbols: the low five bits of a random byte pick one uniformly.
    return "".join(SHORT_ALPHABET[b & 31] for b in secrets.token_bytes(6))


# ---------------------------------------------------------------------------------------------
# Outbox


@dataclass(frozen=True, slots=True)
class NewOutbox:
    dedupe_key: str
    channel: str
    payload: str
    kind: str = "notice"
    society_id: int | None = None
    # A reminder's message written ahead: held until `hold_until`, when the sweep releases it
    # if the society's chain is still at `guard_seq` and `not_after` has not passed.
    reminder_id: int | None = None
    hold_until: datetime | None = None
    guard_seq: int | None = None
    not_after: datetime | None = None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    short_id: str
    channel: str
    payload: str
    kind: str
    society_id: int | None
    state: str
    attempts: int
    ambiguous: bool
    next_attempt_at: datetime
    last_error: str
    created_at: datetime
    sent_at: datetime | None


def _row(x: m.OutboxMessage) -> OutboxRow:
    return OutboxRow(
        id=x.id,
        short_id=x.short_id,
        channel=x.channel,
        payload=x.payload,
        kind=x.kind,
        society_id=x.society_id,
        state=x.state,
        attempts=x.attempts,
        ambiguous=x.ambiguous,
        next_attempt_at=_utc(x.next_attempt_at),
        last_error=x.last_error,
        created_at=_utc(x.created_at),
        sent_at=None if x.sent_at is None else _utc(x.sent_at),
    )


async def _ensure_channels(channels: Iterable[str]) -> list[str]:
    """Give every channel its row; returns those that had none (now written, by us or by a
    concurrent instance: ON CONFLICT DO NOTHING needs no savepoint to survive that race)."""
    wanted = sorted(set(channels))
    missing: list[str] = []
    for chunk in _chunks(wanted, _PARAMS):
        rows = await raw_rows(
            m.ChannelState,
            f"SELECT channel FROM channel_state WHERE channel IN ({_marks(len(chunk))})",
            *chunk,
        )
        known = {str(r["channel"]) for r in rows}
        missing += [c for c in chunk if c not in known]
    for chunk in _chunks(missing, _PARAMS):
        await raw_execute(
            m.ChannelState,
            "INSERT INTO channel_state (channel, reason, lease_owner) VALUES "
            + ", ".join(["(?, '', '')"] * len(chunk))
            + " ON CONFLICT (channel) DO NOTHING",
            *chunk,
        )
    return missing


async def ensure_channels(channels: Iterable[str]) -> None:
    await _ensure_channels(channels)


_OUTBOX_INSERT = (
    "INSERT INTO outbox_message (dedupe_key, short_id, channel, payload, kind, society_id, state,"
    " attempts, ambiguous, next_attempt_at, lease_owner, lease_until, last_error, created_at,"
    " sent_at, reminder_id, guard_seq, not_after) VALUES "
)
_OUTBOX_VALUES = "(?, ?, ?, ?, ?, ?, ?, 0, FALSE, ?, '', NULL, '', ?, NULL, ?, ?, ?)"
_OUTBOX_PARAMS = 12


async def _insert_outbox(items: Sequence[NewOutbox], now: datetime, *, ids: bool) -> list[int]:
    """The one INSERT behind `enqueue` and `add_outbox`, 75 rows per statement (12 parameters
    each); a dedupe key already present is skipped. Returns the ids written when `ids` is set,
    else an empty list."""
    fresh: dict[str, NewOutbox] = {}
    for item in items:
        fresh.setdefault(item.dedupe_key, item)
    if not fresh:
        return []
    await _ensure_channels(i.channel for i in fresh.values())
    at = _utc(now)
    tail = " ON CONFLICT (dedupe_key) DO NOTHING" + (" RETURNING id" if ids else "")
    written: list[int] = []
    for chunk in _chunks(list(fresh.values()), _PARAMS // _OUTBOX_PARAMS):
        params: list[object] = []
        for item in chunk:
            params += [
                item.dedupe_key,
                new_short_id(),
                item.channel,
                item.payload,
                item.kind,
                item.society_id,
                "pending" if item.hold_until is None else "held",
                at if item.hold_until is None else _utc(item.hold_until),
                at,
                item.reminder_id,
                item.guard_seq,
                None if item.not_after is None else _utc(item.not_after),
            ]
        sql = _OUTBOX_INSERT + ", ".join([_OUTBOX_VALUES] * len(chunk)) + tail
        if ids:
            written += [int(r["id"]) for r in await raw_rows(m.OutboxMessage, sql, *params)]
        else:
            await raw_execute(m.OutboxMessage, sql, *params)
    return sorted(written)


async def enqueue(items: Sequence[NewOutbox], now: datetime) -> list[int]:
    """Write messages to the outbox (inside the caller's transaction). A dedupe key already
    present is skipped; returns the ids of the rows written. One multi-row INSERT ... ON
    CONFLICT DO NOTHING RETURNING id per 112 rows (this runs in every command's transaction)."""
    return await _insert_outbox(items, now, ids=True)


async def add_outbox(items: Sequence[NewOutbox], now: datetime) -> None:
    """`enqueue` for writers that need no ids back (the reminder sweep): the same INSERT that
    skips a dedupe key already present, without RETURNING."""
    await _insert_outbox(items, now, ids=False)


# Binds `now` twice. A row is due when pending and its time has come, or when it
# is being sent by a holder whose lease ran out.
_DUE_SQL = (
    "((state = 'pending' AND next_attempt_at <= ?) OR (state = 'sending' AND lease_until < ?))"
)
# The same test for rows already picked by id: written so that no index can serve it, the
# planner takes the primary key (statistics from before a burst would otherwise make it scan
# every pending row through the state index, for each statement).
_DUE_ROW_SQL = (
    "(CASE WHEN state = 'pending' THEN next_attempt_at <= ?"
    " WHEN state = 'sending' THEN lease_until < ? ELSE FALSE END)"
)


async def due_channels(now: datetime) -> list[str]:
    at = _utc(now)
    rows = await raw_rows(
        m.OutboxMessage, f"SELECT DISTINCT channel FROM outbox_message WHERE {_DUE_SQL}", at, at
    )
    return sorted(str(r["channel"]) for r in rows)


async def next_attempt_at(channel: str | None = None) -> datetime | None:
    """The earliest pending attempt (the sender reads it after every pass: one column, and the
    state as a literal so the planner knows how selective it is)."""
    where = "state = 'pending'" + ("" if channel is None else " AND channel = ?")
    rows = await raw_rows(
        m.OutboxMessage,
        f"SELECT next_attempt_at FROM outbox_message WHERE {where}"
        " ORDER BY next_attempt_at LIMIT 1",
        *(() if channel is None else (channel,)),
    )
    return _when(rows[0]["next_attempt_at"]) if rows else None


@dataclass(frozen=True, slots=True)
class Channel:
    channel: str
    paused_until: datetime | None
    reason: str
    lease_owner: str
    lease_until: datetime | None


def _channel(x: m.ChannelState) -> Channel:
    return Channel(
        channel=x.channel,
        paused_until=None if x.paused_until is None else _utc(x.paused_until),
        reason=x.reason,
        lease_owner=x.lease_owner,
        lease_until=None if x.lease_until is None else _utc(x.lease_until),
    )


def _channel_of(r: Mapping[str, Any]) -> Channel:
    return Channel(
        channel=str(r["channel"]),
        paused_until=_when_opt(r["paused_until"]),
        reason=str(r["reason"]),
        lease_owner=str(r["lease_owner"]),
        lease_until=_when_opt(r["lease_until"]),
    )


async def _lease_channels(
    names: Sequence[str], owner: str, now: datetime, until: datetime
) -> list[Channel]:
    """Take the lease of those of `names` that are free (no lease, a lease run out, or already
    ours) in one conditional UPDATE: two instances racing for a channel cannot both win (on
    PostgreSQL the second UPDATE re-checks the row once the first commits). RETURNING names
    exactly the channels this statement took."""
    rows = await raw_rows(
        m.ChannelState,
        "UPDATE channel_state SET lease_owner = ?, lease_until = ?"
        f" WHERE channel IN ({_marks(len(names))})"
        " AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)"
        " RETURNING channel, paused_until, reason, lease_owner, lease_until",
        owner,
        until,
        *names,
        now,
        owner,
    )
    return sorted((_channel_of(r) for r in rows), key=lambda c: c.channel)


async def pause_channel(channel: str, until: datetime, reason: str) -> None:
    await m.ChannelState.filter(channel=channel).update(paused_until=until, reason=reason)


async def channels() -> list[Channel]:
    return [_channel(x) for x in await m.ChannelState.all().order_by("channel")]


async def record_attempt(
    row: OutboxRow,
    *,
    now: datetime,
    outcome: str,
    code: str,
    ambiguous: bool,
    detail: str,
    instance: str,
    state: str,
    next_attempt_at: datetime | None = None,
    count_attempt: bool = True,
) -> None:
    async with in_transaction():
        attempts = row.attempts + (1 if count_attempt else 0)
        await m.OutboxAttempt.create(
            message_id=row.id,
            channel=row.channel,
            number=row.attempts + 1,
            at=now,
            outcome=outcome,
            code=code,
            ambiguous=ambiguous,
            detail=detail[:500],
            instance=instance,
        )
        fields: dict[str, object] = {
            "state": state,
            "attempts": attempts,
            "lease_owner": "",
            "lease_until": None,
            "last_error": "" if outcome == "sent" else f"{outcome} {code} {detail}"[:500],
        }
        if ambiguous:
            fields["ambiguous"] = True
        if next_attempt_at is not None:
            fields["next_attempt_at"] = next_attempt_at
        if state == "sent":
            fields["sent_at"] = now
        await m.OutboxMessage.filter(id=row.id, lease_owner=instance).update(**fields)


# --- Batched: what the sender uses for a group of channels at once -------------------------


async def claim_channels(
    names: Sequence[str], owner: str, now: datetime, lease: timedelta
) -> list[Channel]:
    """Take the lease of every channel in `names` that no other instance holds, in one
    statement per chunk; returns the channels now held by `owner`."""
    if not names:
        return []
    at = _utc(now)
    until = _utc(now + lease)
    held: list[Channel] = []
    for chunk in _chunks(sorted(set(names)), 500):
        got = await _lease_channels(chunk, owner, at, until)
        # Held elsewhere, or without its row (a channel written to before rows existed).
        if len(got) < len(chunk):
            taken = {c.channel for c in got}
            missing = await _ensure_channels(c for c in chunk if c not in taken)
            if missing:
                got = sorted(
                    got + await _lease_channels(missing, owner, at, until),
                    key=lambda c: c.channel,
                )
        held.extend(got)
    return held


async def release_channels(names: Sequence[str], owner: str) -> None:
    for chunk in _chunks(sorted(set(names)), 500):
        await raw_execute(
            m.ChannelState,
            "UPDATE channel_state SET lease_owner = '', lease_until = NULL"
            f" WHERE channel IN ({_marks(len(chunk))}) AND lease_owner = ?",
            *chunk,
            owner,
        )


async def window_of(names: Sequence[str], since: datetime) -> dict[str, tuple[int, datetime]]:
    """The sliding rate window of several channels in one aggregate query: channel -> (attempts
    since `since`, the oldest of them). Channels without attempts are left out."""
    out: dict[str, tuple[int, datetime]] = {}
    for chunk in _chunks(sorted(set(names)), 500):
        rows = await raw_rows(
            m.OutboxAttempt,
            "SELECT channel, COUNT(*) AS n, MIN(at) AS oldest FROM outbox_attempt"
            f" WHERE channel IN ({_marks(len(chunk))}) AND at > ? GROUP BY channel",
            *chunk,
            _utc(since),
        )
        for r in rows:
            out[str(r["channel"])] = (int(r["n"]), _when(r["oldest"]))
    return out


_ROW_FIELDS = (
    "id",
    "short_id",
    "channel",
    "payload",
    "kind",
    "society_id",
    "state",
    "attempts",
    "ambiguous",
    "next_attempt_at",
    "last_error",
    "created_at",
    "sent_at",
)


def _row_of(r: Mapping[str, Any]) -> OutboxRow:
    return OutboxRow(
        id=int(r["id"]),
        short_id=str(r["short_id"]),
        channel=str(r["channel"]),
        payload=str(r["payload"]),
        kind=str(r["kind"]),
        society_id=None if r["society_id"] is None else int(r["society_id"]),
        state=str(r["state"]),
        attempts=int(r["attempts"]),
        ambiguous=bool(r["ambiguous"]),
        next_attempt_at=_when(r["next_attempt_at"]),
        last_error=str(r["last_error"]),
        created_at=_when(r["created_at"]),
        sent_at=_when_opt(r["sent_at"]),
    )


async def claim_batch(
    budgets: Mapping[str, int], owner: str, now: datetime, lease: timedelta
) -> list[OutboxRow]:
    """Claim up to `budgets[channel]` due rows of each channel, oldest first, in a few
    statements whatever the number of channels.

    A row is taken by a conditional UPDATE (still due, i.e. pending, or sending with a lease run
    out): two instances racing for it cannot both win, on PostgreSQL (the second UPDATE re-reads
    the row after the first commits) as on SQLite (one writer). A row whose lease ran out while
    it was being sent (the holder died) is marked ambiguous. Rows come back ordered by id."""
    wanted = {c: n for c, n in budgets.items() if n > 0}
    if not wanted:
        return []
    at = _utc(now)
    picked: list[int] = []
    for chunk in _chunks(sorted(wanted), 200):
        taken: dict[str, int] = {}
        # Oldest first, and no more than twice what may go: ids interleave the channels, so a
        # channel cut short here is served by the next pass.
        rows = await raw_rows(
            m.OutboxMessage,
            f"SELECT id, channel FROM outbox_message WHERE channel IN ({_marks(len(chunk))})"
            f" AND {_DUE_SQL} ORDER BY id LIMIT ?",
            *chunk,
            at,
            at,
            2 * sum(wanted[c] for c in chunk),
        )
        for r in rows:
            channel = str(r["channel"])
            n = taken.get(channel, 0)
            if n < wanted[channel]:
                taken[channel] = n + 1
                picked.append(int(r["id"]))
    if not picked:
        return []
    until = _utc(now + lease)
    out: list[OutboxRow] = []
    async with in_transaction():
        for ids in _chunks(picked, 500):
            # SET reads the row as it was: one still 'sending' had a holder whose lease ran out,
            # so its attempt may have been delivered (ambiguous). RETURNING gives exactly the
            # rows this statement won.
            got = await raw_rows(
                m.OutboxMessage,
                "UPDATE outbox_message SET ambiguous = (ambiguous OR state = 'sending'),"
                " state = 'sending', lease_owner = ?, lease_until = ?"
                f" WHERE id IN ({_marks(len(ids))}) AND {_DUE_ROW_SQL}"
                f" RETURNING {', '.join(_ROW_FIELDS)}",
                owner,
                until,
                *ids,
                at,
                at,
            )
            out.extend(_row_of(r) for r in got)
    out.sort(key=lambda r: r.id)
    return out


@dataclass(frozen=True, slots=True)
class Sent:
    """A successful attempt, recorded with others in one transaction."""

    row: OutboxRow
    at: datetime


async def record_sent(items: Sequence[Sent], instance: str) -> None:
    """Record successful attempts in bulk: per chunk of 180, one multi-row INSERT of the attempt
    rows and one UPDATE of the messages (sent_at is the latest instant of the chunk; each
    attempt row keeps its own). Only rows this instance still holds change state."""
    if not items:
        return
    async with in_transaction():
        for chunk in _chunks(list(items), _PARAMS // 5):
            params: list[object] = []
            for i in chunk:
                params += [i.row.id, i.row.channel, i.row.attempts + 1, _utc(i.at), instance]
            await raw_execute(
                m.OutboxAttempt,
                "INSERT INTO outbox_attempt (message_id, channel, number, at, outcome, code,"
                " ambiguous, detail, instance) VALUES "
                + ", ".join(["(?, ?, ?, ?, 'sent', '', FALSE, '', ?)"] * len(chunk)),
                *params,
            )
            await raw_execute(
                m.OutboxMessage,
                "UPDATE outbox_message SET state = 'sent', attempts = attempts + 1,"
                " lease_owner = '', lease_until = NULL, last_error = '', sent_at = ?"
                f" WHERE id IN ({_marks(len(chunk))}) AND lease_owner = ?",
                max(_utc(i.at) for i in chunk),
                *[i.row.id for i in chunk],
                instance,
            )


async def release_messages(ids: Iterable[int], owner: str) -> None:
    """Give claimed rows back untouched (the channel was paused meanwhile)."""
    await m.OutboxMessage.filter(id__in=list(ids), lease_owner=owner, state="sending").update(
        state="pending", lease_owner="", lease_until=None
    )


async def outbox_counts() -> dict[str, int]:
    rows = await m.OutboxMessage.annotate(n=Count("id")).group_by("state").values("state", "n")
    return {str(r["state"]): int(r["n"]) for r in rows}


async def failure_count() -> int:
    return await m.OutboxAttempt.exclude(outcome="sent").count()


async def outbox_rows(*, channel: str | None = None, state: str | None = None) -> list[OutboxRow]:
    query = m.OutboxMessage.all()
    if channel is not None:
        query = query.filter(channel=channel)
    if state is not None:
        query = query.filter(state=state)
    return [_row(x) for x in await query.order_by("id")]


# ---------------------------------------------------------------------------------------------
# Reminders


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
    state: str
    reason: str
    decided_at: datetime | None
    instance: str = ""


def _reminder(x: m.Reminder) -> ReminderRow:
    return ReminderRow(
        id=x.id,
        key=x.key,
        society_id=x.society_id,
        kind=x.kind,
        ref=x.ref,
        due_at=_utc(x.due_at),
        state=x.state,
        reason=x.reason,
        decided_at=None if x.decided_at is None else _utc(x.decided_at),
        instance=x.instance,
    )


def _reminder_of(r: Mapping[str, Any]) -> ReminderRow:
    return ReminderRow(
        id=int(r["id"]),
        key=str(r["key"]),
        society_id=int(r["society_id"]),
        kind=str(r["kind"]),
        ref=str(r["ref"]),
        due_at=_when(r["due_at"]),
        state=str(r["state"]),
        reason=str(r["reason"]),
        decided_at=_when_opt(r["decided_at"]),
        instance=str(r["instance"]),
    )


async def add_reminders(items: Sequence[NewReminder], now: datetime) -> int:
    """Materialise planned reminders; a key already stored is left as it is (a concurrent
    instance writing the same keys is harmless: conflicts are ignored). Returns how many were
    new."""
    if not items:
        return 0
    sids = sorted({i.society_id for i in items})
    earliest = _utc(min(i.due_at for i in items))
    existing: set[str] = set()
    for chunk in _chunks(sids, _PARAMS):  # by the society index: fast even on fresh stats
        rows = await raw_rows(
            m.Reminder,
            f"SELECT key FROM reminder WHERE society_id IN ({_marks(len(chunk))}) AND due_at >= ?",
            *chunk,
            earliest,
        )
        existing.update(str(r["key"]) for r in rows)
    fresh: dict[str, NewReminder] = {}
    for i in items:
        if i.key not in existing:
            fresh.setdefault(i.key, i)
    if not fresh:
        return 0
    at = _utc(now)
    for chunk in _chunks(list(fresh.values()), _PARAMS // 6):
        params: list[object] = []
        for i in chunk:
            params += [i.key, i.society_id, i.kind, i.ref, _utc(i.due_at), at]
        await raw_execute(
            m.Reminder,
            "INSERT INTO reminder (key, society_id, kind, ref, due_at, state, reason, created_at,"
            " decided_at, instance) VALUES "
            + ", ".join(["(?, ?, ?, ?, ?, 'pending', '', ?, NULL, '')"] * len(chunk))
            + " ON CONFLICT (key) DO NOTHING",
            *params,
        )
    return len(fresh)


_REMINDER_COLUMNS = "id, key, society_id, kind, ref, due_at, state, reason, decided_at, instance"


def _skip_locked() -> str:
    # PostgreSQL skips the rows another instance holds; SQLite's one writer needs no row lock.
    return " FOR UPDATE SKIP LOCKED" if _postgres() else ""


async def lock_due_reminders(now: datetime, limit: int) -> list[ReminderRow]:
    """Inside the caller's transaction: lock due pending reminders, earliest first."""
    rows = await raw_rows(
        m.Reminder,
        f"SELECT {_REMINDER_COLUMNS} FROM reminder WHERE state = 'pending' AND due_at <= ?"
        " ORDER BY due_at, id LIMIT ?" + _skip_locked(),
        _utc(now),
        limit,
    )
    return [_reminder_of(r) for r in rows]


async def lock_upcoming_reminders(
    now: datetime, until: datetime, limit: int, after: tuple[datetime, int] | None = None
) -> list[ReminderRow]:
    """Inside the caller's transaction: lock pending reminders due after `now` and by `until`
    (to be prepared ahead), in (due_at, id) order from past `after`, the last row of the
    previous page: rows left pending by a page are not read again."""
    start, last = after if after is not None else (now, 0)
    rows = await raw_rows(
        m.Reminder,
        f"SELECT {_REMINDER_COLUMNS} FROM reminder WHERE state = 'pending' AND due_at > ?"
        " AND due_at <= ? AND (due_at > ? OR (due_at = ? AND id > ?))"
        " ORDER BY due_at, id LIMIT ?" + _skip_locked(),
        _utc(now),
        _utc(until),
        _utc(start),
        _utc(start),
        last,
        limit,
    )
    return [_reminder_of(r) for r in rows]


async def lock_prepared_reminders(now: datetime, limit: int) -> list[ReminderRow]:
    """Inside the caller's transaction: lock prepared reminders whose instant has come."""
    rows = await raw_rows(
        m.Reminder,
        f"SELECT {_REMINDER_COLUMNS} FROM reminder WHERE state = 'prepared' AND due_at <= ?"
        " ORDER BY due_at, id LIMIT ?" + _skip_locked(),
        _utc(now),
        limit,
    )
    return [_reminder_of(r) for r in rows]


async def chain_tops(society_ids: Sequence[int]) -> dict[int, int]:
    """The last sequence number of each society's event chain (0 when it has none). A chain's
    appends are serialised by the society lock and numbered one past the last committed, so an
    append still in flight ends above what this reads: read it before the state it guards."""
    out = dict.fromkeys(society_ids, 0)
    for chunk in _chunks(sorted(set(society_ids)), _PARAMS):
        rows = await raw_rows(
            m.EventLog,
            "SELECT chain, MAX(seq) AS top FROM event_log"
            f" WHERE chain IN ({_marks(len(chunk))}) GROUP BY chain",
            *(f"society:{sid}" for sid in chunk),
        )
        for r in rows:
            out[int(str(r["chain"]).split(":", 1)[1])] = int(r["top"] or 0)
    return out


# PostgreSQL: one statement per batch, nothing sent back and forth but the counts. The batch is
# locked (other instances skip it); a reminder is stale when it has no held message, or one
# whose guard the society's chain has passed or whose moment is over. The `pending` and
# `dropped` writes run to completion although the final SELECT does not read them.
_RELEASE_PG = """
WITH batch AS (
    SELECT id, society_id FROM reminder WHERE state = 'prepared' AND due_at <= ?
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
    UPDATE reminder SET state = 'sent', decided_at = ?, instance = ?
    WHERE id IN (SELECT id FROM fresh) RETURNING id
), pending AS (
    UPDATE outbox_message SET state = 'pending'
    WHERE reminder_id IN (SELECT id FROM fresh) RETURNING id
), returned AS (
    UPDATE reminder SET state = 'pending', decided_at = NULL, instance = ''
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
    if _postgres():
        at = _utc(now)
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
    at = _utc(now)
    for chunk in _chunks(sorted(by_id), _PARAMS):
        held = await raw_rows(
            m.OutboxMessage,
            "SELECT id, reminder_id, state, guard_seq, not_after FROM outbox_message"
            f" WHERE reminder_id IN ({_marks(len(chunk))})",
            *chunk,
        )
        for h in held:
            if h["state"] != "held":
                continue
            rid = int(h["reminder_id"])
            guard = h["guard_seq"]
            not_after = _when_opt(h["not_after"])
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
    for chunk in _chunks(go, _PARAMS):
        await raw_execute(
            m.OutboxMessage,
            f"UPDATE outbox_message SET state = 'pending' WHERE id IN ({_marks(len(chunk))})",
            *chunk,
        )
    for chunk in _chunks(drop, _PARAMS):
        await raw_execute(
            m.OutboxMessage,
            f"DELETE FROM outbox_message WHERE id IN ({_marks(len(chunk))})",
            *chunk,
        )
    for chunk in _chunks(released, _PARAMS):
        await raw_execute(
            m.Reminder,
            "UPDATE reminder SET state = 'sent', decided_at = ?, instance = ?"
            f" WHERE id IN ({_marks(len(chunk))})",
            at,
            instance,
            *chunk,
        )
    for chunk in _chunks(returned, _PARAMS):
        await raw_execute(
            m.Reminder,
            "UPDATE reminder SET state = 'pending', decided_at = NULL, instance = ''"
            f" WHERE id IN ({_marks(len(chunk))})",
            *chunk,
        )
    return released, returned


# "Still pending" for rows picked by id, in a form no index serves: with statistics from
# before a burst the planner would otherwise read every pending row through the state index.
_IS_PENDING = "(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) = 1"


async def decide_reminders(
    ids: Sequence[int], state: str, reason: str, now: datetime, instance: str
) -> int:
    """pending -> sent | skipped for rows the caller holds; returns how many changed (the rows
    RETURNING names: a row decided meanwhile is no longer pending)."""
    at = _utc(now)
    total = 0
    for chunk in _chunks(ids, 500):
        rows = await raw_rows(
            m.Reminder,
            "UPDATE reminder SET state = ?, reason = ?, decided_at = ?, instance = ?"
            f" WHERE id IN ({_marks(len(chunk))}) AND {_IS_PENDING} RETURNING id",
            state,
            reason,
            at,
            instance,
            *chunk,
        )
        total += len(rows)
    return total


async def group_chats_of(society_ids: Sequence[int]) -> dict[int, list[tuple[Platform, str, str]]]:
    out: dict[int, list[tuple[Platform, str, str]]] = {}
    for chunk in _chunks(sorted(set(society_ids)), _PARAMS):
        rows = await raw_rows(
            m.ChatBinding,
            "SELECT society_id, platform, corp_id, chat_id FROM chat_binding"
            f" WHERE society_id IN ({_marks(len(chunk))}) ORDER BY id",
            *chunk,
        )
        for r in rows:
            out.setdefault(int(r["society_id"]), []).append(
                (Platform(r["platform"]), str(r["corp_id"]), str(r["chat_id"]))
            )
    return out


async def person_names(ids: Iterable[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for chunk in _chunks(sorted(set(ids)), _PARAMS):
        rows = await raw_rows(
            m.Person, f"SELECT id, name FROM person WHERE id IN ({_marks(len(chunk))})", *chunk
        )
        out.update((int(r["id"]), str(r["name"])) for r in rows)
    return out


async def _first_due(where: str, *params: object) -> datetime | None:
    rows = await raw_rows(
        m.Reminder,
        f"SELECT due_at FROM reminder WHERE {where} ORDER BY due_at LIMIT 1",
        *params,
    )
    return _when(rows[0]["due_at"]) if rows else None


async def next_wake(now: datetime, ahead: timedelta) -> datetime | None:
    """When the sweep must run next: at the instant of the first reminder pending or prepared
    within `ahead` of now (decided or released then), or `ahead` before the first pending one
    beyond (prepared then)."""
    horizon = _utc(now + ahead)
    near = await _first_due("state IN ('pending', 'prepared') AND due_at <= ?", horizon)
    far = await _first_due("state = 'pending' AND due_at > ?", horizon)
    wakes = [w for w in (near, None if far is None else far - ahead) if w is not None]
    return min(wakes) if wakes else None


async def reminders(
    society_id: int | None = None, *, state: str | None = None
) -> list[ReminderRow]:
    query = m.Reminder.all()
    if society_id is not None:
        query = query.filter(society_id=society_id)
    if state is not None:
        query = query.filter(state=state)
    return [_reminder(x) for x in await query.order_by("due_at", "id")]


async def oldest_overdue(now: datetime) -> datetime | None:
    return await _first_due("state IN ('pending', 'prepared') AND due_at <= ?", _utc(now))


# ---------------------------------------------------------------------------------------------
# What the planner needs to know about a society


@dataclass(frozen=True, slots=True)
class MeetingView:
    id: int
    number: int
    starts_at: datetime
    state: g.MeetingState
    closed_at: datetime | None
    signed: bool
    answered: frozenset[int]  # checked in, late, on leave...: anyone whose status is known
    convened_at: datetime | None = None  # when the notice went out
    convened_by: int | None = None
    chair_id: int | None = None
    roster: tuple[int, ...] = ()  # who the notice was for (应到会, as at convening)
    acked: frozenset[int] = frozenset()  # acknowledged the notice with 收到


@dataclass(frozen=True, slots=True)
class VoteView:
    """An open vote with an announced deadline."""

    id: int
    meeting_id: int
    number: int  # the agenda item's number
    title: str
    method: g.VoteMethod
    opened_at: datetime
    closes_at: datetime
    voters: frozenset[int]  # the frozen electorate: may vote
    voted: frozenset[int]  # have voted (named or secret); empty for a show of hands
    hands_recorded: bool = False


@dataclass(frozen=True, slots=True)
class SocietyView:
    id: int
    name: str
    created_at: datetime
    term_end: date | None
    report_deadline: str
    leader_ids: tuple[int, ...]
    member_ids: tuple[int, ...]  # on the roster
    liaison_id: int | None
    meetings: tuple[MeetingView, ...]  # not cancelled
    summary_filed: tuple[datetime, ...]  # when annual summaries were filed
    votes: tuple[VoteView, ...] = ()  # open votes with a deadline


async def society_ids() -> list[int]:
    return [int(r["id"]) for r in await raw_rows(m.Society, "SELECT id FROM society ORDER BY id")]


async def society_views(ids: Sequence[int] | None = None) -> list[SocietyView]:
    """Snapshots for the planner, loaded in a few queries whatever the number of societies
    (every society when `ids` is None)."""
    if ids is None:
        return await _society_views(None)
    out: list[SocietyView] = []
    for chunk in _chunks(sorted(set(ids)), _PARAMS):
        out += await _society_views(list(chunk))
    return out


async def _society_views(sids: list[int] | None) -> list[SocietyView]:
    # Hand-written SQL selecting only what the planner reads: the sweep reads every society
    # every minute. Without `sids` the tables are read whole (no IN list of every society);
    # rows of a society created meanwhile are simply not used.
    scope = () if sids is None else tuple(sids)

    def of(column: str) -> str:
        return "1 = 1" if sids is None else f"{column} IN ({_marks(len(scope))})"

    socs = await raw_rows(
        m.Society,
        "SELECT id, name, created_at, term_end, report_deadline, liaison_id FROM society"
        f" WHERE {of('id')} ORDER BY id",
        *scope,
    )
    if not socs:
        return []
    members: dict[int, list[tuple[int, str]]] = {}
    for r in await raw_rows(
        m.Member,
        # Roster order, as repo.members lists it (the ORM's read had no order: it followed the
        # index on SQLite, the heap on PostgreSQL).
        f"SELECT society_id, person_id, roster_role FROM member WHERE {of('society_id')}"
        " ORDER BY id",
        *scope,
    ):
        members.setdefault(int(r["society_id"]), []).append(
            (int(r["person_id"]), str(r["roster_role"]))
        )
    meetings = await raw_rows(
        m.Meeting,
        "SELECT id, society_id, number, starts_at, state, closed_at, created_at, convened_by_id,"
        f" chair_id, roster FROM meeting WHERE {of('society_id')} AND state <> ?"
        " ORDER BY society_id, number",
        *scope,
        g.MeetingState.CANCELLED.value,
    )
    mids = [int(x["id"]) for x in meetings]
    answered: dict[int, set[int]] = {}
    signed: set[int] = set()
    acked: dict[int, set[int]] = {}
    votes: dict[int, list[VoteView]] = {}
    upcoming = [int(x["id"]) for x in meetings if x["state"] in _UPCOMING]
    for chunk in _chunks(upcoming, _PARAMS):
        for r in await raw_rows(
            m.NoticeAck,
            f"SELECT meeting_id, person_id FROM notice_ack WHERE meeting_id IN ({_marks(len(chunk))})",
            *chunk,
        ):
            acked.setdefault(int(r["meeting_id"]), set()).add(int(r["person_id"]))
    society_of = {int(x["id"]): int(x["society_id"]) for x in meetings}
    held = [int(x["id"]) for x in meetings if x["state"] == g.MeetingState.OPEN.value]
    if held:
        for v in await _open_votes_with_deadline(held):
            votes.setdefault(society_of[v.meeting_id], []).append(v)
    for chunk in _chunks(mids, _PARAMS):
        for r in await raw_rows(
            m.Attendance,
            "SELECT meeting_id, person_id FROM attendance"
            f" WHERE meeting_id IN ({_marks(len(chunk))}) AND status <> ?",
            *chunk,
            g.Attendance.UNKNOWN.value,
        ):
            answered.setdefault(int(r["meeting_id"]), set()).add(int(r["person_id"]))
        signed.update(
            int(r["meeting_id"])
            for r in await raw_rows(
                m.Signature,
                "SELECT DISTINCT v.meeting_id FROM signature AS s"
                " JOIN minutes_version AS v ON v.id = s.minutes_id"
                f" WHERE v.meeting_id IN ({_marks(len(chunk))})",
                *chunk,
            )
        )
    by_society: dict[int, list[MeetingView]] = {}
    for x in meetings:
        mid = int(x["id"])
        by_society.setdefault(int(x["society_id"]), []).append(
            MeetingView(
                id=mid,
                number=int(x["number"]),
                starts_at=_when(x["starts_at"]),
                state=g.MeetingState(x["state"]),
                closed_at=_when_opt(x["closed_at"]),
                signed=mid in signed or x["state"] == g.MeetingState.SIGNED.value,
                answered=frozenset(answered.get(mid, ())),
                convened_at=_when(x["created_at"]),
                convened_by=int(x["convened_by_id"]),
                chair_id=None if x["chair_id"] is None else int(x["chair_id"]),
                roster=tuple(int(p) for p in json.loads(x["roster"] or "[]")),
                acked=frozenset(acked.get(mid, ())),
            )
        )
    filed: dict[int, list[datetime]] = {}
    for r in await raw_rows(
        m.Filing,
        f"SELECT society_id, at FROM filing WHERE {of('society_id')} AND kind = ? ORDER BY id",
        *scope,
        "annual_summary",
    ):
        filed.setdefault(int(r["society_id"]), []).append(_when(r["at"]))
    out = []
    for s in socs:
        sid = int(s["id"])
        mem = members.get(sid, [])
        out.append(
            SocietyView(
                id=sid,
                name=str(s["name"]),
                created_at=_when(s["created_at"]),
                term_end=_day(s["term_end"]),
                report_deadline=str(s["report_deadline"]),
                leader_ids=tuple(p for p, r in mem if r == "leader"),
                member_ids=tuple(p for p, r in mem if r in ("leader", "member")),
                liaison_id=None if s["liaison_id"] is None else int(s["liaison_id"]),
                meetings=tuple(by_society.get(sid, ())),
                summary_filed=tuple(filed.get(sid, ())),
                votes=tuple(votes.get(sid, ())),
            )
        )
    return out


_UPCOMING = frozenset({g.MeetingState.DRAFT.value, g.MeetingState.CONVENED.value})


async def _open_votes_with_deadline(meeting_ids: Sequence[int]) -> list[VoteView]:
    rows: list[dict[str, Any]] = []
    for chunk in _chunks(meeting_ids, _PARAMS):
        rows += await raw_rows(
            m.Vote,
            "SELECT v.id, i.meeting_id, i.number, i.title, v.method, v.electorate, v.opened_at,"
            " v.closes_at, v.hands FROM vote AS v JOIN agenda_item AS i ON i.id = v.item_id"
            f" WHERE i.meeting_id IN ({_marks(len(chunk))}) AND v.state = ?"
            " AND v.closes_at IS NOT NULL",
            *chunk,
            g.VoteState.OPEN.value,
        )
    if not rows:
        return []
    rows.sort(key=lambda r: int(r["id"]))
    ids = [int(r["id"]) for r in rows]
    voted: dict[int, set[int]] = {}
    for chunk in _chunks(ids, _PARAMS):
        marks = _marks(len(chunk))
        for b in await raw_rows(
            m.Ballot, f"SELECT vote_id, person_id FROM ballot WHERE vote_id IN ({marks})", *chunk
        ):
            voted.setdefault(int(b["vote_id"]), set()).add(int(b["person_id"]))
        for sv in await raw_rows(
            m.SecretVoterList,
            f"SELECT vote_id, voters FROM secret_voter_list WHERE vote_id IN ({marks})",
            *chunk,
        ):
            voted.setdefault(int(sv["vote_id"]), set()).update(json.loads(sv["voters"] or "[]"))
    out = []
    for r in rows:
        e = json.loads(r["electorate"])
        electorate = g.Electorate(
            frozenset(e["roster"]), frozenset(e["present"]), frozenset(e["recused"])
        )
        out.append(
            VoteView(
                id=int(r["id"]),
                meeting_id=int(r["meeting_id"]),
                number=int(r["number"]),
                title=str(r["title"]),
                method=g.VoteMethod(r["method"]),
                opened_at=_when(r["opened_at"]),
                closes_at=_when(r["closes_at"]),
                voters=electorate.voters,
                voted=frozenset(voted.get(int(r["id"]), ())),
                hands_recorded=bool(r["hands"]),
            )
        )
    return out


async def identities_by_person(
    person_ids: Iterable[int], platform: str, corp_id: str
) -> dict[int, tuple[str, str]]:
    """person id -> (user id, name) on one platform and corp."""
    out: dict[int, tuple[str, str]] = {}
    for chunk in _chunks(sorted(set(person_ids)), _PARAMS):
        rows = await raw_rows(
            m.Identity,
            "SELECT i.person_id, i.user_id, p.name FROM identity AS i"
            " JOIN person AS p ON p.id = i.person_id"
            f" WHERE i.person_id IN ({_marks(len(chunk))}) AND i.platform = ? AND i.corp_id = ?"
            " ORDER BY i.id",
            *chunk,
            platform,
            corp_id,
        )
        out.update((int(r["person_id"]), (str(r["user_id"]), str(r["name"]))) for r in rows)
    return out


async def last_event_id() -> int:
    """The event log's high-water mark (0 when empty)."""
    rows = await raw_rows(m.EventLog, "SELECT MAX(id) AS top FROM event_log")
    return int(rows[0]["top"] or 0) if rows else 0


async def societies_with_events_after(event_id: int) -> list[int]:
    """Societies whose event chain grew past `event_id` (by the primary key: cheap)."""
    rows = await raw_rows(m.EventLog, "SELECT DISTINCT chain FROM event_log WHERE id > ?", event_id)
    out = set()
    for r in rows:
        kind, _, ident = str(r["chain"]).partition(":")
        if kind == "society" and ident.isdigit():
            out.add(int(ident))
    return sorted(out)


# ---------------------------------------------------------------------------------------------
# Running instances


async def register_instance(name: str, host: str, pid: int, now: datetime) -> None:
    await m.BotInstance.create(
        name=name, host=host, pid=pid, started_at=now, heartbeat_at=now, last_now=now
    )


async def live_instances(now: datetime, stale: timedelta) -> list[str]:
    rows = await m.BotInstance.filter(heartbeat_at__gt=now - stale).values_list("name", flat=True)
    return [str(r) for r in rows]


async def heartbeat(name: str, now: datetime) -> datetime | None:
    """Renew the instance's heartbeat; return the clock reading of the previous beat."""
    row = await m.BotInstance.filter(name=name).first()
    if row is None:
        return None
    previous = None if row.last_now is None else _utc(row.last_now)
    await m.BotInstance.filter(name=name).update(heartbeat_at=now, last_now=now)
    return previous


async def unregister_instance(name: str) -> None:
    await m.BotInstance.filter(name=name).delete()


async def event_counts(kinds: Sequence[str]) -> dict[str, int]:
    rows = (
        await m.EventLog.filter(kind__in=list(kinds))
        .annotate(n=Count("id"))
        .group_by("kind")
        .values("kind", "n")
    )
    return {str(r["kind"]): int(r["n"]) for r in rows}


async def reminder_counts() -> dict[str, int]:
    rows = await m.Reminder.annotate(n=Count("id")).group_by("state").values("state", "n")
    return {str(r["state"]): int(r["n"]) for r in rows}


async def ping() -> None:
    await m.Society.all().limit(1).values_list("id", flat=True)
