"""The outbox and its sender on SQLite and PostgreSQL (T13-T15), with an injected clock."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import CommitteeAdmin, DeliverySettings
from bot.events import (
    BallotAck,
    BallotOutcome,
    ChatKind,
    ChatRef,
    OutgoingMessage,
    Platform,
    UserRef,
    VoteCard,
)
from bot.gate import Gate
from bot.outbox import (
    ID_CLOSE,
    ID_OPEN,
    Sender,
    channel_for,
    dump_message,
    load_message,
    superseded,
)
from storage import models
from storage import outbox as outbox_store
from tests.kit.clock import TZ
from tests.kit.console import ConsoleRig
from tests.kit.sender import FakePlatform, drive, enqueue_texts, group, max_in_window, sender_for

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)


def test_a_ballot_reply_keeps_what_it_acknowledges_through_the_outbox() -> None:
    """A queued ballot's reply goes through the outbox: the adapter still knows it is a ballot
    and who cast it (DingTalk with cards sends it to the voter alone)."""
    voter = UserRef(Platform.DINGTALK, "corp", "staff7", "李娜")
    ack = BallotAck(12, "yes", BallotOutcome.RECORDED, voter)
    message = OutgoingMessage(chat=group("g1"), text="李娜：赞成，已记录", ballot=ack)
    assert load_message(dump_message(message)) == message
    plain = OutgoingMessage(chat=group("g1"), text="会议状态")
    assert load_message(dump_message(plain)) == plain


def test_an_answer_in_a_private_chat_goes_by_its_reply_handle_not_the_apps_limit() -> None:
    """A secret ballot's receipt (answered through the private message's sessionWebhook) had
    waited minutes behind the app's rate-limited reminders on the private-message channel."""
    private = ChatRef(Platform.DINGTALK, "corp", "cid-private-7", ChatKind.PRIVATE)
    voter = UserRef(Platform.DINGTALK, "corp", "staff7", "李娜")
    receipt = OutgoingMessage(chat=private, text="已收到您的无记名投票", reply_handle="https://x")
    reminder = OutgoingMessage(chat=private, text="提醒")
    notice = OutgoingMessage(chat=group("g1"), text="邀请", private_to=voter, reply_handle="h")
    assert channel_for(receipt) == "dingtalk:corp:reply:cid-private-7"
    assert channel_for(reminder) == "dingtalk:corp:app"
    assert channel_for(notice) == "wecom:corp:app"  # to a person: never the group's handle
    sender = sender_for(FakePlatform(ManualClock(T0)))
    assert sender.limit_for(channel_for(receipt)) == 0
    assert sender.limit_for(channel_for(reminder)) > 0


def test_only_a_card_update_followed_by_one_of_the_same_card_is_superseded() -> None:
    def card(chat: str, vote: int, summary: str, text: str = "") -> OutgoingMessage:
        return OutgoingMessage(
            chat=group(chat), text=text, card=VoteCard(vote, "议题1", summary, secret=False)
        )

    messages = [
        card("g1", 1, "已投 0/7", text="开始表决"),  # the card's creation: has text, stays
        card("g1", 1, "已投 1/7"),  # superseded by 已投 3/7
        card("g1", 2, "已投 1/5"),  # another vote's card: its last update
        card("g2", 1, "已投 1/7"),  # the same vote number in another group: its last update
        OutgoingMessage(chat=group("g1"), text="李娜：赞成，已记录"),
        card("g1", 1, "已投 2/7"),  # superseded
        card("g1", 1, "已投 3/7"),
    ]
    assert superseded(messages) == {1, 5}
    assert superseded(messages[:2]) == set()


async def test_hundred_reminders_for_one_group_respect_the_rate(database: str) -> None:
    clock = ManualClock(T0)
    fake = FakePlatform(clock)
    await enqueue_texts("g1", 100, clock.now())
    sender = sender_for(fake)
    await drive(sender, clock, step=timedelta(seconds=1), until=T0 + timedelta(minutes=30))
    times = [at for at, _ in fake.delivered]
    assert len(times) == 100
    assert max_in_window(times) <= 15
    # The limiter is not needlessly slow: 100 at 15 a minute need a little over 6 minutes.
    assert times[-1] - times[0] <= timedelta(minutes=7)
    assert [m.text.split("\n")[0] for _, m in fake.delivered] == [f"g1 第{i}条" for i in range(100)]


