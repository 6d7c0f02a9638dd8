"""WeCom (企业微信) network shell: the aiohttp route, the long connection and every send.

Place in the flow::

    webhook:  POST callback_path -> body cap -> decode_callback (`codec`) ->
              feed(IncomingMessage) -> inline replies -> encrypted passive reply (same request)
    long connection: aibot_msg_callback / aibot_event_callback (`ws`) ->
              feed -> aibot_respond_msg / aibot_respond_update_msg with the inbound req_id
    outbox -> send(OutgoingMessage) -> response_url | 消息推送 webhook | aibot_send_msg |
              self-built app message/send

Inbound rules:

1. Hostile input never costs a 500: the body is capped before it is read, the codec raises only
   `Rejected` (answered with its status and an empty body), and anything unexpected while
   decoding is logged and answered 400. Nothing touches the database before the signature and
   the decryption succeeded; after that the router owns de-duplication (msgid, same
   transaction as the effect). An authentic message the feed could not take (not started,
   queue or database down) is answered 503, so WeCom delivers it again.
2. WeCom waits about 5 s for the passive reply. The feed gets `reply_budget_s`; when it needs
   longer the request is answered empty (WeCom does not retry) and the replies go out once the
   feed is done, the first through `response_url` (one call), the rest as proactive sends.
3. A card click (`template_card_event` on one of our vote cards) becomes the text command
   `投票 <赞成|反对|弃权> 表决#<vote_id>` with the event's msgid, so it passes the same
   permissions and de-duplication as a typed vote; it is answered with `update_template_card`
   for the clicking member only, locked: their choice checked when the reply acknowledges the
   ballot (`OutgoingMessage.ballot`, never the reply's wording), nothing checked when it was
   refused; a redelivered click shows what its first answer showed. A secret ballot never
   shows counts.
4. An empty feed result, an unsupported message or event: a plain empty 200.

Outbound rules (`send`):

5. `private_to` goes 1:1 and never into a group: the answer to a private message through that
   message's response_url (rule 7), else the AI bot's single chat over the long connection,
   else the self-built app's `message/send`, else a permanent SendError.
6. A vote card goes with its text in the passive reply (`stream_with_template_card`), or after
   it as a message of its own over the long connection; only then does the text point at the
   card's buttons. A `response_url` takes one message: the text (a card alone would lose the
   announcement and its mentions). The 消息推送 webhook has no interactive cards: the text
   with the count.
7. A `reply_handle` (response_url) is used once: marked used when WeCom took the message or
   refused the url (used, expired); a rate limit, a 5xx or a timeout leave it for the retry.
   Afterwards, or when WeCom refuses it, the message falls back to the proactive send.
8. Proactive group sends use the long connection's `aibot_send_msg` in that mode, else the
   group's 消息推送 key stored by `绑定推送` (markdown with `<@userid>` mentions).
9. Errors by errcode (`classify`): 45009 throttled, 93000 permanent, 42001/40014 refresh the
   app token once and retry (single-flight, `bot.adapters.http`), -1/6000/45033 and HTTP 5xx
   transient, an answer that is not JSON transient and ambiguous, anything else permanent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

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
from bot.adapters.ports import ChatWebhooks, ConnectionLease
from bot.adapters.wecom import codec
from bot.adapters.wecom.config import WeComConfig
from bot.adapters.wecom.ws import WeComWsClient, WsRequestError, WsTiming
from bot.bounded import Bounded
from bot.clock import Clock
from bot.config import ConfigError
from bot.events import (
    BallotAck,
    ChatKind,
    IncomingMessage,
    OutgoingMessage,
    Platform,
    VoteCard,
)

logger = logging.getLogger(__name__)

CHOICE_WORDS: Final = {"yes": "赞成", "no": "反对", "abstain": "弃权"}
_CACHE_SIZE: Final = 2048


def build_wecom_adapter(
    cfg: WeComConfig,
    clock: Clock,
    *,
    webhooks: ChatWebhooks,
    lease: ConnectionLease,
    ws_timing: WsTiming | None = None,
    rng: random.Random | None = None,
    owner: str | None = None,
) -> WeComAdapter:
    """The adapter for a validated config (`wecom_from_settings`)."""
    if not cfg.enabled:
        raise ConfigError("wecom.enabled", "企业微信未启用（enabled = false）")
    return WeComAdapter(
        cfg, clock, webhooks=webhooks, lease=lease, ws_timing=ws_timing, rng=rng, owner=owner
    )


def instance_owner() -> str:
    return f"{socket.gethostname()[:32]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


# --- the adapter -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Answer:
    """What to answer an inbound callback with: a plaintext reply body and its kind ("msg" a
    reply to a message, "update" a card update), or nothing."""

    kind: str
    body: dict[str, Any]


class WeComAdapter:
    platform = Platform.WECOM

    def __init__(
        self,
        cfg: WeComConfig,
        clock: Clock,
        *,
        webhooks: ChatWebhooks,
        lease: ConnectionLease,
        ws_timing: WsTiming | None = None,
        rng: random.Random | None = None,
        owner: str | None = None,
    ) -> None:
        """`webhooks` finds a group's 消息推送 key; `lease` lets one instance at a time hold
        the long connection."""
        self.cfg = cfg
        self.clock = clock
        self.callback_clock = CallbackClock()  # /healthz: is this server's clock right?
        self.webhooks = webhooks
        self.lease = lease
        self.settings = cfg.codec_settings()
        self.long_connection = cfg.mode == "long_connection"
        self.owner = owner or instance_owner()
        self._ws_timing = ws_timing or WsTiming(heartbeat_s=cfg.heartbeat_s)
        self._rng = rng
        self._feed: Feed | None = None
        self.http = http.HttpClient(timeout_s=cfg.request_timeout_s, classify=classify)
        self.tasks = http.TaskSet()
        self.token = http.TokenCache(clock, self._fetch_token)
        self.ws: WeComWsClient | None = None
        self._cards: dict[int, VoteCard] = {}
        self._task_ids: Bounded[str, int] = Bounded(_CACHE_SIZE)  # task_id -> vote id
        self._streams: Bounded[str, str] = Bounded(_CACHE_SIZE)  # stream id -> final content
        self._used_handles: Bounded[str, bool] = Bounded(_CACHE_SIZE)  # response_urls called
        self._acks: Bounded[str, BallotAck] = Bounded(_CACHE_SIZE)  # card click msgid -> its ack

    # --- lifecycle ----------------------------------------------------------------------------

    def routes(self) -> Sequence[web.RouteDef]:
        if self.long_connection:
            return []
        return [
            web.get(self.cfg.callback_path, self._verify_url),
            web.post(self.cfg.callback_path, self._callback),
        ]

    async def start(self, feed: Feed) -> None:
        self._feed = feed
        if self.long_connection:
            self.ws = WeComWsClient(
                url=self.cfg.ws_url,
                bot_id=self.cfg.bot_id,
                secret=self.cfg.bot_secret,
                owner=self.owner,
                lease=self.lease,
                clock=self.clock,
                session=self.http.session,
                on_frame=self._on_frame,
                timing=self._ws_timing,
                rng=self._rng,
            )
            self.ws.start()

    async def close(self, *, release: bool = True) -> None:
        if self.ws is not None:
            await self.ws.close(release=release)
        await self.tasks.close()
        await self.http.close()

    # --- webhook: HTTP views ------------------------------------------------------------------

    async def _verify_url(self, request: web.Request) -> web.Response:
        try:
            echo = codec.verify_url(request.query, settings=self.settings, now=self.clock.now())
        except Rejected as rej:
            logger.info("wecom url verification rejected: %s", rej.reason)
            return web.Response(status=rej.status)
        except Exception:
            logger.exception("wecom url verification failed unexpectedly")
            return web.Response(status=400)
        return web.Response(text=echo, content_type="text/plain")

    async def _callback(self, request: web.Request) -> web.Response:
        try:
            body = await http.read_body(request, cap=self.settings.max_body_bytes)
            now = self.clock.now()
            decoded = codec.decode_callback(request.query, body, settings=self.settings, now=now)
        except Rejected as rej:
            logger.info("wecom callback rejected: %s %s", rej.status, rej.reason)
            self.callback_clock.refused(rej.reason)
            return web.Response(status=rej.status)
        except TimeoutError:
            return web.Response(status=408)
        except Exception:
            logger.exception("wecom callback: unexpected error while decoding")
            return web.Response(status=400)
        self.callback_clock.taken()
        try:
            answer = await self._answer(decoded)
            if answer is None:
                return web.Response(status=200)
            nonce = request.query.get("nonce") or codec.make_nonce()
            reply = codec.encode_reply(
                answer.body,
                settings=self.settings,
                nonce=nonce,
                timestamp=str(int(self.clock.now().timestamp())),
            )
            return web.json_response(reply)
        except Exception as exc:
            # The feed could not take the message (not started, the inbound queue or the
            # database unavailable): 503 asks WeCom to deliver it again; the msgid dedupe makes
            # the retry safe. Never a 500.
            logs.retry_later(logger, "wecom callback", exc, transient=retry_worthy(exc))
            return web.Response(status=503)

    # --- both transports: decoded callback -> answer --------------------------------------------

    async def _answer(self, decoded: codec.Decoded) -> _Answer | None:
        match decoded:
            case IncomingMessage():
                replies = await self._feed_within_budget(decoded)
                if not replies:
                    return None
                return _Answer("msg", self._message_reply(replies))
            case codec.CardEvent():
                return await self._card_event(decoded)
            case codec.StreamRefresh():
                content = self._streams.get(decoded.stream_id, "")
                return _Answer("msg", codec.stream_reply(decoded.stream_id, content, True))
            case codec.Unsupported():
                return None

    async def _feed_within_budget(self, message: IncomingMessage) -> list[OutgoingMessage] | None:
        """The feed's replies, or None when the feed outlasts the reply budget (it goes on in
        the background and its replies are sent later)."""
        feed = self._feed
        if feed is None:
            raise RuntimeError("the WeCom adapter has not been started")
        task = self.tasks.spawn(feed(message))
        try:
            async with asyncio.timeout(self.cfg.reply_budget_s):
                return list(await asyncio.shield(task))
        except TimeoutError:
            logger.warning("wecom: %s took over the reply budget", message.message_id)
            self.tasks.spawn(self._deliver_late(task, message.reply_handle))
            return None

    async def _deliver_late(self, task: asyncio.Task[Any], handle: str) -> None:
        try:
            replies: list[OutgoingMessage] = list(await task)
        except Exception:
            logger.exception("wecom: a message that outlasted the reply budget failed")
            return
        for i, reply in enumerate(replies):
            message = replace(reply, reply_handle=handle if i == 0 else "")
            try:
                await self.send(message)
            except SendError as exc:
                logger.error("wecom: late reply not delivered: %s", exc)

    async def _card_event(self, event: codec.CardEvent) -> _Answer | None:
        click = codec.vote_click(event)
        if click is None:
            return None
        self._task_ids.put(event.task_id, click.vote_id)
        message = IncomingMessage(
            platform=Platform.WECOM,
            chat=event.chat,
            sender=event.sender,
            text=f"投票 {CHOICE_WORDS[click.choice]} 表决#{click.vote_id}",
            message_id=event.message_id,
            received_at=event.received_at,
            mentions_bot=True,
            names_in_text=True,
            reply_handle=event.response_url,
        )
        replies = await self._feed_within_budget(message)
        if not replies:
            return None
        text = "\n".join(r.text for r in replies if r.text)
        ack = next(
            (r.ballot for r in replies if r.ballot and r.ballot.vote_id == click.vote_id), None
        )
        if ack is not None:
            self._acks.put(event.message_id, ack)
        else:  # a redelivered click gets the first answer's text only: show that answer's card
            ack = self._acks.get(event.message_id)
        known = self._cards.get(click.vote_id)
        card = VoteCard(
            vote_id=click.vote_id,
            title=known.title if known else f"表决#{click.vote_id}",
            summary=text,
            secret=known.secret if known else False,
        )
        body = codec.update_card(
            card,
            task_id=event.task_id,
            userid=event.sender.user_id,
            chosen=None if ack is None else ack.choice,
        )
        return _Answer("update", body)

    def _message_reply(self, replies: Sequence[OutgoingMessage]) -> dict[str, Any]:
        """One passive reply for all inline replies: a finished stream with every text, plus
        the first vote card as a template card."""
        carded = next((r for r in replies if r.card is not None), None)
        content = "\n\n".join(
            _markdown(r, r.text_with_card() if r is carded else r.text) for r in replies if r.text
        )
        stream_id = f"s{secrets.token_hex(8)}"
        self._streams.put(stream_id, content)
        body = codec.stream_reply(stream_id, content, True)
        card = None if carded is None else carded.card
        if card is None:
            return body
        template = codec.vote_card(card, task_id=self._new_task_id(card))["template_card"]
        return {
            "msgtype": "stream_with_template_card",
            "stream": body["stream"],
            "template_card": template,
        }

    def _new_task_id(self, card: VoteCard) -> str:
        self._cards[card.vote_id] = card
        task_id = f"vote{card.vote_id}_{secrets.token_hex(6)}"
        self._task_ids.put(task_id, card.vote_id)
        return task_id

    # --- long connection: inbound frames --------------------------------------------------------

    async def _on_frame(self, frame: dict[str, Any]) -> None:
        headers = frame.get("headers")
        rid = headers.get("req_id") if isinstance(headers, dict) else None
        body = frame.get("body")
        if not isinstance(rid, str) or not isinstance(body, dict):
            return
        try:
            decoded = codec.decode_payload(body, settings=self.settings, now=self.clock.now())
        except Rejected as rej:
            logger.info("wecom ws frame rejected: %s", rej.reason)
            return
        answer = await self._answer(decoded)
        if answer is None or self.ws is None:
            return
        cmd = "aibot_respond_update_msg" if answer.kind == "update" else "aibot_respond_msg"
        try:
            await self.ws.request(cmd, answer.body, request_id=rid)
        except WsRequestError as exc:
            logger.error("wecom ws: reply %s refused: %s", rid, exc)

    # --- send -----------------------------------------------------------------------------------

    # WeCom edits a card only in the answer to a click on it (and the ballot's own reply
    # carries the count): a card update is not sent, so it is not queued either.
    edits_cards = False

    def merge(self, first: OutgoingMessage, then: OutgoingMessage) -> OutgoingMessage | None:
        """One by one: a reply's response_url answers its own message (and a card click's
        acknowledgement checks the voter's option on their own card)."""
        return None

    async def send(self, message: OutgoingMessage) -> None:
        if message.chat.platform is not Platform.WECOM:
            raise SendError(SendErrorKind.PERMANENT, "platform", "not a WeCom message")
        if message.is_card_update:
            # A card update (a new count): WeCom edits a card only in the answer to a click on
            # it, and the ballot's own reply already carries the count. Sending it any other way
            # would post a new card or a message of its own for every ballot.
            return
        if message.private_to is not None or message.chat.kind is ChatKind.PRIVATE:
            # The answer to a private message goes back through that message's response_url
            # (no self-built app needed); anything else 1:1 through the app or the connection.
            if self._own_chat(message) and await self._answered(message):
                return
            await self._send_private(message)
            return
        if await self._answered(message):
            return
        if self.long_connection:
            await self._send_long_connection(message)
            return
        await self._send_group_webhook(message)

    @staticmethod
    def _own_chat(message: OutgoingMessage) -> bool:
        """Whether a private message answers a message of the same private chat, so that its
        reply handle leads to that person alone (never a group's handle)."""
        to = message.private_to
        chat = message.chat
        return chat.kind is ChatKind.PRIVATE and (to is None or to.user_id == chat.chat_id)

    async def _answered(self, message: OutgoingMessage) -> bool:
        """Sent through the reply's response_url (rule 7); False when it has none or it is used
        up (then the caller sends another way). It is marked used once WeCom took the message,
        or refused the url itself (used, expired: a permanent answer): a rate limit, a 5xx or a
        timeout leave it for the retry, which calls it again (it is good for an hour)."""
        handle = message.reply_handle
        if not handle or handle in self._used_handles or not self._is_response_url(handle):
            return False
        try:
            await self._post_response_url(handle, message)
        except SendError as exc:
            if exc.kind is not SendErrorKind.PERMANENT or exc.ambiguous:
                raise
            self._used_handles.put(handle, True)
            logger.info("wecom: response_url refused (%s), sending another way", exc.code)
            return False
        self._used_handles.put(handle, True)
        return True

    def _is_response_url(self, handle: str) -> bool:
        return handle.startswith(self.cfg.api_base + "/")

    async def _post_response_url(self, url: str, message: OutgoingMessage) -> None:
        """One message through a response_url, good for one call: the text when there is
        one (a vote's announcement: its rule, its threshold, the voters mentioned; a card
        alone would lose them all), else the card."""
        if message.card is not None and not message.text:
            body = codec.vote_card(message.card, task_id=self._new_task_id(message.card))
        else:
            body = codec.markdown_reply(_markdown(message))
        await self.http.call("POST", url, body=body)

    async def _send_long_connection(self, message: OutgoingMessage) -> None:
        """The text, then the card as a message of its own (the connection sends either).
        The card is a convenience, the text the message: a card that fails is logged, not
        retried (a retry would post the text twice)."""
        chatid, card = message.chat.chat_id, message.card
        if message.text:
            text = message.text_with_card() if card is not None else message.text
            await self._ws_send(chatid, codec.markdown_reply(_markdown(message, text)))
        if card is None:
            return
        body = codec.vote_card(card, task_id=self._new_task_id(card))
        if not message.text:
            await self._ws_send(chatid, body)
            return
        try:
            await self._ws_send(chatid, body)
        except SendError as exc:
            logger.warning("wecom: the vote card after its text was not sent (%s)", exc.code)

    async def _send_group_webhook(self, message: OutgoingMessage) -> None:
        chat = message.chat
        stored = await self.webhooks.webhook(Platform.WECOM, chat.corp_id, chat.chat_id)
        key = webhook_key(stored)
        if not key:
            raise SendError(
                SendErrorKind.PERMANENT,
                "no_webhook",
                "本群还没有绑定消息推送（请管理员发送「绑定推送 key」）",
            )
        if message.card is not None:  # no interactive cards on 消息推送: the text with the count
            card = message.card
            summary = "" if card.secret and not card.closed else f"\n{card.summary}"
            message = replace(message, card=None, text=f"{message.text}{summary}")
        try:
            body = codec.encode_webhook_text(message, markdown=True)
        except ValueError:  # "@all" cannot go in markdown
            body = codec.encode_webhook_text(message, markdown=False)
        await self.http.call(
            "POST", f"{self.cfg.api_base}/cgi-bin/webhook/send?key={key}", body=body
        )

    async def _send_private(self, message: OutgoingMessage) -> None:
        to = message.private_to
        user_id = to.user_id if to is not None else message.chat.chat_id
        if to is not None and to.platform is not Platform.WECOM:
            raise SendError(
                SendErrorKind.PERMANENT, "platform", "private message for another platform"
            )
        if self.long_connection:
            await self._ws_send(user_id, codec.markdown_reply(_markdown(message)))
            return
        if not (self.cfg.app_agent_id and self.cfg.app_secret):
            raise SendError(
                SendErrorKind.PERMANENT,
                "no_private_channel",
                "webhook mode without a self-built app cannot send 1:1 messages "
                "(configure wecom.app_agent_id and YISHI_WECOM_APP_SECRET)",
            )
        body = {
            "touser": user_id,
            "msgtype": "text",
            "agentid": int(self.cfg.app_agent_id),
            "text": {"content": codec.truncate_utf8(message.text, codec.WEBHOOK_TEXT_MAX_BYTES)},
        }
        await self._app_post("/cgi-bin/message/send", body)

    async def _ws_send(self, chatid: str, body: Mapping[str, Any]) -> None:
        ws = self.ws
        if ws is None:
            raise SendError(
                SendErrorKind.TRANSIENT, "not_started", "the long connection is not running"
            )
        try:
            await ws.request("aibot_send_msg", {"chatid": chatid, **body})
        except WsRequestError as exc:
            if exc.errcode == -1:
                raise SendError(
                    SendErrorKind.TRANSIENT,
                    "ws",
                    str(exc),
                    ambiguous=exc.sent and "no ack" in exc.errmsg,
                ) from None
            raise _errcode_error(exc.errcode, exc.errmsg) from None

    # --- the self-built app (its access token is cached single-flight) -------------------------

    async def _fetch_token(self) -> tuple[str, int]:
        url = f"{self.cfg.api_base}/cgi-bin/gettoken"
        params = {"corpid": self.cfg.corp_id, "corpsecret": self.cfg.app_secret}
        data = await self.http.call("GET", url, params=params)
        token = data.get("access_token")
        expires = data.get("expires_in", 7200)
        if not isinstance(token, str) or not token or not isinstance(expires, int):
            raise SendError(SendErrorKind.TRANSIENT, "gettoken", "malformed gettoken answer")
        return token, expires

    async def _app_post(self, path: str, body: Mapping[str, Any]) -> None:
        url = f"{self.cfg.api_base}{path}"

        async def post(token: str) -> dict[str, Any]:
            return await self.http.call("POST", url, params={"access_token": token}, body=body)

        await self.token.with_token(post)


