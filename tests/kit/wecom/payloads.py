"""What WeCom (企业微信) sends the AI bot, built exactly as WeCom POSTs it (query parameters plus
the `{"encrypt": ...}` body), and `decrypt_reply` to read the bot's passive replies. The crypto
here is written independently of `bot.adapters.wecom.codec` and of wechatpy (AES through the
`cryptography` package), so the codec tests are not circular."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import struct
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.adapters.wecom.codec import WeComSettings

DEFAULT_CHAT_ID = "wrkSFfCgAAEXAMPLEchat"

# --- crypto, independent of the code under test ---------------------------------------------


def _key(settings: WeComSettings) -> bytes:
    key = base64.b64decode(settings.encoding_aes_key + "=")
    assert len(key) == 32
    return key


def sign(token: str, timestamp: str, nonce: str, data: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, data])).encode()).hexdigest()


def frame(message: bytes, *, random16: bytes | None = None, receive_id: bytes = b"") -> bytes:
    """random(16) | uint32_be(len(message)) | message | receive_id (unpadded)."""
    prefix = secrets.token_bytes(16) if random16 is None else random16
    assert len(prefix) == 16
    return prefix + struct.pack(">I", len(message)) + message + receive_id


def encrypt_raw(settings: WeComSettings, framed: bytes, *, pad: bool = True) -> str:
    """AES-256-CBC (IV = key[:16]) over `framed`, PKCS#7-padded to 32 bytes, base64."""
    key = _key(settings)
    if pad:
        n = 32 - len(framed) % 32
        framed += bytes([n]) * n
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(framed) + encryptor.finalize()).decode()


def encrypt_text(
    settings: WeComSettings, text: str, *, random16: bytes | None = None, receive_id: str = ""
) -> str:
    framed = frame(text.encode(), random16=random16, receive_id=receive_id.encode())
    return encrypt_raw(settings, framed)


def decrypt_text(settings: WeComSettings, encrypt: str, *, receive_id: str = "") -> str:
    key = _key(settings)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(encrypt, validate=True)) + decryptor.finalize()
    n = plain[-1]
    assert 1 <= n <= 32, "bad PKCS#7 padding"
    assert plain[-n:] == bytes([n]) * n, "bad PKCS#7 padding"
    content = plain[:-n]
    (length,) = struct.unpack(">I", content[16:20])
    assert content[20 + length :] == receive_id.encode(), "receive id mismatch"
    return content[20 : 20 + length].decode()


# --- inbound builders -------------------------------------------------------------------------


def timestamp_of(now: datetime) -> str:
    return str(int(now.timestamp()))


def sign_request(
    settings: WeComSettings, encrypt: str, *, now: datetime, nonce: str | None = None
) -> dict[str, str]:
    ts = timestamp_of(now)
    nonce = nonce or secrets.token_hex(5)
    return {
        "msg_signature": sign(settings.token, ts, nonce, encrypt),
        "timestamp": ts,
        "nonce": nonce,
    }


def make_callback(
    settings: WeComSettings,
    plaintext: dict[str, Any],
    *,
    now: datetime,
    nonce: str | None = None,
    random16: bytes | None = None,
) -> tuple[dict[str, str], bytes]:
    """(query params, body) of one encrypted AI bot callback."""
    encrypt = encrypt_text(settings, json.dumps(plaintext, ensure_ascii=False), random16=random16)
    params = sign_request(settings, encrypt, now=now, nonce=nonce)
    return params, json.dumps({"encrypt": encrypt}).encode()


def _envelope(
    settings: WeComSettings,
    *,
    userid: str,
    chatid: str | None,
    msgid: str | None,
    response_url: str | None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "msgid": msgid or secrets.token_urlsafe(12),
        "aibotid": settings.bot_id,
    }
    if chatid is None:
        payload["chattype"] = "single"
    else:
        payload["chatid"] = chatid
        payload["chattype"] = "group"
    payload["from"] = {"userid": userid}
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def text_payload(
    settings: WeComSettings,
    text: str,
    *,
    userid: str = "zhangsan",
    chatid: str | None = DEFAULT_CHAT_ID,
    msgid: str | None = None,
    response_url: str | None = None,
) -> dict[str, Any]:
    """A decrypted text message. For a group, WeCom keeps the @mention in `text.content`, so
    pass it in `text` ("@议事助手 签到")."""
    payload = _envelope(
        settings, userid=userid, chatid=chatid, msgid=msgid, response_url=response_url
    )
    payload["msgtype"] = "text"
    payload["text"] = {"content": text}
    return payload


