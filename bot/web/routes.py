"""The 工作台's pages (GET views). Each one checks access first, then reads, then renders.

Pages: the start page; the committee's overview (+ CSV/XLSX), charts, approvals and sessions; a
society's page; its signed minutes (list, HTML view, .docx). The decisions (POST) are in app.py.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot import governance as g
from bot import minutes as mn
from bot.records import write_docx
from bot.reminders.listing import listing
from bot.reminders.plan import deadline_of, summary_days_late
from bot.web import charts
from bot.web import export as xport
from bot.web import overview as ov
from bot.web.access import Action, Page, WebRole, allowed
from bot.web.base import (
    Refused,
    context,
    day,
    local,
    not_found,
    path_id,
    percent,
    render,
    require,
    viewer,
)
from handlers import texts as t
from handlers.roster import change_text, non_party_note, not_a_party_member
from handlers.summaries import late_filings, late_text, summaries_late
from storage import repo
from storage import workbench as store

KIND = {"work_rules": "工作制度备案", "major_issue": "重大问题报告", "annual_summary": "年度总结"}
STATUS = {"pending": "待审批", "approved": "已批准", "rejected": "已驳回"}
PLATFORM = {"wecom": "企业微信", "dingtalk": "钉钉", "console": "控制台"}
ROLE_NAMES = {
    WebRole.COMMITTEE: "市科技社团党委",
    WebRole.LEADER: "组长",
    WebRole.LIAISON: "党建联系人",
    WebRole.RECORDER: "记录人",
    WebRole.MEMBER: "组员",
    WebRole.GUEST: "访客",
}


# ---------------------------------------------------------------------------------------------
# Start page


async def home(request: web.Request) -> web.StreamResponse:
    who = require(request, Page.HOME, Action.VIEW)
    places = []
    for sid, roles in sorted(who.societies.items()):
        full = Page.SOCIETY if _may(request, Page.SOCIETY, sid) else Page.MINUTES
        href = f"/society/{sid}" if full is Page.SOCIETY else f"/society/{sid}/minutes"
        places.append(
            {
                "name": who.society_names.get(sid, ""),
                "href": href,
                "roles": "、".join(ROLE_NAMES[r] for r in sorted(roles)),
                "full": full is Page.SOCIETY,
            }
        )
    return await render(
        request,
        "home.html",
        {"title": "工作台", "places": places, "committee": who.committee},
    )


def _may(request: web.Request, page: Page, society_id: int | None = None) -> bool:
    return allowed(viewer(request), page, Action.VIEW, society_id)


# ---------------------------------------------------------------------------------------------
# The committee's overview


async def _rows(request: web.Request) -> list[ov.Row]:
    ctx = context(request)
    now = ctx.clock.now()
    facts = await store.society_facts(ov.year_bounds(now, ctx.settings.tz))
    return ov.build_rows(facts, now=now, tz=ctx.settings.tz, policy_for=ctx.settings.policy_for)


def _cells(row: ov.Row) -> dict[str, dict[str, str]]:
    """Text and CSS class of each cell (the colours: amber / red)."""
    warn = {
        "roster": "red" if row.roster_issues else "",
        "last": {ov.Level.RED: "red", ov.Level.AMBER: "amber", ov.Level.OK: ""}[row.cadence],
        "months": {ov.Level.RED: "red", ov.Level.AMBER: "amber", ov.Level.OK: ""}[row.cadence],
        "unsigned": "amber" if row.unsigned_minutes else "",
        "rules": "" if row.rules_filed else "amber",
        "summary": "red" if ov.summary_overdue(row) else "",
        "changes": "bold" if row.pending_changes else "",
        "filings": "bold" if row.pending_filings else "",
        "term": "red"
        if row.term_days is not None and row.term_days < 0
        else "amber"
        if row.term_days is not None and row.term_days <= ov.TERM_SOON_DAYS
        else "",
        "chain": "red" if row.chain is not None and not row.chain.ok else "",
    }
    return {c.key: {"text": c.text(row), "class": warn.get(c.key, "")} for c in ov.COLUMNS}


async def overview(request: web.Request) -> web.StreamResponse:
    require(request, Page.OVERVIEW, Action.VIEW)
    ctx = context(request)
    rows = await _rows(request)
    query = ov.Query.parse(dict(request.query))
    chosen = ov.select(rows, query)
    page = ov.paginate(chosen, query.page, ctx.settings.web.page_size)
    return await render(
        request,
        "overview.html",
        {
            "title": "学会总览",
            "total": len(rows),
            "counters": ov.counters(rows),
            "columns": ov.COLUMNS,
            "filters": ov.FILTERS,
            "page": page,
            "cells": [(row, _cells(row)) for row in page.rows],
            "q": query,
        },
    )


def _download(body: bytes, name: str, content_type: str) -> web.Response:
    return web.Response(
        body=body,
        content_type=content_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


async def overview_csv(request: web.Request) -> web.StreamResponse:
    require(request, Page.OVERVIEW, Action.EXPORT)
    rows = ov.select(await _rows(request), ov.Query.parse(dict(request.query)))
    today = context(request).clock.now().astimezone(context(request).settings.tz).date()
    return _download(xport.to_csv(rows), f"学会总览-{today}.csv", "text/csv")


async def overview_xlsx(request: web.Request) -> web.StreamResponse:
    require(request, Page.OVERVIEW, Action.EXPORT)
    rows = ov.select(await _rows(request), ov.Query.parse(dict(request.query)))
    today = context(request).clock.now().astimezone(context(request).settings.tz).date()
    body = await asyncio.to_thread(xport.to_xlsx, rows)
    return _download(
        body,
        f"学会总览-{today}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


# ---------------------------------------------------------------------------------------------
# Charts


ATTENDANCE_BANDS = (
    (0.0, "50% 以下"),
    (0.5, "50%-67%"),
    (2 / 3, "67%-80%"),
    (0.8, "80%-90%"),
    (0.9, "90% 以上"),
)


async def charts_page_data(request: web.Request) -> dict[str, Any]:
    ctx = context(request)
    now = ctx.clock.now()
    tz = ctx.settings.tz
    today = now.astimezone(tz).date()
    # Meetings held per month, the last 24 months.
    since = ov.since_months(now, tz, 24)
    per_month = Counter(
        (s.astimezone(tz).year, s.astimezone(tz).month)
        for s in await store.held_meeting_starts(since)
    )
    months = []
    y, mth = since.year, since.month
    for _ in range(24):
        months.append((y, mth))
        y, mth = (y + 1, 1) if mth == 12 else (y, mth + 1)
    meetings = charts.columns(
        "各学会每月召开的会议次数（近 24 个月）",
        [charts.Bar(f"{a}-{b:02d}", per_month[(a, b)], str(per_month[(a, b)])) for a, b in months],
    )
    # Attendance rate per society, the last 12 months.
    facts = await store.society_facts(ov.year_bounds(now, tz))
    names = {f.id: f.name for f in facts}
    rates = sorted(
        (present / expected, names.get(sid, str(sid)))
        for sid, (present, expected) in (
            await store.attendance_by_society(ov.since_months(now, tz, 12))
        ).items()
    )
    bands = [0] * len(ATTENDANCE_BANDS)
    for rate, _ in rates:
        index = max(i for i, (low, _) in enumerate(ATTENDANCE_BANDS) if rate >= low)
        bands[index] += 1
    distribution = charts.columns(
        "出席率分布（近 12 个月，学会数）",
        [
            charts.Bar(label, n, str(n))
            for (_, label), n in zip(ATTENDANCE_BANDS, bands, strict=True)
        ],
    )
    lowest = charts.rows(
        "出席率最低的学会（近 12 个月）",
        [
            charts.Bar(name, rate, percent(rate), charts.rate_colour(rate))
            for rate, name in rates[:15]
        ],
    )
    # On-time annual summaries, the last three years; work rules filed.
    filed = {f.id: ov.summaries_by_year(f, tz) for f in facts}
    years = []
    for yr in range(today.year - 2, today.year + 1):
        eligible = [
            f
            for f in facts
            if f.created_at.astimezone(tz).date() <= deadline_of(yr, f.report_deadline)
        ]
        if not eligible:
            continue
        on_time = sum(
            1
            for f in eligible
            if (on := filed[f.id].get(yr)) is not None
            and not summary_days_late(on, yr, f.created_at.astimezone(tz).date(), f.report_deadline)
        )
        rate = on_time / len(eligible)
        # This year before its deadlines: filed so far, not yet late (it had read 0 % in red
        # all year, as if every society had failed)
        pending = yr == today.year and any(
            today <= deadline_of(yr, f.report_deadline) for f in eligible
        )
        label = f"{yr} 年" + ("（截止日未到，已报送）" if pending else "")
        years.append(
            charts.Bar(
                label,
                rate,
                f"{percent(rate)}（{on_time}/{len(eligible)}）",
                charts.BAR if pending else charts.rate_colour(rate),
            )
        )
    rules = sum(1 for f in facts if f.rules_filed)
    if facts:
        years.append(
            charts.Bar(
                "工作制度已备案",
                rules / len(facts),
                f"{percent(rules / len(facts))}（{rules}/{len(facts)}）",
                charts.rate_colour(rules / len(facts)),
            )
        )
    filings = charts.rows("年度总结按时报送率", years)
    return {
        "meetings": meetings,
        "distribution": distribution,
        "lowest": lowest,
        "filings": filings,
        "societies": len(facts),
        "measured": len(rates),
    }


async def charts_view(request: web.Request) -> web.StreamResponse:
    require(request, Page.CHARTS, Action.VIEW)
    data = await charts_page_data(request)
    return await render(request, "charts.html", {"title": "统计图", **data})


# ---------------------------------------------------------------------------------------------
# Approvals and filings; sessions


async def change_flag(change_id: int) -> str:
    """What the chat's request says above a pending change (a non-party member to be added)."""
    change = await repo.roster_change(change_id)
    if change is None or change.status != "pending" or not await not_a_party_member(change):
        return ""
    return non_party_note(change.person.name)


