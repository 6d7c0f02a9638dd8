"""Deciding an item: the running count, a show of hands entered by the recorder, closing a vote
(the result by the rules, 第十六条 deferral included), deferral by hand and the emergency that
rules deferral out."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

from bot import governance as g
from bot.events import EventKind, OutgoingMessage
from bot.inbox import decode_message, message_key
from bot.keys import SealError
from bot.router import AskBack, Context, Handler, Notified, Route, UsageError
from bot.utterance import ITEM_REF, THIS_ITEM
from handlers import meetings
from handlers import texts as t
from handlers.attendance import quorum_line
from handlers.common import (
    NOW,
    OFFERED_DURING,
    admin_notices,
    announced,
    attendance_fails_check,
    bounded,
    current_meeting,
    item_by_number,
    item_by_title,
    item_in_focus,
    item_said_first,
    item_titled,
    items_that_can,
    join,
    names,
    parse_item_ref,
    person_payload,
    quorum_attendance,
    record,
    record_fails_check,
    refuse_deferral,
    refuse_unvoted,
    require_chair,
    require_item_ref,
    require_meeting_leader,
    set_matter,
    this_item,
)
from handlers.votes import (
    WITHDRAWN,
    ballots_cast,
    card_updates,
    nobody_voted_next,
    opinion_lines,
    pass_rule,
    start_vote,
    target_vote,
    yet_to_vote,
)
from storage import acks, repo, seals
from storage import inbox as queued
from storage.seals import Tampered

logger = logging.getLogger(__name__)

DURING_MEETING = (g.MeetingState.OPEN,)


async def live_count(ctx: Context, args: str) -> list[OutgoingMessage]:
    number, _ = parse_item_ref(args)
    meeting = await current_meeting(ctx)
    if number is None and args:  # 「预算通过了吗」: the item by its title
        named = item_by_title(await repo.items(meeting.id), args)
        number = None if named is None else named[0].number
    if number is None and (last := await _last_result(meeting)) is not None:
        return [ctx.reply(last)]  # 「谁投了反对」 after the vote closed
    _, vote, it = await target_vote(ctx, number)
    if vote.state is g.VoteState.CLOSED:
        return [ctx.reply(render_result(it, vote.result))]
    voters = sorted(vote.electorate.voters)
    closes_at = await acks.vote_deadline(vote.id)
    deadline = "" if closes_at is None else t.vote_status_deadline(closes_at, ctx.now, ctx.tz)
    if vote.method is g.VoteMethod.SECRET:
        waiting = await yet_to_vote(vote)
        return [
            ctx.reply(
                f"议题{it.number}「{it.title}」无记名投票进行中：已投{len(voters) - len(waiting)}/"
                f"{len(voters)}，未投：{join(await names(waiting))}。结果在结束表决时公布。{deadline}"
            )
        ]
    if vote.method is g.VoteMethod.SHOW_OF_HANDS:
        recorded = "已录入" if vote.hands else "尚未录入"
        return [
            ctx.reply(
                f"议题{it.number}「{it.title}」举手表决进行中，举手结果{recorded}。{deadline}"
            )
        ]
    try:
        ballots = await repo.checked_named_ballots(vote.id)  # a count told from the rows
    except Tampered as exc:
        raise record_fails_check(
            ctx,
            exc,
            where=f"{ctx.require_society().name} 议题{it.number}（表决#{vote.id}）",
            said=f"议题{it.number}「{it.title}」的表决记录",
            refused="本次不显示计票",
            undone="显示计票",
        ) from exc
    tally = g.tally(ballots.values(), len(voters))
    waiting = await yet_to_vote(vote)
    return [
        ctx.reply(
            f"议题{it.number}「{it.title}」当前：赞成{tally.yes}、反对{tally.no}、弃权{tally.abstain}，"
            f"已投{tally.cast}/{len(voters)}，未投：{join(await names(waiting))}。{deadline}"
        )
    ]


async def voting_now(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「现在投的是哪个议题」「够人数了吗」「几个人了」: each vote open now, in one line: the item,
    how it is voted, how many have voted and who has not (never who chose what), what passes
    it, and whether its quorum holds with those in the room now; with no vote open, that, and
    the meeting's quorum. Shows; writes nothing."""
    society = ctx.require_society()
    meeting = ctx.active_meeting or await repo.active_meeting(society.id)
    if meeting is None or meeting.state not in (g.MeetingState.CONVENED, g.MeetingState.OPEN):
        return [ctx.reply("目前没有进行中的会议，也没有表决。")]
    quorum = await quorum_line(ctx, meeting)
    if meeting.state is not g.MeetingState.OPEN:
        return [ctx.reply(f"会议还没有开始，没有表决。{quorum}")]
    voting = await repo.open_votes(meeting.id)
    if not voting:
        return [ctx.reply(f"目前没有正在进行的表决，主持人可发送「发起表决 议题编号」。{quorum}")]
    records = await repo.attendance(meeting.id)
    present_now = frozenset(p for p, r in records.items() if r.status in g.PRESENT_STATES)
    lines = []
    for vote, it in voting:
        voters = len(vote.electorate.voters)
        if vote.method is g.VoteMethod.SHOW_OF_HANDS:
            progress = "已录入举手结果" if vote.hands else "尚未录入举手结果"
        else:
            waiting = await yet_to_vote(vote)
            here = [p for p in waiting if p in present_now]  # who left can vote no more
            who = f"，未投：{join(await names(here))}" if here else ""
            progress = f"已投{voters - len(waiting)}/{voters}{who}"
        rule = ctx.policy.matter(it.matter_type)
        q = g.item_quorum(g.still_present(vote.electorate, present_now), rule, ctx.policy)
        room = f"现在场{q.present}人，{'达到' if q.met else '已不足'}表决所需法定人数（至少{q.needed}人）"
        lines.append(
            f"正在表决：议题{it.number}「{it.title}」（{t.MATTER[it.matter_type]}，"
            f"{t.METHOD[vote.method]}），{progress}。{pass_rule(ctx, vote, it)}；{room}。"
        )
    return [ctx.reply("\n".join(lines))]


