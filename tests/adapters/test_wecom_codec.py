"""WeCom AI bot codec: golden vectors, URL verification, every rejection path, the freshness
window (T5), a bounded mutation run (T4/T7/T8), replies, cards and 消息推送 payloads."""

from __future__ import annotations

import base64
import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.adapters.base import Rejected
from bot.adapters.wecom.codec import (
    STREAM_CONTENT_MAX_BYTES,
    TRUNCATION_MARKER,
    WEBHOOK_MARKDOWN_MAX_BYTES,
    WEBHOOK_TEXT_MAX_BYTES,
    CardEvent,
    CardSelection,
    StreamRefresh,
    Unsupported,
    VoteClick,
    WeComSettings,
    classify_webhook_error,
    decode_callback,
    encode_reply,
    encode_webhook_text,
    markdown_reply,
    signature,
    stream_reply,
    strip_bot_mention,
    text_reply,
    truncate_utf8,
    update_card,
    verify_url,
    vote_card,
    vote_click,
)
from bot.events import (
    ChatKind,
    ChatRef,
    IncomingMessage,
    OutgoingMessage,
    Platform,
    UserRef,
    VoteCard,
)
from tests.kit.wecom.payloads import (
    card_event_payload,
    decrypt_reply,
    encrypt_raw,
    encrypt_text,
    frame,
    make_callback,
    make_stream_refresh,
    make_text_message,
    make_url_verification,
    sign,
    sign_request,
    text_payload,
)

# --- fixture vectors (copied from the shared fixtures (platform_vectors.json), "wecom"; computed
# with an AES implementation independent of wechatpy) -------------------------------------------

TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP = "ww1234567890abcdef"
BOT = "aibEXAMPLE01"

V_APP_XML = {
    "timestamp": "1764476400",
    "nonce": "nonce0000",
    "encrypt": "JVwoIzeb5XuqKIT2XqjnoAHAT/mlNqn/81YWn4AJHP1k1zpx24FQz8t3vfl4zfxmjzFpOdsbRpkk0DxFPdvTwpZCT6hdCqaJet3LW5jEGG+uZr5Lf6ZL2c14bYcn0z5dpY5RcU3VDU4rtPwBqWykqXKeLzJkIjMhAUajSwutl/+4ssCWYZmz0DLgl+m4/przIgg1vy4oGlBvH9WhAyolFnc5ZXRTnidAWrJBl04q5KO1IzwSaFbw+llM+/62fxUeCcUzw+W9RGZ5GCdIiZZsNKuBhhh7kHr156HHxzD0+LI3lStnyyGDaS240welL3P3S4kZPwFVkvvWFUF9hTnu3Du6iwWynmgjOUB4r9CLqLjux8QrOdfZ/x5LBlUsrjCf5W7SNRH+KYQZ9j2wQ+otqfj4A4rBrVFjC/rE5gXC1mnu0z4ibsNoGpdjCOyIcibSQMdmcge2Afw8U3nxg45O2A==",
    "msg_signature": "22c5a5f472bd668894fa38c69d01d15c8e42303b",
}
V_TEXT = {
    "plaintext": '{"msgid": "CAIQ5J7JzQYYAiCmk4C/AjgB", "aibotid": "aibEXAMPLE01", "chatid": "wrkSFfCgAAEXAMPLEchat", "chattype": "group", "from": {"userid": "zhangsan"}, "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=EXAMPLE", "msgtype": "text", "text": {"content": "@议事助手 签到"}}',
    "random16_hex": "101112131415161718191a1b1c1d1e1f",
    "timestamp": "1764476401",
    "nonce": "nonce0001",
    "encrypt": "NyhfXZXQqJbIfZrcynlLIPimROTWkc+mFEpztdUJFkmNcP0iV9wd6JCTIDhYYyUGzazufe+s/RhNBR5FZCr170EZtqmDjvDULS0iv9H6aae0Gd77Qgki5R9zZf6wkvpDXVfqzG19IgJKipQ1HtOQML1EYKA0iA/DaBrvCa1m0ABsVimQ+ZKpBW0mlV1WeGz9ktxje0ClQCTKKmfneCP8k4FYjpV0H8ebxzgRdMJuKNCZVZ1EGbDM46WTVF2mpSw/iHMxUNSQZG46na3AogPtoBb46vlBCn+ZD2BWg/XKUX0Gv/u+j+Quw3ZSM/ud3Lg0mhZX1/AhcvOsHny5KJzCoanZm4SQ/AR1pjCRO+nT/zDoG0xr+8rMvTjU1sHXKPg059tki+5B147KuITOuOwSmZb3poaz0Nwj8g5AsjR2dE7aYbtTnr0OvvAv8mhHa56i50V/q6/QGgsEkLnv83ZSVw==",
    "msg_signature": "35733b2cb418e996f37582dea6e33356dee7118e",
}
V_CARD = {
    "timestamp": "1764476402",
    "nonce": "nonce0002",
    "encrypt": "k78knDmjDGFG9RBlrkttHg5+5Vd632pjreghCaXhS0KxvVrXuSRjIBy7RJY1o3Pm+e29zcxnXdURSKIfsX/rR3vcbCfOq4S6jLmTboZt+RHoJxbveeTPeimsmKTEvOITT8TAemxbaPqTEMxnyv7nZjutnFtyHiS8Rm2U1SGzXD1oh1FjebaWUru8adq52VOQrXsqa5mZADuIjoKDrdvAs8p4GRM199YcEZUZSPWoDNd62UoBcp6vVnSpO3qen2oaRmfiiuFtwNNXrOIiXBQurM1swel6C4MeiLjkZZAHrLmirJ9i1ZDIUbNTFKzNFTa5elcfTpBvZ7fjuzEJ+/WYeZWs9HS7YO5/WEH8fz5n/Uf5fDzxA5uxiK2gCF1qb8UIH2MbgdTzzKP/RS8UJEchgkpQtXMJlPfXrus5v3ae1iVeXd8ScybBo6ahuxnLfTc8BzdexNOL2utkPuBDUKLy4iE28P5D5+CFRYgCMz9v6/90wnHCLmhKu4lf9E6iKHhW6cmxBimJDw6qNr5mhRw9GgQxuYSpsa7EgNjcH38BHPiz4M/JZBeDioKg7RMhndRqlIBy5dLAtx4RLftsRtV1pZ7qiph50dHa39f8PRwhs0c3T4e9S4FuR2MI1GcUApXv+HjG2sTiWL0WIT69oJrXdB4/4NSiyqrCzg0/1i7S4HCJ5z3YM2fjqQ0iODm0HFs8zKCoX8CmheFkKwtmiYm3RMtRgPthvaq0SlJ/Bw8t4PujCGZa4yAASQh2hq8T+EVs",
    "msg_signature": "726e48594833281dd9e95abc85e802e98ea3a2f3",
}
V_VERIFY = {
    "plaintext": "1616140317555161061",
    "timestamp": "1764476500",
    "nonce": "verify01",
    "encrypt": "dfcu7pOxWg63TnYmNfybOuciIq//23rIWzen0aj07GTmZLfehQNyBnWtzvAAVaVCEKPPaBCcIH5c2Ippm6QR7A==",
    "msg_signature": "10558088ae6aa046faddbcb8417e7c45ad5b5984",
}

