"""The 工作台's storage: what its pages read, and its own tables (login links, sessions, chain
checks).

The overview reads every society in a fixed number of statements (one per table, grouped by
society), whatever the number of societies: the pages sort, filter and page the facts in Python.
A society's page reads that society's rows in a fixed number of statements too. Everything is
hand-written SQL with `?` placeholders (see storage/sql.py); datetimes are bound in UTC and read
back through `when` (SQLite returns the ISO text the ORM stored, asyncpg a datetime).

Over 600 lines as one file: one read model (the overview's facts and a society's page) kept
beside the three small tables the pages own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot import governance as g
from bot.ledger import GENESIS
from storage import models as m
from storage import verify
from storage.db import server_key
from storage.snapshots import person_names as person_names  # the pages read these two
from storage.snapshots import society_ids as society_ids
from storage.snapshots import summaries_filed
from storage.sql import day, raw_execute, raw_rows, records, utc, when, when_opt

HELD = tuple(sorted(s.value for s in g.HELD_STATES))
_HELD_SQL = "(" + ", ".join(f"'{state}'" for state in HELD) + ")"
# Who came to a meeting (an attendance rate's count): there on time, late, or there and gone
# before the close. Only the meeting's roster counts: an observer (列席) signs in too.
CAME = tuple(sorted(s.value for s in (*g.PRESENT_STATES, g.Attendance.LEFT)))
_CAME_SQL = "(" + ", ".join(f"'{state}'" for state in CAME) + ")"


def came(roster: Iterable[int], attendance: Mapping[int, str]) -> int:
    """How many of the meeting's roster came (the society page's and the charts' rate)."""
    return sum(1 for pid in roster if attendance.get(pid) in CAME)


# ---------------------------------------------------------------------------------------------
# The overview


@dataclass(frozen=True, slots=True)
class ChainStatus:
    checked_at: datetime
    entries: int
    head: str
    broken_seq: int | None
    problem: str  # "" when all is whole; hash | link | gap (the chain), rows (its records)
    # what `yishi verify` found in the society's records besides the chain (not stored: the
    # page that checks shows them)
    findings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problem


@dataclass(frozen=True, slots=True)
class SocietyFacts:
    id: int
    name: str
    created_at: datetime
    term_end: date | None
    report_deadline: str
    roster_exception: bool
    roster_size: int
    leaders: int
    last_held: datetime | None
    held_in_year: int
    unsigned_minutes: int
    rules_filed: bool
    summaries: tuple[tuple[datetime, str], ...]  # annual summaries filed: when, title (in order)
    pending_changes: int
    pending_filings: int
    chain: ChainStatus | None


