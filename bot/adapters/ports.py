"""What the platform shells need from the rest of the bot, as small Protocols (ports). The
composition root builds them over storage (`bot.storage_ports`) and passes them in; an adapter
never imports storage (tests/test_layering.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from bot.events import Platform


class ChatWebhooks(Protocol):
    async def webhook(self, platform: Platform, corp_id: str, chat_id: str) -> str:
        """What `绑定推送` stored for the group: a push robot's URL or key, "" when nothing."""
        ...


class ConnectionLease(Protocol):
    """A named lease shared by every instance on one database: one holder at a time. `now` is
    from the injected clock; a holder renews well before `now + ttl`."""

    async def acquire(self, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        """Take (or keep) the lease when it is free, expired or already ours."""
        ...

    async def renew(self, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        """Extend it while `owner` holds it; False: someone else took it over."""
        ...

    async def release(self, name: str, owner: str) -> None:
        """Give it up (only if still ours), so a standby takes over at once."""
        ...


class HeaderBindings(Protocol):
    """DingTalk HTTP mode: which messages each signed (timestamp, sign) pair carried, shared by
    every instance on one database (the rule: storage/header_bindings.py)."""

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
        """Bind the message (its body's `digest`) to the pair, committed before it returns; ""
        when the callback may pass, else the reason it is refused (for the log)."""
        ...
