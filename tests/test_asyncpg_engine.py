"""storage/asyncpg_engine.py: the pool gives connections back without asyncpg's reset query,
which is safe only while the code leaves no session state on a connection."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from storage import db
from storage import models as m
from storage import outbox as outbox_store

ROOT = Path(__file__).resolve().parent.parent

# What asyncpg's reset query undoes, as our SQL would say it. A SET or set_config inside a
# transaction with LOCAL / true ends with the transaction and is fine.
SESSION_STATE = {
    "advisory lock": re.compile(r"pg_advisory_(?!xact_)", re.IGNORECASE),
    "LISTEN": re.compile(r"[\"'(]\s*LISTEN\b", re.IGNORECASE),
    "cursor": re.compile(r"\bDECLARE\s+\w+\s+(?:BINARY\s+)?(?:NO\s+)?(?:SCROLL\s+)?CURSOR\b", re.I),
    "session setting": re.compile(
        r"[\"'(]\s*SET\s+(?:SESSION\s+)?(?!LOCAL\b)(?!TRANSACTION\b)\w+\s*(?:=|TO\b)", re.I
    ),
    "session set_config": re.compile(r"set_config\([^)]*,\s*false\s*\)", re.IGNORECASE),
}


def test_the_code_leaves_no_session_state_on_a_connection() -> None:
    found = []
    for folder in ("bot", "handlers", "storage"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == "asyncpg_engine.py":
                continue  # it quotes the reset query
            text = path.read_text(encoding="utf-8")
            for what, pattern in SESSION_STATE.items():
                for match in pattern.finditer(text):
                    line = text.count("\n", 0, match.start()) + 1
                    found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert found == []


def test_the_patterns_find_what_they_are_for() -> None:
    said = {
        "advisory lock": "SELECT pg_advisory_lock(42)",
        "LISTEN": "await conn.execute('LISTEN changes')",
        "cursor": "DECLARE c NO SCROLL CURSOR FOR SELECT 1",
        "session setting": 'await conn.execute("SET SESSION statement_timeout TO 5")',
        "session set_config": "SELECT set_config('jit', 'off', false)",
    }
    for what, text in said.items():
        assert SESSION_STATE[what].search(text), what
    fine = [
        "SELECT pg_advisory_xact_lock(1)",
        "UPDATE channel_state SET lease_owner = ?",
        '"SET LOCAL enable_seqscan = off"',
        '"""Set a society aside under another name',
        "SELECT set_config('jit', 'off', true)",
    ]
    assert [t for t in fine if any(p.search(t) for p in SESSION_STATE.values())] == []


@pytest.mark.parametrize("backend", ["postgres"])
async def test_connections_go_back_to_the_pool_without_the_reset_query(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Statements outside and inside transactions, a rolled-back transaction: none of them
    makes asyncpg run its reset query (a release that did fails here)."""

    async def refused(self: asyncpg.Connection, **_: object) -> None:
        raise AssertionError("the reset query ran")

    async def undone() -> None:
        async with in_transaction():
            await outbox_store.ensure_channels(["c"])
            raise ZeroDivisionError

    monkeypatch.setattr(asyncpg.Connection, "reset", refused)
    for _ in range(3):
        await outbox_store.ensure_channels(["a", "b"])
        assert await m.ChannelState.all().count() == 2
    with pytest.raises(ZeroDivisionError):
        await undone()
    assert sorted(c.channel for c in await outbox_store.channels()) == ["a", "b"]


@pytest.mark.parametrize("backend", ["postgres"])
async def test_a_connection_given_back_inside_a_transaction_comes_back_rolled_back(
    database: str,
) -> None:
    client = connections.get(db.connection_name(database))
    pool = client._pool  # type: ignore[attr-defined]
    pool_size = pool.get_size()
    for _ in range(pool_size + 1):  # every connection of the pool, and one again
        async with pool.acquire() as raw:
            await raw.execute("BEGIN")
            await raw.execute(
                "INSERT INTO channel_state (channel, reason, lease_owner) VALUES ('x', '', '')"
            )
    async with pool.acquire() as raw:
        assert not raw.is_in_transaction()
    assert await m.ChannelState.all().count() == 0


@pytest.mark.parametrize("backend", ["postgres"])
async def test_savepoints_stay_open_and_keep_their_meaning(database: str) -> None:
    """A nested block that ends well is not released (no round trip): its savepoint still
    exists afterwards. Its writes are kept, a later block that fails rolls back only its own,
    and a round of a thousand such blocks commits."""

    async def channel(name: str) -> None:
        await outbox_store.ensure_channels([name])

    async def undone() -> None:
        async with in_transaction():
            await channel("undone")
            raise ZeroDivisionError

    async with in_transaction():
        await channel("outer")
        async with in_transaction() as kept:
            await channel("kept")
        savepoint = kept.transaction._id  # type: ignore[attr-defined]
        with pytest.raises(ZeroDivisionError):
            await undone()
        for number in range(1000):
            async with in_transaction(), in_transaction():
                await channel(f"m{number}")
        # Released, it would be gone: PostgreSQL answers "savepoint does not exist".
        await kept._connection.execute(f"RELEASE SAVEPOINT {savepoint}")  # type: ignore[attr-defined]
    names = {c.channel for c in await outbox_store.channels()}
    assert "undone" not in names
    assert {"outer", "kept", "m0", "m999"} <= names
    assert len(names) == 1002


@pytest.mark.parametrize("backend", ["postgres"])
async def test_the_pool_has_room_for_the_inbound_workers(database: str) -> None:
    """tortoise's default pool is 5 connections: the inbound workers' rounds beside the door's
    batches and the sender would wait for one. The pool takes POOL_MAXSIZE unless the URL says
    (?maxsize=)."""
    client: Any = connections.get(db.connection_name(database))
    assert client._pool.get_max_size() == db.POOL_MAXSIZE
    asked = db.connection_config(f"{database}?maxsize=3")["credentials"]["maxsize"]
    assert int(asked) == 3
