"""A fake chat platform for the sender: records every delivery with the injected clock's time
and fails on demand (errors, hangs that may or may not have delivered, resets, throttling)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.adapters.base import Feed, SendError, SendErrorKind
from bot.clock import ManualClock
from bot.config import DeliverySettings
from bot.events import ChatKind, ChatRef, OutgoingMessage, Platform
from bot.outbox import Sender, to_outbox
from storage import outbox as outbox_store

CORP = "corp"


@dataclass
class FakePlatform:
    clock: ManualClock
    platform: Platform = Platform.WECOM
    # message -> "ok" | "drop" | "error" | "hang" | "reset" | "throttle" | "permanent"
    behaviour: Callable[[OutgoingMessage], str] = lambda _m: "ok"
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    delivered: list[tuple[datetime, OutgoingMessage]] = field(default_factory=list)
    calls: list[tuple[datetime, str, str]] = field(default_factory=list)  # (at, chat, outcome)
    edits_cards = True

    async def start(self, feed: Feed) -> None:
        pass

    async def close(self) -> None:
        pass

    def merge(self, first: OutgoingMessage, then: OutgoingMessage) -> OutgoingMessage | None:
        return None  # one by one

    async def send(self, message: OutgoingMessage) -> None:
        outcome = self.behaviour(message)
        self.calls.append((self.clock.now(), message.chat.chat_id, outcome))
        match outcome:
            case "ok":
                self.delivered.append((self.clock.now(), message))
            case "drop":  # errcode 0, yet nobody ever sees it (T17)
                pass
            case "error":
                raise SendError(SendErrorKind.TRANSIENT, -1, "system busy")
            case "hang":
                if self.rng.random() < 0.5:  # the platform got it, the answer never came
                    self.delivered.append((self.clock.now(), message))
                raise TimeoutError
            case "reset":
                raise ConnectionResetError("connection reset by peer")
            case "throttle":
                raise SendError(SendErrorKind.THROTTLED, 130101, "send too fast")
            case "permanent":
                raise SendError(SendErrorKind.PERMANENT, 93000, "invalid webhook key")
            case _:
                raise AssertionError(outcome)


def group(chat_id: str) -> ChatRef:
    return ChatRef(Platform.WECOM, CORP, chat_id, ChatKind.GROUP)


async def enqueue_texts(
    chat_id: str, count: int, now: datetime, *, prefix: str = "t", start: int = 0
) -> None:
    messages = [
        OutgoingMessage(chat=group(chat_id), text=f"{chat_id} 第{i}条")
        for i in range(start, start + count)
    ]
    await outbox_store.enqueue(to_outbox(messages, key_prefix=f"{prefix}:{chat_id}"), now)


def sender_for(fake: FakePlatform, **settings: object) -> Sender:
    return Sender(
        [fake],
        clock=fake.clock,
        settings=DeliverySettings(**settings),  # type: ignore[arg-type]
        rng=random.Random(11),
        send_timeout=5.0,
    )


async def drive(sender: Sender, clock: ManualClock, *, step: timedelta, until: datetime) -> None:
    """Run the sender pass by pass, moving the injected clock, until nothing is pending or
    the deadline passes. No sleeps: time is the clock's."""
    while clock.now() <= until:
        await sender.run_once()
        counts = await outbox_store.outbox_counts()
        if not counts.get("pending") and not counts.get("sending"):
            return
        clock.advance(step)


def max_in_window(times: list[datetime], window: timedelta = timedelta(seconds=60)) -> int:
    """The most sends inside any sliding window [t, t + window)."""
    times = sorted(times)
    best = 0
    j = 0
    for i in range(len(times)):
        while times[i] - times[j] >= window:
            j += 1
        best = max(best, i - j + 1)
    return best
