"""Recount every vote from the chain (pure): the ballots the chain holds, the result it
announced, and the vote, ballot and box rows the tables hold must tell one story.

Input: one society's events (seq, kind, payload) in chain order and the rows of its votes,
named ballots and secret boxes. Output: `Finding`s (bot/ledger.py), each naming the vote, the
event or the row. The rules, by method:
1. named: the last `ballot`/`ballot_changed` of each voter is their ballot; the ballot table holds
   exactly those; the close's counts and names are those ballots counted.
2. secret: each voter has one `secret_ballot` event; the box holds as many entries as there are
   such voters (open or closed); the close carries the box (sorted [entry, choice] pairs) and its
   counts are the box counted; the box table holds that box.
3. show of hands: the last `hands_recorded` counts are the vote's hands and the close's counts.
4. every vote row has its `vote_opened` event and the other way round; a closed vote's row holds
   the close's result (the event payload without `by`) and its state is closed.
5. a vote closed without a count (withdrawn, `vote_withdrawn`; or its item deferred by the chair,
   an `item_deferred` that names it) has no ballot in the chain; its row holds that entry's
   payload without `by`, as rule 4 says.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.ledger import Finding, canonical_json

CHOICES = ("yes", "no", "abstain")


@dataclass(frozen=True, slots=True)
class VoteRow:
    id: int
    method: str
    state: str
    result: str
    hands: str


@dataclass(frozen=True, slots=True)
class BallotRow:
    id: int
    person: int
    choice: str


@dataclass(frozen=True, slots=True)
class BoxRow:
    """A vote's box as the tables hold it: (entry, choice) pairs; `rows`: the ids that hold it."""

    entries: tuple[tuple[str, str], ...]
    rows: tuple[int, ...]


@dataclass
class _Chained:
    opened: int | None = None  # seq
    method: str = ""
    named: dict[int, str] = field(default_factory=dict)
    secret_voters: set[int] = field(default_factory=set)
    hands: dict[str, int] | None = None
    closed: tuple[int, dict[str, Any]] | None = None
    uncounted: bool = False  # closed by `vote_withdrawn` or `item_deferred`: no count


def _counts(choices: Iterable[str]) -> dict[str, int]:
    out = dict.fromkeys(CHOICES, 0)
    for c in choices:
        out[c] = out.get(c, 0) + 1
    return out


def _voter(payload: Mapping[str, Any]) -> int:
    voter = payload.get("voter")
    return int(voter["id"]) if isinstance(voter, dict) else -1


def _fold(events: Iterable[tuple[int, str, Mapping[str, Any]]]) -> dict[int, _Chained]:
    votes: dict[int, _Chained] = {}
    for seq, kind, p in events:
        if "vote" not in p:
            continue
        try:
            vid = int(p["vote"])
        except (TypeError, ValueError):
            continue
        v = votes.setdefault(vid, _Chained())
        match kind:
            case "vote_opened":
                v.opened, v.method = seq, str(p.get("method", ""))
            case "ballot" | "ballot_changed":
                v.named[_voter(p)] = str(p.get("choice"))
            case "secret_ballot":
                v.secret_voters.add(_voter(p))
            case "hands_recorded":
                v.hands = {c: int(p.get("counts", {}).get(c, 0)) for c in CHOICES}
            case "vote_closed":
                v.closed = (seq, dict(p))
            case "vote_withdrawn" | "item_deferred":
                v.closed, v.uncounted = (seq, dict(p)), True
            case _:
                pass
    return votes


def recount(
    society: int,
    events: Iterable[tuple[int, str, Mapping[str, Any]]],
    votes: Mapping[int, VoteRow],
    ballots: Mapping[int, Sequence[BallotRow]],
    boxes: Mapping[int, BoxRow],
) -> list[Finding]:
    chained = _fold(events)
    out: list[Finding] = []

    def found(what: str, vote: int, **where: Any) -> None:
        out.append(Finding(what, society=society, vote=vote, **where))

    for vid in sorted(set(votes) - {v for v, c in chained.items() if c.opened is not None}):
        found("表决行不在记录链中（被插入）", vid, table="vote", row=vid)
    for vid, c in sorted(chained.items()):
        if c.opened is None:
            if c.closed is not None or c.named or c.secret_voters:
                found("记录链中有投票或结束记录，但没有发起表决的记录", vid)
            continue
        row = votes.get(vid)
        if row is None:
            found("记录链中的表决在表中已不存在（被删除）", vid, seq=c.opened, table="vote")
            continue
        if row.method != c.method:
            found(
                f"表决方式被改动：记录链为 {c.method}，表中为 {row.method}",
                vid,
                table="vote",
                row=vid,
            )
        out.extend(_tables(society, vid, c, row, ballots.get(vid, ()), boxes.get(vid)))
        if c.closed is not None:
            out.extend(_closed(society, vid, c, row, boxes.get(vid)))
        elif row.state == "closed":
            found("表中表决已结束，但记录链中没有结束表决的记录", vid, table="vote", row=vid)
    return out


