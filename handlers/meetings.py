"""Meetings: convene, the agenda, open (quorum), the chair, close (minutes draft), cancel,
reschedule, status.

Who takes part (observers, leave, written opinions, check-in, leaving early, recusal) is in
handlers/attendance.py; this module's ROUTES lists those commands too, in the order of the help.

Over 600 lines as one file: a meeting's life (convene, open, close) is one state machine, and the
route table with its phrasings is data that the help and the utterance layer read in order."""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from bot import governance as g
from bot import utterance as u
from bot.events import EventKind, OutgoingMessage
from bot.reminders.plan import add_months
from bot.router import ASKED_FOR, AskBack, AskFor, Context, Route, UsageError
from bot.timeparse import WEEKDAY_NAMES, Hourless, ParsedTime, small_number, why_unreadable
from bot.utterance import DISCUSS, ITEM_REF, hourless_time, leading_time, matching_form
from handlers import minutes as minutes_handlers
from handlers import texts as t
from handlers import votes
from handlers.attendance import (
    absence_noted,
    acknowledge,
    add_observer,
    ask_leave,
    attendance_summary,
    chair_handed_on,
    check_in,
    leave_meeting,
    meeting_roster_lines,
    must_i_attend,
    nudge,
    opinions_withdrawn_text,
    quorum_line,
    record_check_in,
    recuse,
    running_late,
    someone_elses_asked,
    voting_while_on_leave,
    withdraw_leave,
    written_opinion,
)
from handlers.common import (
    FRAME_REASON,
    NOW,
    OFFERED_BEFORE,
    OFFERED_DURING,
    announced,
    bounded,
    current_meeting,
    item_by_number,
    item_by_title,
    item_event,
    item_said_first,
    item_titled,
    join,
    mentions_for,
    names,
    parse_item_ref,
    person_payload,
    quorum_attendance,
    record,
    require_chair,
    require_known_person,
    require_meeting_leader,
    roster_ids,
    roster_warnings,
    set_matter,
)
from handlers.roster import receipt_instead
from storage import repo

_TOPICS_SPLIT = re.compile(r"[;；\n]|(?<=\))、|\s*\d+[.、]\s*")
_TYPE_SUFFIX = re.compile(r"[(（\[【]([^)）\]】]+)[)）\]】]\s*$")


# Said after a topic's title about it, not part of it: 「…的事，建议作为一个议题」「…，希望列入议程」
# 「…这件事」.
_ABOUT_THE_TOPIC = re.compile(
    r"(?:[,，。\s]*(?:我|我们)?(?:建议|希望|想|提议|请|请求|申请)?(?:把它|把这个|将其|将此)?"
    r"(?:作为|列为|列入|加入|放进|放入|加进)(?:一个|一项|本次会议的?|这次会议的?|会议)?(?:议题|议程)"
    r"(?:讨论|研究)?(?:一下)?[吧。!！]*)?$"
)
_THE_MATTER_OF = re.compile(r"(?:的事情?|的事儿|这件事情?|这个事情?)$")


class Topic(NamedTuple):
    """A topic as said: its title, its matter type, and whether a （类型） said that type."""

    title: str
    matter: g.MatterType
    marked: bool


def parse_topic(text: str, default: g.MatterType = g.MatterType.GENERAL) -> Topic:
    """'年度经费预算(重大)' -> ('年度经费预算', MAJOR, marked); no suffix -> `default` (general),
    unmarked. What is said about the topic rather than its title goes (「科普教育基地建设的事，
    建议作为一个议题」 is 科普教育基地建设)."""
    text = _ABOUT_THE_TOPIC.sub("", text.strip(" ,，。")).strip(" ,，。")
    text = _THE_MATTER_OF.sub("", text) or text
    found = _TYPE_SUFFIX.search(text)
    if found is not None:
        word = found.group(1).strip()
        matter = t.MATTER_WORDS.get(word)
        if matter is None:
            kinds = "、".join(["一般", "重大", "人事", "处分", "文件"])
            raise UsageError(f"议题类型「{word}」无法识别，可用：{kinds}。")
        title = text[: found.start()].strip()
    else:
        title, matter = text, default
    if not title:
        raise UsageError("议题标题不能为空。")
    if len(title) > 200:
        raise UsageError("议题标题太长了，请控制在200字以内。")
    return Topic(title, matter, found is not None)


# What a title says about its matter, when no （类型） was said (the first that fits): an
# appointment or a change of the group is personnel (第十一条(三)), a sanction discipline, money,
# the statutes or the council's re-election major (三重一大, 第十一条). Only flagged, never
# applied: the leader decides.
_LOOKS_LIKE = (
    (
        g.MatterType.PERSONNEL,
        re.compile(
            r"推荐|任命|任免|免去|免职|撤职|聘任|聘用|解聘|提名|增补|补选|人选|候选人|任职"
            r"|同志(?:任|为|担任)|担任|出任|成员调整|调整成员"
        ),
    ),
    (g.MatterType.DISCIPLINE, re.compile(r"处分|记过|开除|违纪|问责")),
    (
        g.MatterType.MAJOR,
        re.compile(
            r"预算|决算|经费|资金|财务|大额|采购|投资|章程|换届|选举|三重一大|重大|重要项目"
            r"|机构设置|会费"
        ),
    ),
)
# The word that sets each type in 「议题2改成人事」 (edit_topic reads handlers.texts.MATTER_WORDS).
_TYPE_WORD = {
    g.MatterType.PERSONNEL: "人事",
    g.MatterType.DISCIPLINE: "处分",
    g.MatterType.MAJOR: "重大",
}


# A title that says the group studies or is told something (「学习传达…精神」「传达学习…」「通报…
# 情况」) and names nothing to decide: listed as 学习通报 (g.NOT_VOTED), as the notice says.
_STUDIED = re.compile(r"^(?:关于)?(?:集体|专题)?(?:学习|传达|通报|重温|观看|收看)")
_TO_DECIDE = re.compile(
    r"方案|计划|预算|决算|经费|办法|制度|规则|章程|人选|推荐|任免|审议|决定|表决|讨论|研究|申请|名义"
)


def listed_topic(text: str) -> Topic:
    """A topic as a leader lists it or a member proposes it (parse_topic): with no （类型）, a
    title that only studies or passes something on (「学习传达市科技社团党委全会精神」) is 学习通报,
    not voted on; unmarked_flag says so, and how to have it voted on."""
    topic = parse_topic(text)
    if not topic.marked and _STUDIED.match(topic.title) and not _TO_DECIDE.search(topic.title):
        return topic._replace(matter=g.MatterType.STUDY)
    return topic


def unmarked_flag(number: int, topic: Topic, *, to_leader: bool = True) -> str:
    """What to tell the leader of a topic listed with no （类型） said: one taken for 学习通报
    (listed_topic) is not voted on, and how to have it voted on; one whose title looks like a
    personnel, discipline or major matter is general for now (a named vote, the general quorum,
    no deferral check), and the reply that changes it. Never changed here, only said (the reply
    is the leader's to send: `to_leader` False says so to the member who proposed it); empty
    when there is nothing to say."""
    send = "请" if to_leader else "组长可"
    if not topic.marked and topic.matter is g.MatterType.STUDY:
        return (
            f"议题{number}「{topic.title}」按学习通报列入，不表决；需要表决的，"
            f"{send}发送「议题{number}改成一般」。"
        )
    if topic.marked or topic.matter is not g.MatterType.GENERAL:
        return ""
    kind = next((mt for mt, cue in _LOOKS_LIKE if cue.search(topic.title)), None)
    if kind is None:
        return ""
    return (
        f"⚠ 议题{number}「{topic.title}」像是{t.MATTER[kind]}，但没有注明类型，现按一般事项列入"
        f"（法定人数、表决方式和暂缓规则都按一般事项）。如是{t.MATTER[kind]}，"
        f"{send}发送「议题{number}改成{_TYPE_WORD[kind]}」。"
    )


def split_topics(text: str, *, spoken: bool = False) -> list[str]:
    """The topics of 「议题：A；B」 (or a numbered list), each part also split at ，
    (「议题：年度工作总结，经费预算（重大），会员发展」 is three) and at 、 when a type marker
    closes a title before it (「经费预算（重大）、会员发展」); 「党建、业务融合工作」 stays whole.
    `spoken` (「，讨论换届和经费预算」, a clause rather than a list) also splits at 、，和 及 以及
    还有, when every part keeps two characters or more (「讨论党建与业务融合」 stays whole: 与
    joins within a title)."""
    text = _TRAILING_REMARK.sub("", text)  # 「…，经费预算（重大），谢谢」: the 谢谢 is no topic
    parts = [p.strip() for p in _TOPICS_SPLIT.split(text) if p and p.strip(" ,，。")]
    if not spoken:
        return [piece for part in parts for piece in _listed(part)]
    said = []
    for part in parts:
        pieces = [x.strip(" ,，。") for x in _SPOKEN_SPLIT.split(part)]
        said += pieces if all(len(x) >= 2 for x in pieces) else [part]
    return said


def _listed(part: str) -> list[str]:
    """One part of a listed agenda as titles: split at ， unless a piece is too short to be a
    title, is said to everyone (「年度工作总结，请大家提前准备」 is one) or qualifies the title
    before it (「年度工作总结，含党建部分」), then each piece at 、 when a type marker sits before
    one."""
    pieces = [x.strip(" 。.") for x in _COMMAS.split(part.strip(" ,，。"))]
    if len(pieces) > 1 and all(
        len(x) >= 2 and not _A_REMARK.match(x) and not _QUALIFIES.match(x) for x in pieces
    ):
        return [y for x in pieces for y in _listed(x)]
    if _MARKED_THEN_LISTED.search(part):
        pieces = [x.strip(" ,，。") for x in part.split("、")]
        if all(len(x) >= 2 for x in pieces):
            return pieces
    return [part]


def _listed_unclear(title: str) -> list[str] | None:
    """A title with 、 inside whose only type marker ends it (「年度工作总结、经费预算（重大）」):
    two topics, or one major one (「党建、业务融合工作（重大）」)? The topics if two or more, to be
    asked about; None when it is clear."""
    found = _TYPE_SUFFIX.search(title)
    if found is None or "、" not in title[: found.start()]:
        return None
    pieces = [x.strip() for x in title.split("、")]
    return pieces if all(len(x) >= 2 for x in pieces) else None


_COMMAS = re.compile(r"[,，]")
# A clause that says more of the title before it: 「，含党建部分」「，包括年度预算」.
_QUALIFIES = re.compile(r"含|包括|包含|其中|即|暨|并|及其|涉及|重点|主要是|具体")
# A type marker closing a title, then 、 and the next title: 「经费预算（重大）、会员发展」.
_MARKED_THEN_LISTED = re.compile(
    r"[(（\[【]\s*(?:" + "|".join(t.MATTER_WORDS) + r")\s*[)）\]】]\s*、"
)


# The joins of topics said in a clause: 「讨论换届和经费预算」「研究一下预算、换届以及年报」.
_SPOKEN_SPLIT = re.compile(r"[、,，]|以及|还有|和|及")


_FINISH_FIRST = {
    g.MeetingState.DRAFT: "组长发送「取消会议 理由」取消它",
    g.MeetingState.CONVENED: (
        "组长发送「开会」开会，发送「改期 新时间」改期，或发送「取消会议 理由」取消它"
    ),
}
CONVENE_USAGE = "召开会议 下周三下午3点 学会会议室 议题：年度工作总结；经费预算（重大）"


@dataclasses.dataclass(frozen=True, slots=True)
class _Convening:
    """召开会议 <时间> [地点] [议题：…；…], as typed."""

    starts_at: datetime
    place: str
    topics: list[Topic]


async def convene(ctx: Context, args: str) -> list[OutgoingMessage]:
    society = ctx.require_society()
    person = ctx.require_person()
    await _refuse_a_second_meeting(ctx, society)
    request = _parse_convening(ctx, args)
    state = g.meeting_next(g.MeetingState.DRAFT, g.MeetingAction.CONVENE)
    meeting, roster = await _create_meeting(ctx, society, person, request, state)
    agenda = await _set_agenda(ctx, society, meeting, person, request.topics)
    text = _notice_text(ctx, society, meeting, request, agenda)
    return [ctx.reply(text, await mentions_for(ctx, roster))]


async def _refuse_a_second_meeting(ctx: Context, society: repo.Society) -> None:
    existing = await repo.active_meeting(society.id)
    if existing is not None:
        step = _FINISH_FIRST.get(existing.state, t.MEETING_NEXT[existing.state])
        if existing.state is g.MeetingState.CONVENED and _lapsed(ctx, existing):
            step = _LAPSED_NEXT
        raise UsageError(  # 「会议已发出通知（第1次会议，…）」: 会议 said once in a row
            f"{t.MEETING_STATE_PLAIN[existing.state]}（第{existing.number}次会议，"
            f"{t.when(existing.starts_at, ctx.tz)}），办完后才能召开新会议。下一步：{step}。"
        )


_LAPSED_NEXT = (
    "通知的时间已过、没有开会，组长发送「改期 新时间」重新通知，或发送「取消会议 理由」取消它"
)


def _lapsed(ctx: Context, meeting: repo.Meeting) -> bool:
    """A convened meeting whose announced time is too long past to open (NOTICE_LAPSED)."""
    try:
        g.check_notice_holds(ctx.now, meeting.starts_at, ctx.policy)
    except g.GovernanceError:
        return True
    return False


def _parse_convening(ctx: Context, args: str) -> _Convening:
    """The time first (it must lie ahead), then the place up to the 议题 marker, then the
    topics, each with an optional （类型）."""
    if not args:
        raise UsageError(f"请写明时间、地点和议题，例如：{CONVENE_USAGE}")
    parsed = _meeting_time(ctx, args, _CONVENING)
    if isinstance(parsed, Hourless):  # 「明天下午」: the notice would carry an hour nobody chose
        raise UsageError(
            f"请写明开会的钟点（{t.day(parsed.when.astimezone(ctx.tz).date())}"
            f"{parsed.period}几点），例如：召开会议 {parsed.written} {parsed.rest or '会议室'}"
        )
    if parsed is None:
        raise UsageError(
            f"没能识别会议时间{_why(args, convening=True)}请重新发送。可以写成「12月5日下午3点」"
            f"「明天14:00」「下周三 15:00」或「2026-12-05 15:00」。例如：{CONVENE_USAGE}"
        )
    if not parsed.explicit_time:  # a day only: the notice would carry an hour nobody chose
        day = parsed.when.astimezone(ctx.tz).date()
        raise UsageError(
            f"请写明开会的钟点（{t.day(day)}几点），例如：召开会议 "
            f"{day.month}月{day.day}日下午3点 {parsed.rest or '会议室'}"
        )
    if parsed.when <= ctx.now:
        raise UsageError(
            f"会议时间 {t.when(parsed.when, ctx.tz)} 已经过去了，请重新发送一个将来的时间。"
        )
    place, topics_text = parsed.rest, ""
    marker = _AGENDA_MARKER.search(parsed.rest)
    if marker is not None:
        place, topics_text = parsed.rest[: marker.start()], parsed.rest[marker.end() :]
    elif re.search(r"[;；]", place):  # 「召开会议 12月8日15:00 年度总结；经费预算」: topics
        head, _, tail = place.strip().partition(" ")
        place, topics_text = (head, tail) if tail and _A_PLACE.search(head) else ("", place)
    spoken = marker is not None and marker.group("listed") is None
    place = _place_only(_PLACE_LEAD.sub("", place.strip(" ,，。;；")).strip(" ,，。;；"))
    place = bounded(place, "会议地点", 100) or "待定"
    said = split_topics(topics_text, spoken=spoken)
    topics = [listed_topic(x) for x in said]
    unclear = next((x for x in said if _listed_unclear(x)), None)
    if unclear is not None:
        listed = [p for x in said for p in (_listed_unclear(x) or [x])]
        as_list = "；".join(listed)
        raise AskBack(
            f"议题「{unclear}」是一项，还是用「、」隔开的几项？是一项的，请把「、」改为「和」"
            f"重新发送。是否按这{len(listed)}项议题召开会议：{as_list}？",
            f"召开会议 {parsed.when.astimezone(ctx.tz):%Y-%m-%d %H:%M} {place} 议题：{as_list}",
        )
    return _Convening(parsed.when, place, topics)


@dataclasses.dataclass(frozen=True, slots=True)
class _Doing:
    """What a meeting's time is said for, as the replies about it word it."""

    command: str  # what to send again: 「召开会议」
    undone: str  # what was not done: 「会议没有召开」
    place: str  # what the example puts after the time when nothing was said there
    # Whether a day said with a part of it and no hour (「12月10日下午」) wants the hour: a new
    # meeting does; a meeting moved keeps its own hour when that lies in the part said.
    hour: bool


_CONVENING = _Doing("召开会议", "会议没有召开", "会议室", hour=True)
_RESCHEDULING = _Doing("改期", "会议没有改期", "", hour=False)


def _meeting_time(ctx: Context, text: str, doing: _Doing) -> ParsedTime | Hourless | None:
    """The meeting's time at the start of `text`, read alike to convene a meeting and to move
    one (「9号下午3点」「12.9 15:00」「12/9 15:00」「周四（12月10日）」): with its hour, or a day and
    a part of it without one (「明天下午」, the caller's to ask about or to fill); None when no
    time opens the text. A weekday beside the date that is not the date's is asked about, and
    nothing is done."""
    found: ParsedTime | Hourless | None = leading_time(text, ctx.now, ctx.tz, convening=True)
    if found is None:
        found = hourless_time(text, ctx.now, ctx.tz, convening=True)
    if found is not None:
        _weekday_is_the_dates(ctx, found, doing)
    return found


