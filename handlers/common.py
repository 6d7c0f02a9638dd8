"""Small typed helpers the handlers share: argument parsing, people, the current meeting, and
the one way a handler records an event."""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot import governance as g
from bot.events import ChatKind, ChatRef, EventKind, OutgoingMessage, Platform, UserRef
from bot.router import Context, Handler, Notified, Route, UsageError
from bot.timeparse import small_number
from bot.utterance import THIS_ITEM
from handlers import texts as t
from storage import repo
from storage.seals import Tampered

logger = logging.getLogger(__name__)
_NUMBER = r"(\d{1,3}|[一二两三四五六七八九十]{1,3})"
_ITEM_REF = re.compile(
    # Said as an item (「第二个议题涉及我本人」「议题2涉及本人」「3号议题」): what follows needs no
    # separator; a bare number does (「2 理由」, not 「12月」).
    # 「两个议题」「3个议题」 without 第 count items, they name none.
    rf"^(?:第\s*(?:议题\s*)?[#\uff03]?\s*{_NUMBER}\s*(?:项|号议题|个议题)"
    rf"|(?:议题\s*)?[#\uff03]?\s*(?!两){_NUMBER}\s*(?:项|号议题)"
    rf"|(?:第|议题)\s*[#\uff03]?\s*{_NUMBER}(?![0-9一二两三四五六七八九十次届年月日天期])\s*号?"
    rf"|(?:第\s*)?(?:议题\s*)?[#\uff03]?\s*{_NUMBER}\s*号?(?=$|\s|[,，:：]))"
    r"\s*[,，:：]?\s*"
)
# 「@孙磊 党员」「@孙磊，党员，副秘书长」: the name ends at a space or punctuation.
_MENTION = re.compile(r"^@([^\s,，、:：;；。]+)[\s,，、:：;；]*")

# The meeting phases a route is offered in (Route.when): before it opens, while it is open.
OFFERED_BEFORE: frozenset[g.MeetingState | None] = frozenset(
    {g.MeetingState.DRAFT, g.MeetingState.CONVENED}
)
OFFERED_DURING: frozenset[g.MeetingState | None] = frozenset({g.MeetingState.OPEN})


def parse_item_ref(args: str) -> tuple[int | None, str]:
    """'2 理由', '议题2 理由', '第2项 理由', '第二项 理由', '#2' -> (2, '理由'); no number ->
    (None, args)."""
    found = _ITEM_REF.match(args.strip())
    said = None if found is None else next(g for g in found.groups() if g is not None)
    number = None if said is None else small_number(said)  # 十二 -> 12; 一一: None
    if found is None or number is None:
        return None, args.strip()
    return number, args.strip()[found.end() :].strip()


def bounded(text: str, what: str, limit: int = t.REASON_MAX) -> str:
    """Free text as typed, refused (nothing recorded) when longer than `limit` characters."""
    if len(text) > limit:
        raise UsageError(t.too_long(what, len(text), limit))
    return text


def require_item_ref(args: str, usage: str) -> tuple[int, str]:
    number, rest = parse_item_ref(args)
    if number is None:
        raise UsageError(f"请写明议题编号，例如：{usage}")
    return number, rest


# 「结束表决 现在」「散会 现在」: what the chair adds to go ahead without the question asked back.
NOW = re.compile(r"现在|立即|马上|直接|确认|确定")

# The end of a Route.frames pattern: a reason after a separator (「…，人数超了」).
FRAME_REASON = r"(?:[,，:：;； ]+(?P<rest>.+))?"

# What may follow a name typed without @ before its arguments: 「吴国华为组员」「赵敏同志」.
_AFTER_NAME = re.compile(r"^(?:同志|老师)?(?:为|担任|任|进入)?(?:领导小组)?(?:组员|成员)?")
# What ends a name typed without @ (「提议免去赵敏，工作调动」).
_NAME_ENDS = " ，,、:：;；。"
_NAME_END = re.compile(f"[{_NAME_ENDS}]")


