"""Fault injection on both databases: every acknowledged (queued) message is applied exactly once.

Each transient fault (a locked or busy database, a lost connection, a full disk, a timeout) is
injected at each step of applying a queued vote: before the effect, after the effect before the
commit, during the commit, after the commit (the commit went through but the caller heard an
error), and when the row is marked done. The worker keeps the message pending and tries again;
in the end every member has exactly one ballot, one acknowledgement, and nobody was told
「没有生效」. Two more tests use real faults: an outside write lock on the SQLite file held past the
busy timeout, and PostgreSQL connections killed while votes are applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tortoise import connections
from tortoise.backends.asyncpg.client import TransactionWrapper as PgTransaction
from tortoise.backends.sqlite.client import SqliteTransactionWrapper
from tortoise.exceptions import OperationalError

from bot.events import IncomingMessage, OutgoingMessage
from bot.inbox import Inbox, make_apply
from storage import db, repo
from storage import inbox as inbox_store
from storage import models as m
from storage import outbox as outbox_store
from storage.faults import is_transient
from tests.conftest import PG_SERVER
from tests.kit.console import ConsoleRig
from tests.kit.voting import open_vote

VOTERS = ("李娜", "王强", "刘洋", "陈静", "杨帆")
APOLOGY = "没有生效"


def _sqlite_fault(text: str) -> Callable[[], Exception]:
    def make() -> Exception:
        cause = sqlite3.OperationalError(text)
        err = OperationalError(cause)
        err.__cause__ = cause
        return err

    return make


def _pg_fault(kind: type[Exception], text: str) -> Callable[[], Exception]:
    return lambda: kind(text)


FAULTS: dict[str, dict[str, Callable[[], Exception]]] = {
    "sqlite": {
        "locked": _sqlite_fault("database is locked"),
        "disk_full": _sqlite_fault("database or disk is full"),
        "io_error": _sqlite_fault("disk I/O error"),
        "timeout": TimeoutError,
    },
    "postgres": {
        "connection_lost": _pg_fault(
            asyncpg.exceptions.ConnectionDoesNotExistError,
            "connection was closed in the middle of operation",
        ),
        "disk_full": _pg_fault(asyncpg.exceptions.DiskFullError, "could not extend file"),
        "admin_shutdown": _pg_fault(
            asyncpg.exceptions.AdminShutdownError,
            "terminating connection due to administrator command",
        ),
        "timeout": TimeoutError,
    },
}
STEPS = ("before_effect", "after_effect", "during_commit", "after_commit", "mark_done")
CASES = [(backend, step) for backend in FAULTS for step in STEPS]


async def _queued_votes(
    h: ConsoleRig, *, batch: int = 64
) -> tuple[Inbox, list[IncomingMessage], int]:
    """An open vote, and every voter's ballot queued (acknowledged): the inbox (claiming
    `batch` messages a round), the votes, and how many messages the rig had sent before."""
    await open_vote(h, VOTERS)
    box = h.inbox("worker", backoff=(0.01, 0.05), idle=0.05, batch=batch)
    votes = _votes(h)
    for vote in votes:
        assert await box.submit(vote)
    return box, votes, len(h.adapter.sent)


async def _run_until_applied(box: Inbox, *, within: float = 20.0) -> None:
    """The real worker loop, until the queue is empty."""
    worker = asyncio.create_task(box.run())
    try:
        async with asyncio.timeout(within):
            while True:
                await asyncio.sleep(0.02)
                with contextlib.suppress(Exception):
                    if await box.depth() == 0:
                        return
    finally:
        await box.gate.stop([worker])  # between passes: a cancelled transaction holds SQLite


class Injector:
    """Raise each of `faults` once, in turn, at the step it is wrapped around (each time on
    the next message that reaches it), then let everything through."""

    def __init__(self, mp: pytest.MonkeyPatch, backend: str, faults: list[Callable[[], Exception]]):
        self.mp = mp
        self.backend = backend
        self.faults = faults
        self.left = len(faults)
        self.fired = 0
        self._armed = False

    def make(self) -> Exception:
        return self.faults[(self.fired - 1) % len(self.faults)]()

    def _fire(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        self.fired += 1
        return True

    def wrap(self, owner: Any, name: str, *, after: bool = False) -> None:
        original: Callable[..., Awaitable[Any]] = getattr(owner, name)

        async def faulty(*args: Any, **kwargs: Any) -> Any:
            if not after and self._fire():
                raise self.make()
            result = await original(*args, **kwargs)
            if after and self._fire():
                raise self.make()
            return result

        self.mp.setattr(owner, name, faulty)

    def at_commit(self, *, after: bool) -> None:
        """The unit of work's commit (armed by the outbox write of the replies, its last write:
        from the queue no reply is stored with the processed message) fails; with `after`, the
        commit goes through and only the answer is lost. PostgreSQL, during the commit: the
        server really drops the connection."""
        enqueue = outbox_store.enqueue

        async def arming(*args: Any, **kwargs: Any) -> list[int]:
            ids = await enqueue(*args, **kwargs)
            self._armed = self.left > 0
            return ids

        self.mp.setattr(outbox_store, "enqueue", arming)
        cls: Any = SqliteTransactionWrapper if self.backend == "sqlite" else PgTransaction
        commit = cls.commit
        rollback = cls.rollback
        injector = self

        async def faulty_commit(self: Any) -> None:
            if not injector._armed:
                return await commit(self)
            injector._armed = False
            injector._fire()
            if after:
                await commit(self)
                raise injector.make()
            if injector.backend == "postgres":
                await _terminate(self._connection.get_server_pid())
                await asyncio.sleep(0.05)  # the client sees the connection go
                await commit(self)  # fails: the server is gone
                raise AssertionError("the commit of a dropped connection went through")
            await rollback(self)
            raise injector.make()

        self.mp.setattr(cls, "commit", faulty_commit)


async def _terminate(*pids: int) -> None:
    conn = await asyncpg.connect(PG_SERVER.replace("postgres://", "postgresql://"), timeout=5)
    try:
        for pid in pids:
            await conn.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


def _votes(h: ConsoleRig) -> list[IncomingMessage]:
    choices = ("投票 赞成", "投票 反对", "投票 弃权", "投票 赞成", "投票 赞成")
    return [h.adapter.decode(n, c) for n, c in zip(VOTERS, choices, strict=True)]


async def _assert_exactly_once(h: ConsoleRig, votes: list[IncomingMessage], before: int) -> None:
    """`before`: how many messages the rig had sent before the votes were applied."""
    assert h.delivery is not None
    await h.delivery.after_dispatch()  # what the worker queued last is delivered
    sent = h.adapter.sent[before:]  # read after that delivery, not before
    ballots = await m.Ballot.all()
    assert len(ballots) == len(votes), [b.choice for b in ballots]
    assert sorted(b.choice for b in ballots) == ["abstain", "no", "yes", "yes", "yes"]
    texts = [s.text for s in sent]
    assert not [t for t in texts if APOLOGY in t], texts
    for name in VOTERS:
        acks = [t for t in texts if t.startswith(f"{name}：") and "已记录" in t]
        assert len(acks) == 1, (name, texts)
    assert await inbox_store.depth() == 0
    processed = await m.ProcessedMessage.filter(
        message_id__in=[v.message_id for v in votes]
    ).count()
    assert processed == len(votes)


@pytest.mark.parametrize(("backend", "step"), CASES)
async def test_transient_faults_at_any_step_leave_every_vote_applied_once(
    database: str, monkeypatch: pytest.MonkeyPatch, backend: str, step: str
) -> None:
    """Every transient fault of the engine, one after the other (the first two on the same
    message: its backoff grows), at one step of the processing."""
    h = await ConsoleRig.create()
    # One message a round (the votes share a chat, whose messages would share a round): each
    # fault meets a message of its own, the first two the same one. Faults in shared rounds:
    # tests/test_inbox_together.py, and the connections killed below.
    box, votes, before = await _queued_votes(h, batch=1)
    kinds = list(FAULTS[backend].values())
    inject = Injector(monkeypatch, backend, kinds)
    match step:
        case "before_effect":
            inject.wrap(repo, "group_speaker")  # locks the society
        case "after_effect":
            inject.wrap(outbox_store, "enqueue")  # the replies' write, after the ballot
        case "during_commit":
            inject.at_commit(after=False)
        case "after_commit":
            inject.at_commit(after=True)
        case "mark_done":
            inject.wrap(inbox_store, "finish")
    await _run_until_applied(box)
    monkeypatch.undo()
    assert inject.fired == len(kinds)
    assert box.retries >= len(kinds)
    await _assert_exactly_once(h, votes, before)


async def test_a_bug_is_answered_once_and_not_retried(database: str) -> None:
    """A failure no retry clears (here: a programming error) is told once, and the message is
    done: it does not block its chat."""
    h = await ConsoleRig.create()
    await open_vote(h, VOTERS)
    calls = 0

    async def broken(message: IncomingMessage, *, inline: bool = True) -> list[OutgoingMessage]:
        nonlocal calls
        calls += 1
        return await h.router.dispatch(message, inline=inline)

    box = h.inbox("worker", backoff=(0.01, 0.05), idle=0.05)
    assert h.delivery is not None
    box._apply = make_apply(broken, h.delivery.enqueue)
    vote = h.adapter.decode("李娜", "投票 赞成")
    with pytest.MonkeyPatch.context() as mp:

        async def bug(*args: Any, **kwargs: Any) -> None:
            raise ValueError("a bug")

        mp.setattr(repo, "group_speaker", bug)
        before = len(h.adapter.sent)
        assert await box.submit(vote)
        await _run_until_applied(box)
    texts = [s.text for s in h.adapter.sent[before:]]
    assert calls == 1
    assert len([t for t in texts if APOLOGY in t]) == 1
    assert await m.Ballot.all().count() == 0


@pytest.fixture
async def short_busy_sqlite(tmp_path: Path) -> AsyncIterator[Path]:
    """SQLite with a 100 ms busy timeout, so that an outside lock outlasts it quickly."""
    path = tmp_path / "locked.db"
    await db.open_db(f"sqlite://{path}?busy_timeout=100")
    try:
        yield path
    finally:
        await db.close_db()


async def test_sqlite_outside_write_lock_past_the_busy_timeout(short_busy_sqlite: Path) -> None:
    """The issue's case: another process holds the write lock for longer than the busy timeout
    while a queued vote is applied. The vote waits and is applied once the lock goes."""
    h = await ConsoleRig.create()
    box, votes, before = await _queued_votes(h)
    outside = sqlite3.connect(short_busy_sqlite, isolation_level=None)
    try:
        outside.execute("BEGIN IMMEDIATE")
        worker = asyncio.create_task(_run_until_applied(box))
        await asyncio.sleep(1.0)
        assert await m.Ballot.all().count() == 0
        assert box.retries >= 1
        outside.execute("COMMIT")
        await worker
    finally:
        outside.close()
    await _assert_exactly_once(h, votes, before)


async def test_postgres_connections_killed_while_votes_are_applied(
    backend: str, database: str
) -> None:
    """Every server connection of the bot is terminated, repeatedly, while the worker applies
    the votes: each vote is applied exactly once."""
    if backend != "postgres":
        pytest.skip("PostgreSQL only")
    h = await ConsoleRig.create()
    box, votes, before = await _queued_votes(h)
    name = await _current_database()
    stop = asyncio.Event()

    async def killer() -> None:
        conn = await asyncpg.connect(PG_SERVER.replace("postgres://", "postgresql://"))
        try:
            while not stop.is_set():
                await conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = $1 AND pid <> pg_backend_pid()",
                    name,
                )
                await asyncio.sleep(0.03)
        finally:
            await conn.close()

    kills = asyncio.create_task(killer())
    worker = asyncio.create_task(box.run())
    await asyncio.sleep(0.5)
    stop.set()
    await kills
    try:
        async with asyncio.timeout(20):
            while True:
                await asyncio.sleep(0.05)
                with contextlib.suppress(Exception):
                    if await box.depth() == 0:
                        break
    finally:
        await box.gate.stop([worker])
    await _assert_exactly_once(h, votes, before)


async def _current_database() -> str:
    conn = connections.get("postgres")
    _, rows = await conn.execute_query("SELECT current_database()")
    return str(rows[0][0])


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (sqlite3.OperationalError("database is locked"), True),
        (OperationalError(sqlite3.OperationalError("attempt to write a readonly database")), True),
        (sqlite3.OperationalError("no such table: x"), False),
        (asyncpg.exceptions.DiskFullError("full"), True),
        (asyncpg.exceptions.DeadlockDetectedError("deadlock"), True),
        (asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence 0x00"), False),
        (asyncpg.exceptions.UniqueViolationError("duplicate"), False),
        (ConnectionRefusedError(111, "refused"), True),
        (TimeoutError(), True),
        (ValueError("a bug"), False),
    ],
)
def test_transient_faults_are_told_from_permanent_ones(exc: Exception, transient: bool) -> None:
    assert is_transient(exc) is transient
