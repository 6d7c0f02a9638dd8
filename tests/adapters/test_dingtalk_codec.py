"""The pure DingTalk layer: signatures, decode (golden payloads, every refusal), the header
header binding, the encoders and the Stream frames."""

from __future__ import annotations

import copy
import hashlib
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.base import Rejected
from bot.adapters.dingtalk.codec import (
    GROUP_SEND_MAX_PARAM_BYTES,
    ROBOT_MESSAGE_TOPIC,
    DingTalkSettings,
    MessageTooLarge,
    StreamFrame,
    callback_sign,
    custom_robot_sign,
    decode_callback,
    decode_stream_callback,
    decode_stream_frame,
    encode_group_send,
    encode_private_send,
    encode_reply,
    encode_stream_ack,
    epoch_ms,
    header_binding,
)
from bot.events import ChatKind, ChatRef, IncomingMessage, OutgoingMessage, Platform, UserRef
from tests.kit.dingtalk.payloads import stream_frame

# Copied from the shared fixtures (platform_vectors.json) (computed independently), kept as
# literals so the tests never depend on a folder outside the repository.
CALLBACK_VECTORS = [
    ("bench-app-secret-0123456789abcdef", "1767230400000", "dgGOcCXJt6o/gs6Wjms0bM0z3q8zCV9cJckaWVxn+UA="),
    ("bench-app-secret-0123456789abcdef", "1767230401234", "J2EAyy3qFfL0bYyIuQD/6LDekPtzVZiFFxw35cWdOQA="),
]  # fmt: skip
CUSTOM_ROBOT_VECTOR = {
    "secret": "SECexample0123456789abcdef0123456789abcdef0123456789abcdef01234567",
    "timestamp": "1767230400000",
    "sign_base64": "r/j7y7C6rZl6UJnAYdkOJCcTo2sBClGE4ID4BZqr/jE=",
    "sign_query_value": "r%2Fj7y7C6rZl6UJnAYdkOJCcTo2sBClGE4ID4BZqr%2FjE%3D",
}

SECRET = CALLBACK_VECTORS[0][0]
TIMESTAMP, SIGN = CALLBACK_VECTORS[0][1], CALLBACK_VECTORS[0][2]
CORP = "dingcorpEXAMPLE"
NOW = datetime(2026, 1, 1, 1, 20, 0, 100_000, tzinfo=UTC)  # 100 ms after TIMESTAMP
SETTINGS = DingTalkSettings(
    app_key="dingEXAMPLEappkey",
    app_secret=SECRET,
    robot_code="dingEXAMPLEappkey",
    corp_id=CORP,
)
HEADERS = {"Content-Type": "application/json; charset=utf-8", "timestamp": TIMESTAMP, "sign": SIGN}
WEBHOOK = "https://oapi.dingtalk.com/robot/sendBySession?session=EXAMPLE"

# platforms.md §3.2: a group @bot text message (HTTP body == Stream frame data).
GOLDEN: dict[str, Any] = {
    "conversationId": "cidEXAMPLEgroup0000==",
    "atUsers": [
        {"dingtalkId": "$:LWCP_v1:$botEXAMPLE"},
        {"dingtalkId": "$:LWCP_v1:$u2", "staffId": "0456789"},
    ],
    "chatbotCorpId": CORP,
    "chatbotUserId": "$:LWCP_v1:$botEXAMPLE",
    "msgId": "msgEXAMPLE0001==",
    "senderNick": "张三",
    "isAdmin": False,
    "senderStaffId": "0123456789",
    "sessionWebhookExpiredTime": 1767235800000,
    "createAt": 1767230400000,
    "senderCorpId": CORP,
    "conversationType": "2",
    "senderId": "$:LWCP_v1:$senderEXAMPLE",
    "conversationTitle": "项目群",
    "isInAtList": True,
    "sessionWebhook": WEBHOOK,
    "text": {"content": " 投票 午饭吃什么"},
    "robotCode": "dingEXAMPLEappkey",
    "msgtype": "text",
}
SENDER = UserRef(Platform.DINGTALK, CORP, "0123456789", "张三")
GROUP = ChatRef(Platform.DINGTALK, CORP, "cidEXAMPLEgroup0000==", ChatKind.GROUP)


