# Over 600 lines: the wire rules of the webhook, its replies, the vote card and 消息推送 in one list.
"""WeCom (企业微信) AI bot (智能机器人), webhook mode: the pure codec layer of the WeCom adapter.

Place in the flow::

    WeCom POSTs {"encrypt": ...} -> [network shell] -> decode_callback() -> IncomingMessage
    (or CardEvent / StreamRefresh / Unsupported) -> router ... -> list[OutgoingMessage]
    -> stream_reply() / vote_card() / update_card() -> encode_reply() -> HTTP response body

The group robot webhook (消息推送, send-only) has its own encoder: encode_webhook_text() and
classify_webhook_error(). Nothing in this module does I/O or reads the clock: `now` is a
parameter, and the caller owns the HTTP server, the session and the outbox.

Inbound rules (reliability.md §1.2-§1.5), checked in this order, each failure a `Rejected`:

    size cap (413) -> query parameter shapes (400; a malformed signature is 401)
    -> timestamp within ±timestamp_window_s, both directions (401) -> body is a JSON object
    with a string "encrypt" (400; XML, DOCTYPE and everything else included)
    -> SHA1 signature over (token, timestamp, nonce, encrypt), constant-time (401)
    -> AES-256-CBC decrypt with strict padding / length / receive id checks (400; a foreign
    receive id is 403) -> inner JSON with full type checks (400) -> bot id and identity
    binding (403).

The shell answers a `Rejected` with its status and an empty body and logs the reason quietly
(scanners hit callback URLs all day). A timestamp outside the window is 401, not 408: replay
protection is part of authentication, and a retry cannot fix it.

Crypto (platforms.md §1.0): the AES cipher comes from `wechatpy.enterprise.crypto.PrpCrypto`;
the signature check and the plaintext framing (both ways) are ours, because wechatpy compares
with `!=`, ignores PKCS#7 errors, draws the random prefix from `random` and, with the AI bot's
empty receive id, accepts a plaintext whose length field points past its end (the receive id
check then compares "" with "").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from wechatpy.enterprise.crypto import PrpCrypto
from wechatpy.exceptions import WeChatException

from bot.adapters.base import Rejected
from bot.events import (
    ChatKind,
    ChatRef,
    IncomingMessage,
    OutgoingMessage,
    Platform,
    UserRef,
    VoteCard,
    normalize_text,
)

# The receive id inside the AI bot's plaintext: "" for an internal bot (platforms.md §1.0,
# doc 101033: "企业内部智能机器人场景中，ReceiveId为\"\""). It binds nothing to a corp.
AIBOT_RECEIVE_ID: Final = ""
DEFAULT_API_BASE: Final = "https://qyapi.weixin.qq.com"

# Limits (platforms.md §1.1, §1.3, §1.5).
STREAM_CONTENT_MAX_BYTES: Final = 20480
WEBHOOK_TEXT_MAX_BYTES: Final = 2048
WEBHOOK_MARKDOWN_MAX_BYTES: Final = 4096
TRUNCATION_MARKER: Final = "…（内容过长，已截断）"
_CARD_TITLE_MAX_CHARS: Final = 26
_CARD_DESC_MAX_CHARS: Final = 30
_CARD_SUBTITLE_MAX_CHARS: Final = 112
_ID_MAX_CHARS: Final = 256
_MESSAGE_ID_MAX_CHARS: Final = 128  # stored for de-duplication (128 characters)

# The vote card's fixed vocabulary. Option ids equal `bot.governance.Choice` values.
VOTE_QUESTION_KEY: Final = "choice"
VOTE_OPTIONS: Final = (("yes", "赞成"), ("no", "反对"), ("abstain", "弃权"))
_VOTE_OPTION_IDS: Final = frozenset(option_id for option_id, _ in VOTE_OPTIONS)
_VOTE_SUBMIT_PREFIX: Final = "submit_vote_"

_SIGNATURE_RE: Final = re.compile(r"[0-9a-f]{40}")  # WeCom sends lower-case hex
_TIMESTAMP_RE: Final = re.compile(r"[0-9]{1,12}")
_NONCE_RE: Final = re.compile(r"[!-~]{1,128}")  # printable ASCII, no space
_BASE64_RE: Final = re.compile(r"[A-Za-z0-9+/]+={0,2}")
AES_KEY_RE: Final = re.compile(r"[A-Za-z0-9]{43}")  # the EncodingAESKey
TOKEN_RE: Final = re.compile(r"[!-~]{1,128}")  # the callback token
_TASK_ID_RE: Final = re.compile(r"[0-9A-Za-z_\-@]{1,128}")
_USERID_RE: Final = re.compile(r"[0-9A-Za-z_.@\-]{1,64}")
_VOTE_KEY_RE: Final = re.compile(r"submit_vote_([0-9]{1,18})")
_PAD_BLOCK: Final = 32  # PKCS#7 over 32-byte blocks (WeCom's, not AES's 16)


@dataclass(frozen=True, slots=True)
class WeComSettings:
    """One AI bot's webhook credentials. Construction fails on anything missing or malformed,
    so a misconfigured bot cannot start (fail closed).

    `bot_name`, when set, is the display name WeCom puts in group @-mentions ("@议事助手 ...");
    `api_base` is where `response_url`s must point (a fake server in tests)."""

    token: str = field(repr=False)
    encoding_aes_key: str = field(repr=False)
    corp_id: str
    bot_id: str
    max_body_bytes: int = 64 * 1024
    timestamp_window_s: int = 300
    bot_name: str = ""
    api_base: str = DEFAULT_API_BASE

    def __post_init__(self) -> None:
        if not TOKEN_RE.fullmatch(self.token):
            raise ValueError("WeCom token must be 1-128 printable ASCII characters")
        if not AES_KEY_RE.fullmatch(self.encoding_aes_key):
            raise ValueError("WeCom EncodingAESKey must be 43 characters of [A-Za-z0-9]")
        if not self.corp_id.strip():
            raise ValueError("WeCom corp_id is required")
        if not self.bot_id.strip():
            raise ValueError("WeCom bot_id (aibotid) is required")
        if not 0 < self.max_body_bytes <= 1024 * 1024:
            raise ValueError("max_body_bytes must be in 1..1 MiB")
        if self.timestamp_window_s <= 0:
            raise ValueError("timestamp_window_s must be positive")
        if not self.api_base.startswith(("https://", "http://")) or self.api_base.endswith("/"):
            raise ValueError("api_base must be an http(s) URL without a trailing slash")

    @property
    def aes_key(self) -> bytes:
        return base64.b64decode(self.encoding_aes_key + "=")


@dataclass(frozen=True, slots=True)
class CardSelection:
    question_key: str
    option_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CardEvent:
    """A click on a template card (`template_card_event`). Answer it within ~5 s with
    `encode_reply(update_card(...))`, or later once through `response_url`."""

    message_id: str
    chat: ChatRef
    sender: UserRef
    card_type: str
    task_id: str
    event_key: str
    selected: tuple[CardSelection, ...]
    received_at: datetime
    response_url: str = ""
    response_code: str = ""


@dataclass(frozen=True, slots=True)
class StreamRefresh:
    """WeCom asks for the latest content of a stream we started (`msgtype: "stream"`).
    Answer with `encode_reply(stream_reply(stream_id, ...))`; no `response_url` comes with it."""

    stream_id: str
    message_id: str
    chat: ChatRef
    sender: UserRef
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Unsupported:
    """An authentic callback the bot does not act on: image / file / video messages, mixed
    messages without text, voice that WeCom could not transcribe, events other than card
    clicks (`kind` is e.g. "image" or
    "event:enter_chat"). Not a rejection: the shell answers 200 with an empty body (or a
    short hint through `response_url`), so WeCom does not retry and nothing is logged as an
    attack."""

    kind: str
    message_id: str
    chat: ChatRef
    sender: UserRef
    received_at: datetime
    response_url: str = ""


Decoded = IncomingMessage | CardEvent | StreamRefresh | Unsupported


@dataclass(frozen=True, slots=True)
class VoteClick:
    vote_id: int
    choice: str  # "yes" | "no" | "abstain" (= bot.governance.Choice values)


# --- signature and crypto ------------------------------------------------------------------


def signature(token: str, timestamp: str, nonce: str, data: str) -> str:
    """WeCom's msg_signature: SHA1 over the four strings, sorted and concatenated."""
    joined = "".join(sorted((token, timestamp, nonce, data)))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def make_nonce() -> str:
    return secrets.token_hex(8)


