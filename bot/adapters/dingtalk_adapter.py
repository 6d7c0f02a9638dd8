"""DingTalk (钉钉), the network shell around the pure codec in `bot.adapters.dingtalk`.

Place in the flow: HTTP callback route (mode "http") or Stream client (mode "stream", see
`dingtalk_stream`) -> decode -> **feed** (router: durable msgId dedupe in the effect's
transaction) -> inline replies -> `send`; the outbox sender calls `send` for everything else.

Inbound (HTTP mode):

1. The body is read with a size cap before anything else; then `decode_callback` (timestamp
   window, constant-time sign, JSON, corp binding, staff id) and `HeaderReplayGuard` (a
   (timestamp, sign) pair is good for one msgId only). A rejection answers its own 4xx status
   with a fixed body and is logged quietly; hostile input never produces a 5xx. The guard binds
   a pair to msgId + SHA-256 of the body: DingTalk's sign does not cover the body, so the same
   pair with the same msgId but a changed body (another command) is refused too.
2. `feed` runs before the answer (the message is durable when DingTalk hears 200). Its inline
   replies go out through the sessionWebhook in a tracked background task, so a slow webhook
   never holds up the callback; the answer is always `{}` (the HTTP body reply is only described
   by third parties, platforms.md §2.1).

Outbound (`send`, any OutgoingMessage):

3. `private_to` -> `robot/oToMessages/batchSend`, never into a group.
4. Text with a live `reply_handle` (sessionWebhook) -> POST there with `at.atUserIds` and the
   `@<staffId>` tokens. An expired or unknown session falls back to the proactive send.
5. Proactive group text: with mentions and a custom robot stored for the group (`绑定推送`) ->
   the custom robot with 加签, so the @ works; otherwise `robot/groupMessages/send`, which
   cannot @ (names written out).
6. `card` (needs `card_template_id`): the first send for a vote is `createAndDeliver` with the
   deterministic outTrackId `vote-<vote_id>-<chat>`; later sends for the same vote update it
   (`PUT /v1.0/card/instances`) with the live count. The chat is part of the id so that a click
   (whose callback names only the outTrackId) maps back to its group. Secret or closed votes show
   no buttons.
7. The access token is cached and refreshed single-flight 5 minutes before expiry; a token
   error refreshes once and retries. Errors become `SendError` by code: 130101 / rate codes ->
   throttled; 310000, 4xx, too large -> permanent; token -> token; network, 5xx -> transient;
   a timeout after the request went out -> transient, ambiguous.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import logging
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import aiohttp
from aiohttp import web
from yarl import URL

from bot.adapters.base import Feed, SendError
from bot.adapters.dingtalk import (
    CARD_CALLBACK_TOPIC,
    ROBOT_MESSAGE_TOPIC,
    DingTalkSettings,
    HeaderReplayGuard,
    MessageTooLarge,
    Rejected,
    StreamFrame,
    custom_robot_sign,
    decode_callback,
    decode_stream_callback,
    encode_group_send,
    encode_private_send,
    encode_reply,
    epoch_ms,
)
from bot.clock import Clock
from bot.config import ConfigError, table_str
from bot.events import ChatKind, ChatRef, IncomingMessage, OutgoingMessage, Platform, UserRef
from storage import repo

logger = logging.getLogger(__name__)

SECRET_ENV: Final = "YISHI_DINGTALK_APP_SECRET"
MODES: Final = ("stream", "http")
TOKEN_REFRESH_MARGIN: Final = timedelta(minutes=5)
CARD_CHOICES: Final = {
    "赞成": "赞成",
    "反对": "反对",
    "弃权": "弃权",
    "yes": "赞成",
    "no": "反对",
    "abstain": "弃权",
}
# Codes DingTalk uses for rate limits (custom robot 130101; OpenAPI codes seen in the wild).
_THROTTLE_CODES: Final = frozenset({"130101", "send.too.fast", "send.byToken.tooFast"})
_THROTTLE_HINTS: Final = ("qpslimit", "throttl", "toofast", "too.fast", "flowcontrol", "too.many")
_TOKEN_CODES: Final = frozenset(
    {"invalidauthentication", "invalidaccesstoken", "accesstokenexpired", "40014", "42001"}
)
_SESSION_GONE_CODES: Final = frozenset({"300001", "300005"})


# --- configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class DingTalkConfig:
    """The `[dingtalk]` table, checked. The secret comes from YISHI_DINGTALK_APP_SECRET (or,
    discouraged, the file)."""

    enabled: bool
    mode: str
    app_key: str
    app_secret: str = field(repr=False)
    robot_code: str
    corp_id: str
    callback_path: str = "/dingtalk/callback"
    api_base: str = "https://api.dingtalk.com"
    oapi_base: str = "https://oapi.dingtalk.com"
    card_template_id: str = ""
    timestamp_window_s: int = 3600
    bot_name: str = "议事"
    max_body_bytes: int = 16 * 1024
    send_timeout_s: float = 10.0
    # Stream: no frame (nor pong) for this long -> reconnect; our WebSocket ping interval.
    stream_watchdog_s: float = 90.0
    stream_ping_s: float = 30.0

    def codec_settings(self) -> DingTalkSettings:
        return DingTalkSettings(
            app_key=self.app_key,
            app_secret=self.app_secret,
            robot_code=self.robot_code,
            corp_id=self.corp_id,
            max_body_bytes=self.max_body_bytes,
            timestamp_window_s=self.timestamp_window_s,
            bot_names=(self.bot_name, "机器人"),
            session_webhook_prefix=f"{self.oapi_base}/robot/sendBySession?",
        )


_KEYS: Final = {
    "enabled",
    "mode",
    "app_key",
    "app_secret",
    "robot_code",
    "corp_id",
    "callback_path",
    "api_base",
    "oapi_base",
    "card_template_id",
    "timestamp_window_s",
    "bot_name",
    "max_body_bytes",
    "send_timeout_s",
    "stream_watchdog_s",
    "stream_ping_s",
}


def _str(raw: Mapping[str, Any], key: str, default: str = "") -> str:
    return table_str("dingtalk", raw, key, default)


def _number(raw: Mapping[str, Any], key: str, default: float, *, integer: bool) -> float:
    value: object = raw.get(key, default)
    ok = isinstance(value, int) or (not integer and isinstance(value, float))
    if isinstance(value, bool) or not isinstance(value, int | float) or not ok or value <= 0:
        what = "a positive whole number" if integer else "a positive number"
        raise ConfigError(f"dingtalk.{key}", f"must be {what}, got {value!r}")
    return float(value)


def _base_url(raw: Mapping[str, Any], key: str, default: str) -> str:
    value = _str(raw, key, default).rstrip("/")
    if not value.startswith(("https://", "http://")):
        raise ConfigError(f"dingtalk.{key}", f"must be an http(s) URL, got {value!r}")
    return value


def dingtalk_from_settings(raw: Mapping[str, Any], env: Mapping[str, str]) -> DingTalkConfig:
    """Check the `[dingtalk]` table (used when `enabled = true`). An enabled robot without
    app key, secret or corp id stops start-up (fail closed)."""
    for key in raw:
        if key not in _KEYS:
            raise ConfigError(f"dingtalk.{key}", "unknown setting")
    enabled = raw.get("enabled", False)
    if not isinstance(enabled, bool):
        raise ConfigError("dingtalk.enabled", f"must be true or false, got {enabled!r}")
    mode = _str(raw, "mode", "stream")
    if mode not in MODES:
        raise ConfigError("dingtalk.mode", f"must be one of stream, http, got {mode!r}")
    app_key = _str(raw, "app_key")
    secret = env.get(SECRET_ENV) or _str(raw, "app_secret")
    corp_id = _str(raw, "corp_id")
    robot_code = _str(raw, "robot_code") or app_key
    if enabled:
        if not app_key:
            raise ConfigError("dingtalk.app_key", "missing (the robot's AppKey / ClientID)")
        if not secret:
            raise ConfigError(
                "dingtalk.app_secret",
                f"missing: set the environment variable {SECRET_ENV} (refusing to run unsigned)",
            )
        if not corp_id:
            raise ConfigError("dingtalk.corp_id", "missing (the organisation's CorpId)")
    path = _str(raw, "callback_path", "/dingtalk/callback")
    if not path.startswith("/") or any(ch.isspace() for ch in path):
        raise ConfigError(
            "dingtalk.callback_path", f"must be a path like /dingtalk/callback, got {path!r}"
        )
    ping = _number(raw, "stream_ping_s", 30.0, integer=False)
    watchdog = _number(raw, "stream_watchdog_s", 90.0, integer=False)
    if watchdog <= ping:
        raise ConfigError("dingtalk.stream_watchdog_s", "must be longer than stream_ping_s")
    return DingTalkConfig(
        enabled=enabled,
        mode=mode,
        app_key=app_key,
        app_secret=secret,
        robot_code=robot_code,
        corp_id=corp_id,
        callback_path=path,
        api_base=_base_url(raw, "api_base", "https://api.dingtalk.com"),
        oapi_base=_base_url(raw, "oapi_base", "https://oapi.dingtalk.com"),
        card_template_id=_str(raw, "card_template_id"),
        timestamp_window_s=int(_number(raw, "timestamp_window_s", 3600, integer=True)),
        bot_name=_str(raw, "bot_name", "议事") or "议事",
        max_body_bytes=int(_number(raw, "max_body_bytes", 16 * 1024, integer=True)),
        send_timeout_s=_number(raw, "send_timeout_s", 10.0, integer=False),
        stream_watchdog_s=watchdog,
        stream_ping_s=ping,
    )


def build_dingtalk_adapter(
    cfg: DingTalkConfig, clock: Clock, **stream_options: Any
) -> DingTalkAdapter:
    return DingTalkAdapter(cfg, clock, **stream_options)


# --- cards --------------------------------------------------------------------------------


def card_track_id(vote_id: int, chat: ChatRef) -> str:
    """`vote-<vote_id>-g<base64url(conversationId)>` (or `-u<staffId>` for a 1:1 chat)."""
    kind = "g" if chat.kind is ChatKind.GROUP else "u"
    encoded = base64.urlsafe_b64encode(chat.chat_id.encode()).decode("ascii").rstrip("=")
    return f"vote-{vote_id}-{kind}{encoded}"


def parse_track_id(track_id: str) -> tuple[int, ChatKind, str] | None:
    """The inverse of `card_track_id`; None for anything we did not make."""
    parts = track_id.split("-", 2)
    if len(parts) != 3 or parts[0] != "vote" or not parts[1].isascii() or not parts[1].isdigit():
        return None
    if len(parts[1]) > 18 or not parts[2] or parts[2][0] not in "gu":
        return None
    raw = parts[2][1:]
    try:
        chat_id = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    if not chat_id or not chat_id.isprintable():
        return None
    return int(parts[1]), ChatKind.GROUP if parts[2][0] == "g" else ChatKind.PRIVATE, chat_id


def card_params(message: OutgoingMessage) -> dict[str, str]:
    """The public card data: every value a string (platforms.md §2.5); never a secret choice."""
    card = message.card
    assert card is not None
    buttons = not card.closed and not card.secret
    return {
        "vote_id": str(card.vote_id),
        "title": card.title,
        "summary": card.summary,
        "status": "已结束" if card.closed else "进行中",
        "secret": "true" if card.secret else "false",
        "show_buttons": "true" if buttons else "false",
    }


def decode_card_click(data: str, *, corp_id: str, event_id: str, now: datetime) -> IncomingMessage:
    """A card button click (Stream topic /v1.0/card/instances/callback) becomes the text
    command `投票 <choice> 表决#<vote_id>` from the clicking member. `message_id` derives from
    the platform's event id, so a redelivered click is deduplicated like a message."""
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError):
        raise Rejected(400, "bad_json") from None
    if not isinstance(payload, dict):
        raise Rejected(400, "not_an_object")
    track = payload.get("outTrackId")
    user_id = payload.get("userId")
    corp = payload.get("corpId")
    content = payload.get("content")
    if not isinstance(track, str) or (parsed := parse_track_id(track)) is None:
        raise Rejected(400, "bad_field:outTrackId")
    if corp != corp_id:
        raise Rejected(403, "wrong_corp")
    if not isinstance(user_id, str) or not user_id.strip():
        raise Rejected(403, "no_staff_id")
    try:
        inner: Any = json.loads(content) if isinstance(content, str) else content
        params = inner["cardPrivateData"]["params"]
    except (ValueError, RecursionError, KeyError, TypeError):
        raise Rejected(400, "bad_field:content") from None
    if not isinstance(params, dict):
        raise Rejected(400, "bad_field:params")
    raw_choice = params.get("choice", params.get("option"))
    choice = CARD_CHOICES.get(raw_choice) if isinstance(raw_choice, str) else None
    if choice is None:
        raise Rejected(400, "bad_field:choice")
    vote_id, kind, chat_id = parsed
    chat = ChatRef(Platform.DINGTALK, corp_id, chat_id, kind)
    return IncomingMessage(
        platform=Platform.DINGTALK,
        chat=chat,
        sender=UserRef(Platform.DINGTALK, corp_id, user_id),
        text=f"投票 {choice} 表决#{vote_id}",
        message_id=f"card:{event_id}",
        received_at=now,
    )