def _weekday_is_the_dates(ctx: Context, said: ParsedTime | Hourless, doing: _Doing) -> None:
    """「12月10号（周三）」 when the 10th is a Thursday: which of the two is meant is not known,
    so nothing is done; asked with the date's own weekday, and the day of that week with the
    weekday said when it is still ahead. A day said without its hour (「12月10日（周三）下午」)
    is told that it wants the hour too."""
    when = said.when.astimezone(ctx.tz)
    day = when.date()
    if said.weekday is None or day.weekday() == said.weekday:
        return
    other = day + timedelta(days=said.weekday - day.weekday())
    which = (
        f"会议是在{_named(day)}，还是{_named(other)}？"
        if other >= ctx.now.astimezone(ctx.tz).date()
        else "请核对日期。"
    )
    if isinstance(said, Hourless) and doing.hour:  # 「12月10日（周三）下午」: no hour either
        wanted, clock = f"日期和钟点（{said.period}几点）", said.said
    elif isinstance(said, Hourless):
        wanted, clock = "日期", said.period
    else:
        wanted, clock = "日期", f" {when:%H:%M}" if said.explicit_time else ""
    example = f"{doing.command} {day.month}月{day.day}日{clock} {said.rest or doing.place}"
    raise UsageError(
        f"{t.day(day)}是{WEEKDAY_NAMES[day.weekday()]}，不是{WEEKDAY_NAMES[said.weekday]}。"
        f"{which}{doing.undone}，请写明{wanted}重新发送，例如：{example.strip()}"
    )


def _named(d: date) -> str:
    """「12月9日（星期三）」"""
    return f"{d.month}月{d.day}日（{WEEKDAY_NAMES[d.weekday()]}）"


def _why(said: str, *, convening: bool = False) -> str:
    """What to say after 「没能识别会议时间」: why, when the time said cannot be (「：2月没有30日。」)."""
    why = why_unreadable(unicodedata.normalize("NFKC", said), convening=convening)
    return f"：{why}" if why else "，"


# Where the topics begin: 「议题：」「议程:」「议题 」 as in the usage, or as said: 「议题是」
# 「议题为」「主要议题有」, or a clause saying what is to be discussed: 「，讨论换届」「研究一下预算」.
_AGENDA_MARKER = re.compile(
    r"(?P<listed>(?:主要)?(?:议题|议程)(?:是|为|有)?[:：\s]*(?<=[是为有:：\s]))"
    rf"|(?:^|(?<=[\s,，;；])){DISCUSS}[:：\s]*"
)
# What a place may be introduced with, as said: 「在会议室」「地点：三楼」「地点在学会办公室」
# (not the 在 of 「在线会议」).
_PLACE_LEAD = re.compile(
    r"^(?:(?:会议)?地点\s*(?:[:：]|是|为|在)?|(?:还是|还|仍然|仍|依然|照样)?在(?!线))\s*"
)


async def _create_meeting(
    ctx: Context,
    society: repo.Society,
    person: repo.Person,
    request: _Convening,
    state: g.MeetingState,
) -> tuple[repo.Meeting, list[int]]:
    """The meeting with today's roster frozen on it, recorded; returns it and the roster."""
    meeting = await repo.create_meeting(
        society.id,
        starts_at=request.starts_at,
        place=request.place,
        convened_by=person.id,
        state=state,
        now=ctx.now,
    )
    roster = await roster_ids(society.id)
    await repo.update_meeting(meeting.id, roster=roster)
    await record(
        ctx,
        EventKind.MEETING_CONVENED,
        {
            "number": meeting.number,
            "starts_at": request.starts_at.isoformat(),
            "place": request.place,
            "convened_by": person_payload(person),
            "roster": await names(roster),
        },
        meeting=meeting,
    )
    return meeting, roster


@dataclasses.dataclass(frozen=True, slots=True)
class _Agenda:
    """A new meeting's agenda: each item with whether it was carried over from a deferral, and
    what the notice adds below it (a topic that named a deferred item, a type to check)."""

    items: list[tuple[repo.Item, bool]]
    notes: list[str]


async def _set_agenda(
    ctx: Context,
    society: repo.Society,
    meeting: repo.Meeting,
    person: repo.Person,
    topics: list[Topic],
) -> _Agenda:
    """The leader's topics, then every item a past meeting deferred (第十六条: voted on again
    at the next meeting). A topic that names a deferred item (「继续讨论预算」「上次暂缓的2027年
    经费预算」 with 2027年学会经费预算 deferred) is that item, carried where it was listed, not a
    second one; the notes say so, and flag a title that looks like another matter type than the
    general one it was listed as without a （类型） (unmarked_flag)."""
    items: list[tuple[repo.Item, bool]] = []
    notes: list[str] = []
    deferred = await repo.pending_deferred_items(society.id)
    taken: set[int] = set()  # the deferred items a topic named
    for topic in topics:
        old = _deferred_named([x for x in deferred if x.id not in taken], topic.title)
        if old is not None:
            taken.add(old.id)
            it = await _carry(ctx, meeting, person, old)
            items.append((it, True))
            if topic.title != old.title:
                notes.append(
                    f"「{topic.title}」即上次会议暂缓的议题「{old.title}」，已作为议题{it.number}"
                    "列入，按原议题再行表决，没有重复列入。"
                )
            continue
        it = await repo.add_item(
            meeting.id,
            title=topic.title,
            matter_type=topic.matter,
            state=g.ItemState.ACCEPTED,
            proposed_by=person.id,
        )
        await item_event(ctx, meeting, it, EventKind.ITEM_ADDED, person)
        items.append((it, False))
        if flag := unmarked_flag(it.number, topic):
            notes.append(flag)
    for old in deferred:
        if old.id not in taken:
            items.append((await _carry(ctx, meeting, person, old), True))
    return _Agenda(items, notes)


async def _carry(
    ctx: Context, meeting: repo.Meeting, person: repo.Person, old: repo.Item
) -> repo.Item:
    """A deferred item on the new meeting's agenda, as it was deferred (第十六条)."""
    it = await repo.add_item(
        meeting.id,
        title=old.title,
        matter_type=old.matter_type,
        state=g.ItemState.ACCEPTED,
        proposed_by=old.proposed_by_id,
        carried_from=old.id,
    )
    await repo.update_item(old.id, carried=True)
    await item_event(ctx, meeting, it, EventKind.ITEM_CARRIED, person, carried_from=old.id)
    return it


# A topic said to be an earlier meeting's undecided one: 「上次暂缓的…」「上次没表决的…」.
_EARLIER = re.compile(
    r"^(?:上次|上一次|上回|前次|上次会议|上一次会议)(?:会议)?上?"
    r"(?:暂缓|缓议|没有?表决|未表决|没有?议完|未决|没有?决定|没有?定下来)的?(?:议题|事项)?[:：\s]*"
)


def _deferred_named(deferred: list[repo.Item], title: str) -> repo.Item | None:
    """The deferred item a topic names: by its title alone (「预算」 for 2027年经费预算,
    item_said_first), or said to be the earlier one (_EARLIER) with its title's words in order
    (「上次暂缓的2027年经费预算」 for 2027年学会经费预算), or with nothing more when only one
    item was deferred. None when none fits, or several."""
    lead = _EARLIER.match(title)
    said = title[lead.end() :].strip() if lead else title
    named = item_said_first(deferred, said) if said else None
    if named is not None and not named[1]:
        return named[0]
    if lead is None:
        return None
    if not said:
        return deferred[0] if len(deferred) == 1 else None
    fits = [it for it in deferred if len(said) >= 2 and _in_order(said, it.title)]
    return fits[0] if len(fits) == 1 else None


def _in_order(said: str, title: str) -> bool:
    """Whether every character of `said` is found in `title`, in the same order."""
    rest = iter(title)
    return all(ch in rest for ch in said)


def _notice_text(
    ctx: Context,
    society: repo.Society,
    meeting: repo.Meeting,
    request: _Convening,
    agenda: _Agenda,
) -> str:
    lines = [_agenda_line(it, carried=carried) for it, carried in agenda.items]
    listed = (
        "\n".join(lines)
        if lines
        else "（暂无，组长可发送「添加议题 标题」，成员可发送「提议议题 标题」）"
    )
    notes = "".join(f"{n}\n" for n in agenda.notes)
    return (
        f"【会议通知】{society.name}党建工作领导小组第{meeting.number}次会议\n"
        f"时间：{t.when(request.starts_at, ctx.tz)}\n地点：{request.place}\n议题：\n{listed}\n"
        f"{notes}{t.NOTICE_ACK_HINT}请各位成员回复「签到」（会前一小时起）或「请假 理由」；"
        "不能参会的成员可在请假时一并提交书面意见（例如「请假 出差，书面意见：1 同意」），"
        "或请假后发送「书面意见 议题编号 意见」。"
    )


def _agenda_line(it: repo.Item, *, carried: bool = False) -> str:
    """「2. 经费预算（重大事项）」, as the notices and the opening list an item."""
    again = "上次会议暂缓" + ("" if it.matter_type in g.NOT_VOTED else "，再行表决")
    kind = f"{t.MATTER[it.matter_type]}，{again}" if carried else t.MATTER[it.matter_type]
    return f"{it.number}. {it.title}（{kind}）"


async def _accepted_agenda(meeting: repo.Meeting) -> list[str]:
    """The items on the meeting's agenda now, one line each."""
    return [
        _agenda_line(it) for it in await repo.items(meeting.id) if it.state is g.ItemState.ACCEPTED
    ]


# What opens a suggestion to the people present, not an item's title (「大家先把材料看一遍」).
_NOT_A_TOPIC = re.compile(r"\s*(?:大家|我们|各位|咱们|你们|先把|先看|先)")


async def add_topic(ctx: Context, args: str) -> list[OutgoingMessage]:
    """The leader adds a topic to the agenda; a member proposes one for the leader to accept."""
    person = ctx.require_person()
    meeting = await current_meeting(ctx, g.AGENDA_OPEN_STATES)
    if not args:
        raise UsageError("请写明议题，例如：提议议题 会员发展工作（一般）")
    if _NOT_A_TOPIC.match(args):  # 「提议大家先把材料看一遍」: a suggestion to those present
        raise UsageError(
            f"「{t.echo(args)}」不像议题名称，没有提交。要在会上讨论的事项，请写明议题，"
            "例如：提议议题 会员发展工作（一般）"
        )
    topic = listed_topic(args)
    title, matter = topic.title, topic.matter
    is_leader = person.id == meeting.leader_id  # the leader when it was convened (Rule 7)
    state = g.ItemState.ACCEPTED if is_leader else g.ItemState.PROPOSED
    it = await repo.add_item(
        meeting.id, title=title, matter_type=matter, state=state, proposed_by=person.id
    )
    await item_event(
        ctx,
        meeting,
        it,
        EventKind.ITEM_ADDED if is_leader else EventKind.ITEM_PROPOSED,
        person,
    )
    flag = unmarked_flag(it.number, topic, to_leader=is_leader)
    flag = f"\n{flag}" if flag else ""
    if is_leader:
        return [
            ctx.reply(
                f"已将议题{it.number}「{title}」（{t.MATTER[matter]}）列入第{meeting.number}次会议议程。"
                + flag
            )
        ]
    return [
        ctx.reply(
            f"已提交议题建议{it.number}「{title}」（{t.MATTER[matter]}），待组长确定。"
            f"组长可发送「同意议题 {it.number}」或「驳回议题 {it.number} 理由」。{flag}"
        )
    ]


async def accept_topic(ctx: Context, args: str) -> list[OutgoingMessage]:
    return await _decide_topic(ctx, args, g.ItemAction.ACCEPT)


async def reject_topic(ctx: Context, args: str) -> list[OutgoingMessage]:
    return await _decide_topic(ctx, args, g.ItemAction.REJECT)


async def _decide_topic(ctx: Context, args: str, action: g.ItemAction) -> list[OutgoingMessage]:
    person = ctx.require_person()
    meeting = await current_meeting(ctx, g.AGENDA_OPEN_STATES)
    await require_meeting_leader(ctx, meeting)
    it, reason = await _proposal(meeting, args, action)
    number = it.number
    bounded(reason, "理由")
    new_state = g.item_next(it.state, action)
    await repo.update_item(it.id, state=new_state)
    it = dataclasses.replace(it, state=new_state)
    kind = EventKind.ITEM_ACCEPTED if action is g.ItemAction.ACCEPT else EventKind.ITEM_REJECTED
    await item_event(ctx, meeting, it, kind, person, reason=reason)
    proposer = await repo.person(it.proposed_by_id)
    mention = await mentions_for(ctx, [proposer.id])
    if action is g.ItemAction.ACCEPT:
        return [
            ctx.reply(f"议题{number}「{it.title}」已列入议程（{proposer.name}提议）。", mention)
        ]
    why = f"，理由：{t.echo(reason)}" if reason else ""
    return [ctx.reply(f"议题建议{number}「{it.title}」未列入议程{why}。", mention)]


async def support_topic(ctx: Context, args: str) -> list[OutgoingMessage]:
    """支持议题 3 (a member's 「王强提的这个可以」): a view on a member's proposal, not a decision
    on it: said back as such, with who decides (the meeting's leader, 第十五条) and how. Writes
    nothing."""
    meeting = await current_meeting(ctx, g.AGENDA_OPEN_STATES)
    waiting = [it for it in await repo.items(meeting.id) if it.state is g.ItemState.PROPOSED]
    if not waiting and parse_item_ref(args)[0] is None:
        raise UsageError("目前没有待组长确定的议题建议。发送「会议状态」查看议程。")
    try:
        it, _ = await _proposal(meeting, args, g.ItemAction.ACCEPT)
    except UsageError:  # which proposal is unclear: listed, with how to name it
        listed = "；".join(f"议题建议{it.number}「{it.title}」" for it in waiting)
        raise UsageError(
            f"待组长确定的议题建议有：{listed}。您支持哪一项，请写明编号，"
            f"例如「支持议题 {waiting[0].number}」；是否列入议程由组长决定。"
        ) from None
    leader = await repo.person(meeting.leader_id)
    if it.state is not g.ItemState.PROPOSED:
        return [ctx.reply(f"{t.ITEM_STATE_PLAIN[it.state]}：议题{it.number}「{it.title}」。")]
    proposer = await repo.person(it.proposed_by_id)
    said = (
        f"议题建议{it.number}「{it.title}」是您提出的"
        if ctx.person is not None and proposer.id == ctx.person.id
        else f"好的，您支持{proposer.name}提出的议题建议{it.number}「{it.title}」"
    )
    return [
        ctx.reply(
            f"{said}。是否列入议程由组长{leader.name}决定（组长发送「同意议题 {it.number}」即列入）。"
        )
    ]


async def _accepted_or_supported(ctx: Context, args: str) -> tuple[Route | str, str] | None:
    """Route.instead of 同意议题: a ballot on the item while its vote is open; from a member who
    does not decide the meeting's proposals, a proposal named by who made it (「王强提的这个可
    以」「同意王强的提议」) is a view in support of it (支持议题), not a refusal; else None (the
    leader's decision; 「同意议题 4」 from a member is refused at the gate as before)."""
    ballot = await votes.ballot_on_voting_item(ctx, args, choice=g.Choice.YES)
    if ballot is not None or ctx.society is None or ctx.person is None:
        return ballot
    if g.Role.MEMBER not in ctx.roles or g.may(ctx.roles, g.Need.LEADER):
        return None
    if parse_item_ref(args)[0] is not None:  # 「同意议题 4」: the leader's command, typed as such
        return None
    meeting = ctx.active_meeting or await repo.active_meeting(ctx.society.id)
    if meeting is None or meeting.leader_id == ctx.person.id:  # the leader when convened
        return None
    return "支持议题", args


_THIS = re.compile(r"^(?:这个|这项|这一个|该|此|他的|她的|这条|上面的|刚才的|刚才那个|那个)")


async def _proposal(
    meeting: repo.Meeting, args: str, action: g.ItemAction
) -> tuple[repo.Item, str]:
    """The item a 同意议题 / 驳回议题 is about and the reason after it: by number (「同意议题
    2」); else by its proposer's name or its title at the start (「同意李娜的提议」: the route's
    frames hand over 「李娜」); else, with nothing or 「这个」 said, the one proposal waiting (a
    rejection may give just its reason). Several waiting, or none: nothing is decided, and what
    is waiting is listed with its number."""
    number, rest = parse_item_ref(args)
    if number is not None:
        return await item_by_number(meeting, number), rest
    waiting = [it for it in await repo.items(meeting.id) if it.state is g.ItemState.PROPOSED]
    if not waiting:
        raise UsageError("目前没有待组长确定的议题建议。发送「会议状态」查看议程。")
    proposers = await repo.people([it.proposed_by_id for it in waiting])

    def name(it: repo.Item) -> str:
        who = proposers.get(it.proposed_by_id)
        return "" if who is None else who.name

    said = _THIS.sub("", rest).strip()
    for key in (name, lambda it: it.title):
        found = [it for it in waiting if key(it) and said.startswith(key(it))]
        if len({key(it) for it in found}) == 1:
            rest = said[len(key(found[0])) :].lstrip("的 ").strip()
            break
    else:
        found = waiting if not said or action is g.ItemAction.REJECT else []
        rest = said
    if len(found) == 1:
        return found[0], rest
    listed = "；".join(f"议题{it.number}「{it.title}」（{name(it)}提议）" for it in waiting)
    verb = "同意议题" if action is g.ItemAction.ACCEPT else "驳回议题"
    raise UsageError(f"待确定的议题建议有：{listed}。请写明编号，例如：{verb} {waiting[0].number}")


