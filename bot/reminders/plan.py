"""The reminder planner (pure): a society's state and `now` -> the reminders that should exist.

    SocietyView (built by storage/snapshots.py) + settings + now --plan()--> [Planned]

A `Planned` reminder is (kind, ref, due instant, expiry): the sweep stores it under a unique key
and decides it at its instant (sent, or skipped with a reason once its expiry has passed).
Date-based reminders go out at `send_hour` local time on the date read in the configured zone,
moved to a working day when configured. Every instant is UTC.

Rules of this module, checked by tests/test_layering.py: no storage, no I/O, no clock (`now`
is an argument), no Chinese text (bot/reminders/texts.py words it).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot import governance as g
from bot.config import ReminderSettings
from bot.workdays import Workdays


class ReminderKind(StrEnum):
    """reminder.kind"""

    MEETING_BEFORE = "meeting_before"  # 24 h and 1 h before a meeting, to who has not answered
    CHECKIN_OPEN = "checkin_open"  # at the start: check in
    MINUTES_UNSIGNED = "minutes_unsigned"  # days after a meeting closed, minutes not signed
    CADENCE = "cadence"  # months without a meeting held
    SUMMARY = "summary"  # the annual summary's deadline approaching
    SUMMARY_OVERDUE = "summary_overdue"
    TERM_END = "term_end"  # the roster's term about to end
    VOTE_CLOSING = "vote_closing"  # before an announced vote deadline, to who has not voted
    VOTE_DEADLINE = "vote_deadline"  # at it, to the chair
    NOTICE_UNACKED = "notice_unacked"  # a meeting notice some members did not acknowledge
    MEETING_LAPSED = "meeting_lapsed"  # convened, never opened, its notice lapsed: to the leader


# Reminders due on a date (at `send_hour`), which the working-day rule may move.
DATED_KINDS = frozenset(
    {
        ReminderKind.MINUTES_UNSIGNED,
        ReminderKind.CADENCE,
        ReminderKind.SUMMARY,
        ReminderKind.SUMMARY_OVERDUE,
        ReminderKind.TERM_END,
    }
)


class ReminderState(StrEnum):
    """reminder.state: pending -> sent | skipped (with the reason), or pending -> prepared (its
    messages held in the outbox until its instant) -> sent | pending again (decided afresh)."""

    PENDING = "pending"
    PREPARED = "prepared"
    SENT = "sent"
    SKIPPED = "skipped"


# What a prepared reminder's guard (the society's event chain) covers: everything its message
# reads is changed only by commands that append to the chain. An acknowledgement (收到) does
# not, so the unacknowledged-notice check is decided at its instant only.
NOT_PREPARED = frozenset({ReminderKind.NOTICE_UNACKED})

UPCOMING = frozenset({g.MeetingState.DRAFT, g.MeetingState.CONVENED})
HELD = g.HELD_STATES
# Reminders that expired longer ago than this are not materialised at all (a new society does
# not get the history of reminders it never needed).
HORIZON = timedelta(days=30)


# ---------------------------------------------------------------------------------------------
# What the planner reads about a society


@dataclass(frozen=True, slots=True)
class MeetingView:
    id: int
    number: int
    starts_at: datetime
    state: g.MeetingState
    closed_at: datetime | None
    signed: bool
    answered: frozenset[int]  # checked in, late, on leave...: anyone whose status is known
    convened_at: datetime | None = None  # when the (latest) notice went out
    notices: int = 1  # the first notice and one more each time the meeting was moved
    convened_by: int | None = None
    chair_id: int | None = None
    roster: tuple[int, ...] = ()  # who the notice was for (应到会, as at convening)
    acked: frozenset[int] = frozenset()  # acknowledged the notice with 收到


@dataclass(frozen=True, slots=True)
class VoteView:
    """An open vote with an announced deadline."""

    id: int
    meeting_id: int
    number: int  # the agenda item's number
    title: str
    method: g.VoteMethod
    opened_at: datetime
    closes_at: datetime
    voters: frozenset[int]  # the frozen electorate: may vote
    voted: frozenset[int]  # have voted (named or secret); empty for a show of hands
    hands_recorded: bool = False


@dataclass(frozen=True, slots=True)
class SocietyView:
    id: int
    name: str
    created_at: datetime
    term_end: date | None
    report_deadline: str
    leader_ids: tuple[int, ...]
    member_ids: tuple[int, ...]  # on the roster
    liaison_id: int | None
    meetings: tuple[MeetingView, ...]  # not cancelled
    summary_filed: tuple[tuple[datetime, str], ...]  # annual summaries filed: when, title
    votes: tuple[VoteView, ...] = ()  # open votes with a deadline

    @property
    def liaison(self) -> tuple[int, ...]:
        """The liaison's id, when there is one."""
        return () if self.liaison_id is None else (self.liaison_id,)

    def meeting(self, meeting_id: int) -> MeetingView | None:
        return next((x for x in self.meetings if x.id == meeting_id), None)

    def vote(self, vote_id: int) -> VoteView | None:
        return next((x for x in self.votes if x.id == vote_id), None)

    def last_held(self) -> datetime | None:
        """When the last meeting held (opened, whatever came of it) was to start."""
        held = [mt.starts_at for mt in self.meetings if mt.state in HELD]
        return max(held) if held else None


