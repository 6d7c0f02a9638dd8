"""SQLite's engine (storage/sqlite_engine.py): short statements run on the event loop's thread,
what could wait or take long on aiosqlite's thread. Where a statement ran is read from SQLite
itself (a function returning the id of the thread that evaluates it), and the loop's freedom
from a ticking task while another process holds the lock or a read runs long."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from storage import db
from storage.sqlite_engine import InlineConnection
from tests.kit.databases import copy_sqlite_template

LOOP_THREAD = threading.get_ident

# About a second of SQLite's own work (far over the read budget), returning one number.
LONG_READ = (
    "SELECT COUNT(*) AS n FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL"
    " SELECT x + 1 FROM c WHERE x < 3000000) SELECT x FROM c)"
)


@pytest.fixture
async def sqlite_db(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Path]:
    path = tmp_path / "engine.db"
    await db.open_db(copy_sqlite_template(sqlite_template, path) + "?busy_timeout=400")
    client: Any = connections.get("sqlite")
    await client.execute_script("CREATE TABLE probe (id INTEGER PRIMARY KEY, thread INTEGER)")
    conn: InlineConnection = client._connection
    assert isinstance(conn, InlineConnection)
    conn._conn.create_function("thread_id", 0, threading.get_ident)
    try:
        yield path
    finally:
        await db.close_db()


def _connection() -> InlineConnection:
    conn: InlineConnection = connections.get("sqlite")._connection  # type: ignore[attr-defined]
    return conn


async def _thread_of(sql: str, client: Any = None) -> int:
    rows = await (client or connections.get("sqlite")).execute_query_dict(sql)
    return int(rows[0]["t"])


async def test_a_transactions_statements_run_on_the_loops_thread(sqlite_db: Path) -> None:
    here = LOOP_THREAD()
    async with in_transaction("sqlite") as tx:
        assert await _thread_of("SELECT thread_id() AS t", tx) == here
        rows = await tx.execute_query_dict(
            "INSERT INTO probe (thread) VALUES (thread_id()) RETURNING thread AS t"
        )
        assert rows[0]["t"] == here
        await tx.execute_query("UPDATE probe SET thread = thread_id()")
    # A plain read outside a transaction, too.
    assert await _thread_of("SELECT thread_id() AS t") == here
    # What was written inside is committed (on aiosqlite's thread: the file flush).
    rows = await connections.get("sqlite").execute_query_dict("SELECT thread FROM probe")
    assert [r["thread"] for r in rows] == [here]
    assert _connection().handed_over == 0


async def test_a_write_outside_a_transaction_commits_on_aiosqlites_thread(
    sqlite_db: Path,
) -> None:
    """In autocommit mode a write flushes the file as it ends: never on the loop's thread."""
    client = connections.get("sqlite")
    await client.execute_query("INSERT INTO probe (thread) VALUES (thread_id())")
    rows = await client.execute_query_dict("SELECT thread FROM probe")
    assert rows[0]["thread"] != LOOP_THREAD()


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


async def test_a_write_locked_by_another_process_waits_off_the_loop(sqlite_db: Path) -> None:
    """Another process holds the write lock for 200 ms (the busy timeout is 400 ms): the
    transaction's first write waits on aiosqlite's thread while the loop goes on, then runs."""
    outside = sqlite3.connect(sqlite_db, isolation_level=None, check_same_thread=False)
    outside.execute("BEGIN IMMEDIATE")
    threading.Timer(0.2, outside.execute, args=("COMMIT",)).start()

    async def write() -> None:
        async with in_transaction("sqlite") as tx:
            await tx.execute_query("INSERT INTO probe (thread) VALUES (thread_id())")

    try:
        _, ticks = await _ticks_while(write())
    finally:
        await asyncio.sleep(0.05)
        outside.close()
    assert ticks >= 5
    assert _connection().handed_over == 1
    rows = await connections.get("sqlite").execute_query_dict("SELECT thread FROM probe")
    assert len(rows) == 1
    assert rows[0]["thread"] != LOOP_THREAD()  # it ran where it waited


async def test_a_lock_held_past_the_busy_timeout_still_refuses_the_write(
    sqlite_db: Path,
) -> None:
    outside = sqlite3.connect(sqlite_db, isolation_level=None)
    outside.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Exception, match="locked"):
            async with in_transaction("sqlite") as tx:
                await tx.execute_query("INSERT INTO probe (thread) VALUES (1)")
    finally:
        outside.execute("ROLLBACK")
        outside.close()
    assert await connections.get("sqlite").execute_query_dict("SELECT * FROM probe") == []
    # The connection is usable again, on the loop's thread.
    assert await _thread_of("SELECT thread_id() AS t") == LOOP_THREAD()


async def test_a_long_read_is_stopped_at_its_budget_and_run_off_the_loop(
    sqlite_db: Path,
) -> None:
    """Inside a transaction that has written: the read over its budget is interrupted (a read
    has no effect), run again on aiosqlite's thread while the loop ticks, and the transaction's
    write is kept."""

    async def work() -> int:
        async with in_transaction("sqlite") as tx:
            await tx.execute_query("INSERT INTO probe (thread) VALUES (7)")
            rows = await tx.execute_query_dict(LONG_READ)
            return int(rows[0]["n"])

    n, ticks = await _ticks_while(work())
    assert n == 3_000_000
    assert ticks >= 3
    assert _connection().handed_over == 1
    rows = await connections.get("sqlite").execute_query_dict("SELECT thread FROM probe")
    assert [r["thread"] for r in rows] == [7]