async def test_throttling_pauses_that_channel_only(database: str) -> None:
    clock = ManualClock(T0)
    throttled_once: list[str] = []

    def behaviour(message: object) -> str:
        chat = message.chat.chat_id  # type: ignore[attr-defined]
        if chat == "a" and not throttled_once:
            throttled_once.append(chat)
            return "throttle"
        return "ok"

    fake = FakePlatform(clock, behaviour=behaviour)
    await enqueue_texts("a", 10, clock.now())
    await enqueue_texts("b", 10, clock.now())
    sender = sender_for(fake, throttle_pause_seconds=600)
    await drive(sender, clock, step=timedelta(seconds=5), until=T0 + timedelta(minutes=30))
    a_times = [at for at, m in fake.delivered if m.chat.chat_id == "a"]
    b_times = [at for at, m in fake.delivered if m.chat.chat_id == "b"]
    assert len(a_times) == 10
    assert len(b_times) == 10
    assert max(b_times) < T0 + timedelta(seconds=60)  # b went on at once
    assert min(a_times) >= T0 + timedelta(minutes=10)  # a waited its 10 minutes
    state = {c.channel: c for c in await outbox_store.channels()}["wecom:corp:group:a"]
    assert state.reason.startswith("限流 130101")
    attempts = await models.OutboxAttempt.filter(outcome="throttled").count()
    assert attempts == 1


async def test_flaky_platform_delivers_everything_and_marks_duplicates(database: str) -> None:
    """T13: 30 % errors, 10 % hangs (the timeout is ambiguous), 5 % resets, 1,000 messages."""
    clock = ManualClock(T0)
    rng = random.Random(2026)

    def behaviour(_message: object) -> str:
        r = rng.random()
        if r < 0.30:
            return "error"
        if r < 0.40:
            return "hang"
        if r < 0.45:
            return "reset"
        return "ok"

    fake = FakePlatform(clock, behaviour=behaviour, rng=random.Random(5))
    for g in range(50):
        await enqueue_texts(f"g{g}", 20, clock.now())
    sender = sender_for(fake)
    await drive(sender, clock, step=timedelta(seconds=10), until=T0 + timedelta(hours=2))
    rows = await outbox_store.outbox_rows()
    assert len(rows) == 1000
    assert {r.state for r in rows} == {"sent"}
    assert clock.now() - T0 <= timedelta(minutes=15)
    copies = Counter(m.text for _, m in fake.delivered)
    by_text = {r.short_id: r for r in rows}
    assert len({load_message(r.payload).text for r in rows}) == 1000
    delivered_rows = {m.text.rsplit(ID_OPEN, 1)[1].rstrip(ID_CLOSE) for _, m in fake.delivered}
    assert delivered_rows == set(by_text)  # every row reached the platform, each with its id
    ambiguous = await models.OutboxAttempt.filter(ambiguous=True).count()
    duplicates = sum(n - 1 for n in copies.values())
    assert 0 < duplicates <= ambiguous
    for text, n in copies.items():
        if n > 1:  # a duplicate: same text, same id, and its row had an ambiguous attempt
            short = text.rsplit(ID_OPEN, 1)[1].rstrip(ID_CLOSE)
            assert by_text[short].ambiguous
    assert await models.OutboxAttempt.all().count() == len(fake.calls)  # every attempt recorded


async def test_permanent_error_fails_and_tells_the_committee(database: str) -> None:
    clock = ManualClock(T0)
    fake = FakePlatform(
        clock, behaviour=lambda m: "permanent" if m.chat.chat_id == "gone" else "ok"
    )
    await enqueue_texts("gone", 1, clock.now())
    admin = CommitteeAdmin("wecom", "corp", "liu", "刘老师")
    sender = Sender([fake], clock=clock, settings=DeliverySettings(), committee_admins=[admin])
    await sender.run_once()
    await sender.run_once()
    failed = await outbox_store.outbox_rows(state="failed")
    assert len(failed) == 1
    assert "93000" in failed[0].last_error
    (alert,) = [m for _, m in fake.delivered]
    assert alert.private_to is not None
    assert alert.private_to.user_id == "liu"
    assert "消息发送失败" in alert.text
    assert failed[0].short_id in alert.text