async def mentioned(ctx: Context, args: str) -> tuple[UserRef | None, str]:
    """The person a command is about: the first @-mention (a platform identity), else a name
    at the start of args that matches exactly one person the society knows."""
    rest = args.strip()
    at = _MENTION.match(rest)
    mention_names = {m.name for m in ctx.message.mentions}
    if ctx.message.mentions:
        target = ctx.message.mentions[0]
        if at is not None and at.group(1) in mention_names | {target.user_id}:
            rest = rest[at.end() :]
        else:
            rest = _without_mention(rest, target)
        return target, rest.strip()
    if at is not None:
        rest = rest[at.end() :]
        name = at.group(1)
    else:
        name = _NAME_END.split(rest, maxsplit=1)[0] if rest else ""  # 「赵敏，工作调动」
        rest = rest[len(name) :].lstrip(_NAME_ENDS)
    if not name or ctx.society is None:
        return None, args.strip()
    people = await repo.members(ctx.society.id)
    known = [x for x in people if x.person.name == name]
    if ctx.message.names_in_text and (at is not None or len(known) != 1):
        # 「@张伟」 is only text (WeCom): the account is who registered so (「我是张伟」)
        said = await _said_of(ctx, name, known, typed=at is not None)
        if said is not None:
            return said, rest.strip()
    if not known and at is None:  # 「吴国华为组员」「赵敏同志」: a known name, then a role word
        longest = max(
            (len(x.person.name) for x in people if name.startswith(x.person.name)), default=0
        )
        known = [
            x for x in people if len(x.person.name) == longest and name.startswith(x.person.name)
        ]
        after = _AFTER_NAME.sub("", name[longest:])
        rest = f"{after} {rest}" if after else rest
    if len(known) != 1:
        return None, args.strip()
    refs = await repo.identities(
        [known[0].person.id], ctx.message.platform, ctx.message.chat.corp_id
    )
    if not refs:
        return None, args.strip()
    return refs[0], rest.strip()


async def _said_of(
    ctx: Context, said: str, known: list[repo.Member], *, typed: bool
) -> UserRef | None:
    """The one account a name (or an account id) said in the group stands for, on a platform
    that names people only in the text: the society's people of that name with an account here,
    whoever registered under it in this group (「我是张伟」), or the account itself (「@zhangwei」).
    Refused, saying what to do, when several fit or (`typed`: said with an @) none does."""
    chat = ctx.message.chat
    fits: dict[str, str] = {}  # account -> name
    for ref in await repo.identities([x.person.id for x in known], chat.platform, chat.corp_id):
        fits[ref.user_id] = ref.name
    groups = [chat.chat_id]  # in private (the leader's 1:1 with the bot): the society's groups
    if chat.kind is not ChatKind.GROUP and ctx.society is not None:
        groups = [c for p, corp, c in await repo.group_chats(ctx.society.id) if p == chat.platform]
    for group in groups:
        for account, name in await repo.registered(chat.platform, chat.corp_id, group, said):
            if name == said or not fits:  # by name; by account only when no name fits
                fits.setdefault(account, name)
    if not fits:
        person = await repo.person_by_identity(UserRef(chat.platform, chat.corp_id, said))
        if person is not None:
            fits[said] = person.name
    if len(fits) == 1:
        ((account, name),) = fits.items()
        return UserRef(chat.platform, chat.corp_id, account, name)
    if len(fits) > 1:
        listed = "、".join(f"{name}（账号 {account}）" for account, name in sorted(fits.items()))
        raise UsageError(
            f"「@{said}」可能是指{listed}，没有办理。请在 @ 后面写账号以示区分，"
            f"例如「@{min(fits)}」。"
        )
    if not typed:
        return None
    raise UsageError(
        f"群里还没有人登记为「{said}」，没有办理。请{said}本人在学会工作群里 @机器人 发送「我是{said}」"
        "登记姓名，然后再发送这条指令（也可以在 @ 后面直接写对方的企业微信账号）。"
    )


def _without_mention(said: str, target: UserRef) -> str:
    """`said` without the @-mention of `target` inside it, nor what they are called just before
    it (「吴理事长 @吴国华 非党员理事长」 is about 吴国华, for the reason 「非党员理事长」): a few
    words opening with their surname, or their name."""
    for name in (target.name, target.user_id):
        at = (
            re.search(rf"@{re.escape(name)}(?=$|[\s,，、:：;；。])[\s,，、:：;；]*", said)
            if name
            else None
        )
        if at is None:
            continue
        before = said[: at.start()].strip()
        called = bool(target.name) and len(before) <= 6 and before.startswith(target.name[0])
        return f"{'' if called else before} {said[at.end() :]}".strip()
    return said


async def require_known_person(ctx: Context, args: str, usage: str) -> tuple[repo.Person, str]:
    user, rest = await mentioned(ctx, args)
    if user is None:
        raise UsageError(f"请 @ 要操作的成员，例如：{usage}")
    found = await repo.person_by_identity(user)
    if found is None:
        raise UsageError(
            f"系统里还没有{user.name or user.user_id}的身份信息。请确认 @ 的是本学会登记的人员；"
            "需要加入领导小组的，组长发送「提议增补 @姓名」。"
        )
    return found, rest


async def current_meeting(
    ctx: Context, states: Iterable[g.MeetingState] | None = None
) -> repo.Meeting:
    society = ctx.require_society()
    meeting = ctx.active_meeting or await repo.active_meeting(society.id)
    if meeting is None:
        meeting = await repo.latest_meeting(society.id)
    if meeting is None:
        raise UsageError("目前没有会议。组长可以发送「召开会议 时间 地点 议题：…」。")
    if states is not None:
        g.require_meeting_state(meeting.state, states, "command")
    return meeting


