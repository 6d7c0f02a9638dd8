"""DingTalk HTTP callbacks: which messages each (timestamp, sign) pair carried, in the database,
so that every instance, and the same instance after a restart, judges a pair alike.

DingTalk signs `timestamp + "\\n" + appSecret` and nothing else: the pair proves that DingTalk
pushed *something* at that millisecond, never what. Several genuine messages pushed in the same
millisecond carry the same pair with different bodies, so "one pair, one message" refuses genuine
traffic, while "any body goes" lets whoever saw a pair (a log, a proxy) say anything for an hour.
The rule, per callback, in a savepoint of a transaction committed before the message is fed
(`bind_many`: the callbacks that arrive while one batch commits are bound together in the next,
one commit for many, each callback in its own savepoint):

1. (pair, msgId) bound to the same body digest: a redelivery. It passes; the msgId dedupe
   downstream applies nothing twice.
2. (pair, msgId) bound to another digest: a captured message with its body changed: refused.
3. A msgId new to the pair, while the pair was first seen (by any instance) at most `siblings`
   ago: another genuine message of the same millisecond, bound and accepted.
4. A msgId new to the pair, first seen longer ago: refused. DingTalk pushes the messages of one
   millisecond together; a new body on an old pair is a forgery.
5. A pair never seen: bound and accepted.

What the rule cannot tell apart, because nothing in the body is signed: a forged body with a
fresh msgId sent within `siblings` of the genuine push (an attacker who reads the traffic as it
passes), or a pair whose genuine message never reached us. Stream mode (an authenticated
connection) has neither hole. A rule-2/4 refusal writes nothing.

Rows stay until the pair's timestamp is out of the signature window (`expires_at`; the codec
refuses the pair from then on anyway) and are then pruned (storage/prune.py). The pair is kept
as its SHA-256: the table never holds a usable credential.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from storage import models as m
from storage.sql import raw_rows, utc, when

ACCEPTED = ""
CHANGED_BODY = "header_reuse:changed_body"  # rule 2
LATE_BODY = "header_reuse:late_body"  # rule 4


class _Late(Exception):
    """Rolls back the binding of a refused new body."""


@dataclass(frozen=True, slots=True)
class Binding:
    pair: str
    message_id: str
    digest: str
    now: datetime
    expires_at: datetime
    siblings: timedelta


async def bind_many(bindings: Sequence[Binding]) -> list[str]:
    """Bind each `message_id` (body `digest`) to its `pair`, in order, in one transaction, each
    in a savepoint (a refusal rolls back only its own row); for each, "" when the callback may
    pass, else why it is refused (rules 2 and 4 above)."""
    async with in_transaction():
        return [await _bind_one(b) for b in bindings]


async def _bind_one(b: Binding) -> str:
    at = utc(b.now)
    try:
        async with in_transaction():
            inserted = await raw_rows(
                m.HeaderBinding,
                "INSERT INTO header_binding (pair, message_id, digest, seen_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (pair, message_id) DO NOTHING RETURNING id",
                b.pair,
                b.message_id,
                b.digest,
                at,
                utc(b.expires_at),
            )
            if not inserted:
                known = await raw_rows(
                    m.HeaderBinding,
                    "SELECT digest FROM header_binding WHERE pair = ? AND message_id = ?",
                    b.pair,
                    b.message_id,
                )
                same = bool(known) and str(known[0]["digest"]) == b.digest
                return ACCEPTED if same else CHANGED_BODY
            first = await raw_rows(
                m.HeaderBinding,
                "SELECT seen_at FROM header_binding WHERE pair = ? AND id <> ?"
                " ORDER BY seen_at LIMIT 1",
                b.pair,
                int(inserted[0]["id"]),
            )
            if first and when(first[0]["seen_at"]) < at - b.siblings:
                raise _Late
    except _Late:
        return LATE_BODY
    return ACCEPTED
