"""The inbound queue: platform messages accepted (committed) before they are applied.

accept   one multi-row INSERT ... ON CONFLICT DO NOTHING per batch (a group commit: the requests
         that arrive while a batch commits go in the next one); returns the keys that were new.
claim    the oldest pending rows of each chat whose oldest pending row no live worker holds (a
         chat's messages are applied in the order they arrived, also across instances: holding
         a chat's oldest row holds the chat); PostgreSQL: FOR UPDATE SKIP LOCKED on those oldest
         rows, so two instances never claim the same chat.
finish   mark applied rows done.
release  give back claimed rows a worker did not get to.

The payload is stored sealed under the server key (storage/secrecy.py): it holds the sender and
the text, and a private message may be a secret ballot.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise.transactions import in_transaction

from bot.keys import SealError
from storage import models as m
from storage import secrecy
from storage.sql import (
    Insert,
    any_of,
    insert_rows,
    insert_statements,
    is_postgres,
    listed,
    literals,
    raw_execute,
    raw_rows,
    skip_locked,
    transaction_for,
    utc,
    when_opt,
)


class InboundState(StrEnum):
    """inbound_message.state"""

    PENDING = "pending"  # accepted, not applied yet
    DONE = "done"


@dataclass(frozen=True, slots=True)
class NewInbound:
    key: str
    chat_key: str
    payload: str


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    key: str
    payload: str
    chat_key: str


_INSERT_INBOUND = Insert(
    m.InboundMessage,
    ("key", "chat_key", "payload", "received_at"),
    (("state", literals(InboundState.PENDING)), ("claimed_by", "''")),
    " ON CONFLICT (key) DO NOTHING RETURNING key",
)


async def accept(rows: Sequence[NewInbound], now: datetime) -> set[str]:
    """Insert the rows in one transaction; the keys already present are left alone."""
    if not rows:
        return set()
    at = utc(now)
    sealed = [
        (row.key, row.chat_key, secrecy.seal_text("inbound", row.payload, row.key), at)
        for row in rows
    ]
    async with transaction_for(m.InboundMessage, insert_statements(_INSERT_INBOUND, len(sealed))):
        found = await insert_rows(_INSERT_INBOUND, sealed)
    return {str(r["key"]) for r in found}


def _opened(key: str, payload: str) -> str:
    """The payload as the adapter gave it; "" when it does not open (the worker drops it)."""
    try:
        return secrecy.open_text("inbound", payload, key)
    except SealError:
        return ""


# Pending rows of one chat a claim takes at most: a burst in one group (every member voting at
# once) is applied in one round, and one busy chat cannot take a whole round from the others.
PER_CHAT = 16


def _held_elsewhere(row: Mapping[str, Any], instance: str, at: datetime) -> bool:
    until = when_opt(row["claimed_until"])
    held = row["claimed_by"] and row["claimed_by"] != instance
    return bool(held and until is not None and until > at)


async def claim(
    instance: str, now: datetime, *, lease: timedelta, limit: int, per_chat: int = PER_CHAT
) -> list[Claimed]:
    """Claim up to `limit` rows, in arrival order: each chat's oldest pending rows (up to
    `per_chat`), for the chats whose oldest pending row no other worker holds (its claim has
    not expired). A chat's rows are a prefix of its pending ones, so applied in order they keep
    the chat's order; holding its oldest row keeps every other worker off the chat."""
    at = utc(now)
    pending = literals(InboundState.PENDING)
    async with in_transaction():
        # Each chat's oldest pending row (one pass over the pending rows' index), then those
        # rows by id. Written so that no plan is quadratic: as "pending with no older pending
        # row in its chat" (NOT EXISTS), PostgreSQL statistics taken while the queue was empty
        # made it a nested loop comparing every pending row with every other (11 s a claim
        # with 9,500 pending; this form 6 ms).
        heads = await raw_rows(
            m.InboundMessage,
            "WITH heads AS MATERIALIZED ("
            f" SELECT MIN(id) AS id FROM inbound_message WHERE state = {pending}"
            " GROUP BY chat_key ORDER BY 1 LIMIT ?)"
            " SELECT i.id, i.chat_key, i.claimed_by, i.claimed_until"
            " FROM heads JOIN inbound_message AS i ON i.id = heads.id"
            f" ORDER BY i.id{skip_locked(m.InboundMessage, 'i')}",
            limit * 4,
        )
        chats = [str(r["chat_key"]) for r in heads if not _held_elsewhere(r, instance, at)]
        mine: list[Claimed] = []
        if chats:
            rows = await raw_rows(
                m.InboundMessage, *_first_of_chats(chats[:limit], per_chat, limit)
            )
            stopped: set[str] = set()
            for row in rows:
                chat = str(row["chat_key"])
                if chat in stopped or _held_elsewhere(row, instance, at):
                    stopped.add(chat)  # only a prefix of a chat's rows, never one after a gap
                    continue
                key = str(row["key"])
                mine.append(Claimed(int(row["id"]), key, _opened(key, str(row["payload"])), chat))
        if mine:
            ids_in, ids = any_of(m.InboundMessage, "id", [c.id for c in mine])
            await raw_execute(
                m.InboundMessage,
                f"UPDATE inbound_message SET claimed_by = ?, claimed_until = ? WHERE {ids_in}",
                instance,
                at + lease,
                *ids,
            )
    return mine