@dataclass(frozen=True, slots=True)
class Typed:
    """What was typed into one change's form when its decision was refused: shown again."""

    change_id: int
    decision: str
    note: str
    exception: bool


async def approvals(
    request: web.Request, *, typed: Typed | None = None, error: str = "", status: int = 200
) -> web.StreamResponse:
    """The page; after a refused decision, with the refusal and what was typed in its form."""
    require(request, Page.APPROVALS, Action.VIEW)
    ctx = context(request)
    changes = []
    for c in await store.pending_changes():
        kept = typed if typed is not None and typed.change_id == c.id else None
        changes.append(
            {
                "id": c.id,
                "society": c.society_name,
                "society_id": c.society_id,
                "text": change_text(c.record.kind, c.record.person, c.record.roster_role),
                "reason": c.record.reason or "未填写",
                "by": c.record.requested_by,
                "at": local(c.record.created_at, ctx.settings),
                "flag": await change_flag(c.id),
                "approve_note": kept.note if kept and kept.decision == "approve" else "",
                "reject_note": kept.note if kept and kept.decision == "reject" else "",
                "exception": bool(kept and kept.exception),
                "kept": kept is not None,
            }
        )
    pending = await store.filings_of(pending_only=True)
    late = await late_filings(
        (f.society_id for f in pending if f.kind == "annual_summary"), ctx.settings.tz
    )
    filings = [
        {
            "id": f.id,
            "society": f.society_name,
            "society_id": f.society_id,
            "kind": KIND.get(f.kind, f.kind),
            "title": f.title,
            "body": f.body,
            "by": f.filed_by,
            "at": local(f.at, ctx.settings),
            "late": late_text(late.get(f.id)),
        }
        for f in pending
    ]
    values: dict[str, Any] = {"title": "审批与报送", "changes": changes, "filings": filings}
    if error:
        values["flash"] = {"kind": "error", "text": error}
    return await render(request, "approvals.html", values, status=status)


