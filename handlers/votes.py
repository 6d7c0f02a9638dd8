"""Votes, item by item: open a vote (named, secret, show of hands; an optional deadline) and cast
ballots, with the vote card's count. Counting, closing and deferring: handlers/decisions.py.

Just over 600 lines as one file: the three ballot kinds share the opening checks, the card and the
ballot routes with their phrasings, which are data the utterance layer reads."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, time
from typing import NoReturn

from bot import governance as g
from bot.admission import enter_society
from bot.events import (
    BallotAck,
    BallotOutcome,
    ChatKind,
    ChatRef,
    EventKind,
    OutgoingMessage,
    VoteCard,
)
from bot.router import AskBack, Context, Handler, Route, UsageError
from bot.utterance import ITEM_REF, THIS_ITEM, leading_time
from handlers import common
from handlers import texts as t
from handlers.common import (
    FRAME_REASON,
    OFFERED_DURING,
    announced,
    bounded,
    current_meeting,
    item_by_number,
    item_in_focus,
    item_titled,
    items_that_can,
    mentions_for,
    names,
    no_item_titled,
    parse_item_ref,
    person_payload,
    quorum_attendance,
    record,
    record_fails_check,
    require_chair,
    this_item,
)
from handlers.roster import AND_THE_OTHER
from storage import acks, repo
from storage.seals import Tampered

logger = logging.getLogger(__name__)

DURING_MEETING = (g.MeetingState.OPEN,)


@dataclass(frozen=True, slots=True)
class _VoteRequest:
    """发起表决 <议题编号> [方式] [截止 <时间>], as typed."""

    number: int
    method_word: str  # "" when the chair named no method
    closes_at: datetime | None


@dataclass(frozen=True, slots=True)
class _Opening:
    """A vote that governance allows to open, and what it needs to pass."""

    rule: g.MatterRule
    method: g.VoteMethod
    item_state: g.ItemState
    electorate: g.Electorate
    base: int
    needed: int
    closes_at: datetime | None


async def start_vote(ctx: Context, args: str) -> list[OutgoingMessage]:
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(ctx, DURING_MEETING)
    await require_chair(ctx, meeting, "没有发起表决")
    if g.meeting_gone_stale(meeting.opened_at, ctx.now):
        hours = int(g.MEETING_LASTS.total_seconds() // 3600)
        raise UsageError(
            f"第{meeting.number}次会议开始已超过{hours}小时，当时的签到已不能说明现在谁在场，没有发起表决。"
            "请发送「散会」结束本次会议；未表决的议题可在下次召开会议时列入议程。"
        )
    request = await _parse_vote_request(ctx, meeting, args)
    it = await item_by_number(meeting, request.number)
    opening = await _decide_opening(ctx, meeting, it, request)
    vote = await _open_vote(ctx, meeting, it, opening, person)
    await repo.set_focus(meeting.id, it.number, ctx.now)  # the meeting is on this item now
    return await _vote_opened_replies(ctx, it, vote, opening)


async def _parse_vote_request(ctx: Context, meeting: repo.Meeting, args: str) -> _VoteRequest:
    number, rest = parse_item_ref(args)
    if number is None:
        rest, closes_at = _deadline(ctx, rest)
        method = [w for w in rest.split() if w in t.METHOD_WORDS]
        said_this, named = this_item(" ".join(w for w in rest.split() if w not in t.METHOD_WORDS))
        if named:  # 「对经费预算进行表决」「换届人选无记名投票」: the item by its title
            number = await _item_titled(meeting, named)
        else:  # 「开始投票」「这个议题表决吧」: the item the meeting is on
            number = await _the_item_to_vote(meeting, said_this)
        return _VoteRequest(number, method[0] if method else "", closes_at)
    rest, closes_at = _deadline(ctx, rest)
    return _VoteRequest(number, rest.split(" ", 1)[0] if rest else "", closes_at)


async def _item_titled(meeting: repo.Meeting, said: str) -> int:
    """The number of the one item whose title `said` names (whole, or a word of it); refused,
    listing the agenda, when none or several fit: a vote never falls to another item."""
    items = await repo.items(meeting.id)
    found = item_titled(items, said, "发起表决 2")
    if found is not None and not found[1]:
        return found[0].number
    raise no_item_titled(said, items, "发起表决 2")  # said bare (「发起表决 会员发展」)


async def _the_item_to_vote(meeting: repo.Meeting, said_this: bool = False) -> int:
    """No item named (「开始投票」「那我们投票吧」): the one the chair last turned to
    (「下一个议题」) when it is still to be voted on, else the one item of the agenda that is;
    with several, which one is asked, listing them. 「这个议题表决吧」 is the one turned to."""
    waiting = await items_that_can(meeting, g.ItemAction.OPEN_VOTE)
    return await item_in_focus(
        meeting,
        waiting,
        verb="表决",
        example="发起表决 {} 记名",
        listed_as="待表决",
        said_this=said_this,
    )


async def _decide_opening(
    ctx: Context, meeting: repo.Meeting, it: repo.Item, request: _VoteRequest
) -> _Opening:
    """The method (the chair's or the matter's default), one vote at a time, the item's next
    state and the quorum for this item; each refusal raises before anything is written."""
    if voting := await repo.open_votes(meeting.id):  # first: whatever else is wrong with it
        await _one_at_a_time(meeting.id, voting[0], it)
    if it.matter_type in g.NOT_VOTED:
        raise UsageError(
            f"议题{it.number}「{it.title}」是学习通报事项，不表决，纪要记为「学习通报」。"
            f"需要表决的，请组长先发送「议题{it.number}改成一般」，再发起表决。"
        )
    rule = ctx.policy.matter(it.matter_type)
    method = rule.default_method
    if request.method_word:
        if request.method_word not in t.METHOD_WORDS:
            raise UsageError(
                f"表决方式「{request.method_word}」无法识别，可用：记名、举手、无记名。"
            )
        method = t.METHOD_WORDS[request.method_word]
    g.check_method(method, rule)
    item_state = g.item_next(it.state, g.ItemAction.OPEN_VOTE)
    # who is present decides the quorum and the electorate: only from rows that match their seals
    records = await quorum_attendance(ctx, meeting, refused="本次没有发起表决", undone="发起表决")
    present = frozenset(
        p for p in meeting.roster if p in records and records[p].status in g.PRESENT_STATES
    )
    roster = frozenset(meeting.roster)
    electorate = g.Electorate(roster, present, await repo.recused(it.id) & roster)
    try:
        g.check_vote_opening(electorate, rule, ctx.policy)
    except g.GovernanceError as exc:
        if exc.refusal is not g.Refusal.NO_QUORUM:
            raise
        quorum = g.item_quorum(electorate, rule, ctx.policy)
        raise UsageError(
            f"议题{it.number}「{it.title}」属{t.MATTER[it.matter_type]}，未达到表决所需法定人数，不能表决。"
            f"{t.quorum_text(quorum)}。"
        ) from None
    base = electorate.base(ctx.policy)
    needed = g.votes_needed(base, rule)
    return _Opening(rule, method, item_state, electorate, base, needed, request.closes_at)


async def _one_at_a_time(
    meeting_id: int, voting: tuple[repo.Vote, repo.Item], it: repo.Item
) -> NoReturn:
    """A vote asked for while another is open (逐项表决): which item is being voted on, how far
    its vote has got, and how the chair ends it (asked back, so that a 「是」 ends it); a close
    the chair was asked to confirm a moment ago is asked again by the same words. Never a
    ballot moved: ballots sent meanwhile still go to the open vote, whose receipts name it."""
    vote, on = voting
    about = f"议题{on.number}「{on.title}」"
    cast = await ballots_cast(vote)
    total = len(vote.electorate.voters)
    hands = vote.method is g.VoteMethod.SHOW_OF_HANDS
    progress = (
        ("已录入举手结果" if vote.hands else "尚未录入举手结果") if hands else f"已投{cast}/{total}"
    )
    if on.id == it.id:
        raise UsageError(
            f"{about}正在{t.METHOD[vote.method]}（{progress}），不用再发起；投完后主持人发送「结束表决」。"
        )
    head = f"{about}还在表决（{progress}），须先结束才能表决议题{it.number}（逐项表决）。"
    if hands and not vote.hands:
        raise UsageError(
            f"{head}请记录人先录入举手结果（「举手结果 赞成4 反对0 弃权1」），主持人再发送「结束表决」。"
        )
    if not cast:
        raise UsageError(f"{head}{nobody_voted_next(on.number)}")  # it cannot be closed yet
    # who may still vote: those of the vote's voters who have not and are in the room
    present = {
        p for p, r in (await repo.attendance(meeting_id)).items() if r.status in g.PRESENT_STATES
    }
    waiting = len([p for p in await yet_to_vote(vote) if p in present])
    pending = f"（还有{waiting}人未投，不计赞成票）" if waiting else ""
    command = f"结束表决 {on.number}{' 现在' if waiting > 0 else ''}"
    raise AskBack(f"{head}现在结束议题{on.number}的表决吗{pending}？", command)


def pass_rule(ctx: Context, vote: repo.Vote, it: repo.Item) -> str:
    """What passes the item of an open vote, by its rule: 「应到会7人，赞成至少4票方为通过」
    (recused members out of the base where the society's rules say so)."""
    base = vote.electorate.base(ctx.policy)
    needed = g.votes_needed(base, ctx.policy.matter(it.matter_type))
    return f"应到会{base}人，赞成至少{needed}票方为通过"


def nobody_voted_next(number: int) -> str:
    """What the chair can do with a vote nobody has voted in: it decides nothing yet."""
    return (
        "无人投票不能作为表决结果：请出席成员投票后再发送「结束表决」；"
        f"本次不再表决的，主持人可发送「暂缓 {number} 理由」转入下次会议。"
    )


async def ballots_cast(v: repo.Vote) -> int:
    """How many have voted in an open vote (a show of hands: the hands entered)."""
    if v.method is g.VoteMethod.SECRET:
        return len(await repo.secret_voters(v.id))
    if v.method is g.VoteMethod.SHOW_OF_HANDS:
        return sum(v.hands.values()) if v.hands else 0
    return len(await repo.named_ballots(v.id))


async def _open_vote(
    ctx: Context, meeting: repo.Meeting, it: repo.Item, opening: _Opening, by: repo.Person
) -> repo.Vote:
    electorate, closes_at = opening.electorate, opening.closes_at
    vote = await repo.open_vote(it.id, method=opening.method, electorate=electorate, now=ctx.now)
    if closes_at is not None:
        await acks.set_vote_deadline(vote.id, closes_at)
    await repo.update_item(it.id, state=opening.item_state)
    await record(
        ctx,
        EventKind.VOTE_OPENED,
        {
            "vote": vote.id,
            "item": it.id,
            "number": it.number,
            "title": it.title,
            "matter_type": it.matter_type.value,
            "method": opening.method.value,
            "base": opening.base,
            "present": len(electorate.voters),
            "recused": await names(sorted(electorate.recused)),
            "needed": opening.needed,
            "by": person_payload(by),
            **({"closes_at": closes_at.isoformat()} if closes_at is not None else {}),
        },
        meeting=meeting,
    )
    return vote


_HOW_TO_VOTE = {
    g.VoteMethod.NAMED: "请出席成员在群里发送「赞成」「反对」或「弃权」。",
    g.VoteMethod.SECRET: "无记名投票：请在与我的私聊中发送「投票 赞成」「投票 反对」或「投票 弃权」，结果在结束时公布。",
    g.VoteMethod.SHOW_OF_HANDS: "举手表决：由记录人录入结果，例如「举手结果 赞成4 反对2 弃权1」。",
}


async def yet_to_vote(vote: repo.Vote) -> list[int]:
    """Who may vote in an open vote and has not (a secret vote's voters are known, never their
    choices); none for a show of hands, which the recorder enters."""
    if vote.method is g.VoteMethod.SHOW_OF_HANDS:
        return []
    if vote.method is g.VoteMethod.SECRET:
        voted: Collection[int] = await repo.secret_voters(vote.id)
    else:
        voted = await repo.named_ballots(vote.id)
    return [p for p in sorted(vote.electorate.voters) if p not in voted]


async def my_ballot(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「我投了吗」: for each open vote the speaker may vote in, whether they have (a named
    ballot's choice is said, being public at the close; a secret one's never is, it is not
    known). Writes nothing."""
    person = ctx.require_person()
    lines = []
    for society_id, vote, it in await repo.open_votes_of(person.id):
        if person.id not in vote.electorate.voters:
            continue
        where = (await repo.society(society_id)).name
        head = f"{where} 议题{it.number}「{it.title}」（{t.METHOD[vote.method]}）："
        if vote.method is g.VoteMethod.SHOW_OF_HANDS:
            lines.append(f"{head}举手表决，由记录人录入举手结果。")
        elif vote.method is g.VoteMethod.SECRET and person.id in await repo.secret_voters(vote.id):
            lines.append(
                f"{head}您已投票（选择不与身份关联保存），结束后可私聊「查回执 回执号」核对。"
            )
        elif vote.method is g.VoteMethod.NAMED and (choice := await _my_choice(vote, person)):
            if isinstance(choice, g.Choice):
                lines.append(f"{head}您已投{t.CHOICE[choice]}票。")
            else:
                lines.append(f"{head}{_UNCHECKED_TEXT}")
        else:
            lines.append(f"{head}您还没有投票。{how_to_vote(vote.method)}")
    if not lines:
        return [ctx.reply(f"{person.name}目前没有需要参加的表决。")]
    return [ctx.reply("\n".join(lines))]


_UNCHECKED = "unchecked"  # the ballot's row fails its seal: its choice is not told
_UNCHECKED_TEXT = "您的投票记录校验未通过，暂不显示；请管理员运行「yishi verify」核查。"


async def _my_choice(vote: repo.Vote, person: repo.Person) -> g.Choice | str | None:
    """The person's named ballot as stored, only from a row that matches its seal
    (`_UNCHECKED` otherwise); None: not voted."""
    try:
        return (await repo.checked_named_ballots(vote.id, person.id)).get(person.id)
    except Tampered:
        logger.warning("vote %s: ballot rows fail their seals; not shown", vote.id)
        return _UNCHECKED


def how_to_vote(method: g.VoteMethod) -> str:
    return _HOW_TO_VOTE[method]


async def _vote_opened_replies(
    ctx: Context, it: repo.Item, vote: repo.Vote, opening: _Opening
) -> list[OutgoingMessage]:
    """The announcement with the vote card, mentioning the voters; for a secret vote, a private
    invitation to each voter."""
    method, rule, closes_at = opening.method, opening.rule, opening.closes_at
    base, needed, voters = opening.base, opening.needed, sorted(opening.electorate.voters)
    number = it.number
    warn = ""
    if len(voters) < needed:
        warn = (
            f"\n⚠ 注意：出席且有表决权的只有{len(voters)}人，少于通过所需的{needed}票，"
            "本议题即使全部赞成也不能通过。"
        )
    opinion_text = "".join(f"\n{line}" for line in await opinion_lines(it))
    how = _HOW_TO_VOTE[method]
    leader_note = "\n人事事项由组长最后表态。" if rule.leader_votes_last else ""
    deadline_note = "" if closes_at is None else f"\n{t.vote_deadline_text(closes_at, ctx.tz)}"
    text = (
        f"开始表决：议题{number}「{it.title}」（{t.MATTER[it.matter_type]}，{t.METHOD[method]}）。\n"
        f"应到会{base}人，出席且有表决权{len(voters)}人；赞成票须超过应到会人数的"
        f"{t.share_text(rule.pass_share)}，即至少{needed}票方为通过。\n{how}{leader_note}"
        f"{deadline_note}{warn}{opinion_text}"
    )
    out = [
        OutgoingMessage(
            chat=ctx.message.chat,
            text=text,
            mentions=tuple(await mentions_for(ctx, voters)),
            card=None
            if method is g.VoteMethod.SHOW_OF_HANDS  # no buttons inviting refused ballots
            else VoteCard(
                vote.id,
                f"议题{number}：{it.title}",
                t.card_summary(0, len(voters), closes_at, ctx.tz),
                method is g.VoteMethod.SECRET,
            ),
            in_reply_to=ctx.message.message_id,
            reply_handle=ctx.message.reply_handle,
        )
    ]
    if method is g.VoteMethod.SECRET:
        for ref in await mentions_for(ctx, voters):
            out.append(
                ctx.private(
                    ref,
                    f"议题{number}「{it.title}」无记名投票已开始。请直接回复「投票 赞成」「投票 反对」或「投票 弃权」，"
                    "您的选择不会与您的身份关联保存。",
                )
            )
    return out


async def opinion_lines(it: repo.Item) -> list[str]:
    """The written opinions on the item of members on leave, as the meeting hears them."""
    opinions = await repo.opinions(it.id)
    if not opinions:
        return []
    people = await repo.people([p for p, _ in opinions])
    return ["书面意见（不计入票数）：", *(f"- {people[p].name}：{t.echo(x)}" for p, x in opinions)]


_DEADLINE_WORDS = ("截止", "截至")
_DEADLINE_USAGE = "发起表决 2 记名 截止 16:30"


def _deadline(ctx: Context, rest: str) -> tuple[str, datetime | None]:
    """Split `... 截止 <时间>` off the arguments: (what precedes it, the deadline or None).
    A time that cannot be read, has text after it, or has passed is refused."""
    found = [(rest.find(w), w) for w in _DEADLINE_WORDS if w in rest]
    if not found:
        return rest, None
    at, word = min(found)
    before, text = rest[:at].strip(), rest[at + len(word) :].strip(" :：")
    if not text:
        raise UsageError(f"请写明表决截止时间，例如：{_DEADLINE_USAGE}")
    parsed = leading_time(text, ctx.now, ctx.tz)
    if parsed is None:
        raise UsageError(
            f"没能识别截止时间「{text}」，可以写成「16:30」「今天下午4点半」或「2026-12-05 16:30」，"
            f"例如：{_DEADLINE_USAGE}"
        )
    if parsed.rest:
        raise UsageError(
            f"截止时间后面的「{parsed.rest}」无法识别，请只写一个时间，例如：{_DEADLINE_USAGE}"
        )
    # A bare clock time that has passed today would be read as tomorrow: say it has passed.
    midnight = datetime.combine(ctx.now.astimezone(ctx.tz).date(), time(0), tzinfo=ctx.tz)
    today = leading_time(text, midnight, ctx.tz)
    when = parsed.when
    if today is not None and today.when != when and today.when <= ctx.now:
        when = today.when
    if when <= ctx.now:
        raise UsageError(
            f"截止时间 {t.when(when, ctx.tz)} 已经过去了，请写一个将来的时间，例如：{_DEADLINE_USAGE}"
        )
    return before, when


async def target_vote(
    ctx: Context, number: int | None, vote_id: int | None = None
) -> tuple[repo.Meeting, repo.Vote, repo.Item]:
    if vote_id is not None:
        return await _card_vote(ctx, vote_id)
    meeting = await current_meeting(ctx)
    found = _open_target(ctx, await repo.open_votes(meeting.id), number)
    if found is not None:
        return meeting, *found
    return meeting, *await _closed_target(meeting, number)


# Vote ids are 32-bit in the database: a card naming a larger one names no vote.
_MAX_VOTE_ID = 2**31 - 1


async def _card_vote(ctx: Context, vote_id: int) -> tuple[repo.Meeting, repo.Vote, repo.Item]:
    """The vote a card button names, whatever meeting is current: a card of an earlier meeting
    is answered as a closed vote (its ballot refused as such), one of another society's votes or
    of no vote at all says so. Nothing is counted either way."""
    society = ctx.require_society()
    vote = await repo.vote_or_none(vote_id) if vote_id <= _MAX_VOTE_ID else None
    it = None if vote is None else await repo.item(vote.item_id)
    meeting = None if it is None else await repo.meeting(it.meeting_id)
    if vote is None or it is None or meeting is None or meeting.society_id != society.id:
        raise UsageError(
            f"这张表决卡片不是{society.name}的表决，本次点击未计票。发送「会议状态」查看本学会当前的议程。"
        )
    return meeting, vote, it


def _open_target(
    ctx: Context, open_votes: list[tuple[repo.Vote, repo.Item]], number: int | None
) -> tuple[repo.Vote, repo.Item] | None:
    """The open vote a ballot or a count without a card means: the item's (None: the item has
    no open vote), or the only one open."""
    if number is not None:
        for v, it in open_votes:
            if it.number == number:
                return v, it
        return None
    if ctx.message.chat.kind is ChatKind.PRIVATE:
        # A private ballot is a secret one: the society's named votes are cast in its group.
        secret = [(v, it) for v, it in open_votes if v.method is g.VoteMethod.SECRET]
        open_votes = secret or open_votes
    if len(open_votes) == 1:
        return open_votes[0]
    if not open_votes:
        raise UsageError("目前没有正在进行的表决。主持人可发送「发起表决 议题编号」。")
    raise UsageError("有多项表决正在进行，请写明议题编号，例如「赞成 2」。")


async def _closed_target(meeting: repo.Meeting, number: int | None) -> tuple[repo.Vote, repo.Item]:
    """The item's last vote, when it has none open."""
    assert number is not None  # without a number, `_open_target` decides or refuses
    it = await item_by_number(meeting, number)
    votes = await repo.votes_of_item(it.id)
    if votes:
        return votes[-1], it
    if it.state is g.ItemState.PROPOSED:  # 「同意3」 on a member's proposal: no vote to come yet
        by = await repo.person(it.proposed_by_id)
        raise UsageError(
            f"议题{number}「{it.title}」还是{by.name}提出的议题建议，尚未列入议程，没有表决。"
            f"由本次会议的组长决定是否列入（「同意议题 {number}」或「驳回议题 {number} 理由」）。"
        )
    if it.state is g.ItemState.ACCEPTED and it.matter_type in g.NOT_VOTED:
        raise UsageError(
            f"议题{number}「{it.title}」是学习通报事项，不表决，纪要记为「学习通报」，这句话不记票。"
        )
    if it.state is g.ItemState.DEFERRED:
        raise UsageError(
            f"议题{number}「{it.title}」已暂缓，转入下次会议再行表决，本次不表决，这句话不记票。"
        )
    if it.state is g.ItemState.REJECTED:
        raise UsageError(f"议题{number}「{it.title}」不在本次会议议程上，没有表决，这句话不记票。")
    raise UsageError(f"议题{number}还没有发起表决。主持人发送「发起表决 {number}」开始表决。")


async def withdraw_vote(ctx: Context, args: str) -> list[OutgoingMessage]:
    """撤回表决 [议题编号] [理由] (「表决发错了，撤销」「刚才的表决作废，撤回」): the chair withdraws
    a vote opened by mistake while nobody has voted in it. The item is to be voted on again;
    the chain keeps the vote's opening and its withdrawal (the minutes say both). Once anyone
    has voted, refused: the ballots stand, and the vote is closed by the rules."""
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(ctx, DURING_MEETING)
    await require_chair(ctx, meeting, "没有撤回表决")
    number, reason = parse_item_ref(args)
    bounded(reason, "撤回理由")
    vote, it = await _the_open_vote(meeting, number, "撤回表决")
    await _ballots_stand(vote, it, "没有撤回")
    await _recall(ctx, meeting, vote, it, person, reason)
    why = f"（{t.echo(reason)}）" if reason else ""
    head = f"议题{it.number}「{it.title}」的{t.METHOD[vote.method]}已撤回{why}"
    text = (
        f"{head}。发起后尚无人投票，撤回已记录在案，议题回到待表决；"
        f"主持人可重新发送「发起表决 {it.number}」。"
    )
    voters = await mentions_for(ctx, sorted(vote.electorate.voters))
    out = [ctx.reply(text, voters), *await _withdrawn_card(ctx, vote, it)]
    if vote.method is g.VoteMethod.SECRET:  # those invited in private are told there too
        out += [ctx.private(ref, f"{head}，不用再投票。") for ref in voters]
    return out


async def change_method(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「改成无记名投票」「改为举手表决」 (改表决方式 <方式>): while nobody has voted, the open vote
    is withdrawn and opened again on the same item by the method named, in one step, both on
    the record. Once anyone has voted, refused: the ballots stand."""
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(ctx, DURING_MEETING)
    await require_chair(ctx, meeting, "没有改变表决方式")
    number, rest = parse_item_ref(args)
    word = next((w for w in sorted(t.METHOD_WORDS, key=len, reverse=True) if w in rest), "")
    if not word:
        raise UsageError(
            "请写明改用哪种表决方式，例如「改表决方式 无记名」（可用：记名、举手、无记名）。"
        )
    method = t.METHOD_WORDS[word]
    if not await repo.open_votes(meeting.id):
        raise UsageError(
            f"目前没有正在进行的表决，没有可改的表决方式。要用{t.METHOD[method]}，"
            f"请发送「{t.METHOD_WORD[method]}表决 议题编号」。"
        )
    vote, it = await _the_open_vote(meeting, number, f"改表决方式 {t.METHOD_WORD[method]}")
    if vote.method is method:
        raise UsageError(f"议题{it.number}「{it.title}」正在{t.METHOD[method]}，不用改。")
    await _ballots_stand(vote, it, f"没有改为{t.METHOD[method]}")
    g.check_method(method, ctx.policy.matter(it.matter_type))  # before anything is written
    reason = f"改为{t.METHOD[method]}"
    await _recall(ctx, meeting, vote, it, person, reason)
    it = await repo.item(it.id)
    closes_at = vote.closes_at if vote.closes_at is not None and vote.closes_at > ctx.now else None
    request = _VoteRequest(it.number, t.METHOD_WORD[method], closes_at)
    opening = await _decide_opening(ctx, meeting, it, request)
    new = await _open_vote(ctx, meeting, it, opening, person)
    await repo.set_focus(meeting.id, it.number, ctx.now)
    opened = await _vote_opened_replies(ctx, it, new, opening)
    head = (
        f"议题{it.number}「{it.title}」的表决方式由{t.METHOD[vote.method]}改为{t.METHOD[method]}："
        f"原{t.METHOD[vote.method]}尚无人投票，已撤回，记录在案。"
    )
    return [
        replace(opened[0], text=f"{head}\n{opened[0].text}"),
        *await _withdrawn_card(ctx, vote, it),
        *opened[1:],
    ]


async def _the_open_vote(
    meeting: repo.Meeting, number: int | None, command: str
) -> tuple[repo.Vote, repo.Item]:
    """The open vote a withdrawal or a change of method is about: the item's, or the one open."""
    voting = await repo.open_votes(meeting.id)
    if not voting:
        raise UsageError("目前没有正在进行的表决，没有可撤回的表决。发送「会议状态」查看议程。")
    listed = "、".join(f"议题{it.number}「{it.title}」" for _, it in voting)
    if number is not None:
        for vote, it in voting:
            if it.number == number:
                return vote, it
        raise UsageError(f"议题{number}没有正在进行的表决。正在表决的是：{listed}。")
    if len(voting) > 1:
        raise UsageError(
            f"正在表决的有：{listed}。请写明议题编号，例如「{command} {voting[0][1].number}」。"
        )
    return voting[0]


async def _ballots_stand(vote: repo.Vote, it: repo.Item, undone: str) -> None:
    """Refused, saying why, once anyone has voted (g.check_vote_recall): the ballots stand."""
    cast = await ballots_cast(vote)
    try:
        g.check_vote_recall(cast)
    except g.GovernanceError:
        if vote.method is g.VoteMethod.SHOW_OF_HANDS:
            so_far, stands, then = "已录入举手结果", "录入的举手结果", "请主持人"
        else:
            so_far, stands, then = f"已有{cast}人投票", "已投的票", "请出席成员投完后，主持人"
        raise UsageError(
            f"议题{it.number}「{it.title}」的{t.METHOD[vote.method]}{so_far}，{undone}。"
            f"{stands}有效，不能撤回或作废：表决由集体作出，每一票都记录在案。"
            f"{then}发送「结束表决」按规则计算结果（意见分歧较大的重大事项，届时依第十六条暂缓决定）。"
        ) from None


async def _recall(
    ctx: Context,
    meeting: repo.Meeting,
    vote: repo.Vote,
    it: repo.Item,
    by: repo.Person,
    reason: str,
) -> None:
    """Close a vote nobody has voted in as withdrawn (no result), its item back to be voted on;
    on the record as `vote_withdrawn` (the row's result is its payload without `by`)."""
    result = {
        "vote": vote.id,
        "item": it.id,
        "number": it.number,
        "title": it.title,
        "method": vote.method.value,
        "outcome": WITHDRAWN,
        "reason": reason,
    }
    await repo.discard_secret_ballots(vote.id)  # (none were cast)
    await repo.close_vote(vote.id, result=result, now=ctx.now)
    await repo.update_item(it.id, state=g.item_next(it.state, g.ItemAction.RECALL))
    await record(
        ctx, EventKind.VOTE_WITHDRAWN, {**result, "by": person_payload(by)}, meeting=meeting
    )


async def _withdrawn_card(ctx: Context, vote: repo.Vote, it: repo.Item) -> list[OutgoingMessage]:
    """The withdrawn vote's card, closed: no button on it takes a ballot any more."""
    return await card_updates(ctx, vote, it, "表决已撤回", closed=True)


# A withdrawn vote's `outcome` (its row's result and its `vote_withdrawn` entry).
WITHDRAWN = "withdrawn"


# The command words that cast a ballot (counted as one in the metrics: bot/app.py).
BALLOT_WORDS = frozenset(t.CHOICE_WORDS) | {"投票"}

_TRAILING = re.compile(r"[。.!！~]+$")


_VOTE_ID = re.compile(r"^表决#(\d{1,20})$")


def _vote_args(args: str) -> tuple[int | None, int | None]:
    """Only an optional item number (or, from a card button, `表决#<vote id>`) may follow a
    vote word; anything else is not a vote. Returns (item number, vote id)."""
    args = _TRAILING.sub("", args.strip())
    if not args:
        return None, None
    by_id = _VOTE_ID.match(args)
    if by_id is not None:
        return None, int(by_id.group(1))
    number, rest = parse_item_ref(args)
    if number is None or rest:
        raise UsageError(
            "没有记录投票：投票指令只能是「赞成」「反对」「弃权」（可加议题编号，如「赞成 2」）。"
        )
    return number, None


_BY_VOTE_ID = re.compile(r"表决#(\d{1,20})")


async def _private_ballot_society(ctx: Context, args: str) -> tuple[Context, str]:
    """A private ballot from a member of several societies: which society it is for. Named in
    the message (`表决#12`, or the society's name, which is then taken out of the arguments),
    else the only society with an open secret vote the speaker may cast. With several, the
    speaker is asked which, and the ballot is not taken: they send it again with the vote named
    (the choice is never kept while asking: it is a secret)."""
    person = ctx.require_person()
    mine = await repo.societies_of(person.id)
    votes = await repo.open_votes_of(person.id)
    by_id = _BY_VOTE_ID.search(args)
    if by_id is not None:
        wanted = int(by_id.group(1))
        for society_id, v, _ in votes:
            if v.id == wanted:
                return await enter_society(ctx, await repo.society(society_id)), args
        raise UsageError(f"表决#{wanted}不是您所在学会正在进行的表决，本条消息未计票。")
    societies = [await repo.society(sid) for sid in mine]
    for society in sorted(societies, key=lambda x: len(x.name), reverse=True):
        if society.name in args:
            rest = args.replace(society.name, " ").strip()
            return await enter_society(ctx, society), rest
    names = {x.id: x.name for x in societies}
    secret = [
        (sid, v, it)
        for sid, v, it in votes
        if v.method is g.VoteMethod.SECRET and person.id in v.electorate.voters
    ]
    if len({sid for sid, _, _ in secret}) == 1:
        return await enter_society(ctx, await repo.society(secret[0][0])), args
    if not secret and not mine and g.Role.COMMITTEE in ctx.roles:
        # 「同意」 from the committee in private: an approval, not a ballot
        raise UsageError(
            "市科技社团党委管理员不参加学会的表决。审批成员调整请发送「批准 申请编号」"
            "或「驳回 申请编号 理由」，发送「待批」查看待审批的申请。"
        )
    if not secret:
        raise UsageError(
            "您所在的学会目前都没有需要私聊投票的无记名投票。记名表决请在学会工作群里投票。"
        )
    lines = [f"· 表决#{v.id}：{names[sid]} 议题{it.number}「{it.title}」" for sid, v, it in secret]
    raise UsageError(
        "您所在的几个学会都有正在进行的无记名投票，请写明投给哪一项，例如"
        f"「投票 赞成 表决#{secret[0][1].id}」（本条消息未计票）：\n" + "\n".join(lines)
    )


@dataclass(frozen=True, slots=True)
class _Ballot:
    """One member's ballot on one vote, as asked."""

    meeting: repo.Meeting
    vote: repo.Vote
    it: repo.Item
    voter: repo.Person
    choice: g.Choice


@dataclass(frozen=True, slots=True)
class _BallotsSoFar:
    """The vote's ballots as the voter finds them."""

    previous: g.Choice | None  # the voter's named ballot (never known for a secret vote)
    already: bool  # the voter has voted
    voted: frozenset[int]  # who has voted


async def cast(ctx: Context, choice: g.Choice, args: str) -> list[OutgoingMessage]:
    if ctx.society is None and ctx.message.chat.kind is ChatKind.PRIVATE:
        ctx, args = await _private_ballot_society(ctx, args)
    ctx.require_society()
    person = ctx.require_person()
    number, vote_id = _vote_args(args)
    if number is not None and g.Role.RECORDER in ctx.roles:
        await _hands_said_as_ballot(ctx, choice, number)
    meeting, vote, it, named = await _ballot_target(ctx, number, vote_id)
    ballot = _Ballot(meeting, vote, it, person, choice)
    so_far = await _ballots_so_far(ballot, named)
    # the meeting's leader (the leader when it was convened, governance Rule 7) votes last
    leader_voted = meeting.leader_id != person.id and meeting.leader_id in so_far.voted
    left = await repo.left_meeting(meeting.id)
    try:
        action = _decide_ballot(ctx, ballot, so_far, left, leader_voted)
    except g.GovernanceError as exc:
        if exc.refusal is g.Refusal.NOT_PRESENT:
            await _not_present_on_leave(meeting, it, person)
        raise
    try:
        match action:
            case g.BallotAction.SAME:
                # 「已投过…」 tells the stored ballot: only from a row that matches its seal
                if vote.method is not g.VoteMethod.SECRET:
                    await repo.checked_named_ballots(vote.id, person.id)
                tag = t.item_tag(it.number, it.title)
                same = ctx.reply(f"{person.name}已投过{t.CHOICE[choice]}票（{tag}），无需重复。")
                return [_acked(ctx, same, vote, choice, BallotOutcome.UNCHANGED)]
            case g.BallotAction.NEW | g.BallotAction.CHANGE:
                pass
        # A changed ballot's row is checked against its seal before it is replaced (a first
        # ballot reads nothing more): never 「原为…」 from an edited row, never overwritten.
        receipt = await _store_ballot(ctx, ballot, so_far.previous, action)
    except Tampered as exc:
        raise record_fails_check(
            ctx,
            exc,
            where=f"{ctx.require_society().name} 第{meeting.number}次会议 议题{it.number}（表决#{vote.id}）",
            said=f"{person.name}在议题{it.number}已投的票的记录",
            refused=f"本条{t.CHOICE[choice]}没有记录（改票未办理）",
            undone="办理改票",
        ) from exc
    return await _ballot_replies(ctx, ballot, so_far, action, receipt)


async def _not_present_on_leave(meeting: repo.Meeting, it: repo.Item, person: repo.Person) -> None:
    """A ballot refused as not present, from a member on leave: said as such (a leave is no
    presence; a written opinion is the way to be heard), not the check-in advice."""
    entry = (await repo.attendance(meeting.id)).get(person.id)
    if entry is None or entry.status is not g.Attendance.LEAVE:
        return
    raise UsageError(
        f"{person.name}已请假，不参加本次会议的表决，本条对议题{it.number}未计票（表决开始后不能再交"
        "书面意见）。已到会场的，请发送「签到」，参加之后的表决。"
    )


async def _hands_said_as_ballot(ctx: Context, choice: g.Choice, number: int) -> None:
    """The recorder's 「赞成6」 while a show of hands is open and no vote on item 6 is: the count
    of hands (举手结果), asked back; a ballot on an item with an open vote stays a ballot."""
    meeting = await current_meeting(ctx)
    open_votes = await repo.open_votes(meeting.id)
    hands = [it for v, it in open_votes if v.method is g.VoteMethod.SHOW_OF_HANDS]
    if len(hands) != 1 or any(it.number == number for _, it in open_votes):
        return
    said = f"{t.CHOICE[choice]}{number}"
    raise AskBack(
        f"议题{hands[0].number}「{hands[0].title}」正在举手表决，是要录入举手结果「{said}」吗？"
        f"其他选择的人数也可一并写上，例如「举手结果 {said} 反对0 弃权0」。",
        f"举手结果 {said}",
    )


async def _ballot_target(
    ctx: Context, number: int | None, vote_id: int | None
) -> tuple[repo.Meeting, repo.Vote, repo.Item, dict[int, g.Choice] | None]:
    """`target_vote` for a ballot: an open vote comes with its named ballots, read with it."""
    if vote_id is not None:
        return *await target_vote(ctx, number, vote_id), None
    meeting = await current_meeting(ctx)
    open_votes = await repo.open_votes_with_ballots(meeting.id)
    if not open_votes and (on_leave := await common.ballot_while_on_leave(ctx)) is not None:
        raise UsageError(on_leave)  # no vote to wait for: a written opinion to give
    found = _open_target(ctx, [(v, it) for v, it, _ in open_votes], number)
    if found is None:
        return meeting, *await _closed_target(meeting, number), None
    vote, it = found
    return meeting, vote, it, next(b for v, _, b in open_votes if v.id == vote.id)


async def _ballots_so_far(ballot: _Ballot, named: dict[int, g.Choice] | None) -> _BallotsSoFar:
    """`named`: the vote's named ballots when they were read with it."""
    vote, voter = ballot.vote, ballot.voter
    if vote.method is g.VoteMethod.SECRET:
        voters = await repo.secret_voters(vote.id)
        return _BallotsSoFar(None, voter.id in voters, voters)
    ballots = await repo.named_ballots(vote.id) if named is None else named
    previous = ballots.get(voter.id)
    return _BallotsSoFar(previous, previous is not None, frozenset(ballots))


def _decide_ballot(
    ctx: Context, ballot: _Ballot, so_far: _BallotsSoFar, left: frozenset[int], leader_voted: bool
) -> g.BallotAction:
    """A secret ballot is never taken in the group; the rest is governance's check_ballot
    (`left`: who has left the meeting)."""
    vote = ballot.vote
    if vote.state is not g.VoteState.OPEN:  # 「表决已结束」, however it would have been cast
        return _checked_ballot(ctx, ballot, so_far, left, leader_voted)
    if vote.method is g.VoteMethod.SECRET and ctx.message.chat.kind is ChatKind.GROUP:
        raise UsageError(
            "这是无记名投票，请在与我的私聊中发送「投票 赞成/反对/弃权」，本条消息未计票。"
        )
    if vote.method is g.VoteMethod.SHOW_OF_HANDS and ctx.message.chat.kind is ChatKind.PRIVATE:
        raise UsageError(
            f"议题{ballot.it.number}是举手表决：请在会上举手，由记录人在群里录入举手结果，"
            "无需个人投票；本条私聊消息未计票。"
        )
    if vote.method is not g.VoteMethod.SECRET and ctx.message.chat.kind is ChatKind.PRIVATE:
        raise UsageError(
            f"议题{ballot.it.number}是{t.METHOD[vote.method]}，请在学会工作群里发送「{t.CHOICE[ballot.choice]}」，"
            "让全体成员都能看到；本条私聊消息未计票。"
        )
    return _checked_ballot(ctx, ballot, so_far, left, leader_voted)


def _checked_ballot(
    ctx: Context, ballot: _Ballot, so_far: _BallotsSoFar, left: frozenset[int], leader_voted: bool
) -> g.BallotAction:
    vote = ballot.vote
    return g.check_ballot(
        vote_state=vote.state,
        method=vote.method,
        electorate=vote.electorate,
        voter_id=ballot.voter.id,
        is_observer=g.Role.OBSERVER in ctx.roles,
        previous=so_far.previous,
        already_voted=so_far.already,
        choice=ballot.choice,
        policy=ctx.policy,
        rule=ctx.policy.matter(ballot.it.matter_type),
        voter_is_leader=ballot.voter.id == ballot.meeting.leader_id,
        voted=so_far.voted,
        last_call=vote.closes_at is not None and vote.closes_at <= ctx.now,
        left=left,
        stale=g.meeting_gone_stale(ballot.meeting.opened_at, ctx.now),
        leader_voted=leader_voted,
    )


async def _store_ballot(
    ctx: Context, ballot: _Ballot, previous: g.Choice | None, action: g.BallotAction
) -> str:
    """Store the ballot (a secret one apart from the voter's name) and record it; return the
    receipt."""
    vote, it, person, choice = ballot.vote, ballot.it, ballot.voter, ballot.choice
    if vote.method is g.VoteMethod.SECRET:
        receipt = await repo.cast_secret_ballot(vote.id, person.id, choice)
        await record(
            ctx,
            EventKind.SECRET_BALLOT,
            {"vote": vote.id, "item": it.id, "number": it.number, "voter": person_payload(person)},
            meeting=ballot.meeting,
        )
        return receipt
    receipt = await repo.put_named_ballot(
        ballot.meeting.society_id, vote.id, person.id, choice, first=previous is None
    )
    changed = action is g.BallotAction.CHANGE
    await record(
        ctx,
        EventKind.BALLOT_CHANGED if changed else EventKind.BALLOT,
        {
            "vote": vote.id,
            "item": it.id,
            "number": it.number,
            "voter": person_payload(person),
            "choice": choice.value,
            "previous": previous.value if previous else None,
            "receipt": receipt,
        },
        meeting=ballot.meeting,
    )
    return receipt


async def _ballot_replies(
    ctx: Context, ballot: _Ballot, so_far: _BallotsSoFar, action: g.BallotAction, receipt: str
) -> list[OutgoingMessage]:
    """The voter's confirmation with the count, and the card with its new count (a changed
    named ballot leaves the count, so the card as it is)."""
    vote, it, person, choice = ballot.vote, ballot.it, ballot.voter, ballot.choice
    total = len(vote.electorate.voters)
    tag = t.item_tag(it.number, it.title)  # the item read with the open vote: no statement
    if vote.method is g.VoteMethod.SECRET:
        count = len(so_far.voted) + 1
        return [
            _acked(
                ctx,
                ctx.reply(
                    f"已收到您的无记名投票（{tag}），回执 {receipt}，结束时公布全部回执。已投{count}/{total}。"
                ),
                vote,
                choice,
                BallotOutcome.RECORDED,
            ),
            *await card_updates(
                ctx, vote, it, t.card_summary(count, total, vote.closes_at, ctx.tz)
            ),
        ]
    previous = so_far.previous
    changed = action is g.BallotAction.CHANGE
    count = len(so_far.voted) + (0 if changed else 1)
    if changed and previous is not None:
        return [
            _acked(
                ctx,
                ctx.reply(
                    f"{person.name}改投{t.CHOICE[choice]}（{tag}；原为{t.CHOICE[previous]}，已记录改票）。已投{count}/{total}。"
                ),
                vote,
                choice,
                BallotOutcome.CHANGED,
            )
        ]
    return [
        _acked(
            ctx,
            ctx.reply(
                f"{person.name}：{t.CHOICE[choice]}（{tag}），已记录（回执 {receipt}）。已投{count}/{total}。"
            ),
            vote,
            choice,
            BallotOutcome.RECORDED,
        ),
        *await card_updates(ctx, vote, it, t.card_summary(count, total, vote.closes_at, ctx.tz)),
    ]


def _acked(
    ctx: Context,
    reply: OutgoingMessage,
    vote: repo.Vote,
    choice: g.Choice,
    outcome: BallotOutcome,
) -> OutgoingMessage:
    """The ballot reply with what it acknowledges in structure (adapters never read its text)."""
    ack = BallotAck(vote.id, choice.value, outcome, ctx.message.sender)
    return replace(reply, ballot=ack)


async def card_updates(
    ctx: Context, vote: repo.Vote, it: repo.Item, summary: str, *, closed: bool = False
) -> list[OutgoingMessage]:
    """The vote card with its new count (only counts: never who chose what), for the group
    chats of the society on the voter's platform. A text-less card message is an update: it
    always goes through the outbox, and the adapter edits the card it posted for this vote.
    A show of hands has no card (the recorder enters its result): nothing to update."""
    if vote.method is g.VoteMethod.SHOW_OF_HANDS:
        return []
    card = VoteCard(
        vote.id, f"议题{it.number}：{it.title}", summary, vote.method is g.VoteMethod.SECRET, closed
    )
    chat = ctx.message.chat
    if chat.kind is ChatKind.GROUP:
        chats = [chat]
    else:
        society = ctx.require_society()
        chats = [
            ChatRef(platform, corp, chat_id)
            for platform, corp, chat_id in await repo.group_chats(society.id)
            if platform is chat.platform
        ]
    return [
        OutgoingMessage(chat=c, text="", card=card, in_reply_to=ctx.message.message_id)
        for c in chats
    ]


async def vote_command(ctx: Context, args: str) -> list[OutgoingMessage]:
    """投票 赞成 [议题编号]"""
    body = args.strip()
    for word in sorted(t.CHOICE_WORDS, key=len, reverse=True):
        if body.startswith(word):
            return await cast(ctx, t.CHOICE_WORDS[word], body[len(word) :])
    raise UsageError("没有记录投票：请发送「投票 赞成」「投票 反对」或「投票 弃权」。")


_RECEIPT = re.compile(r"^[0-9a-fA-F]{8}$")


async def secrecy(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「无记名投票安全吗」「别人能看到我投什么吗」: who can see a choice, in plain words, as the
    threat model says it (README 安全). Shows; writes nothing."""
    return [
        ctx.reply(
            "记名表决和举手表决：谁投了什么会在结果里公布。\n"
            "无记名投票：在与我的私聊中投；表决进行中您的选择加密保存，结束时打乱顺序、和您的身份分开，"
            "此后数据库里没有任何记录能把您和您的选择对上；公布的只有票数和每张票的回执，您可以私聊发送"
            "「查回执 回执号」核对自己的一张。谁投了票（不是投了什么）会显示。\n"
            "不在保护范围内的：钉钉或企业微信平台能看到私聊消息；持有服务器密钥的管理员在表决进行中"
            "理论上能解开当时的选票（密钥与数据库备份应分开保管）；回执也能被您拿给别人看。"
        )
    ]


async def check_receipt(ctx: Context, args: str) -> list[OutgoingMessage]:
    """查回执 <回执>: in a private chat, whether the ballot with this receipt is in the box of a
    closed secret vote, and as what (only the voter holds the receipt)."""
    if ctx.message.chat.kind is ChatKind.GROUP:
        raise UsageError("请在与我的私聊中发送「查回执 回执号」，不要在群里公开回执。")
    receipt = _TRAILING.sub("", args.strip())
    if not _RECEIPT.match(receipt):
        raise UsageError("请发送「查回执 回执号」，回执号是投票后收到的 8 位字母数字。")
    found = await repo.find_receipt(receipt)
    if not found:
        return [
            ctx.reply(f"没有找到回执 {receipt}：表决结束后才能核对，请确认表决已结束、回执号无误。")
        ]
    lines = []
    for vote_id, choice in found:
        it = await repo.item((await repo.vote(vote_id)).item_id)
        lines.append(
            f"回执 {receipt}：议题{it.number}「{it.title}」的无记名投票，"
            f"这张{t.CHOICE[choice]}票已计入结果。"
        )
    return [ctx.reply("\n".join(lines))]


def _choice_handler(choice: g.Choice) -> Handler:
    async def handler(ctx: Context, args: str) -> list[OutgoingMessage]:
        return await cast(ctx, choice, args)

    handler.__name__ = f"cast_{choice.value}"
    return handler


_CAST = {c: _choice_handler(c) for c in g.Choice}


async def change_vote_help(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「我要改票」「我投错了」: how a ballot is changed, or why it cannot be, for the votes open
    now. Writes nothing."""
    votes = await repo.open_votes((await current_meeting(ctx)).id)
    if not votes:
        return [ctx.reply("目前没有进行中的表决，不需要改票。")]
    word = args.strip()
    if word in _CHANGED_TO and any(g.ballot_changeable(v.method, ctx.policy) for v, _ in votes):
        # 「改成反对」 where a ballot can be changed: asked, as any ballot said with more words
        return [ctx.reply(f"是否投{word}票？回复「{word}」确认。")]
    lines = []
    for vote, it in votes:
        about = f"议题{it.number}「{it.title}」是{t.METHOD[vote.method]}"
        if g.ballot_changeable(vote.method, ctx.policy):
            lines.append(
                f"{about}：结束表决前重新发送「赞成」「反对」或「弃权」即可改票，"
                "以最后一次为准，每次改动都有记录。"
            )
        elif vote.method is g.VoteMethod.SHOW_OF_HANDS:
            lines.append(f"{about}：由记录人录入举手结果，请当场向主持人说明。")
        elif vote.method is g.VoteMethod.SECRET:
            lines.append(f"{about}：每人只能投一次，投出后不能更改。")
        else:
            lines.append(f"{about}：本学会的规则不允许改票，投出后不能更改。")
    return [ctx.reply("\n".join(lines))]


# The choices 「改成…」 may name (the router hands 改票 the ballot's word).
_CHANGED_TO = ("赞成", "反对", "弃权")

ROUTES = [
    Route(
        ("发起表决", "开始表决"),
        announced(start_vote),
        g.Need.CHAIR,
        "发起表决 2 记名 [截止 16:30]",
        "对一个议题发起表决（记名/举手/无记名，可设截止时间：到时提醒，不自动结束）",
        "组长",
        ask="发起表决",
        phrasings=(
            "开始投票",
            "发起投票",
            "进行表决",
            "表决一下",
            "表决",
            "请大家投票",
            "大家投票",
            "投票吧",
            "start vote",
            "大家表决",
        ),
        after=("表决", "投票"),
        # 「对议题1进行表决，记名」「第二项投票，无记名」: the item, then how, in a clause of its own
        # (「…，采用记名表决」 is 记名表决's)
        frames=(
            rf"(?:对|就)? ?(?P<object>{ITEM_REF}|{THIS_ITEM})[,，\s]*(?:请?大家)? ?(?:进行|开始)?"
            r" ?(?:表决|投票)[,，\s]+(?:采用|用)? ?(?P<rest>无记名|记名|举手)(?:吧)?",
        ),
        when=OFFERED_DURING,
    ),
    Route(
        ("撤回表决", "撤销表决"),
        announced(withdraw_vote),
        g.Need.CHAIR,
        "撤回表决 [理由]",
        "表决发错了、还没有人投票时撤回（也可说「刚才的表决作废，撤回」；议题回到待表决，撤回记录在案）；已有人投票的不能撤回",
        "组长",
        phrasings=(
            "表决撤回",
            "表决撤销",
            "表决作废",
            "表决取消",
            "取消表决",
            "作废表决",
            "表决发错了",
            "撤回这次表决",
            "撤销这次表决",
            "撤回刚才的表决",
            "撤销刚才的表决",
        ),
        frames=(
            # 「刚才的表决作废，撤回」「这次表决发错了，撤销吧」「把刚才的表决撤回」
            r"(?:把)?(?:刚才|刚刚|这次|这个|本次|上面)?(?:的|发起的|发的)?(?:这个|这次)?表决"
            r"(?:发错了?|弄错了?|搞错了?|有误|错了|不对)?[,，]? ?(?:作废|撤回|撤销|取消|不算)(?:了|吧)?"
            r"(?:[,，]? ?(?:撤回|撤销|作废|取消)(?:了|吧)?)?",
        ),
        when=OFFERED_DURING,
        unlisted=OFFERED_DURING,  # (帮助 fits a phone: 帮助 全部 lists it)
    ),
    Route(
        ("改表决方式", "更改表决方式"),
        announced(change_method),
        g.Need.CHAIR,
        "改表决方式 无记名",
        "还没有人投票时改用另一种表决方式（也可说「改成无记名投票」「改为举手表决」；原表决撤回、重新发起，都记录在案）",
        "组长",
        phrasings=("改变表决方式", "表决方式改为", "表决方式改成"),
        frames=(
            # 「改成无记名投票」「那就改为举手表决吧」「表决方式换成记名」
            r"(?:那|那就|还是)?(?:表决方式)?(?:改成|改为|换成|改用|换用)"
            r"(?P<object>无记名投票|无记名表决|不记名投票|无记名|举手表决|举手|记名表决|记名投票|记名)"
            r"(?:方式)?(?:表决|投票)?",
        ),
        when=OFFERED_DURING,
        unlisted=OFFERED_DURING,  # (帮助 fits a phone: 帮助 全部 lists it)
    ),
    Route(
        ("赞成", "同意"),
        _CAST[g.Choice.YES],
        g.Need.ANYONE,
        "赞成",
        "投赞成票",
        "成员",
        asked="表决规则",
        phrasings=(
            "投赞成票",
            "赞成票",
            "我投赞成票",
            "我投赞成",
            "投赞成",
            "投同意票",
            "投同意",
            "我投同意票",
        ),
        # 「[强]」「[OK]」: WeChat's and WeCom's codes for 👍 and 👌.
        confirm=(
            "👍",
            "✅",
            "👌",
            "[强]",
            "[ok]",
            "yes",
            "agree",
            "ok",
            "好",
            "好的",
            "可以",
            "支持",
            "没问题",
            "行",
            "完全同意",
            "赞同",
            "我赞同",
            "+1",
            "拥护",
            "坚决拥护",
            "无异议",
            "没有异议",
            "没意见",
            "没有意见",
            "改成赞成",
            "改投赞成",
            "改为赞成",
        ),
        exact=True,
        finds_private_society=True,
        when=OFFERED_DURING,
        instead=functools.partial(common.proposal_decided, word="同意议题"),
        unvoted="同意议题",
        frames=(
            # 「1号同意」 (as 「同意1号」); from the committee 「2号同意，3号驳回」「都同意吧」 decide
            # requests (Route.committee); a member's with more than a number is no ballot
            rf"(?P<object>#?[0-9]{{1,6}} ?号)(?:申请)? ?(?:同意|赞成)了?(?:吧)?(?P<rest>{AND_THE_OTHER})?",
            # (「全部赞成」「全部同意」 said alone are the recorder's show of hands, 举手结果,
            # which the committee's 「全部同意」 reaches 批准 through: requests are 同意d)
            r"(?!全部同意了?$)(?P<object>都|全部|全都|一律|统统)同意了?(?:吧)?",
        ),
        committee="批准",
    ),
    Route(
        ("反对", "不同意"),
        _CAST[g.Choice.NO],
        g.Need.ANYONE,
        "反对",
        "投反对票",
        "成员",
        asked="表决规则",
        phrasings=("投反对票", "反对票", "我投反对票", "我投反对", "投反对"),
        confirm=(
            "👎",
            "❌",
            "[弱]",
            "no",
            "disagree",
            "不行",
            "不可以",
            "不支持",
            "不赞成",
            "坚决反对",
            "有异议",
            "改成反对",
            "改投反对",
            "改为反对",
        ),
        exact=True,
        finds_private_society=True,
        when=OFFERED_DURING,
        instead=functools.partial(common.proposal_decided, word="驳回议题"),
        unvoted="驳回议题",
        frames=(rf"(?P<object>#?[0-9]{{1,6}} ?号)(?:申请)? ?(?:不同意|反对){FRAME_REASON}",),
        committee="驳回",
    ),
    Route(
        ("弃权",),
        _CAST[g.Choice.ABSTAIN],
        g.Need.ANYONE,
        "弃权",
        "投弃权票",
        "成员",
        asked="表决规则",
        phrasings=("投弃权票", "弃权票", "我投弃权票", "我弃权票", "我投弃权", "投弃权"),
        confirm=(
            "abstain",
            "🤐",
            "🤷",
            "不表态",
            "保留意见",
            "不投了",
            "随便",
            "改成弃权",
            "改投弃权",
            "改为弃权",
        ),
        exact=True,
        finds_private_society=True,
        when=OFFERED_DURING,
    ),
    Route(
        ("改票",),
        change_vote_help,
        g.Need.ANYONE,
        "改票",
        "问怎样改票（记名表决结束前重新发送选择即可；无记名投票不能改）",
        "成员",
        phrasings=(
            "我要改票",
            "要改票",
            "想改票",
            "能改票吗",
            "可以改票吗",
            "怎么改票",
            "投错了",
            "我投错了",
            "撤回投票",
            "撤回我的投票",
            "撤销投票",
            "重新投票",
            "刚才投错了",
            "我刚才投错了",
            "投票可以改吗",
            "投了还能改吗",
            "票可以改吗",
        ),
        shows=True,
        when=OFFERED_DURING,
    ),
    Route(
        ("投票保密",),
        secrecy,
        g.Need.ANYONE,
        "投票保密",
        "问无记名投票的保密：谁能看到什么",
        "成员",
        needs_society=False,
        phrasings=(
            "无记名投票安全吗",
            "投票保密吗",
            "我的票是保密的吗",
            "别人能看到我投什么吗",
            "别人能看到我投的什么吗",
            "别人知道我投了什么吗",
            "会不会知道我投了什么",
            "谁能看到我投的票",
            "管理员能看到我投什么吗",
        ),
        shows=True,
    ),
    Route(
        ("我的投票",),
        my_ballot,
        g.Need.ANYONE,
        "我的投票",
        "查看自己在进行中的表决里投了没有（无记名投票只说投了没有）",
        "成员",
        needs_society=False,
        phrasings=(
            "我投了吗",
            # 「我已经投了」: answered with what was recorded (the card may not have said)
            "我已经投了",
            "我已经投过了",
            "我投过了",
            "我投的是什么",
            "我投的什么",
            "我刚才投的是什么",
            "我投票了吗",
            "我投过了吗",
            "我投过票了吗",
            "我的票投了吗",
            "我的票投上了吗",
            "我的票算了吗",
            "我的票记上了吗",
            "我投了什么",
        ),
        shows=True,
    ),
    Route(
        ("查回执",),
        check_receipt,
        g.Need.ANYONE,
        "查回执 回执号",
        "无记名投票结束后，私聊核对自己的选票已计入",
        "成员",
        needs_society=False,
        phrasings=("核对回执", "查一下回执", "我的投票回执", "投票回执", "我的回执"),
        shows=True,
    ),
    Route(
        ("投票",),
        vote_command,
        g.Need.ANYONE,
        "投票 赞成",
        "投票（无记名投票请私聊发送；在几个学会都有投票时写明「表决#编号」）",
        "成员",
        asked="表决规则",
        phrasings=("vote",),
        exact=True,
        finds_private_society=True,
        when=OFFERED_DURING,
    ),
]

# The ballot routes by choice (ballot_on_voting_item hands messages to them).
_BALLOTS = {c: next(r for r in ROUTES if r.handler is _CAST[c]) for c in g.Choice}


async def ballot_on_voting_item(
    ctx: Context, args: str, choice: g.Choice
) -> tuple[Route, str] | None:
    """「同意议题1」「不同意议题2」 while that item's vote is open: the ballot on it (for
    Route.instead of the agenda decisions whose words these are); otherwise None."""
    number, rest = parse_item_ref(args)
    if number is None or rest or ctx.society is None:
        return None
    meeting = ctx.active_meeting or await repo.active_meeting(ctx.society.id)
    if meeting is None or meeting.state is not g.MeetingState.OPEN:
        return None
    if any(it.number == number for _, it in await repo.open_votes(meeting.id)):
        return _BALLOTS[choice], f"议题{number}"
    return None
