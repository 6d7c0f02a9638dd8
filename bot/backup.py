"""`yishi backup` and `yishi restore`: copies of the database that have been restored.

SQLite: SQLite's online backup API (a consistent snapshot while the bot serves and writes; a
plain copy of a live WAL database can lose everything). The copy is written beside the target
and renamed into place when complete.
PostgreSQL: `pg_dump --format=custom`, restored with `pg_restore`; when the tools are not
installed, the command prints the recipe to run by hand.

A restore goes only into an empty database, then brings its schema up to date; the caller runs
`yishi verify` on it (the command does so itself). The server key (bot/keys.py) is a secret and
is not in the backup: the restored database needs the same key (YISHI_SECRET_KEY, or the key file
copied beside a SQLite target). Nothing is written to the target unless the restore succeeds
(`restore`), so a failed one can be tried again as it is. A PostgreSQL client tool gets the
password in its environment, never on its command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import re
import shlex
import shutil
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.keys import ENV_VAR, KeyProblem, ServerKey, key_file_for
from storage import db, seals, secrecy
from storage.instance_lock import RESTORING, InstanceLock

# A backup or restore that takes longer than this is stopped (a hung tool, a dead server).
TOOL_TIMEOUT_S = 3600.0


class BackupError(Exception):
    """The backup or restore could not be done; the message (Chinese) says why."""


class Damaged(BackupError):
    """A copy that SQLite's own check of it found damaged."""


@dataclass(frozen=True, slots=True)
class Copied:
    path: Path
    size: int
    tables: int


def pg_recipe(url: str, out: str) -> str:
    """The commands to run by hand when the client tools are missing; the password of `url` is
    left out (the operator gives it in PGPASSWORD, never on a command line). The file and the
    URL are quoted for the shell: a path with a space (「/backup/年度 备份.dump」) is pasted as
    one argument."""
    bare, password = db.libpq_login(url)
    login = "  （密码不写在命令行上：先 export PGPASSWORD=…）\n" if password else ""
    file = shlex.quote(out)
    return (
        login
        + f"  备份：pg_dump --format=custom --no-owner --file {file} --dbname {shlex.quote(bare)}\n"
        "  恢复（到空库）：pg_restore --no-owner --exit-on-error --single-transaction"
        f" --dbname '<空库 URL>' {file}\n"
        "  然后：yishi db upgrade --db '<空库 URL>' && yishi verify --db '<空库 URL>'"
    )


