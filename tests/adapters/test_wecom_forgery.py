"""Acceptance 3: 10,000 mutated or forged WeCom callbacks against the real app -> every one
rejected quickly with a 4xx, not one database row written, never a 500 (SQLite and PostgreSQL).

Mutations: bit flips in the ciphertext, signature, timestamp and nonce; stale and future
timestamps (validly signed: replays); a foreign AES key, a foreign corp, a foreign bot, a
foreign receive id; a forged message for an unbound chat; XML with DOCTYPE and entities;
oversized bodies; deeply nested JSON (outside and, validly encrypted, inside); garbage
ciphertext; missing and malformed parameters. The group is bound and the forged text would
convene a meeting, so any forgery that got through would write rows.

An *authentic* message from an unbound chat is not a forgery: the router answers it with a
short explanation and writes at most its processed-message row (de-duplication); that is
checked separately below."""

from __future__ import annotations

import base64
import json
import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from tortoise import connections

from bot.adapters.wecom.codec import WeComSettings
from bot.clock import ManualClock
from storage import db
from tests.kit.clock import TZ
from tests.kit.databases import TABLES
from tests.kit.seed import WECOM_ADMIN
from tests.kit.wecom.payloads import (
    DEFAULT_CHAT_ID,
    encrypt_raw,
    encrypt_text,
    frame,
    make_callback,
    sign,
    sign_request,
    text_payload,
    timestamp_of,
)
from tests.kit.wecom.rig import RIG_BOT_NAME, WeComRig, open_rig

TOTAL = 10_000
CONVENE = f"@{RIG_BOT_NAME} 召开会议 2026-12-05 15:00 会议室 议题：伪造的会议"
OTHER_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


async def count_rows(database: str) -> dict[str, int]:
    conn = connections.get(db.connection_name(database))
    out = {}
    for table in TABLES:
        _, rows = await conn.execute_query(f"SELECT COUNT(*) FROM {table}")
        first = rows[0]
        out[table] = int(next(iter(first.values())) if isinstance(first, dict) else first[0])
    return out


Request = tuple[dict[str, str], bytes]


def _flip_b64(text: str, rng: random.Random) -> str:
    raw = bytearray(base64.b64decode(text))
    i = rng.randrange(len(raw))
    raw[i] ^= 1 << rng.randrange(8)
    return base64.b64encode(bytes(raw)).decode()


def _flip_char(text: str, rng: random.Random, alphabet: str) -> str:
    i = rng.randrange(len(text))
    choices = [c for c in alphabet if c != text[i]]
    return text[:i] + rng.choice(choices) + text[i + 1 :]


def forgeries(
    settings: WeComSettings, now: datetime, rng: random.Random
) -> list[Callable[[], Request]]:
    """One builder per kind of forgery; each call returns a fresh mutated request."""

    def valid(**over: object) -> Request:
        payload = text_payload(settings, CONVENE, userid="zhangwei", msgid=f"f{rng.random()}")
        payload.update(over)
        return make_callback(settings, payload, now=now)

    def body_of(encrypt: str) -> bytes:
        return json.dumps({"encrypt": encrypt}).encode()

    def flip_cipher() -> Request:
        params, body = valid()
        encrypt = json.loads(body)["encrypt"]
        return params, body_of(_flip_b64(encrypt, rng))

    def flip_cipher_resigned() -> Request:  # a forger re-signs, but cannot know the token
        params, body = valid()
        encrypt = _flip_b64(json.loads(body)["encrypt"], rng)
        ts, nonce = params["timestamp"], params["nonce"]
        params["msg_signature"] = sign("guessed-token", ts, nonce, encrypt)
        return params, body_of(encrypt)

    def flip_signature() -> Request:
        params, body = valid()
        params["msg_signature"] = _flip_char(params["msg_signature"], rng, "0123456789abcdef")
        return params, body

    def flip_timestamp() -> Request:
        params, body = valid()
        params["timestamp"] = str(
            int(params["timestamp"]) + rng.choice([-1, 1]) * rng.randint(1, 250)
        )
        return params, body

    def flip_nonce() -> Request:
        params, body = valid()
        params["nonce"] = _flip_char(params["nonce"], rng, "0123456789abcdef")
        return params, body

    def replay_stale() -> Request:
        old = now - timedelta(seconds=rng.randint(301, 10**7))
        payload = text_payload(settings, CONVENE, userid="zhangwei")
        return make_callback(settings, payload, now=old)

    def replay_future() -> Request:
        later = now + timedelta(seconds=rng.randint(301, 10**7))
        payload = text_payload(settings, CONVENE, userid="zhangwei")
        return make_callback(settings, payload, now=later)

    foreign_key = WeComSettings(
        token=settings.token,
        encoding_aes_key=OTHER_KEY,
        corp_id=settings.corp_id,
        bot_id=settings.bot_id,
        api_base=settings.api_base,
    )

    def wrong_key() -> Request:
        encrypt = encrypt_text(foreign_key, json.dumps(text_payload(settings, CONVENE)))
        return sign_request(settings, encrypt, now=now), body_of(encrypt)

    def wrong_corp() -> Request:
        return valid(**{"from": {"userid": "zhangwei", "corpid": "wwFOREIGNcorp"}})

    def wrong_bot() -> Request:
        return valid(aibotid="aibFOREIGN")

    def foreign_receive_id() -> Request:
        text = json.dumps(text_payload(settings, CONVENE)).encode()
        encrypt = encrypt_raw(settings, frame(text, receive_id=b"wwFOREIGNcorp"))
        return sign_request(settings, encrypt, now=now), body_of(encrypt)

    def unbound_chat_forged() -> Request:
        payload = text_payload(settings, CONVENE, chatid="wrkUNBOUNDchat")
        encrypt = encrypt_text(settings, json.dumps(payload))
        ts, nonce = timestamp_of(now), "n" + str(rng.randint(0, 10**9))
        params = {
            "msg_signature": sign("guessed", ts, nonce, encrypt),
            "timestamp": ts,
            "nonce": nonce,
        }
        return params, body_of(encrypt)

    def xml_entities() -> Request:
        bomb = (
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
            + "".join(f'<!ENTITY a{i} "' + f"&a{i - 1};" * 10 + '">' for i in range(1, 10)).replace(
                "&a0;", "&a;"
            )
            + "]><xml><Encrypt>&a9;</Encrypt></xml>"
        )
        params, _ = valid()
        return params, bomb.encode()

    def xml_xxe() -> Request:
        params, _ = valid()
        body = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>'
        return params, body.encode()

    def oversized() -> Request:
        params, body = valid()
        return params, body + b" " * rng.randint(64 * 1024, 200 * 1024)

    def deep_outside() -> Request:
        params, _ = valid()
        depth = rng.randint(5_000, 30_000)
        return params, ('{"encrypt":' + "[" * depth + "]" * depth + "}").encode()

    def deep_inside() -> Request:  # authentic envelope, hostile plaintext
        depth = rng.randint(2_000, 10_000)
        encrypt = encrypt_text(settings, "[" * depth + "]" * depth)
        return sign_request(settings, encrypt, now=now), body_of(encrypt)

    def garbage_cipher() -> Request:
        encrypt = base64.b64encode(rng.randbytes(rng.choice([16, 32, 48, 64, 96]))).decode()
        return sign_request(settings, encrypt, now=now), body_of(encrypt)

    def bad_params() -> Request:
        params, body = valid()
        match rng.randrange(4):
            case 0:
                del params[rng.choice(list(params))]
            case 1:
                params["timestamp"] = rng.choice(["", "-1", "1e9", "abc", "9" * 20])
            case 2:
                params["msg_signature"] = params["msg_signature"].upper()
            case _:
                params["nonce"] = "a b"
        return params, body

    return [
        flip_cipher,
        flip_cipher_resigned,
        flip_signature,
        flip_timestamp,
        flip_nonce,
        replay_stale,
        replay_future,
        wrong_key,
        wrong_corp,
        wrong_bot,
        foreign_receive_id,
        unbound_chat_forged,
        xml_entities,
        xml_xxe,
        oversized,
        deep_outside,
        deep_inside,
        garbage_cipher,
        bad_params,
    ]


