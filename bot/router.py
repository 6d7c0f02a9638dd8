"""Route table lookup (longest prefix), the permission gate and the one error boundary.

IncomingMessage -> Router.dispatch -> (unit of work: dedupe + society lock) -> handler(ctx, args)
-> list[OutgoingMessage]. Handlers raise UsageError or GovernanceError for a refusal; the
router turns those into a polite Chinese reply and rolls back the handler's writes.

Of what a handler returns, the inline replies (same chat, not private) go back to the caller;
everything else (private messages, notices to other chats) is written to the outbox inside the
same transaction as the change, and the sender delivers it (bot/outbox.py).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot import governance as g
from bot.clock import Clock
from bot.config import Settings
from bot.events import ChatKind, ChatRef, IncomingMessage, OutgoingMessage, UserRef
from bot.outbox import to_outbox
from storage import outbox, repo

logger = logging.getLogger(__name__)


class UsageError(Exception):
    """A command the bot understood but cannot carry out as written: the message is the reply."""


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
            raise UsageError("系统里还没有您的身份信息，请联系组长或市科技社团党委。")
        return self.person


Handler = Callable[[Context, str], Awaitable[list[OutgoingMessage]]]


@dataclass(frozen=True, slots=True)
class Route:
    words: tuple[str, ...]
    handler: Handler
    needs: g.Need
    usage: str
    summary: str
    group: str  # the help section: 成员 / 组长 / 记录人 / 联系人 / 市党委
    needs_society: bool = True


def strip_command_prefix(text: str) -> str:
    text = text.strip()
    while text.startswith(("/", "!", "#")):
        text = text[1:].lstrip()
    return text


class Router:
    def __init__(
        self,
        routes: Sequence[Route],
        *,
        settings: Settings,
        clock: Clock,
        render_refusal: Callable[[g.GovernanceError], str],
        render_need: Callable[[g.Need], str],
    ) -> None:
        self.routes = tuple(routes)
        self.settings = settings
        self.clock = clock
        self._render_refusal = render_refusal
        self._render_need = render_need
        self._by_word: dict[str, Route] = {}
        for route in self.routes:
            for word in route.words:
                if word in self._by_word:
                    raise ValueError(f"command word {word!r} is used twice")
                self._by_word[word] = route
        self._max_len = max((len(w) for w in self._by_word), default=0)
        self._bound_chats: set[tuple[str, str, str]] = set()

    def match(self, text: str) -> tuple[Route, str] | None:
        """Longest prefix wins: "投票结果" is not "投票" + "结果"."""
        body = strip_command_prefix(text)
        for length in range(min(len(body), self._max_len), 0, -1):
            route = self._by_word.get(body[:length])
            if route is not None:
                return route, body[length:].strip()
        return None

    async def dispatch(
        self, message: IncomingMessage, *, inline: bool = True
    ) -> list[OutgoingMessage]:
        """Handle one message; never raises. Returns the replies to send inline; with
        `inline=False` (the message came through the inbound queue and its callback was answered
        long ago) the replies go to the outbox in the effect's transaction as well, and only a
        reply that is not part of any transaction (not understood, an error) is returned."""
        try:
            return await self._dispatch(message, inline)
        except Exception:
            logger.exception("unexpected error handling message %s", message.message_id)
            return [_plain_reply(message, "抱歉，系统出了点问题，这条消息没有生效，请稍后再试。")]

    async def answer_at_the_door(self, message: IncomingMessage) -> list[OutgoingMessage] | None:
        """For the inbound queue: what can be answered without queuing anything (not addressed
        to the bot, not a command, a command that needs a society from a group no society is
        bound to), or None when the message must be queued. Nothing is written."""
        if message.chat.kind is ChatKind.GROUP and not message.mentions_bot:
            return []
        found = self.match(message.text)
        if found is None:
            return [_plain_reply(message, NOT_UNDERSTOOD)]
        chat = message.chat
        if chat.kind is ChatKind.GROUP and found[0].needs_society:
            # A group once bound stays bound (a binding can move to another society, never go
            # away), so a positive answer is remembered; a negative one is asked again.
            key = (chat.platform.value, chat.corp_id, chat.chat_id)
            if key not in self._bound_chats:
                bound = await repo.society_of_chat(chat.platform, chat.corp_id, chat.chat_id)
                if bound is None:
                    return [_plain_reply(message, _no_society_text(message))]
                if len(self._bound_chats) < 100_000:
                    self._bound_chats.add(key)
        return None

    async def _dispatch(self, message: IncomingMessage, inline: bool) -> list[OutgoingMessage]:
        if message.chat.kind is ChatKind.GROUP and not message.mentions_bot:
            return []
        found = self.match(message.text)
        if found is None:
            return [_plain_reply(message, NOT_UNDERSTOOD)]
        route, args = found
        now = self.clock.now()
        chat = message.chat
        bound: repo.Society | None = None
        if chat.kind is ChatKind.GROUP:
            # A message from a group no society is bound to changes nothing, not even the
            # de-duplication table: commands that need a society are answered right here.
            bound = await repo.society_of_chat(chat.platform, chat.corp_id, chat.chat_id)
            if bound is None and route.needs_society:
                return [_plain_reply(message, _no_society_text(message))]
        try:
            async with repo.unit_of_work(
                message.platform, message.chat.corp_id, message.message_id, now
            ) as work:
                replies = await self._run(route, args, message, work, now, bound)
                inline_replies = [r for r in replies if is_inline(r, message)]
                await repo.store_reply(work, "\n\n".join(r.text for r in inline_replies))
                others = [r for r in replies if not inline or not is_inline(r, message)]
                if others:
                    key = message.message_id or f"local-{uuid.uuid4().hex}"
                    await outbox.enqueue(
                        to_outbox(
                            others,
                            key_prefix=f"msg:{message.platform.value}:{message.chat.corp_id}:{key}",
                            society_id=work.society_id,
                        ),
                        now,
                    )
                return inline_replies if inline else []
        except repo.DuplicateMessage as dup:
            if not inline:
                return []  # its replies were queued with its effect
            text = dup.reply or "这条消息已经处理过了。"
            return [_plain_reply(message, f"（重复消息，已处理过）{text}")]

    async def _run(
        self,
        route: Route,
        args: str,
        message: IncomingMessage,
        work: repo.Work,
        now: datetime,
        bound: repo.Society | None,
    ) -> list[OutgoingMessage]:
        person = await repo.person_by_identity(message.sender)
        if message.chat.kind is ChatKind.GROUP:
            society = bound
        else:
            society = await self._private_society(person)
        if society is not None:
            await repo.lock_society(society.id)
            work.society_id = society.id
        roles, meeting = await self._roles(message.sender, person, society)
        policy = self.settings.policy_for(society.name) if society else self.settings.policy
        ctx = Context(
            message, self.settings, self.clock, now, society, person, roles, policy, work, meeting
        )
        if route.needs_society and society is None:
            return [ctx.reply(_no_society_text(message))]
        if not g.may(roles, route.needs):
            return [
                ctx.reply(
                    f"抱歉，「{route.words[0]}」只有{self._render_need(route.needs)}可以使用。"
                )
            ]
        try:
            async with repo.atomic():
                return await route.handler(ctx, args)
        except UsageError as exc:
            return [ctx.reply(str(exc))]
        except g.GovernanceError as exc:
            return [ctx.reply(self._render_refusal(exc))]

    async def _private_society(self, person: repo.Person | None) -> repo.Society | None:
        ids = await repo.societies_of(person.id) if person else []
        sid = ids[0] if len(ids) == 1 else None
        return None if sid is None else await repo.society(sid)

    async def _roles(
        self, sender: UserRef, person: repo.Person | None, society: repo.Society | None
    ) -> tuple[frozenset[g.Role], repo.Meeting | None]:
        """The sender's roles, and the society's active meeting read on the way."""
        roles: set[g.Role] = set()
        for admin in self.settings.committee_admins:
            if (admin.platform, admin.corp_id, admin.user_id) == sender.key:
                roles.add(g.Role.COMMITTEE)
        if person is None or society is None:
            return frozenset(roles), None
        mem = await repo.member(society.id, person.id)
        if mem is not None and mem.on_roster:
            roles.add(g.Role.MEMBER)
            if mem.is_leader:
                roles.add(g.Role.LEADER)
        if society.recorder_id == person.id:
            roles.add(g.Role.RECORDER)
        if society.liaison_id == person.id:
            roles.add(g.Role.LIAISON)
        meeting = await repo.active_meeting(society.id)
        if meeting is not None:
            if meeting.chair_id == person.id:
                roles.add(g.Role.CHAIR)
            if person.id in await repo.observers(meeting.id):
                roles.add(g.Role.OBSERVER)
        return frozenset(roles), meeting


NOT_UNDERSTOOD = "没有听懂这条指令。发送「帮助」查看可用的指令。"


def is_inline(out: OutgoingMessage, message: IncomingMessage) -> bool:
    """A reply goes back with the message that caused it; anything else (another chat, a
    private message, a card update, which is a card without text) goes through the outbox."""
    is_card_update = out.card is not None and not out.text
    return out.chat == message.chat and out.private_to is None and not is_card_update


def _plain_reply(message: IncomingMessage, text: str) -> OutgoingMessage:
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