SETTINGS = WeComSettings(token=TOKEN, encoding_aes_key=AES_KEY, corp_id=CORP, bot_id=BOT)
NOW = datetime.fromtimestamp(1764476401, UTC)
GROUP = ChatRef(Platform.WECOM, CORP, "wrkSFfCgAAEXAMPLEchat", ChatKind.GROUP)


def at(timestamp: str) -> datetime:
    return datetime.fromtimestamp(int(timestamp), UTC)


def request_of(vector: dict[str, str]) -> tuple[dict[str, str], bytes]:
    params = {k: vector[k] for k in ("msg_signature", "timestamp", "nonce")}
    return params, json.dumps({"encrypt": vector["encrypt"]}).encode()


def decode(params: dict[str, str], body: bytes, now: datetime = NOW, settings=SETTINGS) -> Any:
    return decode_callback(params, body, settings=settings, now=now)


def rejected(params: dict[str, str], body: bytes, now: datetime = NOW, settings=SETTINGS):
    with pytest.raises(Rejected) as info:
        decode(params, body, now, settings)
    return info.value


# --- vectors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", [V_APP_XML, V_TEXT, V_CARD, V_VERIFY])
def test_vector_signatures(vector):
    sig = signature(TOKEN, vector["timestamp"], vector["nonce"], vector["encrypt"])
    assert sig == vector["msg_signature"]


def test_vector_text_message_golden():
    params, body = request_of(V_TEXT)
    message = decode(params, body, at(V_TEXT["timestamp"]))
    assert message == IncomingMessage(
        platform=Platform.WECOM,
        chat=GROUP,
        sender=UserRef(Platform.WECOM, CORP, "zhangsan"),
        text="签到",
        message_id="CAIQ5J7JzQYYAiCmk4C/AjgB",
        received_at=at(V_TEXT["timestamp"]),
        mentions_bot=True,
        names_in_text=True,
        reply_handle="https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=EXAMPLE",
    )


def test_vector_encryption_is_reproduced_by_the_fake():
    """The fake's builders produce byte-identical ciphertext for the same random prefix."""
    random16 = bytes.fromhex(V_TEXT["random16_hex"])
    assert encrypt_text(SETTINGS, V_TEXT["plaintext"], random16=random16) == V_TEXT["encrypt"]


def test_vector_card_event_golden():
    params, body = request_of(V_CARD)
    event = decode(params, body, at(V_CARD["timestamp"]))
    assert event == CardEvent(
        message_id="CAIQ5J7JzQYYAiCmk4C/AjgC",
        chat=GROUP,
        sender=UserRef(Platform.WECOM, CORP, "lisi"),
        card_type="vote_interaction",
        task_id="vote_42",
        event_key="submit_vote_42",
        selected=(CardSelection("choice", ("yes",)),),
        received_at=at(V_CARD["timestamp"]),
        response_url="https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=EXAMPLE2",
        response_code="EXAMPLE2",
    )
    assert vote_click(event) == VoteClick(42, "yes")


def test_vector_url_verification():
    params = {
        "msg_signature": V_VERIFY["msg_signature"],
        "timestamp": V_VERIFY["timestamp"],
        "nonce": V_VERIFY["nonce"],
        "echostr": V_VERIFY["encrypt"],
    }
    echo = verify_url(params, settings=SETTINGS, now=at(V_VERIFY["timestamp"]))
    assert echo == V_VERIFY["plaintext"]


def test_vector_app_callback_has_a_foreign_receive_id():
    """The self-built-app vector is signed with our token but carries the corp id as receive
    id: authentic, but not for an AI bot."""
    error = rejected(*request_of(V_APP_XML), now=at(V_APP_XML["timestamp"]))
    assert (error.status, error.reason) == (403, "foreign_receive_id")


# --- URL verification ------------------------------------------------------------------------


def test_url_verification_roundtrip_with_fake():
    params, echo = make_url_verification(SETTINGS, now=NOW)
    assert verify_url(params, settings=SETTINGS, now=NOW) == echo


def test_url_verification_restores_plus_decoded_as_space():
    for i in range(256):
        params, echo = make_url_verification(SETTINGS, now=NOW, random16=bytes([i]) * 16)
        if "+" in params["echostr"]:
            break
    else:  # pragma: no cover
        pytest.fail("no echostr with '+' found")
    mangled = dict(params, echostr=params["echostr"].replace("+", " "))
    assert verify_url(mangled, settings=SETTINGS, now=NOW) == echo


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        ({"echostr": None}, 400, "missing_echostr"),
        ({"msg_signature": None}, 400, "missing_msg_signature"),
        ({"msg_signature": "0" * 40}, 401, "bad_signature"),
        ({"msg_signature": "zz"}, 401, "bad_signature"),
        ({"timestamp": "17644765OO"}, 400, "bad_timestamp"),
        ({"nonce": "a b"}, 400, "bad_nonce"),
    ],
)
def test_url_verification_rejections(change, status, reason):
    params, _ = make_url_verification(SETTINGS, now=NOW)
    for key, value in change.items():
        if value is None:
            del params[key]
        else:
            params[key] = value
    with pytest.raises(Rejected) as info:
        verify_url(params, settings=SETTINGS, now=NOW)
    assert (info.value.status, info.value.reason) == (status, reason)