EXPECTED = {
    "flip_cipher": {401},
    "flip_cipher_resigned": {401},
    "flip_signature": {401},
    "flip_timestamp": {401},
    "flip_nonce": {401},
    "replay_stale": {401},
    "replay_future": {401},
    "wrong_key": {400},
    "wrong_corp": {403},
    "wrong_bot": {403},
    "foreign_receive_id": {403},
    "unbound_chat_forged": {401},
    "xml_entities": {400},
    "xml_xxe": {400},
    "oversized": {413},
    "deep_outside": {400},
    "deep_inside": {400},
    "garbage_cipher": {400},
    "bad_params": {400, 401},
}


async def test_ten_thousand_forgeries_rejected_without_a_write(database: str) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    rng = random.Random(20261201)
    async with open_rig(clock) as (rig, _):
        assert "已绑定" in (await rig.say(WECOM_ADMIN, "绑定学会 苏州市示例科技学会")).text
        builders = forgeries(rig.settings, clock.now(), rng)
        requests = [(b.__name__, b()) for b in (builders[i % len(builders)] for i in range(TOTAL))]
        before = await count_rows(database)
        statuses: Counter[tuple[str, int]] = Counter()
        for kind, (params, body) in requests:
            async with rig.client.post("/wecom/callback", params=params, data=body) as resp:
                await resp.read()
                status = resp.status
            statuses[(kind, status)] += 1
        after = await count_rows(database)
        assert after == before, {t: after[t] - before[t] for t in TABLES if after[t] != before[t]}
        assert sum(statuses.values()) == TOTAL
        assert all(400 <= status < 500 for _, status in statuses), statuses
        by_kind: dict[str, set[int]] = {}
        for kind, status in statuses:
            by_kind.setdefault(kind, set()).add(status)
        assert by_kind == EXPECTED, by_kind
        # The same request unmutated is accepted: the forgeries would have written rows.
        ok = await rig.say("zhangwei", "召开会议 2026-12-05 15:00 会议室 议题：真的会议")
        assert "【会议通知】" in ok.text
        assert (await count_rows(database))["meeting"] == before["meeting"] + 1


async def test_authentic_message_from_an_unbound_chat_changes_nothing_but_dedupe(
    database: str,
) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    async with open_rig(clock) as (rig, _):
        before = await count_rows(database)
        answer = await rig.say(
            "zhangwei", "召开会议 2026-12-05 15:00 会议室 议题：某事", chatid="wrkUNBOUND"
        )
        assert answer.status == 200
        assert "还没有绑定学会" in answer.text
        after = await count_rows(database)
        changed = {t: after[t] - before[t] for t in TABLES if after[t] != before[t]}
        # The router writes at most the message's de-duplication row, nothing else.
        assert changed in ({}, {"processed_message": 1}), changed
        assert DEFAULT_CHAT_ID != "wrkUNBOUND"
        assert isinstance(rig, WeComRig)
