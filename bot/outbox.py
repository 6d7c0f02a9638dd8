"""The sender: drains the outbox channel by channel through the adapters.

outbox row (pending) -> claim channel lease -> rate window -> claim rows -> adapter.send
    ok         -> sent
    transient  -> pending again after exponential backoff with jitter (bounded attempts)
    throttled  -> the whole channel pauses (other channels go on)
    permanent  -> failed; the committee admins are told through the outbox
A timeout may have delivered the message: the row is marked ambiguous and every copy carries
the same short id (shown as #ID in tortoise-shell brackets), so a reader recognises a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.adapters.base import ChatAdapter, SendError
from bot.clock import Clock
from bot.config import CommitteeAdmin, DeliverySettings
from bot.events import CardKind, ChatKind, ChatRef, OutgoingMessage, Platform, UserRef, VoteCard
from storage import outbox as store

logger = logging.getLogger(__name__)

WINDOW = timedelta(seconds=60)
ID_OPEN, ID_CLOSE = "\u3014#", "\u3015"  # the visible id: tortoise-shell brackets
NO_ID_PLATFORMS = frozenset({Platform.CONSOLE})  # nothing ambiguous there: no id noise


# ---------------------------------------------------------------------------------------------
# Channels and (de)serialisation


def channel_for(message: OutgoingMessage) -> str:
    """Which rate-limited pipe a message goes through: a group's robot webhook, or the
    platform app's 1:1 messages."""
    chat = message.chat
    if message.private_to is not None or chat.kind is ChatKind.PRIVATE:
        return f"{chat.platform.value}:{chat.corp_id}:app"
    return f"{chat.platform.value}:{chat.corp_id}:group:{chat.chat_id}"


def channel_kind(channel: str) -> str:
    return "app" if channel.endswith(":app") else "group"


def channel_platform(channel: str) -> Platform:
    return Platform(channel.split(":", 1)[0])


def _user(u: UserRef) -> list[str]:
    return [u.platform.value, u.corp_id, u.user_id, u.name]


def _from_user(raw: Sequence[str]) -> UserRef:
    return UserRef(Platform(raw[0]), raw[1], raw[2], raw[3])


def dump_message(message: OutgoingMessage) -> str:
    chat = message.chat
    card = message.card
    body: dict[str, Any] = {
        "chat": [chat.platform.value, chat.corp_id, chat.chat_id, chat.kind.value],
        "text": message.text,
        "mentions": [_user(u) for u in message.mentions],
        "in_reply_to": message.in_reply_to,
        "reply_handle": message.reply_handle,
        "private_to": None if message.private_to is None else _user(message.private_to),
        "card": None
        if card is None
        else {
            "kind": CardKind.VOTE.value,
            "vote_id": card.vote_id,
            "title": card.title,
            "summary": card.summary,
            "secret": card.secret,
            "closed": card.closed,
        },
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True)


def load_message(text: str) -> OutgoingMessage:
    body = json.loads(text)
    p, corp, chat_id, kind = body["chat"]
    card = body.get("card")
    return OutgoingMessage(
        chat=ChatRef(Platform(p), corp, chat_id, ChatKind(kind)),
        text=body["text"],
        mentions=tuple(_from_user(u) for u in body.get("mentions", ())),
        card=None
        if card is None
        else VoteCard(
            vote_id=card["vote_id"],
            title=card["title"],
            summary=card["summary"],
            secret=card["secret"],
            closed=card["closed"],
        ),
        in_reply_to=body.get("in_reply_to", ""),
        reply_handle=body.get("reply_handle", ""),
        private_to=None if body.get("private_to") is None else _from_user(body["private_to"]),
    )


def with_short_id(message: OutgoingMessage, short_id: str) -> OutgoingMessage:
    if message.chat.platform in NO_ID_PLATFORMS:
        return message
    return replace(message, text=f"{message.text}\n{ID_OPEN}{short_id}{ID_CLOSE}")


def to_outbox(
    messages: Sequence[OutgoingMessage],
    *,
    key_prefix: str,
    kind: str = "notice",
    society_id: int | None = None,
    channel_of: Callable[[OutgoingMessage], str] = channel_for,
) -> list[store.NewOutbox]:
    return [
        store.NewOutbox(
            dedupe_key=f"{key_prefix}:{i}",
            channel=channel_of(msg),
            payload=dump_message(msg),
            kind=kind,
            society_id=society_id,
        )
        for i, msg in enumerate(messages)
    ]


# ---------------------------------------------------------------------------------------------
# Classification and backoff


def classify(exc: BaseException) -> SendError:
    """Every failure of adapter.send becomes a SendError."""
    if isinstance(exc, SendError):
        return exc
    if isinstance(exc, TimeoutError):
        return SendError("transient", "timeout", "timed out", ambiguous=True)
    if isinstance(exc, ConnectionError | OSError):
        return SendError("transient", "reset", str(exc) or type(exc).__name__)
    return SendError("transient", type(exc).__name__, str(exc))


