"""`yishi backup` while votes are being cast, `yishi restore` into an empty database, verified.

SQLite uses the online backup API (a consistent snapshot while the bot writes); PostgreSQL runs
pg_dump / pg_restore (the test needs the client tools, as the command does)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import sys
from pathlib import Path

import asyncpg
import pytest

from bot.backup import BackupError, backup
from bot.keys import KEY_FILE_NAME
from tests.kit.console import ConsoleRig
from tests.kit.databases import new_postgres
from tests.kit.keys import PG_KEY_TEXT
from tests.kit.voting import open_vote

ROOT = Path(__file__).resolve().parent.parent
VOTERS = ("李娜", "王强", "刘洋", "陈静", "杨帆")


async def _cli(*args: str, key: str = "") -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YISHI_")}
    env["PYTHONPATH"] = str(ROOT)
    if key:
        env["YISHI_SECRET_KEY"] = key
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def _backup_while_voting(h: ConsoleRig, url: str, out: Path) -> int:
    """Votes (and changes of vote) go on while the backup runs; returns how many were cast."""
    stop = asyncio.Event()
    cast = 0

    async def voting() -> None:
        nonlocal cast
        choices = ("赞成", "反对", "弃权")
        while not stop.is_set():
            name = VOTERS[cast % len(VOTERS)]
            await h.say(name, f"投票 {choices[cast % 3]}")
            cast += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(voting())
    try:
        await asyncio.sleep(0.2)
        copied = await backup(url, out)
        assert copied.path == out
    finally:
        stop.set()
        await task
    assert cast > 0
    return cast


async def test_sqlite_backup_while_voting_restores_and_verifies(tmp_path: Path) -> None:
    from storage import db

    url = f"sqlite://{tmp_path / 'live.db'}"
    await db.open_db(url)
    try:
        h = await ConsoleRig.create()
        await open_vote(h, VOTERS)
        out = tmp_path / "yishi-backup.db"
        await _backup_while_voting(h, url, out)
        with pytest.raises(BackupError, match="已存在"):
            await backup(url, out)
    finally:
        await db.close_db()
    target = tmp_path / "restored" / "yishi.db"
    # The server key is not in the backup (it is a secret): the operator brings it along.
    target.parent.mkdir()
    shutil.copy(tmp_path / KEY_FILE_NAME, target.parent / KEY_FILE_NAME)
    code, text = await _cli("restore", str(out), "--db", f"sqlite://{target}")
    assert code == 0, text
    assert "已恢复" in text
    assert "记录链完整" in text
    conn = sqlite3.connect(target)
    try:
        ballots = conn.execute("SELECT COUNT(*) FROM ballot").fetchone()[0]
        events = conn.execute("SELECT COUNT(*) FROM event_log").fetchone()[0]
    finally:
        conn.close()
    assert 1 <= ballots <= len(VOTERS)
    assert events > 0
    # Only into an empty database: a second restore onto it is refused, clearly.
    code, text = await _cli("restore", str(out), "--db", f"sqlite://{target}")
    assert code == 2
    assert "不是空的" in text
    assert "Traceback" not in text


async def test_postgres_backup_while_voting_restores_and_verifies(
    backend: str, database: str, tmp_path: Path
) -> None:
    if backend != "postgres":
        pytest.skip("PostgreSQL only")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump / pg_restore not installed")
    h = await ConsoleRig.create()
    await open_vote(h, VOTERS)
    out = tmp_path / "yishi.dump"
    await _backup_while_voting(h, database, out)
    async with new_postgres("yishi_restore") as made:
        # Pool settings of the ORM in the URL: pg_restore must not be handed them.
        target = f"{made}?minsize=1&maxsize=3"
        code, text = await _cli("restore", str(out), "--db", target, key=PG_KEY_TEXT)
        assert code == 0, text
        assert "记录链完整" in text
        restored = await asyncpg.connect(made.replace("postgres://", "postgresql://"))
        try:
            ballots = await restored.fetchval("SELECT COUNT(*) FROM ballot")
        finally:
            await restored.close()
        assert 1 <= ballots <= len(VOTERS)
        code, text = await _cli("restore", str(out), "--db", target, key=PG_KEY_TEXT)
        assert code == 2
        assert "不是空的" in text
