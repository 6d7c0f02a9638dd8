"""The sender: drains the outbox channel by channel through the adapters.

Over 600 lines as one file: the message format and channels (top) and the sender, whose pass,
group drain and loop share one instance's state (busy channels, hints); read top to bottom.

outbox row (pending) -> claim channel lease -> rate window -> claim rows -> adapter.send
    ok         -> sent
    transient  -> pending again after exponential backoff with jitter (bounded attempts)
    throttled  -> the whole channel pauses (other channels go on)
    permanent  -> failed; the committee admins are told through the outbox
A timeout may have delivered the message: the row is marked ambiguous and every copy carries
the same short id (shown as #ID in tortoise-shell brackets), so a reader recognises a duplicate.
A channel's rows waiting together go out as one message where the platform can post them as one
(`ChatAdapter.merge`: DingTalk joins a group's plain texts, a line each with its id): each row is
still sent, retried or failed on its own record.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot import logs
from bot.adapters.base import ChatAdapter, SendError, SendErrorKind
from bot.clock import Clock
from bot.config import CommitteeAdmin, DeliverySettings
from bot.events import (
    BallotAck,
    BallotOutcome,
    CardKind,
    ChatKind,
    ChatRef,
    OutgoingMessage,
    Platform,
    UserRef,
    VoteCard,
    chat_from_json,
    chat_to_json,
    user_from_json,
    user_to_json,
)
from bot.gate import Gate
from bot.metrics import Metrics
from storage import outbox as store
from storage.faults import is_transient, retried
from storage.outbox import OutboxKind, OutboxState

logger = logging.getLogger(__name__)

WINDOW = timedelta(seconds=60)
ID_OPEN, ID_CLOSE = "\u3014#", "\u3015"  # the visible id: tortoise-shell brackets
NO_ID_PLATFORMS = frozenset({Platform.CONSOLE})  # nothing ambiguous there: no id noise


# ---------------------------------------------------------------------------------------------
# Channels and (de)serialisation


def channel_for(message: OutgoingMessage) -> str:
    """Which rate-limited pipe a message goes through: a group's robot webhook, the platform
    app's 1:1 messages, or the answers to a group's messages through the reply handle each
    message brought (DingTalk sessionWebhook, WeCom response_url; what an inline reply uses)."""
    chat = message.chat
    if message.private_to is None and message.reply_handle:
        # an answer in a private chat too: it goes back through that message's own handle, so
        # a secret ballot's receipt does not wait behind the app's rate-limited reminders
        return f"{chat.platform.value}:{chat.corp_id}:reply:{chat.chat_id}"
    if message.private_to is not None or chat.kind is ChatKind.PRIVATE:
        return f"{chat.platform.value}:{chat.corp_id}:app"
    return f"{chat.platform.value}:{chat.corp_id}:group:{chat.chat_id}"


def channel_kind(channel: str) -> str:
    """app | reply | group"""
    if channel.endswith(":app"):
        return "app"
    return "reply" if ":reply:" in channel else "group"


def channel_platform(channel: str) -> Platform:
    return Platform(channel.split(":", 1)[0])


def dump_message(message: OutgoingMessage) -> str:
    chat = message.chat
    card = message.card
    body: dict[str, Any] = {
        "chat": chat_to_json(chat),
        "text": message.text,
        "mentions": [user_to_json(u) for u in message.mentions],
        "in_reply_to": message.in_reply_to,
        "reply_handle": message.reply_handle,
        "private_to": None if message.private_to is None else user_to_json(message.private_to),
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
    if (ack := message.ballot) is not None:
        voter = None if ack.voter is None else user_to_json(ack.voter)
        body["ballot"] = [ack.vote_id, ack.choice, ack.outcome.value, voter]
    return json.dumps(body, ensure_ascii=False, sort_keys=True)


def _load_ballot(raw: list[Any] | None) -> BallotAck | None:
    if raw is None:
        return None
    vote_id, choice, outcome, voter = raw
    who = None if voter is None else user_from_json(voter)
    return BallotAck(vote_id, choice, BallotOutcome(outcome), who)


def load_message(text: str) -> OutgoingMessage:
    body = json.loads(text)
    card = body.get("card")
    return OutgoingMessage(
        chat=chat_from_json(body["chat"]),
        text=body["text"],
        mentions=tuple(user_from_json(u) for u in body.get("mentions", ())),
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
        private_to=None if body.get("private_to") is None else user_from_json(body["private_to"]),
        ballot=_load_ballot(body.get("ballot")),
    )


def with_short_id(message: OutgoingMessage, short_id: str) -> OutgoingMessage:
    """The text with its visible id appended. A card update has no text and stays without one:
    an id alone would go out as a message of its own."""
    if message.chat.platform in NO_ID_PLATFORMS or not message.text:
        return message
    return replace(message, text=f"{message.text}\n{ID_OPEN}{short_id}{ID_CLOSE}")


def card_update_of(message: OutgoingMessage) -> tuple[ChatRef, int] | None:
    """For a card update (a card without text): its card (the chat and the vote), which a later
    update of the same card makes pointless; None for any other message."""
    if message.card is not None and message.is_card_update:
        return (message.chat, message.card.vote_id)
    return None


def superseded(messages: Sequence[OutgoingMessage]) -> set[int]:
    """The positions of the card updates that a later card update of the same card, in the same
    chat, makes pointless: the card shows its last count only, and each update is a call the
    platform rate-limits (DingTalk's card API)."""
    updates: set[int] = set()
    last: dict[tuple[ChatRef, int], int] = {}
    for i, message in enumerate(messages):
        card = card_update_of(message)
        if card is not None:
            updates.add(i)
            last[card] = i
    return updates - set(last.values())


# The most text (UTF-8 bytes) one message carries on each platform, below what its APIs take
# (DingTalk: 15,000 bytes of msgParam for a group send, 20,000 for a session webhook; WeCom:
# 2,048 bytes of text through a group robot's webhook, which had cut the full minutes short),
# with room for the mentions written out and the short id. A longer reply goes out in parts.
TEXT_BUDGET: dict[Platform, int] = {Platform.DINGTALK: 12_000, Platform.WECOM: 1_800}


# The wait after a failed pass, doubled for each failure in a row, and its longest.
PASS_BACKOFF_FIRST = 0.5
PASS_BACKOFF_MAX = 30.0


def in_parts(messages: Sequence[OutgoingMessage]) -> list[OutgoingMessage]:
    """Each message whose text is longer than its platform carries (TEXT_BUDGET) as several, cut
    at line ends, each headed 「（第k/n段）」; the mentions and a card go with the first. A
    DingTalk reply of 31 KB (「纪要 全文」 with long notes) had failed for good, unsent."""
    out: list[OutgoingMessage] = []
    for msg in messages:
        budget = TEXT_BUDGET.get(msg.chat.platform)
        if budget is None or len(msg.text.encode("utf-8")) <= budget:
            out.append(msg)
            continue
        parts = _cut(msg.text, budget - 32)  # the heading's bytes
        for k, part in enumerate(parts, 1):
            first = k == 1
            out.append(
                replace(
                    msg,
                    text=f"（第{k}/{len(parts)}段）\n{part}",
                    mentions=msg.mentions if first else (),
                    card=msg.card if first else None,
                    ballot=msg.ballot if first else None,
                )
            )
    return out


def _cut(text: str, budget: int) -> list[str]:
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line.encode("utf-8")) > budget:  # a line longer than a part: cut inside it
            head = line.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
            if current:
                parts.append(current)
                current = ""
            parts.append(head)
            line = line[len(head) :]
        joined = f"{current}\n{line}" if current else line
        if len(joined.encode("utf-8")) > budget:
            parts.append(current)
            current = line
        else:
            current = joined
    if current:
        parts.append(current)
    return parts