async def test_attempts_are_bounded(database: str) -> None:
    clock = ManualClock(T0)
    fake = FakePlatform(clock, behaviour=lambda _m: "error")
    await enqueue_texts("g", 1, clock.now())
    sender = sender_for(fake, max_attempts=4)
    await drive(sender, clock, step=timedelta(minutes=1), until=T0 + timedelta(hours=1))
    (row,) = await outbox_store.outbox_rows()
    assert row.state == "failed"
    assert row.attempts == 4
    gaps = [b[0] - a[0] for a, b in zip(fake.calls, fake.calls[1:], strict=False)]
    assert all(g >= timedelta(seconds=2) for g in gaps)  # backed off between attempts


async def test_crash_between_send_and_mark_resends_with_the_same_id(database: str) -> None:
    """T15: the holder died after the platform accepted the message (its lease runs out)."""
    clock = ManualClock(T0)
    fake = FakePlatform(clock)
    await enqueue_texts("g", 1, clock.now())
    (row,) = await outbox_store.claim_batch(
        {"wecom:corp:group:g": 10}, "dead-instance", clock.now(), timedelta(seconds=60)
    )
    fake.delivered.append((clock.now(), load_message(row.payload)))  # it did go out
    sender = sender_for(fake)
    await sender.run_once()
    assert len(fake.delivered) == 1  # the lease still holds: nobody touches it
    clock.advance(timedelta(seconds=61))
    await sender.run_once()
    assert len(fake.delivered) == 2
    (after,) = await outbox_store.outbox_rows()
    assert after.state == "sent"
    assert after.ambiguous
    assert fake.delivered[1][1].text.endswith(f"{ID_OPEN}{row.short_id}{ID_CLOSE}")


async def test_private_messages_are_written_in_the_commands_transaction(
    harness: ConsoleRig,
) -> None:
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：推荐副组长人选（人事）")
    h.at("2026-12-05 14:50")
    for name in ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏"):
        await h.say(name, "签到")
    await h.say("张伟", "开会")
    await h.say("张伟", "发起表决 1")
    rows = await outbox_store.outbox_rows()
    assert len(rows) == 7
    assert {r.state for r in rows} == {"sent"}
    assert all(r.channel == "console:console:app" for r in rows)
    # A refused command writes nothing, and a redelivery does not queue again.
    message = h.adapter.decode("张伟", "发起表决 1")
    await h.router.dispatch(message)
    await h.router.dispatch(message)
    assert len(await outbox_store.outbox_rows()) == 7


async def test_two_senders_share_the_channels_and_send_each_row_once(database: str) -> None:
    """Batched claims: two senders (two instances) drain the same outbox at the same time;
    each row goes out once, every attempt is recorded, the rate holds per channel."""
    clock = ManualClock(T0)
    fake = FakePlatform(clock)
    for g in range(40):
        await enqueue_texts(f"g{g}", 20, clock.now())
    first, second = sender_for(fake), sender_for(fake)
    first.instance, second.instance = "instance-a", "instance-b"
    for _ in range(12):
        await asyncio.gather(first.run_once(), second.run_once())
        counts = await outbox_store.outbox_counts()
        if not counts.get("pending") and not counts.get("sending"):
            break
        clock.advance(timedelta(seconds=30))
    rows = await outbox_store.outbox_rows()
    assert {r.state for r in rows} == {"sent"}
    copies = Counter(m.text for _, m in fake.delivered)
    assert len(copies) == 800
    assert max(copies.values()) == 1
    assert await models.OutboxAttempt.all().count() == 800
    owners = set(await models.OutboxAttempt.all().values_list("instance", flat=True))
    assert owners <= {"instance-a", "instance-b"}
    for g in range(40):
        times = [at for at, m in fake.delivered if m.chat.chat_id == f"g{g}"]
        assert max_in_window(times) <= 15


