"""Seals of the governance record: one MAC per governance row and the head of each society's
chain, kept beside the tables they protect (bot/ledger.py defines the MACs).

Rules:
1. `TABLES` lists every governance table with the columns its seal covers and how a row finds its
   society. A column added later is not covered until it is listed here, and listing it needs a
   migration that re-seals the table's rows (as 0010 seals the rows that existed before it).
   Pure queues and caches (outbox, inbound, processed messages, reminders, web sessions) and the
   people register (person, identity: shared by all societies) are not governance records. The
   secret box (storage/secrecy.py) has no seals: a seal row would follow the order of casting;
   its sealed entries are AEAD-bound to their ids and its plain entries to the close event, and
   verify counts and recounts them against the chain.
2. Every write of a governance row in storage/ calls `touch` after it (a new or deleted row;
   `seal_new` for a row just inserted, from the values written) or runs inside `rewrite` (a
   changed row): the row's seal and its society's head change in the same transaction.
   `rewrite` checks the row against its seal first; a row that no longer matches is not
   re-sealed, so a tampered row stays visible to `yishi verify` after later writes. Where the
   bot decides from rows (a vote's close, a changed ballot, a quorum from the attendance), it
   refuses to act on one that does not match (`rewrite(strict=True)`, `select_sealed` with
   `check_rows`: `Tampered`); a vote's close also checks the society's rows it counts from
   against the head's set digest (`check_sets`: rows deleted with their seal).
3. The head (`chain_head`, keyed by an HMAC of the society) holds the chain's last seq and hash
   and each table's set digest (count and XOR of the row MACs), under a MAC. `advance` moves it
   when an event is appended, only when it still names the chain's previous last entry: a
   truncated chain or a forged head is left as it was found, for verify to report.
4. Inside `batched` (every command's savepoint, `repo.atomic`) a head is read once, locked,
   together with its chain's last entry, and written once at the end of the block, still inside
   the transaction: a command pays one read and one write of `chain_head` however many rows and
   entries it adds (not even the read when the message's scene check read the head, locked on
   PostgreSQL, and no head has moved since: `offered`, storage/scenes.py). Nothing outside the transaction
   ever sees a head that is not written.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from bot.bounded import Bounded
from bot.keys import SealError, ServerKey
from bot.ledger import GENESIS, TableSum, head_mac, parse_sums, row_mac, sums_json
from storage import models as m
from storage.db import server_key
from storage.sql import can_lock_rows, raw_execute, raw_rows, utc

_MEETING = "JOIN meeting s ON s.id = t.meeting_id"
_ITEM = "JOIN agenda_item i ON i.id = t.item_id JOIN meeting s ON s.id = i.meeting_id"
_VOTE = (
    "JOIN vote v ON v.id = t.vote_id JOIN agenda_item i ON i.id = v.item_id "
    "JOIN meeting s ON s.id = i.meeting_id"
)


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]
    joins: str = ""  # how a row reaches its society: `s.society_id` after these joins
    society: str = "s.society_id"

    def select(self, where: str = "") -> str:
        cols = ", ".join(f"t.{c}" for c in self.columns)
        return (
            f"SELECT t.id AS row_id__, {self.society} AS society__, {cols} "
            f"FROM {self.name} t {self.joins} {where}"
        )

    def select_sealed(self, where: str = "") -> str:
        """`select` with each row's seal (`seal_mac__`, `seal_key__`; NULL: unsealed) in the
        same read: checking what a decision counts costs no statement more (`unmatched`)."""
        cols = ", ".join(f"t.{c}" for c in self.columns)
        return (
            f"SELECT t.id AS row_id__, {self.society} AS society__, {cols}, "
            "rs.mac AS seal_mac__, rs.chain_key AS seal_key__ "
            f"FROM {self.name} t {self.joins} "
            f"LEFT JOIN row_seal rs ON rs.tbl = '{self.name}' AND rs.row_id = t.id {where}"
        )


def _table(name: str, columns: str, joins: str = "", society: str = "s.society_id") -> Table:
    return Table(name, tuple(columns.split()), joins, society)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        _table(
            "society",
            "name term_start term_end roster_exception recorder_id liaison_id report_deadline "
            "settings created_at",
            society="t.id",
        ),
        _table("member", "society_id person_id roster_role position", society="t.society_id"),
        _table(
            "chat_binding", "platform corp_id chat_id society_id webhook", society="t.society_id"
        ),
        _table(
            "roster_change",
            "society_id kind person_id roster_role position reason status requested_by_id "
            "decided_by_id exception decision_note created_at decided_at",
            society="t.society_id",
        ),
        _table(
            "meeting",
            "society_id number place starts_at state convened_by_id chair_id roster created_at "
            "opened_at closed_at",
            society="t.society_id",
        ),
        _table(
            "filing",
            "society_id kind title body filed_by_id at acknowledged_by_id acknowledged_at",
            society="t.society_id",
        ),
        _table(
            "agenda_item",
            "meeting_id number title matter_type state proposed_by_id carried_from_id "
            "emergency_reason outcome carried",
            _MEETING,
        ),
        _table("attendance", "meeting_id person_id status reason at", _MEETING),
        _table("observer", "meeting_id person_id reason", _MEETING),
        _table("notice_ack", "meeting_id person_id at", _MEETING),
        _table(
            "minutes_version",
            "meeting_id version body notes digest created_by_id created_at",
            _MEETING,
        ),
        _table(
            "signature",
            "minutes_id signer_id digest at",
            "JOIN minutes_version mv ON mv.id = t.minutes_id JOIN meeting s ON s.id = mv.meeting_id",
        ),
        _table("recusal", "item_id person_id", _ITEM),
        _table("written_opinion", "item_id person_id text at", _ITEM),
        _table(
            "vote",
            "item_id method state electorate opened_at closed_at result hands closes_at",
            _ITEM,
        ),
        _table("ballot", "vote_id person_id choice receipt changes", _VOTE),
        _table("secret_voter_list", "vote_id voters", _VOTE),
    )
}


# ---------------------------------------------------------------------------------------------
# Keys and row content


@lru_cache(maxsize=4096)
def chain_key(key: ServerKey, society_id: int) -> str:
    """The key of a society's head and seals (every write of the society asks for it)."""
    return key.mac("chain-head-key", f"society:{society_id}")


