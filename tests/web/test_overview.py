"""The committee's overview: counters, sorting, filtering, paging, exports, bounded queries."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from openpyxl import load_workbook

from bot.config import Settings
from bot.web import overview as ov
from storage import workbench as store
from tests.kit.clock import TZ
from tests.web.conftest import Web, counting_queries
from tests.web.seed import Facts, society

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)


def names(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/web/society/\d+">([^<]+)</a></th>', html)


def column(html: str, key: str) -> list[str]:
    return re.findall(rf'data-col="{key}">([^<]*)</td>', html)


async def seed(count: int) -> None:
    for i in range(count):
        await society(
            Facts(
                name=f"学会{i:03d}",
                months_ago=None if i % 10 == 9 else i % 9,
                roster=6 if i % 5 == 4 else 7,
                rules=i % 2 == 0,
                summary_on=datetime(2026, 6, 1, tzinfo=UTC) if i % 3 == 0 else None,
                pending_changes=1 if i % 7 == 0 else 0,
                pending_filings=2 if i % 11 == 0 else 0,
                unsigned=1 if i % 13 == 0 else 0,
                term_end=date(2027, 1, 15) if i % 17 == 0 else None,
            ),
            NOW,
        )


async def test_counters_sorting_filtering_paging(webapp: Web) -> None:
    w = webapp
    await seed(60)
    rows = ov.build_rows(
        await store.society_facts(ov.year_bounds(NOW, TZ)),
        now=NOW,
        tz=TZ,
        policy_for=Settings().policy_for,
    )
    assert len(rows) == 61  # and the demo society
    stale = sum(1 for r in rows if r.months_since >= 6)
    amber = sum(1 for r in rows if r.months_since == 5)
    assert stale > 0
    assert amber > 0
    admin = await w.login("市党委刘老师")
    page = await admin.get("/web/overview")
    assert page.status == 200
    assert f"{stale} 个学会超过半年未开会" in page.text
    assert f"{amber} 个学会满 5 个月未开会" in page.text
    shown = names(page.text)
    assert len(shown) == 50
    assert shown == sorted(shown)
    assert "第 1 / 2 页" in page.text
    second = await admin.get("/web/overview", page="2")
    assert len(names(second.text)) == 11
    assert set(shown).isdisjoint(names(second.text))
    # Sorting by months since the last meeting, both ways; colours at 5 and 6 months.
    desc = await admin.get("/web/overview", sort="months", dir="desc")
    months = [int(x) for x in column(desc.text, "months")]
    assert months == sorted(months, reverse=True)
    assert months[0] >= 6
    assert f'class="red" data-col="months">{months[0]}<' in desc.text
    asc = await admin.get("/web/overview", sort="months", dir="asc")
    assert [int(x) for x in column(asc.text, "months")] == sorted(
        int(x) for x in column(asc.text, "months")
    )
    assert (
        'class="amber" data-col="months">5<' in (await admin.get("/web/overview", f="stale5")).text
    )
    # Filtering: a counter's filter, and a name search.
    red = await admin.get("/web/overview", f="stale6", sort="name")
    assert len(names(red.text)) == stale
    assert all(int(x) >= 6 for x in column(red.text, "months"))
    found = await admin.get("/web/overview", q="学会01")
    assert names(found.text) == [f"学会01{i}" for i in range(10)]
    nothing = await admin.get("/web/overview", q="没有这个")
    assert "没有符合条件的学会" in nothing.text
    # Bad parameters fall back to the defaults instead of failing.
    odd = await admin.get("/web/overview", sort="drop table", page="x", f="nope")
    assert odd.status == 200
    assert len(names(odd.text)) == 50


async def test_exports_hold_the_same_table(webapp: Web) -> None:
    w = webapp
    await seed(60)
    admin = await w.login("市党委刘老师")
    page = await admin.get("/web/overview.csv", f="stale6", sort="months", dir="desc")
    assert page.status == 200
    assert "attachment" in page.headers["Content-Disposition"]
    assert page.body.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(page.body.decode("utf-8-sig"))))
    assert table[0] == [c.header for c in ov.COLUMNS]
    months = [int(r[3]) for r in table[1:]]
    assert months == sorted(months, reverse=True)
    assert all(m >= 6 for m in months)
    everything = await admin.get("/web/overview.csv")
    assert len(list(csv.reader(io.StringIO(everything.body.decode("utf-8-sig"))))) == 62
    xlsx = await admin.get("/web/overview.xlsx")
    assert xlsx.status == 200
    book = load_workbook(io.BytesIO(xlsx.body), read_only=True)
    sheet = book.worksheets[0]
    cells = list(sheet.iter_rows(values_only=True))
    assert list(cells[0]) == [c.header for c in ov.COLUMNS]
    assert len(cells) == 62
    assert {r[0] for r in cells[1:]} == {f"学会{i:03d}" for i in range(60)} | {"苏州市示例科技学会"}
    book.close()


async def test_the_overview_reads_in_a_fixed_number_of_statements(webapp: Web) -> None:
    w = webapp
    admin = await w.login("市党委刘老师")
    counts = []
    for start, more in ((0, 4), (4, 40)):
        await seed_more(start, more)
        with counting_queries() as seen:
            page = await admin.get("/web/overview")
        assert page.status == 200
        counts.append(len(seen))
        with counting_queries() as seen:
            csv_page = await admin.get("/web/overview.csv")
        assert csv_page.status == 200
        counts.append(len(seen))
    # No N+1: the same statements for 5 and 45 societies (session + roles, then the facts).
    assert counts[0] == counts[2]
    assert counts[1] == counts[3]
    assert counts[0] <= 10


async def seed_more(start: int, count: int) -> None:
    for i in range(start, start + count):
        await society(Facts(name=f"计数学会{i:03d}", months_ago=i % 8, pending_filings=i % 2), NOW)


def test_months_between_counts_whole_months() -> None:
    assert ov.months_between(date(2026, 6, 1), date(2026, 12, 1)) == 6
    assert ov.months_between(date(2026, 6, 2), date(2026, 12, 1)) == 5
    assert ov.months_between(date(2026, 1, 31), date(2026, 2, 28)) == 0
    assert ov.months_between(date(2026, 12, 1), date(2026, 6, 1)) == 0


RULED = store.SocietyFacts(
    id=1,
    name="甲",
    created_at=datetime(2025, 1, 1, tzinfo=UTC),
    term_end=date(2026, 12, 20),
    report_deadline="11-30",
    roster_exception=False,
    roster_size=8,
    leaders=0,
    last_held=None,
    held_in_year=0,
    unsigned_minutes=2,
    rules_filed=False,
    summaries=(),
    pending_changes=1,
    pending_filings=3,
    chain=None,
)


def test_rows_follow_the_rules() -> None:
    facts = RULED
    (row,) = ov.build_rows([facts], now=NOW, tz=TZ, policy_for=Settings().policy_for)
    assert row.roster_issues == ("无组长", "超过7人", "双数")
    assert row.cadence is ov.Level.RED
    assert row.months_since == 23  # never met: counted from joining
    assert row.summary is ov.Summary.OVERDUE
    assert row.summary_days == 1
    assert row.summary_last_year_missing
    assert ov.summary_text(row) == "逾期 1 天（2026-11-30 截止）；上年未报送"
    assert row.term_days == 19
    counted = {c.key: c.count for c in ov.counters([row])}
    assert counted == {
        "stale6": 1,
        "stale5": 0,
        "roster": 1,
        "unsigned": 2,
        "rules": 1,
        "summary": 1,
        "changes": 1,
        "filings": 3,
        "term": 1,
        "chain": 1,
    }
    amber = replace(facts, roster_exception=True, leaders=1, last_held=NOW - timedelta(days=160))
    (row,) = ov.build_rows([amber], now=NOW, tz=TZ, policy_for=Settings().policy_for)
    assert row.roster_issues == ()  # the committee approved 8 as an exception
    assert ov.roster_text(row) == "8 人（特批）"
    assert (row.cadence, row.months_since) == (ov.Level.AMBER, 5)


def test_a_summary_filed_in_january_is_last_years() -> None:
    base = replace(
        RULED,
        term_end=None,
        report_deadline="12-31",
        roster_size=7,
        leaders=1,
        unsigned_minutes=0,
        rules_filed=True,
        summaries=((datetime(2027, 1, 3, 10, 0, tzinfo=TZ), "2026年度工作总结"),),
        pending_changes=0,
        pending_filings=0,
    )
    january = datetime(2027, 1, 10, 9, 0, tzinfo=TZ)
    (row,) = ov.build_rows([base], now=january, tz=TZ, policy_for=Settings().policy_for)
    # Last year's, filed late: this year's is still to come, last year's is not missing.
    assert row.summary is ov.Summary.DUE
    assert row.summary_filed_on is None
    assert not row.summary_last_year_missing
    assert ov.summaries_by_year(base, TZ) == {2026: date(2027, 1, 3)}
    # ... and late: said so (the chat's 报送情况 counts it as last year's, filed late)
    assert (row.summary_last_year_late, row.summary_filed_late) == (3, 0)
    assert ov.summary_text(row) == "未报送，2027-12-31 截止（剩 355 天）；上年逾期 3 天报送"
    # This year's, filed after a mid-year deadline: filed, and late.
    june = replace(base, report_deadline="06-30")
    june = replace(june, summaries=((datetime(2027, 7, 15, 10, 0, tzinfo=TZ), "2027年度总结"),))
    (row,) = ov.build_rows(
        [june], now=datetime(2027, 8, 1, tzinfo=TZ), tz=TZ, policy_for=Settings().policy_for
    )
    assert (row.summary, row.summary_filed_late) == (ov.Summary.FILED, 15)
    assert ov.summary_text(row).startswith("已报送（2027-07-15，逾期 15 天）")
    # In December the same society's summary without a year named is this year's.
    december = replace(base, summaries=((datetime(2027, 12, 20, 10, 0, tzinfo=TZ), "总结"),))
    (row,) = ov.build_rows(
        [december], now=datetime(2027, 12, 21, tzinfo=TZ), tz=TZ, policy_for=Settings().policy_for
    )
    assert row.summary is ov.Summary.FILED
    assert row.summary_filed_on == date(2027, 12, 20)


async def test_last_years_summary_never_filed_counts_as_overdue(webapp: Web) -> None:
    """With the deadline at the year's end, in the new year the summary owed is last year's:
    the counter 「年度总结逾期」 and its filter had counted only this year's (0 all year long),
    the row saying 「上年未报送」 beside them; the chat's 报送情况 had said 逾期 0 个."""
    await society(Facts(name="未交学会", months_ago=1, rules=True, summary_on=None), NOW)
    await society(
        Facts(
            name="已交学会", months_ago=1, rules=True, summary_on=datetime(2026, 12, 20, tzinfo=UTC)
        ),
        NOW,
    )
    later = datetime(2027, 3, 2, 9, 0, tzinfo=TZ)
    rows = ov.build_rows(
        await store.society_facts(ov.year_bounds(later, TZ)),
        now=later,
        tz=TZ,
        policy_for=Settings().policy_for,
    )
    late = sorted(r.name for r in rows if ov.summary_overdue(r))
    assert "未交学会" in late
    assert "已交学会" not in late
    counted = {c.key: c.count for c in ov.counters(rows)}
    assert counted["summary"] == len(late)