def test_url_verification_stale_and_signed_garbage():
    params, _ = make_url_verification(SETTINGS, now=NOW - timedelta(seconds=301))
    with pytest.raises(Rejected) as info:
        verify_url(params, settings=SETTINGS, now=NOW)
    assert (info.value.status, info.value.reason) == (401, "stale_timestamp")
    params = sign_request(SETTINGS, "bm90IGEgY2lwaGVydGV4dA==", now=NOW)
    params["echostr"] = "bm90IGEgY2lwaGVydGV4dA=="
    with pytest.raises(Rejected) as info:
        verify_url(params, settings=SETTINGS, now=NOW)
    assert info.value.status == 400


# --- T5: the freshness window, both directions --------------------------------------------------


@pytest.mark.parametrize("offset", [-300, -299, 0, 299, 300])
def test_window_accepts(offset):
    params, body = make_text_message(
        SETTINGS, "@议事助手 签到", now=NOW + timedelta(seconds=offset)
    )
    assert isinstance(decode(params, body, NOW), IncomingMessage)
    verify_params, echo = make_url_verification(SETTINGS, now=NOW + timedelta(seconds=offset))
    assert verify_url(verify_params, settings=SETTINGS, now=NOW) == echo


@pytest.mark.parametrize(
    ("offset", "reason"),
    [(-301, "stale_timestamp"), (-3600, "stale_timestamp"), (301, "future_timestamp")],
)
def test_window_rejects(offset, reason):
    params, body = make_text_message(SETTINGS, "签到", now=NOW + timedelta(seconds=offset))
    error = rejected(params, body)
    assert (error.status, error.reason) == (401, reason)


def test_naive_now_is_a_programming_error():
    params, body = make_text_message(SETTINGS, "签到", now=NOW)
    with pytest.raises(ValueError, match="aware"):
        decode(params, body, NOW.replace(tzinfo=None))


# --- decoding: accepted shapes -------------------------------------------------------------------


def test_single_chat_uses_the_sender_as_chat():
    params, body = make_text_message(SETTINGS, "查看 议程", now=NOW, chatid=None, userid="wangwu")
    message = decode(params, body)
    assert message.chat == ChatRef(Platform.WECOM, CORP, "wangwu", ChatKind.PRIVATE)
    assert message.sender == UserRef(Platform.WECOM, CORP, "wangwu")
    assert message.text == "查看 议程"


def test_single_chat_ignores_a_chatid():
    payload = text_payload(SETTINGS, "签到", chatid=None, userid="wangwu")
    payload["chatid"] = "wrkOTHER"
    message = decode(*make_callback(SETTINGS, payload, now=NOW))
    assert message.chat.chat_id == "wangwu"


def test_text_is_normalised_and_mention_stripped():
    params, body = make_text_message(SETTINGS, "@议事助手\u3000表决：同意（第３号）\u200b", now=NOW)
    # Kept as typed (full-width punctuation too); the router matches on an NFKC form.
    assert decode(params, body).text == "表决：同意（第３号）"


def test_bot_name_strips_only_the_bot():
    settings = WeComSettings(
        token=TOKEN, encoding_aes_key=AES_KEY, corp_id=CORP, bot_id=BOT, bot_name="议事 助手"
    )
    params, body = make_text_message(settings, "@议事 助手 提醒 @张三 开会", now=NOW)
    assert decode(params, body, settings=settings).text == "提醒 @张三 开会"
    params, body = make_text_message(settings, "@张三 @议事 助手 提醒", now=NOW)
    assert decode(params, body, settings=settings).text == "@张三 提醒"


@pytest.mark.parametrize(
    ("text", "name", "group", "expected"),
    [
        ("@议事助手 签到", "", True, "签到"),
        ("@议事助手", "", True, ""),
        ("@议事助手 签到", "", False, "@议事助手 签到"),
        ("@议事助手 签到", "议事助手", False, "签到"),
        ("@议事助手签到", "议事助手", True, "@议事助手签到"),
        ("签到 @议事助手", "议事助手", True, "签到"),
        ("签到", "", True, "签到"),
    ],
)
def test_strip_bot_mention(text, name, group, expected):
    assert strip_bot_mention(text, name, group=group) == expected


def test_same_corpid_in_from_is_accepted():
    payload = text_payload(SETTINGS, "签到")
    payload["from"]["corpid"] = CORP
    assert isinstance(decode(*make_callback(SETTINGS, payload, now=NOW)), IncomingMessage)


def test_voice_uses_speech_to_text():
    payload = text_payload(SETTINGS, "")
    del payload["text"]
    payload.update(msgtype="voice", voice={"content": "签到"})
    assert decode(*make_callback(SETTINGS, payload, now=NOW)).text == "签到"
    payload["voice"] = {"content": ""}
    assert decode(*make_callback(SETTINGS, payload, now=NOW)).kind == "voice"


def test_mixed_keeps_the_text_items():
    payload = text_payload(SETTINGS, "")
    del payload["text"]
    items = [
        {"msgtype": "text", "text": {"content": "@议事助手 议题"}},
        {"msgtype": "image", "image": {"url": "https://example.invalid/1"}},
        {"msgtype": "text", "text": {"content": "附件见图"}},
    ]
    payload.update(msgtype="mixed", mixed={"msg_item": items})
    assert decode(*make_callback(SETTINGS, payload, now=NOW)).text == "议题 附件见图"
    payload["mixed"] = {"msg_item": items[1:2]}
    result = decode(*make_callback(SETTINGS, payload, now=NOW))
    assert isinstance(result, Unsupported)
    assert result.kind == "mixed"


@pytest.mark.parametrize("msgtype", ["image", "file", "video", "something_new"])
def test_content_without_text_is_unsupported(msgtype):
    payload = text_payload(SETTINGS, "", chatid=None)
    del payload["text"]
    payload.update(msgtype=msgtype)
    payload[msgtype] = {"url": "https://example.invalid/x"}
    result = decode(*make_callback(SETTINGS, payload, now=NOW))
    assert isinstance(result, Unsupported)
    assert (result.kind, result.sender.user_id, result.chat.kind) == (
        msgtype,
        "zhangsan",
        ChatKind.PRIVATE,
    )