@lru_cache(maxsize=32)
def subkey(key: ServerKey, purpose: str) -> bytes:
    return key.derive(purpose)


def chain_subkey(key: ServerKey) -> bytes:
    return subkey(key, "chain")


def _norm(value: Any) -> Any:
    """One column value as the seal covers it (each engine reads its own writes alike)."""
    if isinstance(value, datetime):
        return utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def mac_of(key: ServerKey, table: Table, row: Mapping[str, Any]) -> str:
    values = [_norm(row[c]) for c in table.columns]
    return row_mac(subkey(key, "row-seal"), table.name, int(row["row_id__"]), values)


class Tampered(SealError):
    """Governance rows the bot was about to act on do not match their seals (edited, inserted
    or moved behind its back): nothing is decided from them. Names the rows, never their
    content (it reaches the logs)."""

    def __init__(self, table: str, row_ids: Iterable[int], why: str = "") -> None:
        self.table = table
        self.row_ids = tuple(sorted(row_ids))
        super().__init__(why or f"{table} rows {list(self.row_ids)} do not match their seals")


def unmatched(table: str, rows: Iterable[Mapping[str, Any]]) -> list[int]:
    """The ids of rows read with `Table.select_sealed` whose content or society is not what
    their seal says, or that have no seal: CPU only, the seals came with the rows."""
    key = server_key()
    spec = TABLES[table]
    bad = []
    for r in rows:
        sealed = r["seal_mac__"]
        if (
            sealed is None
            or mac_of(key, spec, r) != sealed
            or chain_key(key, int(r["society__"])) != r["seal_key__"]
        ):
            bad.append(int(r["row_id__"]))
    return bad