# A choice and its count of hands: 「赞成4」「反对：2票」, or the count first, 「5票赞成」.
_CHOICE = "|".join(sorted(t.CHOICE_WORDS, key=len, reverse=True))
_COUNTED = rf"({_CHOICE})\s*[:：]?\s*(\d{{1,2}})\s*(?:票|人)?"
_COUNT_FIRST = rf"(\d{{1,2}})\s*个?(?:票|人)\s*({_CHOICE})"
_HANDS = re.compile(_COUNTED)
_HANDS_COUNT_FIRST = re.compile(_COUNT_FIRST)
# Everyone present and entitled raised a hand for: 「举手结果 全票通过」.
_UNANIMOUS = re.compile(r"全票通过|全票赞成|全体赞成|全体同意|全部同意|一致同意|一致通过|全部赞成")


async def record_hands(ctx: Context, args: str) -> list[OutgoingMessage]:
    ctx.require_society()
    person = ctx.require_person()
    number, rest = parse_item_ref(args)
    meeting, vote, it = await target_vote(ctx, number)
    if vote.method is not g.VoteMethod.SHOW_OF_HANDS:
        raise UsageError("当前表决不是举手表决，成员应各自投票。")
    g.vote_next(vote.state, g.VoteAction.CAST)
    # Bounded by who is present and entitled now (members who left since the vote opened
    # raise no hands), and the item's quorum checked again at this moment (from rows that
    # match their seals).
    records = await quorum_attendance(
        ctx, meeting, refused="举手结果没有记录", undone="记录举手结果"
    )
    present_now = frozenset(p for p, r in records.items() if r.status in g.PRESENT_STATES)
    electorate = g.still_present(vote.electorate, present_now)
    if _UNANIMOUS.fullmatch(rest.strip(" 。.!！")):  # every hand present and entitled, for
        counts = {"yes": len(electorate.voters), "no": 0, "abstain": 0}
    else:
        counts = _hand_counts(rest)
    tally = g.Tally(counts["yes"], counts["no"], counts["abstain"], 0)
    rule = ctx.policy.matter(it.matter_type)
    try:
        g.check_show_of_hands(tally, electorate, rule, ctx.policy)
    except g.GovernanceError as exc:
        if exc.refusal is not g.Refusal.NO_QUORUM:
            raise
        q = g.item_quorum(electorate, rule, ctx.policy)
        raise UsageError(
            f"已不足法定人数（{t.quorum_text(q)}），举手结果没有记录。"
            "主持人可发送「结束表决」（结果为未达到法定人数），人数达到后再重新表决。"
        ) from None
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


def _hand_counts(text: str) -> dict[str, int]:
    """「赞成4 反对2 弃权1」 -> {"yes": 4, "no": 2, "abstain": 1}; a choice named twice (赞成 and
    同意 are one choice) or anything else in the text is refused."""
    counts = {"yes": 0, "no": 0, "abstain": 0}
    text = _HANDS_COUNT_FIRST.sub(lambda m: f"{m.group(2)}{m.group(1)}", text)
    found = _HANDS.findall(text)
    if not found or _HANDS.sub("", text).strip(" ,，;；、"):
        raise UsageError("请按格式录入：举手结果 赞成4 反对2 弃权1")
    seen: dict[g.Choice, str] = {}
    for word, value in found:
        choice = t.CHOICE_WORDS[word]
        if choice in seen:
            raise UsageError(
                f"「{t.CHOICE[choice]}」写了两次（{seen[choice]}、{word}{value}），没有记录。"
                "每种选择只写一次，例如：举手结果 赞成4 反对2 弃权1"
            )
        seen[choice] = f"{word}{value}"
        counts[choice.value] = int(value)
    return counts


async def _last_result(meeting: repo.Meeting) -> str | None:
    """With no vote open, the result of the meeting's last vote (None: one is open, or none
    was held)."""
    if await repo.open_votes(meeting.id):
        return None
    held = [v for v in await repo.meeting_votes(meeting.id) if v.result.get("outcome") != WITHDRAWN]
    last = held[-1:]  # (a vote withdrawn before any ballot decided nothing)
    return render_result(await repo.item(last[0].item_id), last[0].result) if last else None


_CLOSE_REFUSED = "本次没有结束表决，结果暂不记录"
_CLOSE_UNDONE = "结束表决、记录结果"
# The tables a close counts from, whose rows of the society are checked against its head.
_COUNTED_FROM = ("attendance", "ballot", "secret_voter_list")


def _box_will_not_open(ctx: Context, exc: SealError, where: str) -> Notified:
    """A secret vote's box entry that the server key does not open (tampered, or the key was
    changed): no close, and the committee admins are told where (nothing of the box)."""
    logger.warning("secret box does not open (%s); %s: close refused, nothing recorded", exc, where)
    return Notified(
        "票箱里有选票用服务器密钥打不开（可能被篡改，或服务器密钥被更换），本次不能结束表决；"
        "请运维人员运行「yishi verify」检查。",
        admin_notices(
            ctx,
            f"【记录校验未通过】{where}：票箱里有选票用服务器密钥打不开（可能被篡改，或服务器密钥"
            "被更换），机器人没有结束表决，数据库保持原样。请运行「yishi verify」核查。",
        ),
    )


# What a vote's outcome does to its item: the step, and whether the item keeps the outcome (a
# vote without a quorum returns the item to be voted again, with none).
_AFTER_THE_VOTE: dict[g.Outcome, tuple[g.ItemAction, bool]] = {
    g.Outcome.PASSED: (g.ItemAction.DECIDE, True),
    g.Outcome.NOT_PASSED: (g.ItemAction.DECIDE, True),
    g.Outcome.DEFERRED: (g.ItemAction.DEFER, True),
    g.Outcome.NO_QUORUM: (g.ItemAction.RETURN, False),
}


