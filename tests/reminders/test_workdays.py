"""Working days: chinesecalendar where it knows the year, else the holidays package's China
calendar, plus the configured list; each date says which source decided it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import ReminderSettings
from bot.reminders.plan import DATED_KINDS, SocietyView, plan
from bot.workdays import Source, Workdays

SH = ZoneInfo("Asia/Shanghai")


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# 2027, unknown to chinesecalendar 1.11: New Year's Day, the Spring Festival and Labour Day
# holidays as the holidays package has them (statutory days and their observed days).
HOLIDAYS_2027 = [
    date(2027, 1, 1),
    *days(date(2027, 2, 5), date(2027, 2, 10)),
    *days(date(2027, 5, 1), date(2027, 5, 4)),
]


def test_holidays_and_adjusted_working_days() -> None:
    w = Workdays()
    assert not w.is_workday(date(2026, 10, 1))  # National Day
    assert w.is_workday(date(2026, 10, 10))  # Saturday, 调休 working day
    assert w.previous_workday(date(2026, 10, 5)) == date(2026, 9, 30)
    assert w.previous_workday(date(2026, 10, 9)) == date(2026, 10, 9)
    assert w.note(date(2026, 10, 1)) != ""
    assert w.note(date(2026, 10, 9)) == ""
    assert w.source(date(2026, 10, 1)) is Source.CHINESECALENDAR


@pytest.mark.parametrize("day", HOLIDAYS_2027)
def test_2027_holidays_come_from_the_holidays_package(day: date) -> None:
    w = Workdays()
    assert not w.known(2027)  # chinesecalendar does not have the year
    assert w.decide(day) == (False, Source.HOLIDAYS)
    assert w.note(day) != ""


def test_2027_ordinary_days_and_weekends() -> None:
    w = Workdays()
    assert w.decide(date(2027, 1, 4)) == (True, Source.HOLIDAYS)  # a Monday
    assert w.decide(date(2027, 1, 9)) == (False, Source.HOLIDAYS)  # a Saturday
    assert w.previous_workday(date(2027, 1, 1)) == date(2026, 12, 31)
    assert w.previous_workday(date(2027, 5, 4)) == date(2027, 4, 30)
    assert w.previous_workday(date(2027, 2, 10)) == date(2027, 2, 4)


def test_the_configured_list_adds_days_off_where_chinesecalendar_has_no_data() -> None:
    configured = Workdays.of([date(2027, 9, 29), date(2027, 9, 30), date(2026, 9, 29)])
    assert configured.decide(date(2027, 9, 29)) == (False, Source.CONFIG)
    assert configured.previous_workday(date(2027, 10, 3)) == date(2027, 9, 28)
    # A year chinesecalendar knows is its alone.
    assert configured.decide(date(2026, 9, 29)) == (True, Source.CHINESECALENDAR)
    assert configured.fallback_years([2026, 2027, 2028]) == [2027, 2028]


def test_outside_every_calendar_monday_to_friday() -> None:
    w = Workdays()
    assert w.decide(date(2150, 1, 1)) == (True, Source.WEEKDAYS)  # a Thursday
    assert w.decide(date(2150, 1, 3)) == (False, Source.WEEKDAYS)  # a Saturday


def test_never_raises_for_any_date() -> None:
    w = Workdays()
    for day in (date(1990, 1, 1), date(2003, 12, 31), date(2099, 12, 31), date(1, 1, 1)):
        w.is_workday(day)
        w.previous_workday(day)
        w.source(day)


def test_no_reminder_is_scheduled_on_a_2027_holiday() -> None:
    """Date-based reminders whose day falls on each day of early 2027 (term end, annual summary,
    meeting cadence) all move off New Year's Day, the Spring Festival and Labour Day."""
    due: set[date] = set()
    for end in days(date(2026, 12, 20), date(2027, 6, 30)):
        view = SocietyView(
            id=1,
            name="苏州市示例科技学会",
            created_at=datetime.combine(end - timedelta(days=183), datetime.min.time(), SH),
            term_end=end,
            report_deadline=f"{end.month:02d}-{end.day:02d}",
            leader_ids=(1,),
            member_ids=(1, 2, 3),
            liaison_id=5,
            meetings=(),
            summary_filed=(),
        )
        now = datetime(2026, 12, 1, tzinfo=UTC)
        for p in plan(view, ReminderSettings(), SH, Workdays(), now):
            if p.kind in DATED_KINDS:
                due.add(p.due_at.astimezone(SH).date())
    assert len(due) > 100  # the reminders cover the months around the holidays
    assert not due & set(HOLIDAYS_2027)
