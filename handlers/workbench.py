"""工作台 from the chat: the one-time login link (any role, always in a private chat), and
「报送情况」, the committee's short summary that points to the 工作台 for the rest."""

from __future__ import annotations

import re

from bot import governance as g
from bot.events import ChatKind, OutgoingMessage
from bot.router import Context, Route, UsageError
from bot.web import overview as ov
from bot.web.auth import LINK_TTL, issue_link
from handlers.summaries import late_filings, late_text
from storage import workbench as store

# WeCom group pushes are capped at 2,048 bytes: the summary keeps below this.
CHAT_LIMIT = 2000
HINT = "更多请发送「工作台」获取登录链接，在工作台查看各学会详情、确认收到、审批和导出表格。"
# Said in the group: the link is queued for the private chat, not yet delivered (it may fail).
SENDING_PRIVATELY = (
    "工作台登录链接正在私聊发给您，请在与机器人的私聊中查看；几分钟内没有收到的，"
    "可以在私聊里直接发送「工作台」。"
)
KINDS = {"work_rules": "工作制度备案", "major_issue": "重大问题报告", "annual_summary": "年度总结"}


async def open_workbench(ctx: Context, args: str) -> list[OutgoingMessage]:
    if not ctx.settings.web.enabled:
        return [ctx.reply("工作台（网页）没有开启，请联系管理员。")]
    person = ctx.require_person()
    url = await issue_link(ctx.settings, person.id, ctx.now)
    minutes = int(LINK_TTL.total_seconds() // 60)
    text = (
        f"{person.name}，这是您的工作台登录链接（{minutes} 分钟内有效，只能使用一次，请勿转发）：\n"
        f"{url}\n打开后点「登录工作台」。链接过期或用过后，再发送「工作台」获取新的。"
    )
    out = [ctx.private(ctx.message.sender, text)]
    if ctx.message.chat.kind is ChatKind.GROUP:
        out.append(ctx.reply(SENDING_PRIVATELY))
    return out


def _fits(lines: list[str], extra: str) -> bool:
    """Whether `extra` still fits with the hint that always ends the message."""
    return len("\n".join([*lines, extra, HINT]).encode("utf-8")) <= CHAT_LIMIT


def _issues(row: ov.Row) -> str:
    parts = []
    if row.cadence is not ov.Level.OK:
        parts.append("从未开会" if row.last_held is None else f"{row.months_since} 个月未开会")
    if row.summary is ov.Summary.OVERDUE:
        parts.append(f"年度总结逾期 {row.summary_days} 天")
    if row.summary_last_year_missing:
        parts.append("上年年度总结未报送")
    if not row.rules_filed:
        parts.append("未备案工作制度")
    if row.roster_issues:
        parts.append(f"名单不合规（{'、'.join(row.roster_issues)}）")
    return "；".join(parts)


async def filings_summary(ctx: Context, args: str) -> list[OutgoingMessage]:
    """Counts, the few societies that most need attention and the filings to acknowledge, in
    one message of at most CHAT_LIMIT bytes (UTF-8), whatever the number of societies."""
    facts = await store.society_facts(ov.year_bounds(ctx.now, ctx.tz))
    rows = ov.build_rows(facts, now=ctx.now, tz=ctx.tz, policy_for=ctx.settings.policy_for)
    pending = await store.filings_of(pending_only=True)
    this_year = ctx.now.astimezone(ctx.tz).year
    count = {c.key: c.count for c in ov.counters(rows)}
    summary = {s: sum(1 for r in rows if r.summary is s) for s in ov.Summary}
    # This year's summaries filed late, and last year's: a summary of last year filed in January
    # after its deadline counts for last year (filed, late), never as this year's.
    filed_late = sum(1 for r in rows if r.summary is ov.Summary.FILED and r.summary_filed_late)
    last_year = [
        f"{what} {n} 个"
        for what, n in (
            ("逾期补报", sum(1 for r in rows if r.summary_last_year_late)),
            ("未报送", sum(1 for r in rows if r.summary_last_year_missing)),
        )
        if n
    ]
    kinds = "、".join(
        f"{label} {n}"
        for kind, label in KINDS.items()
        if (n := sum(1 for f in pending if f.kind == kind))
    )
    lines = [
        f"报送与备案情况（共 {len(rows)} 个学会）：",
        f"工作制度：已备案 {len(rows) - count['rules']} 个，未备案 {count['rules']} 个",
        f"{this_year} 年度总结：已报送 {summary[ov.Summary.FILED]} 个"
        + (f"（其中逾期报送 {filed_late} 个）" if filed_late else "")
        + f"，逾期未报送 {summary[ov.Summary.OVERDUE]} 个，未到截止日 {summary[ov.Summary.DUE]} 个"
        + (f"；{this_year - 1} 年度总结{'、'.join(last_year)}" if last_year else ""),
        f"待确认收到：{len(pending)} 件" + (f"（{kinds}）" if kinds else ""),
        f"待审批成员调整：{count['changes']} 件",
        f"超过半年未开会：{count['stale6']} 个学会；5 个月未开会：{count['stale5']} 个学会",
    ]
    worst = sorted(
        (r for r in rows if ov.attention(r) > 0), key=lambda r: (-ov.attention(r), r.name)
    )
    if worst:
        lines.append("最需关注：")
        shown = 0
        for row in worst[:5]:
            line = f"{shown + 1}. {row.name}：{_issues(row)}"
            if not _fits(lines, line):
                break
            lines.append(line)
            shown += 1
        if len(worst) > shown:
            more = f"……另有 {len(worst) - shown} 个学会需关注"
            if _fits(lines, more):
                lines.append(more)
    if pending:
        head = "待确认（发送「确认收到 编号」）："
        shown_ids: list[str] = []
        late = await late_filings(
            (f.society_id for f in pending if f.kind == "annual_summary"), ctx.tz
        )
        for f in sorted(pending, key=lambda f: f.id)[:5]:
            days = f"（{late_text(late.get(f.id))}）" if f.id in late else ""
            item = f"#{f.id} {f.society_name}「{f.title}」{days}"
            candidate = head + "；".join([*shown_ids, item])
            if not _fits(lines, candidate):
                break
            shown_ids.append(item)
        if shown_ids:
            rest = len(pending) - len(shown_ids)
            tail = f"；另有 {rest} 件" if rest else ""
            line = head + "；".join(shown_ids)
            lines.append(line + tail if _fits(lines, line + tail) else line)
    lines.append(HINT)
    return [ctx.reply("\n".join(lines))]


_KIND_OF_SOCIETY = re.compile(r"(?:学会|协会|研究会|学社)$")


async def society_detail(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「苏州市示例科技学会的情况」「学会情况 示例」: one society as the committee's workbench
    shows it (the same facts and words: overview.roster_text, summary_text...). Shows."""
    said = args.strip(" 的，,。？?")
    if not said:
        raise UsageError("请写明学会名称，例如：学会情况 苏州市示例科技学会。")
    facts = await store.society_facts(ov.year_bounds(ctx.now, ctx.tz))
    rows = ov.build_rows(facts, now=ctx.now, tz=ctx.tz, policy_for=ctx.settings.policy_for)
    core = _KIND_OF_SOCIETY.sub("", said) or said  # 「示例学会」 for 苏州市示例科技学会
    found = (
        [r for r in rows if r.name == said]
        or [r for r in rows if said in r.name]
        or [r for r in rows if core in r.name]
    )
    if not found:
        raise UsageError(f"没有找到名称含「{said}」的学会。发送「报送情况」查看全部学会。")
    if len(found) > 1:
        shown = "、".join(r.name for r in found[:10]) + ("等" if len(found) > 10 else "")
        raise UsageError(f"名称含「{said}」的学会有{len(found)}个：{shown}。请写出完整名称。")
    row = found[0]
    year = ctx.now.astimezone(ctx.tz).year
    lines = [
        f"{row.name}：",
        f"领导小组：{ov.roster_text(row)}；任期至 {ov.term_text(row)}",
        f"上次开会：{ov.last_meeting_text(row)}；今年开会 {row.held_in_year} 次",
        f"工作制度：{'已备案' if row.rules_filed else '未备案'}",
        f"{year} 年度总结：{ov.summary_text(row)}",
        f"待审批成员调整 {row.pending_changes} 件；待确认收到 {row.pending_filings} 件；"
        f"纪要待签发 {row.unsigned_minutes} 份",
        f"记录链：{ov.chain_text(row)}",
    ]
    if issues := _issues(row):
        lines.append(f"需关注：{issues}")
    lines.append(HINT)
    return [ctx.reply("\n".join(lines))]


ROUTES = [
    Route(
        ("学会情况", "学会详情"),
        society_detail,
        g.Need.COMMITTEE,
        "学会情况 学会名称",
        "查看一个学会的名单、开会、报送和记录链情况（与工作台一致）",
        "市党委",
        needs_society=False,
        phrasings=("查看学会", "看看学会"),
        # 「苏州市示例科技学会的情况」「示例学会怎么样了」 (not 「各学会情况」: that is 报送情况).
        frames=(
            r"(?!各|哪些|所有|全部|每个|这个|那个|这|本|我们|[^,，。？?\s]*(?:各|哪些|所有))(?P<object>[^,，。？?\s]{1,30}?(?:学会|协会|研究会|学社))"
            r"的?(?:情况|详情|近况|最近怎么样|怎么样了?|名单|领导小组名单|成员名单|领导小组|成员"
            r"|(?:今年)?开了几次会(?:议)?)[?？]*",
        ),
        shows=True,
    ),
    Route(
        ("工作台",),
        open_workbench,
        g.Need.ANYONE,
        "工作台",
        "获取工作台（网页）的一次性登录链接（私聊发送，10 分钟内有效）",
        "成员",
        needs_society=False,
        phrasings=(
            "网页",
            "后台",
            "登录工作台",
            "打开工作台",
            "登录后台",
            "导出表格",
            "下载表格",
            "导出数据",
            "workbench",
        ),
        shows=True,
    ),
]
