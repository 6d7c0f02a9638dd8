"""Annual summaries (年度工作总结, 第九条): the year each filed one counts for and how many days
late it was filed, one reading for every view that shows them (「报送期限」「报送记录」, the
committee's 「报送情况」, the 工作台's pages). No routes: the commands are in handlers/roster.py
and handlers/workbench.py, which both import it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.reminders.plan import summary_days_late, summary_years
from storage import repo


async def summary_years_of(
    society: repo.Society, tz: ZoneInfo, adding: tuple[datetime, str] | None = None
) -> tuple[date, list[repo.Filing], list[int]]:
    """The day the society joined, its annual summaries and the year each counts for
    (plan.summary_years); with `adding` (when, title), the year of one filed then, last."""
    joined = (await repo.society_joined(society.id)).astimezone(tz).date()
    rows = await repo.filings(kind="annual_summary", society_id=society.id)
    filed = [(r.at.astimezone(tz).date(), r.title) for r in rows]
    if adding is not None:
        filed.append((adding[0].astimezone(tz).date(), adding[1]))
    return joined, rows, summary_years(filed, joined, society.report_deadline)


async def summaries_late(society: repo.Society, tz: ZoneInfo) -> dict[int, int]:
    """Filing id -> the days an annual summary was filed after its year's deadline (only
    those filed late), each counted for the year the reminders count it for."""
    joined, rows, years = await summary_years_of(society, tz)
    late = {}
    for row, year in zip(rows, years, strict=True):
        filed = row.at.astimezone(tz).date()
        if days := summary_days_late(filed, year, joined, society.report_deadline):
            late[row.id] = days
    return late


async def late_filings(society_ids: Iterable[int], tz: ZoneInfo) -> dict[int, int]:
    """summaries_late of each of the societies, in one mapping (filing ids are unique)."""
    late: dict[int, int] = {}
    for sid in sorted(set(society_ids)):
        late |= await summaries_late(await repo.society(sid), tz)
    return late


def late_text(days: int | None) -> str:
    """「逾期5天提交」 for a summary filed 5 days late; 「」 for one on time."""
    return f"逾期{days}天提交" if days else ""
