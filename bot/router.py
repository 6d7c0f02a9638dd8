"""Route table lookup (longest prefix), the permission gate and the one error boundary.

    IncomingMessage -> Router.dispatch
        -> the door (addressed to the bot? a command? a society bound if the command needs one?)
        -> bot/admission.py: unit of work (dedupe + society lock), society, person, roles
        -> the gate (may the speaker use this command?) -> handler(ctx, args) -> replies

Handlers raise UsageError or GovernanceError for a refusal; the router turns those into a polite
Chinese reply and rolls back the handler's writes (the message still counts as processed). Any
other exception rolls back the whole unit of work and gets a fixed apology.

Of what a handler returns, the inline replies (same chat, not private) go back to the caller;
everything else (private messages, notices to other chats) is written to the outbox inside the
same transaction as the change, and the sender delivers it (bot/outbox.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import Protocol
from zoneinfo import ZoneInfo

from bot import governance as g
from bot import logs
from bot import utterance as u
from bot.clock import Clock
from bot.config import Settings
from bot.events import ChatKind, ChatRef, IncomingMessage, OutgoingMessage, UserRef
from storage import repo
from storage.faults import is_transient

logger = logging.getLogger(__name__)


class CommandOutcome(StrEnum):
    """How an admitted command ended (told to `on_command`; counted at /metrics)."""

    OK = "ok"  # the handler ran and its writes were kept
    REFUSED = "refused"  # the speaker may not use it (the permission gate)
    REJECTED = "rejected"  # a usage or governance error: polite reply, writes rolled back
    NO_SOCIETY = "no_society"  # needs a society the chat is not bound to
    ERROR = "error"  # an unexpected exception: apology, the unit of work rolled back


class UsageError(Exception):
    """A command the bot understood but cannot carry out as written: the message is the reply."""


class Notified(UsageError):
    """A refusal that others must hear of too (the committee admins, told that the record
    failed its check): `notices` go out with the reply, while the handler's writes are rolled
    back as for any refusal."""

    def __init__(self, reply: str, notices: Sequence[OutgoingMessage]) -> None:
        super().__init__(reply)
        self.notices = tuple(notices)


class AskBack(UsageError):
    """A command that wants a yes first (nothing written): the reply is the question, and a 「是」
    from the same person in the same chat runs `command` (storage/questions.py), with every rule
    checked again then."""

    def __init__(self, question: str, command: str) -> None:
        super().__init__(f"{question}回复「是」或「{command}」确认。")
        self.command = command


class AskFor(UsageError):
    """A command that lacks what it cannot do without (a leave's 理由): the message is the reply
    that asks for it, and the sender's next message in the same chat (within the time a question
    waits) that runs no command is taken as it: `command` runs with that message's text where
    ASKED_FOR stands (「我请个假」, then 「出差」: 请假 出差), every rule checked then. Kept like
    a question asked back (storage/questions.py); a 「是」 runs `command` without it (asked
    again), 「算了」 drops it."""

    def __init__(self, question: str, command: str) -> None:
        super().__init__(question)
        self.command = command if ASKED_FOR in command else f"{command} {ASKED_FOR}"


# Where the answer to an AskFor goes in the command it completes.
ASKED_FOR = "{所问}"


@dataclass
class Context:
    message: IncomingMessage
    settings: Settings
    clock: Clock
    now: datetime
    society: repo.Society | None
    person: repo.Person | None
    roles: frozenset[g.Role]
    policy: g.Policy
    work: repo.Work
    # The society's active meeting as read for the permission check (None: none, or not read).
    active_meeting: repo.Meeting | None = None
    # When the question this message says yes to was asked (None: not a yes to one): what
    # changed since was not seen by the one confirming (a sign-off asked before a new version).
    asked_at: datetime | None = None

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    def reply(self, text: str, mentions: Sequence[UserRef] = ()) -> OutgoingMessage:
        return OutgoingMessage(
            chat=self.message.chat,
            text=text,
            mentions=tuple(mentions),
            in_reply_to=self.message.message_id,
            reply_handle=self.message.reply_handle,
        )

    def private(self, to: UserRef, text: str) -> OutgoingMessage:
        chat = ChatRef(to.platform, to.corp_id, to.user_id, ChatKind.PRIVATE)
        return OutgoingMessage(chat=chat, text=text, private_to=to)

    def require_society(self) -> repo.Society:
        if self.society is None:
            raise UsageError("这个会话还没有绑定学会，请在学会的工作群里使用。")
        return self.society

    def require_person(self) -> repo.Person:
        if self.person is None:
            # A platform that names people only in the text tells only an account: a newcomer
            # is named by registering (「我是张伟」)
            register = (
                "新成员请先在学会工作群里 @我 发送「我是 姓名」登记，再由组长提议增补；"
                if self.message.names_in_text
                else ""
            )
            raise UsageError(
                f"系统里还没有您的身份信息。{register}有疑问请联系组长或市科技社团党委。"
            )
        return self.person


Handler = Callable[[Context, str], Awaitable[list[OutgoingMessage]]]
# What admission runs inside the unit of work, once it has built the Context.
Serve = Callable[[Context], Awaitable[list[OutgoingMessage]]]


@dataclass(frozen=True, slots=True)
class Route:
    words: tuple[str, ...]
    handler: Handler
    needs: g.Need
    usage: str
    summary: str
    group: str  # the help section: 成员 / 组长 / 记录人 / 联系人 / 市党委
    needs_society: bool = True
    # In a private chat whose society admission could not tell (a member of several), the
    # handler finds it (a secret ballot: the open secret votes the speaker may cast).
    finds_private_society: bool = False
    # Other ways people say it, understood as the command (bot/utterance.py).
    phrasings: tuple[str, ...] = ()
    # Ways that only suggest it (「👍」): answered with a one-tap question, never run.
    confirm: tuple[str, ...] = ()
    # It records a ballot: only its words and phrasings typed plainly run it; a loosely typed
    # form (「我同意」) is asked back.
    exact: bool = False
    # What the one-tap question asks (「是否投赞成票？」); the summary when empty.
    ask: str = ""
    # What it cannot do without (a leave's 理由): asked back without it, the question asks for
    # it by example instead of a 「是」 that could only be refused.
    wants: str = ""
    # Words that may end a message, what comes before them being the arguments (「那天出差，请个
    # 假」): such a message is only asked back, with those arguments (「回复「请假 那天出差」确认」),
    # since the words might be about someone else (「王强来不了」).
    last: tuple[str, ...] = ()
    # Its arguments are why (a leave's, a departure's reason): a question asked back shows them
    # without what hangs at their end (utterance.trimmed: 「我家里有点急事得先走了」 is asked as
    # 「离席 我家里有点急事」); the handler keeps what utterance.reason_said reads in them.
    says_why: bool = False
    # Views on items said after its reason (「…请假，对预算没意见，同意」) are kept with it as
    # written opinions: a question asked back says so (utterance.views_in), as its handler does.
    with_views: bool = False
    # Words that may end a message and belong to what it says (「那天我家里有事」): asked back
    # like `last`, the whole message (an apology in front aside) being the arguments.
    last_kept: tuple[str, ...] = ()
    # Ways that run it only as the whole message (then only punctuation, emoji or particles):
    # 「我参加」 acknowledges a notice, 「我参加不了」 is not a longer form of it.
    alone: tuple[str, ...] = ()
    # Verbs said after their object, the object being the arguments: with 「表决」, 「对议题2进行
    # 表决」「就第一项表决吧」「议题2表决」 run it with 「议题2」「第一项」 (对/就 first, or an item
    # named as such; 进行/开始 allowed before the verb, particles after it).
    after: tuple[str, ...] = ()
    # The routes (their first words) whose effect this one has too: said after one of them
    # (「收到，另外我那天可能晚到半小时」), this one runs with what it was said with (晚到
    # acknowledges the notice as 收到 does), and neither part is lost.
    includes: tuple[str, ...] = ()
    # Said whole, then a question in a sentence of its own (「收到。另外年度总结什么时候截止来
    # 着？」), it is done, and its handler says the question was not answered (asked back, the
    # receipt was lost and a yes answered nothing of the question).
    done_before_a_question: bool = False
    # Whole sentences the command is said in, as regular expressions over the matching form
    # (bot/utterance.matching_form), whose groups `object` and `rest` (when they took part) are
    # the arguments: 「同意李娜的提议」 runs 同意议题 with 「李娜」. Particles may follow.
    frames: tuple[str, ...] = ()
    # Its frames read a whole sentence said as a condition (「这个会延期一周的话我就能来」): so
    # said, it is not split into the condition and what would then be done (「我就能来」 is no
    # receipt); the route says what the condition means (推迟会议: a suggestion, never done).
    conditions: bool = False
    # Verbs said after a time (and a place): 「下周四下午三点在三楼会议室开个会，议题：…」 runs it
    # with the words around the verb, 「下周四下午三点在三楼会议室 议题：…」.
    timed: tuple[str, ...] = ()
    # It only shows something (status, minutes, counts, help) or explains: a question after its
    # words is answered. Any other route is asked back when its words are followed by a question
    # (「签发了吗」「不开了吗？」「年度总结什么时候交」), never run.
    shows: bool = False
    # Its arguments follow its words after a space or a colon (「年度总结 2026年度工作总结」): run
    # on into a sentence (「年度总结这个议题大家有什么意见」「报告一下，杨帆今天请假了」) it is asked
    # back, never run: it sends something to the committee or adds to the agenda.
    spaced: bool = False
    # The meeting phases (the active meeting's state; None: no meeting in progress) in which
    # help and the nearest-command suggestions offer it; None: always.
    when: frozenset[g.MeetingState | None] | None = None
    # Phases of `when` in which it is asked back and suggested but not listed in 帮助 (请假 in
    # the meeting: 「我今天来不了」 is recorded absent with why; the present need not read it).
    unlisted: frozenset[g.MeetingState | None] = frozenset()
    # Where the same words mean another command in the situation (「同意议题1」 while item 1 is
    # being voted on is a ballot, not accepting a proposal): asked before the permission gate,
    # the other route (or its first word) and its arguments, or None.
    instead: Callable[[Context, str], Awaitable[tuple[Route | str, str] | None]] | None = None
    # The route (its first word) a ballot said loosely on an item (「议题3同意」) is asked back as
    # when no vote is open and the speaker may use it: deciding a member's proposal.
    unvoted: str = ""
    # The phases in which a bare acknowledgement (「好的」「👍」「OK」) from someone who may use
    # it runs it: a notice answered 「👍」 is acknowledged (收到), not answered 「好的。」.
    acknowledged: frozenset[g.MeetingState | None] = frozenset()
    # The route (its first word) that answers a question said with this one's words: 「会议取消
    # 了吗？」 is 会议状态, 「赞成票要几票才能通过」 is 表决规则. Asked back instead, a reflexive
    # 「是」 would cancel the meeting or cast the vote.
    asked: str = ""
    # Said first in a message it is done, whatever the rest would ask for: 「我到了，另外第二项
    # 我需要回避」 checks in (the rest is said back, not done); had the rest been asked back
    # instead, the member would not be counted present and could not vote.
    kept_first: bool = False
    # The route (its first word) the city committee means by these words in private, said with
    # something after them: 「同意1号」「1号同意」 is 批准 1, 「免去王强同意」 is the decision on
    # that request, not a proposal (the committee votes in no society and proposes nothing).
    committee: str = ""
    # The leader's part in one meeting (its agenda, its notice, the chair's delegation, signing
    # its minutes): the leader when that meeting was convened keeps it after a leader change
    # (governance Rule 7), so the gate admits them; the handler refuses one appointed since.
    of_the_meeting: bool = False
    # Read in the speaker's situation before a question is asked back for it (in the unit of
    # work, writing nothing): a refusal (UsageError) is said at once instead of a question
    # whose yes could only be refused (「杨帆请假 家里有事」 from 陈静); what it returns is added
    # to the question (the leader's leave that also hands on the chair).
    before_asking: Callable[[Context, str], Awaitable[str]] | None = None
    # Outside its `when` phases its handler writes nothing and says why not now (签发 before the
    # meeting has ended): said loosely then (「我看了没问题，签发」), it is run for that answer,
    # not answered with the nearest commands (utterance.settle).
    says_why_not_now: bool = False
    # What one who may not use it can do instead, said after the refusal (a member's 「我看了没
    # 问题，签发」: the minutes are the leader's to sign; the member reads them and says what to
    # change). Typed in full or only meant, the refusal is the same.
    others: str = ""


def strip_command_prefix(text: str) -> str:
    text = text.strip()
    while text.startswith(("/", "!", "#")):
        text = text[1:].lstrip()
    return text


class AdmissionPort(Protocol):
    """What the router asks of storage: bot/admission.Admission, built in the composition root."""

    async def chat_is_bound(self, chat: ChatRef) -> bool: ...

    async def situation(
        self, message: IncomingMessage
    ) -> tuple[frozenset[g.Role], g.MeetingState | None]:
        """The speaker's roles and the meeting's phase, read without writing anything."""
        ...

    async def votes_open(self, message: IncomingMessage) -> bool:
        """Whether a vote the speaker might mean by a ballot is open, read likewise."""
        ...

    async def proposal_waiting(self, message: IncomingMessage, number: int) -> bool:
        """Whether item `number` of the speaker's meeting under way is a member's proposal not
        yet put on the agenda or turned down, read likewise."""
        ...

    async def on_leave(self, message: IncomingMessage) -> bool:
        """Whether the speaker is on leave from their society's meeting under way, read
        likewise."""
        ...

    async def admit(
        self, message: IncomingMessage, serve: Serve, *, inline: bool
    ) -> list[OutgoingMessage]: ...

    async def ask(self, message: IncomingMessage, command: str) -> None:
        """Keep `command` as what a yes from the sender in this chat runs (storage/questions)."""
        ...

    async def asked(self, message: IncomingMessage) -> str | None:
        """The command a yes in this message confirms, if a question waits for one."""
        ...

    async def asked_at(self, message: IncomingMessage) -> datetime | None:
        """When the question this message's yes answers was asked."""
        ...

    async def answered(self, message: IncomingMessage) -> None:
        """In the unit of work: the question is answered by this message."""
        ...

    async def moved_on(self, message: IncomingMessage, *, declined: bool = False) -> bool:
        """The sender said something else (or no, `declined`): the question waits no more.
        Whether one was waiting, as far as this process knows (always told when declined)."""
        ...

    async def meeting_roles(self, ctx: Context) -> frozenset[g.Role]:
        """In the unit of work: `ctx.roles` with the leader's, when the speaker was the leader
        when the society's meeting under way or awaiting signature was convened."""
        ...