# The frames of 同意议题 / 驳回议题: who proposed it (or 这个), the proposal, a reason after.
_WHO = r"[^,，。;；!！?？:：]{0,10}?"
# A proposal by name; a bare 建议 only with words no ballot uses (采纳, 列入): 「同意这个建议」
# during a vote is a ballot asked back, not an agenda decision.
_PROPOSAL = r" ?(?:(?:的|提的|提出的)?(?:提议|议题建议)|(?:提的|提出的)(?:议题|建议))"
_ADVICE = rf"(?:{_PROPOSAL}| ?的?建议)"

# Frames naming a person typed without @ (「请吴国华理事长列席」), and the titles said after one.
_NAME = r" ?(?:@[^,，。:： ]{1,20}|[^,，。:： @]{2,4}?) ?"
_TITLE = r"(?:理事长|副理事长|秘书长|副秘书长|监事长|理事|会长|副会长|同志|老师)"

# The frames of 书面意见: the item as said (its number or title), whose opinion, 「是」.
_ON = r"[^,，。;；:：]{1,30}?"
_MY = r"(?:这个议题|这一项|这项|议题)?的?[,，]? ?(?:我的|本人的|我)"
_IS = r"(?:是|如下|为)?[:：,，]? ?"
# 「年度总结我没意见，预算建议再细一点」: clauses that each open with what they are about (an item's
# title, or part of it) and say a view on it. Not about the meeting itself, a day, a person or
# everything (「时间我没问题」「周五我没意见」「都同意」); a ballot word alone is no opinion (「预算
# 同意」 during a vote is a ballot), only next to another clause. Not a minutes note either (「第1条
# 备注改为王强建议…」 is the recorder's edit of it, 纪要备注, whatever view the new text reports).
_VIEW = r"(?:没有?(?:什么|啥)?意见|无意见|没问题|有(?:意见|建议|看法)|建议|认为|觉得|希望|原则同意|基本同意)"
_BALLOT_VIEW = r"(?:同意|赞成|支持|反对|不同意)"
_VIEW_TOPIC = (
    r"(?:对于?|关于)?(?!纪要|会议|开会|议程|通知|时间|地点|安排|这|那|我|你|他|她|大家|都|全|各|所有|本次"
    r"|此次|上次|下次|今天|明天|后天|周|星期|礼拜|签发|签到|请假|同意|赞成|反对|弃权|不同意|支持"
    r"|[0-9一二三四五六七八九十两]+ ?个?(?:人|票))"
    r"(?![^,，。;；:：?？!！\s]*?备注)"
    r"[^,，。;；:：?？!！\s票]{2,20}?"
)


def _view_clause(view: str) -> str:
    return rf"{_VIEW_TOPIC}(?:我|本人)?(?:个人)?{view}[^,，。;；:：?？]*"


_MORE_VIEWS = rf"(?:[,，;；。] ?(?:{_view_clause(_VIEW)}|{_view_clause(_BALLOT_VIEW)}))"

EDIT_USAGE = "修改议题 2 2027年经费预算（重大）"
# 「…的类型改成重大事项」: a matter type (handlers.texts.MATTER_WORDS) set, in 修改议题's frames.
_SET_TYPE = (
    r"的?(?:类型)?(?:改成|改为|设为|定为|列为) ?(?P<rest>"
    + "|".join(sorted(t.MATTER_WORDS, key=len, reverse=True))
    + ")"
)
# Only a matter type where the new title would be (「议题2改成重大事项」「议题2设为重大」).
_TYPE_ONLY = re.compile(r"(?:类型)?(?:改成|改为|设为|定为|是)?([^\s，,。]{2,4})")
WITHDRAW_USAGE = "撤回议题 2 材料尚未准备好"


def _matter_only(said: str) -> g.MatterType | None:
    """The matter type, when that is all `said` names where a new title would be."""
    kind = _TYPE_ONLY.fullmatch(said.strip(" 。.（）()"))
    return None if kind is None else t.MATTER_WORDS.get(kind.group(1))


async def edit_topic(ctx: Context, args: str) -> list[OutgoingMessage]:
    """修改议题: the leader corrects an item's title (and, with a （类型）, its matter type)
    before its vote; the roster is told. A carried-over item is voted on as it was deferred."""
    person = ctx.require_person()
    meeting = await current_meeting(ctx, g.AGENDA_OPEN_STATES)
    await require_meeting_leader(ctx, meeting, "议题没有修改")
    number, rest = parse_item_ref(args)
    if number is None:  # 「把会费调整设为重大事项」: by its title, for the type only
        items = [it for it in await repo.items(meeting.id) if it.state is not g.ItemState.REJECTED]
        named = item_by_title(items, args)
        if named is None or _matter_only(named[1]) is None:  # a new title needs the number
            raise UsageError(f"请写明议题编号，例如：{EDIT_USAGE}")
        number, rest = named[0].number, named[1]
    if not rest:
        raise UsageError(f"请写明新的议题标题，例如：{EDIT_USAGE}")
    it = await item_by_number(meeting, number)
    _refuse_carried(it, "修改")
    g.item_next(it.state, g.ItemAction.EDIT)  # an item no longer to be edited: refused first
    kept = ""
    if (only := _matter_only(rest)) is not None:  # 「议题2改成重大事项」: the type
        title, matter = it.title, only
    else:
        title, matter, marked = parse_topic(rest, default=it.matter_type)  # the title only:
        if not marked and title != it.title:  # the type stays, said so
            kept = _type_kept(it, title, number)
    if (title, matter) == (it.title, it.matter_type):
        raise UsageError(f"议题{number}本来就是「{it.title}」（{t.MATTER[matter]}），没有变化。")
    await set_matter(ctx, meeting, it, person, matter, title)
    return [
        ctx.reply(
            f"第{meeting.number}次会议议题{number}已改为「{title}」（{t.MATTER[matter]}），"
            f"原为「{it.title}」（{t.MATTER[it.matter_type]}）。{kept}",
            await mentions_for(ctx, meeting.roster),
        )
    ]


def _type_kept(it: repo.Item, title: str, number: int) -> str:
    """A new title alone never changes the item's type. One that reads as study (「学习…」
    「通报…」, listed_topic) for an item still to be voted on: a general item is asked first
    whether it becomes a study item (AskBack: 「是」 retitles it so; with （一般） it is only
    retitled, nothing asked); for one to be decided (第七条) what stays is said."""
    if it.matter_type in g.NOT_VOTED or listed_topic(title).matter not in g.NOT_VOTED:
        return ""
    kind = t.MATTER[it.matter_type]
    if it.matter_type in g.MAY_GO_UNVOTED:
        word = next(w for w, m in t.MATTER_WORDS.items() if m is it.matter_type)
        raise AskBack(
            f"新标题「{title}」像是学习通报。改标题不改类型：只改标题、仍按{kind}表决的，"
            f"请发送「修改议题 {number} {title}（{word}）」。是否改为学习通报事项（不表决）？",
            f"修改议题 {number} {title}（学习）",
        )
    return f"类型没有改：仍是{kind}，仍须表决（第七条）。"


async def withdraw_topic(ctx: Context, args: str) -> list[OutgoingMessage]:
    """撤回议题: the leader takes an item off the agenda before its vote, with a reason; the
    roster is told and the minutes list it. A carried-over item cannot be withdrawn."""
    person = ctx.require_person()
    meeting = await current_meeting(ctx, g.AGENDA_OPEN_STATES)
    await require_meeting_leader(ctx, meeting, "议题没有撤回")
    number, reason = parse_item_ref(args)
    if number is None:  # 「把会费删掉」「撤回议题 会费调整 材料未备齐」: by its title
        named = item_titled(await repo.items(meeting.id), args, WITHDRAW_USAGE)
        if named is None:
            raise UsageError(f"请写明议题编号，例如：{WITHDRAW_USAGE}")
        number, reason = named[0].number, named[1]
    bounded(reason, "撤回理由")
    it = await item_by_number(meeting, number)
    _refuse_carried(it, "撤回")
    state = g.item_next(it.state, g.ItemAction.WITHDRAW)
    await repo.update_item(it.id, state=state)
    withdrawn = dataclasses.replace(it, state=state)
    await item_event(ctx, meeting, withdrawn, EventKind.ITEM_WITHDRAWN, person, reason=reason)
    why = f"，理由：{t.echo(reason)}。" if reason else "。"
    return [
        ctx.reply(
            f"议题{number}「{it.title}」已撤出第{meeting.number}次会议议程{why}",
            await mentions_for(ctx, meeting.roster),
        )
    ]


def _refuse_carried(it: repo.Item, what: str) -> None:
    if it.carried_from_id is not None:
        raise UsageError(
            f"议题{it.number}「{it.title}」是上次会议暂缓的议题，须在本次会议按原议题再行表决"
            f"（第十六条），不能{what}。"
        )


async def open_meeting(ctx: Context, args: str) -> list[OutgoingMessage]:
    society = ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(ctx, (g.MeetingState.CONVENED,))
    new_state = g.meeting_next(meeting.state, g.MeetingAction.OPEN)
    # 第十七条: the chair opens it in the room; one who has not checked in is evidently there
    chair_checks_in = await require_chair(ctx, meeting, "没有开会")
    roster = list(meeting.roster)  # decided at convening (governance Rule 7)
    # who is present decides the quorum: only from rows that match their seals
    records = await quorum_attendance(ctx, meeting, refused="本次没有开会", undone="宣布开会")
    present = [p for p in roster if p in records and records[p].status in g.PRESENT_STATES]
    counted = len(present) + int(chair_checks_in and person.id in roster)
    summary = await attendance_summary(ctx, meeting)
    try:
        status = (
            g.checkin_status(ctx.now, meeting.starts_at, meeting.state, ctx.policy)
            if chair_checks_in
            else None
        )
        q = g.check_opening(ctx.now, meeting.starts_at, counted, len(roster), ctx.policy)
    except g.GovernanceError as exc:
        if exc.refusal is g.Refusal.NO_QUORUM:
            q = g.check_quorum(counted, len(roster), ctx.policy.meeting_quorum)
            raise UsageError(
                f"未达到法定人数，暂不能开会。{t.quorum_text(q)}。\n{summary}"
            ) from None
        when = t.when(meeting.starts_at, ctx.tz)
        raise UsageError(f"{t.render_refusal(exc)}（通知时间：{when}）\n{summary}") from None
    checked_in = ""
    if status is not None:
        withdrawn = await record_check_in(ctx, meeting, person, status)
        late = "（迟到）" if status is g.Attendance.LATE else ""
        checked_in = (
            f"主持人{person.name}此前没有签到，开会时已为其登记签到{late}。"
            f"{opinions_withdrawn_text(withdrawn)}\n"
        )
        summary = await attendance_summary(ctx, meeting)
    await repo.update_meeting(meeting.id, state=new_state, opened_at=ctx.now)
    records = await repo.attendance(meeting.id)
    await record(
        ctx,
        EventKind.MEETING_OPENED,
        {
            "by": person_payload(person),
            "quorum": _quorum_payload(q),
            "attendance": {
                n: (records[p].status.value if p in records else "unknown")
                for p, n in zip(roster, await names(roster), strict=True)
            },
            "head": await repo.chain_head(society.id),
        },
        meeting=meeting,
    )
    agenda = await _accepted_agenda(meeting)
    head = await repo.chain_head(society.id)
    # as the meeting now stands: who is not here has not checked in (not 「未回复」)
    summary = await attendance_summary(ctx, dataclasses.replace(meeting, state=new_state))
    return [
        ctx.reply(
            f"第{meeting.number}次会议现在开始。{t.quorum_text(q)}，已达法定人数。\n"
            f"{checked_in}{summary}\n"
            f"议程：\n" + ("\n".join(agenda) if agenda else "（暂无）") + "\n"
            f"主持人可发送「发起表决 议题编号」逐项表决。记录链校验码：{head[:12]}"
        )
    ]


def _quorum_payload(q: g.QuorumCheck) -> dict[str, object]:
    return {
        "present": q.present,
        "base": q.base,
        "needed": q.needed,
        "met": q.met,
        "share": str(q.threshold.share),
        "reading": q.threshold.reading.value,
        "readings_disagree": q.readings_disagree,
    }


# What follows a name when someone is asked to do something (「委托陈静把材料打印一下」).
# The meeting a chair is delegated for, said after 主持 (「主持这次会议」「主持一下」).
_THIS_MEETING = r"(?:(?:这次|本次|这个|今天的?|明天的?|下次的?)?(?:会议|会)|一下)?"
# 「（代为）主持这次会议」 said where the reason would be: what is delegated, no reason.
_THE_DELEGATION = re.compile(
    rf"^(?:同志|老师)?(?:代为|代我|来|帮我|代)?主持{_THIS_MEETING}[,，。\s]*"
)
# Said where the delegation's reason would be, only that the leader cannot come (「我来不了」
# 「今天实在去不了了」): no reason for the leave this means.
_ONLY_CANNOT_COME = re.compile(
    r"(?:我|本人)?(?:今天|明天|后天|那天|当天|这次|本次|届时|到时候?)?的?(?:会议?)?(?:我|本人)?"
    r"(?:可能|恐怕|实在|确实|临时)?(?:就|也|又)?"
    r"(?:(?:来|去|参加|到|参会|出席)不了|不能(?:来|去|参加|到会|参会|出席)|没法(?:来|去|参加|参会))"
    r"(?:了|啦)?[,，。.!！\s]*"
)
_AN_ERRAND = re.compile(r"(?:把|将|帮|去|给|负责|准备|联系|通知|打印|买|订|安排|发一下|发给)")


async def leave_or_hand_on(ctx: Context, args: str) -> list[OutgoingMessage]:
    """请假; from the leader who also hands on the chair (「我临时要去市里开会，来不了，请李娜
    主持」), the leave and the delegation, both or neither."""
    reason, chair_to = await chair_handed_on(ctx, args)
    if chair_to is None:
        return await ask_leave(ctx, args)
    try:
        replies = await ask_leave(ctx, reason)
    except AskFor as exc:
        # no reason yet (a 「是」 to the question that asked for it): asked again with the
        # delegation kept, so that the reason sent next does both
        raise AskFor(
            f"请发送请假理由，例如「出差」：请假和委托{chair_to}主持将一并办理，现在都还没有办理。",
            f"{exc.command}，请{chair_to}主持",
        ) from None
    try:
        delegated = await delegate_chair(ctx, f"{chair_to} {u.reason_said(reason)}")
    except UsageError as exc:
        raise UsageError(f"{exc}请假也没有记下：仍要请假的，请另发送「请假 理由」。") from None
    return [*replies, *delegated]


async def leave_asked(ctx: Context, args: str) -> str:
    """Before 「是否请假？」: another's leave is refused at once; the chair handed on is asked
    with it."""
    await someone_elses_asked(ctx, args)
    chair_to = (await chair_handed_on(ctx, args))[1]
    return f"并委托{chair_to}主持会议" if chair_to else ""


async def departure_asked(ctx: Context, args: str) -> str:
    await someone_elses_asked(ctx, args, "离席")
    return ""


async def delegate_chair(ctx: Context, args: str) -> list[OutgoingMessage]:
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(ctx, g.AGENDA_OPEN_STATES)
    await require_meeting_leader(ctx, meeting, "没有委托")
    target, reason = await require_known_person(ctx, args, "委托主持 @李四 组长出差")
    reason = _THE_DELEGATION.sub("", reason).strip()  # 「委托主持 李娜同志主持这次会议」
    if _AN_ERRAND.match(reason) and "主持" not in ctx.message.text:
        # 「委托陈静把会议材料打印一下」: an errand, not the chair
        raise UsageError(
            f"这句话像是请{target.name}办一件事，没有委托主持。要请{target.name}主持会议，"
            f"请发送「委托主持 @{target.name} 理由」。"
        )
    bounded(reason, "委托理由")
    if target.id not in meeting.roster:
        raise UsageError(
            f"{target.name}不是领导小组成员（以第{meeting.number}次会议召开时的名单为准），"
            "不能受托主持会议。"
        )
    away = (await repo.attendance(meeting.id)).get(target.id)
    if away is not None and away.status in (
        g.Attendance.LEAVE,
        g.Attendance.ABSENT,
        g.Attendance.LEFT,
    ):
        # a chair who cannot chair: nobody could have opened the meeting (第十七条)
        state = {
            g.Attendance.LEAVE: "已请假",
            g.Attendance.ABSENT: "缺席",
            g.Attendance.LEFT: "已离席",
        }
        who = "组长本人" if target.id == person.id else target.name
        raise UsageError(
            f"{who}{state[away.status]}，不能主持第{meeting.number}次会议，没有委托。"
            "请委托能到会的成员主持：发送「委托主持 @成员 理由」。"
        )
    answered = (await repo.attendance(meeting.id)).get(person.id)
    if (
        target.id != person.id
        and meeting.state is g.MeetingState.CONVENED
        and answered is None
        and _ONLY_CANNOT_COME.fullmatch(matching_form(reason))
    ):
        # 「我来不了，请李娜主持」: a leave without its reason, and the chair handed on; both are
        # done once the reason comes (as 「…家里有事，请李娜主持」 does on a yes), neither before
        raise AskFor(
            f"组长{person.name}不能参会，须请假并写明理由，委托{target.name}主持与请假一并办理，"
            "现在都还没有办理。请发送请假理由，例如「出差」。",
            f"请假 {ASKED_FOR}，请{target.name}主持",
        )
    await repo.update_meeting(meeting.id, chair_id=target.id)
    await record(
        ctx,
        EventKind.CHAIR_DELEGATED,
        {"from": person_payload(person), "to": person_payload(target), "reason": reason},
        meeting=meeting,
    )
    # A leader who will not come is absent unless on leave: say how, before the meeting.
    leave = (
        f"{person.name}如不能参会，请另发送「请假 理由」。"
        if meeting.state is g.MeetingState.CONVENED and answered is None
        else ""
    )
    to = "恢复" if target.id == person.id else f"委托{target.name}"
    return [
        ctx.reply(
            f"组长{person.name}{to}主持第{meeting.number}次会议"
            + (f"（{t.echo(reason)}）" if reason else "")
            + f"，已记录。{leave}",
            await mentions_for(ctx, [target.id]),
        )
    ]


