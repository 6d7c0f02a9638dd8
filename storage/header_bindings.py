"""DingTalk HTTP callbacks: which messages each (timestamp, sign) pair carried, in the database,
so that every instance, and the same instance after a restart, judges a pair alike.

DingTalk signs `timestamp + "\\n" + appSecret` and nothing else: the pair proves that DingTalk
pushed *something* at that millisecond, never what. Several genuine messages pushed in the same
millisecond carry the same pair with different bodies, so "one pair, one message" refuses genuine
traffic, while "any body goes" lets whoever saw a pair (a log, a proxy) say anything for an hour.
The rule, per callback, in a transaction committed before the message is fed (`bind_many`:
the callbacks that arrive while one batch commits are bound together in the next, one commit
and three statements for many, with the answers of binding them one by one):

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
from storage import sql
from storage.sql import execute_in, rows_in, utc, when

ACCEPTED = ""
CHANGED_BODY = "header_reuse:changed_body"  # rule 2
LATE_BODY = "header_reuse:late_body"  # rule 4


@dataclass(frozen=True, slots=True)
class Binding:
    pair: str
    message_id: str
    digest: str
    now: datetime
    expires_at: datetime
    siblings: timedelta


async def bind_many(bindings: Sequence[Binding]) -> list[str]:
    """Bind each `message_id` (body `digest`) to its `pair`, in order, in one transaction; for
    each, "" when the callback may pass, else why it is refused (rules 2 and 4 above). Set-based:
    one INSERT of the new (pair, msgId)s, one read of the pairs' rows, one DELETE of the refused,
    whatever the number of callbacks; the answers are those of binding them one by one."""
    if not bindings:
        return []
    async with in_transaction():
        # The first callback of each (pair, msgId) binds it; a repeat is judged against it.
        firsts: dict[tuple[str, str], int] = {}
        for index, b in enumerate(bindings):
            firsts.setdefault((b.pair, b.message_id), index)
        inserted, stored = await _bind_and_read(
            [bindings[i] for i in firsts.values()], sorted({b.pair for b in bindings})
        )
        ours = set(inserted.values())
        accepted: set[int] = set()  # this batch's rows kept so far, in order
        refused: list[int] = []
        answers: list[str] = []
        for index, b in enumerate(bindings):
            key = (b.pair, b.message_id)
            rows = stored.get(b.pair, [])
            own = inserted.get(key)
            if firsts[key] != index or own is None:
                # A (pair, msgId) bound before: by an earlier callback or an earlier batch.
                bound = next((r for r in rows if r[1] == b.message_id), None)
                if own is not None and own not in accepted:
                    answers.append(LATE_BODY)  # its first callback was refused: so is this
                elif bound is not None and bound[2] == b.digest:
                    answers.append(ACCEPTED)
                else:
                    answers.append(CHANGED_BODY)
                continue
            others = [r[3] for r in rows if r[0] != own and (r[0] not in ours or r[0] in accepted)]
            if others and min(others) < utc(b.now) - b.siblings:
                refused.append(own)
                answers.append(LATE_BODY)
            else:
                accepted.add(own)
                answers.append(ACCEPTED)
        if refused:
            await execute_in(
                m.HeaderBinding, "DELETE FROM header_binding WHERE id IN ({values})", refused
            )
        return answers


_INSERT_BINDING = sql.Insert(
    m.HeaderBinding,
    ("pair", "message_id", "digest", "seen_at", "expires_at"),
    tail=" ON CONFLICT (pair, message_id) DO NOTHING RETURNING id, pair, message_id, digest, seen_at",
)


# PostgreSQL: the insert and the read of the pairs' rows in one round trip. The read does not
# see what the insert adds (one snapshot for the whole statement), so the new rows come from its
# RETURNING.
_BIND_AND_READ = (
    "WITH new AS ({insert})"
    " SELECT id, pair, message_id, digest, seen_at, TRUE AS ours FROM new UNION ALL"
    " SELECT id, pair, message_id, digest, seen_at, FALSE FROM header_binding WHERE pair = ANY(?)"
)

Stored = dict[str, list[tuple[int, str, str, datetime]]]


async def _bind_and_read(
    fresh: Sequence[Binding], pairs: Sequence[str]
) -> tuple[dict[tuple[str, str], int], Stored]:
    """Insert the (pair, msgId)s not bound yet and read the rows of `pairs`: (pair, msgId) -> id
    of the rows this inserted, and pair -> its rows (id, msgId, digest, seen_at), the new ones
    included."""
    rows = [(b.pair, b.message_id, b.digest, utc(b.now), utc(b.expires_at)) for b in fresh]
    if sql.is_postgres(m.HeaderBinding) and len(rows) <= sql.PG_ROWS:
        statement = _BIND_AND_READ.format(insert=_INSERT_BINDING.postgres())
        columns = (list(c) for c in zip(*rows, strict=True))
        found = await sql.raw_rows(m.HeaderBinding, statement, *columns, pairs)
        new = [r for r in found if r["ours"]]
    else:
        new = await sql.insert_rows(_INSERT_BINDING, rows)
        found = await rows_in(
            m.HeaderBinding,
            "SELECT id, pair, message_id, digest, seen_at FROM header_binding"
            " WHERE pair IN ({values})",
            pairs,
        )
    inserted = {(str(r["pair"]), str(r["message_id"])): int(r["id"]) for r in new}
    stored: Stored = {}
    for row in found:
        stored.setdefault(str(row["pair"]), []).append(
            (int(row["id"]), str(row["message_id"]), str(row["digest"]), when(row["seen_at"]))
        )
    return inserted, stored
