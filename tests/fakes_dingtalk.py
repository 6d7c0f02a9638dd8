"""A fake DingTalk for tests and demos: an aiohttp app on 127.0.0.1 that speaks the real wire
formats (docs/platforms.md §2, §3.2), plus builders for signed inbound callbacks and Stream
frames exactly as DingTalk sends them.

Endpoints (each request, accepted or not, is appended to `fake.recorded[<endpoint>]`):

* ``POST /v1.0/oauth2/accessToken``           -> "access_token"
* ``POST /v1.0/robot/groupMessages/send``     -> "group_send"
* ``POST /v1.0/robot/oToMessages/batchSend``  -> "private_send"
* ``POST /robot/sendBySession?session=...``   -> "session"
* ``POST /robot/send?access_token=&timestamp=&sign=`` (custom robot) -> "custom_robot"

Time comes from the injected `clock` (a callable returning an aware datetime); the fake never
reads wall time, so tests cross the 1-minute window or a session expiry by moving the clock.
Error bodies marked [INF] below are our guess at DingTalk's shape (platforms.md §6: the real
ones were not observed).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.adapters.dingtalk import (
    GROUP_SEND_MAX_PARAM_BYTES,
    ROBOT_MESSAGE_TOPIC,
    WEBHOOK_MAX_BODY_BYTES,
    DingTalkSettings,
    callback_sign,
    custom_robot_sign,
    epoch_ms,
)

Clock = Callable[[], datetime]

ENDPOINTS = ("access_token", "group_send", "private_send", "session", "custom_robot")
TOKEN_TTL = timedelta(seconds=7200)
SESSION_TTL = timedelta(minutes=90)
CUSTOM_ROBOT_PER_MINUTE = 20
CUSTOM_ROBOT_BLOCK = timedelta(minutes=10)
SIGN_WINDOW = timedelta(hours=1)
MSG_KEYS = frozenset(
    {"sampleText", "sampleMarkdown", "sampleImageMsg", "sampleLink", "sampleActionCard"}
)

BOT_DINGTALK_ID = "$:LWCP_v1:$botFAKE"


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
    _server: TestServer | None = None

    # --- serving ------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1.0/oauth2/accessToken", self._access_token)
        app.router.add_post("/v1.0/robot/groupMessages/send", self._group_send)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._private_send)
        app.router.add_post("/robot/sendBySession", self._session_send)
        app.router.add_post("/robot/send", self._custom_robot_send)
        return app

    async def start(self) -> str:
        self._server = TestServer(self.make_app(), host="127.0.0.1")
        await self._server.start_server()
        self.base_url = str(self._server.make_url("")).rstrip("/")
        return self.base_url

    async def close(self) -> None:
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

    @staticmethod
    async def _json(request: web.Request) -> Any:
        try:
            return json.loads(await request.read())
        except ValueError:
            return None

    async def _access_token(self, request: web.Request) -> web.Response:
        body = await self._json(request)
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

    async def _robot_send(self, endpoint: str, request: web.Request) -> web.Response:
        body = await self._json(request)
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
        body = await self._json(request)
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
        body = await self._json(request)
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


# --- builders usable without a running fake ----------------------------------------------


def robot_payload(
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
    session_webhook: str = "https://oapi.dingtalk.com/robot/sendBySession?session=EXAMPLE",
    session_expires_at: datetime | None = None,
) -> dict[str, Any]:
    """The robot message body DingTalk sends (HTTP body == Stream frame data)."""
    created_ms = epoch_ms(now)
    expires = session_expires_at if session_expires_at is not None else now + SESSION_TTL
    at_users: list[dict[str, str]] = []
    if conversation_type == "2":
        at_users.append({"dingtalkId": BOT_DINGTALK_ID})
    at_users += [{"dingtalkId": f"$:LWCP_v1:${sid}", "staffId": sid} for sid in at_staff_ids]
    payload: dict[str, Any] = {
        "conversationId": conversation_id,
        "atUsers": at_users,
        "chatbotCorpId": settings.corp_id,
        "chatbotUserId": BOT_DINGTALK_ID,
        "msgId": msg_id,
        "senderNick": nick,
        "isAdmin": False,
        "senderStaffId": staff_id,
        "sessionWebhookExpiredTime": epoch_ms(expires),
        "createAt": created_ms,
        "senderCorpId": settings.corp_id if corp_id is None else corp_id,
        "conversationType": conversation_type,
        "senderId": f"$:LWCP_v1:$sender{staff_id}",
        "isInAtList": True,
        "sessionWebhook": session_webhook,
        "text": {"content": f" {text}"},  # DingTalk strips the @bot and leaves a space
        "robotCode": settings.robot_code,
        "msgtype": "text",
    }
    if conversation_type == "2":
        payload["conversationTitle"] = "党建工作领导小组"
    return payload


def signed_headers(settings: DingTalkSettings, now: datetime) -> dict[str, str]:
    timestamp = str(epoch_ms(now))
    return {
        "Content-Type": "application/json; charset=utf-8",
        "timestamp": timestamp,
        "sign": callback_sign(settings.app_secret, timestamp),
    }


def make_callback(settings: DingTalkSettings, **fields: Any) -> tuple[dict[str, str], bytes]:
    """Headers and body of an HTTP-mode callback, exactly as DingTalk POSTs them; `fields` are
    those of `robot_payload`. Without a running fake the sessionWebhook is DingTalk's URL."""
    payload = robot_payload(settings, **fields)
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return signed_headers(settings, fields["now"]), body


def stream_frame(
    payload: Mapping[str, Any],
    *,
    message_id: str = "212ca9d7_974_1898c159aa6_1783b",
    topic: str = ROBOT_MESSAGE_TOPIC,
    frame_type: str = "CALLBACK",
    now: datetime | None = None,
) -> str:
    """A Stream push frame wrapping `payload` (data is a JSON string inside the JSON)."""
    headers = {
        "appId": "app-FAKE",
        "connectionId": "conn-FAKE",
        "contentType": "application/json",
        "messageId": message_id,
        "topic": topic,
    }
    if now is not None:
        headers["time"] = str(epoch_ms(now))
    frame = {
        "specVersion": "1.0",
        "type": frame_type,
        "headers": headers,
        "data": json.dumps(payload, ensure_ascii=False),
    }
    return json.dumps(frame, ensure_ascii=False)
