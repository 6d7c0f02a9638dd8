"""The reminder service: materialises what the planner plans, decides what falls due, and writes
its messages to the outbox.

    sweep: re-plan (changed societies, or all) -> reminder rows (unique key, idempotent)
           prepared rows due -> released (unchanged society) or returned (decided afresh)
           due rows -> locked (PostgreSQL: FOR UPDATE SKIP LOCKED) -> still wanted?
                       yes and in time -> outbox rows + mark sent, one transaction
                       no / too late   -> mark skipped, with the reason
           rows due within `prepare_seconds` -> decided ahead: outbox rows held until the
                       instant, guarded by the society's event chain
           -> arm the next wake-up
    APScheduler only wakes the sweep (bot/scheduler.py); the database decides what is due.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from importlib import metadata
from pathlib import Path

from bot import workdays as workdays_module
from bot.bounded import Bounded
from bot.config import ReminderSettings, Settings
from bot.events import ChatKind, ChatRef, OutgoingMessage, Platform, UserRef
from bot.metrics import Metrics
from bot.outbox import channel_for, to_outbox
from bot.reminders import plan as plan_module
from bot.reminders import texts
from bot.reminders.draft import Draft, draft
from bot.reminders.plan import (
    NOT_PREPARED,
    Planned,
    ReminderState,
    SocietyView,
    plan,
    worth_storing,
)
from bot.workdays import Workdays
from storage import outbox as outbox_store
from storage import reminders as reminder_store
from storage import repo, snapshots
from storage.outbox import NewOutbox, OutboxKind
from storage.reminders import NewReminder, ReminderRow

logger = logging.getLogger(__name__)

# Re-planning: every society at least this often; changed societies on every sweep, looking
# back this far for events whose transaction committed late.
FULL_REPLAN = timedelta(hours=1)
LOOKBACK = timedelta(minutes=5)
PLAN_SLICE = 500  # societies planned at a time by a full re-plan
RESUMED_FULL_AFTER = timedelta(minutes=5)  # a resumed instance's full re-plan, at the earliest
# Plans kept while a sweep decides batch after batch (a society's due reminders may fall into
# several batches; its rows come close together, in due order).
PLANS_KEPT = 2_000


def plan_fingerprint(settings: Settings, workdays: Workdays) -> str:
    """What a plan depends on besides the societies' state and the local date: the planner's
    code, the calendars of working days, the reminder settings, the time zone and the
    governance window after which an unopened meeting lapses."""
    settled = (
        settings.timezone,
        settings.reminders,
        sorted(settings.society_reminders.items()),
        sorted(workdays.holidays),
        # the governance setting the planner reads (the lapsed-notice reminder)
        settings.policy.open_within,
        sorted((name, p.open_within) for name, p in settings.society_policies.items()),
    )
    return hashlib.sha256(_planner_digest().encode() + repr(settled).encode()).hexdigest()


@functools.cache
def _planner_digest() -> str:
    digest = hashlib.sha256()
    for module in (plan_module, workdays_module):
        digest.update(Path(str(module.__file__)).read_bytes())
    for package in ("chinesecalendar", "holidays"):
        try:
            digest.update(metadata.version(package).encode())
        except metadata.PackageNotFoundError:
            digest.update(b"-")
    return digest.hexdigest()


# A society's plan while its state stays as read: society id -> (view, plan by `Planned.match`).
_Plan = tuple[SocietyView, dict[tuple[str, str, int], Planned]]
# Past `PLANS_KEPT` the one planned longest ago goes (memory stays bounded however many
# societies a sweep decides).
_Plans = Bounded[int, _Plan]


@dataclass
class FireResult:
    sent: int = 0  # decided and queued now, or prepared earlier and released now
    skipped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    returned: int = 0  # prepared, but the society changed meanwhile: decided afresh
    prepared: int = 0  # decided ahead, their messages held until their instant


@dataclass
class _Batch:
    """What deciding a batch of rows comes to, written at its end."""

    skipped: dict[str, list[int]] = field(default_factory=dict)  # reason -> reminder ids
    sent: list[int] = field(default_factory=list)  # sent now, or prepared
    items: list[NewOutbox] = field(default_factory=list)


class ReminderService:
    """`sweep()` = materialise + fire what is due + arm the next wake-up. Several instances may
    sweep at once on PostgreSQL: each due reminder is decided by exactly one."""

    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], datetime],
        *,
        instance: str = "",
        on_enqueued: Callable[[], None] | None = None,
        arm: Callable[[datetime], None] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.now = clock
        self.instance = instance
        self.on_enqueued = on_enqueued
        self.arm = arm
        self.metrics = metrics or Metrics()
        self.workdays = Workdays.of(settings.holidays)
        self.last_sweep: datetime | None = None
        self.lag_seconds = 0.0
        self.batch = 200  # reminders decided per transaction
        self.release_batch = 1000  # prepared reminders released per transaction
        self.prepare_ahead = timedelta(seconds=settings.prepare_seconds)
        # Re-planning (see `replan`): when everything was last planned, and the event-log
        # high-water mark at each recent sweep.
        self.full_every = FULL_REPLAN
        self._full: datetime | None = None
        self.fingerprint = plan_fingerprint(settings, self.workdays)
        self._marks: list[tuple[datetime, int]] = []
        # Which rate-limited pipe a message takes (a group's robot webhook by default).
        self.channel_of: Callable[[OutgoingMessage], str] = channel_for

    def cfg(self, view: SocietyView) -> ReminderSettings:
        return self.settings.reminders_for(view.name)

    def plan_for(self, view: SocietyView, now: datetime) -> list[Planned]:
        return plan(
            view,
            self.cfg(view),
            self.settings.tz,
            self.workdays,
            now,
            open_within=self.settings.policy_for(view.name).open_within,
        )

    # -----------------------------------------------------------------------------------------
    # The sweep

    async def sweep(self, *, prepare: bool = True) -> FireResult:
        """Re-plan, release the prepared reminders that came due, decide the rest that did,
        prepare the next ones (unless `prepare` is off: the start-up leaves that to the sweep it
        arms at once), arm the next wake-up."""
        now = self.now()
        await self.replan(now)
        result = FireResult()
        await self.release_due(now, result)
        fired = await self.fire_due(now)
        result.sent += fired.sent
        result.skipped += fired.skipped
        for reason, count in fired.reasons.items():
            result.reasons[reason] = result.reasons.get(reason, 0) + count
        if prepare:
            result.prepared = await self.prepare(now)
        self.last_sweep = now
        if prepare or self.prepare_ahead <= timedelta(0):
            nxt = await reminder_store.next_wake(now, self.prepare_ahead)
        else:
            nxt = now  # the next sweep, at once, prepares what falls due soon
        if nxt is not None and self.arm is not None:
            self.arm(nxt)
        return result

    async def replan(self, now: datetime) -> int:
        """Bring the stored reminders up to date with the societies' state.

        Planning every society costs seconds per ten thousand, too much for every minute's
        sweep. A plan depends on the state and on the local date only, and every change of
        state that moves a plan (convening, rescheduling, opening a vote with a deadline,
        closing, signing, filing...) appends to the society's event log. So a sweep re-plans
        the societies with new events, and everything is re-planned on the first sweep, when
        the local date changes, after a clock jump and every `full_every` as a safety net.

        Event ids are taken when a transaction inserts and become visible when it commits,
        not necessarily in order (PostgreSQL, several instances): the scan starts from the
        high-water mark of a sweep at least `LOOKBACK` ago, so a late commit is still seen.

        What the stored reminders already reflect is kept in the database (`PlanMark`): a
        starting instance whose planner and settings are those of the last full plan, made the
        same local day, re-plans only the societies with events past the mark (the full re-plan
        of every society follows in a later sweep, when `full_every` has passed)."""
        top = await snapshots.last_event_id()
        if self._full is None:
            await self._resume(now)
        last = self._full
        full = (
            last is None
            or now < self._marks[-1][0]  # the clock went back
            or now - last >= self.full_every
            or now.astimezone(self.settings.tz).date() != last.astimezone(self.settings.tz).date()
        )
        if full:
            self._full = now
            self._marks = [(now, top)]
            written = await self.materialize(now)
            await reminder_store.record_full_plan(self.fingerprint, now)
            return written
        old = [i for i, (at, _) in enumerate(self._marks) if at <= now - LOOKBACK]
        start = old[-1] if old else 0
        since = self._marks[start][1]
        self._marks = [*self._marks[start:], (now, top)]
        changed = await snapshots.societies_with_events_after(since)
        written = await self.materialize(now, changed) if changed else 0
        if old:  # `since` is a mark old enough that every event up to it has been seen
            await reminder_store.record_covered(self.fingerprint, since, now)
        return written

    async def _resume(self, now: datetime) -> None:
        """On the first sweep: carry on from the stored mark when it still holds."""
        mark = await reminder_store.plan_mark()
        tz = self.settings.tz
        if (
            mark is None
            or mark.fingerprint != self.fingerprint
            or mark.covered < 0
            or mark.full_at > now  # the clock went back
            or mark.full_at.astimezone(tz).date() != now.astimezone(tz).date()
        ):
            return
        # The safety-net full re-plan, if due, waits for a later sweep (`RESUMED_FULL_AFTER`).
        self._full = max(mark.full_at, now - self.full_every + RESUMED_FULL_AFTER)
        self._marks = [(now - LOOKBACK, mark.covered)]

    async def materialize(self, now: datetime, society_ids: Sequence[int] | None = None) -> int:
        """Store what the plans of `society_ids` (None: every society) hold and is not stored
        yet. Every society is planned a slice of `PLAN_SLICE` at a time: memory stays bounded,
        and the event loop (the platforms' callbacks) runs between slices."""
        if society_ids is not None:
            return await self._materialize(now, await snapshots.society_views(society_ids))
        written = 0
        for first, last in await snapshots.society_id_ranges(PLAN_SLICE):
            written += await self._materialize(
                now, await snapshots.society_views_between(first, last)
            )
            await asyncio.sleep(0)
        return written

    async def _materialize(self, now: datetime, views: Sequence[SocietyView]) -> int:
        items = [
            NewReminder(p.key, p.society_id, p.kind, p.ref, p.due_at)
            for view in views
            for p in self.plan_for(view, now)
            if worth_storing(p, view, now)
        ]
        return await reminder_store.add_reminders(items, now)

    async def release_due(self, now: datetime, result: FireResult) -> None:
        """Prepared reminders whose instant has come: their held messages go out now, unless the
        society changed since (or their moment passed): those are decided afresh by `fire_due`."""
        total = 0
        while True:
            async with repo.atomic():
                taken, released, returned = await reminder_store.release_due(
                    now, self.release_batch, self.instance
                )
            total += released
            result.returned += returned
            if released and self.on_enqueued is not None:
                self.on_enqueued()  # committed: the sender may start on this batch
            if taken < self.release_batch:
                break
        result.sent += total
        self.metrics.decided(sent=total)

    async def fire_due(self, now: datetime, *, batch: int | None = None) -> FireResult:
        batch = batch or self.batch
        result = FireResult()
        # A society's due reminders may fall into several batches: its plan is computed once
        # per sweep unless its state changed meanwhile.
        plans: _Plans = Bounded(PLANS_KEPT)
        oldest = await reminder_store.oldest_overdue(now)
        self.lag_seconds = 0.0 if oldest is None else (now - oldest).total_seconds()
        while True:
            async with repo.atomic():
                rows = await reminder_store.lock_due_reminders(now, batch)
                if not rows:
                    break
                sent = await self._decide_batch(rows, now, result, plans)
            if sent and self.on_enqueued is not None:
                self.on_enqueued()  # committed: the sender may start on this batch
            if len(rows) < batch:
                break
        self.metrics.decided(sent=result.sent, skipped=result.skipped)
        return result

    async def prepare(self, now: datetime) -> int:
        """Decide ahead the reminders due within `prepare_ahead`: their messages are written to
        the outbox held until the due instant, guarded by the society's event chain as read
        before its state. What would not be sent now (skipped, or nobody to reach) stays pending
        and is decided at its instant."""
        if self.prepare_ahead <= timedelta(0):
            return 0
        until = now + self.prepare_ahead
        after: tuple[datetime, int] | None = None
        plans: _Plans = Bounded(PLANS_KEPT)
        result = FireResult()
        while True:
            async with repo.atomic():
                rows = await reminder_store.lock_upcoming_reminders(now, until, self.batch, after)
                if not rows:
                    break
                await self._decide_batch(rows, now, result, plans, prepare=True)
            after = (rows[-1].due_at, rows[-1].id)
            if len(rows) < self.batch:
                break
        return result.prepared

    # -----------------------------------------------------------------------------------------
    # Deciding a batch (inside the transaction that holds its rows)

    async def _decide_batch(
        self,
        rows: Sequence[ReminderRow],
        now: datetime,
        result: FireResult,
        plans: _Plans,
        *,
        prepare: bool = False,
    ) -> int:
        """Decide each row, queue what is sent, record the decisions; returns how many rows are
        sent (or prepared). With `prepare` (rows not yet due) only what would be sent is
        decided: as prepared, with its messages held until the row's instant."""
        sids = sorted({r.society_id for r in rows})
        # The chains first: a change committed after this read is above it, and is seen.
        tops = await reminder_store.chain_tops(sids) if prepare else None
        views = {v.id: v for v in await snapshots.society_views(sids)}
        lookup = await _Lookup.prefetched(sids, views.values())
        batch = _Batch()
        for row in rows:
            if prepare and row.kind in NOT_PREPARED:
                continue
            decided = await self._decide(row, views.get(row.society_id), now, plans, lookup)
            if isinstance(decided, str):
                if not prepare:  # when preparing, a skip is left to the row's instant
                    batch.skipped.setdefault(decided, []).append(row.id)
                    logger.info("reminder %s skipped: %s", row.key, decided)
                continue
            p, messages = decided
            batch.sent.append(row.id)
            batch.items += self._queued(row, p, messages, tops)
        await self._record(batch, now, result, prepare=prepare)
        return len(batch.sent)

    async def _decide(
        self,
        row: ReminderRow,
        view: SocietyView | None,
        now: datetime,
        plans: _Plans,
        lookup: _Lookup,
    ) -> tuple[Planned, list[OutgoingMessage]] | str:
        """Whether the row is still wanted and in time: its plan and messages, or the reason to
        skip it."""
        if view is None:
            return texts.SOCIETY_GONE
        cached = plans.get(view.id)
        if cached is None or cached[0] != view:
            cached = (view, {p.match: p for p in self.plan_for(view, now)})
            plans.put(view.id, cached)
        p = cached[1].get((row.kind, row.ref, int(row.due_at.timestamp())))
        if p is None:
            return texts.no_longer_planned(row.kind)
        if p.expires_at is not None and max(now, row.due_at) >= p.expires_at:
            late = int((now - row.due_at).total_seconds() // 60)
            return texts.too_late(texts.local_time(row.due_at, self.settings.tz), late)
        d = draft(p, view, self.settings.tz, self.workdays)
        if isinstance(d, str):
            return d
        messages = await self._messages(view, d, lookup)
        if not messages:
            return texts.NOBODY_TO_REACH
        return p, messages

    def _queued(
        self,
        row: ReminderRow,
        p: Planned,
        messages: Sequence[OutgoingMessage],
        tops: dict[int, int] | None,
    ) -> list[NewOutbox]:
        """The row's messages as outbox rows; when prepared (`tops`: the chains as read before
        the state), held until its instant and guarded by its society's chain."""
        queued = to_outbox(
            messages,
            key_prefix=f"rem:{row.key}",
            kind=OutboxKind.REMINDER,
            society_id=row.society_id,
            channel_of=self.channel_of,
        )
        if tops is None:
            return queued
        return [
            replace(
                item,
                reminder_id=row.id,
                hold_until=row.due_at,
                guard_seq=tops.get(row.society_id, 0),
                not_after=p.expires_at,
            )
            for item in queued
        ]

    async def _record(
        self, batch: _Batch, now: datetime, result: FireResult, *, prepare: bool
    ) -> None:
        for reason, ids in batch.skipped.items():
            count = await reminder_store.decide_reminders(
                ids, ReminderState.SKIPPED, reason, now, self.instance
            )
            result.skipped += count
            result.reasons[reason] = result.reasons.get(reason, 0) + count
        if not batch.sent:
            return
        state = ReminderState.PREPARED if prepare else ReminderState.SENT
        count = await reminder_store.decide_reminders(batch.sent, state, "", now, self.instance)
        if prepare:
            result.prepared += count
        else:
            result.sent += count
        await outbox_store.add_outbox(batch.items, now)

    # -----------------------------------------------------------------------------------------
    # Addressing a draft

    async def _messages(
        self, view: SocietyView, d: Draft, lookup: _Lookup
    ) -> list[OutgoingMessage]:
        """The draft as messages: 1:1 to each person where the platform allows (else an
        @-mention in the group, or the name written out), the group when asked or to carry the
        mentions, and the committee admins."""
        out: list[OutgoingMessage] = []
        chats = lookup.chats.get(view.id, [])
        group = ChatRef(chats[0][0], chats[0][1], chats[0][2], ChatKind.GROUP) if chats else None
        cfg = self.cfg(view)
        people = d.audience.people
        mention: list[UserRef] = []
        mention_names: list[str] = []
        if d.listed:
            listed = await lookup.names(d.listed)
            d = Draft(
                d.text.replace(
                    texts.NAMES, texts.name_list([listed.get(p, str(p)) for p in d.listed])
                ),
                d.audience,
            )
        if people:
            names = await lookup.names(people)
            private_ok = (
                cfg.private
                and group is not None
                and group.platform.value in self.settings.private_platforms
            )
            found = await lookup.identities(people, group) if group is not None else {}
            for pid in people:
                name = names.get(pid, str(pid))
                if group is None or pid not in found:
                    mention_names.append(name)
                    continue
                user = UserRef(group.platform, group.corp_id, found[pid][0], found[pid][1])
                if private_ok:
                    chat = ChatRef(user.platform, user.corp_id, user.user_id, ChatKind.PRIVATE)
                    out.append(OutgoingMessage(chat=chat, text=d.text, private_to=user))
                else:
                    mention.append(user)
        if group is not None and (d.audience.group or mention or mention_names):
            text = texts.addressed(mention_names, d.text) if mention_names else d.text
            out.append(OutgoingMessage(chat=group, text=text, mentions=tuple(mention)))
        if d.audience.committee:
            for admin in self.settings.committee_admins:
                user = UserRef(Platform(admin.platform), admin.corp_id, admin.user_id, admin.name)
                chat = ChatRef(user.platform, user.corp_id, user.user_id, ChatKind.PRIVATE)
                text = texts.for_committee(view.name, d.text)
                out.append(OutgoingMessage(chat=chat, text=text, private_to=user))
        return out


class _Lookup:
    """Per-batch caches: one query per kind of fact, not one per reminder."""

    def __init__(self, chats: dict[int, list[tuple[Platform, str, str]]]) -> None:
        self.chats = chats
        self._names: dict[int, str] = {}
        self._ids: dict[tuple[str, str, int], tuple[str, str] | None] = {}

    @classmethod
    async def prefetched(cls, society_ids: Sequence[int], views: Iterable[SocietyView]) -> _Lookup:
        """With what a batch will look up read ahead, one query per fact: the societies' chats,
        the names and identities of everyone the batch may address."""
        lookup = cls(await snapshots.group_chats_of(society_ids))
        everyone = sorted({p for v in views for p in (*v.member_ids, *v.liaison)})
        await lookup.names(everyone)
        for platform, corp in {(c[0][0], c[0][1]) for c in lookup.chats.values() if c}:
            await lookup.identities(everyone, ChatRef(platform, corp, "", ChatKind.GROUP))
        return lookup

    async def names(self, people: Sequence[int]) -> dict[int, str]:
        missing = [p for p in people if p not in self._names]
        if missing:
            self._names.update(await snapshots.person_names(missing))
        return {p: self._names[p] for p in people if p in self._names}

    async def identities(self, people: Sequence[int], group: ChatRef) -> dict[int, tuple[str, str]]:
        key = (group.platform.value, group.corp_id)
        missing = [p for p in people if (*key, p) not in self._ids]
        if missing:
            found = await snapshots.identities_by_person(missing, *key)
            for p in missing:
                self._ids[(*key, p)] = found.get(p)
        out = {}
        for p in people:
            value = self._ids.get((*key, p))
            if value is not None:
                out[p] = value
        return out
