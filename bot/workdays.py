"""Working days in mainland China: public holidays and adjusted working days (调休).

`chinesecalendar` knows the State Council's schedule for the years it was released with (1.11:
2004-2026) and raises NotImplementedError for any other year. Then we fall back to Monday to
Friday minus the holidays the committee lists in the configuration ([reminders] holidays), and
say so. Nothing here raises for a date.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Workdays:
    """`holidays`: extra days off for the years the calendar does not know."""

    holidays: frozenset[date] = frozenset()

    @classmethod
    def of(cls, holidays: Iterable[date]) -> Workdays:
        return cls(frozenset(holidays))

    def known(self, year: int) -> bool:
        """Whether the official holiday calendar covers this year."""
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except (NotImplementedError, ValueError, KeyError):
            return False
        return True

    def is_workday(self, day: date) -> bool:
        try:
            return bool(chinese_calendar.is_workday(day))
        except (NotImplementedError, ValueError, KeyError):
            return day.weekday() < 5 and day not in self.holidays

    def previous_workday(self, day: date) -> date:
        """The day itself if it is a working day, else the nearest working day before it."""
        for _ in range(60):  # the longest Chinese holiday is 8-9 days; stay finite whatever
            if self.is_workday(day):
                return day
            day -= timedelta(days=1)
        return day

    def note(self, day: date) -> str:
        """A note for a deadline shown to people: on a day off, say so."""
        if self.is_workday(day):
            return ""
        return "（该日为法定节假日或休息日）"

    def fallback_years(self, years: Iterable[int]) -> list[int]:
        return sorted({y for y in years if not self.known(y)})
