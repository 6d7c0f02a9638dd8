"""Who takes part in a meeting: observers (列席), leave before the meeting, written opinions of
members on leave, acknowledging the notice, check-in, leaving early, recusal from one item.
The routes are in handlers/meetings.py's table."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot import governance as g
from bot import utterance as u
from bot.events import EventKind, OutgoingMessage
from bot.router import ASKED_FOR, AskFor, Context, UsageError
from bot.timeparse import small_number
from bot.utterance import ADDRESSEE, is_decoration
from handlers import texts as t
from handlers.common import (
    DELEGATE_GONE,
    ballot_while_on_leave,
    bounded,
    current_meeting,
    delegation_ended_for,
    end_delegation,
    item_by_number,
    item_by_title,
    item_in_focus,
    item_titled,
    join,
    mentioned,
    mentions_for,
    names,
    parse_item_ref,
    person_payload,
    reach,
    record,
    require_known_person,
    roster_ids,
    this_item,
    who_opens,
    without_reason_lead,
)
from handlers.votes import how_to_vote, yet_to_vote
from storage import acks, repo


async def add_observer(ctx: Context, args: str) -> list[OutgoingMessage]:
    society = ctx.require_society()
    actor = ctx.require_person()
    meeting = await current_meeting(ctx, g.AGENDA_OPEN_STATES)
    usage = "列席 @王理事长 非党员理事长列席"
    target, reason = await require_known_person(ctx, args, usage)
    if not reason:
        raise UsageError(f"请写明列席理由，例如：{usage}")
    bounded(reason, "列席理由")
    if target.id in meeting.roster:
        raise UsageError(f"{target.name}是领导小组成员，不需要列席。")
    if target.id in await roster_ids(society.id):
        raise UsageError(
            f"{target.name}的成员资格在第{meeting.number}次会议召开后才获批，"
            f"{NEXT_MEETING}本次会议不需要列席。"
        )
    if not await repo.add_observer(meeting.id, target.id, reason):
        return [ctx.reply(f"{target.name}已在列席名单中。")]
    await record(
        ctx,
        EventKind.OBSERVER_ADDED,
        {"person": person_payload(target), "reason": reason, "by": person_payload(actor)},
        meeting=meeting,
    )
    return [
        ctx.reply(
            f"已邀请{target.name}列席第{meeting.number}次会议（{t.echo(reason)}）。列席人员不参加表决，不计入法定人数。",
            await mentions_for(ctx, [target.id]),
        )
    ]


async def ask_leave(ctx: Context, args: str) -> list[OutgoingMessage]:
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(
        ctx, (g.MeetingState.DRAFT, g.MeetingState.CONVENED, g.MeetingState.OPEN)
    )
    typed, opinion = _leave_and_opinion(args)
    with_opinion = f"，书面意见：{opinion}" if opinion else ""
    if not typed:
        # the reason may come in the next message (「我请个假」, then 「出差」)
        raise AskFor(
            f"请写明请假理由，例如：{LEAVE_USAGE}{with_opinion}", f"请假 {ASKED_FOR}{with_opinion}"
        )
    bounded(typed, "请假理由")
    await require_on_meeting_roster(meeting, person, "无需请假")
    await _not_someone_elses(ctx, meeting, person, typed, "请假")
    args = _own_reason(person, typed)
    if u.no_reason(args):  # 「杨帆今天请假」 from 杨帆: which day, but no reason
        raise AskFor(
            f"请写明请假理由，例如：{LEAVE_USAGE}{with_opinion}", f"请假 {ASKED_FOR}{with_opinion}"
        )
    if meeting.state is g.MeetingState.OPEN:
        entry = (await repo.attendance(meeting.id)).get(person.id)
        if entry is not None and entry.status in g.PRESENT_STATES:
            # 「孩子生病了，要提前走一下」 from one present: leaving early, not absent all along
            return await leave_meeting(ctx, args)
    status = g.leave_status(ctx.now, meeting.starts_at, meeting.state)
    # 「请假 出差，书面意见：同意」「我出差来不了，对换届没意见，预算建议压缩」: the opinions go
    # with the leave when they can be kept; what stops them is said after the leave, which is
    # kept either way (checked before any write).
    args, said, not_kept = await _opinions_with_leave(meeting, status, args, opinion)
    args = u.reason_said(args)
    before = (await repo.attendance(meeting.id)).get(person.id)
    checked_in = before is not None and before.status in g.PRESENT_STATES
    withdrawn = checked_in and any(
        c.get("opinions_withdrawn") for c in await _check_ins(meeting, person)
    )
    await repo.set_attendance(meeting.id, person.id, status, reason=args, now=ctx.now)
    await record(
        ctx,
        EventKind.LEAVE if status is g.Attendance.LEAVE else EventKind.LATE_LEAVE,
        {"person": person_payload(person), "reason": args, "status": status.value},
        meeting=meeting,
    )
    if status is g.Attendance.ABSENT:
        reply = (
            f"会议已于{t.when(meeting.starts_at, ctx.tz)}开始，请假应在会前提出，"
            f"本次按缺席记录（说明：{t.echo(args)}）。"
        )
    elif said:
        reply = f"{person.name}已请假（{t.echo(args)}）。"
        reply += await _put_opinions(ctx, meeting, person, status, said)
    else:
        reply = (
            f"{person.name}已请假（{t.echo(args)}）。如对议题有意见，可发送「书面意见 议题编号 意见」，"
            "书面意见将在会上宣读并写入纪要，但不计入表决票数。"
        )
    if not_kept:
        reply += f"\n书面意见没有记下：{not_kept}"
    if withdrawn and not said:  # checked in, opinions withdrawn, now on leave again
        reply += "\n您签到时撤回的书面意见不会自动恢复；如仍需提交，请重新发送「书面意见 议题编号 意见」。"
    return [ctx.reply(reply), *await end_delegation(ctx, meeting, person, status)]


LEAVE_USAGE = "请假 出差在外"

# Told before whose leave it is (「报告一下，杨帆今天出差请假了」).
_TELLING = re.compile(r"^(?:报告一下|说一下|通知一下|另外|还有|对了)?[,，:：\s]*")
# Someone named who asked the speaker to pass it on (「刘洋说…」「赵敏让我跟大家说」).
_PASSED_ON = r"(?:同志|老师)?(?:说|让我|请我|托我|叫我|委托我|跟我说)"
# A form of address before a reason (「张老师，我那天去北京出差」「张组长我…」): no part of it.
_ADDRESSED = re.compile(
    r"^[\u4e00-\u9fff]{1,3}(?:老师|组长|书记|主任|会长|理事长|秘书长)(?:[,，:：\s]+|(?=我))"
)


async def _someone_elses_leave(
    ctx: Context, meeting: repo.Meeting, person: repo.Person, reason: str
) -> tuple[str, bool] | None:
    """The name of another person of the meeting (its roster, observers, the recorder, the
    liaison) whose leave the reason tells of (「刘洋请假了，他让我跟大家说一下」「赵敏说她那天
    来不了」「周婷今天请假，刘洋临时记录一下」), and whether they are on its roster; else None."""
    said = _TELLING.sub("", reason).lstrip("@\uff20 ")  # 「请假 @赵敏 孩子生病」: 赵敏's leave
    society = ctx.require_society()
    around = {society.recorder_id, society.liaison_id, *await repo.observers(meeting.id)}
    ids = [*meeting.roster, *(i for i in around if i is not None)]
    for pid, other in (await repo.people(ids)).items():
        if pid == person.id or not other.name:
            continue
        name = re.escape(other.name)
        if (
            said.startswith(other.name)
            or re.search(name + _PASSED_ON, said)
            or re.search(_ASKED_FOR_THEM.format(name=name), said)  # 「帮杨帆请个假」
        ):
            return other.name, pid in meeting.roster
    return None


# A leave asked for someone named (「帮杨帆请个假」「替杨帆请假」「给杨帆请一下假」).
_ASKED_FOR_THEM = r"(?:帮|替|代|给){name}(?:同志|老师)?(?:请个?假|请一下假)"


async def _not_someone_elses(
    ctx: Context, meeting: repo.Meeting, person: repo.Person, said: str, what: str
) -> None:
    """Refuse (nothing written) a leave or a departure (`what`: 请假, 离席) that `said` tells of
    for someone else: another person of the meeting named first (「杨帆请假 家里有事」「杨帆今天
    请假」), asked for (「帮杨帆请个假」) or passing it on (「赵敏说她那天来不了」), or anyone
    asked for without a name the meeting knows (「帮他请个假」). Only the member can ask."""
    other = await _someone_elses_leave(ctx, meeting, person, said)
    if other is not None:
        name, on_roster = other
        if what == "离席":  # 「王强先走了，他单位有急事」 from 刘洋
            raise UsageError(
                f"这句话说的是{name}离席。离席须由本人发送「离席 理由」，没有记下任何离席；"
                "未离席的照常计入出席。"
            )
        absent = f"；{name}来不了、又没有请假的，会后按缺席记录" if on_roster else ""
        raise UsageError(
            f"这句话说的是{name}请假。请假须由本人发送「请假 理由」（也可以私聊机器人），"
            f"没有记下任何请假{absent}。"
        )
    if what == "请假" and u.for_another(said):
        raise UsageError(
            "这句话说的是替别人请假。请假须由本人发送「请假 理由」（也可以私聊机器人），"
            "没有记下任何请假。"
        )


async def someone_elses_asked(ctx: Context, args: str, what: str = "请假") -> None:
    """Before a leave or a departure (`what`) is asked back: one told of for someone else
    (「杨帆请假 家里有事」 from 陈静) is refused at once, as its yes would be (nothing written)."""
    person, society = ctx.person, ctx.society
    meeting = ctx.active_meeting or (await repo.active_meeting(society.id) if society else None)
    if person is None or meeting is None:
        return
    typed = _leave_and_opinion(args)[0] if what == "请假" else args
    await _not_someone_elses(ctx, meeting, person, typed, what)


# The chair handed on at the end of the leader's leave (「…，来不了，请李娜主持」).
_CHAIR_TO = re.compile(
    r"[,，;；。\s]*(?:请|由|让|麻烦|委托)(?P<name>[\u4e00-\u9fff]{2,4}?)(?:同志|老师)?"
    r"(?:代为|代我|帮我|帮忙|来|临时)?主持(?:一下)?(?:这次|本次|今天的?|明天的?|那天的?)?"
    r"(?:会议|会)?[。.!！]*$"
)


async def chair_handed_on(ctx: Context, args: str) -> tuple[str, str | None]:
    """The leader's leave said with the chair handed on (「我临时要去市里开会，请李娜主持」):
    the reason without it, and the member named (on the meeting's roster); `args` and None
    when it is no such thing (another speaker, no meeting before its start)."""
    found = _CHAIR_TO.search(args)
    person, society = ctx.person, ctx.society
    if found is None or person is None or society is None:
        return args, None
    meeting = ctx.active_meeting or await repo.active_meeting(society.id)
    if meeting is None or meeting.leader_id != person.id or meeting.state is g.MeetingState.OPEN:
        return args, None
    named = [p for p in (await repo.people(meeting.roster)).values() if p.name == found["name"]]
    if not named or named[0].id == person.id:
        return args, None
    return args[: found.start()].strip(), found["name"]


def _own_reason(person: repo.Person, said: str) -> str:
    """The reason the member gives for themself (utterance.reason_said), without their own
    name in front (「杨帆请假 出差」 from 杨帆: 「出差」)."""
    if person.name and said.startswith(person.name):
        said = said[len(person.name) :].lstrip(" ,，:：")
    return u.reason_said(said)


# An opinion said with the leave: 「出差，书面意见：同意」「出差 书面意见 两个议题都同意」.
_OPINION_WITH_LEAVE = re.compile(
    r"[,，;；。\s]*(?:(?:我的)?书面意见|(?:我的)?意见(?=\s*(?:是|为)?\s*[:：]))\s*(?:是|为|如下)?\s*[:：]?\s*"
)


def _leave_and_opinion(args: str) -> tuple[str, str]:
    """The reason for a leave and the written opinion said with it (「」 when none)."""
    args = _ADDRESSED.sub("", _GREETING.sub("", args.strip()))
    found = _OPINION_WITH_LEAVE.search(args)
    if found is not None:
        reason, opinion = args[: found.start()], args[found.end() :]
    elif (view := _NUMBERED_VIEW.search(args)) is not None:
        # 「身体不适 2同意 3弃权」: the views on numbered items are the opinions
        reason, opinion = args[: view.start()], args[view.start() :]
    else:
        return without_reason_lead(args), ""
    return without_reason_lead(reason.strip(" ,，;；。")), opinion.strip()


# A view on an item by its number after the reason (「身体不适 2同意 3弃权」「出差 议题1 同意」).
_NUMBERED_VIEW = re.compile(
    r"(?<=[\s,，;；。])\s*(?:对于?|关于)?\s*"
    r"(?:[0-9]{1,2}|(?:议题|第)\s*[0-9一二两三四五六七八九十]{1,3}"
    r"|[0-9一二两三四五六七八九十]{1,3}\s*(?:号|项))\s*(?:议题|个议题)?\s*[:：]?\s*"
    r"(?=不同意|同意|赞成|反对|弃权|没有?意见|无意见)"
)


# A greeting in front (「张组长好，」「组长您好 」「各位早」): no part of the reason.
_GREETING = re.compile(
    rf"^[\u4e00-\u9fff]{{0,2}}?(?:{ADDRESSEE})(?:您好|你们好|好|早上好|上午好|下午好|晚上好|早)[,，!！\s]*"
)
# Written opinions: each the items it goes on and its text, as said.
Opinions = list[tuple[list[repo.Item], str]]


async def _opinions_with_leave(
    meeting: repo.Meeting, status: g.Attendance, reason: str, opinion: str
) -> tuple[str, Opinions, str]:
    """The leave's reason, the opinions said with it and why they cannot be kept (「」 when they
    can): after 「书面意见：」, else the reason's later clauses that name an item and give a view
    on it (「出差，对换届没意见，预算建议压缩」: reason 「出差」)."""
    try:
        if opinion:
            said = await _opinions_said(meeting, opinion)
        else:
            reason, said = _views_in_reason(await _open_items(meeting), reason)
        for items, text in said:
            _opinion_checked(status, items, text)
    except UsageError as exc:
        return reason, [], str(exc)
    except g.GovernanceError as exc:
        return reason, [], t.render_refusal(exc)
    return reason, said, ""


def _views_in_reason(items: list[repo.Item], reason: str) -> tuple[str, Opinions]:
    """The clauses of a leave's reason after its first that name one item and say a view on it
    (「对换届没意见」「预算建议压缩」, a bare 「同意」 after one going on with it), taken out as
    opinions (utterance.views_in, as the question asked back said); the rest is the reason."""
    rest, views = u.views_in(reason, lambda clause: _item_named(items, clause) is not None)
    said: Opinions = []
    for view in views:
        item = _item_named(items, view)
        if item is not None:
            said.append(([item], view))
    return (rest, said) if said else (reason, [])


_CLAUSES = re.compile(r"[,，;；。]")
_A_VIEW = u.A_VIEW
_ABOUT = u.VIEW_ABOUT


def _item_named(items: list[repo.Item], clause: str) -> repo.Item | None:
    """The one item a clause opens with: by number (「议题2同意」「第二个议题没意见」) or by the
    longest start of the clause (two characters or more) found in its title (「预算建议压缩」 is
    on 「经费预算」); None when none, or several equally."""
    said = _ABOUT.sub("", clause)
    number, _ = parse_item_ref(said)
    if number is not None:
        return next((it for it in items if it.number == number), None)
    reached = {it.number: reach(said, it.title) for it in items}
    best = max(reached.values(), default=0)
    found = [it for it in items if reached[it.number] == best]
    return found[0] if best >= 2 and len(found) == 1 else None


async def withdraw_leave(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「撤销请假」「我又能来了」: a leave is not withdrawn; checking in (from the window's opening)
    counts the member present. Says so, and from when; writes nothing."""
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(
        ctx, (g.MeetingState.DRAFT, g.MeetingState.CONVENED, g.MeetingState.OPEN)
    )
    entry = (await repo.attendance(meeting.id)).get(person.id)
    if entry is None or entry.status is not g.Attendance.LEAVE:
        return [ctx.reply(f"{person.name}没有请假，不需要撤销。届时发送「签到」即可。")]
    sent = [
        it
        for it in await repo.items(meeting.id)
        if it.state in g.OPINION_STATES
        and any(p == person.id for p, _ in await repo.opinions(it.id))
    ]
    opinions = "签到时，您对尚未表决议题提交的书面意见随之撤回，请在会上发表意见。" if sent else ""
    return [ctx.reply(f"{person.name}{_coming_after_all(ctx, meeting)}{opinions}")]