def body_of(payload: dict[str, Any]) -> bytes:
    text = json.dumps(payload, ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: send it as a \ud800 escape
        return json.dumps(payload).encode("ascii")


def with_fields(**changes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(GOLDEN)
    for key, value in changes.items():
        if value is ...:
            payload.pop(key, None)
        else:
            payload[key] = value
    return payload


def decode(payload: dict[str, Any], *, now: datetime = NOW, **kw: Any) -> IncomingMessage:
    return decode_callback(
        HEADERS, body_of(payload), settings=kw.get("settings", SETTINGS), now=now
    )


def signed(now: datetime) -> dict[str, str]:
    timestamp = str(epoch_ms(now))
    return {"timestamp": timestamp, "sign": callback_sign(SECRET, timestamp)}


# --- signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize(("secret", "timestamp", "expected"), CALLBACK_VECTORS)
def test_callback_sign_matches_vectors(secret: str, timestamp: str, expected: str) -> None:
    assert callback_sign(secret, timestamp) == expected


def test_custom_robot_sign_matches_vector() -> None:
    v = CUSTOM_ROBOT_VECTOR
    assert custom_robot_sign(v["secret"], v["timestamp"]) == (
        v["sign_base64"],
        v["sign_query_value"],
    )


def test_settings_fail_closed_without_secret_or_corp() -> None:
    with pytest.raises(ValueError, match="app_secret"):
        DingTalkSettings(app_key="k", app_secret="", robot_code="k", corp_id=CORP)
    with pytest.raises(ValueError, match="corp_id"):
        DingTalkSettings(app_key="k", app_secret="s", robot_code="k", corp_id="")
    assert SECRET not in repr(SETTINGS)


# --- decode: golden payloads --------------------------------------------------------------


def test_golden_group_message() -> None:
    assert decode(GOLDEN) == IncomingMessage(
        platform=Platform.DINGTALK,
        chat=GROUP,
        sender=SENDER,
        text="投票 午饭吃什么",
        message_id="msgEXAMPLE0001==",
        received_at=NOW,
        mentions_bot=True,
        mentions=(UserRef(Platform.DINGTALK, CORP, "0456789"),),
        reply_handle=WEBHOOK,
    )


def test_golden_private_message_uses_staff_id_as_chat() -> None:
    payload = with_fields(
        conversationType="1",
        conversationId="cidPRIVATE==",
        atUsers=...,
        isInAtList=False,
        conversationTitle=...,
        text={"content": "我的表决"},
    )
    message = decode(payload)
    assert message.chat == ChatRef(Platform.DINGTALK, CORP, "0123456789", ChatKind.PRIVATE)
    assert message.mentions_bot is True
    assert message.text == "我的表决"
    assert message.mentions == ()


def test_headers_are_case_insensitive() -> None:
    headers = {"Timestamp": TIMESTAMP, "SIGN": SIGN}
    assert decode_callback(headers, body_of(GOLDEN), settings=SETTINGS, now=NOW).text


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (" 投票 午饭吃什么", "投票 午饭吃什么"),
        ("@议事 表决 同意", "表决 同意"),
        ("\uff20议事\u3000表决：同意（第\uff13号）", "表决：同意（第\uff13号）"),
        ("@议事\u2005表决 同意", "表决 同意"),
        ("@议事", ""),
        ("@议事会 名单", "@议事会 名单"),
        ("@议事机器人 开会", "开会"),
        ("表决\u200b 同意", "表决 同意"),
    ],
)
def test_text_is_normalised_and_bot_mention_stripped(content: str, expected: str) -> None:
    settings = DingTalkSettings(
        app_key="k",
        app_secret=SECRET,
        robot_code="k",
        corp_id=CORP,
        bot_names=("议事", "议事机器人"),
    )
    message = decode(with_fields(text={"content": content}), settings=settings)
    assert message.text == expected


def test_mentions_skip_the_bot_entries_without_staff_id_and_duplicates() -> None:
    at_users = [
        {"dingtalkId": "$:LWCP_v1:$botEXAMPLE", "staffId": "bot-staff"},
        {"dingtalkId": "$:LWCP_v1:$a", "staffId": "A1"},
        {"dingtalkId": "$:LWCP_v1:$x"},
        {"dingtalkId": "$:LWCP_v1:$a2", "staffId": "A1"},
        {"staffId": "B2"},
    ]
    message = decode(with_fields(atUsers=at_users))
    assert [m.user_id for m in message.mentions] == ["A1", "B2"]
    assert all(m.name == "" and m.corp_id == CORP for m in message.mentions)


@pytest.mark.parametrize(
    ("content", "names"),
    [
        # each @name typed pairs with the staff ids of atUsers in order
        (" 提议增补 @孙磊 党员，@钱多多 理事", ["孙磊", "钱多多"]),
        (" 提议增补 \uff20孙磊 党员 @钱多多", ["孙磊", "钱多多"]),
        # fewer or more @names than people mentioned, or one typed twice: no name is guessed
        (" 提议增补 @孙磊 党员", ["", ""]),
        (" 提议增补 @孙磊 @钱多多 @赵六", ["", ""]),
        (" 提议增补 @孙磊 @孙磊", ["", ""]),
    ],
)
def test_mentions_are_named_as_typed_when_they_pair_off(content: str, names: list[str]) -> None:
    at_users = [
        {"dingtalkId": "$:LWCP_v1:$botEXAMPLE"},
        {"dingtalkId": "$:LWCP_v1:$a", "staffId": "A1"},
        {"dingtalkId": "$:LWCP_v1:$b", "staffId": "B2"},
    ]
    message = decode(with_fields(atUsers=at_users, text={"content": content}))
    assert [(m.user_id, m.name) for m in message.mentions] == list(
        zip(["A1", "B2"], names, strict=True)
    )


