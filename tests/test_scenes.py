"""The group's scene (storage/scenes.py), remembered between messages: it serves the
messages that follow, and it is never used once the rows it was read from have changed, whoever
changed them (another process on the same file, this process with its own notice switched off,
a transaction rolled back after it read the scene) or when the head cannot be trusted. Each
attack checks what the members see, not only the memory."""

from __future__ import annotations

import asyncio
import os
import sys
from asyncio.subprocess import Process
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.adapters.console import CORP, GROUP, console_user
from bot.demo import SOCIETY, seed_society
from bot.events import ChatRef, Platform
from storage import db, models, repo, scenes, seals, verify
from storage.sql import raw_execute
from tests.kit.clock import TZ
from tests.kit.console import ConsoleRig
from tests.kit.databases import MODELS
from tests.kit.seed import NAMES

GROUP_KEY = (Platform.CONSOLE.value, CORP, GROUP)
VOTERS = ("李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏")
ROOT = Path(__file__).resolve().parent.parent


def test_every_column_a_scene_is_read_from_is_sealed() -> None:
    """A column added to a scene table without its seal would change unseen by the head."""
    for table in scenes.SCENE_TABLES:
        columns = set(MODELS[table]._meta.fields_db_projection.values()) - {"id"}
        assert columns <= set(seals.TABLES[table].columns), table


@pytest.fixture
def no_notice() -> Iterator[None]:
    """This process does not hear of its own moves: its writes look like another instance's,
    and only the head's sums can tell the scene is out of date."""
    told = seals.moved
    seals.moved = None
    try:
        yield
    finally:
        seals.moved = told


async def _voting(database: str) -> ConsoleRig:
    """A meeting on two items, voting on the first; two ballots cast."""
    h = await ConsoleRig.create()
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作；经费预算")
    h.at("2026-12-05 14:50")
    for name in ("张伟", *VOTERS):
        await h.say(name, "签到")
    h.at("2026-12-05 15:00")
    await h.say("张伟", "开会")
    await h.say("张伟", "发起表决 1")
    assert "已记录" in await h.say("张伟", "赞成")
    assert "已记录" in await h.say("李娜", "赞成")
    kept = scenes.memory.recall(GROUP_KEY)
    assert kept is not None
    assert kept.votes, "the ballots left the scene with its vote"
    return h


async def test_the_next_ballot_is_served_by_the_scene(database: str) -> None:
    h = await _voting(database)
    kept = scenes.memory.recall(GROUP_KEY)
    assert "已记录" in await h.say("王强", "反对")
    assert scenes.memory.recall(GROUP_KEY) is kept  # checked and used, not read again
    assert "已投过" in await h.say("王强", "反对")  # the ballot read with the check counts


async def _other_instance(database: str, h: ConsoleRig, *said: str) -> Process:
    """Another instance on the database (tests/kit/other_instance.py) in its own process, ready
    to say `said` (speaker, text, ...) once it reads a line."""
    other = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.kit.other_instance",
        database,
        h.clock.now().isoformat(),
        *said,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    assert other.stdout is not None
    assert await asyncio.wait_for(other.stdout.readline(), timeout=60) == b"ready\n"
    return other


async def test_a_vote_closed_by_another_process_is_closed_here(database: str) -> None:
    h = await _voting(database)
    other = await _other_instance(database, h, "张伟", "结束表决 现在")
    out, err = await asyncio.wait_for(other.communicate(b"go\n"), timeout=60)
    assert other.returncode == 0, err.decode()
    assert "赞成2" in out.decode(), out.decode() + err.decode()
    said = await h.say("王强", "反对")
    assert "已记录" not in said
    assert "已结束" in said or "没有正在进行的表决" in said


async def test_two_instances_voting_at_once_keep_every_ballot_and_the_chain(
    database: str,
) -> None:
    """Two instances on one database change ballots in the same group at the same time, each
    with its own remembered scene: every change is acknowledged against the ballot it replaces,
    the last choice of each voter stands, and the chain verifies."""
    h = await _voting(database)
    choices = ["反对" if i % 2 == 0 else "赞成" for i in range(30)]  # ending on 赞成
    other = await _other_instance(database, h, *(w for c in choices for w in ("王强", c)))
    assert other.stdin is not None
    other.stdin.write(b"go\n")  # both instances vote from here on
    await other.stdin.drain()
    said = [await h.say("刘洋", choice) for choice in choices]
    out, err = await asyncio.wait_for(other.communicate(), timeout=120)
    assert other.returncode == 0, err.decode()
    heard = out.decode().splitlines()
    for replies in (said, heard):
        assert "已记录" in replies[0], replies[0]
        for n, reply in enumerate(replies[1:], start=1):
            assert f"改投{choices[n]}（议题1 年度工作；原为{choices[n - 1]}" in reply, (n, reply)
    vote_id = await _the_open_vote()
    ballots = {b.person_id: b.choice for b in await models.Ballot.filter(vote_id=vote_id)}
    people = {p.name: p.id for p in await models.Person.all()}
    assert ballots[people["王强"]] == ballots[people["刘洋"]] == "yes"  # both ended on 赞成
    assert len(ballots) == 4
    report = await verify.run()
    assert report.clean, report.findings
    assert "已投5/7" in await h.say("陈静", "弃权")  # the scene here counts the other's ballot


