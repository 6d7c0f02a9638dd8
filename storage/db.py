"""Open and close the database: tortoise config, SQLite pragmas, schema migrations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate

from bot.errors import causes
from bot.keys import KeyProblem, ServerKey, load_key
from storage.faults import harden_transactions

MODELS_MODULE = "storage.models"
MIGRATIONS_MODULE = "storage.migrations"
DEFAULT_URL = "sqlite://data/yishi.db"

# For `tortoise makemigrations` during development (pyproject's [tool.tortoise]).
TORTOISE_ORM: dict[str, Any] = {}

logger = logging.getLogger(__name__)

# The URL open_db opened last in this process (one database per process): the single-instance
# lock and the disk check look at the file actually in use.
_opened: list[str] = []
_openings = [0]  # how many times this process opened a database: what a cache of one is keyed by


class DatabaseError(Exception):
    """The database could not be opened or prepared; the message (Chinese) says why."""


# Reaching the database (connect, or take SQLite's write lock once) is given this long, and
# migrating it (which may have real work to do) MIGRATE_TIMEOUT_S; then it is an error, never a
# hang (a dead server that does not refuse, a file locked by another process).
OPEN_TIMEOUT_S = 30.0
MIGRATE_TIMEOUT_S = 900.0
# The WAL file SQLite keeps after a checkpoint has emptied it (journal_size_limit). tortoise
# sets 16 KiB, so the file was cut back every ~50 commits and every commit after that grew it
# again: a flush that also changes the file's size costs about twice one that does not (measured
# with 18-24 pages a commit: 0.33-0.40 ms instead of 0.18-0.24; a vote's commit in the serial
# burst went from 0.40-0.43 to 0.27-0.30 ms). Above the ~4 MiB the WAL reaches between
# two automatic checkpoints (1000 pages), it is reused as it is and only cut back after a
# long read held checkpoints off.
WAL_KEPT_BYTES = 8 * 1024 * 1024


def explain(exc: BaseException, url: str) -> str:
    """A configuration or environment fault met while opening the database, in one Chinese
    sentence that says what to check."""
    where = _where(url)
    for e in causes(exc):
        text = str(e).lower()
        name = type(e).__name__
        if isinstance(e, socket.gaierror):
            return f"无法解析数据库主机名（{where}）：请检查 URL 中的主机名。"
        if isinstance(e, ConnectionRefusedError):
            return f"无法连接数据库服务器 {where}（连接被拒绝）：请检查地址和端口，以及数据库是否已启动。"
        if name == "CannotConnectNowError":  # 57P03
            return f"数据库服务器 {where} 正在启动（或正在关闭），暂时不接受连接：请稍后重试。"
        if name in ("InvalidPasswordError", "InvalidAuthorizationSpecificationError"):
            return f"数据库拒绝登录（{where}）：请检查用户名和密码。"
        if name == "InvalidCatalogNameError" or "can't establish connection to database" in text:
            return f"数据库不存在（{where}）：请先创建数据库（CREATE DATABASE）。"
        if isinstance(e, PermissionError):
            return f"没有权限访问数据库文件或其目录（{where}）：{e.strerror or e}。"
        if isinstance(e, sqlite3.Error) or "sqlite" in name.lower():
            if "readonly" in text or "read-only" in text:
                return f"SQLite 数据库文件是只读的（{where}）：机器人需要写入权限（文件及其目录）。"
            if "unable to open" in text:
                path = sqlite_path(url)
                if path is not None and path.is_file() and not os.access(path.parent, os.W_OK):
                    return (
                        f"SQLite 数据库所在的目录是只读的（{where}）：打开数据库（校验也一样）须在同一"
                        "目录写入锁和共享内存文件；请把数据库文件复制到可写的目录再操作。"
                    )
                return f"无法打开 SQLite 数据库文件（{where}）：目录不存在或没有权限。"
            if "locked" in text or "busy" in text:
                return f"SQLite 数据库被其他进程锁定（{where}）：请停止占用它的进程后重试。"
            if "not a database" in text or "malformed" in text:
                return f"{where} 不是有效的 SQLite 数据库文件（或已损坏）。"
        if "migration" in text and ("unknown" in text or "not found" in text or "newer" in text):
            return f"数据库结构比本程序新（{where}）：请升级议事程序后再使用这个数据库。"
    return f"无法打开数据库（{where}）：{type(exc).__name__}: {exc}"


def unreachable(exc: BaseException) -> bool:
    """Whether opening the database failed only because it did not answer now: its server
    refused the connection, did not answer in time or is starting up, its host name could not
    be looked up for now, the file is locked by another process. A later start may succeed; a
    wrong address, name, password, path or schema never does by itself."""
    for e in causes(exc):
        if isinstance(e, ConnectionRefusedError | ConnectionResetError | TimeoutError):
            return True
        if isinstance(e, socket.gaierror) and e.errno == socket.EAI_AGAIN:
            return True
        if type(e).__name__ == "CannotConnectNowError":  # 57P03: the server is starting up
            return True
        if isinstance(e, sqlite3.OperationalError) and ("locked" in str(e) or "busy" in str(e)):
            return True
    return False


def _where(url: str) -> str:
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    rest = url.split("://", 1)[-1]
    return rest.rsplit("@", 1)[-1].split("?", 1)[0]


@contextlib.asynccontextmanager
async def _opening(url: str, within: float) -> AsyncIterator[None]:
    """Within `within` seconds, every failure a DatabaseError."""
    try:
        async with asyncio.timeout(within):
            yield
    except DatabaseError:
        raise
    except TimeoutError as exc:
        raise DatabaseError(
            f"打开数据库超时（{within:.0f} 秒，{_where(url)}）：服务器无响应，或文件被其他进程锁定。"
        ) from exc
    except Exception as exc:
        raise DatabaseError(explain(exc, url)) from exc


async def reach(url: str) -> None:
    """Make sure the database answers (PostgreSQL: a connection; SQLite: the write lock taken
    and given back) within OPEN_TIMEOUT_S, before any real work."""
    async with _opening(url, OPEN_TIMEOUT_S):
        path = sqlite_path(url)
        if path is not None:
            await asyncio.to_thread(_touch_sqlite, path)
        elif not is_sqlite(url):
            import asyncpg

            conn = await asyncpg.connect(libpq_url(url), timeout=OPEN_TIMEOUT_S)
            await conn.close()


def libpq_url(url: str) -> str:
    """The PostgreSQL URL without tortoise's own parameters (minsize, maxsize, ...), which are
    not libpq's; the ssl ones stay."""
    parts = urlsplit(url)
    keep = [(k, v) for k, v in parse_qsl(parts.query) if k.startswith("ssl")]
    return urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(keep), ""))