@pytest.mark.parametrize(("in_at_list", "expected"), [(True, True), (False, False), (..., True)])
def test_group_mentions_bot_follows_is_in_at_list(in_at_list: Any, expected: bool) -> None:
    assert decode(with_fields(isInAtList=in_at_list)).mentions_bot is expected


@pytest.mark.parametrize("msgtype", ["picture", "richText", "file", "audio", "video"])
def test_non_text_messages_decode_with_empty_text(msgtype: str) -> None:
    payload = with_fields(msgtype=msgtype, text=..., content={"downloadCode": "x"})
    message = decode(payload)
    assert message.text == ""
    assert message.sender == SENDER


@pytest.mark.parametrize(
    ("changes", "now"),
    [
        ({}, datetime(2026, 1, 1, 2, 50, tzinfo=UTC)),  # exactly at expiry
        ({}, datetime(2026, 1, 1, 2, 51, tzinfo=UTC)),  # after expiry (timestamp still fresh)
        ({"sessionWebhookExpiredTime": ...}, NOW),
        ({"sessionWebhook": ...}, NOW),
        ({"sessionWebhook": "https://evil.example/robot/sendBySession?session=x"}, NOW),
        ({"sessionWebhook": "http://oapi.dingtalk.com/robot/sendBySession?session=x"}, NOW),
        ({"sessionWebhook": WEBHOOK + "\n"}, NOW),
        ({"sessionWebhook": WEBHOOK + " x"}, NOW),
        ({"sessionWebhook": WEBHOOK + "\x7f"}, NOW),
        ({"sessionWebhook": WEBHOOK + "\u00e9"}, NOW),
        ({"sessionWebhook": WEBHOOK + "\u3000"}, NOW),
    ],
)
def test_reply_handle_only_for_a_live_dingtalk_session(
    changes: dict[str, Any], now: datetime
) -> None:
    body = body_of(with_fields(**changes))
    assert decode_callback(signed(now), body, settings=SETTINGS, now=now).reply_handle == ""


def test_session_expiry_may_come_as_digit_string() -> None:
    message = decode(with_fields(sessionWebhookExpiredTime="1767235800000"))
    assert message.reply_handle == WEBHOOK


# --- decode: refusals ---------------------------------------------------------------------

BAD_FIELD_CASES: list[tuple[dict[str, Any], str]] = [
    ({"msgId": ...}, "missing_field:msgId"),
    ({"msgId": ""}, "missing_field:msgId"),
    ({"msgId": 12}, "bad_field:msgId"),
    ({"msgtype": ...}, "missing_field:msgtype"),
    ({"msgtype": ["text"]}, "bad_field:msgtype"),
    ({"text": ...}, "bad_field:text"),
    ({"text": "hi"}, "bad_field:text"),
    ({"text": {}}, "missing_field:text.content"),
    ({"text": {"content": 5}}, "bad_field:content"),
    ({"text": {"content": "\ud800"}}, "bad_field:content"),
    ({"conversationId": ...}, "missing_field:conversationId"),
    ({"conversationId": None}, "missing_field:conversationId"),
    ({"conversationType": "3"}, "bad_field:conversationType"),
    ({"conversationType": 2}, "bad_field:conversationType"),
    ({"senderCorpId": ...}, "missing_field:senderCorpId"),
    ({"chatbotCorpId": False}, "bad_field:chatbotCorpId"),
    ({"senderStaffId": 123}, "bad_field:senderStaffId"),
    ({"senderNick": {}}, "bad_field:senderNick"),
    ({"atUsers": {"staffId": "x"}}, "bad_field:atUsers"),
    ({"atUsers": ["x"]}, "bad_field:atUsers"),
    ({"atUsers": [{"staffId": 7}]}, "bad_field:staffId"),
    ({"isInAtList": "true"}, "bad_field:isInAtList"),
    ({"sessionWebhook": 1}, "bad_field:sessionWebhook"),
    ({"sessionWebhookExpiredTime": True}, "bad_field:sessionWebhookExpiredTime"),
    ({"sessionWebhookExpiredTime": -1}, "bad_field:sessionWebhookExpiredTime"),
    ({"sessionWebhookExpiredTime": 1.5}, "bad_field:sessionWebhookExpiredTime"),
    ({"chatbotUserId": []}, "bad_field:chatbotUserId"),
]