async def close_vote(ctx: Context, args: str) -> list[OutgoingMessage]:
    ctx.require_society()
    person = ctx.require_person()
    number, _ = parse_item_ref(args)
    meeting = await current_meeting(ctx)
    if number is None and (last := await _last_result(meeting)) is not None:
        # closing twice is no error: each who asks gets the result, said to be the last one's
        return [ctx.reply(f"目前没有正在进行的表决。上一项表决已结束，结果如下：\n{last}")]
    meeting, vote, it = await target_vote(ctx, number)
    if vote.state is g.VoteState.CLOSED:
        return [ctx.reply(render_result(it, vote.result))]
    g.vote_next(vote.state, g.VoteAction.CLOSE)
    await require_chair(ctx, meeting, "没有结束表决")
    if queued := await _queued_before(ctx, vote):
        # acknowledged to the platform, not applied yet (a restart, a busy database): a close
        # from another chat must not overtake them (the queue keeps order within a chat only)
        raise UsageError(
            f"还有{queued}条在这之前收到的消息（可能有投票）正在处理，本次没有结束表决。"
            "请稍候片刻再发送「结束表决」。"
        )
    # who is present decides the quorum: only from rows that match their seals
    records = await quorum_attendance(ctx, meeting, refused=_CLOSE_REFUSED, undone=_CLOSE_UNDONE)
    present_now = frozenset(p for p, r in records.items() if r.status in g.PRESENT_STATES)
    rule = ctx.policy.matter(it.matter_type)
    hands = vote.method is g.VoteMethod.SHOW_OF_HANDS
    if not hands and not await ballots_cast(vote):
        # Nobody voted: no decision to record (未通过 would be one nobody made), unless the
        # quorum has gone meanwhile (no decision either, and the item may be voted on again).
        still = g.still_present(vote.electorate, present_now)
        if g.item_quorum(still, rule, ctx.policy).met:
            raise UsageError(
                f"议题{it.number}「{it.title}」还没有人投票，没有结束表决。"
                f"{nobody_voted_next(it.number)}"
            )
    # 「结束表决 现在」: the chair closes as it stands, the leader's ballot given up
    leader_last = not hands and rule.leader_votes_last and not NOW.search(args)
    if leader_last and (call := await _leaders_last_call(ctx, vote, it, present_now)):
        return [ctx.reply(call)]
    called = vote.closes_at is not None and vote.closes_at <= ctx.now  # time was called
    if not hands and not NOW.search(args) and not called:
        waiting = [p for p in await yet_to_vote(vote) if p in present_now]  # not who left
        if waiting:  # 「投票结束」 while some are still choosing: the result would be final
            raise AskBack(
                f"议题{it.number}「{it.title}」还有{len(waiting)}人未投：{join(await names(waiting))}"
                "（未投的不计赞成票，结果一经公布不能更改）。确定现在结束表决吗？",
                f"结束表决 {it.number} 现在",
            )
    where = (
        f"{ctx.require_society().name} 第{meeting.number}次会议 议题{it.number}（表决#{vote.id}）"
    )
    try:
        # A row deleted with its seal fails no seal: the society's ballots, voter lists and
        # attendance are counted against its head (rule 3 of storage/seals.py) once per close.
        await seals.check_sets(ctx.require_society().id, _COUNTED_FROM)
        voters = len(vote.electorate.voters)
        named: dict[str, list[str]] = {}
        box: list[tuple[str, g.Choice]] = []
        match vote.method:
            case g.VoteMethod.NAMED:
                ballots = await repo.checked_named_ballots(vote.id)
                tally = g.tally(ballots.values(), voters)
                people = await repo.people(ballots)
                for choice in g.Choice:
                    named[choice.value] = [
                        people[p].name for p, c in sorted(ballots.items()) if c is choice
                    ]
            case g.VoteMethod.SECRET:
                listed = await repo.checked_secret_voters(vote.id)
                try:
                    box = await repo.unseal_secret_box(vote.id)
                except SealError as exc:
                    raise _box_will_not_open(ctx, exc, where) from exc
                if len(box) != len(listed):  # verify's count: one ballot in the box per voter
                    raise Tampered(
                        "secret_ballot_sealed", (), f"vote {vote.id}: box and voter list disagree"
                    )
                tally = g.tally((c for _, c in box), voters)
            case g.VoteMethod.SHOW_OF_HANDS:
                h = vote.hands or {"yes": 0, "no": 0, "abstain": 0}
                tally = g.Tally(
                    h["yes"],
                    h["no"],
                    h["abstain"],
                    max(voters - h["yes"] - h["no"] - h["abstain"], 0),
                )
        electorate = g.still_present(vote.electorate, present_now)
        # Without hands there is nothing to decide, unless the quorum has gone meanwhile.
        no_hands = vote.method is g.VoteMethod.SHOW_OF_HANDS and not vote.hands
        if no_hands and g.item_quorum(electorate, rule, ctx.policy).met:
            raise UsageError(
                "请记录人先录入举手结果（「举手结果 赞成4 反对2 弃权1」），再结束表决。"
            )
        decision = g.decide(
            electorate, tally, rule, ctx.policy, emergency=bool(it.emergency_reason)
        )
        result = _result_payload(it, vote, decision, named, box, ctx)
        await repo.close_vote(vote.id, result=result, now=ctx.now, checked=True)
        action, keeps = _AFTER_THE_VOTE[decision.outcome]
        await repo.update_item(
            it.id,
            checked=True,
            state=g.item_next(it.state, action),
            outcome=decision.outcome if keeps else "",
        )
    except Tampered as exc:
        # The ballots, the vote, the item or the attendance the result stands on were edited
        # behind the bot's back: no result from them (the savepoint leaves the record as it was).
        if exc.table == "attendance":
            raise attendance_fails_check(
                ctx, meeting, exc, refused=_CLOSE_REFUSED, undone=_CLOSE_UNDONE
            ) from exc
        raise record_fails_check(
            ctx,
            exc,
            where=where,
            said=f"议题{it.number}「{it.title}」的表决记录",
            refused=_CLOSE_REFUSED,
            undone=_CLOSE_UNDONE,
        ) from exc
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
    if "yes" not in r and r.get("outcome") == g.Outcome.DEFERRED.value:
        # closed without a count: the chair deferred the item before anyone voted
        return (
            f"议题{it.number}「{it.title}」的表决尚无人投票时，由主持人暂缓决定，"
            "将转入下次会议再行表决。"
        )
    if r.get("outcome") == WITHDRAWN:
        return (
            f"议题{it.number}「{it.title}」的表决发起后尚无人投票，已撤回，还没有重新表决。"
            f"主持人可发送「发起表决 {it.number}」。"
        )
    outcome = g.Outcome(r["outcome"])
    cast = int(r["yes"]) + int(r["no"]) + int(r["abstain"])
    lines = [
        f"表决结果：议题{r['number']}「{r['title']}」（{t.MATTER[g.MatterType(r['matter_type'])]}，"
        f"{t.METHOD[g.VoteMethod(r['method'])]}）",
        f"赞成{r['yes']}、反对{r['no']}、弃权{r['abstain']}、未投{r['not_voted']}；"
        f"应到会{r['base']}人，表决结束时出席{r['present']}人（计入法定人数）"
        + ("，已投的票含中途离席前投出的" if cast > r["present"] else "")
        + f"，通过须至少{r['needed']}票赞成。",
    ]
    names_ = r.get("names") or {}
    if names_:
        lines.append(
            "；".join(f"{t.CHOICE[g.Choice(c)]}：{join(names_.get(c.value, []))}" for c in g.Choice)
        )
    if r.get("box"):
        lines.append(t.secret_box_text(r["box"]))
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


