"""The inbound worker's group commit on both databases: a round of queued messages from many
societies is applied in one transaction (no savepoint per message) and commits once; a refusal
rolls back only its own message; a fault anywhere in the round rolls the round back and every
message is still applied exactly once, one by one."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from tortoise.backends.base.client import NestedTransactionContext

from bot.adapters.console import CORP
from bot.demo import PEOPLE, seed_society
from bot.events import ChatKind, ChatRef, IncomingMessage, OutgoingMessage, Platform, UserRef
from bot.group_commit import GroupCommit
from bot.inbox import Inbox
from bot.outbox import load_message, to_outbox
from bot.router import UsageError
from handlers import votes
from storage import db, repo
from storage import inbox as inbox_store
from storage import models as m
from storage import outbox as outbox_store
from storage.sql import statements
from tests.kit.console import ConsoleRig
from tests.kit.databases import count_commits

SOCIETIES = 6
VOTERS = ("李娜", "王强", "刘洋", "陈静", "杨帆")


class Society:
    def __init__(self, h: ConsoleRig, n: int) -> None:
        self.h = h
        self.chat = ChatRef(Platform.CONSOLE, CORP, f"together-{n}", ChatKind.GROUP)
        self.people = {
            name: UserRef(Platform.CONSOLE, CORP, f"s{n}-{name}", name) for name, *_ in PEOPLE
        }

    def message(self, name: str, text: str) -> IncomingMessage:
        return IncomingMessage(
            platform=Platform.CONSOLE,
            chat=self.chat,
            sender=self.people[name],
            text=text,
            message_id=f"together-{uuid.uuid4().hex}",
            received_at=self.h.clock.now(),
            mentions_bot=True,
        )

    async def say(self, name: str, text: str) -> str:
        replies = await self.h.router.dispatch(self.message(name, text))
        return "\n".join(r.text for r in replies)


async def _societies_voting(h: ConsoleRig) -> list[Society]:
    """SOCIETIES societies shaped like the demo, each with a meeting open and a named vote on
    its item 1."""
    out = []
    h.at("2026-12-01 09:00")
    for n in range(SOCIETIES):
        s = Society(h, n)
        await seed_society(f"并行测试学会{n}", s.people, h.clock.now(), chat=s.chat)
        assert "会议通知" in await s.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
        out.append(s)
    h.at("2026-12-05 14:50")
    for s in out:
        for name in ("张伟", *VOTERS):
            await s.say(name, "签到")
    h.at("2026-12-05 15:00")
    for s in out:
        assert "会议现在开始" in await s.say("张伟", "开会")
        assert "开始表决" in await s.say("张伟", "发起表决 1")
    return out


async def _queue(box: Inbox, messages: list[IncomingMessage]) -> None:
    for message in messages:
        assert await box.submit(message)


async def test_a_round_of_many_societies_commits_once(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = await ConsoleRig.create()
    societies = await _societies_voting(h)
    box = h.inbox("together", round_budget=60.0)  # rounds end only when the claim is done
    # Each member votes 赞成 then changes to 反对: a chat's messages keep their order.
    for choice in ("赞成", "反对"):
        await _queue(box, [s.message(n, choice) for n in VOTERS for s in societies])
    commits = count_commits(monkeypatch, database)
    with statements() as seen:
        applied = await box.drain()
    assert applied == 2 * len(VOTERS) * SOCIETIES
    # The round's processed-message rows are written together, in one statement.
    dedupe = [x for x in seen if x.sql.startswith("INSERT INTO processed_message")]
    assert len(dedupe) == box.rounds_together
    assert await box.depth() == 0
    # A chat's pending messages go in the same round, in arrival order: one round of 60. Per
    # round four commits, however many messages it holds: its claim, its effects, and the
    # sender's claim of the replies and its report of what it sent (plus the last claim, which
    # finds nothing). One per message would be 60 for the effects alone.
    assert box.rounds_together == 1
    assert box.rounds_split == 0
    assert commits[0] <= 4 * box.rounds_together + 1, commits[0]
    ballots = await m.Ballot.all()
    assert len(ballots) == len(VOTERS) * SOCIETIES
    assert {b.choice for b in ballots} == {"no"}
    processed = await m.ProcessedMessage.filter(message_id__startswith="together-").count()
    assert processed == applied + SOCIETIES * (len(VOTERS) + 4)  # the setup went direct


async def test_a_round_writes_the_last_count_of_each_card_once(database: str) -> None:
    """A round commits its ballots at once, so the counts in between were never anyone's to
    see: each vote's card gets one update in the outbox, with the round's last count, and every
    voter's acknowledgement is still written. Applied one by one, each ballot writes its own."""
    h = await ConsoleRig.create()
    societies = await _societies_voting(h)
    box = h.inbox("together", round_budget=60.0)  # one round, however slow the machine
    await _queue(box, [s.message(n, "赞成") for n in VOTERS[:3] for s in societies])
    before = {row.id for row in await outbox_store.outbox_rows()}
    assert await box.drain() == 3 * SOCIETIES
    assert (box.rounds_together, box.rounds_split) == (1, 0)
    new = [load_message(r.payload) for r in await outbox_store.outbox_rows() if r.id not in before]
    cards = [x for x in new if x.is_card_update]
    assert sorted(x.chat.chat_id for x in cards) == sorted(s.chat.chat_id for s in societies)
    assert {x.card.summary for x in cards if x.card is not None} == {"已投 3/6"}
    assert sum("已记录" in x.text for x in new) == 3 * SOCIETIES
    # The console printed each card once, with that count.
    printed = [o for o in h.adapter.sent if o.card is not None and o.is_card_update]
    assert [o.card.summary for o in printed if o.card is not None][-SOCIETIES:] == [
        "已投 3/6"
    ] * SOCIETIES

    one_by_one = h.inbox("alone", round_budget=0.0)  # a round ends after its first message
    await _queue(one_by_one, [societies[0].message(n, "赞成") for n in VOTERS[3:]])
    before = {row.id for row in await outbox_store.outbox_rows()}
    assert await one_by_one.drain() == len(VOTERS) - 3
    new = [load_message(r.payload) for r in await outbox_store.outbox_rows() if r.id not in before]
    assert [x.card.summary for x in new if x.card is not None and x.is_card_update] == [
        "已投 4/6",
        "已投 5/6",
    ]