# --- the adapter --------------------------------------------------------------------------


class _SessionGone(Exception):
    """The sessionWebhook expired or is unknown: fall back to the proactive send."""


class DingTalkAdapter:
    platform = Platform.DINGTALK

    def __init__(self, cfg: DingTalkConfig, clock: Clock, **stream_options: Any) -> None:
        """`stream_options` go to DingTalkStreamClient (tests inject `sleep` and `jitter`)."""
        self.cfg = cfg
        self._stream_options = stream_options
        self.clock = clock
        self.settings = cfg.codec_settings()
        self.guard = HeaderReplayGuard(window_s=cfg.timestamp_window_s)
        self._feed: Feed | None = None
        self._session: aiohttp.ClientSession | None = None
        self._token = ""
        self._token_expires: datetime | None = None
        self._token_lock = asyncio.Lock()
        self._cards: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.stream: Any = None  # DingTalkStreamClient in stream mode, once started
        self._stream_task: asyncio.Task[None] | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def routes(self) -> Sequence[web.RouteDef]:
        if self.cfg.mode != "http":
            return []
        return [web.post(self.cfg.callback_path, self._callback)]

    async def start(self, feed: Feed) -> None:
        """HTTP mode: the route is already mounted. A Stream connection is held in Stream mode,
        and in HTTP mode too when cards are on (card clicks come over Stream: callbackType
        STREAM)."""
        self._feed = feed
        if self.cfg.mode == "stream" or self.cfg.card_template_id:
            from bot.adapters.dingtalk_stream import SUBSCRIPTIONS, DingTalkStreamClient

            subscriptions = SUBSCRIPTIONS
            if self.cfg.mode == "http":
                subscriptions = tuple(s for s in SUBSCRIPTIONS if s["topic"] == CARD_CALLBACK_TOPIC)
            self.stream = DingTalkStreamClient(
                session=self.http(),
                api_base=self.cfg.api_base,
                client_id=self.cfg.app_key,
                client_secret=self.cfg.app_secret,
                on_frame=self.handle_stream_callback,
                watchdog_s=self.cfg.stream_watchdog_s,
                ping_s=self.cfg.stream_ping_s,
                subscriptions=subscriptions,
                **self._stream_options,
            )
            self._stream_task = asyncio.create_task(self.stream.run(), name="dingtalk-stream")

    async def close(self) -> None:
        if self._stream_task is not None:
            self._stream_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._stream_task
            self._stream_task = None
        if self.stream is not None:
            await self.stream.close()
        # Replies already on their way are let finish (bounded), then the rest is cancelled.
        with contextlib.suppress(TimeoutError):
            await self.flush(self.cfg.send_timeout_s)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._feed = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def http(self) -> aiohttp.ClientSession:
        """One client session per adapter (created on first use, inside the loop)."""
        if self._session is None or self._session.closed:
            total = self.cfg.send_timeout_s
            timeout = aiohttp.ClientTimeout(total=total, connect=min(5.0, total))
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def flush(self, within: float = 10.0) -> None:
        """Wait for the background reply sends started so far (tests, shutdown)."""
        async with asyncio.timeout(within):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- inbound ------------------------------------------------------------------------

    async def _callback(self, request: web.Request) -> web.Response:
        try:
            return await self._handle_callback(request)
        except Rejected as exc:
            logger.info("dingtalk callback rejected: %s %s", exc.status, exc.reason)
            return web.json_response(
                {"errcode": exc.status, "errmsg": "rejected"}, status=exc.status
            )
        except Exception:
            # Not hostile input (every decode failure is Rejected): our own failure. 503 asks
            # the platform to try again; never a 500.
            logger.exception("dingtalk callback failed")
            return web.json_response({"errcode": 503, "errmsg": "retry later"}, status=503)

    async def _handle_callback(self, request: web.Request) -> web.Response:
        body = await self._read_body(request)
        now = self.clock.now()
        message = decode_callback(request.headers, body, settings=self.settings, now=now)
        # The pair is bound to the msgId *and* the body's digest: a redelivery is byte-identical,
        # while a captured pair with the msgId kept but another command is a forgery.
        digest = hashlib.sha256(body).hexdigest()[:32]
        self.guard.check(
            request.headers.get("timestamp", ""),
            request.headers.get("sign", ""),
            f"{message.message_id}|{digest}",
            now,
        )
        await self._deliver(message)
        return web.json_response({})

    async def _read_body(self, request: web.Request) -> bytes:
        cap = self.settings.max_body_bytes
        if request.content_length is not None and request.content_length > cap:
            raise Rejected(413, "body_too_large")
        chunks: list[bytes] = []
        size = 0
        async with asyncio.timeout(10):
            while True:
                chunk = await request.content.read(cap + 1)
                if not chunk:
                    break
                size += len(chunk)
                if size > cap:
                    raise Rejected(413, "body_too_large")
                chunks.append(chunk)
        return b"".join(chunks)

    async def _deliver(self, message: IncomingMessage) -> None:
        """Feed one decoded message (durable when this returns); answer in the background."""
        if self._feed is None:
            raise RuntimeError("dingtalk adapter not started")
        replies = await self._feed(message)
        if replies:
            self.spawn(self._send_replies(replies))

    async def _send_replies(self, replies: Sequence[OutgoingMessage]) -> None:
        for reply in replies:
            try:
                await self.send(reply)
            except Exception as exc:
                logger.warning("dingtalk inline reply to %s not sent: %s", reply.chat.chat_id, exc)

    async def handle_stream_callback(self, topic: str, event_id: str, data: str) -> None:
        """A Stream CALLBACK: a robot message or a card click. Returns once fed (then the
        client ACKs); raises Rejected for a frame we refuse (still ACKed, never retried)."""
        now = self.clock.now()
        if topic == ROBOT_MESSAGE_TOPIC:
            frame = StreamFrame("CALLBACK", {"topic": topic, "messageId": event_id}, data)
            message = decode_stream_callback(frame, settings=self.settings, now=now)
        elif topic == CARD_CALLBACK_TOPIC:
            message = decode_card_click(
                data, corp_id=self.settings.corp_id, event_id=event_id, now=now
            )
        else:
            raise Rejected(400, "wrong_topic")
        await self._deliver(message)

    # --- outbound -----------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> None:
        if message.chat.platform is not Platform.DINGTALK:
            raise SendError("permanent", "platform", f"not a DingTalk chat: {message.chat}")
        try:
            if message.private_to is not None:
                body = encode_private_send(message, robot_code=self.settings.robot_code)
                await self._openapi("POST", "/v1.0/robot/oToMessages/batchSend", body)
                return
            if message.text:
                await self._send_text(message)
            if message.card is not None and self.cfg.card_template_id:
                await self._send_card(message)
        except (MessageTooLarge, ValueError) as exc:
            raise SendError("permanent", "encode", str(exc)) from exc

    async def _send_text(self, message: OutgoingMessage) -> None:
        handle = message.reply_handle
        if handle and handle.startswith(self.settings.session_webhook_prefix):
            try:
                await self._webhook(handle, encode_reply(message), session=True)
                return
            except _SessionGone:
                logger.info("dingtalk session webhook gone; falling back to the OpenAPI")
        if message.chat.kind is ChatKind.PRIVATE:
            body = encode_private_send(message, robot_code=self.settings.robot_code)
            await self._openapi("POST", "/v1.0/robot/oToMessages/batchSend", body)
            return
        if message.mentions:
            robot = await self._custom_robot(message.chat)
            if robot is not None:
                url, secret = robot
                try:
                    await self._webhook(self._signed(url, secret), encode_reply(message))
                    return
                except SendError as exc:
                    if exc.kind != "permanent":
                        raise
                    # A removed robot or a wrong secret: the message still goes out, unmentioned.
                    logger.warning(
                        "dingtalk custom robot refused (%s); using the OpenAPI", exc.code
                    )
        body = encode_group_send(message, robot_code=self.settings.robot_code)
        await self._openapi("POST", "/v1.0/robot/groupMessages/send", body)

    async def _custom_robot(self, chat: ChatRef) -> tuple[str, str] | None:
        """The group's custom robot from `绑定推送`: `<oapi>/robot/send?access_token=...`,
        optionally followed by `#SEC...` (the 加签 secret). Anything else is ignored."""
        stored = await repo.chat_webhook(chat.platform, chat.corp_id, chat.chat_id)
        url, _, secret = stored.partition("#")
        if not url.startswith(f"{self.cfg.oapi_base}/robot/send?access_token="):
            return None
        return url, secret

    def _signed(self, url: str, secret: str) -> str:
        if not secret:
            return url
        # A fresh timestamp per send: a reused one fails with 310000 an hour later.
        timestamp = str(epoch_ms(self.clock.now()))
        _, query_sign = custom_robot_sign(secret, timestamp)
        return f"{url}&timestamp={timestamp}&sign={query_sign}"

    async def _send_card(self, message: OutgoingMessage) -> None:
        card = message.card
        assert card is not None
        track = card_track_id(card.vote_id, message.chat)
        params = card_params(message)
        if track not in self._cards:
            try:
                await self._openapi(
                    "POST",
                    "/v1.0/card/instances/createAndDeliver",
                    self._card_body(message, track, params),
                )
                self._cards.add(track)
                return
            except SendError as exc:
                if "exist" not in exc.code.lower():
                    raise
                self._cards.add(track)  # created before a restart: update it instead
        update = {
            "outTrackId": track,
            "cardData": {"cardParamMap": params},
            "cardUpdateOptions": {"updateCardDataByKey": True},
        }
        await self._openapi("PUT", "/v1.0/card/instances", update)

    def _card_body(
        self, message: OutgoingMessage, track: str, params: dict[str, str]
    ) -> dict[str, Any]:
        chat = message.chat
        body: dict[str, Any] = {
            "cardTemplateId": self.cfg.card_template_id,
            "outTrackId": track,
            "cardData": {"cardParamMap": params},
            "callbackType": "STREAM",
        }
        if chat.kind is ChatKind.GROUP:
            at = {u.user_id: (u.name or u.user_id) for u in message.mentions}
            body["openSpaceId"] = f"dtv1.card//IM_GROUP.{chat.chat_id}"
            body["imGroupOpenSpaceModel"] = {"supportForward": False}
            body["imGroupOpenDeliverModel"] = {
                "robotCode": self.settings.robot_code,
                "atUserIds": at,
            }
        else:
            body["openSpaceId"] = f"dtv1.card//IM_ROBOT.{chat.chat_id}"
            body["imRobotOpenSpaceModel"] = {"supportForward": False}
            body["imRobotOpenDeliverModel"] = {
                "spaceType": "IM_ROBOT",
                "robotCode": self.settings.robot_code,
            }
        return body

    # --- HTTP plumbing ------------------------------------------------------------------

    async def access_token(self) -> str:
        """The cached token; one refresh at a time for all concurrent senders."""
        if self._token_fresh():
            return self._token
        async with self._token_lock:
            if self._token_fresh():
                return self._token
            body = {"appKey": self.cfg.app_key, "appSecret": self.cfg.app_secret}
            status, answer = await self._request(
                "POST", f"{self.cfg.api_base}/v1.0/oauth2/accessToken", body
            )
            token = answer.get("accessToken")
            expire_in = answer.get("expireIn")
            if status != 200 or not isinstance(token, str) or not token:
                raise _classify(status, answer, token_call=True)
            seconds = expire_in if isinstance(expire_in, int) and expire_in > 0 else 7200
            self._token = token
            self._token_expires = self.clock.now() + timedelta(seconds=seconds)
            return token

    def _token_fresh(self) -> bool:
        expires = self._token_expires
        return (
            bool(self._token)
            and expires is not None
            and (self.clock.now() < expires - TOKEN_REFRESH_MARGIN)
        )

    async def _openapi(self, method: str, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        for attempt in (1, 2):
            token = await self.access_token()
            status, answer = await self._request(
                method, f"{self.cfg.api_base}{path}", body, token=token
            )
            if 200 <= status < 300 and str(answer.get("errcode", 0)) == "0":
                return answer
            error = _classify(status, answer)
            if error.kind == "token" and attempt == 1:
                if self._token == token:
                    self._token, self._token_expires = "", None
                continue
            raise error
        raise SendError("token", "token", "token refused twice")  # pragma: no cover

    async def _webhook(self, url: str, body: Mapping[str, Any], *, session: bool = False) -> None:
        status, answer = await self._request("POST", url, body)
        code = str(answer.get("errcode", ""))
        if status == 200 and code in ("0", ""):
            return
        if session and (code in _SESSION_GONE_CODES or status >= 500):
            # [INF] an expired session answers 300001 or HTTP 500 (platforms.md §3.2)
            raise _SessionGone(code or str(status))
        raise _classify(status, answer)

    async def _request(
        self, method: str, url: str, body: Mapping[str, Any], *, token: str = ""
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if token:
            headers["x-acs-dingtalk-access-token"] = token
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            async with self.http().request(
                method, URL(url, encoded=True), data=data, headers=headers
            ) as response:
                raw = await response.read()
                status = response.status
        except aiohttp.ConnectionTimeoutError as exc:
            raise SendError("transient", "connect_timeout", str(exc)) from exc
        except TimeoutError as exc:
            # The request may have reached DingTalk: a resend carries the same short id.
            raise SendError("transient", "timeout", "timed out", ambiguous=True) from exc
        except aiohttp.ClientConnectorError as exc:
            raise SendError("transient", "connect", str(exc)) from exc
        except aiohttp.ClientError as exc:
            # The connection broke after the request may have gone out.
            detail = str(exc) or type(exc).__name__
            raise SendError("transient", "network", detail, ambiguous=True) from exc
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = {}
        return status, answer if isinstance(answer, dict) else {}


def _classify(status: int, answer: Mapping[str, Any], *, token_call: bool = False) -> SendError:
    code = str(answer.get("errcode", answer.get("code", "")) or status)
    text = str(answer.get("errmsg", answer.get("message", "")))
    lowered = code.lower()
    if code in _THROTTLE_CODES or status == 429 or any(h in lowered for h in _THROTTLE_HINTS):
        return SendError("throttled", code, text)
    if status >= 500:
        return SendError("transient", code, text)
    if token_call:
        # The credentials themselves were refused: no retry can help.
        return SendError("permanent", code, text)
    if status == 401 or lowered in _TOKEN_CODES or "token" in lowered:
        return SendError("token", code, text)
    return SendError("permanent", code, text)
