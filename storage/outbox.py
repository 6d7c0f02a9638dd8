"""The outbox: messages written in the transaction of the change that caused them, claimed by the
sender channel by channel, every send attempt recorded.

Claims are safe with several instances on one PostgreSQL: a row or a channel is taken by a
conditional UPDATE (still due, or its lease ran out) whose RETURNING clause names exactly what
this instance won. SQLite (one instance, one writer) runs the same statements. The hot paths are
hand-written SQL (storage/sql.py).

    held (a reminder's message written ahead; storage/reminders.py releases it)
      -> pending -> sending (claimed, leased) -> sent | failed | pending again (retry, pause)

A private message's payload (the app channel, or an answer in a private chat: a secret ballot's
receipt, a member's reminder) is stored sealed under the server key (storage/secrecy.py) and
opened when read.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise.transactions import in_transaction

from storage import db, secrecy, sql
from storage import models as m
from storage.sql import (
    any_of,
    execute_in,
    literals,
    raw_execute,
    raw_rows,
    rows_in,
    utc,
    when,
    when_opt,
)

SHORT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


class OutboxState(StrEnum):
    """outbox_message.state"""

    HELD = "held"  # a reminder's message written ahead of its instant
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    # A card update claimed together with a later update of the same card: not sent, nothing
    # lost (a card shows its last count only).
    SUPERSEDED = "superseded"


class OutboxKind(StrEnum):
    """outbox_message.kind: what wrote the message."""

    NOTICE = "notice"  # a command's messages other than its inline replies
    REMINDER = "reminder"
    ALERT = "alert"  # a failed send, told to the committee admins


# outbox_attempt.outcome of an attempt that went through; a failed one records its error's kind.
SENT_OUTCOME = "sent"


def new_short_id() -> str:
    # 32 symbols: the low five bits of a random byte pick one uniformly.
    return "".join(SHORT_ALPHABET[b & 31] for b in secrets.token_bytes(6))


@dataclass(frozen=True, slots=True)
class NewOutbox:
    dedupe_key: str
    channel: str
    payload: str
    kind: OutboxKind = OutboxKind.NOTICE
    society_id: int | None = None
    # A reminder's message written ahead: held until `hold_until`, when the sweep releases it
    # if the society's chain is still at `guard_seq` and `not_after` has not passed.
    reminder_id: int | None = None
    hold_until: datetime | None = None
    guard_seq: int | None = None
    not_after: datetime | None = None
    # A message for one person (1:1, or the answer in a private chat, which goes by its reply
    # channel): sealed like the app channel's, whatever its channel.
    private: bool = False


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    short_id: str
    channel: str
    payload: str
    kind: OutboxKind
    society_id: int | None
    state: OutboxState
    attempts: int
    ambiguous: bool
    next_attempt_at: datetime
    last_error: str
    created_at: datetime
    sent_at: datetime | None


_ROW_COLUMNS = (
    "id, short_id, channel, payload, kind, society_id, state, attempts, ambiguous,"
    " next_attempt_at, last_error, created_at, sent_at"
)


def _sealed(channel: str, payload: str, private: bool = False) -> str:
    """A private message (the app channel's, or one marked `private`: a secret ballot's receipt
    answered in a private chat) is sealed; a group's is kept as it is."""
    if private or channel.endswith(":app"):
        return secrecy.seal_text("outbox", payload, channel)
    return payload


def _opened(channel: str, payload: str) -> str:
    return secrecy.open_text("outbox", payload, channel)


def _row(r: Mapping[str, Any]) -> OutboxRow:
    return OutboxRow(
        id=int(r["id"]),
        short_id=str(r["short_id"]),
        channel=str(r["channel"]),
        payload=_opened(str(r["channel"]), str(r["payload"])),
        kind=OutboxKind(r["kind"]),
        society_id=None if r["society_id"] is None else int(r["society_id"]),
        state=OutboxState(r["state"]),
        attempts=int(r["attempts"]),
        ambiguous=bool(r["ambiguous"]),
        next_attempt_at=when(r["next_attempt_at"]),
        last_error=str(r["last_error"]),
        created_at=when(r["created_at"]),
        sent_at=when_opt(r["sent_at"]),
    )


@dataclass(frozen=True, slots=True)
class Channel:
    channel: str
    paused_until: datetime | None
    reason: str
    lease_owner: str
    lease_until: datetime | None