def check_rows(table: str, rows: Iterable[Mapping[str, Any]]) -> None:
    """`Tampered` unless every row read with `Table.select_sealed` matches its seal."""
    bad = unmatched(table, rows)
    if bad:
        raise Tampered(table, bad)


@dataclass(frozen=True, slots=True)
class Sealed:
    """One governance row as it is now: where it belongs and its MAC."""

    table: str
    row_id: int
    society_id: int
    mac: str


async def live_rows(key: ServerKey, tables: Iterable[Table] | None = None) -> list[Sealed]:
    """Every governance row of every society, with the MAC of its content now."""
    out: list[Sealed] = []
    for table in TABLES.values() if tables is None else tables:
        for r in await raw_rows(m.RowSeal, table.select()):
            out.append(
                Sealed(table.name, int(r["row_id__"]), int(r["society__"]), mac_of(key, table, r))
            )
    return out


async def _live_row(key: ServerKey, table: Table, row_id: int) -> Sealed | None:
    rows = await raw_rows(m.RowSeal, table.select("WHERE t.id = ?"), row_id)
    if not rows:
        return None
    r = rows[0]
    return Sealed(table.name, row_id, int(r["society__"]), mac_of(key, table, r))


async def _seal_of(table: str, row_id: int) -> tuple[int, str, str] | None:
    rows = await raw_rows(
        m.RowSeal,
        "SELECT id, chain_key, mac FROM row_seal WHERE tbl = ? AND row_id = ?",
        table,
        row_id,
    )
    return (
        None if not rows else (int(rows[0]["id"]), str(rows[0]["chain_key"]), str(rows[0]["mac"]))
    )


# ---------------------------------------------------------------------------------------------
# Writing: rows and heads


async def touch(table: str, row_id: int) -> None:
    """Seal one row as it is now (a new row, or gone: its seal leaves) and move its head."""
    key = server_key()
    spec = TABLES[table]
    live = await _live_row(key, spec, row_id)
    seal = await _seal_of(table, row_id)
    old_mac = None if seal is None else seal[2]
    new_mac = None if live is None else live.mac
    if old_mac == new_mac:
        return
    new_ck = None if live is None else chain_key(key, live.society_id)
    # The head first: a society's first row finds no seal yet and gets a fresh head.
    if seal is not None and old_mac is not None:
        await _move_head(key, seal[1], table, remove=old_mac)
    if live is not None and new_ck is not None and new_mac is not None:
        await _move_head(key, new_ck, table, add=new_mac, society_id=live.society_id)
    if seal is None and new_ck is not None and new_mac is not None:
        await m.RowSeal.create(chain_key=new_ck, tbl=table, row_id=row_id, mac=new_mac)
    elif seal is not None and new_ck is None:
        await raw_execute(m.RowSeal, "DELETE FROM row_seal WHERE id = ?", seal[0])
    elif seal is not None:
        await raw_execute(
            m.RowSeal,
            "UPDATE row_seal SET chain_key = ?, mac = ? WHERE id = ?",
            new_ck,
            new_mac,
            seal[0],
        )


async def seal_new(table: str, row_id: int, society_id: int, row: Mapping[str, Any]) -> None:
    """`touch` for a row this transaction has just inserted, sealed from the values it wrote
    (`row`: every column the seal covers) instead of reading them back. A seal already held by
    the row's id (left by a deleted row) takes `touch`'s way, which replaces it."""
    key = server_key()
    mac = mac_of(key, TABLES[table], {**row, "row_id__": row_id})
    ck = chain_key(key, society_id)
    # The head first, as in `touch` (a society's first row gets a fresh head).
    await _move_head(key, ck, table, add=mac, society_id=society_id)
    written = await raw_rows(
        m.RowSeal,
        "INSERT INTO row_seal (chain_key, tbl, row_id, mac) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (tbl, row_id) DO NOTHING RETURNING id",
        ck,
        table,
        row_id,
        mac,
    )
    if not written:
        await _move_head(key, ck, table, remove=mac, society_id=society_id)
        await touch(table, row_id)


