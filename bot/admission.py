"""Admission: the unit of work a command runs in, and who is speaking for which society.

    router (lookup, the door) -> Admission.admit:
        unit of work (de-duplication row + society lock)
        -> society (the group's binding, or a private chat's only society), person, roles
        -> Context -> router (gate, handler, error boundary) -> replies
        -> inline replies back to the caller; everything else to the outbox, in the same
           transaction as the change (bot/outbox.py delivers it)

A redelivered message (its id is in the de-duplication table) is not run again: the caller gets
the reply stored with it, or nothing when the replies went out through the outbox.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Collection, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from bot import governance as g
from bot.clock import Clock
from bot.config import CommitteeAdmin, Settings
from bot.events import ChatKind, ChatRef, IncomingMessage, OutgoingMessage, Platform, UserRef
from bot.outbox import card_update_of, in_parts, to_outbox
from bot.router import Context, Serve, is_inline, plain_reply
from storage import questions, repo

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Bound groups remembered by one process (a group once bound stays bound: a binding can move
# to another society, never go away); past this many, the door asks storage every time.
_REMEMBERED_CHATS = 100_000
# Questions asked back remembered by one process, to forget them on the next message.
_REMEMBERED_QUESTIONS = 100_000


class Admission:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        *,
        card_platforms: Collection[Platform] | None = None,
    ) -> None:
        """`card_platforms`: where a card update shows (the adapter edits the card in place,
        `ChatAdapter.edits_cards`); a card update for any other platform is not queued. None:
        everywhere."""
        self.settings = settings
        self.clock = clock
        self.card_platforms = None if card_platforms is None else frozenset(card_platforms)
        self._bound_chats: set[tuple[str, str, str]] = set()
        # Groups asked about right now, with the answer to come.
        self._asking: dict[tuple[str, str, str], asyncio.Future[bool]] = {}
        # (chat, person) this process asked a question back (storage/questions.py).
        self._questioned: set[tuple[str, str]] = set()

    async def chat_is_bound(self, chat: ChatRef) -> bool:
        """Whether a society is bound to the group; a yes is remembered, a no asked again.
        Messages of one group that arrive together (every member voting at once, just after a
        start) wait for the one read already asking; when it fails, each asks again."""
        key = (chat.platform.value, chat.corp_id, chat.chat_id)
        if key in self._bound_chats:
            return True
        asked = self._asking.get(key)
        if asked is not None:
            await asyncio.wait([asked])
            if not asked.cancelled() and asked.exception() is None:
                return asked.result()
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._asking[key] = answer
        try:
            bound = await repo.society_of_chat(chat.platform, chat.corp_id, chat.chat_id)
        except BaseException:
            answer.cancel()
            raise
        finally:
            if self._asking.get(key) is answer:
                del self._asking[key]
        answer.set_result(bound is not None)
        if bound is not None and len(self._bound_chats) < _REMEMBERED_CHATS:
            self._bound_chats.add(key)
        return bound is not None

    async def situation(
        self, message: IncomingMessage
    ) -> tuple[frozenset[g.Role], g.MeetingState | None]:
        """The speaker's roles and the meeting's phase (the active meeting's state, a closed
        meeting awaiting signature, else None), read without a unit of work."""
        person, society = await speaker_and_society(message)
        roles, meeting = await roles_of(
            self.settings.committee_admins, message.sender, person, society
        )
        if meeting is None and society is not None:
            latest = await repo.latest_meeting(society.id)
            if latest is not None and latest.state is g.MeetingState.CLOSED:
                meeting = latest
        return roles, None if meeting is None else meeting.state

    async def votes_open(self, message: IncomingMessage) -> bool:
        """Whether a vote the speaker might mean is open: in a group, one of its society's
        meeting; in private, one in any of the speaker's societies (read without a unit of
        work, only for a ballot said loosely)."""
        person, society = await speaker_and_society(message)
        if message.chat.kind is not ChatKind.GROUP:
            return person is not None and bool(await repo.open_votes_of(person.id))
        meeting = None if society is None else await repo.active_meeting(society.id)
        return meeting is not None and bool(await repo.open_votes(meeting.id))

    async def proposal_waiting(self, message: IncomingMessage, number: int) -> bool:
        """Whether item `number` of the meeting under way of the speaker's society is a member's
        proposal waiting for the leader (read without a unit of work, only for 「议题3同意」)."""
        _, society = await speaker_and_society(message)
        meeting = None if society is None else await repo.active_meeting(society.id)
        if meeting is None:
            return False
        items = await repo.items(meeting.id)
        return any(it.number == number and it.state is g.ItemState.PROPOSED for it in items)

    async def on_leave(self, message: IncomingMessage) -> bool:
        """Whether the speaker is on leave from their society's meeting under way (read without
        a unit of work, only for a ballot said with no vote open)."""
        person, society = await speaker_and_society(message)
        meeting = None if society is None else await repo.active_meeting(society.id)
        if person is None or meeting is None:
            return False
        entry = (await repo.attendance(meeting.id)).get(person.id)
        return entry is not None and entry.status is g.Attendance.LEAVE

    async def admit(
        self, message: IncomingMessage, serve: Serve, *, inline: bool
    ) -> list[OutgoingMessage]:
        """Run `serve` on the message's Context inside its unit of work and return the inline
        replies (a redelivery gets the stored ones back). With `inline=False` (the inbound
        queue: the callback was answered long ago) those go to the outbox as well and nothing
        is returned."""
        now = self.clock.now()
        try:
            async with repo.unit_of_work(
                message.platform, message.chat.corp_id, message.message_id, now
            ) as work:
                replies = await serve(await self.context(message, work, now))
                return await _settle(message, self._shown(replies), work, now, inline=inline)
        except repo.DuplicateMessage as dup:
            if not inline:
                return []  # its replies were queued with its effect
            text = dup.reply or "这条消息已经处理过了。"
            return [plain_reply(message, f"（重复消息，已处理过）{text}")]

    # A question asked back is a convenience: a database that cannot keep or read one now
    # (locked, away) costs only the short answer (the command typed in full still works), never
    # the message's own reply.

    async def ask(self, message: IncomingMessage, command: str) -> None:
        kept = await _tolerated(questions.ask(message, command, self.clock.now()), False)
        if kept and len(self._questioned) < _REMEMBERED_QUESTIONS:
            self._questioned.add(questions.keys(message))

    async def asked(self, message: IncomingMessage) -> str | None:
        return await _tolerated(questions.asked(message, self.clock.now()), None)

    async def asked_at(self, message: IncomingMessage) -> datetime | None:
        return await _tolerated(questions.asked_at(message), None)

    async def answered(self, message: IncomingMessage) -> None:
        await questions.answer(message)  # part of the effect: its unit of work's fate

    async def meeting_roles(self, ctx: Context) -> frozenset[g.Role]:
        """`ctx.roles` and the leader's when the speaker led the group when its meeting under way
        (or closed and awaiting signature) was convened (governance Rule 7: a leader appointed
        since takes over from the next meeting). Read only when the gate would refuse."""
        if ctx.society is None or ctx.person is None:
            return ctx.roles
        meeting = ctx.active_meeting or await repo.latest_meeting(ctx.society.id)
        if meeting is None or meeting.state not in (*repo.ACTIVE_STATES, g.MeetingState.CLOSED):
            return ctx.roles
        if meeting.leader_id != ctx.person.id or ctx.person.id not in meeting.roster:
            return ctx.roles
        return ctx.roles | {g.Role.LEADER}

    async def moved_on(self, message: IncomingMessage, *, declined: bool = False) -> bool:
        """Only a question this process asked is forgotten on the next message (no read for
        every message); one asked elsewhere waits out its time, and a yes to it after something
        else was said still runs it with every rule checked again."""
        key = questions.keys(message)
        if not declined and key not in self._questioned:
            return False
        self._questioned.discard(key)
        return bool(await _tolerated(questions.forget(message), False))

    def _shown(self, replies: list[OutgoingMessage]) -> list[OutgoingMessage]:
        """The replies without the card updates no adapter would show."""
        shows = self.card_platforms
        if shows is None:
            return replies
        return [r for r in replies if not r.is_card_update or r.chat.platform in shows]

    async def context(self, message: IncomingMessage, work: repo.Work, now: datetime) -> Context:
        """Load the speaker and the society, lock the society for the rest of the unit of work,
        and read the speaker's roles. In a bound group that is one read (two on PostgreSQL:
        the lock, then what it guards)."""
        chat = message.chat
        society: repo.Society | None = None
        found: repo.Speaker | None = None
        if chat.kind is ChatKind.GROUP:
            found = await repo.group_speaker(
                message.sender, chat.platform, chat.corp_id, chat.chat_id
            )
            person = found.person if found else await repo.person_by_identity(message.sender)
        else:
            person, society = await speaker_and_society(message)
        person = await _as_shown(person, message.sender)
        roles = _roles(self.settings.committee_admins, message.sender, None)
        ctx = Context(
            message, self.settings, self.clock, now, None, person, roles, self.settings.policy, work
        )
        if found is not None:
            return _entered(ctx, found)
        return ctx if society is None else await enter_society(ctx, society)


async def _as_shown(person: repo.Person | None, sender: UserRef) -> repo.Person | None:
    """The speaker, named as the platform shows them (DingTalk's senderNick) when all that was
    known of them was their account id (a member added by an @-mention no name could be paired
    with: 「召集人：1001」), kept for the next time. A name the leader proposed and the committee
    approved is not replaced by a display name (a nickname); WeCom gives none (the name
    registered with 「我是…」 stands)."""
    if person is None or person.name != sender.user_id or sender.name in ("", sender.user_id):
        return person
    await repo.rename(person.id, sender.name)
    return replace(person, name=sender.name)


async def _tolerated(work: Awaitable[T], failed: T) -> T:
    """`work`'s result, or `failed` (logged) when the database could not do it."""
    try:
        return await work
    except Exception:
        logger.warning("question asked back: the database could not keep up", exc_info=True)
        return failed


async def enter_society(ctx: Context, society: repo.Society) -> Context:
    """The Context of the same message inside `society`: the society locked for the rest of the
    unit of work, the speaker's roles there, its policy. Admission enters the group's (or a
    private chat's only) society; a handler that finds the society of a private message itself
    (`Route.finds_private_society`) enters it the same way."""
    await repo.lock_society(society.id)
    return _entered(ctx, await _speaker_in(society, ctx.person))


def _entered(ctx: Context, speaker: repo.Speaker) -> Context:
    """`ctx` inside the speaker's society (locked by the caller), whichever way it was read."""
    society = speaker.society
    ctx.work.society_id = society.id
    roles = _roles(ctx.settings.committee_admins, ctx.message.sender, speaker)
    policy = ctx.settings.policy_for(society.name)
    return replace(ctx, society=society, roles=roles, policy=policy, active_meeting=speaker.meeting)


async def _speaker_in(society: repo.Society, person: repo.Person | None) -> repo.Speaker:
    """What `repo.group_speaker` reads in one go, read piece by piece for a known society."""
    if person is None:
        return repo.Speaker(society, None, None, await repo.active_meeting(society.id), False)
    member = await repo.member(society.id, person.id)
    meeting, observer = await repo.active_meeting_seen_by(society.id, person.id)
    return repo.Speaker(society, person, member, meeting, observer)


async def speaker_and_society(
    message: IncomingMessage,
) -> tuple[repo.Person | None, repo.Society | None]:
    """Who is speaking, and for which society: the group's binding, or a private chat's only
    society."""
    person = await repo.person_by_identity(message.sender)
    chat = message.chat
    if chat.kind is ChatKind.GROUP:
        return person, await repo.society_of_chat(chat.platform, chat.corp_id, chat.chat_id)
    return person, await private_society(person)


async def private_society(person: repo.Person | None) -> repo.Society | None:
    """A private chat belongs to the speaker's society when there is exactly one."""
    ids = await repo.societies_of(person.id) if person else []
    sid = ids[0] if len(ids) == 1 else None
    return None if sid is None else await repo.society(sid)


async def roles_of(
    committee_admins: Sequence[CommitteeAdmin],
    sender: UserRef,
    person: repo.Person | None,
    society: repo.Society | None,
) -> tuple[frozenset[g.Role], repo.Meeting | None]:
    """The sender's roles (from storage and the configured committee admins, never from a
    platform's admin flag), and the society's active meeting read on the way."""
    if society is None:
        return _roles(committee_admins, sender, None), None
    speaker = await _speaker_in(society, person)
    return _roles(committee_admins, sender, speaker), speaker.meeting


def _roles(
    committee_admins: Sequence[CommitteeAdmin], sender: UserRef, speaker: repo.Speaker | None
) -> frozenset[g.Role]:
    """The roles the configuration gives, and those the roster, the society's offices and its
    active meeting give the speaker."""
    roles: set[g.Role] = set()
    for admin in committee_admins:
        if (admin.platform, admin.corp_id, admin.user_id) == sender.key:
            roles.add(g.Role.COMMITTEE)
    if speaker is None or speaker.person is None:
        return frozenset(roles)
    person, society, mem, meeting = speaker.person, speaker.society, speaker.member, speaker.meeting
    if mem is not None and mem.on_roster:
        roles.add(g.Role.MEMBER)
        if mem.is_leader:
            roles.add(g.Role.LEADER)
    if society.recorder_id == person.id:
        roles.add(g.Role.RECORDER)
    if society.liaison_id == person.id:
        roles.add(g.Role.LIAISON)
    if meeting is not None:
        if person.id in meeting.roster:
            # 应到会 of this meeting: its roster was decided at convening (governance Rule 7),
            # so a member removed since keeps a member's part in it.
            roles.add(g.Role.MEMBER)
        if meeting.chair_id == person.id:
            roles.add(g.Role.CHAIR)
        if speaker.observer:
            roles.add(g.Role.OBSERVER)
    return frozenset(roles)


async def _settle(
    message: IncomingMessage,
    replies: list[OutgoingMessage],
    work: repo.Work,
    now: datetime,
    *,
    inline: bool,
) -> list[OutgoingMessage]:
    """Store the inline replies for a redelivery and write the rest to the outbox. From the
    queue (`inline=False`) there is nothing to store: a redelivery gets nothing back."""
    inline_replies = [r for r in replies if is_inline(r, message)]
    if inline:
        await repo.store_reply(work, "\n\n".join(r.text for r in inline_replies))
    # split here as to_outbox would, so that each row has its card update beside it
    others = in_parts([r for r in replies if not inline or not is_inline(r, message)])
    if others:
        key = message.message_id or f"local-{uuid.uuid4().hex}"
        await repo.enqueue_latest(
            to_outbox(
                others,
                key_prefix=f"msg:{message.platform.value}:{message.chat.corp_id}:{key}",
                society_id=work.society_id,
            ),
            [card_update_of(r) for r in others],
            now,
        )
    return inline_replies if inline else []