async def close_meeting(ctx: Context, args: str) -> list[OutgoingMessage]:
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(ctx, (g.MeetingState.OPEN,))
    await require_chair(ctx, meeting, "没有散会")
    if voting := await repo.open_votes(meeting.id):
        named = "、".join(f"议题{it.number}「{it.title}」" for _, it in voting)
        raise UsageError(f"{named}还在表决，请先发送「结束表决」，再散会。")
    new_state = g.meeting_next(meeting.state, g.MeetingAction.CLOSE)
    items = await repo.items(meeting.id)
    undecided = [  # what is only studied (学习通报) was never to be decided
        it
        for it in items
        if it.state in (g.ItemState.ACCEPTED, g.ItemState.PROPOSED)
        and it.matter_type not in g.NOT_VOTED
    ]
    left = [it for it in undecided if it.state is g.ItemState.ACCEPTED]
    if left and not NOW.search(args):  # closing is final: the agenda would be left behind
        raise AskBack(
            "、".join(f"议题{it.number}「{it.title}」" for it in left)
            + "还没有表决，散会后不会自动列入下次会议（要下次再议的，请先发送「暂缓 议题编号 理由」）。"
            "确定现在散会吗？",
            "散会 现在",
        )
    # the attendance the record (and the minutes) keep: only from rows that match their seals
    records = await quorum_attendance(ctx, meeting, refused="本次没有散会", undone="散会")
    for pid in meeting.roster:
        if pid not in records:
            await repo.set_attendance(
                meeting.id, pid, g.Attendance.ABSENT, reason="未签到", now=ctx.now
            )
    await repo.update_meeting(meeting.id, state=new_state, closed_at=ctx.now)
    await record(
        ctx,
        EventKind.MEETING_CLOSED,
        {
            "by": person_payload(person),
            "attendance": {
                n: (records[p].status.value if p in records else g.Attendance.ABSENT.value)
                for p, n in zip(meeting.roster, await names(meeting.roster), strict=True)
            },
            "undecided": [it.number for it in undecided],
        },
        meeting=meeting,
    )
    notes = "\n".join(await minutes_handlers.notes_taken(meeting))
    draft = await minutes_handlers.draft_minutes(ctx, meeting, person, notes=notes)
    pending = f"未表决议题：{join([str(it.number) for it in undecided])}。" if undecided else ""
    return [
        ctx.reply(
            f"第{meeting.number}次会议结束，出勤情况已锁定。{pending}\n"
            f"纪要草稿（第{draft.version}版）已根据会议记录生成：发送「纪要」查看，"
            "记录人可发送「纪要备注 内容」补充，组长发送「签发」签发纪要。"
        )
    ]


# The meeting said before 不开了/取消吧 (「这次会先不开了」「那个会取消吧」): no part of the reason.
_THE_MEETING = re.compile(
    r"^\s*(?:这次|这个|那个|本次|此次|下次|明天|后天|下周[一二三四五六日天]?|周[一二三四五六日天])?的?"
    r"(?:会议|会)(?:就|先|也|还是|暂时)?[,，\s]*"
)


async def cancel_meeting(ctx: Context, args: str) -> list[OutgoingMessage]:
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(ctx, (g.MeetingState.DRAFT, g.MeetingState.CONVENED))
    await require_meeting_leader(ctx, meeting, "会议没有取消")
    args = _THE_MEETING.sub("", args).strip()  # 「那个会，领导临时有安排」: the reason after
    bounded(args, "取消理由")
    new_state = g.meeting_next(meeting.state, g.MeetingAction.CANCEL)
    await repo.update_meeting(meeting.id, state=new_state)
    for it in await repo.items(meeting.id):
        if it.carried_from_id is not None:  # deferred earlier: it goes to the next meeting instead
            await repo.update_item(it.carried_from_id, carried=False)
    await record(
        ctx,
        EventKind.MEETING_CANCELLED,
        {"by": person_payload(person), "reason": args},
        meeting=meeting,
    )
    return [
        ctx.reply(
            f"第{meeting.number}次会议（{t.when(meeting.starts_at, ctx.tz)}）已取消"
            + (f"：{t.echo(args).rstrip('。.！!')}。" if args else "。")
            + f"取消的会议不计入会议次数，下次召集的会议仍为第{meeting.number}次。",
            await mentions_for(ctx, meeting.roster),
        )
    ]


RESCHEDULE_USAGE = "改期 下周四上午9点 [新地点] [理由：组长出差]"
MOVE_USAGE = "更改地点 三楼会议室 [理由：会议室装修]"
# 「改期到12月11日」「改为明天下午3点」: the word that leads to the new time.
_TO_LEAD = re.compile(r"^\s*(?:改到|改为|改在|推迟到|提前到|延期到|到|至|为|在|成)\s*")
# Where a reason begins: 「理由：…」「原因是…」「因为…」「由于…」.
_REASON_MARKER = re.compile(r"[,，;；\s]*(?:(?:理由|原因)(?:是|为)?[:：\s]*|因为|由于)")
# 「地点不变」「照旧」: no new place.
_SAME_PLACE = re.compile(r"不变|照旧|同前|同上|原地点|地点不变|还在原地|还是原来的地方")
# 「地点改为三楼」 as said: the place after 改为/改到/换到 (after _PLACE_LEAD took 地点).
_NEW_PLACE_LEAD = re.compile(r"^(?:改为|改到|改在|换到|换成|变更为|变为)\s*")


async def reschedule_meeting(ctx: Context, args: str) -> list[OutgoingMessage]:
    """改期: a meeting not yet open gets a new time (and, if given, a new place); the roster is
    told with a new notice (governance Rule 7: an early start needs everyone, otherwise a new
    notice). Check-ins made for the old time no longer count; leave stays."""
    ctx.require_society()
    meeting = await current_meeting(ctx, (g.MeetingState.DRAFT, g.MeetingState.CONVENED))
    await require_meeting_leader(ctx, meeting, "会议没有改期")
    return await _renotice(ctx, meeting, *_rescheduled(ctx, meeting, args))


def _rescheduled(
    ctx: Context, meeting: repo.Meeting, args: str, *, later: bool = True
) -> tuple[datetime, str, str]:
    """What 改期 `args` make of the meeting: its new start, place and the reason given (nothing
    changed yet); refused when they name no time or place. A while alone puts it back (`later`)
    or forward."""
    if not args.strip():
        raise UsageError(f"请写明新的会议时间，例如：{RESCHEDULE_USAGE}")
    text = _TO_LEAD.sub("", args, count=1)
    # 「会议延期一周」「改期 三天」「改到下周同一时间」: put back by that much, hour and place kept
    if (by := _shift(text) or _weeks_on(text)) is not None:
        return _by_a_while(ctx, meeting, by, later=later)
    found = _meeting_time(ctx, text, _RESCHEDULING)
    parsed = _at_its_hour(ctx, meeting, found) if isinstance(found, Hourless) else found
    if parsed is None and _A_PLACE.search(text) and not _SAYS_A_DAY.search(_A_ROOM.sub("", text)):
        # 「改到三楼会议室」「改到2号会议室」: the place, not the time
        return meeting.starts_at, *_new_place(text)
    if parsed is None:
        raise UsageError(
            f"没能识别新的会议时间{_why(text, convening=True)}请重新发送。可以写成「12月11日上午9点」"
            f"「明天14:00」「下周三 15:00」。例如：{RESCHEDULE_USAGE}"
        )
    starts_at = parsed.when
    old = meeting.starts_at.astimezone(ctx.tz)
    if parsed.weekday is None:  # 「周四（12月10日）」 names its day
        _weekday_is_clear(text, starts_at.astimezone(ctx.tz), old, explicit=parsed.explicit_time)
    rest = parsed.rest
    if not parsed.explicit_time:  # a day only: the meeting keeps its hour
        day = starts_at.astimezone(ctx.tz)
        moved = day.replace(hour=old.hour, minute=old.minute, second=0, microsecond=0)
        starts_at = moved.astimezone(UTC)
        rest = _SAME_TIME.sub("", rest, count=1)  # 「改到下周四同一时间」: said, not a place
    elif not parsed.dated:
        # an hour only (「时间改成下午4点」「推迟到5点」): the meeting keeps its day
        hour = starts_at.astimezone(ctx.tz)
        moved = old.replace(hour=hour.hour, minute=hour.minute, second=0, microsecond=0)
        starts_at = moved.astimezone(UTC)
    place, reason = _place_and_reason(rest)
    return starts_at, place or meeting.place, reason


def reschedule_asked(
    ctx: Context, meeting: repo.Meeting, said: str, *, note: str = "", later: bool = True
) -> AskBack:
    """A change of the meeting's time said as something else (an item's 「延期一周」 before the
    meeting, a condition 「…延期一周的话…」): the question whether to move it so, answered by
    改期 to the very time named (nothing changed until then). A UsageError when `said` names
    no new time."""
    starts_at, place, _ = _rescheduled(ctx, meeting, said, later=later)
    if starts_at == meeting.starts_at:
        raise UsageError(f"请写明新的会议时间，例如：{RESCHEDULE_USAGE}")
    local = starts_at.astimezone(ctx.tz)
    written = f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    elsewhere = place != meeting.place
    if elsewhere:
        written += f" {place}"
    where = f"，地点改为{place}" if elsewhere else ""
    return AskBack(
        f"{note}是否将第{meeting.number}次会议改期到{t.when(starts_at, ctx.tz)}{where}？",
        f"改期 {written}",
    )


# The meeting's own hour said again after a day (「下周四同一时间」「12月11日，时间不变」).
_SAME_HOUR = r"(?:同一|同样的?|相同的?|一样的?|这个|原来的?|原定的?)(?:时间|时候|时段|钟点)"
_SAME_TIME = re.compile(rf"^(?:的?{_SAME_HOUR}(?:不变)?|时间不变|时间照旧)[,，。\s]*")
# 「下周同一时间」「下个星期同一天」「下下周这个时候」: the meeting a week (two) later, its hour kept.
_SAME_TIME_LATER = re.compile(
    rf"^\s*(?P<weeks>下下|下)个?(?:周|星期|礼拜)的?(?:同一天(?:的?{_SAME_HOUR})?|{_SAME_HOUR})"
    r"(?:不变)?[,，。\s]*"
)


def _weeks_on(said: str) -> tuple[timedelta, str] | None:
    """「下周同一时间 三楼」 -> (7 days, '三楼'); None when it does not say that."""
    found = _SAME_TIME_LATER.match(said)
    if found is None:
        return None
    return timedelta(weeks=2 if found.group("weeks") == "下下" else 1), said[found.end() :]


# A weekday said bare (「周四」「星期五」, not 「下周四」「本周五」).
_BARE_WEEKDAY = re.compile(r"^\s*(?:周|星期|礼拜)(?P<day>[一二三四五六日天1-7])")


def _weekday_is_clear(said: str, when: datetime, old: datetime, *, explicit: bool) -> None:
    """「会议改到周四」 of a meeting set for a later week: this week's Thursday moves it earlier,
    which is seldom meant; the Thursday of the meeting's own week may be. Asked (nothing
    changed) when the two differ."""
    found = _BARE_WEEKDAY.match(said)
    day, on = when.date(), old.date()
    if found is None or day >= on or day.isocalendar()[:2] == on.isocalendar()[:2]:
        return
    other = on + timedelta(days=day.weekday() - on.weekday())
    hour = when if explicit else old
    said_day = found.group(0).strip()
    raise UsageError(
        f"「{said_day}」是指{_named(day)}，还是原定会议那一周的{_named(other)}？"
        f"请写明日期重新发送，例如：改期 {other.month}月{other.day}日 {hour:%H:%M}"
    )


def _at_its_hour(ctx: Context, meeting: repo.Meeting, vague: Hourless) -> ParsedTime:
    """「改到明天下午」: that day at the meeting's own hour when the hour lies in that part of
    the day (a 15:00 meeting moved to 明天下午 stays at 15:00); otherwise the hour is asked."""
    old = meeting.starts_at.astimezone(ctx.tz)
    start, end = vague.hours
    if not start <= old.hour < end:
        said_day = t.day(vague.when.astimezone(ctx.tz).date())
        raise UsageError(
            f"请写明新的钟点（{said_day}{vague.period}几点；原定 {old:%H:%M}），"
            f"例如：改期 {vague.written}"
        )
    day = vague.when.astimezone(ctx.tz)
    moved = day.replace(hour=old.hour, minute=old.minute, second=0, microsecond=0)
    return ParsedTime(moved.astimezone(UTC), vague.rest, explicit_time=True, weekday=vague.weekday)


# What names a room (「三楼会议室」「学会办公室」「二楼」), for 改期 given a place and no time.
_A_PLACE = re.compile(r"楼|室|厅|馆|中心|大厦|酒店|宾馆|线上|网上|视频|腾讯会议|钉钉会议")

# Whether what 改期 was given names a day (「12月9日」「明天」「下周三」「2026-12-09」「12/9」): a
# place said with none (「改到三楼会议室」) is a change of place.
_SAYS_A_DAY = re.compile(r"[月日号/\-天周今明后昨]|星期|礼拜")
# A numbered room or building (「2号会议室」「3号楼」「5号厅」): a place, its 号 no day of the month.
_A_ROOM = re.compile(
    r"[0-9一二三四五六七八九十]+ ?号 ?(?=会议室|会客室|办公室|楼|室|厅|馆|报告厅|教室|房间)"
)

# 「半小时」「20分钟」「一个半小时」「两个钟头」「一天」「一周」「两个星期」 at the start of the
# arguments (「一周四」 is no week).
_SHIFT = re.compile(
    r"^\s*(?:(?P<n>\d+|[一二两三四五六七八九十]+)\s*个?\s*(?P<half>半)?\s*"
    r"(?P<unit>小时|钟头|分钟|分|天|(?:周|星期|礼拜)(?![一二三四五六日天1-7]))"
    r"|(?P<only_half>半)\s*个?\s*(?:小时|钟头))(?:以后|之后|后)?\s*"
)
SHIFT_USAGE = "会议推迟半小时 / 会议提前20分钟 / 会议推迟到下周四上午9点"


def _shift(args: str) -> tuple[timedelta, str] | None:
    """「半小时 三楼」 -> (30 minutes, '三楼'); None when the arguments start with no duration."""
    found = _SHIFT.match(args)
    if found is None:
        return None
    if found.group("only_half"):
        minutes = 30
    else:
        n = small_number(found.group("n"))
        if n is None:
            return None
        unit = found.group("unit")
        hours = unit in ("小时", "钟头")
        minutes = n * 60 + (30 if found.group("half") else 0) if hours else n
        if unit == "天":  # 「会议往后推一天」: the same hour that many days later
            minutes = n * 24 * 60 + (12 * 60 if found.group("half") else 0)
        elif unit not in ("小时", "钟头", "分钟", "分"):  # 「会议推迟一周」: a week, 7 days
            minutes = n * 7 * 24 * 60 + (84 * 60 if found.group("half") else 0)
    return timedelta(minutes=minutes), args[found.end() :]


async def time_suggested(ctx: Context, args: str) -> list[OutgoingMessage]:
    """A change of the meeting's time said as a condition (「这个会延期一周的话我就能来」) or, by a
    member, as an item's deferral before the meeting (「推迟一周」): nothing changes. The leader
    decides the time: a member is told so; the leader is asked whether to move it so."""
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(ctx, (g.MeetingState.DRAFT, g.MeetingState.CONVENED))
    leader = await repo.person(meeting.leader_id)
    if person.id != leader.id:
        return [
            ctx.reply(
                f"会议时间由组长{leader.name}决定，这句话没有改动会议时间。"
                f"想改期的，请和组长商量；按原定时间（{t.when(meeting.starts_at, ctx.tz)}）"
                "不能参会的，请发送「请假 理由」。"
            )
        ]
    said = _CONDITIONAL_CHANGE.search(matching_form(args))
    if said is not None and _CANNOT_MAKE_IT.search(matching_form(args)[said.end() :]):
        # 「要是提前半小时，我就赶不上了」: why not to change it, not a change to make
        return [
            ctx.reply(
                f"这句话是假设，会议时间没有改动，仍为{t.when(meeting.starts_at, ctx.tz)}。"
                f"要改期，请发送「改期 新时间」，例如：{RESCHEDULE_USAGE}"
            )
        ]
    change = said.group("change") if said is not None else args
    verb = _CHANGE_VERB.match(change)
    rest = change[verb.end() :] if verb is not None else change
    note = "这句话是假设，会议时间还没有改。" if said is not None else ""
    try:
        asked = reschedule_asked(
            ctx, meeting, rest, note=note, later=verb is None or verb.group() != "提前"
        )
    except UsageError:
        raise UsageError(
            f"{note or '会议时间还没有改。'}要改期，请发送「改期 新时间」，例如：{RESCHEDULE_USAGE}"
        ) from None
    raise asked


