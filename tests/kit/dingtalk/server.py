"""A fake DingTalk for tests: an aiohttp app on 127.0.0.1 that speaks the real wire formats
(docs/platforms.md §2, §3.2). What DingTalk sends the bot is built in `payloads`.

Endpoints (each request, accepted or not, is appended to `fake.recorded[<endpoint>]`):

* ``POST /v1.0/oauth2/accessToken``           -> "access_token"
* ``POST /v1.0/robot/groupMessages/send``     -> "group_send"
* ``POST /v1.0/robot/oToMessages/batchSend``  -> "private_send"
* ``POST /robot/sendBySession?session=...``   -> "session"
* ``POST /robot/send?access_token=&timestamp=&sign=`` (custom robot) -> "custom_robot"
* ``POST /v1.0/card/instances/createAndDeliver`` -> "card_create" (cards kept in `fake.cards`)
* ``PUT /v1.0/card/instances``                    -> "card_update"
* ``POST /v1.0/gateway/connections/open``         -> "gateway_open" (Stream mode: endpoint + ticket)
* ``GET /connect?ticket=...`` (WebSocket)          -> one `StreamConnection` per socket in
  `fake.connections`; the test pushes frames, sends `disconnect`, drops the socket or makes it
  go silent, and reads the ACKs the client sent back.

Time comes from the injected `clock` (a callable returning an aware datetime); the fake never
reads wall time, so tests cross the 1-minute window or a session expiry by moving the clock.
Error bodies marked [INF] below are our guess at DingTalk's shape (platforms.md §6: the real
ones were not observed).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from bot.adapters.dingtalk.codec import (
    CARD_CALLBACK_TOPIC,
    GROUP_SEND_MAX_PARAM_BYTES,
    ROBOT_MESSAGE_TOPIC,
    WEBHOOK_MAX_BODY_BYTES,
    DingTalkSettings,
    custom_robot_sign,
    epoch_ms,
)
from tests.kit.dingtalk.payloads import SESSION_TTL, make_callback
from tests.kit.http import read_json

Clock = Callable[[], datetime]

ENDPOINTS = (
    "access_token",
    "group_send",
    "private_send",
    "session",
    "custom_robot",
    "card_create",
    "card_update",
    "gateway_open",
)
TICKET_TTL = timedelta(seconds=90)
TOKEN_TTL = timedelta(seconds=7200)
CUSTOM_ROBOT_PER_MINUTE = 20
CUSTOM_ROBOT_BLOCK = timedelta(minutes=10)
SIGN_WINDOW = timedelta(hours=1)
MSG_KEYS = frozenset(
    {"sampleText", "sampleMarkdown", "sampleImageMsg", "sampleLink", "sampleActionCard"}
)


@dataclass(frozen=True)
class Call:
    """One request the fake received and what it answered."""

    at: datetime
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int
    response: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.response.get("errcode", 0) == 0

    @property
    def text(self) -> str:
        """The text of a webhook message (text or markdown)."""
        if not isinstance(self.body, dict):
            return ""
        part = self.body.get(self.body.get("msgtype", ""), {})
        if not isinstance(part, dict):
            return ""
        value = part.get("content", part.get("text", ""))
        return value if isinstance(value, str) else ""

    @property
    def at_user_ids(self) -> list[str]:
        at = self.body.get("at", {}) if isinstance(self.body, dict) else {}
        ids = at.get("atUserIds", []) if isinstance(at, dict) else []
        return list(ids) if isinstance(ids, list) else []


@dataclass
class _Session:
    conversation_id: str
    expires_at: datetime


@dataclass
class Card:
    """An interactive card instance as the fake holds it: where it went, its public data now,
    and every update applied to it."""

    out_track_id: str
    template_id: str
    open_space_id: str
    params: dict[str, str]
    at_user_ids: dict[str, str]
    updates: list[dict[str, str]] = field(default_factory=list)


class StreamConnection:
    """One client WebSocket on the fake Stream gateway."""

    def __init__(self, number: int, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.number = number
        self.ws = ws
        self.request = request
        self.acks: list[dict[str, Any]] = []
        self.pings_seen = 0
        self.silent = False
        self.closed = asyncio.Event()
        self._ack_event = asyncio.Event()

    @property
    def alive(self) -> bool:
        return not self.closed.is_set() and not self.ws.closed

    async def push(self, frame: str) -> None:
        await self.ws.send_str(frame)

    def ack_for(self, message_id: str) -> dict[str, Any] | None:
        for ack in self.acks:
            if ack.get("headers", {}).get("messageId") == message_id:
                return ack
        return None

    async def wait_ack(self, message_id: str, within: float = 5.0) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while True:
                ack = self.ack_for(message_id)
                if ack is not None:
                    return ack
                self._ack_event.clear()
                await self._ack_event.wait()

    async def wait_acks(self, message_id: str, count: int, within: float = 5.0) -> None:
        """Wait until `message_id` was ACKed `count` times on this connection (a redelivered
        frame is ACKed again)."""
        async with asyncio.timeout(within):
            while (
                sum(a.get("headers", {}).get("messageId") == message_id for a in self.acks) < count
            ):
                self._ack_event.clear()
                await self._ack_event.wait()

    def _record_ack(self, ack: dict[str, Any]) -> None:
        self.acks.append(ack)
        self._ack_event.set()

    async def drop(self) -> None:
        """Cut the TCP connection without a close frame (a network failure)."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()
        self.closed.set()