def _first_of_chats(chats: Sequence[str], per_chat: int, limit: int) -> tuple[Any, ...]:
    """The statement (and its parameters) reading the first `per_chat` pending rows of each of
    `chats`, in arrival order up to `limit`: per chat a range of the (state, chat_key, id) index
    that ends at its `per_chat`-th pending row, so a claim reads at most `per_chat` rows a chat
    however long the backlog (a window over every pending row of the chats read them all: 15 ms
    a claim with 8,000 pending, against under 1 ms)."""
    pending = literals(InboundState.PENDING)
    chat_rows, chat_param = listed(m.InboundMessage, chats, "c")
    columns = "i.id, i.key, i.chat_key, i.payload, i.claimed_by, i.claimed_until"
    if is_postgres(m.InboundMessage):
        statement = (
            f"SELECT r.* FROM {chat_rows} CROSS JOIN LATERAL (SELECT {columns}"
            f" FROM inbound_message AS i WHERE i.state = {pending} AND i.chat_key = c.value"
            " ORDER BY i.id LIMIT ?) AS r ORDER BY r.id LIMIT ?"
        )
        return statement, chat_param, per_chat, limit
    # No LATERAL in SQLite: the range ends at the chat's `per_chat`-th pending id (NULL, fewer
    # pending: the largest id there can be).
    statement = (
        f"SELECT {columns} FROM {chat_rows}"
        f" JOIN inbound_message AS i ON i.state = {pending} AND i.chat_key = c.value"
        " AND i.id <= COALESCE((SELECT j.id FROM inbound_message AS j"
        f" WHERE j.state = {pending} AND j.chat_key = c.value ORDER BY j.id LIMIT 1 OFFSET ?),"
        f" {2**63 - 1}) ORDER BY i.id LIMIT ?"
    )
    return statement, chat_param, per_chat - 1, limit


async def release(ids: Sequence[int], instance: str) -> None:
    """Give back claimed rows this worker did not get to (a round that ended early): any
    worker, this one or another instance's after a restart, may claim them at once."""
    if not ids:
        return
    ids_in, params = any_of(m.InboundMessage, "id", ids)
    await raw_execute(
        m.InboundMessage,
        "UPDATE inbound_message SET claimed_by = '', claimed_until = NULL"
        f" WHERE claimed_by = ? AND state = {literals(InboundState.PENDING)} AND {ids_in}",
        instance,
        *params,
    )


async def finish(ids: Sequence[int], now: datetime) -> None:
    if not ids:
        return
    ids_in, params = any_of(m.InboundMessage, "id", ids)
    await raw_execute(
        m.InboundMessage,
        f"UPDATE inbound_message SET state = {literals(InboundState.DONE)}, done_at = ?"
        f" WHERE {ids_in}",
        utc(now),
        *params,
    )


# Served by the (state, chat_key, id) index: the cost follows the pending rows only.
DEPTH_SQL = (
    f"SELECT COUNT(*) AS n FROM inbound_message WHERE state = {literals(InboundState.PENDING)}"
)


# How many earlier queued messages `earlier_unapplied` reads at most (a backlog longer than this
# is read from its oldest end; the vote's own ballots are among the oldest).
EARLIER_READ = 2000


async def earlier_unapplied(key: str) -> list[str]:
    """The messages (as the adapter gave them) queued before the one under `key` and not applied
    yet: still pending, with no processed-message row (written with each effect, so one applied
    earlier in this very round counts as applied). [] when `key` was not queued (applied at
    once)."""
    own = await raw_rows(m.InboundMessage, "SELECT id FROM inbound_message WHERE key = ?", key)
    if not own:
        return []
    rows = await raw_rows(
        m.InboundMessage,
        "SELECT key, payload FROM inbound_message"
        f" WHERE state = {literals(InboundState.PENDING)} AND id < ? ORDER BY id LIMIT ?",
        int(own[0]["id"]),
        EARLIER_READ,
    )
    if not rows:
        return []
    opened = {str(r["key"]): _opened(str(r["key"]), str(r["payload"])) for r in rows}
    said = {k: p for k, p in opened.items() if p}
    if not said:
        return []
    ids = {k: str(json.loads(p).get("message_id", "")) for k, p in said.items()}
    where, params = any_of(m.ProcessedMessage, "message_id", sorted(set(ids.values())))
    done = await raw_rows(
        m.ProcessedMessage,
        f"SELECT platform, corp_id, message_id FROM processed_message WHERE {where}",
        *params,
    )
    applied = {f"{r['platform']}:{r['corp_id']}:{r['message_id']}" for r in done}
    return [p for k, p in said.items() if k not in applied]


async def depth() -> int:
    rows = await raw_rows(m.InboundMessage, DEPTH_SQL)
    return int(rows[0]["n"]) if rows else 0


async def oldest_pending() -> datetime | None:
    rows = await raw_rows(
        m.InboundMessage,
        f"SELECT received_at FROM inbound_message WHERE state = {literals(InboundState.PENDING)}"
        " ORDER BY id LIMIT 1",
    )
    return when_opt(rows[0]["received_at"]) if rows else None
