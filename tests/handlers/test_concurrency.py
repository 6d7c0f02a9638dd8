"""Concurrency on both databases: votes are linearizable with closes, duplicates collapse."""

from __future__ import annotations

import asyncio

from storage import models
from tests.kit.console import ConsoleRig

MEMBERS = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏")


async def _open_vote(h: ConsoleRig) -> None:
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    h.at("2026-12-05 14:50")
    for name in MEMBERS:
        await h.say(name, "签到")
    await h.say("张伟", "开会")
    await h.say("张伟", "发起表决 1")


async def test_fifty_identical_votes_make_one_ballot(harness: ConsoleRig) -> None:
    await _open_vote(harness)
    replies = await asyncio.gather(*(harness.say("李娜", "赞成") for _ in range(50)))
    assert await models.Ballot.all().count() == 1
    assert sum("已记录" in r for r in replies) == 1
    assert sum("无需重复" in r for r in replies) == 49
    assert await models.EventLog.filter(kind="ballot").count() == 1


async def test_fifty_votes_race_fifty_closes(harness: ConsoleRig) -> None:
    await _open_vote(harness)
    voters = [MEMBERS[i % 7] for i in range(50)]
    tasks = [harness.say(name, "赞成") for name in voters] + [
        harness.say("张伟", "结束表决 现在") for _ in range(50)
    ]
    order = list(range(100))
    # Interleave votes and closes deterministically.
    order = [i for pair in zip(range(50), range(50, 100), strict=True) for i in pair]
    results = await asyncio.gather(*(tasks[i] for i in order))
    closes = [r for i, r in zip(order, results, strict=True) if i >= 50]
    tallies = {next(x for x in r.text.split("\n") if x.startswith("赞成")) for r in closes}
    assert len(tallies) == 1, tallies
    vote = await models.Vote.get()
    ballots = await models.Ballot.filter(vote_id=vote.id).count()
    closed_line = tallies.pop()
    assert closed_line.startswith(f"赞成{ballots}、")
    assert vote.closed_at is not None
    assert not await models.Ballot.filter(vote_id=vote.id).exists() or ballots <= 7
    # No ballot was recorded after the close: every vote reply after it says the vote ended.
    late = [r for i, r in zip(order, results, strict=True) if i < 50 and "已记录" not in r]
    assert all(("已经结束" in r) or ("无需重复" in r) or ("没有正在进行" in r) for r in late), late
