"""`yishi serve` migrates a new database in a child process (`db.upgrade_apart`), so that the
migration framework's leftovers never stay in the bot's heap; what the child meets is raised in
the parent as an upgrade in the parent would raise it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.keys import ENV_VAR, KEY_FILE_NAME, KeyProblem, load_key
from storage import db, models
from tests.kit.databases import new_postgres
from tests.kit.keys import PG_KEY_TEXT


async def test_a_new_sqlite_file_is_migrated_apart_then_nothing_is_pending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    url = f"sqlite://{tmp_path / 'new' / 'yishi.db'}"
    assert await db.pending_migrations(url) == db.known_migrations()
    assert await db.upgrade_apart(url) is True
    assert await db.pending_migrations(url) == set()
    # The child made the key beside the file; the parent opens with the same one.
    assert (tmp_path / "new" / KEY_FILE_NAME).exists()
    key = load_key(url, create=False)
    assert await db.upgrade_apart(url) is False  # the usual start: no child at all
    await db.open_db(url, key=key)
    try:
        assert await models.Society.all().count() == 0
    finally:
        await db.close_db()


async def test_a_first_schema_cut_short_leaves_an_empty_file_the_next_start_builds_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process killed while the first schema was made had left tables without the record of
    them (no start or upgrade could open it again). The schema is built beside the file and
    renamed over it: cut short at the last step, the database is still the empty file, and the
    next start builds it whole; nothing of the attempt is left beside it."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    path = tmp_path / "yishi.db"
    url = f"sqlite://{path}"

    def killed(building: Path, target: Path) -> None:
        raise SystemExit("killed before the rename")

    monkeypatch.setattr(db, "settle_and_replace", killed)
    with pytest.raises(SystemExit):
        await db.upgrade(url)
    assert path.stat().st_size == 0
    assert (tmp_path / "yishi.db.new").exists()  # what a killed process leaves
    monkeypatch.undo()
    monkeypatch.delenv(ENV_VAR, raising=False)
    await db.upgrade(url)
    assert await db.pending_migrations(url) == set()
    assert _files_of(tmp_path, "yishi.db") == ["yishi.db"]
    assert path.stat().st_mode & 0o777 == 0o600


def _files_of(folder: Path, name: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(name))


async def test_a_new_postgres_database_is_migrated_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_VAR, PG_KEY_TEXT)  # the child inherits the environment
    async with new_postgres("yishi_apart") as url:
        assert await db.pending_migrations(url) == db.known_migrations()
        assert await db.upgrade_apart(url) is True
        assert await db.pending_migrations(url) == set()
        assert await db.upgrade_apart(url) is False


async def test_what_the_child_meets_is_raised_in_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    url = f"sqlite://{tmp_path / 'yishi.db'}"
    (tmp_path / KEY_FILE_NAME).mkdir()  # a key "file" that cannot be read
    with pytest.raises(KeyProblem, match="无法读取密钥文件"):
        await db.upgrade_apart(url)
    async with new_postgres("yishi_apart") as pg:
        # PostgreSQL without the key in the environment: the child says what to set.
        with pytest.raises(KeyProblem, match=ENV_VAR):
            await db.upgrade_apart(pg)
        assert await db.pending_migrations(pg) == db.known_migrations()  # nothing half-done


async def test_an_in_memory_database_is_never_migrated_apart() -> None:
    assert await db.upgrade_apart("sqlite://:memory:") is False


def test_a_daemonic_process_migrates_itself(tmp_path: Path) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    url = f"sqlite://{tmp_path / 'yishi.db'}"
    child = ctx.Process(target=_upgrade_in_daemon, args=(url,), daemon=True)
    child.start()
    child.join(120)
    assert child.exitcode == 0
    assert asyncio.run(db.pending_migrations(url)) == set()


def _upgrade_in_daemon(url: str) -> None:
    assert asyncio.run(db.upgrade_apart(url)) is False
