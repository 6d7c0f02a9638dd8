"""SQLite's engine (storage/sqlite_engine.py): short statements run on the event loop's thread,
what could wait or take long on aiosqlite's thread. Where each statement ran is read from SQLite
itself (its statement trace, called on the thread that runs the statement), and the loop's
freedom from a ticking task while another process holds the lock or a read runs long."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tortoise import connections
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.transactions import in_transaction

from storage import db, header_bindings, sql
from storage import models as m
from storage.sqlite_engine import INLINE_COMMIT_BUDGET_S, InlineConnection, commit_on_thread
from tests.kit.databases import copy_sqlite_template

# About a second of SQLite's own work (far over the read budget), returning one number.
LONG_READ = (
    "SELECT COUNT(*) AS n FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL"
    " SELECT x + 1 FROM c WHERE x < 3000000) SELECT x FROM c)"
)

# (statement's first word, whether it ran on the loop's thread), in the order SQLite ran them.
Trace = list[tuple[str, bool]]


@pytest.fixture
async def trace(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Trace]:
    """A database with a `probe` table; what runs on its connection from now on, without the
    busy-timeout PRAGMAs the engine sets around the calls it hands over."""
    path = tmp_path / "engine.db"
    await db.open_db(copy_sqlite_template(sqlite_template, path) + "?busy_timeout=400")
    await connections.get("sqlite").execute_script(
        "CREATE TABLE probe (id INTEGER PRIMARY KEY, n INTEGER)"
    )
    loop_thread = threading.get_ident()
    ran: Trace = []

    def seen(statement: str) -> None:
        if not statement.startswith("PRAGMA busy_timeout"):
            ran.append((statement.split()[0].upper(), threading.get_ident() == loop_thread))

    _connection()._conn.set_trace_callback(seen)
    try:
        yield ran
    finally:
        await db.close_db()


def _connection() -> InlineConnection:
    conn = connections.get("sqlite")._connection  # type: ignore[attr-defined]
    assert isinstance(conn, InlineConnection)
    return conn


def _path() -> str:
    return str(connections.get("sqlite").filename)  # type: ignore[attr-defined]


async def _probe() -> list[int]:
    rows = await connections.get("sqlite").execute_query_dict("SELECT n FROM probe ORDER BY id")
    return [int(r["n"]) for r in rows]


async def test_a_transaction_runs_on_the_loops_thread_and_commits_off_it(trace: Trace) -> None:
    async with in_transaction("sqlite") as tx:
        await tx.execute_query_dict("SELECT COUNT(*) FROM probe")
        await tx.execute_query_dict("INSERT INTO probe (n) VALUES (1) RETURNING id")
        await tx.execute_query("UPDATE probe SET n = 2")
    assert await _probe() == [2]  # a plain read outside a transaction
    assert trace == [
        ("BEGIN", True),
        ("SELECT", True),
        ("INSERT", True),
        ("UPDATE", True),
        ("COMMIT", False),  # the file flush
        ("SELECT", True),
    ]
    assert _connection().handed_over == 0


async def test_a_write_outside_a_transaction_runs_off_the_loop(trace: Trace) -> None:
    """In autocommit mode a write flushes the file as it ends: never on the loop's thread."""
    await connections.get("sqlite").execute_query("INSERT INTO probe (n) VALUES (1)")
    assert trace == [("INSERT", False)]


async def _ticks_while(work: Any) -> tuple[Any, int]:
    """Run `work` while a task ticks every 10 ms on the loop; the result and the ticks."""
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        result = await work
    finally:
        stop.set()
        await task
    return result, ticks


async def _insert_while_held(holder: sqlite3.Connection) -> int:
    """One transaction inserting into `probe` while `holder` (another connection, its lock
    taken) keeps its lock for 200 ms, then commits; the loop's ticks meanwhile. Closes
    `holder`."""
    threading.Timer(0.2, holder.execute, args=("COMMIT",)).start()

    async def write() -> None:
        async with in_transaction("sqlite") as tx:
            await tx.execute_query("INSERT INTO probe (n) VALUES (1)")

    try:
        _, ticks = await _ticks_while(write())
    finally:
        await asyncio.sleep(0.05)
        holder.close()
    return ticks


async def _reader_in_rollback_journal_mode() -> sqlite3.Connection:
    """The database in rollback-journal mode (where COMMIT needs every reader gone) and another
    connection holding a reader's shared lock."""
    await connections.get("sqlite").execute_script("PRAGMA journal_mode=DELETE")
    reader = sqlite3.connect(_path(), isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM probe").fetchall()  # holds a shared lock
    return reader


async def test_a_write_locked_by_another_process_waits_off_the_loop(trace: Trace) -> None:
    """Another process holds the write lock for 200 ms (the busy timeout is 400 ms): the
    transaction's first write finds it on the loop's thread without waiting, waits on
    aiosqlite's thread while the loop goes on, then runs there."""
    outside = sqlite3.connect(_path(), isolation_level=None, check_same_thread=False)
    outside.execute("BEGIN IMMEDIATE")
    ticks = await _insert_while_held(outside)
    assert ticks >= 5
    assert _connection().handed_over == 1
    assert trace == [("BEGIN", True), ("INSERT", True), ("INSERT", False), ("COMMIT", False)]
    assert await _probe() == [1]


async def test_a_lock_held_past_the_busy_timeout_still_refuses_the_write(trace: Trace) -> None:
    outside = sqlite3.connect(_path(), isolation_level=None)
    outside.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Exception, match="locked"):
            async with in_transaction("sqlite") as tx:
                await tx.execute_query("INSERT INTO probe (n) VALUES (1)")
    finally:
        outside.execute("ROLLBACK")
        outside.close()
    assert await _probe() == []
    # The connection is usable again, on the loop's thread.
    assert trace[-1] == ("SELECT", True)


