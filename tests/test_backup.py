"""`yishi backup` while votes are being cast, `yishi restore` into an empty database, verified.

SQLite uses the online backup API (a consistent snapshot while the bot writes); PostgreSQL runs
pg_dump / pg_restore (the test needs the client tools, as the command does)."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import sqlite3
import sys
from pathlib import Path

import asyncpg
import pytest

from bot.backup import BackupError, Damaged, backup
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


async def _a_small_record(tmp_path: Path) -> Path:
    """A SQLite database with one signed meeting and a vote, closed; its key beside it."""
    from storage import db
    from tests.kit.console import MEMBERS, convene_and_open

    path = tmp_path / "live.db"
    await db.open_db(f"sqlite://{path}")
    try:
        h = await ConsoleRig.create()
        await convene_and_open(h, "年度总结")
        await h.say("张伟", "发起表决 1")
        for name in MEMBERS:
            await h.say(name, "赞成")
        assert "结果：通过" in await h.say("张伟", "结束表决")
        await h.say("张伟", "散会 现在")
        assert "已签发" in await h.say("张伟", "签发")
    finally:
        await db.close_db()
    return path


async def test_restore_refuses_what_would_go_wrong_and_writes_nothing(tmp_path: Path) -> None:
    """Restore without the key had made a new key beside the target and half-restored (a retry
    was then refused as 「not empty」); a file of another program or an empty file had been
    「restored」 and verified clean; a backup on read-only media could not be read (it was in WAL
    mode and SQLite makes a -shm file beside it). Each is refused before anything is written,
    or works, and the backup is left as it was."""
    live = await _a_small_record(tmp_path)
    out = tmp_path / "media" / "backup.db"
    out.parent.mkdir()
    code, text = await _cli("backup", "--out", str(out), "--db", f"sqlite://{live}")
    assert code == 0, text
    header = out.read_bytes()[:20]
    assert header[18] == 1  # a rollback-journal file: self-contained, readable read-only
    assert out.stat().st_mode & 0o077 == 0  # readable by its owner only, as the database

    target = tmp_path / "restored" / "yishi.db"
    target.parent.mkdir()
    code, text = await _cli("restore", str(out), "--db", f"sqlite://{target}")
    assert code == 2
    assert "找不到密钥文件" in text
    assert "没有改动任何文件" in text
    assert sorted(p.name for p in target.parent.iterdir()) == []

    shutil.copy(tmp_path / KEY_FILE_NAME, target.parent / KEY_FILE_NAME)
    foreign = tmp_path / "other.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    for source in (foreign, empty):
        code, text = await _cli("restore", str(source), "--db", f"sqlite://{target}")
        assert code == 2, text
        assert "不是议事的备份" in text
        assert not target.exists()

    out.parent.chmod(0o555)  # the backup's media read-only
    try:
        code, text = await _cli("restore", str(out), "--db", f"sqlite://{target}")
    finally:
        out.parent.chmod(0o755)
    assert code == 0, text
    assert "记录链完整" in text
    assert sorted(p.name for p in out.parent.iterdir()) == ["backup.db"]
    assert target.stat().st_mode & 0o077 == 0
    assert "Traceback" not in text


async def test_commands_that_only_read_change_nothing_and_export_nothing_tampered(
    tmp_path: Path,
) -> None:
    """verify and reminders on another program's SQLite file had migrated it into ours (and
    reported 「未发现篡改」); on a mistyped path they had made a new database; export had written
    the archive of records edited behind the chain with rc 0. Now each says what is wrong,
    exit code 2 (1 for records that do not check out), and the files are as they were."""
    live = await _a_small_record(tmp_path)
    foreign = tmp_path / "app" / "app.db"
    foreign.parent.mkdir()
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    before = foreign.read_bytes()
    for command in (("verify",), ("reminders", "--society", "x")):
        code, text = await _cli(*command, "--db", f"sqlite://{foreign}")
        assert code == 2, text
        assert "不是议事的数据库" in text
        code, text = await _cli(*command, "--db", f"sqlite://{tmp_path / 'typo.db'}")
        assert code == 2, text
        assert "找不到数据库文件" in text
    assert foreign.read_bytes() == before
    assert sorted(p.name for p in foreign.parent.iterdir()) == ["app.db"]
    assert not (tmp_path / "typo.db").exists()

    society = "苏州市示例科技学会"
    exported = tmp_path / "archive"
    args = ("export", "--society", society, "--year", "2026", "--db", f"sqlite://{live}")
    code, text = await _cli(*args, "--out", str(tmp_path / "live.db"))
    assert code == 2, text
    assert "已有同名的文件" in text
    conn = sqlite3.connect(live)
    conn.execute("UPDATE vote SET result = REPLACE(result, 'passed', 'not_passed')")
    conn.commit()
    conn.close()
    code, text = await _cli(*args, "--out", str(exported))
    assert code == 1, text
    assert "没有导出" in text
    assert "表 vote" in text
    assert not exported.exists()
    assert "Traceback" not in text


async def _tables_in(url: str) -> int:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    try:
        return int(
            await conn.fetchval(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'"
            )
        )
    finally:
        await conn.close()


async def test_a_failed_sqlite_restore_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    """A backup restored under another key had been copied into place, then refused by the
    key check (「已恢复」, then a key error, exit 2), and the retry with the right key was
    refused as 「不是空的」. The key is checked before anything is written; a broken backup is
    said in Chinese; the retry works."""
    live = await _a_small_record(tmp_path)
    out = tmp_path / "backup.db"
    code, text = await _cli("backup", "--out", str(out), "--db", f"sqlite://{live}")
    assert code == 0, text
    target = tmp_path / "d4" / "r.db"
    target.parent.mkdir()
    other = "another-key-0123456789abcdefghijklmnopqrstuvwxyz"
    (target.parent / KEY_FILE_NAME).write_text(other + "\n", encoding="ascii")
    code, text = await _cli("restore", str(out), "--db", f"sqlite://{target}")
    assert code == 2, text
    assert "已恢复" not in text
    assert "不是用当前的服务器密钥" in text
    assert f"现在用的是密钥文件 {target.parent / KEY_FILE_NAME}" in text
    assert "没有改动任何文件" in text
    assert sorted(p.name for p in target.parent.iterdir()) == [KEY_FILE_NAME]
    # The key in the environment wins over the file: the advice says which one to change.
    code, text = await _cli("restore", str(out), "--db", f"sqlite://{target}", key=other)
    assert code == 2, text
    assert "现在用的是环境变量 YISHI_SECRET_KEY" in text
    assert sorted(p.name for p in target.parent.iterdir()) == [KEY_FILE_NAME]

    broken = tmp_path / "broken.db"
    broken.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"hello\n" * 200)
    shutil.copy(tmp_path / KEY_FILE_NAME, target.parent / KEY_FILE_NAME)
    # Said in Chinese, SQLite's own words after it (they had ended the message alone).
    for source, said in (
        (broken, "文件已损坏或不完整，可能在复制时被截断（database disk image is malformed）"),
        (junk, "文件不是 SQLite 数据库（file is not a database）"),
    ):
        code, text = await _cli("restore", str(source), "--db", f"sqlite://{target}")
        assert code == 2, text
        assert said in text, text
        assert "没有改动任何文件" in text
        assert sorted(p.name for p in target.parent.iterdir()) == [KEY_FILE_NAME]

    code, text = await _cli("restore", str(out), "--db", f"sqlite://{target}")
    assert code == 0, text
    assert "记录链完整" in text
    assert sorted(p.name for p in target.parent.iterdir()) == ["r.db", KEY_FILE_NAME]


async def test_a_failed_postgres_restore_leaves_the_target_empty(
    backend: str, database: str, tmp_path: Path
) -> None:
    """A truncated dump had left 39 empty tables in the target (pg_restore ran table by table)
    and a wrong key the whole database; each retry was refused as 「不是空的」. The key is
    checked from the dump before anything is written and pg_restore runs in one transaction:
    the target stays empty and the retry works."""
    if backend != "postgres":
        pytest.skip("PostgreSQL only")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump / pg_restore not installed")
    from tests.kit.console import convene_and_open

    h = await ConsoleRig.create()
    await convene_and_open(h, "年度总结")
    await h.say("张伟", "散会 现在")
    out = tmp_path / "b.dump"
    await backup(database, out)
    # Cut early: found while reading the chain heads, before anything is written. Cut in the
    # last table's data: pg_restore has made every table and loaded most rows when it fails.
    truncated = tmp_path / "trunc.dump"
    truncated.write_bytes(out.read_bytes()[:-60])
    cut_early = tmp_path / "cut.dump"
    cut_early.write_bytes(out.read_bytes()[: out.stat().st_size // 3])
    other = "another-key-0123456789abcdefghijklmnopqrstuvwxyz"
    async with new_postgres("yishi_restore") as made:
        code, text = await _cli("restore", str(out), "--db", made, key=other)
        assert code == 2, text
        assert "不是用当前的服务器密钥" in text
        assert "没有改动任何文件" in text
        assert await _tables_in(made) == 0
        for cut, said in (
            (truncated, "恢复在一个事务中进行，出错即整体撤销：目标数据库没有改动"),
            (cut_early, "没有改动任何文件"),
        ):
            code, text = await _cli("restore", str(cut), "--db", made, key=PG_KEY_TEXT)
            assert code == 2, text
            assert "可能在复制或传输时被截断（pg_restore: " in text, text
            assert said in text, text
            assert await _tables_in(made) == 0
        code, text = await _cli("restore", str(out), "--db", made, key=PG_KEY_TEXT)
        assert code == 0, text
        assert "记录链完整" in text


async def test_upgrade_leaves_another_programs_database_alone(tmp_path: Path) -> None:
    """`yishi db upgrade` (and serve, which upgrades first) had added every table of ours to
    another program's SQLite file, exit 0, while verify said it was not ours. Both engines: the
    same words as verify, exit 2, the database as it was."""
    foreign = tmp_path / "app.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    before = foreign.read_bytes()
    code, text = await _cli("db", "upgrade", "--db", f"sqlite://{foreign}")
    assert code == 2, text
    assert f"{foreign} 不是议事的数据库（里面没有议事的数据表），没有改动它。" in text
    assert foreign.read_bytes() == before
    async with new_postgres("yishi_foreign") as made:
        conn2 = await asyncpg.connect(made.replace("postgres://", "postgresql://"))
        try:
            await conn2.execute("CREATE TABLE customers (id INTEGER)")
        finally:
            await conn2.close()
        code, text = await _cli("db", "upgrade", "--db", made, key=PG_KEY_TEXT)
        assert code == 2, text
        assert "不是议事的数据库（里面没有议事的数据表），没有改动它。" in text
        assert await _tables_in(made) == 1
    # An empty database, or one of ours, is upgraded as before.
    code, text = await _cli("db", "upgrade", "--db", f"sqlite://{tmp_path / 'new.db'}")
    assert code == 0, text
    code, text = await _cli("db", "upgrade", "--db", f"sqlite://{tmp_path / 'new.db'}")
    assert code == 0, text


async def test_a_postgres_backup_keeps_the_password_off_command_lines_and_is_private(
    backend: str, database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The .dump had been created 0644 (a SQLite backup is 0600), pg_dump and pg_restore had
    got the password inside --dbname (visible to anyone in `ps`), and the recipe printed when
    pg_dump is missing showed it in clear. The password goes in the child's PGPASSWORD."""
    if backend != "postgres":
        pytest.skip("PostgreSQL only")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump / pg_restore not installed")
    from bot.backup import restore
    from tests.kit.keys import PG_KEY

    password = "s3cret-Pa55"
    user, rest = database.split("://", 1)[1].split("@", 1)
    with_password = f"postgres://{user}:{password}@{rest}"  # the test server trusts its users
    started: list[tuple[tuple[str, ...], dict[str, str]]] = []
    real = asyncio.create_subprocess_exec

    async def spy(*argv: str, **kwargs: object) -> asyncio.subprocess.Process:
        env = kwargs.get("env")
        started.append((argv, dict(env) if isinstance(env, dict) else {}))
        return await real(*argv, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(asyncio, "create_subprocess_exec", spy)
    out = tmp_path / "b.dump"
    await backup(with_password, out)
    assert out.stat().st_mode & 0o777 == 0o600
    assert sorted(os.listdir(tmp_path)) == ["b.dump"]
    async with new_postgres("yishi_restore") as made:
        user, rest = made.split("://", 1)[1].split("@", 1)
        await restore(f"postgres://{user}:{password}@{rest}", out, key=PG_KEY)
    tools = [(argv, env) for argv, env in started if Path(argv[0]).name.startswith("pg_")]
    assert {Path(argv[0]).name for argv, _ in tools} == {"pg_dump", "pg_restore"}
    for argv, env in tools:
        assert not any(password in word for word in argv), argv
        if "--dbname" in argv:
            assert env.get("PGPASSWORD") == password, argv
    monkeypatch.setattr(shutil, "which", lambda _: None)
    with pytest.raises(BackupError) as missing:
        await backup(with_password, tmp_path / "c.dump")
    assert password not in str(missing.value)
    assert "PGPASSWORD" in str(missing.value)


@pytest.mark.parametrize(
    ("url", "said"),
    [
        # a password with 「@」「:」「/」 (encoded or not), tortoise's and libpq's parameters
        (
            "postgres://yishi:p%40ss%3Aw%2Frd@db.example.org:5432/yishi_drill?sslmode=require",
            'DROP DATABASE "yishi_drill"; CREATE DATABASE "yishi_drill";',
        ),
        (
            "postgres://yishi:p@ss:wd@127.0.0.1:5432/yishi?minsize=1&maxsize=5",
            'DROP DATABASE "yishi"; CREATE DATABASE "yishi";',
        ),
        # a name percent-encoded in the URL, a name with a double quote in it
        ("postgres://u@h/%E8%AE%AE%E4%BA%8B", 'DROP DATABASE "议事"; CREATE DATABASE "议事";'),
        ('postgres://u@h/we"ird', 'DROP DATABASE "we""ird"; CREATE DATABASE "we""ird";'),
        # no database in the URL: libpq opens the one named as the user
        ("postgres://yishi:x@h:5432?sslmode=require", 'DROP DATABASE "yishi";'),
        ("postgres://h:5432", "在 psql 中删除并重建目标数据库"),
    ],
)
def test_the_hint_to_recreate_the_database_names_it_as_the_url_does(url: str, said: str) -> None:
    """The database to drop had been cut out of the URL by hand: 「h:5432」 for a URL without a
    database, 「%E8%AE%AE…」 for a name written encoded; and a name with 「"」 broke the SQL."""
    from bot.backup import recreate_hint

    hint = recreate_hint(url)
    assert said in hint, hint
    assert "p@ss" not in hint  # nothing of the password
    assert "%40" not in hint


def _fake_pg_dump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """A `pg_dump` on PATH that runs `script` with $f the file it was told to write."""
    tools = tmp_path / "bin"
    tools.mkdir()
    tool = tools / "pg_dump"
    tool.write_text(
        '#!/bin/sh\nwhile [ $# -gt 0 ]; do [ "$1" = --file ] && f="$2"; shift; done\n' + script,
        encoding="utf-8",
    )
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")


async def test_a_file_made_while_pg_dump_runs_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name is checked before pg_dump starts, and the finished dump had been renamed over
    whatever appeared under it meanwhile (another backup of the same name, a file of someone
    else's). It is put in place only while the name is free."""
    _fake_pg_dump(tmp_path, monkeypatch, 'echo ours > "$f"\necho theirs > "${f%.partial}"\n')
    out = tmp_path / "backups" / "b.dump"
    out.parent.mkdir()
    with pytest.raises(BackupError) as refused:
        await backup("postgres://yishi@127.0.0.1:5432/yishi", out)
    assert f"{out} 已存在，不覆盖" in str(refused.value)
    assert out.read_text(encoding="utf-8") == "theirs\n"
    assert os.listdir(out.parent) == ["b.dump"]  # nothing of ours left beside it


async def test_a_failed_dump_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pg_dump that wrote half a dump and failed: the command says so in Chinese, with the
    tool's own words, and nothing is left under the name or beside it."""
    _fake_pg_dump(
        tmp_path,
        monkeypatch,
        'echo half > "$f"\necho "pg_dump: error: connection to server failed" >&2\nexit 1\n',
    )
    out = tmp_path / "backups" / "b.dump"
    out.parent.mkdir()
    with pytest.raises(BackupError) as failed:
        await backup("postgres://yishi@127.0.0.1:5432/yishi", out)
    assert str(failed.value) == "pg_dump 失败：pg_dump: error: connection to server failed"
    assert os.listdir(out.parent) == []


async def test_a_failed_restore_takes_away_the_folders_it_made(tmp_path: Path) -> None:
    """A restore into a folder that does not exist yet makes it; when the restore then fails
    (a backup with a damaged page, found by the check of the copy), the folder goes again:
    nothing is left to say that a restore happened. The damage is said in words.

    The damaged page is a data page of a large table (processed message ids with their
    replies), which neither reading what the backup holds nor copying it touches: the restore
    always gets as far as the copy's check, and it is that check that refuses it (a page wiped
    whole makes SQLite's check fail with an error instead of a report, said as a truncated
    file: its header is kept)."""
    from bot.backup import restore
    from bot.keys import load_key

    live = await _a_small_record(tmp_path)
    key = load_key(f"sqlite://{live}", create=False)
    conn = sqlite3.connect(live)
    with conn:
        conn.executemany(
            "INSERT INTO processed_message (platform, corp_id, message_id, at, reply)"
            " VALUES ('console', 'c', ?, '2026-12-01 09:00:00+00:00', ?)",
            [(f"m{i}", f"filler-{i:04d}-" + "x" * 3000) for i in range(200)],
        )
    conn.close()
    out = tmp_path / "backup.db"
    await backup(f"sqlite://{live}", out)
    data = out.read_bytes()
    size = int.from_bytes(data[16:18], "big")  # the page size, from the file's header
    page = data.index(b"filler-0100-") // size * size
    assert page > 0
    assert data[page] == 13  # a table's leaf (data) page
    # Its header stays (the b-tree still leads to it); its records are wiped.
    content = page + int.from_bytes(data[page + 5 : page + 7], "big")
    broken = tmp_path / "broken.db"
    broken.write_bytes(data[:content] + bytes(page + size - content) + data[page + size :])
    target = tmp_path / "restored" / "2026" / "r.db"
    with pytest.raises(BackupError) as failed:
        await restore(f"sqlite://{target}", broken, key=key)
    said = str(failed.value)
    assert said.startswith(f"{broken} 不是可用的 SQLite 备份：副本校验未通过，文件已损坏"), said
    assert isinstance(failed.value.__cause__, Damaged), said
    assert said.endswith("；没有改动任何文件。"), said
    assert not (tmp_path / "restored").exists()
    # The folder made for a restore that works stays, with the database in it.
    await restore(f"sqlite://{target}", out, key=key)
    assert sorted(p.name for p in target.parent.iterdir()) == ["r.db"]


async def test_a_restore_and_a_server_on_one_sqlite_file_refuse_each_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`yishi restore` into SQLite had taken no lock: a server started while it ran, or a
    second restore into the same file, wrote under it (the last rename won). It holds the lock
    `yishi serve` holds; whichever comes second is refused, says why, and changes nothing."""
    import bot.backup
    from bot.backup import restore
    from bot.keys import load_key
    from bot.scheduler import sole_instance

    live = await _a_small_record(tmp_path)
    key = load_key(f"sqlite://{live}", create=False)
    out = tmp_path / "backup.db"
    await backup(f"sqlite://{live}", out)
    # A server holds the target: the restore is refused.
    served = tmp_path / "served" / "r.db"
    served.parent.mkdir()
    shutil.copy(tmp_path / KEY_FILE_NAME, served.parent / KEY_FILE_NAME)
    with sole_instance(f"sqlite://{served}"):
        code, text = await _cli("restore", str(out), "--db", f"sqlite://{served}")
    assert code == 2, text
    assert f"恢复失败：目标数据库 {served} 正由另一个议事进程使用" in text, text
    assert "没有改动任何文件" in text
    assert sorted(p.name for p in served.parent.iterdir()) == ["r.db.lock", KEY_FILE_NAME]
    # A restore holds it: a server started meanwhile and a second restore are refused.
    target = tmp_path / "restored" / "r.db"
    target.parent.mkdir()
    shutil.copy(tmp_path / KEY_FILE_NAME, target.parent / KEY_FILE_NAME)
    url = f"sqlite://{target}"
    meanwhile: list[tuple[int, str]] = []
    checked = bot.backup._key_opens

    async def while_restoring(staged: str, key: object) -> None:
        meanwhile.append(await _cli("serve", "--db", url))
        meanwhile.append(await _cli("restore", str(out), "--db", url))
        await checked(staged, key)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.backup, "_key_opens", while_restoring)
    await restore(url, out, key=key)
    (serve_code, serve_said), (again_code, again_said) = meanwhile
    holder = f"yishi restore，进程 {os.getpid()}"
    assert serve_code == 2, serve_said
    assert f"数据库正在恢复备份（{holder}）" in serve_said, serve_said
    assert "请等恢复完成后再启动" in serve_said
    assert again_code == 2, again_said
    assert f"正由另一个议事进程使用（{holder}）" in again_said, again_said
    # The restore's own database, verified; the lock file it made is gone with it.
    assert sorted(p.name for p in target.parent.iterdir()) == ["r.db", KEY_FILE_NAME]
    code, text = await _cli("verify", "--db", url)
    assert code == 0, text


async def test_the_printed_recipe_quotes_a_path_with_spaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without pg_dump, `yishi backup` prints the commands to run by hand: pasted into a shell,
    a backup file whose path has a space (or a quote) is one argument, and so is the URL."""
    monkeypatch.setattr(shutil, "which", lambda _: None)
    out = tmp_path / "年度 备份" / "yishi 2026's.dump"
    out.parent.mkdir()
    url = "postgres://yishi:secret@db.example.org:5432/yishi?sslmode=require"
    with pytest.raises(BackupError) as missing:
        await backup(url, out)
    said = str(missing.value)
    assert "secret" not in said
    dump = next(line for line in said.splitlines() if "pg_dump --format" in line)
    argv = shlex.split(dump.split("：", 1)[1])
    assert argv[argv.index("--file") + 1] == str(out)
    assert argv[argv.index("--dbname") + 1].endswith("/yishi?sslmode=require")
    load = next(line for line in said.splitlines() if "pg_restore" in line)
    assert shlex.split(load.split("：", 1)[1])[-1] == str(out)
