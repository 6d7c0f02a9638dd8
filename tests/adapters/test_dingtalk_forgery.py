"""Acceptance: 10,000 mutated or forged HTTP callbacks against the real app -> every one
refused with a 4xx (the unbound group: the explanation reply), no database write, no 5xx.
On SQLite and PostgreSQL.

Categories (seeded RNG, so a failure reproduces): bit flips in the body, the timestamp and the
sign of genuine callbacks; a wrong corp (sender or robot); an empty staff id; an unbound group;
stale and future timestamps correctly signed; a captured header pair reused with another msgId
(and with the same msgId but another body); oversized and malformed bodies.

A message from an unbound group is authentic: it is answered with an explanation, and nothing
is written for it (not even its msgId), so every table keeps its row count."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from tortoise import Tortoise

from bot.adapters.dingtalk.codec import callback_sign, epoch_ms
from bot.clock import ManualClock
from tests.kit.clock import TZ
from tests.kit.dingtalk.payloads import robot_payload
from tests.kit.dingtalk.rig import DingTalkRig, running_bot
from tests.kit.dingtalk.server import FakeDingTalk
from tests.kit.seed import seed_dingtalk_society

GROUP = "cidFORGERYgroup0001=="
UNBOUND = "cidNOTBOUND"
TOTAL = 10_000
PRINTABLE = [chr(c) for c in range(0x21, 0x7F)]

Forgery = tuple[str, dict[str, str], bytes]  # category, headers, body


async def row_counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    for app in Tortoise.apps.values():
        for name, model in app.items():
            counts[name] = await model.all().count()
    return counts


def flip_bit(data: bytes, rng: random.Random) -> bytes:
    index = rng.randrange(len(data))
    mutated = bytearray(data)
    mutated[index] ^= 1 << rng.randrange(8)
    return bytes(mutated)


def flip_header(value: str, rng: random.Random) -> str:
    """A changed character that is still a legal header value (what a client can send)."""
    index = rng.randrange(len(value))
    while True:
        new = chr(ord(value[index]) ^ (1 << rng.randrange(7)))
        if new in PRINTABLE and new != value[index]:
            return value[:index] + new + value[index + 1 :]


class Forger:
    def __init__(self, rig: DingTalkRig, staff: dict[str, str], rng: random.Random) -> None:
        self.rig = rig
        self.staff = staff
        self.rng = rng
        self.serial = 0
        self.genuine: list[tuple[dict[str, str], bytes]] = []

    def headers(self, at: datetime) -> dict[str, str]:
        timestamp = str(epoch_ms(at))
        return {
            "Content-Type": "application/json; charset=utf-8",
            "timestamp": timestamp,
            "sign": callback_sign(self.rig.codec.app_secret, timestamp),
        }

    def fresh(self) -> datetime:
        """A timestamp no genuine message used: 1 ms later each time (within the window)."""
        self.serial += 1
        return self.rig.clock.now() - timedelta(minutes=30) + timedelta(milliseconds=self.serial)

    def payload(self, **overrides: Any) -> dict[str, Any]:
        self.serial += 1
        name = self.rng.choice(list(self.staff))
        fields: dict[str, Any] = {
            "text": self.rng.choice(["赞成", "签到", "召开会议 明天下午3点 会议室", "计票"]),
            "staff_id": self.staff[name],
            "conversation_id": GROUP,
            "msg_id": f"forged-{self.serial}",
            "now": self.rig.clock.now(),
            "nick": name,
        }
        fields.update(overrides)
        return robot_payload(self.rig.codec, **fields)

    @staticmethod
    def body(payload: Any) -> bytes:
        return json.dumps(payload, ensure_ascii=False).encode()

    # --- the categories -------------------------------------------------------------------

    def body_flip(self) -> Forgery:
        headers, body = self.rng.choice(self.genuine)
        return "body_flip", headers, flip_bit(body, self.rng)

    def timestamp_flip(self) -> Forgery:
        headers, body = self.rng.choice(self.genuine)
        return (
            "timestamp_flip",
            {**headers, "timestamp": flip_header(headers["timestamp"], self.rng)},
            body,
        )

    def sign_flip(self) -> Forgery:
        headers, body = self.rng.choice(self.genuine)
        return "sign_flip", {**headers, "sign": flip_header(headers["sign"], self.rng)}, body

    def wrong_corp(self) -> Forgery:
        payload = self.payload()
        payload[self.rng.choice(["senderCorpId", "chatbotCorpId"])] = "dingcorpOTHER"
        return "wrong_corp", self.headers(self.fresh()), self.body(payload)

    def empty_staff_id(self) -> Forgery:
        payload = self.payload()
        if self.rng.random() < 0.5:
            payload["senderStaffId"] = self.rng.choice(["", " ", "\u3000"])
        else:
            del payload["senderStaffId"]
        return "empty_staff_id", self.headers(self.fresh()), self.body(payload)

    def unbound_group(self) -> Forgery:
        self.serial += 1
        webhook, expires = self.rig.fake.open_session(
            UNBOUND, f"u{self.serial}", self.rig.clock.now()
        )
        payload = self.payload(
            conversation_id=UNBOUND,
            text="召开会议 明天下午3点 会议室",
            session_webhook=webhook,
            session_expires_at=expires,
        )
        return "unbound_group", self.headers(self.fresh()), self.body(payload)

    def stale(self) -> Forgery:
        offset = timedelta(seconds=3600, milliseconds=self.rng.randrange(1, 10**9))
        return "stale", self.headers(self.rig.clock.now() - offset), self.body(self.payload())

    def future(self) -> Forgery:
        offset = timedelta(seconds=3600, milliseconds=self.rng.randrange(1, 10**9))
        return "future", self.headers(self.rig.clock.now() + offset), self.body(self.payload())

    def header_reuse(self) -> Forgery:
        headers, body = self.rng.choice(self.genuine)
        original = json.loads(body)
        payload = self.payload(staff_id=original["senderStaffId"])
        if self.rng.random() < 0.5:
            payload["msgId"] = original["msgId"]  # same msgId, another command
        return "header_reuse", headers, self.body(payload)

    def oversized(self) -> Forgery:
        payload = self.payload(text="赞成" + "很" * self.rng.randrange(9_000, 40_000))
        return "oversized", self.headers(self.fresh()), self.body(payload)

    def malformed(self) -> Forgery:
        choices: list[Callable[[], bytes]] = [
            lambda: b"",
            lambda: b"not json",
            lambda: b"[1, 2, 3]",
            lambda: b'"a string"',
            lambda: b"\xff\xfe\x00{}",
            lambda: b"[" * 5000 + b"]" * 5000,
            lambda: b'{"msgtype": "text"}',
            lambda: self.body({**self.payload(), "conversationType": "3"}),
            lambda: self.body({**self.payload(), "text": "赞成"}),
            lambda: self.body({**self.payload(), "atUsers": {"x": 1}}),
            lambda: self.body({**self.payload(), "msgId": 42}),
            lambda: self.body({**self.payload(), "senderStaffId": ["a"]}),
            lambda: json.dumps({**self.payload(), "senderNick": "\ud800"}).encode(),
            lambda: self.body(self.payload())[:-7],
        ]
        return "malformed", self.headers(self.fresh()), self.rng.choice(choices)()

    def all(self, count: int) -> list[Forgery]:
        kinds = [
            self.body_flip,
            self.timestamp_flip,
            self.sign_flip,
            self.wrong_corp,
            self.empty_staff_id,
            self.stale,
            self.future,
            self.header_reuse,
            self.oversized,
            self.malformed,
        ]
        forged = [kinds[i % len(kinds)]() for i in range(count - 200)]
        forged += [self.unbound_group() for _ in range(200)]
        self.rng.shuffle(forged)
        return forged


async def test_10000_forged_requests_change_nothing(database: str) -> None:
    clock = ManualClock(datetime(2026, 12, 5, 15, 0, tzinfo=TZ))
    rng = random.Random(20261130)
    async with (
        FakeDingTalk(clock=clock.now) as fake,
        running_bot(fake, clock, card_template_id="") as rig,
    ):
        staff = await seed_dingtalk_society(fake.corp_id, 1, clock.now(), group_id=GROUP)
        forger = Forger(rig, staff, rng)
        # Genuine callbacks whose headers and bodies the forger then mutates and replays.
        for n in range(20):
            clock.advance(timedelta(milliseconds=1))
            headers = forger.headers(clock.now())
            body = forger.body(forger.payload(text="计票", msg_id=f"genuine-{n}"))
            response = await rig.client.post(rig.path, data=body, headers=headers)
            assert response.status == 200
            forger.genuine.append((headers, body))
        # Past the window in which a pair may carry other genuine messages of its millisecond.
        clock.advance(timedelta(seconds=rig.adapter.cfg.header_sibling_window_s + 1))
        await rig.adapter.tasks.flush()
        before = await row_counts()
        sessions_before = len(fake.recorded["session"])
        others_before = len(fake.recorded["group_send"]) + len(fake.recorded["private_send"])

        forged = forger.all(TOTAL)
        assert len(forged) == TOTAL
        statuses: Counter[tuple[str, int]] = Counter()
        gate = asyncio.Semaphore(32)

        async def send(category: str, headers: dict[str, str], body: bytes) -> None:
            async with gate:
                response = await rig.client.post(rig.path, data=body, headers=headers)
                await response.read()
                statuses[(category, response.status)] += 1

        await asyncio.gather(*(send(*f) for f in forged))
        await rig.adapter.tasks.flush(30)
        after = await row_counts()

    assert sum(statuses.values()) == TOTAL
    assert not [k for k in statuses if k[1] >= 500], statuses
    accepted = {k: v for k, v in statuses.items() if k[1] < 300}
    assert accepted == {("unbound_group", 200): 200}, statuses
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    # Only the accepted callbacks' header pairs were bound: nothing else was written.
    assert changed == {"HeaderBinding": (20, 220)}
    # Each category was refused with the status its check gives.
    expected = {
        "timestamp_flip": {401},
        "sign_flip": {401},
        "wrong_corp": {403},
        "empty_staff_id": {403},
        "stale": {401},
        "future": {401},
        "header_reuse": {401},
        "oversized": {413},
        "malformed": {400},
        "body_flip": {400, 401, 403},
    }
    for (category, status), _ in statuses.items():
        if category != "unbound_group":
            assert status in expected[category], (category, status)
    # The unbound group got the explanation, and nothing else was said anywhere.
    replies = fake.recorded["session"][sessions_before:]
    assert len(replies) == 200
    assert all("还没有绑定学会" in c.text for c in replies)
    assert len(fake.recorded["group_send"]) + len(fake.recorded["private_send"]) == others_before