async def intact(table: str, row_id: int) -> bool:
    """Whether the row is what its seal says (both absent counts as intact)."""
    key = server_key()
    live = await _live_row(key, TABLES[table], row_id)
    seal = await _seal_of(table, row_id)
    if live is None or seal is None:
        return live is None and seal is None
    return live.mac == seal[2] and chain_key(key, live.society_id) == seal[1]


@asynccontextmanager
async def rewrite(table: str, *row_ids: int, strict: bool = False) -> AsyncIterator[None]:
    """Change rows: each is re-sealed afterwards only if it matched its seal before. `strict`:
    a row that does not match is not changed at all (`Tampered`, before any write): for the
    rows a decision or a changed ballot stands on."""
    keep = [r for r in row_ids if await intact(table, r)]
    if len(keep) < len(row_ids):
        if strict:
            raise Tampered(table, set(row_ids) - set(keep))
        writes.blind += 1
    yield
    for r in keep:
        await touch(table, r)


@dataclass
class _Head:
    id: int
    keyed_from: int
    seq: int
    head: str
    tables: dict[str, TableSum]
    mac: str
    # The chain's last entry (seq, hash) in the event log, when read with the head; None: not
    # known. (0, GENESIS): the chain has no entry.
    tip: tuple[int, str] | None = None
    dirty: bool = False  # moved in a batch, not written yet
    # Its MAC matched when it was read (a head this process made or moved stays so): checked
    # once per read, not again at every move in memory.
    genuine: bool = True


@dataclass
class _Batch:
    """The heads read in one `batched` block, by chain key."""

    heads: dict[str, _Head] = field(default_factory=dict)
    outer: _Batch | None = None

    def find(self, ck: str) -> _Head | None:
        """This block's copy of a head, taken from an enclosing block's if it holds one (the
        copy is dropped with this block when it fails)."""
        if ck in self.heads:
            return self.heads[ck]
        outer = self.outer.find(ck) if self.outer is not None else None
        if outer is None:
            return None
        mine = replace(outer, tables=dict(outer.tables))
        self.heads[ck] = mine
        return mine


_batch: ContextVar[_Batch | None] = ContextVar("seal_batch", default=None)


@asynccontextmanager
async def batched() -> AsyncIterator[None]:
    """Within the block, each head is read once (locked, with its chain's last entry) and the
    moves are kept in memory; the moved heads are written once when the block ends. A block
    inside another hands its heads to the outer one, which writes them; a block that fails
    leaves the heads as they were before it (its writes are rolled back with its savepoint)."""
    outer = _batch.get()
    batch = _Batch(outer=outer)
    token = _batch.set(batch)
    try:
        yield
    finally:
        _batch.reset(token)
    if outer is not None:
        outer.heads.update(batch.heads)
        return
    key = server_key()
    for ck, h in batch.heads.items():
        if h.dirty:
            await _save_head(key, ck, h)


# A head's columns as read (`_head`, and the scene check's read that `offered` passes on).
HEAD_COLUMNS = ("id", "keyed_from", "seq", "head", "tables", "mac")
_LAST = "FROM event_log WHERE chain = ? ORDER BY seq DESC LIMIT 1"
# The chain's last entry as two more columns of a head's read; both parameters are the chain's
# name (`society:<id>`).
TIP_COLUMNS = f"(SELECT seq {_LAST}) AS tip_seq, (SELECT hash {_LAST}) AS tip_hash"


def _tip_of(r: Mapping[str, Any]) -> tuple[int, str]:
    return (0, GENESIS) if r["tip_seq"] is None else (int(r["tip_seq"]), str(r["tip_hash"]))


