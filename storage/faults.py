"""Which database failures a retry clears (transient) and which it never will (permanent).

Transient: the database is there but cannot answer now, or the way to it is broken:
    SQLite      "database is locked" / "busy", "disk I/O error", "database or disk is full",
                "unable to open database file", "attempt to write a readonly database"
    PostgreSQL  connection lost or refused (or a pooled connection left broken by it), too many
                connections, admin shutdown, disk full or out of resources, serialization failure,
                deadlock, lock or statement timeout
    both        OSError (ConnectionError included), TimeoutError
A read-only file or a full disk is an environment fault the operator fixes; the message that met
it is applied once it is fixed, never refused for it.

Anything else (a constraint, a bad value such as a NUL byte on PostgreSQL, a bug) is permanent.
Drivers arrive wrapped (tortoise turns sqlite3.OperationalError and asyncpg's DataError into its
own OperationalError), so the whole chain of causes is looked at.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Sequence
from types import ModuleType
from typing import Any, TypeVar

from bot.errors import causes

logger = logging.getLogger(__name__)
T = TypeVar("T")

_SQLITE_TRANSIENT = (
    "database is locked",
    "database table is locked",
    "database schema is locked",
    "busy",
    "disk i/o error",
    "database or disk is full",
    "unable to open database file",
    "readonly database",
    "read-only",
)

# SQLSTATE classes and codes a retry clears: 08 connection exception, 53 insufficient
# resources (disk full, out of memory, too many connections), 57P operator intervention
# (admin/crash shutdown, cannot connect now), 40001 serialization failure, 40P01 deadlock,
# 55P03 lock not available, 57014 query canceled (statement timeout).
_PG_TRANSIENT_CLASSES = ("08", "53", "57P")
_PG_TRANSIENT_CODES = ("40001", "40P01", "55P03", "57014", "25006")


def _asyncpg() -> ModuleType | None:
    """asyncpg, once this process has imported it (to open PostgreSQL): none of its errors can
    arise before, and a bot on SQLite never loads it."""
    return sys.modules.get("asyncpg")


def _one_is_transient(e: BaseException) -> bool:
    if isinstance(e, OSError | TimeoutError):
        return True
    if isinstance(e, sqlite3.OperationalError):
        text = str(e).lower()
        return any(part in text for part in _SQLITE_TRANSIENT)
    asyncpg = _asyncpg()
    if asyncpg is not None and isinstance(e, asyncpg.PostgresError):
        code = str(getattr(e, "sqlstate", "") or "")
        return code.startswith(_PG_TRANSIENT_CLASSES) or code in _PG_TRANSIENT_CODES
    return is_lost_connection(e)


def is_lost_connection(e: BaseException) -> bool:
    """asyncpg's client-side connection failures: closed, does not exist, lost mid-query, or
    met in a broken state (InternalClientError "cannot switch to state ...; another operation
    is in progress": the server's FATAL arrived on an idle pooled connection before its close).
    The pool replaces such a connection when it comes back; a retry gets a working one."""
    asyncpg = _asyncpg()
    return asyncpg is not None and isinstance(
        e,
        asyncpg.InterfaceError
        | asyncpg.InternalClientError
        | asyncpg.exceptions.ConnectionDoesNotExistError,
    )


def is_transient(exc: BaseException) -> bool:
    """Whether a retry of the same work, later, can succeed."""
    return any(_one_is_transient(e) for e in causes(exc))


async def retried(
    work: Callable[[], Awaitable[T]],
    pauses: Sequence[float],
    *,
    what: str,
    clears: Callable[[BaseException], bool] = is_transient,
) -> T:
    """`work()`, tried again after each of `pauses` (seconds) while it fails in a way a retry
    `clears`; the last failure is raised, as is any other at once."""
    for pause in (*pauses, None):
        try:
            return await work()
        except Exception as exc:
            if pause is None or not clears(exc):
                raise
            logger.warning(
                "%s failed (%s: %s); again in %.2f s", what, type(exc).__name__, exc, pause
            )
            await asyncio.sleep(pause)
    raise AssertionError("unreachable: the last try returns or raises")


# ---------------------------------------------------------------------------------------------
# A dropped PostgreSQL connection must not poison the task that met it.
#
# tortoise 1.1's pooled transaction sets the task's connection to the transaction *before* BEGIN
# and resets it only in __aexit__ (after releasing the connection). When BEGIN fails (the
# server dropped the connection) __aexit__ never runs; when the release fails, the reset is
# skipped. Either way every later query of that task runs on a dead, released connection
# ("connection has been released back to the pool"), for ever. The two methods are wrapped so
# that the task's connection is always restored and the pool gets its connection back.
# Besides storage/sql.py and the two engines (storage/sqlite_engine.py, storage/asyncpg_engine.py),
# this is the only place that touches tortoise's internals.


def harden_transactions() -> None:
    from tortoise.backends.base.client import TransactionContextPooled
    from tortoise.connection import get_connections

    cls: Any = TransactionContextPooled
    if getattr(cls, "_restores_on_failure", False):
        return
    enter, leave = cls.__aenter__, cls.__aexit__

    def restore(ctx: Any) -> None:
        token = getattr(ctx, "token", None)
        if token is not None:
            with contextlib.suppress(ValueError, LookupError, RuntimeError):
                get_connections().reset(token)

    async def __aenter__(self: Any) -> Any:
        try:
            return await enter(self)
        except BaseException:
            restore(self)
            pool = self.client._parent._pool
            conn = getattr(self.client, "_connection", None)
            if pool is not None and conn is not None:
                with contextlib.suppress(Exception):
                    await pool.release(conn)
            raise

    async def __aexit__(self: Any, *exc: Any) -> None:
        try:
            await leave(self, *exc)
        except BaseException:
            restore(self)
            raise

    cls.__aenter__, cls.__aexit__ = __aenter__, __aexit__
    cls._restores_on_failure = True