def is_private(message: OutgoingMessage) -> bool:
    """A message to one person (1:1, or the answer in a private chat): what it says is theirs
    alone (a secret ballot's receipt, a login link, a personal reminder)."""
    return message.private_to is not None or message.chat.kind is ChatKind.PRIVATE


def to_outbox(
    messages: Sequence[OutgoingMessage],
    *,
    key_prefix: str,
    kind: OutboxKind = OutboxKind.NOTICE,
    society_id: int | None = None,
    channel_of: Callable[[OutgoingMessage], str] = channel_for,
) -> list[store.NewOutbox]:
    """The messages as outbox rows, each longer one in its parts (`in_parts`: a caller that
    pairs rows with its messages splits them first; parts are not split again)."""
    return [
        store.NewOutbox(
            dedupe_key=f"{key_prefix}:{i}",
            channel=channel_of(msg),
            payload=dump_message(msg),
            kind=kind,
            society_id=society_id,
            private=is_private(msg),
        )
        for i, msg in enumerate(in_parts(messages))
    ]


def private_kind(row: store.OutboxRow, message: OutgoingMessage) -> str:
    """What a private message is, for a notice that must not say what it said."""
    if message.ballot is not None:
        return "私聊消息（投票回执）"
    if row.kind is OutboxKind.REMINDER:
        return "私聊消息（个人提醒）"
    return "私聊消息"


# ---------------------------------------------------------------------------------------------
# Classification and backoff


