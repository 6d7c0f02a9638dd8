"""The hash chain of the event log and the seals of the record (pure).

Each society has one chain. An entry's hash is

- keyed (every entry written since the chain was keyed):
  HMAC-SHA256(chain key, prev_hash + canonical JSON of the entry), the chain key being the server
  key's sub-key "chain" (bot/keys.py): recomputing the hashes after an edit needs the key;
- legacy (entries written before, seq < the head's `keyed_from`): SHA-256(prev_hash + the same
  JSON). The first keyed entry's MAC covers the last legacy hash, and the keyed head covers a
  chain that has no keyed entry yet, so re-hashing the legacy part breaks a keyed MAC.

The head of each chain lives outside the event table (storage/seals.py): seq, hash and a digest of
every governance row of the society, under a MAC. Storage appends and reads; this module computes
and checks, so `yishi verify` and an independent script agree on one definition."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def keyed_digest(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    chain: str
    seq: int
    at: str  # ISO 8601, UTC
    kind: str
    meeting_id: int | None
    payload: str  # canonical JSON
    prev_hash: str
    hash: str
    row_id: int = 0


def _body(chain: str, seq: int, at: str, kind: str, meeting_id: int | None, payload: str) -> str:
    return canonical_json(
        {
            "chain": chain,
            "seq": seq,
            "at": at,
            "kind": kind,
            "meeting": meeting_id,
            "payload": payload,
        }
    )


def entry_hash(
    prev_hash: str,
    *,
    chain: str,
    seq: int,
    at: str,
    kind: str,
    meeting_id: int | None,
    payload: str,
    key: bytes | None = None,
) -> str:
    """The entry's hash: keyed with `key` (the chain sub-key), legacy SHA-256 without."""
    text = prev_hash + _body(chain, seq, at, kind, meeting_id, payload)
    return digest(text) if key is None else keyed_digest(key, text)


@dataclass(frozen=True, slots=True)
class Break:
    chain: str
    seq: int
    row_id: int
    problem: str  # "hash" | "link" | "gap"


def verify_chain(
    entries: Iterable[Entry], *, key: bytes | None = None, keyed_from: int = 1
) -> Break | None:
    """Check one chain, entries in seq order; return the first broken entry. Entries from
    `keyed_from` on are checked with `key` (without a key, every entry as legacy)."""
    prev = GENESIS
    expected_seq = 1
    for e in entries:
        if e.seq != expected_seq:
            return Break(e.chain, e.seq, e.row_id, "gap")
        if e.prev_hash != prev:
            return Break(e.chain, e.seq, e.row_id, "link")
        recomputed = entry_hash(
            prev,
            chain=e.chain,
            seq=e.seq,
            at=e.at,
            kind=e.kind,
            meeting_id=e.meeting_id,
            payload=e.payload,
            key=key if key is not None and e.seq >= keyed_from else None,
        )
        if not hmac.compare_digest(recomputed, e.hash):
            return Break(e.chain, e.seq, e.row_id, "hash")
        prev = e.hash
        expected_seq += 1
    return None


# ---------------------------------------------------------------------------------------------
# Seals of the governance rows and the chain head


def row_mac(key: bytes, table: str, row_id: int, values: Sequence[Any]) -> str:
    """The MAC of one governance row: its sealed columns' values in the table's column order
    (normalised by storage)."""
    return keyed_digest(key, canonical_json([table, row_id, list(values)]))


@dataclass(frozen=True, slots=True)
class TableSum:
    """A keyed set digest of one table's rows of a society: how many, and the XOR of their
    MACs. Adding or removing one row changes it; forging a row's MAC needs the key."""

    count: int = 0
    xor: str = GENESIS

    def add(self, mac: str) -> TableSum:
        return TableSum(self.count + 1, _xor(self.xor, mac))

    def remove(self, mac: str) -> TableSum:
        return TableSum(self.count - 1, _xor(self.xor, mac))

    def as_json(self) -> list[Any]:
        return [self.count, self.xor]


def _xor(a: str, b: str) -> str:
    return f"{int(a, 16) ^ int(b, 16):064x}"


def table_sums(macs: Iterable[tuple[str, str]]) -> dict[str, TableSum]:
    """(table, mac) pairs -> each table's sum."""
    sums: dict[str, TableSum] = {}
    for table, mac in macs:
        sums[table] = sums.get(table, TableSum()).add(mac)
    return sums


def sums_json(sums: Mapping[str, TableSum]) -> str:
    return canonical_json({t: s.as_json() for t, s in sorted(sums.items()) if s.count})


def parse_sums(text: str) -> dict[str, TableSum]:
    raw = json.loads(text or "{}")
    return {t: TableSum(int(v[0]), str(v[1])) for t, v in raw.items()}


def head_mac(
    key: bytes, *, chain_key: str, keyed_from: int, seq: int, head: str, tables: str
) -> str:
    return keyed_digest(
        key,
        canonical_json(
            {"chain": chain_key, "from": keyed_from, "seq": seq, "head": head, "tables": tables}
        ),
    )


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing `yishi verify` found, and where: society, event number, vote, table, row."""

    what: str  # Chinese, for the operator
    society: int | None = None
    seq: int | None = None
    vote: int | None = None
    table: str | None = None
    row: int | None = None

    def where(self, names: Mapping[int, str] | None = None) -> str:
        """Where, as said to people: 「学会 1（名称） · 第12条记录 · 表 vote 行 3」 (the name
        when `names` has it)."""
        parts = []
        if self.society is not None:
            name = (names or {}).get(self.society)
            parts.append(f"学会 {self.society}" + (f"（{name}）" if name else ""))
        if self.seq is not None:
            parts.append(f"第{self.seq}条记录")
        if self.vote is not None:
            parts.append(f"表决 {self.vote}")
        if self.table is not None:
            parts.append(f"表 {self.table}" + (f" 行 {self.row}" if self.row is not None else ""))
        return " · ".join(parts) if parts else "整个数据库"
