"""The inbound queue on both databases: accepted once, applied once, in order per chat."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tortoise import connections

from bot.events import ChatRef, IncomingMessage, OutgoingMessage, Platform, UserRef
from bot.inbox import Inbox, chat_key, decode_message, encode_message, make_apply, message_key
from bot.scheduler import Heartbeat
from storage import inbox as store
from storage import models as m
from storage import sql
from storage.db import lock_path, sqlite_path
from tests.kit.console import ConsoleRig
from tests.kit.voting import open_vote


def _inbox(h: ConsoleRig, instance: str = "a") -> Inbox:
    return h.inbox(instance)


async def _open_vote(h: ConsoleRig) -> None:
    await open_vote(h, ("李娜", "王强", "刘洋", "陈静"))


def _texts(sent: list[OutgoingMessage]) -> list[str]:
    return [s.text for s in sent]


async def test_message_survives_encoding(harness: ConsoleRig) -> None:
    message = harness.adapter.decode("李娜", "@议事 投票 赞成 @王强")
    message = replace(message, reply_handle="https://example.invalid/session?x=1")
    assert decode_message(encode_message(message)) == message
    names_in_text = replace(message, names_in_text=True)
    assert decode_message(encode_message(names_in_text)) == names_in_text


def test_a_row_queued_before_names_in_text_was_stored_keeps_what_its_platform_meant() -> None:
    """Queued by an earlier version (no `names_in_text` in the row): WeCom's messages named
    people only in the text, the others did not."""
    for platform, expected in ((Platform.WECOM, True), (Platform.DINGTALK, False)):
        chat = ChatRef(platform, "corp", "group")
        message = IncomingMessage(
            platform, chat, UserRef(platform, "corp", "u"), "签到", "m1", datetime.now(UTC)
        )
        row = json.loads(encode_message(message))
        del row["names_in_text"]
        assert decode_message(json.dumps(row)).names_in_text is expected


async def test_redeliveries_are_accepted_once_in_group_commits(harness: ConsoleRig) -> None:
    h = harness
    box = _inbox(h)
    messages = [h.adapter.decode("李娜", f"帮助 {i}") for i in range(120)]
    # Every message arrives three times, all at once.
    results = await asyncio.gather(*(box.submit(msg) for msg in messages * 3))
    assert sum(results) == 120
    assert await m.InboundMessage.all().count() == 120
    assert await box.depth() == 120
    # Later redeliveries are refused at the door too.
    assert await box.submit(messages[0]) is False
    assert box.accepted == 120


async def test_a_chat_is_applied_in_arrival_order_and_replies_are_delivered(
    harness: ConsoleRig,
) -> None:
    h = harness
    await _open_vote(h)
    box = _inbox(h)
    first = h.adapter.decode("李娜", "投票 赞成")
    second = h.adapter.decode("李娜", "投票 反对")
    before = len(h.adapter.sent)
    assert await box.submit(first)
    assert await box.submit(second)
    applied = await box.drain()
    assert applied == 2
    assert await box.depth() == 0
    ballots = await m.Ballot.all()
    assert [b.choice for b in ballots] == ["no"]
    replies = _texts(h.adapter.sent[before:])
    assert any("赞成，已记录" in r for r in replies)
    assert any("改投反对" in r for r in replies)
    # The replies answer the conversation the message came from, through the outbox.
    assert all(r.chat == first.chat for r in h.adapter.sent[before:])
    # Applying the same message again (a crash after the effect, before "done") changes nothing
    # and sends nothing.
    before = len(h.adapter.sent)
    await make_apply(h.router.dispatch, h.delivery.enqueue)(second)  # type: ignore[union-attr]
    assert len(h.adapter.sent) == before
    assert await m.Ballot.all().count() == 1


async def test_a_claim_of_a_dead_worker_is_taken_over_after_its_lease(harness: ConsoleRig) -> None:
    h = harness
    await _open_vote(h)
    message = h.adapter.decode("王强", "投票 赞成")
    a, b = _inbox(h, "a"), _inbox(h, "b")
    assert await a.submit(message)
    claimed = await store.claim("a", h.clock.now(), lease=a.lease, limit=10)
    assert [c.key for c in claimed] == [message_key(message)]
    # "a" dies here. While its lease runs, nobody else takes the row.
    assert await b.run_once() == 0
    h.clock.advance(a.lease + timedelta(seconds=1))
    assert await b.run_once() == 1
    assert await m.Ballot.all().count() == 1
    assert await b.depth() == 0


async def test_a_sqlite_restart_takes_over_what_the_killed_process_held_at_once(
    harness: ConsoleRig, tmp_path: Path
) -> None:
    """On SQLite the single-instance lock proves the killed process gone: the new instance
    frees its claims on start (they had held the chat's messages and replies for a minute)."""
    h = harness
    await _open_vote(h)
    message = h.adapter.decode("王强", "投票 赞成")
    a, b = _inbox(h, "a"), _inbox(h, "b")
    assert await a.submit(message)
    await store.claim("a", h.clock.now(), lease=a.lease, limit=10)
    assert await b.run_once() == 0
    # "a" was killed; the new instance starts: the single-instance lock is its to take
    restarted = Heartbeat("b", h.clock.now, time.monotonic)
    await restarted.start(single=True, lock_file=tmp_path / "yishi.db.lock")
    try:
        assert await b.run_once() == 1
    finally:
        await restarted.stop()
    assert await m.Ballot.all().count() == 1


async def test_a_close_from_another_chat_waits_for_ballots_queued_before_it(
    harness: ConsoleRig,
) -> None:
    """Ballots acknowledged in the group and still held by a killed process had been left out of
    the result when the leader closed the vote from a private chat (the queue orders each chat
    alone): the close now waits for them, and after them it counts them."""
    h = harness
    await _open_vote(h)
    a, b = _inbox(h, "a"), _inbox(h, "b")
    for name in ("李娜", "王强", "刘洋"):
        assert await a.submit(h.adapter.decode(name, "反对"))
    await store.claim("a", h.clock.now(), lease=a.lease, limit=10)  # then "a" dies
    close = h.adapter.decode("张伟", "结束表决 现在", private=True)
    before = len(h.adapter.sent)
    assert await b.submit(close)
    assert await b.drain() == 1
    (told,) = _texts(h.adapter.sent[before:])
    assert told.startswith("还有3条在这之前收到的消息（可能有投票）正在处理，本次没有结束表决。")
    assert await m.Vote.filter(state="open").count() == 1
    h.clock.advance(a.lease + timedelta(seconds=1))
    assert await b.drain() == 3
    result = (await h.say("张伟", "结束表决 现在")).text
    assert "反对3" in result


def test_the_instance_lock_is_one_for_a_file_however_it_is_named(tmp_path: Any) -> None:
    """A symlink to the database had let a second instance run beside the first."""
    (tmp_path / "yishi.db").write_bytes(b"")
    (tmp_path / "alias.db").symlink_to(tmp_path / "yishi.db")
    assert lock_path(f"sqlite:///{tmp_path}/alias.db") == lock_path(
        f"sqlite:///{tmp_path}/yishi.db"
    )


def test_a_lock_file_taken_away_by_its_holder_is_not_a_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restore removes the lock file it made when it lets go. A process that had opened the
    file just before, and flocked it just after, held a lock on a file no name led to: the
    next one made a new file and took that, two holders at once. The lock is taken on the file
    the name leads to."""
    from storage import instance_lock
    from storage.instance_lock import InstanceLock

    path = tmp_path / "yishi.db.lock"
    first = InstanceLock(path)
    assert first.acquire()
    real = instance_lock._flocked
    tries: list[int] = []

    def meanwhile(fd: int) -> bool:
        if not tries:  # between the open and the flock: the holder lets go, file and all
            path.unlink()
            first.release()
        tries.append(fd)
        return real(fd)

    monkeypatch.setattr(instance_lock, "_flocked", meanwhile)
    second = InstanceLock(path)
    assert second.acquire()
    assert len(tries) == 2  # opened again: the file the name leads to now
    monkeypatch.undo()
    assert not InstanceLock(path).acquire()
    second.release()


async def test_two_workers_share_the_queue_without_overlap(harness: ConsoleRig) -> None:
    """Many chats, several messages each; two instances drain together: each row applied by
    exactly one of them, and a chat never has two rows in flight."""
    h = harness
    a, b = _inbox(h, "a"), _inbox(h, "b")
    seen: dict[str, list[str]] = {"a": [], "b": []}
    in_flight: set[str] = set()
    overlaps: list[str] = []

    def recorder(name: str, box: Inbox) -> None:
        async def apply(message: IncomingMessage) -> None:
            key = chat_key(message)
            if key in in_flight:
                overlaps.append(key)
            in_flight.add(key)
            await asyncio.sleep(0)
            in_flight.discard(key)
            seen[name].append(message.message_id)

        box._apply = apply

    recorder("a", a)
    recorder("b", b)
    messages: list[IncomingMessage] = []
    for chat in range(20):
        group = replace(h.adapter.decode("李娜", "帮助").chat, chat_id=f"group-{chat}")
        for n in range(3):
            msg = h.adapter.decode("李娜", f"帮助 {n}")
            messages.append(replace(msg, chat=group))
    assert all(await asyncio.gather(*(a.submit(msg) for msg in messages)))

    async def work(box: Inbox) -> None:
        while await box.run_once():
            pass

    for _ in range(5):
        await asyncio.gather(work(a), work(b))
    applied = seen["a"] + seen["b"]
    assert sorted(applied) == sorted(msg.message_id for msg in messages)
    assert overlaps == []
    # Within a chat, arrival order is kept.
    order = {mid: i for i, mid in enumerate(applied)}
    for chat in range(0, 60, 3):
        ids = [messages[chat + n].message_id for n in range(3)]
        assert [order[i] for i in ids] == sorted(order[i] for i in ids)


def _plan_work(node: dict[str, Any]) -> int:
    """Rows a plan node and those below it produced or threw away, over all their loops."""
    kinds = ("Actual Rows", "Rows Removed by Filter", "Rows Removed by Join Filter")
    rows = sum(int(node.get(kind, 0)) for kind in kinds) * int(node.get("Actual Loops", 1))
    return rows + sum(_plan_work(child) for child in node.get("Plans", []))


async def test_the_claim_stays_linear_with_statistics_of_an_empty_queue(
    backend: str, database: str
) -> None:
    """PostgreSQL analysed the table while every row was done (autovacuum does so when the
    queue is quiet), then a burst arrives: the claim must not compare every pending row with
    every other. Measured as rows the plan handles (EXPLAIN ANALYZE), against the burst."""
    if backend != "postgres":
        pytest.skip("PostgreSQL's planner")
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    quiet = [store.NewInbound(f"q{i}", f"chat{i % 40}", "x") for i in range(400)]
    await store.accept(quiet, now)
    await store.finish([int(r.id) for r in await m.InboundMessage.all()], now)
    client = connections.get("postgres")
    await client.execute_script("ANALYZE inbound_message")
    burst = [store.NewInbound(f"b{i}", f"chat{i % 50}", "x") for i in range(2000)]
    await store.accept(burst, now)
    with sql.statements() as seen:
        claimed = await store.claim("a", now, lease=timedelta(minutes=1), limit=16)
    assert len(claimed) == 16
    assert [c.key for c in claimed] == [f"b{i}" for i in range(16)]  # each chat's oldest
    select = next(s for s in seen if s.sql.startswith("WITH heads"))
    _, rows = await client.execute_query(
        f"EXPLAIN (ANALYZE, FORMAT JSON) {select.sql}", list(select.params)
    )
    plan = json.loads(rows[0][0])[0]["Plan"]
    assert _plan_work(plan) < 10 * len(burst)


async def _work(backend: str, database: str, statement: sql.Sent) -> int:
    """How much a statement handles: rows through its plan (PostgreSQL's EXPLAIN ANALYZE), or
    SQLite's virtual machine steps (on a connection of its own, so the app's is untouched)."""
    if backend == "postgres":
        _, rows = await connections.get("postgres").execute_query(
            f"EXPLAIN (ANALYZE, FORMAT JSON) {statement.sql}", list(statement.params)
        )
        return _plan_work(json.loads(rows[0][0])[0]["Plan"])
    steps = 0

    def step() -> int:
        nonlocal steps
        steps += 1
        return 0

    path = sqlite_path(database)
    assert path is not None
    with sqlite3.connect(path) as conn:
        conn.set_progress_handler(step, 10)
        conn.execute(statement.sql, statement.params).fetchall()
    return steps


async def test_a_claim_reads_a_few_rows_a_chat_however_long_its_backlog(
    backend: str, database: str
) -> None:
    """The statement that reads the chosen chats' first rows handles about `per_chat` rows a
    chat: with 400 pending in each of five chats no more than with 8 (a window over every
    pending row of the chats, as before, handled all 2,000)."""
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    held = timedelta(minutes=1)
    work = []
    for size, tag in ((8, "short"), (400, "long")):
        await store.accept(
            [store.NewInbound(f"{tag}{i}", f"{tag}{i % 5}", "x") for i in range(5 * size)], now
        )
        with sql.statements() as seen:
            claimed = await store.claim(tag, now, lease=held, limit=64, per_chat=4)
        assert sorted(c.key for c in claimed) == sorted(f"{tag}{i}" for i in range(20))
        work.append(await _work(backend, database, next(s for s in seen if "payload" in s.sql)))
        await m.InboundMessage.filter(key__startswith=tag).update(state="done")
    short, long = work
    assert long < 1.5 * short, work


async def test_a_claim_takes_a_prefix_of_each_chat_and_at_most_per_chat(database: str) -> None:
    """Each free chat's oldest pending rows in arrival order, up to `per_chat`; a chat whose
    oldest row another worker holds is not taken at all; and a row held elsewhere further
    down a chat ends what is taken of it (nothing after a gap)."""
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    rows = [store.NewInbound(f"a{i}", "chat-a", "x") for i in range(20)]
    rows += [store.NewInbound(f"b{i}", "chat-b", "x") for i in range(3)]
    rows += [store.NewInbound(f"c{i}", "chat-c", "x") for i in range(3)]
    await store.accept(rows, now)
    held = timedelta(minutes=1)
    for key in ("b0", "c1"):  # chat b's oldest row, and the middle one of chat c
        await sql.raw_execute(
            m.InboundMessage,
            "UPDATE inbound_message SET claimed_by = 'other', claimed_until = ? WHERE key = ?",
            now + held,
            key,
        )
    claimed = await store.claim("a", now, lease=held, limit=64, per_chat=16)
    assert [c.key for c in claimed] == [f"a{i}" for i in range(16)] + ["c0"]
    assert {c.chat_key for c in claimed} == {"chat-a", "chat-c"}
