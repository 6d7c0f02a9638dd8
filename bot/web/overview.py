"""The committee's overview as pure functions: society facts -> rows -> filtered, sorted, paged.

One column table (`COLUMNS`) serves the HTML table, the CSV and the XLSX export, so the three
always agree. Rules of the cells:
- 领导小组: roster size; valid when it has one leader, at most `max_members` members and an
  odd number (if `require_odd`), unless the committee approved an exception (特批).
- 最近会议: months since the last meeting held (opened), or since the society joined when it
  never met, as the half-year reminders count it (第十七条): amber from 5, red from 6.
- 年度总结: this local year's summary against the society's deadline (第九条).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot import governance as g
from bot.reminders.plan import deadline_of, summary_days_late, summary_years
from storage.workbench import ChainStatus, SocietyFacts

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison

AMBER_MONTHS = 5
RED_MONTHS = g.CADENCE_MONTHS
TERM_SOON_DAYS = 90


class Summary(StrEnum):
    FILED = "filed"
    DUE = "due"  # not filed, the deadline is ahead
    OVERDUE = "overdue"
    NOT_DUE = "not_due"  # the society joined after this year's deadline


class Level(StrEnum):
    OK = "ok"
    AMBER = "amber"
    RED = "red"


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    name: str
    roster_size: int
    roster_issues: tuple[str, ...]  # Chinese labels; empty: valid
    roster_exception: bool
    last_held: date | None
    months_since: int  # since the last meeting held, or since joining
    days_since: int  # the same in days (what a month not yet gone by is said in)
    cadence: Level
    held_in_year: int
    unsigned_minutes: int
    rules_filed: bool
    summary: Summary
    summary_deadline: date
    summary_filed_on: date | None
    summary_days: int  # days left (DUE) or days late (OVERDUE)
    summary_last_year_missing: bool
    # days late of this year's summary filed after its deadline, and of last year's (filed
    # late, in the first days of this year most often): 0 when on time or not filed
    summary_filed_late: int
    summary_last_year_late: int
    pending_changes: int
    pending_filings: int
    term_end: date | None
    term_days: int | None  # days until the term ends (negative: ended)
    chain: ChainStatus | None

    @property
    def roster_valid(self) -> bool:
        return not self.roster_issues


def months_between(start: date, end: date) -> int:
    """Whole months from `start` to `end` (the day of the month counts, as add_months does)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    return max(months, 0)


def roster_issues(size: int, leaders: int, exception: bool, policy: g.Policy) -> tuple[str, ...]:
    if size == 0:
        return ("未组建",)
    issues = []
    if leaders != 1:
        issues.append("无组长" if leaders == 0 else "组长多于一人")
    if not exception:
        if size > policy.max_members:
            issues.append(f"超过{policy.max_members}人")
        if policy.require_odd and size % 2 == 0:
            issues.append("双数")
    return tuple(issues)