def test_enter_chat_is_unsupported():
    payload = text_payload(SETTINGS, "", chatid=None)
    del payload["text"]
    payload.update(msgtype="event", event={"eventtype": "enter_chat", "enter_chat": {}})
    result = decode(*make_callback(SETTINGS, payload, now=NOW))
    assert isinstance(result, Unsupported)
    assert result.kind == "event:enter_chat"


def test_stream_refresh():
    result = decode(*make_stream_refresh(SETTINGS, "stream_1_ab", now=NOW, msgid="m-2"))
    assert result == StreamRefresh(
        "stream_1_ab", "m-2", GROUP, UserRef(Platform.WECOM, CORP, "zhangsan"), NOW
    )


def test_card_event_variants():
    payload = card_event_payload(SETTINGS, task_id="vote_7_1", event_key="submit_vote_7")
    event = decode(*make_callback(SETTINGS, payload, now=NOW))
    assert event.selected == ()
    assert vote_click(event) is None
    payload = card_event_payload(
        SETTINGS, task_id="vote_7_1", event_key="submit_vote_7", option_ids=["abstain"]
    )
    # WeCom's JSON mirrors XML: a single option may arrive unwrapped.
    item = payload["event"]["template_card_event"]["selected_items"]["selected_item"][0]
    item["option_ids"]["option_id"] = "abstain"
    event = decode(*make_callback(SETTINGS, payload, now=NOW))
    assert vote_click(event) == VoteClick(7, "abstain")


@pytest.mark.parametrize(
    ("event_key", "options", "card_type"),
    [
        ("submit_vote_7", ["yes", "no"], "vote_interaction"),
        ("submit_vote_7", ["maybe"], "vote_interaction"),
        ("submit_other", ["yes"], "vote_interaction"),
        ("submit_vote_7", ["yes"], "button_interaction"),
    ],
)
def test_vote_click_refuses_other_clicks(event_key, options, card_type):
    payload = card_event_payload(
        SETTINGS, task_id="t", event_key=event_key, option_ids=options, card_type=card_type
    )
    assert vote_click(decode(*make_callback(SETTINGS, payload, now=NOW))) is None


# --- decoding: every rejection path ----------------------------------------------------------------


def _text_request() -> tuple[dict[str, str], bytes]:
    return make_text_message(SETTINGS, "@议事助手 签到", now=NOW, nonce="n0nce")


def _signed_body(encrypt: str) -> tuple[dict[str, str], bytes]:
    return sign_request(SETTINGS, encrypt, now=NOW), json.dumps({"encrypt": encrypt}).encode()


def _signed_plaintext(text: str) -> tuple[dict[str, str], bytes]:
    return _signed_body(encrypt_text(SETTINGS, text))


def _signed_payload(change) -> tuple[dict[str, str], bytes]:
    payload = text_payload(SETTINGS, "@议事助手 签到")
    change(payload)
    return make_callback(SETTINGS, payload, now=NOW)


def _with_params(**change: str | None) -> tuple[dict[str, str], bytes]:
    params, body = _text_request()
    for key, value in change.items():
        if value is None:
            del params[key]
        else:
            params[key] = value
    return params, body


def _with_body(body: bytes) -> tuple[dict[str, str], bytes]:
    params, _ = _text_request()
    return params, body


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">'
        % (i, b"".join(b"&lol%d;" % (i - 1) if i > 1 else b"&lol;" for _ in range(10)))
        for i in range(1, 10)
    )
    + b"]><xml><Encrypt>&lol9;</Encrypt></xml>"
)
XXE = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>'