class GatedPlatform(FakePlatform):
    """Sends to the chats in `held` wait until their gate opens (a slow robot)."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        self.gates: dict[str, asyncio.Event] = {}
        self.waiting: dict[str, asyncio.Event] = {}

    def hold(self, chat_id: str) -> None:
        self.gates[chat_id] = asyncio.Event()
        self.waiting[chat_id] = asyncio.Event()

    def merge(self, first: OutgoingMessage, then: OutgoingMessage) -> OutgoingMessage | None:
        return None  # one by one

    async def send(self, message: OutgoingMessage) -> None:
        chat = message.chat.chat_id
        if chat in self.gates:
            self.waiting[chat].set()
            await self.gates[chat].wait()
        await super().send(message)


async def test_overlapping_passes_never_drain_one_channel_together(database: str) -> None:
    """Passes of one sender overlap (the background loop starts the next while the last one
    sends): a channel a pass is draining is left alone by the others until that pass is done
    with it, also after the pass that drained it before has ended. A pass asked for directly
    waits for such a channel and drains it after."""
    clock = ManualClock(T0)
    fake = GatedPlatform(clock)
    chats = [f"c{i}" for i in range(9)]  # two groups at concurrency 2: c0..c7, then c8
    for chat in chats:
        await enqueue_texts(chat, 1, clock.now())
    sender = sender_for(fake, send_concurrency=2)
    sender.concurrency = 2
    fake.hold("c8")
    first = asyncio.create_task(sender._run_once())  # as the background loop starts them
    await fake.waiting["c8"].wait()
    # The first group is done (delivered, recorded, its channels released), c8 waits.
    first_group = channel_for(OutgoingMessage(chat=group("c0"), text=""))
    while len(fake.delivered) < 8 or first_group in sender._busy:  # noqa: ASYNC110
        await asyncio.sleep(0)
    await enqueue_texts("c0", 2, clock.now(), start=1, prefix="more")
    fake.hold("c0")
    second = asyncio.create_task(sender._run_once())  # c0 again: the first is done with it
    await fake.waiting["c0"].wait()
    fake.gates["c8"].set()
    assert (await first).sent == 9
    await enqueue_texts("c0", 1, clock.now(), start=3, prefix="last")
    assert (await sender._run_once()).sent == 0  # c0 is still being drained by the second
    direct = asyncio.create_task(sender.run_once())
    for _ in range(20):
        await asyncio.sleep(0)
    assert not direct.done()  # it waits for c0
    fake.gates["c0"].set()
    assert (await second).sent == 2
    assert (await direct).sent == 1
    c0 = [m.text.split("\n")[0] for _, m in fake.delivered if m.chat.chat_id == "c0"]
    assert c0 == [f"c0 第{i}条" for i in range(4)]  # in order, each once
    assert {r.state for r in await outbox_store.outbox_rows()} == {"sent"}


async def test_a_pass_soon_after_a_scan_takes_the_channels_just_freed(database: str) -> None:
    """Without a scan (the background loop, within a second of the last one), a pass takes the
    channels whose window has just freed; a channel with new rows waits for the next scan."""
    clock = ManualClock(T0)
    fake = FakePlatform(clock)
    await enqueue_texts("a", 20, clock.now())
    sender = sender_for(fake)
    assert (await sender.run_once()).sent == 15
    clock.advance(timedelta(seconds=59, microseconds=600_000))
    assert (await sender.run_once()).sent == 0  # a scan: the window of a is still full
    await enqueue_texts("b", 2, clock.now())
    clock.advance(timedelta(milliseconds=500))  # the window of a frees: 15 slots
    assert (await sender._run_once(scan=False)).sent == 5
    assert [m.chat.chat_id for _, m in fake.delivered].count("b") == 0
    assert (await sender.run_once()).sent == 2  # the next scan finds b


async def test_the_background_loop_sends_what_it_is_woken_for_and_stops(database: str) -> None:
    clock = ManualClock(T0)
    fake = FakePlatform(clock)
    sender = sender_for(fake)
    gate = Gate()
    loop = asyncio.create_task(sender.run(gate=gate, idle=3600))
    for chat in ("a", "b", "c"):
        await enqueue_texts(chat, 3, clock.now())
    sender.wake()
    async with asyncio.timeout(10):
        while len(fake.delivered) < 9:  # noqa: ASYNC110 (the loop runs on its own)
            await asyncio.sleep(0.01)
    assert sender.alive
    await gate.stop([loop], grace=5)
    assert not sender.alive
    assert Counter(m.chat.chat_id for _, m in fake.delivered) == {"a": 3, "b": 3, "c": 3}
    assert {r.state for r in await outbox_store.outbox_rows()} == {"sent"}


async def test_a_stop_lets_the_sends_in_flight_finish(database: str) -> None:
    """The sender's loop sees the gate close while a pass is sending: the pass finishes its
    sends and records them; none is cancelled half-way (which left rows 「sending」, leased to
    a stopped instance, until the lease ran out, then resent as ambiguous)."""
    clock = ManualClock(T0)
    started = asyncio.Event()
    release = asyncio.Event()
    fake = FakePlatform(clock)
    plain_send = fake.send

    async def slow_send(message: OutgoingMessage) -> None:
        started.set()
        await release.wait()
        await plain_send(message)

    fake.send = slow_send  # type: ignore[method-assign]
    for chat in ("a", "b", "c"):
        await enqueue_texts(chat, 2, clock.now())
    sender = sender_for(fake)
    gate = Gate()
    loop = asyncio.create_task(sender.run(gate=gate, idle=0.01))
    await started.wait()
    stopping = asyncio.create_task(gate.stop([loop], grace=30))
    await asyncio.sleep(0.2)  # the loop sees the gate closing while the sends wait
    release.set()
    await stopping
    counts = await outbox_store.outbox_counts()
    assert counts.get("sending", 0) == 0, counts
    assert counts.get("sent", 0) == len(fake.delivered) == 6


def _failing(
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    exc: Exception,
    *,
    times: int = 1,
    after: bool = False,
) -> list[int]:
    """`outbox_store.<name>` raises `exc` on its next `times` calls: before doing anything, or
    with `after` once its work is done (committed, the answer lost). Returns the failures left
    (set it to 0 to stop)."""
    real = getattr(outbox_store, name)
    left = [times]

    async def failing(*args: Any, **kwargs: Any) -> Any:
        if left[0] and not after:
            left[0] -= 1
            raise exc
        result = await real(*args, **kwargs)
        if left[0] and after:
            left[0] -= 1
            raise exc
        return result

    monkeypatch.setattr(outbox_store, name, failing)
    return left


async def test_a_transient_fault_while_recording_sends_is_retried(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The messages went out; the write that records them hits a killed connection once: it is
    written again, so the rows do not stay 「sending」 until their lease runs out (and then go
    out a second time)."""
    clock = ManualClock(T0)
    fake = FakePlatform(clock)
    await enqueue_texts("a", 3, clock.now())
    failures = _failing(monkeypatch, "record_sent", TimeoutError("connection lost"))
    await sender_for(fake).run_once()
    counts = await outbox_store.outbox_counts()
    assert counts.get("sent", 0) == len(fake.delivered) == 3, counts
    assert failures == [0]