def libpq_login(url: str) -> tuple[str, str | None]:
    """`libpq_url` without the password, and the password (None: the URL has none): a client
    tool gets the first on its command line, which anyone on the machine may read (ps), and the
    password in its environment (PGPASSWORD)."""
    parts = urlsplit(libpq_url(url))
    if parts.password is None:
        return urlunsplit(parts), None
    user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0]
    host = parts.netloc.rsplit("@", 1)[1]
    bare = urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))
    return bare, unquote(parts.password)


def pg_database_name(url: str) -> str:
    """The name of the PostgreSQL database `url` opens, decoded (「%E8%AE%AE」 is 议); a URL
    without one opens the database named as its user (libpq's default), else ""."""
    parts = urlsplit(url)
    return unquote(parts.path.lstrip("/")) or unquote(parts.username or "")


def _touch_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path, timeout=5, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def prepare_url(url: str) -> str:
    """SQLite gets WAL (tortoise's default), synchronous=FULL, a busy timeout and secure_delete
    (a deleted row's bytes are overwritten, in the file and in the pages it writes to the WAL)
    unless the URL sets them."""
    if not is_sqlite(url):
        return url
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    params.setdefault("synchronous", "FULL")
    params.setdefault("busy_timeout", "5000")
    params.setdefault("secure_delete", "ON")
    params.setdefault("journal_size_limit", str(WAL_KEPT_BYTES))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(params), ""))