def _set(path: str, value: Any):
    def change(payload: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = payload
        for key in parents:
            target = target[key]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return change


_DELETE = object()

REJECTIONS = {
    # size, parameters
    "oversized": (lambda: _with_body(b'{"encrypt":"' + b"A" * 70_000 + b'"}'), 413, "too_large"),
    "no_signature": (lambda: _with_params(msg_signature=None), 400, "missing_msg_signature"),
    "no_timestamp": (lambda: _with_params(timestamp=None), 400, "missing_timestamp"),
    "no_nonce": (lambda: _with_params(nonce=None), 400, "missing_nonce"),
    "empty_nonce": (lambda: _with_params(nonce=""), 400, "missing_nonce"),
    "bad_timestamp": (lambda: _with_params(timestamp="1764476401.5"), 400, "bad_timestamp"),
    "unicode_digits": (lambda: _with_params(timestamp="١٧٦٤٤٧٦٤٠١"), 400, "bad_timestamp"),
    "bad_nonce": (lambda: _with_params(nonce="n0 nce"), 400, "bad_nonce"),
    "signature_not_hex": (lambda: _with_params(msg_signature="g" * 40), 401, "bad_signature"),
    "signature_short": (lambda: _with_params(msg_signature="ab"), 401, "bad_signature"),
    "signature_upper": (lambda: _with_params(msg_signature="A" * 40), 401, "bad_signature"),
    "stale": (
        lambda: _with_params(timestamp=str(int(NOW.timestamp()) - 301)),
        401,
        "stale_timestamp",
    ),
    "future": (
        lambda: _with_params(timestamp=str(int(NOW.timestamp()) + 301)),
        401,
        "future_timestamp",
    ),
    "signature_mismatch": (lambda: _with_params(msg_signature="0" * 40), 401, "bad_signature"),
    "nonce_changed": (lambda: _with_params(nonce="other"), 401, "bad_signature"),
    "timestamp_changed": (
        lambda: _with_params(timestamp=str(int(NOW.timestamp()) + 1)),
        401,
        "bad_signature",
    ),
    # body
    "empty_body": (lambda: _with_body(b""), 400, "empty_body"),
    "not_utf8": (lambda: _with_body(b'{"encrypt":"\xff"}'), 400, "not_utf8"),
    "xml_body": (
        lambda: _with_body(b"<xml><Encrypt><![CDATA[abc]]></Encrypt></xml>"),
        400,
        "not_json_object",
    ),
    "doctype": (lambda: _with_body(b'<!DOCTYPE x SYSTEM "http://evil/">'), 400, "not_json_object"),
    "billion_laughs": (lambda: _with_body(BILLION_LAUGHS), 400, "not_json_object"),
    "xxe": (lambda: _with_body(XXE), 400, "not_json_object"),
    "json_array": (lambda: _with_body(b'["encrypt"]'), 400, "not_json_object"),
    "bad_json": (lambda: _with_body(b'{"encrypt": "abc"'), 400, "bad_json"),
    "bom": (lambda: _with_body(b'\xef\xbb\xbf{"encrypt":"abc"}'), 400, "not_json_object"),
    "deep_json": (lambda: _with_body(b'{"a":' * 10_000 + b"1" + b"}" * 10_000), 400, "bad_json"),
    "deep_array": (
        lambda: _with_body(b'{"encrypt":' + b"[" * 30_000 + b"]" * 30_000 + b"}"),
        400,
        "bad_json",
    ),
    "no_encrypt": (lambda: _with_body(b'{"Encrypt":"abc"}'), 400, "missing_encrypt"),
    "encrypt_not_str": (lambda: _with_body(b'{"encrypt":123}'), 400, "missing_encrypt"),
    "unsigned_garbage": (lambda: _with_body(b'{"encrypt":"abcd"}'), 401, "bad_signature"),
    # signed, but the ciphertext is bad
    "signed_not_base64": (lambda: _signed_body("not base64!"), 400, "bad_base64"),
    "signed_bad_b64_len": (lambda: _signed_body("abcde"), 400, "bad_base64"),
    "signed_short_cipher": (
        lambda: _signed_body(base64.b64encode(b"x" * 24).decode()),
        400,
        "bad_ciphertext_length",
    ),
    "signed_bad_padding": (
        lambda: _signed_body(encrypt_raw(SETTINGS, b"\x00" * 32, pad=False)),
        400,
        "bad_padding",
    ),
    "signed_pad_too_big": (
        lambda: _signed_body(encrypt_raw(SETTINGS, b"\x00" * 31 + b"\x21", pad=False)),
        400,
        "bad_padding",
    ),
    "signed_short_plain": (
        lambda: _signed_body(encrypt_raw(SETTINGS, b"\x00" * 10)),
        400,
        "short_plaintext",
    ),
    # wechatpy would accept this one: its receive-id check compares "" with "".
    "signed_length_past_end": (
        lambda: _signed_body(
            encrypt_raw(SETTINGS, b"\x00" * 16 + (500).to_bytes(4, "big") + b"{}")
        ),
        400,
        "bad_length",
    ),
    "signed_corp_receive_id": (
        lambda: _signed_body(encrypt_raw(SETTINGS, frame(b"{}", receive_id=CORP.encode()))),
        403,
        "foreign_receive_id",
    ),
    "signed_not_utf8": (
        lambda: _signed_body(encrypt_raw(SETTINGS, frame(b"\xff\xfe"))),
        400,
        "not_utf8",
    ),
    # signed, decrypted, but the inner JSON is wrong
    "inner_not_json": (lambda: _signed_plaintext("<xml>hello</xml>"), 400, "bad_inner_json"),
    "inner_array": (lambda: _signed_plaintext("[]"), 400, "bad_inner_json"),
    "inner_deep": (lambda: _signed_plaintext("[" * 20_000 + "]" * 20_000), 400, "bad_inner_json"),
    "inner_huge_int": (
        lambda: _signed_plaintext('{"msgid": ' + "9" * 5000 + "}"),
        400,
        "bad_inner_json",
    ),
    "no_msgid": (lambda: _signed_payload(_set("msgid", _DELETE)), 400, "bad_msgid"),
    "msgid_int": (lambda: _signed_payload(_set("msgid", 42)), 400, "bad_msgid"),
    "msgid_long": (lambda: _signed_payload(_set("msgid", "m" * 300)), 400, "bad_msgid"),
    "no_aibotid": (lambda: _signed_payload(_set("aibotid", _DELETE)), 400, "bad_aibotid"),
    "from_not_object": (lambda: _signed_payload(_set("from", "zhangsan")), 400, "bad_from"),
    "userid_int": (lambda: _signed_payload(_set("from.userid", 7)), 400, "bad_userid"),
    "chattype_other": (lambda: _signed_payload(_set("chattype", "channel")), 400, "bad_chattype"),
    "group_without_chatid": (lambda: _signed_payload(_set("chatid", _DELETE)), 400, "bad_chatid"),
    "group_empty_chatid": (lambda: _signed_payload(_set("chatid", "")), 400, "bad_chatid"),
    "no_msgtype": (lambda: _signed_payload(_set("msgtype", _DELETE)), 400, "bad_msgtype"),
    "text_not_object": (lambda: _signed_payload(_set("text", "签到")), 400, "bad_text"),
    "content_list": (lambda: _signed_payload(_set("text.content", ["签到"])), 400, "bad_content"),
    "content_missing": (lambda: _signed_payload(_set("text", {})), 400, "bad_content"),
    "content_empty": (lambda: _signed_payload(_set("text.content", "")), 400, "bad_content"),
    "response_url_elsewhere": (
        lambda: _signed_payload(
            _set("response_url", "https://evil.example/cgi-bin/aibot/response")
        ),
        400,
        "bad_response_url",
    ),
    "response_url_lookalike": (
        lambda: _signed_payload(_set("response_url", "https://qyapi.weixin.qq.com.evil.example/x")),
        400,
        "bad_response_url",
    ),
    "stream_without_id": (
        lambda: _signed_payload(lambda p: p.update(msgtype="stream", stream={})),
        400,
        "bad_id",
    ),
    "event_not_object": (
        lambda: _signed_payload(lambda p: p.update(msgtype="event", event=[])),
        400,
        "bad_event",
    ),
    "card_without_task": (
        lambda: make_callback(SETTINGS, _card_without("task_id"), now=NOW),
        400,
        "bad_task_id",
    ),
    "card_bad_option": (
        lambda: make_callback(SETTINGS, _card_option(5), now=NOW),
        400,
        "bad_option_id",
    ),
    "card_bad_selected": (
        lambda: make_callback(SETTINGS, _card_selected("yes"), now=NOW),
        400,
        "bad_selected_items",
    ),
    # T21/T22: authentic payloads that are not ours
    "wrong_bot": (lambda: _signed_payload(_set("aibotid", "aibOTHER")), 403, "wrong_bot"),
    "empty_userid": (lambda: _signed_payload(_set("from.userid", "")), 403, "no_userid"),
    "blank_userid": (lambda: _signed_payload(_set("from.userid", "  ")), 403, "no_userid"),
    "missing_userid": (lambda: _signed_payload(_set("from", {})), 403, "no_userid"),
    "foreign_corp": (
        lambda: _signed_payload(_set("from", {"userid": "x", "corpid": "wwOTHER"})),
        403,
        "foreign_corp",
    ),
}


def _card_without(key: str) -> dict[str, Any]:
    payload = card_event_payload(
        SETTINGS, task_id="vote_1", event_key="submit_vote_1", option_ids=["yes"]
    )
    del payload["event"]["template_card_event"][key]
    return payload


def _card_option(option: Any) -> dict[str, Any]:
    return card_event_payload(
        SETTINGS, task_id="vote_1", event_key="submit_vote_1", option_ids=[option]
    )


def _card_selected(value: Any) -> dict[str, Any]:
    payload = _card_option("yes")
    payload["event"]["template_card_event"]["selected_items"] = value
    return payload


@pytest.mark.parametrize("case", sorted(REJECTIONS))
def test_rejections(case):
    build, status, reason = REJECTIONS[case]
    error = rejected(*build())
    assert (error.status, error.reason) == (status, reason)


def test_settings_fail_closed():
    good = {"token": TOKEN, "encoding_aes_key": AES_KEY, "corp_id": CORP, "bot_id": BOT}
    for key, value in [
        ("token", ""),
        ("token", "with space"),
        ("encoding_aes_key", AES_KEY[:-1]),
        ("encoding_aes_key", AES_KEY[:-1] + "+"),
        ("corp_id", ""),
        ("bot_id", " "),
        ("max_body_bytes", 0),
        ("max_body_bytes", 2 * 1024 * 1024),
        ("timestamp_window_s", 0),
        ("api_base", "https://qyapi.weixin.qq.com/"),
        ("api_base", "ftp://x"),
    ]:
        with pytest.raises(ValueError):  # noqa: PT011
            WeComSettings(**{**good, key: value})
    assert "QDG6eK" not in repr(WeComSettings(**good))
    assert AES_KEY not in repr(WeComSettings(**good))


# --- T4/T7/T8: a bounded mutation run ------------------------------------------------------------


def _flip(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text))
    flipped = chr(ord(text[i]) ^ (1 << rng.randrange(7))) if ord(text[i]) < 128 else "x"
    return text[:i] + flipped + text[i + 1 :]


