"""The adapters' ports (`bot.adapters.ports`) implemented over storage. Whoever composes the bot
(`yishi serve` in `bot.cli`, the test rigs, the benchmarks) builds them and passes them to the
adapter builders."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.events import Platform
from bot.group_commit import GroupCommit
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
    """`HeaderBindings` over `storage.header_bindings`: the callbacks that arrive while a batch
    commits are bound together in the next (bot/group_commit.py; one transaction and three
    statements for the batch). A callback is answered only after its binding has committed.
    Batched on both engines: on PostgreSQL too it answers twice as many callbacks per second as
    a transaction per callback (benchmarks/dingtalk_callbacks.py)."""

    def __init__(self) -> None:
        self._batches = GroupCommit(header_bindings.bind_many, name="header-bindings")

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
        binding = header_bindings.Binding(pair, message_id, digest, now, expires_at, siblings)
        return await self._batches.submit(binding)
