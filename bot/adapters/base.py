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


class SendError(Exception):
    """A send that failed, classified by the platform's error code (never by its message).

    kind: "transient" (retry with backoff), "throttled" (pause the whole channel), "permanent"
    (no retry; a human is told), "token" (credentials: the adapter refreshes once, then retry).
    ambiguous: the platform may have delivered it anyway (a timeout after the request went out);
    a resend then carries the same short message id.
    """

    KINDS = ("transient", "throttled", "permanent", "token")

    def __init__(
        self, kind: str, code: str | int = "", message: str = "", *, ambiguous: bool = False
    ) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown SendError kind {kind!r}")
        super().__init__(message or f"{kind} {code}".strip())
        self.kind = kind
        self.code = str(code)
        self.ambiguous = ambiguous