def _mutants(count: int, seed: int = 20261130) -> list[tuple[str, dict[str, str], bytes]]:
    rng = random.Random(seed)
    # Fixed message ids and random prefixes: the same seed gives the same 2,000 requests.
    bases = [
        make_callback(
            SETTINGS,
            text_payload(SETTINGS, "@议事助手 表决 同意", msgid="base-msg-0"),
            now=NOW,
            nonce="base0",
            random16=b"\x00" * 16,
        ),
        make_callback(
            SETTINGS,
            card_event_payload(
                SETTINGS,
                task_id="vote_9",
                event_key="submit_vote_9",
                option_ids=["no"],
                msgid="base-msg-1",
            ),
            now=NOW,
            nonce="base1",
            random16=b"\x01" * 16,
        ),
    ]
    valid_payload = text_payload(SETTINGS, "@议事助手 签到")
    required = ["msgid", "aibotid", "from", "chattype", "chatid", "msgtype", "text"]
    bad_values: list[Any] = [None, 1, 1.5, True, [], ["x"], {"a": 1}]

    def resigned(encrypt: str) -> tuple[dict[str, str], bytes]:
        return _signed_body(encrypt)

    def m_cipher(params, body):
        enc = json.loads(body)["encrypt"]
        return params, json.dumps({"encrypt": _flip(enc, rng)}).encode()

    def m_signature(params, body):
        return dict(params, msg_signature=_flip(params["msg_signature"], rng)), body

    def m_timestamp(params, body):
        delta = rng.choice([-1, 1, -299, 299, -301, 301, 10**6])
        return dict(params, timestamp=str(int(params["timestamp"]) + delta)), body

    def m_timestamp_text(params, body):
        return dict(params, timestamp=_flip(params["timestamp"], rng)), body

    def m_nonce(params, body):
        return dict(params, nonce=_flip(params["nonce"], rng)), body

    def m_resigned_cipher(params, body):
        enc = json.loads(body)["encrypt"]
        # Only the last block: a token holder flipping earlier blocks can forge a valid
        # message (CBC), which is not a decoder failure. The last block holds padding and
        # the receive id, so any change there must be refused.
        raw = bytearray(base64.b64decode(enc))
        raw[rng.randrange(len(raw) - 16, len(raw))] ^= 1 << rng.randrange(8)
        return resigned(base64.b64encode(bytes(raw)).decode())

    def m_resigned_truncated(params, body):
        raw = base64.b64decode(json.loads(body)["encrypt"])
        cut = rng.randrange(1, len(raw))
        return resigned(base64.b64encode(raw[:cut]).decode())

    def m_resigned_random(params, body):
        return resigned(base64.b64encode(rng.randbytes(16 * rng.randrange(1, 20))).decode())

    def m_wrong_bot(params, body):
        return make_callback(SETTINGS, dict(valid_payload, aibotid=f"aib{rng.random()}"), now=NOW)

    def m_empty_userid(params, body):
        return make_callback(SETTINGS, dict(valid_payload, **{"from": {"userid": ""}}), now=NOW)

    def m_field_type(params, body):
        payload = json.loads(json.dumps(valid_payload))
        payload[rng.choice(required)] = rng.choice(bad_values)
        return make_callback(SETTINGS, payload, now=NOW)

    def m_inner_garbage(params, body):
        text = rng.choice(
            [
                "[" * 5000 + "]" * 5000,
                '{"a":' * 3000 + "1" + "}" * 3000,
                BILLION_LAUGHS.decode(),
                "",
                "null",
                rng.randbytes(40).hex(),
            ]
        )
        return _signed_plaintext(text)

    def m_xml(params, body):
        return params, rng.choice([BILLION_LAUGHS, XXE, b"<xml>" * 8000 + b"</xml>" * 5])

    def m_oversized(params, body):
        return params, b'{"encrypt":"' + b"A" * rng.randrange(65_536, 200_000) + b'"}'

    def m_deep_body(params, body):
        depth = rng.randrange(2_000, 12_000)
        opener, closer = rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
        return params, b'{"encrypt":' + opener * depth + b"1" + closer * depth + b"}"

    def m_body_bytes(params, body):
        # Overwrite bytes of the signed ciphertext (changing JSON white space elsewhere would be
        # an equivalent body, rightly accepted).
        raw = bytearray(body)
        start = body.index(b'"encrypt": "') + len(b'"encrypt": "')
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(start, len(raw) - 2)
            raw[i] = rng.choice([b for b in range(256) if b != raw[i]])
        return params, bytes(raw)

    mutations = [
        m_cipher,
        m_signature,
        m_timestamp,
        m_timestamp_text,
        m_nonce,
        m_resigned_cipher,
        m_resigned_truncated,
        m_resigned_random,
        m_wrong_bot,
        m_empty_userid,
        m_field_type,
        m_inner_garbage,
        m_xml,
        m_oversized,
        m_deep_body,
        m_body_bytes,
    ]
    cases = []
    for i in range(count):
        mutation = mutations[i % len(mutations)]
        params, body = rng.choice(bases)
        cases.append((mutation.__name__, *mutation(dict(params), body)))
    return cases


