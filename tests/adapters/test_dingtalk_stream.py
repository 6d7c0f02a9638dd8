"""The Stream client against the fake gateway (connections/open + WebSocket on 127.0.0.1): ACK
of every frame, ping echo, reconnect after `disconnect`, after a dropped socket and after a
silent dead connection (watchdog), backoff with injected sleep and jitter, ACK only after the
callback was handled; and, through the real app, no event processed twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp

from bot.adapters.base import Rejected
from bot.adapters.dingtalk.codec import CARD_CALLBACK_TOPIC, ROBOT_MESSAGE_TOPIC
from bot.adapters.dingtalk.stream import DingTalkStreamClient, StreamTiming
from bot.clock import ManualClock
from bot.inbox import InboxUnavailable
from storage import models
from tests.kit.clock import TZ
from tests.kit.dingtalk.payloads import (
    card_callback_frame,
    robot_payload,
    stream_frame,
    system_frame,
)
from tests.kit.dingtalk.rig import running_bot
from tests.kit.dingtalk.server import FakeDingTalk
from tests.kit.seed import seed_dingtalk_society

START = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)
GROUP = "cidSTREAMgroup=="


class Recorder:
    """on_frame for the client: records, can hold a frame back, refuse it, fail, or be unable
    to take it a few times (the database busy)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []
        self.hold: asyncio.Event | None = None
        self.refuse: set[str] = set()
        self.fail: set[str] = set()
        self.busy: dict[str, int] = {}

    async def __call__(self, topic: str, event_id: str, data: str) -> None:
        self.seen.append((topic, event_id, data))
        if self.hold is not None:
            await self.hold.wait()
        if event_id in self.refuse:
            raise Rejected(403, "wrong_corp")
        if event_id in self.fail:
            raise RuntimeError("database down")
        if self.busy.get(event_id, 0) > 0:
            self.busy[event_id] -= 1
            raise InboxUnavailable("database is locked")


@contextlib.asynccontextmanager
async def stream_client(
    fake: FakeDingTalk, recorder: Recorder, delays: list[float], **options: float
) -> AsyncIterator[DingTalkStreamClient]:
    async def no_wait(seconds: float) -> None:
        delays.append(seconds)
        await asyncio.sleep(0)

    async with aiohttp.ClientSession() as session:
        client = DingTalkStreamClient(
            session=session,
            api_base=fake.base_url,
            client_id=fake.app_key,
            client_secret=options.pop("secret", None) or fake.app_secret,  # type: ignore[arg-type]
            on_frame=recorder,
            timing=StreamTiming(
                watchdog_s=options.get("watchdog_s", 5.0),
                ping_s=options.get("ping_s", 1.0),
                backoff_base_s=1.0,
                backoff_cap_s=8.0,
            ),
            sleep=no_wait,
            jitter=lambda: 0.5,
        )
        task = asyncio.create_task(client.run())
        try:
            yield client
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await client.close()


def callback(message_id: str, topic: str = ROBOT_MESSAGE_TOPIC) -> str:
    return stream_frame({"k": message_id}, message_id=message_id, topic=topic)


async def test_every_frame_is_acked_and_ping_echoes_the_opaque() -> None:
    clock = ManualClock(START)
    recorder, delays = Recorder(), []
    async with FakeDingTalk(clock=clock.now) as fake, stream_client(fake, recorder, delays):
        [conn] = await fake.wait_connections(1)
        topics = fake.recorded["gateway_open"][0].body["subscriptions"]
        assert {t["topic"] for t in topics} >= {ROBOT_MESSAGE_TOPIC, CARD_CALLBACK_TOPIC}

        await conn.push(system_frame("ping", {"opaque": "op-123"}, message_id="ping-1"))
        ack = await conn.wait_ack("ping-1")
        assert ack["code"] == 200
        assert json.loads(ack["data"]) == {"opaque": "op-123"}

        await conn.push(
            stream_frame({"x": 1}, message_id="evt-1", topic="/v1.0/im/x", frame_type="EVENT")
        )
        assert json.loads((await conn.wait_ack("evt-1"))["data"])["status"] == "SUCCESS"

        await conn.push(callback("cb-1"))
        ack = await conn.wait_ack("cb-1")
        assert json.loads(ack["data"]) == {"response": None}
        assert ack["headers"]["messageId"] == "cb-1"
        assert recorder.seen == [(ROBOT_MESSAGE_TOPIC, "cb-1", '{"k": "cb-1"}')]

        # A refused callback is ACKed too (a retry cannot make it valid); junk is skipped.
        recorder.refuse.add("cb-2")
        await conn.push("not a frame")
        await conn.push(callback("cb-2", CARD_CALLBACK_TOPIC))
        await conn.wait_ack("cb-2")
        assert len(conn.acks) == 4
        assert delays == []