@pytest.mark.parametrize(("changes", "reason"), BAD_FIELD_CASES)
def test_malformed_fields_are_400(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(Rejected) as caught:
        decode(with_fields(**changes))
    assert (caught.value.status, caught.value.reason) == (400, reason)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "bad_json"),
        (b"{", "bad_json"),
        (b"\xff\xfe{}", "bad_json"),
        (b"[1, 2]", "not_an_object"),
        (b'"text"', "not_an_object"),
        (b"null", "not_an_object"),
        (b"[" * 5000 + b"]" * 5000, "bad_json"),
        (b'{"msgId": 1' + b"0" * 5000 + b"}", "bad_json"),
        ('\ufeff{"msgId": "x"}'.encode(), "bad_json"),
    ],
)
def test_unparsable_bodies_are_400(body: bytes, reason: str) -> None:
    with pytest.raises(Rejected) as caught:
        decode_callback(HEADERS, body, settings=SETTINGS, now=NOW)
    assert (caught.value.status, caught.value.reason) == (400, reason)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"sign": SIGN}, "missing_timestamp"),
        ({"timestamp": "", "sign": SIGN}, "bad_timestamp"),
        ({"timestamp": "1767230400000.0", "sign": SIGN}, "bad_timestamp"),
        ({"timestamp": "-1767230400000", "sign": SIGN}, "bad_timestamp"),
        ({"timestamp": "١٧٦٧٢٣٠٤٠٠٠٠٠", "sign": SIGN}, "bad_timestamp"),
        ({"timestamp": "9" * 40, "sign": SIGN}, "bad_timestamp"),
        ({"timestamp": TIMESTAMP}, "missing_sign"),
        ({"timestamp": TIMESTAMP, "sign": ""}, "missing_sign"),
        ({"timestamp": TIMESTAMP, "sign": SIGN[:-2] + "B="}, "bad_sign"),
        ({"timestamp": TIMESTAMP, "sign": SIGN + " "}, "bad_sign"),
        ({"timestamp": TIMESTAMP, "sign": "签名"}, "bad_sign"),
        ({"timestamp": TIMESTAMP, "sign": "\udcff"}, "bad_sign"),
        ({"timestamp": TIMESTAMP, "sign": callback_sign("other-secret", TIMESTAMP)}, "bad_sign"),
        # a genuine sign of another timestamp
        ({"timestamp": TIMESTAMP, "sign": CALLBACK_VECTORS[1][2]}, "bad_sign"),
    ],
)
def test_bad_credentials_are_401(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(Rejected) as caught:
        decode_callback(headers, body_of(GOLDEN), settings=SETTINGS, now=NOW)
    assert (caught.value.status, caught.value.reason) == (401, reason)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"senderCorpId": "dingcorpOTHER"}, "wrong_corp"),
        ({"chatbotCorpId": "dingcorpOTHER"}, "wrong_corp"),
        ({"senderCorpId": CORP.upper()}, "wrong_corp"),
        ({"senderStaffId": ""}, "no_staff_id"),
        ({"senderStaffId": "  "}, "no_staff_id"),
        ({"senderStaffId": ...}, "no_staff_id"),
    ],
)
def test_foreign_corp_and_missing_staff_id_are_403(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(Rejected) as caught:
        decode(with_fields(**changes))
    assert (caught.value.status, caught.value.reason) == (403, reason)


def test_oversized_body_is_413_before_anything_else() -> None:
    body = b"x" * (SETTINGS.max_body_bytes + 1)
    with pytest.raises(Rejected) as caught:
        decode_callback({}, body, settings=SETTINGS, now=NOW)
    assert (caught.value.status, caught.value.reason) == (413, "body_too_large")
    exactly = body_of(GOLDEN).ljust(SETTINGS.max_body_bytes, b" ")
    assert decode_callback(HEADERS, exactly, settings=SETTINGS, now=NOW).message_id


def test_checks_run_in_order() -> None:
    """Stale time wins over a bad sign; a bad sign wins over bad JSON; JSON over corp."""
    stale = NOW + timedelta(hours=2)
    with pytest.raises(Rejected, match="stale_timestamp"):
        decode_callback({**HEADERS, "sign": "bad"}, b"{", settings=SETTINGS, now=stale)
    with pytest.raises(Rejected, match="bad_sign"):
        decode_callback({**HEADERS, "sign": "bad"}, b"{", settings=SETTINGS, now=NOW)
    with pytest.raises(Rejected, match="bad_field:msgId"):
        decode(with_fields(senderCorpId="other", msgId=1))
    with pytest.raises(Rejected, match="wrong_corp"):
        decode(with_fields(senderCorpId="other", senderStaffId=""))


# --- T5: freshness window -----------------------------------------------------------------

WINDOW = timedelta(seconds=SETTINGS.timestamp_window_s)


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (WINDOW - timedelta(seconds=1), True),
        (-(WINDOW - timedelta(seconds=1)), True),
        (WINDOW, True),
        (-WINDOW, True),
        (WINDOW + timedelta(milliseconds=1), False),
        (WINDOW + timedelta(seconds=1), False),
        (-(WINDOW + timedelta(seconds=1)), False),
        (timedelta(days=-365), False),
    ],
)
def test_timestamp_window_edges(offset: timedelta, accepted: bool) -> None:
    """`offset` = header time - server time; positive means the header is in the future."""
    now = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    headers = signed(now + offset)
    body = body_of(with_fields(sessionWebhookExpiredTime=epoch_ms(now) + 1000))
    if accepted:
        assert decode_callback(headers, body, settings=SETTINGS, now=now).received_at == now
    else:
        with pytest.raises(Rejected) as caught:
            decode_callback(headers, body, settings=SETTINGS, now=now)
        expected = "future_timestamp" if offset > timedelta(0) else "stale_timestamp"
        assert (caught.value.status, caught.value.reason) == (401, expected)


