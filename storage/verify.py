"""`yishi verify`: everything the record can be checked against, read in one pass.

1. Each society's chain: keyed MACs from the head's `keyed_from` on (SHA-256 before), links,
   sequence (bot/ledger.py `verify_chain`).
2. Each chain's head (storage/seals.py): present for every society, its MAC, and naming the last
   entry (a deleted last entry, a deleted chain, an entry added behind the application's back).
3. Each governance row against its seal, and each table's set digest against the head: an
   edited, inserted or deleted row, also when its seal went with it.
4. Every vote recounted from the chain and compared with the announced result and the vote,
   ballot and box rows (bot/recount.py).
5. Signed minutes against their signatures.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.keys import SealError, ServerKey
from bot.ledger import (
    GENESIS,
    Break,
    Entry,
    Finding,
    TableSum,
    digest,
    table_sums,
    verify_chain,
)
from bot.recount import BallotRow, BoxRow, VoteRow, recount
from storage import models as m
from storage import seals, secrecy
from storage.db import server_key
from storage.sql import raw_rows, when

PROBLEMS = {
    "hash": "内容与哈希不符（被修改，或修改后重算了哈希）",
    "link": "前序哈希不符（被删除、插入或重排）",
    "gap": "序号不连续（有记录被删除或插入）",
}


@dataclass(frozen=True, slots=True)
class Report:
    entries: int
    societies: int
    rows: int
    findings: list[Finding]

    @property
    def clean(self) -> bool:
        return not self.findings


def _entry(r: Mapping[str, Any]) -> Entry:
    return Entry(
        chain=str(r["chain"]),
        seq=int(r["seq"]),
        at=when(r["at"]).isoformat(timespec="seconds"),
        kind=str(r["kind"]),
        meeting_id=None if r["meeting_id"] is None else int(r["meeting_id"]),
        payload=str(r["payload"]),
        prev_hash=str(r["prev_hash"]),
        hash=str(r["hash"]),
        row_id=int(r["id"]),
    )


_EVENTS = "SELECT id, chain, seq, at, kind, meeting_id, payload, prev_hash, hash FROM event_log"


async def chain_entries(society_id: int | None = None) -> dict[str, list[Entry]]:
    """Entries by chain, in seq order: one society's, or all."""
    if society_id is None:
        rows = await raw_rows(m.EventLog, _EVENTS + " ORDER BY chain, seq, id")
    else:
        rows = await raw_rows(
            m.EventLog, _EVENTS + " WHERE chain = ? ORDER BY seq, id", f"society:{society_id}"
        )
    chains: dict[str, list[Entry]] = {}
    for r in rows:
        chains.setdefault(str(r["chain"]), []).append(_entry(r))
    return chains


def chain_break(key: ServerKey, entries: list[Entry], head: seals.HeadRow | None) -> Break | None:
    keyed_from = 1 if head is None else head.keyed_from
    return verify_chain(entries, key=seals.chain_subkey(key), keyed_from=keyed_from)


async def head_of(society_id: int) -> seals.HeadRow | None:
    return (await seals.heads()).get(seals.chain_key(server_key(), society_id))


def _society_of(chain: str) -> int | None:
    """The society of a chain named exactly 「society:<id>」 as the bot writes it; any other
    spelling of a number (「02」, full-width digits) is an unknown chain, not that society's."""
    prefix, _, rest = chain.partition(":")
    if prefix != "society" or not (rest.isascii() and rest.isdigit()) or str(int(rest)) != rest:
        return None
    return int(rest)


async def run(society_id: int | None = None) -> Report:
    """The whole check of every society, or of one (the workbench's page, `yishi export`): its
    chain, head, rows, votes and signed minutes; what belongs to no society is looked for only
    in the whole check."""
    key = server_key()
    only = None if society_id is None else seals.chain_key(key, society_id)
    raw = {
        name: await (
            raw_rows(m.RowSeal, t.select())
            if society_id is None
            else raw_rows(m.RowSeal, t.select(f"WHERE {t.society} = ?"), society_id)
        )
        for name, t in seals.TABLES.items()
    }
    box_rows, box_findings = await _box_rows(society_id)
    live: dict[int, dict[tuple[str, int], str]] = {}
    for name, table_rows in raw.items():
        t = seals.TABLES[name]
        for r in table_rows:
            live.setdefault(int(r["society__"]), {})[(name, int(r["row_id__"]))] = seals.mac_of(
                key, t, r
            )
    chains = await chain_entries(society_id)
    heads = await seals.heads(only)
    heads_seen = bool(heads)
    any_genuine = any(seals.head_is_genuine(key, ck, h) for ck, h in heads.items())
    sealed: dict[str, dict[tuple[str, int], str]] = {}
    for _, ck, tbl, row_id, mac in await seals.seals(only):
        sealed.setdefault(ck, {})[(tbl, row_id)] = mac
    societies = {int(r["row_id__"]) for r in raw["society"]}
    findings: list[Finding] = list(box_findings)
    ids = (set(societies) | set(live)) if society_id is None else {society_id}
    for name in chains:
        sid = _society_of(name)
        if sid is None:
            findings.append(Finding(f"未知的记录链 {name}", table="event_log"))
        else:
            ids.add(sid)
    entries = 0
    for sid in sorted(ids):
        ck = seals.chain_key(key, sid)
        chain = chains.get(f"society:{sid}", [])
        entries += len(chain)
        head = heads.pop(ck, None)
        rows = live.get(sid, {})
        seals_of = sealed.pop(ck, {})
        findings += _society(key, sid, sid in societies, ck, chain, head, rows, seals_of)
        findings += recount(sid, _vote_events(chain), *_vote_tables(raw, sid, box_rows))
    for h in heads.values():
        findings.append(
            Finding(
                f"链头（第{h.seq}条）不属于任何现存学会：一个学会的记录可能被整个删除",
                table="chain_head",
                row=h.id,
            )
        )
    for rows_left in sealed.values():
        for tbl, row_id in sorted(rows_left):
            findings.append(Finding("封印所属的学会已不存在（行被删除）", table=tbl, row=row_id))
    findings += await _minutes(society_id)
    if heads_seen and not any_genuine:
        findings.insert(
            0,
            Finding(
                "没有一个链头的 MAC 与服务器密钥相符：是否换了密钥（YISHI_SECRET_KEY 或 secret.key）？"
                "请用写入这些记录时的密钥核验"
            ),
        )
    return Report(entries, len(societies), sum(len(v) for v in live.values()), findings)