async def require_chair(ctx: Context, meeting: repo.Meeting, undone: str = "没有办理") -> bool:
    """第十七条: only the meeting's chair (the leader at convening, or the member the leader
    delegated) opens and closes it and its votes, and only in the room. Refused saying who
    chairs, or why the chair cannot now and what to do (`undone`: 「没有开会」). Returns
    whether the chair, opening the meeting without having checked in, is to be checked in."""
    person = ctx.require_person()
    entry = (await repo.attendance(meeting.id)).get(person.id)
    status = g.Attendance.UNKNOWN if entry is None else entry.status
    try:
        return g.check_chair(person.id, meeting.chair_id, status, meeting.state)
    except g.GovernanceError as exc:
        now_leader = g.Role.LEADER in ctx.roles and person.id != meeting.leader_id
        raise UsageError(
            await _chair_refusal(exc, person, meeting, entry, undone, now_leader)
        ) from None


LEADER_FROM_NEXT = "会议召开后批准的组长调整自下次会议起适用"


async def require_meeting_leader(
    ctx: Context, meeting: repo.Meeting, undone: str = "没有办理"
) -> None:
    """A meeting's leader's part (its agenda, its notice, the chair's delegation, signing its
    minutes) is the leader's when it was convened (governance Rule 7); a leader appointed since
    is refused, saying so."""
    person = ctx.require_person()
    if person.id == meeting.leader_id:
        return
    leader = await repo.person(meeting.leader_id)
    raise UsageError(
        f"第{meeting.number}次会议召开时的组长是{leader.name}，本次会议的组长职责仍由{leader.name}"
        f"履行（{LEADER_FROM_NEXT}），{undone}。"
    )


async def _chair_refusal(
    exc: g.GovernanceError,
    person: repo.Person,
    meeting: repo.Meeting,
    entry: repo.AttendanceRecord | None,
    undone: str,
    appointed_since: bool,
) -> str:
    leader = person.id == meeting.leader_id  # the leader at convening
    why = f"（{t.echo(entry.reason)}）" if entry is not None and entry.reason else ""
    if exc.refusal is g.Refusal.NOT_THE_CHAIR:
        chair = await repo.person(meeting.chair_id) if meeting.chair_id else None
        chair_name = chair.name if chair is not None else "受委托的成员"
        away = ""
        if leader and entry is not None and entry.status is g.Attendance.LEAVE:
            away = f"{person.name}已请假{why}，"
        delegated = "已委托" if leader else "由"
        if not leader and appointed_since:
            undone = f"{undone}（{LEADER_FROM_NEXT}）"
        back = f"组长恢复主持的，请发送「委托主持 @{person.name}」。" if leader and not away else ""
        return (
            f"{away}第{meeting.number}次会议{delegated}{chair_name}主持（第十七条），开会、表决和散会"
            f"由{chair_name}办理，{undone}。{back}"
        )
    status = entry.status if entry is not None else g.Attendance.UNKNOWN
    other = (
        "请发送「委托主持 @成员 理由」由其他成员主持"
        if leader
        else "请组长发送「委托主持 @成员 理由」另行委托"
    )
    if status is g.Attendance.LEAVE:
        return (
            f"{person.name}已请假{why}，不能主持本次会议，{undone}。{other}；"
            "能来参会的，请假不用撤销，会前一小时起发送「签到」即按出席记录，再开会。"
        )
    if status is g.Attendance.LEFT:
        return (
            f"{person.name}已离席{why}，不能再主持本次会议（第十七条），{undone}。"
            f"回到会场的，请先发送「签到」；不能回来的，{other}。"
        )
    return (
        f"{person.name}还没有签到出席，不能主持本次会议（第十七条），{undone}。"
        f"到会的请先发送「签到」；不能到会的，{other}。"
    )


async def who_opens(meeting: repo.Meeting) -> str:
    """Who may open the meeting, said after its quorum is met: the leader, the member chairing
    for the leader (「李娜（代为主持）可宣布开会」), or, the leader being on leave with no one
    chairing for them, what the leader is to do first."""
    if meeting.chair_id is not None and meeting.chair_id != meeting.leader_id:
        chair = await repo.person(meeting.chair_id)
        return f"{chair.name}（代为主持）可宣布开会"
    entry = (await repo.attendance(meeting.id)).get(meeting.leader_id)
    if entry is not None and entry.status is g.Attendance.LEAVE:
        leader = await repo.person(meeting.leader_id)
        return f"组长{leader.name}已请假，请组长发送「委托主持 @成员 理由」委托主持后开会"
    return "组长可宣布开会"