async def test_ack_only_after_the_callback_returned() -> None:
    clock = ManualClock(START)
    recorder, delays = Recorder(), []
    async with FakeDingTalk(clock=clock.now) as fake, stream_client(fake, recorder, delays):
        [conn] = await fake.wait_connections(1)
        recorder.hold = asyncio.Event()
        await conn.push(callback("slow-1"))
        # Other frames are not blocked by a slow callback.
        await conn.push(system_frame("ping", {"opaque": "p"}, message_id="ping-2"))
        await conn.wait_ack("ping-2")
        assert conn.ack_for("slow-1") is None
        recorder.hold.set()
        await conn.wait_ack("slow-1")
        # A callback that failed (e.g. the database is down) is not ACKed: DingTalk re-pushes.
        recorder.hold = None
        recorder.fail.add("fail-1")
        await conn.push(callback("fail-1"))
        await conn.push(system_frame("ping", {"opaque": "q"}, message_id="ping-3"))
        await conn.wait_ack("ping-3")
        await asyncio.sleep(0.02)
        assert conn.ack_for("fail-1") is None


async def test_a_frame_the_queue_cannot_take_for_now_is_fed_again_then_acked() -> None:
    """A robot message may never be pushed again: one had been dropped while the database
    was locked. It is fed again from memory (1, 2, 4 s apart here) and ACKed once taken."""
    clock = ManualClock(START)
    recorder, delays = Recorder(), []
    async with FakeDingTalk(clock=clock.now) as fake, stream_client(fake, recorder, delays):
        [conn] = await fake.wait_connections(1)
        recorder.busy["busy-1"] = 3
        await conn.push(callback("busy-1"))
        await conn.wait_ack("busy-1")
        assert [e for _, e, _ in recorder.seen] == ["busy-1"] * 4
        assert delays == [1.0, 2.0, 4.0]


async def test_reconnects_after_disconnect_without_backoff() -> None:
    clock = ManualClock(START)
    recorder, delays = Recorder(), []
    async with (
        FakeDingTalk(clock=clock.now) as fake,
        stream_client(fake, recorder, delays) as client,
    ):
        [first] = await fake.wait_connections(1)
        await fake.disconnect(first)
        assert first.ack_for("disconnect-1") is not None  # the disconnect itself is ACKed
        live = await fake.wait_connections(2)
        assert [c.number for c in live] == [2]
        assert len(fake.recorded["gateway_open"]) == 2  # a fresh ticket for the new socket
        assert client.reconnect_reasons == ["disconnect"]
        assert delays == []
        await live[0].push(callback("after-1"))
        await live[0].wait_ack("after-1")


async def test_reconnects_after_the_socket_drops_with_backoff() -> None:
    clock = ManualClock(START)
    recorder, delays = Recorder(), []
    async with (
        FakeDingTalk(clock=clock.now) as fake,
        stream_client(fake, recorder, delays) as client,
    ):
        [first] = await fake.wait_connections(1)
        await first.drop()
        [second] = await fake.wait_connections(2)
        assert client.reconnect_reasons == ["dropped"]
        assert delays == [0.5]  # base 1 s x jitter 0.5, injected: no real wait
        await second.drop()
        [third] = await fake.wait_connections(3)
        await third.push(callback("cb-3"))
        await third.wait_ack("cb-3")
        assert delays == [0.5, 1.0]  # exponential


