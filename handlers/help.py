"""帮助: the command list, generated from the route table."""

from __future__ import annotations

from collections.abc import Sequence

from bot import governance as g
from bot.events import OutgoingMessage
from bot.router import Context, Route

SECTIONS = ("成员", "组长", "记录人", "联系人", "市党委")


def help_text(routes: Sequence[Route], roles: frozenset[g.Role] | None = None) -> str:
    lines = ["议事机器人指令（可带或不带「/」，群里请先 @ 我）："]
    for section in SECTIONS:
        rows = [
            r for r in routes if r.group == section and (roles is None or g.may(roles, r.needs))
        ]
        if not rows:
            continue
        lines.append(f"【{section}】")
        lines.extend(f"  {r.usage} —— {r.summary}" for r in rows)
    return "\n".join(lines)


def make_help(routes: Sequence[Route]) -> Route:
    async def show_help(ctx: Context, args: str) -> list[OutgoingMessage]:
        everything = "全部" in args
        return [ctx.reply(help_text(routes, None if everything else ctx.roles))]

    return Route(
        ("帮助", "help", "菜单", "指令"),
        show_help,
        g.Need.ANYONE,
        "帮助",
        "查看可用指令（「帮助 全部」看全部）",
        "成员",
        needs_society=False,
    )


def reference_markdown(routes: Sequence[Route]) -> str:
    """The README's command reference, kept in step with the route table by a test."""
    who = {
        "成员": "成员（领导小组成员；签到、计票等人人可用）",
        "组长": "组长（及受委托主持会议的成员）",
        "记录人": "记录人",
        "联系人": "党建联系人（组长也可）",
        "市党委": "市科技社团党委管理员",
    }
    out: list[str] = []
    for section in SECTIONS:
        rows = [r for r in routes if r.group == section]
        if not rows:
            continue
        out.append(f"#### {who[section]}\n")
        out.append("| 指令 | 别名 | 用途 |")
        out.append("|---|---|---|")
        for r in rows:
            aliases = "、".join(r.words[1:]) or "—"
            out.append(f"| `{r.usage}` | {aliases} | {r.summary} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