# How a delegated chair went (their attendance then), as said of them.
DELEGATE_GONE = {
    g.Attendance.LEAVE: "请假",
    g.Attendance.ABSENT: "请假",  # asked after the start: recorded absent
    g.Attendance.LEFT: "离席",
}


async def end_delegation(
    ctx: Context, meeting: repo.Meeting, person: repo.Person, status: g.Attendance
) -> list[OutgoingMessage]:
    """第十七条: the member the leader delegated the chair to who asks for leave or leaves the
    room (`status`) chairs no more. The chair returns to the meeting's leader, recorded as the
    delegation is (the meeting's row, and an entry of the chain that the minutes read), and the
    group is told in one sentence, with what the leader is to do when not in the room to chair.
    Back in the room, the member chairs again only when the leader delegates anew. Nothing for
    anyone else (the leader who chairs, a member who does not)."""
    if meeting.chair_id != person.id or person.id == meeting.leader_id:
        return []
    if status not in DELEGATE_GONE:
        return []
    leader = await repo.person(meeting.leader_id)
    await repo.update_meeting(meeting.id, chair_id=leader.id)
    await record(
        ctx,
        EventKind.CHAIR_DELEGATION_ENDED,
        {"from": person_payload(person), "to": person_payload(leader), "why": status.value},
        meeting=meeting,
    )
    entry = (await repo.attendance(meeting.id)).get(leader.id)
    there = g.Attendance.UNKNOWN if entry is None else entry.status
    ended = f"{person.name}已{DELEGATE_GONE[status]}，受托主持第{meeting.number}次会议随之结束"
    try:
        g.check_chair(leader.id, leader.id, there, meeting.state)
        text = f"{ended}，由组长{leader.name}主持。"
    except g.GovernanceError:  # the leader is not in the room to chair either
        again = "发送「委托主持 @成员 理由」另行委托"
        if there is g.Attendance.LEAVE:
            text = f"{ended}；组长{leader.name}已请假，请组长{again}。"
        else:
            away = "已离席" if there is g.Attendance.LEFT else "不在会场"
            text = f"{ended}；组长{leader.name}{away}，请组长签到后主持，或{again}。"
    return await to_groups(ctx, text, await mentions_for(ctx, [leader.id]))


async def delegation_ended_for(meeting: repo.Meeting, person: repo.Person) -> g.Attendance | None:
    """How `person` went (leave or leaving) when the meeting's last change of chair was the end
    of their delegation (end_delegation); None otherwise."""
    chair_kinds = (EventKind.CHAIR_DELEGATED.value, EventKind.CHAIR_DELEGATION_ENDED.value)
    last = [e for e in await repo.meeting_events(meeting) if e.kind in chair_kinds][-1:]
    if not last or last[0].kind != EventKind.CHAIR_DELEGATION_ENDED.value:
        return None
    payload = last[0].payload
    return g.Attendance(payload["why"]) if payload["from"]["id"] == person.id else None


async def chair_no_more(ctx: Context, route: Route) -> str | None:
    """A chair's command from the member whose delegated chair ended (their leave or leaving):
    the delegation ended and who chairs now, rather than the gate's words; None otherwise."""
    person, society = ctx.person, ctx.society
    if route.needs is not g.Need.CHAIR or person is None or society is None:
        return None
    meeting = ctx.active_meeting or await repo.active_meeting(society.id)
    if meeting is None or meeting.chair_id is None:
        return None
    how = await delegation_ended_for(meeting, person)
    if how is None:
        return None
    chair = await repo.person(meeting.chair_id)
    entry = (await repo.attendance(meeting.id)).get(chair.id)
    away = entry is not None and entry.status in DELEGATE_GONE
    now = f"主持已回到组长{chair.name}" + ("（组长不在会场）" if away else "")
    return (
        f"{person.name}已{DELEGATE_GONE[how]}，受托主持第{meeting.number}次会议已结束，"
        f"{now}（第十七条），「{route.words[0]}」没有办理。"
        f"需要{person.name}继续主持的，请组长发送「委托主持 @{person.name} 理由」。"
    )


# A withdrawal said loosely (「撤回上一条」「刚才那条删掉」) reaches 纪要备注 whoever says it.
_WITHDRAWS = ("撤回", "删掉", "删除", "作废")


def not_the_recorders_note(ctx: Context, route: Route) -> str | None:
    """「撤回上一条」 from someone who is not the recorder: it withdraws the recorder's minutes
    note; a member who meant a ballot is told how a ballot changes. None for anything else."""
    if route.words[0] != "纪要备注" or not any(w in ctx.message.text for w in _WITHDRAWS):
        return None
    return (
        "撤回纪要备注只有记录人可以使用，您不是记录人，没有办理。"
        "要改票，请在表决结束前直接发送新的选择（如「反对」）；"
        "要更正其他记录，请告诉组长或记录人。"
    )