async def _queued_before(ctx: Context, vote: repo.Vote) -> int:
    """How many messages queued before this one and not applied yet come from the society's
    groups or from the vote's voters."""
    earlier = [decode_message(p) for p in await queued.earlier_unapplied(message_key(ctx.message))]
    if not earlier:
        return 0
    groups = {(p, corp, chat) for p, corp, chat in await repo.group_chats(ctx.require_society().id)}
    voters: set[tuple[str, str, str]] = set()
    for platform, corp in {(m.platform, m.chat.corp_id) for m in earlier}:
        for ref in await repo.identities(vote.electorate.voters, platform, corp):
            voters.add((platform.value, corp, ref.user_id))
    return sum(
        (m.platform, m.chat.corp_id, m.chat.chat_id) in groups
        or (m.platform.value, m.chat.corp_id, m.sender.user_id) in voters
        for m in earlier
    )


async def _leaders_last_call(
    ctx: Context, vote: repo.Vote, it: repo.Item, present_now: frozenset[int]
) -> str | None:
    """Closing a vote in which the leader states a position last while the leader, present and
    entitled, has not voted: the others had their time, so the deadline passes now (a last
    call, once) and the leader may vote; the chair then closes it. A member who does not vote
    can no longer keep the leader from voting."""
    if vote.closes_at is not None and vote.closes_at <= ctx.now:
        return None  # called already (or the announced deadline has passed)
    waiting = set(await yet_to_vote(vote)) & present_now
    meeting = await current_meeting(ctx)
    if meeting.leader_id not in waiting:  # the leader when it was convened (Rule 7)
        return None
    leader = await repo.person(meeting.leader_id)
    others = waiting - {leader.id}
    await acks.set_vote_deadline(vote.id, ctx.now)
    pending = f"其余成员中还有{len(others)}人未投，不再等待；" if others else ""
    return (
        f"议题{it.number}「{it.title}」由组长最后表态，组长{leader.name}还没有投票，本次表决截止。"
        f"{pending}请组长现在投票，然后再发送「结束表决」（组长不投票的，直接再发送「结束表决」）。"
    )


async def defer_item(ctx: Context, args: str) -> list[OutgoingMessage]:
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(ctx, g.AGENDA_OPEN_STATES)
    if meeting.state is not g.MeetingState.OPEN:  # 「延期一周」「延期到下周四吧」 of the meeting
        if person.id == meeting.leader_id and args.strip():
            try:
                asked = meetings.reschedule_asked(ctx, meeting, args)
            except UsageError:
                pass  # 「暂缓 1 材料不全」: no new time
            else:
                raise asked  # the meeting moved on a yes, as 改期 to that time
        raise UsageError(
            f"第{meeting.number}次{t.MEETING_STATE_PLAIN[meeting.state]}，暂缓是会上对议题的决定，没有办理。"
            "要把会议改到别的时间，请发送「改期 新时间」；要把议题撤出本次议程，请发送「撤回议题 编号 理由」。"
        )
    await require_chair(ctx, meeting, "没有暂缓")
    bare = ""  # 「推迟一周」 with no item said: which is meant is asked (_item_or_meeting)
    if (shift := meetings.a_while_alone(args)) is not None:
        if shift < timedelta(days=1):  # 「推迟半小时」: no item's deferral to the next meeting
            raise UsageError(
                f"会议已经开始，暂缓是把议题留到下次会议再行表决，「{t.echo(args.strip())}」不是暂缓，"
                "没有办理。要暂缓议题，请发送「暂缓 议题编号 理由」；会议中途休息不影响出席和表决。"
            )
        bare, args = args.strip(), ""
    number, reason = parse_item_ref(args)
    if number is None and bare:
        try:
            number, reason = await _the_item_to_defer(meeting, "")
        except UsageError:  # no item turned to, several open: which item, or the meeting?
            raise UsageError(_item_or_meeting_text(bare)) from None
    elif number is None:  # 「这个议题分歧较大，下次再议」「预算暂缓」
        number, reason = await _the_item_to_defer(meeting, reason.strip())
    if meetings.a_while_alone(reason) is not None:
        reason = ""  # 「议题2推迟一周」: to the next meeting, whenever it is; no reason said
    bounded(reason, "暂缓理由")
    it = await item_by_number(meeting, number)
    new_state = g.item_next(it.state, g.ItemAction.DEFER)
    refuse_deferral(it)
    voting = None  # the item's open vote, closed by the deferral without a count
    for v in await repo.votes_of_item(it.id):
        if v.state is g.VoteState.OPEN and (cast := await ballots_cast(v)):
            # the ballots seen, the chair would choose the outcome: the vote decides it
            raise UsageError(
                f"议题{number}「{it.title}」的表决已有{cast}人投票，不能再由主持人暂缓，没有办理。"
                "请发送「结束表决」按规则计算结果：意见分歧较大的重大事项将暂缓决定。"
                # 「推迟一周」 alone may mean meeting again a week on
                + (
                    f"如是指{t.echo(bare)}后再开会，请在散会后发送「召开会议 时间 地点 议题：…」。"
                    if bare
                    else ""
                )
            )
        if v.state is g.VoteState.OPEN:
            voting = v
    if bare:
        raise _item_or_meeting(bare, it)
    deferred: dict[str, Any] = {
        "item": it.id,
        "number": it.number,
        "title": it.title,
        "reason": reason,
    }
    if voting is not None:  # on the record as its close (bot/recount.py): the row holds it
        deferred |= {"vote": voting.id, "outcome": "deferred", "deferral": "by_hand"}
        await repo.discard_secret_ballots(voting.id)  # a deferred vote counts no ballot
        await repo.close_vote(voting.id, result=deferred, now=ctx.now)
    await repo.update_item(it.id, state=new_state, outcome=g.Outcome.DEFERRED)
    await record(
        ctx, EventKind.ITEM_DEFERRED, {**deferred, "by": person_payload(person)}, meeting=meeting
    )
    why = f"（{t.echo(reason)}）" if reason else ""
    return [ctx.reply(f"议题{number}「{it.title}」暂缓决定{why}，将转入下次会议再行表决。")]


_AN_ITEM_FIRST = re.compile(rf"^(?:{ITEM_REF}|{THIS_ITEM})")


