"""Drafting (pure): a due reminder and its society's state -> the message and its audience, or
the reason to skip it. Who exactly receives it (private messages, @-mentions, the group, the
committee) is settled by the service, which knows the platforms; the wording is in texts.py."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot import governance as g
from bot.reminders import texts
from bot.reminders.plan import (
    UPCOMING,
    MeetingView,
    Planned,
    ReminderKind,
    SocietyView,
    deadline_of,
)
from bot.workdays import Workdays


@dataclass(frozen=True, slots=True)
class Audience:
    people: tuple[int, ...] = ()  # person ids, 1:1 where possible
    group: bool = False  # also (or only) a message in the society's group
    committee: bool = False


@dataclass(frozen=True, slots=True)
class Draft:
    text: str
    audience: Audience
    listed: tuple[int, ...] = ()  # people named in the text (where texts.NAMES stands)


def draft(p: Planned, view: SocietyView, tz: ZoneInfo, workdays: Workdays) -> Draft | str:
    """The message a due reminder sends, or the reason to skip it."""
    match p.kind:
        case (
            ReminderKind.MEETING_BEFORE | ReminderKind.CHECKIN_OPEN | ReminderKind.MINUTES_UNSIGNED
        ):
            return _meeting_draft(p, view, tz)
        case ReminderKind.NOTICE_UNACKED:
            return _unacked_draft(p, view, tz)
        case ReminderKind.MEETING_LAPSED:
            return _lapsed_draft(p, view, tz)
        case ReminderKind.VOTE_CLOSING | ReminderKind.VOTE_DEADLINE:
            return _vote_draft(p, view, tz)
        case ReminderKind.CADENCE:
            return _cadence_draft(p, view, tz)
        case ReminderKind.SUMMARY | ReminderKind.SUMMARY_OVERDUE:
            return _summary_draft(p, view, workdays)
        case ReminderKind.TERM_END:
            return _term_draft(p, view)


def _ref_parts(p: Planned) -> list[str]:
    """The planner's reference: "meeting:12:24h", "vote:7", "2026:30d", "2027-01-31:90d"."""
    return p.ref.split(":")


def _meeting_of(p: Planned, view: SocietyView) -> MeetingView | None:
    return view.meeting(int(_ref_parts(p)[1]))


def _leaders_and_liaison(view: SocietyView) -> tuple[int, ...]:
    return tuple(dict.fromkeys((*view.leader_ids, *view.liaison)))


def _meeting_draft(p: Planned, view: SocietyView, tz: ZoneInfo) -> Draft | str:
    mt = _meeting_of(p, view)
    if mt is None:
        return texts.MEETING_CANCELLED
    when = texts.local_time(mt.starts_at, tz)
    if p.kind == ReminderKind.MEETING_BEFORE:
        hours = int(_ref_parts(p)[2].rstrip("h"))
        todo = tuple(pid for pid in view.member_ids if pid not in mt.answered)
        if not todo:
            return texts.ALL_ANSWERED
        return Draft(texts.meeting_before(mt.number, when, hours), Audience(people=todo))
    if p.kind == ReminderKind.CHECKIN_OPEN:
        return Draft(texts.checkin_open(mt.number, when), Audience(group=True))
    return Draft(texts.minutes_unsigned(mt.number, when), Audience(people=view.leader_ids))


def _unacked_draft(p: Planned, view: SocietyView, tz: ZoneInfo) -> Draft | str:
    mt = _meeting_of(p, view)
    if mt is None:
        return texts.MEETING_CANCELLED
    if mt.state not in UPCOMING:
        return texts.MEETING_STARTED
    roster = mt.roster or view.member_ids
    waiting = tuple(
        pid
        for pid in roster
        if pid not in mt.acked and pid not in mt.answered and pid != mt.convened_by
    )
    if not waiting:
        return texts.ALL_ACKNOWLEDGED
    convener = () if mt.convened_by is None else (mt.convened_by,)
    return Draft(
        texts.notice_unacked(mt.number, texts.local_time(mt.starts_at, tz)),
        Audience(people=view.leader_ids or convener),
        listed=waiting,
    )


def _lapsed_draft(p: Planned, view: SocietyView, tz: ZoneInfo) -> Draft | str:
    mt = _meeting_of(p, view)
    if mt is None:
        return texts.MEETING_CANCELLED
    if mt.state is not g.MeetingState.CONVENED:
        return texts.MEETING_STARTED
    chair = () if mt.chair_id is None else (mt.chair_id,)
    return Draft(
        texts.meeting_lapsed(mt.number, texts.local_time(mt.starts_at, tz)),
        Audience(people=tuple(dict.fromkeys((*view.leader_ids, *chair)))),
    )


def _vote_draft(p: Planned, view: SocietyView, tz: ZoneInfo) -> Draft | str:
    v = view.vote(int(_ref_parts(p)[1]))
    if v is None:
        return texts.VOTE_CLOSED
    when = texts.local_time(v.closes_at, tz)
    waiting = tuple(sorted(v.voters - v.voted))
    if p.kind == ReminderKind.VOTE_CLOSING:
        if v.method is g.VoteMethod.SHOW_OF_HANDS:
            return texts.HANDS_NOT_CHASED
        if not waiting:
            return texts.ALL_VOTED
        minutes = max(1, int((v.closes_at - p.due_at).total_seconds() // 60))
        return Draft(
            texts.vote_closing(v.number, v.title, when, minutes, v.method),
            Audience(people=waiting),
        )
    mt = view.meeting(v.meeting_id)
    chair = () if mt is None or mt.chair_id is None else (mt.chair_id,)
    chairs = Audience(people=tuple(dict.fromkeys((*chair, *view.leader_ids))))
    if v.method is g.VoteMethod.SHOW_OF_HANDS:
        return Draft(
            texts.vote_deadline_hands(v.number, v.title, when, recorded=v.hands_recorded), chairs
        )
    if not waiting:
        return Draft(texts.vote_deadline_all_voted(v.number, v.title, when, len(v.voters)), chairs)
    return Draft(
        texts.vote_deadline_waiting(
            v.number, v.title, when, len(v.voters & v.voted), len(v.voters)
        ),
        chairs,
        listed=waiting,
    )


def _cadence_draft(p: Planned, view: SocietyView, tz: ZoneInfo) -> Draft:
    months = int(p.ref.rstrip("m"))
    last = view.last_held()
    committee = months >= 6
    text = texts.cadence(
        view.name,
        months,
        None if last is None else last.astimezone(tz).date(),
        committee=committee,
    )
    return Draft(text, Audience(people=_leaders_and_liaison(view), committee=committee))


def _summary_draft(p: Planned, view: SocietyView, workdays: Workdays) -> Draft:
    parts = _ref_parts(p)
    year = int(parts[0])
    deadline = deadline_of(year, view.report_deadline)
    if p.kind == ReminderKind.SUMMARY:
        days = int(parts[1].rstrip("d"))
        return Draft(
            texts.summary(view.name, year, deadline, workdays.note(deadline), days),
            Audience(people=view.liaison),
        )
    return Draft(
        texts.summary_overdue(view.name, year, deadline),
        Audience(people=view.liaison, committee=True),
    )


def _term_draft(p: Planned, view: SocietyView) -> Draft:
    end, days = _ref_parts(p)
    return Draft(
        texts.term_end(view.name, end, days.rstrip("d")),
        Audience(people=_leaders_and_liaison(view)),
    )
