"""Running bot instances: each registers, renews a heartbeat (its clock reading at each beat, so
a jump of the server clock is seen), and unregisters. SQLite allows one live instance,
PostgreSQL many (bot/scheduler.py decides).
The SQLite single-instance lock is in storage/instance_lock.py.
"""

from __future__ import annotations

from datetime import datetime

from storage import models as m
from storage.sql import raw_execute, utc, utc_opt


async def register_instance(name: str, host: str, pid: int, now: datetime) -> None:
    await m.BotInstance.create(
        name=name, host=host, pid=pid, started_at=now, heartbeat_at=now, last_now=now
    )


async def heartbeat(name: str, now: datetime) -> datetime | None:
    """Renew the instance's heartbeat; return the clock reading of the previous beat."""
    row = await m.BotInstance.filter(name=name).first()
    if row is None:
        return None
    previous = utc_opt(row.last_now)
    await m.BotInstance.filter(name=name).update(heartbeat_at=now, last_now=now)
    return previous


async def unregister_instance(name: str) -> None:
    await m.BotInstance.filter(name=name).delete()


async def probe_write(name: str, now: datetime) -> None:
    """A real, cheap write (one row): the instance's heartbeat. Raises when the database does
    not take writes (read-only, full, locked past the busy timeout, gone)."""
    await raw_execute(
        m.BotInstance, "UPDATE bot_instance SET heartbeat_at = ? WHERE name = ?", utc(now), name
    )


async def expire_leases_of_the_dead(now: datetime) -> None:
    """On SQLite, once this instance holds the single-instance lock no other process is alive:
    the claims and leases a killed one left (queued messages, replies being sent, channels) run
    out now instead of at their time, each then taken as an expired one is (a reply that may have
    gone out is resent with its short id)."""
    at = utc(now)
    for table, owner, until in (
        ("inbound_message", "claimed_by", "claimed_until"),
        ("outbox_message", "lease_owner", "lease_until"),
        ("channel_state", "lease_owner", "lease_until"),
    ):
        await raw_execute(
            m.BotInstance,
            f"UPDATE {table} SET {until} = ? WHERE {owner} != '' AND {until} > ?",
            at,
            at,
        )
