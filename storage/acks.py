"""What handlers record for the reminders: acknowledgements of meeting notices (收到) and the
deadline announced for a vote. Written inside the command's transaction, like everything else.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from storage import models as m
from storage import seals
from storage.sql import utc


async def acknowledge(meeting_id: int, person_id: int, now: datetime) -> bool:
    """Record that the person has the meeting notice; False when already recorded."""
    if await m.NoticeAck.filter(meeting_id=meeting_id, person_id=person_id).exists():
        return False
    try:
        async with in_transaction():  # a savepoint: a concurrent duplicate does not abort us
            row = await m.NoticeAck.create(meeting_id=meeting_id, person_id=person_id, at=now)
            await seals.touch("notice_ack", row.id)
    except IntegrityError:
        return False
    return True


async def acknowledged(meeting_id: int) -> frozenset[int]:
    """Who acknowledged the notice with 收到 (check-ins and leave requests are in attendance)."""
    rows = await m.NoticeAck.filter(meeting_id=meeting_id).values_list("person_id", flat=True)
    return frozenset(int(x) for x in rows)  # type: ignore[call-overload]


async def set_vote_deadline(vote_id: int, closes_at: datetime) -> None:
    async with seals.rewrite("vote", vote_id):
        await m.Vote.filter(id=vote_id).update(closes_at=closes_at)


async def vote_deadline(vote_id: int) -> datetime | None:
    row = await m.Vote.filter(id=vote_id).only("id", "closes_at").first()
    if row is None or row.closes_at is None:
        return None
    return utc(row.closes_at)