async def test_a_refusal_in_a_round_rolls_back_only_its_own_message(database: str) -> None:
    h = await ConsoleRig.create()
    societies = await _societies_voting(h)
    # The third society's vote is over (deferred: nobody voted): its ballot is refused inside the
    # round.
    assert "暂缓决定" in await societies[2].say("张伟", "暂缓 1 下次再议")
    box = h.inbox("together", round_budget=60.0)  # one round, however slow the machine
    await _queue(box, [s.message("李娜", "赞成") for s in societies])
    sent_before = len(h.adapter.sent)
    assert await box.drain() == SOCIETIES
    assert box.rounds_together == 1
    assert await m.Ballot.all().count() == SOCIETIES - 1
    texts = [o.text for o in h.adapter.sent[sent_before:]]
    assert sum("已记录" in t for t in texts) == SOCIETIES - 1
    # The refusal is answered in the round, in the refused society's group.
    assert texts.count("目前没有正在进行的表决。主持人可发送「发起表决 议题编号」。") == 1, texts
    refused_to = [o.chat for o in h.adapter.sent[sent_before:] if o.text.startswith("目前没有")]
    assert refused_to == [societies[2].chat]
    # The refused message is processed (answered once), not left pending.
    assert await box.depth() == 0


def _count_savepoints(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """[savepoints opened] from now on (a nested transaction, on either engine)."""
    opened = [0]
    enter = NestedTransactionContext.__aenter__

    async def counting(self: NestedTransactionContext) -> Any:
        opened[0] += 1
        return await enter(self)

    monkeypatch.setattr(NestedTransactionContext, "__aenter__", counting)
    return opened


async def test_commands_in_a_round_open_no_savepoint(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command in a shared round runs without a savepoint of its own (on PostgreSQL one
    round trip): a refusal comes before any write and leaves nothing to undo."""
    h = await ConsoleRig.create()
    societies = await _societies_voting(h)
    assert "暂缓决定" in await societies[2].say("张伟", "暂缓 1 下次再议")  # ballots refused
    box = h.inbox("together", round_budget=60.0)
    await _queue(box, [s.message(n, "赞成") for s in societies for n in VOTERS[:2]])
    opened = _count_savepoints(monkeypatch)
    assert await box.drain() == 2 * SOCIETIES
    assert (box.rounds_together, box.rounds_split) == (1, 0)
    assert opened == [0]
    assert await m.Ballot.all().count() == 2 * (SOCIETIES - 1)
    refusals = [o for o in h.adapter.sent if o.text.startswith("目前没有正在进行的表决")]
    assert [o.chat for o in refusals] == [societies[2].chat] * 2


async def test_a_refusal_after_a_write_breaks_the_round(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused after it wrote (here: its ballot stored, then its reply refused), a command has
    no savepoint to roll back to in a round: the round goes, its messages are applied one by
    one, and the refused command leaves nothing while the others take effect once."""
    h = await ConsoleRig.create()
    societies = await _societies_voting(h)
    replies = votes._ballot_replies

    async def refusing(ctx: Any, ballot: Any, *args: Any) -> Any:
        if ctx.message.chat == societies[1].chat and ballot.voter.name == "王强":
            raise UsageError("测试：写入之后拒绝")
        return await replies(ctx, ballot, *args)

    monkeypatch.setattr(votes, "_ballot_replies", refusing)
    box = h.inbox("together", round_budget=60.0)
    await _queue(box, [s.message(n, "赞成") for s in societies for n in VOTERS[:2]])
    assert await box.drain() == 2 * SOCIETIES
    assert (box.rounds_together, box.rounds_split) == (0, 1)
    assert await m.Ballot.all().count() == 2 * SOCIETIES - 1
    texts = [o.text for o in h.adapter.sent]
    assert texts.count("测试：写入之后拒绝") == 1
    assert await box.depth() == 0


async def test_a_fault_in_a_round_rolls_it_back_and_each_message_applies_once(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = await ConsoleRig.create()
    societies = await _societies_voting(h)
    box = h.inbox("together", backoff=(0.0, 0.0), round_budget=60.0)
    await _queue(box, [s.message("李娜", "赞成") for s in societies])
    read = repo.group_speaker  # reads the group's society and locks it
    calls = [0]

    async def failing_fourth(*args: Any) -> Any:
        calls[0] += 1
        if calls[0] == 4:  # the fourth message of the round, after three have their effect
            raise TimeoutError("injected")
        return await read(*args)

    monkeypatch.setattr(repo, "group_speaker", failing_fourth)
    sent_before = len(h.adapter.sent)
    await box.drain()
    assert box.rounds_split == 1
    assert await box.depth() == 0
    assert await m.Ballot.all().count() == SOCIETIES
    texts = [o.text for o in h.adapter.sent[sent_before:]]
    assert sum("已记录" in t for t in texts) == SOCIETIES, texts
    assert not [t for t in texts if "没有生效" in t]
    assert await m.ProcessedMessage.filter(message_id__startswith="together-").count() == (
        SOCIETIES * (len(VOTERS) + 5)
    )
    assert await inbox_store.depth() == 0


async def test_a_pass_goes_on_with_its_claim_round_after_round(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round that ends early (its budget spent) leaves the rest of the claim to the next round
    of the same pass: one claim, no rows given back and taken again, order kept per chat."""
    h = await ConsoleRig.create()
    societies = await _societies_voting(h)
    box = h.inbox("together", round_budget=0.0)  # a round ends after its first message
    await _queue(
        box, [s.message(n, c) for c in ("赞成", "反对") for s in societies for n in VOTERS[:2]]
    )
    with statements() as seen:
        assert await box.run_once() == 4 * SOCIETIES
    assert (box.passes, box.rounds_together, box.rounds_split) == (1, 4 * SOCIETIES - 1, 0)
    claims = [x.sql for x in seen if x.sql.startswith("UPDATE inbound_message SET claimed_by")]
    assert len(claims) == 1, claims  # claimed once, never given back
    assert "claimed_by = ''" not in claims[0]
    assert {b.choice for b in await m.Ballot.all()} == {"no"}  # each chat's order kept
    assert await box.depth() == 0


async def test_a_round_that_ends_early_gives_back_the_rest(database: str) -> None:
    """What a pass did not get to when it has held its claim long enough is free at once, for
    this worker or another instance (after a restart the old instance's claims would otherwise
    wait out their lease)."""
    h = await ConsoleRig.create()
    societies = await _societies_voting(h)
    first = h.inbox("first", round_budget=0.0, hold=0.0)  # ends after its first message
    await _queue(first, [s.message("李娜", "赞成") for s in societies])
    assert await first.run_once() == 1
    assert first.rounds_together == 1
    second = h.inbox("second")
    assert await second.drain() == SOCIETIES - 1
    assert await m.Ballot.all().count() == SOCIETIES
    assert await inbox_store.depth() == 0


async def test_a_failed_message_holds_back_the_later_ones_of_its_chat(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round takes several messages of a chat; when one fails (a transient fault: it stays
    pending and waits out its backoff) the chat's later messages wait with it, while the other
    chats go on. Here 李娜 votes 赞成 then changes to 反对; the first try of 赞成 fails."""
    h = await ConsoleRig.create()
    first, second = (await _societies_voting(h))[:2]
    clock = [0.0]
    box = h.inbox("together", backoff=(10.0, 10.0), round_budget=60.0, monotonic=lambda: clock[0])
    await _queue(
        box,
        [
            first.message("李娜", "赞成"),
            first.message("李娜", "反对"),
            second.message("李娜", "赞成"),
        ],
    )
    read = repo.group_speaker
    broken = [True]

    async def failing_in_first(*args: Any) -> Any:
        if broken[0] and args[3] == first.chat.chat_id:
            raise TimeoutError("injected")
        return await read(*args)

    monkeypatch.setattr(repo, "group_speaker", failing_in_first)

    async def choices(society: Society) -> list[str]:
        name = society.chat.chat_id.replace("together-", "并行测试学会")
        rows = await m.Ballot.filter(vote__item__meeting__society__name=name)
        return [b.choice for b in rows]

    await box.run_once()  # the round fails on 赞成 and is split; one by one, 赞成 fails again
    assert box.rounds_split == 1
    await box.run_once()  # 赞成 waits out its backoff, so does 反对 behind it; the other chat goes
    assert await choices(first) == []
    assert await choices(second) == ["yes"]
    assert await box.depth() == 2
    broken[0] = False
    clock[0] = 20.0
    await box.drain()
    assert await choices(first) == ["no"]  # 赞成, then changed to 反对: arrival order kept
    assert await box.depth() == 0


async def test_a_bug_in_a_round_leaves_nothing_of_its_message(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit of work has no savepoint of its own in a round: when something that is not a
    refusal escapes it (here a bug, after its processed-message row was written), the round is
    rolled back and applied one by one; the broken message is answered with the apology and
    leaves no row behind, every other message applies once."""
    h = await ConsoleRig.create()
    societies = await _societies_voting(h)
    box = h.inbox("together", backoff=(0.0, 0.0), round_budget=60.0)
    messages = [s.message("李娜", "赞成") for s in societies]
    await _queue(box, messages)
    broken = societies[3].chat.chat_id
    read = repo.group_speaker

    async def buggy(*args: Any) -> Any:
        if args[3] == broken:
            raise RuntimeError("a bug")
        return await read(*args)

    monkeypatch.setattr(repo, "group_speaker", buggy)
    sent_before = len(h.adapter.sent)
    assert await box.drain() == SOCIETIES
    assert box.rounds_split == 1
    assert await box.depth() == 0
    assert await m.Ballot.all().count() == SOCIETIES - 1
    sent = h.adapter.sent[sent_before:]
    assert sum("已记录" in o.text for o in sent) == SOCIETIES - 1
    sorry = [o.chat for o in sent if "没有生效" in o.text]
    assert sorry == [societies[3].chat]
    assert not await m.ProcessedMessage.filter(message_id=messages[3].message_id).exists()
    ids = [x.message_id for x in messages]
    assert await m.ProcessedMessage.filter(message_id__in=ids).count() == SOCIETIES - 1


async def test_a_message_processed_before_is_a_duplicate_in_a_round(database: str) -> None:
    """A message already applied (here directly, as `inbound = "direct"` does) and queued again
    writes nothing in the round and answers nothing; the round's other messages apply
    together."""
    h = await ConsoleRig.create()
    societies = await _societies_voting(h)
    again = societies[0].message("李娜", "赞成")
    assert "已记录" in "\n".join(r.text for r in await h.router.dispatch(again))
    box = h.inbox("together", round_budget=60.0)
    await _queue(box, [again, *(s.message("李娜", "反对") for s in societies[1:])])
    sent_before = len(h.adapter.sent)
    assert await box.drain() == SOCIETIES
    assert (box.rounds_together, box.rounds_split) == (1, 0)
    ballots = await m.Ballot.all()
    assert sorted(b.choice for b in ballots) == ["no"] * (SOCIETIES - 1) + ["yes"]
    assert [o.chat for o in h.adapter.sent[sent_before:] if "已记录" in o.text] == [
        s.chat for s in societies[1:]
    ]
    assert await m.ProcessedMessage.filter(message_id=again.message_id).count() == 1


async def test_two_passes_of_one_worker_take_turns(database: str) -> None:
    """A worker's claims do not keep it off its own rows: its loop and a drain (at shutdown,
    in the console) running at once would both take the same messages. They take turns."""
    h = await ConsoleRig.create()
    societies = await _societies_voting(h)
    box = h.inbox("together", round_budget=60.0)
    await _queue(box, [s.message("李娜", "赞成") for s in societies])
    tried = await asyncio.gather(box.run_once(), box.run_once())
    assert sorted(tried) == [0, SOCIETIES]
    assert await m.Ballot.all().count() == SOCIETIES


async def test_a_round_writes_its_outbox_messages_in_one_statement(database: str) -> None:
    """A round holds its messages' replies and writes them when it ends, in one statement (on
    PostgreSQL one round trip for the round instead of one per message), in the order they
    were written: each chat's acknowledgements in the order of its ballots."""
    h = await ConsoleRig.create()
    societies = await _societies_voting(h)
    box = h.inbox("together", round_budget=60.0)
    await _queue(box, [s.message(n, "赞成") for s in societies for n in VOTERS[:3]])
    before = {row.id for row in await outbox_store.outbox_rows()}
    with statements() as seen:
        assert await box.drain() == 3 * SOCIETIES
    assert (box.rounds_together, box.rounds_split) == (1, 0)
    inserts = [x for x in seen if x.sql.startswith("INSERT INTO outbox_message")]
    assert len(inserts) == 1, [x.sql[:60] for x in inserts]
    rows = [r for r in await outbox_store.outbox_rows() if r.id not in before]
    new = [load_message(r.payload) for r in sorted(rows, key=lambda r: r.id)]
    for s in societies:
        said = [x.text.split("：")[0] for x in new if x.chat == s.chat and "已记录" in x.text]
        assert said == list(VOTERS[:3])
    assert len(new) == 3 * SOCIETIES + SOCIETIES  # the acknowledgements, a card update each


async def test_workers_apply_other_chats_at_once(database: str) -> None:
    """Two workers of one process claim under their own names, so they take different chats and
    apply them at the same time: the first chat's message here waits until the second chat's
    is applied, which one worker (taking them in arrival order) could never do."""
    h = await ConsoleRig.create()
    first, second = (await _societies_voting(h))[:2]
    applied_second = asyncio.Event()
    applied: list[str] = []

    async def apply(message: IncomingMessage) -> None:
        if message.chat == first.chat:
            async with asyncio.timeout(10):
                await applied_second.wait()
        else:
            applied_second.set()
        applied.append(message.chat.chat_id)

    box = Inbox(clock=h.clock, instance="lanes", apply=apply, batch=1, idle=0.01, lanes=2)
    await _queue(box, [first.message("李娜", "赞成"), second.message("李娜", "赞成")])
    worker = asyncio.create_task(box.run())
    try:
        async with asyncio.timeout(20):
            while await box.depth():  # noqa: ASYNC110 (polls the database)
                await asyncio.sleep(0.01)
    finally:
        await box.gate.stop([worker])
    assert applied == [second.chat.chat_id, first.chat.chat_id]
    claimed = await m.InboundMessage.all().values_list("claimed_by", flat=True)
    assert sorted(claimed) == ["lanes", "lanes/1"]


async def test_workers_keep_each_chats_order_and_apply_each_message_once(database: str) -> None:
    """Three workers on the real router: each member votes 赞成 then changes to 反对, every
    message applies once and each chat's order holds whichever worker took it."""
    h = await ConsoleRig.create()
    societies = await _societies_voting(h)
    box = h.inbox("lanes", round_budget=60.0, batch=2, lanes=3)  # a claim: two chats
    for choice in ("赞成", "反对"):
        await _queue(box, [s.message(n, choice) for n in VOTERS for s in societies])
    assert await box.drain() == 2 * len(VOTERS) * SOCIETIES
    ballots = await m.Ballot.all()
    assert len(ballots) == len(VOTERS) * SOCIETIES
    assert {b.choice for b in ballots} == {"no"}
    assert await box.depth() == 0
    workers = set(await m.InboundMessage.all().values_list("claimed_by", flat=True))
    assert len(workers) > 1, workers


async def test_what_a_round_writes_besides_keeps_its_place(database: str) -> None:
    """A reply that is not part of a command's effect (what a queued message got back instead:
    the group unbound meanwhile, an apology) is held with the round's replies, in the order
    written: written at once, it would go out before the replies of earlier messages."""
    h = await ConsoleRig.create()
    (society,) = (await _societies_voting(h))[:1]
    assert h.delivery is not None
    (first,) = to_outbox([OutgoingMessage(chat=society.chat, text="第一条")], key_prefix="r1")
    before = {row.id for row in await outbox_store.outbox_rows()}
    async with repo.shared_round([], h.clock.now()):
        await repo.enqueue_latest([first], [None], h.clock.now())
        await h.delivery.enqueue([OutgoingMessage(chat=society.chat, text="第二条")])
    rows = [r for r in await outbox_store.outbox_rows() if r.id not in before]
    rows.sort(key=lambda r: r.id)
    assert [load_message(r.payload).text for r in rows] == ["第一条", "第二条"]


async def test_a_failed_pass_lets_the_other_workers_end_theirs(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When one worker's claim fails, `run_once` raises only after the other workers' passes
    have ended: a pass left running behind the caller's back (a drain at shutdown) would still
    be writing when the caller goes on."""
    h = await ConsoleRig.create()
    first, second = (await _societies_voting(h))[:2]
    applied: list[str] = []

    async def slow(message: IncomingMessage) -> None:
        await asyncio.sleep(0.2)
        applied.append(message.chat.chat_id)

    claim = inbox_store.claim

    async def failing_for_the_second(instance: str, *args: Any, **kwargs: Any) -> Any:
        if instance.endswith("/1"):
            raise ConnectionResetError("injected")
        return await claim(instance, *args, **kwargs)

    box = Inbox(clock=h.clock, instance="lanes", apply=slow, batch=1, lanes=2)
    await _queue(box, [first.message("李娜", "赞成"), second.message("李娜", "赞成")])
    monkeypatch.setattr(inbox_store, "claim", failing_for_the_second)
    with pytest.raises(ConnectionResetError):
        await box.run_once()
    assert applied == [first.chat.chat_id]


async def test_a_round_gives_way_to_the_door_after_door_yield(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite has one writer: callbacks waiting at the door cannot commit while a round writes,
    so the round gives way to them, but only once it has run `door_yield` seconds. Giving way
    at once applied one message per round under a steady stream of callbacks, and the queue grew
    without end. On PostgreSQL the door commits beside the round: it never ends one."""
    h = await ConsoleRig.create()
    societies = await _societies_voting(h)
    clock = [0.0]
    box = h.inbox("door", round_budget=60.0, door_yield=0.025, monotonic=lambda: clock[0])
    await _queue(box, [s.message("李娜", "赞成") for s in societies])
    # Callbacks wait at the door all along, and each message takes 10 ms to apply.
    monkeypatch.setattr(GroupCommit, "waiting", property(lambda _self: True))
    apply = box._apply

    async def slow(message: IncomingMessage) -> None:
        clock[0] += 0.010
        await apply(message)

    box._apply = slow
    assert await box.drain() == SOCIETIES
    # SQLite: 10, 20, 30 ms, then the door; PostgreSQL: one round.
    one_writer = db.one_writer()
    assert box.rounds_together == (SOCIETIES // 3 if one_writer else 1)
    assert await m.Ballot.all().count() == SOCIETIES

    at_once = h.inbox("at-once", round_budget=60.0, door_yield=0.0)
    await _queue(at_once, [s.message("王强", "赞成") for s in societies])
    assert await at_once.drain() == SOCIETIES
    # Giving way at once: a round of one message each, the last alone.
    assert at_once.rounds_together == (SOCIETIES - 1 if one_writer else 1)
