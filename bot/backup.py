"""`yishi backup` and `yishi restore`: copies of the database that have been restored.

SQLite: SQLite's online backup API (a consistent snapshot while the bot serves and writes; a
plain copy of a live WAL database can lose everything). The copy is written beside the target
and renamed into place when complete.
PostgreSQL: `pg_dump --format=custom`, restored with `pg_restore`; when the tools are not
installed, the command prints the recipe to run by hand.

A restore goes only into an empty database, then brings its schema up to date; the caller runs
`yishi verify` on it (the command does so itself). The server key (bot/keys.py) is a secret and
is not in the backup: the restored database needs the same key (YISHI_SECRET_KEY, or the key file
copied beside a SQLite target).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from storage import db

# A backup or restore that takes longer than this is stopped (a hung tool, a dead server).
TOOL_TIMEOUT_S = 3600.0


class BackupError(Exception):
    """The backup or restore could not be done; the message (Chinese) says why."""


@dataclass(frozen=True, slots=True)
class Copied:
    path: Path
    size: int
    tables: int


def pg_recipe(url: str, out: str) -> str:
    return (
        f"  备份：pg_dump --format=custom --no-owner --file {out} --dbname '{url}'\n"
        f"  恢复（到空库）：pg_restore --no-owner --exit-on-error --dbname '<空库 URL>' {out}\n"
        "  然后：yishi db upgrade --db '<空库 URL>' && yishi verify --db '<空库 URL>'"
    )


def _tables(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()
    return int(row[0])


def _sqlite_copy(source: Path, target: Path) -> Copied:
    """Copy `source` into `target` (must not exist) with the backup API, atomically."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)
            check = dst.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                raise BackupError(f"副本校验失败：{check}")
            tables = _tables(dst)
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(partial, target)
    return Copied(target, target.stat().st_size, tables)


def _writable_target(out: Path) -> None:
    if out.exists():
        raise BackupError(f"{out} 已存在，不覆盖；请换一个文件名。")
    if not out.parent.is_dir():
        raise BackupError(f"目录 {out.parent} 不存在。")


def _readable_source(source: Path) -> None:
    if not source.is_file():
        raise BackupError(f"找不到备份文件：{source}")


async def backup(url: str, out: Path) -> Copied:
    _writable_target(out)
    path = db.sqlite_path(url)
    if db.is_sqlite(url):
        if path is None or not await asyncio.to_thread(path.exists):
            raise BackupError(f"找不到 SQLite 数据库文件：{path or url}")
        try:
            return await asyncio.to_thread(_sqlite_copy, path, out)
        except sqlite3.Error as exc:
            raise BackupError(f"SQLite 备份失败：{exc}") from exc
    tool = shutil.which("pg_dump")
    if tool is None:
        raise BackupError(
            "未安装 pg_dump（PostgreSQL 客户端工具）。请安装后重试，或手工执行：\n"
            + pg_recipe(db.libpq_url(url), str(out))
        )
    await _run(
        tool, "--format=custom", "--no-owner", "--file", str(out), "--dbname", db.libpq_url(url)
    )
    return Copied(out, await asyncio.to_thread(os.path.getsize, out), 0)


async def restore(url: str, source: Path) -> Copied:
    """Restore `source` into the empty database at `url` (SQLite: a file that does not exist or
    has no tables)."""
    _readable_source(source)
    if db.is_sqlite(url):
        path = db.sqlite_path(url)
        if path is None:
            raise BackupError("不能恢复到内存数据库。")
        if await asyncio.to_thread(_has_tables, path):
            raise BackupError(f"目标数据库 {path} 不是空的；只能恢复到空数据库（新文件）。")
        try:
            copied = await asyncio.to_thread(_sqlite_copy, source, path)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} 不是可用的 SQLite 备份：{exc}") from exc
        await db.upgrade(url)
        return copied
    tool = shutil.which("pg_restore")
    if tool is None:
        raise BackupError(
            "未安装 pg_restore（PostgreSQL 客户端工具）。请安装后重试，或手工执行：\n"
            + pg_recipe(db.libpq_url(url), str(source))
        )
    if await db.pg_table_count(db.libpq_url(url)):
        raise BackupError("目标数据库不是空的；只能恢复到空数据库（CREATE DATABASE 新建）。")
    await _run(tool, "--no-owner", "--exit-on-error", "--dbname", db.libpq_url(url), str(source))
    await db.upgrade(url)
    return Copied(source, await asyncio.to_thread(os.path.getsize, source), 0)


def _has_tables(path: Path) -> bool:
    """Whether the SQLite file has tables; a missing or empty file is removed (made ready)."""
    if not path.exists() or path.stat().st_size == 0:
        path.unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        return False
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return _tables(conn) > 0
    finally:
        conn.close()


async def _run(*argv: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with asyncio.timeout(TOOL_TIMEOUT_S):
            _, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise BackupError(
            f"{Path(argv[0]).name} 超过 {TOOL_TIMEOUT_S:.0f} 秒未完成，已停止。"
        ) from None
    if proc.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} 失败：{err.decode(errors='replace').strip()}")