def test_window_is_configurable() -> None:
    tight = DingTalkSettings(
        app_key="k", app_secret=SECRET, robot_code="k", corp_id=CORP, timestamp_window_s=300
    )
    now = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    body = body_of(GOLDEN)
    decode_callback(signed(now - timedelta(seconds=299)), body, settings=tight, now=now)
    with pytest.raises(Rejected, match="stale_timestamp"):
        decode_callback(signed(now - timedelta(seconds=301)), body, settings=tight, now=now)


# --- T6: header reuse ---------------------------------------------------------------------


def test_header_binding_keeps_no_credential_and_expires_with_the_window() -> None:
    """The stored binding (rules: storage/header_bindings.py, tests: test_dingtalk_replay.py)
    holds digests only, and lives exactly as long as the codec accepts the pair."""
    body = body_of(GOLDEN)
    bound = header_binding(HEADERS, body, settings=SETTINGS)
    assert SIGN not in bound.pair
    assert TIMESTAMP not in bound.pair
    assert bound.digest == hashlib.sha256(body).hexdigest()
    assert bound.expires_at == datetime.fromtimestamp(int(TIMESTAMP) / 1000, UTC) + timedelta(
        seconds=SETTINGS.timestamp_window_s
    )
    decode_callback(HEADERS, body, settings=SETTINGS, now=bound.expires_at)
    with pytest.raises(Rejected, match="stale_timestamp"):
        decode_callback(
            HEADERS, body, settings=SETTINGS, now=bound.expires_at + timedelta(milliseconds=1)
        )
    other = header_binding(HEADERS, body_of(with_fields(msgId="m2")), settings=SETTINGS)
    assert (other.pair, other.expires_at) == (bound.pair, bound.expires_at)
    assert other.digest != bound.digest


# --- T4/T8: mutations ---------------------------------------------------------------------


def _flip(data: bytes, rng: random.Random) -> bytes:
    index = rng.randrange(len(data))
    return data[:index] + bytes([data[index] ^ (1 << rng.randrange(8))]) + data[index + 1 :]


def _flip_str(text: str, rng: random.Random) -> str:
    return _flip(text.encode("latin-1"), rng).decode("latin-1")


