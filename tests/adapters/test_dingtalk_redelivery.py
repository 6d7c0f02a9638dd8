"""Acceptance: 2,000 distinct vote messages, each delivered 5 times as signed HTTP callbacks
(sequentially, concurrently, and across a restart of the app on the same database) ->
exactly 2,000 processed events and no ballot counted twice. On SQLite and PostgreSQL.

50 societies (7 voters each, the platform's real size) hold a meeting each; the votes run in 6
rounds (one open vote per meeting at a time), 2,000 ballots in all. Setup commands go through
the app's feed directly; every ballot goes through HTTP, the sign check and the adapter."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from bot.app import FEED, RUNTIME
from bot.clock import ManualClock
from bot.events import ChatKind, ChatRef, IncomingMessage, Platform, UserRef
from storage import models
from tests.kit.clock import TZ
from tests.kit.dingtalk.rig import DingTalkRig, running_bot
from tests.kit.dingtalk.server import FakeDingTalk
from tests.kit.seed import seed_dingtalk_society

SOCIETIES = 50
ROUNDS = 6
TOTAL = 2_000
COPIES = 5
VOTERS = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏")
CHOICES = ("赞成", "赞成", "赞成", "反对", "赞成", "弃权", "反对")

Request = tuple[dict[str, str], bytes, str]  # headers, body, msgId


def group_id(n: int) -> str:
    return f"cidREDELIVERY{n:04d}=="


async def command(rig: DingTalkRig, n: int, staff: str, text: str, serial: list[int]) -> str:
    """A setup command straight into the app's feed (no HTTP): the router, as for a callback."""
    serial[0] += 1
    corp = rig.fake.corp_id
    message = IncomingMessage(
        platform=Platform.DINGTALK,
        chat=ChatRef(Platform.DINGTALK, corp, group_id(n), ChatKind.GROUP),
        sender=UserRef(Platform.DINGTALK, corp, staff),
        text=text,
        message_id=f"setup-{serial[0]}",
        received_at=rig.clock.now(),
    )
    replies = await rig.app[FEED](message)
    return "\n".join(r.text for r in replies)


def ballot_requests(
    rig: DingTalkRig, staff: Sequence[dict[str, str]], round_no: int, budget: int
) -> list[Request]:
    """Signed callbacks for this round's ballots (at most `budget`), each at its own ms."""
    out: list[Request] = []
    for n in range(SOCIETIES):
        for v, name in enumerate(VOTERS):
            if len(out) == budget:
                return out
            msg_id = f"vote-r{round_no}-s{n:03d}-m{v}"
            rig.clock.advance(timedelta(milliseconds=1))
            headers, body = rig.fake.make_callback(
                rig.codec,
                text=CHOICES[v],
                staff_id=staff[n][name],
                conversation_id=group_id(n),
                msg_id=msg_id,
                now=rig.clock.now(),
                nick=name,
            )
            out.append((headers, body, msg_id))
    return out


async def post(rig: DingTalkRig, request: Request) -> None:
    headers, body, _ = request
    response = await rig.client.post(rig.path, data=body, headers=headers)
    assert response.status == 200, await response.text()
    await response.read()


async def deliver_sequential(rig: DingTalkRig, requests: Sequence[Request], copies: int) -> None:
    for request in requests:
        for _ in range(copies):
            await post(rig, request)


async def deliver_concurrent(rig: DingTalkRig, requests: Sequence[Request], copies: int) -> None:
    gate = asyncio.Semaphore(64)

    async def one(request: Request) -> None:
        async with gate:
            await post(rig, request)

    await asyncio.gather(*(one(r) for r in requests for _ in range(copies)))


async def settle(rig: DingTalkRig) -> None:
    """With the inbound queue: wait until every accepted message is applied, then deliver."""
    inbox = rig.app[RUNTIME].inbox
    if inbox is not None:
        async with asyncio.timeout(120):
            while await inbox.depth():
                await inbox.drain()
                await asyncio.sleep(0.01)
    await rig.drain_outbox()
    await rig.adapter.tasks.flush(30)