_CHANNEL_COLUMNS = "channel, paused_until, reason, lease_owner, lease_until"


def _channel(r: Mapping[str, Any]) -> Channel:
    return Channel(
        channel=str(r["channel"]),
        paused_until=when_opt(r["paused_until"]),
        reason=str(r["reason"]),
        lease_owner=str(r["lease_owner"]),
        lease_until=when_opt(r["lease_until"]),
    )


# ---------------------------------------------------------------------------------------------
# Writing


_INSERT_CHANNEL = sql.Insert(
    m.ChannelState,
    ("channel",),
    (("reason", "''"), ("lease_owner", "''")),
    " ON CONFLICT (channel) DO NOTHING",
)


async def ensure_channels(channels: Iterable[str], *, remembered: bool = False) -> list[str]:
    """Give every channel its row; returns those that had none (now written, by us or by a
    concurrent instance: ON CONFLICT DO NOTHING needs no savepoint to survive that race).

    `remembered` (the writers of outbox rows, once per command): a channel this process has
    seen in the table is not looked for again. A channel row is never deleted, so a remembered
    one stays. The rows this call writes are not remembered; one an earlier write of the same
    transaction left (another message of an inbound round) is seen, and remembered, before that
    transaction commits: should it roll back, the row is missing until the claim writes it
    (`claim_channels`, which always looks)."""
    wanted = sorted(set(channels))
    known_here = _seen_channels() if remembered else set()
    asked = [c for c in wanted if c not in known_here]
    if not asked:
        return []
    rows = await rows_in(
        m.ChannelState, "SELECT channel FROM channel_state WHERE channel IN ({values})", asked
    )
    known = {str(r["channel"]) for r in rows}
    if remembered and len(known_here) < _REMEMBERED_CHANNELS:
        known_here.update(known)
    missing = [c for c in asked if c not in known]
    await sql.insert_rows(_INSERT_CHANNEL, [(c,) for c in missing])
    return missing


# Channels known to have their row in the open database (`ensure_channels`); past this many,
# the others are looked for every time.
_REMEMBERED_CHANNELS = 100_000
_seen: tuple[int, set[str]] = (0, set())


def _seen_channels() -> set[str]:
    global _seen
    if _seen[0] != db.opening():
        _seen = (db.opening(), set())
    return _seen[1]


_OUTBOX_COLUMNS = (
    "dedupe_key",
    "short_id",
    "channel",
    "payload",
    "kind",
    "society_id",
    "state",
    "next_attempt_at",
    "created_at",
    "reminder_id",
    "guard_seq",
    "not_after",
)
_OUTBOX_CONSTANTS = (
    ("attempts", "0"),
    ("ambiguous", "FALSE"),
    ("lease_owner", "''"),
    ("lease_until", "NULL"),
    ("last_error", "''"),
    ("sent_at", "NULL"),
)
_OUTBOX_NEW = " ON CONFLICT (dedupe_key) DO NOTHING"
_INSERT_OUTBOX = sql.Insert(m.OutboxMessage, _OUTBOX_COLUMNS, _OUTBOX_CONSTANTS, _OUTBOX_NEW)
_INSERT_OUTBOX_IDS = sql.Insert(
    m.OutboxMessage, _OUTBOX_COLUMNS, _OUTBOX_CONSTANTS, _OUTBOX_NEW + " RETURNING id"
)


async def _insert_outbox(items: Sequence[NewOutbox], now: datetime, *, ids: bool) -> list[int]:
    """The one INSERT behind `enqueue` and `add_outbox` (`sql.insert_rows`: on SQLite 75 rows per
    statement, on PostgreSQL one array per column); a dedupe key already present is skipped.
    Returns the ids written when `ids` is set, else an empty list."""
    fresh: dict[str, NewOutbox] = {}
    for item in items:
        fresh.setdefault(item.dedupe_key, item)
    if not fresh:
        return []
    await ensure_channels((i.channel for i in fresh.values()), remembered=True)
    at = utc(now)
    rows = [
        (
            item.dedupe_key,
            new_short_id(),
            item.channel,
            _sealed(item.channel, item.payload, item.private),
            item.kind,
            item.society_id,
            OutboxState.PENDING if item.hold_until is None else OutboxState.HELD,
            at if item.hold_until is None else utc(item.hold_until),
            at,
            item.reminder_id,
            item.guard_seq,
            None if item.not_after is None else utc(item.not_after),
        )
        for item in fresh.values()
    ]
    written = await sql.insert_rows(_INSERT_OUTBOX_IDS if ids else _INSERT_OUTBOX, rows)
    return sorted(int(r["id"]) for r in written)