def classify(exc: BaseException) -> SendError:
    """Every failure of adapter.send becomes a SendError."""
    if isinstance(exc, SendError):
        return exc
    if isinstance(exc, TimeoutError):
        return SendError(SendErrorKind.TRANSIENT, "timeout", "timed out", ambiguous=True)
    if isinstance(exc, ConnectionError | OSError):
        return SendError(SendErrorKind.TRANSIENT, "reset", str(exc) or type(exc).__name__)
    return SendError(SendErrorKind.TRANSIENT, type(exc).__name__, str(exc))


def backoff(attempt: int, settings: DeliverySettings, rng: random.Random) -> timedelta:
    """Exponential with full jitter over the upper half: base * 2^(attempt-1), capped."""
    ceiling = min(settings.backoff_cap_seconds, settings.backoff_base_seconds * 2 ** (attempt - 1))
    return timedelta(seconds=ceiling * (0.5 + rng.random() / 2))


# ---------------------------------------------------------------------------------------------
# The sender


class SendOutcome(StrEnum):
    """What became of one row's attempt."""

    SENT = "sent"
    FAILED = "failed"  # for good: a permanent error, out of attempts, or no adapter
    THROTTLED = "throttled"  # the platform throttled the channel: it pauses, the row waits
    RETRY = "retry"  # pending again after a backoff


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


GROUP_FACTOR = 4  # channels leased and claimed together: concurrency x this
GROUPS_IN_FLIGHT = 2  # while one group reads and claims, the other sends
PASSES_IN_FLIGHT = 2  # while one pass sends, the next takes the channels that came due
RESCAN = timedelta(seconds=1)  # a background pass scans every due row at least this often


@dataclass
class _ChannelOutcome:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    throttled_until: datetime | None = None
    times: list[datetime] = field(default_factory=list)  # of every attempt, for the window