async def _head(ck: str, *, lock: bool, chain: str | None = None) -> _Head | None:
    """The head of `ck`; with `chain` (its society's chain name), the chain's last entry in the
    same read."""
    tip, params = ("", ()) if chain is None else (f", {TIP_COLUMNS}", (chain, chain))
    sql = f"SELECT {', '.join(HEAD_COLUMNS)}{tip} FROM chain_head WHERE chain_key = ?"
    if lock and can_lock_rows(m.ChainHead):
        sql += " FOR UPDATE"
    rows = await raw_rows(m.ChainHead, sql, *params, ck)
    if not rows:
        return None
    r = rows[0]
    h = _checked_head(ck, int(r["id"]), r)
    if chain is not None:
        h.tip = _tip_of(r)
    return h


def _checked_head(ck: str, row_id: int, r: Mapping[str, Any]) -> _Head:
    """A head from its stored columns, its MAC checked unless this process found (or wrote)
    exactly these columns under the same key before."""
    key = server_key()
    stored = _Stored(
        key, int(r["keyed_from"]), int(r["seq"]), str(r["head"]), str(r["tables"]), str(r["mac"])
    )
    tables = _checked.tables(ck, stored)
    h = _Head(
        row_id,
        stored.keyed_from,
        stored.seq,
        stored.head,
        parse_sums(stored.tables) if tables is None else tables,
        stored.mac,
    )
    if tables is None:
        h.genuine = head_is_genuine(key, ck, h)
        if h.genuine:
            _checked.keep(ck, stored, h.tables)
    return h


def current_sums(ck: str, stored: Mapping[str, Any] | None) -> Mapping[str, TableSum] | None:
    """The table sums of the head of `ck` as this transaction has it now, when it is genuine:
    the copy the current batch (or an enclosing one) holds, which counts this transaction's own
    writes, else `stored` (the head's columns keyed_from, seq, head, tables and mac as the
    caller read them in this transaction; None: no head). None: no genuine head.
    Read-only (`storage/scenes.py` compares them)."""
    batch = _batch.get()
    while batch is not None:
        held = batch.heads.get(ck)
        if held is not None:
            return held.tables if held.genuine else None
        batch = batch.outer
    if stored is None:
        return None
    h = _checked_head(ck, 0, stored)
    return h.tables if h.genuine else None


@dataclass
class Writes:
    """What this process has written of the sealed tables and heads, counted: `moves` (every
    change of a head, in a batch's copy or stored: a row sealed, re-sealed or unsealed, an entry
    appended, a head written or created), `blind` (rows rewritten without re-sealing, since they
    no longer matched their seal: their head does not show the change)."""

    moves: int = 0
    blind: int = 0


writes = Writes()


@dataclass(frozen=True, slots=True)
class _Stored:
    """A chain head's row as stored: all its MAC check depends on, with the key."""

    key: ServerKey
    keyed_from: int
    seq: int
    head: str
    tables: str
    mac: str


class _Checked:
    """The heads last found genuine (or written) by this process, by chain key, with their
    parsed sums: a head read back exactly as it was (the same key, columns and MAC) needs no
    second check, since the check is a function of those alone. Any other row, a changed one
    included, is checked in full; `yishi verify` checks every head itself. Bounded: the one
    kept longest ago goes first."""

    def __init__(self, size: int) -> None:
        self._heads: Bounded[str, tuple[_Stored, dict[str, TableSum]]] = Bounded(size)

    def tables(self, ck: str, stored: _Stored) -> dict[str, TableSum] | None:
        """A copy of the head's sums when it was checked as stored; None: check it."""
        found = self._heads.get(ck)
        if found is None or found[0] != stored:
            return None
        return dict(found[1])

    def keep(self, ck: str, stored: _Stored, tables: Mapping[str, TableSum]) -> None:
        self._heads.put(ck, (stored, dict(tables)))


_checked = _Checked(size=1024)