def _cipher(settings: WeComSettings) -> Any:
    """wechatpy's AES-256-CBC cipher (IV = key[:16]) for the framed plaintext, both ways."""
    return PrpCrypto(settings.aes_key).cipher


def _check_signature(settings: WeComSettings, sig: str, ts: str, nonce: str, data: str) -> None:
    if not _SIGNATURE_RE.fullmatch(sig):
        raise Rejected(401, "bad_signature")
    expected = signature(settings.token, ts, nonce, data)
    if not hmac.compare_digest(expected.encode("ascii"), sig.encode("ascii")):
        raise Rejected(401, "bad_signature")


def _decrypt(settings: WeComSettings, data: str) -> str:
    """Base64 -> AES-256-CBC (IV = key[:16]) -> strict PKCS#7 (block 32) -> random16 |
    len_be32 | msg | receive_id. Only called after the signature matched, so no padding
    oracle is exposed to anyone without the token."""
    if len(data) % 4 or not _BASE64_RE.fullmatch(data):
        raise Rejected(400, "bad_base64")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Rejected(400, "bad_base64") from exc
    if not raw or len(raw) % 16:
        raise Rejected(400, "bad_ciphertext_length")
    try:
        plain: bytes = _cipher(settings).decrypt(raw)
    except (ValueError, TypeError, WeChatException) as exc:
        raise Rejected(400, "bad_ciphertext") from exc
    pad = plain[-1]
    if not 1 <= pad <= _PAD_BLOCK or pad > len(plain) or plain[-pad:] != bytes([pad]) * pad:
        raise Rejected(400, "bad_padding")
    content = plain[:-pad]
    if len(content) < 20:
        raise Rejected(400, "short_plaintext")
    (length,) = struct.unpack(">I", content[16:20])
    end = 20 + length
    if end > len(content):
        raise Rejected(400, "bad_length")
    if content[end:] != AIBOT_RECEIVE_ID.encode("utf-8"):
        raise Rejected(403, "foreign_receive_id")
    try:
        return content[20:end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected(400, "not_utf8") from exc


def _encrypt(settings: WeComSettings, text: str) -> str:
    """The inverse of `_decrypt`, with a random prefix from the CSPRNG (wechatpy's own
    `PrpCrypto.encrypt` draws it from `random`)."""
    message = text.encode("utf-8")
    framed = b"".join(
        (
            secrets.token_hex(8).encode("ascii"),
            struct.pack(">I", len(message)),
            message,
            AIBOT_RECEIVE_ID.encode("utf-8"),
        )
    )
    pad = _PAD_BLOCK - len(framed) % _PAD_BLOCK
    encrypted: bytes = _cipher(settings).encrypt(framed + bytes([pad]) * pad)
    return base64.b64encode(encrypted).decode("ascii")


# --- inbound -------------------------------------------------------------------------------


def _param(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise Rejected(400, f"missing_{name}")
    return value


def _request_params(params: Mapping[str, str]) -> tuple[str, str, str]:
    sig = _param(params, "msg_signature")
    ts = _param(params, "timestamp")
    nonce = _param(params, "nonce")
    if not _TIMESTAMP_RE.fullmatch(ts):
        raise Rejected(400, "bad_timestamp")
    if not _NONCE_RE.fullmatch(nonce):
        raise Rejected(400, "bad_nonce")
    if not _SIGNATURE_RE.fullmatch(sig):
        raise Rejected(401, "bad_signature")
    return sig, ts, nonce


def _check_fresh(ts: str, settings: WeComSettings, now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    skew = now.timestamp() - int(ts)
    if skew > settings.timestamp_window_s:
        raise Rejected(401, "stale_timestamp")
    if skew < -settings.timestamp_window_s:
        raise Rejected(401, "future_timestamp")


def verify_url(params: Mapping[str, str], *, settings: WeComSettings, now: datetime) -> str:
    """URL verification (GET ?msg_signature&timestamp&nonce&echostr, already URL-decoded by the
    framework): returns the decrypted echostr, to be answered as text/plain within 1 s.

    A '+' in an echostr that WeCom (or a proxy) left unescaped arrives as a space after form
    decoding (yarl does that); base64 has no spaces, so spaces are turned back into '+'."""
    sig, ts, nonce = _request_params(params)
    echostr = _param(params, "echostr").replace(" ", "+")
    if len(echostr) > 4096:
        raise Rejected(400, "bad_echostr")
    _check_fresh(ts, settings, now)
    _check_signature(settings, sig, ts, nonce, echostr)
    return _decrypt(settings, echostr)


def decode_callback(
    params: Mapping[str, str], body: bytes, *, settings: WeComSettings, now: datetime
) -> Decoded:
    """Authenticate and decode one AI bot webhook POST. Raises only `Rejected` for any input
    (and ValueError for a naive `now`, a programming error)."""
    if len(body) > settings.max_body_bytes:
        raise Rejected(413, "too_large")
    sig, ts, nonce = _request_params(params)
    _check_fresh(ts, settings, now)
    encrypt = _envelope(body)
    _check_signature(settings, sig, ts, nonce, encrypt)
    plaintext = _decrypt(settings, encrypt)
    return decode_payload(
        _load_json_object(plaintext, "bad_inner_json"), settings=settings, now=now
    )


def _envelope(body: bytes) -> str:
    if not body:
        raise Rejected(400, "empty_body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected(400, "not_utf8") from exc
    if not text.lstrip().startswith("{"):  # XML, DOCTYPE, arrays, junk: refused unparsed
        raise Rejected(400, "not_json_object")
    envelope = _load_json_object(text, "bad_json")
    encrypt = envelope.get("encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise Rejected(400, "missing_encrypt")
    return encrypt


def _load_json_object(text: str, reason: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:  # deep nesting raises RecursionError
        raise Rejected(400, reason) from exc
    if not isinstance(value, dict):
        raise Rejected(400, reason)
    return value


def _obj(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Rejected(400, f"bad_{what}")
    return value


def _str(obj: Mapping[str, Any], key: str, *, required: bool = True, max_len: int = 0) -> str:
    value = obj.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise Rejected(400, f"bad_{key}")
    if max_len and len(value) > max_len:
        raise Rejected(400, f"bad_{key}")
    return value


def decode_payload(payload: dict[str, Any], *, settings: WeComSettings, now: datetime) -> Decoded:
    """The decrypted callback (webhook) or a long connection frame's body (unsigned: the
    connection is authenticated). Raises only `Rejected`."""
    try:
        return _decode_payload(payload, settings=settings, now=now)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        # The parser below checks every type itself; this only keeps the promise.
        raise Rejected(400, "malformed_payload") from exc


def _decode_payload(payload: dict[str, Any], *, settings: WeComSettings, now: datetime) -> Decoded:
    message_id = _str(payload, "msgid", max_len=_MESSAGE_ID_MAX_CHARS)
    bot_id = _str(payload, "aibotid", max_len=_ID_MAX_CHARS)
    sender_obj = _obj(payload.get("from"), "from")
    user_id = _str(sender_obj, "userid", required=False, max_len=_ID_MAX_CHARS)
    corp_id = _str(sender_obj, "corpid", required=False, max_len=_ID_MAX_CHARS)
    chat_type = _str(payload, "chattype", max_len=16)
    msgtype = _str(payload, "msgtype", max_len=64)
    response_url = _str(payload, "response_url", required=False, max_len=2048)

    if bot_id != settings.bot_id:
        raise Rejected(403, "wrong_bot")
    if not user_id.strip():
        raise Rejected(403, "no_userid")
    if corp_id and corp_id != settings.corp_id:  # internal bots omit from.corpid
        raise Rejected(403, "foreign_corp")
    if response_url and not response_url.startswith(settings.api_base + "/"):
        raise Rejected(400, "bad_response_url")  # never let a payload aim our POSTs elsewhere

    sender = UserRef(Platform.WECOM, settings.corp_id, user_id)
    if chat_type == "group":
        chat_id = _str(payload, "chatid", max_len=_ID_MAX_CHARS)
        chat = ChatRef(Platform.WECOM, settings.corp_id, chat_id, ChatKind.GROUP)
    elif chat_type == "single":
        chat = ChatRef(Platform.WECOM, settings.corp_id, user_id, ChatKind.PRIVATE)
    else:
        raise Rejected(400, "bad_chattype")

    def unsupported(kind: str) -> Unsupported:
        return Unsupported(kind, message_id, chat, sender, now, response_url)

    match msgtype:
        case "text":
            content = _str(_obj(payload.get("text"), "text"), "content")
        case "voice":  # voice.content is WeCom's speech-to-text, empty when it heard nothing
            content = _str(_obj(payload.get("voice"), "voice"), "content", required=False)
            if not content.strip():
                return unsupported("voice")
        case "mixed":
            content = _mixed_text(_obj(payload.get("mixed"), "mixed"))
            if not content.strip():
                return unsupported("mixed")
        case "stream":
            stream_id = _str(_obj(payload.get("stream"), "stream"), "id", max_len=_ID_MAX_CHARS)
            return StreamRefresh(stream_id, message_id, chat, sender, now)
        case "event":
            return _decode_event(payload, message_id, chat, sender, now, response_url)
        case _:  # image, file, video, and whatever WeCom adds later
            return unsupported(msgtype)

    return IncomingMessage(
        platform=Platform.WECOM,
        chat=chat,
        sender=sender,
        text=strip_bot_mention(
            normalize_text(content), settings.bot_name, group=chat.kind is ChatKind.GROUP
        ),
        message_id=message_id,
        received_at=now,
        mentions_bot=True,
        # The AI bot's callback has the text 「@张伟」 and no list of who was mentioned.
        names_in_text=True,
        reply_handle=response_url,
    )


def _mixed_text(mixed: Mapping[str, Any]) -> str:
    items = mixed.get("msg_item")
    if not isinstance(items, list):
        raise Rejected(400, "bad_msg_item")
    parts: list[str] = []
    for item in items:
        item_obj = _obj(item, "msg_item")
        if item_obj.get("msgtype") == "text":
            parts.append(_str(_obj(item_obj.get("text"), "text"), "content", required=False))
    return " ".join(parts)


def _decode_event(
    payload: Mapping[str, Any],
    message_id: str,
    chat: ChatRef,
    sender: UserRef,
    now: datetime,
    response_url: str,
) -> CardEvent | Unsupported:
    event = _obj(payload.get("event"), "event")
    event_type = _str(event, "eventtype", max_len=64)
    if event_type != "template_card_event":
        return Unsupported(f"event:{event_type}", message_id, chat, sender, now, response_url)
    card = _obj(event.get("template_card_event"), "template_card_event")
    return CardEvent(
        message_id=message_id,
        chat=chat,
        sender=sender,
        card_type=_str(card, "card_type", required=False, max_len=64),
        task_id=_str(card, "task_id", max_len=_ID_MAX_CHARS),
        event_key=_str(card, "event_key", required=False, max_len=2048),
        selected=_selections(card.get("selected_items")),
        received_at=now,
        response_url=response_url,
        response_code=_response_code(response_url),
    )


def _as_list(value: object) -> list[Any]:
    """WeCom's JSON mirrors its XML: a single child may come as the item itself."""
    if isinstance(value, list):
        return value
    return [value]


def _selections(value: object) -> tuple[CardSelection, ...]:
    if value is None:
        return ()
    items = _obj(value, "selected_items").get("selected_item")
    if items is None:
        return ()
    selections: list[CardSelection] = []
    for item in _as_list(items)[:20]:
        item_obj = _obj(item, "selected_item")
        key = _str(item_obj, "question_key", max_len=1024)
        ids_obj = item_obj.get("option_ids")
        raw_ids = [] if ids_obj is None else _as_list(_obj(ids_obj, "option_ids").get("option_id"))
        option_ids: list[str] = []
        for option_id in raw_ids[:20]:
            if not isinstance(option_id, str) or not option_id or len(option_id) > 128:
                raise Rejected(400, "bad_option_id")
            option_ids.append(option_id)
        selections.append(CardSelection(key, tuple(option_ids)))
    return tuple(selections)


def _response_code(response_url: str) -> str:
    if not response_url:
        return ""
    codes = parse_qs(urlsplit(response_url).query).get("response_code", [])
    return codes[0] if codes else ""


def strip_bot_mention(text: str, bot_name: str = "", *, group: bool = True) -> str:
    """Remove the bot's own @-mention from normalised text. With `bot_name` set, every
    "@<bot_name>" token goes, in any chat. Without it, the first token of a group message is
    dropped when it starts with "@" (WeCom delivers group messages only when the bot is
    @-mentioned, and the mention comes first in practice)."""
    if bot_name:
        name = normalize_text(bot_name)
        pattern = r"(?:^|(?<=\s))[@\uff20]" + re.escape(name) + r"(?=\s|$)"
        return normalize_text(re.sub(pattern, " ", text))
    if group and text.startswith("@"):
        _, _, rest = text.partition(" ")
        return rest
    return text


def vote_click(event: CardEvent) -> VoteClick | None:
    """The vote behind a click on one of our vote cards, or None when the event is anything
    else (another card, several options, an unknown option)."""
    match = _VOTE_KEY_RE.fullmatch(event.event_key)
    if match is None or event.card_type not in ("vote_interaction", ""):
        return None
    chosen = [s for s in event.selected if s.question_key == VOTE_QUESTION_KEY]
    if len(chosen) != 1 or len(chosen[0].option_ids) != 1:
        return None
    option_id = chosen[0].option_ids[0]
    if option_id not in _VOTE_OPTION_IDS:
        return None
    return VoteClick(int(match.group(1)), option_id)


# --- passive replies (HTTP response body) --------------------------------------------------


def encode_reply(
    plaintext_json: Mapping[str, Any], *, settings: WeComSettings, nonce: str, timestamp: str
) -> dict[str, str]:
    """Encrypt and sign a passive reply: {"encrypt", "msgsignature", "timestamp", "nonce"}
    (no underscore in msgsignature). Reusing the request's nonce is what WeCom's own sample
    does; `make_nonce()` gives a fresh one."""
    if not _TIMESTAMP_RE.fullmatch(timestamp):
        raise ValueError("timestamp must be decimal seconds")
    if not _NONCE_RE.fullmatch(nonce):
        raise ValueError("nonce must be 1-128 printable ASCII characters")
    text = json.dumps(plaintext_json, ensure_ascii=False, separators=(",", ":"))
    encrypt = _encrypt(settings, text)
    return {
        "encrypt": encrypt,
        "msgsignature": signature(settings.token, timestamp, nonce, encrypt),
        "timestamp": timestamp,
        "nonce": nonce,
    }


def truncate_utf8(text: str, limit: int, marker: str = TRUNCATION_MARKER) -> str:
    """`text` if it fits in `limit` UTF-8 bytes, else a prefix cut on a character boundary
    followed by `marker`, the whole within `limit`."""
    raw = text.encode("utf-8", "replace")
    if len(raw) <= limit:
        return raw.decode("utf-8")
    tail = marker.encode("utf-8")
    if len(tail) > limit:
        tail = b""
    head = raw[: limit - len(tail)].decode("utf-8", "ignore")  # drops a split last character
    return head + tail.decode("utf-8")


def stream_reply(stream_id: str, content: str, finish: bool = True) -> dict[str, Any]:
    """Reply to a user message or a stream refresh with (the latest) markdown content."""
    if not stream_id:
        raise ValueError("stream_id is required")
    return {
        "msgtype": "stream",
        "stream": {
            "id": stream_id,
            "finish": finish,
            "content": truncate_utf8(content, STREAM_CONTENT_MAX_BYTES),
        },
    }


def text_reply(content: str) -> dict[str, Any]:
    """Plain text: WeCom accepts it only as the welcome reply to `enter_chat`."""
    return {"msgtype": "text", "text": {"content": truncate_utf8(content, WEBHOOK_TEXT_MAX_BYTES)}}


def markdown_reply(content: str) -> dict[str, Any]:
    """The plain-JSON body for a `response_url` POST (one use, within 1 h)."""
    content = truncate_utf8(content, STREAM_CONTENT_MAX_BYTES)
    return {"msgtype": "markdown", "markdown": {"content": content}}


def _clip(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def _vote_template_card(
    card: VoteCard, task_id: str, *, chosen: str | None, disable: bool
) -> dict[str, Any]:
    if not _TASK_ID_RE.fullmatch(task_id):
        raise ValueError("task_id must be 1-128 characters of [0-9A-Za-z_-@]")
    if chosen is not None and chosen not in _VOTE_OPTION_IDS:
        raise ValueError(f"unknown vote option {chosen!r}")
    show_counts = not card.secret or card.closed
    summary = card.summary if show_counts else "无记名表决：结果在表决结束后公布"
    if card.closed:
        status, button = "表决已结束", "表决已结束"
    else:
        status = "无记名表决" if card.secret else "记名表决"
        button = "已提交" if chosen is not None else "提交"
    options: list[dict[str, Any]] = []
    for option_id, label in VOTE_OPTIONS:
        option: dict[str, Any] = {"id": option_id, "text": label}
        if option_id == chosen:
            option["is_checked"] = True
        options.append(option)
    checkbox: dict[str, Any] = {
        "question_key": VOTE_QUESTION_KEY,
        "mode": 0,  # single choice
        "option_list": options,
    }
    if disable:
        checkbox["disable"] = True
    return {
        "card_type": "vote_interaction",
        "source": {"desc": "议事"},
        "main_title": {
            "title": _clip(card.title, _CARD_TITLE_MAX_CHARS),
            "desc": _clip(status, _CARD_DESC_MAX_CHARS),
        },
        "sub_title_text": _clip(summary, _CARD_SUBTITLE_MAX_CHARS),
        "task_id": task_id,
        "checkbox": checkbox,
        "submit_button": {"text": button, "key": f"{_VOTE_SUBMIT_PREFIX}{card.vote_id}"},
    }


def vote_card(card: VoteCard, *, task_id: str) -> dict[str, Any]:
    """A `vote_interaction` template card: single choice 赞成 / 反对 / 弃权 plus a submit
    button, so a vote takes a deliberate second tap. `task_id` must be new for every card
    sent (unique per bot); the click comes back with it and with event_key
    "submit_vote_<vote_id>". Counts (`card.summary`) show only for open ballots or closed
    votes."""
    template = _vote_template_card(card, task_id, chosen=None, disable=False)
    return {"msgtype": "template_card", "template_card": template}


def update_card(
    card: VoteCard, *, task_id: str, userid: str | None = None, chosen: str | None = None
) -> dict[str, Any]:
    """The `update_template_card` reply to a click (same `task_id` as the clicked card).

    With `userid`: only that member's copy changes, showing their own `chosen` option checked
    and the card locked; a secret ballot still shows no counts. Without: everyone's copy is
    replaced (after a tally change or at close; a closed card is locked for all)."""
    if userid is not None and not userid:
        raise ValueError("userid must be non-empty")
    if chosen is not None and userid is None:
        raise ValueError("a chosen option is shown only to its voter: pass userid")
    template = _vote_template_card(
        card, task_id, chosen=chosen, disable=card.closed or userid is not None
    )
    reply: dict[str, Any] = {"response_type": "update_template_card"}
    if userid:
        reply["userids"] = [userid]
    reply["template_card"] = template
    return reply


# --- 消息推送 (group robot webhook, send-only) ------------------------------------------------

# Markdown control characters become their full-width forms (U+FF01..U+FF5E = ASCII + 0xFEE0).
_MARKDOWN_NEUTRAL = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in "<>*`[]#"})


def _mention_ids(mentions: Iterable[UserRef]) -> list[str]:
    ids: list[str] = []
    for ref in mentions:
        if ref.platform is not Platform.WECOM:
            continue
        if (ref.user_id == "@all" or _USERID_RE.fullmatch(ref.user_id)) and ref.user_id not in ids:
            ids.append(ref.user_id)
    return ids


def encode_webhook_text(message: OutgoingMessage, *, markdown: bool = False) -> dict[str, Any]:
    """The body for POST /cgi-bin/webhook/send?key=...

    Default `text`: content ≤ 2048 bytes, mentions through `mentioned_list` (structured, so
    message text can never forge a mention; "@all" allowed; renders in every client).
    `markdown=True`: ≤ 4096 bytes, mentions as `<@userid>` appended after the text, which is
    neutralised first (<, >, *, `, [, ], # become full-width) so it cannot inject mentions or
    markup; "@all" is not available in markdown. Oversized text is cut on a UTF-8 boundary
    with a marker; mentions are never cut. Mentions of non-WeCom users or ids outside
    WeCom's userid alphabet are skipped. A vote card cannot travel here (no interactive
    cards on 消息推送): ValueError."""
    if message.card is not None:
        raise ValueError("vote cards need the AI bot channel, not 消息推送")
    ids = _mention_ids(message.mentions)
    if not markdown:
        text: dict[str, Any] = {"content": truncate_utf8(message.text, WEBHOOK_TEXT_MAX_BYTES)}
        if ids:
            text["mentioned_list"] = ids
        return {"msgtype": "text", "text": text}
    if "@all" in ids:
        raise ValueError("markdown messages cannot mention @all; use text")
    tail = ("\n" + " ".join(f"<@{user_id}>" for user_id in ids)) if ids else ""
    budget = WEBHOOK_MARKDOWN_MAX_BYTES - len(tail.encode("utf-8"))
    body = truncate_utf8(message.text.translate(_MARKDOWN_NEUTRAL), budget)
    return {"msgtype": "markdown", "markdown": {"content": body + tail}}


_TRANSIENT_ERRCODES: Final = frozenset({-1, 6000, 45033})


def classify_webhook_error(errcode: int) -> str:
    """What the sender should do with a qyapi `errcode`: "ok"; "throttled" (45009, pause this
    robot); "gone" (93000, the key was removed: stop using it); "token" (42001 expired /
    40014 invalid access_token: refresh once and retry); "transient" (-1 busy, 6000,
    45033 concurrency: retry with backoff); "permanent" (anything else: do not retry)."""
    if errcode == 0:
        return "ok"
    if errcode == 45009:
        return "throttled"
    if errcode == 93000:
        return "gone"
    if errcode in (42001, 40014):
        return "token"
    if errcode in _TRANSIENT_ERRCODES:
        return "transient"
    return "permanent"