class _Recorder:
    """Successful attempts wait here and are written in one transaction per batch (`size`
    attempts, or the first of them `LATEST` seconds old: a pass held by a rate limit sends for
    a minute). A crash before the write leaves their rows `sending`: once the lease runs out
    they are sent again, marked ambiguous and carrying the same short id (at least once,
    duplicates visible). A write that fails (the database restarting) keeps them for the next
    pass: the messages are out, and forgetting it had sent every one of them again after the
    lease (a 10 s PostgreSQL restart had repeated 139 group replies)."""

    LATEST = 1.0

    def __init__(self, instance: str, handed: set[int], size: int = 200) -> None:
        self.instance = instance
        self.size = size
        self.pending: list[store.Sent] = []
        self.handed = handed  # the sender's: a row recorded here is no longer in doubt
        self._lock = asyncio.Lock()
        self._since = 0.0  # monotonic time of the oldest attempt waiting

    def add(self, item: store.Sent) -> None:
        if not self.pending:
            self._since = time.monotonic()
        self.pending.append(item)

    async def maybe_flush(self) -> None:
        due = len(self.pending) >= self.size or (
            self.pending and time.monotonic() - self._since >= self.LATEST
        )
        if due and not self._lock.locked():
            await self.flush()

    # Pauses before writing a batch again after a transient fault (a pooled connection killed,
    # a busy database): the messages are out, only their record is missing.
    RETRY_PAUSES = (0.05, 0.2, 0.5)

    async def flush(self) -> None:
        async with self._lock:
            while self.pending:
                items, self.pending = self.pending, []
                try:
                    await retried(
                        lambda: store.record_sent(items, self.instance),  # noqa: B023
                        self.RETRY_PAUSES,
                        what=f"outbox: recording {len(items)} sent messages",
                    )
                except BaseException:
                    self.pending[:0] = items  # written by the next pass's flush
                    raise
                self.handed.difference_update(item.row.id for item in items)


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
        self.looped_at: float | None = None
        self.last_pass: datetime | None = None
        self.last_result = DrainResult()
        self._blocked: dict[str, datetime] = {}
        # The channels a pass of this sender is draining: no other pass of it touches them (a
        # pass started by the background loop and one asked for directly, or two overlapping
        # passes, must not both send a row this instance leased).
        self._busy: set[str] = set()
        self._quiet = asyncio.Event()  # set while no pass drains a channel
        self._quiet.set()
        self._sends: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self._scanned: datetime | None = None  # the last pass that scanned every due row
        # Passes that failed in a row (a full disk, a database away) and when the next may
        # start: each waits twice as long, up to PASS_BACKOFF_MAX (they had run 19 a second,
        # each logging a traceback onto the full disk).
        self._failures = 0
        self._retry_at = 0.0
        # Rows handed to an adapter whose outcome is not recorded yet: such a row may have been
        # delivered whatever happened next, so only its lease running out frees it (`_give_back`).
        self._handed: set[int] = set()
        self._recorder: _Recorder | None = None
        # Due channels a pass left alone because another pass was draining them: rows may have
        # come after that pass claimed its own, so a pass without a scan looks at them again.
        self._revisit: set[str] = set()

    def wake(self) -> None:
        self._event.set()

    def limit_for(self, channel: str) -> int:
        """Sends allowed per sliding minute; 0 means no limit (the console)."""
        if channel_platform(channel) is Platform.CONSOLE or channel_kind(channel) == "reply":
            # The console has no limit; answers through a message's own reply handle are not
            # sent through the group's robot and are not held back (as inline replies are not),
            # a platform's throttling error still pauses them.
            return 0
        if channel_kind(channel) == "app":
            return self.settings.app_rate_per_minute
        return self.settings.group_rate_per_minute

    async def run_once(self) -> DrainResult:
        """Drain every due channel as far as its rate window allows, now.

        Channels are taken in groups: one statement leases a group's channels, one reads their
        rate windows, a few claim their due rows; successful attempts are written in batches.
        Each channel still sends in order, one message at a time; channels run concurrently.
        Passes of one sender may overlap (the background loop starts the next one while the
        last sends): a channel is drained by one pass at a time, the others leave it alone. This
        pass waits for a channel another pass is draining, and drains it after."""
        total = DrainResult()
        while True:
            while self._busy:
                await self._quiet.wait()
            result, skipped = await self._pass(None, True)
            total = total + result
            if not skipped:
                return total

    async def _run_once(
        self, taken: asyncio.Event | None = None, *, scan: bool = True
    ) -> DrainResult:
        """One pass, not waiting for channels other passes drain; `taken` is set once it has
        claimed rows to send. Without `scan`, a pass within RESCAN of a full one takes only the
        channels whose window or pause has just ended (where the rows held back wait) and those
        an earlier pass left to another (`_revisit`), sparing the scan of every due row: new
        rows come with a wake-up, rows due by time with the loop's timed wait, and both scan."""
        result, _ = await self._pass(taken, scan)
        return result

    async def _pass(self, taken: asyncio.Event | None, scan: bool) -> tuple[DrainResult, bool]:
        """One pass; also says whether it left a due channel alone (another pass drains it)."""
        if self._recorder is not None and self._recorder.pending:
            await self._recorder.flush()  # sends an earlier pass could not record, first
        now = self.clock.now()
        # A local hint: channels known to be paused or at their rate limit are not even claimed
        # until then (the database still decides; a hint from a clock jump is dropped).
        horizon = now + timedelta(seconds=self.settings.throttle_pause_seconds + 60)
        hinted = self._hinted(now)  # before the hints that ended are dropped
        for channel, until in list(self._blocked.items()):
            if not now < until <= horizon:
                del self._blocked[channel]
        if not scan and not self._scan_due(now):
            due = sorted(hinted)
        else:
            self._scanned = now
            due = await store.due_channels(now)
        # No await between this choice and marking them busy: passes never share a channel.
        channels = [c for c in due if c not in self._blocked and c not in self._busy]
        left = {c for c in due if c in self._busy and c not in self._blocked}
        self._revisit.difference_update(channels)
        self._revisit.update(left)
        self._busy.update(channels)
        if channels:
            self._quiet.clear()
        total = DrainResult()
        size = max(1, self.concurrency) * GROUP_FACTOR
        groups = [channels[start : start + size] for start in range(0, len(channels), size)]
        # Groups overlap (the database work of one while another sends); sends in flight stay
        # within `concurrency` across groups and passes.
        sends = self._send_gate()
        in_flight = asyncio.Semaphore(GROUPS_IN_FLIGHT)

        waiting = list(range(len(groups)))

        async def drain(index: int) -> DrainResult:
            waiting.remove(index)
            group = groups[index]
            try:
                async with in_flight:
                    result, blocked = await self._drain_group(group, sends, taken)
                self._blocked.update(blocked)
                return result
            finally:
                self._free(group)  # another pass may take them now

        try:
            async with asyncio.TaskGroup() as tasks:
                running = [tasks.create_task(drain(index)) for index in range(len(groups))]
        finally:
            for index in waiting:  # cancelled before it started
                self._free(groups[index])
        for task in running:
            total = total + task.result()
        if self._blocked:
            total = total + DrainResult(blocked_until=min(self._blocked.values()))
        self.last_pass = now
        self.last_result = total
        return total, bool(left)

    def _free(self, channels: Sequence[str]) -> None:
        self._busy.difference_update(channels)
        if not self._busy:
            self._quiet.set()

    def _send_gate(self) -> asyncio.Semaphore:
        """The sends in flight across this sender's passes (one semaphore per event loop)."""
        loop = asyncio.get_running_loop()
        if self._sends is None or self._sends[0] is not loop:
            self._sends = (loop, asyncio.Semaphore(max(1, self.concurrency)))
        return self._sends[1]

    async def _drain_group(
        self,
        group: Sequence[str],
        sends: asyncio.Semaphore,
        taken: asyncio.Event | None = None,
    ) -> tuple[DrainResult, dict[str, datetime]]:
        now = self.clock.now()
        lease = timedelta(seconds=max(60.0, self.send_timeout * 4))
        held = await store.claim_channels(group, self.instance, now, lease)
        if not held:
            return DrainResult(), {}  # other instances drain them
        blocked: dict[str, datetime] = {}
        paused: list[str] = []
        budgets: dict[str, int] = {}
        if self._recorder is None or self._recorder.instance != self.instance:
            self._recorder = _Recorder(self.instance, self._handed)
        recorder = self._recorder
        try:
            limited = [c.channel for c in held if self.limit_for(c.channel) > 0]
            windows = await store.window_of(limited, now - WINDOW) if limited else {}
            for state in held:
                if state.paused_until is not None and state.paused_until > now:
                    paused.append(state.channel)
                    blocked[state.channel] = state.paused_until
                    continue
                limit = self.limit_for(state.channel)
                budget = 1000
                if limit > 0:
                    count, oldest = windows.get(state.channel, (0, now))
                    budget = max(0, limit - count)
                    if budget == 0:
                        # Free again once the oldest attempt leaves the window (a lower bound
                        # if the window holds more than `limit`: the next pass re-reads it).
                        blocked[state.channel] = oldest + WINDOW
                        continue
                budgets[state.channel] = budget
            rows = await store.claim_batch(budgets, self.instance, now, lease)
            if rows and taken is not None:
                taken.set()
            by_channel: dict[str, list[store.OutboxRow]] = {}
            for row in rows:
                by_channel.setdefault(row.channel, []).append(row)
            outcomes: dict[str, _ChannelOutcome] = {}

            async def one(channel: str, mine: list[store.OutboxRow]) -> None:
                async with sends:
                    outcomes[channel] = await self._send_rows(channel, mine, recorder)

            try:
                async with asyncio.TaskGroup() as tasks:
                    for channel, mine in by_channel.items():
                        tasks.create_task(one(channel, mine))
            finally:
                await recorder.flush()
        except Exception:
            await self._give_back([c.channel for c in held])
            raise
        finally:
            await store.release_channels([c.channel for c in held], self.instance)
        sent = failed = retried = 0
        for channel, out in outcomes.items():
            sent += out.sent
            failed += out.failed
            retried += out.retried
            if out.throttled_until is not None:
                paused.append(channel)
                blocked[channel] = out.throttled_until
                continue
            limit = self.limit_for(channel)
            if limit > 0:
                count, oldest = windows.get(channel, (0, now))
                if count + len(out.times) >= limit:
                    # The window's first slot to free: an earlier attempt if any, else the
                    # attempt `limit` places before the last one of this pass.
                    first = oldest if count else out.times[-limit]
                    blocked[channel] = first + WINDOW
        return DrainResult(sent, failed, retried, tuple(paused)), blocked

    async def _give_back(self, channels: Sequence[str]) -> None:
        """After a failed drain: the rows this instance holds in `channels` and never handed to
        an adapter (`_handed`) go back to pending, for the next pass (a lost connection may have
        failed the claim's answer after its commit, or a write before the sends). Left
        `sending`, they waited out their lease, a minute, and were then sent as ambiguous. Best
        effort: should this fail too, the lease still runs out."""
        try:
            await retried(
                lambda: store.give_back(channels, self.instance, keep=self._handed),
                _Recorder.RETRY_PAUSES,
                what="outbox: giving back the rows of a failed pass",
            )
        except Exception:
            logger.exception("outbox: rows of a failed pass stay leased until the lease ends")

    async def _send_rows(
        self, channel: str, rows: Sequence[store.OutboxRow], recorder: _Recorder
    ) -> _ChannelOutcome:
        """One channel's claimed rows, in order, but a card update followed by a later one of
        the same card (`superseded`); a throttling answer stops the channel."""
        out = _ChannelOutcome()
        batch = [(row, load_message(row.payload)) for row in rows]
        stale = superseded([message for _, message in batch])
        if stale:
            await store.record_superseded([batch[i][0].id for i in stale], self.instance)
            batch = [item for i, item in enumerate(batch) if i not in stale]
        index = 0
        while index < len(batch):
            run, merged = self._merged(batch, index)
            if len(run) == 1:
                outcomes = [await self._send_one(run[0][0], recorder, run[0][1])]
            else:
                outcomes = await self._send_merged(run, recorder, merged)
            index += len(run)
            out.times.append(self.clock.now())
            out.sent += outcomes.count(SendOutcome.SENT)
            out.failed += outcomes.count(SendOutcome.FAILED)
            out.retried += outcomes.count(SendOutcome.RETRY)
            if SendOutcome.THROTTLED in outcomes:
                out.throttled_until = self.clock.now() + timedelta(
                    seconds=self.settings.throttle_pause_seconds
                )
                rest = [r.id for r, _ in batch[index:]]
                await store.release_messages(rest, self.instance)
                break
        return out

    def _merged(
        self, batch: Sequence[tuple[store.OutboxRow, OutgoingMessage]], start: int
    ) -> tuple[list[tuple[store.OutboxRow, OutgoingMessage]], OutgoingMessage]:
        """The rows from `start` that go out as one message (the platform joins them:
        `ChatAdapter.merge`; each part keeps its visible id), and that message."""
        row, message = batch[start]
        run = [(row, message)]
        merged = with_short_id(message, row.short_id)
        adapter = self._adapters.get(message.chat.platform)
        if adapter is None:
            return run, merged
        for row, message in batch[start + 1 :]:
            joined = adapter.merge(merged, with_short_id(message, row.short_id))
            if joined is None:
                break
            run.append((row, message))
            merged = joined
        return run, merged

    async def _send_one(
        self, row: store.OutboxRow, recorder: _Recorder, message: OutgoingMessage
    ) -> SendOutcome:
        """`message`: the row's payload, read."""
        with logs.work(f"out:{row.id}"):
            return await self._send_row(row, recorder, message)

    async def _send_row(
        self, row: store.OutboxRow, recorder: _Recorder, message: OutgoingMessage
    ) -> SendOutcome:
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
                state=OutboxState.FAILED,
            )
            self.metrics.sent(message.chat.platform.value, "permanent", None)
            logger.warning("outbox %s: no adapter for %s", row.id, message.chat.platform)
            return SendOutcome.FAILED
        platform = message.chat.platform.value
        started = time.perf_counter()
        self._handed.add(row.id)
        try:
            # asyncio.timeout, not wait_for: no extra task per message (the sender's hot path).
            async with asyncio.timeout(self.send_timeout):
                await adapter.send(with_short_id(message, row.short_id))
        except Exception as exc:
            err = classify(exc)
            self.metrics.sent(platform, err.kind, time.perf_counter() - started)
            return await self._failed(row, message, err)
        self.metrics.sent(platform, "sent", time.perf_counter() - started)
        recorder.add(store.Sent(row, self.clock.now()))
        await recorder.maybe_flush()
        return SendOutcome.SENT

    async def _send_merged(
        self,
        run: Sequence[tuple[store.OutboxRow, OutgoingMessage]],
        recorder: _Recorder,
        merged: OutgoingMessage,
    ) -> list[SendOutcome]:
        """Several rows sent as one message (`_merged`, ids in the text already): each row is
        sent, or fails with the same error and its own attempts, backoff and alert."""
        adapter = self._adapters[merged.chat.platform]
        platform = merged.chat.platform.value
        started = time.perf_counter()
        self._handed.update(row.id for row, _ in run)
        try:
            with logs.work(f"out:{run[0][0].id}+{len(run) - 1}"):
                async with asyncio.timeout(self.send_timeout):
                    await adapter.send(merged)
        except Exception as exc:
            err = classify(exc)
            self.metrics.sent(platform, err.kind, time.perf_counter() - started)
            outcomes = [await self._failed(row, message, err, alert=False) for row, message in run]
            # One alert for the rows that failed for good: they were one message to one chat.
            gone = [
                part
                for part, outcome in zip(run, outcomes, strict=True)
                if outcome is SendOutcome.FAILED
            ]
            await self._alert(gone, err)
            return outcomes
        self.metrics.sent(platform, "sent", time.perf_counter() - started)
        for row, _ in run:
            recorder.add(store.Sent(row, self.clock.now()))
        await recorder.maybe_flush()
        return [SendOutcome.SENT] * len(run)

    async def _failed(
        self, row: store.OutboxRow, message: OutgoingMessage, err: SendError, *, alert: bool = True
    ) -> SendOutcome:
        """Record the failed attempt; `alert`: tell the admins when the row fails for good (the
        caller of a joined message tells them once for all its rows)."""
        now = self.clock.now()
        s = self.settings
        if err.kind == "throttled":
            until = now + timedelta(seconds=s.throttle_pause_seconds)
            await store.pause_channel(row.channel, until, f"限流 {err.code}")
            await self._record_failure(
                row, err, now, OutboxState.PENDING, next_attempt_at=until, count_attempt=False
            )
            logger.warning(
                "channel %s throttled (%s): paused until %s",
                row.channel,
                store.redacted(err.code),  # as the platform gave it: no URL token in the log
                until,
            )
            return SendOutcome.THROTTLED
        attempts = row.attempts + 1
        if err.kind == "permanent" or attempts >= s.max_attempts:
            await self._record_failure(row, err, now, OutboxState.FAILED)
            logger.error(
                "outbox %s failed for good (%s %s)", row.id, err.kind, store.redacted(err.code)
            )
            if alert:
                await self._alert([(row, message)], err)
            return SendOutcome.FAILED
        retry_at = now + backoff(attempts, s, self.rng)
        await self._record_failure(row, err, now, OutboxState.PENDING, next_attempt_at=retry_at)
        return SendOutcome.RETRY

    async def _record_failure(
        self,
        row: store.OutboxRow,
        err: SendError,
        now: datetime,
        state: OutboxState,
        *,
        next_attempt_at: datetime | None = None,
        count_attempt: bool = True,
    ) -> None:
        """The failed attempt (its outcome is the error's kind) and the row's new state."""
        await store.record_attempt(
            row,
            now=now,
            outcome=err.kind,
            code=err.code,
            ambiguous=err.ambiguous,
            detail=str(err),
            instance=self.instance,
            state=state,
            next_attempt_at=next_attempt_at,
            count_attempt=count_attempt,
        )
        self._handed.discard(row.id)

    async def _alert(
        self, rows: Sequence[tuple[store.OutboxRow, OutgoingMessage]], err: SendError
    ) -> None:
        """Tell the committee admins (through the outbox, like everything else) that `rows`
        (one row, or the rows of one joined message) failed for good: one alert. An alert that
        fails is not alerted about."""
        rows = [part for part in rows if part[0].kind is not OutboxKind.ALERT]
        if not rows:
            return
        row, message = rows[0]
        target = message.private_to.name if message.private_to else message.chat.chat_id
        ids = "".join(f"{ID_OPEN}{r.short_id}{ID_CLOSE}" for r, _ in rows)
        code = (err.code or err.kind)[:64]  # a platform's code, bounded
        if any(is_private(m) for _, m in rows):
            # Never what a private message said: a ballot's receipt would tell the admin the
            # voter's choice (「查回执」), a login link would let them in as its owner.
            text = (
                f"【消息发送失败】发往「{target}」的一条{private_kind(row, message)}{ids}无法送达"
                f"（错误码 {code}）。为保护隐私，不显示其内容；请检查机器人的私聊配置。"
            )
        else:
            preview = message.text.replace("\n", " ")[:40]
            what = f"消息{ids}" if len(rows) == 1 else f" {len(rows)} 条消息{ids}"
            shown = "内容" if len(rows) == 1 else "第一条内容"
            text = (
                f"【消息发送失败】发往「{target}」的{what}无法送达"
                f"（错误码 {code}）。{shown}：{preview}…… 请检查机器人配置或群机器人是否被移除。"
            )
        alerts = []
        for admin in self.admins:
            user = UserRef(Platform(admin.platform), admin.corp_id, admin.user_id, admin.name)
            chat = ChatRef(user.platform, user.corp_id, user.user_id, ChatKind.PRIVATE)
            alerts.append(OutgoingMessage(chat=chat, text=text, private_to=user))
        items = to_outbox(
            alerts, key_prefix=f"alert:{row.id}", kind=OutboxKind.ALERT, society_id=row.society_id
        )
        await store.enqueue(items, self.clock.now())

    async def next_due(self) -> datetime | None:
        return await store.next_attempt_at()

    async def run(self, *, idle: float = 30.0, gate: Gate | None = None) -> None:
        """Loop until cancelled (or the gate closes): start a pass; once it has claimed what it
        sends, look for more at once (the channels whose window frees meanwhile, with at most
        PASSES_IN_FLIGHT passes at a time); else wait for a wake-up, a pass to end, or the next
        instant something may go. A pass runs inside the gate, so a stop lets it finish: a pass
        cancelled half-way would leave rows leased to this instance until the lease runs out."""
        gate = gate or Gate()
        self.alive = True
        passes: set[asyncio.Task[DrainResult | None]] = set()
        timed_out = True  # the first pass scans
        try:
            while not gate.closing():
                self.looped_at = time.monotonic()  # /healthz: a loop that stops turning is stuck
                if len(passes) >= PASSES_IN_FLIGHT:
                    await asyncio.wait(passes, return_when=asyncio.FIRST_COMPLETED)
                    continue
                if (hold := self._retry_at - time.monotonic()) > 0:  # after failed passes
                    await asyncio.sleep(min(hold, 1.0))  # the gate is looked at each second
                    continue
                # New rows (a wake-up) or rows due by time (the wait ran out): every channel.
                scan = self._event.is_set() or timed_out
                self._event.clear()
                timed_out = False
                if scan or self._known_work(self.clock.now()):
                    taken = asyncio.Event()
                    task = asyncio.create_task(self._gated_pass(gate, taken, scan=scan))
                    passes.add(task)
                    task.add_done_callback(passes.discard)
                    await taken.wait()
                    if not task.done() and len(passes) < PASSES_IN_FLIGHT:
                        continue  # it sends now: the next pass takes what comes due meanwhile
                if any(not p.done() for p in passes):  # (a done one leaves `passes` soon)
                    # Passes are sending: what is due now is theirs or comes with a wake-up;
                    # their end, a hint or RESCAN (rows due by time) turns the loop.
                    wait = self._wait_seconds(None, RESCAN.total_seconds(), in_flight=True)
                else:
                    nxt = await self._safe_next_due()
                    wait = self._wait_seconds(nxt, idle, in_flight=False)
                if wait <= 0:
                    continue
                waiters = [
                    asyncio.ensure_future(self._event.wait()),
                    *(p for p in passes if not p.done()),
                ]
                try:
                    done, _ = await asyncio.wait(
                        waiters, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    waiters[0].cancel()
                timed_out = not done
            # The gate is closing: the passes in flight finish their sends (the stop waits for
            # them); cancelled half-way they would leave their rows leased to this instance.
            if passes:
                await asyncio.wait(list(passes))
        finally:
            self.alive = False
            for task in list(passes):  # only when this loop itself is cancelled
                task.cancel()

    async def _gated_pass(
        self, gate: Gate, taken: asyncio.Event, *, scan: bool
    ) -> DrainResult | None:
        try:
            async with gate.passing():
                if gate.closing():
                    return None  # stop() began before this pass could start
                result = await self._run_once(taken, scan=scan)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failures += 1
            wait = min(PASS_BACKOFF_FIRST * 2 ** (self._failures - 1), PASS_BACKOFF_MAX)
            self._retry_at = time.monotonic() + wait
            if not is_transient(exc):
                logger.exception("outbox pass failed")
            elif self._failures == 1 or self._failures % 20 == 0:  # a line now and then
                logger.warning(
                    "outbox pass failed (%d in a row, the database refused: %s: %s);"
                    " nothing is lost, the next pass in %.1f s",
                    self._failures,
                    type(exc).__name__,
                    str(exc)[:200],
                    wait,
                )
            return None
        else:
            if self._failures:
                logger.info("outbox passes work again after %d failed", self._failures)
            self._failures, self._retry_at = 0, 0.0
            return result
        finally:
            taken.set()

    def _scan_due(self, now: datetime) -> bool:
        """Whether the last scan of every due row is RESCAN old (or never was, or the clock
        went back): then even a pass without a wake-up scans."""
        last = self._scanned
        return last is None or not timedelta(0) <= now - last < RESCAN

    def _hinted(self, now: datetime) -> set[str]:
        """What a pass without a scan looks at: the channels whose window or pause has ended
        and those an earlier pass left to another (`_revisit`)."""
        return {c for c, until in self._blocked.items() if until <= now} | self._revisit

    def _known_work(self, now: datetime) -> bool:
        """Whether a pass without a wake-up would take anything: it scans, or a channel it
        would look at is free (not being drained, not held back by a hint still running)."""
        return self._scan_due(now) or any(
            c not in self._busy and self._blocked.get(c, now) <= now for c in self._hinted(now)
        )

    def _wait_seconds(self, nxt: datetime | None, idle: float, *, in_flight: bool) -> float:
        """How long the loop may wait before the next pass (a wake-up or a pass that ends cuts
        it short); the wait running out makes the next pass scan. Rows due now that no hint
        names (other instances', or a channel cut short by a claim) are found by that scan."""
        now = self.clock.now()
        free = [t for c, t in self._blocked.items() if c not in self._busy]
        if in_flight:
            # What is due now is in the channels being drained (their pass ending wakes the
            # loop), or comes due later: at a hint, or at the next attempt.
            later = [t for t in [*free, *([nxt] if nxt else [])] if t > now]
            return min(idle, (min(later) - now).total_seconds()) if later else idle
        if nxt is not None and free:
            nxt = max(nxt, min(free))
        if nxt is None:
            return idle
        return max(0.05, min(idle, (nxt - now).total_seconds()))

    async def _safe_next_due(self) -> datetime | None:
        try:
            return await self.next_due()
        except Exception:
            logger.exception("outbox: cannot read the next due instant")
            return None
