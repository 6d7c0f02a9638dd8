"""Delivery storage: the outbox, send attempts, channel state, reminders and running instances.

Claims are safe with several instances on one PostgreSQL: rows are locked with
`SELECT ... FOR UPDATE SKIP LOCKED` inside a short transaction and marked with a lease; a channel
is held by one instance at a time through a conditional UPDATE of its lease. On SQLite (one
instance) the same statements run and `skip_locked` is dropped by the ORM: harmless there.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.functions import Count, Min
from tortoise.transactions import in_transaction

from bot import governance as g
from bot.events import Platform
from storage import models as m
from storage.repo import raw_rows

SHORT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_short_id() -> str:
    return "".join(secrets.choice(SHORT_ALPHABET) for _ in range(6))


# ---------------------------------------------------------------------------------------------
# Outbox


@dataclass(frozen=True, slots=True)
class NewOutbox:
    dedupe_key: str
    channel: str
    payload: str
    kind: str = "notice"
    society_id: int | None = None


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


async def ensure_channels(channels: Iterable[str]) -> None:
    wanted = set(channels)
    if not wanted:
        return
    known = {
        str(c)
        for c in await m.ChannelState.filter(channel__in=sorted(wanted)).values_list(
            "channel", flat=True
        )
    }
    for channel in sorted(wanted - known):
        try:
            async with in_transaction():  # a savepoint: a concurrent insert does not abort us
                await m.ChannelState.create(channel=channel)
        except IntegrityError:
            pass


async def ensure_channel(channel: str) -> None:
    await ensure_channels([channel])


async def enqueue(items: Sequence[NewOutbox], now: datetime) -> list[int]:
    """Write messages to the outbox (inside the caller's transaction). A dedupe key already
    present is skipped; returns the ids of the rows written. One multi-row INSERT ... ON
    CONFLICT DO NOTHING RETURNING id per 200 rows (this runs in every command's transaction)."""
    if not items:
        return []
    fresh: dict[str, NewOutbox] = {}
    for item in items:
        fresh.setdefault(item.dedupe_key, item)
    await ensure_channels(i.channel for i in fresh.values())
    at = _utc(now)
    rows = list(fresh.values())
    written: list[int] = []
    for start in range(0, len(rows), 200):
        chunk = rows[start : start + 200]
        marks = ", ".join(
            "(?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, '', NULL, '', ?, NULL)" for _ in chunk
        )
        params: list[object] = []
        for item in chunk:
            params += [
                item.dedupe_key,
                new_short_id(),
                item.channel,
                item.payload,
                item.kind,
                item.society_id,
                False,
                at,
                at,
            ]
        found = await raw_rows(
            m.OutboxMessage,
            "INSERT INTO outbox_message (dedupe_key, short_id, channel, payload, kind,"
            " society_id, state, attempts, ambiguous, next_attempt_at, lease_owner, lease_until,"
            f" last_error, created_at, sent_at) VALUES {marks}"
            " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            *params,
        )
        written += [int(r["id"]) for r in found]
    return sorted(written)


async def add_outbox(items: Sequence[NewOutbox], now: datetime) -> None:
    """`enqueue` for writers that need no ids back (the reminder sweep): one bulk INSERT that
    skips a dedupe key already present (ON CONFLICT DO NOTHING / INSERT OR IGNORE)."""
    if not items:
        return
    await ensure_channels({i.channel for i in items})
    rows = [
        m.OutboxMessage(
            dedupe_key=item.dedupe_key,
            short_id=new_short_id(),
            channel=item.channel,
            payload=item.payload,
            kind=item.kind,
            society_id=item.society_id,
            state="pending",
            next_attempt_at=now,
            created_at=now,
        )
        for item in items
    ]
    await m.OutboxMessage.bulk_create(rows, batch_size=500, ignore_conflicts=True)


def _due(now: datetime) -> Q:
    return Q(state="pending", next_attempt_at__lte=now) | Q(state="sending", lease_until__lt=now)


async def due_channels(now: datetime) -> list[str]:
    rows = await m.OutboxMessage.filter(_due(now)).distinct().values_list("channel", flat=True)
    return sorted(str(r) for r in rows)


async def next_attempt_at(channel: str | None = None) -> datetime | None:
    query = m.OutboxMessage.filter(state="pending")
    if channel is not None:
        query = query.filter(channel=channel)
    row = await query.order_by("next_attempt_at").first()
    return None if row is None else _utc(row.next_attempt_at)


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


async def claim_channel(
    channel: str, owner: str, now: datetime, lease: timedelta
) -> Channel | None:
    """Take the channel's lease (one instance drains a channel at a time, so its rate limit holds
    across instances). None when another instance holds it."""
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner)
    count = await m.ChannelState.filter(Q(channel=channel) & free).update(
        lease_owner=owner, lease_until=now + lease
    )
    if count != 1:
        if await m.ChannelState.filter(channel=channel).exists():
            return None  # another instance holds it
        await ensure_channel(channel)
        count = await m.ChannelState.filter(Q(channel=channel) & free).update(
            lease_owner=owner, lease_until=now + lease
        )
        if count != 1:
            return None
    return _channel(await m.ChannelState.get(channel=channel))


async def release_channel(channel: str, owner: str) -> None:
    await m.ChannelState.filter(channel=channel, lease_owner=owner).update(
        lease_owner="", lease_until=None
    )


async def pause_channel(channel: str, until: datetime, reason: str) -> None:
    await m.ChannelState.filter(channel=channel).update(paused_until=until, reason=reason)


async def channels() -> list[Channel]:
    return [_channel(x) for x in await m.ChannelState.all().order_by("channel")]


async def recent_attempts(channel: str, since: datetime) -> list[datetime]:
    """When the channel's attempts went out since `since` (the sliding rate window)."""
    rows = await m.OutboxAttempt.filter(channel=channel, at__gt=since).order_by("at")
    return [_utc(r.at) for r in rows]


async def claim_messages(
    channel: str, owner: str, now: datetime, limit: int, lease: timedelta
) -> list[OutboxRow]:
    """Claim up to `limit` due rows of a channel, oldest first. A row whose lease ran out while
    it was being sent (the holder died) is taken again and marked ambiguous."""
    if limit <= 0:
        return []
    async with in_transaction():
        ids = list(
            await m.OutboxMessage.filter(Q(channel=channel) & _due(now))
            .order_by("id")
            .limit(limit)
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)
        )
        if not ids:
            return []
        await m.OutboxMessage.filter(id__in=ids, state="sending").update(ambiguous=True)
        await m.OutboxMessage.filter(id__in=ids).update(
            state="sending", lease_owner=owner, lease_until=now + lease
        )
        rows = await m.OutboxMessage.filter(id__in=ids).order_by("id")
    return [_row(x) for x in rows]


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


