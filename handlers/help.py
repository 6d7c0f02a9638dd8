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
