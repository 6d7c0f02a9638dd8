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
