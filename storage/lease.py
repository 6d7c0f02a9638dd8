"""Named leases in the database: one holder at a time across every instance on one database.

A lease is a row of `channel_state` (the outbox keeps its channel leases there too) whose
`channel` is the lease name, e.g. "lease:wecom:<bot_id>". Every operation is one conditional
UPDATE, so two instances racing for the same lease cannot both win: the database counts the
rows it changed. No advisory locks (a pooled connection drops them). Time comes from the
caller (`now`, from the injected clock); the holder renews well before `now + ttl`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from storage import models as m
from storage.sql import utc

OWNER_MAX_CHARS = 64  # channel_state.lease_owner


def _check(owner: str, now: datetime) -> None:
    if not owner or len(owner) > OWNER_MAX_CHARS:
        raise ValueError(f"lease owner must be 1-{OWNER_MAX_CHARS} characters")
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")


async def _ensure_row(name: str) -> None:
    if await m.ChannelState.filter(channel=name).exists():
        return
    try:
        async with in_transaction():  # a savepoint: a concurrent insert does not abort us
            await m.ChannelState.create(channel=name)
    except IntegrityError:
        pass  # another instance inserted it first


async def acquire(name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Take (or keep) the lease when it is free, expired or already ours. True when held."""
    _check(owner, now)
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner)
    count = await m.ChannelState.filter(Q(channel=name) & free).update(
        lease_owner=owner, lease_until=now + ttl
    )
    if count == 1:
        return True
    await _ensure_row(name)
    count = await m.ChannelState.filter(Q(channel=name) & free).update(
        lease_owner=owner, lease_until=now + ttl
    )
    return count == 1


async def renew(name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Extend the lease while `owner` still holds it. False means someone else took it over
    (ours had expired): the caller must stop acting as the holder at once."""
    _check(owner, now)
    count = await m.ChannelState.filter(channel=name, lease_owner=owner).update(
        lease_until=now + ttl
    )
    return count == 1


async def release(name: str, owner: str) -> None:
    """Give the lease up (only if still ours), so a standby can take it without waiting."""
    await m.ChannelState.filter(channel=name, lease_owner=owner).update(
        lease_owner="", lease_until=None
    )


async def holder(name: str, now: datetime) -> str | None:
    """Who holds the lease at `now`, or None when it is free or expired."""
    row = await m.ChannelState.filter(channel=name).first()
    if row is None or not row.lease_owner or row.lease_until is None:
        return None
    return row.lease_owner if utc(row.lease_until) >= now else None
