"""Shared fixtures: a database per backend (SQLite and PostgreSQL), and a chat harness.

PostgreSQL: YISHI_TEST_PG (default postgres://postgres@127.0.0.1:5432/test) names a server on
which a throw-away database is created for the session. When the server cannot be reached the
PostgreSQL cases are skipped, unless YISHI_REQUIRE_PG=1 (CI sets it), which makes them fail.
"""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from bot import logs
from storage import db
from tests.kit.console import ConsoleRig
from tests.kit.databases import (
    PG_SERVER,
    REQUIRE_PG,
    copy_sqlite_template,
    drop_later,
    empty_postgres,
    make_sqlite_template,
    truncate_postgres,
)
from tests.kit.keys import PG_KEY


def _admin_url(database: str) -> str:
    base = PG_SERVER.rsplit("/", 1)[0]
    return f"{base}/{database}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The throw-away PostgreSQL databases of this test process dropped (tests/kit/databases)."""
    asyncio.run(drop_later())


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str | None]:
    """A migrated throw-away database for the session, or None when the server is unreachable."""
    name = f"yishi_test_{uuid.uuid4().hex[:10]}"
    try:
        conn = await asyncpg.connect(PG_SERVER.replace("postgres://", "postgresql://"), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required but unreachable at {PG_SERVER}: {exc}")
        yield None
        return
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = _admin_url(name)
    await db.upgrade(url, key=PG_KEY)
    yield url
    conn = await asyncpg.connect(PG_SERVER.replace("postgres://", "postgresql://"), timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated, empty SQLite file per test process, copied for each test."""
    return await make_sqlite_template(tmp_path_factory.mktemp("template") / "empty.db")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database(
    request: pytest.FixtureRequest,
    backend: str,
    tmp_path: Path,
    pg_url: str | None,
    sqlite_template: Path,
) -> AsyncIterator[str]:
    """An empty, migrated database for one test; yields its URL with the ORM initialised. On
    PostgreSQL the session's database is emptied; a test marked `row_versions` (it reads the
    dead row versions in the tables' files) gets files with none from earlier tests."""
    if backend == "sqlite":
        url = copy_sqlite_template(sqlite_template, tmp_path / "test.db")
        await db.open_db(url)
    else:
        if pg_url is None:
            pytest.skip("PostgreSQL unreachable (set YISHI_TEST_PG)")
        url = pg_url
        await db.open_db(url, run_migrations=False, key=PG_KEY)
        if request.node.get_closest_marker("row_versions"):
            await truncate_postgres(url)
        else:
            await empty_postgres(url)
    try:
        yield url
    finally:
        await db.close_db()


@pytest.fixture
async def harness(database: str) -> ConsoleRig:
    return await ConsoleRig.create()


@pytest.fixture
async def harness_with_open_vote(
    tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[ConsoleRig]:
    """SQLite only: a meeting with an open named vote on item 1, all members present."""
    await db.open_db(copy_sqlite_template(sqlite_template, tmp_path / "vote.db"))
    try:
        h = await ConsoleRig.create()
        h.at("2026-12-01 09:00")
        await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
        h.at("2026-12-05 14:50")
        for name in ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏"):
            await h.say(name, "签到")
        await h.say("张伟", "开会")
        await h.say("张伟", "发起表决 1")
        yield h
    finally:
        await db.close_db()


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The server's own log handler at DEBUG into a buffer; the root logger restored after."""
    root = logging.getLogger()
    level = root.level
    out = io.StringIO()
    handler = logs.setup("debug", "text", stream=out)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
