"""The interface every chat platform implements: console, WeCom, DingTalk."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.events import IncomingMessage, OutgoingMessage, Platform

# What an adapter hands every decoded message to; it returns the replies to send inline.
Feed = Callable[[IncomingMessage], Awaitable[list[OutgoingMessage]]]


class ChatAdapter(Protocol):
    platform: Platform

    async def start(self, feed: Feed) -> None:
        """Begin receiving. HTTP adapters add routes; the console reads stdin."""
        ...

    async def send(self, message: OutgoingMessage) -> None:
        """Deliver one message (a reply, a notice, a card update)."""
        ...

    async def close(self) -> None: ...