def test_two_thousand_mutated_requests_are_refused_or_harmless() -> None:
    """Header/credential mutations are always refused. The sign does not cover the body, so a
    body mutation under a valid header may decode; then it binds to the same pair with another
    body digest, which the stored header bindings refuse (test_dingtalk_replay.py)."""
    rng = random.Random(20260101)
    original_body = body_of(GOLDEN)
    bound = header_binding(HEADERS, original_body, settings=SETTINGS)

    kinds = [
        "timestamp",
        "sign",
        "body",
        "corp",
        "staff",
        "oversized",
        "json",
        "headers",
        "reuse",
        "type",
    ]
    outcomes: dict[str, dict[str, int]] = {kind: {} for kind in kinds}
    for n in range(2000):
        kind = kinds[n % len(kinds)]
        headers = dict(HEADERS)
        body = original_body
        if kind == "timestamp":
            headers["timestamp"] = _flip_str(TIMESTAMP, rng)
        elif kind == "sign":
            headers["sign"] = _flip_str(SIGN, rng)
        elif kind == "body":
            body = original_body
            for _ in range(rng.randint(1, 3)):
                body = _flip(body, rng)
        elif kind == "corp":
            key = rng.choice(["senderCorpId", "chatbotCorpId"])
            body = body_of(with_fields(**{key: rng.choice(["", "dingcorpOTHER", CORP + "x"])}))
        elif kind == "staff":
            body = body_of(with_fields(senderStaffId=rng.choice(["", " ", ...])))
        elif kind == "oversized":
            body = original_body + b" " * (SETTINGS.max_body_bytes + rng.randint(0, 10_000))
        elif kind == "json":
            cut = rng.randrange(len(original_body))
            junk = bytes(rng.randrange(256) for _ in range(rng.randint(0, 4)))
            body = original_body[:cut] + junk
        elif kind == "headers":
            headers.pop(rng.choice(["timestamp", "sign"]))
        elif kind == "reuse":
            body = body_of(with_fields(msgId=f"new-{n}", senderStaffId=f"s{n}"))
        elif kind == "type":
            key = rng.choice(sorted(GOLDEN))
            body = body_of(with_fields(**{key: rng.choice([None, 0, 1.5, [], {}, True, "x"])}))
        try:
            decode_callback(headers, body, settings=SETTINGS, now=NOW)
        except Rejected as rejected:
            outcome = str(rejected.status)
        else:
            outcome = "accepted"
            assert kind in ("body", "type", "json", "reuse"), f"{kind} mutation accepted: {body!r}"
            mutated = header_binding(headers, body, settings=SETTINGS)
            assert mutated.pair == bound.pair
            assert (mutated.digest == bound.digest) == (body == original_body)
        outcomes[kind][outcome] = outcomes[kind].get(outcome, 0) + 1

    for kind in ("timestamp", "sign", "headers"):
        assert set(outcomes[kind]) == {"401"}, (kind, outcomes[kind])
    assert set(outcomes["reuse"]) == {"accepted"}
    assert set(outcomes["corp"]) <= {"400", "403"}
    assert "403" in outcomes["corp"]
    assert set(outcomes["staff"]) == {"403"}
    assert set(outcomes["oversized"]) == {"413"}


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None, database=None)
@given(
    changes=st.dictionaries(
        st.sampled_from([*sorted(GOLDEN), "text.content", "atUsers.0"]), JSON_VALUES, max_size=4
    )
)
def test_any_signed_field_values_give_a_message_or_rejected(changes: dict[str, Any]) -> None:
    payload = copy.deepcopy(GOLDEN)
    for key, value in changes.items():
        if key == "text.content":
            payload["text"] = {"content": value}
        elif key == "atUsers.0":
            payload["atUsers"] = [value]
        else:
            payload[key] = value
    try:
        message: IncomingMessage | Rejected = decode(payload)
    except Rejected as rejected:
        message = rejected
    if isinstance(message, Rejected):
        assert message.status in (400, 403)
    else:
        assert isinstance(message.text, str)
        assert message.sender.user_id.strip()


@settings(max_examples=300, deadline=None, database=None)
@given(body=st.binary(max_size=2048))
def test_arbitrary_signed_bytes_are_rejected(body: bytes) -> None:
    with pytest.raises(Rejected):
        decode_callback(HEADERS, body, settings=SETTINGS, now=NOW)


# --- encoders -----------------------------------------------------------------------------

LI = UserRef(Platform.DINGTALK, CORP, "0456789", "李四")
WANG = UserRef(Platform.DINGTALK, CORP, "0999", "王五")


def test_encode_reply_puts_staff_ids_in_at_and_in_the_text() -> None:
    message = OutgoingMessage(
        chat=GROUP, text="@李四 请对第1号议案表决", mentions=(LI, WANG), reply_handle=WEBHOOK
    )
    assert encode_reply(message) == {
        "msgtype": "text",
        "text": {"content": "@0999 @0456789 请对第1号议案表决"},
        "at": {"atUserIds": ["0456789", "0999"], "atMobiles": [], "isAtAll": False},
    }


def test_encode_reply_plain_and_multiline_stays_text() -> None:
    body = encode_reply(OutgoingMessage(chat=GROUP, text="第一行\n# 第二行 *不是* markdown"))
    assert body["msgtype"] == "text"
    assert body["text"] == {"content": "第一行\n# 第二行 *不是* markdown"}
    assert body["at"] == {"atUserIds": [], "atMobiles": [], "isAtAll": False}


def test_encode_reply_handles_prefix_names_and_existing_tokens() -> None:
    zhang = UserRef(Platform.DINGTALK, CORP, "01", "张三")
    zhang_feng = UserRef(Platform.DINGTALK, CORP, "02", "张三丰")
    text = "@张三丰 与 @张三 请发言，@012 另有其人"
    body = encode_reply(OutgoingMessage(chat=GROUP, text=text, mentions=(zhang, zhang_feng)))
    assert body["text"] == {"content": "@02 与 @01 请发言，@012 另有其人"}
    assert body["at"]["atUserIds"] == ["01", "02"]  # type: ignore[index]


