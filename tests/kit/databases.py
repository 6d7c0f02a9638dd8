"""Empty, migrated databases for tests: a copy of a migrated SQLite file, or the session's
PostgreSQL database emptied."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tortoise import connections
from tortoise.backends.asyncpg.client import TransactionWrapper as PgTransaction
from tortoise.backends.sqlite.client import SqliteTransactionWrapper
from tortoise.models import Model

from storage import db, models

PG_SERVER = os.environ.get("YISHI_TEST_PG", "postgres://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("YISHI_REQUIRE_PG") == "1"

# Every table of the schema, by name: what a test empties, counts or tampers with.
MODELS: dict[str, type[Model]] = {
    model._meta.db_table: model
    for model in vars(models).values()
    if isinstance(model, type) and issubclass(model, Model) and not model._meta.abstract
}
TABLES = tuple(sorted(MODELS))


async def make_sqlite_template(path: Path) -> Path:
    """A migrated, empty SQLite file. Migrating a new file costs about 1.5 s of CPU (the
    migration framework rebuilds its model state at every step); copies of this one give each
    test the same schema at once."""
    await db.upgrade(f"sqlite://{path}")
    for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        assert not leftover.exists(), "the template is checkpointed when it closes"
    return path


def copy_sqlite_template(template: Path, target: Path) -> str:
    """A new database at `target` with the template's schema; its URL. The template's key file
    is not copied: the new database makes its own key on first open, as a new database does."""
    shutil.copyfile(template, target)
    return f"sqlite://{target}"


@contextlib.asynccontextmanager
async def new_postgres(prefix: str) -> AsyncIterator[str]:
    """The URL of a new, empty PostgreSQL database named after `prefix`, dropped afterwards; the
    test is skipped when the server is unreachable (failed when YISHI_REQUIRE_PG=1)."""
    server = PG_SERVER.replace("postgres://", "postgresql://", 1)
    try:
        admin = await asyncpg.connect(server, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required but unreachable at {PG_SERVER}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_SERVER}")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"{PG_SERVER.rsplit('/', 1)[0]}/{name}"
    finally:
        _dropped_later.append(name)


# Databases of `new_postgres` to drop when the test process ends (`drop_later`): DROP DATABASE
# makes the server finish a checkpoint first, which under the load of the other test processes
# once held a test's teardown for 100 s.
_dropped_later: list[str] = []


async def drop_later() -> None:
    """Drop the databases `new_postgres` made in this process."""
    if not _dropped_later:
        return
    admin = await asyncpg.connect(PG_SERVER.replace("postgres://", "postgresql://", 1), timeout=5)
    try:
        while _dropped_later:
            await admin.execute(f'DROP DATABASE IF EXISTS "{_dropped_later.pop()}" WITH (FORCE)')
    finally:
        await admin.close()


_TABLE_NAMES = ", ".join(f"'{table}'" for table in TABLES)


async def empty_postgres(url: str) -> None:
    """Every table of the open PostgreSQL database at `url` emptied, identities restarted.

    DELETE rather than TRUNCATE: a test leaves a few rows, and TRUNCATE gives each of the
    schema's ~150 relations (tables, indexes, sequences) a new file, ~0.3 s a test. Foreign keys
    are not checked meanwhile (every table is emptied in the same transaction). Dead row versions
    stay in the files until vacuumed: a test that reads old row versions empties with
    `truncate_postgres`."""
    await connections.get(
        db.connection_name(url)
    ).execute_script(
        "BEGIN; SET LOCAL session_replication_role = replica;"
        + "".join(f'DELETE FROM "{table}";' for table in TABLES)
        # the identities of these tables restarted (not the migration framework's own)
        + "SELECT setval(s.oid, 1, false) FROM pg_class s JOIN pg_depend d"
        " ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.deptype IN ('a', 'i')"
        " JOIN pg_class t ON t.oid = d.refobjid"
        f" WHERE s.relkind = 'S' AND t.relname IN ({_TABLE_NAMES});"
        " COMMIT;"
    )


async def truncate_postgres(url: str) -> None:
    """`empty_postgres` that also leaves no old row version in the tables' files."""
    await connections.get(db.connection_name(url)).execute_script(
        f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"
    )


def count_commits(monkeypatch: pytest.MonkeyPatch, url: str) -> list[int]:
    """[commits] of outermost transactions on the database at `url` from now on."""
    cls: Any = SqliteTransactionWrapper if db.is_sqlite(url) else PgTransaction
    commit: Callable[[Any], Awaitable[None]] = cls.commit
    seen = [0]

    async def counting(self: Any) -> None:
        # asyncpg releases a savepoint through the same method: only the outermost count.
        if not getattr(getattr(self, "transaction", None), "_nested", False):
            seen[0] += 1
        await commit(self)

    monkeypatch.setattr(cls, "commit", counting)
    return seen
