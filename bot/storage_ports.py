"""The adapters' ports (`bot.adapters.ports`) implemented over storage. Whoever composes the bot
(`yishi serve` in `bot.cli`, the test rigs, the benchmarks) builds them and passes them to the
adapter builders."""

from __future__ import annotations

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
    """`HeaderBindings` over `storage.header_bindings` (one short transaction per callback)."""

    bind = staticmethod(header_bindings.bind)