def test_encode_reply_refuses_private_messages_into_a_group() -> None:
    secret = OutgoingMessage(chat=GROUP, text="您的选票已记录", private_to=SENDER)
    with pytest.raises(ValueError, match="private"):
        encode_reply(secret)
    with pytest.raises(ValueError, match="private"):
        encode_group_send(secret, robot_code="r")
    private_chat = ChatRef(Platform.DINGTALK, CORP, SENDER.user_id, ChatKind.PRIVATE)
    assert encode_reply(OutgoingMessage(chat=private_chat, text="ok", private_to=SENDER))


def test_encode_refuses_other_platforms() -> None:
    wecom = ChatRef(Platform.WECOM, "ww1", "chat")
    with pytest.raises(ValueError, match="DingTalk"):
        encode_reply(OutgoingMessage(chat=wecom, text="x"))
    with pytest.raises(ValueError, match="mention"):
        encode_reply(
            OutgoingMessage(chat=GROUP, text="x", mentions=(UserRef(Platform.WECOM, "ww1", "u"),))
        )


def test_encode_group_send_writes_names_out_and_msg_param_is_a_string() -> None:
    message = OutgoingMessage(chat=GROUP, text="@李四 明天 9:00 开会", mentions=(LI, WANG))
    body = encode_group_send(message, robot_code="dingEXAMPLEappkey")
    assert set(body) == {"robotCode", "openConversationId", "msgKey", "msgParam"}
    assert body["robotCode"] == "dingEXAMPLEappkey"
    assert body["openConversationId"] == GROUP.chat_id
    assert body["msgKey"] == "sampleText"
    assert isinstance(body["msgParam"], str)
    assert json.loads(body["msgParam"]) == {"content": "@王五 @李四 明天 9:00 开会"}