def opened_url() -> str | None:
    """The database this process opened (None: none yet)."""
    return _opened[0] if _opened else None


def opening() -> int:
    """Which opening of a database this is (another `open_db`, even of the same URL, may be
    another database): a process-local cache of what a database holds is keyed by it."""
    return _openings[0]


def one_writer() -> bool:
    """Whether the open database takes one writer at a time (SQLite): while a transaction
    writes, every other write waits, this process's too. Batching writes saves a file flush
    each there; PostgreSQL runs concurrent transactions in parallel."""
    url = opened_url()
    return url is not None and is_sqlite(url)


def sqlite_path(url: str) -> Path | None:
    """The SQLite file of the URL (None: PostgreSQL or an in-memory database)."""
    if not is_sqlite(url):
        return None
    path = url[len("sqlite://") :].split("?", 1)[0]
    return None if not path or path == ":memory:" else Path(path)


def lock_path(url: str) -> Path | None:
    """The single-instance lock file beside a SQLite database (storage/instances.py)."""
    path = sqlite_path(url)
    if path is None:
        return None
    path = path.resolve()  # one lock for a file however it is named (a symlink, 「..」)
    return path.with_name(path.name + ".lock")


def make_folder(url: str) -> None:
    """Create the SQLite file's folder (DatabaseError, said plainly, when it cannot be)."""
    path = sqlite_path(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(
                f"无法创建数据库目录 {path.parent}：{exc.strerror or exc}。请检查路径和权限。"
            ) from exc


def _ensure_folder(url: str) -> None:
    """Create the SQLite file's folder (only when the database is actually opened), and a new
    database file readable by its owner only: it holds every society's records (SQLite gives
    its -wal and -shm files the same permissions)."""
    path = sqlite_path(url)
    if path is not None:
        make_folder(url)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except OSError as exc:
            raise DatabaseError(
                f"无法创建数据库文件 {path}：{exc.strerror or exc}。请检查路径和权限。"
            ) from exc


def connection_name(url: str) -> str:
    """Each engine gets its own connection name: tortoise caches compiled queries per name,
    and one process (the test suite) may use SQLite and PostgreSQL one after the other."""
    return "sqlite" if is_sqlite(url) else "postgres"


# Connections of one process's pool on PostgreSQL unless the URL says (?maxsize=).
POOL_MAXSIZE = 10


def connection_config(url: str) -> dict[str, Any]:
    """tortoise's connection settings, the URL's as its credentials: SQLite through
    storage/sqlite_engine (short statements on the event loop's thread), PostgreSQL through
    storage/asyncpg_engine (no reset query each time a connection goes back to the pool)."""
    config: dict[str, Any] = expand_db_url(prepare_url(url))
    if is_sqlite(url):
        config["engine"] = "storage.sqlite_engine"
        return config
    config["engine"] = "storage.asyncpg_engine"
    # The URL's ?maxsize= when given; else room for the inbound workers' rounds (two at once,
    # bot/app.py) beside the door's batches, the sender, the reminder sweep and the workbench.
    config["credentials"].setdefault("maxsize", POOL_MAXSIZE)
    return config


def tortoise_config(url: str) -> dict[str, Any]:
    name = connection_name(url)
    return {
        "connections": {name: connection_config(url)},
        "apps": {
            "models": {
                "models": [MODELS_MODULE],
                "migrations": MIGRATIONS_MODULE,
                "default_connection": name,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


TORTOISE_ORM.update(tortoise_config(DEFAULT_URL))


_server_key: ServerKey | None = None


def server_key() -> ServerKey:
    """The server key of the open database (bot/keys.py): the chain's MACs and the row seals."""
    if _server_key is None:
        raise RuntimeError("the database is not open (no server key)")
    return _server_key


def use_key(key: ServerKey) -> None:
    global _server_key
    _server_key = key


async def upgrade(url: str, *, key: ServerKey | None = None) -> None:
    """Apply every pending migration. Migrations only add; data is kept. The server key (loaded
    as `load_key` does unless given) seals what a migration moves (storage/seals.py)."""
    _ensure_folder(url)
    use_key(key if key is not None else load_key(url))
    await reach(url)
    path = sqlite_path(url)
    if path is not None and path.stat().st_size == 0:
        await _first_schema(url, path)
    elif (path is not None or not is_sqlite(url)) and await _foreign(url):
        raise DatabaseError(_not_ours(url))  # another program's: our tables are not added
    elif path is None and is_sqlite(url):
        await _migrate(url)  # in memory: only the connection the ORM opens can see it
    elif known_migrations() - (applied := await applied_migrations(url)):
        await _migrate(url)
    else:
        # Up to date (every open of an existing database): the migration framework's model
        # state (~10 ms to build) and the collection of it (tens of ms) are not needed.
        _refuse_unknown(url, applied)
    logger.info("database schema up to date (%s)", connection_name(url))


async def _migrate(url: str) -> None:
    try:
        async with _opening(url, MIGRATE_TIMEOUT_S):
            await migrate(config=tortoise_config(url))
            await _refuse_newer_schema(url)
    finally:
        with contextlib.suppress(Exception):
            await Tortoise.close_connections()
        _give_back_memory()


async def _first_schema(url: str, path: Path) -> None:
    """A new SQLite database is built beside it and put in its place in one rename: a process
    killed while the schema was being made (the first start) had left a file with some tables
    and not the record of them, which no later start or upgrade could open."""
    building = path.with_name(f"{path.name}.new")
    for stale in sqlite_files(building):
        stale.unlink(missing_ok=True)
    os.close(os.open(building, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    query = url.split("?", 1)[1] if "?" in url else ""
    await _migrate(f"sqlite://{building}" + (f"?{query}" if query else ""))
    await asyncio.to_thread(settle_and_replace, building, path)


def sqlite_files(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal"))]


def settle_and_replace(building: Path, path: Path) -> None:
    """Everything of `building` in its main file (no -wal left), on disk, then renamed over
    `path` (the empty file made for it), and the rename itself on disk."""
    conn = sqlite3.connect(building)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")  # the -wal goes; the next open sets WAL again
    finally:
        conn.close()
    fd = os.open(building, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    for stale in sqlite_files(building)[1:]:
        stale.unlink(missing_ok=True)
    os.replace(building, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


async def upgrade_apart(url: str) -> bool:
    """Apply pending migrations in a child process (`yishi serve`): the migration framework builds
    a model state per step, tens of MB that the heap keeps after it is freed, so a bot started
    on a new database would idle 30 MB larger than one started on an existing database. Nothing
    pending (the usual start): nothing is started. True when a child migrated (a daemonic
    process, which may not have children, migrates itself). The child loads
    the server key as `load_key` does (the file beside SQLite is made there on first use)."""
    if sqlite_path(url) is None and is_sqlite(url):
        return False  # in memory: only this process can see it
    pending = await pending_migrations(url)
    if not pending:
        return False
    import multiprocessing

    if multiprocessing.current_process().daemon:
        await upgrade(url)  # a daemonic process may not start children: migrate here
        return False
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_upgrade_child, args=(url, send), name="yishi-upgrade")
    child.start()
    send.close()
    # A stop (SIGTERM, Ctrl-C) meanwhile waits for the child's work (it ignores them): a
    # restart must never meet a migration half done, nor one still going on beside it.
    asked: list[int] = []
    handlers = _hold_stops(asked)
    try:
        await asyncio.to_thread(child.join)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    if asked:
        logger.info("stopped after the migration it waited for")
        raise SystemExit(128 + asked[0])
    try:
        kind, said = receive.recv() if receive.poll() else ("", "")
    except EOFError:  # the child closed its end without a word: done
        kind, said = "", ""
    receive.close()
    if kind == "key":
        raise KeyProblem(said)
    if said or child.exitcode != 0:
        raise DatabaseError(said or f"数据库迁移进程异常退出（退出码 {child.exitcode}）。")
    logger.info("database migrated in a child process (%d migrations)", len(pending))
    return True


def _hold_stops(asked: list[int]) -> dict[int, Any]:
    """SIGTERM and SIGINT noted in `asked` instead of acted on; the handlers they had."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {s: signal.signal(s, lambda signum, _: asked.append(signum)) for s in _STOPS}


_STOPS = (signal.SIGTERM, signal.SIGINT)


def _upgrade_child(url: str, send: Any) -> None:
    """The child's whole life: upgrade, then say nothing (done) or (kind, the problem in Chinese):
    the parent raises what the child met, as an upgrade in the parent would have. A stop sent
    to the whole group is the parent's to act on once this is done."""
    for signum in _STOPS:
        signal.signal(signum, signal.SIG_IGN)
    try:
        asyncio.run(upgrade(url))
    except KeyProblem as exc:
        send.send(("key", str(exc)))
    except DatabaseError as exc:
        send.send(("database", str(exc)))
    except Exception as exc:  # a bug: the parent reports it; the traceback goes to stderr
        logger.exception("migration failed")
        send.send(("database", f"数据库迁移失败：{type(exc).__name__}: {exc}"))
    finally:
        send.close()


async def pending_migrations(url: str) -> set[str]:
    """The migrations this program knows that the database has not applied (all of them on a
    new database), read over a connection of its own."""
    return known_migrations() - await applied_migrations(url)


async def applied_migrations(url: str) -> set[str]:
    """The migrations the database has applied (none on a new one), read over a connection of
    its own."""
    query = "SELECT name FROM tortoise_migrations WHERE app = 'models'"
    async with _opening(url, OPEN_TIMEOUT_S):
        path = sqlite_path(url)
        if path is not None:
            applied = await asyncio.to_thread(_sqlite_names, path, query)
        else:
            import asyncpg

            conn = await asyncpg.connect(libpq_url(url), timeout=OPEN_TIMEOUT_S)
            try:
                rows = await conn.fetch(query)
            except asyncpg.UndefinedTableError:
                rows = []
            finally:
                await conn.close()
            applied = {str(r[0]) for r in rows}
    return applied


def _sqlite_names(path: Path, query: str) -> set[str]:
    if not path.exists():
        return set()
    conn = sqlite3.connect(path, timeout=5)
    try:
        return {str(r[0]) for r in conn.execute(query)}
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return set()
        raise
    finally:
        conn.close()


def _give_back_memory() -> None:
    """The migration framework builds a model state per step (tens of MB on a new database),
    garbage once it is done: collect it and hand the freed heap back to the system (glibc), so
    a bot started on a new database idles as small as one started on an existing one."""
    import gc

    from bot.heap import glibc_trim

    gc.collect()
    trim = glibc_trim()
    if trim is not None:
        trim()


def known_migrations() -> set[str]:
    import pkgutil

    from storage import migrations

    return {m.name for m in pkgutil.iter_modules(migrations.__path__)}


async def _refuse_newer_schema(url: str) -> None:
    """A database a newer version of the bot migrated has migrations this one does not know:
    opening it would write rows its newer schema does not expect."""
    conn = connections.get(connection_name(url))
    _, rows = await conn.execute_query("SELECT name FROM tortoise_migrations WHERE app = 'models'")
    _refuse_unknown(url, {str(r[0]) for r in rows})


def _refuse_unknown(url: str, applied: set[str]) -> None:
    unknown = sorted(applied - known_migrations())
    if unknown:
        raise DatabaseError(
            f"数据库结构比本程序新（{_where(url)}，未知的迁移：{'、'.join(unknown)}）："
            "请升级议事程序后再使用这个数据库。"
        )


def _not_ours(url: str) -> str:
    return f"{_where(url)} 不是议事的数据库（里面没有议事的数据表），没有改动它。"


async def _foreign(url: str) -> bool:
    """Whether the database (a file, or a server's) holds tables and none of this program's
    migrations: another program's, which an upgrade must not add our tables to."""
    if await applied_migrations(url) & known_migrations():
        return False
    async with _opening(url, OPEN_TIMEOUT_S):
        path = sqlite_path(url)
        if path is not None:
            return await asyncio.to_thread(sqlite_table_count, path) > 0
        return await pg_table_count(libpq_url(url)) > 0


def sqlite_table_count(path: Path) -> int:
    """The tables of the SQLite file at `path` (its own `sqlite_` tables left out)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchone()
        return int(row[0])
    finally:
        conn.close()


async def require_current(url: str) -> None:
    """For a command on the records already there (verify, export, reminders, prune): the
    database must already exist as this program's, at the current schema. Nothing is created
    or migrated: a mistyped path, another program's file or an old schema is said, not turned
    into a database."""
    path = sqlite_path(url)
    if path is not None and not await asyncio.to_thread(path.is_file):
        raise DatabaseError(
            f"找不到数据库文件 {path}：请检查路径（--db、环境变量 YISHI_DATABASE_URL 或配置文件的"
            " [database] url）。这个命令不会新建数据库。"
        )
    applied = await applied_migrations(url)
    pending = known_migrations() - applied
    if not applied & known_migrations():
        raise DatabaseError(_not_ours(url))
    _refuse_unknown(url, applied)
    if pending:
        raise DatabaseError(
            f"数据库结构不是最新的（{_where(url)}，还有 {len(pending)} 项结构更新）：请先运行"
            " yishi db upgrade（或启动一次 yishi serve）再执行这个命令。"
        )


async def open_db(url: str, *, run_migrations: bool = True, key: ServerKey | None = None) -> None:
    """Initialise the ORM in the current task (before any background task starts). `key`: the
    server key; by default `load_key(url)` (the environment, or the file beside SQLite)."""
    harden_transactions()
    _ensure_folder(url)
    _opened[:] = [url]
    _openings[0] += 1
    key = key if key is not None else load_key(url)
    use_key(key)
    if run_migrations:
        await upgrade(url, key=key)
    # The global fallback lets tasks started outside this context (aiohttp's request handlers,
    # WebSocket clients, the scheduler) see the ORM. One database per process.
    if not run_migrations:
        await reach(url)
    async with _opening(url, MIGRATE_TIMEOUT_S):
        await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
        if is_sqlite(url):
            await _check_sqlite(connection_name(url))


async def _check_sqlite(name: str) -> None:
    conn = connections.get(name)
    _, rows = await conn.execute_query("PRAGMA journal_mode")
    mode = str(rows[0][0]).lower() if rows else ""
    if mode not in ("wal", "memory"):
        raise DatabaseError(f"SQLite journal_mode is {mode!r}, WAL could not be enabled")


async def close_db() -> None:
    await Tortoise.close_connections()


async def pg_table_count(libpq_url: str) -> int:
    """How many tables a PostgreSQL database's public schema holds (a restore goes only into an
    empty one), read over a connection of its own."""
    import asyncpg

    conn = await asyncpg.connect(libpq_url, timeout=10)
    try:
        n = await conn.fetchval(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
    finally:
        await conn.close()
    return int(n)