class Router:
    def __init__(
        self,
        routes: Sequence[Route],
        *,
        admission: AdmissionPort,
        render_refusal: Callable[[g.GovernanceError], str],
        render_need: Callable[[g.Need], str],
        on_command: Callable[[Route, CommandOutcome], None] | None = None,
        why_not: Callable[[Context, Route], Awaitable[str | None]] | None = None,
    ) -> None:
        """`on_command` is told of each command once, with how it ended, when its message is
        admitted (a redelivery that the de-duplication table catches is not admitted again)."""
        self.routes = tuple(routes)
        self.admission = admission
        # Why the speaker may not use a route, when their situation says more than the gate
        # (a member whose delegated chair ended); None: the gate's words.
        self._why_not = why_not
        self._render_refusal = render_refusal
        self._render_need = render_need
        self._on_command = on_command
        self.lexicon = u.Lexicon(self.routes)
        self._acknowledged = {p: r for r in self.routes for p in r.acknowledged}

    def resolve(self, message: IncomingMessage) -> u.Resolution:
        """What the message asks for (bot/utterance.py): a command with its arguments as
        typed, a question back, or nothing understood."""
        mentioned = [m.name for m in message.mentions if m.name]
        mentioned += [m.user_id for m in message.mentions]
        return self.lexicon.resolve(message.text, mentioned)

    def match(self, text: str) -> tuple[Route, str] | None:
        """The command a text runs, if any. Longest prefix wins: "投票结果" is not "投票" +
        "结果"."""
        found = self.lexicon.resolve(text)
        return (found.route, found.args) if isinstance(found, u.Command) else None

    async def dispatch(
        self, message: IncomingMessage, *, inline: bool = True
    ) -> list[OutgoingMessage]:
        """Handle one message; never raises (but with `inline=False`, a transient database fault,
        which the inbound queue retries). Returns the replies to send inline; with
        `inline=False` (the message came through the inbound queue and its callback was answered
        long ago) the replies go to the outbox in the effect's transaction as well, and only a
        reply that is not part of any transaction (not understood, an error) is returned."""
        with logs.work(logs.message_id(message.platform.value, message.message_id)):
            return await self._dispatch(message, inline=inline)

    async def _dispatch(self, message: IncomingMessage, *, inline: bool) -> list[OutgoingMessage]:
        try:
            found = await self._door(message)
            if isinstance(found, list):
                return found
            route, args, confirming = found
            serve = partial(self._serve, route, args, confirming=confirming)
            return await self.admission.admit(message, serve, inline=inline)
        except Exception as exc:
            if not inline and (is_transient(exc) or isinstance(exc, repo.RoundBroken)):
                # Queued: the message stays pending and is applied on a later try (bot/inbox.py);
                # telling the member it failed would be wrong. A unit of work broken inside a
                # shared round is applied again on its own, where a bug gets its apology.
                raise
            logger.exception("unexpected error handling message %s", message.message_id)
            return [plain_reply(message, "抱歉，系统出了点问题，这条消息没有生效，请稍后再试。")]

    async def answer_at_the_door(self, message: IncomingMessage) -> list[OutgoingMessage] | None:
        """For the inbound queue: what can be answered without queuing anything, or None when
        the message must be queued. Nothing is written but a question asked back."""
        found = await self._door(message)
        return found if isinstance(found, list) else None

    async def _door(
        self, message: IncomingMessage
    ) -> list[OutgoingMessage] | tuple[Route, str, bool]:
        """What is answered before any unit of work, writing no governance record (not even the
        de-duplication row; only the question asked back is kept, storage/questions.py): a
        group message not addressed to the bot (no reply), text that is not a command, a command
        that needs a society from a group no society is bound to. Otherwise the route, its
        arguments and whether the message is the yes to a question asked back."""
        chat = message.chat
        if chat.kind is ChatKind.GROUP and not message.mentions_bot:
            return []
        found = self.resolve(message)
        said = message.text if isinstance(found, u.Command) else found.said  # a quote set aside
        confirming = False
        may_answer = (
            isinstance(found, (u.Unknown, u.Clarify))
            and not u.is_question(said)
            and not u.is_no(said)
            and not u.is_acknowledgement(said)
        )
        asked = await self.admission.asked(message) if u.is_yes(said) or may_answer else None
        if u.is_yes(said) and asked:  # (asked for something: the command without it asks again)
            found, confirming = self.lexicon.resolve(_without_answer(asked)), True
        elif u.is_no(said) and await self.admission.moved_on(message, declined=True):
            return [plain_reply(message, "好的，没有办理。")]
        elif asked and may_answer and self._answers(found, asked):  # 「出差」 after 「我请个假」
            completed = self.lexicon.resolve(asked.replace(ASKED_FOR, said.strip()))
            if u.plain_reason(said) or not isinstance(completed, u.Command):
                found, confirming = completed, True
            else:  # 「我再想想」「谢谢组长」: asked back with it as the reason, not taken
                found = u.Clarify(completed.route, said, completed.args)
        else:
            await self.admission.moved_on(message)
        match found:
            case u.Clarify(route=ballot) if (
                ballot.exact and u.says_a_change(said) and (change := self.lexicon.route("改票"))
            ):
                # 「改成反对」: whether it can be changed is said at once (a secret ballot cannot)
                return change, ballot.words[0], False
            case u.Clarify() | u.Unknown():
                roles, phase = await self.admission.situation(message)
                answer = u.settle(self.lexicon, found, roles, phase)
                if isinstance(answer, u.Command):  # 「我看了没问题，签发」 in the meeting: why not
                    return answer.route, answer.args, False
                if (
                    isinstance(answer, u.Suggest)
                    and any(r.exact for r in answer.near)
                    and not await self.admission.votes_open(message)
                ):  # no vote to take a ballot: none is offered (「看情况哈」 had offered 赞成)
                    answer = replace(answer, near=tuple(r for r in answer.near if not r.exact))
                unvoted = self._unvoted(found, roles, phase)
                if unvoted is not None and not await self.admission.votes_open(message):
                    # 「议题3同意」 before any vote, from the leader: asked as the decision on
                    # proposal 3 when item 3 is one; else the ballot's handler says what item 3
                    # is (a study item, not yet put to the vote, decided, deferred)
                    number = int(unvoted.args)
                    if isinstance(found, u.Clarify) and not await self.admission.proposal_waiting(
                        message, number
                    ):
                        return found.route, unvoted.args, False
                    answer = unvoted
                elif (  # 「我赞成」 in a meeting with no vote open: no question to send 「赞成」 to
                    isinstance(answer, u.Clarify)
                    and answer.route.exact
                    and not await self.admission.votes_open(message)
                ):
                    answer = u.Suggest(answer.said, (), ballot=True)
                leave = self.lexicon.route("请假")
                if (
                    isinstance(answer, u.Suggest)
                    and u.for_another(said)
                    and leave is not None
                    and u.offered(leave, roles, phase)
                ):
                    # 「帮杨帆请个假」: its handler says whose leave it is, and that only they can
                    # ask (nothing recorded), rather than offering 「请假」 to the speaker
                    return leave, said, False
                if isinstance(answer, u.Clarify) and not answer.route.exact:
                    if answer.route.before_asking is not None and not _lacking(answer):
                        return _asking_back(answer, phase, self._not_yours), answer.args, False
                    # Asked without what it cannot do without (「周四我去不了了」: 是否请假？请写明
                    # 理由…): a 「是」 runs it bare, and its handler asks for that, the next message
                    # being it (it had answered that no question was waiting)
                    await self.admission.ask(message, confirmed_by(answer))
                elif (
                    u.is_acknowledgement(said)
                    and (ack := self._acknowledged.get(phase)) is not None
                    and g.may(roles, ack.needs)
                ):
                    return ack, "", False  # 「👍」 to a notice: 收到
                if (
                    isinstance(answer, u.Suggest)
                    and answer.ballot
                    and (yes := self.lexicon.route("赞成")) is not None
                    and await self.admission.on_leave(message)
                ):  # 「议题2我同意」 from one on leave: the ballot's handler says why not, and
                    # how to give a written opinion instead (nothing is recorded)
                    return yes, "", False
                return [plain_reply(message, answer_text(answer, phase, self._not_yours))]
            case u.Command(route=route, args=args):
                pass
        needs_a_bound_group = chat.kind is ChatKind.GROUP and route.needs_society
        if needs_a_bound_group and not await self.admission.chat_is_bound(chat):
            return [plain_reply(message, _no_society_text(message))]
        return route, args, confirming

    def _unvoted(
        self, answer: u.Clarify | u.Unknown, roles: frozenset[g.Role], phase: g.MeetingState | None
    ) -> u.Clarify | None:
        """「议题3同意」 (with no vote open, the caller checks), from one who decides proposals:
        asked back as the decision on proposal 3 (Route.unvoted); None when it is no such
        thing."""
        if not isinstance(answer, u.Clarify) or not answer.route.unvoted:
            return None
        other = self.lexicon.route(answer.route.unvoted)
        if other is None or not answer.args.isdigit() or not u.offered(other, roles, phase):
            return None
        return u.Clarify(other, answer.said, answer.args, note="现在没有进行中的表决。")

    def _answers(self, found: u.Resolution, asked: str) -> bool:
        """Whether what was said (no command, or only a question back for the command that
        asked) answers what `asked` asks for (AskFor)."""
        if ASKED_FOR not in asked:
            return False
        completed = self.lexicon.resolve(_without_answer(asked))
        if not isinstance(completed, u.Command):
            return False
        return isinstance(found, u.Unknown) or (
            isinstance(found, u.Clarify) and found.route is completed.route
        )

    async def _serve(
        self, route: Route, args: str, ctx: Context, *, confirming: bool = False
    ) -> list[OutgoingMessage]:
        """Inside the unit of work: the permission gate, then the handler (in a savepoint, but in
        a shared round); a refusal becomes the reply and leaves none of the handler's writes.
        A yes to a question asked back answers it first, whatever the command's outcome."""
        if confirming:
            ctx.asked_at = await self.admission.asked_at(ctx.message)
            await self.admission.answered(ctx.message)
        try:
            outcome, replies = await self._outcome(route, args, ctx)
        except repo.RoundBroken:
            raise  # applied again on its own, where its outcome is told
        except Exception:
            self._told(route, CommandOutcome.ERROR)
            raise
        self._told(route, outcome)
        return replies

    def _told(self, route: Route, outcome: CommandOutcome) -> None:
        if self._on_command is not None:
            self._on_command(route, outcome)

    async def _outcome(
        self, route: Route, args: str, ctx: Context
    ) -> tuple[CommandOutcome, list[OutgoingMessage]]:
        if (
            route.committee
            and (args or not route.exact)  # a bare ballot word may be a member's secret ballot
            and ctx.society is None
            and g.Role.COMMITTEE in ctx.roles
        ):
            route = self.lexicon.route(route.committee) or route
        elif route.instead is not None:
            other = await route.instead(ctx, args)
            if other is not None:
                said, args = other
                route = self.lexicon.route(said) or route if isinstance(said, str) else said
        handler_finds = route.finds_private_society and ctx.message.chat.kind is ChatKind.PRIVATE
        if route.needs_society and ctx.society is None and not handler_finds:
            return CommandOutcome.NO_SOCIETY, [ctx.reply(_no_society_text(ctx.message))]
        if not g.may(ctx.roles, route.needs) and route.of_the_meeting:
            ctx = replace(ctx, roles=await self.admission.meeting_roles(ctx))
        if not g.may(ctx.roles, route.needs):
            why = await self._why_not(ctx, route) if self._why_not is not None else None
            text = why or self._not_yours(route)
            return CommandOutcome.REFUSED, [ctx.reply(text)]
        # The handler runs in a savepoint, so that a refusal undoes only its writes. In a shared
        # round (bot/inbox.py) it runs without one (on PostgreSQL a savepoint is a round trip):
        # refusals come before any write, and one that comes after a write breaks the round,
        # whose messages are then applied one by one, each command in its savepoint.
        shared = repo.in_shared_round()
        before = repo.writes_so_far() if shared else 0
        try:
            async with nullcontext() if shared else repo.atomic():
                return CommandOutcome.OK, await route.handler(ctx, args)
        except (UsageError, g.GovernanceError, g.GovernanceInputError) as exc:
            if shared and repo.writes_so_far() != before:
                raise repo.RoundBroken(f"「{route.words[0]}」 refused after writing") from exc
            if isinstance(exc, (AskBack, AskFor)):
                await self.admission.ask(ctx.message, exc.command)
            notices = exc.notices if isinstance(exc, Notified) else ()
            return CommandOutcome.REJECTED, [ctx.reply(self._refusal_text(exc)), *notices]

    def _not_yours(self, route: Route) -> str:
        refused = f"抱歉，「{route.words[0]}」只有{self._render_need(route.needs)}可以使用。"
        return refused + route.others

    def _refusal_text(self, exc: Exception) -> str:
        if isinstance(exc, g.GovernanceError):
            return self._render_refusal(exc)
        if isinstance(exc, g.GovernanceInputError):
            # Impossible counts or records reached the rules: nothing was written.
            logger.exception("governance refused impossible input")
            return IMPOSSIBLE_INPUT
        return str(exc)