async def _put_back_instead(ctx: Context, args: str) -> tuple[Route | str, str] | None:
    """Before the meeting: an item named (「这个议题延期一周」) is told by 暂缓 itself, whoever
    said it, that deferral is decided in the meeting (not refused as the chair's); a time said
    is about the meeting's (meetings.meeting_put_back_instead)."""
    if not _AN_ITEM_FIRST.match(args.strip()) or ctx.society is None:
        return await meetings.meeting_put_back_instead(ctx, args)
    meeting = ctx.active_meeting or await repo.active_meeting(ctx.society.id)
    if meeting is not None and meeting.state in (g.MeetingState.DRAFT, g.MeetingState.CONVENED):
        return _DEFER_EXPLAINED, args
    return await meetings.meeting_put_back_instead(ctx, args)


def _item_or_meeting(said: str, it: repo.Item) -> AskBack:
    """「推迟一周」 in the meeting, no item named: the item in focus to the next meeting, or the
    group to meet again a week on? Both are asked (a yes defers the item); nothing is done."""
    said = t.echo(said)
    return AskBack(
        f"「{said}」是指把议题{it.number}「{it.title}」暂缓到下次会议再行表决，还是{said}后再开会？"
        f"没有办理。{_MEET_AGAIN}要暂缓议题{it.number}，请",
        f"暂缓 {it.number}",
    )


def _item_or_meeting_text(said: str) -> str:
    """The same question when no item is turned to: which item, or the meeting?"""
    said = t.echo(said)
    return (
        f"「{said}」是指把某个议题暂缓到下次会议再行表决，还是{said}后再开会？没有办理。"
        f"{_MEET_AGAIN}要暂缓议题，请发送「暂缓 议题编号 理由」。"
    )


_MEET_AGAIN = "要另定时间开会，请在散会后发送「召开会议 时间 地点 议题：…」；"


async def _the_item_to_defer(meeting: repo.Meeting, said: str) -> tuple[int, str]:
    """No number said: the item and the reason. 「这个议题…」: the item the chair last turned to
    (models.MeetingFocus); 「预算…」: the item so titled; else the one turned to, or the only
    item that can still be deferred; with several, which one is asked."""
    open_ = await items_that_can(meeting, g.ItemAction.DEFER)
    on_it, said = this_item(said)
    if not on_it and (named := item_titled(open_, said, "暂缓 2 分歧较大")) is not None:
        return named[0].number, named[1]
    if not on_it and (named := item_said_first(await repo.items(meeting.id), said)) is not None:
        # 「预算这个议题分歧比较大」: 经费预算, even when its state refuses (never another item)
        return named[0].number, named[1]
    number = await item_in_focus(
        meeting,
        open_,
        verb="暂缓",
        example="暂缓 {} 需进一步调研",
        listed_as="可以暂缓",
        said_this=on_it,
    )
    return number, said


async def declare_emergency(ctx: Context, args: str) -> list[OutgoingMessage]:
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(ctx, DURING_MEETING)
    await require_chair(ctx, meeting, "没有记录紧急情况")
    number, reason = require_item_ref(args, "紧急 2 防汛物资须当日采购")
    if not reason:
        raise UsageError("宣布紧急情况须说明理由，例如：紧急 2 防汛物资须当日采购")
    bounded(reason, "紧急情况理由")
    it = await item_by_number(meeting, number)
    g.check_emergency(ctx.policy.matter(it.matter_type))
    if it.state is g.ItemState.VOTING:  # 「事先宣布」: not once the ballots can be seen
        raise UsageError(
            f"议题{number}「{it.title}」已经开始表决，紧急情况须在发起表决前宣布，没有记录。"
            "本次表决按规则计算结果（意见分歧较大的暂缓决定）。"
        )
    if it.state is not g.ItemState.ACCEPTED:
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
            f"已记录：主持人{person.name}就议题{number}「{it.title}」宣布紧急情况（{t.echo(reason)}）。"
            "本议题表决时即使意见分歧较大也不暂缓，按票数作出决定。"
        )
    ]