# --- helpers -----------------------------------------------------------------------------------


def classify(status: int, answer: http.Answer) -> SendError | None:
    """A qyapi answer (rule 9): None when its errcode is 0."""
    if status >= 500:
        return SendError(SendErrorKind.TRANSIENT, f"http{status}", "server error")
    if status >= 400:
        return SendError(SendErrorKind.PERMANENT, f"http{status}", "refused")
    if answer is None:
        return SendError(SendErrorKind.TRANSIENT, "bad_json", "not a JSON object", ambiguous=True)
    value = answer.get("errcode", 0)
    errcode = value if isinstance(value, int) and not isinstance(value, bool) else -1
    if errcode == 0:
        return None
    return _errcode_error(errcode, str(answer.get("errmsg", "")))


def _errcode_error(errcode: int, errmsg: str) -> SendError:
    kind = codec.classify_webhook_error(errcode)
    message = f"WeCom errcode {errcode}: {errmsg}"
    match kind:
        case "throttled":
            return SendError(SendErrorKind.THROTTLED, errcode, message)
        case "transient":
            return SendError(SendErrorKind.TRANSIENT, errcode, message)
        case "token":
            return SendError(SendErrorKind.TOKEN, errcode, message)
        case _:  # "gone" (93000), "permanent"
            return SendError(SendErrorKind.PERMANENT, errcode, message)


def _markdown(message: OutgoingMessage, text: str | None = None) -> str:
    """Message text (`text`, else the message's) for the AI bot's markdown (stream,
    response_url, aibot_send_msg), with `<@userid>` mentions appended."""
    ids = [
        m.user_id
        for m in message.mentions
        if m.platform is Platform.WECOM and m.user_id and m.user_id != "@all"
    ]
    tail = ("\n" + " ".join(f"<@{uid}>" for uid in dict.fromkeys(ids))) if ids else ""
    return (message.text if text is None else text) + tail


def webhook_key(stored: str) -> str:
    """The 消息推送 key from what `绑定推送` stored: the key itself or the full webhook URL
    (only its key is used; the host is always the configured api_base)."""
    stored = stored.strip()
    if not stored:
        return ""
    if "://" in stored:
        keys = parse_qs(urlsplit(stored).query).get("key", [])
        stored = keys[0] if keys else ""
    return stored if stored and all(c.isalnum() or c in "-_" for c in stored) else ""
