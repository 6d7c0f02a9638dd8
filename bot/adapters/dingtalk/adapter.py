"""DingTalk (钉钉), the network shell around the pure codec (`codec`, `cards`).

Place in the flow: HTTP callback route (mode "http") or Stream client (mode "stream", see
`stream`) -> decode -> **feed** (router: durable msgId dedupe in the effect's
transaction) -> inline replies -> `send`; the outbox sender calls `send` for everything else.

Inbound (HTTP mode):

1. The body is read with a size cap before anything else; then `decode_callback` (timestamp
   window, constant-time sign, JSON, corp binding, staff id); then the (timestamp, sign) pair is
   bound to the msgId and the body's SHA-256 in the database (`HeaderBindings`, committed before
   the message is fed, shared by every instance and kept across restarts): DingTalk's sign
   does not cover the body, so a captured pair with a changed body, or with a new msgId once
   the pair's first use is more than `header_sibling_window_s` old, is refused (401); genuine
   messages pushed in the same millisecond share a pair and pass (storage/header_bindings.py).
   This binding covers every callback, also those answered at the door (no dedupe row), so no
   genuine pair is ever left unbound for a forger. A rejection answers its own 4xx status with
   a fixed body and is logged quietly; hostile input never produces a 5xx.
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
7. With cards on, a ballot's acknowledgement (`OutgoingMessage.ballot`) goes to the voter as a
   private message: the group sees the ballot once, as the card's new count edited in place.
8. Texts for one group waiting together in the outbox (a group voting at once) are joined into
   one message (`merge`): no mentions, nothing that goes to a voter alone, under
   MERGED_MAX_BYTES; fewer messages in the group and within its 20-a-minute limit.
9. The access token, the session and the background tasks are `bot.adapters.http`'s (single
   flight, refreshed before expiry; a token error refreshes once and retries). Errors become `SendError` by code: 130101 / rate codes ->
   throttled; 310000, 4xx, too large -> permanent; token -> token; network, 5xx -> transient;
   a timeout after the request went out -> transient, ambiguous.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any, Final

from aiohttp import web
from yarl import URL

from bot import logs
from bot.adapters import http
from bot.adapters.base import (
    CallbackClock,
    Feed,
    Rejected,
    SendError,
    SendErrorKind,
    retry_worthy,
)
from bot.adapters.dingtalk import cards
from bot.adapters.dingtalk.codec import (
    CARD_CALLBACK_TOPIC,
    ROBOT_MESSAGE_TOPIC,
    MessageTooLarge,
    StreamFrame,
    custom_robot_sign,
    decode_callback,
    decode_stream_callback,
    encode_group_send,
    encode_private_send,
    encode_reply,
    epoch_ms,
    header_binding,
)
from bot.adapters.dingtalk.config import DingTalkConfig
from bot.adapters.dingtalk.stream import SUBSCRIPTIONS, DingTalkStreamClient, StreamTiming
from bot.adapters.ports import ChatWebhooks, HeaderBindings
from bot.clock import Clock
from bot.events import ChatKind, ChatRef, IncomingMessage, OutgoingMessage, Platform

logger = logging.getLogger(__name__)

# Texts for one group joined into one message (`DingTalkAdapter.merge`) stay under this size: far
# below the webhook's 20,000 bytes and groupMessages/send's 15,000, and still short to read.
MERGED_MAX_BYTES: Final = 4000

# Codes DingTalk uses for rate limits (custom robot 130101; OpenAPI codes seen in the wild).
_THROTTLE_CODES: Final = frozenset({"130101", "send.too.fast", "send.byToken.tooFast"})
_THROTTLE_HINTS: Final = ("qpslimit", "throttl", "toofast", "too.fast", "flowcontrol", "too.many")
_TOKEN_CODES: Final = frozenset(
    {"invalidauthentication", "invalidaccesstoken", "accesstokenexpired", "40014", "42001"}
)
_SESSION_GONE_CODES: Final = frozenset({"300001", "300005"})
_DEFAULT_TOKEN_LIFETIME_S: Final = 7200


def build_dingtalk_adapter(
    cfg: DingTalkConfig,
    clock: Clock,
    *,
    webhooks: ChatWebhooks,
    bindings: HeaderBindings,
    **stream_options: Any,
) -> DingTalkAdapter:
    return DingTalkAdapter(cfg, clock, webhooks=webhooks, bindings=bindings, **stream_options)


def classify(status: int, answer: http.Answer) -> SendError | None:
    """An OpenAPI or robot webhook answer: None when accepted (2xx, errcode 0 or none), else
    the SendError its code stands for (rule 8)."""
    body = answer or {}
    if 200 <= status < 300 and str(body.get("errcode", 0)) in ("0", ""):
        return None
    code = str(body.get("errcode", body.get("code", "")) or status)
    text = str(body.get("errmsg", body.get("message", "")))
    lowered = code.lower()
    if code in _THROTTLE_CODES or status == 429 or any(h in lowered for h in _THROTTLE_HINTS):
        return SendError(SendErrorKind.THROTTLED, code, text)
    if status >= 500:
        return SendError(SendErrorKind.TRANSIENT, code, text)
    if status == 401 or lowered in _TOKEN_CODES or "token" in lowered:
        return SendError(SendErrorKind.TOKEN, code, text)
    return SendError(SendErrorKind.PERMANENT, code, text)


class _SessionGone(Exception):
    """The sessionWebhook expired or is unknown: fall back to the proactive send."""


class DingTalkAdapter:
    platform = Platform.DINGTALK

    def __init__(
        self,
        cfg: DingTalkConfig,
        clock: Clock,
        *,
        webhooks: ChatWebhooks,
        bindings: HeaderBindings,
        **stream_options: Any,
    ) -> None:
        """`webhooks` finds a group's custom robot; `bindings` stores which messages each signed
        header pair carried; `stream_options` go to DingTalkStreamClient (tests inject `sleep`
        and `jitter`)."""
        self.cfg = cfg
        self.webhooks = webhooks
        self.bindings = bindings
        self.siblings = timedelta(seconds=cfg.header_sibling_window_s)
        self._stream_options = stream_options
        self.clock = clock
        self.callback_clock = CallbackClock()  # /healthz: is this server's clock right?
        self.settings = cfg.codec_settings()
        self.http = http.HttpClient(timeout_s=cfg.send_timeout_s, classify=classify)
        self.tasks = http.TaskSet()
        self.token = http.TokenCache(clock, self._fetch_token)
        self._feed: Feed | None = None
        self._cards: set[str] = set()
        self.stream: DingTalkStreamClient | None = None  # once started, in Stream mode
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
            subscriptions = SUBSCRIPTIONS
            if self.cfg.mode == "http":
                subscriptions = tuple(s for s in SUBSCRIPTIONS if s["topic"] == CARD_CALLBACK_TOPIC)
            self.stream = DingTalkStreamClient(
                session=self.http.session,
                api_base=self.cfg.api_base,
                client_id=self.cfg.app_key,
                client_secret=self.cfg.app_secret,
                on_frame=self.handle_stream_callback,
                timing=StreamTiming(
                    watchdog_s=self.cfg.stream_watchdog_s, ping_s=self.cfg.stream_ping_s
                ),
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
        await self.tasks.close(grace_s=self.cfg.send_timeout_s)
        self._feed = None
        await self.http.close()

    # --- inbound ------------------------------------------------------------------------

    async def _callback(self, request: web.Request) -> web.Response:
        try:
            return await self._handle_callback(request)
        except Rejected as exc:
            logger.info("dingtalk callback rejected: %s %s", exc.status, exc.reason)
            self.callback_clock.refused(exc.reason)
            return web.json_response(
                {"errcode": exc.status, "errmsg": "rejected"}, status=exc.status
            )
        except TimeoutError:
            # A body trickled in past the deadline: a slow or hostile sender, not our fault.
            logger.info("dingtalk callback rejected: 408 body_too_slow")
            return web.json_response({"errcode": 408, "errmsg": "rejected"}, status=408)
        except Exception as exc:
            # Not hostile input (every decode failure is Rejected): our own failure. 503 asks
            # the platform to try again; never a 500.
            logs.retry_later(logger, "dingtalk callback", exc, transient=retry_worthy(exc))
            return web.json_response({"errcode": 503, "errmsg": "retry later"}, status=503)

    async def _handle_callback(self, request: web.Request) -> web.Response:
        body = await http.read_body(request, cap=self.settings.max_body_bytes)
        now = self.clock.now()
        message = decode_callback(request.headers, body, settings=self.settings, now=now)
        self.callback_clock.taken()
        # The pair is bound to the msgId *and* the body's digest: a redelivery is byte-identical,
        # while a captured pair with the msgId kept but another command is a forgery.
        binding = header_binding(request.headers, body, settings=self.settings)
        refused = await self.bindings.bind(
            binding.pair,
            message.message_id,
            binding.digest,
            now=now,
            expires_at=binding.expires_at,
            siblings=self.siblings,
        )
        if refused:
            raise Rejected(401, refused)
        await self._deliver(message)
        return web.json_response({})

    async def _deliver(self, message: IncomingMessage) -> None:
        """Feed one decoded message (durable when this returns); answer in the background."""
        if self._feed is None:
            raise RuntimeError("dingtalk adapter not started")
        replies = await self._feed(message)
        if replies:
            self.tasks.spawn(self._send_replies(replies))

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
            message = cards.decode_card_click(
                data, corp_id=self.settings.corp_id, event_id=event_id, now=now
            )
        else:
            raise Rejected(400, "wrong_topic")
        await self._deliver(message)

    # --- outbound -----------------------------------------------------------------------

    @property
    def edits_cards(self) -> bool:
        """Interactive cards (with a card template) are edited in place; without one there is no
        card to edit."""
        return bool(self.cfg.card_template_id)

    async def send(self, message: OutgoingMessage) -> None:
        if message.chat.platform is not Platform.DINGTALK:
            raise SendError(
                SendErrorKind.PERMANENT,
                "platform",
                f"not a DingTalk chat ({message.chat.platform})",
            )
        try:
            message = self._ballot_ack_to_voter(message)
            if message.private_to is not None:
                body = encode_private_send(message, robot_code=self.settings.robot_code)
                await self._openapi("POST", "/v1.0/robot/oToMessages/batchSend", body)
                return
            carded = message.card is not None and bool(self.cfg.card_template_id)
            if message.text:
                shown = message.text_with_card() if carded else message.text
                await self._send_text(replace(message, text=shown))
            if carded:
                await self._send_card(message)
        except (MessageTooLarge, ValueError) as exc:
            raise SendError(SendErrorKind.PERMANENT, "encode", str(exc)) from exc

    def merge(self, first: OutgoingMessage, then: OutgoingMessage) -> OutgoingMessage | None:
        """Two texts for the same group, each without mentions and going to the group (not a
        ballot's acknowledgement that goes to the voter, rule 7), as one text: the lines one
        after the other, through the later one's sessionWebhook (it expires last), while the
        text stays under MERGED_MAX_BYTES."""
        if not all(self._merges(m) for m in (first, then)) or first.chat != then.chat:
            return None
        text = f"{first.text}\n{then.text}"
        if len(text.encode()) > MERGED_MAX_BYTES:
            return None
        return replace(then, text=text, ballot=None)

    def _merges(self, message: OutgoingMessage) -> bool:
        return (
            message.chat.kind is ChatKind.GROUP
            and message.private_to is None
            and message.card is None
            and not message.mentions
            and bool(message.text)
            and self._ballot_ack_to_voter(message) is message
        )

    def _ballot_ack_to_voter(self, message: OutgoingMessage) -> OutgoingMessage:
        """With cards, a ballot's group answer is the card's count, edited in place; the
        acknowledgement (choice, receipt) goes to the voter alone (rule 7)."""
        ack = message.ballot
        if (
            ack is None
            or ack.voter is None
            or not self.cfg.card_template_id
            or message.chat.kind is not ChatKind.GROUP
            or message.card is not None
        ):
            return message
        voter = ack.voter
        chat = ChatRef(voter.platform, voter.corp_id, voter.user_id, ChatKind.PRIVATE)
        return replace(message, chat=chat, private_to=voter, reply_handle="", mentions=())

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
                    if exc.kind is not SendErrorKind.PERMANENT:
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
        stored = await self.webhooks.webhook(chat.platform, chat.corp_id, chat.chat_id)
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
        track = cards.card_track_id(card.vote_id, message.chat)
        if track not in self._cards:
            template_id, robot_code = self.cfg.card_template_id, self.settings.robot_code
            body = cards.create_body(
                message, track=track, template_id=template_id, robot_code=robot_code
            )
            try:
                await self._openapi("POST", "/v1.0/card/instances/createAndDeliver", body)
                self._cards.add(track)
                return
            except SendError as exc:
                if "exist" not in exc.code.lower():
                    raise
                self._cards.add(track)  # created before a restart: update it instead
        await self._openapi("PUT", "/v1.0/card/instances", cards.update_body(message, track=track))

    # --- requests -----------------------------------------------------------------------

    async def _fetch_token(self) -> tuple[str, int]:
        url = URL(f"{self.cfg.api_base}/v1.0/oauth2/accessToken", encoded=True)
        body = {"appKey": self.cfg.app_key, "appSecret": self.cfg.app_secret}
        status, answer = await self.http.exchange("POST", url, body=body)
        found = answer or {}
        token, seconds = found.get("accessToken"), found.get("expireIn")
        if status != 200 or not isinstance(token, str) or not token:
            error = classify(status, answer)
            if error is not None and error.kind is not SendErrorKind.TOKEN:
                raise error
            # The credentials themselves were refused: no retry can help.
            code = str(status) if error is None else error.code
            raise SendError(SendErrorKind.PERMANENT, code, "access token refused")
        if not isinstance(seconds, int) or seconds <= 0:
            seconds = _DEFAULT_TOKEN_LIFETIME_S
        return token, seconds

    async def _openapi(self, method: str, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        url = URL(f"{self.cfg.api_base}{path}", encoded=True)

        async def call(token: str) -> dict[str, Any]:
            headers = {"x-acs-dingtalk-access-token": token}
            return await self.http.call(method, url, body=body, headers=headers)

        return await self.token.with_token(call)

    async def _webhook(self, url: str, body: Mapping[str, Any], *, session: bool = False) -> None:
        status, answer = await self.http.exchange("POST", URL(url, encoded=True), body=body)
        error = classify(status, answer)
        if error is None:
            return
        if session and (error.code in _SESSION_GONE_CODES or status >= 500):
            # [INF] an expired session answers 300001 or HTTP 500 (platforms.md §3.2)
            raise _SessionGone(error.code)
        raise error