def _login(url: str) -> tuple[str, dict[str, str]]:
    """What a client tool is given for `url`: the URL without its password (the command line
    is visible to everyone on the machine), and an environment with the password."""
    bare, password = db.libpq_login(url)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = password
    return bare, env


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
                    said = " ".join(str(check[0] if check else "").split())
                    raise Damaged(f"副本校验未通过，文件已损坏（SQLite 报告：{said}）")
                dst.execute("PRAGMA journal_mode = DELETE")
                tables = _tables(dst)
            finally:
                dst.close()
        finally:
            src.close()
        _put_in_place(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Copied(target, target.stat().st_size, tables)


def _put_in_place(partial: Path, target: Path) -> None:
    """Give the finished copy `partial` the name `target` only while no file has it: the name
    was checked free before the copy began, and something may have been put there since (a
    hard link fails on an existing name; renaming would replace it). A file system without
    hard links is checked and renamed."""
    try:
        os.link(partial, target)
    except FileExistsError:
        raise BackupError(f"{target} 已存在，不覆盖；请换一个文件名。") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        _writable_target(target)
        os.replace(partial, target)
        return
    partial.unlink()


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
            + pg_recipe(url, str(out))
        )
    # Written beside the name, readable by its owner only (it holds every record, as a SQLite
    # backup does), and renamed once complete: a failed dump leaves nothing under the name.
    partial = out.with_name(out.name + ".partial")
    try:
        partial.unlink(missing_ok=True)
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise BackupError(f"无法在 {out.parent} 写入备份文件：{exc.strerror or exc}。") from exc
    bare, env = _login(url)
    try:
        await _run(
            tool, "--format=custom", "--no-owner", "--file", str(partial), "--dbname", bare, env=env
        )
        await asyncio.to_thread(_put_in_place, partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return Copied(out, await asyncio.to_thread(os.path.getsize, out), 0)


async def restore(url: str, source: Path, *, key: ServerKey) -> Copied:
    """Restore `source` into the empty database at `url` (SQLite: a file that does not exist or
    has no tables), written with `key` (the server key the backup was made under).

    Nothing is written to the target unless the restore succeeds. First what the backup holds is
    read: this program's records, of a schema this version knows, under `key` (its chain heads'
    MACs). SQLite: the copy is built beside the target (`.restoring`), migrated, its key checked
    against everything sealed, and renamed into place. PostgreSQL: pg_restore in one
    transaction (a failure leaves the database as it was); what could fail after it (the
    migrations; a key a backup without chain heads cannot tell) says exactly what to do."""
    _readable_source(source)
    if db.is_sqlite(url):
        return await _restore_sqlite(url, source, key)
    return await _restore_postgres(url, source, key)


@dataclass(frozen=True, slots=True)
class _Holds:
    """What a backup holds that decides whether it can be restored: the migrations it has
    applied, and its chain heads' columns."""

    applied: set[str]
    heads: list[dict[str, str | None]]


def _check_holds(source: Path, holds: _Holds, key: ServerKey, url: str) -> None:
    """Refuse (BackupError, nothing written) a backup that is not ours, is newer than this
    program, or was written under another key."""
    if not holds.applied & db.known_migrations():
        raise BackupError(f"{source} 不是议事的备份（里面没有议事的数据表）；没有改动任何文件。")
    unknown = sorted(holds.applied - db.known_migrations())
    if unknown:
        raise BackupError(
            f"{source} 来自更新版本的议事（本程序不认识的结构更新：{'、'.join(unknown)}）："
            "请先升级议事程序再恢复；没有改动任何文件。"
        )
    try:
        heads = [seals.head_row(h) for h in holds.heads]
    except (KeyError, TypeError, ValueError):
        heads = []  # a head that cannot be read: the full check after the copy tells
    if secrecy.heads_fit(key, heads) is False:
        raise BackupError(wrong_key(key, url) + "没有改动任何文件。")


def wrong_key(key: ServerKey, url: str) -> str:
    """Why a backup does not open with `key`, and where the right key goes."""
    return f"备份不是用当前的服务器密钥（指纹 {key.fingerprint}）写的。" + key_advice(url)


def key_advice(url: str) -> str:
    """Where the key of the backup goes for a restore into `url`, as things stand now."""
    beside = key_file_for(url)
    if os.environ.get(ENV_VAR):
        return f"现在用的是环境变量 {ENV_VAR}：请把它设为备份时所用的密钥后重试。"
    if beside is not None:
        return (
            f"现在用的是密钥文件 {beside}：请换成备份时的密钥文件"
            f"（或设置环境变量 {ENV_VAR} 为备份时所用的密钥）后重试。"
        )
    return f"请把环境变量 {ENV_VAR} 设为备份时所用的密钥后重试。"


def _sqlite_holds(source: Path) -> _Holds:
    conn = _read_only(source, copy=True)
    try:
        try:
            rows = conn.execute("SELECT name FROM tortoise_migrations WHERE app = 'models'")
            applied = {str(r[0]) for r in rows}
        except sqlite3.OperationalError:  # no such table
            applied = set()
        try:
            cursor = conn.execute(
                f"SELECT {HEAD_COLUMNS} FROM chain_head ORDER BY id LIMIT {secrecy.HEADS_PROBED}"
            )
            names = [c[0] for c in cursor.description]
            heads = [dict(zip(names, (_text(v) for v in r), strict=True)) for r in cursor]
        except sqlite3.OperationalError:  # a backup from before the keyed record
            heads = []
    finally:
        conn.close()
    return _Holds(applied, heads)


# A chain head as the start-up key check reads it (storage/seals), with its chain.
HEAD_COLUMNS = ", ".join(("chain_key", *seals.HEAD_COLUMNS))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def sqlite_problem(exc: sqlite3.Error) -> str:
    """SQLite's complaint about a file, said in Chinese, its own words after it."""
    text = str(exc)
    lowered = text.lower()
    if "not a database" in lowered:
        return f"文件不是 SQLite 数据库（{text}）"
    if "malformed" in lowered or "corrupt" in lowered:
        return f"文件已损坏或不完整，可能在复制时被截断（{text}）"
    if "unable to open" in lowered:
        return f"无法打开文件（{text}）"
    return f"SQLite 报告：{text}"


async def _restore_sqlite(url: str, source: Path, key: ServerKey) -> Copied:
    path = db.sqlite_path(url)
    if path is None:
        raise BackupError("不能恢复到内存数据库。")
    try:
        holds = await asyncio.to_thread(_sqlite_holds, source)
    except sqlite3.DatabaseError as exc:
        raise BackupError(
            f"{source} 不是可用的 SQLite 备份：{sqlite_problem(exc)}；没有改动任何文件。"
        ) from exc
    _check_holds(source, holds, key, url)
    staging = path.with_name(path.name + ".restoring")
    made = await asyncio.to_thread(_make_folder, path.parent)
    held: _Held | None = None
    try:
        held = await asyncio.to_thread(_hold, url, path)
        if await asyncio.to_thread(_has_tables, path):
            raise BackupError(f"目标数据库 {path} 不是空的；只能恢复到空数据库（新文件）。")
        await asyncio.to_thread(_remove, staging)  # what an interrupted restore left
        copied = await asyncio.to_thread(_sqlite_copy, source, staging, from_backup=True)
        staged = f"sqlite://{staging}" + (f"?{url.split('?', 1)[1]}" if "?" in url else "")
        await db.upgrade(staged, key=key)
        await _key_opens(staged, key)
        await asyncio.to_thread(db.settle_and_replace, staging, path)
    except sqlite3.DatabaseError as exc:
        raise BackupError(
            f"{source} 不是可用的 SQLite 备份：{sqlite_problem(exc)}；没有改动任何文件。"
        ) from exc
    except Damaged as exc:  # the copy's own check found it damaged
        raise BackupError(f"{source} 不是可用的 SQLite 备份：{exc}；没有改动任何文件。") from exc
    except KeyProblem as exc:  # sealed rows it does not open (a backup without chain heads)
        raise BackupError(wrong_key(key, url) + "没有改动任何文件。") from exc
    except db.DatabaseError as exc:
        raise BackupError(f"{exc}没有改动任何文件。") from exc
    finally:
        if held is not None:  # the staging file of a restore that holds it is not ours
            await asyncio.to_thread(_remove, staging)
            held.let_go()
        for folder in made:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when still empty: nothing was restored
    return Copied(path, path.stat().st_size, copied.tables)


@dataclass(frozen=True, slots=True)
class _Held:
    """The single-instance lock of a SQLite target, held by a restore."""

    lock: InstanceLock
    made: bool  # the lock file was made by this restore (it goes again)

    def let_go(self) -> None:
        if self.made:  # taken away while held: whoever opens the name next gets a new file
            self.lock.path.unlink(missing_ok=True)
        self.lock.release()


def _hold(url: str, path: Path) -> _Held:
    """The lock `yishi serve` takes on the SQLite database at `url` (storage/instance_lock.py),
    for the restore: a server started meanwhile, or a second restore into the same file, is
    refused instead of writing under it."""
    lock_file = db.lock_path(url)
    assert lock_file is not None  # a SQLite file
    made = not lock_file.exists()
    lock = InstanceLock(lock_file, path.resolve())
    try:
        taken = lock.acquire()
    except OSError as exc:
        raise BackupError(
            f"无法创建锁文件 {lock_file}：{exc.strerror or exc}。没有改动任何文件。"
        ) from exc
    if not taken:
        holder = lock.holder()
        raise BackupError(
            f"目标数据库 {path} 正由另一个议事进程使用"
            + (f"（{holder}）" if holder else "")
            + "：请等它结束，或先停止正在运行的 yishi serve，再恢复；没有改动任何文件。"
        )
    lock.describe(f"{RESTORING}，进程 {os.getpid()}")
    return _Held(lock, made)


async def _key_opens(url: str, key: ServerKey) -> None:
    """KeyProblem unless `key` opens what the database at `url` holds sealed (the check every
    start makes)."""
    await db.open_db(url, run_migrations=False, key=key)
    try:
        await secrecy.check_key()
    finally:
        await db.close_db()


def _make_folder(folder: Path) -> list[Path]:
    """The target's folder, made when missing: the folders made here, the deepest first."""
    missing = []
    for above in (folder, *folder.parents):
        if above.is_dir():
            break
        missing.append(above)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"无法创建目录 {folder}：{exc.strerror or exc}。") from exc
    return missing


