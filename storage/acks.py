"""What handlers record for the reminders: acknowledgements of meeting notices (收到) and the
deadline announced for a vote. Written inside the command's transaction, like everything else.

A meeting moved (改期, 更改地点) goes out with a new notice: a 收到 given before it is not one for
the new notice. When each later notice went out is the time of its meeting_rescheduled entry in
the society's event chain; an acknowledgement counts when it is not older than the last notice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.events import EventKind
from storage import models as m
from storage import seals
from storage.sql import rows_in, utc, when


async def renotices(meeting_ids: Sequence[int]) -> dict[int, list[datetime]]:
    """meeting id -> when each notice after the first went out (the meeting moved), in order;
    meetings never moved are absent."""
    out: dict[int, list[datetime]] = {}
    for r in await rows_in(
        m.EventLog,
        "SELECT meeting_id, at FROM event_log WHERE meeting_id IN ({values}) AND kind = ?"
        " ORDER BY id",
        meeting_ids,
        after=(EventKind.MEETING_RESCHEDULED.value,),
    ):
        out.setdefault(int(r["meeting_id"]), []).append(when(r["at"]))
    return out


def counts(acked_at: datetime, renoticed: Sequence[datetime]) -> bool:
    """Whether a 收到 given at `acked_at` answers the meeting's latest notice."""
    return not renoticed or acked_at >= renoticed[-1]


async def acknowledge(meeting_id: int, person_id: int, now: datetime) -> bool:
    """Record that the person has the meeting's latest notice; False when already recorded."""
    row = await m.NoticeAck.filter(meeting_id=meeting_id, person_id=person_id).first()
    if row is not None:
        if counts(utc(row.at), (await renotices([meeting_id])).get(meeting_id, [])):
            return False
        async with seals.rewrite("notice_ack", row.id):  # it answered an earlier notice
            await m.NoticeAck.filter(id=row.id).update(at=now)
        return True
    try:
        async with in_transaction():  # a savepoint: a concurrent duplicate does not abort us
            row = await m.NoticeAck.create(meeting_id=meeting_id, person_id=person_id, at=now)
            await seals.touch("notice_ack", row.id)
    except IntegrityError:
        return False
    return True


async def acknowledged(
    meeting_ids: Sequence[int], moved: Mapping[int, Sequence[datetime]] | None = None
) -> dict[int, frozenset[int]]:
    """meeting id -> who acknowledged its latest notice with 收到 (check-ins and leave requests
    are in attendance); `moved`: the meetings' `renotices`, when the caller has read them."""
    if moved is None:
        moved = await renotices(meeting_ids)
    out: dict[int, set[int]] = {}
    for r in await rows_in(
        m.NoticeAck,
        "SELECT meeting_id, person_id, at FROM notice_ack WHERE meeting_id IN ({values})",
        meeting_ids,
    ):
        mid = int(r["meeting_id"])
        if counts(when(r["at"]), moved.get(mid, [])):
            out.setdefault(mid, set()).add(int(r["person_id"]))
    return {mid: frozenset(people) for mid, people in out.items()}


async def set_vote_deadline(vote_id: int, closes_at: datetime) -> None:
    async with seals.rewrite("vote", vote_id):
        await m.Vote.filter(id=vote_id).update(closes_at=closes_at)


async def vote_deadline(vote_id: int) -> datetime | None:
    row = await m.Vote.filter(id=vote_id).only("id", "closes_at").first()
    if row is None or row.closes_at is None:
        return None
    return utc(row.closes_at)