# ---------------------------------------------------------------------------------------------
# What it plans


@dataclass(frozen=True, slots=True)
class Planned:
    society_id: int
    kind: ReminderKind
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


def summary_owed(year: int, filed_years: Container[int], joined: date, mmdd: str) -> date | None:
    """The deadline of `year`'s annual summary while it is owed: none was filed for that year
    (see summary_years) and the society joined by that deadline."""
    deadline = deadline_of(year, mmdd)
    if year in filed_years or joined > deadline:
        return None
    return deadline


def summary_days_late(filed: date, year: int, joined: date, mmdd: str) -> int:
    """How many days after the deadline of `year`'s annual summary one filed on `filed` was
    filed (0: on time, or the society joined after that deadline and owed none)."""
    deadline = deadline_of(year, mmdd)
    return max((filed - deadline).days, 0) if joined <= deadline else 0


_TITLE_YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")


def summary_years(filed: Iterable[tuple[date, str]], joined: date, mmdd: str) -> list[int]:
    """The year each annual summary counts for, given (local day filed, title) in filing order:
    the year its title names when that is the year it was filed in or the one before
    (「2026年度工作总结」 filed on 3 January 2027 is 2026's); otherwise, of last year's and
    this year's, the one still owed whose deadline is nearest the day it was filed (a summary
    filed in the first days of January is last year's, filed late); else this year's."""
    years: list[int] = []
    for on, title in filed:
        named = {int(y) for y in _TITLE_YEAR.findall(title)} & {on.year - 1, on.year}
        if len(named) == 1:
            years.append(named.pop())
            continue
        owed = [
            (abs((deadline - on).days), y)
            for y in (on.year - 1, on.year)
            if (deadline := summary_owed(y, years, joined, mmdd)) is not None
        ]
        years.append(min(owed)[1] if owed else on.year)
    return years


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

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()


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
    view: SocietyView,
    cfg: ReminderSettings,
    tz: ZoneInfo,
    workdays: Workdays,
    now: datetime,
    *,
    open_within: timedelta | None = None,
) -> list[Planned]:
    """Which reminders should exist for this society, past ones included (they are skipped
    with a reason when their moment has passed). `open_within`: the society's governance
    window after a meeting's announced time (g.Policy.open_within); a convened meeting still
    not opened by then is reported to its leader (none planned without it)."""
    cal = Calendar(tz, workdays, cfg)
    return [
        *(p for mt in view.meetings for p in _meeting_reminders(view.id, mt, cal)),
        *(
            _lapsed(view.id, mt, open_within)
            for mt in view.meetings
            if open_within is not None and mt.state is g.MeetingState.CONVENED
        ),
        *_vote_reminders(view, cfg),
        *_cadence_reminders(view, cal),
        *_summary_reminders(view, cal, now),
        *_term_reminders(view, cal),
    ]


def _meeting_reminders(sid: int, mt: MeetingView, cal: Calendar) -> list[Planned]:
    cfg = cal.cfg
    out: list[Planned] = []
    ref = f"meeting:{mt.id}"
    if mt.state in UPCOMING:
        hours = sorted(set(cfg.meeting_hours_before), reverse=True)
        for i, h in enumerate(hours):
            nxt = hours[i + 1] if i + 1 < len(hours) else 0
            if mt.convened_at is not None and mt.starts_at - timedelta(hours=h) <= mt.convened_at:
                continue  # due before the notice went out: the notice says it (not 「还有1天」)
            out.append(
                Planned(
                    sid,
                    ReminderKind.MEETING_BEFORE,
                    f"{ref}:{h}h",
                    mt.starts_at - timedelta(hours=h),
                    mt.starts_at - timedelta(hours=nxt),
                )
            )
        if cfg.checkin_open:
            out.append(
                Planned(
                    sid,
                    ReminderKind.CHECKIN_OPEN,
                    ref,
                    mt.starts_at,
                    mt.starts_at + timedelta(minutes=30),
                )
            )
        if mt.convened_at is not None:
            # T17: a platform may drop the notice without an error. Unacknowledged -> leader.
            due = min(
                mt.convened_at + timedelta(hours=cfg.notice_ack_hours),
                mt.starts_at - timedelta(hours=cfg.notice_ack_latest_hours),
            )
            if due > mt.convened_at:  # convened too close to the start: nothing to wait for
                # A moved meeting's new notice is waited for afresh (its own reminder; the old
                # one, if still pending, is skipped as no longer planned).
                notice = ref if mt.notices == 1 else f"{ref}:{mt.notices}"
                out.append(Planned(sid, ReminderKind.NOTICE_UNACKED, notice, due, mt.starts_at))
    if mt.state is g.MeetingState.CLOSED and not mt.signed and mt.closed_at is not None:
        day = cal.local_date(mt.closed_at) + timedelta(days=cfg.minutes_unsigned_days)
        due, moved = cal.at(day, forward=True)
        out.append(Planned(sid, ReminderKind.MINUTES_UNSIGNED, ref, due, None, moved))
    return out