async def sessions(request: web.Request) -> web.StreamResponse:
    who = require(request, Page.SESSIONS, Action.VIEW)
    ctx = context(request)
    now = ctx.clock.now()
    idle = ctx.settings.web.session_idle_minutes
    rows = [
        {
            "id": s.id,
            "name": s.person_name,
            "created": local(s.created_at, ctx.settings),
            "seen": local(s.last_seen_at, ctx.settings),
            "agent": s.user_agent,
            "mine": s.id == who.session_id,
        }
        for s in await store.live_sessions(now - timedelta(minutes=idle))
    ]
    return await render(
        request, "sessions.html", {"title": "登录会话", "sessions": rows, "idle": idle}
    )


# ---------------------------------------------------------------------------------------------
# A society


@dataclass
class MeetingView:
    id: int
    number: int
    when: str
    place: str
    state: str
    signed: bool
    groups: list[tuple[str, list[str]]]
    rate: str
    items: list[dict[str, Any]] = field(default_factory=list)


# What a vote's result that cannot be read says (a value no version of the bot writes: edited
# behind its back; the page's chain check lists it).
UNREADABLE = {
    "outcome": "结果记录无法读取（可能被改动，见本页记录链）",
    "counts": "",
    "names": [],
    "receipts": "",
}


def _result(r: dict[str, Any] | None) -> dict[str, Any] | None:
    """The announced result of a vote: totals, the names of a named vote, the receipts of a
    secret ballot. Nothing else of a secret ballot is ever read."""
    try:
        return _announced(r)
    except (ValueError, KeyError, TypeError, AttributeError):
        return UNREADABLE