async def test_rows_a_failed_pass_claimed_but_never_sent_go_back_at_once(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim commits, its answer is lost with the connection: the pass fails holding rows
    it never sent. They go back to pending, and the next pass sends them, not a minute later
    when their lease runs out (the clock here never gets there)."""
    clock = ManualClock(T0)
    fake = FakePlatform(clock)
    await enqueue_texts("a", 3, clock.now())
    _failing(monkeypatch, "claim_batch", ConnectionResetError("connection lost"), after=True)
    sender = sender_for(fake)
    with pytest.raises(ExceptionGroup):
        await sender.run_once()
    assert (await outbox_store.outbox_counts()) == {"pending": 3}
    assert (await sender.run_once()).sent == 3
    assert [m.text.split("\n")[0] for _, m in fake.delivered] == [f"a 第{i}条" for i in range(3)]


async def test_sends_whose_record_failed_are_recorded_by_the_next_pass_not_sent_again(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The messages went out but their record cannot be written (the database restarting): they
    stay leased, and the sender, which knows they went out, records them at its next pass once
    the database is back. It had forgotten them: once the lease ran out every one went out a
    second time (a 10 s PostgreSQL restart had repeated 139 group replies)."""
    clock = ManualClock(T0)
    fake = FakePlatform(clock)
    await enqueue_texts("a", 2, clock.now())
    failures = _failing(monkeypatch, "record_sent", TimeoutError("lost"), times=1_000)
    sender = sender_for(fake)
    with pytest.raises(ExceptionGroup):
        await sender.run_once()
    assert len(fake.delivered) == 2
    assert (await outbox_store.outbox_counts()) == {"sending": 2}
    with pytest.raises(TimeoutError):  # still down: kept again
        await sender.run_once()
    failures[0] = 0  # the database is back
    await sender.run_once()
    assert (await outbox_store.outbox_counts()) == {"sent": 2}
    clock.advance(timedelta(minutes=2))
    assert (await sender.run_once()).sent == 0
    assert len(fake.delivered) == 2
    rows = await outbox_store.outbox_rows()
    assert [(r.state, r.ambiguous) for r in rows] == [("sent", False), ("sent", False)]
    assert sender._handed == set()


async def test_a_sender_that_dies_before_recording_leaves_its_rows_to_the_lease(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that dies with sends unrecorded cannot record them: they go out again, as
    ambiguous, once the lease has run out (a new sender stands for the restarted process)."""
    clock = ManualClock(T0)
    fake = FakePlatform(clock)
    await enqueue_texts("a", 2, clock.now())
    failures = _failing(monkeypatch, "record_sent", TimeoutError("lost"), times=1_000)
    with pytest.raises(ExceptionGroup):
        await sender_for(fake).run_once()
    failures[0] = 0
    restarted = sender_for(fake)
    assert (await restarted.run_once()).sent == 0
    assert (await outbox_store.outbox_counts()) == {"sending": 2}
    clock.advance(timedelta(minutes=2))
    assert (await restarted.run_once()).sent == 2
    rows = await outbox_store.outbox_rows()
    assert [(r.state, r.ambiguous) for r in rows] == [("sent", True), ("sent", True)]


async def _until(done: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not done():  # noqa: ASYNC110 (the sender's loop runs on its own)
            await asyncio.sleep(0.001)


async def _left_to_another_pass(
    fake: GatedPlatform, sender: Sender, gate: Gate, first: int, second_ran: Callable[[], bool]
) -> asyncio.Task[None]:
    """The loop sends `first` rows of chat a in a pass whose sends wait; meanwhile one more row
    of a is written and the loop woken, so a second pass finds a busy (`second_ran`: it has run).
    Returns the loop once the first rows are delivered."""
    fake.hold("a")
    await enqueue_texts("a", first, fake.clock.now())
    sender.wake()
    loop = asyncio.create_task(sender.run(gate=gate, idle=3600))
    await fake.waiting["a"].wait()
    await enqueue_texts("a", 1, fake.clock.now(), start=first, prefix="more")
    sender.wake()
    await _until(second_ran)
    fake.gates["a"].set()
    await _until(lambda: len(fake.delivered) >= first)
    return loop


async def test_the_loop_looks_again_at_a_channel_it_left_to_another_pass_without_a_scan(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row written for a channel while a pass sends on it is found when that pass ends,
    without another wake-up and without scanning every due row again: scans come with
    wake-ups (new rows) and timed waits (rows due by time), not with every pass."""
    fake = GatedPlatform(ManualClock(T0))
    scans = 0
    scan = outbox_store.due_channels

    async def counted(now: datetime) -> list[str]:
        nonlocal scans
        scans += 1
        return await scan(now)

    monkeypatch.setattr(outbox_store, "due_channels", counted)
    sender = sender_for(fake)
    gate = Gate()
    loop = await _left_to_another_pass(fake, sender, gate, 1, lambda: scans >= 2)
    await _until(lambda: len(fake.delivered) >= 2)
    await gate.stop([loop], grace=5)
    assert [m.text.split("\n")[0] for _, m in fake.delivered] == ["a 第0条", "a 第1条"]
    assert scans == 2


async def test_the_loop_waits_for_a_channel_held_back_by_its_rate(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A channel left to another pass, whose window that pass then fills, waits for its window
    (its hint), not for the loop to look at it again and again; then it goes."""
    clock = ManualClock(T0)
    fake = GatedPlatform(clock)
    sender = sender_for(fake, group_rate_per_minute=2)
    passes = 0
    one_pass = sender._pass

    async def counted(taken: asyncio.Event | None, scan: bool) -> Any:
        nonlocal passes
        passes += 1
        return await one_pass(taken, scan)

    monkeypatch.setattr(sender, "_pass", counted)
    gate = Gate()
    loop = await _left_to_another_pass(fake, sender, gate, 2, lambda: passes >= 2)
    before = passes
    await asyncio.sleep(0.3)
    assert passes - before <= 2
    assert len(fake.delivered) == 2  # the third waits for the window
    clock.advance(timedelta(seconds=61))
    sender.wake()
    await _until(lambda: len(fake.delivered) >= 3)
    await gate.stop([loop], grace=5)
    assert [m.text.split("\n")[0] for _, m in fake.delivered] == [f"a 第{i}条" for i in range(3)]


async def test_an_alert_that_fails_is_not_alerted_about(database: str) -> None:
    """Everything fails for good, the admins' private chat too: the text's alert fails and no
    alert about the alert is written (no chain of alerts)."""
    clock = ManualClock(T0)
    fake = FakePlatform(clock, behaviour=lambda m: "permanent")
    await enqueue_texts("gone", 1, clock.now())
    admin = CommitteeAdmin("wecom", "corp", "liu", "刘老师")
    sender = Sender([fake], clock=clock, settings=DeliverySettings(), committee_admins=[admin])
    for _ in range(4):
        await sender.run_once()
    rows = await outbox_store.outbox_rows()
    assert [(r.kind.value, r.state.value) for r in rows] == [
        ("notice", "failed"),
        ("alert", "failed"),
    ]


async def test_failed_passes_back_off_instead_of_running_on(
    database: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """With the disk full every pass failed at once and the loop ran 19 passes a second, each
    logging a traceback onto the full disk; now each failed pass waits twice as long."""
    clock = ManualClock(T0)
    fake = FakePlatform(clock)
    await enqueue_texts("a", 1, clock.now())
    sender = sender_for(fake)
    tries = 0

    async def full(*_: object, **__: object) -> None:
        nonlocal tries
        tries += 1
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(sender, "_run_once", full)
    loop = asyncio.create_task(sender.run(idle=0.01))
    await asyncio.sleep(1.2)
    loop.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await loop
    assert 1 <= tries <= 3  # 0.5 s, then 1 s: two or three passes, not twenty
    said = [r for r in caplog.records if r.name == "bot.outbox" and "pass failed" in r.message]
    assert [(r.levelname, r.exc_info) for r in said] == [("WARNING", None)]  # the first only


class SlowPlatform(FakePlatform):
    """Each send takes `seconds` of real time (a robot answering slowly)."""

    def __init__(self, clock: ManualClock, seconds: float) -> None:
        super().__init__(clock)
        self.seconds = seconds

    def merge(self, first: OutgoingMessage, then: OutgoingMessage) -> OutgoingMessage | None:
        return None  # one by one

    async def send(self, message: OutgoingMessage) -> None:
        await asyncio.sleep(self.seconds)
        await super().send(message)


async def test_a_long_pass_records_its_sends_as_it_goes(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass that sends for a long time (a rate-limited channel, a slow robot) had recorded
    its sends only at its end: an instance killed a minute into it left every reminder it had
    delivered to be sent again. Sends are recorded once the oldest waiting is a second old."""
    clock = ManualClock(T0)
    fake = SlowPlatform(clock, 0.4)
    await enqueue_texts("a", 5, clock.now())
    batches: list[int] = []
    real = outbox_store.record_sent

    async def counted(items: Sequence[outbox_store.Sent], instance: str) -> None:
        batches.append(len(items))
        await real(items, instance)

    monkeypatch.setattr(outbox_store, "record_sent", counted)
    assert (await sender_for(fake).run_once()).sent == 5
    # written during the pass ([4, 1] here; a loaded machine's slower sends split earlier),
    # not all at its end ([5])
    assert sum(batches) == 5
    assert len(batches) >= 2, batches