async def test_a_long_read_is_stopped_at_its_budget_and_run_off_the_loop(trace: Trace) -> None:
    """Inside a transaction that has written: the read over its budget is interrupted (a read
    has no effect), run again on aiosqlite's thread while the loop ticks, and the transaction's
    write is kept."""

    async def work() -> int:
        async with in_transaction("sqlite") as tx:
            await tx.execute_query("INSERT INTO probe (n) VALUES (7)")
            rows = await tx.execute_query_dict(LONG_READ)
            return int(rows[0]["n"])

    n, ticks = await _ticks_while(work())
    assert n == 3_000_000
    assert ticks >= 3
    assert _connection().handed_over == 1
    assert ("SELECT", True) in trace  # tried on the loop's thread first
    assert ("SELECT", False) in trace
    assert await _probe() == [7]


async def test_a_commit_kept_waiting_by_a_reader_is_tried_again_with_the_timeout(
    trace: Trace,
) -> None:
    """A COMMIT is first tried without waiting (it almost never has to); one that meets a lock
    (here a reader's, in rollback-journal mode, where COMMIT needs the reader gone) leaves the
    transaction open, and is tried again on aiosqlite's thread with the busy timeout while the
    loop goes on."""
    reader = await _reader_in_rollback_journal_mode()
    trace.clear()
    ticks = await _insert_while_held(reader)
    assert ticks >= 5
    assert trace == [("BEGIN", True), ("INSERT", True), ("COMMIT", False), ("COMMIT", False)]
    assert await _probe() == [1]


async def _insert_one() -> None:
    async with in_transaction("sqlite") as tx:
        await tx.execute_query("INSERT INTO probe (n) VALUES (1)")


async def test_a_quick_commit_runs_on_the_loops_thread(trace: Trace) -> None:
    """The first COMMIT is flushed off the loop and timed; while commits take at most
    INLINE_COMMIT_BUDGET_S on average, the next ones run on the loop's thread (no hand-over,
    no wake-up: a durable vote's last 0.1-0.15 ms) and keep the average up to date."""
    conn = _connection()
    assert conn.commit_s is None
    await _insert_one()
    assert ("COMMIT", False) in trace
    assert conn.commit_s is not None
    conn.commit_s = 0.0  # whatever this disk's flush takes, it counts as quick
    trace.clear()
    await _insert_one()
    assert trace == [("BEGIN", True), ("INSERT", True), ("COMMIT", True)]
    assert conn.commit_s > 0.0  # measured where it ran
    assert conn.handed_over == 0
    assert await _probe() == [1, 1]


async def test_a_slow_commit_goes_back_off_the_loop(trace: Trace) -> None:
    """Commits over the budget on average are flushed off the loop again, and timed there: the
    average comes back down when the disk is quick again."""
    conn = _connection()
    slow = 1000 * INLINE_COMMIT_BUDGET_S  # so far over that even a loaded machine's flush is less
    conn.commit_s = slow
    await _insert_one()
    assert trace[-1] == ("COMMIT", False)
    assert conn.commit_s < slow


async def test_a_rounds_commit_stays_off_the_loop(trace: Trace) -> None:
    """Inside commit_on_thread (an inbound round, which many callbacks wait for) the COMMIT is
    flushed off the loop however quick it would be; after it, quick commits run inline."""
    conn = _connection()
    conn.commit_s = 0.0
    with commit_on_thread():
        await _insert_one()
    assert trace[-1] == ("COMMIT", False)
    conn.commit_s = 0.0
    await _insert_one()
    assert trace[-1] == ("COMMIT", True)


async def test_the_doors_batch_commits_off_the_loop(trace: Trace) -> None:
    """The door's batch of header bindings (the insert and the read of the pairs: one
    transaction) is waited for by every callback of the batch: its COMMIT is flushed off the
    loop even when commits are quick."""
    _connection().commit_s = 0.0
    now = datetime.now(UTC)
    batch = [
        header_bindings.Binding(f"ts-{i}:sign", f"msg-{i}", "d", now, now, timedelta(seconds=1))
        for i in range(3)
    ]
    assert await header_bindings.bind_many(batch) == ["", "", ""]
    assert trace[0] == ("BEGIN", True)
    assert trace[-1] == ("COMMIT", False)