def _tables(
    society: int,
    vid: int,
    c: _Chained,
    row: VoteRow,
    ballots: Sequence[BallotRow],
    box: BoxRow | None,
) -> list[Finding]:
    out: list[Finding] = []
    held = {b.person: b for b in ballots}
    for person in sorted(set(held) | set(c.named)):
        b, chained = held.get(person), c.named.get(person)
        if b is None:
            out.append(
                Finding(
                    f"成员 {person} 的记名票在表中缺失（记录链：{chained}）",
                    society,
                    vote=vid,
                    table="ballot",
                )
            )
        elif chained is None:
            out.append(
                Finding(
                    f"表中有成员 {person} 的记名票，记录链中没有（被插入）",
                    society,
                    vote=vid,
                    table="ballot",
                    row=b.id,
                )
            )
        elif b.choice != chained:
            out.append(
                Finding(
                    f"记名票被改动：记录链为 {chained}，表中为 {b.choice}",
                    society,
                    vote=vid,
                    table="ballot",
                    row=b.id,
                )
            )
    if c.method == "secret" or box is not None:
        entries = 0 if box is None else len(box.entries)
        if entries != len(c.secret_voters):
            out.append(
                Finding(
                    f"票箱有 {entries} 张票，记录链中投票的只有 {len(c.secret_voters)} 人",
                    society,
                    vote=vid,
                    table="secret_box_entry",
                    row=None if box is None or not box.rows else box.rows[0],
                )
            )
    if c.hands is not None:
        try:
            hands = json.loads(row.hands) if row.hands else {}
        except ValueError:
            hands = None
        if not isinstance(hands, dict) or {k: hands.get(k) for k in CHOICES} != c.hands:
            out.append(
                Finding(
                    f"举手结果被改动：记录链为 {_tally(c.hands)}，表中为 "
                    f"{_tally(hands) if isinstance(hands, dict) else repr(row.hands)}",
                    society,
                    vote=vid,
                    table="vote",
                    row=vid,
                )
            )
    elif row.hands:
        out.append(
            Finding("表中有举手结果，记录链中没有", society, vote=vid, table="vote", row=vid)
        )
    return out


def _closed(
    society: int, vid: int, c: _Chained, row: VoteRow, box: BoxRow | None = None
) -> list[Finding]:
    assert c.closed is not None
    seq, p = c.closed
    out: list[Finding] = []
    announced = {k: p.get(k) for k in CHOICES}
    if c.uncounted:
        if c.named or c.secret_voters or c.hands is not None:
            out.append(
                Finding(
                    "表决未经计票即结束（撤回或暂缓），记录链中却有投票", society, seq=seq, vote=vid
                )
            )
        counted: dict[str, Any] = announced  # nothing counted, nothing announced
    else:
        match c.method:
            case "named":
                counted = _counts(c.named.values())
                names = p.get("names") or {}
                if {k: len(names.get(k, [])) for k in CHOICES} != counted:
                    out.append(
                        Finding("公布的记名名单与记录链中的投票不符", society, seq=seq, vote=vid)
                    )
            case "secret":
                pairs = p.get("box") or []
                counted = _counts(str(x[1]) for x in pairs)
                if len(pairs) != len(c.secret_voters):
                    out.append(
                        Finding(
                            f"结束时票箱有 {len(pairs)} 张票，记录链中投票的只有 {len(c.secret_voters)} 人",
                            society,
                            seq=seq,
                            vote=vid,
                        )
                    )
                if box is not None and not box_matches(pairs, box):
                    out.append(
                        Finding(
                            "票箱表与记录链中结束时的票箱不符",
                            society,
                            seq=seq,
                            vote=vid,
                            table="secret_box_entry",
                            row=box.rows[0] if box.rows else None,
                        )
                    )
            case _:
                counted = c.hands if c.hands is not None else dict.fromkeys(CHOICES, -1)
    if announced != counted:
        out.append(
            Finding(f"公布的结果 {announced} 与重新计票 {counted} 不符", society, seq=seq, vote=vid)
        )
    if row.state != "closed":
        out.append(
            Finding(
                "记录链中表决已结束，表中仍未结束",
                society,
                seq=seq,
                vote=vid,
                table="vote",
                row=vid,
            )
        )
    result = {k: v for k, v in p.items() if k != "by"}
    try:
        stored = json.loads(row.result) if row.result else None
    except ValueError:
        stored = None
    if stored is None or canonical_json(stored) != canonical_json(result):
        out.append(
            Finding(
                "表中的表决结果与记录链中公布的结果不符",
                society,
                seq=seq,
                vote=vid,
                table="vote",
                row=vid,
            )
        )
    return out


def box_matches(chained_box: Sequence[Sequence[Any]], box: BoxRow) -> bool:
    return sorted((str(a), str(b)) for a, b in chained_box) == sorted(box.entries)


_CHOICE_NAMES = {"yes": "赞成", "no": "反对", "abstain": "弃权"}


def _tally(counts: Mapping[str, Any]) -> str:
    """{"yes": 5, "no": 0, "abstain": 1} -> 「赞成5 反对0 弃权1」 (other keys as they are)."""
    return " ".join(
        f"{_CHOICE_NAMES.get(k, k)}{counts.get(k)}"
        for k in (*CHOICES, *sorted(set(counts) - set(CHOICES)))
    )
