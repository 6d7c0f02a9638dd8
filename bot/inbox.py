"""Answer the platform first, apply right after: the inbound queue.

    adapter -> Inbox.submit(message) -> batched INSERT (group commit) -> the callback is answered
    worker  -> claim (each free chat's oldest pending rows) -> router.dispatch(inline=False) -> outbox
            -> mark done -> the sender delivers the replies through the platform's reply channel

The worker commits a round's messages together as well: one transaction holds each message's
unit of work (its dedupe row with its effect, so exactly-once holds per message; no savepoint,
`repo.shared_round`: a command refused after it wrote breaks the round) and the round's
"done" marks, so a round of many societies costs one commit. A round ends early
when it has run `round_budget` seconds, or, on SQLite (one writer), when messages wait at the
door (which cannot commit while the round writes) and the round has run `door_yield` seconds: a
round that gave way at once applied one message per commit under a steady stream of callbacks,
and fell behind it. When anything escapes a message's
application in a shared round, the whole round is rolled back and its messages are applied one
by one, each in its own transaction, with the retry rules below.

Why: WeCom retries a callback it has not had an answer to within a few seconds, DingTalk's Stream
gateway redelivers an unacknowledged frame, and a busy database (the half-year meeting season,
many societies voting at once) must not turn into platform retries. The message is durable before
the platform hears "ok", so nothing is lost in a crash; the router's processed-message row,
written with the effect, still guarantees each message is applied once.

A process may run several workers (`lanes`: two on PostgreSQL, one on SQLite): each claims under
a name of its own, so they take different chats, as instances sharing PostgreSQL do.

A chat's messages are applied in the order they arrived (a member who votes 赞成 then changes
to 反对 ends with 反对), also when several instances share PostgreSQL.

Failures (at-least-once to the effect): a message whose application fails stays pending and is
tried again with backoff until it applies: a locked or busy database, a lost connection, a
timeout or a full disk must never turn an acknowledged message into 「没有生效」. The router lets
such transient faults through (storage/faults.py says which are), so nothing is answered for
them; only refusals (governance, usage) and bugs are answered, once. A retry after an effect that
did commit is caught by the processed-message row and says nothing: applied exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.adapters.base import RetryLater
from bot.clock import Clock
from bot.events import (
    IncomingMessage,
    OutgoingMessage,
    Platform,
    chat_from_json,
    chat_to_json,
    user_from_json,
    user_to_json,
)
from bot.gate import Gate
from bot.group_commit import GroupCommit
from storage import db, repo
from storage import inbox as store
from storage.faults import is_transient

logger = logging.getLogger(__name__)

Apply = Callable[[IncomingMessage], Awaitable[None]]


def encode_message(message: IncomingMessage) -> str:
    body: dict[str, Any] = {
        "platform": message.platform.value,
        "chat": chat_to_json(message.chat),
        "sender": user_to_json(message.sender),
        "text": message.text,
        "message_id": message.message_id,
        "received_at": message.received_at.isoformat(),
        "mentions_bot": message.mentions_bot,
        "mentions": [user_to_json(u) for u in message.mentions],
        "names_in_text": message.names_in_text,
        "reply_handle": message.reply_handle,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def decode_message(payload: str) -> IncomingMessage:
    raw = json.loads(payload)
    return IncomingMessage(
        platform=Platform(raw["platform"]),
        chat=chat_from_json(raw["chat"]),
        sender=user_from_json(raw["sender"]),
        text=raw["text"],
        message_id=raw["message_id"],
        received_at=datetime.fromisoformat(raw["received_at"]),
        mentions_bot=bool(raw["mentions_bot"]),
        mentions=tuple(user_from_json(u) for u in raw["mentions"]),
        # A row queued before the flag was stored: WeCom was then the one platform that named
        # people only in the text.
        names_in_text=bool(raw.get("names_in_text", raw["platform"] == Platform.WECOM.value)),
        reply_handle=raw["reply_handle"],
    )


def message_key(message: IncomingMessage) -> str:
    """The queue's unique key (255 characters at most: a longer one names the id by digest)."""
    mid = message.message_id or f"local-{uuid.uuid4().hex}"
    key = f"{message.platform.value}:{message.chat.corp_id}:{mid}"
    if len(key) > 255:
        digest = hashlib.sha256(key.encode()).hexdigest()
        key = f"{message.platform.value}:sha256:{digest}"
    return key


def chat_key(message: IncomingMessage) -> str:
    chat = message.chat
    return f"{chat.platform.value}:{chat.corp_id}:{chat.kind.value}:{chat.chat_id}"