async def why_not(ctx: Context, route: Route) -> str | None:
    """What the gate's refusal of `route` says instead, when the speaker's situation says more
    (the router's `why_not`)."""
    return not_the_recorders_note(ctx, route) or await chair_no_more(ctx, route)


async def to_groups(
    ctx: Context, text: str, mentions: Sequence[UserRef] = ()
) -> list[OutgoingMessage]:
    """`text` for the society's group: here when said in a group; said in a private chat with
    the bot, to the society's groups on this platform (here when it has none)."""
    here = ctx.message.chat
    if here.kind is not ChatKind.PRIVATE or ctx.society is None:
        return [ctx.reply(text, mentions)]
    groups = [
        ChatRef(platform, corp, chat, ChatKind.GROUP)
        for platform, corp, chat in await repo.group_chats(ctx.society.id)
        if platform is here.platform and corp == here.corp_id
    ]
    if not groups:
        return [ctx.reply(text)]
    return [OutgoingMessage(chat=group, text=text, mentions=tuple(mentions)) for group in groups]


# 「这个议题」「该议题」「这一项」 said for the item the meeting is on.
_THIS_ITEM = re.compile(rf"^{THIS_ITEM}[,，、\s]*")


def this_item(args: str) -> tuple[bool, str]:
    """Whether `args` open by naming the item the meeting is on (「这个议题分歧较大」), and the rest."""
    found = _THIS_ITEM.match(args.strip())
    return (True, args.strip()[found.end() :].strip()) if found else (False, args.strip())


async def items_that_can(meeting: repo.Meeting, action: g.ItemAction) -> list[repo.Item]:
    """The meeting's items `action` may be taken on now (g.ITEM_TRANSITIONS; no vote on what is
    only studied, g.NOT_VOTED, nor deferral: refuse_deferral)."""
    decided_only = (g.ItemAction.OPEN_VOTE, g.ItemAction.DEFER)
    return [
        it
        for it in await repo.items(meeting.id)
        if (it.state, action) in g.ITEM_TRANSITIONS
        and not (action in decided_only and it.matter_type in g.NOT_VOTED)
    ]


def refuse_deferral(it: repo.Item) -> None:
    """Deferral (第十六条) puts off a decision to the next meeting: an item only studied
    (g.NOT_VOTED) has none to put off."""
    if it.matter_type in g.NOT_VOTED:
        raise UsageError(
            f"议题{it.number}「{it.title}」是学习通报事项，不表决，不适用暂缓（暂缓是把待表决的"
            f"议题转到下次会议再行表决）。本次不学习的，组长可发送「撤回议题 {it.number} 理由」"
            "撤出议程，下次会议再列入；需要表决的，组长先发送"
            f"「议题{it.number}改成一般」。"
        )


async def item_in_focus(
    meeting: repo.Meeting,
    candidates: list[repo.Item],
    *,
    verb: str,
    example: str,
    listed_as: str,
    said_this: bool = False,
) -> int:
    """No item named: among `candidates`, the one the chair last turned to (「下一个议题」,
    models.MeetingFocus), else the only one; none (「本次会议没有{listed_as}的议题」), or several
    with none turned to, is refused saying which there are (「请写明要{verb}的议题编号…」).
    `said_this` (「这件事下次再议」): the item turned to even when it is not a candidate (its own
    state then refuses), never another one."""
    on = await repo.focus(meeting.id)
    if said_this and on is not None and all(it.number != on for it in candidates):
        return on
    chosen = [it for it in candidates if it.number == on] or candidates
    if len(chosen) == 1:
        return chosen[0].number
    if not candidates:
        raise UsageError(f"本次会议没有{listed_as}的议题。发送「会议状态」查看议程。")
    listed = "、".join(f"{it.number}「{it.title}」" for it in candidates)
    number = candidates[0].number
    raise UsageError(
        f"请写明要{verb}的议题编号，例如：{example.format(number)}。{listed_as}：{listed}。"
    )


async def item_by_number(meeting: repo.Meeting, number: int) -> repo.Item:
    for it in await repo.items(meeting.id):
        if it.number == number:
            return it
    raise UsageError(f"本次会议没有议题{number}。发送「会议状态」查看议程。")


