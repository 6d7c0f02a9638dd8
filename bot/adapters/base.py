"""The interface every chat platform implements: console, WeCom, DingTalk."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Protocol

from bot.errors import causes
from bot.events import IncomingMessage, OutgoingMessage, Platform

logger = logging.getLogger(__name__)

# What an adapter hands every decoded message to; it returns the replies to send inline.
Feed = Callable[[IncomingMessage], Awaitable[list[OutgoingMessage]]]


class ChatAdapter(Protocol):
    platform: Platform

    @property
    def edits_cards(self) -> bool:
        """Whether a card update (a card without text: a vote's new count) shows in the chat,
        the platform editing the card in place. Where it does not, none is queued at all."""
        ...

    async def start(self, feed: Feed) -> None:
        """Begin receiving. HTTP adapters add routes; the console reads stdin."""
        ...

    async def send(self, message: OutgoingMessage) -> None:
        """Deliver one message (a reply, a notice, a card update)."""
        ...

    def merge(self, first: OutgoingMessage, then: OutgoingMessage) -> OutgoingMessage | None:
        """One message that shows `first` and then `then` where the platform can post it as one
        (the sender joins a channel's waiting texts: fewer messages in the group, fewer calls
        within its rate limit); None where they must go one by one."""
        ...

    async def close(self) -> None: ...


class SendErrorKind(StrEnum):
    """What the sender does with a failed send."""

    TRANSIENT = "transient"  # retry with backoff
    THROTTLED = "throttled"  # pause the whole channel
    PERMANENT = "permanent"  # no retry; a human is told
    TOKEN = "token"  # credentials: the adapter refreshes once, then retries


class SendError(Exception):
    """A send that failed, classified by the platform's error code (never by its message).

    ambiguous: the platform may have delivered it anyway (a timeout after the request went out);
    a resend then carries the same short message id.
    """

    def __init__(
        self,
        kind: SendErrorKind,
        code: str | int = "",
        message: str = "",
        *,
        ambiguous: bool = False,
    ) -> None:
        kind = SendErrorKind(kind)  # a bare string from a test double is checked too
        super().__init__(message or f"{kind} {code}".strip())
        self.kind = kind
        self.code = str(code)
        self.ambiguous = ambiguous


class CallbackClock:
    """What the platforms' signed timestamps say of this server's clock: callbacks refused as
    too old or too new (`stale_timestamp`) while none was taken in the last WINDOW seconds mean
    the clock is off, and every member's message is being refused (a server 2 h ahead had
    refused them all while /healthz said ok). Each HTTP adapter keeps one; /healthz asks them."""

    WINDOW = 60.0
    AT_LEAST = 3  # refusals in the window before the clock is suspected

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._stale: list[float] = []
        self._taken_at = float("-inf")

    def taken(self) -> None:
        self._taken_at = self._monotonic()

    def refused(self, reason: str) -> None:
        if reason != "stale_timestamp":
            return
        now = self._monotonic()
        self._stale = [t for t in self._stale if now - t < self.WINDOW][-self.AT_LEAST :]
        self._stale.append(now)
        if len(self._stale) == self.AT_LEAST and now - self._taken_at >= self.WINDOW:
            logger.warning(
                "every signed callback of the last minute was refused as too old or too new:"
                " is this server's clock right? (/healthz reports clock_suspect)"
            )

    def suspect(self) -> bool:
        now = self._monotonic()
        recent = [t for t in self._stale if now - t < self.WINDOW]
        return len(recent) >= self.AT_LEAST and now - self._taken_at >= self.WINDOW


class RetryLater(Exception):
    """The feed could not take a message for now (the database busy, locked, full or away):
    answered so that the platform delivers it again, and logged in one line (logs.retry_later)."""


# Where the errors of the database come from (a door's own commit, the header bindings', meets
# them unwrapped): told by module, the adapters import no driver.
_DATABASE_MODULES = frozenset({"sqlite3", "asyncpg", "aiosqlite", "tortoise"})


def retry_worthy(exc: BaseException) -> bool:
    """Whether a callback that failed with `exc` may succeed when the platform delivers it again:
    RetryLater, or an error of the database or the system (busy, full, away) anywhere in it."""
    return any(
        isinstance(e, RetryLater | OSError | TimeoutError)
        or type(e).__module__.split(".")[0] in _DATABASE_MODULES
        for e in causes(exc)
    )


class Rejected(Exception):
    """An inbound request we refuse. `status` is the HTTP status to answer (each codec lists
    the ones it uses); `reason` is a short English code for the logs, never shown to members."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
