# Over 600 lines: the wire rules of both transports and every outbound body, numbered in one list.
"""DingTalk (钉钉), the pure layer: a signed HTTP callback or a Stream frame becomes an
`IncomingMessage`; an `OutgoingMessage` becomes the JSON body of a sessionWebhook reply or of a
robot OpenAPI send.

Place in the flow: **adapter.decode** -> IncomingMessage -> router.dispatch -> ... ->
list[OutgoingMessage] -> outbox -> **adapter.send** (which POSTs what `encode_*` built). Nothing
here does I/O or reads the clock; the network shell (aiohttp route, Stream client, access-token
cache) wraps these functions. Wire formats: docs/platforms.md §2.

Inbound rules (reliability.md §1.3, §1.5):

1. `decode_callback` checks in this order and stops at the first failure, cheapest first:
   body size (413) -> `timestamp` header present, ASCII digits, within ±window of `now` (401)
   -> `sign` header equal to `callback_sign`, compared in constant time (401) -> JSON object
   with every field type-checked (400) -> senderCorpId == chatbotCorpId == the configured corp
   (403) -> non-empty senderStaffId (403). Only then is the message built.
2. Hostile input ends in `Rejected` (400 malformed, 401 bad, missing or stale credentials,
   403 wrong corp or no staff id, 413 too large), never in another exception type.
3. A stale or future timestamp is 401, not 408: the credential has expired, the client did
   not time out, and 408 invites a retry of the same dead request.
4. The sign covers the timestamp only, not the body: a captured (timestamp, sign) pair signs any
   body for the rest of the hour. The shell binds each pair to the msgIds and body digests it
   carried (`header_binding`, stored for every instance: storage/header_bindings.py has the
   rule): the same msgId with the same body is a redelivery (the msgId dedupe drops it), with
   another body a forgery; a new msgId is accepted only within seconds of the pair's first
   use (genuine messages of the same millisecond). Stream mode has no such hole (the connection
   itself is authenticated).
5. Only msgtype "text" carries a command. Any other msgtype (picture, richText, file, audio,
   video...) is authenticated and well-formed, so it is not refused: it decodes to a message
   with empty text, which the router treats as "not a command".
6. `reply_handle` is the sessionWebhook only while `sessionWebhookExpiredTime` is in the future
   and the URL starts with `settings.session_webhook_prefix`; otherwise it is "" and the shell
   falls back to the OpenAPI. The prefix check keeps a forged body from making us POST poll
   data to a URL of its choosing.

Outbound rules:

7. Replies are msgtype "text" (sampleText for the OpenAPI), also for several lines: DingTalk
   text keeps line breaks, while markdown would reinterpret `#`, `*`, `_` and `1.` typed by
   members in motion titles and would need escaping.
8. The sessionWebhook can @: each mention's staff id goes into `at.atUserIds` and the token
   `@<staffId>` into the text (DingTalk renders it as the member's name, and only highlights
   an @ whose token is in the text). A written `@<name>` is turned into that token, otherwise
   the token is put in front of the text.
9. The OpenAPI group and 1:1 sends cannot @: the names are written out as `@<name>` instead.
10. `msgParam` is a JSON string of at most 15,000 UTF-8 bytes; a webhook body at most 20,000.
    A larger message raises `MessageTooLarge`: the handler must split it, we never truncate
    an official record silently.
11. A message with `private_to` set never goes into a group (ValueError): a secret ballot must
    not leak into the group chat by a routing slip.
12. `card` is not encoded here: interactive cards go through the card API in the shell.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Final

from bot.adapters.base import Rejected
from bot.events import ChatKind, ChatRef, IncomingMessage, OutgoingMessage, Platform, UserRef
from bot.events import normalize_text as normalized

ROBOT_MESSAGE_TOPIC: Final = "/v1.0/im/bot/messages/get"
CARD_CALLBACK_TOPIC: Final = "/v1.0/card/instances/callback"
STREAM_FRAME_TYPES: Final = frozenset({"SYSTEM", "EVENT", "CALLBACK"})
GROUP_SEND_MAX_PARAM_BYTES: Final = 15_000
WEBHOOK_MAX_BODY_BYTES: Final = 20_000
STREAM_MAX_FRAME_BYTES: Final = 64 * 1024

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS: Final = timedelta(milliseconds=1)
_MAX_TIMESTAMP_DIGITS: Final = 16
_ID_TAIL: Final = r"(?![0-9A-Za-z_\-])"


class MessageTooLarge(ValueError):
    """The encoded message exceeds a DingTalk size limit; the caller must split it."""


@dataclass(frozen=True)
class DingTalkSettings:
    """One enterprise-internal robot. An empty secret or corp id fails at construction: we
    never run fail-open without signature checks."""

    app_key: str
    app_secret: str = field(repr=False)
    robot_code: str
    corp_id: str
    max_body_bytes: int = 16 * 1024
    timestamp_window_s: int = 3600
    # Names a member may type after "@" at the start of a command; stripped from the text.
    bot_names: tuple[str, ...] = ("议事",)
    session_webhook_prefix: str = "https://oapi.dingtalk.com/robot/sendBySession?"

    def __post_init__(self) -> None:
        if not self.app_secret:
            raise ValueError("DingTalk app_secret is empty: refusing to run without signatures")
        if not self.corp_id:
            raise ValueError("DingTalk corp_id is empty: refusing to run without corp binding")
        if self.max_body_bytes <= 0 or self.timestamp_window_s <= 0:
            raise ValueError("max_body_bytes and timestamp_window_s must be positive")


# --- signatures ---------------------------------------------------------------------------


def _hmac_base64(secret: str, timestamp: str) -> str:
    message = f"{timestamp}\n{secret}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def callback_sign(app_secret: str, timestamp: str) -> str:
    """base64(HMAC-SHA256(key=appSecret, msg=timestamp + "\\n" + appSecret)), not URL-encoded."""
    return _hmac_base64(app_secret, timestamp)


def custom_robot_sign(secret: str, timestamp: str) -> tuple[str, str]:
    """The custom robot's sign: (base64, the same URL-encoded for the query string). Put the
    second one into a hand-built URL; give the first to a client that encodes `params`."""
    signature = _hmac_base64(secret, timestamp)
    return signature, urllib.parse.quote_plus(signature)


def epoch_ms(when: datetime) -> int:
    """Milliseconds since the Unix epoch of an aware datetime."""
    return (when - _EPOCH) // _ONE_MS


def _parse_ms(value: str) -> int | None:
    if not (0 < len(value) <= _MAX_TIMESTAMP_DIGITS and value.isascii() and value.isdigit()):
        return None
    return int(value)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup, so a plain dict behaves like aiohttp's CIMultiDictProxy."""
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None