@pytest.mark.usefixtures("no_notice")
async def test_each_change_unheard_of_shows_in_the_next_message(database: str) -> None:
    h = await _voting(database)
    assert "赞成2" in await h.say("张伟", "结束表决 现在")  # the vote's row changes
    assert "没有正在进行的表决" in await h.say("王强", "反对")
    assert "开始表决" in await h.say("张伟", "发起表决 2")  # a vote row is added
    assert "已记录" in await h.say("王强", "反对")
    assert "已记录" in await h.say("刘洋", "反对")


async def _the_open_vote() -> int:
    society = await repo.society_by_name(SOCIETY)
    assert society is not None
    meeting = await repo.active_meeting(society.id)
    assert meeting is not None
    [(vote, _)] = await repo.open_votes(meeting.id)
    return vote.id


class _Undone(Exception):
    pass


async def _close_read_and_undo(vote_id: int, now: datetime) -> None:
    """In one unit of work: close the vote, read the group's scene (with its open votes: none),
    then fail: all of it is rolled back."""
    async with repo.unit_of_work(Platform.CONSOLE, CORP, "undone-1", now):
        async with repo.atomic():
            await repo.close_vote(vote_id, result={}, now=now)
        speaker = await repo.group_speaker(console_user("王强"), Platform.CONSOLE, CORP, GROUP)
        assert speaker is not None
        assert speaker.meeting is not None
        assert await repo.open_votes_with_ballots(speaker.meeting.id) == []
        raise _Undone


async def test_a_scene_read_in_a_rolled_back_transaction_is_not_used(database: str) -> None:
    h = await _voting(database)
    with pytest.raises(_Undone):
        await _close_read_and_undo(await _the_open_vote(), h.clock.now())
    stale = scenes.memory.recall(GROUP_KEY)
    assert stale is not None
    assert stale.votes == ()  # read while the vote was closed
    assert "已记录" in await h.say("王强", "反对")  # rolled back: the vote is open


async def _check_close_and_read(vote_id: int, now: datetime) -> list[object]:
    """In one unit of work: the scene is checked (and holds), the vote is closed, the open
    votes are read again."""
    async with repo.unit_of_work(Platform.CONSOLE, CORP, "own-write", now):
        speaker = await repo.group_speaker(console_user("王强"), Platform.CONSOLE, CORP, GROUP)
        assert speaker is not None
        assert speaker.meeting is not None
        assert len(await repo.open_votes_with_ballots(speaker.meeting.id)) == 1
        async with repo.atomic():
            await repo.close_vote(vote_id, result={}, now=now)
        return list(await repo.open_votes_with_ballots(speaker.meeting.id))


async def test_a_unit_reads_its_own_writes_past_the_scene(database: str) -> None:
    """The scene a unit checked at its start serves its reads only until it writes."""
    h = await _voting(database)
    vote_id = await _the_open_vote()
    kept = scenes.memory.recall(GROUP_KEY)
    assert await _check_close_and_read(vote_id, h.clock.now()) == []
    assert kept is not None  # the check above went through the remembered scene
    assert "没有正在进行的表决" in await h.say("王强", "反对")


async def test_a_forged_head_never_stamps_a_scene(database: str) -> None:
    h = await _voting(database)
    await raw_execute(models.ChainHead, "UPDATE chain_head SET mac = ?", "0" * 64)
    scenes.memory.clear()
    assert "已记录" in await h.say("王强", "反对")
    assert scenes.memory.recall(GROUP_KEY) is None


async def test_a_society_seal_naming_another_chain_gives_no_scene(database: str) -> None:
    """The full read finds the head through the society row's seal; a seal moved by hand to
    another society's (genuine) head is not followed."""
    h = await _voting(database)
    people = {name: console_user(f"{name}-x") for name in NAMES}
    chat = ChatRef(Platform.CONSOLE, CORP, "another-group")
    await seed_society("另一个学会", people, h.clock.now(), chat=chat)
    other = await repo.society_by_name("另一个学会")
    assert other is not None
    await raw_execute(
        models.RowSeal,
        "UPDATE row_seal SET chain_key = ? WHERE tbl = 'society' AND chain_key <> ?",
        seals.chain_key(db.server_key(), other.id),
        seals.chain_key(db.server_key(), other.id),
    )
    scenes.memory.clear()
    assert "已记录" in await h.say("王强", "反对")
    assert scenes.memory.recall(GROUP_KEY) is None


async def test_a_row_changed_behind_the_seals_drops_every_scene(database: str) -> None:
    h = await _voting(database)
    await h.say("张伟", "结束表决 现在")
    await raw_execute(models.Meeting, "UPDATE meeting SET place = ?", "别处")
    # Closing the meeting rewrites its row; not matching its seal, the row is not re-sealed, so
    # the head does not move: no scene can be trusted any more (this message's own included).
    await h.say("张伟", "散会 现在")
    assert scenes.memory.recall(GROUP_KEY) is None
    said = await h.say("王强", "会议状态")
    assert "进行中" not in said


async def test_two_blocks_in_one_unit_keep_the_chain_whole(database: str) -> None:
    """The head the scene check read serves the unit's first move only: a second block reads
    the head its first one wrote."""
    h = await _voting(database)
    society = await repo.society_by_name(SOCIETY)
    assert society is not None
    now = datetime(2026, 12, 5, 15, 1, tzinfo=TZ)
    async with repo.unit_of_work(Platform.CONSOLE, CORP, "two-blocks", now):
        await repo.group_speaker(console_user("王强"), Platform.CONSOLE, CORP, GROUP)
        for n in range(2):
            async with repo.atomic():
                await repo.append_event(society.id, "test", {"n": n}, now)
    report = await verify.run()
    assert report.clean, report.findings
    assert "已记录" in await h.say("王强", "反对")
