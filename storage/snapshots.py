"""The reminder planner's read model: each society's state as the planner reads it (the
`SocietyView` of bot/reminders/plan.py), and the look-ups that address its messages (names, identities, bound chats).

Hand-written SQL selecting only what the planner reads, a few statements whatever the number of
societies: the sweep reads every society it re-plans, up to all of them. Also the event log's
high-water mark and the societies whose chain grew past it (what the sweep re-plans).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot import governance as g
from bot.events import Platform
from bot.reminders.plan import MeetingView, SocietyView, VoteView
from storage import acks, sql
from storage import models as m
from storage.repo import electorate_of
from storage.sql import raw_rows, rows_in, when, when_opt

# ---------------------------------------------------------------------------------------------
# Society snapshots


async def society_ids() -> list[int]:
    return [int(r["id"]) for r in await raw_rows(m.Society, "SELECT id FROM society ORDER BY id")]


async def society_views(ids: Sequence[int]) -> list[SocietyView]:
    """Snapshots for the planner of the societies `ids`, loaded in a few queries whatever their
    number."""
    out: list[SocietyView] = []
    for chunk in sql.chunks(sorted(set(ids))):
        test, params = sql.membership(m.Society, chunk)
        out += await _society_views(_Scope(test, tuple(params)))
    return out


async def society_id_ranges(size: int) -> list[tuple[int, int]]:
    """Every society's id, as (first, last) ranges of at most `size` societies each, in order."""
    ids = await society_ids()
    return [(chunk[0], chunk[-1]) for chunk in sql.chunks(ids, size)]


async def society_views_between(first: int, last: int) -> list[SocietyView]:
    """Snapshots of the societies with `first <= id <= last` (a range of `society_id_ranges`):
    the tables read by range, with no IN list."""
    return await _society_views(_Scope("BETWEEN ? AND ?", (first, last)))


@dataclass(frozen=True, slots=True)
class _Scope:
    """The societies one read covers: a test on a society id column (`IN (...)`, `= ANY(?)` or
    `BETWEEN ? AND ?`) and its parameters."""

    test: str
    params: tuple[Any, ...]

    def where(self, column: str) -> str:
        return f"{column} {self.test}"


async def _society_views(scope: _Scope) -> list[SocietyView]:
    societies = await raw_rows(
        m.Society,
        "SELECT id, name, created_at, term_end, report_deadline, liaison_id FROM society"
        f" WHERE {scope.where('id')} ORDER BY id",
        *scope.params,
    )
    if not societies:
        return []
    roles = await _roster_roles(scope)
    meetings = await _meetings(scope)
    votes = await _votes_by_society(meetings)
    filed = await _summaries_filed(scope)
    out = []
    for s in societies:
        sid = int(s["id"])
        roster = roles.get(sid, [])
        out.append(
            SocietyView(
                id=sid,
                name=str(s["name"]),
                created_at=when(s["created_at"]),
                term_end=sql.day(s["term_end"]),
                report_deadline=str(s["report_deadline"]),
                leader_ids=tuple(p for p, role in roster if role == "leader"),
                member_ids=tuple(p for p, role in roster if role in ("leader", "member")),
                liaison_id=None if s["liaison_id"] is None else int(s["liaison_id"]),
                meetings=tuple(meetings.get(sid, ())),
                summary_filed=tuple(filed.get(sid, ())),
                votes=tuple(votes.get(sid, ())),
            )
        )
    return out


async def _roster_roles(scope: _Scope) -> dict[int, list[tuple[int, str]]]:
    """society id -> (person id, roster role), in roster order (as repo.members lists it)."""
    out: dict[int, list[tuple[int, str]]] = {}
    for r in await raw_rows(
        m.Member,
        f"SELECT society_id, person_id, roster_role FROM member WHERE {scope.where('society_id')}"
        " ORDER BY id",
        *scope.params,
    ):
        out.setdefault(int(r["society_id"]), []).append(
            (int(r["person_id"]), str(r["roster_role"]))
        )
    return out


async def summaries_filed() -> dict[int, list[tuple[datetime, str]]]:
    """Every society's annual summaries (when, title) in filing order (the workbench's facts;
    the year each counts for is reminders.plan.summary_years)."""
    return await _summaries_filed(_Scope("IS NOT NULL", ()))  # every society


