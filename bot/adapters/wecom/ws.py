"""WeCom AI bot (智能机器人) long connection: the WebSocket client (platforms.md §1.2).

Place in the flow::

    lease (a port; the database) -> connect -> aibot_subscribe {bot_id, secret} -> frames
        aibot_msg_callback / aibot_event_callback -> on_frame (the adapter decodes and feeds)
        ping every heartbeat_s; two unanswered pings -> reconnect
    adapter -> request("aibot_respond_msg" | "aibot_respond_update_msg", body, req_id=inbound)
            -> request("aibot_send_msg", body)  (proactive, own req_id)

WeCom keeps one connection per bot and kicks the older one when a new one subscribes. So only
the holder of the database lease "lease:wecom:<bot_id>" connects; the others stand by, polling
the lease, and take over when it expires. The holder renews the lease every `renew_s` and drops
its connection the moment a renewal fails (someone else holds it now). Reconnects back off
exponentially with jitter; `sleep` and `rng` are injectable so tests run fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp

from bot.adapters.http import TaskSet
from bot.adapters.ports import ConnectionLease
from bot.clock import Clock

logger = logging.getLogger(__name__)

DEFAULT_WS_URL = "wss://openws.work.weixin.qq.com"

Frame = dict[str, Any]
OnFrame = Callable[[Frame], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


class WsRequestError(Exception):
    """A request WeCom answered with a non-zero errcode, or never answered (errcode -1 and
    `sent` tells whether the frame went out)."""

    def __init__(self, errcode: int, errmsg: str, *, sent: bool = True) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.sent = sent


@dataclass(frozen=True, slots=True)
class WsTiming:
    """Cadences in seconds (real time: they pace a loop, they are not due times)."""

    heartbeat_s: float = 30.0
    missed_pings: int = 2  # unanswered pings before the connection is declared dead
    ack_timeout_s: float = 5.0
    connect_timeout_s: float = 10.0
    lease_ttl_s: float = 30.0  # on the injected clock
    renew_s: float = 10.0
    standby_poll_s: float = 5.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0


def req_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def backoff_delay(attempt: int, timing: WsTiming, rng: random.Random) -> float:
    """Exponential with jitter over the upper half: base * 2^(attempt-1), capped."""
    ceiling = min(timing.backoff_cap_s, timing.backoff_base_s * 2 ** max(0, attempt - 1))
    return float(ceiling * (0.5 + rng.random() / 2))


class WeComWsClient:
    """One bot's long connection, held only while this instance holds the lease."""

    def __init__(
        self,
        *,
        url: str,
        bot_id: str,
        secret: str,
        owner: str,
        lease: ConnectionLease,
        clock: Clock,
        session: aiohttp.ClientSession,
        on_frame: OnFrame,
        timing: WsTiming | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.bot_id = bot_id
        self._secret = secret
        self.owner = owner
        self.lease = lease
        self.clock = clock
        self.session = session
        self.on_frame = on_frame
        self.timing = timing or WsTiming()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.lease_name = f"lease:wecom:{bot_id}"
        self.state = "stopped"  # stopped | standby | connecting | connected
        self.subscribed = asyncio.Event()
        self.connections = 0  # successful subscriptions so far
        self.kicked = 0  # disconnected_event received
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._pending: dict[str, asyncio.Future[Frame]] = {}
        self._task: asyncio.Task[None] | None = None
        self._frame_tasks = TaskSet()
        self._send_lock = asyncio.Lock()

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self.state = "standby"
            self._task = asyncio.create_task(self._run(), name=f"wecom-ws-{self.bot_id}")

    async def close(self, *, release: bool = True) -> None:
        """Stop; with `release` give the lease up so a standby takes over at once (without:
        the lease runs out on its own, as after a crash)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._frame_tasks.close()
        self.state = "stopped"
        if release:
            try:
                await self.lease.release(self.lease_name, self.owner)
            except Exception:
                logger.exception("wecom ws: could not release the lease")

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed and self.state == "connected"

    # --- requests -----------------------------------------------------------------------------

    async def request(
        self, cmd: str, body: Mapping[str, Any], *, request_id: str | None = None
    ) -> Frame:
        """Send one frame and wait for its ack (same req_id). Raises WsRequestError."""
        ws = self._ws
        if ws is None or ws.closed or self.state != "connected":
            raise WsRequestError(-1, "not connected", sent=False)
        rid = request_id or req_id(cmd)
        frame = {"cmd": cmd, "headers": {"req_id": rid}, "body": dict(body)}
        return await self._exchange(ws, rid, frame)

    async def _exchange(self, ws: aiohttp.ClientWebSocketResponse, rid: str, frame: Frame) -> Frame:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Frame] = loop.create_future()
        self._pending[rid] = future
        sent = False
        try:
            async with asyncio.timeout(self.timing.ack_timeout_s):
                async with self._send_lock:
                    await ws.send_str(json.dumps(frame, ensure_ascii=False))
                sent = True
                ack = await future
        except TimeoutError:
            raise WsRequestError(-1, "no ack", sent=sent) from None
        except (ConnectionError, aiohttp.ClientError, RuntimeError) as exc:
            raise WsRequestError(-1, f"send failed: {exc}", sent=sent) from None
        finally:
            self._pending.pop(rid, None)
        errcode = ack.get("errcode", 0)
        if not isinstance(errcode, int):
            errcode = -1
        if errcode != 0:
            raise WsRequestError(errcode, str(ack.get("errmsg", "")))
        return ack

    # --- the connection loop ------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        ttl = timedelta(seconds=self.timing.lease_ttl_s)
        while True:
            try:
                held = await self.lease.acquire(self.lease_name, self.owner, self.clock.now(), ttl)
            except Exception:
                logger.exception("wecom ws: lease check failed")
                held = False
            if not held:
                self.state = "standby"
                await self._sleep(self.timing.standby_poll_s)
                continue
            self.state = "connecting"
            try:
                if await self._connect_once():
                    attempt = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("wecom ws: connection failed")
            finally:
                self._ws = None
                self.subscribed.clear()
                self._fail_pending()
            attempt += 1
            self.state = "standby"
            await self._sleep(backoff_delay(attempt, self.timing, self._rng))

    async def _connect_once(self) -> bool:
        """One connection, from connect to drop. True when it got as far as subscribed."""
        async with asyncio.timeout(self.timing.connect_timeout_s):
            ws = await self.session.ws_connect(self.url, autoping=True, heartbeat=None)
        try:
            rid = req_id("aibot_subscribe")
            subscribe = {
                "cmd": "aibot_subscribe",
                "headers": {"req_id": rid},
                "body": {"bot_id": self.bot_id, "secret": self._secret},
            }
            async with asyncio.timeout(self.timing.ack_timeout_s):
                await ws.send_str(json.dumps(subscribe))
                ack = await self._receive_json(ws)
            if ack is None or ack.get("headers", {}).get("req_id") != rid:
                logger.warning("wecom ws: no subscribe ack")
                return False
            if ack.get("errcode", 0) != 0:
                logger.error(
                    "wecom ws: subscribe refused: %s %s", ack.get("errcode"), ack.get("errmsg")
                )
                return False
            self._ws = ws
            self.state = "connected"
            self.connections += 1
            self.subscribed.set()
            logger.info("wecom ws: subscribed as %s", self.owner)
            await self._serve(ws)
            return True
        finally:
            await ws.close()

    @staticmethod
    async def _receive_json(ws: aiohttp.ClientWebSocketResponse) -> Frame | None:
        msg = await ws.receive()
        if msg.type is not aiohttp.WSMsgType.TEXT:
            return None
        try:
            value = json.loads(msg.data)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        tasks = [
            asyncio.create_task(self._reader(ws), name="wecom-ws-reader"),
            asyncio.create_task(self._heartbeat(ws), name="wecom-ws-heartbeat"),
            asyncio.create_task(self._renewer(), name="wecom-ws-lease"),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    logger.warning("wecom ws: %s ended: %r", task.get_name(), task.exception())
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _reader(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            try:
                frame = json.loads(msg.data)
            except ValueError:
                continue
            if not isinstance(frame, dict):
                continue
            headers = frame.get("headers")
            rid = headers.get("req_id") if isinstance(headers, dict) else None
            cmd = frame.get("cmd")
            if not cmd:
                future = self._pending.get(rid) if isinstance(rid, str) else None
                if future is not None and not future.done():
                    future.set_result(frame)
                continue
            if cmd == "aibot_event_callback" and _event_type(frame) == "disconnected_event":
                self.kicked += 1
                logger.warning("wecom ws: kicked by a newer connection of the same bot")
                return
            if cmd in ("aibot_msg_callback", "aibot_event_callback"):
                self._frame_tasks.spawn(self._handle(frame))

    async def _handle(self, frame: Frame) -> None:
        try:
            await self.on_frame(frame)
        except Exception:
            logger.exception("wecom ws: frame handler failed")

    async def _heartbeat(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        missed = 0
        while True:
            await self._sleep(self.timing.heartbeat_s)
            rid = req_id("ping")
            try:
                await self._exchange(ws, rid, {"cmd": "ping", "headers": {"req_id": rid}})
                missed = 0
            except WsRequestError:
                missed += 1
                if missed >= self.timing.missed_pings or ws.closed:
                    logger.warning("wecom ws: %d heartbeats unanswered, reconnecting", missed)
                    return

    async def _renewer(self) -> None:
        ttl = timedelta(seconds=self.timing.lease_ttl_s)
        while True:
            await self._sleep(self.timing.renew_s)
            try:
                still = await self.lease.renew(self.lease_name, self.owner, self.clock.now(), ttl)
            except Exception:
                logger.exception("wecom ws: lease renewal failed")
                still = False
            if not still:
                logger.warning("wecom ws: lease lost, dropping the connection")
                return

    def _fail_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(WsRequestError(-1, "connection closed"))
        self._pending.clear()


def _event_type(frame: Frame) -> str:
    body = frame.get("body")
    if not isinstance(body, dict):
        return ""
    event = body.get("event")
    if not isinstance(event, dict):
        return ""
    value = event.get("eventtype")
    return value if isinstance(value, str) else ""
