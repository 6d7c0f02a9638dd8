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

from bot.keys import ServerKey
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


def _read_only(source: Path, *, copy: bool) -> sqlite3.Connection:
    """`source` opened to read. A copy (a backup file), or a file in a folder nobody can write,
    in WAL mode with no write-ahead log beside it is read as immutable: SQLite would otherwise
    make a -shm file beside it (left behind, and impossible on read-only media)."""
    uri = f"file:{source}?mode=ro"
    settled = copy or not os.access(source.parent, os.W_OK)  # nobody writes it there either
    if settled and _wal_mode(source) and not _has_log(source):
        uri += "&immutable=1"
    return sqlite3.connect(uri, uri=True, timeout=30)


def _wal_mode(path: Path) -> bool:
    with path.open("rb") as fh:
        header = fh.read(20)
    return len(header) == 20 and header[18] == 2  # file format version 2: WAL


def _has_log(path: Path) -> bool:
    log = path.with_name(path.name + "-wal")
    return log.exists() and log.stat().st_size > 0


def _sqlite_copy(source: Path, target: Path, *, from_backup: bool = False) -> Copied:
    """Copy `source` into `target` (must not exist) with the backup API, atomically; the copy is
    one self-contained file (rollback journal, no WAL beside it). Nothing is left behind when
    it fails."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        # readable by its owner only, as the database it copies (it holds every record)
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        src = _read_only(source, copy=from_backup)
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)
                check = dst.execute("PRAGMA quick_check").fetchone()
                if not check or check[0] != "ok":
                    raise BackupError(f"副本校验失败：{check}")
                dst.execute("PRAGMA journal_mode = DELETE")
                tables = _tables(dst)
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Copied(target, target.stat().st_size, tables)


def _is_ours(source: Path) -> bool:
    """Whether the SQLite file is a database of this program (its migrations table names some
    of ours)."""
    conn = _read_only(source, copy=True)
    try:
        rows = conn.execute("SELECT name FROM tortoise_migrations WHERE app = 'models'")
        return bool({str(r[0]) for r in rows} & db.known_migrations())
    except sqlite3.OperationalError:
        return False  # no such table
    finally:
        conn.close()


def _writable_target(out: Path) -> None:
    if out.exists():
        raise BackupError(f"{out} 已存在，不覆盖；请换一个文件名。")
    if not out.parent.is_dir():
        raise BackupError(f"目录 {out.parent} 不存在。")


def _readable_source(source: Path) -> None:
    if source.is_dir():
        raise BackupError(f"{source} 是一个目录，请给出备份文件本身。")
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


async def restore(url: str, source: Path, *, key: ServerKey | None = None) -> Copied:
    """Restore `source` into the empty database at `url` (SQLite: a file that does not exist or
    has no tables). `key`: the server key the backup was written with (by default found as
    `load_key` does)."""
    _readable_source(source)
    if db.is_sqlite(url):
        path = db.sqlite_path(url)
        if path is None:
            raise BackupError("不能恢复到内存数据库。")
        try:
            ours = await asyncio.to_thread(_is_ours, source)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} 不是可用的 SQLite 备份：{exc}") from exc
        if not ours:
            raise BackupError(
                f"{source} 不是议事的备份（里面没有议事的数据表）；没有改动任何文件。"
            )
        if await asyncio.to_thread(_has_tables, path):
            raise BackupError(f"目标数据库 {path} 不是空的；只能恢复到空数据库（新文件）。")
        try:
            copied = await asyncio.to_thread(_sqlite_copy, source, path, from_backup=True)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} 不是可用的 SQLite 备份：{exc}") from exc
        await db.upgrade(url, key=key)
        return copied
    tool = shutil.which("pg_restore")
    if tool is None:
        raise BackupError(
            "未安装 pg_restore（PostgreSQL 客户端工具）。请安装后重试，或手工执行：\n"
            + pg_recipe(db.libpq_url(url), str(source))
        )
    await db.reach(url)  # a database that does not exist, or does not answer, is said so
    if await db.pg_table_count(db.libpq_url(url)):
        raise BackupError("目标数据库不是空的；只能恢复到空数据库（CREATE DATABASE 新建）。")
    await _run(tool, "--no-owner", "--exit-on-error", "--dbname", db.libpq_url(url), str(source))
    await db.upgrade(url, key=key)
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