async def take_up(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「下一个议题」「讨论议题 2」: the item the meeting turns to, to be discussed before its
    vote: what it is and who proposed it, the written opinions of members on leave, who stepped
    aside, and how the chair opens its vote (or defers it). Shows; said by the chair, the
    meeting turns to that item (models.MeetingFocus), no record is written."""
    ctx.require_society()
    meeting = await current_meeting(ctx, DURING_MEETING)
    args, method = _vote_said(args)
    number, _ = parse_item_ref(args)
    items = [it for it in await repo.items(meeting.id) if it.state is not g.ItemState.REJECTED]
    if method is not None:  # 「下一项，换届筹备 举手表决」: the vote on that item, so opened
        chosen = await _taken_up(meeting, items, number, args)
        # none left: as 「举手表决」 alone (who may open it, which vote is still open)
        return await announced(_vote_by(method))(ctx, str(chosen.number) if chosen else "")
    voting = [it for _, it in await repo.open_votes(meeting.id)]
    lines = [
        f"议题{it.number}「{it.title}」正在表决，主持人发送「结束表决」后再表决下一项。"
        for it in voting
    ]
    if number is not None:
        shown = await item_by_number(meeting, number)
        await _turn_to(ctx, meeting, shown)
        lines += await _item_brief(ctx, shown)
        return [ctx.reply("\n".join(lines))]
    named = item_titled(items, args, "讨论议题 2") if args else None  # 「讨论一下预算」
    if named is not None:
        await _turn_to(ctx, meeting, named[0])
        lines += await _item_brief(ctx, named[0])
        return [ctx.reply("\n".join(lines))]
    following = _next_item(items, voting, await repo.studied_items(meeting.id))
    if following is None:
        lines.append(
            "议程上的议题都已表决或暂缓，主持人可发送「散会」结束会议。"
            if not voting
            else "这是议程上的最后一项。"
        )
        return [ctx.reply("\n".join(lines))]
    await _turn_to(ctx, meeting, following)
    lines += await _item_brief(ctx, following, heading="下一项：" if voting else "")
    return [ctx.reply("\n".join(lines))]


# How the chair says the item's vote is to be opened, after naming it (「下一项，换届筹备 举手表决」
# 「下一个议题 记名表决」「下一项 表决吧」): the method's word for _vote_by, "" for the matter's own.
_VOTE_SAID = re.compile(
    r"[,，\s]*(?:(?:进行|开始|直接)?(?P<word>举手|记名|无记名|不记名)(?:表决|投票)"
    r"|(?:进行|开始|发起|直接)?(?:表决|投票))(?:吧|一下)?[。.!！]*$"
)


def _vote_said(args: str) -> tuple[str, str | None]:
    """`args` without a vote said at their end, and the method said (None: no vote said)."""
    found = _VOTE_SAID.search(args)
    if found is None:
        return args, None
    word = found.group("word") or ""
    before = args[: found.start()].strip().removesuffix("的").strip(" ,，")  # 「下一项的表决」
    return before, "无记名" if word == "不记名" else word


async def _taken_up(
    meeting: repo.Meeting, items: list[repo.Item], number: int | None, args: str
) -> repo.Item | None:
    """The item 「下一个议题」 turns to: by number, by title, else the next in order."""
    if number is not None:
        return await item_by_number(meeting, number)
    named = item_titled(items, args, "讨论议题 2") if args else None
    if named is not None:
        return named[0]
    voting = [it for _, it in await repo.open_votes(meeting.id)]
    return _next_item(items, voting, await repo.studied_items(meeting.id))


async def _turn_to(ctx: Context, meeting: repo.Meeting, it: repo.Item) -> None:
    """The chair's 「下一个议题」 turns the meeting to the item shown (what 「这个议题」 and a vote
    or deferral without a number then mean; a study item shown is studied); anyone else's only
    shows it."""
    if g.may(ctx.roles, g.Need.CHAIR):
        studied = it.matter_type in g.NOT_VOTED
        await repo.set_focus(meeting.id, it.number, ctx.now, studied=studied)


def _next_item(
    items: list[repo.Item], voting: list[repo.Item], studied: frozenset[int]
) -> repo.Item | None:
    """The lowest-numbered accepted item not yet handled, whichever item the meeting is on (the
    chair may take item 4 before item 2: item 2 is next then): not voted on or being voted on,
    not deferred, and, for an item only studied (g.NOT_VOTED), not yet turned to by the chair
    (`studied`, repo.studied_items)."""
    handled = {it.number for it in voting} | {
        it.number for it in items if it.matter_type in g.NOT_VOTED and it.number in studied
    }
    waiting = [it for it in items if it.state is g.ItemState.ACCEPTED and it.number not in handled]
    return waiting[0] if waiting else None


async def _item_brief(ctx: Context, it: repo.Item, heading: str = "") -> list[str]:
    proposer = await repo.person(it.proposed_by_id)
    lines = [
        f"{heading}议题{it.number}「{it.title}」（{t.MATTER[it.matter_type]}，{proposer.name}提出）"
    ]
    if it.state is not g.ItemState.ACCEPTED:
        outcome = f"，{t.OUTCOME[g.Outcome(it.outcome)]}" if it.outcome else ""
        return [*lines, f"此议题{t.ITEM_STATE[it.state]}{outcome}。"]
    lines += await opinion_lines(it)
    if it.matter_type in g.NOT_VOTED:
        return [
            *lines,
            "学习通报事项，不表决，纪要记为「学习通报」。学习完毕，主持人发送「下一个议题」继续"
            f"（需要表决的，请组长先发送「议题{it.number}改成一般」）。",
        ]
    recused = await repo.recused(it.id)
    if recused:
        lines.append(f"回避：{join(await names(sorted(recused)))}")
    rule = ctx.policy.matter(it.matter_type)
    others = [x for x in g.VoteMethod if x in rule.allowed_methods and x != rule.default_method]
    lines.append(
        f"讨论后主持人发送「发起表决 {it.number}」（{t.METHOD[rule.default_method]}）"
        + "".join(f"，或「{t.METHOD_WORD[x]}表决 {it.number}」" for x in others)
        + "。"
    )
    if rule.major:
        lines.append(f"重大事项分歧较大的，可发送「暂缓 {it.number} 理由」暂缓到下次会议再议。")
    return lines


async def not_for_decision(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「议题1不需要表决」「第一项学习完毕」「第一项是学习，不需要表决，下一个」: the item is studied
    or passed on, not decided (g.NOT_VOTED): the minutes say 学习通报, closing the meeting does
    not find it undecided, and the chair is shown the next item. A major, personnel or discipline
    matter is the group's to decide (第七条), and a carried item is voted on again (第十六条):
    refused. 「议题1改成一般」 has it voted on after all."""
    ctx.require_society()
    person = ctx.require_person()
    meeting = await current_meeting(ctx, g.AGENDA_OPEN_STATES)
    if meeting.state is g.MeetingState.OPEN:
        await require_chair(ctx, meeting, "议题没有改")
    else:  # before the meeting: the agenda is the leader's
        await require_meeting_leader(ctx, meeting, "议题没有改")
    number, rest = parse_item_ref(args)
    if number is None:  # 「这个议题不需要表决」: the one turned to
        said_this, _ = this_item(rest)
        waiting = [it for it in await repo.items(meeting.id) if it.state is g.ItemState.ACCEPTED]
        number = await item_in_focus(
            meeting,
            waiting,
            verb="记为不表决",
            example="议题{}不需要表决",
            listed_as="未表决",
            said_this=said_this,
        )
    it = await item_by_number(meeting, number)
    refuse_unvoted(it)
    if it.carried_from_id is not None:
        raise UsageError(
            f"议题{number}「{it.title}」是上次会议暂缓的议题，须在本次会议再行表决（第十六条）。"
        )
    if it.state is not g.ItemState.ACCEPTED:
        raise UsageError(
            f"议题{number}「{it.title}」当前为「{t.ITEM_STATE[it.state]}」，没有改动。"
        )
    if it.matter_type not in g.NOT_VOTED:
        it = await set_matter(ctx, meeting, it, person, g.MatterType.STUDY)
    lines = [
        f"议题{number}「{it.title}」为学习通报事项，不表决，纪要记为「学习通报」"
        f"（需要表决的，组长发送「议题{number}改成一般」）。"
    ]
    if meeting.state is g.MeetingState.OPEN:
        await _turn_to(ctx, meeting, it)
        items = [x for x in await repo.items(meeting.id) if x.state is not g.ItemState.REJECTED]
        following = _next_item(items, [], await repo.studied_items(meeting.id))
        if following is not None:
            await _turn_to(ctx, meeting, following)
            lines += await _item_brief(ctx, following, heading="下一项：")
        else:
            lines.append("议程上的议题都已表决、暂缓或学习完毕，主持人可发送「散会」结束会议。")
    return [ctx.reply("\n".join(lines))]