def _chunks(values: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


async def claim_channels(
    names: Sequence[str], owner: str, now: datetime, lease: timedelta
) -> list[Channel]:
    """Take the lease of every channel in `names` that no other instance holds, in one
    statement per chunk; returns the channels now held by `owner`."""
    if not names:
        return []
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner)
    held: list[Channel] = []
    for chunk in _chunks(sorted(set(names)), 500):
        count = await m.ChannelState.filter(Q(channel__in=list(chunk)) & free).update(
            lease_owner=owner, lease_until=now + lease
        )
        if count < len(chunk):  # a channel without its row (written before rows existed)
            await ensure_channels(chunk)
            await m.ChannelState.filter(Q(channel__in=list(chunk)) & free).update(
                lease_owner=owner, lease_until=now + lease
            )
        rows = await m.ChannelState.filter(channel__in=list(chunk), lease_owner=owner)
        held.extend(_channel(x) for x in rows)
    return held


async def release_channels(names: Sequence[str], owner: str) -> None:
    for chunk in _chunks(sorted(set(names)), 500):
        await m.ChannelState.filter(channel__in=list(chunk), lease_owner=owner).update(
            lease_owner="", lease_until=None
        )


async def window_of(names: Sequence[str], since: datetime) -> dict[str, tuple[int, datetime]]:
    """The sliding rate window of several channels in one aggregate query: channel -> (attempts
    since `since`, the oldest of them). Channels without attempts are left out."""
    out: dict[str, tuple[int, datetime]] = {}
    for chunk in _chunks(sorted(set(names)), 500):
        rows = (
            await m.OutboxAttempt.filter(channel__in=list(chunk), at__gt=since)
            .annotate(n=Count("id"), oldest=Min("at"))
            .group_by("channel")
            .values("channel", "n", "oldest")
        )
        for r in rows:
            out[str(r["channel"])] = (int(r["n"]), _utc(r["oldest"]))
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