NOT_UNDERSTOOD = "没有听懂这条指令。发送「帮助」查看可用的指令。"
NOTHING_TO_CONFIRM = (
    f"没有待确认的事项（反问后 {u.QUESTION_HOLDS.seconds // 60} 分钟内回复「是」才有效），"
    "没有办理任何事。请直接发送要办理的指令{during}。"
)
NO_VOTE_OPEN = "目前没有正在进行的表决，这句话不记票。会议开始、组长发起表决后，请发送「赞成」「反对」或「弃权」。"
NO_VOTE_YET = (
    "目前没有正在进行的表决，这句话不记票。主持人发起表决后，请发送「赞成」「反对」或「弃权」。"
)
IMPOSSIBLE_INPUT = (
    "这条指令涉及的人数或票数不合规则（例如超过应到会人数），没有记录，请核对后重新发送。"
)


def _without_answer(asked: str) -> str:
    """The command asked for, without the answer it waits for (AskFor)."""
    return asked.replace(ASKED_FOR, "").strip()


def _lacking(answer: u.Clarify) -> bool:
    """A question back without what its command cannot do without (Route.wants)."""
    return bool(answer.route.wants) and not answer.args


class _AskedBack(AskBack):
    """A question asked back as worded (its route read the situation first)."""

    def __init__(self, question: str, command: str) -> None:
        UsageError.__init__(self, question)
        self.command = command