def item_by_title(items: Iterable[repo.Item], said: str) -> tuple[repo.Item, str] | None:
    """The one item `said` names by its title, and the words after it: said whole at the start
    (「2027年经费预算 同意」), else its first word found in the title or holding it (「预算
    同意」), or in quotes (「「预算」 分歧大」, as 「把预算暂缓」 hands it over); None when no
    item fits, or several."""
    said = said.strip()
    items = list(items)
    quoted = quoted_title(said)
    if quoted is not None:
        head, rest = quoted, said[len(quoted) + 2 :]
        part = [it for it in items if head == it.title]
        part = part or [it for it in items if head in it.title or it.title in head]
        return (part[0], rest.strip(" ，,:：")) if len(part) == 1 else None
    whole = [it for it in items if said.startswith(it.title)]
    if len(whole) == 1:
        return whole[0], said[len(whole[0].title) :].strip(" ，,:：")
    head, _, rest = said.partition(" ")
    part = [it for it in items if head and (head in it.title or it.title in head)]
    return (part[0], rest.strip()) if len(part) == 1 else None


def reach(said: str, title: str) -> int:
    """How many of `said`'s first characters appear together in `title`."""
    n = 0
    while n < len(said) and said[: n + 1] in title:
        n += 1
    return n


def item_said_first(items: Iterable[repo.Item], said: str) -> tuple[repo.Item, str] | None:
    """The one item whose title `said` opens with part of, run on into what is said about it
    (「预算这个议题分歧比较大」「预算分歧大」 name 「2027年经费预算」): two characters or more that
    are the title's whole, its start or its end (「工作量太大」 names no 「年度工作总结」), and the
    rest with a 「这个议题」 after the title left out. None when no item, or several, fit."""
    said = said.strip()
    fits: list[tuple[repo.Item, int]] = []
    for it in items:
        n = reach(said, it.title)
        if n >= 2 and (it.title.startswith(said[:n]) or it.title.endswith(said[:n])):
            fits.append((it, n))
    longest = max((n for _, n in fits), default=0)
    best = [(it, n) for it, n in fits if n == longest]
    if len(best) != 1:
        return None
    it, n = best[0]
    return it, this_item(said[n:])[1].strip(" ，,:：")


def item_titled(
    items: Iterable[repo.Item], said: str, example: str
) -> tuple[repo.Item, str] | None:
    """item_by_title, but a title said in quotes (「把会员发展暂缓」 hands 「会员发展」 over so)
    that no item fits is refused with the agenda listed (no_item_titled), never None: a command
    that named an item by its title must not fall to another one."""
    items = list(items)
    found = item_by_title(items, said)
    if found is None and (title := quoted_title(said)) is not None:
        raise no_item_titled(title, items, example)
    return found


def quoted_title(said: str) -> str | None:
    """The title `said` opens with in quotes: what 「对预算进行表决」「把会费删掉」 name as the
    thing acted on (bot/utterance.py hands such an object over quoted), or typed so."""
    found = _QUOTED.match(said.strip())
    return found.group(1).strip() if found else None


# 「理由：」 said before a reason (「驳回 1，理由：人选不符合条件」「请假 理由是：出差」): the
# reply says 理由 itself.
_REASON_LEAD = re.compile(r"^[\s,，]*(?:理由|原因)\s*(?:(?:是|为)\s*[:：]?|[:：])\s*")


def without_reason_lead(reason: str) -> str:
    return _REASON_LEAD.sub("", reason)


_QUOTED = re.compile(r"「([^」]+)」")


def no_item_titled(title: str, items: Iterable[repo.Item], example: str) -> UsageError:
    """The refusal for a title no item (or more than one) fits: the agenda listed, so that a
    command never falls to another item."""
    listed = "；".join(f"议题{it.number}「{it.title}」" for it in items)
    return UsageError(
        f"没有找到「{title}」对应的议题，请写明议题编号，例如「{example}」。"
        + (f"本次会议的议题：{listed}" if listed else "")
    )


async def names(ids: Iterable[int]) -> list[str]:
    ordered = list(ids)
    people = await repo.people(ordered)
    return [people[i].name for i in ordered if i in people]


def join(values: Sequence[str], empty: str = "无") -> str:
    return "、".join(values) if values else empty


async def mentions_for(ctx: Context, person_ids: Iterable[int]) -> list[UserRef]:
    return await repo.identities(list(person_ids), ctx.message.platform, ctx.message.chat.corp_id)


async def roster_ids(society_id: int) -> list[int]:
    return [x.person.id for x in await repo.roster(society_id)]


def roster_warnings(members: Sequence[repo.Member], policy: g.Policy, exception: bool) -> list[str]:
    entries = [x for x in members if x.on_roster]
    warnings = []
    if not exception:
        if len(entries) > policy.max_members:
            warnings.append(
                f"⚠ 领导小组现有{len(entries)}人，超过{policy.max_members}人，请报市科技社团党委处理。"
            )
        elif policy.require_odd and entries and len(entries) % 2 == 0:
            warnings.append(f"⚠ 领导小组现有{len(entries)}人（双数），存在缺额，请尽快增补。")
    return warnings


def person_payload(p: repo.Person) -> dict[str, object]:
    return {"id": p.id, "name": p.name}