async def society_facts(year: tuple[datetime, datetime]) -> list[SocietyFacts]:
    """Every society's facts in one statement (one aggregate per table, joined to the society),
    and its annual summaries in another (the year each counts for is the planner's rule,
    reminders.plan.summary_years). `year` is the current local year as instants [start, end)."""
    start, end = utc(year[0]), utc(year[1])
    rows = await records(
        m.Society,
        "SELECT s.id, s.name, s.created_at, s.term_end, s.report_deadline, s.roster_exception,"
        " r.size, r.leaders, mt.last_held, mt.held_in_year, mt.unsigned, f.rules, f.pending,"
        " c.changes, k.checked_at, k.entries, k.head, k.broken_seq,"
        " k.problem FROM society AS s"
        " LEFT JOIN (SELECT society_id,"
        " SUM(CASE WHEN roster_role IN ('leader', 'member') THEN 1 ELSE 0 END) AS size,"
        " SUM(CASE WHEN roster_role = 'leader' THEN 1 ELSE 0 END) AS leaders"
        " FROM member GROUP BY society_id) AS r ON r.society_id = s.id"
        " LEFT JOIN (SELECT society_id,"
        f" MAX(CASE WHEN state IN {_HELD_SQL} THEN starts_at END) AS last_held,"
        f" SUM(CASE WHEN state IN {_HELD_SQL} AND starts_at >= ? AND starts_at < ?"
        " THEN 1 ELSE 0 END) AS held_in_year,"
        " SUM(CASE WHEN state = 'closed' THEN 1 ELSE 0 END) AS unsigned"
        " FROM meeting GROUP BY society_id) AS mt ON mt.society_id = s.id"
        " LEFT JOIN (SELECT society_id,"
        " SUM(CASE WHEN kind = 'work_rules' THEN 1 ELSE 0 END) AS rules,"
        " SUM(CASE WHEN acknowledged_at IS NULL THEN 1 ELSE 0 END) AS pending"
        " FROM filing GROUP BY society_id) AS f ON f.society_id = s.id"
        " LEFT JOIN (SELECT society_id, COUNT(*) AS changes FROM roster_change"
        " WHERE status = 'pending' GROUP BY society_id) AS c ON c.society_id = s.id"
        " LEFT JOIN chain_check AS k ON k.society_id = s.id"
        " ORDER BY s.id",
        start,
        end,
    )
    summaries = await summaries_filed()
    return [
        SocietyFacts(
            id=int(r["id"]),
            name=str(r["name"]),
            created_at=when(r["created_at"]),
            term_end=day(r["term_end"]),
            report_deadline=str(r["report_deadline"]),
            roster_exception=bool(r["roster_exception"]),
            roster_size=int(r["size"] or 0),
            leaders=int(r["leaders"] or 0),
            last_held=when_opt(r["last_held"]),
            held_in_year=int(r["held_in_year"] or 0),
            unsigned_minutes=int(r["unsigned"] or 0),
            rules_filed=int(r["rules"] or 0) > 0,
            summaries=tuple(summaries.get(int(r["id"]), ())),
            pending_changes=int(r["changes"] or 0),
            pending_filings=int(r["pending"] or 0),
            chain=None if r["checked_at"] is None else _check(r),
        )
        for r in rows
    ]


def _check(r: Mapping[str, Any]) -> ChainStatus:
    return ChainStatus(
        checked_at=when(r["checked_at"]),
        entries=int(r["entries"]),
        head=str(r["head"]),
        broken_seq=None if r["broken_seq"] is None else int(r["broken_seq"]),
        problem=str(r["problem"] or ""),
    )


# ---------------------------------------------------------------------------------------------
# Chain checks


async def verify_society_chain(society_id: int, now: datetime) -> ChainStatus:
    """Check one society as `yishi verify` does (its chain, head, sealed rows, recounted votes
    and signed minutes) and keep the result."""
    entries = (await verify.chain_entries(society_id)).get(f"society:{society_id}", [])
    broken = verify.chain_break(server_key(), entries, await verify.head_of(society_id))
    found = await society_findings(society_id)
    problem = broken.problem if broken is not None else "rows" if found else ""
    status = ChainStatus(
        checked_at=utc(now),
        entries=len(entries),
        head=entries[-1].hash if entries else GENESIS,
        broken_seq=None if broken is None else broken.seq,
        problem=problem,
        findings=found,
    )
    await save_chain_check(society_id, status)
    return status


async def society_findings(society_id: int) -> tuple[str, ...]:
    """What `yishi verify` finds wrong with one society's records, each said as it says it."""
    return tuple(f"{f.where()}：{f.what}" for f in (await verify.run(society_id)).findings)


async def save_chain_check(society_id: int, status: ChainStatus) -> None:
    values = (
        status.checked_at,
        status.entries,
        status.head,
        status.broken_seq,
        status.problem,
    )
    await raw_execute(
        m.ChainCheck,
        "INSERT INTO chain_check (society_id, checked_at, entries, head, broken_seq, problem)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (society_id) DO UPDATE SET"
        " checked_at = excluded.checked_at, entries = excluded.entries, head = excluded.head,"
        " broken_seq = excluded.broken_seq, problem = excluded.problem",
        society_id,
        *values,
    )


async def society_name(society_id: int) -> str | None:
    rows = await raw_rows(m.Society, "SELECT name FROM society WHERE id = ?", society_id)
    return str(rows[0]["name"]) if rows else None


