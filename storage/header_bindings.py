"""DingTalk HTTP callbacks: which messages each (timestamp, sign) pair carried, in the database,
so that every instance, and the same instance after a restart, judges a pair alike.

DingTalk signs `timestamp + "\\n" + appSecret` and nothing else: the pair proves that DingTalk
pushed *something* at that millisecond, never what. Several genuine messages pushed in the same
millisecond carry the same pair with different bodies, so "one pair, one message" refuses genuine
traffic, while "any body goes" lets whoever saw a pair (a log, a proxy) say anything for an hour.
The rule, per callback, committed before the message is fed (`bind_many`: the callbacks that
arrive while one batch commits are bound together in the next, in one statement on PostgreSQL
(atomic by itself: no BEGIN or COMMIT) and one transaction of two on SQLite, with the answers of
binding them one by one):

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
from itertools import chain
from typing import Any

from storage import models as m
from storage import sql
from storage.sql import rows_in, utc, when
from storage.sqlite_engine import commit_on_thread

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
    """Bind each `message_id` (body `digest`) to its `pair`, in order; for each, "" when the
    callback may pass, else why it is refused (rules 2 and 4 above). Set-based and atomic
    without a transaction of its own on PostgreSQL: rule 4 is judged within the batch here and
    against the rows bound before it inside the one INSERT (a refused binding is never written,
    so nothing is deleted afterwards), and the same statement reads the pairs' rows. The
    answers are those of binding the callbacks one by one."""
    if not bindings:
        return []
    # The first callback of each (pair, msgId) binds it; a repeat is judged against it.
    firsts: dict[tuple[str, str], int] = {}
    for index, b in enumerate(bindings):
        firsts.setdefault((b.pair, b.message_id), index)
    # Rule 4 among the batch's own new (pair, msgId)s, in order. A first counted here that the
    # INSERT then refuses (rule 4 against older rows) only refuses later ones those same older
    # rows refuse as well: the batch is in order of arrival.
    late: set[int] = set()
    seen: dict[str, datetime] = {}  # pair -> the earliest of its firsts not refused here
    fresh: list[Binding] = []
    for index in firsts.values():
        b = bindings[index]
        first_seen = seen.get(b.pair)
        if first_seen is not None and first_seen < b.now - b.siblings:
            late.add(index)
            continue
        seen.setdefault(b.pair, b.now)
        fresh.append(b)
    inserted, stored = await _bind_and_read(fresh, sorted({b.pair for b in bindings}))
    ours = set(inserted.values())
    bound = {
        (pair, msg_id): digest for pair, rows in stored.items() for _, msg_id, digest, _ in rows
    }
    unseen = {
        (b.pair, b.message_id)
        for index, b in ((firsts[k], bindings[firsts[k]]) for k in firsts)
        if (b.pair, b.message_id) not in bound and index not in late
    }
    if unseen:
        # Bound by another instance at the same moment, after this statement's snapshot (its
        # insert waited for that one and skipped): read it now. The same redelivery sent to two
        # instances at once had been refused by one as a changed body.
        for row in await rows_in(
            m.HeaderBinding,
            "SELECT pair, message_id, digest FROM header_binding WHERE pair IN ({values})",
            sorted({pair for pair, _ in unseen}),
        ):
            bound.setdefault((str(row["pair"]), str(row["message_id"])), str(row["digest"]))
    answers: list[str] = []
    for b in bindings:
        key = (b.pair, b.message_id)
        digest = bound.get(key)
        if digest is not None:
            answers.append(ACCEPTED if digest == b.digest else CHANGED_BODY)  # rules 1, 2, 3, 5
            continue
        first = bindings[firsts[key]]
        before = [at for row_id, _, _, at in stored.get(b.pair, []) if row_id not in ours]
        if firsts[key] in late or (before and min(before) < first.now - first.siblings):
            answers.append(LATE_BODY)  # rule 4: its first callback was not bound
        else:
            answers.append(CHANGED_BODY)  # bound meanwhile by another instance, unseen here
    return answers


# The new (pair, msgId)s, each with the instant before which a row of its pair makes it late
# (rule 4, against the rows bound before the statement): a refused one is not written at all.
# PostgreSQL: one array per column; SQLite: a VALUES list (SQLite evaluates an INSERT's SELECT
# that reads the same table before it writes).
_BIND = (
    "INSERT INTO header_binding (pair, message_id, digest, seen_at, expires_at)"
    " SELECT v.pair, v.message_id, v.digest, v.seen_at, v.expires_at FROM {rows}"
    " WHERE NOT EXISTS (SELECT 1 FROM header_binding AS h"
    " WHERE h.pair = v.pair AND h.seen_at < v.cutoff)"
    " ON CONFLICT (pair, message_id) DO NOTHING RETURNING id, pair, message_id, digest, seen_at"
)
_PG_ROWS = (
    "unnest(?::text[], ?::text[], ?::text[], ?::timestamptz[], ?::timestamptz[],"
    " ?::timestamptz[]) AS v(pair, message_id, digest, seen_at, expires_at, cutoff)"
)

# PostgreSQL: the insert and the read of the pairs' rows in one statement (atomic by itself: no
# BEGIN and COMMIT). The read does not see what the insert adds (one snapshot for the whole
# statement), so the new rows come from its RETURNING.
_BIND_AND_READ = (
    "WITH new AS ({insert})"
    " SELECT id, pair, message_id, digest, seen_at, TRUE AS ours FROM new UNION ALL"
    " SELECT id, pair, message_id, digest, seen_at, FALSE FROM header_binding WHERE pair = ANY(?)"
)

Stored = dict[str, list[tuple[int, str, str, datetime]]]


async def _bind_and_read(
    fresh: Sequence[Binding], pairs: Sequence[str]
) -> tuple[dict[tuple[str, str], int], Stored]:
    """Insert the (pair, msgId)s of `fresh` that are not bound yet and not late by the rows
    bound before, and read the rows of `pairs`: (pair, msgId) -> id of the rows this inserted,
    and pair -> its rows (id, msgId, digest, seen_at), the new ones included."""
    rows = [
        (b.pair, b.message_id, b.digest, utc(b.now), utc(b.expires_at), utc(b.now - b.siblings))
        for b in fresh
    ]
    if sql.is_postgres(m.HeaderBinding) and len(rows) <= sql.PG_ROWS:
        statement = _BIND_AND_READ.format(insert=_BIND.format(rows=_PG_ROWS))
        found = await sql.raw_rows(m.HeaderBinding, statement, *_arrays(rows), pairs)
        new = [r for r in found if r["ours"]]
    else:
        per = sql.rows_per_insert(m.HeaderBinding, 6)
        inserts = [_insert(chunk) for chunk in sql.chunks(rows, per)]
        # The door's batch: committed off the loop, which takes in the next batch meanwhile.
        with commit_on_thread():
            async with sql.transaction_for(m.HeaderBinding, len(inserts) + 1):
                new = []
                for statement, params in inserts:
                    new += await sql.raw_rows(m.HeaderBinding, statement, *params)
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


def _arrays(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """One list per column (PostgreSQL's arrays), six empty ones for no rows."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(6)]


def _insert(rows: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    """`_BIND` for `rows` and its parameters: arrays on PostgreSQL, a VALUES list on SQLite."""
    if sql.is_postgres(m.HeaderBinding):
        return _BIND.format(rows=_PG_ROWS), _arrays(rows)
    values = ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(rows))
    named = (
        "SELECT column1 AS pair, column2 AS message_id, column3 AS digest,"
        " column4 AS seen_at, column5 AS expires_at, column6 AS cutoff"
    )
    return _BIND.format(rows=f"({named} FROM (VALUES {values})) AS v"), list(chain(*rows))