async def record(
    ctx: Context,
    kind: EventKind,
    payload: dict[str, Any],
    *,
    meeting: repo.Meeting | None = None,
    society_id: int | None = None,
) -> None:
    """Append one event at the command's instant to a society's chain: `society_id`'s (a
    committee command acting on another society, which it has locked), else the meeting's
    society's, else the context's (admission holds its lock)."""
    if society_id is None:
        society_id = ctx.require_society().id if meeting is None else meeting.society_id
    await record_at(
        ctx.now, society_id, kind, payload, meeting_id=None if meeting is None else meeting.id
    )


async def record_at(
    now: datetime,
    society_id: int,
    kind: EventKind,
    payload: dict[str, Any],
    *,
    meeting_id: int | None = None,
) -> None:
    """`record` for a domain function that has no chat context (the 工作台 calls them too): the
    caller holds the society's lock."""
    await repo.append_event(society_id, kind.value, payload, now, meeting_id=meeting_id)


async def item_event(
    ctx: Context,
    meeting: repo.Meeting,
    it: repo.Item,
    kind: EventKind,
    by: repo.Person,
    **extra: object,
) -> None:
    """An item's entry in the chain: what it is now (number, title, matter type, state)."""
    await record(
        ctx,
        kind,
        {
            "item": it.id,
            "number": it.number,
            "title": it.title,
            "matter_type": it.matter_type.value,
            "state": it.state.value,
            "by": person_payload(by),
            **extra,
        },
        meeting=meeting,
    )


def refuse_unvoted(it: repo.Item) -> None:
    """A major, personnel or discipline matter is the group's to decide (第七条): never left
    unvoted, whether the chair says 「议题2不需要表决」 or the leader 「议题2改成学习」."""
    if it.matter_type not in g.MAY_GO_UNVOTED:
        raise UsageError(
            f"议题{it.number}「{it.title}」是{t.MATTER[it.matter_type]}，须由小组集体讨论、"
            f"表决决定（第七条），不能不表决，也不能改为学习通报。本次不作决定的，"
            f"可在会上发送「暂缓 {it.number} 理由」转下次会议。"
        )


async def set_matter(
    ctx: Context,
    meeting: repo.Meeting,
    it: repo.Item,
    by: repo.Person,
    matter: g.MatterType,
    title: str | None = None,
) -> repo.Item:
    """The one way an item's matter type (and title) is changed, 修改议题 as 「议题1不需要表决」:
    made a study item (g.NOT_VOTED) only when it may go unvoted (refuse_unvoted), its state
    as the edit leaves it, and the chain told what it was. Refusals before any write."""
    if matter in g.NOT_VOTED:
        refuse_unvoted(it)
    title = it.title if title is None else title
    state = g.item_next(it.state, g.ItemAction.EDIT)
    await repo.update_item(it.id, title=title, matter_type=matter, state=state)
    edited = dataclasses.replace(it, title=title, matter_type=matter, state=state)
    await item_event(
        ctx,
        meeting,
        edited,
        EventKind.ITEM_EDITED,
        by,
        title_from=it.title,
        matter_from=it.matter_type.value,
    )
    return edited


def announced(handler: Handler) -> Handler:
    """A command whose replies the whole group must see (a notice, a vote, a result): sent
    from a private chat with the bot (a leader on the phone), what it would have answered there
    goes to the society's groups on that platform instead, and the sender is told so. Without
    such a group the answer stays private, saying that the group did not get it."""

    @functools.wraps(handler)
    async def run(ctx: Context, args: str) -> list[OutgoingMessage]:
        out = await handler(ctx, args)
        here = ctx.message.chat
        if here.kind is not ChatKind.PRIVATE or ctx.society is None:
            return out
        groups = [
            ChatRef(platform, corp, chat, ChatKind.GROUP)
            for platform, corp, chat in await repo.group_chats(ctx.society.id)
            if platform is here.platform and corp == here.corp_id
        ]
        mine = [m for m in out if m.chat == here and m.private_to is None]
        if not mine:
            return out
        if not groups:
            return [*out, ctx.reply("本学会在这个平台还没有绑定工作群，以上内容没有发到群里。")]
        moved = [
            dataclasses.replace(m, chat=group, reply_handle="")
            for m in out
            if m in mine
            for group in groups
        ]
        rest = [m for m in out if m not in mine]
        return [*moved, *rest, ctx.reply("已发到学会工作群。")]

    return run