def _society(
    key: ServerKey,
    sid: int,
    exists: bool,
    ck: str,
    chain: list[Entry],
    head: seals.HeadRow | None,
    rows: dict[tuple[str, int], str],
    sealed: dict[tuple[str, int], str],
) -> list[Finding]:
    out: list[Finding] = []
    if not exists:
        out.append(Finding("学会行被删除，但它的记录链或记录仍在", sid, table="society", row=sid))
    if head is None:
        out.append(Finding("链头缺失（chain_head 中该学会的行被删除）", sid, table="chain_head"))
    genuine = head is not None and seals.head_is_genuine(key, ck, head)
    if head is not None and not genuine:
        out.append(Finding("链头被改动（MAC 不符）", sid, table="chain_head", row=head.id))
    broken = chain_break(key, chain, head)
    if broken is not None:
        out.append(
            Finding(
                f"记录链 {broken.chain} 校验失败：第{broken.seq}条{PROBLEMS[broken.problem]}",
                sid,
                seq=broken.seq,
                table="event_log",
                row=broken.row_id,
            )
        )
    if head is not None and genuine:
        last_seq, last_hash = (chain[-1].seq, chain[-1].hash) if chain else (0, GENESIS)
        if head.seq > last_seq:
            out.append(
                Finding(
                    f"记录链被截断：链头记到第{head.seq}条，现存只到第{last_seq}条",
                    sid,
                    seq=last_seq + 1,
                    table="event_log",
                )
            )
        elif head.seq < last_seq:
            out.append(
                Finding(
                    f"链头之后多出第{head.seq + 1}至{last_seq}条记录（不是应用写入的）",
                    sid,
                    seq=head.seq + 1,
                    table="event_log",
                )
            )
        elif head.head != last_hash:
            out.append(Finding("最后一条记录与链头不符", sid, seq=last_seq, table="event_log"))
    row_level: set[str] = set()
    for tbl, row_id in sorted(set(rows) | set(sealed)):
        now, then = rows.get((tbl, row_id)), sealed.get((tbl, row_id))
        if now == then:
            continue
        row_level.add(tbl)
        what = (
            "行没有封印（不是应用写入的，或封印被删除）"
            if then is None
            else "行被删除"
            if now is None
            else "行内容被改动"
        )
        out.append(Finding(what, sid, table=tbl, row=row_id))
    if head is not None and genuine:
        now_sums = table_sums((tbl, mac) for (tbl, _), mac in rows.items())
        for tbl in sorted(set(now_sums) | set(head.tables)):
            have, want = now_sums.get(tbl, TableSum()), head.tables.get(tbl, TableSum())
            if tbl not in row_level and have != want:
                out.append(
                    Finding(
                        f"表的行与链头不符（链头记 {want.count} 行，现有 {have.count} 行）",
                        sid,
                        table=tbl,
                    )
                )
    return out


_VOTE_KINDS = frozenset(
    {
        "vote_opened",
        "ballot",
        "ballot_changed",
        "secret_ballot",
        "hands_recorded",
        "vote_closed",
        "vote_withdrawn",
        "item_deferred",
    }
)


def _vote_events(chain: Iterable[Entry]) -> list[tuple[int, str, dict[str, Any]]]:
    out = []
    for e in chain:
        if e.kind in _VOTE_KINDS:
            try:
                payload = json.loads(e.payload)
            except ValueError:
                continue
            if isinstance(payload, dict):
                out.append((e.seq, e.kind, payload))
    return out


_BOX_JOIN = (
    "JOIN vote v ON v.id = t.vote_id JOIN agenda_item i ON i.id = v.item_id "
    "JOIN meeting s ON s.id = i.meeting_id"
)


