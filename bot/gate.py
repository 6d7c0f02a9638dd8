"""Stop background loops between passes, not inside one.

Cancelling a task while it is inside a database transaction can leave the connection held
(the SQLite client's lock, a pooled PostgreSQL connection), and the next query or the pool's
close then waits. Each loop runs its passes inside `gate.passing()`; `stop` lets the passes in
progress finish (up to a grace period), then cancels the loops, which are idle by then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

logger = logging.getLogger(__name__)


class Gate:
    def __init__(self) -> None:
        self._closing = False
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def closing(self) -> bool:
        """True once stop() was called: a loop returns instead of starting another pass."""
        return self._closing

    @contextlib.asynccontextmanager
    async def passing(self) -> AsyncIterator[None]:
        self._busy += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._busy -= 1
            if self._busy == 0:
                self._idle.set()

    async def stop(self, tasks: Sequence[asyncio.Task[None]], *, grace: float = 10.0) -> None:
        self._closing = True
        try:
            async with asyncio.timeout(grace):
                await self._idle.wait()
        except TimeoutError:
            logger.warning("background work still running after %.0f s; cancelling it", grace)
        # No await between the wait and the cancels: no loop can start another pass.
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
