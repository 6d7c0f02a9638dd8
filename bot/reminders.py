"""Reminders: the planner (pure) and the service that materialises and fires them.

    society state + now --plan()--> Planned (kind, ref, due instant, expiry)
    sweep: Planned -> reminder rows (unique key, idempotent)
           due rows  -> locked (PostgreSQL: FOR UPDATE SKIP LOCKED) -> still wanted?
                        yes and in time -> outbox rows + mark sent, one transaction
                        no / too late   -> mark skipped, with the reason
           rows due within `prepare_seconds` -> decided ahead: outbox rows held until the
                        instant, guarded by the society's event chain -> at the instant
                        released (unchanged) or dropped and decided afresh (changed, too late)
    APScheduler only wakes the sweep (bot/scheduler.py); the database decides what is due.

All instants are UTC; dates are read in the configured zone (Asia/Shanghai) and date-based
reminders go out at `send_hour` local time, moved to the previous working day if configured.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot import governance as g
from bot.config import ReminderSettings, Settings
from bot.events import ChatKind, ChatRef, OutgoingMessage, Platform, UserRef
from bot.outbox import Metrics, channel_for, to_outbox
from bot.workdays import Workdays
from storage import outbox as outbox_store
from storage import reminders as reminder_store
from storage import repo, snapshots
from storage.outbox import OutboxKind
from storage.reminders import ReminderState

logger = logging.getLogger(__name__)

MEETING_BEFORE = "meeting_before"
CHECKIN_OPEN = "checkin_open"
MINUTES_UNSIGNED = "minutes_unsigned"
CADENCE = "cadence"
SUMMARY = "summary"
SUMMARY_OVERDUE = "summary_overdue"
TERM_END = "term_end"
VOTE_CLOSING = "vote_closing"
VOTE_DEADLINE = "vote_deadline"
NOTICE_UNACKED = "notice_unacked"
# What a prepared reminder's guard (the society's event chain) covers: everything its message
# reads is changed only by commands that append to the chain. An acknowledgement (收到) does
# not, so the unacknowledged-notice check is decided at its instant only.
NOT_PREPARED = frozenset({NOTICE_UNACKED})

KIND_NAMES = {
    MEETING_BEFORE: "会前提醒",
    CHECKIN_OPEN: "签到开始",
    MINUTES_UNSIGNED: "纪要待签发",
    CADENCE: "半年会议提醒",
    SUMMARY: "年度总结提醒",
    SUMMARY_OVERDUE: "年度总结逾期",
    TERM_END: "换届提醒",
    VOTE_CLOSING: "表决即将截止",
    VOTE_DEADLINE: "表决截止",
    NOTICE_UNACKED: "通知未确认",
}
# In a draft's text, replaced by the names of `Draft.listed` when the message is built.
NAMES = "\u3008名单\u3009"
UPCOMING = frozenset({g.MeetingState.DRAFT, g.MeetingState.CONVENED})
HELD = frozenset({g.MeetingState.OPEN, g.MeetingState.CLOSED, g.MeetingState.SIGNED})
# Reminders that expired longer ago than this are not materialised at all (a new society does
# not get the history of reminders it never needed).
HORIZON = timedelta(days=30)
# Re-planning: every society at least this often; changed societies on every sweep, looking
# back this far for events whose transaction committed late.
FULL_REPLAN = timedelta(hours=1)
LOOKBACK = timedelta(minutes=5)


# ---------------------------------------------------------------------------------------------
# The planner (pure)


@dataclass(frozen=True, slots=True)
class Planned:
    society_id: int
    kind: str
    ref: str  # what it is about: "meeting:12:24h", "2026:30d", "5m", ...
    due_at: datetime  # UTC
    expires_at: datetime | None = None  # after this instant it is skipped, not sent
    shifted_from: date | None = None  # the date it would have been, before the workday rule

    @property
    def key(self) -> str:
        due = self.due_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return f"s{self.society_id}:{self.kind}:{self.ref}:{due}"

    @property
    def match(self) -> tuple[str, str, int]:
        """What identifies it within its society, as `key` does (cheaper to compute)."""
        return self.kind, self.ref, int(self.due_at.timestamp())


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, d))
        except ValueError:
            continue
    return date(year, month, 28)


def deadline_of(year: int, mmdd: str) -> date:
    try:
        month, day = (int(x) for x in mmdd.split("-"))
    except ValueError:
        month, day = 12, 31
    try:
        return date(year, month, day)
    except ValueError:
        return date(year, month, 28) if month == 2 else date(year, 12, 31)


@dataclass(frozen=True, slots=True)
class Calendar:
    tz: ZoneInfo
    workdays: Workdays
    cfg: ReminderSettings

    def at(
        self, day: date, *, shift: bool = True, forward: bool = False
    ) -> tuple[datetime, date | None]:
        """`send_hour` local time on `day`, moved to a working day if the setting says so."""
        return _send_instant(
            day,
            self.tz,
            self.workdays,
            shift and self.cfg.workdays_only,
            forward,
            self.cfg.send_hour,
        )


@functools.lru_cache(maxsize=16384)
def _send_instant(
    day: date, tz: ZoneInfo, workdays: Workdays, shift: bool, forward: bool, hour: int
) -> tuple[datetime, date | None]:
    """Pure and called for every society on every sweep with the same few dates: cached."""
    moved = day
    if shift:
        if forward:
            while not workdays.is_workday(moved) and (moved - day).days < 60:
                moved += timedelta(days=1)
        else:
            moved = workdays.previous_workday(day)
    local = datetime.combine(moved, time(hour), tzinfo=tz)
    return local.astimezone(UTC), (day if moved != day else None)


def plan(
    view: snapshots.SocietyView,
    cfg: ReminderSettings,
    tz: ZoneInfo,
    workdays: Workdays,
    now: datetime,
) -> list[Planned]:
    """Which reminders should exist for this society, past ones included (they are skipped
    with a reason when their moment has passed)."""
    cal = Calendar(tz, workdays, cfg)
    sid = view.id
    out: list[Planned] = []
    for mt in view.meetings:
        if mt.state in UPCOMING:
            hours = sorted(set(cfg.meeting_hours_before), reverse=True)
            for i, h in enumerate(hours):
                nxt = hours[i + 1] if i + 1 < len(hours) else 0
                out.append(
                    Planned(
                        sid,
                        MEETING_BEFORE,
                        f"meeting:{mt.id}:{h}h",
                        mt.starts_at - timedelta(hours=h),
                        mt.starts_at - timedelta(hours=nxt),
                    )
                )
        if cfg.checkin_open and mt.state in UPCOMING:
            out.append(
                Planned(
                    sid,
                    CHECKIN_OPEN,
                    f"meeting:{mt.id}",
                    mt.starts_at,
                    mt.starts_at + timedelta(minutes=30),
                )
            )
        if mt.state in UPCOMING and mt.convened_at is not None:
            # T17: a platform may drop the notice without an error. Unacknowledged -> leader.
            due = min(
                mt.convened_at + timedelta(hours=cfg.notice_ack_hours),
                mt.starts_at - timedelta(hours=cfg.notice_ack_latest_hours),
            )
            if due > mt.convened_at:  # convened too close to the start: nothing to wait for
                out.append(Planned(sid, NOTICE_UNACKED, f"meeting:{mt.id}", due, mt.starts_at))
        if mt.state is g.MeetingState.CLOSED and not mt.signed and mt.closed_at is not None:
            day = mt.closed_at.astimezone(tz).date() + timedelta(days=cfg.minutes_unsigned_days)
            due, moved = cal.at(day, forward=True)
            out.append(Planned(sid, MINUTES_UNSIGNED, f"meeting:{mt.id}", due, None, moved))
    # Votes with an announced deadline: a reminder before it to those yet to vote, and one at
    # it to the chair. The poll itself is never closed by the clock (T18): the chair closes it.
    for v in view.votes:
        closing = v.closes_at - timedelta(minutes=cfg.vote_closing_minutes)
        if closing > v.opened_at:
            out.append(Planned(sid, VOTE_CLOSING, f"vote:{v.id}", closing, v.closes_at))
        out.append(Planned(sid, VOTE_DEADLINE, f"vote:{v.id}", v.closes_at))
    # Half-year cadence: counted from the last meeting held, or from when the society joined.
    held = [mt.starts_at for mt in view.meetings if mt.state in HELD]
    base = (max(held) if held else view.created_at).astimezone(tz).date()
    stages = sorted(set(cfg.cadence_months))
    dues = [cal.at(add_months(base, months)) for months in stages]
    for i, months in enumerate(stages):
        expires = dues[i + 1][0] if i + 1 < len(dues) else None
        out.append(Planned(sid, CADENCE, f"{months}m", dues[i][0], expires, dues[i][1]))
    # Annual work summary, this year's and (for the overdue notice) last year's.
    this_year = now.astimezone(tz).year
    filed_years = {f.astimezone(tz).year for f in view.summary_filed}
    for year in (this_year - 1, this_year):
        if year in filed_years:
            continue
        deadline = deadline_of(year, view.report_deadline)
        if view.created_at.astimezone(tz).date() > deadline:
            continue  # the society joined after that year's deadline
        overdue_due, overdue_moved = cal.at(deadline + timedelta(days=1), forward=True)
        days = sorted(set(cfg.summary_days_before), reverse=True)
        summary_dues = [cal.at(deadline - timedelta(days=d)) for d in days]
        for i, d in enumerate(days):
            expires = summary_dues[i + 1][0] if i + 1 < len(days) else overdue_due
            out.append(
                Planned(
                    sid, SUMMARY, f"{year}:{d}d", summary_dues[i][0], expires, summary_dues[i][1]
                )
            )
        if cfg.summary_overdue:
            out.append(Planned(sid, SUMMARY_OVERDUE, f"{year}", overdue_due, None, overdue_moved))
    if view.term_end is not None:
        term_end_at = datetime.combine(view.term_end, time(23, 59), tzinfo=tz).astimezone(UTC)
        for d in sorted(set(cfg.term_days_before), reverse=True):
            due, moved = cal.at(view.term_end - timedelta(days=d))
            out.append(
                Planned(sid, TERM_END, f"{view.term_end.isoformat()}:{d}d", due, term_end_at, moved)
            )
    return out


def worth_storing(p: Planned, view: snapshots.SocietyView, now: datetime) -> bool:
    """Leave out what expired before the society joined or long before now."""
    if p.expires_at is None:
        return True
    return p.expires_at > max(view.created_at, now - HORIZON)


# ---------------------------------------------------------------------------------------------
# Texts


def _local(when: datetime, tz: ZoneInfo) -> str:
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _hours_text(hours: int) -> str:
    return f"{hours // 24}天" if hours % 24 == 0 and hours >= 24 else f"{hours}小时"


@dataclass(frozen=True, slots=True)
class Audience:
    people: tuple[int, ...] = ()  # person ids, 1:1 where possible
    group: bool = False  # also (or only) a message in the society's group
    committee: bool = False


@dataclass(frozen=True, slots=True)
class Draft:
    text: str
    audience: Audience
    listed: tuple[int, ...] = ()  # people named in the text (where NAMES stands)


def draft(
    p: Planned,
    view: snapshots.SocietyView,
    tz: ZoneInfo,
    workdays: Workdays,
) -> Draft | str:
    """The message a due reminder sends, or the reason to skip it."""
    kind = p.kind
    if kind in (VOTE_CLOSING, VOTE_DEADLINE):
        return _vote_draft(p, view, tz)
    if kind == NOTICE_UNACKED:
        return _unacked_draft(p, view, tz)
    if kind in (MEETING_BEFORE, CHECKIN_OPEN, MINUTES_UNSIGNED):
        meeting_id = int(p.ref.split(":")[1])
        mt = next((x for x in view.meetings if x.id == meeting_id), None)
        if mt is None:
            return "会议已取消"
        when = _local(mt.starts_at, tz)
        if kind == MEETING_BEFORE:
            hours = int(p.ref.split(":")[2].rstrip("h"))
            todo = tuple(pid for pid in view.member_ids if pid not in mt.answered)
            if not todo:
                return "全体成员已签到或请假"
            return Draft(
                f"【会议提醒】第{mt.number}次领导小组会议将于{when}召开（还有{_hours_text(hours)}）。"
                "您尚未签到或请假：请按时参会，不能参加请发送「请假 原因」。",
                Audience(people=todo),
            )
        if kind == CHECKIN_OPEN:
            return Draft(
                f"【签到】第{mt.number}次领导小组会议（{when}）现在开始，尚未签到的成员请发送「签到」。",
                Audience(group=True),
            )
        return Draft(
            f"【纪要待签发】第{mt.number}次会议（{when}）已结束，会议纪要尚未签发。"
            "请组长审阅「纪要」后发送「签发」。",
            Audience(people=view.leader_ids),
        )
    if kind == CADENCE:
        months = int(p.ref.rstrip("m"))
        held = [mt.starts_at for mt in view.meetings if mt.state in HELD]
        since = (
            f"上次会议：{max(held).astimezone(tz).date().isoformat()}"
            if held
            else "本届尚未召开会议"
        )
        last = months >= 6
        people = tuple(dict.fromkeys((*view.leader_ids, *_opt(view.liaison_id))))
        text = (
            f"【半年会议提醒】{view.name}已{months}个月未召开领导小组会议（{since}）。"
            "按工作规则原则上每半年至少召开一次，请尽快安排。"
        )
        if last:
            text += "此提醒已同时告知市科技社团党委。"
        return Draft(text, Audience(people=people, committee=last))
    if kind in (SUMMARY, SUMMARY_OVERDUE):
        year = int(p.ref.split(":")[0])
        deadline = deadline_of(year, view.report_deadline)
        note = workdays.note(deadline)
        if kind == SUMMARY:
            days = int(p.ref.split(":")[1].rstrip("d"))
            left = "今天是截止日" if days == 0 else f"还有{days}天"
            return Draft(
                f"【年度工作总结】{view.name}{year}年度工作总结（含党建工作部分）应于"
                f"{deadline.isoformat()}{note}前报送市科技社团党委，{left}。"
                f"报送方法：发送「年度总结 {year}年度工作总结」。",
                Audience(people=tuple(_opt(view.liaison_id))),
            )
        return Draft(
            f"【年度总结逾期】{view.name}尚未报送{year}年度工作总结（截止{deadline.isoformat()}）。",
            Audience(people=tuple(_opt(view.liaison_id)), committee=True),
        )
    if kind == TERM_END:
        end_text, days_text = p.ref.split(":")
        people = tuple(dict.fromkeys((*view.leader_ids, *_opt(view.liaison_id))))
        return Draft(
            f"【换届提醒】{view.name}党建工作领导小组本届任期将于{end_text}届满"
            f"（还有{days_text.rstrip('d')}天），请与理事会换届同步做好领导小组调整的准备。",
            Audience(people=people),
        )
    return f"未知的提醒类型 {kind}"


_HOW_TO_VOTE = {
    g.VoteMethod.NAMED: "请在群里发送「赞成」「反对」或「弃权」（也可点卡片按钮）。",
    g.VoteMethod.SECRET: "请在与我的私聊中发送「投票 赞成」「投票 反对」或「投票 弃权」。",
    g.VoteMethod.SHOW_OF_HANDS: "",
}


def _vote_draft(p: Planned, view: snapshots.SocietyView, tz: ZoneInfo) -> Draft | str:
    vote_id = int(p.ref.split(":")[1])
    v = next((x for x in view.votes if x.id == vote_id), None)
    if v is None:
        return "表决已结束"
    when = _local(v.closes_at, tz)
    waiting = tuple(sorted(v.voters - v.voted))
    if p.kind == VOTE_CLOSING:
        if v.method is g.VoteMethod.SHOW_OF_HANDS:
            return "举手表决由记录人录入结果，无需逐人提醒"
        if not waiting:
            return "有表决权的成员均已投票"
        minutes = max(1, int((v.closes_at - p.due_at).total_seconds() // 60))
        return Draft(
            f"【表决即将截止】议题{v.number}「{v.title}」的表决将于{when}截止（还有{minutes}分钟），"
            f"您尚未投票。{_HOW_TO_VOTE[v.method]}",
            Audience(people=waiting),
        )
    mt = next((x for x in view.meetings if x.id == v.meeting_id), None)
    chair = () if mt is None or mt.chair_id is None else (mt.chair_id,)
    people = tuple(dict.fromkeys((*chair, *view.leader_ids)))
    head = f"【表决截止】议题{v.number}「{v.title}」的表决截止时间（{when}）已到。"
    tail = "表决不会自动结束：请主持人核对后发送「结束表决」。"
    if v.method is g.VoteMethod.SHOW_OF_HANDS:
        recorded = "已录入" if v.hands_recorded else "尚未录入"
        return Draft(f"{head}举手结果{recorded}。{tail}", Audience(people=people))
    if not waiting:
        return Draft(
            f"{head}有表决权的{len(v.voters)}人均已投票。{tail}",
            Audience(people=people),
        )
    return Draft(
        f"{head}已投{len(v.voters & v.voted)}/{len(v.voters)}，尚未投票：{NAMES}。{tail}",
        Audience(people=people),
        listed=waiting,
    )


def _unacked_draft(p: Planned, view: snapshots.SocietyView, tz: ZoneInfo) -> Draft | str:
    meeting_id = int(p.ref.split(":")[1])
    mt = next((x for x in view.meetings if x.id == meeting_id), None)
    if mt is None:
        return "会议已取消"
    if mt.state not in UPCOMING:
        return "会议已召开"
    roster = mt.roster or view.member_ids
    waiting = tuple(
        pid
        for pid in roster
        if pid not in mt.acked and pid not in mt.answered and pid != mt.convened_by
    )
    if not waiting:
        return "全体成员已确认收到会议通知"
    people = view.leader_ids or _opt(mt.convened_by)
    return Draft(
        f"【通知未确认】第{mt.number}次领导小组会议（{_local(mt.starts_at, tz)}）的通知发出后，"
        f"以下成员尚未回复「收到」、签到或请假：{NAMES}。"
        "平台可能没有送达通知，请电话或当面告知。",
        Audience(people=people),
        listed=waiting,
    )


def _opt(value: int | None) -> tuple[int, ...]:
    return () if value is None else (value,)


# ---------------------------------------------------------------------------------------------
# The service


@dataclass
class FireResult:
    sent: int = 0  # decided and queued now, or prepared earlier and released now
    skipped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    returned: int = 0  # prepared, but the society changed meanwhile: decided afresh
    prepared: int = 0  # decided ahead, their messages held until their instant


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
        self._marks: list[tuple[datetime, int]] = []
        # Which rate-limited pipe a message takes (a group's robot webhook by default).
        self.channel_of: Callable[[OutgoingMessage], str] = channel_for

    def cfg(self, view: snapshots.SocietyView) -> ReminderSettings:
        return self.settings.reminders_for(view.name)

    def plan_for(self, view: snapshots.SocietyView, now: datetime) -> list[Planned]:
        return plan(view, self.cfg(view), self.settings.tz, self.workdays, now)

    async def materialize(self, now: datetime, society_ids: Sequence[int] | None = None) -> int:
        views = await snapshots.society_views(society_ids)
        items = [
            reminder_store.NewReminder(p.key, p.society_id, p.kind, p.ref, p.due_at)
            for view in views
            for p in self.plan_for(view, now)
            if worth_storing(p, view, now)
        ]
        return await reminder_store.add_reminders(items, now)

    async def fire_due(self, now: datetime, *, batch: int | None = None) -> FireResult:
        batch = batch or self.batch
        result = FireResult()
        # A society's due reminders may fall into several batches: its plan is computed once
        # per sweep unless its state changed meanwhile.
        plans: dict[int, tuple[snapshots.SocietyView, dict[tuple[str, str, int], Planned]]] = {}
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
        self.metrics.inc("reminders_sent", result.sent)
        self.metrics.inc("reminders_skipped", result.skipped)
        return result

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
        self.metrics.inc("reminders_sent", total)

    async def prepare(self, now: datetime) -> int:
        """Decide ahead the reminders due within `prepare_ahead`: their messages are written to
        the outbox held until the due instant, guarded by the society's event chain as read
        before its state. What would not be sent now (skipped, or nobody to reach) stays pending
        and is decided at its instant."""
        if self.prepare_ahead <= timedelta(0):
            return 0
        until = now + self.prepare_ahead
        after: tuple[datetime, int] | None = None
        plans: dict[int, tuple[snapshots.SocietyView, dict[tuple[str, str, int], Planned]]] = {}
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

    async def _decide_batch(
        self,
        rows: Sequence[reminder_store.ReminderRow],
        now: datetime,
        result: FireResult,
        plans: dict[int, tuple[snapshots.SocietyView, dict[tuple[str, str, int], Planned]]]
        | None = None,
        *,
        prepare: bool = False,
    ) -> int:
        """Inside the transaction that holds the rows: decide each, queue what is sent. With
        `prepare` (rows not yet due) only what would be sent is decided: as prepared, with its
        messages held until the row's instant."""
        sids = sorted({r.society_id for r in rows})
        # The chains first: a change committed after this read is above it, and is seen.
        tops = await reminder_store.chain_tops(sids) if prepare else {}
        views = {v.id: v for v in await snapshots.society_views(sids)}
        lookup = _Lookup(await snapshots.group_chats_of(sids))
        # Prefetch everyone the batch may address: one query per fact, not per society.
        everyone = sorted({p for v in views.values() for p in (*v.member_ids, *_opt(v.liaison_id))})
        await lookup.names(everyone)
        for platform, corp in {(c[0][0], c[0][1]) for c in lookup.chats.values() if c}:
            await lookup.identities(everyone, ChatRef(platform, corp, "", ChatKind.GROUP))
        plans = {} if plans is None else plans
        skipped: dict[str, list[int]] = {}
        sent_ids: list[int] = []
        items: list[outbox_store.NewOutbox] = []
        for row in rows:
            if prepare and row.kind in NOT_PREPARED:
                continue
            view = views.get(row.society_id)
            reason = ""
            messages: list[OutgoingMessage] = []
            p: Planned | None = None
            if view is None:
                reason = "学会已不存在"
            else:
                cached = plans.get(view.id)
                if cached is None or cached[0] != view:
                    cached = (view, {p.match: p for p in self.plan_for(view, now)})
                    plans[view.id] = cached
                p = cached[1].get((row.kind, row.ref, int(row.due_at.timestamp())))
                if p is None:
                    reason = _gone_reason(row.kind)
                elif p.expires_at is not None and max(now, row.due_at) >= p.expires_at:
                    late = int((now - row.due_at).total_seconds() // 60)
                    reason = (
                        f"已过时效：应于{_local(row.due_at, self.settings.tz)}发送，迟了{late}分钟"
                    )
                else:
                    d = draft(p, view, self.settings.tz, self.workdays)
                    if isinstance(d, str):
                        reason = d
                    else:
                        messages = await self._messages(view, d, lookup)
                        if not messages:
                            reason = "没有可送达的对象（学会未绑定群，且收件人没有平台身份）"
            if reason and prepare:
                continue  # decided at its instant, as any other
            if reason:
                skipped.setdefault(reason, []).append(row.id)
                logger.info("reminder %s skipped: %s", row.key, reason)
                continue
            sent_ids.append(row.id)
            queued = to_outbox(
                messages,
                key_prefix=f"rem:{row.key}",
                kind=OutboxKind.REMINDER,
                society_id=row.society_id,
                channel_of=self.channel_of,
            )
            if prepare:
                queued = [
                    replace(
                        item,
                        reminder_id=row.id,
                        hold_until=row.due_at,
                        guard_seq=tops.get(row.society_id, 0),
                        not_after=None if p is None else p.expires_at,
                    )
                    for item in queued
                ]
            items += queued
        for reason, ids in skipped.items():
            count = await reminder_store.decide_reminders(
                ids, ReminderState.SKIPPED, reason, now, self.instance
            )
            result.skipped += count
            result.reasons[reason] = result.reasons.get(reason, 0) + count
        if sent_ids:
            state = ReminderState.PREPARED if prepare else ReminderState.SENT
            count = await reminder_store.decide_reminders(sent_ids, state, "", now, self.instance)
            if prepare:
                result.prepared += count
            else:
                result.sent += count
            await outbox_store.add_outbox(items, now)
        return len(sent_ids)

    async def _messages(
        self, view: snapshots.SocietyView, d: Draft, lookup: _Lookup | None = None
    ) -> list[OutgoingMessage]:
        lookup = lookup or _Lookup(await snapshots.group_chats_of([view.id]))
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
                d.text.replace(NAMES, "、".join(listed.get(p, str(p)) for p in d.listed)),
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
            text = d.text
            if mention_names:
                text = f"{'、'.join(mention_names)}：{text}"
            out.append(OutgoingMessage(chat=group, text=text, mentions=tuple(mention)))
        if d.audience.committee:
            for admin in self.settings.committee_admins:
                user = UserRef(Platform(admin.platform), admin.corp_id, admin.user_id, admin.name)
                chat = ChatRef(user.platform, user.corp_id, user.user_id, ChatKind.PRIVATE)
                out.append(
                    OutgoingMessage(chat=chat, text=f"（{view.name}）{d.text}", private_to=user)
                )
        return out

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
        high-water mark of a sweep at least `LOOKBACK` ago, so a late commit is still seen."""
        top = await snapshots.last_event_id()
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
            return await self.materialize(now)
        old = [i for i, (at, _) in enumerate(self._marks) if at <= now - LOOKBACK]
        start = old[-1] if old else 0
        since = self._marks[start][1]
        self._marks = [*self._marks[start:], (now, top)]
        changed = await snapshots.societies_with_events_after(since)
        return await self.materialize(now, changed) if changed else 0

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


class _Lookup:
    """Per-batch caches: one query per kind of fact, not one per reminder."""

    def __init__(self, chats: dict[int, list[tuple[Platform, str, str]]]) -> None:
        self.chats = chats
        self._names: dict[int, str] = {}
        self._ids: dict[tuple[str, str, int], tuple[str, str] | None] = {}

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


def _gone_reason(kind: str) -> str:
    return {
        MEETING_BEFORE: "会议已取消、改期或已开始",
        CHECKIN_OPEN: "会议已取消、改期或已开始",
        MINUTES_UNSIGNED: "纪要已签发",
        CADENCE: "期间已召开会议",
        SUMMARY: "已报送年度总结或截止日已调整",
        SUMMARY_OVERDUE: "已报送年度总结或截止日已调整",
        TERM_END: "任期已调整",
        VOTE_CLOSING: "表决已结束或截止时间已更改",
        VOTE_DEADLINE: "表决已结束或截止时间已更改",
        NOTICE_UNACKED: "会议已取消、改期或已召开",
    }.get(kind, "已不再需要")


# ---------------------------------------------------------------------------------------------
# `yishi reminders`


@dataclass(frozen=True, slots=True)
class Listing:
    lines: list[str]
    fallback_years: list[int]


async def listing(settings: Settings, society_name: str, now: datetime) -> Listing | None:
    """What is scheduled for a society: stored rows plus what the planner would add."""
    soc = await repo.society_by_name(society_name)
    if soc is None:
        return None
    service = ReminderService(settings, lambda: now)
    views = await snapshots.society_views([soc.id])
    planned = {p.key: p for p in service.plan_for(views[0], now)} if views else {}
    stored = {r.key: r for r in await reminder_store.reminders(soc.id)}
    tz = settings.tz
    rows: list[tuple[datetime, str]] = []
    state_names = {
        "pending": "待发送",
        "prepared": "已备好，到时发出",
        "sent": "已发送",
        "skipped": "已跳过",
    }
    for r in stored.values():
        extra = f"：{r.reason}" if r.reason else ""
        rows.append(
            (
                r.due_at,
                f"{_local(r.due_at, tz)}  {KIND_NAMES.get(r.kind, r.kind)} {r.ref}  "
                f"[{state_names.get(r.state, r.state)}{extra}]",
            )
        )
    for key, p in planned.items():
        if key in stored or not (views and worth_storing(p, views[0], now)):
            continue
        moved = f"（原定{p.shifted_from.isoformat()}，遇节假日调整）" if p.shifted_from else ""
        rows.append(
            (
                p.due_at,
                f"{_local(p.due_at, tz)}  {KIND_NAMES.get(p.kind, p.kind)} {p.ref}  [计划中]{moved}",
            )
        )
    rows.sort(key=lambda x: x[0])
    years = {now.astimezone(tz).year, now.astimezone(tz).year + 1, *(d.year for d, _ in rows)}
    return Listing([line for _, line in rows], service.workdays.fallback_years(years))
