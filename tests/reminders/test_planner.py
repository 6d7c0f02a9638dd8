"""The planner is pure: given a society's state and `now`, which reminders with which due
instants. Instants are UTC whatever the process time zone (the CI runs this file under TZ=UTC
and TZ=Asia/Shanghai, T19)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot import governance as g
from bot.config import ReminderSettings
from bot.reminders.draft import draft
from bot.reminders.plan import (
    MeetingView,
    Planned,
    ReminderKind,
    SocietyView,
    add_months,
    plan,
    summary_years,
)
from bot.workdays import Workdays

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 9, 1, 1, 0, tzinfo=UTC)


def view(**overrides: object) -> SocietyView:
    base = SocietyView(
        id=1,
        name="苏州市示例科技学会",
        created_at=datetime(2026, 1, 5, 2, 0, tzinfo=UTC),
        term_end=date(2027, 1, 31),
        report_deadline="12-31",
        leader_ids=(1,),
        member_ids=(1, 2, 3),
        liaison_id=5,
        meetings=(),
        summary_filed=(),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def meeting(state: g.MeetingState, **kw: object) -> MeetingView:
    base = MeetingView(
        id=12,
        number=3,
        starts_at=datetime(2026, 10, 9, 7, 0, tzinfo=UTC),  # 15:00 in Shanghai, a Friday
        state=state,
        closed_at=None,
        signed=False,
        answered=frozenset(),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def by_kind(items: list[Planned], kind: str) -> list[tuple[str, str]]:
    return [(p.ref, p.due_at.isoformat()) for p in items if p.kind == kind]


def test_meeting_reminders_are_relative_to_the_start() -> None:
    items = plan(
        view(meetings=(meeting(g.MeetingState.CONVENED),)), ReminderSettings(), SH, Workdays(), NOW
    )
    assert by_kind(items, ReminderKind.MEETING_BEFORE) == [
        ("meeting:12:24h", "2026-10-08T07:00:00+00:00"),
        ("meeting:12:1h", "2026-10-09T06:00:00+00:00"),
    ]
    assert by_kind(items, ReminderKind.CHECKIN_OPEN) == [
        ("meeting:12", "2026-10-09T07:00:00+00:00")
    ]
    one_hour = next(p for p in items if p.ref == "meeting:12:1h")
    assert one_hour.expires_at == datetime(2026, 10, 9, 7, 0, tzinfo=UTC)  # after the start: skip


def test_a_meeting_convened_an_hour_ahead_gets_no_day_before_reminder() -> None:
    """Convened 63 minutes before its start, the 24 h reminder (due the day before, expiring an
    hour before the start) had gone out with 「还有1天」 right after the notice."""
    late = meeting(g.MeetingState.CONVENED, convened_at=datetime(2026, 10, 9, 5, 57, tzinfo=UTC))
    items = plan(view(meetings=(late,)), ReminderSettings(), SH, Workdays(), NOW)
    assert by_kind(items, ReminderKind.MEETING_BEFORE) == [
        ("meeting:12:1h", "2026-10-09T06:00:00+00:00")
    ]


def test_date_reminders_move_to_the_previous_working_day_at_nine() -> None:
    items = plan(view(), ReminderSettings(), SH, Workdays(), NOW)
    # Created 2026-01-05: five months = 2026-06-05 (a Friday), six = 2026-07-05 (a Sunday -> Fri 3rd)
    assert by_kind(items, ReminderKind.CADENCE) == [
        ("5m", "2026-06-05T01:00:00+00:00"),
        ("6m", "2026-07-03T01:00:00+00:00"),
    ]
    six = next(p for p in items if p.ref == "6m")
    assert six.shifted_from == date(2026, 7, 5)
    assert by_kind(items, ReminderKind.SUMMARY) == [
        ("2026:30d", "2026-12-01T01:00:00+00:00"),
        ("2026:7d", "2026-12-24T01:00:00+00:00"),
        ("2026:1d", "2026-12-30T01:00:00+00:00"),
        ("2026:0d", "2026-12-31T01:00:00+00:00"),
    ]
    # Overdue moves forward: 2027-01-01 is New Year's Day. chinesecalendar 1.11 has no 2027; the
    # holidays package's China calendar knows it (bot/workdays.py), so Monday the 4th.
    assert by_kind(items, ReminderKind.SUMMARY_OVERDUE) == [("2026", "2027-01-04T01:00:00+00:00")]
    assert by_kind(items, ReminderKind.TERM_END) == [
        ("2027-01-31:90d", "2026-11-02T01:00:00+00:00"),
        ("2027-01-31:30d", "2026-12-31T01:00:00+00:00"),  # 2027-01-01 is off: the day before
    ]
    # A day the committee lists is off too (here a Monday).
    listed = plan(view(), ReminderSettings(), SH, Workdays.of([date(2027, 1, 4)]), NOW)
    assert by_kind(listed, ReminderKind.SUMMARY_OVERDUE) == [("2026", "2027-01-05T01:00:00+00:00")]


def test_national_day_and_adjusted_working_days() -> None:
    cfg = ReminderSettings(term_days_before=(0,))
    # Term ends on 2026-10-03 (National Day holiday): the reminder goes on 09-30.
    items = plan(view(term_end=date(2026, 10, 3)), cfg, SH, Workdays(), NOW)
    assert by_kind(items, ReminderKind.TERM_END) == [("2026-10-03:0d", "2026-09-30T01:00:00+00:00")]
    # 2026-10-10 is a Saturday but an adjusted working day (调休): it stays.
    items = plan(view(term_end=date(2026, 10, 10)), cfg, SH, Workdays(), NOW)
    assert by_kind(items, ReminderKind.TERM_END) == [("2026-10-10:0d", "2026-10-10T01:00:00+00:00")]
    # The society may opt out of the working-day rule.
    items = plan(
        view(term_end=date(2026, 10, 3)), replace(cfg, workdays_only=False), SH, Workdays(), NOW
    )
    assert by_kind(items, ReminderKind.TERM_END) == [("2026-10-03:0d", "2026-10-03T01:00:00+00:00")]


def test_minutes_unsigned_and_filed_summaries() -> None:
    closed = meeting(g.MeetingState.CLOSED, closed_at=datetime(2026, 10, 9, 9, 0, tzinfo=UTC))
    items = plan(view(meetings=(closed,)), ReminderSettings(), SH, Workdays(), NOW)
    # Three days after 10-09 is Monday 10-12.
    assert by_kind(items, ReminderKind.MINUTES_UNSIGNED) == [
        ("meeting:12", "2026-10-12T01:00:00+00:00")
    ]
    # A held meeting restarts the half-year count; a filed summary stops its reminders.
    assert by_kind(items, ReminderKind.CADENCE)[0] == ("5m", "2027-03-09T01:00:00+00:00")
    filed = view(summary_filed=((datetime(2026, 11, 20, 2, 0, tzinfo=UTC), "年度工作总结"),))
    assert by_kind(plan(filed, ReminderSettings(), SH, Workdays(), NOW), ReminderKind.SUMMARY) == []
    signed = replace(closed, signed=True)
    assert (
        by_kind(
            plan(view(meetings=(signed,)), ReminderSettings(), SH, Workdays(), NOW),
            ReminderKind.MINUTES_UNSIGNED,
        )
        == []
    )


def test_only_those_who_have_not_answered_are_reminded() -> None:
    mt = meeting(g.MeetingState.CONVENED, answered=frozenset({1, 2}))
    v = view(meetings=(mt,))
    p = next(
        p
        for p in plan(v, ReminderSettings(), SH, Workdays(), NOW)
        if p.kind == ReminderKind.MEETING_BEFORE
    )
    d = draft(p, v, SH, Workdays())
    assert not isinstance(d, str)
    assert d.audience.people == (3,)
    everyone = view(meetings=(replace(mt, answered=frozenset({1, 2, 3})),))
    assert draft(p, everyone, SH, Workdays()) == "全体成员已签到或请假"


def test_cadence_stage_six_tells_the_committee_and_offsets_are_configurable() -> None:
    cfg = ReminderSettings(meeting_hours_before=(48, 2), cadence_months=(4, 6))
    items = plan(view(meetings=(meeting(g.MeetingState.CONVENED),)), cfg, SH, Workdays(), NOW)
    assert [r for r, _ in by_kind(items, ReminderKind.MEETING_BEFORE)] == [
        "meeting:12:48h",
        "meeting:12:2h",
    ]
    six = next(p for p in items if p.kind == ReminderKind.CADENCE and p.ref == "6m")
    d = draft(six, view(), SH, Workdays())
    assert not isinstance(d, str)
    assert d.audience.committee
    assert set(d.audience.people) == {1, 5}


def test_add_months_clamps_the_day() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 7, 15), 5) == date(2026, 12, 15)


def test_a_summary_counts_for_the_year_it_reports_on() -> None:
    joined = date(2025, 3, 1)
    # Named in the title: that year, when it is the year filed in or the one before.
    assert summary_years([(date(2027, 1, 3), "2026年度工作总结")], joined, "12-31") == [2026]
    assert summary_years([(date(2026, 12, 3), "2026 年工作总结")], joined, "12-31") == [2026]
    # Not named: the owed year whose deadline is nearest (last year's, filed late, in January;
    # this year's in December, though last year's was never filed), else this year's.
    assert summary_years([(date(2027, 1, 3), "年度工作总结")], joined, "12-31") == [2026]
    assert summary_years([(date(2026, 12, 1), "年度工作总结")], joined, "12-31") == [2026]
    assert summary_years([(date(2027, 1, 10), "总结")], joined, "03-31") == [2027]
    assert summary_years(
        [(date(2026, 12, 1), "总结"), (date(2027, 1, 3), "总结")], joined, "12-31"
    ) == [2026, 2027]
    # A year named twice, or one too far back, is not taken from the title.
    assert summary_years([(date(2027, 1, 3), "2026-2027年度总结")], joined, "12-31") == [2026]
    assert summary_years([(date(2027, 1, 3), "2020年度总结")], joined, "12-31") == [2026]
    # A society that joined after last year's deadline owed nothing then.
    assert summary_years([(date(2027, 1, 3), "总结")], date(2027, 1, 2), "12-31") == [2027]


def test_a_late_summary_stops_its_own_years_reminders_not_the_next() -> None:
    january = datetime(2027, 1, 4, 1, 0, tzinfo=UTC)
    late = view(summary_filed=((datetime(2027, 1, 3, 2, 0, tzinfo=UTC), "2026年度工作总结"),))
    items = plan(late, ReminderSettings(), SH, Workdays(), january)
    assert all(ref.startswith("2027:") for ref, _ in by_kind(items, ReminderKind.SUMMARY))
    assert by_kind(items, ReminderKind.SUMMARY)
    assert [ref for ref, _ in by_kind(items, ReminderKind.SUMMARY_OVERDUE)] == ["2027"]


def test_a_convened_meeting_is_reported_a_minute_after_its_notice_lapses() -> None:
    window = timedelta(hours=3)
    convened = view(meetings=(meeting(g.MeetingState.CONVENED),))
    items = plan(convened, ReminderSettings(), SH, Workdays(), NOW, open_within=window)
    assert by_kind(items, ReminderKind.MEETING_LAPSED) == [
        ("meeting:12", "2026-10-09T10:01:00+00:00")
    ]
    # Not without the window, nor for a meeting already opened.
    assert not by_kind(plan(convened, ReminderSettings(), SH, Workdays(), NOW), "meeting_lapsed")
    opened = view(meetings=(meeting(g.MeetingState.OPEN),))
    assert not by_kind(
        plan(opened, ReminderSettings(), SH, Workdays(), NOW, open_within=window),
        ReminderKind.MEETING_LAPSED,
    )