async def _box_rows(society_id: int | None = None) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Every secret box entry with its society (or those of one society): a closed vote's plain
    (digest, choice), an open vote's sealed one opened with the key; a sealed entry that does not
    open is a finding (and counts as ("?", "?"))."""
    where, params = ("", ()) if society_id is None else (" WHERE s.society_id = ?", (society_id,))
    out: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for r in await raw_rows(
        m.SecretBoxEntry,
        f"SELECT s.society_id AS society__, t.vote_id, t.digest, t.choice, v.state AS vstate__"
        f" FROM secret_box_entry t {_BOX_JOIN}{where}",
        *params,
    ):
        if r["vstate__"] != "closed":
            # the plain box is written only by the close: while the vote is open every ballot
            # is a sealed entry, so a plain one was put there behind the bot's back
            findings.append(
                Finding(
                    "表决尚未结束，票箱表里却有明文选票（只有结束表决时才写入，被插入或改动）",
                    int(r["society__"]),
                    vote=int(r["vote_id"]),
                    table="secret_box_entry",
                )
            )
        out.append({**r, "entry": (str(r["digest"]), str(r["choice"]))})
    for r in await raw_rows(
        m.SecretBallotSealed,
        f"SELECT s.society_id AS society__, t.vote_id, t.id, t.sealed"
        f" FROM secret_ballot_sealed t {_BOX_JOIN}{where}",
        *params,
    ):
        try:
            digest, choice = secrecy.open_ballot(int(r["vote_id"]), str(r["id"]), str(r["sealed"]))
            entry = (digest, choice.value)
        except SealError:
            entry = ("?", "?")
            findings.append(
                Finding(
                    "无记名票箱里有一张密封选票用服务器密钥打不开（被改动或伪造）",
                    int(r["society__"]),
                    vote=int(r["vote_id"]),
                    table="secret_ballot_sealed",
                )
            )
        out.append({**r, "entry": entry})
    return out, findings


def _vote_tables(
    raw: Mapping[str, list[dict[str, Any]]], sid: int, box_rows: list[dict[str, Any]]
) -> tuple[dict[int, VoteRow], dict[int, list[BallotRow]], dict[int, BoxRow]]:
    def mine(table: str) -> list[dict[str, Any]]:
        return [r for r in raw[table] if int(r["society__"]) == sid]

    votes = {
        int(r["row_id__"]): VoteRow(
            int(r["row_id__"]),
            str(r["method"]),
            str(r["state"]),
            str(r["result"] or ""),
            str(r["hands"] or ""),
        )
        for r in mine("vote")
    }
    ballots: dict[int, list[BallotRow]] = {}
    for r in mine("ballot"):
        ballots.setdefault(int(r["vote_id"]), []).append(
            BallotRow(int(r["row_id__"]), int(r["person_id"]), str(r["choice"]))
        )
    entries: dict[int, list[tuple[str, str]]] = {}
    for r in box_rows:
        if int(r["society__"]) == sid:
            entries.setdefault(int(r["vote_id"]), []).append(r["entry"])
    boxes = {vote: BoxRow(tuple(pairs), ()) for vote, pairs in entries.items()}
    return votes, ballots, boxes


async def _changed_minutes(society_id: int | None = None) -> list[dict[str, Any]]:
    """Signed minutes (of every society, or of one) whose stored text no longer matches the
    signed digest."""
    where, params = ("", ()) if society_id is None else (" WHERE g.society_id = ?", (society_id,))
    rows = await raw_rows(
        m.Signature,
        "SELECT s.digest AS signed, v.id AS minutes_id, v.body, v.notes, v.digest,"
        " v.meeting_id, v.version, g.society_id FROM signature s"
        " JOIN minutes_version v ON v.id = s.minutes_id JOIN meeting g ON g.id = v.meeting_id"
        + where,
        *params,
    )
    return [
        r
        for r in rows
        if digest(f"{r['body']}\n{r['notes']}") != r["signed"] or r["digest"] != r["signed"]
    ]


async def _minutes(society_id: int | None = None) -> list[Finding]:
    return [
        Finding(
            f"已签发纪要被改动：会议 {r['meeting_id']} 第{r['version']}版",
            int(r["society_id"]),
            table="minutes_version",
            row=int(r["minutes_id"]),
        )
        for r in await _changed_minutes(society_id)
    ]


async def signed_minutes_changed() -> list[tuple[int, int]]:
    """(meeting id, version) of signed minutes whose text no longer matches the signature."""
    return [(int(r["meeting_id"]), int(r["version"])) for r in await _changed_minutes()]


async def chains_checked() -> tuple[int, Break | None]:
    """Every chain's entries checked with its head's key boundary: (entries, first break)."""
    key = server_key()
    heads = await seals.heads()
    checked = 0
    for chain, entries in sorted((await chain_entries()).items()):
        sid = _society_of(chain)
        head = None if sid is None else heads.get(seals.chain_key(key, sid))
        checked += len(entries)
        broken = chain_break(key, entries, head)
        if broken is not None:
            return checked, broken
    return checked, None