def _vote_by(word: str) -> Handler:
    """「举手表决」「议题2记名表决」: the chair opens a vote by the method named. 「举手表决 赞成4
    反对2 弃权1」 is the recorder entering the result of one (as 「举手结果」)."""

    async def handler(ctx: Context, args: str) -> list[OutgoingMessage]:
        if word == "举手" and _HANDS.search(args):
            if not g.may(ctx.roles, g.Need.RECORDER):
                raise UsageError(
                    f"抱歉，录入举手结果只有{t.render_need(g.Need.RECORDER)}可以使用。"
                )
            return await record_hands(ctx, args)
        if not g.may(ctx.roles, g.Need.CHAIR):
            raise UsageError(f"抱歉，发起表决只有{t.render_need(g.Need.CHAIR)}可以使用。")
        number, rest = parse_item_ref(args)
        request = " ".join(x for x in (str(number or ""), word, rest) if x)
        return await start_vote(ctx, request)

    handler.__name__ = f"start_vote_{word}"
    return handler


ROUTES = [
    Route(
        ("计票", "表决情况", "投票情况"),
        live_count,
        g.Need.ANYONE,
        "计票",
        "查看表决进度（无记名投票只显示人数）",
        "成员",
        phrasings=(
            "票数",
            "还差谁没投",
            "投票结果",
            "投票结果怎么样",
            "表决结果怎么样",
            "表决结果如何",
            "投票结果如何",
            "表决结果",
            "现在几票",
            "统计票数",
            "统计一下票数",
            "统计投票",
            "统计一下投票",
            "票数统计",
            "都投了吗",
            "都投完了吗",
            "大家都投了吗",
            "结果出来了",
            "结果怎么样",
            "结果是什么",
            "表决结果呢",
            "结果呢",
            "大家都投完了吗",
            "大家投完了吗",
            "投完了吗",
            "还有谁没投",
            "还有几个人没投",
            "还有几人没投",
            "几个人没投",
            "还差几个人",
            "还差几票",
            "还差几个",
            "谁还没投",
            "谁没投",
            "谁还没投票",
            "谁没投票",
            "count",
            "有几票了",
            "几票了",
            "多少票了",
            "通过了吗",
            "通过没有",
            "过了吗",
            "谁投了赞成",
            "谁投了反对",
            "谁投了弃权",
            "赞成的都有谁",
            "反对的都有谁",
            "弃权的都有谁",
        ),
        frames=(
            rf"(?P<object>{ITEM_REF})的?(?:表决|投票)?(?:结果|票数)(?:怎么样|如何)?",
            rf"(?P<object>{ITEM_REF}|[^,，。;；!！?？:：]{{2,12}}?)(?:通过了?|过了)(?:吗|没有|没)",
        ),
        shows=True,
        when=OFFERED_DURING,
    ),
    Route(
        ("正在表决",),
        voting_now,
        g.Need.ANYONE,
        "正在表决",
        "问正在表决哪一项：已投几人、谁未投、通过要几票、人数还够不够",
        "成员",
        phrasings=(
            "现在投的是哪个议题",
            "在表决哪一项",
            "现在表决的是什么",
            "够人数了吗",
            "几个人了",
            "现在还够人吗",
        ),
        frames=(
            # 「现在投的是哪个议题」「我们在表决什么」「投的哪一项」: which item is voted on
            r"(?:我们|大家)?(?:现在|目前|当前|刚才)?(?:正?在)?(?:投票|投|表决)(?:的)?(?:是)?"
            r"(?:哪个|哪一个|哪项|哪一项|什么|啥)(?:议题|事项)?(?:呀|啊|呢|来着)?[?？]*",
            # 「够人数了吗」「现在还够人吗」: the quorum, now (「人够了吗」 is the meeting's status)
            r"(?:现在|目前)?(?:还)?(?:够|足)(?:不够)?人数?(?:了)?(?:吗|没有?|不)?[?？]*",
            # 「几个人了」「现在到了几个人了」: how many are in the room
            r"(?:现在|目前)?(?:有|来了|到了)?几个人了(?:呀|啊|呢)?[?？]*",
        ),
        shows=True,
        when=OFFERED_DURING,
    ),
    Route(
        ("下一个议题", "讨论议题"),
        take_up,
        g.Need.ANYONE,
        "下一个议题",
        "看下一项（或写明编号的）议题：提出人、书面意见、回避和怎样表决",
        "组长",
        phrasings=(
            "下一个",
            "下一项",
            "下一项议题",
            "下个议题",
            "下一议题",
            "进入下一个议题",
            "进入下一项议题",
            "进入下一项",
            "进入议题",
            "开始讨论",
            "讨论一下",
            "审议议题",
            "讨论",
            "审议",
        ),
        after=("讨论", "审议"),
        frames=(
            # 「先看第一个议题」「下面进行第三个议题」「看一下第二个议题」: that item, with what the
            # chair says after it (「先看第一个议题，换届方案大家有什么意见」) unless it puts the
            # item to the vote (「…，大家表决一下」 is 发起表决)
            rf"(?:好的?[,，]? ?)?(?:先|下面|接下来|现在|那)?(?:来)?(?:看|进行|开始|进入|说)(?:一下)?"
            rf"(?P<object>{ITEM_REF})(?:吧)?(?:[,，。;；] ?(?!.*(?:表决|投票|举手)).*)?",
            # 「大家对预算有什么意见」「请大家就换届谈谈看法」: the chair turns to that item
            r"(?:请|下面请|现在请)?大家(?:对|就)(?P<object>[^,，。;；:：?？]{1,12}?)(?:有什么|谈谈|说说|发表一下|发表)"
            r"(?:意见|看法|想法)(?:吧)?[?？]*",
        ),
        shows=True,
        when=OFFERED_DURING,
    ),
    Route(
        ("不表决", "学习完毕"),
        announced(not_for_decision),
        g.Need.CHAIR,
        "不表决 1",
        "学习、传达、通报的议题不表决（也可说「议题1学习完毕」），纪要记为「学习通报」，并看下一项",
        "组长",
        phrasings=("不需要表决", "不用表决", "无需表决", "传达完毕", "通报完毕"),
        after=(
            "不需要表决",
            "不用表决",
            "无需表决",
            "不表决",
            "学习完毕",
            "学习完了",
            "学完了",
            "学习结束",
            "传达完毕",
            "通报完毕",
        ),
        # 「第一项是学习，不需要表决，下一个」: that item, then the next shown
        frames=(
            rf"(?P<object>{ITEM_REF})(?:是|为|属于)(?:学习|传达|通报|学习传达|传达学习)(?:事项|议题|内容)?"
            r"(?:[,，]? ?(?:不需要|不用|无需|不)表决)?(?:[,，]? ?(?:下一个|下一项|下一个议题|进入下一项))?",
        ),
        when=OFFERED_DURING,
    ),
    Route(
        ("举手表决",),
        announced(_vote_by("举手")),
        g.Need.ANYONE,
        "举手表决 2",
        "以举手方式发起表决（「记名表决 2」「无记名表决 2」同理）",
        "组长",
        phrasings=("大家举手表决", "进行举手表决"),
        after=("举手表决", "举手"),  # 「议题3大家举手」
        when=OFFERED_DURING,
    ),
    Route(
        ("记名表决",),
        announced(_vote_by("记名")),
        g.Need.ANYONE,
        "记名表决 2",
        "以记名方式发起表决",
        "组长",
        phrasings=("记名投票", "进行记名投票", "开始记名投票", "采用记名投票", "大家记名投票"),
        after=("记名表决",),
        when=frozenset(),  # 发起表决 and 举手表决 are offered
    ),
    Route(
        ("无记名表决",),
        announced(_vote_by("无记名")),
        g.Need.ANYONE,
        "无记名表决 2",
        "以无记名投票方式发起表决",
        "组长",
        phrasings=(
            "无记名投票",
            "进行无记名投票",
            "开始无记名投票",
            "采用无记名投票",
            "大家无记名投票",
            "无记名投票表决",
        ),
        after=("无记名表决", "无记名投票"),
        when=frozenset(),  # 发起表决 and 举手表决 are offered
    ),
    Route(
        ("举手结果",),
        announced(record_hands),
        g.Need.RECORDER,
        "举手结果 赞成4 反对2 弃权1",
        "录入举手表决结果",
        "记录人",
        phrasings=("举手表决结果", "举手情况", "举手"),
        frames=(
            rf"(?P<object>(?:{_COUNTED}[,，、;；\s]*){{2,3}})",
            rf"(?P<object>(?:{_COUNT_FIRST}[,，、;；\s]*){{2,3}})",
            # 「5票赞成」「赞成6人」: one count alone, its 票 or 人 said (「赞成 2」 is a ballot on 2)
            rf"(?P<object>{_COUNT_FIRST}|({_CHOICE})\s*[:：]?\s*(\d{{1,2}})\s*(?:票|人))",
            rf"(?:大家)?(?P<object>{_UNANIMOUS.pattern})",  # 「全票通过！」 said alone
        ),
        when=OFFERED_DURING,
        # 「全部同意」 from the committee in private: every request waiting (asked back)
        committee="批准",
    ),
    Route(
        ("结束表决", "表决结束"),
        announced(close_vote),
        g.Need.CHAIR,
        "结束表决",
        "结束表决并按规则计算结果",
        "组长",
        asked="计票",  # 「投票结束了吗？」: how the vote stands, never an offer to close it
        phrasings=("停止投票", "结束投票", "投票结束", "截止投票", "close vote"),
        confirm=(
            "宣布结果",
            "公布结果",
            "宣布表决结果",
            "公布表决结果",
            # 「结束吧」 after saying everyone has voted: the vote, not the meeting (asked; the
            # comma may be typed otherwise or not at all, utterance._clause_forms)
            "都投了，结束吧",
            "都投完了，结束吧",
            "大家都投了，结束吧",
            "大家都投完了，结束吧",
            "都投了，可以结束了",
            "都投完了，可以结束了",
            "大家都投完了，可以结束了",
        ),
        when=OFFERED_DURING,
    ),
    Route(
        ("紧急", "紧急情况"),
        announced(declare_emergency),
        g.Need.CHAIR,
        "紧急 2 理由",
        "就重大事项宣布紧急情况（不暂缓）",
        "组长",
        phrasings=("情况紧急",),
        when=OFFERED_DURING,
    ),
    Route(
        ("暂缓", "暂缓决定"),
        announced(defer_item),
        g.Need.CHAIR,
        "暂缓 3 理由",
        "把议题暂缓到下次会议",
        "组长",
        # 「延期一周」「推迟一周」 before the meeting: whether to move the meeting is asked
        phrasings=("下次再议", "延期", "推迟", "推迟表决", "暂不表决"),
        instead=_put_back_instead,
        # 「这个议题分歧比较大，下次再议吧」: asked back, the words before being the arguments.
        last=(
            "下次再议",
            "下次再讨论",
            "留到下次再议",
            "放到下次再议",
            "暂缓表决",
            "暂缓",
            "暂缓到下次",
            "暂缓到下次会议",
            "放到下次会议",
            "留到下次会议",
            "留到下次",
            "放到下次",
            # 「第四项先放一放」「这个议题下次再说」
            "下次再说",
            "以后再说",
            "先放一放",
            "放一放",
        ),
        # 「议题2推迟一周」「这个议题延期一周吧」: the item said, to the next meeting (a bare
        # 「推迟一周」 is asked: the item in focus, or meeting again then?)
        frames=(
            rf"(?P<object>{ITEM_REF}|{THIS_ITEM})[,，\s]*(?:就|先|再)?(?:推迟|延期|顺延|延后)"
            r"(?P<rest>(?:[0-9]+|[一二两三四五六七八九十]+) ?个? ?(?:周|星期|礼拜|天|月))(?:再议|再说)?"
            r"(?:吧|了|啊)*",
            # 「议题4暂缓，下次再议」「这个议题先暂缓，分歧较大」: the item, then why
            rf"(?P<object>{ITEM_REF}|{THIS_ITEM})[,，\s]*(?:就|先)?暂缓(?:表决|决定)?(?:吧|了)?"
            r"[,，。;；\s]+(?P<rest>[^,，。;；?？]{1,40})",
        ),
        after=(
            "暂缓",
            "暂缓表决",
            "暂缓决定",
            "下次再议",
            "留到下次再议",
            "放到下次再议",
            "下次再讨论",
            "留到下次",
            "放到下次",
            "下次再说",
            "先放一放",
            "放一放",
        ),
        when=OFFERED_DURING,
    ),
]

# 暂缓 said of an item before the meeting, by anyone: its handler says why not now.
_DEFER_EXPLAINED = replace(
    next(r for r in ROUTES if r.words[0] == "暂缓"), needs=g.Need.ANYONE, instead=None
)