# --- inbound ------------------------------------------------------------------------------


def decode_callback(
    headers: Mapping[str, str],
    body: bytes,
    *,
    settings: DingTalkSettings,
    now: datetime,
) -> IncomingMessage:
    """Verify and decode one HTTP-mode robot callback (rules 1-6 of the module docstring).
    The (timestamp, sign) reuse check needs state: bind `header_binding(...)` after this."""
    if len(body) > settings.max_body_bytes:
        raise Rejected(413, "body_too_large")
    timestamp = _header(headers, "timestamp")
    if timestamp is None:
        raise Rejected(401, "missing_timestamp")
    sent_ms = _parse_ms(timestamp)
    if sent_ms is None:
        raise Rejected(401, "bad_timestamp")
    skew_ms = sent_ms - epoch_ms(now)
    window_ms = settings.timestamp_window_s * 1000
    if skew_ms > window_ms:
        raise Rejected(401, "future_timestamp")
    if skew_ms < -window_ms:
        raise Rejected(401, "stale_timestamp")
    sign = _header(headers, "sign")
    if not sign:
        raise Rejected(401, "missing_sign")
    expected = callback_sign(settings.app_secret, timestamp).encode("ascii")
    if not hmac.compare_digest(expected, sign.encode("utf-8", "surrogatepass")):
        raise Rejected(401, "bad_sign")
    payload = _parse_object(body)
    return _build_message(_RobotPayload.parse(payload), settings=settings, now=now)


@dataclass(frozen=True, slots=True)
class HeaderBinding:
    """What binds a callback's (timestamp, sign) pair to its message (rule 4): the pair's
    SHA-256 (never the usable credential), the body's SHA-256, and when the pair leaves the
    signature window (`decode_callback` refuses it from then on, so its binding can go)."""

    pair: str
    digest: str
    expires_at: datetime


