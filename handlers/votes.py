"""Votes, item by item: open, cast (named, secret, show of hands), count, close, defer, emergency."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from bot import governance as g
from bot.events import ChatKind, ChatRef, EventKind, OutgoingMessage, VoteCard
from bot.router import Context, Route, UsageError
from bot.timeparse import parse_leading_time
from handlers import texts as t
from handlers.common import (
    current_meeting,
    item_by_number,
    join,
    mentions_for,
    names,
    parse_item_ref,
    person_payload,
    record,
    require_item_ref,
)
from storage import acks, repo

_OPEN = (g.MeetingState.OPEN,)


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
    meeting = await current_meeting(ctx, _OPEN)
    request = _parse_vote_request(ctx, args)
    it = await item_by_number(meeting, request.number)
    opening = await _decide_opening(ctx, meeting, it, request)
    vote = await _open_vote(ctx, meeting, it, opening, person)
    return await _vote_opened_replies(ctx, it, vote, opening)


def _parse_vote_request(ctx: Context, args: str) -> _VoteRequest:
    number, rest = require_item_ref(args, "发起表决 2 记名")
    rest, closes_at = _deadline(ctx, rest)
    return _VoteRequest(number, rest.split(" ", 1)[0] if rest else "", closes_at)


async def _decide_opening(
    ctx: Context, meeting: repo.Meeting, it: repo.Item, request: _VoteRequest
) -> _Opening:
    """The method (the chair's or the matter's default), one vote at a time, the item's next
    state and the quorum for this item; each refusal raises before anything is written."""
    rule = ctx.policy.matter(it.matter_type)
    method = rule.default_method
    if request.method_word:
        if request.method_word not in t.METHOD_WORDS:
            raise UsageError(
                f"表决方式「{request.method_word}」无法识别，可用：记名、举手、无记名。"
            )
        method = t.METHOD_WORDS[request.method_word]
    g.check_method(method, rule)
    if await repo.open_votes(meeting.id):
        raise UsageError("上一项表决还没有结束，请先发送「结束表决」，逐项表决。")
    item_state = g.item_next(it.state, g.ItemAction.OPEN_VOTE)
    records = await repo.attendance(meeting.id)
    present = frozenset(
        p for p in meeting.roster if p in records and records[p].status in g.PRESENT_STATES
    )
    electorate = g.Electorate(frozenset(meeting.roster), present, await repo.recused(it.id))
    quorum = g.item_quorum(electorate, rule, ctx.policy)
    if not quorum.met:
        raise UsageError(
            f"议题{it.number}「{it.title}」属{t.MATTER[it.matter_type]}，未达到表决所需法定人数，不能表决。"
            f"{t.quorum_text(quorum)}。"
        )
    base = electorate.base(ctx.policy)
    needed = g.votes_needed(base, rule)
    return _Opening(rule, method, item_state, electorate, base, needed, request.closes_at)


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
    g.VoteMethod.NAMED: "请出席成员在群里发送「赞成」「反对」或「弃权」（也可点卡片按钮）。",
    g.VoteMethod.SECRET: "无记名投票：请在与我的私聊中发送「投票 赞成」「投票 反对」或「投票 弃权」，结果在结束时公布。",
    g.VoteMethod.SHOW_OF_HANDS: "举手表决：由记录人录入结果，例如「举手结果 赞成4 反对2 弃权1」。",
}


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
    opinions = await repo.opinions(it.id)
    opinion_text = ""
    if opinions:
        people = await repo.people([p for p, _ in opinions])
        opinion_text = "\n书面意见（不计入票数）：\n" + "\n".join(
            f"- {people[p].name}：{text}" for p, text in opinions
        )
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
            card=VoteCard(
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
    parsed = parse_leading_time(text, ctx.now, ctx.tz)
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
    today = parse_leading_time(text, midnight, ctx.tz)
    when = parsed.when
    if today is not None and today.when != when and today.when <= ctx.now:
        when = today.when
    if when <= ctx.now:
        raise UsageError(
            f"截止时间 {t.when(when, ctx.tz)} 已经过去了，请写一个将来的时间，例如：{_DEADLINE_USAGE}"
        )
    return before, when


async def _target_vote(
    ctx: Context, number: int | None, vote_id: int | None = None
) -> tuple[repo.Meeting, repo.Vote, repo.Item]:
    meeting = await current_meeting(ctx)
    if vote_id is not None:
        for v in await repo.meeting_votes(meeting.id):
            if v.id == vote_id:
                return meeting, v, await repo.item(v.item_id)
        raise UsageError("这张表决卡片已失效（不属于当前会议）。")
    open_votes = await repo.open_votes(meeting.id)
    if number is not None:
        for v, it in open_votes:
            if it.number == number:
                return meeting, v, it
        it = await item_by_number(meeting, number)
        votes = await repo.votes_of_item(it.id)
        if votes:
            return meeting, votes[-1], it
        raise UsageError(f"议题{number}还没有发起表决。")
    if len(open_votes) == 1:
        return meeting, *open_votes[0]
    if not open_votes:
        raise UsageError("目前没有正在进行的表决。")
    raise UsageError("有多项表决正在进行，请写明议题编号，例如「赞成 2」。")


_TRAILING = re.compile(r"[。.!！~]+$")


_VOTE_ID = re.compile(r"^表决#(\d{1,9})$")


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
    ctx.require_society()
    person = ctx.require_person()
    number, vote_id = _vote_args(args)
    meeting, vote, it = await _target_vote(ctx, number, vote_id)
    ballot = _Ballot(meeting, vote, it, person, choice)
    so_far = await _ballots_so_far(ballot)
    action = _decide_ballot(ctx, ballot, so_far)
    match action:
        case g.BallotAction.SAME:
            return [ctx.reply(f"{person.name}已投过{t.CHOICE[choice]}票，无需重复。")]
        case g.BallotAction.NEW | g.BallotAction.CHANGE:
            pass
    receipt = await _store_ballot(ctx, ballot, so_far.previous, action)
    return await _ballot_replies(ctx, ballot, so_far, action, receipt)


async def _ballots_so_far(ballot: _Ballot) -> _BallotsSoFar:
    vote, voter = ballot.vote, ballot.voter
    if vote.method is g.VoteMethod.SECRET:
        voters = await repo.secret_voters(vote.id)
        return _BallotsSoFar(None, voter.id in voters, voters)
    ballots = await repo.named_ballots(vote.id)
    previous = ballots.get(voter.id)
    return _BallotsSoFar(previous, previous is not None, frozenset(ballots))


def _decide_ballot(ctx: Context, ballot: _Ballot, so_far: _BallotsSoFar) -> g.BallotAction:
    """A secret ballot is never taken in the group; the rest is governance's check_ballot."""
    vote = ballot.vote
    if vote.method is g.VoteMethod.SECRET and ctx.message.chat.kind is ChatKind.GROUP:
        raise UsageError(
            "这是无记名投票，请在与我的私聊中发送「投票 赞成/反对/弃权」，本条消息未计票。"
        )
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
        voter_is_leader=g.Role.LEADER in ctx.roles,
        voted=so_far.voted,
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
    receipt = await repo.put_named_ballot(vote.id, person.id, choice, first=previous is None)
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
    if vote.method is g.VoteMethod.SECRET:
        count = len(so_far.voted) + 1
        return [
            ctx.reply(
                f"已收到您对议题{it.number}的无记名投票（回执 {receipt}，结束时公布全部回执）。已投{count}/{total}。"
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
            ctx.reply(
                f"{person.name}改投{t.CHOICE[choice]}（原为{t.CHOICE[previous]}，已记录改票）。已投{count}/{total}。"
            )
        ]
    return [
        ctx.reply(
            f"{person.name}：{t.CHOICE[choice]}，已记录（回执 {receipt}）。已投{count}/{total}。"
        ),
        *await card_updates(ctx, vote, it, t.card_summary(count, total, vote.closes_at, ctx.tz)),
    ]


async def card_updates(
    ctx: Context, vote: repo.Vote, it: repo.Item, summary: str, *, closed: bool = False
) -> list[OutgoingMessage]:
    """The vote card with its new count (only counts: never who chose what), for the group
    chats of the society on the voter's platform. A text-less card message is an update: it
    always goes through the outbox, and the adapter edits the card it posted for this vote."""
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


def _choice_handler(choice: g.Choice) -> Any:
    async def handler(ctx: Context, args: str) -> list[OutgoingMessage]:
        return await cast(ctx, choice, args)

    handler.__name__ = f"cast_{choice.value}"
    return handler


async def live_count(ctx: Context, args: str) -> list[OutgoingMessage]:
    number, _ = parse_item_ref(args)
    _, vote, it = await _target_vote(ctx, number)
    if vote.state is g.VoteState.CLOSED:
        return [ctx.reply(render_result(it, vote.result))]
    voters = sorted(vote.electorate.voters)
    closes_at = await acks.vote_deadline(vote.id)
    deadline = "" if closes_at is None else t.vote_status_deadline(closes_at, ctx.now, ctx.tz)
    if vote.method is g.VoteMethod.SECRET:
        voted = await repo.secret_voters(vote.id)
        waiting = [p for p in voters if p not in voted]
        return [
            ctx.reply(
                f"议题{it.number}「{it.title}」无记名投票进行中：已投{len(voted)}/{len(voters)}，"
                f"未投：{join(await names(waiting))}。结果在结束表决时公布。{deadline}"
            )
        ]
    if vote.method is g.VoteMethod.SHOW_OF_HANDS:
        recorded = "已录入" if vote.hands else "尚未录入"
        return [
            ctx.reply(
                f"议题{it.number}「{it.title}」举手表决进行中，举手结果{recorded}。{deadline}"
            )
        ]
    ballots = await repo.named_ballots(vote.id)
    tally = g.tally(ballots.values(), len(voters))
    waiting = [p for p in voters if p not in ballots]
    return [
        ctx.reply(
            f"议题{it.number}「{it.title}」当前：赞成{tally.yes}、反对{tally.no}、弃权{tally.abstain}，"
            f"已投{tally.cast}/{len(voters)}，未投：{join(await names(waiting))}。{deadline}"
        )
    ]


_HANDS = re.compile(r"(赞成|同意|反对|不同意|弃权)\s*[:：]?\s*(\d{1,2})\s*(?:票|人)?")


async def record_hands(ctx: Context, args: str) -> list[OutgoingMessage]:
    ctx.require_society()
    person = ctx.require_person()
    number, rest = parse_item_ref(args)
    meeting, vote, it = await _target_vote(ctx, number)
    if vote.method is not g.VoteMethod.SHOW_OF_HANDS:
        raise UsageError("当前表决不是举手表决，成员应各自投票。")
    g.vote_next(vote.state, g.VoteAction.CAST)
    counts = {"yes": 0, "no": 0, "abstain": 0}
    found = _HANDS.findall(rest)
    if not found or _HANDS.sub("", rest).strip(" ,，;；、"):
        raise UsageError("请按格式录入：举手结果 赞成4 反对2 弃权1")
    for word, value in found:
        counts[t.CHOICE_WORDS[word].value] = int(value)
    tally = g.Tally(counts["yes"], counts["no"], counts["abstain"], 0)
    g.check_show_of_hands(tally, len(vote.electorate.voters))
    await repo.record_hands(vote.id, counts)
    await record(
        ctx,
        EventKind.HANDS_RECORDED,
        {
            "vote": vote.id,
            "item": it.id,
            "number": it.number,
            "counts": counts,
            "recorder": person_payload(person),
        },
        meeting=meeting,
    )
    return [
        ctx.reply(
            f"已录入议题{it.number}举手结果：赞成{tally.yes}、反对{tally.no}、弃权{tally.abstain}。主持人可发送「结束表决」。"
        )
    ]


async def close_vote(ctx: Context, args: str) -> list[OutgoingMessage]:
    ctx.require_society()
    person = ctx.require_person()
    number, _ = parse_item_ref(args)
    meeting = await current_meeting(ctx)
    open_votes = await repo.open_votes(meeting.id)
    if number is None and not open_votes:
        last = (await repo.meeting_votes(meeting.id))[-1:]
        if last:
            # Closing twice is not an error: everyone who asked gets the one result.
            it = await repo.item(last[0].item_id)
            return [ctx.reply(render_result(it, last[0].result))]
        raise UsageError("目前没有正在进行的表决。")
    meeting, vote, it = await _target_vote(ctx, number)
    if vote.state is g.VoteState.CLOSED:
        return [ctx.reply(render_result(it, vote.result))]
    g.vote_next(vote.state, g.VoteAction.CLOSE)
    rule = ctx.policy.matter(it.matter_type)
    voters = len(vote.electorate.voters)
    named: dict[str, list[str]] = {}
    box: list[tuple[str, g.Choice]] = []
    match vote.method:
        case g.VoteMethod.NAMED:
            ballots = await repo.named_ballots(vote.id)
            tally = g.tally(ballots.values(), voters)
            people = await repo.people(ballots)
            for choice in g.Choice:
                named[choice.value] = [
                    people[p].name for p, c in sorted(ballots.items()) if c is choice
                ]
        case g.VoteMethod.SECRET:
            box = await repo.secret_box(vote.id)
            tally = g.tally((c for _, c in box), voters)
        case g.VoteMethod.SHOW_OF_HANDS:
            if not vote.hands:
                raise UsageError(
                    "请记录人先录入举手结果（「举手结果 赞成4 反对2 弃权1」），再结束表决。"
                )
            h = vote.hands
            tally = g.Tally(
                h["yes"], h["no"], h["abstain"], max(voters - h["yes"] - h["no"] - h["abstain"], 0)
            )
    records = await repo.attendance(meeting.id)
    present_now = frozenset(p for p, r in records.items() if r.status in g.PRESENT_STATES)
    electorate = g.still_present(vote.electorate, present_now)
    decision = g.decide(electorate, tally, rule, ctx.policy, emergency=bool(it.emergency_reason))
    result = _result_payload(it, vote, decision, named, box, ctx)
    await repo.close_vote(vote.id, result=result, now=ctx.now)
    match decision.outcome:
        case g.Outcome.PASSED | g.Outcome.NOT_PASSED:
            await repo.update_item(
                it.id, state=g.item_next(it.state, g.ItemAction.DECIDE), outcome=decision.outcome
            )
        case g.Outcome.DEFERRED:
            await repo.update_item(
                it.id, state=g.item_next(it.state, g.ItemAction.DEFER), outcome=decision.outcome
            )
        case g.Outcome.NO_QUORUM:
            await repo.update_item(
                it.id, state=g.item_next(it.state, g.ItemAction.RETURN), outcome=""
            )
    await record(
        ctx, EventKind.VOTE_CLOSED, {**result, "by": person_payload(person)}, meeting=meeting
    )
    summary = (
        f"表决已结束：{t.OUTCOME[g.Outcome(result['outcome'])]}"
        f"（赞成{result['yes']}、反对{result['no']}、弃权{result['abstain']}）"
    )
    return [
        ctx.reply(render_result(it, result)),
        *await card_updates(ctx, vote, it, summary, closed=True),
    ]


def _result_payload(
    it: repo.Item,
    vote: repo.Vote,
    d: g.Decision,
    named: dict[str, list[str]],
    box: list[tuple[str, g.Choice]],
    ctx: Context,
) -> dict[str, Any]:
    return {
        "vote": vote.id,
        "item": it.id,
        "number": it.number,
        "title": it.title,
        "matter_type": it.matter_type.value,
        "method": vote.method.value,
        "yes": d.tally.yes,
        "no": d.tally.no,
        "abstain": d.tally.abstain,
        "not_voted": d.tally.not_voted,
        "names": named,
        "box": [[r, c.value] for r, c in box],
        "base": d.base,
        "needed": d.needed,
        "present": d.quorum.present,
        "quorum_needed": d.quorum.needed,
        "quorum_share": str(d.quorum.threshold.share),
        "quorum_reading": d.quorum.threshold.reading.value,
        "readings_disagree": d.quorum.readings_disagree,
        "outcome": d.outcome.value,
        "deferral": d.deferral.value if d.deferral else None,
        "would_defer": d.would_defer.value if d.would_defer else None,
        "emergency": d.emergency,
        "emergency_reason": it.emergency_reason,
        "recused_leave_base": ctx.policy.recused_leave_base,
    }


def render_result(it: repo.Item, r: dict[str, Any]) -> str:
    if not r:
        return f"议题{it.number}的表决已结束。"
    outcome = g.Outcome(r["outcome"])
    lines = [
        f"表决结果：议题{r['number']}「{r['title']}」（{t.MATTER[g.MatterType(r['matter_type'])]}，"
        f"{t.METHOD[g.VoteMethod(r['method'])]}）",
        f"赞成{r['yes']}、反对{r['no']}、弃权{r['abstain']}、未投{r['not_voted']}；"
        f"应到会{r['base']}人，出席且有表决权{r['present']}人，通过须至少{r['needed']}票赞成。",
    ]
    names_ = r.get("names") or {}
    if names_:
        lines.append(
            "；".join(f"{t.CHOICE[g.Choice(c)]}：{join(names_.get(c.value, []))}" for c in g.Choice)
        )
    if r.get("box"):
        lines.append(
            "无记名投票回执：" + "、".join(f"{rc}={t.CHOICE[g.Choice(c)]}" for rc, c in r["box"])
        )
    verdict = t.OUTCOME[outcome]
    match outcome:
        case g.Outcome.DEFERRED:
            reason = t.DEFERRAL[g.DeferralReason(r["deferral"])] if r.get("deferral") else ""
            verdict += (
                f"（{reason}）。依照工作规则第十六条暂缓决定，待进一步交换意见后下次会议再行表决"
            )
        case g.Outcome.NO_QUORUM:
            verdict += f"（需至少{r['quorum_needed']}人出席）。可在人数达到后重新表决"
        case g.Outcome.PASSED | g.Outcome.NOT_PASSED:
            if r.get("emergency"):
                verdict += f"（意见分歧较大，但主持人已宣布紧急情况：{r.get('emergency_reason', '')}，不暂缓）"
    lines.append(f"结果：{verdict}。")
    if r.get("readings_disagree"):
        lines.append("注：按另一种法定人数理解结论会不同，本次按配置的理解执行，已写入纪要。")
    return "\n".join(lines)


async def defer_item(ctx: Context, args: str) -> list[OutgoingMessage]:
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(ctx, g.AGENDA_OPEN_STATES)
    number, reason = require_item_ref(args, "暂缓 3 需进一步调研")
    it = await item_by_number(meeting, number)
    new_state = g.item_next(it.state, g.ItemAction.DEFER)
    for v in await repo.votes_of_item(it.id):
        if v.state is g.VoteState.OPEN:
            await repo.close_vote(
                v.id,
                result={
                    "number": it.number,
                    "title": it.title,
                    "outcome": "deferred",
                    "deferral": "by_hand",
                },
                now=ctx.now,
            )
    await repo.update_item(it.id, state=new_state, outcome=g.Outcome.DEFERRED)
    await record(
        ctx,
        EventKind.ITEM_DEFERRED,
        {
            "item": it.id,
            "number": it.number,
            "title": it.title,
            "reason": reason,
            "by": person_payload(person),
        },
        meeting=meeting,
    )
    why = f"（{reason}）" if reason else ""
    return [ctx.reply(f"议题{number}「{it.title}」暂缓决定{why}，将转入下次会议再行表决。")]


async def declare_emergency(ctx: Context, args: str) -> list[OutgoingMessage]:
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(ctx, _OPEN)
    number, reason = require_item_ref(args, "紧急 2 防汛物资须当日采购")
    if not reason:
        raise UsageError("宣布紧急情况须说明理由，例如：紧急 2 防汛物资须当日采购")
    it = await item_by_number(meeting, number)
    g.check_emergency(ctx.policy.matter(it.matter_type))
    if it.state not in (g.ItemState.ACCEPTED, g.ItemState.VOTING):
        raise UsageError(f"议题{number}当前为「{t.ITEM_STATE[it.state]}」，不能再宣布紧急情况。")
    await repo.update_item(it.id, emergency_reason=reason)
    await record(
        ctx,
        EventKind.EMERGENCY_DECLARED,
        {
            "item": it.id,
            "number": it.number,
            "title": it.title,
            "reason": reason,
            "by": person_payload(person),
        },
        meeting=meeting,
    )
    return [
        ctx.reply(
            f"已记录：主持人{person.name}就议题{number}「{it.title}」宣布紧急情况（{reason}）。"
            "本议题表决时即使意见分歧较大也不暂缓，按票数作出决定。"
        )
    ]


ROUTES = [
    Route(
        ("发起表决", "开始表决"),
        start_vote,
        g.Need.CHAIR,
        "发起表决 2 记名 [截止 16:30]",
        "对一个议题发起表决（记名/举手/无记名，可设截止时间：到时提醒，不自动结束）",
        "组长",
    ),
    Route(
        ("赞成",),
        _choice_handler(g.Choice.YES),
        g.Need.ANYONE,
        "赞成",
        "投赞成票（也可说「同意」）",
        "成员",
    ),
    Route(("同意",), _choice_handler(g.Choice.YES), g.Need.ANYONE, "同意", "投赞成票", "成员"),
    Route(
        ("反对",),
        _choice_handler(g.Choice.NO),
        g.Need.ANYONE,
        "反对",
        "投反对票（也可说「不同意」）",
        "成员",
    ),
    Route(("不同意",), _choice_handler(g.Choice.NO), g.Need.ANYONE, "不同意", "投反对票", "成员"),
    Route(("弃权",), _choice_handler(g.Choice.ABSTAIN), g.Need.ANYONE, "弃权", "投弃权票", "成员"),
    Route(
        ("投票",), vote_command, g.Need.ANYONE, "投票 赞成", "投票（无记名投票请私聊发送）", "成员"
    ),
    Route(
        ("计票", "表决情况", "投票情况"),
        live_count,
        g.Need.ANYONE,
        "计票",
        "查看表决进度（无记名投票只显示人数）",
        "成员",
    ),
    Route(
        ("举手结果",),
        record_hands,
        g.Need.RECORDER,
        "举手结果 赞成4 反对2 弃权1",
        "录入举手表决结果",
        "记录人",
    ),
    Route(
        ("结束表决", "表决结束"),
        close_vote,
        g.Need.CHAIR,
        "结束表决",
        "结束表决并按规则计算结果",
        "组长",
    ),
    Route(
        ("紧急", "紧急情况"),
        declare_emergency,
        g.Need.CHAIR,
        "紧急 2 理由",
        "就重大事项宣布紧急情况（不暂缓）",
        "组长",
    ),
    Route(
        ("暂缓", "暂缓决定"),
        defer_item,
        g.Need.CHAIR,
        "暂缓 3 理由",
        "把议题暂缓到下次会议",
        "组长",
    ),
]