@pytest.mark.parametrize("inbound", ["direct", "queue"])
async def test_2000_votes_delivered_5_times_are_counted_once(database: str, inbound: str) -> None:
    """`direct`: applied before the answer, every copy answered (the copies as duplicates).
    `queue` (the default of a configured server): answered once queued; copies are refused at
    the door, the rows left pending by a stop are applied after the restart."""
    options = {"card_template_id": "", "settings_overrides": {"inbound": inbound}}
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    serial = [0]
    async with FakeDingTalk(clock=clock.now) as fake:
        staff = [
            await seed_dingtalk_society(fake.corp_id, n, clock.now(), group_id=group_id(n))
            for n in range(SOCIETIES)
        ]
        items = "；".join(f"事项{i}" for i in range(1, ROUNDS + 1))

        async def setup_group(rig: DingTalkRig, n: int) -> None:
            leader = staff[n]["张伟"]
            notice = await command(
                rig, n, leader, f"召开会议 2026-12-05 15:00 会议室 议题：{items}", serial
            )
            assert "会议通知" in notice

        async def open_meeting(rig: DingTalkRig, n: int) -> None:
            for name in VOTERS:
                await command(rig, n, staff[n][name], "签到", serial)
            assert "会议现在开始" in await command(rig, n, staff[n]["张伟"], "开会", serial)

        async def start_round(rig: DingTalkRig, r: int) -> None:
            async def one(n: int) -> None:
                assert "开始表决" in await command(
                    rig, n, staff[n]["张伟"], f"发起表决 {r}", serial
                )

            await asyncio.gather(*(one(n) for n in range(SOCIETIES)))

        async def close_round(rig: DingTalkRig) -> None:
            async def one(n: int) -> None:
                assert "结果" in await command(rig, n, staff[n]["张伟"], "结束表决", serial)

            await asyncio.gather(*(one(n) for n in range(SOCIETIES)))

        per_round = SOCIETIES * len(VOTERS)
        remaining = TOTAL
        sent_ids: list[str] = []
        async with running_bot(fake, clock, **options) as rig:
            await asyncio.gather(*(setup_group(rig, n) for n in range(SOCIETIES)))
            clock.set(datetime(2026, 12, 5, 14, 50, tzinfo=TZ))
            await asyncio.gather(*(open_meeting(rig, n) for n in range(SOCIETIES)))
            # Rounds 1-2: each message 5 times in a row; rounds 3-4: all copies at once.
            for r in (1, 2, 3, 4):
                await start_round(rig, r)
                requests = ballot_requests(rig, staff, r, min(per_round, remaining))
                remaining -= len(requests)
                sent_ids += [m for _, _, m in requests]
                if r <= 2:
                    await deliver_sequential(rig, requests, COPIES)
                else:
                    await deliver_concurrent(rig, requests, COPIES)
                await settle(rig)
                await close_round(rig)
            # Rounds 5-6: 2 copies, the app restarts (new build_app, same DB), 3 more copies.
            pending: list[list[Request]] = []
            for r in (5, 6):
                requests = ballot_requests(rig, staff, r, min(per_round, remaining))
                remaining -= len(requests)
                sent_ids += [m for _, _, m in requests]
                pending.append(requests)
            await start_round(rig, 5)
            await deliver_concurrent(rig, pending[0], 2)
            await rig.adapter.tasks.flush(30)
        assert remaining == 0
        assert len(sent_ids) == len(set(sent_ids)) == TOTAL

        async with running_bot(fake, clock, **options) as rig:
            await deliver_concurrent(rig, pending[0], COPIES - 2)
            await settle(rig)
            await close_round(rig)
            await start_round(rig, 6)
            await deliver_sequential(rig, pending[1][:50], 2)
            await deliver_concurrent(rig, pending[1][50:], 2)
            await rig.adapter.tasks.flush(30)
        async with running_bot(fake, clock, **options) as rig:
            await deliver_concurrent(rig, pending[1], COPIES - 2)
            await settle(rig)
            await close_round(rig)

    processed = await models.ProcessedMessage.filter(message_id__startswith="vote-r").count()
    assert processed == TOTAL
    assert await models.Ballot.all().count() == TOTAL
    # Per vote: one ballot per voter at most, and as many as voters who were sent.
    votes = await models.Vote.all()
    per_vote = {v.id: 0 for v in votes}
    voters: set[tuple[int, int]] = set()
    for ballot in await models.Ballot.all():
        key = (ballot.vote_id, ballot.person_id)  # type: ignore[attr-defined]
        assert key not in voters
        voters.add(key)
        per_vote[ballot.vote_id] += 1  # type: ignore[attr-defined]
    # Round 6 reaches 35 groups fully and one group with 5 of its 7 voters.
    assert sorted(per_vote.values()).count(5) == 1
    assert sum(per_vote.values()) == TOTAL
    assert set(per_vote.values()) == {0, 5, 7}
    # Every delivery was answered on its sessionWebhook, the copies as duplicates.
    texts = [c.text for c in fake.recorded["session"]]
    if inbound == "direct":
        assert len(texts) == TOTAL * COPIES
        assert sum(t.startswith("（重复消息，已处理过）") for t in texts) == TOTAL * (COPIES - 1)
    else:
        # Acknowledgements of one group waiting together go out as one message, a line each
        # (the sender joins them, bot/outbox.py): every ballot acknowledged once, no duplicate
        # answered.
        assert sum(t.count("已记录") for t in texts) == TOTAL
        assert len(texts) <= TOTAL
        assert not any("重复消息" in t for t in texts)
