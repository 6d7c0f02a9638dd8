"""PostgreSQL for tortoise: asyncpg's pool, without the reset query on every release, and
savepoints that are never released.

tortoise takes a pooled connection for each statement outside a transaction and for each
transaction, and asyncpg resets a connection whenever it goes back to the pool: first a ROLLBACK
if a transaction is still open (kept: asyncpg does it before any reset hook), then one more round
trip, `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`. That query was about
one round trip in eight of a ballot taken through the inbound queue (4.2 per ballot), with the
server's work for its four commands besides.

It undoes session state this code never leaves behind: no advisory locks (storage/lease.py
leases with rows), no LISTEN, no cursors outside a transaction, no session settings (a SET
without LOCAL, or set_config(..., false)). tests/test_asyncpg_engine.py checks the SQL in the
code for each of them, and that a connection given back inside a transaction comes back rolled
back.

A savepoint (a nested `in_transaction`: each command applied on its own, a block inside a
command) that ends without error is left as it is instead of being released: RELEASE SAVEPOINT
is a round trip of its own, two of a ballot's sixteen, and it changes nothing a later statement
sees. COMMIT ends every savepoint still open, ROLLBACK discards them, and ROLLBACK TO a savepoint
discards the ones opened after it, which is what releasing them would have done first. A
released subtransaction that wrote keeps its XID in the transaction either way, so PostgreSQL's
per-backend subtransaction cache fills exactly as fast. The module's name carries "asyncpg": tortoise's migrations pick their schema editor by it.

Each pooled connection counts the statements that may have written (`Connection.writes`: every
statement but a plain SELECT), so that a transaction can tell whether a stretch of its work
wrote anything (`storage.sql.writes_so_far`).
"""

from __future__ import annotations

from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import (
    NestedTransactionContext,
    TransactionContext,
    TransactionContextPooled,
)


class Connection(asyncpg.Connection):  # type: ignore[misc]
    """asyncpg's connection, counting in `writes` every statement sent through it that is not a
    plain SELECT (INSERT, UPDATE, DELETE, a WITH that may hold one, SAVEPOINT, ...): a count
    that can only err on the side of "it wrote"."""

    writes = 0

    def _counted(self, query: str) -> None:
        if query[:7].upper() != "SELECT ":
            self.writes += 1

    async def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self._counted(query)
        return await super().execute(query, *args, **kwargs)

    async def executemany(self, command: str, args: Any, **kwargs: Any) -> Any:
        self._counted(command)
        return await super().executemany(command, args, **kwargs)

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self._counted(query)
        return await super().fetch(query, *args, **kwargs)

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self._counted(query)
        return await super().fetchrow(query, *args, **kwargs)

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self._counted(query)
        return await super().fetchval(query, *args, **kwargs)


async def _nothing_left(connection: asyncpg.Connection) -> None:
    """The pool's reset hook: asyncpg has rolled back an open transaction already."""


class Transaction(TransactionWrapper):
    """tortoise's transaction on asyncpg, whose savepoints stay until the transaction ends."""

    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(Transaction(self))

    async def release_savepoint(self) -> None:
        """The savepoint's block ended without error: its writes belong to the enclosing
        transaction from now on, whether it is released or not (see above)."""
        self._finalized = True


class PooledClient(AsyncpgDBClient):
    """tortoise's asyncpg client, its pool built with `_nothing_left` as the reset and
    `Connection` (which counts writes) as its connections."""

    connection_class = Connection

    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        return await asyncpg.create_pool(None, reset=_nothing_left, **kwargs)

    def _in_transaction(self) -> TransactionContext:
        return TransactionContextPooled(Transaction(self), self._pool_init_lock)


client_class = PooledClient