async def enqueue(items: Sequence[NewOutbox], now: datetime) -> list[int]:
    """Write messages to the outbox (inside the caller's transaction). A dedupe key already
    present is skipped; returns the ids of the rows written. One INSERT ... ON CONFLICT DO
    NOTHING RETURNING id for a command's replies (this runs in every command's transaction)."""
    return await _insert_outbox(items, now, ids=True)


async def add_outbox(items: Sequence[NewOutbox], now: datetime) -> None:
    """`enqueue` for writers that need no ids back (the reminder sweep): the same INSERT that
    skips a dedupe key already present, without RETURNING."""
    await _insert_outbox(items, now, ids=False)


# ---------------------------------------------------------------------------------------------
# What is due


# Binds `now` twice. A row is due when pending and its time has come, or when it
# is being sent by a holder whose lease ran out.
_DUE_SQL = (
    f"((state = {literals(OutboxState.PENDING)} AND next_attempt_at <= ?)"
    f" OR (state = {literals(OutboxState.SENDING)} AND lease_until < ?))"
)
# The same test for rows already picked by id: written so that no index can serve it, the
# planner takes the primary key (statistics from before a burst would otherwise make it scan
# every pending row through the state index, for each statement).
_DUE_ROW_SQL = (
    f"(CASE WHEN state = {literals(OutboxState.PENDING)} THEN next_attempt_at <= ?"
    f" WHEN state = {literals(OutboxState.SENDING)} THEN lease_until < ? ELSE FALSE END)"
)


async def due_channels(now: datetime) -> list[str]:
    at = utc(now)
    rows = await raw_rows(
        m.OutboxMessage, f"SELECT DISTINCT channel FROM outbox_message WHERE {_DUE_SQL}", at, at
    )
    return sorted(str(r["channel"]) for r in rows)


async def next_attempt_at(channel: str | None = None) -> datetime | None:
    """The earliest pending attempt (the sender reads it after every pass: one column, and the
    state as a literal so the planner knows how selective it is)."""
    where = f"state = {literals(OutboxState.PENDING)}" + (
        "" if channel is None else " AND channel = ?"
    )
    rows = await raw_rows(
        m.OutboxMessage,
        f"SELECT next_attempt_at FROM outbox_message WHERE {where}"
        " ORDER BY next_attempt_at LIMIT 1",
        *(() if channel is None else (channel,)),
    )
    return when(rows[0]["next_attempt_at"]) if rows else None


# ---------------------------------------------------------------------------------------------
# Channels: a lease (one instance drains a channel at a time) and a pause (throttled)


async def _lease_channels(
    names: Sequence[str], owner: str, now: datetime, until: datetime
) -> list[Channel]:
    """Take the lease of those of `names` that are free (no lease, a lease run out, or already
    ours) in one conditional UPDATE: two instances racing for a channel cannot both win (on
    PostgreSQL the second UPDATE re-checks the row once the first commits). RETURNING names
    exactly the channels this statement took."""
    names_in, params = any_of(m.ChannelState, "channel", names)
    rows = await raw_rows(
        m.ChannelState,
        "UPDATE channel_state SET lease_owner = ?, lease_until = ?"
        f" WHERE {names_in}"
        " AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)"
        f" RETURNING {_CHANNEL_COLUMNS}",
        owner,
        until,
        *params,
        now,
        owner,
    )
    return sorted((_channel(r) for r in rows), key=lambda c: c.channel)


async def claim_channels(
    names: Sequence[str], owner: str, now: datetime, lease: timedelta
) -> list[Channel]:
    """Take the lease of every channel in `names` that no other instance holds, in one
    statement per chunk; returns the channels now held by `owner`."""
    if not names:
        return []
    at = utc(now)
    until = utc(now + lease)
    held: list[Channel] = []
    for chunk in sql.chunks(sorted(set(names)), 500):
        got = await _lease_channels(chunk, owner, at, until)
        # Held elsewhere, or without its row (a channel written to before rows existed).
        if len(got) < len(chunk):
            taken = {c.channel for c in got}
            missing = await ensure_channels(c for c in chunk if c not in taken)
            if missing:
                got = sorted(
                    got + await _lease_channels(missing, owner, at, until),
                    key=lambda c: c.channel,
                )
        held.extend(got)
    return held


