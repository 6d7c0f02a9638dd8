"""The roster (第五条, 第六条): show it, propose changes, the committee's approval; designations;
filings and reports to the committee (第九条, 第二十一条); group binding.

Just over 600 lines as one file: the committee's decisions on a roster and on filings share one
code path with the 工作台 (`decide_change`, `acknowledge_filing`)."""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from datetime import datetime

from bot import governance as g
from bot.config import Settings
from bot.events import ChatKind, ChatRef, EventKind, OutgoingMessage, Platform, UserRef
from bot.reminders.plan import summary_days_late, summary_owed
from bot.router import AskBack, Context, Route, UsageError
from bot.utterance import ADDRESSEE
from handlers import texts as t
from handlers.common import (
    FRAME_REASON,
    admin_notices,
    bounded,
    join,
    mentioned,
    parse_item_ref,
    person_payload,
    proposal_decided,
    record,
    record_at,
    roster_warnings,
    without_reason_lead,
)
from handlers.summaries import late_text, summaries_late, summary_years_of
from handlers.workbench import KINDS, filings_summary
from storage import repo

_PARTY = {"党员": True, "中共党员": True, "非党员": False, "群众": False, "民主党派": False}
_POSITIONS = {
    "理事长": g.CouncilPosition.PRESIDENT,
    "会长": g.CouncilPosition.PRESIDENT,
    "副理事长": g.CouncilPosition.VICE_PRESIDENT,
    "副会长": g.CouncilPosition.VICE_PRESIDENT,
    "理事": g.CouncilPosition.DIRECTOR,
    "常务理事": g.CouncilPosition.DIRECTOR,
}


async def show_roster(ctx: Context, args: str) -> list[OutgoingMessage]:
    society = ctx.require_society()
    members = await repo.members(society.id)
    lines = [f"{society.name}党建工作领导小组成员（{sum(1 for x in members if x.on_roster)}人）："]
    for x in members:
        if not x.on_roster:
            continue
        role = "组长" if x.is_leader else "组员"
        pos = t.POSITION[x.position]
        party = "中共党员" if x.person.is_party_member else "非党员"
        lines.append(f"- {x.person.name}：{role}（{join([v for v in (pos, party) if v], '')}）")
    recorder = await repo.person(society.recorder_id) if society.recorder_id else None
    liaison = await repo.person(society.liaison_id) if society.liaison_id else None
    lines.append(
        f"记录人：{recorder.name if recorder else '未指定'}；党建联系人：{liaison.name if liaison else '未指定'}"
    )
    if society.term_end:
        lines.append(f"本届任期至 {society.term_end.isoformat()}（与理事会同步换届）")
    pending = await repo.roster_changes(status="pending", society_id=society.id)
    for c in pending:
        lines.append(f"待市科技社团党委审批：#{c.id} {_change_text(c)}")
    lines.extend(roster_warnings(members, ctx.policy, society.roster_exception))
    return [ctx.reply("\n".join(lines))]


# The kind of roster change a decision names, said anywhere in it (「同意增补王强」「批准免去李娜」).
_KIND_WORDS = (
    ("remove", re.compile(r"免去|免职|移除|删除|退出")),
    ("role", re.compile(r"组长")),
    ("add", re.compile(r"增补|增加|补充")),
)


def _kind_said(text: str) -> str | None:
    kinds = {kind for kind, words in _KIND_WORDS if words.search(text)}
    return kinds.pop() if len(kinds) == 1 else None


def _fits(kind: str | None, c: repo.RosterChange) -> bool:
    """Whether a change is of the kind a decision names (None: not named); a newcomer proposed
    as the leader is added as the leader (「同意吴国华任组长」 fits it)."""
    return kind in (None, c.kind) or (kind == "role" and c.roster_role == "leader")


def _change_text(c: repo.RosterChange) -> str:
    return change_text(c.kind, c.person.name, c.roster_role)


def change_text(kind: str, name: str, roster_role: str) -> str:
    """A roster change in words (the chat replies and the 工作台 use the same)."""
    match kind:
        case "add":
            return f"增补{name}为{'组长' if roster_role == 'leader' else '组员'}"
        case "remove":
            return f"免去{name}的领导小组成员职务"
        case _:
            return f"调整{name}为{'组长' if roster_role == 'leader' else '组员'}"


async def not_a_party_member(c: repo.RosterChange) -> bool:
    """Whether the person a pending addition would put on the roster is not a party member: as
    the request said of them (「提议增补 @王五 非党员」), else as known."""
    if c.kind != "add" or c.roster_role == "leader":
        return False  # a removal adds no one; the leader's party membership is 第五条's check
    party = await repo.claimed_party(c.society_id, c.id)
    return not (c.person.is_party_member if party is None else party)


def non_party_note(name: str) -> str:
    """Said wherever a non-party member's addition is proposed or decided: the group is the
    Party's working body whose members the council's party members choose (第二条, 第五条); a
    non-party president attends as an observer (第十五条). Only the committee decides (第六条),
    so it is said, not refused."""
    return (
        f"⚠ {name}不是中共党员。工作规则第十五条：可邀请非中共党员的理事长列席小组会议"
        "（列席人员不参加表决、不计入法定人数）；领导小组的组成人选由理事会中的全体党员讨论确定"
        f"（第五条）。如批准，{name}将作为组员参加表决并计入法定人数。"
    )


async def _target(ctx: Context, args: str, usage: str) -> tuple[UserRef, str]:
    user, rest = await mentioned(ctx, args)
    if user is None:
        raise UsageError(f"请 @ 要调整的人，例如：{usage}")
    return user, rest


_LEADING_PARTICLES = "吧啊呀哈了呢嘛哦 ,，"


def _flags(rest: str) -> tuple[bool | None, g.CouncilPosition | None, str]:
    party: bool | None = None
    position: g.CouncilPosition | None = None
    # 「党员 常务理事 加强年轻力量」「，党员，副秘书长，加强年轻力量」「吧，她是新任理事长」
    words = [w for w in re.split(r"[\s,，、]+", rest.lstrip(_LEADING_PARTICLES)) if w]
    reason = []
    for w in words:
        if w in _PARTY and party is None:
            party = _PARTY[w]
        elif w in _POSITIONS and position is None:
            position = _POSITIONS[w]
        else:
            reason.append(w)
    joined = ("，" if re.search(r"[,，、]", rest) else " ").join(reason)  # as it was written
    return party, position, without_reason_lead(joined)


async def propose_add(ctx: Context, args: str) -> list[OutgoingMessage]:
    return await _propose(ctx, args, "add", "提议增补 @王五 党员 理事 理由")


async def propose_remove(ctx: Context, args: str) -> list[OutgoingMessage]:
    return await _propose(ctx, args, "remove", "提议免去 @王五 工作调动")