async def _summaries_filed(scope: _Scope) -> dict[int, list[tuple[datetime, str]]]:
    out: dict[int, list[tuple[datetime, str]]] = {}
    for r in await raw_rows(
        m.Filing,
        f"SELECT society_id, at, title FROM filing WHERE {scope.where('society_id')}"
        " AND kind = ? ORDER BY id",
        *scope.params,
        "annual_summary",
    ):
        out.setdefault(int(r["society_id"]), []).append((when(r["at"]), str(r["title"])))
    return out


_UPCOMING = frozenset({g.MeetingState.DRAFT.value, g.MeetingState.CONVENED.value})


async def _meetings(scope: _Scope) -> dict[int, list[MeetingView]]:
    """society id -> its meetings not cancelled, by number."""
    rows = await raw_rows(
        m.Meeting,
        "SELECT id, society_id, number, starts_at, state, closed_at, created_at, convened_by_id,"
        f" chair_id, roster FROM meeting WHERE {scope.where('society_id')} AND state <> ?"
        " ORDER BY society_id, number",
        *scope.params,
        g.MeetingState.CANCELLED.value,
    )
    ids = [int(r["id"]) for r in rows]
    upcoming = [int(r["id"]) for r in rows if r["state"] in _UPCOMING]
    moved = await acks.renotices(upcoming)
    acked = await acks.acknowledged(upcoming, moved)
    answered = await _people_by_meeting(
        "SELECT meeting_id, person_id FROM attendance WHERE meeting_id IN ({values})"
        " AND status <> ?",
        ids,
        g.Attendance.UNKNOWN.value,
    )
    signed = await _signed(ids)
    out: dict[int, list[MeetingView]] = {}
    for r in rows:
        mid = int(r["id"])
        out.setdefault(int(r["society_id"]), []).append(
            MeetingView(
                id=mid,
                number=int(r["number"]),
                starts_at=when(r["starts_at"]),
                state=g.MeetingState(r["state"]),
                closed_at=when_opt(r["closed_at"]),
                signed=mid in signed or r["state"] == g.MeetingState.SIGNED.value,
                answered=frozenset(answered.get(mid, ())),
                convened_at=moved[mid][-1] if mid in moved else when(r["created_at"]),
                notices=1 + len(moved.get(mid, ())),
                convened_by=int(r["convened_by_id"]),
                chair_id=None if r["chair_id"] is None else int(r["chair_id"]),
                roster=tuple(int(p) for p in json.loads(r["roster"] or "[]")),
                acked=acked.get(mid, frozenset()),
            )
        )
    return out


async def _people_by_meeting(
    statement: str, meeting_ids: Sequence[int], *after: object
) -> dict[int, set[int]]:
    """meeting id -> person ids, from a `SELECT meeting_id, person_id ... IN ({values})`."""
    out: dict[int, set[int]] = {}
    for r in await rows_in(m.Meeting, statement, meeting_ids, after=after):
        out.setdefault(int(r["meeting_id"]), set()).add(int(r["person_id"]))
    return out


async def _signed(meeting_ids: Sequence[int]) -> set[int]:
    """The meetings with signed minutes."""
    rows = await rows_in(
        m.Signature,
        "SELECT DISTINCT v.meeting_id FROM signature AS s"
        " JOIN minutes_version AS v ON v.id = s.minutes_id WHERE v.meeting_id IN ({values})",
        meeting_ids,
    )
    return {int(r["meeting_id"]) for r in rows}


async def _votes_by_society(meetings: Mapping[int, list[MeetingView]]) -> dict[int, list[VoteView]]:
    """society id -> the open votes with a deadline of its meetings in session."""
    society_of = {mv.id: sid for sid, views in meetings.items() for mv in views}
    held = sorted(
        mv.id for views in meetings.values() for mv in views if mv.state is g.MeetingState.OPEN
    )
    out: dict[int, list[VoteView]] = {}
    if held:
        for v in await _open_votes_with_deadline(held):
            out.setdefault(society_of[v.meeting_id], []).append(v)
    return out