async def _held_head(ck: str, society_id: int | None) -> _Head | None:
    """The head to move, locked: inside a batch, the batch's copy (read the first time, or
    taken from the read the transaction's scene check made: `offered`)."""
    chain = None if society_id is None else f"society:{society_id}"
    batch = _batch.get()
    if batch is None:
        return await _head(ck, lock=True, chain=chain)
    found = batch.find(ck)
    if found is None:
        found = _offered_head(ck, chain)
        if found is None:
            found = await _head(ck, lock=True, chain=chain)
        if found is not None:
            batch.heads[ck] = found
    return found


async def check_sets(society_id: int, tables: Sequence[str]) -> None:
    """`Tampered` unless the society's seals of `tables` are the set its head counts (rule 3:
    how many, and the XOR of their MACs) and each still has its row: a row deleted with its
    seal, or a seal left without its row, is seen before a decision counts from the rest (a
    row inserted or edited fails its own seal, `check_rows`). One read of the seals, by the
    society's chain key; the head is the one the command's writes move (read once, locked).
    Costs the society's rows of `tables`, not its history: for a vote's close."""
    key = server_key()
    ck = chain_key(key, society_id)
    head = await _held_head(ck, society_id)
    if head is None or not head.genuine:
        raise Tampered("chain_head", (), f"society {society_id}: no genuine head")
    joins = " ".join(
        f"LEFT JOIN {t} x{i} ON rs.tbl = '{t}' AND x{i}.id = rs.row_id"
        for i, t in enumerate(tables)
    )
    live = " OR ".join(f"x{i}.id IS NOT NULL" for i in range(len(tables)))
    listed = ", ".join(f"'{TABLES[t].name}'" for t in tables)
    rows = await raw_rows(
        m.RowSeal,
        f"SELECT rs.tbl, rs.row_id, rs.mac, CASE WHEN {live} THEN 1 ELSE 0 END AS live "
        f"FROM row_seal rs {joins} WHERE rs.chain_key = ? AND rs.tbl IN ({listed})",
        ck,
    )
    counts = dict.fromkeys(tables, 0)
    xors = dict.fromkeys(tables, int(GENESIS, 16))
    for r in rows:
        tbl = str(r["tbl"])
        if not r["live"]:
            raise Tampered(
                tbl, (int(r["row_id"]),), f"{tbl} row {r['row_id']}: gone, its seal left"
            )
        counts[tbl] += 1
        xors[tbl] ^= int(r["mac"], 16)  # `TableSum.add`, without a hex string per row
    for t in tables:
        have = TableSum(counts[t], f"{xors[t]:064x}")
        want = head.tables.get(t, TableSum())
        if have != want:
            raise Tampered(
                t,
                (),
                f"society {society_id}: {have.count} sealed {t} rows, its head counts {want.count}",
            )


# Told of every row move (chain key, table), before the head shows it (`storage/scenes.py`).
moved: Callable[[str, str], None] | None = None

# The head of a chain key as the current transaction read it before any move since
# (`storage/scenes.py`: the scene check, which reads it with its chain's last entry where no
# other writer can move it while this transaction writes: SQLite's one writer, PostgreSQL's
# row lock): its `HEAD_COLUMNS` and `TIP_COLUMNS`. None: read it again.
offered: Callable[[str], Mapping[str, Any] | None] | None = None


def _offered_head(ck: str, chain: str | None) -> _Head | None:
    row = None if offered is None or chain is None else offered(ck)
    if row is None:
        return None
    h = _checked_head(ck, int(row["id"]), row)
    h.tip = _tip_of(row)
    return h


def expected_head_mac(
    key: ServerKey, ck: str, keyed_from: int, seq: int, head: str, tables: str
) -> str:
    return head_mac(
        subkey(key, "chain-head"),
        chain_key=ck,
        keyed_from=keyed_from,
        seq=seq,
        head=head,
        tables=tables,
    )


def head_is_genuine(key: ServerKey, ck: str, h: _Head | HeadRow) -> bool:
    return expected_head_mac(key, ck, h.keyed_from, h.seq, h.head, sums_json(h.tables)) == h.mac