# What follows a change said as a condition when it is why not to make it: the speaker would then
# not make it (「要是提前半小时，我就赶不上了」), not that they would then come.
_CANNOT_MAKE_IT = re.compile(
    r"赶不上|赶不及|赶不过来|赶不到|来不及|来不了|去不了|到不了|参加不了|没法(?:来|去|参加|到)"
    r"|不能(?:来|去|参加|到)"
)
# What changes the meeting's time, said in a condition: the verb, then a time or a while
# (「改期」 needs none).
_CHANGE_VERB = re.compile(
    r"延期|推迟|顺延|延后|往后推|往后延|往后挪|改期|改到|改在|改成|改为|挪到|换到|提前"
)
_A_CHANGE = (
    rf"(?:{_CHANGE_VERB.pattern}) ?(?:(?:到|至) ?)?(?=[0-9一二两三四五六七八九十半下周星礼明后今本这])"
    r"|(?:改期|改时间|换时间|换个时间|延期|推迟)(?=的话|[,，]|$)"
)
# Where the change said ends: the condition's end, or who then would come.
_CHANGE_ENDS = r"的话|[,，。]|就|我|大家|咱们|我们|他|她|都|才|那|再|应该|可能|也许"
# 「这个会延期一周的话我就能来」「如果推迟一周我就能来」「要是改到周六大家都能参加」: a change
# of the meeting's time said as a condition, not of an item (「这个议题延期一周的话…」).
_CONDITIONAL_CHANGE = re.compile(
    rf"(?!.*(?:议题|第[0-9一二三四五六七八九十]+项))"
    rf"(?:[^,，。]*?(?:如果|要是|假如|假设|万一|若是|倘若)[^,，。]*?|[^,，。]*?)"
    rf"(?P<change>(?:{_A_CHANGE})(?:(?!{_CHANGE_ENDS}).)*)"
)
_PUT_BACK_IF = (
    r"(?P<rest>(?=[^,，。]*?(?:如果|要是|假如|假设|万一|若是|倘若)|[^,，。]*?的话)"
    rf"{_CONDITIONAL_CHANGE.pattern}(?:的话)?(?:[,，\s]|就|我|大家|咱们|我们|他|她|都|才|那|再|应该|可能|也许).*)"
)
# The route a date change said so goes to (Route.instead), before the permission gate: anyone
# may say one.
TIME_SUGGESTED = Route(
    ("推迟会议",),
    time_suggested,
    g.Need.ANYONE,
    "推迟会议 半小时",
    "会议时间的建议（由组长决定）",
    "成员",
)


async def conditional_instead(ctx: Context, args: str) -> tuple[Route | str, str] | None:
    """推迟会议's frame said as a condition (_PUT_BACK_IF): a suggestion, not a command."""
    if re.fullmatch(_PUT_BACK_IF, matching_form(args)):
        return TIME_SUGGESTED, args
    return None


async def meeting_put_back_instead(ctx: Context, args: str) -> tuple[Route | str, str] | None:
    """暂缓 said before the meeting with a time or a while (「推迟一周」) by other than the
    meeting's leader: about the meeting's time, which the leader decides (the leader is asked
    by 暂缓 itself)."""
    if not args.strip() or ctx.society is None or ctx.person is None:
        return None
    meeting = ctx.active_meeting or await repo.active_meeting(ctx.society.id)
    if meeting is None or meeting.state not in (g.MeetingState.DRAFT, g.MeetingState.CONVENED):
        return None
    if meeting.leader_id == ctx.person.id:
        return None
    try:
        _rescheduled(ctx, meeting, args)
    except UsageError:
        return None
    return TIME_SUGGESTED, args


def a_while_alone(said: str) -> timedelta | None:
    """「一周」「半小时吧」: a while said with nothing else (particles aside); None otherwise."""
    found = _shift(_TO_LEAD.sub("", said, count=1))
    if found is None or found[1].strip().strip(_PLACE_PARTICLES + "。.!！"):
        return None
    return found[0]


async def postpone_meeting(ctx: Context, args: str) -> list[OutgoingMessage]:
    """推迟会议: by a duration (「会议推迟半小时」), or to a time (as 改期)."""
    return await _shift_meeting(ctx, args, later=True)


async def advance_meeting(ctx: Context, args: str) -> list[OutgoingMessage]:
    """提前会议: by a duration (「会议提前20分钟」), or to a time (as 改期)."""
    return await _shift_meeting(ctx, args, later=False)


async def _shift_meeting(ctx: Context, args: str, *, later: bool) -> list[OutgoingMessage]:
    ctx.require_society()
    shift = _shift(_TO_LEAD.sub("", args, count=1))
    if shift is None:
        if not args.strip():
            raise UsageError(f"请写明推迟或提前多久，或者新的时间，例如：{SHIFT_USAGE}")
        return await reschedule_meeting(ctx, args)
    meeting = await current_meeting(ctx, (g.MeetingState.DRAFT, g.MeetingState.CONVENED))
    await require_meeting_leader(ctx, meeting, "会议时间没有改")
    return await _moved_by(ctx, meeting, shift, later=later)


async def _moved_by(
    ctx: Context, meeting: repo.Meeting, shift: tuple[timedelta, str], *, later: bool
) -> list[OutgoingMessage]:
    """The meeting put back (`later`) or forward by a while, with the place or reason said
    after it, and the new notice."""
    return await _renotice(ctx, meeting, *_by_a_while(ctx, meeting, shift, later=later))


def _by_a_while(
    ctx: Context, meeting: repo.Meeting, shift: tuple[timedelta, str], *, later: bool
) -> tuple[datetime, str, str]:
    """The meeting's start put back (`later`) or forward by a while, and the place and reason
    said after it."""
    by, rest = shift
    if not by:
        raise UsageError(f"请写明推迟或提前多久，例如：{SHIFT_USAGE}")
    if leading_time(rest, ctx.now, ctx.tz) or hourless_time(rest, ctx.now, ctx.tz):
        # 「改期 两天后下午3点」: an hour after the while is no place; the new time said whole
        raise UsageError(
            f"没有改期：「{t.echo(rest)}」是时间，不是地点。请写明新的日期和钟点，例如：改期 12月10日 15:00"
        )
    place, reason = _place_and_reason(rest)
    starts_at = meeting.starts_at + by if later else meeting.starts_at - by
    return starts_at, place or meeting.place, reason


async def move_meeting(ctx: Context, args: str) -> list[OutgoingMessage]:
    """更改地点: the same meeting, the same time, a new place, with a new notice."""
    ctx.require_society()
    meeting = await current_meeting(ctx, (g.MeetingState.DRAFT, g.MeetingState.CONVENED))
    await require_meeting_leader(ctx, meeting, "会议地点没有改")
    return await _renotice(ctx, meeting, meeting.starts_at, *_new_place(args))


def _new_place(said: str) -> tuple[str, str]:
    """The new place and the reason said for it; refused when no place is said."""
    place, reason = _place_and_reason(_TO_LEAD.sub("", said, count=1))
    if not place:
        raise UsageError(f"请写明新的会议地点，例如：{MOVE_USAGE}")
    return place, reason


def _place_and_reason(text: str) -> tuple[str, str]:
    """「三楼会议室 理由：组长出差」 -> ('三楼会议室', '组长出差'); either may be empty."""
    reason = ""
    marker = _REASON_MARKER.search(text)
    if marker is not None:
        text, reason = text[: marker.start()], text[marker.end() :]
    place = _PLACE_LEAD.sub("", text.strip(" ,，。;；")).strip(" ,，。;；")
    place = _NEW_PLACE_LEAD.sub("", place).strip(" ,，。;；")
    place = _place_only(place)
    if _SAME_PLACE.fullmatch(place) or _NO_PLACE_YET.search(place):
        place = ""  # 「地点不变」「地点改为哪里还没定」: the place stays
    return bounded(place, "会议地点", 100), bounded(reason.strip(" ,，。;；"), "改期理由")


def _place_only(said: str) -> str:
    """The place in what was said after a time: 「会议推迟到…9点，麻烦大家留意」 and
    「…三楼会议室，请大家准时参加」 tell everyone something after it, 「会议推迟半小时吧」 has
    none."""
    said = _MEETING_SAID_AFTER.sub("", said)  # 「学会会议室 再开一次会」: the place is before it
    # a remark after a space too (「学会302 请准时参加」)
    clauses = re.split(rf"[,，。;；!！]|\s+(?={_A_REMARK.pattern})", said)
    kept = next((i for i, c in enumerate(clauses) if _A_REMARK.match(c.strip())), len(clauses))
    said_first, *later = [c.strip() for c in clauses[:kept] if c.strip()] or [""]
    # 「，王强那边堵车」 after the time: a clause of its own is a place only if it names one
    if clauses[0].strip() != said_first and not _A_PLACE.search(said_first):
        return ""
    place = "，".join([said_first, *(c for c in later if _A_PLACE.search(c))])
    if _NOT_A_PLACE.search(place):  # 「停车吧楼下满了」「三楼还是四楼来着」: a sentence
        return ""
    return place.rstrip(_PLACE_PARTICLES).strip()


# The meeting said after its place (「学会会议室 再开一次会」「学会三楼会议室开下半年的领导小组会」):
# no part of the place (「…开发区管委会」 is one).
_MEETING_SAID_AFTER = re.compile(
    r"\s*(?:我们|咱们|大家)?(?:就|再|先|又|还|也|要|来)?(?:召开|开)"
    r"(?:个|一个|一次|次|[^\s,，。;；!！开]{0,10}?(?:领导小组|小组|碰头|短|例|专题|党建工作))?"
    r"(?:会议|会)[吧啊]?$"
)
# What no place says: a particle inside it, a question, a happening.
_NOT_A_PLACE = re.compile(r"[吧了呢吗嘛](?=.)|来着|还是|堵车|坏了|满了|没水")


# A clause said to everyone after a new time or place (「麻烦大家留意」「请准时参加」).
_A_REMARK = re.compile(
    r"麻烦|请(?!示)|大家|各位|辛苦|谢谢|感谢|注意|留意|准时|别忘|记得|抱歉|不好意思|到时|收到"
)
# A remark to everyone ending the agenda (「，谢谢」「，请准时参加」「。请大家提前阅读材料」): said
# after the last title, it had been glued to it, and 「经费预算（重大），谢谢」 became a general item.
_TRAILING_REMARK = re.compile(rf"[,，。.!！;；\s]+(?:{_A_REMARK.pattern}|望|敬请)[^；;\n]*$")
# A place not decided (「地点改为哪里还没定」「地点待定」): no new place.
_NO_PLACE_YET = re.compile(r"哪里|哪儿|什么地方|哪个地方|待定|还没定|未定|另行通知|再通知|再定")
_PLACE_PARTICLES = "吧啊呀哈呢嘛哦噢~\uff5e"


async def _renotice(
    ctx: Context, meeting: repo.Meeting, starts_at: datetime, place: str, reason: str
) -> list[OutgoingMessage]:
    """The meeting at `starts_at` in `place`, recorded, and the roster told."""
    society = ctx.require_society()
    person = ctx.require_person()
    moved = starts_at != meeting.starts_at
    if not moved and place == meeting.place:
        raise UsageError(
            f"第{meeting.number}次会议本来就定在{t.when(meeting.starts_at, ctx.tz)}、"
            f"{meeting.place}，没有变化。"
        )
    if moved and starts_at <= ctx.now:
        raise UsageError(
            f"新的会议时间 {t.when(starts_at, ctx.tz)} 已经过去了，请重新发送一个将来的时间。"
        )
    state = g.meeting_next(meeting.state, g.MeetingAction.RESCHEDULE)
    records = await repo.attendance(meeting.id)
    # A check-in counts for the new time when it was made in the new time's window (the
    # room of a meeting put back by a few minutes stays checked in); else it is void.
    changed: dict[int, g.Attendance] = {}
    for pid, entry in records.items():
        if entry.status in g.PRESENT_STATES:
            status = g.checkin_counts_as(entry.at, starts_at, ctx.policy)
            if status is not entry.status:
                changed[pid] = status
    for pid, status in changed.items():
        why = "会议改期，原签到作废" if status is g.Attendance.UNKNOWN else ""
        await repo.set_attendance(meeting.id, pid, status, reason=why, now=records[pid].at)
    cleared = [p for p, status in changed.items() if status is g.Attendance.UNKNOWN]
    await repo.update_meeting(meeting.id, starts_at=starts_at, place=place, state=state)
    on_leave = [
        p for p in meeting.roster if p in records and records[p].status is g.Attendance.LEAVE
    ]
    await record(
        ctx,
        EventKind.MEETING_RESCHEDULED,
        {
            "by": person_payload(person),
            "from": meeting.starts_at.isoformat(),
            "starts_at": starts_at.isoformat(),
            "place_from": meeting.place,
            "place": place,
            "reason": reason,
            "checkins": dict(
                zip(await names(changed), [a.value for a in changed.values()], strict=True)
            ),
        },
        meeting=meeting,
    )
    text = await _renotice_text(ctx, society, meeting, starts_at, place, reason)
    hints = []
    if cleared:
        hints.append(
            f"改期前已签到的{join(await names(cleared))}：原签到作废，请在新时间会前一小时起"
            "重新发送「签到」。"
        )
    if on_leave:
        hints.append(
            f"已请假的{join(await names(on_leave))}：请假仍然有效；如新时间可以参会，"
            "会前一小时起直接发送「签到」即按出席记录。"
        )
    hints.append(f"这是新的通知，{t.NOTICE_ACK_HINT}新时间不能参会的成员请发送「请假 理由」。")
    return [ctx.reply(text + "\n" + "\n".join(hints), await mentions_for(ctx, meeting.roster))]


async def _renotice_text(
    ctx: Context,
    society: repo.Society,
    meeting: repo.Meeting,
    starts_at: datetime,
    place: str,
    reason: str,
) -> str:
    moved = starts_at != meeting.starts_at
    title = "会议改期通知" if moved else "会议地点变更通知"
    when = t.when(starts_at, ctx.tz)
    lines = [
        f"【{title}】{society.name}党建工作领导小组第{meeting.number}次会议",
        f"时间：{when}（原定{t.when(meeting.starts_at, ctx.tz)}）" if moved else f"时间：{when}",
        f"地点：{place}（原定{meeting.place}）" if place != meeting.place else f"地点：{place}",
    ]
    if reason:
        lines.append(f"理由：{t.echo(reason)}")
    agenda = await _accepted_agenda(meeting)
    lines.append("议题：\n" + ("\n".join(agenda) if agenda else "（暂无）"))
    return "\n".join(lines)


