"""The hash chain of the event log (pure): hash = SHA-256(prev_hash + canonical JSON of the entry).

The chain is per society. Storage appends and reads entries; this module computes and checks
hashes, so `yishi verify` and any independent script agree on one definition."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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


def entry_hash(
    prev_hash: str,
    *,
    chain: str,
    seq: int,
    at: str,
    kind: str,
    meeting_id: int | None,
    payload: str,
) -> str:
    body = canonical_json(
        {
            "chain": chain,
            "seq": seq,
            "at": at,
            "kind": kind,
            "meeting": meeting_id,
            "payload": payload,
        }
    )
    return digest(prev_hash + body)


@dataclass(frozen=True, slots=True)
class Break:
    chain: str
    seq: int
    row_id: int
    problem: str  # "hash" | "link" | "gap"


def verify_chain(entries: Iterable[Entry]) -> Break | None:
    """Check one chain, entries in seq order; return the first broken entry."""
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
        )
        if recomputed != e.hash:
            return Break(e.chain, e.seq, e.row_id, "hash")
        prev = e.hash
        expected_seq += 1
    return None
