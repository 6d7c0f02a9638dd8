"""Acceptance 4: the AI bot's long connection against the fake WeCom WebSocket: subscribe,
heartbeat, reconnect after a drop or dead heartbeats, replies with the inbound req_id,
proactive aibot_send_msg, and the database lease: two instances on one database (SQLite and
PostgreSQL), one holds the connection, the other stands by and takes over when the holder dies
or lets go. The fake counts concurrently subscribed connections: never more than one."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest

from bot.adapters.base import SendError
from bot.adapters.wecom.adapter import WeComAdapter, build_wecom_adapter
from bot.adapters.wecom.ws import WsTiming, backoff_delay
from bot.clock import ManualClock
from bot.events import ChatKind, ChatRef, IncomingMessage, OutgoingMessage, Platform, UserRef
from storage import lease
from tests.kit.clock import TZ
from tests.kit.seed import WECOM_ADMIN, WECOM_CORP, seed_wecom_society
from tests.kit.wecom.payloads import DEFAULT_CHAT_ID, card_event_payload, text_payload
from tests.kit.wecom.rig import (
    RIG_BOT_ID,
    open_bot,
    open_fake,
    rig_config,
    rig_settings,
    stored_ports,
)
from tests.kit.wecom.server import FakeWeCom

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
FAST = WsTiming(
    heartbeat_s=0.05,
    missed_pings=2,
    ack_timeout_s=0.5,
    connect_timeout_s=2.0,
    lease_ttl_s=30.0,
    renew_s=0.05,
    standby_poll_s=0.02,
    backoff_base_s=0.01,
    backoff_cap_s=0.05,
)
LC = {"mode": "long_connection", "bot_secret": "bot-secret"}
LEASE = f"lease:wecom:{RIG_BOT_ID}"


async def echo(message: IncomingMessage) -> list[OutgoingMessage]:
    return [OutgoingMessage(chat=message.chat, text=f"收到：{message.text}")]


def make(clock: ManualClock, base: str, owner: str, **overrides: Any) -> WeComAdapter:
    cfg = rig_config(base, **{**LC, **overrides})
    return build_wecom_adapter(
        cfg, clock, **stored_ports(), ws_timing=FAST, rng=random.Random(7), owner=owner
    )


async def until(predicate: Any, within: float = 5.0) -> None:
    """Wait for client-side state (bounded), yielding to the loop in between."""
    async with asyncio.timeout(within):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def running(adapter: WeComAdapter) -> AsyncIterator[WeComAdapter]:
    await adapter.start(echo)
    try:
        yield adapter
    finally:
        await adapter.close()


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    timing = WsTiming(backoff_base_s=1, backoff_cap_s=30)
    rng = random.Random(1)
    delays = [backoff_delay(n, timing, rng) for n in range(1, 10)]
    assert all(
        0.5 * min(30, 2 ** (n - 1)) <= d <= min(30, 2 ** (n - 1)) for n, d in enumerate(delays, 1)
    )
    assert max(delays) <= 30


async def test_subscribe_heartbeat_reply_and_reconnect(database: str) -> None:
    clock = ManualClock(T0)
    async with open_fake(clock) as (fake, base), running(make(clock, base, "one")) as adapter:
        await fake.wait_until(lambda: fake.connected())
        sub = fake.frames("aibot_subscribe")[0]
        assert sub["body"] == {"bot_id": RIG_BOT_ID, "secret": "bot-secret"}
        await fake.wait_until(lambda: len(fake.frames("ping")) >= 3)
        # A message: the reply reuses the inbound req_id.
        settings = rig_settings(base)
        rid = await fake.push(text_payload(settings, "@议事助手 你好", msgid="m1"))
        await fake.wait_until(lambda: fake.frames("aibot_respond_msg"))
        reply = fake.frames("aibot_respond_msg")[0]
        assert reply["headers"]["req_id"] == rid
        assert reply["body"]["msgtype"] == "stream"
        assert reply["body"]["stream"]["finish"] is True
        assert reply["body"]["stream"]["content"] == "收到：你好"
        # A network drop: the client reconnects by itself.
        await fake.drop()
        await fake.wait_until(lambda: fake.ws_subscribes == 2 and fake.connected())
        # Dead heartbeats (no acks): declared dead, reconnected.
        fake.ws_ack = False
        await fake.wait_until(lambda: fake.ws_subscribes >= 3, within=5)
        fake.ws_ack = True
        await fake.wait_until(lambda: fake.connected())
        assert adapter.ws is not None
        await until(lambda: adapter.ws is not None and adapter.ws.connected)
        rid = await fake.push(text_payload(settings, "@议事助手 还在吗", msgid="m2"))
        await fake.wait_until(
            lambda: any(f["headers"]["req_id"] == rid for f in fake.frames("aibot_respond_msg"))
        )
        assert fake.ws_max_active == 1
        assert fake.ws_kicks == 0


async def test_wrong_secret_is_refused_and_retried_with_backoff(database: str) -> None:
    clock = ManualClock(T0)
    async with (
        open_fake(clock) as (fake, base),
        running(make(clock, base, "one", bot_secret="wrong")),
    ):
        await fake.wait_until(lambda: fake.ws_refused >= 3)
        assert fake.ws_subscribes == 0
        assert fake.ws_max_active == 0


async def test_standby_takes_over_when_the_holder_dies_or_lets_go(database: str) -> None:
    clock = ManualClock(T0)
    async with open_fake(clock) as (fake, base):
        first = make(clock, base, "instance-a")
        second = make(clock, base, "instance-b")
        await first.start(echo)
        try:
            await fake.wait_until(lambda: fake.connected())
            await second.start(echo)
            await until(lambda: second.ws is not None and second.ws.state == "standby")
            assert await lease.holder(LEASE, clock.now()) == "instance-a"
            # The holder crashes: its socket is gone, its lease is not released.
            await first.close(release=False)
            await fake.wait_until(lambda: fake.ws_active == 0)
            await asyncio.sleep(0.1)  # several standby polls: the lease has not expired yet
            assert fake.ws_subscribes == 1
            assert second.ws is not None
            assert second.ws.state == "standby"
            clock.advance(timedelta(seconds=31))  # the lease runs out
            await fake.wait_until(lambda: fake.ws_subscribes == 2 and fake.connected())
            assert await lease.holder(LEASE, clock.now()) == "instance-b"
            # A new instance stands by; the holder shuts down cleanly and hands over at once.
            third = make(clock, base, "instance-c")
            await third.start(echo)
            try:
                await until(lambda: third.ws is not None and third.ws.state == "standby")
                await second.close(release=True)
                await fake.wait_until(lambda: fake.ws_subscribes == 3 and fake.connected())
                assert await lease.holder(LEASE, clock.now()) == "instance-c"
            finally:
                await third.close()
        finally:
            await first.close()
            await second.close()
        assert fake.ws_max_active == 1  # never two connections at once
        assert fake.ws_kicks == 0


async def test_holder_drops_the_connection_when_its_lease_is_taken(database: str) -> None:
    clock = ManualClock(T0)
    async with open_fake(clock) as (fake, base), running(make(clock, base, "instance-a")) as a:
        await fake.wait_until(lambda: fake.connected())
        await lease.release(LEASE, "instance-a")  # e.g. an operator hands the bot elsewhere
        assert await lease.acquire(LEASE, "intruder", clock.now(), timedelta(seconds=30))
        await fake.wait_until(lambda: not fake.connected())
        await until(lambda: a.ws is not None and a.ws.state == "standby")
        assert fake.ws_subscribes == 1
        assert fake.ws_max_active == 1


async def test_lease_is_exclusive_and_renewed_only_by_its_holder(database: str) -> None:
    now = T0
    ttl = timedelta(seconds=30)
    assert await lease.acquire("lease:x", "a", now, ttl)
    assert not await lease.acquire("lease:x", "b", now + timedelta(seconds=10), ttl)
    assert await lease.renew("lease:x", "a", now + timedelta(seconds=20), ttl)
    assert not await lease.acquire("lease:x", "b", now + timedelta(seconds=40), ttl)
    assert await lease.acquire("lease:x", "b", now + timedelta(seconds=51), ttl)
    assert not await lease.renew("lease:x", "a", now + timedelta(seconds=52), ttl)
    results = await asyncio.gather(*(lease.acquire("lease:y", f"o{i}", now, ttl) for i in range(8)))
    assert sum(results) == 1
    with pytest.raises(ValueError, match="owner"):
        await lease.acquire("lease:z", "x" * 65, now, ttl)


async def test_real_app_over_the_long_connection(database: str) -> None:
    """Binding, a card click and proactive sends through the real app in long-connection
    mode: replies go back on the socket, proactive messages as aibot_send_msg."""
    clock = ManualClock(T0)
    await seed_wecom_society(clock.now())
    async with open_fake(clock) as (fake, base), open_bot(clock, base, wecom=LC) as (_, adapter):
        await fake.wait_until(lambda: fake.connected())
        settings = rig_settings(base)
        rid = await fake.push(
            text_payload(settings, "@议事助手 绑定学会 苏州市示例科技学会", userid=WECOM_ADMIN)
        )
        await fake.wait_until(lambda: fake.frames("aibot_respond_msg"))
        reply = fake.frames("aibot_respond_msg")[-1]
        assert reply["headers"]["req_id"] == rid
        assert "已绑定" in reply["body"]["stream"]["content"]
        click = card_event_payload(
            settings, task_id="vote99_x", event_key="submit_vote_99", option_ids=["yes"]
        )
        rid = await fake.push(click, cmd="aibot_event_callback")
        await fake.wait_until(lambda: fake.frames("aibot_respond_update_msg"))
        update = fake.frames("aibot_respond_update_msg")[-1]
        assert update["headers"]["req_id"] == rid
        assert update["body"]["response_type"] == "update_template_card"
        assert update["body"]["template_card"]["task_id"] == "vote99_x"
        # Proactive: group (with mentions) and private both over the socket, by chatid.
        group = ChatRef(Platform.WECOM, WECOM_CORP, DEFAULT_CHAT_ID)
        lina = UserRef(Platform.WECOM, WECOM_CORP, "lina", "李娜")
        await adapter.send(OutgoingMessage(chat=group, text="明天开会", mentions=(lina,)))
        private = ChatRef(Platform.WECOM, WECOM_CORP, "lina", ChatKind.PRIVATE)
        await adapter.send(OutgoingMessage(chat=private, text="请投票", private_to=lina))
        sent = fake.frames("aibot_send_msg")
        assert [(f["body"]["chatid"], f["body"]["msgtype"]) for f in sent] == [
            (DEFAULT_CHAT_ID, "markdown"),
            ("lina", "markdown"),
        ]
        assert "<@lina>" in sent[0]["body"]["markdown"]["content"]
        assert fake.recorded["webhook/send"] == []
        assert fake.recorded["message/send"] == []
        fake.ws_errcodes["aibot_send_msg"] = 45009
        with pytest.raises(SendError) as err:
            await adapter.send(OutgoingMessage(chat=group, text="再来"))
        assert err.value.kind == "throttled"
        assert fake.ws_max_active == 1
    assert isinstance(fake, FakeWeCom)


async def test_kicked_by_a_newer_connection_is_noticed(database: str) -> None:
    """WeCom's own rule: a newer connection of the same bot kicks the older one with a
    disconnected_event. Ours notices it (and, still holding the lease, comes back)."""
    clock = ManualClock(T0)
    async with open_fake(clock) as (fake, base), running(make(clock, base, "instance-a")) as a:
        await fake.wait_until(lambda: fake.connected())
        async with aiohttp.ClientSession() as session, session.ws_connect(base + "/ws") as rogue:
            await rogue.send_json(
                {
                    "cmd": "aibot_subscribe",
                    "headers": {"req_id": "rogue"},
                    "body": {"bot_id": RIG_BOT_ID, "secret": "bot-secret"},
                }
            )
            await until(lambda: a.ws is not None and a.ws.kicked == 1)
            await fake.wait_until(lambda: fake.ws_subscribes >= 3 and fake.connected())
        assert fake.ws_kicks >= 2