def test_two_thousand_mutants_are_all_rejected_quickly():
    cases = _mutants(2000)
    slow: list[tuple[str, float]] = []
    statuses: dict[int, int] = {}
    for name, params, body in cases:
        for _attempt in range(3):  # the best of three, so one scheduler hiccup is not a failure
            started = time.perf_counter()
            try:
                result = decode(params, body)
            except Rejected as error:
                elapsed = time.perf_counter() - started
                status = error.status
            else:
                # A bit flip in the 40-hex signature can only be caught as a mismatch, and a
                # timestamp change inside the window breaks the signature: nothing passes.
                pytest.fail(f"{name} was accepted: {result!r}")
            if elapsed < 0.010:
                break
        else:
            slow.append((name, elapsed))
        statuses[status] = statuses.get(status, 0) + 1
    assert not slow, slow
    assert set(statuses) <= {400, 401, 403, 413}
    assert sum(statuses.values()) == 2000
    assert {400, 401, 403, 413} <= set(statuses)


# --- passive replies -----------------------------------------------------------------------------


def test_reply_roundtrip_via_decrypt_reply():
    content = "收到：表决《关于召开组织生活会的议案》已发起。"
    reply = encode_reply(
        stream_reply("stream_1", content), settings=SETTINGS, nonce="n1", timestamp="1764476401"
    )
    assert set(reply) == {"encrypt", "msgsignature", "timestamp", "nonce"}
    assert (reply["timestamp"], reply["nonce"]) == ("1764476401", "n1")
    assert decrypt_reply(SETTINGS, reply) == {
        "msgtype": "stream",
        "stream": {"id": "stream_1", "finish": True, "content": content},
    }


def test_reply_interoperates_with_wechatpy_and_is_randomised():
    payload = text_reply("欢迎使用议事")
    first = encode_reply(payload, settings=SETTINGS, nonce="abc", timestamp="1764476401")
    second = encode_reply(payload, settings=SETTINGS, nonce="abc", timestamp="1764476401")
    assert first["encrypt"] != second["encrypt"]
    crypto = WeChatCrypto(TOKEN, AES_KEY, "")
    plain = crypto.decrypt_message(
        {"Encrypt": first["encrypt"]}, first["msgsignature"], "1764476401", "abc"
    )
    assert json.loads(plain) == payload


@pytest.mark.parametrize(("nonce", "timestamp"), [("", "1"), ("a b", "1"), ("n", "x1"), ("n", "")])
def test_reply_refuses_bad_nonce_or_timestamp(nonce, timestamp):
    with pytest.raises(ValueError):  # noqa: PT011
        encode_reply({}, settings=SETTINGS, nonce=nonce, timestamp=timestamp)


def test_reply_helpers():
    assert stream_reply("s", "x", finish=False) == {
        "msgtype": "stream",
        "stream": {"id": "s", "finish": False, "content": "x"},
    }
    long = stream_reply("s", "议" * 10_000)["stream"]["content"]
    assert len(long.encode()) <= STREAM_CONTENT_MAX_BYTES
    assert long.endswith(TRUNCATION_MARKER)
    assert text_reply("你好") == {"msgtype": "text", "text": {"content": "你好"}}
    assert markdown_reply("**议程**") == {
        "msgtype": "markdown",
        "markdown": {"content": "**议程**"},
    }
    with pytest.raises(ValueError):  # noqa: PT011
        stream_reply("", "x")


# --- cards ---------------------------------------------------------------------------------------

OPEN_BALLOT = VoteCard(
    vote_id=42,
    title="关于召开组织生活会的议案",
    summary="赞成 3 · 反对 1 · 弃权 0 · 未投 3",
    secret=False,
)
SECRET_BALLOT = VoteCard(
    vote_id=43, title="人选表决", summary="赞成 4 · 反对 2 · 弃权 1", secret=True
)


def test_vote_card_shape():
    card = vote_card(OPEN_BALLOT, task_id="vote_42_1")
    assert card == {
        "msgtype": "template_card",
        "template_card": {
            "card_type": "vote_interaction",
            "source": {"desc": "议事"},
            "main_title": {"title": "关于召开组织生活会的议案", "desc": "记名表决"},
            "sub_title_text": "赞成 3 · 反对 1 · 弃权 0 · 未投 3",
            "task_id": "vote_42_1",
            "checkbox": {
                "question_key": "choice",
                "mode": 0,
                "option_list": [
                    {"id": "yes", "text": "赞成"},
                    {"id": "no", "text": "反对"},
                    {"id": "abstain", "text": "弃权"},
                ],
            },
            "submit_button": {"text": "提交", "key": "submit_vote_42"},
        },
    }