class InboxUnavailable(RetryLater):
    """The queue could not be written: the adapter answers so that the platform retries."""


# One writer (SQLite): how long a round goes on while messages wait at the door. In
# benchmarks/dingtalk_callbacks.py a round that gave way at once applied one message in 50-250 ms
# during the load (it first waited for the door to be idle), and at half the maximum rate the
# queue grew without end; 25 ms is about 20 ballots.
DOOR_YIELD_S = 0.025


class Inbox:
    def __init__(
        self,
        *,
        clock: Clock,
        instance: str,
        apply: Apply,
        after_batch: Callable[[], Awaitable[None]] | None = None,
        batch: int = 64,
        lease: timedelta = timedelta(seconds=60),
        idle: float = 5.0,
        gate: Gate | None = None,
        backoff: tuple[float, float] = (0.05, 5.0),
        monotonic: Callable[[], float] = time.monotonic,
        round_budget: float = 0.2,
        door_yield: float = DOOR_YIELD_S,
        hold: float | None = None,
        lanes: int = 1,
    ) -> None:
        """`backoff`: (first, longest) pause in seconds before a failed message (or a failed
        pass) is tried again; it doubles per failure. A round of several messages is applied in
        one transaction (group commit) and ends after `round_budget` seconds of wall time: long
        enough for a full claim on PostgreSQL, where each message waits for a few round trips
        while the door and the sender share the CPU (50 ms gave rounds of about 6), short enough
        that a round's first effect is committed well within a second. With one writer, a round
        gives way to messages waiting at the door once it has run `door_yield` seconds (what a
        callback may wait for the round, besides the round's commit). A pass goes on with the
        rows it claimed, round after round, for up to `hold` seconds (half the lease unless
        given), then gives back what it did not get to.

        `lanes`: workers of this instance that claim and apply at the same time, each under its
        own name, so they take disjoint chats as instances do (`storage/inbox.claim`). On
        PostgreSQL a round spends most of its time waiting for round trips; while one lane
        waits, another applies. SQLite takes one writer: one lane there."""
        self.clock = clock
        self.instance = instance
        self._apply = apply
        self._after_batch = after_batch
        self.batch = batch
        self.lease = lease
        self.idle = idle
        self.gate = gate or Gate()
        self._door = GroupCommit(self._accept, name="inbox-flush")
        self.backoff = backoff
        self.monotonic = monotonic
        self.round_budget = round_budget
        self.door_yield = door_yield
        self.hold = lease.total_seconds() / 2 if hold is None else hold
        # The lanes claim one at a time: a claim that runs beside another would find the chats
        # that one is taking locked (PostgreSQL: SKIP LOCKED) or not yet marked, and come back
        # empty or, on SQLite, wait for it anyway.
        self._claiming = asyncio.Lock()
        self.lanes = [
            _Lane(self, instance if k == 0 else f"{instance}/{k}") for k in range(max(1, lanes))
        ]
        self.rounds_together = 0  # rounds of several messages applied in one transaction
        self.rounds_split = 0  # such rounds rolled back and applied one by one
        self.passes = 0  # claims that found something to try
        self.alive = False
        self.accepted = 0
        self.applied = 0
        self.retries = 0

    @property
    def busy_since(self) -> float | None:
        """Monotonic time the oldest pass under way started (None: every lane idle): /healthz
        sees a stuck worker."""
        return min((x.busy_since for x in self.lanes if x.busy_since is not None), default=None)

    # -- the door ---------------------------------------------------------------------------

    async def submit(self, message: IncomingMessage) -> bool:
        """Commit the message to the queue; False when it was there already (a redelivery).
        Raises InboxUnavailable when the database cannot take it."""
        row = store.NewInbound(message_key(message), chat_key(message), encode_message(message))
        return await self._door.submit(row)

    async def _accept(self, rows: Sequence[store.NewInbound]) -> list[bool]:
        """One batch at the door (group commit: everything that queued up while the previous
        batch committed); for each row, whether it was new. A message redelivered within the
        batch is inserted once: its first copy is the new one."""
        unique: dict[str, store.NewInbound] = {}
        for row in rows:
            unique.setdefault(row.key, row)
        try:
            new = await store.accept(list(unique.values()), self.clock.now())
        except Exception as exc:
            _log_failure(exc, "inbound queue: cannot commit %d messages", len(rows))
            raise InboxUnavailable(str(exc)) from exc
        self.accepted += len(new)
        fresh = []
        for row in rows:
            fresh.append(row.key in new)
            new.discard(row.key)
        self.wake()
        return fresh

    # -- the workers ------------------------------------------------------------------------

    def wake(self) -> None:
        for lane in self.lanes:
            lane.work.set()

    async def run_once(self) -> int:
        """One pass of every lane at once (`_Lane.run_once`); how many messages were tried. When
        a pass fails, the others still end theirs (a pass cut short mid-round would leave its
        transaction to the cancellation) before the first failure is raised."""
        if len(self.lanes) == 1:
            return await self.lanes[0].run_once()
        results = await asyncio.gather(
            *(lane.run_once() for lane in self.lanes), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return sum(r for r in results if isinstance(r, int))

    async def drain(self) -> int:
        """Apply until nothing is claimable (tests, shutdown, the console)."""
        total = 0
        while n := await self.run_once():
            total += n
        return total

    async def run(self) -> None:
        self.alive = True
        try:
            # A lane's loop outlives every failure of a pass; anything else that escapes one
            # stops them all, and /healthz reports the queue stopped.
            async with asyncio.TaskGroup() as lanes:
                for lane in self.lanes:
                    lanes.create_task(lane.run(), name=f"inbound-queue {lane.name}")
        finally:
            self.alive = False

    async def depth(self) -> int:
        return await store.depth()

    def _round_over(self, started: float) -> bool:
        ran = self.monotonic() - started
        if ran >= self.round_budget:
            return True
        # One writer: the door cannot commit while the round writes.
        return ran >= self.door_yield and self._door.waiting and db.one_writer()

    def _pause(self, failures: int) -> float:
        first, longest = self.backoff
        return float(min(longest, first * 2 ** min(failures - 1, 30)))

    async def _applied(self, n: int) -> None:
        self.applied += n
        if self._after_batch is not None:
            await self._after_batch()


class _Lane:
    """One worker of an Inbox: its claims (under `name`), its failed rows, its passes."""

    def __init__(self, inbox: Inbox, name: str) -> None:
        self.inbox = inbox
        self.name = name
        self.work = asyncio.Event()
        self._one_pass = asyncio.Lock()
        # Failed rows: id -> (failures so far, monotonic time before which it is not retried).
        self._retry: dict[int, tuple[int, float]] = {}
        self._pass_failures = 0
        # Monotonic time the current pass started (None: idle).
        self.busy_since: float | None = None

    async def run_once(self) -> int:
        """Claim and try one round (each chat's oldest messages, in arrival order); return how
        many were tried (a message waiting out its backoff is not tried, nor any later one of
        its chat). A message that fails stays pending and is tried again after its backoff; the
        other chats of the round go on. One pass at a time: a claim does not keep a worker off
        the rows it holds itself, so two passes of one lane (its loop, and `drain` at
        shutdown or in the console) would take the same rows, and on PostgreSQL their claims
        and rounds could lock those rows in opposite orders."""
        async with self._one_pass:
            return await self._pass()

    async def _pass(self) -> int:
        box = self.inbox
        async with box._claiming:
            claimed = await store.claim(
                self.name, box.clock.now(), lease=box.lease, limit=box.batch
            )
        if len(claimed) < box.batch:
            # Every claimable row is in hand: forget failures of rows applied elsewhere.
            ids = {row.id for row in claimed}
            self._retry = {k: v for k, v in self._retry.items() if k in ids}
        ready = self._ready(claimed)
        box.passes += bool(ready)
        tried = 0
        # Round after round on the rows in hand: giving them back and claiming them again after
        # each round would cost a claim's statements every ~200 ms (on PostgreSQL, rounds end by
        # their budget with most of a claim left).
        held_until = box.monotonic() + box.hold
        while len(ready) > 1:
            last = box.monotonic() >= held_until
            applied = await self._apply_together(ready, give_back=last)
            if applied is None:
                box.rounds_split += 1
                break  # the rows of the round rolled back: one by one below
            box.rounds_together += 1
            await box._applied(len(applied))
            tried += len(applied)
            ready = [] if last else ready[len(applied) :]
        done: list[int] = []
        try:
            for row in ready:
                tried += 1
                await box._door.settled()  # a platform waiting for its answer goes first
                message = _decoded(row)
                if message is not None:
                    try:
                        await box._apply(message)
                    except Exception as exc:
                        self._failed(row.id, exc)
                        # The database is likely failing for every message: end the round here.
                        break
                self._retry.pop(row.id, None)
                done.append(row.id)
        finally:
            if done:
                await store.finish(done, box.clock.now())
                await box._applied(len(done))
        return tried

    def _ready(self, claimed: Sequence[store.Claimed]) -> list[store.Claimed]:
        """The claimed rows to try now: not one waiting out its backoff, nor a later one of the
        same chat (that would overtake it)."""
        waiting: set[str] = set()
        ready = []
        for row in claimed:
            if row.chat_key in waiting or self._waiting_out(row.id):
                waiting.add(row.chat_key)
                continue
            ready.append(row)
        return ready

    async def _apply_together(
        self, rows: Sequence[store.Claimed], *, give_back: bool
    ) -> list[int] | None:
        """Apply `rows` in order in one transaction with their "done" marks; the ids applied
        (a prefix of `rows`: the round may end early, and then, with `give_back`, the rest is
        released in the same transaction), or None when the round was rolled back."""
        box = self.inbox
        await box._door.settled()
        started = box.monotonic()
        done: list[int] = []
        messages = [_decoded(row) for row in rows]
        keys = [(x.platform.value, x.chat.corp_id, x.message_id) for x in messages if x is not None]
        try:
            async with repo.shared_round(keys, box.clock.now()):
                for row, message in zip(rows, messages, strict=True):
                    if done and box._round_over(started):
                        break
                    if message is not None:
                        await box._apply(message)
                    done.append(row.id)
                await store.finish(done, box.clock.now())
                if give_back:
                    await store.release([row.id for row in rows[len(done) :]], self.name)
        except Exception as exc:
            _log_failure(
                exc, "inbound queue: a round of %d rolled back; applying one by one", len(rows)
            )
            return None
        for row_id in done:
            self._retry.pop(row_id, None)
        return done

    def _waiting_out(self, row_id: int) -> bool:
        entry = self._retry.get(row_id)
        return entry is not None and entry[1] > self.inbox.monotonic()

    def _failed(self, row_id: int, exc: Exception) -> None:
        box = self.inbox
        failures = self._retry.get(row_id, (0, 0.0))[0] + 1
        pause = box._pause(failures)
        self._retry[row_id] = (failures, box.monotonic() + pause)
        box.retries += 1
        _log_failure(
            exc,
            "inbound queue: message %s failed (%d times); it stays pending, next try in %.2f s",
            row_id,
            failures,
            pause,
        )

    def next_retry_in(self) -> float | None:
        """Seconds until the first failed message may be tried again (None: none waiting)."""
        if not self._retry:
            return None
        return max(0.0, min(at for _, at in self._retry.values()) - self.inbox.monotonic())

    async def run(self) -> None:
        box = self.inbox
        while not box.gate.closing():
            self.work.clear()
            self.busy_since = box.monotonic()
            try:
                async with box.gate.passing():
                    n = await self.run_once()
                self._pass_failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Claiming or finishing failed (the database is away): the rows stay
                # pending; wait a little longer each time.
                self._pass_failures += 1
                box.retries += 1
                _log_failure(exc, "inbound queue: a pass failed; the rows stay for the next")
                n = 0
                await asyncio.sleep(box._pause(self._pass_failures))
            finally:
                self.busy_since = None
            if n:
                continue
            wait = box.idle
            retry = self.next_retry_in()
            if retry is not None:
                wait = min(wait, retry)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self.work.wait()


def _decoded(row: store.Claimed) -> IncomingMessage | None:
    """The row's message; None (logged) for a row that cannot be read, which is dropped."""
    try:
        return decode_message(row.payload)
    except (ValueError, KeyError, TypeError, IndexError):
        logger.error("inbound queue: row %s is unreadable; dropped", row.id)
        return None


def _log_failure(exc: BaseException, what: str, *args: object) -> None:
    """A transient fault is expected and retried: one line, no traceback. Anything else is a bug
    worth its traceback."""
    if is_transient(exc):
        logger.warning(what + ": %s", *args, f"{type(exc).__name__}: {exc}")
    else:
        logger.error(what, *args, exc_info=exc)


def make_apply(
    dispatch: Callable[..., Awaitable[list[OutgoingMessage]]],
    enqueue: Callable[[Sequence[OutgoingMessage]], Awaitable[None]],
) -> Apply:
    """Apply one queued message: the router writes its replies to the outbox with the effect;
    what it returns (not understood, an error) is written to the outbox here, in the same
    transaction as the round. Nothing is sent from inside the round: the worker's `after_batch`
    wakes the sender once the round has committed."""

    async def apply(message: IncomingMessage) -> None:
        loose = await dispatch(message, inline=False)
        if loose:
            await enqueue(loose)

    return apply