# ---------------------------------------------------------------------------------------------
# A society's page


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    id: int
    kind: str
    person: str
    roster_role: str
    status: str
    reason: str
    note: str
    exception: bool
    requested_by: str
    decided_by: str
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class MeetingRecord:
    id: int
    number: int
    place: str
    starts_at: datetime
    state: str
    roster: tuple[int, ...]
    attendance: dict[int, str]  # person id -> status (no row: has not answered)
    items: list[ItemRecord]
    signed_version: int | None
    signed_digest: str


@dataclass(frozen=True, slots=True)
class ItemRecord:
    number: int
    title: str
    matter_type: str
    state: str
    result: dict[str, Any] | None  # the closed vote's announced result (totals, receipts)


async def roster_history(society_id: int) -> list[ChangeRecord]:
    rows = await raw_rows(
        m.RosterChange,
        "SELECT c.id, c.kind, c.roster_role, c.status, c.reason, c.decision_note, c.exception,"
        " c.created_at, c.decided_at, p.name AS person, r.name AS requested_by,"
        " d.name AS decided_by FROM roster_change AS c"
        " JOIN person AS p ON p.id = c.person_id JOIN person AS r ON r.id = c.requested_by_id"
        " LEFT JOIN person AS d ON d.id = c.decided_by_id WHERE c.society_id = ?"
        " ORDER BY c.id DESC",
        society_id,
    )
    return [_change_record(r) for r in rows]


@dataclass(frozen=True, slots=True)
class RegistrationRecord:
    """A name registered in one of the society's groups (「我是张伟」): a claim by an account,
    shown beside the person the account is (if any) so that a false one shows."""

    name: str
    platform: str
    account: str
    chat_id: str
    at: datetime
    person: str  # the person the account is bound to; "" when nobody yet


async def registrations_of(society_id: int) -> list[RegistrationRecord]:
    """Who registered which account under which name in which of the society's groups, and
    when: the latest first."""
    rows = await raw_rows(
        m.Registration,
        "SELECT r.name, r.platform, r.user_id, r.chat_id, r.at, p.name AS person"
        " FROM registration AS r JOIN chat_binding AS b ON b.platform = r.platform"
        " AND b.corp_id = r.corp_id AND b.chat_id = r.chat_id"
        " LEFT JOIN identity AS i ON i.platform = r.platform AND i.corp_id = r.corp_id"
        " AND i.user_id = r.user_id LEFT JOIN person AS p ON p.id = i.person_id"
        " WHERE b.society_id = ? ORDER BY r.at DESC, r.id DESC",
        society_id,
    )
    return [
        RegistrationRecord(
            name=str(r["name"]),
            platform=str(r["platform"]),
            account=str(r["user_id"]),
            chat_id=str(r["chat_id"]),
            at=when(r["at"]),
            person=str(r["person"] or ""),
        )
        for r in rows
    ]


def _change_record(r: Mapping[str, Any]) -> ChangeRecord:
    return ChangeRecord(
        id=int(r["id"]),
        kind=str(r["kind"]),
        person=str(r["person"]),
        roster_role=str(r["roster_role"]),
        status=str(r["status"]),
        reason=str(r["reason"]),
        note=str(r["decision_note"]),
        exception=bool(r["exception"]),
        requested_by=str(r["requested_by"]),
        decided_by=str(r["decided_by"] or ""),
        created_at=when(r["created_at"]),
        decided_at=when_opt(r["decided_at"]),
    )


