"""帮助: the command list, generated from the route table.

「帮助」 fits a phone screen: what this person may do in the meeting's present phase, at most
HELP_LINES lines (the commands of the phase first, then the ones for any time), each with its
aliases on the same line; 「帮助 全部」 lists everything."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from bot import governance as g
from bot.events import OutgoingMessage
from bot.router import Context, Route
from bot.utterance import Clarify, Command, Lexicon, offered
from storage import repo

SECTIONS = ("成员", "组长", "记录人", "联系人", "市党委")
HELP_LINES = 12
PHASE_NAMES = {
    None: "目前没有进行中的会议",
    g.MeetingState.DRAFT: "会议筹备中",
    g.MeetingState.CONVENED: "会议已通知、尚未开始",
    g.MeetingState.OPEN: "会议进行中",
    g.MeetingState.CLOSED: "会议已结束、纪要待签发",
    g.MeetingState.SIGNED: "纪要已签发",
    g.MeetingState.CANCELLED: "会议已取消",
}


# How a ballot is cast in a way of voting (「无记名投票怎么投」「匿名投票怎么投票」).
_CASTING = re.compile(r"(?:无记名|匿名|记名)(?:投票|表决)?\s*投票?")


def _line(route: Route) -> str:
    aliases = "、".join(route.words[1:3])
    also = f"（也可说：{aliases}）" if aliases else ""
    return f"  {route.usage}{also} —— {route.summary}"


def help_text(routes: Sequence[Route], roles: frozenset[g.Role] | None = None) -> str:
    """Every command (roles None) or every command these roles may use, by section."""
    lines = ["议事机器人指令（可带或不带「/」，群里请先 @ 我）："]
    for section in SECTIONS:
        rows = [
            r for r in routes if r.group == section and (roles is None or g.may(roles, r.needs))
        ]
        if not rows:
            continue
        lines.append(f"【{section}】")
        lines.extend(_line(r) for r in rows)
    return "\n".join(lines)


def help_now(
    routes: Sequence[Route], roles: frozenset[g.Role], phase: g.MeetingState | None
) -> str:
    """What this person may do now, in at most HELP_LINES lines: the commands of the phase
    (a role's own section, the ballot words on one line), the committee's or the liaison's own
    commands for any time (_own_for_any_time), the members' commands of the phase, then the
    other commands for any time."""
    mine = [r for r in routes if offered(r, roles, phase) and phase not in r.unlisted]
    own = _own_for_any_time(mine, roles, phase)
    ballots = [r for r in mine if r.exact]
    now = [r for r in mine if r.when is not None and not r.exact and r not in own]
    lines = [_line(r) for r in now if r.group != "成员"]
    if ballots:  # before the members' other commands: the cut below never takes it
        words = "、".join(r.words[0] for r in ballots if " " not in r.usage)
        aliases = "，".join(f"{a}即{r.words[0]}" for r in ballots for a in r.words[1:])
        lines.append(f"  {words}（{aliases}） —— 投票" if aliases else f"  {words} —— 投票")
    lines += [_line(r) for r in own]
    lines += [_line(r) for r in now if r.group == "成员"]
    lines += [_line(r) for r in mine if r.when is None and r not in own]
    room = HELP_LINES - 1
    if len(lines) > room:
        hidden = len(lines) - (room - 1)
        lines = [*lines[: room - 1], f"另有{hidden}条指令，发送「帮助 全部」查看。"]
    head = f"{who(roles)}；{PHASE_NAMES[phase]}。您现在可以发送（群里请先 @ 我）："
    return "\n".join([head, *lines])


def _own_for_any_time(
    mine: Sequence[Route], roles: frozenset[g.Role], phase: g.MeetingState | None
) -> list[Route]:
    """The commands of the reader's own section listed before the members' (they had been cut
    off the screen): the committee's always (待批, 批准, 报送情况…), the liaison's for any time
    when no meeting is ahead (年度总结, 备案, 报告). The leader's lead already (their phase)."""
    if g.Role.COMMITTEE in roles and g.Role.MEMBER not in roles:
        return [r for r in mine if r.group == "市党委"]
    if g.Role.LIAISON in roles and g.Role.LEADER not in roles and phase in _NO_MEETING_AHEAD:
        return [r for r in mine if r.group == "联系人" and r.when is None]
    return []


_NO_MEETING_AHEAD = (None, g.MeetingState.CLOSED, g.MeetingState.SIGNED, g.MeetingState.CANCELLED)

# The roles as said, in this order; the leader is a member too, and says only 组长.
ROLE_NAMES = {
    g.Role.LEADER: "组长",
    g.Role.MEMBER: "组员",
    g.Role.CHAIR: "本次会议主持人",
    g.Role.RECORDER: "记录人",
    g.Role.LIAISON: "党建联系人",
    g.Role.OBSERVER: "列席人员",
    g.Role.COMMITTEE: "市科技社团党委管理员",
}


def who(roles: frozenset[g.Role]) -> str:
    """「我是什么角色」: 「您是组员、党建联系人」「您是记录人（不是领导小组成员）」, or
    「您不是领导小组成员」."""
    shown = [n for r, n in ROLE_NAMES.items() if r in roles]
    if g.Role.LEADER in roles:
        shown.remove(ROLE_NAMES[g.Role.MEMBER])
    if g.Role.LEADER in roles and g.Role.CHAIR in roles:
        shown.remove(ROLE_NAMES[g.Role.CHAIR])  # the leader chairs unless someone is asked to
    if not shown:
        return "您不是领导小组成员"
    outside = g.Role.MEMBER not in roles and g.Role.COMMITTEE not in roles
    return f"您是{'、'.join(shown)}" + ("（不是领导小组成员）" if outside else "")


async def meeting_phase(ctx: Context) -> g.MeetingState | None:
    """The active meeting's state; a closed meeting awaiting signature; else None."""
    if ctx.active_meeting is not None:
        return ctx.active_meeting.state
    if ctx.society is None:
        return None
    latest = await repo.latest_meeting(ctx.society.id)
    if latest is not None and latest.state is g.MeetingState.CLOSED:
        return latest.state
    return None


def how_to(route: Route, roles: frozenset[g.Role]) -> str:
    """「怎么请假」: what one command does, how it is sent, and who may send it."""
    if route.exact:  # the ballot words: how one votes
        return (
            "表决开始后，在群里发送「赞成」「反对」或「弃权」（也可点表决卡片上的按钮）；"
            "无记名投票请在与我的私聊中发送「投票 赞成」「投票 反对」或「投票 弃权」。"
        )
    text = f"「{route.words[0]}」：{route.summary}。发送「{route.usage}」。"
    if route.words[1:] or route.phrasings:
        said = [*route.words[1:], *route.phrasings][:4]
        text += f"也可以说：{'、'.join(said)}。"
    if not g.may(roles, route.needs):
        text += f"（这条指令由{route.group}使用。）"
    return text


def make_help(routes: Sequence[Route]) -> Route:
    @functools.cache
    def lexicon() -> Lexicon:  # built on first use, not at import
        return Lexicon(routes)

    async def show_help(ctx: Context, args: str) -> list[OutgoingMessage]:
        if "全部" in args or "all" in args.lower():
            return [ctx.reply(help_text(routes))]
        # 「无记名投票怎么投」: a member casting, not the chair opening such a vote
        if _CASTING.fullmatch(args.strip()):
            args = "投票"
        if args:  # 「怎么请假」「年度总结怎么交」「帮助 投票」: that command
            words = args.split()  # 「年报怎么交」: 「交年报」 is the phrase
            for said in (args, "".join(reversed(words)), *reversed(words)):
                found = lexicon().resolve(said)
                if isinstance(found, Command | Clarify) and found.route.group in SECTIONS:
                    return [ctx.reply(how_to(found.route, ctx.roles))]
        return [ctx.reply(help_now(routes, ctx.roles, await meeting_phase(ctx)))]

    help_route = Route(
        ("帮助", "help", "菜单", "指令"),
        show_help,
        g.Need.ANYONE,
        "帮助",
        "查看现在可用的指令（「帮助 全部」看全部）",
        "成员",
        needs_society=False,
        phrasings=(
            "怎么用",
            "如何使用",
            "使用说明",
            "说明",
            "?",
            "帮忙",
            "求助",
            "你能干什么",
            "你能做什么",
            "有什么功能",
            "我能做什么",
            "我可以做什么",
            "我能干什么",
            "我是什么角色",
            "我是谁",
            "我是什么身份",
            "我的身份",
            "我的角色",
            "我有什么权限",
            "bangzhu",
            "我是联系人吗",
            "我是记录人吗",
            "我是组长吗",
            "我是成员吗",
            "我是领导小组成员吗",
            "我还是领导小组成员吗",
            "我是不是领导小组成员",
            "我还是组员吗",
            "要做什么",
            "需要做什么",
            "我要做什么",
            "我需要做什么",
            "我该做什么",
            "我应该做什么",
            "能做什么",
            "可以做什么",
            "能干什么",
            "该做什么",
        ),
        # A greeting alone is answered with what the bot can do.
        alone=("你好", "您好", "在吗", "hello", "hi"),
        # 「怎么请假？」「如何发起表决」: how that command is sent.
        frames=(
            r"(?:请问)?(?:要|该|应该)?(?:怎么(?!样)|如何|怎样)(?P<object>[^?？,，。;；]{1,12}?)(?:呢|啊|呀)?[?？]*",
            r"(?:请问)?(?P<object>[^?？,，。;；]{1,12}?)(?:该|应该)?(?:怎么(?!样)|如何|怎样)(?P<rest>[^?？]{0,6}?)"
            r"(?:呢|啊|呀)?[?？]*",
            # 「我可以列席吗」「我能请假吗？」「会议能改到下午吗」: whether and how, asked (taking
            # part online, or sending someone in one's place, has its own answer: 线上参会,
            # 代人参会).
            r"(?:请问)?(?:我|会议|会)(?:可以|能|能不能|可不可以)(?!线上|视频|远程|在线|网上)"
            r"(?![^?？]*(?:代我|替我|代替我|代表我|代为|代替)去?(?:参加|参会|开会|出席))"
            r"(?P<object>[^?？,，。;；]{1,12}?)(?:吗|么)[?？]*",
        ),
        shows=True,
    )
    return help_route


async def _welcome(ctx: Context, args: str) -> list[OutgoingMessage]:
    return [ctx.reply("不客气。")]


# 「谢谢」「辛苦了」 said to the bot: answered in two words (not 「没有听懂」). Only the whole
# message (「谢谢大家，会议状态」 is the status); in no help list (no section, no phase).
THANKS = Route(
    ("致谢",),
    _welcome,
    g.Need.ANYONE,
    "谢谢",
    "致谢",
    "",
    needs_society=False,
    alone=(
        "谢谢",
        "谢谢你",
        "谢谢您",
        "谢谢大家",
        "感谢",
        "多谢",
        "谢了",
        "辛苦了",
        "thanks",
        "thank you",
    ),
    shows=True,
    when=frozenset(),
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
        out.append("| 指令 | 别名 | 也能听懂 | 用途 |")
        out.append("|---|---|---|---|")
        for r in rows:
            aliases = "、".join(r.words[1:]) or "—"
            said = "、".join([*r.phrasings, *(f"{c}（先确认）" for c in r.confirm)]) or "—"
            out.append(f"| `{r.usage}` | {aliases} | {said} | {r.summary} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