def _row_of(r: dict[str, Any]) -> OutboxRow:
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
        next_attempt_at=_utc(r["next_attempt_at"]),
        last_error=str(r["last_error"]),
        created_at=_utc(r["created_at"]),
        sent_at=None if r["sent_at"] is None else _utc(r["sent_at"]),
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
    picked: list[int] = []
    for chunk in _chunks(sorted(wanted), 200):
        taken: dict[str, int] = {}
        # Oldest first, and no more than twice what may go: ids interleave the channels, so a
        # channel cut short here is served by the next pass.
        rows = (
            await m.OutboxMessage.filter(Q(channel__in=list(chunk)) & _due(now))
            .order_by("id")
            .limit(2 * sum(wanted[c] for c in chunk))
            .values_list("id", "channel")
        )
        for row_id, channel in rows:
            n = taken.get(str(channel), 0)
            if n < wanted[str(channel)]:
                taken[str(channel)] = n + 1
                picked.append(int(row_id))
    if not picked:
        return []
    until = now + lease
    out: list[OutboxRow] = []
    async with in_transaction():
        for ids in _chunks(picked, 500):
            await m.OutboxMessage.filter(
                id__in=list(ids), state="sending", lease_until__lt=now
            ).update(ambiguous=True, lease_owner=owner, lease_until=until)
            await m.OutboxMessage.filter(
                id__in=list(ids), state="pending", next_attempt_at__lte=now
            ).update(state="sending", lease_owner=owner, lease_until=until)
        for ids in _chunks(picked, 500):
            got = (
                await m.OutboxMessage.filter(
                    id__in=list(ids), state="sending", lease_owner=owner, lease_until=until
                )
                .order_by("id")
                .values(*_ROW_FIELDS)
            )
            out.extend(_row_of(r) for r in got)
    return out


@dataclass(frozen=True, slots=True)
class Sent:
    """A successful attempt, recorded with others in one transaction."""

    row: OutboxRow
    at: datetime


