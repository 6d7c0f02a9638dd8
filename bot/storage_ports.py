"""The adapters' ports (`bot.adapters.ports`) implemented over storage. Whoever composes the bot
(`yishi serve` in `bot.cli`, the test rigs, the benchmarks) builds them and passes them to the
adapter builders."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from bot.events import Platform
from storage import header_bindings, lease, repo


class StoredWebhooks:
    """`ChatWebhooks` over the chat bindings."""

    async def webhook(self, platform: Platform, corp_id: str, chat_id: str) -> str:
        return await repo.chat_webhook(platform, corp_id, chat_id)


class StoredLease:
    """`ConnectionLease` over `storage.lease` (a conditional UPDATE per operation)."""

    async def acquire(self, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        return await lease.acquire(name, owner, now, ttl)

    async def renew(self, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        return await lease.renew(name, owner, now, ttl)

    async def release(self, name: str, owner: str) -> None:
        await lease.release(name, owner)


class StoredHeaderBindings:
    """`HeaderBindings` over `storage.header_bindings`. On SQLite (one writer) with group commit:
    the callbacks that arrive while a batch commits are bound together in the next (one commit
    for up to 500, each in its own savepoint); on PostgreSQL each in a transaction of its own,
    in parallel. Every callback is answered only after its binding has committed."""

    BATCH = 500

    def __init__(self) -> None:
        self._waiting: list[tuple[header_bindings.Binding, asyncio.Future[str]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def bind(
        self,
        pair: str,
        message_id: str,
        digest: str,
        *,
        now: datetime,
        expires_at: datetime,
        siblings: timedelta,
    ) -> str:
        if not header_bindings.one_writer():
            return await header_bindings.bind(
                pair, message_id, digest, now=now, expires_at=expires_at, siblings=siblings
            )
        binding = header_bindings.Binding(pair, message_id, digest, now, expires_at, siblings)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting.append((binding, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="header-bindings")
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self.BATCH], self._waiting[self.BATCH :]
            try:
                answers = await header_bindings.bind_many([b for b, _ in batch])
            except Exception as exc:  # the database refused the batch: each caller is told
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), answer in zip(batch, answers, strict=True):
                if not future.done():
                    future.set_result(answer)
