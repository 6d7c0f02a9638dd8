"""Admission on both databases: the speaker's roles, the society of a private chat, the Context
a command runs with, and the door's question whether a group is bound."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from bot import governance as g
from bot.adapters.console import CORP, GROUP, console_user
from bot.admission import Admission, private_society, roles_of
from bot.clock import ManualClock
from bot.config import CommitteeAdmin, Settings, parse_admin
from bot.demo import COMMITTEE_ADMIN, LIAISON, PRESIDENT, RECORDER, SOCIETY, ensure_demo
from bot.events import ChatKind, ChatRef, IncomingMessage, OutgoingMessage, Platform
from bot.router import Context
from storage import repo
from storage.sql import statements
from tests.kit.clock import TZ

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
ADMINS = (parse_admin("test", f"console:{CORP}:{COMMITTEE_ADMIN}:{COMMITTEE_ADMIN}"),)
R = g.Role


async def _demo() -> repo.Society:
    await ensure_demo(NOW)
    society = await repo.society_by_name(SOCIETY)
    assert society is not None
    return society


async def _person(name: str) -> repo.Person:
    return await repo.ensure_person(console_user(name), name=name)


async def _roles(
    name: str, society: repo.Society | None, admins: tuple[CommitteeAdmin, ...] = ADMINS
) -> frozenset[g.Role]:
    person = await repo.person_by_identity(console_user(name))
    roles, _ = await roles_of(admins, console_user(name), person, society)
    return roles


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("李娜", {R.MEMBER}),
        ("张伟", {R.MEMBER, R.LEADER}),
        (RECORDER, {R.RECORDER}),  # staff, not on the roster
        (LIAISON, {R.MEMBER, R.LIAISON}),
        (PRESIDENT, set()),  # not on the roster; an observer only once invited to a meeting
        (COMMITTEE_ADMIN, {R.COMMITTEE}),  # from the configuration, not from the roster
        ("路人甲", set()),  # nobody the bot knows
    ],
)
async def test_roles_without_a_meeting(database: str, name: str, expected: set[g.Role]) -> None:
    society = await _demo()
    assert await _roles(name, society) == frozenset(expected)


async def test_a_committee_admin_is_known_by_identity_alone(database: str) -> None:
    # No person row, no society: the configured identity still makes the committee role.
    assert await _roles(COMMITTEE_ADMIN, None) == {R.COMMITTEE}
    assert await _roles(COMMITTEE_ADMIN, None, admins=()) == frozenset()
    assert await _roles("张伟", None) == frozenset()


async def _convened(society: repo.Society, leader: repo.Person) -> repo.Meeting:
    return await repo.create_meeting(
        society.id,
        starts_at=NOW + timedelta(days=4),
        place="会议室",
        convened_by=leader.id,
        state=g.MeetingState.CONVENED,
        now=NOW,
    )


async def test_chair_and_observer_come_from_the_active_meeting(database: str) -> None:
    society = await _demo()
    leader = await _person("张伟")
    meeting = await _convened(society, leader)
    president = await _person(PRESIDENT)
    await repo.add_observer(meeting.id, president.id, "非党员理事长列席")
    person = await repo.person_by_identity(console_user("张伟"))
    roles, active = await roles_of(ADMINS, console_user("张伟"), person, society)
    assert roles == {R.MEMBER, R.LEADER, R.CHAIR}
    assert active is not None
    assert active.id == meeting.id
    assert await _roles(PRESIDENT, society) == {R.OBSERVER}

    # The chair delegated to a member: the leader is no longer the chair.
    lina = await _person("李娜")
    await repo.update_meeting(meeting.id, chair_id=lina.id)
    assert await _roles("李娜", society) == {R.MEMBER, R.CHAIR}
    assert await _roles("张伟", society) == {R.MEMBER, R.LEADER}


async def test_a_private_chat_belongs_to_the_only_society(database: str) -> None:
    society = await _demo()
    assert await private_society(None) is None
    stranger = await _person("路人甲")
    assert await private_society(stranger) is None  # no society
    lina = await _person("李娜")
    found = await private_society(lina)
    assert found is not None
    assert found.id == society.id  # one society
    other = await repo.create_society("苏州市另一学会", NOW)
    await repo.put_member(other.id, lina.id, roster_role="member")
    assert await private_society(lina) is None  # two: the bot cannot tell which


async def test_context_of_a_private_message_locks_and_names_the_society(database: str) -> None:
    society = await _demo()
    clock = ManualClock(NOW)
    admission = Admission(Settings(committee_admins=ADMINS), clock)
    message = _message("张伟", private=True)
    async with repo.unit_of_work(message.platform, CORP, message.message_id, NOW) as work:
        ctx = await admission.context(message, work, NOW)
    assert ctx.society is not None
    assert ctx.society.id == society.id
    assert work.society_id == society.id
    assert ctx.person is not None
    assert ctx.person.name == "张伟"
    assert ctx.roles == {R.MEMBER, R.LEADER}
    assert ctx.active_meeting is None


@pytest.mark.parametrize(
    "name", ["张伟", "李娜", RECORDER, LIAISON, PRESIDENT, COMMITTEE_ADMIN, "路人甲"]
)
async def test_context_of_a_group_message_is_what_the_separate_reads_give(
    database: str, name: str
) -> None:
    """A bound group's Context comes from one read (two on PostgreSQL); it holds what the
    society, person, roster and meeting reads one by one give."""
    society = await _demo()
    leader = await _person("张伟")
    meeting = await _convened(society, leader)
    await repo.update_meeting(meeting.id, roster=[leader.id])
    await repo.add_observer(meeting.id, (await _person(PRESIDENT)).id, "非党员理事长列席")
    admission = Admission(Settings(committee_admins=ADMINS), ManualClock(NOW))
    message = _message(name)
    async with repo.unit_of_work(message.platform, CORP, message.message_id, NOW) as work:
        ctx = await admission.context(message, work, NOW)
    person = await repo.person_by_identity(console_user(name))
    bound = await repo.society_of_chat(Platform.CONSOLE, CORP, GROUP)
    roles, _ = await roles_of(ADMINS, console_user(name), person, bound)
    assert bound == society
    assert work.society_id == society.id
    assert (ctx.society, ctx.person, ctx.roles) == (society, person, roles)
    # The society's active meeting, also for a speaker the bot does not know.
    assert ctx.active_meeting == await repo.active_meeting(society.id)
    assert ctx.active_meeting == await repo.meeting(meeting.id)


async def test_a_group_is_bound_once_it_is_remembered(database: str) -> None:
    society = await _demo()
    admission = Admission(Settings(), ManualClock(NOW))
    assert await admission.chat_is_bound(ChatRef(Platform.CONSOLE, CORP, GROUP))
    elsewhere = ChatRef(Platform.DINGTALK, "ding-corp", "cid-new")
    assert not await admission.chat_is_bound(elsewhere)
    assert not await admission.chat_is_bound(elsewhere)  # a no is asked again
    await repo.bind_chat(Platform.DINGTALK, "ding-corp", "cid-new", society.id)
    assert await admission.chat_is_bound(elsewhere)


async def test_messages_of_a_group_arriving_together_share_one_read(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight messages of a group not yet remembered ask at once: one read answers them all.
    When that read fails, the others ask again themselves."""
    await _demo()
    group = ChatRef(Platform.CONSOLE, CORP, GROUP)
    together = Admission(Settings(), ManualClock(NOW))
    with statements() as seen:
        answers = await asyncio.gather(*(together.chat_is_bound(group) for _ in range(8)))
    assert answers == [True] * 8
    assert len(seen) == 1
    read = repo.society_of_chat
    calls = [0]

    async def first_fails(*args: object) -> object:
        calls[0] += 1
        if calls[0] == 1:
            await asyncio.sleep(0.01)
            raise TimeoutError("injected")
        return await read(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(repo, "society_of_chat", first_fails)
    admission = Admission(Settings(), ManualClock(NOW))
    results = await asyncio.gather(
        *(admission.chat_is_bound(group) for _ in range(4)), return_exceptions=True
    )
    assert isinstance(results[0], TimeoutError)
    assert results[1:] == [True, True, True]


async def test_a_redelivered_message_gets_the_stored_reply_and_runs_once(database: str) -> None:
    await _demo()
    admission = Admission(Settings(committee_admins=ADMINS), ManualClock(NOW))
    served: list[Context] = []

    async def serve(ctx: Context) -> list[OutgoingMessage]:
        served.append(ctx)
        return [ctx.reply("好的"), ctx.private(console_user("李娜"), "私聊通知")]

    message = _message("张伟")
    first = await admission.admit(message, serve, inline=True)
    assert [r.text for r in first] == ["好的"]  # the private message went to the outbox
    again = await admission.admit(message, serve, inline=True)
    assert [r.text for r in again] == ["（重复消息，已处理过）好的"]
    assert await admission.admit(message, serve, inline=False) == []
    assert len(served) == 1


def _message(speaker: str, *, private: bool = False) -> IncomingMessage:
    chat = (
        ChatRef(Platform.CONSOLE, CORP, speaker, ChatKind.PRIVATE)
        if private
        else ChatRef(Platform.CONSOLE, CORP, GROUP)
    )
    return IncomingMessage(
        platform=Platform.CONSOLE,
        chat=chat,
        sender=console_user(speaker),
        text="名单",
        message_id=f"m-{speaker}-{private}",
        received_at=NOW,
    )