async def release_channels(names: Sequence[str], owner: str) -> None:
    await execute_in(
        m.ChannelState,
        "UPDATE channel_state SET lease_owner = '', lease_until = NULL"
        " WHERE channel IN ({values}) AND lease_owner = ?",
        sorted(set(names)),
        after=[owner],
        size=500,
    )


async def pause_channel(channel: str, until: datetime, reason: str) -> None:
    """`reason` may carry a platform's code: redacted, cleaned and cut (`db_text`)."""
    await m.ChannelState.filter(channel=channel).update(
        paused_until=until, reason=db_text(redacted(reason), DETAIL_MAX)
    )


async def channels() -> list[Channel]:
    rows = await raw_rows(
        m.ChannelState, f"SELECT {_CHANNEL_COLUMNS} FROM channel_state ORDER BY channel"
    )
    return [_channel(r) for r in rows]


async def window_of(names: Sequence[str], since: datetime) -> dict[str, tuple[int, datetime]]:
    """The sliding rate window of several channels in one aggregate query: channel -> (attempts
    since `since`, the oldest of them). Channels without attempts are left out."""
    rows = await rows_in(
        m.OutboxAttempt,
        "SELECT channel, COUNT(*) AS n, MIN(at) AS oldest FROM outbox_attempt"
        " WHERE channel IN ({values}) AND at > ? GROUP BY channel",
        sorted(set(names)),
        after=[utc(since)],
        size=500,
    )
    return {str(r["channel"]): (int(r["n"]), when(r["oldest"])) for r in rows}