def _announced(r: dict[str, Any] | None) -> dict[str, Any] | None:
    if not r or "yes" not in r:
        if r and r.get("outcome") == "deferred":
            return {"outcome": "暂缓决定（主持人决定）", "counts": "", "names": [], "receipts": ""}
        return None
    outcome = t.OUTCOME[g.Outcome(r["outcome"])]
    names = [
        (t.CHOICE[g.Choice(c)], "、".join(r["names"].get(c.value, [])))
        for c in g.Choice
        if (r.get("names") or {}).get(c.value)
    ]
    receipts = t.secret_box_summary(r["box"]) if r.get("box") else ""
    return {
        "outcome": outcome,
        "method": t.METHOD[g.VoteMethod(r["method"])],
        "counts": f"赞成 {r['yes']}、反对 {r['no']}、弃权 {r['abstain']}、未投 {r['not_voted']}"
        f"（应到会 {r['base']} 人，通过须 {r['needed']} 票）",
        "names": names,
        "receipts": receipts,
    }


def _meeting_views(
    meetings: list[store.MeetingRecord], names: dict[int, str], request: web.Request
) -> list[MeetingView]:
    settings = context(request).settings
    out = []
    for mt in meetings:
        status = {pid: mt.attendance.get(pid, "unknown") for pid in mt.roster}
        groups = []
        for key in ("present", "late", "left", "leave", "absent", "unknown"):
            who = [names.get(pid, "?") for pid, s in status.items() if s == key]
            if who:
                groups.append((t.ATTENDANCE[g.Attendance(key)], who))
        came = store.came(mt.roster, mt.attendance)
        held = mt.state in store.HELD
        out.append(
            MeetingView(
                id=mt.id,
                number=mt.number,
                when=local(mt.starts_at, settings),
                place=mt.place,
                state=t.MEETING_STATE[g.MeetingState(mt.state)],
                signed=mt.signed_version is not None,
                groups=groups,
                rate=percent(came / len(status)) if held and status else "",
                items=[
                    {
                        "number": it.number,
                        "title": it.title,
                        "matter": t.MATTER[g.MatterType(it.matter_type)],
                        "state": t.item_state(
                            g.ItemState(it.state),
                            g.MeetingState(mt.state),
                            g.MatterType(it.matter_type),
                        ),
                        "result": _result(it.result),
                    }
                    for it in mt.items
                ],
            )
        )
    return out


async def _society_or_404(sid: int) -> repo.Society:
    if await store.society_name(sid) is None:
        not_found()
    return await repo.society(sid)


