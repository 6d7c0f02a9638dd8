"""Charts: server-side SVG, well-formed, escaped, nothing fetched from elsewhere."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from bot.web import charts
from tests.web.conftest import Web
from tests.web.seed import Facts, society
from tests.web.test_overview import NOW

SVG = "{http://www.w3.org/2000/svg}"


def test_columns_and_rows_are_well_formed_svg() -> None:
    bars = [charts.Bar("2026-0<1>", 3, "3"), charts.Bar("a&b", 0, "0")]
    root = ET.fromstring(charts.columns("会议 <次数>", bars))
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title") is not None
    assert len(root.findall(f"{SVG}rect")) == 2
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "2026-0<1>" in texts
    assert "a&b" in texts
    rows = ET.fromstring(charts.rows("出席率", [charts.Bar("学会" * 20, 0.5, "50%", charts.WARN)]))
    widths = [float(r.get("width", "0")) for r in rows.iter(f"{SVG}rect")]
    assert widths == [320.0, 160.0]
    for markup in (charts.columns("x", bars), charts.rows("y", bars)):
        assert "style=" not in markup  # the pages forbid inline styles
        assert not re.search(r"(href|src)=", markup)


async def test_the_charts_page(webapp: Web) -> None:
    w = webapp
    for i in range(6):
        await society(Facts(name=f"图表学会{i}", months_ago=i), NOW)
    admin = await w.login("市党委刘老师")
    page = await admin.get("/web/charts")
    assert page.status == 200
    svgs = re.findall(r"<svg.*?</svg>", page.text, re.S)
    assert len(svgs) == 4
    for svg in svgs:
        ET.fromstring(svg)
    assert "各学会每月召开的会议次数（近 24 个月）" in page.text
    assert "出席率最低的学会" in page.text
    assert "年度总结按时报送率" in page.text
    # on 1 December the year's summaries are not due yet: so far filed, not failed in red
    assert f"{NOW.year} 年（截止日未到，已报送）" in page.text
    assert "http://" not in page.text.replace("http://www.w3.org/2000/svg", "")


async def test_the_attendance_rate_counts_the_roster_only(webapp: Web) -> None:
    """An observer (列席) who signed in had been counted as present on the charts: 100% there,
    while the society page said 86% (6 of 7). Both count who of the roster came, members who
    left early included (the charts had left them out)."""
    w = webapp
    h = w.harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作总结")
    await h.say("张伟", "列席 @吴国华 非党员理事长列席")
    await h.say("赵敏", "请假 出差")
    h.at("2026-12-05 14:50")
    for name in ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "吴国华"):
        await h.say(name, "签到")
    h.at("2026-12-05 15:00")
    await h.say("张伟", "开会")
    await h.say("张伟", "散会 现在")
    admin = await w.login("市党委刘老师")
    sid = (await admin.get("/web/overview")).text.split("/web/society/", 1)[1].split('"', 1)[0]
    assert "出席率 86%" in (await admin.get(f"/web/society/{sid}")).text
    lowest = (
        (await admin.get("/web/charts")).text.split("出席率最低的学会", 1)[1].split("</svg>")[0]
    )
    assert ">86%<" in lowest
    # A second meeting: everyone came, two left early (13 of 14 over both).
    h.at("2026-12-06 09:00")
    await h.say("张伟", "召开会议 2026-12-10 15:00 会议室 议题：档案整理")
    h.at("2026-12-10 14:50")
    for name in ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏"):
        await h.say(name, "签到")
    h.at("2026-12-10 15:00")
    await h.say("张伟", "开会")
    await h.say("杨帆", "离席 单位有急事")
    await h.say("赵敏", "离席 接孩子")
    await h.say("张伟", "散会 现在")
    admin = await w.login("市党委刘老师")
    society = (await admin.get(f"/web/society/{sid}")).text
    assert "出席率 100%" in society
    lowest = (
        (await admin.get("/web/charts")).text.split("出席率最低的学会", 1)[1].split("</svg>")[0]
    )
    assert ">93%<" in lowest