async def recess(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「休会」「暂停一下」: the rules know no pause. A break does not stop the meeting; what
    holds during it, and how to end or move the meeting instead. Writes nothing."""
    meeting = await current_meeting(ctx)
    if meeting.state is g.MeetingState.OPEN:
        text = (
            f"第{meeting.number}次会议不设暂停：休息期间会议仍在进行，出席记录和进行中的表决照常有效，"
            "休息后主持人继续主持即可。中途离开的成员请发送「离席 理由」。"
            "今天不再继续，请组长发送「散会」（未表决的议题可发送「暂缓 编号 理由」转下次会议）。"
        )
    elif meeting.state in (g.MeetingState.DRAFT, g.MeetingState.CONVENED):
        text = (
            f"第{meeting.number}次会议还没有开始，没有可暂停的会议。需要调整时间，组长可发送"
            "「推迟会议 半小时」或「改期 新时间」；不开了请发送「取消会议 理由」。"
        )
    else:
        text = f"第{meeting.number}次会议{t.MEETING_STATE[meeting.state]}，没有进行中的会议。"
    return [ctx.reply(text)]


async def status(ctx: Context, args: str) -> list[OutgoingMessage]:
    society = ctx.require_society()
    meeting = await repo.active_meeting(society.id) or await repo.latest_meeting(society.id)
    members = await repo.members(society.id)
    warnings = roster_warnings(members, ctx.policy, society.roster_exception)
    if meeting is None:
        due = _cadence_line(ctx, await repo.held_starts(society.id))  # 「下次会议什么时候」
        return [ctx.reply("\n".join([f"{society.name}：目前没有会议。{due}", *warnings]))]
    lines = [
        f"{society.name} 第{meeting.number}次会议：{t.MEETING_STATE[meeting.state]}",
        f"时间：{t.when(meeting.starts_at, ctx.tz)}　地点：{meeting.place}",
    ]
    if meeting.state is g.MeetingState.CONVENED and _lapsed(ctx, meeting):
        lines.append(f"下一步：{_LAPSED_NEXT}。")
    chair = await repo.person(meeting.chair_id) if meeting.chair_id else None
    if chair is not None:
        lines.append(f"主持：{chair.name}")
    lines.extend(await meeting_roster_lines(meeting, [x.person.id for x in members if x.on_roster]))
    lines.append(await attendance_summary(ctx, meeting))
    if meeting.state in (g.MeetingState.CONVENED, g.MeetingState.OPEN):
        lines.append(await quorum_line(ctx, meeting))
    for it in await repo.items(meeting.id):
        outcome = f"，{t.OUTCOME[g.Outcome(it.outcome)]}" if it.outcome else ""
        recused = await repo.recused(it.id)  # 「谁回避了」
        aside = f"（回避：{join(await names(sorted(recused)))}）" if recused else ""
        lines.append(
            f"议题{it.number}「{it.title}」（{t.MATTER[it.matter_type]}）："
            f"{t.item_state(it.state, meeting.state, it.matter_type)}{outcome}{aside}"
        )
    if meeting.state in (g.MeetingState.SIGNED, g.MeetingState.CANCELLED):
        # 「下次开会是什么时候」 with none announced: when the next is due
        lines.append(
            f"目前没有已通知的会议。{_cadence_line(ctx, await repo.held_starts(society.id))}"
        )
    lines.extend(warnings)
    return [ctx.reply("\n".join(lines))]


async def voting_rules(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「法定人数是多少」「多少票才能通过」: the society's thresholds, worked out for its roster as
    it stands (this society's policy, as the votes will apply it). Shows; writes nothing."""
    society = ctx.require_society()
    n = sum(1 for x in await repo.members(society.id) if x.on_roster)
    policy = ctx.policy
    q = g.check_quorum(0, n, policy.meeting_quorum)
    meeting = ctx.active_meeting or await repo.active_meeting(society.id)
    lines = []
    if meeting is not None and meeting.state is g.MeetingState.OPEN:
        # 「通过需要几票」 during a vote: the item's own count (its base, its rule), and only
        # that unless all is asked for (「表决规则 全部」)
        for vote, it in await repo.open_votes(meeting.id):
            lines.append(
                f"正在表决的议题{it.number}「{it.title}」（{t.MATTER[it.matter_type]}）："
                f"{votes.pass_rule(ctx, vote, it)}。"
            )
        if lines and args.strip() != "全部":
            return [ctx.reply("\n".join([*lines, "发送「表决规则 全部」查看全部规则。"]))]
    lines += [
        f"{society.name}领导小组现有{n}人（每次会议按召开时的名单计算）：",
        f"开会：须{t.READING[q.threshold.reading]}{t.share_text(q.threshold.share)}成员到会，"
        f"即至少{q.needed}人（第十八条）；不能参会的会前请假，可交书面意见（不计票）。",
        "通过：赞成票须超过应到会人数的规定比例（回避的成员不计入应到会人数）：",
    ]
    groups: dict[g.MatterRule, list[g.MatterType]] = {}
    for kind in g.MatterType:  # matter types with the same rule are said together
        if kind not in g.NOT_VOTED:
            groups.setdefault(policy.matter(kind), []).append(kind)
    for rule, kinds in groups.items():
        need = g.check_quorum(0, n, rule.quorum)
        methods = "、".join(t.METHOD[m] for m in g.VoteMethod if m in rule.allowed_methods)
        line = (
            f"- {'、'.join(t.MATTER[k] for k in kinds)}：{methods}；"
            f"到会{t.READING[rule.quorum.reading]}{t.share_text(rule.quorum.share)}"
            f"（至少{need.needed}人）方可表决，赞成至少{g.votes_needed(n, rule)}票"
        )
        if rule.major:
            dissent = t.share_text(policy.deferral_dissent_share)
            line += (
                f"；反对和弃权达到出席表决人数的{dissent}以上、或赞成与反对相差不超过"
                f"{policy.deferral_margin}票时暂缓，下次会议再议（第十六条）"
            )
        if rule.leader_votes_last:
            line += "；组长最后表态"
        lines.append(line + "。")
    lines.append("- 学习、传达、通报的议题不表决，纪要记为「学习通报」。")
    lines.append("领导小组每半年至少召开一次会议（第十七条），发送「历次会议」查看上次开会的日期。")
    return [ctx.reply("\n".join(lines))]


async def online(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「我线上参加可以吗」: the rules (第十八条) ask for members 到会 and say nothing of taking
    part online; the bot counts a check-in, wherever it comes from. 「能线上投一票吗？赞成」 from
    a member on leave: no vote (attendance.voting_while_on_leave); a ballot word said with the
    question (`args`) is never counted. Shows; writes nothing."""
    on_leave = await voting_while_on_leave(ctx)
    if on_leave is not None:
        return [ctx.reply(on_leave)]
    ballot = "这句话没有计票：表决中请单独发送「赞成」「反对」或「弃权」。" if args else ""
    return [
        ctx.reply(
            "工作规则第十八条要求半数以上成员到会方可召开会议，没有写明线上参会是否算到会。"
            "机器人按「签到」计入出席，不区分现场和线上；能否线上参会，请组长决定并在群里说明。"
            f"参会的成员会前一小时起发送「签到」，不能参会的请发送「请假 理由」。{ballot}"
        )
    ]


async def proxy(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「我可以派人代我参加吗」「让小王代我参会行吗」: the rules provide for no one attending in a
    member's place. 第十八条 asks members 到会, and one who cannot come asks for leave before the
    meeting and may state important views in writing; 第十九条 lets the convener name people to
    attend as observers (列席). The bot counts only members' own check-ins and ballots, so a
    stand-in neither makes the quorum nor votes. Shows; writes nothing."""
    return [
        ctx.reply(
            "工作规则没有规定成员可以委托他人代为参会：第十八条要求半数以上成员到会方可召开会议，"
            "成员因故不能参加的，应当在会前请假，对会议议题的重要意见可以用书面形式表达。"
            "机器人只按成员本人的签到计入到会、只计成员本人的投票，代为参会的人不计入到会人数，也不能代为表决。\n"
            "不能参会请在会前发送「请假 理由」；请假后可发送「书面意见 议题编号 意见」"
            "（写入纪要，不计票）。\n"
            "其他人员参加会议只能列席：由召集人根据议题指定（第十九条），列席人员不表决、不计入到会人数；"
            "需要的请与组长商量。"
        )
    ]


async def materials(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「会议材料发一下」「需要准备什么材料吗」: the bot keeps and sends no documents; it says the
    meeting's agenda (what the materials would be about) and whom to ask (the leader, who
    convenes and prepares the meeting). Shows; writes nothing."""
    society = ctx.society
    meeting = (
        None if society is None else ctx.active_meeting or await repo.active_meeting(society.id)
    )
    none = "机器人不收发会议材料（文件）。"
    if meeting is None:
        return [ctx.reply(f"{none}目前没有进行中的会议；会议材料请向组长索取。")]
    agenda = [
        it
        for it in await repo.items(meeting.id)
        if it.state not in (g.ItemState.PROPOSED, g.ItemState.REJECTED)
    ]
    listed = "；".join(f"{it.number}. {it.title}" for it in agenda) or "暂无"
    leader = (await repo.people([meeting.leader_id])).get(meeting.leader_id)
    who = f"组长{leader.name}" if leader is not None else "组长"
    return [
        ctx.reply(
            f"{none}第{meeting.number}次会议（{t.when(meeting.starts_at, ctx.tz)}）的议题：{listed}。"
            f"会议材料请向{who}索取；需要会前阅读的，可请组长在群里发送或另行分发。"
        )
    ]


RECENT_SHOWN = 5


async def history(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「历次会议」「上次会议什么时候开的」「今年开了几次会」: the last meetings (when, where, how
    far each went, what its items came to), how many were held this year, and when the next
    is due by the half-year rule (第十七条; the cadence reminders count from the same day).
    Shows; writes nothing."""
    society = ctx.require_society()
    recent = await repo.recent_meetings(society.id, RECENT_SHOWN)
    if not recent:
        return [
            ctx.reply(
                f"{society.name}还没有召开过领导小组会议。领导小组每半年至少召开一次会议（第十七条），"
                f"{t.CONVENE_HINT}。"
            )
        ]
    lines = [f"{society.name}领导小组最近的会议："]
    for mt in recent:
        line = (  # a cancelled meeting was never held: no number (repo.create_meeting)
            f"{t.when(mt.starts_at, ctx.tz)} {mt.place}：已取消（未召开，不计次数）"
            if mt.state is g.MeetingState.CANCELLED
            else f"第{mt.number}次 {t.when(mt.starts_at, ctx.tz)} {mt.place}："
            f"{t.MEETING_STATE[mt.state]}"
        )
        outcomes = Counter(
            t.OUTCOME[g.Outcome(it.outcome)]
            for it in await repo.items(mt.id)
            if it.outcome and it.state is not g.ItemState.REJECTED
        )
        if outcomes:
            line += "；" + "、".join(f"{word}{n}项" for word, n in outcomes.items())
        lines.append(line)
    held = await repo.held_starts(society.id)
    today = ctx.now.astimezone(ctx.tz).date()
    this_year = sum(1 for at in held if at.astimezone(ctx.tz).year == today.year)
    lines.append(f"累计召开{len(held)}次，其中{today.year}年{this_year}次。")
    lines.append(_cadence_line(ctx, held))
    return [ctx.reply("\n".join(lines))]


def _cadence_line(ctx: Context, held: list[datetime]) -> str:
    """When the next meeting is due by the half-year rule (第十七条), from the last one held."""
    if not held:
        return "还没有开成过会议。领导小组每半年至少召开一次会议（第十七条）。"
    today = ctx.now.astimezone(ctx.tz).date()
    last = held[-1].astimezone(ctx.tz).date()
    due = add_months(last, g.CADENCE_MONTHS)
    if due >= today:
        return (
            f"上次开会是{t.day(last)}；领导小组每半年至少召开一次会议（第十七条），"
            f"下次应在{t.day(due)}前召开。"
        )
    return (
        f"上次开会是{t.day(last)}，已超过半年（第十七条要求每半年至少召开一次），"
        "请组长尽快召开会议。"
    )


# Saying one cannot come: a leave when it opens the message, asked back when it ends it
# (「那天出差，来不了」).
_CANNOT_COME = (
    "请个假",
    "来不了",
    "去不了",
    "参加不了",
    "不能参加",
    "无法参加",
    "没法参加",
    "不能到会",
    "无法到会",
)

# How long one will be late (「半小时」「十分钟」「一会儿」).
_HOW_LONG = r"(?:一|个)?(?:[0-9]{1,3}|[一二两三四五六七八九十半]{1,3})?个?(?:小时|分钟|刻钟|会儿|会|点儿|点|些)"

# The meeting named after its verb, the verb said before a time: 「12月9日下午三点召开党建领导小组
# 会议」 (召 is part of the verb: left before it, it had been read as the place).
# 「开个临时会」「召开临时会议」「开个短会」: a meeting of a kind, convened the same way.
_KINDS = ("临时", "紧急", "小", "短")
_MEETING_NAMED = tuple(
    f"{verb}{body}{noun}"
    for verb in ("召开", "开")
    for body in ("领导小组", "党建领导小组", "党建工作领导小组")
    for noun in ("会议", "会")
)

# 「这个会延期一周」「把这次会议推迟两个星期，理由：…」「这个会延期到下周四」: the meeting named,
# put back by a while (then only a place or a reason, after a pause) or to a time. Not said
# as a condition (「这个会延期一周的话我就能来」).
_PUT_BACK = (
    r"(?!.*(?:的话|如果|要是|假如|万一))"
    r"(?:把|将)?(?:这个|这次|本次|此次|那个)?的?(?:会议|会) ?(?:时间)?(?:就|先|要|得|需要|再)? ?"
    r"(?:延期|推迟|顺延|延后|往后推|往后延|往后挪) ?"
    r"(?P<rest>(?:[0-9]+|[一二两三四五六七八九十]+) ?个? ?半? ?"
    r"(?:小时|钟头|分钟|天|周|星期|礼拜)(?![一二三四五六日天1-7])(?:[,，;；。 ].*)?"
    r"|半 ?个? ?(?:小时|钟头)(?:[,，;；。 ].*)?|(?:到|至) ?\S.*)"
)

ROUTES = [
    Route(
        ("召开会议", "召集会议", "开会通知"),
        announced(convene),
        g.Need.LEADER,
        CONVENE_USAGE,
        "召集会议并通知全体成员",
        "组长",
        asked="会议状态",
        phrasings=(
            "发会议通知",
            "通知开会",
            "组织开会",
            "安排开会",
            "安排会议",
            "约个会",
            "开个会",
            "召开一次会议",
            "开一次会",
            "convene",
            "发个会议通知",
            "发一个会议通知",
            "帮我发个会议通知",
        ),
        # 「下周二上午10点开」: the time, then 开 alone ends it (「…开始」「…开吗」 are none).
        timed=(
            "开个会",
            "开一次会",
            "召开会议",
            *_MEETING_NAMED,
            *(
                f"{v}{kind}会{n}"
                for v in ("开个", "开", "召开")
                for kind in _KINDS
                for n in ("", "议")
            ),
            "开会",
            "开",
        ),
        when=frozenset({None, g.MeetingState.CLOSED}),
    ),
    Route(
        ("提议议题", "添加议题", "新增议题"),
        announced(add_topic),
        g.Need.MEMBER,
        "提议议题 会员发展工作（一般）",
        "成员提议议题；组长添加则直接列入议程",
        "成员",
        phrasings=(
            "提一个议题",
            "我提一个议题",
            "我想提一个议题",
            "提个议题",
            "建议议题",
            "加个议题",
            "加一个议题",
            "再加一个议题",
            "增加议题",
            "增加一个议题",
            "建议增加议题",
            "建议增加一个议题",
            "建议加一个议题",
            "我有个议题",
            "有个议题想提",
            "我有个议题想提",
            "有一个议题想提",
            "提议增加议题",
            "提议增加一个议题",
            "提议",
            "议题建议",
            "建议讨论",
            "提议讨论",
            "希望讨论",
            "补充一个议题",
            "补充议题",
            "再补充一个议题",
            "我想补充一个议题",
            "我想在会上讨论一下",
            "我想在会上讨论",
            "想在会上讨论一下",
            "在会上讨论一下",
            "我想讨论一下",
            "建议讨论一下",
            "我建议讨论一下",
        ),
        # 「我也提一个：党建活动计划」: the title after the colon
        frames=(
            r"(?:我们?)?(?:也|再|还)?(?:想|要)?再?提(?:一个|个|一)(?:议题)? ?: ?(?P<rest>\S.*)",
        ),
        when=OFFERED_BEFORE,
    ),
    Route(
        ("同意议题", "确定议题"),
        announced(accept_topic),
        g.Need.LEADER,
        "同意议题 2",
        "把成员提议的议题列入议程",
        "组长",
        phrasings=("通过议题", "列入议程", "列入议题", "议题同意"),
        instead=_accepted_or_supported,
        frames=(
            rf"(?:同意|批准)(?P<object>{_WHO}){_PROPOSAL}(?:列入议程|列入)?",
            # 「同意王强的议题」: a proposal by its proposer's name (not 「同意这个议题」, a ballot)
            rf"(?:同意|批准)(?P<object>(?!这|那|该|此|本){_NAME})的议题(?:列入议程|列入)?",
            rf"(?:采纳|接受)(?P<object>{_WHO}){_ADVICE}(?:列入议程|列入)?",
            rf"把?(?P<object>{_WHO}){_PROPOSAL}(?:可以|同意|采纳)",
            # 「李娜提的这个可以，加上吧」: the proposal by its proposer, the leader's yes to it
            rf"(?P<object>(?!这|那|该|此|本){_NAME})提的(?:这个|那个)?(?:议题|建议|提议)?(?:我看)?"
            # (「刘洋提的议题同意列入」)
            r"(?:可以|行|没问题|同意)(?:的)?(?:[,，] ?)?(?:加上|列上|加进去|列进去|列入议程|加入议程|列入)?"
            r"(?:吧)?",
            rf"把?(?P<object>{_WHO}){_ADVICE}(?:列入议程|列入议题|列入)",
            # 「同意把会员发展列入议程」「会员发展可以加入议程」: the proposal by its title
            rf"(?:同意|可以)?把?(?P<object>{_WHO})(?<![不没])(?:可以)?(?:列入|加入|加进|纳入|放进|放入|加到)"
            r"(?:议程|议题)(?:里|中)?",
        ),
        when=OFFERED_BEFORE,
        of_the_meeting=True,
    ),
    Route(
        ("支持议题",),
        support_topic,
        g.Need.ANYONE,
        "支持议题 3",
        "表示支持成员提出的议题建议（是否列入议程由组长决定；成员说「王强提的这个可以」也是这个意思）",
        "成员",
        shows=True,
        when=OFFERED_BEFORE,
    ),
    Route(
        ("驳回议题", "不列入议题"),
        announced(reject_topic),
        g.Need.LEADER,
        "驳回议题 3 理由",
        "不把成员提议的议题列入议程",
        "组长",
        phrasings=("不同意议题", "否决议题", "议题驳回"),
        instead=functools.partial(votes.ballot_on_voting_item, choice=g.Choice.NO),
        frames=(
            rf"(?:驳回|不采纳|不接受)(?P<object>{_WHO}){_ADVICE}{FRAME_REASON}",
            rf"(?P<object>{_WHO}){_ADVICE}(?:先?不列入(?:议程)?|驳回|不采纳){FRAME_REASON}",
            rf"(?P<object>{_WHO})(?:这次)?先?(?:不列入|不加入|不纳入|不放进)(?:议程|议题){FRAME_REASON}",
        ),
        when=OFFERED_BEFORE,
        of_the_meeting=True,
    ),
    Route(
        ("修改议题", "更改议题"),
        announced(edit_topic),
        g.Need.LEADER,
        EDIT_USAGE,
        "表决前修改议题标题或类型（上次暂缓的议题不能改）",
        "组长",
        phrasings=("改议题", "议题改为", "议题名称改为", "调整议题"),
        frames=(
            rf"把?(?P<object>{ITEM_REF})(?:的)?(?:标题|名称|题目)?"
            r"(?:改成|改为|修改为|更名为|换成|改一下[,，:：]?) ?(?P<rest>.+)",
            # 「议题2的类型改成重大」「议题2设为重大事项」: the type only
            rf"把?(?P<object>{ITEM_REF}){_SET_TYPE}",
            # 「把会费调整设为重大事项」: the item by its title, the type only
            rf"把(?P<object>[^,，。;；:：]{{1,30}}?)(?:议题)?{_SET_TYPE}",
        ),
        when=OFFERED_BEFORE,
        of_the_meeting=True,
    ),
    Route(
        ("撤回议题", "撤销议题"),
        announced(withdraw_topic),
        g.Need.LEADER,
        WITHDRAW_USAGE,
        "表决前把已列入议程的议题撤出议程（上次暂缓的议题不能撤）",
        "组长",
        phrasings=(
            "删除议题",
            "去掉议题",
            "取消议题",
            "议题撤回",
            "拿掉议题",
            "删掉议题",
            "撤掉议题",
        ),
        after=("撤回", "撤出议程", "删掉", "删除", "去掉", "撤掉", "拿掉", "不要了"),
        # 「第三项先不讨论了，材料还没准备好」: asked back, the reason after
        last=("先不讨论了", "不讨论了", "先不讨论", "撤掉", "去掉"),
        # 「去掉第一项」「撤掉第二个议题」: the verb first
        # (「删除议题 3」 is the phrasing, its number the argument)
        frames=(rf"(?:把)?(?:去掉|撤掉|删掉|拿掉|撤回|删除)(?P<object>(?!议题){ITEM_REF})吧?",),
        when=OFFERED_BEFORE,
        of_the_meeting=True,
    ),
    Route(
        ("列席", "邀请列席"),
        announced(add_observer),
        g.Need.CHAIR,
        "列席 @王理事长 非党员理事长列席",
        "指定列席人员并说明理由",
        "组长",
        phrasings=("请列席", "安排列席"),
        frames=(
            rf"(?:请|邀请)(?P<object>{_NAME})(?P<rest>{_TITLE}?)(?:来|参加会议并)?列席(?:会议|本次会议)?",
            # 「请吴国华列席，非党员理事长」「请吴国华理事长列席，他是非党员理事长」: the reason after
            rf"(?:请|邀请)(?P<object>{_NAME}){_TITLE}?(?:来|参加会议并)?列席(?:会议|本次会议)?"
            r"[,，:：;； ]+(?P<rest>.+)",
        ),
        when=OFFERED_BEFORE,
    ),
    Route(
        ("请假",),
        leave_or_hand_on,
        g.Need.MEMBER,
        "请假 出差在外",
        "会前请假（会议开始后按缺席记录）",
        "成员",
        wants="理由",
        phrasings=(
            *_CANNOT_COME,
            "leave",
            "请事假",
            # A second 请假 replaces the reason: 「请假理由改一下：去北京开会」.
            "请假理由改一下",
            "请假理由改为",
            "请假理由改成",
            "修改请假理由",
            "更改请假理由",
            "改一下请假理由",
            # 「我的请假理由是要出差」: the reason follows
            "我的请假理由是",
            "请假的理由是",
            "请假的原因是",
            "请假理由是",
            "请假原因是",
            "请假理由",
            "请假原因",
            "请两天假",
            "请一天假",
            "请半天假",
        ),
        # 「我能不能不去」: asked, not run.
        confirm=("能不能不去", "可以不去吗", "可以不参加吗", "能不参加吗", "能不能不参加"),
        ask="请假",
        says_why=True,
        with_views=True,
        before_asking=leave_asked,
        # 「13号我在北京开会，请假一次」: how much leave is no reason
        last=("请假", "请假一次", "请一次假", "请假一天", "请一下假", *_CANNOT_COME),
        # 「不好意思，那天我家里有事」「我那天要出差」: asked back, the reason as said.
        last_kept=(
            "有事",
            "有点事",
            "有别的事",
            "有事情",
            "另有安排",
            "有别的安排",
            "要出差",
            "在出差",
            "不舒服",
            "生病了",
            "住院了",
            "要住院",
        ),
        # In the meeting too: 「我今天来不了」 from one not there is recorded absent, with why.
        when=OFFERED_BEFORE | OFFERED_DURING,
        unlisted=OFFERED_DURING,
    ),
    Route(
        ("撤销请假",),
        withdraw_leave,
        g.Need.MEMBER,
        "撤销请假",
        "请假后又能参会（会前一小时起签到即按出席记录）",
        "成员",
        phrasings=(
            "取消请假",
            "不请假了",
            "我又能来了",
            "又能来了",
            "能来了",
            "可以来了",
            "又可以参加了",
            "又能参加了",
            "可以参加了",
            "能参加了",
            "请假撤回",
            "请假撤销",
            "撤回请假",
        ),
        shows=True,
        when=OFFERED_BEFORE,
    ),
    Route(
        ("书面意见",),
        written_opinion,
        g.Need.MEMBER,
        "书面意见 2 同意该方案",
        "请假成员对议题提交书面意见（不计票）",
        "成员",
        asked="会议状态",  # 「我的书面意见交上了吗」: what is on record, not another one
        phrasings=("提交书面意见", "交书面意见", "我的书面意见", "书面表决意见"),
        frames=(
            rf"(?:关于|对于|对)(?P<object>{_ON}){_MY}(?:书面)?意见{_IS}(?P<rest>.+)",
            rf"(?:关于|对于|对)(?P<object>{_ON})(?:的)?[,，]? ?书面意见{_IS}(?P<rest>.+)",
            rf"我对(?P<object>{_ON})的(?:书面)?意见{_IS}(?P<rest>.+)",
            # 「我对预算有意见，建议压缩会务费」: what the opinion is, after saying one has one.
            rf"我对(?P<object>{_ON})有(?:意见|建议|看法|想法)[,，] ?(?P<rest>.+)",
            # 「关于预算，我建议压缩会务费」: the opinion as said, with its 我建议.
            rf"(?:关于|对于)(?P<object>{_ON})[,，] ?(?P<rest>(?:我|本人)?(?:建议|认为|觉得|的意见).+)",
            # 「议题3：同意，但建议经费使用要公开」: the item and a colon, a view with more said
            # after it (「议题3：同意」 alone may be a ballot on item 3)
            rf"(?P<object>{ITEM_REF}) ?[:：] ?(?P<rest>(?:我|本人)?(?:同意|赞成|反对|不同意|弃权|没有?意见|无意见)"
            r"[,，;；] ?\S.*)",
            # 「年度总结我没意见，预算建议再细一点」: the whole, one opinion per item it names
            rf"(?P<object>{_view_clause(_VIEW)}{_MORE_VIEWS}*)",
            rf"(?P<object>{_view_clause(_BALLOT_VIEW)}{_MORE_VIEWS}+)",
        ),
        when=OFFERED_BEFORE,
    ),
    Route(
        ("收到",),
        acknowledge,
        g.Need.ANYONE,  # the recorder's or an observer's 「收到」 is answered in kind
        "收到",
        "确认收到会议通知（签到或请假也算确认）",
        "成员",
        phrasings=(
            "已收到",
            "收到了",
            "收到通知",
            "通知收到了",
            "通知已收到",
            "会议通知收到了",
            "知道了",
            "已阅",
            "已读",
            # Saying one will come answers the notice too (「参加不了」 is a leave: the longer
            # phrase wins).
            "会参加",
            "能参加",
            "准时参加",
            "按时参加",
            "一定参加",
            "准时到",
            "按时到",
            "会准时参加",
            "会按时参加",
            "会准时到",
            "会按时到",
            "一定准时参加",
            "got it",
            "received",
            "roger",
        ),
        # 「我参加」 alone (「我参加不了」 is a leave).
        alone=("参加", "会来", "能来", "一定来", "会到", "一定到"),
        when=OFFERED_BEFORE,
        # 「明天的会我参加」「这次会我一定到」: the meeting, then oneself coming.
        frames=(
            r"(?:明天|今天|后天|下周.|这次|本次|那天|周.|这个)的?会议?(?:我|本人)(?:会|一定|准时|按时)?"
            r"(?:参加|到|来)[了的啊]?",
        ),
        instead=receipt_instead,  # 「收到 1」: the committee's receipt of filing 1
        done_before_a_question=True,  # 「收到。另外…什么时候截止？」: received, the rest said back
        committee="确认收到",  # the committee's 「收到了」 in private, to a filing
        acknowledged=frozenset({g.MeetingState.CONVENED}),  # 「👍」「好的」 to the notice
    ),
    Route(
        ("登记缺席",),
        absence_noted,
        g.Need.MEMBER,
        "登记缺席 @赵敏",
        "问怎样记缺席（不用登记：散会时未签到也未请假的记为缺席）",
        "成员",
        phrasings=(
            "记缺席",
            "算缺席",
            "谁没来",
            "还有谁没来",
            "谁还没来",
            "都有谁没来",
            "今天谁没来",
        ),
        frames=(
            # 「赵敏没来，算缺席吧」「记赵敏缺席」「赵敏缺席了」
            r"(?:记|算|登记)?(?P<object>(?!今天|这次|本次) ?(?:@[^,，。:： ]{1,20}|[^,，。:： @谁我你他她]{2,4}?) ?)"
            r"(?:同志|老师)?(?:今天|这次)?(?:没来|没有来|缺席)了?"
            r"(?:[,，]? ?(?:就|那就)?(?:算|记|登记)(?:为|作|成)?缺席(?:吧|了)?)?",
        ),
        shows=True,
        when=OFFERED_DURING,
    ),
    Route(
        ("要我参加吗",),
        must_i_attend,
        g.Need.ANYONE,
        "要我参加吗",
        "问这次会议要不要自己参加（应到会、列席、记录人）",
        "成员",
        phrasings=(
            "我需要参加吗",
            "我要参加吗",
            "我要不要参加",
            "我需不需要参加",
            "我还要参加吗",
            "我还需要参加吗",
            "我也要参加吗",
            "我需要参会吗",
            "我要参会吗",
            "我还要参会吗",
            "我需要去吗",
            "我要去吗",
            "我也要去吗",
            "需要我参加吗",
            "我还要参加这次会吗",
            "我需要参加这次会吗",
            "这次会我要参加吗",
            "这次会议我需要参加吗",
            "我要参加这次会议吗",
        ),
        shows=True,
        when=OFFERED_BEFORE,
    ),
    Route(
        ("晚到",),
        running_late,
        g.Need.MEMBER,
        "晚到",
        "告知会晚一点到（会前也算确认收到通知；到场后再签到）",
        "成员",
        phrasings=(
            "会晚到",
            "在路上",
            "正在路上",
            "马上到",
            "马上就到",
            "快到了",
            "可能晚到",
            "要晚到",
            "晚点到",
            "晚一点到",
            "晚些到",
            "会迟到",
            "可能迟到",
            "要迟到",
            "会晚点到",
            "可能会晚到",
            "可能会迟到",
            "可能要晚到",
            "可能要迟到",
            "running late",
        ),
        ask="告知会晚到",
        last=("会晚到", "会迟到", "要迟到", "晚点到", "晚一点到"),
        # 「我那天可能晚到半小时」: which day and how sure before it, how long after it
        frames=(
            r"(?:(?:路上)?(?:有点|有些)?堵车了?|路上(?:有点|有些)?堵|地铁晚点了?|(?:临时|单位|手头)有点?事"
            r"|不好意思|抱歉)?[,，。 ]*"
            r"(?:另外|还有|对了|不过|但是)?[,， ]?(?:我|本人)?(?:那天|当天|今天|明天|后天|到时候?|届时)?"
            r"(?:我|本人)?(?:可能|估计|大概|也许|应该|恐怕)?(?:会|要|得)?"
            r"(?:晚到|迟到|晚来|晚点到|晚一点到|晚些到|晚一会儿到)"
            rf"(?P<rest>{_HOW_LONG})?(?:左右)?[了的哈啊]?",
            # 「到时候可能晚十分钟」「我会晚半小时到」: how long said between 晚 and 到
            r"(?:我|本人)?(?:那天|当天|今天|明天|后天|到时候?|届时)?(?:我|本人)?"
            r"(?:可能|估计|大概|也许|应该|恐怕)?(?:会|要|得)?晚"
            r"(?P<rest>(?:[0-9]{1,3}|[一二两三四五六七八九十半]{1,3}) ?个?(?:小时|分钟|刻钟))"
            r"(?:左右)?(?:到|来)?[了的哈啊]?",
        ),
        # 「收到，另外我那天可能晚到半小时」: it acknowledges the notice as 收到 does
        includes=("收到",),
        when=OFFERED_BEFORE,  # understood during the meeting too; help offers 签到 then
    ),
    Route(
        ("表决规则", "议事规则"),
        voting_rules,
        g.Need.ANYONE,
        "表决规则",
        "查看本学会开会和表决的法定人数、通过票数和暂缓规则",
        "成员",
        phrasings=(
            "法定人数",
            "法定人数是多少",
            "多少人才能开会",
            "几个人才能开会",
            "多少票才能通过",
            "几票才能通过",
            "需要几票",
            "需要多少票",
            "几票通过",
            "怎么算通过",
            "规则是什么",
            "开会规则",
            "通过规则",
        ),
        frames=(
            # 「开会要到多少人才算数」「议题要多少票才能通过呀」
            r"(?:开会|会议|这次会)?(?:要|需要|得)?(?:到|有|来)?(?:多少|几个)人(?:才|就)?"
            r"(?:算数|能开|可以开|能开会|够|行|有效)(?:呀|啊|吗|呢)?[?？]*",
            r"(?:开会|会议)(?:要|需要|得)(?:到|有|来)?(?:多少|几个)人(?:呀|啊|吗|呢)?[?？]*",
            r"(?:议题|表决|投票)?(?:要|需要|得)?(?:多少|几)票(?:才能|才|就)?(?:能)?(?:通过|算通过|有效)"
            r"(?:呀|啊|吗|呢)?[?？]*",
            # 「通过需要几票」「要通过得多少票」
            r"(?:议题|表决|投票)?(?:要|想)?通过(?:的话)?(?:要|需要|得|须)(?:多少|几)票(?:赞成)?"
            r"(?:呀|啊|吗|呢)?[?？]*",
        ),
        shows=True,
    ),
    Route(
        ("代人参会",),
        proxy,
        g.Need.ANYONE,
        "代人参会",
        "问能否派人代自己参会（不能；请假后可提交书面意见）",
        "成员",
        needs_society=False,
        phrasings=("委托参会", "代为参会", "派人参会", "找人代会", "找人替会"),
        frames=(
            # 「我可以派人代我参加吗」「能找人替我去开会吗」「让我们单位的小王代我参会行吗」
            r"(?:请问)?(?:我)?(?:能|可以|能不能|可不可以|可否)?(?:派|找|让|请|委托|安排|叫)"
            r"[^,，。?？!！]{0,15}?(?:代我|替我|代替我|代表我)(?:去)?(?:参加|参会|开会|出席)"
            r"(?:会议|这次会议?|一下)?(?:可以|行|可不可以|行不行|好|成)?(?:吗|么|不|嘛)?[?？]*",
            # 「能委托别人代为参会吗」「可以找人代开会吗」
            r"(?:请问)?(?:我)?(?:能|可以|能不能|可不可以|可否)(?:派|找|让|请|委托|安排)?"
            r"(?:人|别人|他人|其他人|同事)?(?:代为|代替|替|代)(?:参加|参会|开会|出席)"
            r"(?:会议)?(?:吗|么)?[?？]*",
            # 「小王能代我开会吗」: who first
            r"[^,，。?？!！]{1,10}?(?:能|可以|能不能|可不可以)(?:代我|替我|代替我|代表我)去?"
            r"(?:参加|参会|开会|出席)(?:会议|这次会议?)?(?:吗|么)?[?？]*",
        ),
        shows=True,
        when=frozenset(),  # asked, never offered
    ),
    Route(
        ("会议材料",),
        materials,
        g.Need.ANYONE,
        "会议材料",
        "问会议材料（机器人不收发文件：说明议题，请向组长索取）",
        "成员",
        needs_society=False,
        phrasings=("会议资料", "开会材料", "开会资料", "会议文件"),
        frames=(
            # 「会议材料发一下」「材料能发群里吗」「把会议资料发我一份」
            r"(?:请|麻烦)?(?:把)?(?:会议|开会|会上的?)?(?:的)?(?:材料|资料|文件)"
            r"(?:能|可以|麻烦)?(?:发|传|分享)(?:一下|到群里|群里|给我|我一份|一份)?(?:吗|么|吧)?[?？]*",
            # 「需要准备什么材料吗」「开会要带什么材料」「有会议材料吗」
            r"(?:请问)?(?:开会|会上|这次会议?|会议)?(?:我们)?(?:需要|要|得)(?:提前)?(?:准备|带|看)"
            r"(?:什么|哪些)?(?:材料|资料|文件)(?:吗|么|呢)?[?？]*",
            r"(?:请问)?(?:这次|本次)?(?:有|有没有)(?:会议)?(?:材料|资料|文件)(?:吗|么|呢)?[?？]*",
        ),
        shows=True,
        when=frozenset(),  # asked, never offered
    ),
    Route(
        ("线上参会",),
        online,
        g.Need.ANYONE,
        "线上参会",
        "问能否线上参会（工作规则没有写明，由组长决定）",
        "成员",
        needs_society=False,
        phrasings=(
            "线上参加",
            "视频参会",
            "视频参加",
            "远程参会",
            "远程参加",
            "在线参会",
            "在线参加",
        ),
        frames=(
            r"(?:请问)?我?(?:能|可以|能不能|可不可以)?(?:线上|视频|远程|在线|网上)(?:参加|参会|开会)"
            r"(?:会议)?(?:可以|行|可不可以|行不行)?(?:吗|么)?[?？]*",
            # 「我在南京，能线上投一票吗？赞成」: voting from afar, a ballot word after it (given
            # to the handler, which never counts it)
            r"(?:[^,，。?？]{1,20}[,，。] ?)?(?:请问)?我?(?:能|可以|能不能|可不可以)?"
            r"(?:线上|视频|远程|在线|网上)(?:投票|投一票|投个票|表决|参加表决)"
            r"(?:可以|行|可不可以|行不行)?(?:吗|么)?[?？]*"
            r"(?:[,，。 ]*(?P<rest>赞成|同意|反对|弃权|不同意)[。!！]*)?",
        ),
        shows=True,
        when=frozenset(),  # asked, never offered
    ),
    Route(
        ("签到",),
        check_in,
        g.Need.ANYONE,
        "签到",
        "会前一小时起签到，开始后签到记为迟到",
        "成员",
        asked="会议状态",  # 「我签到了吗」
        kept_first=True,
        phrasings=(
            "到了",
            "已经到了",
            "已经到",
            "到场了",
            "已签到",
            "已到",
            "已到场",
            "已到会议室",
            "到会议室了",
            "到场",
            "到会",
            "报到",
            "签个到",
            "打卡",
            "sign in",
            "signin",
            "check in",
            "checkin",
            "here",
            "qiandao",
        ),
        # 「到！」 answers a roll call; alone it asks first (「到时候再说」 is not a check-in).
        confirm=("到",),
        # 「我来了」 alone says the speaker is here (「来了几个人」 is not one).
        alone=(
            "来了",
            "我来了",
            "已经来了",
            "我已经来了",
            "我在会议室了",
            "在会议室了",
            "我已经在会议室了",
            "已经在会议室了",
            "我到会议室了",
            "我已经到会议室了",
            "来晚了",
            "我来晚了",
            "不好意思来晚了",
            "抱歉来晚了",
            # 「刚到」「到啦」「已就位」 (「刚到北京，…」 is not one: only as the whole message)
            "刚到",
            "我刚到",
            "刚刚到",
            "我刚刚到",
            "到啦",
            "我到啦",
            "就位",
            "已就位",
            "我已就位",
            "已经就位",
            "我已经就位",
        ),
        ask="签到",
        when=OFFERED_BEFORE | OFFERED_DURING,
    ),
    Route(
        ("宣布开会", "开始会议", "开会"),
        announced(open_meeting),
        g.Need.CHAIR,
        "开会",
        "核对法定人数后宣布开会",
        "组长",
        asked="会议状态",
        phrasings=("会议开始", "开始开会", "正式开会", "open meeting"),
        # 「开始吧」「我们开始吧」: asked back (it may mean the next vote just as well).
        confirm=("开始", "提前开始"),
        ask="宣布开会",
        when=OFFERED_BEFORE,
    ),
    Route(
        ("委托主持",),
        announced(delegate_chair),
        g.Need.LEADER,
        "委托主持 @李四 组长出差",
        "组长因故不能主持时委托其他成员主持",
        "组长",
        phrasings=("请人主持", "委托", "代为主持"),
        frames=(
            rf"(?:(?P<rest>[^,，。]+)[,，。] ?)?我?(?:请|由|让|委托)(?P<object>{_NAME})"
            rf"(?:同志|老师)?(?:代为|代我|来|帮我|代)?主持{_THIS_MEETING}",
            # 「李娜来主持」「李娜代为主持吧」: without 请, only with who does it
            r"(?:(?P<rest>[^,，。]+)[,，。] ?)?(?:今天|这次|本次)?(?P<object>(?!谁|哪)[^,，。:： @谁我你]{2,4}?)"
            rf"(?:同志|老师)?(?:代为|代我|来|帮我|代)主持{_THIS_MEETING}",
        ),
        when=OFFERED_BEFORE,
        of_the_meeting=True,
    ),
    Route(
        ("回避",),
        recuse,
        g.Need.MEMBER,
        "回避 2",
        "就某议题回避（主持人可 @ 指定成员回避）",
        "成员",
        phrasings=("申请回避", "需要回避"),
        # 「第二个议题我回避」; 「第二个议题涉及我本人，我回避」 is asked back with what came first.
        after=("回避", "我回避", "我申请回避"),
        # The chair's 「请王强回避」「王强回避一下」: that member, from the item turned to.
        frames=(
            r"请(?!我|本人)(?P<object>[\u4e00-\u9fff]{2,4}?)(?:同志)?回避(?:一下)?",
            r"(?!我|本人|这|该|本|此|第|议题)(?P<object>[\u4e00-\u9fff]{2,3}?)(?:同志)?回避一下",
        ),
        last=("我回避", "我申请回避", "我需要回避"),
        when=OFFERED_BEFORE | OFFERED_DURING,  # before the meeting too (it is recorded then)
    ),
    Route(
        ("离席", "中途离席"),
        leave_meeting,
        g.Need.MEMBER,
        "离席 临时有事",
        "会议中途离开（之后的表决不再计入出席）",
        "成员",
        phrasings=(
            "先走了",
            "先走",
            "先离开",
            "离开一下",
            "暂时离开",
            "有事先走",
            "提前走",
            "要提前走",
            "提前离开",
            "得先走",
            "要先离开",
            "有事要先离开",
            "有事要先走",
            "我有事要先离开",
            "先走一步",
            "我先走一步",
            "有事先走一步",
            "我有事先走一步",
            "leave early",
        ),
        when=OFFERED_DURING,
        says_why=True,
        before_asking=departure_asked,
        # 「不好意思单位有急事，我先走了」: asked back, what comes before being the reason
        last=(
            "先走了",
            "先走",
            "要先走",
            "得先走",
            "先撤了",
            "先离开",
            "提前走",
            "要提前走",
            "提前离开",
        ),
    ),
    Route(
        ("散会", "结束会议"),
        announced(close_meeting),
        g.Need.CHAIR,
        "散会",
        "结束会议，锁定出勤并生成纪要草稿",
        "组长",
        asked="会议状态",
        phrasings=(
            "会议结束",
            "结束开会",
            "今天就到这里",
            "今天就到这",
            "今天的会就开到这里",
            "今天的会就开到这",
            "今天会就开到这里",
            "今天会就开到这",
            "会就开到这里",
            "会就开到这",
            "会议就开到这里",
            "close meeting",
        ),
        # 「今天就到这里吧，剩下的下次再说」: closing the meeting, not deferring an item called
        # 「剩下的」; close_meeting asks back, saying what becomes of the items not voted.
        frames=(
            r"(?:今天|今天的会|今天会|会议?)(?:先|就先|就)(?:开)?到这里?(?:吧|了)?[,，。;；! ]*"
            r"(?:剩下的|剩余的|其余的|其他的|后面的|没议的|没讨论的|没表决的)"
            r"(?:议题|事项|几个议题|几项)?(?:就|都)?(?:留到|放到|等)?下次(?:会议|开会)?"
            r"再(?:说|议|讨论|表决|研究)",
        ),
        when=OFFERED_DURING,
    ),
    Route(
        ("取消会议",),
        announced(cancel_meeting),
        g.Need.LEADER,
        "取消会议 理由",
        "取消尚未开始的会议",
        "组长",
        asked="会议状态",
        phrasings=("会议取消", "取消开会", "不开了", "cancel meeting"),
        # 「这次会先不开了」「那个会取消吧，领导临时有安排」: asked back, the reason after
        last=("不开了", "取消吧", "取消了吧", "先取消吧"),
        confirm=(
            "今天不开了",
            "明天不开了",
            "会不开了",
            "这次会不开了",
            "今天的会不开了",
            "明天的会不开了",
            "今天的会取消",
            "明天的会取消",
            "这次会议取消",
        ),
        ask="取消会议",
        when=OFFERED_BEFORE,
        of_the_meeting=True,
    ),
    Route(
        ("休会",),
        recess,
        g.Need.ANYONE,
        "休会",
        "问会议能否暂停（会议不设暂停：休息期间出席和表决照常有效）",
        "组长",
        phrasings=(
            "暂停",
            "暂停会议",
            "会议暂停",
            "先暂停",
            "休息",
            "中场休息",
            "茶歇",
            "继续开会",
            "会议继续",
            "复会",
            "恢复开会",
        ),
        shows=True,
        when=frozenset(),  # answers those who ask; not a step of the meeting to offer
    ),
    Route(
        ("改期", "会议改期"),
        announced(reschedule_meeting),
        g.Need.LEADER,
        RESCHEDULE_USAGE,
        "更改尚未开始的会议的时间（可同时改地点），重新通知全体成员",
        "组长",
        asked="会议状态",
        phrasings=(
            "会议改到",
            "会议改在",
            "会议改为",
            "改到",
            "改在",
            "挪到",
            "会议挪到",
            "会改到",
            "会挪到",
            "把会议改到",
            "把会议改在",
            "把会议时间改到",
            "把会议时间改为",
            "会议时间改到",
            "会议时间改为",
            "开会时间改到",
            "开会时间改为",
            "更改会议时间",
            "修改会议时间",
            "调整会议时间",
            "会议延期",
            "改时间",
            "reschedule",
            "时间改成",
            "时间改为",
            "时间改到",
            "把时间改到",
            "把时间改为",
            "把时间改成",
            "会议时间改成",
            "开会时间改成",
        ),
        # 「改成线上开」「会议改为视频会议」: the place becomes online.
        frames=(
            r"(?:会议|这次会)?(?:改成|改为|换成|改在)(?P<object>线上会议|视频会议|腾讯会议|钉钉会议"
            r"|线上|网上|视频)(?:开|召开|进行|举行)?(?:会议?)?(?:吧)?",
        ),
        when=OFFERED_BEFORE,
        of_the_meeting=True,
    ),
    Route(
        ("推迟会议",),
        announced(postpone_meeting),
        g.Need.LEADER,
        "推迟会议 半小时",
        "把尚未开始的会议推迟一段时间（或推迟到新的时间），重新通知全体成员",
        "组长",
        asked="会议状态",
        # 「会议推迟到…」 too: a time after 到 is a new time (as 改期).
        phrasings=(
            "会议推迟",
            "把会议推迟",
            "推迟开会",
            "延后开会",
            "会议延后",
            "会议往后推",
            "往后推",
            "推迟到",
            "延后到",
        ),
        # 「这个会延期一周」「这次会议推迟到下周四」: the meeting named, then by how much or to
        # when (a bare 「延期…」 is an item's: 暂缓, 「延期到下周四吧」).
        # 「这个会延期一周的话我就能来」: a suggestion (conditional_instead), never done.
        frames=(_PUT_BACK, _PUT_BACK_IF),
        instead=conditional_instead,
        conditions=True,
        when=OFFERED_BEFORE,
        of_the_meeting=True,
    ),
    Route(
        ("提前会议",),
        announced(advance_meeting),
        g.Need.LEADER,
        "提前会议 20分钟",
        "把尚未开始的会议提前一段时间（或提前到新的时间），重新通知全体成员",
        "组长",
        asked="会议状态",
        phrasings=("会议提前", "把会议提前", "提前开会", "提前到", "会议提前到"),
        when=OFFERED_BEFORE,
        of_the_meeting=True,
    ),
    Route(
        ("更改地点", "改地点"),
        announced(move_meeting),
        g.Need.LEADER,
        MOVE_USAGE,
        "更改尚未开始的会议的地点，重新通知全体成员",
        "组长",
        asked="会议状态",
        phrasings=(
            "更改会议地点",
            "修改会议地点",
            "会议地点改为",
            "会议地点改到",
            "会议改地点",
            "开会地点改为",
            "开会地点改到",
            "地点改为",
            "地点改到",
            "地点改成",
            "地点换成",
            "地点换到",
            "地点变更为",
            "会议地点改成",
            "会议地点换成",
            "开会地点改成",
            "换个地点",
            "换个地方",
            # 「会议室换成302」「会场改到学会二楼」: the room is the place
            "会议室换成",
            "会议室改成",
            "会议室改为",
            "会议室改到",
            "会议室换到",
            "会场换成",
            "会场改成",
            "会场改为",
            "会场改到",
            "会场换到",
        ),
        when=OFFERED_BEFORE,
        of_the_meeting=True,
    ),
    Route(
        ("提醒未回复", "催办"),
        announced(nudge),
        g.Need.CHAIR,
        "提醒未回复",
        "在群里@尚未回复通知（会议开始后：尚未签到）的成员",
        "组长",
        phrasings=(
            "提醒没回复",
            "提醒一下没回复",
            "还没回复的请回复",
            "还没回复的请回复一下",
            "没回复的请回复一下",
            "提醒一下",
            "提醒大家回复",
            "提醒大家签到",
            "提醒签到",
            "提醒未签到",
            "提醒没签到",
            "催一下",
            "催一催",
            "催签到",
            "催回复",
            "提醒没投票的人",
            "提醒投票",
            "提醒大家投票",
            "催投票",
            "催一下投票",
        ),
        when=OFFERED_BEFORE | OFFERED_DURING,
    ),
    Route(
        ("历次会议",),
        history,
        g.Need.ANYONE,
        "历次会议",
        "查看最近几次会议、今年开会次数和下次应在何时前召开",
        "成员",
        phrasings=(
            "会议历史",
            "以往会议",
            "开过的会",
            "上次会议",
            "上一次会议",
            "上次开会",
            "上一次开会",
            "上回开会",
            "最近的会议",
            "最近几次会议",
            "开过几次会",
            "今年开了几次会",
            "多久开一次会",
            "多长时间开一次会",
            "今年开过几次会",
            "今年开了几次会议",
            "下次什么时候开会",
            "多久没开会",
            "多久没开会了",
            "今年我们开了几次会",
            "我们今年开了几次会",
            "下一次会议应该什么时候开",
            "下次会议应该什么时候开",
            "会上通过了什么",
        ),
        shows=True,
    ),
    Route(
        ("会议状态", "状态", "议程"),
        status,
        g.Need.ANYONE,
        "会议状态",
        "查看当前会议、出勤和议程",
        "成员",
        phrasings=(
            "会议结果",
            "会议结果是什么",
            "有几个议题",
            "这次有几个议题",
            "这次要表决几个议题",
            "这次有哪些议题",
            "议程有哪些",
            "开会结果",
            "会开得怎么样",
            "会议开得怎么样",
            "会议改到几点了",
            "改到几点了",
            "改到哪天了",
            "会议改到哪天了",
            "改到什么时候了",
            "会议改到什么时候了",
            "现在有几个人",
            "现在几个人",
            "还够法定人数吗",
            "还够不够法定人数",
            "法定人数还够吗",
            "现在还够法定人数吗",
            "这次会议开得怎么样",
            "这次会开得怎么样",
            "今天的会开得怎么样",
            "下次会议什么时候",
            "下次会议是什么时候",
            "下次开会什么时候",
            "下一次会议什么时候",
            "下一次开会什么时候",
            "status",
            "进展",
            "几点开会",
            "会议几点开始",
            "几点开始",
            "什么时候开会",
            "开会时间",
            "会议时间",
            "在哪开会",
            "在哪里开会",
            "会议室在哪",
            "会议室在哪里",
            "会议室在哪儿",
            "在哪开",
            "在哪里开",
            "在什么地方开",
            "会在哪开",
            "会在哪里开",
            "会议在哪",
            "会议在哪里",
            "开会地点",
            "会议地点",
            "查看议程",
            "看一下议程",
            "看看议程",
            "这次会议有哪些议题",
            "这次会议有什么议题",
            "这次会议的议题",
            "本次会议议题",
            "会议议题",
            "开会讨论什么",
            "这次开会讨论什么",
            "会上讨论什么",
            "会议几点",
            "会几点开",
            "谁请假",
            "有谁请假",
            "哪些人请假",
            "都有谁请假",
            "谁参加",
            "有谁参加",
            "都有谁参加",
            "哪些人参加",
            "参会人员",
            "参会名单",
            "列席人员",
            "谁列席",
            "谁主持",
            "谁在主持",
            "今天谁主持",
            "主持人是谁",
            "谁还没回复",
            "谁没回复",
            "还有谁没回复",
            "开到哪了",
            "现在什么情况",
            "散会了吗",
            "开会了吗",
            "开始了吗",
            "会开完了吗",
            "会议在几楼",
            "在几楼开会",
            "议题有哪些",
            "有哪些议题",
            "有什么议题",
            "都有哪些议题",
            "议题是什么",
            "谁回避了",
            "有谁回避",
            "哪些人回避",
            "谁还没签到",
            "谁没签到",
            "看看谁还没签到",
            "还有谁没签到",
            "谁还没到",
            "还有谁没到",
            "人齐了吗",
            "人到齐了吗",
            "到齐了吗",
            "来了几个人",
            "到了几个人",
            "有几个人签到",
            "几个人签到了",
            "签到了几个人",
            "多少人签到了",
            "签到了多少人",
            "会议还开吗",
            "会还开吗",
            "还开吗",
            "还开不开",
            "今天的会还开不开",
            "会议还开不开",
            "会议改时间了吗",
            "改时间了吗",
            "改期了吗",
            "到了多少人",
            "来了多少人",
            "够不够法定人数",
            "法定人数够了吗",
            "法定人数够不够",
            "够法定人数了吗",
            "达到法定人数了吗",
            "人够了吗",
            "人数够了吗",
            "人够不够",
            "huiyizhuangtai",
            "会议的议题是什么",
            "最近有会吗",
            "下次开会是什么时候",
            "下次开会是哪天",
        ),
        frames=(
            # 「这次会议都讨论什么？」「开会讨论哪些议题」「会上都讨论啥」: the agenda
            r"(?:这次|本次|下次|明天|今天|周.|星期.)?的?(?:会议?|开会|会上)?(?:上|里)?(?:都|要|会|主要)*"
            r"(?:讨论|研究|议|说)(?:些|一下)?(?:什么|哪些|啥)(?:议题|事情?|内容|问题)?(?:呀|啊|呢)?[?？]*",
            # 「这次会议什么时候开」「会议几点开始」「下次会是哪天」: when (and where) it is
            r"(?:这次|本次|下次|明天|今天|周.|星期.)?的?(?:会议?|开会)(?:是|定在|安排在)?"
            r"(?:什么时候|几点|哪天|几号|啥时候)(?:开|开始|召开)?(?:呀|啊|呢)?[?？]*",
            # 「请假成功了吗」「我的请假批了吗」: whether one's leave is on record (it is recorded,
            # not granted), not another leave
            r"(?:我的?)?请(?:假|好假)(?:(?:成功|批准?|通过|准|记上|登记)了?|了)(?:吗|没有?)[?？]*",
            # 「议题2现在什么状态」「第一项怎么样了」「议题3表决了吗」: the agenda with each item's state
            rf"(?P<object>{ITEM_REF})(?:现在|目前)?(?:是|到了?)?(?:什么|啥|哪一?步|怎么样)(?:状态|情况|进度)?了?"
            r"(?:呀|啊|呢)?[?？]*",
            rf"(?P<object>{ITEM_REF})(?:表决|投票)了(?:吗|没有?)[?？]*",
        ),
        shows=True,
    ),
]