# ---------------------------------------------------------------------------------------------
# Claims and attempts


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
    at = utc(now)
    picked: list[int] = []
    for chunk in sql.chunks(sorted(wanted), 200):
        taken: dict[str, int] = {}
        # Oldest first, and no more than twice what may go: ids interleave the channels, so a
        # channel cut short here is served by the next pass.
        channels_in, params = any_of(m.OutboxMessage, "channel", chunk)
        rows = await raw_rows(
            m.OutboxMessage,
            f"SELECT id, channel FROM outbox_message WHERE {channels_in}"
            f" AND {_DUE_SQL} ORDER BY id LIMIT ?",
            *params,
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
    until = utc(now + lease)
    sending = literals(OutboxState.SENDING)
    out: list[OutboxRow] = []
    batches = list(sql.chunks(picked, 500))
    async with sql.transaction_for(m.OutboxMessage, len(batches)):
        for ids in batches:
            # SET reads the row as it was: one still sending had a holder whose lease ran out,
            # so its attempt may have been delivered (ambiguous). RETURNING gives exactly the
            # rows this statement won.
            ids_in, params = any_of(m.OutboxMessage, "id", ids)
            got = await raw_rows(
                m.OutboxMessage,
                f"UPDATE outbox_message SET ambiguous = (ambiguous OR state = {sending}),"
                f" state = {sending}, lease_owner = ?, lease_until = ?"
                f" WHERE {ids_in} AND {_DUE_ROW_SQL}"
                f" RETURNING {_ROW_COLUMNS}",
                owner,
                until,
                *params,
                at,
                at,
            )
            out.extend(_row(r) for r in got)
    out.sort(key=lambda r: r.id)
    return out


# outbox_attempt.code's width; a longer code (DingTalk's are dotted names, 46 characters for its
# rate limit) is cut there and kept whole at the head of the attempt's detail.
CODE_MAX = 32
DETAIL_MAX = 500


# A URL in an error's text: a DingTalk sessionWebhook, a WeCom response_url or webhook carry
# their bearer token in the path or the query. Only the scheme and host are kept. No word
# boundary before the scheme: a URL glued to a word (「发送失败https://…」) is one too.
_URL = re.compile(r"""(?i)((?:https?|wss?)://[^/\s?#'"<>]+)[^\s'"<>]*""")
# An object's repr: a dataclass's `UserRef(platform=..., user_id=..., name=...)` (one level of
# parentheses inside), or Python's default `<x.Y object at 0x...>`.
_DATACLASS_REPR = re.compile(r"\b([A-Z][A-Za-z0-9_]*)\(\w+=(?:[^()]|\([^()]*\))*\)")
_OBJECT_REPR = re.compile(r"<(?:[\w.]+\.)?(\w+) object at 0x[0-9a-fA-F]+>")


def redacted(text: str) -> str:
    """An error's text as it may be stored (an attempt's detail, a row's last error, a pause's
    reason): URLs cut to scheme and host (`…` for what followed), object reprs (a UserRef names
    a member and their account) reduced to their type. The platform's code and message stay."""
    text = _URL.sub(
        lambda m: m.group(1) + ("/…" if len(m.group(0)) > len(m.group(1)) else ""), text
    )
    text = _OBJECT_REPR.sub(r"<\1>", text)
    return _DATACLASS_REPR.sub(r"<\1>", text)


def db_text(text: str, limit: int) -> str:
    """A platform's text (an error code or message, any length, anything in it) as the database
    takes it: at most `limit` characters, no NUL (PostgreSQL refuses it in text) and no lone
    surrogate (not UTF-8; JSON's escapes let one in)."""
    text = text[: limit * 2].replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")[:limit]


async def record_attempt(
    row: OutboxRow,
    *,
    now: datetime,
    outcome: str,
    code: str,
    ambiguous: bool,
    detail: str,
    instance: str,
    state: OutboxState,
    next_attempt_at: datetime | None = None,
    count_attempt: bool = True,
) -> None:
    """One attempt of a row this instance holds, and the row's new state. `outcome` is
    `SENT_OUTCOME` or the kind of the error that stopped it. `code` and `detail` may be anything
    a platform answered: they are redacted (`redacted`: no URL's token, no object's repr), cut
    and cleaned to fit (`db_text`), never refused."""
    whole = db_text(redacted(code), DETAIL_MAX)
    short = whole[:CODE_MAX]
    detail = redacted(detail)
    if short != whole:
        detail = f"{whole}: {detail}"
    async with in_transaction():
        attempts = row.attempts + (1 if count_attempt else 0)
        await m.OutboxAttempt.create(
            message_id=row.id,
            channel=row.channel,
            number=row.attempts + 1,
            at=now,
            outcome=db_text(outcome, 16),
            code=short,
            ambiguous=ambiguous,
            detail=db_text(detail, DETAIL_MAX),
            instance=db_text(instance, 64),
        )
        failure = f"{outcome} {whole} {detail}" if short == whole else f"{outcome} {detail}"
        fields: dict[str, object] = {
            "state": state,
            "attempts": attempts,
            "lease_owner": "",
            "lease_until": None,
            "last_error": "" if outcome == SENT_OUTCOME else db_text(failure, DETAIL_MAX),
        }
        if ambiguous:
            fields["ambiguous"] = True
        if next_attempt_at is not None:
            fields["next_attempt_at"] = next_attempt_at
        if state is OutboxState.SENT:
            fields["sent_at"] = now
        await m.OutboxMessage.filter(id=row.id, lease_owner=instance).update(**fields)


@dataclass(frozen=True, slots=True)
class Sent:
    """A successful attempt, recorded with others in one transaction."""

    row: OutboxRow
    at: datetime


_INSERT_SENT = sql.Insert(
    m.OutboxAttempt,
    ("message_id", "channel", "number", "at", "instance"),
    (("outcome", f"'{SENT_OUTCOME}'"), ("code", "''"), ("ambiguous", "FALSE"), ("detail", "''")),
)


async def record_sent(items: Sequence[Sent], instance: str) -> None:
    """Record successful attempts in bulk: per chunk of 180, one multi-row INSERT of the attempt
    rows and one UPDATE of the messages (sent_at is the latest instant of the chunk; each
    attempt row keeps its own); on PostgreSQL both in one statement, so that a pass of the
    sender usually records its sends in one round trip. Only rows this instance still holds
    change state."""
    if not items:
        return
    batches = list(sql.chunks(list(items), sql.rows_per_statement(5)))
    together = sql.is_postgres(m.OutboxMessage)
    statements = len(batches) * (1 if together else 2)
    async with sql.transaction_for(m.OutboxMessage, statements):
        for chunk in batches:
            attempts = [
                (i.row.id, i.row.channel, i.row.attempts + 1, utc(i.at), instance) for i in chunk
            ]
            ids_in, params = any_of(m.OutboxMessage, "id", [i.row.id for i in chunk])
            mark = (
                f"UPDATE outbox_message SET state = {literals(OutboxState.SENT)},"
                " attempts = attempts + 1, lease_owner = '', lease_until = NULL,"
                f" last_error = '', sent_at = ? WHERE {ids_in} AND lease_owner = ?"
            )
            sent_at = max(utc(i.at) for i in chunk)
            if together:
                columns = (list(c) for c in zip(*attempts, strict=True))
                statement = f"WITH attempt AS ({_INSERT_SENT.postgres()}) {mark}"
                await raw_execute(m.OutboxMessage, statement, *columns, sent_at, *params, instance)
                continue
            await sql.insert_rows(_INSERT_SENT, attempts)
            await raw_execute(m.OutboxMessage, mark, sent_at, *params, instance)


async def record_superseded(ids: Sequence[int], instance: str) -> None:
    """Card updates made pointless by a later update of the same card: done without a send
    (no attempt row, so they take nothing from the channel's rate window)."""
    if not ids:
        return
    ids_in, params = any_of(m.OutboxMessage, "id", ids)
    await raw_execute(
        m.OutboxMessage,
        f"UPDATE outbox_message SET state = {literals(OutboxState.SUPERSEDED)},"
        f" lease_owner = '', lease_until = NULL WHERE {ids_in} AND lease_owner = ?",
        *params,
        instance,
    )


async def give_back(channels: Sequence[str], owner: str, *, keep: Iterable[int] = ()) -> None:
    """Rows of `channels` that `owner` holds (`sending`) back to pending, but those in `keep`
    (they may have been delivered: they wait out their lease). The failure path of a pass."""
    held = m.OutboxMessage.filter(
        channel__in=list(channels), lease_owner=owner, state=OutboxState.SENDING
    )
    kept = list(keep)
    if kept:
        held = held.exclude(id__in=kept)
    await held.update(state=OutboxState.PENDING, lease_owner="", lease_until=None)


async def release_messages(ids: Iterable[int], owner: str) -> None:
    """Give claimed rows back untouched (the channel was paused meanwhile)."""
    await m.OutboxMessage.filter(
        id__in=list(ids), lease_owner=owner, state=OutboxState.SENDING
    ).update(state=OutboxState.PENDING, lease_owner="", lease_until=None)


# ---------------------------------------------------------------------------------------------
# Reading (listings, tests, /metrics)


async def outbox_rows(
    *, channel: str | None = None, state: OutboxState | None = None
) -> list[OutboxRow]:
    where, params = sql.where_equal(channel=channel, state=state)
    rows = await raw_rows(
        m.OutboxMessage, f"SELECT {_ROW_COLUMNS} FROM outbox_message{where} ORDER BY id", *params
    )
    return [_row(r) for r in rows]


async def outbox_counts() -> dict[str, int]:
    """state -> how many rows."""
    return await sql.counts_by(m.OutboxMessage, "state")


# The states of rows still to go: counted at every /metrics scrape.
WAITING = (OutboxState.HELD, OutboxState.PENDING, OutboxState.SENDING)
WAITING_COUNTS_SQL = (
    f"SELECT state, COUNT(*) AS n FROM outbox_message WHERE state IN ({literals(*WAITING)})"
    " GROUP BY state"
)


async def waiting_counts() -> dict[str, int]:
    """state -> rows still to go (held, pending, sending). The (state, next_attempt_at) index
    serves it: the cost follows the waiting rows, not the sent ones."""
    rows = await raw_rows(m.OutboxMessage, WAITING_COUNTS_SQL)
    return {str(r["state"]): int(r["n"]) for r in rows}


async def paused_channels(now: datetime) -> int:
    """Channels paused at `now` (channel_state has one row per chat channel and lease)."""
    rows = await raw_rows(
        m.ChannelState,
        "SELECT COUNT(*) AS n FROM channel_state WHERE paused_until > ?",
        utc(now),
    )
    return int(rows[0]["n"]) if rows else 0


async def paused_list(now: datetime, limit: int) -> list[Channel]:
    """The first `limit` channels paused at `now` (/healthz shows them; a bounded read)."""
    rows = await raw_rows(
        m.ChannelState,
        f"SELECT {_CHANNEL_COLUMNS} FROM channel_state WHERE paused_until > ?"
        f" ORDER BY channel LIMIT {int(limit)}",
        utc(now),
    )
    return [_channel(r) for r in rows]