async def test_a_quick_commit_found_busy_is_handed_over(trace: Trace) -> None:
    """A COMMIT run on the loop's thread never waits: one that meets a lock (a reader's, in
    rollback-journal mode) has had no effect and goes to aiosqlite's thread, where it waits
    with the busy timeout while the loop goes on."""
    reader = await _reader_in_rollback_journal_mode()
    _connection().commit_s = 0.0
    trace.clear()
    ticks = await _insert_while_held(reader)
    assert ticks >= 5
    assert trace[:3] == [("BEGIN", True), ("INSERT", True), ("COMMIT", True)]
    assert set(trace[3:]) == {("COMMIT", False)}
    assert _connection().handed_over == 1
    assert await _probe() == [1]


# The hand-written statements (storage/sql.py) go through `sqlite_engine.fetch`, not tortoise's
# layers: the same placement, the same lock, the same log line, the same errors.


async def test_hand_written_statements_run_where_tortoise_would_run_them(
    trace: Trace, monkeypatch: pytest.MonkeyPatch
) -> None:
    through_tortoise: list[str] = []
    for name in ("execute_query", "execute_query_dict"):
        original = getattr(SqliteClient, name)

        async def counted(self: Any, query: str, *args: Any, _original: Any = original) -> Any:
            through_tortoise.append(query)
            return await _original(self, query, *args)

        monkeypatch.setattr(SqliteClient, name, counted)
    with sql.statements() as sent:
        async with in_transaction("sqlite"):
            await sql.raw_execute(m.ChannelState, "INSERT INTO probe (n) VALUES (?)", 1)
            rows = await sql.raw_rows(m.ChannelState, "SELECT n FROM probe")
        await sql.raw_execute(m.ChannelState, "UPDATE probe SET n = ?", 2)
        read = await sql.records(m.ChannelState, "SELECT n FROM probe")
    assert rows == [{"n": 1}]
    assert [r["n"] for r in read] == [2]
    assert trace == [
        ("BEGIN", True),
        ("INSERT", True),
        ("SELECT", True),
        ("COMMIT", False),
        ("UPDATE", False),  # autocommit: it flushes the file
        ("SELECT", True),
    ]
    assert through_tortoise == []
    # Counted as tortoise's own statements are (the statement-count tests rely on it).
    assert [(s.sql.split()[0], s.params) for s in sent] == [
        ("INSERT", (1,)),
        ("SELECT", ()),
        ("UPDATE", (2,)),
        ("SELECT", ()),
    ]


async def test_a_hand_written_write_found_busy_is_tried_on_the_loop_once(trace: Trace) -> None:
    outside = sqlite3.connect(_path(), isolation_level=None, check_same_thread=False)
    outside.execute("BEGIN IMMEDIATE")
    threading.Timer(0.2, outside.execute, args=("COMMIT",)).start()

    async def write() -> None:
        async with in_transaction("sqlite"):
            await sql.raw_execute(m.ChannelState, "INSERT INTO probe (n) VALUES (1)")

    try:
        _, ticks = await _ticks_while(write())
    finally:
        await asyncio.sleep(0.05)
        outside.close()
    assert ticks >= 5
    assert _connection().handed_over == 1
    assert trace == [("BEGIN", True), ("INSERT", True), ("INSERT", False), ("COMMIT", False)]


async def test_hand_written_statements_raise_tortoises_errors(trace: Trace) -> None:
    """unit_of_work tells a redelivered message by tortoise's IntegrityError."""
    await sql.raw_execute(m.ChannelState, "INSERT INTO probe (id, n) VALUES (1, 1)")
    with pytest.raises(IntegrityError):
        async with in_transaction("sqlite"):
            await sql.raw_rows(m.ChannelState, "INSERT INTO probe (id, n) VALUES (1, 2)")
    with pytest.raises(OperationalError):
        await sql.raw_rows(m.ChannelState, "SELECT nothing FROM probe")
    assert await _probe() == [1]


async def test_a_hand_written_statement_waits_for_one_on_the_thread(trace: Trace) -> None:
    """Two statements of one transaction at once: the long read goes to aiosqlite's thread
    holding the transaction's lock; the short one waits for the lock, not for the connection
    on the loop's thread (which would hold the loop until the long read ended)."""
    await sql.raw_execute(m.ChannelState, "INSERT INTO probe (n) VALUES (5)")
    trace.clear()

    async def both() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with in_transaction("sqlite"):
            long, short = await asyncio.gather(
                sql.raw_rows(m.ChannelState, LONG_READ),
                sql.raw_rows(m.ChannelState, "SELECT n FROM probe"),
            )
            return long, short

    (long, short), ticks = await _ticks_while(both())
    assert long[0]["n"] == 3_000_000
    assert short == [{"n": 5}]
    assert ticks >= 3
    assert trace == [
        ("BEGIN", True),
        ("SELECT", True),  # the long read, stopped at its budget
        ("SELECT", False),
        ("SELECT", True),  # the short one, once the long one is done
        ("COMMIT", False),
    ]