async def _fresh_head(key: ServerKey, ck: str) -> _Head | None:
    """A head for a society that has none: only when nothing of it is sealed or chained yet
    (otherwise its head was removed, and that stays visible). Inside a batch, the batch holds it
    (the row is written now, its moves at the end)."""
    sealed = await raw_rows(
        m.RowSeal, "SELECT 1 AS one FROM row_seal WHERE chain_key = ? LIMIT 1", ck
    )
    if sealed:
        return None
    writes.moves += 1
    mac = expected_head_mac(key, ck, 1, 0, GENESIS, sums_json({}))
    row = await m.ChainHead.create(
        chain_key=ck, keyed_from=1, seq=0, head=GENESIS, tables="{}", mac=mac
    )
    fresh = _Head(row.id, 1, 0, GENESIS, {}, mac)
    batch = _batch.get()
    if batch is not None:
        batch.heads[ck] = fresh
    return fresh


async def _save_head(key: ServerKey, ck: str, h: _Head) -> None:
    writes.moves += 1
    tables = sums_json(h.tables)
    mac = h.mac = expected_head_mac(key, ck, h.keyed_from, h.seq, h.head, tables)
    await raw_execute(
        m.ChainHead,
        "UPDATE chain_head SET seq = ?, head = ?, tables = ?, mac = ? WHERE id = ?",
        h.seq,
        h.head,
        tables,
        mac,
        h.id,
    )
    # Kept whether or not the transaction commits: it says only that this row, if found so,
    # is genuine.
    _checked.keep(ck, _Stored(key, h.keyed_from, h.seq, h.head, tables, mac), h.tables)


async def _put_head(key: ServerKey, ck: str, h: _Head) -> None:
    """A moved head: written (with its new MAC) now, or by the batch at its end."""
    if _batch.get() is None:
        await _save_head(key, ck, h)
    else:
        h.dirty = True


async def _move_head(
    key: ServerKey,
    ck: str,
    table: str,
    *,
    add: str | None = None,
    remove: str | None = None,
    society_id: int | None = None,
) -> None:
    h = await _held_head(ck, society_id)
    writes.moves += 1
    if moved is not None:
        moved(ck, table)
    if h is None:
        if remove is not None:
            return
        h = await _fresh_head(key, ck)
        if h is None:
            return
    if not h.genuine:
        return
    s = h.tables.get(table, TableSum())
    if remove is not None:
        s = s.remove(remove)
    if add is not None:
        s = s.add(add)
    h.tables[table] = s
    await _put_head(key, ck, h)


async def chain_tip(society_id: int) -> tuple[int, str]:
    """The last entry (seq, hash) of the society's chain as the event log holds it; (0,
    GENESIS) for an empty chain. Inside a batch it comes with the head's read (the caller holds
    the society lock: nobody else appends)."""
    chain = f"society:{society_id}"
    batch = _batch.get()
    h = None
    if batch is not None:
        h = await _held_head(chain_key(server_key(), society_id), society_id)
        if h is not None and h.tip is not None:
            return h.tip
    rows = await raw_rows(
        m.EventLog,
        "SELECT seq, hash FROM event_log WHERE chain = ? ORDER BY seq DESC LIMIT 1",
        chain,
    )
    tip = (0, GENESIS) if not rows else (int(rows[0]["seq"]), str(rows[0]["hash"]))
    if h is not None:
        h.tip = tip
    return tip


async def advance(
    society_id: int, *, prev_seq: int, prev_hash: str, seq: int, new_hash: str
) -> None:
    """The chain grew by one entry: move the head, if it named the previous last entry."""
    key = server_key()
    ck = chain_key(key, society_id)
    h = await _held_head(ck, society_id)
    if h is None:
        if prev_seq != 0:
            return
        h = await _fresh_head(key, ck)
        if h is None:
            return
    writes.moves += 1
    h.tip = (seq, new_hash)  # the event log's last entry, whatever the head says
    if not h.genuine or h.seq != prev_seq or h.head != prev_hash:
        return
    h.seq, h.head = seq, new_hash
    await _put_head(key, ck, h)


