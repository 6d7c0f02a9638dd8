"""Societies with chosen facts for the overview tests, written straight to storage."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot import governance as g
from storage import models


@dataclass(frozen=True)
class Facts:
    name: str
    months_ago: int | None = 1  # last meeting held (None: never)
    roster: int = 7
    leaders: int = 1
    rules: bool = True
    summary_on: datetime | None = None
    pending_changes: int = 0
    pending_filings: int = 0
    unsigned: int = 0
    term_end: date | None = None
    joined: datetime = datetime(2024, 1, 1, tzinfo=UTC)


async def society(f: Facts, now: datetime) -> int:
    s = await models.Society.create(name=f.name, created_at=f.joined, term_end=f.term_end)
    people = [await models.Person.create(name=f"{f.name}成员{i}") for i in range(max(f.roster, 1))]
    for i, p in enumerate(people[: f.roster]):
        role = "leader" if i < f.leaders else "member"
        await models.Member.create(society_id=s.id, person_id=p.id, roster_role=role)
    number = 0
    if f.months_ago is not None:
        number += 1
        at = now - timedelta(days=30.5 * f.months_ago + 1)
        await models.Meeting.create(
            society_id=s.id,
            number=number,
            starts_at=at,
            state=g.MeetingState.SIGNED.value,
            convened_by_id=people[0].id,
            roster=json.dumps([p.id for p in people[: f.roster]]),
            created_at=at,
        )
    for _ in range(f.unsigned):
        number += 1
        at = now - timedelta(days=3 + number)
        await models.Meeting.create(
            society_id=s.id,
            number=number,
            starts_at=at,
            state=g.MeetingState.CLOSED.value,
            convened_by_id=people[0].id,
            created_at=at,
        )
    if f.rules:
        await models.Filing.create(
            society_id=s.id,
            kind="work_rules",
            title="议事规则",
            filed_by_id=people[0].id,
            at=f.joined,
            acknowledged_at=f.joined,
        )
    if f.summary_on is not None:
        await models.Filing.create(
            society_id=s.id,
            kind="annual_summary",
            title="年度总结",
            filed_by_id=people[0].id,
            at=f.summary_on,
            acknowledged_at=f.summary_on,
        )
    for i in range(f.pending_filings):
        await models.Filing.create(
            society_id=s.id,
            kind="major_issue",
            title=f"请示{i}",
            filed_by_id=people[0].id,
            at=now - timedelta(days=1),
        )
    for _ in range(f.pending_changes):
        await models.RosterChange.create(
            society_id=s.id,
            kind="add",
            person_id=people[-1].id,
            requested_by_id=people[0].id,
            created_at=now - timedelta(days=1),
        )
    return int(s.id)