def build_rows(
    facts: Sequence[SocietyFacts],
    *,
    now: datetime,
    tz: ZoneInfo,
    policy_for: Callable[[str], g.Policy],
) -> list[Row]:
    today = now.astimezone(tz).date()
    deadlines: dict[tuple[int, str], date] = {}

    def deadline(year: int, mmdd: str) -> date:
        found = deadlines.get((year, mmdd))
        if found is None:
            found = deadlines[year, mmdd] = deadline_of(year, mmdd)
        return found

    rows = []
    for f in facts:
        joined = f.created_at.astimezone(tz).date()
        last = f.last_held.astimezone(tz).date() if f.last_held else None
        months = months_between(last or joined, today)
        cadence = (
            Level.RED
            if months >= RED_MONTHS
            else Level.AMBER
            if months >= AMBER_MONTHS
            else Level.OK
        )
        due = deadline(today.year, f.report_deadline)
        years = summaries_by_year(f, tz)
        filed_on = years.get(today.year)
        if filed_on is not None:
            summary, days = Summary.FILED, 0
        elif joined > due:
            summary, days = Summary.NOT_DUE, 0
        elif today > due:
            summary, days = Summary.OVERDUE, (today - due).days
        else:
            summary, days = Summary.DUE, (due - today).days
        last_deadline = deadline(today.year - 1, f.report_deadline)
        last_on = years.get(today.year - 1)
        rows.append(
            Row(
                id=f.id,
                name=f.name,
                roster_size=f.roster_size,
                roster_issues=roster_issues(
                    f.roster_size, f.leaders, f.roster_exception, policy_for(f.name)
                ),
                roster_exception=f.roster_exception,
                last_held=last,
                months_since=months,
                days_since=((today - (last or joined)).days),
                cadence=cadence,
                held_in_year=f.held_in_year,
                unsigned_minutes=f.unsigned_minutes,
                rules_filed=f.rules_filed,
                summary=summary,
                summary_deadline=due,
                summary_filed_on=filed_on,
                summary_days=days,
                summary_last_year_missing=last_on is None and joined <= last_deadline,
                summary_filed_late=0
                if filed_on is None
                else summary_days_late(filed_on, today.year, joined, f.report_deadline),
                summary_last_year_late=0
                if last_on is None
                else summary_days_late(last_on, today.year - 1, joined, f.report_deadline),
                pending_changes=f.pending_changes,
                pending_filings=f.pending_filings,
                term_end=f.term_end,
                term_days=None if f.term_end is None else (f.term_end - today).days,
                chain=f.chain,
            )
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Filters (the counters on top link to them)


@dataclass(frozen=True, slots=True)
class Filter:
    key: str
    label: str  # a counter: 「{n} 个学会超过半年未开会」
    unit: str
    test: Callable[[Row], bool]
    weight: Callable[[Row], int] = lambda row: 1


def _chain_bad(row: Row) -> bool:
    return row.chain is None or not row.chain.ok


FILTERS: tuple[Filter, ...] = (
    Filter("stale6", "超过半年未开会", "个学会", lambda r: r.cadence is Level.RED),
    Filter("stale5", "满 5 个月未开会", "个学会", lambda r: r.cadence is Level.AMBER),
    Filter("roster", "领导小组名单不合规", "个学会", lambda r: not r.roster_valid),
    Filter(
        "unsigned",
        "纪要未签发",
        "份",
        lambda r: r.unsigned_minutes > 0,
        lambda r: r.unsigned_minutes,
    ),
    Filter("rules", "未备案工作制度", "个学会", lambda r: not r.rules_filed),
    Filter("summary", "年度总结逾期", "个学会", lambda r: summary_overdue(r)),
    Filter(
        "changes",
        "成员调整待审批",
        "件",
        lambda r: r.pending_changes > 0,
        lambda r: r.pending_changes,
    ),
    Filter(
        "filings",
        "报送待确认收到",
        "件",
        lambda r: r.pending_filings > 0,
        lambda r: r.pending_filings,
    ),
    Filter(
        "term",
        f"任期已届满或 {TERM_SOON_DAYS} 天内届满",
        "个学会",
        lambda r: r.term_days is not None and r.term_days <= TERM_SOON_DAYS,
    ),
    Filter("chain", "记录链未通过校验或尚未校验", "个学会", _chain_bad),
)
FILTER_BY_KEY = {f.key: f for f in FILTERS}


@dataclass(frozen=True, slots=True)
class Counter:
    key: str
    count: int
    text: str


def counters(rows: Sequence[Row]) -> list[Counter]:
    out = []
    for f in FILTERS:
        count = sum(f.weight(r) for r in rows if f.test(r))
        out.append(Counter(f.key, count, f"{count} {f.unit}{f.label}"))
    return out


def attention(row: Row) -> int:
    """How much a society needs the committee's attention (the chat summary lists the top few)."""
    score = 0
    if row.cadence is Level.RED:
        score += 100 + row.months_since
    elif row.cadence is Level.AMBER:
        score += 50
    if summary_overdue(row):
        score += 40
    if not row.rules_filed:
        score += 20
    if not row.roster_valid:
        score += 20
    return score


# ---------------------------------------------------------------------------------------------
# Columns: one table for the page and the exports


def summary_overdue(row: Row) -> bool:
    """This year's summary past its deadline, or last year's never filed (in January, with the
    deadline at the year's end, the one owed is last year's)."""
    return row.summary is Summary.OVERDUE or row.summary_last_year_missing


def summary_text(row: Row) -> str:
    match row.summary:
        case Summary.FILED:
            assert row.summary_filed_on is not None
            late = f"，逾期 {row.summary_filed_late} 天" if row.summary_filed_late else ""
            text = f"已报送（{row.summary_filed_on.isoformat()}{late}）"
        case Summary.DUE:
            text = f"未报送，{row.summary_deadline.isoformat()} 截止（剩 {row.summary_days} 天）"
        case Summary.OVERDUE:
            text = f"逾期 {row.summary_days} 天（{row.summary_deadline.isoformat()} 截止）"
        case Summary.NOT_DUE:
            text = "本年免报（加入晚于截止日）"
    if row.summary_last_year_late:
        text += f"；上年逾期 {row.summary_last_year_late} 天报送"
    return text + ("；上年未报送" if row.summary_last_year_missing else "")


def roster_text(row: Row) -> str:
    if row.roster_issues:
        return f"{row.roster_size} 人（{'、'.join(row.roster_issues)}）"
    return f"{row.roster_size} 人（{'特批' if row.roster_exception else '合规'}）"


def last_meeting_text(row: Row) -> str:
    if row.last_held is None:
        return f"从未开会（加入已 {_span(row)}）" if row.days_since else "从未开会（今天加入）"
    when = f"{_span(row)}前" if row.days_since else "今天"
    return f"{row.last_held.isoformat()}（{when}）"


def _span(row: Row) -> str:
    """How long since the last meeting (or joining): whole months, or days under a month."""
    return f"{row.months_since} 个月" if row.months_since else f"{row.days_since} 天"


def term_text(row: Row) -> str:
    if row.term_end is None:
        return "未登记"
    assert row.term_days is not None
    if row.term_days < 0:
        return f"{row.term_end.isoformat()}（已届满）"
    return row.term_end.isoformat()


def chain_text(row: Row) -> str:
    c = row.chain
    if c is None:
        return "尚未校验"
    if c.ok:
        return f"完整（{c.entries} 条）"
    if c.broken_seq is None:  # the chain whole, a record not as the chain says
        return "校验失败：记录与记录链不符"
    what = {"hash": "内容被修改", "link": "前序哈希不符", "gap": "序号不连续"}.get(c.problem, "")
    return f"校验失败：第 {c.broken_seq} 条{what}"


def _date_key(value: date | None) -> date:
    return value or date.min


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: str
    text: Callable[[Row], str]
    sort: Callable[[Row], SupportsRichComparison]
    value: Callable[[Row], object]  # the exported cell (numbers stay numbers)


COLUMNS: tuple[Column, ...] = (
    Column("name", "学会", lambda r: r.name, lambda r: r.name, lambda r: r.name),
    Column(
        "roster",
        "领导小组",
        roster_text,
        lambda r: (r.roster_valid, r.roster_size),
        roster_text,
    ),
    Column(
        "last",
        "最近会议",
        last_meeting_text,
        lambda r: r.months_since,
        lambda r: r.last_held.isoformat() if r.last_held else "",
    ),
    Column(
        "months",
        "距今月数",
        lambda r: str(r.months_since),
        lambda r: r.months_since,
        lambda r: r.months_since,
    ),
    Column(
        "year",
        "今年会议",
        lambda r: str(r.held_in_year),
        lambda r: r.held_in_year,
        lambda r: r.held_in_year,
    ),
    Column(
        "unsigned",
        "纪要未签发",
        lambda r: str(r.unsigned_minutes),
        lambda r: r.unsigned_minutes,
        lambda r: r.unsigned_minutes,
    ),
    Column(
        "rules",
        "工作制度备案",
        lambda r: "已备案" if r.rules_filed else "未备案",
        lambda r: r.rules_filed,
        lambda r: "已备案" if r.rules_filed else "未备案",
    ),
    Column(
        "summary",
        "年度总结",
        summary_text,
        lambda r: (
            [Summary.OVERDUE, Summary.DUE, Summary.NOT_DUE, Summary.FILED].index(r.summary),
            -r.summary_days if r.summary is Summary.OVERDUE else r.summary_days,
        ),
        summary_text,
    ),
    Column(
        "changes",
        "待审批调整",
        lambda r: str(r.pending_changes),
        lambda r: r.pending_changes,
        lambda r: r.pending_changes,
    ),
    Column(
        "filings",
        "待确认报送",
        lambda r: str(r.pending_filings),
        lambda r: r.pending_filings,
        lambda r: r.pending_filings,
    ),
    Column(
        "term",
        "任期届满",
        term_text,
        lambda r: _date_key(r.term_end),
        lambda r: r.term_end.isoformat() if r.term_end else "",
    ),
    Column(
        "chain",
        "记录链",
        chain_text,
        lambda r: (r.chain is not None and r.chain.ok, r.chain.entries if r.chain else 0),
        chain_text,
    ),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}


@dataclass(frozen=True, slots=True)
class Query:
    """What the overview URL asks for: ?q=&f=&sort=&dir=&page=."""

    q: str = ""
    f: str = ""
    sort: str = "name"
    desc: bool = False
    page: int = 1

    @classmethod
    def parse(cls, params: dict[str, str]) -> Query:
        sort = params.get("sort", "name")
        try:
            page = max(1, min(int(params.get("page", "1")), 1_000_000))
        except ValueError:
            page = 1
        return cls(
            q=params.get("q", "").strip()[:100],
            f=params.get("f", "") if params.get("f", "") in FILTER_BY_KEY else "",
            sort=sort if sort in COLUMN_BY_KEY else "name",
            desc=params.get("dir") == "desc",
            page=page,
        )

    def params(self, **changes: object) -> dict[str, str]:
        """The URL parameters of this query with some changed (for links)."""
        values = {
            "q": self.q,
            "f": self.f,
            "sort": self.sort,
            "dir": "desc" if self.desc else "asc",
            "page": str(self.page),
        }
        for key, value in changes.items():
            values[key] = str(value)
        return {k: v for k, v in values.items() if v and not (k == "page" and v == "1")}


def select(rows: Sequence[Row], query: Query) -> list[Row]:
    """Filter and sort (every row: the export takes them all, the page a slice)."""
    chosen = [r for r in rows if not query.q or query.q in r.name]
    if query.f:
        test = FILTER_BY_KEY[query.f].test
        chosen = [r for r in chosen if test(r)]
    column = COLUMN_BY_KEY[query.sort]
    chosen.sort(key=lambda r: r.name)  # ties in name order, whatever the direction
    chosen.sort(key=column.sort, reverse=query.desc)
    return chosen


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Row]
    number: int
    pages: int
    total: int


def paginate(rows: Sequence[Row], page: int, size: int) -> Page:
    pages = max(1, -(-len(rows) // size))
    number = min(page, pages)
    start = (number - 1) * size
    return Page(list(rows[start : start + size]), number, pages, len(rows))


def summaries_by_year(f: SocietyFacts, tz: ZoneInfo) -> dict[int, date]:
    """Year -> the day the first annual summary that counts for it was filed."""
    filed = [(at.astimezone(tz).date(), title) for at, title in f.summaries]
    joined = f.created_at.astimezone(tz).date()
    out: dict[int, date] = {}
    for (on, _), year in zip(filed, summary_years(filed, joined, f.report_deadline), strict=True):
        out.setdefault(year, on)
    return out


def year_bounds(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The current local year as instants [start, end)."""
    year = now.astimezone(tz).year
    return datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz)


def since_months(now: datetime, tz: ZoneInfo, months: int) -> datetime:
    """The first day of the local month `months - 1` months before now's month."""
    local = now.astimezone(tz)
    month = local.year * 12 + local.month - 1 - (months - 1)
    return datetime(month // 12, month % 12 + 1, 1, tzinfo=tz)