async def wish_to_leave(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「我要退出领导小组」 from a member: leaving is proposed by the leader and approved by the
    committee (第六条); says so and what the leader sends. Writes nothing."""
    society = ctx.require_society()
    person = ctx.require_person()
    people = await repo.members(society.id)
    mine = next((x for x in people if x.person.id == person.id), None)
    if mine is None or not mine.on_roster:
        return [ctx.reply(f"{person.name}不是本学会领导小组成员。")]
    leader = next((x.person.name for x in people if x.roster_role == "leader"), "组长")
    if mine.roster_role == "leader":
        return [
            ctx.reply(
                "组长退出须先确定新的组长：发送「提议组长 @姓名 理事长 理由」（原组长留任组员），"
                "批准后再发送「提议免去 @本人 理由」。两项都须经市科技社团党委批准（第六条）。"
            )
        ]
    return [
        ctx.reply(
            "退出领导小组由组长提议、经市科技社团党委批准后生效（工作规则第六条）。"
            f"请向组长{leader}说明，由组长发送「提议免去 @{person.name} 本人申请」。"
        )
    ]


# A name as people give it (「张伟」「欧阳明月」「张伟（技术部）」, a Latin name), and what says it is
# something else (「我是组长」「我是来请假的」「我是说……」).
_A_NAME = re.compile(r"[\u4e00-\u9fffA-Za-z·•()（）0-9]{2,20}")
_ROLE_WORDS = r"什么|谁|哪|组长|组员|成员|记录|联系人|党员|理事|会长|领导|党委|主持|列席|吗"
_NOT_A_NAME = re.compile(_ROLE_WORDS)
# 「我是…」 said whole is a name only without those, nor a verb (「我是来请假的」「我是说…」); a
# name that has one (李来福) is registered with 「登记姓名 李来福」.
_NOT_NAMES = rf"{_ROLE_WORDS}|不是|来|说|想|要|在"
REGISTER_USAGE = "我是张伟"


async def register_name(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「我是张伟」「登记 张伟」 in the group: the name the speaker's account goes by here. WeCom
    tells the bot only who speaks (an account id) and the text (「@张伟」 is only text), so this is
    how the leader's 「提议增补 @张伟」 finds the account meant. A new registration replaces the
    speaker's own; the speaker's name everywhere becomes it. Who joins the group is still the
    leader's proposal and the committee's approval (第六条): the committee sees the account. A
    member on a roster keeps the name approved there (refused, nothing written)."""
    society = ctx.require_society()
    chat = ctx.message.chat
    if chat.kind is not ChatKind.GROUP:
        raise UsageError(
            f"请在{society.name}的工作群里 @机器人 发送「{REGISTER_USAGE}」登记（登记的是您在该群里的姓名）。"
        )
    name = re.sub(r"(?:同志|老师)$", "", args.strip(" ，,。.!！~"))
    if not name:
        raise UsageError(f"请写上您的姓名，例如：{REGISTER_USAGE}")
    if not _A_NAME.fullmatch(name) or _NOT_A_NAME.search(name):
        raise UsageError(
            f"「{t.echo(name)}」不像姓名，没有登记。登记姓名请发送「我是 姓名」，例如：{REGISTER_USAGE}。"
        )
    sender = ctx.message.sender
    people = await repo.members(society.id)
    me = ctx.person
    namesake = next((x for x in people if x.person.name == name and x.person != me), None)
    if namesake is not None:
        raise UsageError(
            f"{society.name}已有一位{name}，没有登记（同名会让 @{name} 指不清是谁）。如果您与其同名，"
            f"请在姓名后加以区分，例如「我是{name}（技术部）」。"
        )
    if me is not None and me.name != name and await repo.on_a_roster(me.id):
        # The roster's name is what the committee approved: changed only as a roster change.
        raise UsageError(
            f"您是领导小组成员，名单上的姓名是「{me.name}」，没有改动。领导小组名单的调整须经市科技社团党委"
            "批准（工作规则第六条）：姓名如需更正，请告诉组长，由组长报市科技社团党委办理。"
        )
    before = await repo.register(sender, chat.chat_id, name, ctx.now)
    if me is not None and me.name != name:
        await repo.rename(me.id, name)
    account = _account_of(sender)
    if before is None or before == name:
        done = f"已登记：您在本群的姓名是「{name}」{account}。"
    else:
        done = f"已更新登记：您在本群的姓名由「{before}」改为「{name}」{account}。"
    mine = next((x for x in people if me is not None and x.person.id == me.id), None)
    if mine is not None and mine.on_roster:
        return [ctx.reply(f"{done}您是{society.name}党建工作领导小组成员。")]
    same = [u for u, n in await repo.registered(chat.platform, chat.corp_id, chat.chat_id, name)]
    how = f"@{name}" if same == [sender.user_id] else f"@{sender.user_id}"
    shared = (
        ""
        if how == f"@{name}"
        else f"本群还有别人登记为「{name}」，提到您时请写账号（@{sender.user_id}）。"
    )
    leader = next((f"组长{x.person.name}" for x in people if x.is_leader), "组长")
    return [
        ctx.reply(
            f"{done}{shared}{leader}现在可以发送「提议增补 {how} 理由」提议您加入领导小组，"
            "经市科技社团党委批准后生效。"
        )
    ]


async def propose_leader(ctx: Context, args: str) -> list[OutgoingMessage]:
    return await _propose(ctx, args, "role", "提议组长 @王五 理事长 换届")


# What follows a name when the change is talked about, not asked for: 「免去刘洋的申请不要了」
# 「增补吴国华的事再等等」「记录人换成杨帆的事先不急」「联系人改成刘洋？我觉得不太合适」.
_NOT_YET = re.compile(
    r"^\s*的(?:申请|事|事情|问题)|[?？]|不太合适|不合适|先不急|再等等|先放一放|不要了|下次(?:开会)?再议"
)


def _not_yet(name: str, rest: str, usage: str) -> None:
    """Refuses (nothing written) a change said of someone while it is only talked about."""
    if _NOT_YET.search(rest):
        raise UsageError(
            f"这句话像是在商量或说已有的申请（{name}{t.echo(rest)}），没有办理。"
            f"确定要办理的，请发送「{usage}」；待审批的申请发送「名单」查看。"
        )


# A second change said after the first (「免去陈静，增补吴国华」): each is its own request.
_ANOTHER_CHANGE = re.compile(
    r"[,，;；。\s]+(?:并|同时|另外|再|然后)?[,，\s]*(?:提议)?(?P<word>增补|免去|免除)(?=\s*\S)"
)
_KIND_OF_WORD = {
    "增补": ("add", "提议增补 @王五 党员 理事 理由"),
    "免去": ("remove", "提议免去 @王五 工作调动"),
    "免除": ("remove", "提议免去 @王五 工作调动"),
}


async def _propose(ctx: Context, args: str, kind: str, usage: str) -> list[OutgoingMessage]:
    """One request per change said: 「免去陈静，增补吴国华」 files both (in one transaction: a
    refusal of either files neither)."""
    found = _ANOTHER_CHANGE.search(args)
    if found is None:
        return await _propose_one(ctx, args, kind, usage)
    then_kind, then_usage = _KIND_OF_WORD[found.group("word")]
    first = await _propose_one(ctx, args[: found.start()], kind, usage)
    return first + await _propose(ctx, args[found.end() :], then_kind, then_usage)


async def _propose_one(ctx: Context, args: str, kind: str, usage: str) -> list[OutgoingMessage]:
    society = ctx.require_society()
    actor = ctx.require_person()
    user, rest = await _target(ctx, args, usage)
    _not_yet(user.name or user.user_id, rest, usage)
    party, position, reason = _flags(rest)
    target = await repo.person_by_identity(user)
    current = await repo.member(society.id, target.id) if target else None
    role = "leader" if kind == "role" else "member"
    if kind == "role" and (current is None or not current.on_roster):
        # 「提议组长 @吴国华 党员 理事长」 of someone not yet on the roster: added as the leader
        # in one change (as two, the middle roster would break 第五条 and could not be approved)
        kind = "add"
    if kind == "add":
        if current is not None and current.on_roster:
            raise UsageError(f"{current.person.name}已是领导小组成员。")
        if target is None:  # someone new: what the leader says of them is all that is known
            new = True if party is None else party
            target = await repo.ensure_person(
                user, name=user.name or user.user_id, is_party_member=new
            )
        # Of someone known, a different party membership said here is a claim the committee
        # decides with the change (kept in the request's record), never a fact before then.
    elif target is None or current is None or not current.on_roster:
        raise UsageError(f"{user.name or user.user_id}不是领导小组成员。")
    waiting = await repo.roster_changes(status="pending", society_id=society.id)
    same = next((c for c in waiting if c.kind == kind and c.person.id == target.id), None)
    if same is not None and same.roster_role == role:
        raise UsageError(
            f"申请 #{same.id}（{_change_text(same)}）已经提交，正在等待市科技社团党委审批，"
            "无需重复提交。发送「名单」可查看待审批的申请。"
        )
    cid = await repo.create_roster_change(
        society.id,
        kind=kind,
        person_id=target.id,
        roster_role=role,
        position=position or (current.position if current else g.CouncilPosition.NONE),
        reason=reason,
        requested_by=actor.id,
        now=ctx.now,
    )
    change = await repo.roster_change(cid)
    assert change is not None
    await record(
        ctx,
        EventKind.ROSTER_CHANGE_REQUESTED,
        {
            "change": cid,
            "kind": kind,
            "person": person_payload(target),
            "role": role,
            "reason": reason,
            **({"party": party} if party is not None and kind == "add" else {}),
        },
    )
    name = change.person.name
    # Who the committee is asked about: the account beside the name (on WeCom the name is the
    # one its owner registered, 「我是…」: a false claim shows here).
    account = _account_of(user)
    flag = f"\n{non_party_note(name)}" if await not_a_party_member(change) else ""
    observe = (
        f"\n如只是请{name}参加小组会议，建议改为列席：会议通知发出后，组长发送「列席 @{name} "
        f"非党员理事长」；本申请可请市科技社团党委驳回。"
        if flag
        else ""
    )
    out = [
        ctx.reply(
            f"已提交成员调整申请 #{cid}：{_change_text(change)}{account}。按工作规则第六条，须经市科技社团党委审核批准后生效。"
            f"{flag}{observe}"
        )
    ]
    out += admin_notices(
        ctx,
        f"【待审批】{society.name} 成员调整申请 #{cid}：{_change_text(change)}{account}。理由：{reason or '未填写'}。发送「批准 {cid}」或「驳回 {cid} 理由」。{flag}",
    )
    return out


_PLATFORM_NAMES = {Platform.WECOM: "企业微信", Platform.DINGTALK: "钉钉"}


def _account_of(user: UserRef) -> str:
    """「（企业微信账号 zhangwei）」: the platform account a change is about (on WeCom the name
    is what the account's owner registered); nothing in the console (no accounts there)."""
    platform = _PLATFORM_NAMES.get(user.platform)
    return "" if platform is None else f"（{platform}账号 {user.user_id}）"


async def list_changes(ctx: Context, args: str) -> list[OutgoingMessage]:
    changes = await repo.roster_changes(status="pending")
    if not changes:
        return [ctx.reply("目前没有待审批的成员调整申请。")]
    lines = ["待审批的成员调整申请："]
    for c in changes:
        lines.append(
            f"#{c.id} {c.society_name}：{_change_text(c)}（{c.requested_by.name}提出，理由：{c.reason or '未填写'}）"
        )
        if await not_a_party_member(c):
            lines.append(f"  {non_party_note(c.person.name)}")
    return [ctx.reply("\n".join(lines))]


async def approve_change(ctx: Context, args: str) -> list[OutgoingMessage]:
    return await _decide(ctx, args, True, _APPROVE_USAGE)


async def reject_change(ctx: Context, args: str) -> list[OutgoingMessage]:
    return await _decide(ctx, args, False, _REJECT_USAGE)


# Words that decide (a request named without them, 「免去王强」, is asked back).
_DECIDES = re.compile(r"同意|批准|通过|可以|驳回|不批|不能批|approve|reject", re.IGNORECASE)
# All that waits, said as such (「都同意吧」「全部批准」): asked back with each one listed.
_ALL_OF_THEM = re.compile(r"都|全部|全都|一律|统统|所有(?:申请)?")
_AGREED_AT_END = re.compile(r"(?:同意|批准|通过)了?(?:吧)?$")
# What a request named is followed by (「免去赵敏的申请先不批」): holding the decision.
_HELD_OFF = re.compile(
    r"^(?:的)?(?:申请|调整|事)?(?:我|这边)?(?:先不|暂不|暂时不|先别|再等|等等|先放|缓一缓|暂缓)"
)
# Or the decision (「免去王强同意」「增补吴国华的申请不同意」), the words after it being the note.
_DECISION_SAID = re.compile(
    r"^(?:的)?(?:申请|调整)?\s*(?:(?P<no>不同意|不批准|不予批准|驳回)|同意|批准|通过|可以)了?(?:吧)?"
)


async def _ask_all(approve: bool) -> None:
    """「都同意吧」: every request waiting, listed, asked back as one decision on them all."""
    waiting = await repo.roster_changes(status="pending")
    if not waiting:
        raise UsageError("目前没有待审批的成员调整申请。")
    word = "批准" if approve else "驳回"
    listed = "；".join(f"#{c.id} {c.society_name}：{_change_text(c)}" for c in waiting)
    numbers = " ".join(str(c.id) for c in waiting)
    raise AskBack(f"要{word}全部{len(waiting)}项待审批的申请吗？{listed}。", f"{word} {numbers}")


# 「这个申请我批了」「这个我批了」: the request the admin has in mind, unnamed (the route's frame
# gives these words).
_THIS_ONE = re.compile(r"这个|这一?项|这份|这条")


async def _ask_this_one() -> None:
    """「这个申请我批了」: with one request waiting, asked back naming it (a yes approves it);
    with several, each listed and how one is approved, nothing done (which one is not said);
    with none, that nothing waits."""
    waiting = await repo.roster_changes(status="pending")
    if not waiting:
        raise UsageError("目前没有待审批的成员调整申请。")
    if len(waiting) > 1:
        listed = "；".join(f"#{c.id} {c.society_name}：{_change_text(c)}" for c in waiting)
        raise UsageError(
            f"目前有{len(waiting)}项待审批的申请：{listed}。没有办理：请发送「批准 编号」批准其中一项"
            f"（例如「批准 {waiting[0].id}」），驳回请发送「驳回 编号 理由」。"
        )
    (pending,) = waiting
    flag = await not_a_party_member(pending)
    raise AskBack(
        (f"{non_party_note(pending.person.name)}\n" if flag else "")
        + f"是要批准申请 #{pending.id}（{pending.society_name}：{_change_text(pending)}）吗？"
        f"要驳回请发送「驳回 {pending.id} 理由」。",
        f"批准 {pending.id}",
    )


_APPROVE_USAGE = "批准 3（如需特批超员或双数，写「批准 3 特批」）"
_REJECT_USAGE = "驳回 3 理由"


async def _decide(ctx: Context, args: str, approve: bool, usage: str) -> list[OutgoingMessage]:
    """A decision on one change, or on several said at once: 「批准 1 2」「驳回 2 4」 each the
    same, 「批准 1，2号驳回」 the second the other way. All in one transaction: a refusal of any
    decides none."""
    # 「全部同意」 reaches here whole (through 举手结果's words): the same as 「全部」
    if _ALL_OF_THEM.fullmatch(_AGREED_AT_END.sub("", args.strip())):
        await _ask_all(approve)
    if approve and _THIS_ONE.fullmatch(args.strip()):
        await _ask_this_one()
    other = _OTHER_DECISION.search(args)
    if other is not None and parse_item_ref(args.replace("#", ""))[0] is not None:
        then = other.group("word") in ("批准", "同意")
        first = await _decide(ctx, args[: other.start()], approve, usage)
        second = f"{other.group('n')} {other.group('rest').strip(' ，,')}"
        return first + await _decide(ctx, second, then, _APPROVE_USAGE if then else _REJECT_USAGE)
    if (each := _each_number(args.replace("#", ""))) is not None:
        return [m for one in each for m in await _decide_one(ctx, one, approve, usage)]
    return await _decide_one(ctx, args, approve, usage)


async def _decide_one(ctx: Context, args: str, approve: bool, usage: str) -> list[OutgoingMessage]:
    actor = ctx.require_person()
    number, rest = parse_item_ref(args.replace("#", ""))
    kind = _kind_said(ctx.message.text)  # 「同意增补王强」: 增补, whatever the route's words took
    waiting = await repo.roster_changes(status="pending")
    if number is not None:
        # 「批准 3 增补周婷」 where #3 is 免去赵敏: the words name another change; nothing done
        change = next((c for c in waiting if c.id == number), None)
        others = {c.person.name for c in waiting if c.person.name} - (
            {change.person.name} if change else set()
        )
        if change is not None and (not _fits(kind, change) or any(n in rest for n in others)):
            raise UsageError(
                f"申请 #{number} 是「{_change_text(change)}」，与所写的「{t.echo(args)}」不符，"
                f"没有办理。请核对编号后重新发送，例如：{usage}"
            )
    if number is None:
        if not waiting:
            raise UsageError("目前没有待审批的成员调整申请。")
        # 「批准吴国华」「同意增补吴国华」: the one pending change about the person named, of the
        # kind said (「同意增补王强」 is no approval of 免去王强)
        named = [
            c
            for c in waiting
            if c.person.name and args.strip().startswith(c.person.name) and _fits(kind, c)
        ]
        if len(named) != 1:
            listed = "；".join(f"#{c.id} {c.society_name}：{_change_text(c)}" for c in waiting[:5])
            raise UsageError(f"请写明申请编号，例如：{usage}。待审批：{listed}")
        number, rest = named[0].id, args.strip()[len(named[0].person.name) :].strip(" ，,")
    # Said after the request (「免去赵敏的申请先不批」「免去赵敏的事我再了解一下」): held, nothing
    # done; a bare 「免去王强」 is asked which way (a reflexive 「嗯」 to a question about the
    # longer ones had approved a removal).
    pending = next((c for c in waiting if c.id == number), None)
    said = _DECISION_SAID.match(rest)
    unsaid = said is None and ctx.asked_at is None and not _DECIDES.search(ctx.message.text)
    if pending is not None and (_HELD_OFF.match(rest) or (unsaid and rest.strip(" ，,。"))):
        return [
            ctx.reply(
                f"好的，申请 #{number}（{pending.society_name}：{_change_text(pending)}）暂不审批，"
                f"仍在待批列表中。审批时发送「批准 {number}」或「驳回 {number} 理由」。"
            )
        ]
    flag = pending is not None and await not_a_party_member(pending)
    if pending is not None and unsaid:
        raise AskBack(
            (f"{non_party_note(pending.person.name)}\n" if flag else "")
            + f"是要批准申请 #{number}（{pending.society_name}：{_change_text(pending)}）吗？"
            f"要驳回请发送「驳回 {number} 理由」。",
            f"批准 {number}",
        )
    if said is not None:  # 「免去王强同意」「增补吴国华不同意，人数超了」
        approve = said.group("no") is None
        rest = rest[said.end() :]

    done = await decide_change(
        ctx.settings,
        actor,
        number,
        approve=approve,
        note=without_reason_lead(rest.strip(" ，,")),
        exception=approve and "特批" in rest,
        now=ctx.now,
        here=ctx.society.id if ctx.society else None,
    )
    return [ctx.reply(done.reply), *done.notices]


@dataclass(frozen=True, slots=True)
class Decided:
    """What a committee decision did: the reply to whoever decided, and the notices to the
    society's groups. The chat commands and the 工作台 both come here (one code path)."""

    reply: str
    notices: list[OutgoingMessage]
    society_id: int


async def decide_change(
    settings: Settings,
    actor: repo.Person,
    number: int,
    *,
    approve: bool,
    note: str,
    now: datetime,
    exception: bool = False,
    here: int | None = None,
) -> Decided:
    """Approve or reject roster change `number` (第六条) within 第五条's limits, under the
    society's lock; raises UsageError or GovernanceError (nothing written) when it cannot.
    `here` is the society whose group the decision was made in (it gets the reply, no notice).
    A note longer than a reason may be is refused, as every reason is (the web form's too)."""
    bounded(note, "驳回理由" if not approve else "审批说明")
    change = await repo.roster_change(number)
    if change is not None:
        await repo.lock_society(change.society_id)
        change = await repo.roster_change(number)  # as it is under the lock
    if change is not None and change.status != "pending":
        done = "已批准" if change.status == "approved" else "已驳回"
        raise UsageError(f"申请 #{number}（{_change_text(change)}）{done}，无需再审批。")
    if change is None:
        raise UsageError(f"没有待审批的申请 #{number}。")
    if not approve:
        await repo.decide_roster_change(
            change.id, status="rejected", decided_by=actor.id, exception=False, note=note, now=now
        )
        await record_at(
            now,
            change.society_id,
            EventKind.ROSTER_CHANGE_REJECTED,
            {"change": change.id, "reason": note, "by": person_payload(actor)},
        )
        return Decided(
            f"已驳回 #{change.id}（{change.society_name}）：{_change_text(change)}。",
            await _notices(
                change.society_id,
                f"市科技社团党委未批准成员调整 #{change.id}" + (f"：{note}" if note else "。"),
                here,
            ),
            change.society_id,
        )
    non_party = await not_a_party_member(change)
    society = await repo.society(change.society_id)
    policy = settings.policy_for(society.name)
    members = await repo.members(society.id)
    after = {x.person.id: x for x in members}
    target = after.get(change.person.id)
    party = await repo.claimed_party(society.id, change.id) if change.kind == "add" else None
    position = change.position
    match change.kind:
        case "add" if change.roster_role != "leader":
            after[change.person.id] = repo.Member(change.person, "member", position)
        case "remove":
            if target is not None:
                after[change.person.id] = repo.Member(target.person, "none", target.position)
        case _:  # the leader: who was, stays a member
            for pid, x in list(after.items()):
                if x.is_leader:
                    after[pid] = repo.Member(x.person, "member", x.position)
            after[change.person.id] = repo.Member(change.person, "leader", position)
    people = await repo.people(after)
    if party is not None:  # as the change would make them
        people[change.person.id] = dataclasses.replace(
            people[change.person.id], is_party_member=party
        )
    entries = [
        g.RosterEntry(pid, x.is_leader, people[pid].is_party_member, x.position)
        for pid, x in after.items()
        if x.on_roster
    ]
    presidents = [
        people[pid].is_party_member
        for pid, x in after.items()
        if x.position is g.CouncilPosition.PRESIDENT
    ]
    issues = g.roster_issues(
        entries, president_is_party_member=presidents[0] if presidents else None, policy=policy
    )
    # A change that does not grow the roster (a removal, the leader's role passed to a member)
    # brings no size issue that was not there: a vacancy stays a warning until it is filled.
    removal = len(entries) <= sum(1 for m in members if m.on_roster)
    blocking = g.blocking_issues(issues, exception_approved=exception, is_removal=removal)
    if blocking:
        if exception or g.blocking_issues(issues, exception_approved=True, is_removal=removal):
            raise g.GovernanceError(g.Refusal.ROSTER_INVALID, issues=blocking)
        # Only what an exception allows (超员、双数): the committee deciding is who grants it.
        raise UsageError(
            f"{t.roster_invalid({'issues': blocking})}如确需特批（超员或双数），聊天中发送"
            f"「批准 {change.id} 特批」或在工作台勾选「特批」后批准；否则驳回并写明理由。"
        )
    for pid, x in after.items():
        before = next((b for b in members if b.person.id == pid), None)
        if before is None or before.roster_role != x.roster_role or before.position != x.position:
            await repo.put_member(society.id, pid, roster_role=x.roster_role, position=x.position)
    if party is not None and party != change.person.is_party_member:
        await repo.set_party_member(change.person.id, party)
    await repo.decide_roster_change(
        change.id,
        status="approved",
        decided_by=actor.id,
        exception=exception,
        note=note,
        now=now,
    )
    # An exception covers the composition it approved; the next ordinary change ends it.
    await repo.update_society(society.id, roster_exception=exception)
    await record_at(
        now,
        society.id,
        EventKind.ROSTER_CHANGE_APPROVED,
        {
            "change": change.id,
            "kind": change.kind,
            "person": person_payload(change.person),
            "exception": exception,
            "by": person_payload(actor),
        },
    )
    size = [t.ROSTER_ISSUE[i] for i in issues if i in g.SIZE_ISSUES]
    pending = await _meeting_keeps_its_roster(society.id)
    text = f"已批准 #{change.id}（{society.name}）：{_change_text(change)}，即日生效。"
    if exception or size:  # what the 特批 covers, or what is left to put right
        told = f"领导小组现为{len(entries)}人" + (f"：{'、'.join(size)}" if size else "")
        text += f"按特批，{told}。" if exception else f"请注意，{told}。"
    if non_party:  # approved knowing it (the request said so)
        text += f"{change.person.name}不是中共党员，将作为组员参加表决。"
    text += pending
    return Decided(
        text,
        await _notices(
            society.id,
            f"市科技社团党委已批准成员调整 #{change.id}：{_change_text(change)}。{pending}",
            here,
        ),
        society.id,
    )


async def _meeting_keeps_its_roster(society_id: int) -> str:
    """A roster change approved after a meeting was convened applies from the next meeting
    (governance Rule 7): say so when such a meeting is under way."""
    meeting = await repo.active_meeting(society_id)
    if meeting is None or meeting.state not in g.AGENDA_OPEN_STATES:
        return ""
    return (
        f"第{meeting.number}次会议已召开，仍按召开时的名单（应到会{len(meeting.roster)}人）进行，"
        "本次调整自下次会议起适用。"
    )


async def _notices(society_id: int, text: str, here: int | None) -> list[OutgoingMessage]:
    if here == society_id:
        return []
    return [
        OutgoingMessage(chat=ChatRef(p, corp, chat, ChatKind.GROUP), text=text)
        for p, corp, chat in await repo.group_chats(society_id)
    ]


async def set_liaison(ctx: Context, args: str) -> list[OutgoingMessage]:
    return await _designate(
        ctx, args, "liaison", EventKind.LIAISON_SET, "党建联系人", "设置联系人 @王五"
    )


async def set_recorder(ctx: Context, args: str) -> list[OutgoingMessage]:
    return await _designate(
        ctx, args, "recorder", EventKind.RECORDER_SET, "记录人", "设置记录人 @王五"
    )


# Said to be talked over (「…，大家看行不行」「…的话周婷就轻松点了」): no designation.
_TALKED_OVER = re.compile(
    r"行不行|好不好|可以吗|行吗|怎么样|大家看|看看|有意见|意见吗|合适吗|要不要|的话|吗|[?？]|再说|考虑"
)
# Only this once (「记录人改成 @刘洋，就今天一次」「这次让刘洋来记录」): no designation.
_THIS_ONCE = re.compile(r"这次|本次|今天|临时|一次|暂时|暂且|代为|代一下")


async def _designate(
    ctx: Context, args: str, field: str, kind: EventKind, label: str, usage: str
) -> list[OutgoingMessage]:
    society = ctx.require_society()
    actor = ctx.require_person()
    user, rest = await mentioned(ctx, args)
    if user is None:
        raise UsageError(f"请 @ 要指定的人，例如：{usage}")
    _not_yet(user.name or user.user_id, rest, usage)
    known = await repo.person_by_identity(user)
    if known is not None and getattr(society, f"{field}_id") == known.id:
        return [ctx.reply(f"{known.name}就是{society.name}的{label}，没有变化。")]
    if _TALKED_OVER.search(rest):
        # 「记录人改为刘洋，大家看行不行」「联系人换成刘洋的话要不要跟市里说一声」: thinking aloud
        name = user.name or user.user_id
        raise UsageError(
            f"没有更改{label}：这句话是在商量。确定由{name}担任的，请发送「{usage.split(' @')[0]} @{name}」。"
        )
    if field == "recorder" and _THIS_ONCE.search(rest):
        name = user.name or user.user_id
        raise UsageError(
            f"记录人是长期指定的，设置后每次会议都由他记录，所以没有更改。只这一次由{name}代为记录的，"
            f"请在纪要备注里写明「本次会议由{name}代为记录」；要长期改为{name}，请发送「设置记录人 @{name}」。"
        )
    target = await repo.ensure_person(user, name=user.name or user.user_id)
    if await repo.member(society.id, target.id) is None:
        await repo.put_member(society.id, target.id, roster_role="none")
    await repo.update_society(society.id, **{f"{field}_id": target.id})
    await record(ctx, kind, {"person": person_payload(target), "by": person_payload(actor)})
    return [ctx.reply(f"已指定{target.name}为{society.name}的{label}。", [user])]


async def file_report(ctx: Context, args: str) -> list[OutgoingMessage]:
    return await _file(ctx, args, "major_issue", "重大问题请示报告", "报告 关于换届工作的请示")


async def file_rules(ctx: Context, args: str) -> list[OutgoingMessage]:
    return await _file(ctx, args, "work_rules", "工作制度备案", "备案 学会党建工作领导小组议事规则")


async def file_summary(ctx: Context, args: str) -> list[OutgoingMessage]:
    return await _file(
        ctx, args, "annual_summary", "年度工作总结（含党建部分）", "年度总结 2026年度工作总结"
    )


async def summary_status(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「年度总结什么时候交」「年度总结报了吗」: this year's annual summary (第二十一条): its
    deadline and whether it was filed and acknowledged, and who files it; last year's while it
    is owed; the work rules while they are not filed (「还有什么没交」). A summary counts for the
    year the reminders count it for (plan.summary_years). Shows; writes nothing."""
    society = ctx.require_society()
    today = ctx.now.astimezone(ctx.tz).date()
    joined, rows, years = await summary_years_of(society, ctx.tz)
    filed = dict(zip(years, rows, strict=True))  # year -> the last summary that counts for it
    lines = []
    for year in (today.year - 1, today.year):
        label = f"{society.name}{year}年度工作总结（含党建部分）"
        if (f := filed.get(year)) is not None:
            if year == today.year or f.at.astimezone(ctx.tz).year == today.year:
                heard = (
                    "市科技社团党委已确认收到" if f.acknowledged else "市科技社团党委尚未确认收到"
                )
                late = late_text((await summaries_late(society, ctx.tz)).get(f.id))
                lines.append(
                    f"{label}已由{f.filed_by.name}于{t.day(f.at.astimezone(ctx.tz).date())}提交"
                    f"（{late + '，' if late else ''}#{f.id}「{f.title}」），{heard}。"
                )
            continue
        deadline = summary_owed(year, filed, joined, society.report_deadline)
        if deadline is None:
            continue
        days, due = (deadline - today).days, t.day(deadline)
        if days > 0:
            lines.append(f"{label}尚未提交，报送截止日期是{due}，还有{days}天。")
        elif days == 0:
            lines.append(f"{label}尚未提交，今天（{due}）是报送截止日期。")
        else:
            lines.append(f"{label}尚未提交，报送截止日期{due}已过{-days}天，请尽快报送。")
    if today.year not in filed:
        liaison = await repo.person(society.liaison_id) if society.liaison_id else None
        who = f"党建联系人{liaison.name}" if liaison is not None else "党建联系人"
        lines.append(
            f"由{who}或组长发送「年度总结 标题 内容」报送，标题写明年度，"
            f"例如「年度总结 {today.year}年度工作总结 …」。"
        )
    if not await repo.filings(kind="work_rules", society_id=society.id):
        lines.append(RULES_NOT_FILED)  # 「还有什么没交」: the other thing owed
    return [ctx.reply("\n".join(lines))]


RULES_NOT_FILED = "工作制度尚未备案（第二十一条）：发送「备案 标题 内容」。"


FILINGS_SHOWN = 10


async def filing_history(ctx: Context, args: str) -> list[OutgoingMessage]:
    """「报送记录」「我们的工作制度备案了吗」「我们交过哪些材料」: what the society filed with
    the committee (work rules, annual summaries, reports), the latest first: who, when, and
    whether the committee acknowledged it. Shows; writes nothing."""
    society = ctx.require_society()
    rows = await repo.filings(society_id=society.id)
    if not rows:
        return [
            ctx.reply(
                f"{society.name}还没有向市科技社团党委报送过材料。党建联系人或组长可发送"
                "「备案 标题 内容」「年度总结 标题 内容」「报告 标题 内容」报送。"
            )
        ]
    lines = [f"{society.name}向市科技社团党委报送的材料（共{len(rows)}件，最近的在前）："]
    shown = list(reversed(rows[-FILINGS_SHOWN:]))
    summaries = any(f.kind == "annual_summary" for f in shown)
    late = await summaries_late(society, ctx.tz) if summaries else {}
    for f in shown:
        heard = "已确认收到" if f.acknowledged else "尚未确认收到"
        # 「陈静于2027年1月5日逾期5天提交」: an annual summary filed after its deadline
        filed = late_text(late.get(f.id)) or "提交"
        lines.append(
            f"#{f.id} {KINDS.get(f.kind, f.kind)}「{f.title}」：{f.filed_by.name}于"
            f"{t.day(f.at.astimezone(ctx.tz).date())}{filed}，{heard}"
        )
    if not any(f.kind == "work_rules" for f in rows):
        lines.append(RULES_NOT_FILED)
    return [ctx.reply("\n".join(lines))]


# What a report's title says it is when it is another filing: (what, the command to send).
_OTHER_FILINGS = (
    (re.compile(r"年度(?:工作)?总结|年度(?:工作)?报告|年报"), ("年度工作总结", "年度总结")),
    (re.compile(r"工作规则|工作制度|议事规则|备案"), ("工作制度", "备案")),
)


# A report that would only be the minutes (「上报一下会议纪要」「报告 第3次会议纪要」).
_MINUTES_TITLE = re.compile(
    r"(?:本次|这次|上次|第[0-9一二三四五六七八九十]+次)?(?:会议)?(?:纪要|记录)"
)


def _filed_as_report(title: str) -> tuple[str, str] | None:
    """What a report titled so is instead (「2026年度工作总结」); None for a report about it
    (「关于修订工作规则的请示」)."""
    if title.startswith("关于") or "请示" in title:
        return None
    return next((said for words, said in _OTHER_FILINGS if words.search(title)), None)


async def _file(
    ctx: Context, args: str, kind: str, label: str, usage: str
) -> list[OutgoingMessage]:
    society = ctx.require_society()
    actor = ctx.require_person()
    if not args:
        raise UsageError(f"请写明标题和内容，例如：{usage}")
    # The title ends at the first space or punctuation (「2026年度工作总结，全年召开会议2次」).
    title, body = _title_and_body(args)
    if kind == "major_issue" and _MINUTES_TITLE.fullmatch(title) and not body:
        # 「上报一下会议纪要」: minutes are kept here once signed, not reported
        raise UsageError(
            "会议纪要签发后自动存档，市科技社团党委在工作台可以查看和下载，不用另行报送，没有提交。"
            f"要向市党委请示或报告重大问题的，请写明标题和内容，例如：{usage}"
        )
    if kind == "major_issue" and (other := _filed_as_report(title)) is not None:
        # 「上报 2026年度工作总结 …」: the committee counts a summary or rules filed as such
        raise UsageError(
            f"「{t.echo(title)}」是{other[0]}，按重大问题请示报告提交市党委会计错，没有提交。"
            f"请发送「{other[1]} {t.echo(args)}」。"
        )
    if _ADDRESSED_TITLE.fullmatch(title) or (  # a 请示 may well ask the committee something
        kind == "work_rules" and (_ASKING.search(args) or not _A_RULES_TITLE.search(title))
    ):
        # 「报告 张组长，市里来电话了」「备案 这个事情我来跟」「备案 工作规则…谁有电子版」: said to
        # someone here, or about it; nothing goes to the committee
        raise UsageError(
            f"「{t.echo(args)}」不像要报送市科技社团党委的材料，没有提交。报送时请写明标题和内容，"
            f"例如：{usage}"
        )
    if kind == "annual_summary" and not _A_SUMMARY_TITLE.search(title):
        # 「年度总结：初稿已经写好了，明天发大家」: said of the summary, not the summary itself
        raise UsageError(
            f"「{t.echo(title)}」不像年度工作总结的标题，没有报送。报送时标题请写明年度，例如：{usage}"
        )
    late = ""
    if kind == "annual_summary":
        # Which year's it is (the reminders and the committee's overview count it so).
        joined, _, years = await summary_years_of(society, ctx.tz, adding=(ctx.now, title))
        label = f"{years[-1]}{label}"
        today = ctx.now.astimezone(ctx.tz).date()
        days = summary_days_late(today, years[-1], joined, society.report_deadline)
        late = f"（{late_text(days)}）" if days else ""
    fid = await repo.add_filing(
        society.id, kind=kind, title=title[:200], body=body, filed_by=actor.id, now=ctx.now
    )
    await record(
        ctx,
        EventKind.FILING,
        {"filing": fid, "kind": kind, "title": title, "body": body, "by": person_payload(actor)},
    )
    out = [ctx.reply(f"已向市科技社团党委提交{label} #{fid}「{title}」{late}，收到确认后会通知。")]
    out += admin_notices(
        ctx,
        f"【{label}{late}】{society.name} #{fid}「{title}」{body}\n发送「确认收到 {fid}」确认。",
    )
    return out


# A title that is someone addressed (「报告 张组长，…」「请示 大家 …」).
_ADDRESSED_TITLE = re.compile(ADDRESSEE)
# A question asked, not a report made (「工作规则我找不到了，谁有电子版」).
_ASKING = re.compile(r"谁|吗|[?？]|怎么办|怎么弄|哪里")
# What work rules filed are called (「学会党建工作领导小组议事规则」「工作制度」).
_A_RULES_TITLE = re.compile(r"规则|制度|办法|细则|章程|规定|条例|规程")
# What an annual summary's title says (「2026年度工作总结」「年度工作报告」「学会2026年总结」).
_A_SUMMARY_TITLE = re.compile(r"总结|年度|年报|\d{4}\s*年|报告")


def _title_and_body(args: str) -> tuple[str, str]:
    found = _TITLE_END.search(args)
    if found is None:
        return args, ""
    return args[: found.start()], args[found.end() :].strip()


_TITLE_END = re.compile(r"[ \t,，;；。：:]+")


# Several numbers said at once (「确认收到 1、3」「驳回 2 4」「批准1和4」), then what follows.
_ONE_NUMBER = r"#?\d{1,6}\s*号?(?![\d人个票名位年月日天])"
_NUMBERS = re.compile(rf"^\s*{_ONE_NUMBER}(?:\s*(?:[,，、和及与]|\s)\s*{_ONE_NUMBER})+")
# The other decision said after the first (「批准 1，2号驳回」「同意1，3号不批准，人数超了」).
_OTHER_DECISION = re.compile(
    r"[,，;；。]\s*#?(?P<n>\d{1,6})\s*号?\s*(?P<word>驳回|不批准|不同意|批准|同意)(?P<rest>.*)$"
)


def _each_number(args: str) -> list[str] | None:
    """「1、3」 -> ['1', '3'] with what follows each (「驳回 2 4 人数超了」 -> ['2 人数超了', '4 人数
    超了']); None unless several numbers open the arguments."""
    found = _NUMBERS.match(args)
    if found is None:
        return None
    rest = args[found.end() :].strip(" ,，")
    return [f"{n} {rest}".strip() for n in re.findall(r"\d+", found.group())]


async def acknowledge(ctx: Context, args: str) -> list[OutgoingMessage]:
    """确认收到: one filing, or several by number (「确认收到 1、3」)."""
    if (each := _each_number(args)) is not None:
        return [m for one in each for m in await acknowledge(ctx, one)]
    actor = ctx.require_person()
    number, _ = parse_item_ref(args.replace("#", ""))
    if number is None:  # 「确认收到」「收到年度总结」: the one filing awaiting it that fits
        number = await _the_filing_to_acknowledge(args)
        if not args.strip() and "确认" not in ctx.message.text:  # 「收到了」: which, asked back
            f = await repo.filing(number)
            assert f is not None
            raise AskBack(
                f"是要确认收到 #{number} {f.society_name}「{f.title}」吗？", f"确认收到 {number}"
            )
    done = await acknowledge_filing(
        actor, number, now=ctx.now, here=ctx.society.id if ctx.society else None
    )
    return [ctx.reply(done.reply), *done.notices]


async def _the_filing_to_acknowledge(said: str) -> int:
    """No number: the one filing not yet acknowledged that fits what was said (its kind:
    「年度总结」「工作制度」「重大问题」; a society's name, or part of it); else refused with
    those waiting listed."""
    waiting = [f for f in await repo.filings() if not f.acknowledged]
    if not waiting:
        raise UsageError("目前没有待确认收到的报送。")
    kinds = {k for k, words in _FILING_WORDS.items() if any(w in said for w in words)}
    fits = [f for f in waiting if not kinds or f.kind in kinds]
    named = [f for f in fits if _names_society(said, f.society_name)]
    fits = named or fits
    if len(fits) == 1:
        return fits[0].id
    listed = "；".join(f"#{f.id} {f.society_name}「{f.title}」" for f in (fits or waiting)[:5])
    raise UsageError(f"请写明编号，例如：确认收到 {waiting[0].id}。待确认：{listed}")


# What a filing's kind is called when the committee acknowledges it without its number.
_FILING_WORDS = {
    "annual_summary": ("年度总结", "年度工作总结", "年报", "年度报告", "总结"),
    "work_rules": ("工作制度", "工作规则", "备案"),
    "major_issue": ("重大问题", "重大事项"),
}


def _names_society(said: str, name: str) -> bool:
    """Whether `said` names the society: its name, or a part of two characters or more that
    is not a common word of every name (「示例学会」 names 「苏州市示例科技学会」)."""
    core = name.removeprefix("苏州市").removesuffix("学会").removesuffix("科技")
    return bool(core) and (
        core in said or any(core[i : i + 2] in said for i in range(len(core) - 1))
    )


async def acknowledge_filing(
    actor: repo.Person, number: int, *, now: datetime, here: int | None = None
) -> Decided:
    """The committee acknowledges filing or report `number` (第九条, 第二十一条)."""
    f = await repo.filing(number)
    if f is not None:
        await repo.lock_society(f.society_id)
        f = await repo.filing(number)  # as it is under the lock
    if f is None:
        raise UsageError(f"没有编号为 {number} 的报送。")
    if f.acknowledged:
        return Decided(f"#{f.id} 已确认过。", [], f.society_id)
    await repo.acknowledge_filing(f.id, actor.id, now)
    await record_at(
        now,
        f.society_id,
        EventKind.FILING_ACKNOWLEDGED,
        {"filing": f.id, "by": person_payload(actor)},
    )
    return Decided(
        f"已确认收到 {f.society_name} 的「{f.title}」#{f.id}。",
        await _notices(f.society_id, f"市科技社团党委已确认收到「{f.title}」#{f.id}。", here),
        f.society_id,
    )


async def bind_group(ctx: Context, args: str) -> list[OutgoingMessage]:
    name = args.strip()
    if not name:
        raise UsageError("请写明学会名称，例如：绑定学会 苏州市示例学会")
    chat = ctx.message.chat
    society = await repo.society_by_name(name)
    created = society is None
    if society is None:
        society = await repo.create_society(name, ctx.now)
    await repo.bind_chat(chat.platform, chat.corp_id, chat.chat_id, society.id)
    await record(
        ctx,
        EventKind.CHAT_BOUND,
        {"platform": chat.platform.value, "chat": chat.chat_id},
        society_id=society.id,
    )
    note = "（新建学会档案，请组长提交成员名单后由市科技社团党委审批）" if created else ""
    return [ctx.reply(f"本群已绑定「{society.name}」{note}。")]


async def bind_webhook(ctx: Context, args: str) -> list[OutgoingMessage]:
    """Store this group's robot webhook (WeCom 消息推送 key, DingTalk custom robot URL) for
    proactive notices."""
    ctx.require_society()
    key = args.strip()
    if not key or " " in key or len(key) > 500:
        raise UsageError(
            "请写明群机器人的 Webhook 地址或 key，例如：绑定推送 693axxx6-7aoc-4bc4-97a0-0ec2sifa5aaa"
        )
    chat = ctx.message.chat
    await repo.set_chat_webhook(chat.platform, chat.corp_id, chat.chat_id, key)
    await record(
        ctx, EventKind.WEBHOOK_BOUND, {"platform": chat.platform.value, "chat": chat.chat_id}
    )
    return [ctx.reply("已保存本群的群机器人推送地址，会议通知和提醒将通过它发送。")]


# The frames of 批准 / 驳回: the change by its number (「同意1号申请」「2号申请驳回，人数超了」).
_CHANGE_REF = r"(?:第 ?)?#?(?P<object>[0-9]+) ?号?(?:申请|调整申请|成员调整申请|成员调整)"
# Another decision after the first, in a frame (「2号同意，3号驳回」): _decide reads it.
AND_THE_OTHER = r"[,，;；] ?#?[0-9]{1,6} ?号? ?(?:驳回|不批准|不同意|批准|同意).*"


# A filing's kind as the committee names it (「年度总结」「工作制度」「重大问题报告」).
_FILED = "年度工作总结|年度总结|年度报告|年报|工作制度|工作规则|备案材料|重大问题报告|报告"

CONFIRM_RECEIPT = Route(
    ("确认收到",),
    acknowledge,
    g.Need.COMMITTEE,
    "确认收到 3",
    "确认收到备案或报告",
    "市党委",
    needs_society=False,
    phrasings=("已收悉", "收悉"),
    # 「3号收到了」「确认1」; 「收到1」 is 收到 with a number (receipt_instead).
    frames=(
        r"#?(?P<object>\d+)号?(?:材料)?(?:已)?收到了?",
        r"确认 ?#?(?P<object>\d+)号?",
        # 「收到年度总结」「示例学会的工作制度收到了」: the one waiting of that kind (and society)
        rf"(?:确认)?收到(?:了)?(?P<object>[^,，。]{{0,20}}?(?:{_FILED}))",
        rf"(?P<object>[^,，。]{{0,20}}?(?:{_FILED}))(?:我们|我)?(?:已经?)?收到了?",
    ),
)


async def receipt_instead(ctx: Context, args: str) -> tuple[Route, str] | None:
    """「收到 1」「收到 #2」: with a number, the committee's receipt of filing 1 (a member's
    收到 of a notice takes none); Route.instead of 收到."""
    number, _ = parse_item_ref(args.replace("#", ""))
    return None if number is None else (CONFIRM_RECEIPT, args)


ROUTES = [
    Route(
        ("名单", "成员名单", "领导小组"),
        show_roster,
        g.Need.ANYONE,
        "名单",
        "查看领导小组成员、记录人、联系人和待批调整",
        "成员",
        phrasings=(
            "小组有几个人",
            "小组现在几个人",
            "小组现在有几个人",
            "领导小组现在几个人",
            "领导小组有几个人",
            "小组有多少人",
            "领导小组有多少人",
            "小组一共几个人",
            "领导小组一共几个人",
            "成员列表",
            "有哪些人",
            "小组成员",
            "记录人是谁",
            "谁是记录人",
            "联系人是谁",
            "谁是联系人",
            "党建联系人是谁",
            "学会的联系人是谁",
            "学会联系人是谁",
            "组长是谁",
            "谁是组长",
            "members",
            "roster",
            "谁负责报送",
            "谁是党建联系人",
            "谁是我们的党建联系人",
            "我们的党建联系人是谁",
            "记录人是哪位",
            "联系人是哪位",
            "组长是哪位",
            "任期到什么时候",
            "我们的任期到什么时候",
            "任期到哪年",
            "任期什么时候到期",
            "本届任期",
            "什么时候换届",
            "下次什么时候换届",
        ),
        shows=True,
    ),
    Route(
        ("登记姓名", "登记"),
        register_name,
        g.Need.ANYONE,
        "登记姓名 张伟",
        "登记自己在本群的姓名，也可说「我是张伟」（企业微信里组长凭此 @ 到您）",
        "成员",
        frames=(
            # 「我是张伟」「我叫张伟」「@议事 我是张伟同志」: a name, said whole
            rf"我(?:是|叫)(?P<object> ?(?!\S*(?:{_NOT_NAMES}))[^\s,，。:：@?？!！]{{2,12}}?) ?(?:同志)?",
        ),
        spaced=True,
    ),
    Route(
        ("提议增补", "增补成员"),
        propose_add,
        g.Need.ROSTER,
        "提议增补 @王五 党员 理事 理由",
        "申请增补成员（报市科技社团党委审批）",
        "组长",
        committee="批准",  # 「免去王强同意」「增补吴国华的申请先不批」 from the committee
        asked="名单",
        phrasings=(
            "增补",
            "新增成员",
            "添加成员",
            "加个成员",
            "增加一个成员",
            "增加成员",
            "加一个成员",
        ),
    ),
    Route(
        ("提议免去", "免去成员"),
        propose_remove,
        g.Need.ROSTER,
        "提议免去 @王五 理由",
        "申请免去成员（报审批）",
        "组长",
        committee="批准",  # 「免去王强同意」「增补吴国华的申请先不批」 from the committee
        asked="名单",
        phrasings=("免去", "移除成员", "删除成员"),
        frames=(
            # 「王强申请退出领导小组，提议调整」: the one leaving, the request as the reason
            r"(?P<object> ?(?:@[^,，。:： ]{1,20}|[^,，。:： @我你他她]{2,4}?) ?)(?:同志|老师)?"
            r"(?P<rest>(?:本人)?(?:申请|要求|提出|想)(?:退出|辞去|离开)(?:领导小组|小组)?(?:成员|组员)?(?:职务)?)"
            r"(?:[,，] ?(?:提议|申请|报)?(?:调整|免去|审批)?(?:一下|吧)?)?",
        ),
    ),
    Route(
        ("退出领导小组",),
        wish_to_leave,
        g.Need.MEMBER,
        "退出领导小组",
        "问怎样退出领导小组（由组长提议、市党委批准）",
        "成员",
        phrasings=(
            "我要退出领导小组",
            "我想退出领导小组",
            "我申请退出领导小组",
            "申请退出领导小组",
            "我要退出",
            "我想退出",
            "我申请退出",
            "辞去组员",
            "我要辞去组员",
            "怎么退出领导小组",
        ),
        shows=True,
    ),
    Route(
        ("提议组长", "调整组长"),
        propose_leader,
        g.Need.ROSTER,
        "提议组长 @王五 理事长 理由",
        "申请调整组长（报审批）",
        "组长",
        committee="批准",  # 「免去王强同意」「增补吴国华的申请先不批」 from the committee
        phrasings=("更换组长", "换组长", "组长换成", "组长改为", "组长改成", "组长调整为"),
    ),
    Route(
        ("设置联系人", "指定联系人"),
        set_liaison,
        g.Need.LEADER,
        "设置联系人 @王五",
        "指定党建联系人",
        "组长",
        phrasings=(
            "换个联系人",
            "换一个联系人",
            "联系人设为",
            "设联系人",
            "联系人换成",
            "联系人改为",
            "联系人改成",
            "更换联系人",
            "换一下联系人",
            "换联系人",
        ),
    ),
    Route(
        ("设置记录人", "指定记录人"),
        set_recorder,
        g.Need.LEADER,
        "设置记录人 @王五",
        "指定会议记录人",
        "组长",
        phrasings=(
            "换记录人",
            "换个记录人",
            "换一个记录人",
            "换一下记录人",
            "记录人设为",
            "设记录人",
            "记录人换成",
            "记录人改为",
            "记录人改成",
            "更换记录人",
        ),
        frames=(
            # 「请周婷做记录」「这次由周婷记录」「周婷负责记录」: a name, then who records
            # (「这次」「今天」 said: only this once, which is no designation; the handler says so)
            r"(?:(?P<rest>这次|本次|今天|临时)|以后)?(?:会议)?(?:就)?(?:请|由|让)"
            r"(?P<object> ?(?:@[^,，。:： ]{1,20}|[^,，。:： @]{2,4}?) ?)"
            r"(?:同志|老师)?(?:临时)?(?:来|负责|担任)?(?:做|作)?(?:会议)?(?:记录|记录人)(?:一下)?吧?",
            r"(?:(?P<rest>这次|本次|今天|临时)|以后)?"
            r"(?P<object> ?(?:@[^,，。:： ]{1,20}|[^,，。:： @谁我你]{2,4}?) ?)"
            r"(?:同志|老师)?(?:临时)?(?:来|负责|担任)(?:做|作)?(?:会议)?(?:记录|记录人)(?:吧)?",
        ),
    ),
    Route(
        ("报告", "请示报告"),
        file_report,
        g.Need.REPORTER,
        "报告 标题 内容",
        "向市科技社团党委报告重大问题",
        "联系人",
        asked="报送记录",
        phrasings=(
            "上报",
            "提交报告",
            "报告一下",
            "请示",
            "报告重大事项",
            "向市委报告",
            "向市党委报告",
            "向市科技社团党委报告",
            "向党委报告",
            "向上级报告",
            "报告市党委",
            "报告市委",
            "向市党委请示",
            "向市委请示",
        ),
        spaced=True,
    ),
    Route(
        ("备案",),
        file_rules,
        g.Need.REPORTER,
        "备案 标题 内容",
        "报送工作制度备案（第二十一条）",
        "联系人",
        asked="报送记录",
        phrasings=(
            "制度备案",
            "提交备案",
            "工作规则备案",
            "工作制度备案",
            "提交工作规则备案",
            "提交工作制度备案",
            "提交工作规则",
            "提交工作制度",
            "报送工作规则",
            "报送工作制度",
            "备案工作规则",
            "备案工作制度",
        ),
        spaced=True,
    ),
    Route(
        ("年度总结",),
        file_summary,
        g.Need.REPORTER,
        "年度总结 标题 内容",
        "报送年度工作总结（含党建部分）",
        "联系人",
        asked="报送期限",
        phrasings=(
            "提交年度报告",
            "报送年度报告",
            "上报年度报告",
            "交年度报告",
            "报年度报告",
            "提交年报",
            "报送年报",
            "上报年报",
            "交年报",
            "报年度总结",
            "提交年度总结",
            "上报年度总结",
            "报送年度总结",
            "报送总结",
            "年终总结",
            "交年度总结",
            "年度总结交一下",
            "年报交一下",
        ),
        spaced=True,
    ),
    Route(
        ("报送期限", "年度总结期限"),
        summary_status,
        g.Need.ANYONE,
        "报送期限",
        "查看本年度工作总结的报送截止日期和是否已提交",
        "联系人",
        phrasings=(
            "年度报告什么时候",
            "我们的年报交了",
            "我们的年度报告交了",
            "我们的年度总结交了",
            "年报什么时候",
            "年报啥时候",
            "年度总结啥时候",
            "啥时候交年报",
            "啥时候交年度总结",
            "年度报告几号",
            "年度报告截止",
            "年报截止",
            "年度报告的截止",
            "年度报告的期限",
            "年度报告交了",
            "年报交了",
            "年度报告报了",
            "年报报了",
            "年度报告提交了",
            "年报提交了",
            "什么时候交年度报告",
            "什么时候交年报",
            "年度总结什么时候",
            "年度总结几号",
            "年度总结截止",
            "年度总结的截止",
            "年度总结报了",
            "年度总结交了",
            "年度总结提交了",
            "年度总结报送了",
            "年度总结的期限",
            "学会年度总结什么时候",
            "学会的年度总结什么时候",
            "总结什么时候交",
            "总结什么时候截止",
            "什么时候交年度总结",
            "报送截止",
            "报送截止日期",
            "总结交了",
            "总结报了",
            "今年的总结交了",
            "今年的总结报了",
            "还有什么没交",
            "我们还有什么没交",
            "学会还有什么没交",
            "我们学会还有什么没交",
            "还有什么要交",
            "还有什么没报",
            "还要交什么",
            "有什么要交的",
            "工作制度要备案吗",
            "工作规则要备案吗",
            "工作制度需要备案吗",
            "工作规则需要备案吗",
            "要备案吗",
            "需要备案吗",
        ),
        shows=True,
    ),
    Route(
        ("待批", "待审批"),
        list_changes,
        g.Need.COMMITTEE,
        "待批",
        "列出待审批的成员调整",
        "市党委",
        needs_society=False,
        phrasings=(
            "有什么要我审批的",
            "有什么要审批的",
            "有没有要审批的",
            "有什么需要审批的",
            "有什么需要我审批的",
            "待办",
            "有什么要批",
            "审批列表",
            "待批事项",
            "待审批事项",
            "有哪些待审批",
            "有哪些待批",
            "看看待批",
            "有哪些申请",
            "有什么申请",
            "有没有申请",
            "有没有要批的",
            "申请列表",
            "待批的申请",
            "待审批的申请",
            "成员调整申请",
            "有哪些待办",
            "有什么待办",
            "待办事项",
        ),
        shows=True,
    ),
    Route(
        ("批准",),
        approve_change,
        g.Need.COMMITTEE,
        "批准 3 [特批]",
        "批准成员调整（特批：允许超员或双数）",
        "市党委",
        needs_society=False,
        phrasings=(
            "同意调整",
            "审批通过",
            "approve",
            "同意增补",
            "批准增补",
            "同意免去",
            "批准免去",
        ),
        frames=(
            rf"(?:同意|批准|通过)(?:一下)?{_CHANGE_REF}(?P<rest> ?特批)?",
            rf"{_CHANGE_REF}(?:同意|批准|通过|可以)了?(?P<rest>[,，]? ?特批)?",
            # 「1号批准」「2号批准，3号驳回」 (「1号同意」 is the committee's through 赞成)
            rf"#?(?P<object>[0-9]{{1,6}}) ?号 ?(?:批准|通过)了?(?:吧)?(?P<rest>[,，]? ?特批|{AND_THE_OTHER})?",
            r"(?P<object>都|全部|全都|一律|统统)(?:批准|通过)了?(?:吧)?",
            # 「这个申请我批了」「这个我批了」: the one waiting, asked back (_ask_this_one)
            r"(?P<object>这个|这一?项|这份|这条)(?:申请)?(?:我|我们)?(?:就|已经)?(?:批准|批|通过)了?(?:吧)?",
            # 「2号先不批」「第二个暂不审批」: that request held, not decided (_HELD_OFF)
            r"第?(?P<object>[0-9]{1,6}|[一二两三四五六七八九十]{1,3}) ?(?:个|号)(?:申请)?"
            r"(?P<rest>(?:先不|暂不|暂时不|先别)(?:批|批准|审批)(?:了|吧)?)",
        ),
    ),
    Route(
        ("驳回",),
        reject_change,
        g.Need.COMMITTEE,
        "驳回 3 理由",
        "驳回成员调整",
        "市党委",
        needs_society=False,
        phrasings=("不批准", "reject"),
        # 「驳回4」 from the leader, item 4 a member's proposal: 驳回议题 4
        instead=functools.partial(proposal_decided, word="驳回议题", reason=True),
        frames=(
            rf"(?:驳回|不同意|不批准)(?:一下)?{_CHANGE_REF}{FRAME_REASON}",
            rf"{_CHANGE_REF}(?:驳回|不同意|不批准|不予批准){FRAME_REASON}",
            rf"#?(?P<object>[0-9]{{1,6}}) ?号 ?(?:驳回|不批准|不予批准){FRAME_REASON}",
            # 「第二个不批，非党员不能进领导小组」「2号申请不能批」: that request, said plainly
            rf"第?(?P<object>[0-9]{{1,6}}|[一二两三四五六七八九十]{{1,3}}) ?(?:个|号)(?:申请)?"
            rf"(?:不批|不批准|不能批|不予批准|不同意|驳回)(?:了)?{FRAME_REASON}",
        ),
    ),
    Route(
        ("报送情况", "备案列表", "报告列表"),
        filings_summary,
        g.Need.COMMITTEE,
        "报送情况",
        "各学会报送情况汇总和最需关注的学会（详情见工作台）",
        "市党委",
        needs_society=False,
        phrasings=(
            "哪些学会还没开会",
            "有哪些学会还没开会",
            "今年各学会开会情况",
            "报送汇总",
            "各学会情况",
            "各学会报送情况",
            "哪些学会还没报",
            "还有哪些学会没报",
            "哪些学会还没交",
            "有哪些学会还没交",
            "哪些学会没交",
            "有哪些学会没交",
            "哪些学会还没备案",
            "哪些学会没备案",
            "哪些学会逾期",
            "有哪些学会逾期",
            "哪些学会半年没开会",
            "有哪些学会半年没开会",
            "哪些学会没开会",
            "有哪些学会没开会",
            "哪些学会超过半年没开会",
            "各学会开会情况",
            "各学会开了几次会",
            "今年各学会开了几次会",
            "学会情况汇总",
            "还有什么没处理的",
            "有什么要处理的",
            "待处理",
        ),
        frames=(
            # 「哪些学会今年还没开会」「有哪些学会这半年没开过会」
            r"(?:有)?哪些学会(?:今年|这半年|半年|最近|已经)?(?:还|都)?没(?:有)?开(?:过)?会(?:议)?[?？]*",
        ),
        shows=True,
    ),
    Route(
        ("报送记录",),
        filing_history,
        g.Need.ANYONE,
        "报送记录",
        "查看本学会报送市党委的备案、年度总结和报告，以及是否已确认收到",
        "联系人",
        phrasings=(
            "工作规则交了吗",
            "工作规则交了没有",
            "工作规则报了吗",
            "工作规则提交了吗",
            "提交记录",
            "备案记录",
            "备案情况",
            "备案了吗",
            "备案了没有",
            "工作制度备案了吗",
            "我们的工作制度备案了吗",
            "工作规则备案了吗",
            "交过哪些材料",
            "我们交过哪些材料",
            "报送了哪些",
            "报告批了吗",
            "报告收到了吗",
            "市党委收到了吗",
            "工作制度交了吗",
            "工作制度交了没有",
            "有没有备案",
            "我们有没有备案",
        ),
        # 「我们的年度总结市里收到了吗」「工作规则市党委确认了没有」: whether it was acknowledged.
        frames=(
            rf"(?:我们学会|我们|本学会|学会)?的?(?:{_FILED})(?:市里|市党委|党委|上面)?(?:已经)?"
            r"(?:收到|确认|确认收到|批)了?(?:吗|没有|没)[?？]*",
            # 「我们学会的工作制度备案了吗」: whether it was filed
            rf"(?:我们学会|我们|本学会|学会)的?(?:{_FILED})(?:已经)?(?:备案|交|报|提交|报送)(?:过)?了?"
            r"(?:吗|没有|没)[?？]*",
        ),
        shows=True,
    ),
    CONFIRM_RECEIPT,
    Route(
        ("绑定学会",),
        bind_group,
        g.Need.COMMITTEE,
        "绑定学会 学会名称",
        "把本群绑定到学会",
        "市党委",
        needs_society=False,
        phrasings=("绑定本群", "本群绑定", "绑定到学会", "这个群绑定学会", "本群绑定学会"),
    ),
    Route(
        ("绑定推送",),
        bind_webhook,
        g.Need.COMMITTEE,
        "绑定推送 Webhook地址或key",
        "保存本群群机器人的推送地址（用于主动通知）",
        "市党委",
        phrasings=("设置推送",),
    ),
]