def test_secret_card_hides_counts_until_closed():
    card = vote_card(SECRET_BALLOT, task_id="vote_43")["template_card"]
    assert SECRET_BALLOT.summary not in json.dumps(card, ensure_ascii=False)
    assert card["main_title"]["desc"] == "无记名表决"
    update = update_card(SECRET_BALLOT, task_id="vote_43", userid="lisi", chosen="no")
    assert SECRET_BALLOT.summary not in json.dumps(update, ensure_ascii=False)
    closed = VoteCard(43, "人选表决", SECRET_BALLOT.summary, secret=True, closed=True)
    final = update_card(closed, task_id="vote_43")
    assert "userids" not in final
    assert final["template_card"]["sub_title_text"] == SECRET_BALLOT.summary
    assert final["template_card"]["checkbox"]["disable"] is True
    assert final["template_card"]["submit_button"]["text"] == "表决已结束"


def test_update_card_for_the_voter():
    update = update_card(OPEN_BALLOT, task_id="vote_42_1", userid="lisi", chosen="yes")
    assert update["response_type"] == "update_template_card"
    assert update["userids"] == ["lisi"]
    card = update["template_card"]
    assert card["task_id"] == "vote_42_1"
    assert card["checkbox"]["disable"] is True
    assert card["checkbox"]["option_list"][0] == {"id": "yes", "text": "赞成", "is_checked": True}
    assert all("is_checked" not in option for option in card["checkbox"]["option_list"][1:])
    assert card["submit_button"] == {"text": "已提交", "key": "submit_vote_42"}
    everyone = update_card(OPEN_BALLOT, task_id="vote_42_1")
    assert "userids" not in everyone
    assert "disable" not in everyone["template_card"]["checkbox"]
    assert encode_reply(update, settings=SETTINGS, nonce="n", timestamp="1")["encrypt"]


def test_card_limits_and_errors():
    long = VoteCard(1, "很" * 40, "数" * 200, secret=False)
    card = vote_card(long, task_id="v")["template_card"]
    assert len(card["main_title"]["title"]) == 26
    assert card["main_title"]["title"].endswith("…")
    assert len(card["sub_title_text"]) == 112
    for task_id in ["", "bad id", "投票", "x" * 129]:
        with pytest.raises(ValueError, match="task_id"):
            vote_card(OPEN_BALLOT, task_id=task_id)
    with pytest.raises(ValueError, match="option"):
        update_card(OPEN_BALLOT, task_id="v", userid="lisi", chosen="maybe")
    with pytest.raises(ValueError, match="userid"):
        update_card(OPEN_BALLOT, task_id="v", userid="")
    with pytest.raises(ValueError, match="userid"):  # never broadcast one member's choice
        update_card(SECRET_BALLOT, task_id="v", chosen="yes")


# --- 消息推送 -------------------------------------------------------------------------------------

ZHANG = UserRef(Platform.WECOM, CORP, "zhangsan")
LI = UserRef(Platform.WECOM, CORP, "lisi")
DING = UserRef(Platform.DINGTALK, "dingcorp", "0123")


def _out(text: str, *mentions: UserRef, card: VoteCard | None = None) -> OutgoingMessage:
    return OutgoingMessage(chat=GROUP, text=text, mentions=mentions, card=card)


def test_webhook_text_with_mentions():
    body = encode_webhook_text(_out("请于 15:00 前完成表决", ZHANG, LI, ZHANG, DING))
    assert body == {
        "msgtype": "text",
        "text": {"content": "请于 15:00 前完成表决", "mentioned_list": ["zhangsan", "lisi"]},
    }
    everyone = UserRef(Platform.WECOM, CORP, "@all")
    bad = UserRef(Platform.WECOM, CORP, "li si>")
    assert encode_webhook_text(_out("开会", everyone, bad))["text"]["mentioned_list"] == ["@all"]
    assert "mentioned_list" not in encode_webhook_text(_out("开会"))["text"]


def test_webhook_text_byte_limit():
    exact = "a" * WEBHOOK_TEXT_MAX_BYTES
    assert encode_webhook_text(_out(exact))["text"]["content"] == exact
    content = encode_webhook_text(_out("a" + "议" * 1000, ZHANG))["text"]["content"]
    assert len(content.encode()) <= WEBHOOK_TEXT_MAX_BYTES
    assert content.endswith(TRUNCATION_MARKER)
    assert content.startswith("a议议")


def test_webhook_markdown_mentions_and_neutralisation():
    body = encode_webhook_text(
        _out('**急** <@all> <font color="warning">[链接](x)</font>', LI), markdown=True
    )
    content = body["markdown"]["content"]
    assert body["msgtype"] == "markdown"
    assert content.endswith("\n<@lisi>")
    assert content.count("<") == 1  # only our own mention survives
    assert "*" not in content.removesuffix("\n<@lisi>")
    long = encode_webhook_text(_out("议" * 3000, ZHANG, LI), markdown=True)["markdown"]["content"]
    assert len(long.encode()) <= WEBHOOK_MARKDOWN_MAX_BYTES
    assert long.endswith(TRUNCATION_MARKER + "\n<@zhangsan> <@lisi>")
    with pytest.raises(ValueError, match="@all"):
        encode_webhook_text(_out("x", UserRef(Platform.WECOM, CORP, "@all")), markdown=True)


def test_webhook_refuses_vote_cards():
    with pytest.raises(ValueError, match="AI bot"):
        encode_webhook_text(_out("表决", card=OPEN_BALLOT))


@pytest.mark.parametrize(
    ("text", "limit"),
    [("议事" * 10, 7), ("😀" * 10, 9), ("ab议", 4), ("x" * 10, 3)],
)
def test_truncate_utf8_keeps_characters_whole(text, limit):
    out = truncate_utf8(text, limit, marker="…")
    assert len(out.encode()) <= limit
    out.encode().decode("utf-8")  # still valid


@pytest.mark.parametrize(
    ("errcode", "kind"),
    [
        (0, "ok"),
        (45009, "throttled"),
        (93000, "gone"),
        (42001, "token"),
        (40014, "token"),
        (-1, "transient"),
        (45033, "transient"),
        (40058, "permanent"),
        (40008, "permanent"),
        (95001, "permanent"),
    ],
)
def test_classify_webhook_error(errcode, kind):
    assert classify_webhook_error(errcode) == kind


def test_sign_helper_matches_codec():
    assert sign(TOKEN, "1", "n", "data") == signature(TOKEN, "1", "n", "data")