def _coming_after_all(ctx: Context, meeting: repo.Meeting) -> str:
    """For a member on leave who can come after all: from when 「签到」 counts them present."""
    opens_at = meeting.starts_at - ctx.policy.checkin_opens_before
    when = "现在就可以" if ctx.now >= opens_at else f"{t.when(opens_at, ctx.tz)}起"
    return (
        f"目前是请假。请假不用撤销：能来参会的话，{when}发送「签到」，"
        "即按出席记录（会议开始后签到记为迟到）。"
    )


async def running_late(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「我可能晚到一会儿」: coming, later. Before the meeting it answers the notice (as 「收到」
    does); the reply says what a late check-in means. From a member not yet checked in or on
    leave it is kept (late_notice: how late, as said) for the status and the minutes."""
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(
        ctx, (g.MeetingState.DRAFT, g.MeetingState.CONVENED, g.MeetingState.OPEN)
    )
    entry = (await repo.attendance(meeting.id)).get(person.id)
    if entry is not None and entry.status in g.PRESENT_STATES:
        return [ctx.reply(f"{person.name}已签到过了。")]
    hint = "到场后请发送「签到」：会议开始后签到记为迟到，签到前已结束的表决无法参加。"
    if entry is not None and entry.status is g.Attendance.LEAVE:
        hint += f"您{_coming_after_all(ctx, meeting)}"
    how_long = _how_long(args)
    before = (await _late_payloads(meeting)).get(person.id)
    late = f"（{t.echo(how_long)}）" if how_long else ""
    if before is not None and how_long in ("", before.get("said", "")):
        # said again (or without how late this time): on the record once
        told = before.get("said", "")
        return [
            ctx.reply(
                f"已记下：{person.name}会晚到{f'（{t.echo(told)}）' if told else ''}，之前已告知。"
            )
        ]
    if before is not None:  # how late changed: the new notice replaces it (both on the record)
        was = before.get("said", "")
        late = f"（{t.echo(how_long)}，已更新，原为{t.echo(was) if was else '未说明'}）"
    if person.id in meeting.roster and (entry is None or entry.status is g.Attendance.UNKNOWN):
        minutes = late_by(how_long)
        await record(
            ctx,
            EventKind.LATE_NOTICE,
            {
                "person": person_payload(person),
                "said": how_long,
                "minutes": minutes,
                "by": f"约{minutes}分钟" if minutes else how_long,
            },
            meeting=meeting,
        )
    if meeting.state is g.MeetingState.OPEN:
        return [ctx.reply(f"好的。第{meeting.number}次会议已经开始，{person.name}{hint}")]
    received = ""
    if person.id in meeting.roster:
        await acks.acknowledge(meeting.id, person.id, ctx.now)
        received = "，已确认收到通知"
    when = t.when(meeting.starts_at, ctx.tz)
    return [
        ctx.reply(
            f"好的，{person.name}会晚到{late}{received}。第{meeting.number}次会议{when}开始，{hint}"
        )
    ]


def _how_long(args: str) -> str:
    """How late, as said after the words (「半小时」「十分钟左右」), else 「」."""
    said = args.strip(" ,，。!！~")
    return said if _HOW_LATE.fullmatch(said) else ""


# How late in minutes, as said: 「半小时」「十分钟」「一刻钟」「1小时」.
_LATE_BY = re.compile(
    r"(?P<n>[0-9]{1,3}|[一二两三四五六七八九十]{1,3}|半)?个?(?P<unit>小时|分钟|刻钟)"
)


def late_by(how_long: str) -> int | None:
    """How many minutes late `how_long` says (「半小时」: 30), or None (「一会儿」)."""
    said = _LATE_BY.search(how_long)
    if said is None:
        return None
    n, unit = said["n"], said["unit"]
    if n == "半":
        return 30 if unit == "小时" else None
    count = 1 if n is None else small_number(n)
    if count is None:
        return None
    return count * {"小时": 60, "分钟": 1, "刻钟": 15}[unit] if count else None


_HOW_LATE = re.compile(
    r"(?:大概|大约|差不多)?(?:一|个)?(?:[0-9]{1,3}|[一二两三四五六七八九十半]{1,3})?个?"
    r"(?:小时|分钟|刻钟|会儿|会|点儿|点|些)(?:左右)?"
)


async def voting_while_on_leave(ctx: Context) -> str | None:
    """For a member on leave from the society's meeting under way or to come, asking to vote
    online (「我在南京，能线上投一票吗？赞成」): `common.ballot_while_on_leave`, and what taking
    part online would need. None when the speaker is not on leave from it."""
    told = await ballot_while_on_leave(ctx)
    if told is None:
        return None
    return told + (
        "能否线上参会由组长决定；组长同意的，发送「签到」后按出席（迟到）记录，"
        "可参加签到之后开始的表决。"
    )


async def must_i_attend(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「我需要参加吗」「我还要参加这次会吗」: what the meeting convened (or under way) expects of
    the one asking: a member of its roster (decided at convening, a removal approved since
    notwithstanding), an invited observer, the recorder, or nobody it waits for. Writes
    nothing."""
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(ctx)
    if meeting.state not in (g.MeetingState.CONVENED, g.MeetingState.OPEN):
        return [
            ctx.reply(
                f"目前没有待召开的会议：第{meeting.number}次会议{t.MEETING_STATE[meeting.state]}。"
            )
        ]
    head = f"第{meeting.number}次会议（{t.when(meeting.starts_at, ctx.tz)}，{meeting.place}）"
    started = meeting.state is g.MeetingState.OPEN
    entry = (await repo.attendance(meeting.id)).get(person.id)
    if entry is not None and entry.status in g.PRESENT_STATES:
        return [ctx.reply(f"{person.name}已签到参加{head}。")]
    if person.id in meeting.roster:
        if entry is not None and entry.status is g.Attendance.LEAVE:
            return [ctx.reply(f"{person.name}已就{head}请假。您{_coming_after_all(ctx, meeting)}")]
        kept = (
            "（召开会议后获批的成员调整自下次会议起适用，本次仍按召开会议时的名单）"
            if person.id not in await roster_ids(meeting.society_id)
            else ""
        )
        then = (
            "会议已经开始，请尽快到场并发送「签到」（记为迟到）。"
            if started
            else "不能参加的，请在会前发送「请假 理由」，可对议题提交书面意见。"
        )
        return [ctx.reply(f"需要。{person.name}在{head}的应到会名单中{kept}。{then}")]
    if person.id in await repo.observers(meeting.id):
        return [
            ctx.reply(
                f"{person.name}受邀列席{head}，欢迎参加。列席人员可以发言，"
                "不参加表决，不计入法定人数；到场后请发送「签到」。"
            )
        ]
    if g.Role.RECORDER in ctx.roles:
        return [
            ctx.reply(
                f"需要。{person.name}是记录人，请出席{head}并做会议记录（记录人不参加表决）。"
            )
        ]
    if person.id in await roster_ids(meeting.society_id):  # added since convening
        return [
            ctx.reply(
                f"{person.name}不在{head}的应到会名单中（名单以召开会议时为准），{NEXT_MEETING}"
                "本次会议不需要参加；组长也可以邀请您列席。"
            )
        ]
    return [ctx.reply(f"{head}的应到会名单中没有{person.name}，不需要参加。")]


async def written_opinion(ctx: Context, args: str) -> list[OutgoingMessage]:
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(ctx, g.AGENDA_OPEN_STATES)
    said = await _opinions_said(meeting, args)
    await require_on_meeting_roster(meeting, person, "不能提交书面意见")
    entry = (await repo.attendance(meeting.id)).get(person.id)
    status = entry.status if entry else g.Attendance.UNKNOWN
    return [ctx.reply(await _put_opinions(ctx, meeting, person, status, said))]


async def _put_opinions(
    ctx: Context,
    meeting: repo.Meeting,
    person: repo.Person,
    status: g.Attendance,
    said: Opinions,
) -> str:
    """Each opinion kept on each of its items that still takes one (refused, nothing written,
    when one has none), and what to tell its author."""
    kept = [(_opinion_checked(status, items, text), items, text) for items, text in said]
    earlier = 0
    for open_items, _, text in kept:
        for it in open_items:
            earlier += sum(1 for who, _ in await repo.opinions(it.id) if who == person.id)
            await repo.add_opinion(it.id, person.id, text, ctx.now)
            await record(
                ctx,
                EventKind.WRITTEN_OPINION,
                {
                    "item": it.id,
                    "number": it.number,
                    "title": it.title,
                    "person": person_payload(person),
                    "text": text,
                },
                meeting=meeting,
            )
    on = "、".join(
        f"议题{it.number}「{it.title}」" for open_items, _, _ in kept for it in open_items
    )
    if any(len(open_items) < len(items) for open_items, items, _ in kept):
        on += "（其余议题已开始表决，不再收书面意见）"
    if earlier:  # kept as written: the record is added to, never rewritten
        one = len(kept) == 1 and len(kept[0][0]) == 1
        which = f"第{earlier + 1}条" if one else "又一条"
        return (
            f"已收到{person.name}对{on}的{which}书面意见，"
            "前面的也保留，会上按先后一并宣读并写入纪要（不计入票数）。"
        )
    return f"已收到{person.name}对{on}的书面意见，将在会上宣读并写入纪要（不计入票数）。"


def _opinion_checked(status: g.Attendance, items: list[repo.Item], text: str) -> list[repo.Item]:
    """Of `items`, those an opinion by a member with `status` goes on: the ones whose vote has
    not opened; refused (nothing written) when there is no text, it is too long, the member is
    not on leave or no item takes one."""
    if not text:
        raise UsageError(f"请写明意见内容，例如：{OPINION_USAGE}")
    bounded(text, "书面意见", t.OPINION_MAX)
    open_items = [it for it in items if it.state in g.OPINION_STATES] or items[:1]
    for it in open_items:
        g.check_written_opinion(status, it.state)
    return open_items


async def _open_items(meeting: repo.Meeting) -> list[repo.Item]:
    return [it for it in await repo.items(meeting.id) if it.state is not g.ItemState.REJECTED]


async def _opinions_said(meeting: repo.Meeting, args: str) -> Opinions:
    """The written opinions in 「书面意见 …」 and the items each is on: by number (「书面意见 2
    同意」), else every item (「两个议题都同意」「各项议题均同意」: the words kept whole), else one
    per clause when each clause names its own item (「对换届没意见，预算建议压缩」), else by its
    title said first, whole (「2027年经费预算 同意」) or in part (「关于经费预算我的意见是同意」:
    the route's frames hand over 「经费预算 同意」; 「预算我没意见」 kept whole), when exactly one
    item fits; else the one item there is."""
    parts = _numbered_parts(args)
    if len(parts) > 1:  # 「1 同意；2 同意但建议压缩会务费」: one opinion per item numbered
        return [([await item_by_number(meeting, n)], text) for n, text in parts]
    number, text = parse_item_ref(_VIEW_GLUED.sub(r"\1 ", args.strip()))  # 「2同意」 too
    if number is not None:
        return [([await item_by_number(meeting, number)], text)]
    items = await _open_items(meeting)
    if items and _EVERY_ITEM.match(args.strip()):
        return [(items, args.strip())]
    clauses = [c.strip() for c in _CLAUSES.split(args) if c.strip()]
    named = [_item_named(items, c) for c in clauses]
    if len(clauses) > 1 and all(named) and len({it.number for it in named if it}) == len(named):
        return [([it], c) for it, c in zip(named, clauses, strict=True) if it]
    # 「关于议题1，我同意换届方案」: the item's number after 关于/对
    number, text = parse_item_ref(_VIEW_GLUED.sub(r"\1 ", _ABOUT.sub("", args.strip())))
    if number is not None:
        return [([await item_by_number(meeting, number)], text.lstrip(" ,，:：;；"))]
    found = item_by_title(items, args)
    if found is not None:
        return [([found[0]], found[1])]
    if len(clauses) == 1 and named[0] is not None:  # 「预算我没意见」: part of one item's title
        return [([named[0]], args.strip())]
    if len(items) == 1:  # 「书面意见 同意」: the meeting has one item
        return [(items, args.strip())]
    raise UsageError(
        f"请写明议题编号，例如：{OPINION_USAGE}。"
        + (
            "本次会议的议题：" + "；".join(f"议题{it.number}「{it.title}」" for it in items)
            if items
            else ""
        )
    )


# Where an opinion on another numbered item may begin: after a separator (「1 同意；2 反对」
# 「1 同意 2 反对，预算太高」), the words said again (「…；书面意见 2 建议…」) or 对/关于 before it.
_NEXT_PART = re.compile(
    r"(?<=[,，;；。\s])\s*(?:(?:我的)?书面意见\s*[:：]?\s*)?(?:对于|对|关于)?\s*"
)


# An item said as one (「第二项」「议题2」「#2」), not a bare number.
_AN_ITEM_SAID = re.compile(r"第|议题|[#\uff03]|[0-9一二两三四五六七八九十]+\s*(?:项|号)")
# A view opening a clause (「我同意」「原则同意」「没有意见」): the words _A_VIEW finds anywhere.
_A_VIEW_FIRST = re.compile(rf"(?:我|本人)?(?:原则)?(?:不|没有?(?:什么)?|无)?(?:{_A_VIEW.pattern})")


# An item's number with the view right after it (「1同意 2同意」): the number is the item's.
_VIEW_GLUED = re.compile(
    r"(?<![0-9])([0-9]{1,2})(?=同意|不同意|赞成|反对|弃权|没意见|无意见|没有意见)"
)


def _numbered_parts(args: str) -> list[tuple[int, str]]:
    """「1 同意；2 同意但建议压缩会务费」 -> [(1, '同意'), (2, '同意但建议压缩会务费')]: the
    opinions of a message whose parts each open with a different item's number; [] unless it
    opens with one."""
    said = _VIEW_GLUED.sub(r"\1 ", _ABOUT.sub("", args.strip()))  # 「1同意 2同意」
    number, _ = parse_item_ref(said)
    if number is None:
        return []
    starts = [(0, 0)]  # (where the part's number starts, where its words start)
    for found in _NEXT_PART.finditer(said):
        rest = said[found.end() :]
        n, words = parse_item_ref(rest)
        # a bare number must open a view (「…，2 反对」), not be a figure (「压缩到 3 万元」)
        named = found.group().strip() or _AN_ITEM_SAID.match(rest) or _A_VIEW_FIRST.match(words)
        if found.end() > starts[-1][1] and n is not None and named:
            starts.append((found.start(), found.end()))
    parts = []
    for (_, begin), (end, _) in zip(starts, [*starts[1:], (len(said), len(said))], strict=True):
        n, text = parse_item_ref(said[begin:end])
        if n is None:
            return []
        parts.append((n, text.strip(" ,，;；。")))
    return parts if len({n for n, _ in parts}) == len(parts) else []


# An opinion on every item: 「两个议题都同意」「各项议题均无意见」「对所有议题没有意见」「都同意」.
_EVERY_ITEM = re.compile(
    r"(?:对|关于)?(?:(?:[0-9]+|[两三四五六七八九十])个议题|所有议题|全部议题|各(?:个|项)?议题|每个议题"
    r"|每一项|各项)|(?:全部|全都|都)(?:同意|赞成|支持|没有?意见|无意见)"
)


OPINION_USAGE = "书面意见 2 同意该方案，建议压缩会务费用"


# What may follow 「提醒一下」 when it is the reminder to answer (「…没回复的人」「…大家签到吧」).
_WHOM_TO_NUDGE = re.compile(
    r"大家|各位|一下|还没有?|没有?|未|回复|签到|投票|确认|收到|通知|的|人|成员|同志|们|[吧啊呀哈了呢嘛哦]"
    r"|[,，、。.!！~\s]"
)


async def nudge(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「提醒未回复」「催一下没回复的」: the members of the meeting's roster who have not
    answered, @-mentioned in the group: before the meeting those who have neither acknowledged
    the latest notice nor checked in nor asked for leave, once it is open those not checked in.
    Writes nothing."""
    person = ctx.require_person()
    if _WHOM_TO_NUDGE.sub("", args).strip():  # 「提醒一下大家，材料已经发到邮箱了」
        raise UsageError(
            "「提醒未回复」只@还没回复会议通知（开会后：还没签到）的成员；这句话像是提醒大家别的事，"
            "没有发送提醒。"
        )
    meeting = await current_meeting(
        ctx, (g.MeetingState.DRAFT, g.MeetingState.CONVENED, g.MeetingState.OPEN)
    )
    _, silent = await _unanswered(meeting, await repo.attendance(meeting.id))
    waiting = [p for p in silent if p != person.id]
    head = f"第{meeting.number}次会议"
    opened = meeting.state is g.MeetingState.OPEN
    if opened and (ballots := await _ballots_awaited(ctx, meeting, person, waiting)):
        return [ballots]
    if not waiting:
        done = "都已签到或请假" if opened else "都已回复"
        return [ctx.reply(f"{head}参会名单上的其他成员{done}，无需提醒。")]
    named = join(await names(waiting))
    if opened:
        text = (
            f"【提醒】{head}已经开始（{meeting.place}），尚未签到：{named}。"
            "到会后请发送「签到」（记为迟到）；不能到会的请向组长说明。"
        )
    else:
        text = (
            f"【提醒】{head}定于{t.when(meeting.starts_at, ctx.tz)}在{meeting.place}召开，"
            f"尚未回复：{named}。{t.NOTICE_ACK_HINT}会前一小时起可发送「签到」，"
            "不能参加请发送「请假 理由」。"
        )
    return [ctx.reply(text, await mentions_for(ctx, waiting))]


async def _ballots_awaited(
    ctx: Context, meeting: repo.Meeting, person: repo.Person, unchecked: list[int]
) -> OutgoingMessage | None:
    """During a vote, 「提醒一下」「催一下」 mean the ballots: who may vote and has not, @-mentioned,
    and how (the speaker aside); those not yet checked in are named after. None when no vote
    waits for anyone."""
    for vote, it in await repo.open_votes(meeting.id):
        waiting = [p for p in await yet_to_vote(vote) if p != person.id]
        if not waiting:
            continue
        text = (
            f"【提醒】议题{it.number}「{it.title}」正在表决，尚未投票：{join(await names(waiting))}。"
            f"{how_to_vote(vote.method)}"
        )
        if unchecked:
            text += f"\n尚未签到：{join(await names(unchecked))}（到会后请先发送「签到」）。"
        return ctx.reply(text, await mentions_for(ctx, waiting))
    return None


async def _unanswered(
    meeting: repo.Meeting, records: dict[int, repo.AttendanceRecord]
) -> tuple[list[int], list[int]]:
    """The roster members whose attendance is not known, as two lists: those who acknowledged
    the latest notice with 收到 (only before the meeting opens), and the others."""
    unknown = [
        p for p in meeting.roster if p not in records or records[p].status is g.Attendance.UNKNOWN
    ]
    if meeting.state not in (g.MeetingState.DRAFT, g.MeetingState.CONVENED):
        return [], unknown
    acked = (await acks.acknowledged([meeting.id])).get(meeting.id, frozenset())
    return [p for p in unknown if p in acked], [p for p in unknown if p not in acked]


async def absence_noted(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「赵敏没来，算缺席吧」「记赵敏缺席」: an absence is not entered by anyone: at 散会 whoever
    is on the roster and neither checked in nor asked for leave is recorded absent (the minutes
    say so). Says that, and where the named member (else everyone not here) stands now.
    Writes nothing."""
    ctx.require_society()
    ctx.require_person()
    meeting = await current_meeting(
        ctx, (g.MeetingState.DRAFT, g.MeetingState.CONVENED, g.MeetingState.OPEN)
    )
    records = await repo.attendance(meeting.id)
    rule = "缺席不用登记：散会时既没有签到、也没有请假的成员记为缺席，写入纪要。"
    user, _ = await mentioned(ctx, args) if args.strip() else (None, "")
    person = await repo.person_by_identity(user) if user is not None else None
    if person is not None and person.id in meeting.roster:
        entry = records.get(person.id)
        status = entry.status if entry else g.Attendance.UNKNOWN
        if status in g.PRESENT_STATES:
            return [ctx.reply(f"{person.name}已签到，按出席记录。")]
        if status is g.Attendance.LEAVE:
            reason = f"（{t.echo(entry.reason)}）" if entry and entry.reason else ""
            return [ctx.reply(f"{person.name}已请假{reason}，纪要记为请假。")]
        late = (
            "到场后发送「签到」记为迟到"
            if meeting.state is g.MeetingState.OPEN
            else "到场后发送「签到」"
        )
        return [ctx.reply(f"{rule}{person.name}目前没有签到也没有请假；{late}。")]
    acked, silent = await _unanswered(meeting, records)
    waiting = await names([p for p in meeting.roster if p in {*acked, *silent}])
    return [ctx.reply(f"{rule}目前没有签到也没有请假：{join(waiting)}。")]


async def acknowledge(ctx: Context, args: str) -> list[OutgoingMessage]:
    """收到: the member has the meeting notice (T17: a platform may drop it silently; whoever
    has not acknowledged, checked in or asked for leave is named to the leader in time)."""
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(ctx)
    if meeting.state not in (g.MeetingState.DRAFT, g.MeetingState.CONVENED):
        return [
            ctx.reply(
                f"第{meeting.number}次会议{t.MEETING_STATE[meeting.state]}，无需回复「收到」。"
            )
        ]
    if person.id not in meeting.roster:  # the recorder, an observer: no need, said kindly
        if g.Role.RECORDER in ctx.roles or g.Role.OBSERVER in ctx.roles:
            who = "记录人" if g.Role.RECORDER in ctx.roles else "列席人员"
            text = (
                f"好的，谢谢{person.name}。{who}无需确认收到通知，"
                f"第{meeting.number}次会议（{t.when(meeting.starts_at, ctx.tz)}）请按时参加。"
            )
        else:  # not asked to come (「👍」 from anyone else in the group)
            text = "好的。"
        return [ctx.reply(text)]
    when = t.when(meeting.starts_at, ctx.tz)
    new = await acks.acknowledge(meeting.id, person.id, ctx.now)
    entry = (await repo.attendance(meeting.id)).get(person.id)
    asked = _asked_after(args, meeting, ctx)
    if entry is not None and entry.status is g.Attendance.LEAVE:  # 「我能来」 after a leave
        return [
            ctx.reply(
                f"{person.name}已确认收到第{meeting.number}次会议（{when}）的通知。"
                f"您{_coming_after_all(ctx, meeting)}{asked}"
            )
        ]
    if entry is not None and entry.status in g.PRESENT_STATES:  # 「👍」 once checked in
        return [
            ctx.reply(f"好的。{person.name}已签到，第{meeting.number}次会议{when}开始。{asked}")
        ]
    if not new:
        return [
            ctx.reply(f"{person.name}已确认收到第{meeting.number}次会议（{when}）的通知。{asked}")
        ]
    return [
        ctx.reply(
            f"{person.name}已确认收到第{meeting.number}次会议（{when}）的通知。"
            f"会前一小时起可发送「签到」，不能参加请发送「请假 理由」。{asked}"
        )
    ]


# Said before what follows 收到 (「收到。另外…」): no part of it.
_THEN = re.compile(r"^[\s,，。;；!！]*(?:另外|还有|对了|顺便问一下|顺便问下|请问)?[\s,，:：]*")


# A question of when or where the meeting is (「几点开始？」「会议在哪」「在几楼」), not of
# something else (「年度总结什么时候截止」).
_WHEN_OR_WHERE = re.compile(
    r"在哪|哪里|哪儿|什么地方|地点|几楼|哪个会议室|哪间"
    r"|^(?:会议?|开会)?(?:几点|什么时候|哪天|几号|几时)(?:开会|开始|开)?[吗呢啊]?[?？]*$"
    r"|(?:会议?|开会)(?:时间|几点|什么时候)"
)


def _asked_after(args: str, meeting: repo.Meeting, ctx: Context) -> str:
    """What a receipt says of a question asked after it: when or where the meeting is, answered
    (「收到，几点开始？」「收到 会议在哪」); of anything else (「收到。另外年度总结什么时候截止
    来着？」), that only the receipt was done (the question had been dropped without a word)."""
    rest = _THEN.sub("", args.strip())
    if rest and _WHEN_OR_WHERE.search(u.matching_form(rest).strip(" ,，。!！")):
        return f"\n时间：{t.when(meeting.starts_at, ctx.tz)}　地点：{meeting.place}"
    if not rest or not u.asks_something(rest):
        return ""
    return (
        f"\n后面问的「{t.echo(rest)}」没有回答：这条消息只办理了「收到」。"
        "请把问题单独发给我（发送「帮助」查看可以查询的内容）。"
    )


async def check_in(ctx: Context, args: str) -> list[OutgoingMessage]:
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(ctx, (g.MeetingState.CONVENED, g.MeetingState.OPEN))
    roster = list(meeting.roster)
    is_member = person.id in roster
    is_observer = person.id in await repo.observers(meeting.id)
    if not (is_member or is_observer):
        if person.id in await roster_ids(meeting.society_id):  # joined after the convening
            await require_on_meeting_roster(meeting, person, "无需签到")
        society = ctx.require_society()
        if person.id == society.recorder_id:  # the recorder takes the minutes, not attendance
            return [
                ctx.reply(
                    f"{person.name}是本学会的记录人，不在应到会名单中，无需签到（不计入出席和法定人数）；"
                    "会议记录照常进行。"
                )
            ]
        raise UsageError(
            "您不在本次会议的参会名单中，也还没有被邀请列席，签到没有记录。"
            "列席须由组长（或主持人）先发送「列席 姓名 理由」邀请，之后再发送「签到」。"
        )
    if g.meeting_gone_stale(meeting.opened_at, ctx.now):  # a meeting of yesterday left open
        hours = g.MEETING_LASTS // timedelta(hours=1)
        raise UsageError(
            f"第{meeting.number}次会议开始已超过{hours}小时，签到没有记录（当时的会议早已过去）。"
            "请主持人发送「散会」结束本次会议。"
        )
    try:
        status = g.checkin_status(ctx.now, meeting.starts_at, meeting.state, ctx.policy)
    except g.GovernanceError as exc:
        opens_at = exc.details.get("opens_at")
        if isinstance(opens_at, datetime):
            raise UsageError(t.checkin_opens(opens_at, ctx.tz)) from exc
        if exc.refusal is g.Refusal.NOTICE_LAPSED:
            when = t.when(meeting.starts_at, ctx.tz)
            raise UsageError(
                f"第{meeting.number}次会议通知的时间是{when}，签到没有记录。{t.render_refusal(exc)}"
            ) from exc
        raise
    # 「签到，顺便说一下我4点要先走」: checked in; what follows is said back, not done
    rest = args.strip(" ,，。;；!！~")
    more = f"\n后面说的「{t.echo(rest)}」没有办理；需要办理的请单独发送（例如「离席 理由」「回避 2 理由」）。"
    more = more if rest and not is_decoration(rest) else ""
    previous = (await repo.attendance(meeting.id)).get(person.id)
    if previous is not None and previous.status in g.PRESENT_STATES:
        return [ctx.reply(f"{person.name}已签到过了。{more}")]
    more = await _no_longer_chairing(meeting, person, previous) + more
    if previous is not None and previous.status is g.Attendance.LEFT:
        # back after leaving: present (or late) as at the first check-in, the leaving kept in
        # the minutes with the time of the return (it had read 迟到, the leaving gone)
        status = await _first_status(meeting, person)
        await record_check_in(ctx, meeting, person, status, observer=is_observer, returned=True)
        back = f"{len(await present_ids(meeting))}/{len(roster)}"
        return [ctx.reply(f"{person.name}已签到（{back}），回到会场，可参加之后的表决。{more}")]
    withdrawn = await record_check_in(ctx, meeting, person, status, observer=is_observer)
    if is_observer:
        return [ctx.reply(f"{person.name}（列席）已签到。{more}")]
    present = await present_ids(meeting)
    q = g.check_quorum(len(present), len(roster), ctx.policy.meeting_quorum)
    late = "（迟到）" if status is g.Attendance.LATE else ""
    if meeting.state is g.MeetingState.OPEN:
        nxt = "会议进行中，可参加后续表决。"
    else:
        nxt = f"{t.quorum_next(q, meeting.state, await who_opens(meeting))}。"
    return [
        ctx.reply(
            f"{person.name}已签到{late}（{len(present)}/{len(roster)}），{nxt}"
            f"{opinions_withdrawn_text(withdrawn)}{more}"
        )
    ]


async def _no_longer_chairing(
    meeting: repo.Meeting, person: repo.Person, previous: repo.AttendanceRecord | None
) -> str:
    """For a delegated chair back after leave or leaving (which ended the delegation): that
    they chair no more unless the leader delegates them again (「」 for anyone else)."""
    if previous is None or previous.status not in DELEGATE_GONE or meeting.chair_id == person.id:
        return ""
    if (await delegation_ended_for(meeting, person)) is None:
        return ""
    chair = await repo.person(meeting.chair_id) if meeting.chair_id else None
    now = f"现由组长{chair.name}主持；" if chair is not None else ""
    return (
        f"\n{person.name}受托主持已在{DELEGATE_GONE[previous.status]}时结束，{now}"
        f"需要{person.name}继续主持的，请组长发送「委托主持 @{person.name} 理由」。"
    )


def opinions_withdrawn_text(items: Sequence[repo.Item]) -> str:
    """What a member who attends after all is told of the written opinions withdrawn."""
    if not items:
        return ""
    on = "、".join(f"议题{it.number}「{it.title}」" for it in items)
    return (
        f"\n本人已到会，此前对{on}提交的书面意见已撤回，表决时不再宣读，纪要也不再作为书面意见列出；"
        "请在会上发表意见并参加表决。"
    )


async def record_check_in(
    ctx: Context,
    meeting: repo.Meeting,
    person: repo.Person,
    status: g.Attendance,
    *,
    observer: bool = False,
    returned: bool = False,
) -> list[repo.Item]:
    """`person` is in the room from now (`status`: present or late), recorded. A member who
    attends after all speaks for themself: their written opinions (第十八条: for who cannot
    attend) on the items whose vote has not opened are withdrawn; returns those items.
    `returned`: back after leaving (离席) the meeting."""
    await repo.set_attendance(meeting.id, person.id, status, reason="", now=ctx.now)
    open_items = [it for it in await repo.items(meeting.id) if it.state in g.OPINION_STATES]
    had = [] if observer else await repo.withdraw_opinions([it.id for it in open_items], person.id)
    withdrawn = [it for it in open_items if it.id in had]
    payload: dict[str, object] = {
        "person": person_payload(person),
        "status": status.value,
        "observer": observer,
    }
    if withdrawn:
        payload["opinions_withdrawn"] = [it.id for it in withdrawn]
    if returned:
        payload["returned"] = True
    await record(ctx, EventKind.CHECKIN, payload, meeting=meeting)
    return withdrawn


async def _check_ins(meeting: repo.Meeting, person: repo.Person) -> list[dict[str, Any]]:
    """`person`'s check-ins to the meeting as the chain records them (their status, the written
    opinions each withdrew), first first: read only where a leave or a return needs them."""
    return [
        e.payload
        for e in await repo.meeting_events(meeting)
        if e.kind == EventKind.CHECKIN.value and e.payload["person"]["id"] == person.id
    ]


async def _first_status(meeting: repo.Meeting, person: repo.Person) -> g.Attendance:
    """How `person` first checked in to the meeting (present or late; late when unknown)."""
    found = await _check_ins(meeting, person)
    return g.Attendance(found[0]["status"]) if found else g.Attendance.LATE


NEXT_MEETING = "会议召开后批准的成员调整自下次会议起适用，"


async def require_on_meeting_roster(meeting: repo.Meeting, person: repo.Person, what: str) -> None:
    """Refuse a member who is not on this meeting's roster (decided at convening), saying why
    when a roster change approved since then is the reason."""
    if person.id in meeting.roster:
        return
    if person.id in await roster_ids(meeting.society_id):
        raise UsageError(
            f"{person.name}不在第{meeting.number}次会议的应到会名单中（名单以召开会议时为准），"
            f"{NEXT_MEETING}本次会议{what}。"
        )
    raise UsageError(f"{person.name}不是第{meeting.number}次会议的参会成员，{what}。")


async def meeting_roster_lines(meeting: repo.Meeting, current: list[int]) -> list[str]:
    """The meeting's roster (应到会, decided at convening) and, when the group's roster has
    changed since, what changes from the next meeting."""
    lines = [
        f"应到会{len(meeting.roster)}人（召开会议时的成员名单）：{join(await names(meeting.roster))}"
    ]
    added = [p for p in current if p not in meeting.roster]
    gone = [p for p in meeting.roster if p not in current]
    if added or gone:
        parts = ([f"增补{join(await names(added))}"] if added else []) + (
            [f"{join(await names(gone))}不再担任成员"] if gone else []
        )
        lines.append(f"召开会议后获批的成员调整（{'；'.join(parts)}）自下次会议起适用。")
    return lines


async def present_ids(meeting: repo.Meeting) -> list[int]:
    records = await repo.attendance(meeting.id)
    return [
        pid for pid in meeting.roster if pid in records and records[pid].status in g.PRESENT_STATES
    ]


async def quorum_line(ctx: Context, meeting: repo.Meeting) -> str:
    """「人齐了吗」「够不够法定人数」: who is present against the quorum (第十八条), now."""
    q = g.check_quorum(
        len(await present_ids(meeting)), len(meeting.roster), ctx.policy.meeting_quorum
    )
    return f"法定人数：{t.quorum_text(q)}；{t.quorum_next(q, meeting.state, await who_opens(meeting))}。"


async def leave_meeting(ctx: Context, args: str) -> list[OutgoingMessage]:
    """A member leaves an open meeting early: no longer present for the votes still to come
    (quorum is checked again when each vote opens and closes)."""
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(ctx, (g.MeetingState.CONVENED, g.MeetingState.OPEN))
    entry = (await repo.attendance(meeting.id)).get(person.id)
    if person.id not in meeting.roster or entry is None or entry.status not in g.PRESENT_STATES:
        if meeting.state is g.MeetingState.CONVENED:
            raise UsageError(
                f"第{meeting.number}次会议已发出通知，还没有开始，您也没有签到，无需离席；"
                "不能参会的，请发送「请假 理由」。"
            )
        raise UsageError("您没有签到出席本次会议，无需离席。")
    if meeting.state is g.MeetingState.CONVENED:  # checked in, then called away before the start
        raise UsageError(
            f"第{meeting.number}次会议已发出通知，还没有开始，不用离席，没有记录。不能参会的，请发送「请假 理由」（签到随之改为请假，"
            "开会时不计入出席）；开会后才走的，届时再发送「离席 理由」。"
        )
    await _not_someone_elses(ctx, meeting, person, args, "离席")
    bounded(args, "离席说明")
    args = _own_reason(person, args) if args.strip() else ""
    await repo.set_attendance(meeting.id, person.id, g.Attendance.LEFT, reason=args, now=ctx.now)
    await record(
        ctx, EventKind.LEFT, {"person": person_payload(person), "reason": args}, meeting=meeting
    )
    present = await present_ids(meeting)
    q = g.check_quorum(len(present), len(meeting.roster), ctx.policy.meeting_quorum)
    short = await _open_votes_short(ctx, meeting)
    state = (
        f"仍达到{'开会的' if short else ''}法定人数"
        if q.met
        else f"⚠ 已不足法定人数（{t.quorum_text(q)}），后续表决将无法作出决定"
    )
    why = f"（{t.echo(args)}）" if args else ""
    return [
        ctx.reply(
            f"{person.name}中途离席{why}，现出席{len(present)}人，{state}。返回时请重新签到。{short}"
        ),
        *await end_delegation(ctx, meeting, person, g.Attendance.LEFT),
    ]


async def _open_votes_short(ctx: Context, meeting: repo.Meeting) -> str:
    """The votes under way whose item's own quorum (⅔ for personnel) is no longer met by who
    is in the room: closed now, they decide nothing."""
    records = await repo.attendance(meeting.id)
    present_now = frozenset(p for p, r in records.items() if r.status in g.PRESENT_STATES)
    warnings = []
    for vote, it in await repo.open_votes(meeting.id):
        q = g.item_quorum(
            g.still_present(vote.electorate, present_now),
            ctx.policy.matter(it.matter_type),
            ctx.policy,
        )
        if not q.met:
            warnings.append(
                f"\n⚠ 正在表决的议题{it.number}「{it.title}」（{t.MATTER[it.matter_type]}）已不足表决所需"
                f"法定人数（{t.quorum_text(q)}），现在结束表决将是「未达到法定人数」，不能作出决定；"
                "离席成员返回并签到后可恢复。"
            )
    return "".join(warnings)


async def attendance_summary(ctx: Context, meeting: repo.Meeting) -> str:
    records = await repo.attendance(meeting.id)
    groups: dict[g.Attendance, list[int]] = {a: [] for a in g.Attendance}
    for pid in meeting.roster:
        groups[records[pid].status if pid in records else g.Attendance.UNKNOWN].append(pid)
    leave = [
        f"{n}（{t.echo(records[p].reason, 20)}）"
        for p, n in zip(
            groups[g.Attendance.LEAVE], await names(groups[g.Attendance.LEAVE]), strict=True
        )
    ]
    observers = await names(list((await repo.observers(meeting.id)).keys()))
    noted, unknown = await _unanswered(meeting, records)
    notices = await late_notices(meeting)
    late = [
        f"{n}（事先告知晚到{notices[n]}）" if notices.get(n) else n
        for n in await names(groups[g.Attendance.LATE])
    ]
    coming = [
        f"{n}（{notices[n]}）" if notices[n] else n
        for n in await names(groups[g.Attendance.UNKNOWN])
        if n in notices
    ]
    # before the meeting the notice waits for an answer; once it is open, a check-in (收到 no
    # longer tells anything: 「未回复：王强」 had been said of one who had acknowledged it)
    waiting = (
        "未回复" if meeting.state in (g.MeetingState.DRAFT, g.MeetingState.CONVENED) else "未签到"
    )
    return (
        f"出席：{join(await names(groups[g.Attendance.PRESENT]))}；"
        f"迟到：{join(late)}；"
        f"请假：{join(leave)}；"
        f"缺席：{join(await names(groups[g.Attendance.ABSENT]))}；"
        + (f"告知晚到：{join(coming)}；" if coming else "")
        + (f"已确认收到通知：{join(await names(noted))}；" if noted else "")
        + f"{waiting}：{join(await names(unknown))}；"
        + (f"中途离席：{join(await names(left))}；" if (left := groups[g.Attendance.LEFT]) else "")
        + f"列席：{join(observers)}"
    )


async def late_notices(meeting: repo.Meeting) -> dict[str, str]:
    """Who said ahead they would be late (late_notice), and by how much (「约30分钟」 or 「」)."""
    return {p["person"]["name"]: p.get("by", "") for p in (await _late_payloads(meeting)).values()}


async def _late_payloads(meeting: repo.Meeting) -> dict[int, dict[str, Any]]:
    """Each member's last notice of lateness for the meeting (late_notice's payload), by person
    id: the last one stands (the status, the minutes)."""
    return {
        e.payload["person"].get("id"): e.payload
        for e in await repo.meeting_events(meeting)
        if e.kind == EventKind.LATE_NOTICE.value
    }


async def recuse(ctx: Context, args: str) -> list[OutgoingMessage]:
    """A member stands aside from one item; the chair may name the member."""
    ctx.require_society()
    actor = ctx.require_person()
    meeting = await current_meeting(ctx, g.AGENDA_OPEN_STATES)
    number, rest = parse_item_ref(args)
    if number is None and rest and not this_item(rest)[0]:  # 「对会费我回避」「回避 换届人选」
        open_ = [x for x in await repo.items(meeting.id) if x.state in _RECUSABLE]
        found = item_titled(open_, rest, "回避 2")
        if found is not None:
            number, rest = found[0].number, found[1]
    on_it, rest = this_item(rest) if number is None else (False, rest)
    named = (await mentioned(ctx, rest))[0] if rest else None
    if number is None:
        if rest and not on_it and named is None:
            raise UsageError("请写明议题编号，例如：回避 2")
        # 「这个议题我回避」「我回避」「请王强回避」: the item turned to
        open_ = [x for x in await repo.items(meeting.id) if x.state in _RECUSABLE]
        number = await item_in_focus(
            meeting, open_, verb="回避", example="回避 {}", listed_as="可以回避", said_this=on_it
        )
    it = await item_by_number(meeting, number)
    target, reason = actor, ""
    if rest:
        chair = bool({g.Role.CHAIR, g.Role.LEADER} & ctx.roles)
        if named is None and (not chair or _ABOUT_ONESELF.search(rest)):
            reason = bounded(rest, "回避理由")  # 「回避 2 涉及我本人」: why, not whom
        elif not chair:
            raise UsageError("只有主持人可以要求其他成员回避；成员本人发送「回避 议题编号」即可。")
        else:
            target, _ = await require_known_person(ctx, rest, "回避 2 @张三")
    await require_on_meeting_roster(meeting, target, "无需回避")
    if it.state not in _RECUSABLE:
        raise UsageError("该议题已开始表决，回避应在表决前提出。")
    if not await repo.add_recusal(it.id, target.id):
        return [ctx.reply(f"{target.name}已就议题{number}回避。")]
    payload = {"item": it.id, "number": it.number, "title": it.title}
    payload |= {"person": person_payload(target)} | ({"reason": reason} if reason else {})
    await record(ctx, EventKind.RECUSED, payload, meeting=meeting)
    base_note = "，不计入该议题应到会人数" if ctx.policy.recused_leave_base else ""
    why = f"（{t.echo(reason)}）" if reason else ""
    return [
        ctx.reply(f"{target.name}就议题{number}「{it.title}」回避{why}，不参加表决{base_note}。")
    ]


# The states of an item one may still step aside from (before its vote).
_RECUSABLE = frozenset({g.ItemState.PROPOSED, g.ItemState.ACCEPTED})
# A reason for stepping aside that speaks of oneself (「涉及我本人」「本人是候选人」), not a name.
_ABOUT_ONESELF = re.compile(r"我|本人|自己")
