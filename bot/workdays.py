"""Working days in mainland China: public holidays and adjusted working days (调休).

Three sources, tried in this order for a date's year:

1. `chinesecalendar`: the State Council's published schedule, holidays and adjusted working
   weekends both, for the years its release knows (1.11: 2004-2026; it raises
   NotImplementedError for any other year).
2. The `holidays` package's China calendar: the statutory days by rule for 1950-2100, and the
   adjusted working weekends for the years whose schedule it has (`weekend_workdays`).
3. Monday to Friday.

The days the committee lists in the configuration ([reminders] holidays) are days off in every
year the first source does not know: an operator can add a published schedule before the
packages do. `source(day)` says which of these decided a date. Nothing here raises for a date.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import chinese_calendar
from holidays.countries.china import China


class Source(StrEnum):
    """Who decided whether a date is a working day."""

    CHINESECALENDAR = "chinesecalendar"
    HOLIDAYS = "holidays"
    CONFIG = "config"  # the [reminders] holidays list
    WEEKDAYS = "weekdays"  # Monday to Friday, nothing else known


@functools.lru_cache(maxsize=64)
def _chinesecalendar_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except (NotImplementedError, ValueError, KeyError):
        return False
    return True


@functools.lru_cache(maxsize=64)
def _china(year: int) -> China | None:
    """The holidays package's calendar of one year, or None outside the years it covers."""
    if not China.start_year <= year <= China.end_year:
        return None
    return China(years=year)


@dataclass(frozen=True, slots=True)
class Workdays:
    """`holidays`: extra days off (from the configuration) for the years chinesecalendar does
    not know."""

    holidays: frozenset[date] = frozenset()

    @classmethod
    def of(cls, days: Iterable[date]) -> Workdays:
        return cls(frozenset(days))

    def known(self, year: int) -> bool:
        """Whether the official schedule (chinesecalendar) covers this year."""
        return _chinesecalendar_knows(year)

    def decide(self, day: date) -> tuple[bool, Source]:
        """Whether `day` is a working day, and which source said so."""
        if _chinesecalendar_knows(day.year):
            try:
                return bool(chinese_calendar.is_workday(day)), Source.CHINESECALENDAR
            except (NotImplementedError, ValueError, KeyError):
                pass
        if day in self.holidays:
            return False, Source.CONFIG
        calendar = _china(day.year)
        if calendar is not None:
            return bool(calendar.is_working_day(day)), Source.HOLIDAYS
        return day.weekday() < 5, Source.WEEKDAYS

    def is_workday(self, day: date) -> bool:
        return self.decide(day)[0]

    def source(self, day: date) -> Source:
        return self.decide(day)[1]

    def previous_workday(self, day: date) -> date:
        """The day itself if it is a working day, else the nearest working day before it."""
        for _ in range(60):  # the longest Chinese holiday is 8-9 days; stay finite whatever
            if self.is_workday(day):
                return day
            try:
                day -= timedelta(days=1)
            except OverflowError:
                return day
        return day

    def note(self, day: date) -> str:
        """A note for a deadline shown to people: on a day off, say so."""
        if self.is_workday(day):
            return ""
        return "（该日为法定节假日或休息日）"

    def fallback_years(self, years: Iterable[int]) -> list[int]:
        """The years chinesecalendar does not know (another source decides their dates)."""
        return sorted({y for y in years if not self.known(y)})
