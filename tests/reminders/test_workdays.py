"""Working days: chinesecalendar where it knows the year, a configured fallback where not."""

from __future__ import annotations

from datetime import date

from bot.workdays import Workdays


def test_holidays_and_adjusted_working_days() -> None:
    w = Workdays()
    assert not w.is_workday(date(2026, 10, 1))  # National Day
    assert w.is_workday(date(2026, 10, 10))  # Saturday, 调休 working day
    assert w.previous_workday(date(2026, 10, 5)) == date(2026, 9, 30)
    assert w.previous_workday(date(2026, 10, 9)) == date(2026, 10, 9)
    assert w.note(date(2026, 10, 1)) != ""
    assert w.note(date(2026, 10, 9)) == ""


def test_unknown_years_fall_back_to_weekdays_and_configured_holidays() -> None:
    plain = Workdays()
    assert not plain.known(2027)
    assert plain.known(2026)
    assert plain.is_workday(date(2027, 10, 1))  # a Friday, unknown to the calendar
    configured = Workdays.of([date(2027, 10, 1), date(2027, 9, 30)])
    assert not configured.is_workday(date(2027, 10, 1))
    assert configured.previous_workday(date(2027, 10, 3)) == date(2027, 9, 29)
    assert configured.fallback_years([2026, 2027, 2028]) == [2027, 2028]


def test_never_raises_for_any_date() -> None:
    w = Workdays()
    for day in (date(1990, 1, 1), date(2003, 12, 31), date(2099, 12, 31), date(1, 1, 1)):
        w.is_workday(day)
        w.previous_workday(day)