def make_text_message(
    settings: WeComSettings,
    text: str,
    *,
    now: datetime,
    userid: str = "zhangsan",
    chatid: str | None = DEFAULT_CHAT_ID,
    msgid: str | None = None,
    response_url: str | None = None,
    nonce: str | None = None,
) -> tuple[dict[str, str], bytes]:
    payload = text_payload(
        settings, text, userid=userid, chatid=chatid, msgid=msgid, response_url=response_url
    )
    return make_callback(settings, payload, now=now, nonce=nonce)


def card_event_payload(
    settings: WeComSettings,
    *,
    task_id: str,
    event_key: str,
    option_ids: list[str] | None = None,
    question_key: str = "choice",
    card_type: str = "vote_interaction",
    userid: str = "lisi",
    chatid: str | None = DEFAULT_CHAT_ID,
    msgid: str | None = None,
    response_url: str | None = None,
    create_time: int = 1764476400,
) -> dict[str, Any]:
    payload = _envelope(
        settings, userid=userid, chatid=chatid, msgid=msgid, response_url=response_url
    )
    payload["create_time"] = create_time
    event: dict[str, Any] = {"card_type": card_type, "event_key": event_key, "task_id": task_id}
    if option_ids is not None:
        event["selected_items"] = {
            "selected_item": [
                {"question_key": question_key, "option_ids": {"option_id": option_ids}}
            ]
        }
    payload["msgtype"] = "event"
    payload["event"] = {"eventtype": "template_card_event", "template_card_event": event}
    return payload


def make_card_event(
    settings: WeComSettings,
    *,
    now: datetime,
    task_id: str,
    event_key: str,
    option_ids: list[str] | None = None,
    userid: str = "lisi",
    chatid: str | None = DEFAULT_CHAT_ID,
    msgid: str | None = None,
    response_url: str | None = None,
    nonce: str | None = None,
) -> tuple[dict[str, str], bytes]:
    payload = card_event_payload(
        settings,
        task_id=task_id,
        event_key=event_key,
        option_ids=option_ids,
        userid=userid,
        chatid=chatid,
        msgid=msgid,
        response_url=response_url,
        create_time=int(now.timestamp()),
    )
    return make_callback(settings, payload, now=now, nonce=nonce)


def make_stream_refresh(
    settings: WeComSettings,
    stream_id: str,
    *,
    now: datetime,
    userid: str = "zhangsan",
    chatid: str | None = DEFAULT_CHAT_ID,
    msgid: str | None = None,
    nonce: str | None = None,
) -> tuple[dict[str, str], bytes]:
    payload = _envelope(settings, userid=userid, chatid=chatid, msgid=msgid, response_url=None)
    payload["msgtype"] = "stream"
    payload["stream"] = {"id": stream_id}
    return make_callback(settings, payload, now=now, nonce=nonce)


def make_url_verification(
    settings: WeComSettings,
    *,
    now: datetime,
    echo: str | None = None,
    nonce: str | None = None,
    random16: bytes | None = None,
) -> tuple[dict[str, str], str]:
    """(decoded GET params, the plaintext the bot must answer)."""
    echo = echo or str(secrets.randbelow(10**19))
    echostr = encrypt_text(settings, echo, random16=random16)
    params = sign_request(settings, echostr, now=now, nonce=nonce)
    params["echostr"] = echostr
    return params, echo


def decrypt_reply(settings: WeComSettings, reply_json: dict[str, Any]) -> dict[str, Any]:
    """Check a passive reply's shape and signature and return its decrypted JSON."""
    assert set(reply_json) == {"encrypt", "msgsignature", "timestamp", "nonce"}, reply_json
    expected = sign(
        settings.token, reply_json["timestamp"], reply_json["nonce"], reply_json["encrypt"]
    )
    assert hmac.compare_digest(expected, reply_json["msgsignature"]), "bad reply signature"
    value = json.loads(decrypt_text(settings, reply_json["encrypt"]))
    assert isinstance(value, dict)
    return value