async def test_a_meeting_under_a_month_ago_is_said_in_days(webapp: Web) -> None:
    """A meeting 25 days ago had read 「2026-11-06（0 个月前）」. Under a month it is said in
    days (today: 今天); a month or more in months, as before."""
    await society(Facts(name="上月学会", months_ago=1), NOW)
    await society(Facts(name="昨日学会", months_ago=0), NOW)
    await society(Facts(name="新学会", months_ago=None, joined=NOW - timedelta(days=20)), NOW)
    rows = {
        r.name: r
        for r in ov.build_rows(
            await store.society_facts(ov.year_bounds(NOW, TZ)),
            now=NOW,
            tz=TZ,
            policy_for=Settings().policy_for,
        )
    }
    assert ov.last_meeting_text(rows["昨日学会"]) == "2026-11-30（1 天前）"
    assert ov.last_meeting_text(rows["上月学会"]).endswith("（1 个月前）")
    assert ov.last_meeting_text(rows["新学会"]) == "从未开会（加入已 20 天）"
    today = replace(rows["昨日学会"], last_held=NOW.date(), days_since=0)
    assert ov.last_meeting_text(today) == "2026-12-01（今天）"
    assert "0 个月" not in (await (await webapp.login("市党委刘老师")).get("/web/overview")).text
