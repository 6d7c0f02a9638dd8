"""The daily prune of personal data (storage/prune.py), run by `yishi serve`.

The scheduler wakes it with the other periodic work; it prunes when a day has passed since this
instance last did and it can take the database lease `lease:prune` (held for 23 hours), so of
several instances on one PostgreSQL database only one prunes a day. A failed prune is retried
an hour later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot import logs
from bot.config import RetentionSettings
from storage import lease
from storage import prune as store

logger = logging.getLogger(__name__)

LEASE = "lease:prune"
EVERY = timedelta(days=1)
HELD = timedelta(hours=23)  # a little under a day: the next day's holder is not kept waiting
RETRY = timedelta(hours=1)


class Pruning:
    def __init__(
        self, retention: RetentionSettings, clock: Callable[[], datetime], instance: str
    ) -> None:
        self.retention = retention
        self.clock = clock
        self.instance = instance
        self.next_at: datetime | None = None  # None: at the first wake after start-up
        self.runs = 0

    async def maybe(self) -> list[store.Pruned] | None:
        """Prune if it is time and this instance holds the lease; what was pruned, or None."""
        now = self.clock()
        if self.next_at is not None and now < self.next_at:
            return None
        self.next_at = now + RETRY
        with logs.work(logs.new_id("prune")):
            if not await lease.acquire(LEASE, self.instance, now, HELD):
                logger.debug("prune: another instance pruned within the day")
                return None
            pruned = await store.prune(self.retention, now)
            self.next_at = now + EVERY
            self.runs += 1
            logger.info(
                "pruned personal data: %s",
                ", ".join(f"{p.table} {p.rows}" for p in pruned),
            )
            return pruned