def backoff(attempt: int, settings: DeliverySettings, rng: random.Random) -> timedelta:
    """Exponential with full jitter over the upper half: base * 2^(attempt-1), capped."""
    ceiling = min(settings.backoff_cap_seconds, settings.backoff_base_seconds * 2 ** (attempt - 1))
    return timedelta(seconds=ceiling * (0.5 + rng.random() / 2))


# ---------------------------------------------------------------------------------------------
# The sender


@dataclass
class Metrics:
    """Counters exposed at /metrics."""

    counters: dict[str, int] = field(default_factory=dict)

    def inc(self, name: str, amount: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + amount


@dataclass(frozen=True, slots=True)
class DrainResult:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    paused: tuple[str, ...] = ()
    # The earliest instant a blocked channel (paused, or its rate window full) may send again.
    blocked_until: datetime | None = None

    def __add__(self, other: DrainResult) -> DrainResult:
        blocked = [b for b in (self.blocked_until, other.blocked_until) if b is not None]
        return DrainResult(
            self.sent + other.sent,
            self.failed + other.failed,
            self.retried + other.retried,
            self.paused + other.paused,
            min(blocked) if blocked else None,
        )


class Sender:
    """Sends outbox rows. `run_once(now)` is one pass over the due channels; `run()` loops,
    woken by `wake()` (after each dispatch, by the scheduler) or by the next due instant."""

    def __init__(
        self,
        adapters: Sequence[ChatAdapter],
        *,
        clock: Clock,
        settings: DeliverySettings,
        committee_admins: Sequence[CommitteeAdmin] = (),
        rng: random.Random | None = None,
        instance: str | None = None,
        metrics: Metrics | None = None,
        send_timeout: float = 15.0,
        concurrency: int = 4,
    ) -> None:
        self._adapters: Mapping[Platform, ChatAdapter] = {a.platform: a for a in adapters}
        self.clock = clock
        self.settings = settings
        self.admins = tuple(committee_admins)
        self.rng = rng or random.Random()
        self.instance = instance or f"sender-{uuid.uuid4().hex[:12]}"
        self.metrics = metrics or Metrics()
        self.send_timeout = send_timeout
        self.concurrency = concurrency  # channels drained at once (each channel stays in order)
        self._event = asyncio.Event()
        self.alive = False
        self.last_pass: datetime | None = None
        self.last_result = DrainResult()
        self._blocked: dict[str, datetime] = {}

    def wake(self) -> None:
        self._event.set()

    def limit_for(self, channel: str) -> int:
        """Sends allowed per sliding minute; 0 means no limit (the console)."""
        if channel_platform(channel) is Platform.CONSOLE:
            return 0
        if channel_kind(channel) == "app":
            return self.settings.app_rate_per_minute
        return self.settings.group_rate_per_minute

    async def run_once(self) -> DrainResult:
        """Drain every due channel as far as its rate window allows, now."""
        now = self.clock.now()
        # A local hint: channels known to be paused or at their rate limit are not even claimed
        # until then (the database still decides; a hint from a clock jump is dropped).
        horizon = now + timedelta(seconds=self.settings.throttle_pause_seconds + 60)
        hints = {c: t for c, t in self._blocked.items() if now < t <= horizon}
        channels = [c for c in await store.due_channels(now) if c not in hints]
        if self.concurrency <= 1 or len(channels) <= 1:
            results = [await self.drain_channel(channel) for channel in channels]
        else:
            gate = asyncio.Semaphore(self.concurrency)

            async def one(channel: str) -> DrainResult:
                async with gate:
                    return await self.drain_channel(channel)

            results = list(await asyncio.gather(*(one(c) for c in channels)))
        total = DrainResult()
        for channel, result in zip(channels, results, strict=True):
            total = total + result
            if result.blocked_until is not None:
                hints[channel] = result.blocked_until
        self._blocked = hints
        if hints:
            total = total + DrainResult(blocked_until=min(hints.values()))
        self.last_pass = now
        self.last_result = total
        return total

    async def drain_channel(self, channel: str) -> DrainResult:
        now = self.clock.now()
        lease = timedelta(seconds=max(60.0, self.send_timeout * 4))
        state = await store.claim_channel(channel, self.instance, now, lease)
        if state is None:
            return DrainResult()  # another instance drains it
        sent = failed = retried = 0
        paused: tuple[str, ...] = ()
        blocked: datetime | None = None
        try:
            if state.paused_until is not None and state.paused_until > now:
                return DrainResult(paused=(channel,), blocked_until=state.paused_until)
            limit = self.limit_for(channel)
            budget = 1000
            if limit > 0:
                window = await store.recent_attempts(channel, now - WINDOW)
                budget = max(0, limit - len(window))
                if budget == 0:
                    return DrainResult(blocked_until=window[-limit] + WINDOW)
            rows = await store.claim_messages(channel, self.instance, now, budget, lease)
            for index, row in enumerate(rows):
                outcome = await self._send_one(row)
                if outcome == "sent":
                    sent += 1
                elif outcome == "failed":
                    failed += 1
                elif outcome == "throttled":
                    paused = (channel,)
                    blocked = now + timedelta(seconds=self.settings.throttle_pause_seconds)
                    await store.release_messages([r.id for r in rows[index + 1 :]], self.instance)
                    break
                else:
                    retried += 1
        finally:
            await store.release_channel(channel, self.instance)
        if limit > 0 and not paused and len(rows) == budget:
            window = await store.recent_attempts(channel, self.clock.now() - WINDOW)
            if len(window) >= limit:
                blocked = window[-limit] + WINDOW
        return DrainResult(sent, failed, retried, paused, blocked)

    async def _send_one(self, row: store.OutboxRow) -> str:
        message = load_message(row.payload)
        adapter = self._adapters.get(message.chat.platform)
        now = self.clock.now()
        if adapter is None:
            await store.record_attempt(
                row,
                now=now,
                outcome="permanent",
                code="no_adapter",
                ambiguous=False,
                detail=f"no adapter for {message.chat.platform.value}",
                instance=self.instance,
                state="failed",
            )
            self.metrics.inc("send_failures")
            logger.warning("outbox %s: no adapter for %s", row.id, message.chat.platform)
            return "failed"
        try:
            await asyncio.wait_for(
                adapter.send(with_short_id(message, row.short_id)), self.send_timeout
            )
        except Exception as exc:
            return await self._failed(row, message, classify(exc))
        await store.record_attempt(
            row,
            now=self.clock.now(),
            outcome="sent",
            code="",
            ambiguous=False,
            detail="",
            instance=self.instance,
            state="sent",
        )
        self.metrics.inc("sent")
        return "sent"

    async def _failed(self, row: store.OutboxRow, message: OutgoingMessage, err: SendError) -> str:
        now = self.clock.now()
        s = self.settings
        self.metrics.inc("send_failures")
        common = {
            "now": now,
            "code": err.code,
            "ambiguous": err.ambiguous,
            "detail": str(err),
            "instance": self.instance,
        }
        if err.kind == "throttled":
            until = now + timedelta(seconds=s.throttle_pause_seconds)
            await store.pause_channel(row.channel, until, f"限流 {err.code}")
            await store.record_attempt(
                row,
                outcome="throttled",
                state="pending",
                next_attempt_at=until,
                count_attempt=False,
                **common,  # type: ignore[arg-type]
            )
            logger.warning(
                "channel %s throttled (%s): paused until %s", row.channel, err.code, until
            )
            return "throttled"
        attempts = row.attempts + 1
        if err.kind == "permanent" or attempts >= s.max_attempts:
            await store.record_attempt(row, outcome=err.kind, state="failed", **common)  # type: ignore[arg-type]
            logger.error("outbox %s failed for good (%s %s)", row.id, err.kind, err.code)
            if row.kind != "alert":
                await self._alert(row, message, err)
            return "failed"
        retry_at = now + backoff(attempts, s, self.rng)
        await store.record_attempt(
            row,
            outcome=err.kind,
            state="pending",
            next_attempt_at=retry_at,
            **common,  # type: ignore[arg-type]
        )
        return "retry"

    async def _alert(self, row: store.OutboxRow, message: OutgoingMessage, err: SendError) -> None:
        """Tell the committee admins (through the outbox, like everything else)."""
        target = message.private_to.name if message.private_to else message.chat.chat_id
        preview = message.text.replace("\n", " ")[:40]
        text = (
            f"【消息发送失败】发往「{target}」的消息{ID_OPEN}{row.short_id}{ID_CLOSE}无法送达"
            f"（错误码 {err.code or err.kind}）。内容：{preview}…… 请检查机器人配置或群机器人是否被移除。"
        )
        alerts = []
        for admin in self.admins:
            user = UserRef(Platform(admin.platform), admin.corp_id, admin.user_id, admin.name)
            chat = ChatRef(user.platform, user.corp_id, user.user_id, ChatKind.PRIVATE)
            alerts.append(OutgoingMessage(chat=chat, text=text, private_to=user))
        items = to_outbox(
            alerts, key_prefix=f"alert:{row.id}", kind="alert", society_id=row.society_id
        )
        await store.enqueue(items, self.clock.now())

    async def next_due(self) -> datetime | None:
        return await store.next_attempt_at()

    async def run(self, *, idle: float = 30.0, sleep: Callable[[float], Any] | None = None) -> None:
        """Loop until cancelled: drain, then wait for a wake-up or the next due instant."""
        self.alive = True
        try:
            while True:
                self._event.clear()
                try:
                    await self.run_once()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("outbox pass failed")
                wait = idle
                nxt = await self._safe_next_due()
                blocked = self.last_result.blocked_until
                if nxt is not None and (self.last_result.sent or self.last_result.retried):
                    pass  # progress: look again right away if something is due
                elif nxt is not None and blocked is not None:
                    nxt = max(nxt, blocked)
                if nxt is not None:
                    wait = max(0.05, min(idle, (nxt - self.clock.now()).total_seconds()))
                # asyncio.timeout, not wait_for: wait_for could swallow a cancellation that
                # arrived together with the event (CPython gh-86296) and stop() would hang.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._event.wait()
        finally:
            self.alive = False

    async def _safe_next_due(self) -> datetime | None:
        try:
            return await self.next_due()
        except Exception:
            logger.exception("outbox: cannot read the next due instant")
            return None