def header_binding(
    headers: Mapping[str, str], body: bytes, *, settings: DingTalkSettings
) -> HeaderBinding:
    """The binding of a callback that `decode_callback` accepted (its headers are checked)."""
    timestamp = _header(headers, "timestamp") or ""
    sign = _header(headers, "sign") or ""
    sent_ms = _parse_ms(timestamp) or 0
    pair = hashlib.sha256(f"{timestamp}\n{sign}".encode("utf-8", "surrogatepass")).hexdigest()
    expires_at = _EPOCH + _ONE_MS * sent_ms + timedelta(seconds=settings.timestamp_window_s)
    return HeaderBinding(pair, hashlib.sha256(body).hexdigest(), expires_at)


def _parse_object(raw: bytes | str) -> dict[str, object]:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        value = json.loads(text)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
        raise Rejected(400, "bad_json") from None
    if not isinstance(value, dict):
        raise Rejected(400, "not_an_object")
    return value


def _bad(key: str) -> Rejected:
    return Rejected(400, f"bad_field:{key}")


def _opt_str(obj: Mapping[str, object], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(key)
    try:
        value.encode("utf-8")  # a lone surrogate from a \ud800 escape would break later layers
    except UnicodeEncodeError:
        raise _bad(key) from None
    return value


# A message id is stored for de-duplication (128 characters); real ones are about 40.
MESSAGE_ID_MAX_CHARS = 128


def _id(obj: Mapping[str, object], key: str) -> str:
    value = _req_str(obj, key)
    if len(value) > MESSAGE_ID_MAX_CHARS:
        raise _bad(key)
    return value


def _req_str(obj: Mapping[str, object], key: str) -> str:
    value = _opt_str(obj, key)
    if not value:
        raise Rejected(400, f"missing_field:{key}")
    return value


def _opt_bool(obj: Mapping[str, object], key: str) -> bool | None:
    value = obj.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise _bad(key)


def _opt_ms(obj: Mapping[str, object], key: str) -> int | None:
    """Epoch milliseconds: a JSON integer, or a string of ASCII digits."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and (parsed := _parse_ms(value)) is not None:
        return parsed
    raise _bad(key)


@dataclass(frozen=True, slots=True)
class _AtUser:
    dingtalk_id: str
    staff_id: str


@dataclass(frozen=True, slots=True)
class _RobotPayload:
    """The robot message body, type-checked; nothing about corp or staff id is judged yet."""

    msg_id: str
    msgtype: str
    text: str
    conversation_id: str
    conversation_type: str
    sender_corp_id: str
    chatbot_corp_id: str
    sender_staff_id: str
    sender_nick: str
    chatbot_user_id: str
    at_users: tuple[_AtUser, ...]
    is_in_at_list: bool | None
    session_webhook: str
    session_webhook_expires_ms: int | None

    @classmethod
    def parse(cls, obj: Mapping[str, object]) -> _RobotPayload:
        msgtype = _req_str(obj, "msgtype")
        text = ""
        if msgtype == "text":
            content = obj.get("text")
            if not isinstance(content, dict):
                raise _bad("text")
            maybe_text = _opt_str(content, "content")
            if maybe_text is None:
                raise Rejected(400, "missing_field:text.content")
            text = maybe_text
        conversation_type = _req_str(obj, "conversationType")
        if conversation_type not in ("1", "2"):
            raise _bad("conversationType")
        raw_at_users = obj.get("atUsers")
        if raw_at_users is None:
            raw_at_users = []
        if not isinstance(raw_at_users, list):
            raise _bad("atUsers")
        at_users: list[_AtUser] = []
        for entry in raw_at_users:
            if not isinstance(entry, dict):
                raise _bad("atUsers")
            at_users.append(
                _AtUser(
                    dingtalk_id=_opt_str(entry, "dingtalkId") or "",
                    staff_id=_opt_str(entry, "staffId") or "",
                )
            )
        return cls(
            msg_id=_id(obj, "msgId"),
            msgtype=msgtype,
            text=text,
            conversation_id=_req_str(obj, "conversationId"),
            conversation_type=conversation_type,
            sender_corp_id=_req_str(obj, "senderCorpId"),
            chatbot_corp_id=_req_str(obj, "chatbotCorpId"),
            sender_staff_id=_opt_str(obj, "senderStaffId") or "",
            sender_nick=_opt_str(obj, "senderNick") or "",
            chatbot_user_id=_opt_str(obj, "chatbotUserId") or "",
            at_users=tuple(at_users),
            is_in_at_list=_opt_bool(obj, "isInAtList"),
            session_webhook=_opt_str(obj, "sessionWebhook") or "",
            session_webhook_expires_ms=_opt_ms(obj, "sessionWebhookExpiredTime"),
        )


def _build_message(
    payload: _RobotPayload, *, settings: DingTalkSettings, now: datetime
) -> IncomingMessage:
    corp_id = settings.corp_id
    if payload.sender_corp_id != corp_id or payload.chatbot_corp_id != corp_id:
        raise Rejected(403, "wrong_corp")
    if not payload.sender_staff_id.strip():
        raise Rejected(403, "no_staff_id")

    sender = UserRef(Platform.DINGTALK, corp_id, payload.sender_staff_id, payload.sender_nick)
    if payload.conversation_type == "2":
        chat = ChatRef(Platform.DINGTALK, corp_id, payload.conversation_id, ChatKind.GROUP)
        # DingTalk delivers group messages only when the bot is @-mentioned.
        mentions_bot = True if payload.is_in_at_list is None else payload.is_in_at_list
    else:
        chat = ChatRef(Platform.DINGTALK, corp_id, payload.sender_staff_id, ChatKind.PRIVATE)
        mentions_bot = True

    mentions: list[UserRef] = []
    seen: set[str] = set()
    for user in payload.at_users:
        if not user.staff_id or user.staff_id in seen:
            continue
        if payload.chatbot_user_id and user.dingtalk_id == payload.chatbot_user_id:
            continue
        seen.add(user.staff_id)
        mentions.append(UserRef(Platform.DINGTALK, corp_id, user.staff_id))
    text = _strip_bot_mention(normalized(payload.text), settings.bot_names)
    return IncomingMessage(
        platform=Platform.DINGTALK,
        chat=chat,
        sender=sender,
        text=text,
        message_id=payload.msg_id,
        received_at=now,
        mentions_bot=mentions_bot,
        mentions=_named(mentions, text, settings.bot_names),
        reply_handle=_reply_handle(payload, settings=settings, now=now),
    )


# 「@张伟」 in the text: DingTalk keeps each mention as typed, in the order of `atUsers`.
_TYPED_MENTION = re.compile(r"[@\uff20]([^\s@\uff20,，、:：;；。]+)")


def _named(mentions: list[UserRef], text: str, bot_names: tuple[str, ...]) -> tuple[UserRef, ...]:
    """The mentioned people with the names typed for them (「@张伟」), when the @-tokens of the
    text (the bot's aside) pair off with them one to one, in order; else as they came (staff
    ids only). DingTalk's atUsers carry no names: without this a member added by @ was named by
    their staff id everywhere (「增补1001为组长」)."""
    bots = {normalized(n) for n in bot_names}
    typed = [t for t in _TYPED_MENTION.findall(text) if t not in bots]
    if len(typed) != len(mentions) or len(set(typed)) != len(typed):
        return tuple(mentions)
    return tuple(replace(m, name=n) for m, n in zip(mentions, typed, strict=True))


def _strip_bot_mention(text: str, bot_names: tuple[str, ...]) -> str:
    """Drop one leading "@<bot name>" (or its full-width form) followed by a space or the end
    ("@议事会" is kept: the router sets aside a leading mention under a longer name)."""
    for name in sorted((normalized(n) for n in bot_names), key=len, reverse=True):
        for token in (f"@{name}", f"\uff20{name}"):
            if name and (text == token or text.startswith(f"{token} ")):
                return text[len(token) :].lstrip()
    return text


# Printable ASCII without the space: what a reply URL may hold (no control character, no
# whitespace, nothing outside ASCII).
_URL_CHARACTERS = re.compile(r"[\x21-\x7e]+")


def _reply_handle(payload: _RobotPayload, *, settings: DingTalkSettings, now: datetime) -> str:
    url = payload.session_webhook
    expires_ms = payload.session_webhook_expires_ms
    if not url or expires_ms is None or expires_ms <= epoch_ms(now):
        return ""
    if not url.startswith(settings.session_webhook_prefix):
        return ""
    if not _URL_CHARACTERS.fullmatch(url):
        return ""
    return url


# --- Stream mode --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamFrame:
    """One Stream push frame (platforms.md §2.2). `data` is the JSON string, still unparsed."""

    type: str
    headers: dict[str, str]
    data: str

    @property
    def topic(self) -> str:
        return self.headers.get("topic", "")

    @property
    def message_id(self) -> str:
        return self.headers.get("messageId", "")


def decode_stream_frame(
    raw: str | bytes, *, max_bytes: int = STREAM_MAX_FRAME_BYTES
) -> StreamFrame:
    """Parse a push frame. `type`, `headers.messageId`, `headers.topic` must be strings;
    other header values are kept as strings (scalars and objects JSON-encoded)."""
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise Rejected(413, "frame_too_large")
    frame = _parse_object(raw)
    frame_type = frame.get("type")
    if not isinstance(frame_type, str) or frame_type not in STREAM_FRAME_TYPES:
        raise _bad("type")
    raw_headers = frame.get("headers")
    if not isinstance(raw_headers, dict):
        raise _bad("headers")
    headers: dict[str, str] = {}
    for key, value in raw_headers.items():
        if isinstance(value, str):
            headers[key] = value
        elif value is not None:
            headers[key] = json.dumps(value, ensure_ascii=False)
    for required in ("messageId", "topic"):
        if not isinstance(raw_headers.get(required), str) or not raw_headers[required]:
            raise Rejected(400, f"missing_field:{required}")
    data = frame.get("data")
    if data is None:
        data = ""
    if not isinstance(data, str):
        raise _bad("data")
    return StreamFrame(type=frame_type, headers=headers, data=data)


def encode_stream_ack(
    frame: StreamFrame, *, status: int = 200, message: str = "OK", data: str = ""
) -> str:
    """The ACK for `frame`, as the text to send on the WebSocket. With `data` left empty the
    standard body is used: a SYSTEM ping echoes its data (the opaque), a CALLBACK gets
    `{"response": null}`, an EVENT `{"status": "SUCCESS"}` (or "LATER" when status != 200)."""
    if not data:
        if frame.type == "SYSTEM" and frame.topic == "ping":
            data = frame.data
        elif frame.type == "CALLBACK":
            data = json.dumps({"response": None})
        elif frame.type == "EVENT":
            outcome = "SUCCESS" if status == 200 else "LATER"
            data = json.dumps({"status": outcome, "message": message}, ensure_ascii=False)
    ack = {
        "code": status,
        "headers": {"contentType": "application/json", "messageId": frame.message_id},
        "message": message,
        "data": data,
    }
    return json.dumps(ack, ensure_ascii=False)


def decode_stream_callback(
    frame: StreamFrame, *, settings: DingTalkSettings, now: datetime
) -> IncomingMessage:
    """A robot message from the Stream topic `/v1.0/im/bot/messages/get`: the same field,
    corp and staff-id checks as HTTP mode, no header sign (the connection is authenticated)."""
    if frame.type != "CALLBACK":
        raise Rejected(400, "not_a_callback")
    if frame.topic != ROBOT_MESSAGE_TOPIC:
        raise Rejected(400, "wrong_topic")
    if len(frame.data.encode("utf-8", "surrogatepass")) > settings.max_body_bytes:
        raise Rejected(413, "body_too_large")
    payload = _parse_object(frame.data)
    return _build_message(_RobotPayload.parse(payload), settings=settings, now=now)


# --- outbound -----------------------------------------------------------------------------


def _check_outgoing(message: OutgoingMessage) -> None:
    if message.chat.platform is not Platform.DINGTALK:
        raise ValueError(f"not a DingTalk chat: {message.chat.platform}")
    for user in message.mentions:
        if user.platform is not Platform.DINGTALK or not user.user_id:
            # the platform only: the error's text is stored with the attempt (no UserRef repr)
            raise ValueError(f"mention is not a DingTalk staff id ({user.platform})")


def _unique_mentions(message: OutgoingMessage) -> list[UserRef]:
    unique: dict[str, UserRef] = {}
    for user in message.mentions:
        unique.setdefault(user.user_id, user)
    return list(unique.values())


def _with_at_tokens(message: OutgoingMessage) -> tuple[str, list[str]]:
    """Rule 8: `@<staffId>` tokens in the text plus the list for `at.atUserIds`."""
    text = message.text
    users = _unique_mentions(message)
    missing: list[str] = []
    # Longer names first, so "@张三" cannot eat the front of "@张三丰".
    for user in sorted(users, key=lambda u: len(u.name), reverse=True):
        token = f"@{user.user_id}"
        if re.search(re.escape(token) + _ID_TAIL, text):
            continue
        written = f"@{user.name}" if user.name else ""
        if written and written in text:
            text = text.replace(written, token, 1)
        else:
            missing.append(token)
    if missing:
        order = {f"@{u.user_id}": i for i, u in enumerate(users)}
        missing.sort(key=order.__getitem__)
        text = f"{' '.join(missing)} {text}" if text else " ".join(missing)
    return text, [u.user_id for u in users]


def _with_written_names(message: OutgoingMessage) -> str:
    """Rule 9: no @ on the OpenAPI, so each mention is written out as `@<name>`."""
    text = message.text
    missing = [
        f"@{user.name or user.user_id}"
        for user in _unique_mentions(message)
        if f"@{user.name or user.user_id}" not in text
    ]
    if missing:
        text = f"{' '.join(missing)} {text}" if text else " ".join(missing)
    return text


def encode_reply(message: OutgoingMessage) -> dict[str, object]:
    """The JSON body to POST to the sessionWebhook in `message.reply_handle`."""
    _check_outgoing(message)
    if message.private_to is not None and message.chat.kind is ChatKind.GROUP:
        raise ValueError("a private message cannot go into a group session")
    text, at_user_ids = _with_at_tokens(message)
    body: dict[str, object] = {
        "msgtype": "text",
        "text": {"content": text},
        "at": {"atUserIds": at_user_ids, "atMobiles": [], "isAtAll": False},
    }
    size = len(json.dumps(body, ensure_ascii=False).encode("utf-8"))
    if size > WEBHOOK_MAX_BODY_BYTES:
        raise MessageTooLarge(f"webhook body is {size} bytes, limit {WEBHOOK_MAX_BODY_BYTES}")
    return body


def _msg_param(text: str) -> str:
    param = json.dumps({"content": text}, ensure_ascii=False)
    size = len(param.encode("utf-8"))
    if size > GROUP_SEND_MAX_PARAM_BYTES:
        raise MessageTooLarge(f"msgParam is {size} bytes, limit {GROUP_SEND_MAX_PARAM_BYTES}")
    return param


def encode_group_send(message: OutgoingMessage, *, robot_code: str) -> dict[str, object]:
    """Body of `POST /v1.0/robot/groupMessages/send` (header x-acs-dingtalk-access-token)."""
    _check_outgoing(message)
    if message.chat.kind is not ChatKind.GROUP:
        raise ValueError("groupMessages/send needs a group chat")
    if message.private_to is not None:
        raise ValueError("a private message cannot go into a group")
    return {
        "robotCode": robot_code,
        "openConversationId": message.chat.chat_id,
        "msgKey": "sampleText",
        "msgParam": _msg_param(_with_written_names(message)),
    }


def encode_private_send(message: OutgoingMessage, *, robot_code: str) -> dict[str, object]:
    """Body of `POST /v1.0/robot/oToMessages/batchSend` to `private_to`, or to the member of
    a private chat."""
    _check_outgoing(message)
    if message.private_to is not None:
        if message.private_to.platform is not Platform.DINGTALK or not message.private_to.user_id:
            raise ValueError(
                f"private_to is not a DingTalk staff id ({message.private_to.platform})"
            )
        user_id = message.private_to.user_id
    elif message.chat.kind is ChatKind.PRIVATE:
        user_id = message.chat.chat_id
    else:
        raise ValueError("oToMessages/batchSend needs private_to or a private chat")
    return {
        "robotCode": robot_code,
        "userIds": [user_id],
        "msgKey": "sampleText",
        "msgParam": _msg_param(_with_written_names(message)),
    }