async def meetings_of(society_id: int, *, signed_only: bool = False) -> list[MeetingRecord]:
    """The society's meetings (cancelled ones left out), newest first, with attendance, agenda
    items and the announced results of closed votes: four statements."""
    where = "state = 'signed'" if signed_only else "state <> 'cancelled'"
    meetings = await raw_rows(
        m.Meeting,
        "SELECT id, number, place, starts_at, state, roster FROM meeting"
        f" WHERE society_id = ? AND {where} ORDER BY number DESC",
        society_id,
    )
    if not meetings:
        return []
    scope = f"meeting_id IN (SELECT id FROM meeting WHERE society_id = ? AND {where})"
    attendance: dict[int, dict[int, str]] = {}
    for r in await raw_rows(
        m.Attendance,
        f"SELECT meeting_id, person_id, status FROM attendance WHERE {scope}",
        society_id,
    ):
        attendance.setdefault(int(r["meeting_id"]), {})[int(r["person_id"])] = str(r["status"])
    results: dict[int, dict[str, Any]] = {}
    for r in await raw_rows(
        m.Vote,
        "SELECT v.item_id, v.result FROM vote AS v JOIN agenda_item AS i ON i.id = v.item_id"
        f" WHERE i.{scope} AND v.state = 'closed' ORDER BY v.id",
        society_id,
    ):
        if r["result"]:
            results[int(r["item_id"])] = json.loads(str(r["result"]))  # the last vote counts
    items: dict[int, list[ItemRecord]] = {}
    for r in await raw_rows(
        m.AgendaItem,
        "SELECT id, meeting_id, number, title, matter_type, state FROM agenda_item"
        f" WHERE {scope} AND state NOT IN ('proposed', 'rejected') ORDER BY meeting_id, number",
        society_id,
    ):
        items.setdefault(int(r["meeting_id"]), []).append(
            ItemRecord(
                int(r["number"]),
                str(r["title"]),
                str(r["matter_type"]),
                str(r["state"]),
                results.get(int(r["id"])),
            )
        )
    signed: dict[int, tuple[int, str]] = {}
    for r in await raw_rows(
        m.Signature,
        "SELECT v.meeting_id, v.version, v.digest FROM signature AS s"
        " JOIN minutes_version AS v ON v.id = s.minutes_id"
        f" WHERE v.{scope} ORDER BY s.id",
        society_id,
    ):
        signed[int(r["meeting_id"])] = (int(r["version"]), str(r["digest"]))
    out = []
    for r in meetings:
        mid = int(r["id"])
        version = signed.get(mid)
        out.append(
            MeetingRecord(
                id=mid,
                number=int(r["number"]),
                place=str(r["place"]),
                starts_at=when(r["starts_at"]),
                state=str(r["state"]),
                roster=tuple(json.loads(str(r["roster"] or "[]"))),
                attendance=attendance.get(mid, {}),
                items=items.get(mid, []),
                signed_version=None if version is None else version[0],
                signed_digest="" if version is None else version[1],
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class SignedMinutes:
    meeting_id: int
    society_id: int
    number: int
    version: int
    body: str
    notes: str
    digest: str
    created_at: datetime


async def signed_minutes(society_id: int, meeting_id: int) -> SignedMinutes | None:
    """The signed version of a meeting's minutes, if the meeting belongs to the society."""
    rows = await raw_rows(
        m.MinutesVersion,
        "SELECT v.meeting_id, mt.society_id, mt.number, v.version, v.body, v.notes, v.digest,"
        " v.created_at FROM signature AS s JOIN minutes_version AS v ON v.id = s.minutes_id"
        " JOIN meeting AS mt ON mt.id = v.meeting_id"
        " WHERE v.meeting_id = ? AND mt.society_id = ? ORDER BY s.id DESC LIMIT 1",
        meeting_id,
        society_id,
    )
    if not rows:
        return None
    r = rows[0]
    return SignedMinutes(
        meeting_id=int(r["meeting_id"]),
        society_id=int(r["society_id"]),
        number=int(r["number"]),
        version=int(r["version"]),
        body=str(r["body"]),
        notes=str(r["notes"]),
        digest=str(r["digest"]),
        created_at=when(r["created_at"]),
    )


# ---------------------------------------------------------------------------------------------
# The committee's lists


@dataclass(frozen=True, slots=True)
class PendingFiling:
    id: int
    society_id: int
    society_name: str
    kind: str
    title: str
    body: str
    filed_by: str
    at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str


async def filings_of(
    society_id: int | None = None, *, pending_only: bool = False
) -> list[PendingFiling]:
    where = ["1 = 1"]
    params: list[object] = []
    if society_id is not None:
        where.append("f.society_id = ?")
        params.append(society_id)
    if pending_only:
        where.append("f.acknowledged_at IS NULL")
    rows = await raw_rows(
        m.Filing,
        "SELECT f.id, f.society_id, s.name AS society, f.kind, f.title, f.body, f.at,"
        " f.acknowledged_at, p.name AS filed_by, a.name AS acknowledged_by FROM filing AS f"
        " JOIN society AS s ON s.id = f.society_id JOIN person AS p ON p.id = f.filed_by_id"
        " LEFT JOIN person AS a ON a.id = f.acknowledged_by_id"
        f" WHERE {' AND '.join(where)} ORDER BY f.id DESC",
        *params,
    )
    return [
        PendingFiling(
            id=int(r["id"]),
            society_id=int(r["society_id"]),
            society_name=str(r["society"]),
            kind=str(r["kind"]),
            title=str(r["title"]),
            body=str(r["body"]),
            filed_by=str(r["filed_by"]),
            at=when(r["at"]),
            acknowledged_at=when_opt(r["acknowledged_at"]),
            acknowledged_by=str(r["acknowledged_by"] or ""),
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class PendingChange:
    id: int
    society_id: int
    society_name: str
    record: ChangeRecord


async def pending_changes() -> list[PendingChange]:
    rows = await raw_rows(
        m.RosterChange,
        "SELECT c.id, c.society_id, s.name AS society, c.kind, c.roster_role, c.status,"
        " c.reason, c.decision_note, c.exception, c.created_at, c.decided_at, p.name AS person,"
        " r.name AS requested_by, '' AS decided_by FROM roster_change AS c"
        " JOIN society AS s ON s.id = c.society_id JOIN person AS p ON p.id = c.person_id"
        " JOIN person AS r ON r.id = c.requested_by_id WHERE c.status = 'pending' ORDER BY c.id",
    )
    return [
        PendingChange(int(r["id"]), int(r["society_id"]), str(r["society"]), _change_record(r))
        for r in rows
    ]


# ---------------------------------------------------------------------------------------------
# Charts


async def held_meeting_starts(since: datetime) -> list[datetime]:
    rows = await raw_rows(
        m.Meeting,
        f"SELECT starts_at FROM meeting WHERE state IN {_HELD_SQL} AND starts_at >= ?",
        utc(since),
    )
    return [when(r["starts_at"]) for r in rows]


async def attendance_by_society(since: datetime) -> dict[int, tuple[int, int]]:
    """Per society, over meetings held since `since`: (members of the roster who came, members
    on the roster), counted as `came` counts one meeting."""
    rosters: dict[int, tuple[int, list[int]]] = {}
    for r in await raw_rows(
        m.Meeting,
        f"SELECT id, society_id, roster FROM meeting WHERE state IN {_HELD_SQL} AND starts_at >= ?",
        utc(since),
    ):
        rosters[int(r["id"])] = (int(r["society_id"]), json.loads(str(r["roster"] or "[]")))
    attendance: dict[int, dict[int, str]] = {}
    for r in await raw_rows(
        m.Attendance,
        "SELECT a.meeting_id, a.person_id, a.status FROM attendance AS a"
        " JOIN meeting AS mt ON mt.id = a.meeting_id"
        f" WHERE mt.state IN {_HELD_SQL} AND mt.starts_at >= ? AND a.status IN {_CAME_SQL}",
        utc(since),
    ):
        attendance.setdefault(int(r["meeting_id"]), {})[int(r["person_id"])] = str(r["status"])
    totals: dict[int, tuple[int, int]] = {}
    for mid, (sid, roster) in rosters.items():
        present, expected = totals.get(sid, (0, 0))
        totals[sid] = (present + came(roster, attendance.get(mid, {})), expected + len(roster))
    return {sid: counts for sid, counts in totals.items() if counts[1]}


# ---------------------------------------------------------------------------------------------
# Who a person is: the societies they have a role in


@dataclass(frozen=True, slots=True)
class Membership:
    society_id: int
    society_name: str
    roster_role: str  # leader | member | none
    recorder: bool
    liaison: bool


async def memberships(person_id: int) -> list[Membership]:
    rows = await raw_rows(
        m.Society,
        "SELECT s.id, s.name, m.roster_role, s.recorder_id, s.liaison_id FROM society AS s"
        " LEFT JOIN member AS m ON m.society_id = s.id AND m.person_id = ?"
        " WHERE m.person_id IS NOT NULL OR s.recorder_id = ? OR s.liaison_id = ?"
        " ORDER BY s.id",
        person_id,
        person_id,
        person_id,
    )
    return [
        Membership(
            int(r["id"]),
            str(r["name"]),
            str(r["roster_role"] or "none"),
            r["recorder_id"] is not None and int(r["recorder_id"]) == person_id,
            r["liaison_id"] is not None and int(r["liaison_id"]) == person_id,
        )
        for r in rows
    ]


async def identity_keys(person_id: int) -> list[tuple[str, str, str]]:
    rows = await raw_rows(
        m.Identity,
        "SELECT platform, corp_id, user_id FROM identity WHERE person_id = ?",
        person_id,
    )
    return [(str(r["platform"]), str(r["corp_id"]), str(r["user_id"])) for r in rows]


# ---------------------------------------------------------------------------------------------
# One-time login links and sessions (only hashes of the secrets are stored)


async def add_login_link(token_hash: str, person_id: int, now: datetime, expires: datetime) -> None:
    await m.WebLoginLink.create(
        token_hash=token_hash, person_id=person_id, created_at=now, expires_at=expires
    )


@dataclass(frozen=True, slots=True)
class LinkState:
    person_id: int
    expires_at: datetime
    used_at: datetime | None


async def login_link(token_hash: str) -> LinkState | None:
    rows = await raw_rows(
        m.WebLoginLink,
        "SELECT person_id, expires_at, used_at FROM web_login_link WHERE token_hash = ?",
        token_hash,
    )
    if not rows:
        return None
    r = rows[0]
    return LinkState(int(r["person_id"]), when(r["expires_at"]), when_opt(r["used_at"]))


async def use_login_link(token_hash: str, now: datetime) -> int | None:
    """Mark the link used if it is unused and unexpired; return its person, else None. One
    conditional statement: of two concurrent uses, one wins."""
    rows = await raw_rows(
        m.WebLoginLink,
        "UPDATE web_login_link SET used_at = ? WHERE token_hash = ? AND used_at IS NULL"
        " AND expires_at > ? RETURNING person_id",
        utc(now),
        token_hash,
        utc(now),
    )
    return int(rows[0]["person_id"]) if rows else None


async def add_session(key_hash: str, person_id: int, now: datetime, user_agent: str) -> int:
    row = await m.WebSession.create(
        key_hash=key_hash,
        person_id=person_id,
        created_at=now,
        last_seen_at=now,
        user_agent=user_agent[:200],
    )
    return int(row.id)


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: int
    person_id: int
    person_name: str
    created_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None
    user_agent: str


def _session(r: dict[str, Any]) -> SessionRow:
    return SessionRow(
        id=int(r["id"]),
        person_id=int(r["person_id"]),
        person_name=str(r["name"]),
        created_at=when(r["created_at"]),
        last_seen_at=when(r["last_seen_at"]),
        revoked_at=when_opt(r["revoked_at"]),
        user_agent=str(r["user_agent"]),
    )


_SESSION_SQL = (
    "SELECT w.id, w.person_id, p.name, w.created_at, w.last_seen_at, w.revoked_at, w.user_agent"
    " FROM web_session AS w JOIN person AS p ON p.id = w.person_id"
)


async def session_by_key(key_hash: str) -> SessionRow | None:
    rows = await raw_rows(m.WebSession, f"{_SESSION_SQL} WHERE w.key_hash = ?", key_hash)
    return _session(rows[0]) if rows else None


async def touch_session(session_id: int, now: datetime) -> None:
    await raw_execute(
        m.WebSession, "UPDATE web_session SET last_seen_at = ? WHERE id = ?", utc(now), session_id
    )


async def revoke_session(session_id: int, now: datetime) -> bool:
    rows = await raw_rows(
        m.WebSession,
        "UPDATE web_session SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING id",
        utc(now),
        session_id,
    )
    return bool(rows)


async def live_sessions(idle_since: datetime) -> list[SessionRow]:
    rows = await raw_rows(
        m.WebSession,
        f"{_SESSION_SQL} WHERE w.revoked_at IS NULL AND w.last_seen_at > ?"
        " ORDER BY w.last_seen_at DESC",
        utc(idle_since),
    )
    return [_session(r) for r in rows]