def _lapsed(sid: int, mt: MeetingView, open_within: timedelta) -> Planned:
    """A minute after the notice lapses (g.check_notice_holds); skipped once the meeting opened
    or was cancelled, and planned afresh when it is moved (its due moves with the start)."""
    due = mt.starts_at + open_within + timedelta(minutes=1)
    return Planned(
        sid, ReminderKind.MEETING_LAPSED, f"meeting:{mt.id}", due, due + timedelta(days=1)
    )


def _vote_reminders(view: SocietyView, cfg: ReminderSettings) -> list[Planned]:
    """Votes with an announced deadline: a reminder before it to those yet to vote, and one at
    it to the chair. The poll itself is never closed by the clock (T18): the chair closes it."""
    out: list[Planned] = []
    for v in view.votes:
        ref = f"vote:{v.id}"
        closing = v.closes_at - timedelta(minutes=cfg.vote_closing_minutes)
        if closing > v.opened_at:
            out.append(Planned(view.id, ReminderKind.VOTE_CLOSING, ref, closing, v.closes_at))
        out.append(Planned(view.id, ReminderKind.VOTE_DEADLINE, ref, v.closes_at))
    return out


def _cadence_reminders(view: SocietyView, cal: Calendar) -> list[Planned]:
    """Half-year cadence: counted from the last meeting held, or from when the society joined."""
    base = cal.local_date(view.last_held() or view.created_at)
    stages = sorted(set(cal.cfg.cadence_months))
    dues = [cal.at(add_months(base, months)) for months in stages]
    out: list[Planned] = []
    for i, months in enumerate(stages):
        expires = dues[i + 1][0] if i + 1 < len(dues) else None
        out.append(
            Planned(view.id, ReminderKind.CADENCE, f"{months}m", dues[i][0], expires, dues[i][1])
        )
    return out


def _summary_reminders(view: SocietyView, cal: Calendar, now: datetime) -> list[Planned]:
    """The annual work summary, this year's and (for the overdue notice) last year's."""
    cfg = cal.cfg
    this_year = now.astimezone(cal.tz).year
    joined = cal.local_date(view.created_at)
    filed_years = set(
        summary_years(
            ((cal.local_date(at), title) for at, title in view.summary_filed),
            joined,
            view.report_deadline,
        )
    )
    out: list[Planned] = []
    for year in (this_year - 1, this_year):
        deadline = summary_owed(year, filed_years, joined, view.report_deadline)
        if deadline is None:
            continue
        overdue_due, overdue_moved = cal.at(deadline + timedelta(days=1), forward=True)
        days = sorted(set(cfg.summary_days_before), reverse=True)
        dues = [cal.at(deadline - timedelta(days=d)) for d in days]
        for i, d in enumerate(days):
            expires = dues[i + 1][0] if i + 1 < len(days) else overdue_due
            out.append(
                Planned(
                    view.id, ReminderKind.SUMMARY, f"{year}:{d}d", dues[i][0], expires, dues[i][1]
                )
            )
        if cfg.summary_overdue:
            out.append(
                Planned(
                    view.id,
                    ReminderKind.SUMMARY_OVERDUE,
                    f"{year}",
                    overdue_due,
                    None,
                    overdue_moved,
                )
            )
    return out


def _term_reminders(view: SocietyView, cal: Calendar) -> list[Planned]:
    if view.term_end is None:
        return []
    end = view.term_end
    expires = datetime.combine(end, time(23, 59), tzinfo=cal.tz).astimezone(UTC)
    out: list[Planned] = []
    for d in sorted(set(cal.cfg.term_days_before), reverse=True):
        due, moved = cal.at(end - timedelta(days=d))
        out.append(
            Planned(view.id, ReminderKind.TERM_END, f"{end.isoformat()}:{d}d", due, expires, moved)
        )
    return out


def worth_storing(p: Planned, view: SocietyView, now: datetime) -> bool:
    """Leave out what expired before the society joined or long before now (a clock set back
    before the society's creation, as the console's can be, keeps what is ahead of it)."""
    if p.expires_at is None:
        return True
    return p.expires_at > max(min(view.created_at, now), now - HORIZON)