async def _open_votes_with_deadline(meeting_ids: Sequence[int]) -> list[VoteView]:
    rows = await rows_in(
        m.Vote,
        "SELECT v.id, i.meeting_id, i.number, i.title, v.method, v.electorate, v.opened_at,"
        " v.closes_at, v.hands FROM vote AS v JOIN agenda_item AS i ON i.id = v.item_id"
        " WHERE i.meeting_id IN ({values}) AND v.state = ? AND v.closes_at IS NOT NULL",
        meeting_ids,
        after=[g.VoteState.OPEN.value],
    )
    if not rows:
        return []
    rows.sort(key=lambda r: int(r["id"]))
    voted = await _voted([int(r["id"]) for r in rows])
    out = []
    for r in rows:
        electorate = electorate_of(r["electorate"])
        out.append(
            VoteView(
                id=int(r["id"]),
                meeting_id=int(r["meeting_id"]),
                number=int(r["number"]),
                title=str(r["title"]),
                method=g.VoteMethod(r["method"]),
                opened_at=when(r["opened_at"]),
                closes_at=when(r["closes_at"]),
                voters=electorate.voters,
                voted=frozenset(voted.get(int(r["id"]), ())),
                hands_recorded=bool(r["hands"]),
            )
        )
    return out


async def _voted(vote_ids: Sequence[int]) -> dict[int, set[int]]:
    """vote id -> who has voted: named ballots and the secret votes' voter lists."""
    out: dict[int, set[int]] = {}
    for b in await rows_in(
        m.Ballot, "SELECT vote_id, person_id FROM ballot WHERE vote_id IN ({values})", vote_ids
    ):
        out.setdefault(int(b["vote_id"]), set()).add(int(b["person_id"]))
    for sv in await rows_in(
        m.SecretVoterList,
        "SELECT vote_id, voters FROM secret_voter_list WHERE vote_id IN ({values})",
        vote_ids,
    ):
        out.setdefault(int(sv["vote_id"]), set()).update(json.loads(sv["voters"] or "[]"))
    return out


# ---------------------------------------------------------------------------------------------
# Addressing: who is who, and where


async def group_chats_of(society_ids: Sequence[int]) -> dict[int, list[tuple[Platform, str, str]]]:
    """society id -> its bound group chats (platform, corp id, chat id), in binding order."""
    out: dict[int, list[tuple[Platform, str, str]]] = {}
    for r in await rows_in(
        m.ChatBinding,
        "SELECT society_id, platform, corp_id, chat_id FROM chat_binding"
        " WHERE society_id IN ({values}) ORDER BY id",
        sorted(set(society_ids)),
    ):
        out.setdefault(int(r["society_id"]), []).append(
            (Platform(r["platform"]), str(r["corp_id"]), str(r["chat_id"]))
        )
    return out


async def person_names(ids: Iterable[int]) -> dict[int, str]:
    rows = await rows_in(
        m.Person, "SELECT id, name FROM person WHERE id IN ({values})", sorted(set(ids))
    )
    return {int(r["id"]): str(r["name"]) for r in rows}


async def identities_by_person(
    person_ids: Iterable[int], platform: str, corp_id: str
) -> dict[int, tuple[str, str]]:
    """person id -> (user id, name) on one platform and corp. Sought by person: a corp holds
    every society's members (see repo.identities)."""
    rows = await rows_in(
        m.Identity,
        "SELECT i.person_id, i.platform, i.corp_id, i.user_id, p.name FROM identity AS i"
        " JOIN person AS p ON p.id = i.person_id WHERE i.person_id IN ({values}) ORDER BY i.id",
        sorted(set(person_ids)),
    )
    return {
        int(r["person_id"]): (str(r["user_id"]), str(r["name"]))
        for r in rows
        if r["platform"] == platform and r["corp_id"] == corp_id
    }


# ---------------------------------------------------------------------------------------------
# What changed: the event log read for re-planning


async def last_event_id() -> int:
    """The event log's high-water mark (0 when empty)."""
    rows = await raw_rows(m.EventLog, "SELECT MAX(id) AS top FROM event_log")
    return int(rows[0]["top"] or 0) if rows else 0


async def societies_with_events_after(event_id: int) -> list[int]:
    """Societies whose event chain grew past `event_id`: a range of the primary key (the rows
    since a sweep at least `LOOKBACK` ago, bot/reminders/service.py), each chain named once.
    During a vote burst that range holds tens of thousands of events (one a ballot) of a few
    societies: the database folds them, so a sweep receives one row a society, not one an
    event. The range is materialised first: a plain `DISTINCT` SQLite would answer by reading
    the whole (chain, seq) index."""
    rows = await raw_rows(
        m.EventLog,
        "WITH recent AS MATERIALIZED (SELECT chain FROM event_log WHERE id > ?)"
        " SELECT DISTINCT chain FROM recent",
        event_id,
    )
    out = set()
    for r in rows:
        kind, _, ident = str(r["chain"]).partition(":")
        if kind == "society" and ident.isdigit():
            out.add(int(ident))
    return sorted(out)
