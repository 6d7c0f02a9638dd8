"""Group commit: the callers that arrive while one batch commits go together in the next.

A platform callback must not be answered before what it brought is durable, and on SQLite each
commit is a flush of the file. `GroupCommit(commit)` lets every caller `await submit(item)` as if
it committed alone, while `commit` is called with up to `size` waiting items at a time, in their
order of arrival, and answers each (a list as long as the batch). When `commit` raises, every
caller of that batch gets the exception; the next batch is tried all the same.

Used by the inbound queue's door (bot/inbox.py) and by the DingTalk header bindings
(bot/storage_ports.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        commit: Callable[[Sequence[T]], Awaitable[Sequence[R]]],
        *,
        size: int = 500,
        name: str = "group-commit",
    ) -> None:
        self._commit = commit
        self.size = size
        self.name = name
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None
        # Done when the batch being committed has committed (or failed).
        self._in_flight: asyncio.Future[None] | None = None

    @property
    def waiting(self) -> bool:
        """Whether callers wait for a batch to start."""
        return bool(self._waiting)

    async def submit(self, item: T) -> R:
        """`item` committed (in some batch); what `commit` answered for it."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name=self.name)
        return await asyncio.shield(future)

    async def settled(self) -> None:
        """Wait until the batch being committed has committed (or failed); not for the batches
        after it: under a steady stream of callers there is always a next one, and whoever
        waits for the door to be idle would wait for a lull."""
        in_flight = self._in_flight
        if in_flight is not None and not in_flight.done():
            await asyncio.shield(in_flight)

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            batch, self._waiting = self._waiting[: self.size], self._waiting[self.size :]
            self._in_flight = in_flight = loop.create_future()
            try:
                answers = await self._commit([item for item, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            finally:
                in_flight.set_result(None)
            for (_, future), answer in zip(batch, answers, strict=True):
                if not future.done():
                    future.set_result(answer)