def _remove(path: Path) -> None:
    for stale in db.sqlite_files(path):
        stale.unlink(missing_ok=True)
    path.with_name(path.name + ".partial").unlink(missing_ok=True)


async def _restore_postgres(url: str, source: Path, key: ServerKey) -> Copied:
    tool = shutil.which("pg_restore")
    if tool is None:
        raise BackupError(
            "未安装 pg_restore（PostgreSQL 客户端工具）。请安装后重试，或手工执行：\n"
            + pg_recipe(url, str(source))
        )
    await db.reach(url)  # a database that does not exist, or does not answer, is said so
    if await db.pg_table_count(db.libpq_url(url)):
        raise BackupError("目标数据库不是空的；只能恢复到空数据库（CREATE DATABASE 新建）。")
    _check_holds(source, await _dump_holds(tool, source), key, url)
    bare, env = _login(url)
    try:
        await _run(
            tool,
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
            bare,
            str(source),
            env=env,
        )
    except BackupError as exc:
        raise BackupError(
            f"{exc}\n恢复在一个事务中进行，出错即整体撤销：目标数据库没有改动，"
            "查明原因后可直接重试。"
        ) from exc
    try:
        await db.upgrade(url, key=key)
        await _key_opens(url, key)
    except KeyProblem as exc:
        raise BackupError(
            f"备份已写入目标数据库，但当前的服务器密钥（指纹 {key.fingerprint}）打不开其中加密的"
            "数据（这个备份没有链头，事先无法核对密钥）。目标数据库现在不是空的：请先删除并重建它（"
            + recreate_hint(url)
            + "），"
            + key_advice(url).removesuffix("后重试。")
            + "，再执行一次 yishi restore。"
        ) from exc
    except db.DatabaseError as exc:
        raise BackupError(
            f"备份已写入目标数据库，但升级数据库结构失败：{exc}\n数据已在目标数据库中，不要再次"
            "恢复：查明原因后运行 yishi db upgrade --db '<目标库 URL>'，"
            "再运行 yishi verify --db '<目标库 URL>'。"
        ) from exc
    return Copied(source, await asyncio.to_thread(os.path.getsize, source), 0)