# ---------------------------------------------------------------------------------------------
# Reading for verify


@dataclass(frozen=True, slots=True)
class HeadRow:
    id: int
    chain_key: str
    keyed_from: int
    seq: int
    head: str
    tables: dict[str, TableSum]
    mac: str


async def heads(chain_key: str | None = None, *, limit: int | None = None) -> dict[str, HeadRow]:
    """Every chain's head, or the one of `chain_key` (the first `limit` heads)."""
    sql = "SELECT id, chain_key, keyed_from, seq, head, tables, mac FROM chain_head"
    if chain_key is not None:
        sql += " WHERE chain_key = ?"
    if limit is not None:
        sql += f" ORDER BY id LIMIT {int(limit)}"
    rows = await raw_rows(m.ChainHead, sql, *(() if chain_key is None else (chain_key,)))
    return {h.chain_key: h for h in map(head_row, rows)}


def head_row(r: Mapping[str, Any]) -> HeadRow:
    """A chain head from its stored columns (a table, or a backup's copy of it)."""
    try:
        tables = parse_sums(r["tables"])
    except (ValueError, TypeError, KeyError, IndexError, json.JSONDecodeError):
        tables = {"?": TableSum(-1)}
    return HeadRow(
        int(r["id"]),
        str(r["chain_key"]),
        int(r["keyed_from"]),
        int(r["seq"]),
        str(r["head"]),
        tables,
        str(r["mac"]),
    )


async def seals(chain_key: str | None = None) -> list[tuple[int, str, str, int, str]]:
    """Every row seal, or those of `chain_key`: (seal id, chain key, table, row id, mac)."""
    sql = "SELECT id, chain_key, tbl, row_id, mac FROM row_seal"
    rows = await (
        raw_rows(m.RowSeal, sql)
        if chain_key is None
        else raw_rows(m.RowSeal, sql + " WHERE chain_key = ?", chain_key)
    )
    return [
        (int(r["id"]), str(r["chain_key"]), str(r["tbl"]), int(r["row_id"]), str(r["mac"]))
        for r in rows
    ]


# ---------------------------------------------------------------------------------------------
# Sealing what existed before the chain was keyed (migration 0010)


async def seal_existing(key: ServerKey) -> int:
    """Give every society a head and every governance row a seal: the chain's existing entries
    stay legacy-hashed (`keyed_from` = the next seq) and are covered by the keyed head. Returns
    the number of societies sealed."""
    chains: dict[int, tuple[int, str]] = {}
    for r in await raw_rows(
        m.EventLog,
        "SELECT chain, seq, hash FROM event_log e WHERE seq = "
        "(SELECT MAX(seq) FROM event_log x WHERE x.chain = e.chain)",
    ):
        chain = str(r["chain"])
        if chain.startswith("society:"):
            chains[int(chain.split(":", 1)[1])] = (int(r["seq"]), str(r["hash"]))
    rows = await live_rows(key)
    by_society: dict[int, list[Sealed]] = {}
    for s in rows:
        by_society.setdefault(s.society_id, []).append(s)
    ids = {int(r["id"]) for r in await raw_rows(m.Society, "SELECT id FROM society")}
    for sid in sorted(ids | set(chains)):
        ck = chain_key(key, sid)
        if await _head(ck, lock=False) is not None:
            continue
        seq, head = chains.get(sid, (0, GENESIS))
        sums: dict[str, TableSum] = {}
        for s in by_society.get(sid, []):
            await m.RowSeal.create(chain_key=ck, tbl=s.table, row_id=s.row_id, mac=s.mac)
            sums[s.table] = sums.get(s.table, TableSum()).add(s.mac)
        tables = sums_json(sums)
        await m.ChainHead.create(
            chain_key=ck,
            keyed_from=seq + 1,
            seq=seq,
            head=head,
            tables=tables,
            mac=expected_head_mac(key, ck, seq + 1, seq, head, tables),
        )
    return len(ids | set(chains))