def test_msg_param_limit_is_15000_utf8_bytes() -> None:
    overhead = len(json.dumps({"content": ""}).encode())
    fits = "表" * ((GROUP_SEND_MAX_PARAM_BYTES - overhead) // 3)
    body = encode_group_send(OutgoingMessage(chat=GROUP, text=fits), robot_code="r")
    assert len(str(body["msgParam"]).encode()) <= GROUP_SEND_MAX_PARAM_BYTES
    with pytest.raises(MessageTooLarge):
        encode_group_send(OutgoingMessage(chat=GROUP, text=fits + "表"), robot_code="r")
    with pytest.raises(MessageTooLarge):
        encode_reply(OutgoingMessage(chat=GROUP, text="表" * 7000))


def test_encode_group_send_needs_a_group() -> None:
    private_chat = ChatRef(Platform.DINGTALK, CORP, "0123", ChatKind.PRIVATE)
    with pytest.raises(ValueError, match="group"):
        encode_group_send(OutgoingMessage(chat=private_chat, text="x"), robot_code="r")


def test_encode_private_send() -> None:
    secret = OutgoingMessage(chat=GROUP, text="您的选票已记录，回执 7F3A", private_to=SENDER)
    body = encode_private_send(secret, robot_code="r")
    assert body == {
        "robotCode": "r",
        "userIds": ["0123456789"],
        "msgKey": "sampleText",
        "msgParam": json.dumps({"content": "您的选票已记录，回执 7F3A"}, ensure_ascii=False),
    }
    private_chat = ChatRef(Platform.DINGTALK, CORP, "0777", ChatKind.PRIVATE)
    assert encode_private_send(OutgoingMessage(chat=private_chat, text="x"), robot_code="r")[
        "userIds"
    ] == ["0777"]
    with pytest.raises(ValueError, match="private"):
        encode_private_send(OutgoingMessage(chat=GROUP, text="x"), robot_code="r")


# --- Stream -------------------------------------------------------------------------------


def test_stream_callback_round_trip() -> None:
    raw = stream_frame(GOLDEN, message_id="212ca9d7_974", now=NOW)
    frame = decode_stream_frame(raw)
    assert frame.type == "CALLBACK"
    assert frame.topic == ROBOT_MESSAGE_TOPIC
    assert frame.message_id == "212ca9d7_974"
    assert json.loads(frame.data) == GOLDEN
    assert decode_stream_callback(frame, settings=SETTINGS, now=NOW) == decode(GOLDEN)
    ack = json.loads(encode_stream_ack(frame))
    assert ack == {
        "code": 200,
        "headers": {"contentType": "application/json", "messageId": "212ca9d7_974"},
        "message": "OK",
        "data": '{"response": null}',
    }
    assert json.loads(ack["data"]) == {"response": None}
    assert decode_stream_frame(raw.encode()) == frame


def test_stream_ping_ack_echoes_the_opaque() -> None:
    raw = json.dumps(
        {
            "specVersion": "1.0",
            "type": "SYSTEM",
            "headers": {
                "messageId": "ping_001",
                "topic": "ping",
                "contentType": "application/json",
            },
            "data": '{"opaque": "opaque-123"}',
        }
    )
    ack = json.loads(encode_stream_ack(decode_stream_frame(raw)))
    assert ack["headers"]["messageId"] == "ping_001"
    assert json.loads(ack["data"]) == {"opaque": "opaque-123"}


def test_stream_event_ack_and_explicit_data() -> None:
    frame = StreamFrame("EVENT", {"messageId": "e1", "topic": "chat_update"}, "{}")
    assert json.loads(json.loads(encode_stream_ack(frame))["data"])["status"] == "SUCCESS"
    later = json.loads(encode_stream_ack(frame, status=500, message="busy"))
    assert later["code"] == 500
    assert json.loads(later["data"]) == {"status": "LATER", "message": "busy"}
    custom = json.loads(encode_stream_ack(frame, data='{"x": 1}'))
    assert custom["data"] == '{"x": 1}'


def test_stream_frame_keeps_extension_headers_as_strings() -> None:
    raw = json.dumps(
        {
            "type": "EVENT",
            "headers": {
                "messageId": "m",
                "topic": "t",
                "eventBornTime": 17,
                "flag": True,
                "n": None,
            },
            "data": "{}",
        }
    )
    assert decode_stream_frame(raw).headers == {
        "messageId": "m",
        "topic": "t",
        "eventBornTime": "17",
        "flag": "true",
    }


@pytest.mark.parametrize(
    ("raw", "status", "reason"),
    [
        ("", 400, "bad_json"),
        (b"\xff", 400, "bad_json"),
        ("[]", 400, "not_an_object"),
        ('{"type": "PUSH", "headers": {}}', 400, "bad_field:type"),
        ('{"type": 1, "headers": {}}', 400, "bad_field:type"),
        ('{"type": "CALLBACK", "headers": []}', 400, "bad_field:headers"),
        ('{"type": "CALLBACK", "headers": {"topic": "t"}}', 400, "missing_field:messageId"),
        ('{"type": "CALLBACK", "headers": {"messageId": "m"}}', 400, "missing_field:topic"),
        (
            '{"type": "CALLBACK", "headers": {"messageId": "m", "topic": "t"}, "data": {}}',
            400,
            "bad_field:data",
        ),
        ("x" * 70_000, 413, "frame_too_large"),
    ],
)
def test_malformed_stream_frames(raw: str | bytes, status: int, reason: str) -> None:
    with pytest.raises(Rejected) as caught:
        decode_stream_frame(raw)
    assert (caught.value.status, caught.value.reason) == (status, reason)


@pytest.mark.parametrize(
    ("frame", "status", "reason"),
    [
        (StreamFrame("EVENT", {"messageId": "m", "topic": ROBOT_MESSAGE_TOPIC}, "{}"), 400, "not_a_callback"),
        (StreamFrame("CALLBACK", {"messageId": "m", "topic": "/v1.0/card/instances/callback"}, "{}"), 400, "wrong_topic"),
        (StreamFrame("CALLBACK", {"messageId": "m", "topic": ROBOT_MESSAGE_TOPIC}, "{"), 400, "bad_json"),
        (StreamFrame("CALLBACK", {"messageId": "m", "topic": ROBOT_MESSAGE_TOPIC}, " " * 20_000), 413, "body_too_large"),
        (StreamFrame("CALLBACK", {"messageId": "m", "topic": ROBOT_MESSAGE_TOPIC}, json.dumps(with_fields(senderCorpId="x"))), 403, "wrong_corp"),
        (StreamFrame("CALLBACK", {"messageId": "m", "topic": ROBOT_MESSAGE_TOPIC}, json.dumps(with_fields(senderStaffId=""))), 403, "no_staff_id"),
    ],
)  # fmt: skip
def test_stream_callback_refusals(frame: StreamFrame, status: int, reason: str) -> None:
    with pytest.raises(Rejected) as caught:
        decode_stream_callback(frame, settings=SETTINGS, now=NOW)
    assert (caught.value.status, caught.value.reason) == (status, reason)


def test_stream_callback_needs_no_header_sign_but_reply_expiry_still_applies() -> None:
    frame = decode_stream_frame(stream_frame(GOLDEN))
    late = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)  # long after the header window and session
    message = decode_stream_callback(frame, settings=SETTINGS, now=late)
    assert message.reply_handle == ""
    assert message.received_at == late
