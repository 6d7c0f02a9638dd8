"""SQLite for tortoise, short statements on the event loop's own thread.

tortoise's SQLite client goes through aiosqlite, which runs every call on a thread of its own:
each statement is a hand-over to that thread and a wake-up of the event loop, about 100 µs of
CPU and latency, more than most of our statements take inside SQLite (a ballot is 15 of them).
This engine runs a call on the loop's thread when it cannot wait and cannot take long, and
hands the rest to aiosqlite's thread exactly as before:

  on the loop's thread   inside a transaction: reads, writes, SAVEPOINT/RELEASE/ROLLBACK TO
                         (nothing reaches the disk before COMMIT); outside one: plain reads and
                         BEGIN; a rollback; the commit of no transaction (tortoise's begin);
                         COMMIT while commits are quick (below)
  on aiosqlite's thread  COMMIT while they are not, and always inside `commit_on_thread`; a
                         write outside a transaction (commits by itself), PRAGMAs, scripts,
                         cursors, opening and closing

COMMIT is the file flush (WAL + synchronous=FULL: an fsync). Every COMMIT is timed where it runs;
while the average (`commit_s`) is within INLINE_COMMIT_BUDGET_S (1 ms) it runs on the loop's
thread: handing it over and waking the loop afterwards costs about 0.1 ms of CPU, as much as the
flush itself on a quick disk (a serial durable vote: 1.04-1.12 -> 0.87-0.91 ms p50, 0.1 ms less
CPU). A slow disk, or a checkpoint that made commits slow, moves them back off the loop until the
average is low again. The COMMIT of a batch many callers wait for stays off the loop
(`commit_on_thread`: an inbound round, the door's batch of header bindings): the
loop takes in the next batch meanwhile (committed inline, batches shrink and cost more each).

Nothing on the loop's thread may wait for a lock: the connection's busy timeout is 0 there, and
a statement that finds the database locked by another process (SQLITE_BUSY: it has not run) is
run again on aiosqlite's thread with the configured busy timeout, as every statement used to.
Nothing may take long either: a read (SELECT) has a budget of `INLINE_READ_BUDGET_S`; SQLite's
progress handler interrupts it when it runs over (a read has no effect) and it is run again on
aiosqlite's thread. A write is not interrupted (SQLite would roll back the whole transaction);
our writes inside transactions touch a few rows each or go in chunks (storage/sql.py).

Calls never overlap: tortoise holds one lock per connection around every call and around a
whole transaction (and one per transaction around each of its calls), so the sqlite3
connection, made with check_same_thread=False, is used by one thread at a time.

`fetch` is the way in for storage/sql.py's hand-written statements: the same placement, the same
lock, the same log line and errors as tortoise's `execute_query`, without its layers.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

import aiosqlite
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.exceptions import IntegrityError, OperationalError

INLINE_READ_BUDGET_S = 0.005
# A COMMIT runs on the loop's thread while commits take at most this long (an exponential
# average of the last ones, wherever they ran); on aiosqlite's thread otherwise.
INLINE_COMMIT_BUDGET_S = 0.001
COMMIT_AVERAGE_WEIGHT = 0.2  # of the newest commit in the average
# Set while a transaction whose commit many callers wait for is open (an inbound round, a batch
# at the door): its COMMIT goes to aiosqlite's thread whatever it takes, and the loop takes in
# more work meanwhile.
_commit_on_thread: ContextVar[bool] = ContextVar("commit_on_thread", default=False)
PROGRESS_EVERY = 10_000  # SQLite virtual machine steps between two looks at the clock
SQLITE_BUSY = 5  # primary result codes: the extended ones (busy recovery, snapshot, ...)
SQLITE_INTERRUPT = 9  # keep them in the low byte
_NOT_RUN = object()

_READ = re.compile(r"\s*SELECT\b", re.IGNORECASE)
_OPENS = re.compile(r"\s*(BEGIN|SAVEPOINT)\b", re.IGNORECASE)
_ENDS = re.compile(r"\s*(COMMIT|END)\b", re.IGNORECASE)


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection, with `_execute` deciding per call where it runs (module doc)."""

    def __init__(self, path: str, busy_ms: int) -> None:
        self.busy_ms = busy_ms
        self.handed_over = 0  # calls that tried the loop's thread first (busy, over budget)
        self._deadline: float | None = None
        # How long a COMMIT takes (the file flush), averaged; None before the first one.
        self.commit_s: float | None = None

        def connector() -> sqlite3.Connection:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
            conn.set_progress_handler(self._progress, PROGRESS_EVERY)
            return conn

        super().__init__(connector, iter_chunk_size=64)

    def _progress(self) -> int:
        deadline = self._deadline
        return 1 if deadline is not None and time.perf_counter() > deadline else 0

    def _now(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """The call run on the loop's thread if its placement allows it; `_NOT_RUN` when it has
        to go to aiosqlite's thread (by its placement, or found busy or over budget: it has had
        no effect)."""
        conn = self._connection
        if conn is None or not self._running:
            return _NOT_RUN
        place = self._placement(conn, fn, args)
        if place is None:
            return _NOT_RUN
        self._deadline = time.perf_counter() + INLINE_READ_BUDGET_S if place else None
        try:
            if fn == conn.commit and conn.in_transaction:
                return self._timed_commit(fn)
            return fn(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if not self._hand_over(exc):
                raise
            self.handed_over += 1
            return _NOT_RUN
        finally:
            self._deadline = None

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        done = self._now(fn, *args, **kwargs)
        if done is not _NOT_RUN:
            return done
        return await self._on_thread(fn, *args, **kwargs)

    async def _on_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await super()._execute(self._waiting, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    async def fetch(self, sql: str, params: Sequence[Any], *, tried: bool) -> list[sqlite3.Row]:
        """A statement's rows: run at once on the loop's thread if `_now` allows it and it was
        not `tried` there already (found busy or over budget), else on aiosqlite's thread."""
        rows = None if tried else self.fetch_now(sql, params)
        if rows is not None:
            return rows
        return list(await self._on_thread(self._execute_fetchall, sql, params))

    def fetch_now(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row] | None:
        """`fetch` when it can be done without waiting, else None (having had no effect)."""
        rows = self._now(self._execute_fetchall, sql, params)
        return None if rows is _NOT_RUN else list(rows)

    def _placement(
        self, conn: sqlite3.Connection, fn: Callable[..., Any], args: tuple[Any, ...]
    ) -> bool | None:
        """None: aiosqlite's thread; False: the loop's thread; True: the loop's thread with the
        read budget."""
        if fn == conn.commit:
            if not conn.in_transaction:
                return False
            took = self.commit_s
            quick = took is not None and took <= INLINE_COMMIT_BUDGET_S
            return False if quick and not _commit_on_thread.get() else None
        if fn == conn.rollback:
            return False
        if fn in (self._execute_fetchall, self._execute_insert, conn.execute, conn.executemany):
            sql = args[0] if args and isinstance(args[0], str) else ""
            if _ENDS.match(sql):
                return None
            if _READ.match(sql) and fn != conn.executemany:
                return True
            if conn.in_transaction or (fn == conn.execute and _OPENS.match(sql)):
                return False
        return None

    def _timed_commit(self, commit: Callable[[], None]) -> None:
        """COMMIT, its duration added to the average that places the next one."""
        started = time.perf_counter()
        commit()
        took = time.perf_counter() - started
        last = self.commit_s
        self.commit_s = took if last is None else last + COMMIT_AVERAGE_WEIGHT * (took - last)

    def _hand_over(self, exc: sqlite3.OperationalError) -> bool:
        """A statement that did not run (locked by another process) or a read stopped at its
        budget: both are run again on aiosqlite's thread."""
        code = _primary_code(exc)
        return code == SQLITE_BUSY or (code == SQLITE_INTERRUPT and self._deadline is not None)

    def _waiting(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """On aiosqlite's thread: the call with the configured busy timeout."""
        conn = self._connection
        if conn is None or fn == conn.close:
            return fn(*args, **kwargs)
        if fn == conn.commit:
            # A COMMIT that meets a lock (in WAL mode hardly ever; in rollback-journal mode a
            # reader's) leaves the transaction open and may be tried again: first without
            # waiting, which spares the two PRAGMAs, then below with the busy timeout.
            try:
                return self._timed_commit(fn)
            except sqlite3.OperationalError as exc:
                if _primary_code(exc) != SQLITE_BUSY:
                    raise
        conn.execute(f"PRAGMA busy_timeout = {self.busy_ms}")
        try:
            return fn(*args, **kwargs)
        finally:
            if self._connection is not None:
                conn.execute("PRAGMA busy_timeout = 0")


@contextmanager
def commit_on_thread() -> Iterator[None]:
    """Within: a COMMIT is flushed on aiosqlite's thread, never on the loop's."""
    token = _commit_on_thread.set(True)
    try:
        yield
    finally:
        _commit_on_thread.reset(token)


def _primary_code(exc: sqlite3.OperationalError) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0)) & 0xFF


class InlineSqliteClient(SqliteClient):
    """tortoise's SQLite client on an `InlineConnection`; the busy timeout comes from the URL
    (`busy_timeout`, in ms) like the other pragmas."""

    def __init__(self, file_path: str, **kwargs: Any) -> None:
        super().__init__(file_path, **kwargs)
        self.busy_ms = int(self.pragmas.pop("busy_timeout", 5000))

    async def create_connection(self, with_db: bool) -> None:
        if self._connection:
            return
        connection = InlineConnection(self.filename, self.busy_ms)
        self._connection = await connection
        connection._conn.row_factory = sqlite3.Row
        for pragma, value in self.pragmas.items():
            cursor = await connection.execute(f"PRAGMA {pragma}={value}")
            await cursor.close()
        await self._post_connect()


async def fetch(
    client: BaseDBAsyncClient, sql: str, params: Sequence[Any]
) -> list[sqlite3.Row] | None:
    """A statement sent through `client` (tortoise's client or one of its transactions) as its
    `execute_query` would send it, logged and its errors translated as tortoise does, without
    the layers around it (4.5-6.5 % of a ballot's CPU, measured side by side). None when the
    client is not on this engine: the caller goes through tortoise."""
    connection = getattr(client, "_connection", None)
    # tortoise rewrites a NUL in a statement's text (as `'||CHAR(0)||'`): such a statement, which
    # hand-written SQL never has (values are parameters), goes its way.
    if not isinstance(connection, InlineConnection) or "\x00" in sql:
        return None
    lock: asyncio.Lock = cast(SqliteClient, client)._lock
    client.log.debug("%s: %s", sql, params)
    try:
        if lock.locked():  # another call of the client or transaction is running: after it
            async with lock:
                return await connection.fetch(sql, params, tried=False)
        # Nothing to wait for: the lock would be taken and given back untouched.
        rows = connection.fetch_now(sql, params)
        if rows is not None:
            return rows
        async with lock:  # its place is aiosqlite's thread, or it was found busy or over budget
            return await connection.fetch(sql, params, tried=True)
    except sqlite3.OperationalError as exc:
        raise OperationalError(exc) from exc
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(exc) from exc


client_class = InlineSqliteClient