def recreate_hint(url: str) -> str:
    """How to empty the PostgreSQL database at `url` again, its name read by a URL parser (a
    password with 「@」 or 「:」, a query string, a percent-encoded name) and quoted for psql."""
    name = db.pg_database_name(url)
    if not name:
        return "在 psql 中删除并重建目标数据库"
    quoted = '"' + name.replace('"', '""') + '"'
    return f"psql 中执行 DROP DATABASE {quoted}; CREATE DATABASE {quoted};"


async def _dump_holds(tool: str, source: Path) -> _Holds:
    """What a pg_dump archive holds (its migrations and chain heads), read from the file alone."""
    try:
        out = await _run(
            tool,
            "--data-only",
            "--table=tortoise_migrations",
            "--table=chain_head",
            "--file=-",
            str(source),
        )
    except BackupError as exc:
        raise BackupError(
            f"{source} 不是可用的 PostgreSQL 备份（pg_dump --format=custom 的文件）：{exc}；"
            "没有改动任何文件。"
        ) from exc
    tables = copy_blocks(out.decode("utf-8", errors="replace"))
    applied = {
        str(r["name"]) for r in tables.get("tortoise_migrations", []) if r.get("app") == "models"
    }
    heads = sorted(tables.get("chain_head", []), key=lambda r: int(r.get("id") or 0))
    heads = heads[: secrecy.HEADS_PROBED]
    return _Holds(applied, heads)