async def test_watchdog_reconnects_a_silent_dead_connection() -> None:
    clock = ManualClock(START)
    recorder, delays = Recorder(), []
    async with (
        FakeDingTalk(clock=clock.now) as fake,
        # Margins a busy machine keeps: a test process descheduled for 100 ms (the full suite
        # runs four of them on two cores) once let a watchdog of 0.1 s tear down the live one.
        stream_client(fake, recorder, delays, watchdog_s=0.5, ping_s=0.1) as client,
    ):
        [first] = await fake.wait_connections(1)
        first.silent = True  # TCP up, but no frame and no pong ever again
        await fake.wait_connections(2)
        assert client.reconnect_reasons == ["watchdog"]
        assert first.pings_seen >= 2
        # A live connection answering pings is not torn down.
        await asyncio.sleep(1.2)
        assert len(fake.connections) == 2


async def test_open_failures_back_off_exponentially_to_the_cap() -> None:
    clock = ManualClock(START)
    recorder, delays = Recorder(), []
    async with (
        FakeDingTalk(clock=clock.now) as fake,
        stream_client(fake, recorder, delays, secret="wrong") as client,  # type: ignore[arg-type]
    ):
        async with asyncio.timeout(5):
            while len(delays) < 6:  # noqa: ASYNC110 - the client's own sleep is the injected one
                await asyncio.sleep(0.01)
        assert delays[:6] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]  # cap 8 s x jitter 0.5
        assert fake.connections == []
        assert set(client.reconnect_reasons) == {"open_failed"}


async def test_redelivered_frames_after_reconnect_are_processed_once(database: str) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    async with (
        FakeDingTalk(clock=clock.now) as fake,
        running_bot(fake, clock, mode="stream") as rig,
    ):
        staff = await seed_dingtalk_society(fake.corp_id, 1, clock.now(), group_id=GROUP)
        [first] = await fake.wait_connections(1)
        webhook, expires = fake.open_session(GROUP, "dup-1", clock.now())
        payload = robot_payload(
            rig.codec,
            text="召开会议 2026-12-05 15:00 会议室 议题：年度工作",
            staff_id=staff["张伟"],
            conversation_id=GROUP,
            msg_id="dup-1",
            now=clock.now(),
            session_webhook=webhook,
            session_expires_at=expires,
        )
        frame = stream_frame(payload, message_id="frame-dup-1")
        await first.push(frame)
        await first.wait_ack("frame-dup-1")
        await first.drop()  # the ACK may have been lost with the socket: DingTalk pushes again
        [second] = await fake.wait_connections(2)
        await second.push(frame)
        await second.wait_ack("frame-dup-1")
        await fake.disconnect(second)
        [third] = await fake.wait_connections(3)
        await third.push(frame)
        await third.wait_ack("frame-dup-1")
        await rig.adapter.tasks.flush()
        assert await models.Meeting.all().count() == 1
        assert await models.ProcessedMessage.filter(message_id="dup-1").count() == 1
        texts = [c.text for c in fake.recorded["session"]]
        assert "【会议通知】" in texts[0]
        assert [t.startswith("（重复消息，已处理过）") for t in texts] == [False, True, True]
        # A card click pushed twice is one event too.
        clock.set(datetime(2026, 12, 5, 14, 50, tzinfo=TZ))
        click = card_callback_frame(
            out_track_id="vote-999-gY2lkU1RSRUFNZ3JvdXA9PQ",
            user_id=staff["李娜"],
            corp_id=fake.corp_id,
            params={"choice": "赞成"},
            message_id="click-1",
        )
        for pushes in (1, 2):
            await third.push(click)
            await third.wait_acks("click-1", pushes)
        assert await models.ProcessedMessage.filter(message_id="card:click-1").count() == 1
        assert rig.adapter.stream.acks_sent >= 5


async def test_several_instances_each_hold_a_connection() -> None:
    clock = ManualClock(START)
    first, second, delays = Recorder(), Recorder(), []
    async with (
        FakeDingTalk(clock=clock.now) as fake,
        stream_client(fake, first, delays),
        stream_client(fake, second, delays),
    ):
        conns = await fake.wait_connections(2)
        assert len(conns) == 2
        # DingTalk pushes each frame to one of them; both ACK what they got.
        await conns[0].push(callback("to-a"))
        await conns[1].push(callback("to-b"))
        await conns[0].wait_ack("to-a")
        await conns[1].wait_ack("to-b")
        assert sorted(e for _, e, _ in first.seen + second.seen) == ["to-a", "to-b"]
        assert len(first.seen) == len(second.seen) == 1