async def proposal_decided(
    ctx: Context, args: str, word: str, *, reason: bool = False
) -> tuple[str, str] | None:
    """「同意3」「反对3」 from the leader while no vote is open, item 3 being a member's proposal
    waiting for them: the decision on it (`word`: 同意议题 / 驳回议题); otherwise None (a
    ballot, refused with why when no vote is open). With `reason`, words may follow the
    number (「驳回4 时机不成熟」, the committee's word said by the leader)."""
    number, rest = parse_item_ref(args)
    if number is None or (rest and not reason) or ctx.society is None or ctx.person is None:
        return None
    if g.Role.COMMITTEE in ctx.roles:
        return None
    meeting = ctx.active_meeting or await repo.active_meeting(ctx.society.id)
    # the meeting's leader decides its proposals (the leader when it was convened, Rule 7)
    if meeting is None or meeting.leader_id != ctx.person.id or await repo.open_votes(meeting.id):
        return None
    items = await repo.items(meeting.id)
    if any(it.number == number and it.state is g.ItemState.PROPOSED for it in items):
        return word, f"{number} {rest}".strip()
    return None


def record_fails_check(
    ctx: Context,
    exc: Tampered,
    *,
    where: str,
    said: str,
    refused: str,
    undone: str,
    record: str = "表决记录",
) -> Notified:
    """The refusal when rows a decision or a changed ballot stands on fail their seal (edited
    behind the bot's back): nothing was written from them (the savepoint rolls back), the speaker
    is told so, the committee admins are told where, and the log has a warning. Neither says
    what the rows hold: which table and row ids, the vote and the item, never a choice.
    `where`: the vote as the admins know it (学会, 会议, 议题); `said`: what fails and
    `refused`: what was not done, to the speaker; `undone`: what was not done, to the admins;
    `record`: which record, to the admins (表决记录, 签到记录)."""
    logger.warning("%s; %s: refused, nothing recorded", exc, where)
    told = "已通知市科技社团党委；" if ctx.settings.committee_admins else ""
    notice = (
        f"【记录校验未通过】{where}：{record}与其封印不符（可能有人直接改动了数据库），"
        f"机器人没有据此{undone}，数据库保持原样。请运行「yishi verify」核查。"
    )
    return Notified(
        f"{said}校验未通过，{refused}，{told}请管理员运行「yishi verify」核查。",
        admin_notices(ctx, notice),
    )


def admin_notices(ctx: Context, text: str) -> list[OutgoingMessage]:
    """`text` to each committee admin in private (a record that failed its check: where, never
    what it holds)."""
    return [
        ctx.private(UserRef(Platform(a.platform), a.corp_id, a.user_id, a.name), text)
        for a in ctx.settings.committee_admins
    ]


async def quorum_attendance(
    ctx: Context, meeting: repo.Meeting, *, refused: str, undone: str
) -> dict[int, repo.AttendanceRecord]:
    """The meeting's attendance for a quorum the bot decides now (a vote's opening, hands and
    close, the meeting's opening and close), only from rows that match their seals: an absent
    member flipped to present in the database makes no quorum (`record_fails_check`, nothing
    written). `refused`, `undone`: what is not done, as there."""
    try:
        return await repo.checked_attendance(meeting.id)
    except Tampered as exc:
        raise attendance_fails_check(ctx, meeting, exc, refused=refused, undone=undone) from exc


def attendance_fails_check(
    ctx: Context, meeting: repo.Meeting, exc: Tampered, *, refused: str, undone: str
) -> Notified:
    return record_fails_check(
        ctx,
        exc,
        where=f"{ctx.require_society().name} 第{meeting.number}次会议",
        said=f"第{meeting.number}次会议的签到记录",
        refused=refused,
        undone=undone,
        record="签到（出席）记录",
    )


async def ballot_while_on_leave(ctx: Context) -> str | None:
    """For a member on leave from the society's meeting under way or to come who says a ballot
    (「议题2我同意」 with no vote open, 「能线上投一票吗？赞成」): one on leave does not vote, so
    nothing was counted; a written opinion can be given on the items whose vote has not opened,
    and how. None when the speaker is not on leave from it."""
    society, person = ctx.society, ctx.person
    if society is None or person is None:
        return None
    meeting = ctx.active_meeting or await repo.active_meeting(society.id)
    if meeting is None or person.id not in meeting.roster:
        return None
    entry = (await repo.attendance(meeting.id)).get(person.id)
    if entry is None or entry.status is not g.Attendance.LEAVE:
        return None
    told = f"{person.name}已请假，请假的成员不参加表决，这句话没有计票。"
    open_items = [it for it in await repo.items(meeting.id) if it.state in g.OPINION_STATES]
    if open_items:
        listed = "、".join(f"议题{it.number}「{it.title}」" for it in open_items)
        return told + (
            f"对还没有开始表决的议题（{listed}）可以提交书面意见：发送「书面意见 议题编号 意见」，"
            f"例如「书面意见 {open_items[0].number} 同意」，会上宣读并写入纪要，但不计入票数。"
        )
    return told + "本次会议的议题都已开始表决，不能再提交书面意见；有意见的，可以会后向组长说明。"