_COPY = re.compile(r'^COPY (?:"?[\w]+"?\.)?"?(\w+)"? \((.*)\) FROM stdin;$')
_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.))")
_ESCAPED = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def copy_blocks(script: str) -> dict[str, list[dict[str, str | None]]]:
    """The rows of each COPY block of a SQL script pg_restore wrote, as column -> text (None for
    NULL), by table name."""
    out: dict[str, list[dict[str, str | None]]] = {}
    lines = iter(script.split("\n"))
    for line in lines:
        found = _COPY.match(line)
        if found is None:
            continue
        columns = [c.strip().strip('"') for c in found.group(2).split(",")]
        rows = out.setdefault(found.group(1), [])
        for row in lines:
            if row == "\\.":
                break
            values = [_copy_value(v) for v in row.split("\t")]
            rows.append(dict(zip(columns, values, strict=False)))
    return out


def _copy_value(text: str) -> str | None:
    if text == "\\N":
        return None
    return _ESCAPE.sub(_unescape, text)


def _unescape(found: re.Match[str]) -> str:
    octal, hexa, char = found.groups()
    if octal is not None:
        return chr(int(octal, 8))
    if hexa is not None:
        return chr(int(hexa, 16))
    return _ESCAPED.get(char, char)


def _has_tables(path: Path) -> bool:
    """Whether the SQLite file has tables (a missing or empty file has none)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    return db.sqlite_table_count(path) > 0


async def _run(*argv: str, env: Mapping[str, str] | None = None) -> bytes:
    """Run a client tool (in `env`, by default this process's environment); what it wrote to
    its output (BackupError, its own words, when it failed)."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    try:
        async with asyncio.timeout(TOOL_TIMEOUT_S):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise BackupError(
            f"{Path(argv[0]).name} 超过 {TOOL_TIMEOUT_S:.0f} 秒未完成，已停止。"
        ) from None
    if proc.returncode != 0:
        raise BackupError(tool_problem(Path(argv[0]).name, err.decode(errors="replace").strip()))
    return out


# What a client tool's complaint means, in Chinese (its own words follow in brackets).
_TOOL_SAYS = (
    ("end of file", "备份文件不完整，可能在复制或传输时被截断"),
    ("corrupt", "备份文件已损坏或不完整，可能在复制或传输时被截断"),
    ("did not find magic string", "不是 pg_dump --format=custom 的备份文件"),
    ("not appear to be a valid archive", "不是 pg_dump --format=custom 的备份文件"),
    ("could not open input file", "无法打开备份文件"),
    ("password authentication failed", "数据库拒绝登录，请检查用户名和密码"),
    ("permission denied", "没有权限"),
)


def tool_problem(tool: str, said: str) -> str:
    lowered = said.lower()
    meaning = next((zh for en, zh in _TOOL_SAYS if en in lowered), "")
    return f"{tool} 失败：{meaning}（{said}）" if meaning else f"{tool} 失败：{said}"
