"""The HTTP plumbing both platform shells share: one client session, owned background tasks, the
single-flight access-token cache, the capped request-body read, and transport failures as
`SendError`s.

What a platform's answer *means* stays with the platform: each shell passes its own
`classify(status, answer) -> SendError | None` (None: accepted) to its `HttpClient`, the way a
transport and the check of its answers are kept apart.

Rules:

1. A failure before the request went out (refused connection, connect timeout) is transient
   and not ambiguous; a timeout or a broken connection after it went out is transient and
   ambiguous (the platform may have acted on it: a resend carries the same short id).
2. `answer` is the body as a JSON object, or None when it is empty or anything else; `classify`
   decides what that means.
3. Every background task is kept in a `TaskSet` until it ends (RUF006), and closing waits for
   them at most a grace period before cancelling the rest.
4. One token fetch at a time for all concurrent senders; a token is used until
   min(5 minutes, a fifth of its lifetime) before it expires. A send refused for its token
   fetches a new one once and is tried again.
5. A request body is refused with 413 by its Content-Length before anything is read, else as
   soon as more than `cap` bytes arrived; at most `cap + 1` bytes are ever buffered, and a body
   still arriving after 10 s raises TimeoutError.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

import aiohttp
from aiohttp import web
from yarl import URL

from bot.adapters.base import Rejected, SendError, SendErrorKind
from bot.clock import Clock

T = TypeVar("T")

# The body as a JSON object; None when it is empty or not an object (rule 2).
Answer = dict[str, Any] | None
Classify = Callable[[int, Answer], SendError | None]
CONNECT_TIMEOUT_S: Final = 5.0
TOKEN_MARGIN: Final = timedelta(minutes=5)
BODY_DEADLINE_S: Final = 10.0


class HttpClient:
    """One aiohttp ClientSession per adapter (created on first use, inside the running loop);
    after `close` every request fails transient ("closed")."""

    def __init__(self, *, timeout_s: float, classify: Classify) -> None:
        self.timeout_s = timeout_s
        self.classify = classify
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise SendError(SendErrorKind.TRANSIENT, "closed", "the adapter is shut down")
        if self._session is None or self._session.closed:
            total = self.timeout_s
            timeout = aiohttp.ClientTimeout(total=total, connect=min(CONNECT_TIMEOUT_S, total))
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def exchange(
        self,
        method: str,
        url: str | URL,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, Answer]:
        """One request: (status, answer). Transport failures raise SendError (rule 1)."""
        sent_headers = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            sent_headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            async with self.session.request(
                method, url, params=params, data=data, headers=sent_headers
            ) as response:
                raw = await response.read()
                status = response.status
        except aiohttp.ConnectionTimeoutError as exc:  # nothing went out
            raise SendError(SendErrorKind.TRANSIENT, "connect_timeout", str(exc)) from None
        except aiohttp.ClientConnectorError as exc:  # nothing went out
            raise SendError(SendErrorKind.TRANSIENT, "connect", str(exc)) from None
        except TimeoutError:
            raise SendError(
                SendErrorKind.TRANSIENT, "timeout", "timed out", ambiguous=True
            ) from None
        except aiohttp.ClientError as exc:  # the connection broke after the request went out
            detail = str(exc) or type(exc).__name__
            raise SendError(SendErrorKind.TRANSIENT, "network", detail, ambiguous=True) from None
        return status, _json_object(raw)

    async def call(
        self,
        method: str,
        url: str | URL,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """`exchange`, then the platform's `classify`: the answer, or its SendError raised."""
        status, answer = await self.exchange(method, url, body=body, params=params, headers=headers)
        error = self.classify(status, answer)
        if error is not None:
            raise error
        return answer or {}


def _json_object(raw: bytes) -> Answer:
    try:
        value = json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


class TaskSet:
    """Background tasks an owner keeps until they end (rule 3)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Awaitable[T]) -> asyncio.Task[T]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def flush(self, within: float = 10.0) -> None:
        """Wait until every task ended, those started meanwhile included; TimeoutError after
        `within` seconds."""
        async with asyncio.timeout(within):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, grace_s: float = 0.0) -> None:
        """Let the tasks finish for up to `grace_s`, then cancel the rest and wait for them."""
        if grace_s > 0:
            with contextlib.suppress(TimeoutError):
                await self.flush(grace_s)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


# (token, lifetime in seconds) from the platform's token endpoint; raises SendError.
FetchToken = Callable[[], Awaitable[tuple[str, int]]]


class TokenCache:
    """An access token shared by all senders of one adapter (rule 4)."""

    def __init__(self, clock: Clock, fetch: FetchToken) -> None:
        self.clock = clock
        self._fetch = fetch
        self._token = ""
        self._until: datetime | None = None
        self._lock = asyncio.Lock()

    def _fresh(self, stale: str) -> bool:
        until = self._until
        return (
            bool(self._token)
            and self._token != stale
            and until is not None
            and self.clock.now() < until
        )

    async def get(self, *, stale: str = "") -> str:
        """The cached token, fetched when missing, near its end, or equal to `stale` (a token
        the platform refused); concurrent callers wait for one fetch."""
        if self._fresh(stale):
            return self._token
        async with self._lock:
            if self._fresh(stale):
                return self._token
            now = self.clock.now()
            token, seconds = await self._fetch()
            lifetime = timedelta(seconds=max(0, seconds))
            self._token = token
            self._until = now + lifetime - min(TOKEN_MARGIN, lifetime / 5)
            return token

    async def with_token(self, send: Callable[[str], Awaitable[T]]) -> T:
        """`send(token)`; refused for its token (SendErrorKind.TOKEN), once more with a new one."""
        token = await self.get()
        try:
            return await send(token)
        except SendError as exc:
            if exc.kind is not SendErrorKind.TOKEN:
                raise
        return await send(await self.get(stale=token))


async def read_body(
    request: web.Request, *, cap: int, deadline_s: float | None = BODY_DEADLINE_S
) -> bytes:
    """The request body within `cap` bytes, else Rejected(413, "body_too_large") (rule 5).
    A sender that trickles it past `deadline_s` (None: no deadline) raises TimeoutError."""
    if request.content_length is not None and request.content_length > cap:
        raise Rejected(413, "body_too_large")
    chunks: list[bytes] = []
    size = 0
    async with asyncio.timeout(deadline_s):
        while chunk := await request.content.read(cap + 1 - size):
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                raise Rejected(413, "body_too_large")
    return b"".join(chunks)