def _asking_back(
    answer: u.Clarify, phase: g.MeetingState | None, not_yours: Callable[[Route], str]
) -> Route:
    """The route that asks `answer` back once its `before_asking` has read the speaker's
    situation: refused at once, or asked with what it adds (a yes runs the command asked)."""
    route, command = answer.route, confirmed_by(answer)
    check = route.before_asking
    assert check is not None

    async def ask(ctx: Context, args: str) -> list[OutgoingMessage]:
        more = await check(ctx, args)
        raise _AskedBack(answer_text(answer, phase, not_yours, more=more), command)

    return replace(route, handler=ask, instead=None)


def confirmed_by(answer: u.Clarify) -> str:
    """The command a one-tap question asks to confirm, as it would be typed."""
    route = answer.route
    return f"{route.words[0]} {answer.args}" if answer.args else route.words[0]


def answer_text(
    answer: u.Clarify | u.Suggest,
    phase: g.MeetingState | None = None,
    not_yours: Callable[[Route], str] | None = None,
    *,
    more: str = "",
) -> str:
    """A one-tap question for a phrase that only suggests a command (a yes answers it, but for a
    ballot, whose one word is asked for); for anything else, the nearest commands, if any. A
    yes with no question waiting (ten minutes gone, or a ballot's question) says so: nothing
    is done on a 「是」 alone. `not_yours` words the refusal when what was meant is another's
    command (Suggest.theirs), as that command typed in full is refused."""
    if isinstance(answer, u.Clarify) and answer.choices:  # 「附议」「我不反对」: which ballot?
        listed = "".join(f"「{c}」" for c in answer.choices[:-1]) + f"或「{answer.choices[-1]}」"
        if answer.whose:
            asked = f"您是同意{answer.whose}吗？"
        else:
            asked = f"您是投{'还是'.join(c if c == '弃权' else f'{c}票' for c in answer.choices)}？"
        return f"{asked}这句话没有记票，请直接回复{listed}。"
    if isinstance(answer, u.Clarify):
        route, command = answer.route, confirmed_by(answer)
        also = ""
        if route.with_views and (views := u.views_in(answer.args)[1]):
            # 「…请假，对预算没意见，同意；秘书长人选也同意」: a yes keeps these too
            also = (
                f"，并把「{'；'.join(views)}」作为对相应议题的书面意见提交"
                "（会上宣读并写入纪要，不计入票数）"
            )
        asked = f"{answer.note}是否{route.ask or route.summary}{more}{also}？"
        if _lacking(answer):  # 「今天去不了了」: no reason given
            return f"{asked}请写明{route.wants}发送，例如「{route.usage}」。"
        said = f"「{command}」" if route.exact else f"「是」或「{command}」"
        return f"{asked}回复{said}确认。"
    said, near = answer.said, answer.near
    if u.is_acknowledgement(said) or u.is_no(said):  # 「好的」 with no vote open: nothing to do
        return "好的。"
    if u.is_yes(said):
        during = "；表决中请直接发送「赞成」「反对」或「弃权」，回复「是」不记票"
        return NOTHING_TO_CONFIRM.format(during=during if phase is g.MeetingState.OPEN else "")
    if answer.ballot:  # 「我同意」 before the meeting, or in it with no vote open
        return NO_VOTE_YET if phase is g.MeetingState.OPEN else NO_VOTE_OPEN
    if answer.theirs is not None and not_yours is not None:  # a member's 「人齐了，开始吧」
        return not_yours(answer.theirs)
    if not near:
        return NOT_UNDERSTOOD
    shown = said if len(said) <= 12 else said[:12] + "…"
    lines = [f"没有听懂「{shown}」。您是不是想发："]
    lines += [f"  {r.usage} —— {r.summary}" for r in near]
    lines.append("发送「帮助」查看现在可用的全部指令。")
    return "\n".join(lines)


def is_inline(out: OutgoingMessage, message: IncomingMessage) -> bool:
    """A reply goes back with the message that caused it; anything else (another chat, a
    private message, a card update, which is a card without text) goes through the outbox."""
    return out.chat == message.chat and out.private_to is None and not out.is_card_update


def plain_reply(message: IncomingMessage, text: str) -> OutgoingMessage:
    """A reply to a message when there is no Context (before admission, or outside it)."""
    return OutgoingMessage(
        chat=message.chat,
        text=text,
        in_reply_to=message.message_id,
        reply_handle=message.reply_handle,
    )


def _no_society_text(message: IncomingMessage) -> str:
    if message.chat.kind is ChatKind.GROUP:
        return "这个群还没有绑定学会，暂不能处理议事指令。请市科技社团党委管理员在群里发送「绑定学会 学会名称」。"
    return "私聊时无法确定您所在的学会，请在学会的工作群里发送这条指令。"