@dataclass
class FakeDingTalk:
    """The fake platform. Use ``async with FakeDingTalk(clock=...) as fake`` to serve it on
    127.0.0.1 (then `fake.base_url` is set), or mount `make_app()` yourself."""

    clock: Clock
    app_key: str = "dingfakeappkey"
    app_secret: str = "fake-app-secret-0123456789abcdef"
    robot_code: str = "dingfakeappkey"
    corp_id: str = "dingcorpFAKE"
    # custom robot access_token -> its SEC... secret
    custom_robots: dict[str, str] = field(default_factory=dict)
    session_ttl: timedelta = SESSION_TTL
    # [INF] one third-party report says an expired session webhook answers HTTP 500
    expired_session_status: int = 500
    base_url: str = "https://oapi.dingtalk.com"
    recorded: dict[str, list[Call]] = field(
        default_factory=lambda: {name: [] for name in ENDPOINTS}
    )
    _tokens: dict[str, datetime] = field(default_factory=dict)
    _token_serial: int = 0
    _sessions: dict[str, _Session] = field(default_factory=dict)
    _robot_sends: dict[str, deque[datetime]] = field(default_factory=dict)
    _robot_blocked_until: dict[str, datetime] = field(default_factory=dict)
    # Stream gateway: how long the server waits after a `disconnect` before closing (10 s live).
    disconnect_grace: float = 0.05
    # A real wait inside the access-token endpoint, so concurrent callers overlap in tests.
    token_delay: float = 0.0
    cards: dict[str, Card] = field(default_factory=dict)
    # endpoint -> canned (status, body) answers, used once each before the real handling
    inject: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    # endpoint -> a real wait before answering (to make a client time out)
    delay: dict[str, float] = field(default_factory=dict)
    subscribed: list[set[Any]] = field(default_factory=list)
    connections: list[StreamConnection] = field(default_factory=list)
    _tickets: dict[str, datetime] = field(default_factory=dict)
    _conn_event: asyncio.Event = field(default_factory=asyncio.Event)
    _server: TestServer | None = None

    # --- serving ------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1.0/oauth2/accessToken", self._access_token)
        app.router.add_post("/v1.0/robot/groupMessages/send", self._group_send)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._private_send)
        app.router.add_post("/robot/sendBySession", self._session_send)
        app.router.add_post("/robot/send", self._custom_robot_send)
        app.router.add_post("/v1.0/card/instances/createAndDeliver", self._card_create)
        app.router.add_put("/v1.0/card/instances", self._card_update)
        app.router.add_post("/v1.0/gateway/connections/open", self._gateway_open)
        app.router.add_get("/connect", self._connect)
        return app

    async def start(self) -> str:
        self._server = TestServer(self.make_app(), host="127.0.0.1")
        await self._server.start_server()
        self.base_url = str(self._server.make_url("")).rstrip("/")
        return self.base_url

    async def close(self) -> None:
        for conn in self.connections:
            if conn.alive:
                await conn.ws.close()
        if self._server is not None:
            await self._server.close()
            self._server = None

    async def __aenter__(self) -> FakeDingTalk:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    # --- builders -----------------------------------------------------------------------

    def settings(self, **overrides: Any) -> DingTalkSettings:
        """Adapter settings for this fake: its credentials, its session webhook prefix."""
        values: dict[str, Any] = {
            "app_key": self.app_key,
            "app_secret": self.app_secret,
            "robot_code": self.robot_code,
            "corp_id": self.corp_id,
            "session_webhook_prefix": self.url("/robot/sendBySession?"),
        }
        values.update(overrides)
        return DingTalkSettings(**values)

    def open_session(
        self, conversation_id: str, msg_id: str, now: datetime
    ) -> tuple[str, datetime]:
        """Register a session webhook, as DingTalk does for each delivered message."""
        token = hashlib.sha256(f"{conversation_id}|{msg_id}".encode()).hexdigest()[:24]
        expires_at = now + self.session_ttl
        self._sessions[token] = _Session(conversation_id, expires_at)
        return self.url(f"/robot/sendBySession?session={token}"), expires_at

    def make_callback(
        self,
        settings: DingTalkSettings,
        *,
        text: str,
        staff_id: str,
        conversation_id: str,
        msg_id: str,
        now: datetime,
        nick: str = "张三",
        corp_id: str | None = None,
        conversation_type: str = "2",
        at_staff_ids: Iterable[str] = (),
    ) -> tuple[dict[str, str], bytes]:
        """A signed HTTP-mode callback whose sessionWebhook points at this fake."""
        webhook, expires_at = self.open_session(conversation_id, msg_id, now)
        return make_callback(
            settings,
            text=text,
            staff_id=staff_id,
            conversation_id=conversation_id,
            msg_id=msg_id,
            now=now,
            nick=nick,
            corp_id=corp_id,
            conversation_type=conversation_type,
            at_staff_ids=at_staff_ids,
            session_webhook=webhook,
            session_expires_at=expires_at,
        )

    def custom_robot_url(self, access_token: str, now: datetime) -> str:
        """A correctly signed custom-robot URL (sign already URL-encoded: pass it to aiohttp
        as ``yarl.URL(url, encoded=True)``)."""
        timestamp = str(epoch_ms(now))
        _, query_sign = custom_robot_sign(self.custom_robots[access_token], timestamp)
        return self.url(
            f"/robot/send?access_token={access_token}&timestamp={timestamp}&sign={query_sign}"
        )

    def session_expires_at(self, url: str) -> datetime:
        token = url.rsplit("session=", 1)[-1]
        return self._sessions[token].expires_at

    # --- handlers -----------------------------------------------------------------------

    def _record(
        self, endpoint: str, request: web.Request, body: Any, status: int, response: dict[str, Any]
    ) -> web.Response:
        self.recorded[endpoint].append(
            Call(
                at=self.clock(),
                query=dict(request.query),
                headers=dict(request.headers),
                body=body,
                status=status,
                response=response,
            )
        )
        return web.json_response(response, status=status)

    async def _access_token(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        if not isinstance(body, dict) or body.get("appKey") != self.app_key:
            # [INF] shape of the new-API error body: code, message, requestid
            error = {"code": "invalidClientId", "message": "无效的appKey", "requestid": "fake"}
            return self._record("access_token", request, body, 400, error)
        if not hmac.compare_digest(str(body.get("appSecret", "")), self.app_secret):
            error = {
                "code": "invalidClientSecret",
                "message": "无效的appSecret",
                "requestid": "fake",
            }
            return self._record("access_token", request, body, 400, error)
        now = self.clock()
        # Within its validity the same token comes back, renewed (platforms.md §2.4).
        live = [t for t, expires in self._tokens.items() if expires > now]
        if live:
            token = live[0]
        else:
            self._token_serial += 1
            token = f"fake-token-{self._token_serial}"
        self._tokens[token] = now + TOKEN_TTL
        response = {"accessToken": token, "expireIn": int(TOKEN_TTL.total_seconds())}
        return self._record("access_token", request, body, 200, response)

    def _token_error(self, request: web.Request) -> dict[str, Any] | None:
        token = request.headers.get("x-acs-dingtalk-access-token", "")
        expires = self._tokens.get(token)
        if expires is None or expires <= self.clock():
            # [INF] status and body for a missing or expired token
            return {
                "code": "InvalidAuthentication",
                "message": "不合法的access_token",
                "requestid": "fake",
            }
        return None

    def _robot_body_error(self, body: Any) -> str | None:
        if not isinstance(body, dict):
            return "body is not a JSON object"
        if body.get("robotCode") != self.robot_code:
            return "robotCode"
        if body.get("msgKey") not in MSG_KEYS:
            return "msgKey"
        param = body.get("msgParam")
        if not isinstance(param, str):
            return "msgParam must be a JSON string"
        if len(param.encode("utf-8")) > GROUP_SEND_MAX_PARAM_BYTES:
            return "msgParam too large"
        try:
            decoded = json.loads(param)
        except ValueError:
            return "msgParam is not JSON"
        if not isinstance(decoded, dict):
            return "msgParam is not a JSON object"
        return None

    async def _injected(
        self, endpoint: str, request: web.Request, body: Any
    ) -> web.Response | None:
        if (wait := self.delay.get(endpoint)) is not None:
            await asyncio.sleep(wait)
        canned = self.inject.get(endpoint)
        if canned:
            status, response = canned.pop(0)
            return self._record(endpoint, request, body, status, response)
        return None

    async def _robot_send(self, endpoint: str, request: web.Request) -> web.Response:
        body = await read_json(request)
        if (canned := await self._injected(endpoint, request, body)) is not None:
            return canned
        if (auth_error := self._token_error(request)) is not None:
            return self._record(endpoint, request, body, 401, auth_error)
        problem = self._robot_body_error(body)
        if problem is None and endpoint == "group_send":
            conversation = body.get("openConversationId")
            if not isinstance(conversation, str) or not conversation:
                problem = "openConversationId"
            elif "at" in body or "atUserIds" in body:
                problem = "groupMessages/send has no at field"
        if problem is None and endpoint == "private_send":
            users = body.get("userIds")
            if (
                not isinstance(users, list)
                or not users
                or not all(isinstance(u, str) and u for u in users)
            ):
                problem = "userIds"
        if problem is not None:
            error = {"code": "invalidParameter", "message": problem, "requestid": "fake"}
            return self._record(endpoint, request, body, 400, error)
        key = f"fake-query-{len(self.recorded[endpoint]) + 1}"
        response: dict[str, Any] = {"processQueryKey": key}
        if endpoint == "private_send":
            response |= {"invalidStaffIdList": [], "flowControlledStaffIdList": []}
        return self._record(endpoint, request, body, 200, response)

    async def _group_send(self, request: web.Request) -> web.Response:
        return await self._robot_send("group_send", request)

    async def _private_send(self, request: web.Request) -> web.Response:
        return await self._robot_send("private_send", request)

    @staticmethod
    def _webhook_body_error(body: Any) -> str | None:
        if not isinstance(body, dict):
            return "body is not a JSON object"
        msgtype = body.get("msgtype")
        if msgtype == "text":
            part = body.get("text")
            if not isinstance(part, dict) or not isinstance(part.get("content"), str):
                return "text.content"
        elif msgtype == "markdown":
            part = body.get("markdown")
            if not isinstance(part, dict) or not all(
                isinstance(part.get(k), str) for k in ("title", "text")
            ):
                return "markdown"
        else:
            return "msgtype"
        at = body.get("at", {})
        if not isinstance(at, dict):
            return "at"
        ids = at.get("atUserIds", [])
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return "at.atUserIds"
        return None

    async def _session_send(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body = await read_json(request)
        if (canned := await self._injected("session", request, body)) is not None:
            return canned
        session = self._sessions.get(request.query.get("session", ""))
        if session is None:
            error = {"errcode": 300001, "errmsg": "session不存在"}  # [INF]
            return self._record("session", request, body, 200, error)
        if self.clock() >= session.expires_at:
            error = {"errcode": 300001, "errmsg": "session已过期"}  # [INF]
            return self._record("session", request, body, self.expired_session_status, error)
        if len(raw) > WEBHOOK_MAX_BODY_BYTES:
            error = {"errcode": 460101, "errmsg": "message too large"}
            return self._record("session", request, body, 200, error)
        if (problem := self._webhook_body_error(body)) is not None:
            error = {"errcode": 40035, "errmsg": f"缺少参数 {problem}"}  # [INF]
            return self._record("session", request, body, 200, error)
        return self._record("session", request, body, 200, {"errcode": 0, "errmsg": "ok"})

    async def _custom_robot_send(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body = await read_json(request)
        token = request.query.get("access_token", "")
        secret = self.custom_robots.get(token)
        if secret is None:
            error = {"errcode": 300001, "errmsg": "token is not exist"}
            return self._record("custom_robot", request, body, 200, error)
        now = self.clock()
        # request.query is already URL-decoded, as DingTalk decodes it before comparing.
        timestamp = request.query.get("timestamp", "")
        sign = request.query.get("sign", "")
        if not (timestamp.isascii() and timestamp.isdigit()):
            error = {"errcode": 310000, "errmsg": "sign not match, timestamp missing"}
            return self._record("custom_robot", request, body, 200, error)
        if abs(int(timestamp) - epoch_ms(now)) > SIGN_WINDOW // timedelta(milliseconds=1):
            error = {"errcode": 310000, "errmsg": "sign not match, timestamp is invalid"}
            return self._record("custom_robot", request, body, 200, error)
        expected, _ = custom_robot_sign(secret, timestamp)
        if not hmac.compare_digest(expected.encode(), sign.encode("utf-8", "surrogatepass")):
            error = {"errcode": 310000, "errmsg": "sign not match"}
            return self._record("custom_robot", request, body, 200, error)
        if len(raw) > WEBHOOK_MAX_BODY_BYTES:
            error = {"errcode": 460101, "errmsg": "message too large"}
            return self._record("custom_robot", request, body, 200, error)
        if (problem := self._webhook_body_error(body)) is not None:
            error = {"errcode": 40035, "errmsg": f"缺少参数 {problem}"}  # [INF]
            return self._record("custom_robot", request, body, 200, error)
        if self._throttled(token, now):
            error = {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
            return self._record("custom_robot", request, body, 200, error)
        return self._record("custom_robot", request, body, 200, {"errcode": 0, "errmsg": "ok"})

    def _throttled(self, token: str, now: datetime) -> bool:
        """20 messages in any 60 s; the 21st blocks the robot for 10 minutes."""
        blocked_until = self._robot_blocked_until.get(token)
        if blocked_until is not None and now < blocked_until:
            return True
        sent = self._robot_sends.setdefault(token, deque())
        while sent and now - sent[0] >= timedelta(minutes=1):
            sent.popleft()
        if len(sent) >= CUSTOM_ROBOT_PER_MINUTE:
            self._robot_blocked_until[token] = now + CUSTOM_ROBOT_BLOCK
            sent.clear()
            return True
        sent.append(now)
        return False

    # --- Stream gateway -----------------------------------------------------------------

    def live_connections(self) -> list[StreamConnection]:
        return [c for c in self.connections if c.alive]

    async def wait_connections(self, count: int, within: float = 5.0) -> list[StreamConnection]:
        """Wait until `count` sockets have ever connected; return the live ones."""
        async with asyncio.timeout(within):
            while len(self.connections) < count:
                self._conn_event.clear()
                await self._conn_event.wait()
        return self.live_connections()

    async def push(self, frame: str, conn: StreamConnection | None = None) -> StreamConnection:
        """Push a frame on `conn`, or on the newest live connection."""
        target = conn or self.live_connections()[-1]
        await target.push(frame)
        return target

    async def disconnect(self, conn: StreamConnection, reason: str = "服务升级") -> None:
        """SYSTEM disconnect, then close the socket after `disconnect_grace` (DingTalk: 10 s)."""
        await conn.push(
            json.dumps(
                {
                    "specVersion": "1.0",
                    "type": "SYSTEM",
                    "headers": {
                        "messageId": f"disconnect-{conn.number}",
                        "topic": "disconnect",
                        "contentType": "application/json",
                    },
                    "data": json.dumps({"reason": reason}, ensure_ascii=False),
                },
                ensure_ascii=False,
            )
        )
        try:
            async with asyncio.timeout(self.disconnect_grace):
                await conn.closed.wait()
        except TimeoutError:
            await conn.ws.close()

    async def _gateway_open(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        ok = (
            isinstance(body, dict)
            and body.get("clientId") == self.app_key
            and hmac.compare_digest(str(body.get("clientSecret", "")), self.app_secret)
            and isinstance(body.get("subscriptions"), list)
        )
        if not ok:
            error = {"code": "invalidClient", "message": "clientId/clientSecret", "requestid": "x"}
            return self._record("gateway_open", request, body, 401, error)
        topics = {s.get("topic") for s in body["subscriptions"] if isinstance(s, dict)}
        self.subscribed.append(topics)
        if not topics & {ROBOT_MESSAGE_TOPIC, CARD_CALLBACK_TOPIC}:
            error = {"code": "invalidParameter", "message": "subscriptions", "requestid": "x"}
            return self._record("gateway_open", request, body, 400, error)
        ticket = secrets.token_hex(16)
        self._tickets[ticket] = self.clock() + TICKET_TTL
        endpoint = self.url("/connect").replace("http://", "ws://", 1)
        return self._record(
            "gateway_open", request, body, 200, {"endpoint": endpoint, "ticket": ticket}
        )

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        # The ticket is single use and valid for 90 s (platforms.md §2.2).
        expires = self._tickets.pop(request.query.get("ticket", ""), None)
        if expires is None or expires <= self.clock():
            return web.json_response({"code": "invalidTicket"}, status=401)
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        conn = StreamConnection(len(self.connections) + 1, ws, request)
        self.connections.append(conn)
        self._conn_event.set()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.PING:
                    conn.pings_seen += 1
                    if not conn.silent:
                        await ws.pong(msg.data)
                elif msg.type == WSMsgType.TEXT:
                    try:
                        ack = json.loads(msg.data)
                    except ValueError:
                        continue
                    if isinstance(ack, dict):
                        conn._record_ack(ack)
        finally:
            conn.closed.set()
        return ws

    # --- cards --------------------------------------------------------------------------

    async def _card_create(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if (canned := await self._injected("card_create", request, body)) is not None:
            return canned
        if (auth_error := self._token_error(request)) is not None:
            return self._record("card_create", request, body, 401, auth_error)
        problem = _card_body_error(body, create=True)
        if problem is None and body["outTrackId"] in self.cards:
            # [INF] the code DingTalk answers for a reused outTrackId
            error = {"code": "param.outTrackIdExists", "message": "outTrackId已存在"}
            return self._record("card_create", request, body, 400, error)
        if problem is None:
            space = body["openSpaceId"]
            if space.startswith("dtv1.card//IM_GROUP."):
                deliver = body.get("imGroupOpenDeliverModel")
                if not isinstance(deliver, dict) or deliver.get("robotCode") != self.robot_code:
                    problem = "imGroupOpenDeliverModel.robotCode"
            elif space.startswith("dtv1.card//IM_ROBOT."):
                if not isinstance(body.get("imRobotOpenDeliverModel"), dict):
                    problem = "imRobotOpenDeliverModel"
            else:
                problem = "openSpaceId"
        if problem is not None:
            error = {"code": "invalidParameter", "message": problem, "requestid": "fake"}
            return self._record("card_create", request, body, 400, error)
        deliver = body.get("imGroupOpenDeliverModel") or {}
        at_users = deliver.get("atUserIds") or {}
        self.cards[body["outTrackId"]] = Card(
            out_track_id=body["outTrackId"],
            template_id=body["cardTemplateId"],
            open_space_id=body["openSpaceId"],
            params=dict(body["cardData"]["cardParamMap"]),
            at_user_ids=dict(at_users) if isinstance(at_users, dict) else {},
        )
        space_type, _, space_id = body["openSpaceId"].removeprefix("dtv1.card//").partition(".")
        response = {
            "success": True,
            "result": {
                "outTrackId": body["outTrackId"],
                "deliverResults": [{"spaceType": space_type, "spaceId": space_id, "success": True}],
            },
        }
        return self._record("card_create", request, body, 200, response)

    async def _card_update(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if (auth_error := self._token_error(request)) is not None:
            return self._record("card_update", request, body, 401, auth_error)
        problem = _card_body_error(body, create=False)
        if problem is None and body["outTrackId"] not in self.cards:
            error = {"code": "cardInstanceNotExist", "message": "卡片不存在", "requestid": "x"}
            return self._record("card_update", request, body, 400, error)
        if problem is not None:
            error = {"code": "invalidParameter", "message": problem, "requestid": "fake"}
            return self._record("card_update", request, body, 400, error)
        card = self.cards[body["outTrackId"]]
        params = dict(body["cardData"]["cardParamMap"])
        options = body.get("cardUpdateOptions") or {}
        if isinstance(options, dict) and options.get("updateCardDataByKey"):
            card.params.update(params)
        else:
            card.params = params
        card.updates.append(params)
        return self._record("card_update", request, body, 200, {"success": True, "result": True})


def _card_body_error(body: Any, *, create: bool) -> str | None:
    if not isinstance(body, dict):
        return "body is not a JSON object"
    if not isinstance(body.get("outTrackId"), str) or not body["outTrackId"]:
        return "outTrackId"
    data = body.get("cardData")
    if not isinstance(data, dict) or not isinstance(data.get("cardParamMap"), dict):
        return "cardData.cardParamMap"
    # Every cardParamMap value must be a string (platforms.md §2.5).
    if not all(isinstance(v, str) for v in data["cardParamMap"].values()):
        return "cardParamMap values must be strings"
    if create:
        if not isinstance(body.get("cardTemplateId"), str) or not body["cardTemplateId"]:
            return "cardTemplateId"
        if body.get("callbackType") != "STREAM":
            return "callbackType"
        if not isinstance(body.get("openSpaceId"), str):
            return "openSpaceId"
    return None
