"""Minutes: draft from the event log, the recorder's notes, the leader's sign-off (签发)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from bot import governance as g
from bot import minutes as mn
from bot.events import EventKind, OutgoingMessage
from bot.ledger import canonical_json
from bot.router import AskBack, Context, Route, UsageError
from bot.timeparse import small_number
from bot.utterance import is_decoration, matching_form
from handlers import texts as t
from handlers.common import (
    announced,
    bounded,
    current_meeting,
    person_payload,
    record,
    require_meeting_leader,
)
from storage import repo


async def build(ctx: Context, meeting: repo.Meeting, notes: str = "") -> mn.Minutes:
    society = await repo.society(meeting.society_id)
    recorder = await repo.person(society.recorder_id) if society.recorder_id else None
    events = [(e.kind, e.at, e.payload) for e in await repo.meeting_events(meeting)]
    minutes = mn.assemble(
        events, society=society.name, recorder=recorder.name if recorder else "", tz=ctx.tz
    )
    minutes.notes = notes
    return minutes


async def draft_minutes(
    ctx: Context, meeting: repo.Meeting, by: repo.Person, notes: str = ""
) -> repo.MinutesVersion:
    minutes = await build(ctx, meeting)
    body = canonical_json(minutes.to_json())
    version = await repo.add_minutes_version(
        meeting.id, body=body, notes=notes, created_by=by.id, now=ctx.now
    )
    await record(
        ctx,
        EventKind.MINUTES_DRAFTED,
        {"version": version.version, "digest": version.digest, "by": person_payload(by)},
        meeting=meeting,
    )
    return version


async def notes_taken(meeting: repo.Meeting) -> list[str]:
    """The recorder's notes taken during the meeting (纪要备注 while it was open), in order,
    without those withdrawn then."""
    return [note.text for note in await _notes_standing(meeting)]


@dataclass(frozen=True, slots=True)
class _Note:
    seq: int  # its entry in the society's chain
    text: str
    by: int


async def _notes_standing(meeting: repo.Meeting) -> list[_Note]:
    """The notes taken during the meeting, in order, less those withdrawn (「撤回上一条备注」)
    and as last changed (「第2条备注改为…」): each withdrawal or change is an entry of its own
    in the chain, naming the note's entry; the note's entry stays, so that the record shows
    what was noted and that it was withdrawn or changed (from what)."""
    events = await repo.meeting_events(meeting)
    withdrawn = {
        e.payload["note"] for e in events if e.kind == EventKind.MINUTES_NOTE_WITHDRAWN.value
    }
    changed = {
        e.payload["note"]: str(e.payload["text"])
        for e in events
        if e.kind == EventKind.MINUTES_NOTE_CHANGED.value
    }
    return [
        _Note(e.seq, changed.get(e.seq, str(e.payload["text"])), int(e.payload["by"]["id"]))
        for e in events
        if e.kind == EventKind.MINUTES_NOTE.value and e.seq not in withdrawn
    ]


def from_version(v: repo.MinutesVersion) -> mn.Minutes:
    return mn.Minutes.from_json(json.loads(v.body), v.notes)


# What adding to the minutes is said with (the route's frames and `show` read the same words):
# the item a note is on (「第二项」「议题2」), the words that add it, where a note stands.
_NUMERAL = r"[0-9\uff10-\uff19一二三四五六七八九十]+"  # digits ASCII or full-width
_ON_ITEM = rf"第{_NUMERAL}项|议题{_NUMERAL}"
_ADD_WORDS = r"加一句|加上|加一条|补一句|补充一句|添一句|记上|写上|补上"
_NOTE_NAMED = r"刚才的那|刚才那|刚刚那|刚才的|上一|前一|最后一"
_DROP_WORDS = r"撤回|删掉|删除|去掉|撤掉|撤销"

# 「纪要第二项加一句：…」: a note said right after 纪要 (which shows), not asking to see it.
_ADDING = re.compile(
    rf"(?P<item>{_ON_ITEM})?(?:那里|这里)?(?:再)?(?:{_ADD_WORDS})[:：,，] ?(?P<text>.+)"
)


async def show(ctx: Context, args: str) -> list[OutgoingMessage]:
    adding = _ADDING.fullmatch(args.strip())
    if adding is not None:
        if not g.may(ctx.roles, g.Need.RECORDER):
            raise UsageError("纪要备注由记录人补充：请把要加的内容告诉记录人。")
        note = " ".join(x for x in (adding.group("item"), adding.group("text").strip()) if x)
        return await add_notes(ctx, note)
    meeting = await current_meeting(ctx)
    version = await repo.latest_minutes(meeting.id)
    if version is None:
        raise UsageError(f"第{meeting.number}次会议还没有结束，散会后自动生成纪要草稿。")
    if (
        not version.signed
        and _FINE.search(args)
        and not _WRONG.search(args)
        and ctx.person is not None
        and ctx.person.id == meeting.leader_id
    ):
        # 「纪要我看过了，没问题」 from the leader: meant as the sign-off, which locks the minutes
        # for good, so it is asked (a yes runs 签发, every check made again then), never done.
        raise AskBack(
            f"是否签发第{meeting.number}次会议纪要？签发后第{version.version}版纪要锁定，不能再修改。",
            "签发",
        )
    minutes = from_version(version)
    state = "已签发" if version.signed else "草稿，待组长签发"
    full = "全文" in args
    body = mn.render_text(minutes) if full else mn.summary(minutes)
    tail = "" if full else "\n（发送「纪要 全文」查看全文）"
    text = f"【{state}·第{version.version}版】\n{body}{tail}\n校验码：{version.digest[:12]}"
    said = ctx.message.text  # 「下载纪要」: the phrasing itself says it
    if _DOWNLOAD.search(said):
        text += "\n" + (
            "Word 版：发送「工作台」获取登录链接，在工作台下载。"
            if version.signed
            else "纪要签发后可在工作台下载 Word 版（发送「工作台」获取登录链接）。"
        )
    if _WRONG.search(args):  # 「纪要有问题，表决结果写错了」
        text += "\n" + (
            "纪要已签发锁定，不能再修改；如有需要更正的，可在下次会议上说明，写入那次的纪要。"
            if version.signed
            else "纪要由会议记录自动生成，不能直接改写；需要更正或说明的，记录人发送「纪要备注 内容」"
            "补充（生成新版本），组长核对后再「签发」。"
        )
    return [ctx.reply(text)]


_DOWNLOAD = re.compile(r"下载|导出|word|docx|pdf|文件", re.IGNORECASE)
_WRONG = re.compile(r"有问题|不对|错|更正|改")
# The minutes found fine (「我看过了，没问题」「看了，可以」): the leader's sign-off, asked back.
_FINE = re.compile(r"没问题|没有问题|没意见|没有意见|可以了?$|行了?$|没毛病|同意|OK", re.IGNORECASE)


async def add_notes(ctx: Context, args: str) -> list[OutgoingMessage]:
    """纪要备注: after the meeting a new draft with the note added; during it (「记一下：…」) the
    note is recorded, and the draft made at 散会 opens with the notes taken so far."""
    person = ctx.require_person()
    meeting = await current_meeting(ctx, (g.MeetingState.OPEN, g.MeetingState.CLOSED))
    if not args:
        raise UsageError("请写明备注内容，例如：纪要备注 会议还传达了市科技社团党委的工作部署。")
    # As typed first (a changed note keeps its closing marks, 「…。」), last as the route's frame
    # read it: words that reached the handler so are never kept as a note.
    edit = next(
        (
            found
            for said in dict.fromkeys(
                (args.strip(), _undecorated(args), _undecorated(matching_form(args)))
            )
            for pattern in (_NOTE_EDIT, _NOTE_DROP, _NOTE_NUMBERED_EDIT)
            if (found := pattern.fullmatch(said)) is not None
        ),
        None,
    )
    if edit is not None:
        return [ctx.reply(await _edit_note(ctx, meeting, person, edit))]
    bounded(args, "纪要备注", t.NOTES_MAX)
    if meeting.state is g.MeetingState.OPEN:
        taken = len(await notes_taken(meeting))
        payload = {"text": args, "by": person_payload(person)}
        await record(ctx, EventKind.MINUTES_NOTE, payload, meeting=meeting)
        return [ctx.reply(f"已记下（本次会议第{taken + 1}条备注），散会时写入纪要草稿。")]
    latest = await repo.latest_minutes(meeting.id)
    notes = f"{latest.notes}\n{args}".strip() if latest else args
    version = await draft_minutes(ctx, meeting, person, notes=notes)
    return [ctx.reply(f"纪要已更新为第{version.version}版（已加入备注）。组长可发送「签发」签发。")]


def _undecorated(text: str) -> str:
    """`text` without the punctuation, emoji and spaces at its ends (「删掉吧。」)."""
    text = text.strip()
    while text and is_decoration(text[-1]):
        text = text[:-1]
    return text


# A note changed or taken out, said of it by its place: 「第1条备注改为…」「上一条备注写错了，
# 改成：…」「把刚才那条备注删掉」「撤回上一条备注」「刚才那条记错了，删掉」「撤回上一条记录」.
# The route's frame is these very patterns: what reaches the handler so is read as such, never
# kept as a note with the words of the command for its text.
_WHICH_NOTE = rf"(?P<which>{_NOTE_NAMED}|第\s*(?P<n>{_NUMERAL}))\s*条"
_NOTE_NOUN = r"(?:纪要备注|备注|记录)"
_MISTAKEN = r"(?:(?:记|录|写)错了?|有误|不对)"
_NOTE_EDIT = re.compile(
    rf"(?:把)?{_WHICH_NOTE}\s*(?:{_NOTE_NOUN}\s*{_MISTAKEN}?|{_MISTAKEN})[,，]?\s*"
    r"(?:(?:改为|改成|应为|应该是|更正为)[:：]?\s*(?P<text>.+)"
    rf"|(?:请|帮我)?(?P<drop>{_DROP_WORDS}|不要了)(?:一下)?吧?)"
)
# 「撤回上一条备注」, and the recorder's bare 「撤回上一条」 (asked back, naming the note).
_NOTE_DROP = re.compile(rf"(?:请|帮我)?(?P<drop>{_DROP_WORDS}){_WHICH_NOTE}\s*{_NOTE_NOUN}?")
# 「备注2改成…」「把备注第2条改为…」: the note named by its number after the noun.
_NOTE_NUMBERED_EDIT = re.compile(
    rf"(?:把)?(?:纪要)?备注\s*第?\s*(?P<n>{_NUMERAL})\s*条?\s*"
    r"(?:改为|改成|应为|应该是|更正为)[:：]?\s*(?P<text>.+)"
)


def _dropping(said: re.Match[str]) -> bool:
    """Whether the note is taken out (else changed)."""
    return bool(said.groupdict().get("drop"))


def _which_named(said: re.Match[str]) -> str | None:
    return said.groupdict().get("n")


def _unnamed(pattern: re.Pattern[str]) -> str:
    """`pattern` with its named groups made plain (a frame names only `object` and `rest`)."""
    return re.sub(r"\(\?P<\w+>", "(?:", pattern.pattern)


async def _edit_note(
    ctx: Context, meeting: repo.Meeting, person: repo.Person, said: re.Match[str]
) -> str:
    """A new draft with one note changed or taken out (every version is kept: the change is
    on record). During the meeting the notes are not a draft yet: one the recorder took is
    withdrawn (_withdraw_note); changing one is said how, nothing done."""
    if meeting.state is not g.MeetingState.CLOSED:
        if _dropping(said):
            return await _withdraw_note(ctx, meeting, person, said)
        return await _change_note(ctx, meeting, person, said)
    if _dropping(said) and not re.search(_NOTE_NOUN, said.group(0)):
        latest_ = await repo.latest_minutes(meeting.id)
        notes_ = [n for n in (latest_.notes if latest_ else "").split("\n") if n.strip()]
        if notes_ and not _which_named(said):  # 「撤回上一条」: which note is named first
            raise _asked_to_drop(len(notes_), notes_[-1], "纪要草稿")
    latest = await repo.latest_minutes(meeting.id)
    notes = [n for n in (latest.notes if latest else "").split("\n") if n.strip()]
    if not notes:
        raise UsageError("纪要里还没有备注。")
    named = _which_named(said)
    number = small_number(named) if named else len(notes)
    if number is None or not 1 <= number <= len(notes):
        raise UsageError(f"纪要里只有 {len(notes)} 条备注，没有第{named}条。")
    old = notes[number - 1]
    if _dropping(said):
        del notes[number - 1]
        done = f"第{number}条备注（{t.echo(old)}）已删除"
    else:
        text = bounded(said.group("text").strip(), "纪要备注", t.NOTES_MAX)
        notes[number - 1] = text
        done = f"第{number}条备注已改为「{t.echo(text)}」"
    version = await draft_minutes(ctx, meeting, person, notes="\n".join(notes))
    return f"纪要已更新为第{version.version}版：{done}（此前各版都保留）。组长可发送「签发」签发。"


def _asked_to_drop(number: int, text: str, where: str) -> AskBack:
    """「撤回上一条」「刚才那条记错了，撤回」 (no 备注/记录 said): the note is named first."""
    return AskBack(f"是否撤回{where}第{number}条备注（{t.echo(text)}）？", f"撤回第{number}条备注")


def _my_note(notes: list[_Note], person: repo.Person, said: re.Match[str], doing: str) -> int:
    """The number of the note meant (the one named, or the speaker's last one standing): the
    speaker's own, else refused (nothing done)."""
    mine = [i for i, note in enumerate(notes, 1) if note.by == person.id]
    named = _which_named(said)
    if named:
        number = small_number(named)
        if number is None or not 1 <= number <= len(notes):
            raise UsageError(f"本次会议现有 {len(notes)} 条备注，没有第{named}条，没有{doing}。")
        if number not in mine:
            raise UsageError(f"第{number}条备注是别人记下的，只能由本人{doing}，没有{doing}。")
        return number
    if not mine:
        raise UsageError(f"{person.name}在本次会议还没有记下备注（或都已撤回），没有可{doing}的。")
    return mine[-1]


async def _change_note(
    ctx: Context, meeting: repo.Meeting, person: repo.Person, said: re.Match[str]
) -> str:
    """「第2条备注改为…」「备注2改成…」 during the meeting: the speaker's own note is changed by
    an entry appended to the chain holding the old text and the new (the note's own entry
    stays: the record shows both); the draft made at 散会 has the new text."""
    notes = await _notes_standing(meeting)
    number = _my_note(notes, person, said, "修改")
    note = notes[number - 1]
    text = bounded(said.group("text").strip(), "纪要备注", t.NOTES_MAX)
    if text == note.text:
        raise UsageError(f"第{number}条备注本来就是「{t.echo(text)}」，没有修改。")
    await record(
        ctx,
        EventKind.MINUTES_NOTE_CHANGED,
        {
            "note": note.seq,
            "number": number,
            "from": note.text,
            "text": text,
            "by": person_payload(person),
        },
        meeting=meeting,
    )
    return (
        f"已把本次会议第{number}条备注由「{t.echo(note.text)}」改为「{t.echo(text)}」，"
        "散会时写入纪要草稿；修改已记录在案（原来的文字也保留在记录里）。"
    )


async def _withdraw_note(
    ctx: Context, meeting: repo.Meeting, person: repo.Person, said: re.Match[str]
) -> str:
    """「撤回上一条备注」「刚才那条记错了，删掉」 during the meeting: the speaker's own last note
    still standing (or the one numbered, if theirs) is withdrawn by an entry appended to the
    chain (the note's own entry stays: the record shows both); the draft made at 散会 leaves it
    out, and the notes after it move up one place."""
    notes = await _notes_standing(meeting)
    number = _my_note(notes, person, said, "撤回")
    note = notes[number - 1]
    if not re.search(_NOTE_NOUN, said.group(0)) and not _which_named(said):
        raise _asked_to_drop(number, note.text, "本次会议")  # 「撤回上一条」: named first
    await record(
        ctx,
        EventKind.MINUTES_NOTE_WITHDRAWN,
        {"note": note.seq, "number": number, "text": note.text, "by": person_payload(person)},
        meeting=meeting,
    )
    left = len(notes) - 1
    now = f"现有{left}条备注" if left else "现在没有备注"
    return (
        f"已撤回本次会议第{number}条备注（{t.echo(note.text)}），散会时不写入纪要草稿；"
        f"撤回已记录在案（{now}）。"
    )


# A change asked for with the sign-off (「同意签发，但是赵敏的意见要加上」): once signed, none is made.
_CHANGE_ASKED = re.compile(r"但|不过|只是|补|加上|加一|加进|改|修改|删|去掉|漏|少了|还要|要加")


# Where a meeting is before its close, as a refusal to sign says it.
_BEFORE_THE_CLOSE = {
    g.MeetingState.DRAFT: "",
    g.MeetingState.CONVENED: "",
    g.MeetingState.OPEN: "还没有散会（议题表决完后主持人发送「散会」），",
}


async def sign(ctx: Context, args: str) -> list[OutgoingMessage]:
    society = ctx.require_society()
    person = ctx.require_person()
    if _CHANGE_ASKED.search(args):
        raise UsageError(
            "纪要签发后即锁定，不能再补充或修改，所以没有签发。请记录人先按您说的补上"
            "（「纪要备注 内容」），您看过新的一版（「纪要 全文」）后再发送「签发」。"
        )
    meeting = await current_meeting(ctx)
    if meeting.state in _BEFORE_THE_CLOSE:  # 「我看了没问题，签发」 while the meeting is on
        raise UsageError(
            f"第{meeting.number}次{t.MEETING_STATE_PLAIN[meeting.state]}，"
            f"{_BEFORE_THE_CLOSE[meeting.state]}纪要没有签发：纪要草稿在散会时生成，"
            "草稿生成后组长再发送「签发」。"
        )
    meeting = await current_meeting(ctx, (g.MeetingState.CLOSED,))
    await require_meeting_leader(ctx, meeting, "纪要没有签发")
    new_state = g.meeting_next(meeting.state, g.MeetingAction.SIGN)
    version = await repo.latest_minutes(meeting.id)
    if version is None:
        raise UsageError(
            "还没有纪要草稿。纪要草稿在散会时生成，记录人可发送「纪要备注 内容」补充后再签发。"
        )
    if ctx.asked_at is not None and version.created_at > ctx.asked_at:
        # 「纪要没问题，签发吧」, then a note added, then 「是」: not the version asked about
        raise UsageError(
            f"纪要在您确认之前又更新为第{version.version}版（{t.when(version.created_at, ctx.tz)}），"
            "没有签发。请看过最新一版（发送「纪要 全文」）后再发送「签发」。"
        )
    digest = await repo.sign_minutes(version.id, person.id, ctx.now)
    await repo.update_meeting(meeting.id, state=new_state)
    await record(
        ctx,
        EventKind.MINUTES_SIGNED,
        {"version": version.version, "digest": digest, "signer": person_payload(person)},
        meeting=meeting,
    )
    head = await repo.chain_head(society.id)
    return [
        ctx.reply(
            f"组长{person.name}已签发第{meeting.number}次会议纪要（第{version.version}版），纪要已锁定，不能再修改。"
            f"\n纪要校验码：{digest[:12]}；记录链校验码：{head[:12]}"
        )
    ]


ROUTES = [
    Route(
        ("纪要", "会议纪要", "会议记录"),
        show,
        g.Need.ANYONE,
        "纪要",
        "查看纪要摘要（「纪要 全文」看全文）",
        "成员",
        phrasings=(
            "看纪要",
            "查看纪要",
            "会议记要",
            "发一下纪要",
            "把纪要发一下",
            "下载纪要",
            "导出纪要",
            "上次会议纪要",
            "上次会议的纪要",
            "上次的纪要",
            "上一次会议纪要",
            "上一次会议的纪要",
            "什么时候能看到纪要",
            "我什么时候能看到纪要",
            "纪要什么时候能看到",
            "纪要出来了吗",
            "纪要签了吗",
            "纪要签了没",
            "纪要签了没有",
            "纪要签字了吗",
            "纪要签好了吗",
            "签了吗",
            "minutes",
        ),
        shows=True,
    ),
    Route(
        ("纪要备注", "修改纪要"),
        add_notes,
        g.Need.RECORDER,
        "纪要备注 内容",
        "记录人补充纪要备注（会中记下，散会后生成新版本）",
        "记录人",
        phrasings=(
            "补充纪要",
            "纪要补充",
            "备注纪要",
            "纪要里加一句",
            "纪要里加上",
            "在纪要里加",
            "纪要里补充",
            "纪要中补充",
            "在纪要里补充",
            "纪要里写上",
            "在纪要里写上",
            "补充一句",
            "再补充一句",
            "补一句",
            "再补一句",
            "记录一下",
            "记一下",
        ),
        frames=(
            # 「纪要里王强的发言要补上：建议加强会员发展」: what is missing, then the words
            r"纪要(?:里|中)(?P<object>[^,，:：]{1,20}?)(?:要|需要|得)?(?:补上|补充|加上|写上|补进去|加进去)"
            r"(?:一下)?[:：,，] ?(?P<rest>.+)",
            # 「纪要里第二项加一句：…」「会议记录里加上：…」「帮我在纪要里记上：…」
            rf"(?:帮我)?(?:在)?(?:纪要|会议纪要|会议记录)(?:里|中)?(?P<object>{_ON_ITEM})?(?:那里|这里)?"
            rf"(?:再)?(?:{_ADD_WORDS}|补充)[:：,，] ?(?P<rest>.+)",
            # 「第1条备注改为…」「刚才那条记错了，删掉」「撤回上一条记录」: the handler changes it
            rf"(?P<rest>{_unnamed(_NOTE_EDIT)}|{_unnamed(_NOTE_DROP)}"
            rf"|{_unnamed(_NOTE_NUMBERED_EDIT)})",
        ),
        when=frozenset({g.MeetingState.OPEN, g.MeetingState.CLOSED}),
    ),
    Route(
        ("签发", "签发纪要"),
        announced(sign),
        g.Need.LEADER,
        "签发",
        "签发纪要（签发后锁定）",
        "组长",
        asked="纪要",
        phrasings=(
            "签字",
            "纪要签发",
            "sign minutes",
            "sign off",
            "可以签发",
            "同意签发",
            "纪要可以签发",
            "我签一下",
            "签一下",
            "我来签发",
            "我签发一下",
        ),
        when=frozenset({g.MeetingState.CLOSED}),
        of_the_meeting=True,
        says_why_not_now=True,  # before the close, its refusal says the meeting has not ended
        others="纪要在散会后生成，由组长签发；您可以发送「纪要」查看，有修改意见请告诉组长或记录人。",
    ),
]