async def record_sent(items: Sequence[Sent], instance: str) -> None:
    """Record successful attempts in bulk: one INSERT of the attempt rows and one UPDATE per
    chunk of messages (sent_at is the latest instant of the chunk; each attempt row keeps its
    own). Only rows this instance still holds change state."""
    if not items:
        return
    async with in_transaction():
        await m.OutboxAttempt.bulk_create(
            [
                m.OutboxAttempt(
                    message_id=i.row.id,
                    channel=i.row.channel,
                    number=i.row.attempts + 1,
                    at=i.at,
                    outcome="sent",
                    code="",
                    ambiguous=False,
                    detail="",
                    instance=instance,
                )
                for i in items
            ],
            batch_size=500,
        )
        for chunk in _chunks(list(items), 500):
            await m.OutboxMessage.filter(
                id__in=[i.row.id for i in chunk], lease_owner=instance
            ).update(
                state="sent",
                attempts=F("attempts") + 1,
                lease_owner="",
                lease_until=None,
                last_error="",
                sent_at=max(i.at for i in chunk),
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


async def add_reminders(items: Sequence[NewReminder], now: datetime) -> int:
    """Materialise planned reminders; a key already stored is left as it is (a concurrent
    instance writing the same keys is harmless: conflicts are ignored). Returns how many were
    new."""
    if not items:
        return 0
    sids = sorted({i.society_id for i in items})
    earliest = min(i.due_at for i in items)
    existing: set[str] = set()
    for start in range(0, len(sids), 1000):
        chunk = sids[start : start + 1000]  # by the society index: fast even on fresh stats
        existing.update(
            str(k)
            for k in await m.Reminder.filter(
                society_id__in=chunk, due_at__gte=earliest
            ).values_list("key", flat=True)
        )
    fresh: dict[str, NewReminder] = {}
    for i in items:
        if i.key not in existing:
            fresh.setdefault(i.key, i)
    if not fresh:
        return 0
    rows = [
        m.Reminder(
            key=i.key,
            society_id=i.society_id,
            kind=i.kind,
            ref=i.ref,
            due_at=i.due_at,
            state="pending",
            created_at=now,
        )
        for i in fresh.values()
    ]
    await m.Reminder.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return len(rows)


async def lock_due_reminders(now: datetime, limit: int) -> list[ReminderRow]:
    """Inside the caller's transaction: lock due pending reminders (PostgreSQL skips the rows
    another instance holds)."""
    rows = (
        await m.Reminder.filter(state="pending", due_at__lte=now)
        .order_by("due_at", "id")
        .limit(limit)
        .select_for_update(skip_locked=True)
    )
    return [_reminder(x) for x in rows]


async def decide_reminder(
    reminder_id: int, state: str, reason: str, now: datetime, instance: str
) -> bool:
    """pending -> sent | skipped; False when someone else decided it first."""
    count = await m.Reminder.filter(id=reminder_id, state="pending").update(
        state=state, reason=reason, decided_at=now, instance=instance
    )
    return count == 1


async def decide_reminders(
    ids: Sequence[int], state: str, reason: str, now: datetime, instance: str
) -> int:
    """pending -> sent | skipped for rows the caller holds; returns how many changed."""
    total = 0
    for start in range(0, len(ids), 500):
        total += await m.Reminder.filter(
            id__in=list(ids[start : start + 500]), state="pending"
        ).update(state=state, reason=reason, decided_at=now, instance=instance)
    return total


async def group_chats_of(society_ids: Sequence[int]) -> dict[int, list[tuple[Platform, str, str]]]:
    out: dict[int, list[tuple[Platform, str, str]]] = {}
    rows = (
        await m.ChatBinding.filter(society_id__in=list(society_ids))
        .order_by("id")
        .values("society_id", "platform", "corp_id", "chat_id")
    )
    for r in rows:
        out.setdefault(int(r["society_id"]), []).append(
            (Platform(r["platform"]), str(r["corp_id"]), str(r["chat_id"]))
        )
    return out


async def person_names(ids: Iterable[int]) -> dict[int, str]:
    rows = await m.Person.filter(id__in=list(ids)).values("id", "name")
    return {int(r["id"]): str(r["name"]) for r in rows}


async def next_reminder_due() -> datetime | None:
    row = await m.Reminder.filter(state="pending").order_by("due_at").first()
    return None if row is None else _utc(row.due_at)


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
    row = await m.Reminder.filter(state="pending", due_at__lte=now).order_by("due_at").first()
    return None if row is None else _utc(row.due_at)


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
    return [int(x) for x in await m.Society.all().order_by("id").values_list("id", flat=True)]  # type: ignore[call-overload]


async def society_views(ids: Sequence[int] | None = None) -> list[SocietyView]:
    """Snapshots for the planner, loaded in a few queries whatever the number of societies."""
    query = m.Society.all() if ids is None else m.Society.filter(id__in=list(ids))
    # Plain values, not model instances: the sweep reads every society every minute.
    socs = await query.order_by("id").values(
        "id", "name", "created_at", "term_end", "report_deadline", "liaison_id"
    )
    sids = [int(s["id"]) for s in socs]
    if not sids:
        return []
    members: dict[int, list[tuple[int, str]]] = {}
    for row in await m.Member.filter(society_id__in=sids).values(
        "society_id", "person_id", "roster_role"
    ):
        members.setdefault(row["society_id"], []).append((row["person_id"], row["roster_role"]))
    meetings = (
        await m.Meeting.filter(society_id__in=sids)
        .exclude(state=g.MeetingState.CANCELLED.value)
        .order_by("number")
        .values(
            "id",
            "society_id",
            "number",
            "starts_at",
            "state",
            "closed_at",
            "created_at",
            "convened_by_id",
            "chair_id",
            "roster",
        )
    )
    mids = [int(x["id"]) for x in meetings]
    answered: dict[int, set[int]] = {}
    signed: set[int] = set()
    acked: dict[int, set[int]] = {}
    votes: dict[int, list[VoteView]] = {}
    upcoming = [int(x["id"]) for x in meetings if x["state"] in _UPCOMING]
    if upcoming:
        for row in await m.NoticeAck.filter(meeting_id__in=upcoming).values(
            "meeting_id", "person_id"
        ):
            acked.setdefault(row["meeting_id"], set()).add(row["person_id"])
    society_of = {int(x["id"]): int(x["society_id"]) for x in meetings}
    held = [int(x["id"]) for x in meetings if x["state"] == g.MeetingState.OPEN.value]
    if held:
        for v in await _open_votes_with_deadline(held):
            votes.setdefault(society_of[v.meeting_id], []).append(v)
    if mids:
        for row in await m.Attendance.filter(meeting_id__in=mids).values(
            "meeting_id", "person_id", "status"
        ):
            if row["status"] != g.Attendance.UNKNOWN.value:
                answered.setdefault(row["meeting_id"], set()).add(row["person_id"])
        signed = {
            int(x)  # type: ignore[call-overload]
            for x in await m.Signature.filter(minutes__meeting_id__in=mids).values_list(
                "minutes__meeting_id", flat=True
            )
        }
    by_society: dict[int, list[MeetingView]] = {}
    for x in meetings:
        mid = int(x["id"])
        by_society.setdefault(int(x["society_id"]), []).append(
            MeetingView(
                id=mid,
                number=int(x["number"]),
                starts_at=_utc(x["starts_at"]),
                state=g.MeetingState(x["state"]),
                closed_at=None if x["closed_at"] is None else _utc(x["closed_at"]),
                signed=mid in signed or x["state"] == g.MeetingState.SIGNED.value,
                answered=frozenset(answered.get(mid, ())),
                convened_at=_utc(x["created_at"]),
                convened_by=x["convened_by_id"],
                chair_id=x["chair_id"],
                roster=tuple(int(p) for p in json.loads(x["roster"] or "[]")),
                acked=frozenset(acked.get(mid, ())),
            )
        )
    filed: dict[int, list[datetime]] = {}
    for row in await m.Filing.filter(society_id__in=sids, kind="annual_summary").values(
        "society_id", "at"
    ):
        filed.setdefault(row["society_id"], []).append(_utc(row["at"]))
    out = []
    for s in socs:
        sid = int(s["id"])
        mem = members.get(sid, [])
        out.append(
            SocietyView(
                id=sid,
                name=str(s["name"]),
                created_at=_utc(s["created_at"]),
                term_end=s["term_end"],
                report_deadline=str(s["report_deadline"]),
                leader_ids=tuple(p for p, r in mem if r == "leader"),
                member_ids=tuple(p for p, r in mem if r in ("leader", "member")),
                liaison_id=s["liaison_id"],
                meetings=tuple(by_society.get(sid, ())),
                summary_filed=tuple(filed.get(sid, ())),
                votes=tuple(votes.get(sid, ())),
            )
        )
    return out


_UPCOMING = frozenset({g.MeetingState.DRAFT.value, g.MeetingState.CONVENED.value})


async def _open_votes_with_deadline(meeting_ids: Sequence[int]) -> list[VoteView]:
    rows = (
        await m.Vote.filter(
            item__meeting_id__in=list(meeting_ids),
            state=g.VoteState.OPEN.value,
            closes_at__isnull=False,
        )
        .order_by("id")
        .values(
            "id",
            "item__meeting_id",
            "item__number",
            "item__title",
            "method",
            "electorate",
            "opened_at",
            "closes_at",
            "hands",
        )
    )
    if not rows:
        return []
    ids = [int(r["id"]) for r in rows]
    voted: dict[int, set[int]] = {}
    for b in await m.Ballot.filter(vote_id__in=ids).values("vote_id", "person_id"):
        voted.setdefault(int(b["vote_id"]), set()).add(int(b["person_id"]))
    for sv in await m.SecretVoterList.filter(vote_id__in=ids).values("vote_id", "voters"):
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
                meeting_id=int(r["item__meeting_id"]),
                number=int(r["item__number"]),
                title=str(r["item__title"]),
                method=g.VoteMethod(r["method"]),
                opened_at=_utc(r["opened_at"]),
                closes_at=_utc(r["closes_at"]),
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
    rows = await m.Identity.filter(
        person_id__in=list(person_ids), platform=platform, corp_id=corp_id
    ).values("person_id", "user_id", "person__name")
    return {int(r["person_id"]): (str(r["user_id"]), str(r["person__name"])) for r in rows}


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