async def society(request: web.Request) -> web.StreamResponse:
    sid = path_id(request, "sid")
    require(request, Page.SOCIETY, Action.VIEW, sid)
    ctx = context(request)
    now = ctx.clock.now()
    soc = await _society_or_404(sid)
    members = await repo.members(sid)
    meetings = await store.meetings_of(sid)
    ids = [pid for mt in meetings for pid in (*mt.roster, *mt.attendance)]
    ids += [i for i in (soc.recorder_id, soc.liaison_id) if i is not None]
    names = await store.person_names(ids)
    roster = [
        {
            "name": x.person.name,
            "role": "组长" if x.is_leader else "组员",
            "position": t.POSITION[x.position],
            "party": "中共党员" if x.person.is_party_member else "非党员",
        }
        for x in members
        if x.on_roster
    ]
    history = [
        {
            "id": c.id,
            "text": change_text(c.kind, c.person, c.roster_role),
            "status": STATUS.get(c.status, c.status) + ("（特批）" if c.exception else ""),
            "reason": c.reason,
            "note": c.note,
            "by": c.requested_by,
            "decided_by": c.decided_by,
            "at": local(c.created_at, ctx.settings),
            "decided_at": local(c.decided_at, ctx.settings),
        }
        for c in await store.roster_history(sid)
    ]
    registrations = [
        {
            "name": r.name,
            "account": f"{PLATFORM.get(r.platform, r.platform)} {r.account}",
            "chat": r.chat_id,
            "at": local(r.at, ctx.settings),
            "person": r.person or "（尚未对应人员）",
        }
        for r in await store.registrations_of(sid)
    ]
    late = await summaries_late(soc, ctx.settings.tz)
    filings = [
        {
            "id": f.id,
            "kind": KIND.get(f.kind, f.kind),
            "title": f.title,
            "by": f.filed_by,
            "at": local(f.at, ctx.settings),
            "late": late_text(late.get(f.id)),
            "ack": f"已确认（{local(f.acknowledged_at, ctx.settings)}，{f.acknowledged_by}）"
            if f.acknowledged_at
            else "待确认",
        }
        for f in await store.filings_of(sid)
    ]
    found = await listing(ctx.settings, soc.name, now)
    chain = await store.verify_society_chain(sid, now)
    size = len(roster)
    return await render(
        request,
        "society.html",
        {
            "title": soc.name,
            "society": soc,
            "roster": roster,
            "size": size,
            "issues": ov.roster_issues(
                size,
                sum(1 for x in members if x.is_leader),
                soc.roster_exception,
                ctx.settings.policy_for(soc.name),
            ),
            "recorder": names.get(soc.recorder_id or 0, "未指定"),
            "liaison": names.get(soc.liaison_id or 0, "未指定"),
            "term": f"{day(soc.term_start) or '—'} 至 {day(soc.term_end) or '—'}",
            "history": history,
            "registrations": registrations,
            "meetings": _meeting_views(meetings, names, request),
            "filings": filings,
            "reminders": found.lines if found else [],
            "chain": chain,
            "checked": local(chain.checked_at, ctx.settings),
        },
    )


async def minutes_list(request: web.Request) -> web.StreamResponse:
    sid = path_id(request, "sid")
    require(request, Page.MINUTES, Action.VIEW, sid)
    soc = await _society_or_404(sid)
    meetings = await store.meetings_of(sid, signed_only=True)
    names = await store.person_names([p for mt in meetings for p in (*mt.roster, *mt.attendance)])
    return await render(
        request,
        "minutes.html",
        {
            "title": f"{soc.name} · 会议纪要与决定",
            "society": soc,
            "meetings": _meeting_views(meetings, names, request),
            "full": _may(request, Page.SOCIETY, sid),
        },
    )


async def _signed(request: web.Request, action: Action) -> tuple[repo.Society, store.SignedMinutes]:
    sid = path_id(request, "sid")
    require(request, Page.MINUTES, action, sid)
    soc = await _society_or_404(sid)
    found = await store.signed_minutes(sid, path_id(request, "mid"))
    if found is None:
        not_found()
    return soc, found


def _minutes(found: store.SignedMinutes) -> mn.Minutes:
    return mn.Minutes.from_json(json.loads(found.body), found.notes)


async def minutes_view(request: web.Request) -> web.StreamResponse:
    """A signed version, checked with the society's records first: shown with what the check
    found when it fails (it may have been changed since it was signed)."""
    soc, found = await _signed(request, Action.VIEW)
    text = mn.render_text(_minutes(found)).split("\n")
    return await render(
        request,
        "minutes_view.html",
        {
            "title": text[0],
            "society": soc,
            "lines": text[1:],
            "found": found,
            "findings": await store.society_findings(soc.id),
        },
    )


async def minutes_docx(request: web.Request) -> web.StreamResponse:
    """The signed version as a Word file, only while the society's records check out: a
    document is handed on as the record, with no page around it to say it may be changed."""
    soc, found = await _signed(request, Action.EXPORT)
    findings = await store.society_findings(soc.id)
    if findings:
        raise Refused(
            409,
            "纪要暂不能下载",
            f"本学会的记录校验未通过（{len(findings)} 处与记录链不符），纪要可能在签发后被改动，"
            "暂不提供下载。请市科技社团党委管理员运行 yishi verify 查明。",
        )
    version = repo.MinutesVersion(
        id=0,
        meeting_id=found.meeting_id,
        version=found.version,
        body=found.body,
        notes=found.notes,
        digest=found.digest,
        created_at=found.created_at,
        signed=True,
    )
    out = io.BytesIO()
    await asyncio.to_thread(write_docx, _minutes(found), version, out)
    return _download(
        out.getvalue(),
        f"{soc.name}-第{found.number}次会议记录.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
