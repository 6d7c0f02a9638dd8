"""DingTalk Stream mode on aiohttp's WebSocket client (the PyPI `dingtalk-stream` 0.24.3 blocks
the event loop with synchronous HTTP without timeouts, platforms.md §2.2).

Protocol: POST `/v1.0/gateway/connections/open` (clientId, clientSecret, subscriptions) ->
endpoint + single-use ticket -> WebSocket `endpoint?ticket=` -> push frames, each ACKed.

Rules:

1. Every frame that parses is ACKed, exactly once, on the socket it came on. A CALLBACK is ACKed
   only after `on_frame` returned (the router committed it): a crash before that leaves the
   frame un-ACKed, and DingTalk may push it again; the router's durable msgId dedupe drops the
   copy. A frame `on_frame` refuses (Rejected) is ACKed too: a retry cannot make it valid.
2. CALLBACK frames are handled concurrently (each in a tracked task); SYSTEM frames inline:
   `ping` echoes its opaque, `disconnect` closes this socket and opens a new one at once.
3. A dropped socket or a failed open -> reconnect after exponential backoff with full jitter
   (`sleep` and `jitter` are injected, so tests never wait for real backoff seconds).
4. Liveness: we ping every `ping_s`; any frame or pong counts as life. Nothing for
   `watchdog_s` -> the connection is dead although TCP says otherwise: close, reconnect.
5. Every network await is bounded (ClientTimeout for the open call, the watchdog for reads).
6. Several processes may each hold a connection: DingTalk pushes each frame to one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from yarl import URL

from bot import logs
from bot.adapters.base import Rejected, retry_worthy
from bot.adapters.dingtalk.codec import (
    CARD_CALLBACK_TOPIC,
    ROBOT_MESSAGE_TOPIC,
    StreamFrame,
    decode_stream_frame,
    encode_stream_ack,
)
from bot.adapters.http import TaskSet

logger = logging.getLogger(__name__)

OPEN_PATH: Final = "/v1.0/gateway/connections/open"
SUBSCRIPTIONS: Final[tuple[dict[str, str], ...]] = (
    {"type": "CALLBACK", "topic": ROBOT_MESSAGE_TOPIC},
    {"type": "CALLBACK", "topic": CARD_CALLBACK_TOPIC},
    {"type": "EVENT", "topic": "*"},
)
# (topic, frame messageId, data) -> None once the event is durably handled.
OnFrame = Callable[[str, str, str], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class StreamTiming:
    """Cadences in seconds (real time: they pace the connection, they are not due times)."""

    watchdog_s: float = 90.0  # nothing received for this long: the connection is dead
    ping_s: float = 30.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    open_timeout_s: float = 10.0


class StreamOpenError(Exception):
    """connections/open failed (bad credentials, gateway error): reconnect later."""


# The waits between feeding again a frame the feed could not take (about a minute in all).
FRAME_RETRIES: Final = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


class DingTalkStreamClient:
    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        api_base: str,
        client_id: str,
        client_secret: str,
        on_frame: OnFrame,
        timing: StreamTiming | None = None,
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        subscriptions: Sequence[Mapping[str, str]] = SUBSCRIPTIONS,
    ) -> None:
        self.subscriptions = [dict(s) for s in subscriptions]
        self.session = session
        self.api_base = api_base.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.on_frame = on_frame
        self.timing = timing or StreamTiming()
        self.sleep = sleep
        self.jitter = jitter
        # Observability (and what the tests read).
        self.connects = 0
        self.reconnect_reasons: list[str] = []
        self.acks_sent = 0
        self.connected = asyncio.Event()
        self._failures = 0
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._tasks = TaskSet()

    async def run(self) -> None:
        """Hold a connection until cancelled, reconnecting as needed."""
        while True:
            reason = await self._session_once()
            self.reconnect_reasons.append(reason)
            if reason == "disconnect":
                self._failures = 0
                continue  # the server asked us to move: a new connection at once
            self._failures += 1
            timing = self.timing
            delay = min(timing.backoff_cap_s, timing.backoff_base_s * 2 ** (self._failures - 1))
            await self.sleep(delay * self.jitter())

    async def close(self, grace_s: float = 5.0) -> None:
        """Let in-flight callbacks finish (up to `grace_s`: cancelling one inside a database
        transaction is worse than waiting), then cancel the rest; those stay un-ACKed and
        DingTalk may push them again. Call after the `run` task was cancelled."""
        await self._tasks.close(grace_s)
        if self._ws is not None and not self._ws.closed:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1):
                    await self._ws.close()

    async def open_connection(self) -> tuple[str, str]:
        body = {
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "subscriptions": self.subscriptions,
            "ua": "yishi/1.0",
            "localIp": "",
        }
        timeout = aiohttp.ClientTimeout(total=self.timing.open_timeout_s)
        async with self.session.post(
            f"{self.api_base}{OPEN_PATH}", json=body, timeout=timeout
        ) as response:
            answer: Any = await response.json(content_type=None)
            status = response.status
        if status != 200 or not isinstance(answer, dict):
            raise StreamOpenError(f"connections/open answered {status}")
        endpoint, ticket = answer.get("endpoint"), answer.get("ticket")
        if not isinstance(endpoint, str) or not isinstance(ticket, str) or not ticket:
            raise StreamOpenError("connections/open: no endpoint or ticket")
        return endpoint, ticket

    async def _session_once(self) -> str:
        """One connection from open to end; returns why it ended."""
        try:
            endpoint, ticket = await self.open_connection()
            url = URL(endpoint).update_query(ticket=ticket)
            async with asyncio.timeout(self.timing.open_timeout_s):
                ws = await self.session.ws_connect(url, autoping=False, max_msg_size=1 << 20)
        except asyncio.CancelledError:
            raise
        except (aiohttp.ClientError, TimeoutError, StreamOpenError, ValueError) as exc:
            logger.warning("dingtalk stream: cannot connect: %s", str(exc) or type(exc).__name__)
            return "open_failed"
        self._ws = ws
        self.connects += 1
        self.connected.set()
        try:
            return await self._read(ws)
        finally:
            self.connected.clear()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1):
                    await ws.close()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        loop = asyncio.get_running_loop()
        watchdog_s, ping_s = self.timing.watchdog_s, self.timing.ping_s
        last_seen = loop.time()
        last_ping = last_seen
        while True:
            now = loop.time()
            if now - last_seen >= watchdog_s:
                logger.warning("dingtalk stream: silent for %.1f s, reconnecting", now - last_seen)
                return "watchdog"
            if now - last_ping >= ping_s:
                last_ping = now
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.ping()
            wait = max(0.001, min(ping_s - (now - last_ping), watchdog_s - (now - last_seen)))
            try:
                async with asyncio.timeout(wait):
                    msg = await ws.receive()
            except TimeoutError:
                continue
            last_seen = loop.time()
            if msg.type == aiohttp.WSMsgType.TEXT:
                if await self._on_text(ws, msg.data) == "disconnect":
                    return "disconnect"
            elif msg.type == aiohttp.WSMsgType.PING:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.pong(msg.data)
            elif msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            ):
                return "dropped"
            # PONG and BINARY only count as life.

    async def _on_text(self, ws: aiohttp.ClientWebSocketResponse, raw: str) -> str:
        try:
            frame = decode_stream_frame(raw)
        except Rejected as exc:
            logger.warning("dingtalk stream: unreadable frame (%s)", exc.reason)
            return ""
        if frame.type == "SYSTEM":
            # Inline, so a `disconnect` is ACKed before this socket is closed.
            self.acks_sent += 1
            await self._send_ack(ws, encode_stream_ack(frame))
            if frame.topic == "disconnect":
                logger.info("dingtalk stream: server asked to reconnect")
                return "disconnect"
            return ""
        if frame.type == "EVENT":
            self._ack(ws, frame)  # no event topic is used yet
            return ""
        self._tasks.spawn(self._callback(ws, frame))
        return ""

    async def _callback(self, ws: aiohttp.ClientWebSocketResponse, frame: StreamFrame) -> None:
        """Feed the frame and ACK it once taken. A frame the feed cannot take for now (the
        database busy or away) is fed again from memory, FRAME_RETRIES apart: robot messages may
        never be pushed again, and one had been dropped while a write lock was held."""
        for wait in (*FRAME_RETRIES, None):
            try:
                await self.on_frame(frame.topic, frame.message_id, frame.data)
            except Rejected as exc:
                logger.warning("dingtalk stream: refused %s (%s)", frame.message_id, exc.reason)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                retry = retry_worthy(exc)
                logs.retry_later(logger, "dingtalk stream callback", exc, transient=retry)
                if not retry or wait is None:
                    return  # not ACKed: DingTalk may push it again; the router deduplicates
                await self.sleep(wait)
                continue
            break
        self._ack(ws, frame)

    def _ack(self, ws: aiohttp.ClientWebSocketResponse, frame: StreamFrame) -> None:
        if ws.closed:
            return  # the frame is lost with its socket; DingTalk re-pushes what it needs
        self.acks_sent += 1
        self._tasks.spawn(self._send_ack(ws, encode_stream_ack(frame)))

    @staticmethod
    async def _send_ack(ws: aiohttp.ClientWebSocketResponse, text: str) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError, TimeoutError):
            async with asyncio.timeout(5):
                await ws.send_str(text)
