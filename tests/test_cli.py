"""The `yishi` command line, run for real in subprocesses: console scripts, verify, export,
db upgrade, configuration errors and the interactive demo (fed on stdin), on SQLite and
PostgreSQL."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from docx import Document

from bot.keys import ENV_VAR, KEY_FILE_NAME
from tests.kit.databases import new_postgres
from tests.kit.keys import PG_KEY_TEXT

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "examples" / "demo_meeting.txt"
SOCIETY = "苏州市示例科技学会"
PG_ENV = {ENV_VAR: PG_KEY_TEXT}  # a PostgreSQL database needs the server key


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def yishi(
    *args: str | Path, cwd: Path, stdin: str | None = None, extra_env: dict[str, str] | None = None
) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YISHI_")}
    env.update(extra_env or {})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"
    done = subprocess.run(
        [sys.executable, "-m", "bot", *map(str, args)],
        cwd=cwd,
        env=env,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def sqlite_url(path: Path) -> str:
    return f"sqlite://{path}"


def copy_db(src: Path, dst: Path) -> Path:
    """A consistent copy of a (WAL) SQLite database."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()
    if (src.parent / KEY_FILE_NAME).exists() and src.parent != dst.parent:
        shutil.copy(src.parent / KEY_FILE_NAME, dst.parent / KEY_FILE_NAME)  # the server key
    return dst


def execute(path: Path, sql: str, *params: object) -> int:
    conn = sqlite3.connect(path)
    try:
        with conn:
            changed = conn.execute(sql, params).rowcount
    finally:
        conn.close()
    return changed


@dataclass(frozen=True)
class Scripted:
    db: Path
    run: Run


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> Scripted:
    """The demo meeting script, run once into a SQLite file; tests work on copies of it."""
    work = tmp_path_factory.mktemp("scripted")
    db = work / "x.db"
    run = yishi("console", "--script", SCRIPT, "--db", sqlite_url(db), cwd=work)
    assert run.code == 0, run.err
    return Scripted(db, run)


# ---------------------------------------------------------------------------------------------
# console --script and verify


def test_console_script_runs_the_demo_meeting(scripted: Scripted) -> None:
    out = scripted.run.out
    assert "【会议通知】" in out
    assert "结果：通过" in out
    assert "暂缓决定" in out
    assert "已签发" in out
    assert "Traceback" not in scripted.run.err
    # The script's lines are echoed and the @time lines shown.
    assert "张伟: 召开会议" in out
    assert "（时间：2026-12-05 14:50）" in out


def test_verify_a_clean_database(scripted: Scripted, tmp_path: Path) -> None:
    db = copy_db(scripted.db, tmp_path / "x.db")
    run = yishi("verify", "--db", sqlite_url(db), cwd=tmp_path)
    assert run.code == 0, run.err
    assert "记录链完整" in run.out
    assert "共校验 37 条记录" in run.out


def test_verify_finds_an_edited_event(scripted: Scripted, tmp_path: Path) -> None:
    db = copy_db(scripted.db, tmp_path / "x.db")
    changed = execute(
        db,
        "UPDATE event_log SET payload = replace(payload, '会员发展工作', '年终聚餐') "
        "WHERE chain = 'society:1' AND seq = 5",
    )
    assert changed == 1
    run = yishi("verify", "--db", sqlite_url(db), cwd=tmp_path)
    assert run.code == 1, run.out + run.err
    assert "第5条" in run.out
    assert "society:1" in run.out
    assert "被修改" in run.out
    assert "记录链完整" not in run.out


def test_verify_finds_a_deleted_event(scripted: Scripted, tmp_path: Path) -> None:
    db = copy_db(scripted.db, tmp_path / "x.db")
    assert execute(db, "DELETE FROM event_log WHERE chain = 'society:1' AND seq = 20") == 1
    run = yishi("verify", "--db", sqlite_url(db), cwd=tmp_path)
    assert run.code == 1, run.out + run.err
    assert "第21条" in run.out
    assert "序号不连续" in run.out


def test_verify_finds_edited_signed_minutes(scripted: Scripted, tmp_path: Path) -> None:
    db = copy_db(scripted.db, tmp_path / "x.db")
    changed = execute(
        db,
        'UPDATE minutes_version SET body = replace(body, \'"outcome":"deferred"\', '
        '\'"outcome":"passed"\') '
        "WHERE id = (SELECT minutes_id FROM signature)",
    )
    assert changed == 1
    run = yishi("verify", "--db", sqlite_url(db), cwd=tmp_path)
    assert run.code == 1, run.out + run.err
    assert "已签发纪要被改动" in run.out
    assert "会议 1 第2版" in run.out


def test_editing_an_unsigned_draft_is_reported_where(scripted: Scripted, tmp_path: Path) -> None:
    db = copy_db(scripted.db, tmp_path / "x.db")
    # Version 1 was superseded by version 2 before signing: not signed, but still a record.
    assert execute(db, "UPDATE minutes_version SET notes = 'x' WHERE version = 1") == 1
    run = yishi("verify", "--db", sqlite_url(db), cwd=tmp_path)
    assert run.code == 1, run.out + run.err
    assert "学会 1（苏州市示例科技学会） · 表 minutes_version 行 1：行内容被改动" in run.out
    assert "已签发纪要被改动" not in run.out


def test_verify_without_the_key_is_refused(scripted: Scripted, tmp_path: Path) -> None:
    db = tmp_path / "nokey" / "x.db"
    db.parent.mkdir()
    with sqlite3.connect(scripted.db) as a, sqlite3.connect(db) as b:
        a.backup(b)
    run = yishi("verify", "--db", sqlite_url(db), cwd=tmp_path)
    assert run.code == 2, run.out + run.err
    assert "secret.key" in run.err
    assert not (db.parent / KEY_FILE_NAME).exists()  # verify never makes a key


# ---------------------------------------------------------------------------------------------
# export


def test_export_a_year(scripted: Scripted, tmp_path: Path) -> None:
    db = copy_db(scripted.db, tmp_path / "x.db")
    out = tmp_path / "archive"
    run = yishi(
        "export", "--society", SOCIETY, "--year", "2026", "--out", out, "--db", sqlite_url(db),
        cwd=tmp_path,
    )  # fmt: skip
    assert run.code == 0, run.err
    assert "决策 2 条" in run.out

    docs = sorted(out.glob("*.docx"))
    assert len(docs) == 1
    paragraphs = [p.text for p in Document(str(docs[0])).paragraphs]
    assert any("会议记录" in p and SOCIETY in p for p in paragraphs), paragraphs[:3]
    assert any("2026年度工作总结" in p for p in paragraphs)
    assert any("已签发" in p for p in paragraphs)

    (csv_path,) = out.glob("*.csv")
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        header, *rows = list(csv.reader(fh))
    assert header[:4] == ["会议", "日期", "议题编号", "议题"]
    assert "结果" in header
    assert len(rows) >= 2
    assert all(len(r) == len(header) for r in rows)
    outcome = header.index("结果")
    assert [(r[3], r[outcome]) for r in rows] == [
        ("2026年度工作总结", "通过"),
        ("2027年经费预算", "暂缓决定"),
    ]

    (jsonl,) = out.glob("*.jsonl")
    lines = jsonl.read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    assert events
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs)
    assert {"meeting_convened", "vote_closed", "minutes_signed"} <= {e["kind"] for e in events}
    assert all(len(e["hash"]) == 64 for e in events)


def test_the_ledger_records_the_accepted_state(scripted: Scripted) -> None:
    conn = sqlite3.connect(scripted.db)
    try:
        (payload,) = conn.execute(
            "SELECT payload FROM event_log WHERE kind = 'item_accepted'"
        ).fetchone()
    finally:
        conn.close()
    assert json.loads(payload)["state"] == "accepted"


def test_export_an_unknown_society(scripted: Scripted, tmp_path: Path) -> None:
    db = copy_db(scripted.db, tmp_path / "x.db")
    run = yishi(
        "export", "--society", "不存在的学会", "--year", "2026", "--out", tmp_path / "out",
        "--db", sqlite_url(db), cwd=tmp_path,
    )  # fmt: skip
    assert run.code == 2
    assert "不存在的学会" in run.err
    assert "Traceback" not in run.err


# ---------------------------------------------------------------------------------------------
# Bad input: configuration and scripts


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[governance]\nquorum = "abc"\n', "governance.quorum"),
        ("[governance]\nquorom = 1\n", "governance.quorom"),
        ('[http]\nport = "x"\n', "http.port"),
        ('[bot]\ntimezone = "Mars/Base"\n', "bot.timezone"),
        ("[governance\nquorum = 1\n", "TOML"),
        pytest.param(
            '[bot]\ntimezone = "Asia"\n',
            "bot.timezone",
        ),
        pytest.param(
            "[governance]\nquorum = inf\n",
            "governance.quorum",
        ),
    ],
)
def test_bad_config_exits_2_naming_the_key(tmp_path: Path, text: str, named: str) -> None:
    (tmp_path / "bad.toml").write_text(text, encoding="utf-8")
    run = yishi(
        "--config", "bad.toml", "verify", "--db", sqlite_url(tmp_path / "v.db"), cwd=tmp_path
    )
    assert "Traceback" not in run.err
    assert run.code == 2
    assert named in run.err
    assert "配置错误" in run.err
    assert not (tmp_path / "v.db").exists()


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    run = yishi("--config", "nowhere.toml", "verify", cwd=tmp_path)
    assert run.code == 2
    assert "nowhere.toml" in run.err
    assert "Traceback" not in run.err


def test_config_toml_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[http]\nport = 0\n", encoding="utf-8")
    run = yishi("verify", "--db", sqlite_url(tmp_path / "v.db"), cwd=tmp_path)
    assert run.code == 2
    assert "http.port" in run.err


def test_a_script_moving_the_clock_gets_the_reminders_then_due(tmp_path: Path) -> None:
    """The console sends what fell due when its clock is moved, as `yishi serve` would: the
    meeting reminder a day and an hour before, to those who have not checked in or asked for
    leave, and the leader's notice chaser; a reminder long past is skipped, not sent. The
    script's clock runs before the demo society's creation (now): what is ahead of it counts."""
    script = tmp_path / "clock.txt"
    script.write_text(
        "@time 2026-12-01 09:00\n"
        "张伟: 召开会议 2026-12-03 09:00 学会会议室 议题：年度工作计划\n"
        "李娜: 请假 出差\n"
        "@time 2026-12-02 09:00\n"
        "@time 2026-12-02 16:00\n"
        "@time 2026-12-03 08:00\n",
        encoding="utf-8",
    )
    run = yishi("console", "--script", script, "--db", sqlite_url(tmp_path / "s.db"), cwd=tmp_path)
    assert run.code == 0, run.err
    day, hour = "召开（还有1天）", "召开（还有1小时）"
    assert run.out.count(day) == 6  # not 李娜, on leave
    assert run.out.count(hour) == 6
    assert "[议事 → 私聊 李娜]\n  【会议提醒】" not in run.out
    assert run.out.index("（时间：2026-12-02 09:00）") < run.out.index(day)
    assert run.out.index(day) < run.out.index("【通知未确认】") < run.out.index(hour)


def test_script_with_an_unparseable_line(tmp_path: Path) -> None:
    script = tmp_path / "bad.txt"
    script.write_text("# 注释\n\n张伟: 帮助\n这一行没有冒号\n", encoding="utf-8")
    db = tmp_path / "s.db"
    run = yishi("console", "--script", script, "--db", sqlite_url(db), cwd=tmp_path)
    assert run.code == 2
    assert "第4行" in run.err
    assert "Traceback" not in run.err
    assert "帮助" not in run.out  # nothing ran


def test_script_with_a_bad_time_line(tmp_path: Path) -> None:
    script = tmp_path / "bad.txt"
    script.write_text("张伟: 帮助\n@time 2026-13-45 99:00\n", encoding="utf-8")
    run = yishi("console", "--script", script, "--db", sqlite_url(tmp_path / "s.db"), cwd=tmp_path)
    assert run.code == 2
    assert "第2行" in run.err
    assert "Traceback" not in run.err


def test_a_bad_time_line_is_found_before_anything_runs(tmp_path: Path) -> None:
    script = tmp_path / "bad.txt"
    lines = [*SCRIPT.read_text(encoding="utf-8").splitlines()[:3], "@time 明天"]
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "s.db"
    run = yishi("console", "--script", script, "--db", sqlite_url(db), cwd=tmp_path)
    assert run.code == 2
    assert "【会议通知】" not in run.out
    if db.exists():
        conn = sqlite3.connect(db)
        try:
            assert conn.execute("SELECT count(*) FROM meeting").fetchone() == (0,)
        finally:
            conn.close()


def test_missing_script_exits_2(tmp_path: Path) -> None:
    run = yishi(
        "console", "--script", "nowhere.txt", "--db", sqlite_url(tmp_path / "s.db"), cwd=tmp_path
    )
    assert run.code == 2
    assert "nowhere.txt" in run.err


def test_an_explicit_db_leaves_the_working_directory_alone(
    scripted: Scripted, tmp_path: Path
) -> None:
    db = copy_db(scripted.db, tmp_path / "x.db")
    work = tmp_path / "cwd"
    work.mkdir()
    assert yishi("verify", "--db", sqlite_url(db), cwd=work).code == 0
    assert list(work.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# db upgrade


def test_db_upgrade_is_repeatable_and_keeps_data(tmp_path: Path) -> None:
    db = tmp_path / "y.db"
    url = sqlite_url(db)
    first = yishi("db", "upgrade", "--db", url, cwd=tmp_path)
    assert first.code == 0, first.err
    assert "数据库已升级" in first.out
    again = yishi("db", "upgrade", "--db", url, cwd=tmp_path)
    assert again.code == 0, again.err

    assert yishi("console", "--script", SCRIPT, "--db", url, cwd=tmp_path).code == 0
    before = execute_count(db)
    third = yishi("db", "upgrade", "--db", url, cwd=tmp_path)
    assert third.code == 0, third.err
    assert execute_count(db) == before
    verify = yishi("verify", "--db", url, cwd=tmp_path)
    assert verify.code == 0, verify.out + verify.err
    assert "共校验 37 条记录" in verify.out


def execute_count(db: Path) -> tuple[int, int, int]:
    conn = sqlite3.connect(db)
    try:
        return tuple(  # type: ignore[return-value]
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("event_log", "ballot", "minutes_version")
        )
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# The interactive demo, fed on stdin


DEMO_INPUT = "\n".join(
    ["召开会议 明天下午3点 会议室 议题：测试议题", ":as 李娜", "请假 出差", ":who", ":quit", ""]
)


def test_demo_on_stdin(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "d.db")
    run = yishi("demo", "--db", url, cwd=tmp_path, stdin=DEMO_INPUT)
    assert run.code == 0, run.err
    assert f"已创建示例学会「{SOCIETY}」" in run.out
    assert "【会议通知】" in run.out
    assert "测试议题" in run.out
    assert "李娜已请假（出差）" in run.out
    assert "市党委刘老师" in run.out  # :who
    assert "Traceback" not in run.err

    again = yishi("demo", "--db", url, cwd=tmp_path, stdin=":quit\n")
    assert again.code == 0, again.err
    assert f"已打开示例学会「{SOCIETY}」" in again.out
    assert "已创建" not in again.out


def test_demo_ends_at_end_of_input(tmp_path: Path) -> None:
    run = yishi("demo", "--db", sqlite_url(tmp_path / "d.db"), cwd=tmp_path, stdin="帮助\n")
    assert run.code == 0, run.err
    assert "Traceback" not in run.err


def test_demo_serves_the_workbench_and_prints_a_login_link(tmp_path: Path) -> None:
    """The first README command shows the 工作台 too: pages on 127.0.0.1 in the same process
    as the console, a one-time link for the demo committee admin, 「工作台」 for anyone."""
    import http.cookiejar
    import re
    import urllib.request

    env = {k: v for k, v in os.environ.items() if not k.startswith("YISHI_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONUNBUFFERED"] = "1"
    url = sqlite_url(tmp_path / "d.db")
    with subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--db", url],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
    ) as proc:
        assert proc.stdin is not None
        assert proc.stdout is not None
        seen = []
        link = None
        for line in proc.stdout:
            seen.append(line)
            found = re.search(r"一次性登录链接.*?(http://127\.0\.0\.1:\d+/web/login/\S+)", line)
            if found:
                link = found.group(1)
                break
        assert link is not None, "".join(seen)
        assert any("工作台（网页）：http://127.0.0.1:" in x for x in seen)
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        with opener.open(urllib.request.Request(link, data=b"", method="POST"), timeout=10) as r:
            assert "您好，市党委刘老师" in r.read().decode("utf-8")
        base = link.split("/web/", 1)[0]
        with opener.open(base + "/web/overview", timeout=10) as r:
            assert SOCIETY in r.read().decode("utf-8")
        # The console keeps working in the same process; 「工作台」 gives 张伟 his own link.
        proc.stdin.write(":as 张伟\n工作台\n")
        proc.stdin.flush()
        mine = None
        for line in proc.stdout:
            found = re.search(r"(http://127\.0\.0\.1:\d+/web/login/\S+)", line)
            if found:
                mine = found.group(1)
                break
        assert mine is not None
        assert mine != link
        proc.stdin.write(":quit\n")
        proc.stdin.flush()
        assert proc.wait(timeout=30) == 0
    assert (tmp_path / "data" / "secret.key").exists() is False  # the key is beside the db
    assert (tmp_path / "secret.key").exists()


def test_serve_on_postgres_without_the_cookie_key_exits_2(tmp_path: Path) -> None:
    run = yishi("serve", "--db", "postgres://nobody@127.0.0.1:1/none", cwd=tmp_path)
    assert run.code == 2
    assert "配置错误" in run.err
    assert "YISHI_SECRET_KEY" in run.err
    assert "Traceback" not in run.err


# ---------------------------------------------------------------------------------------------
# PostgreSQL


@pytest.fixture(scope="module")
async def pg_database() -> AsyncIterator[str]:
    """A throw-away, empty PostgreSQL database for this module."""
    async with new_postgres("yishi_cli") as url:
        yield url


@pytest.fixture(scope="module")
def pg_scripted(pg_database: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The demo meeting script, run once into the PostgreSQL database."""
    run = yishi(
        "console",
        "--script",
        SCRIPT,
        "--db",
        pg_database,
        cwd=tmp_path_factory.mktemp("pg"),
        extra_env=PG_ENV,
    )
    assert run.code == 0, run.err
    return run


def test_console_script_and_verify_on_postgres(
    pg_scripted: Run, pg_database: str, tmp_path: Path
) -> None:
    for text in ("【会议通知】", "结果：通过", "暂缓决定", "已签发"):
        assert text in pg_scripted.out
    verify = yishi("verify", "--db", pg_database, cwd=tmp_path, extra_env=PG_ENV)
    assert verify.code == 0, verify.out + verify.err
    assert "共校验 37 条记录" in verify.out
    upgrade = yishi("db", "upgrade", "--db", pg_database, cwd=tmp_path, extra_env=PG_ENV)
    assert upgrade.code == 0, upgrade.err
    assert (
        "共校验 37 条记录"
        in yishi("verify", "--db", pg_database, cwd=tmp_path, extra_env=PG_ENV).out
    )


def test_postgres_without_its_key_or_with_another_is_refused(
    pg_scripted: Run, pg_database: str, tmp_path: Path
) -> None:
    """The data is sealed under the server key: a missing key, or another one, stops the command
    with a Chinese message before anything runs."""
    for env in ({}, {ENV_VAR: "another-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEF"}):
        refused = yishi("export", "--society", SOCIETY, "--year", "2026", "--out", tmp_path,
                        "--db", pg_database, cwd=tmp_path, extra_env=env)  # fmt: skip
        assert refused.code == 2, refused.out + refused.err
        assert "配置错误" in refused.err
        assert ENV_VAR in refused.err
        assert "Traceback" not in refused.err


def test_export_on_postgres(pg_scripted: Run, pg_database: str, tmp_path: Path) -> None:
    out = tmp_path / "archive"
    run = yishi(
        "export", "--society", SOCIETY, "--year", "2026", "--out", out, "--db", pg_database,
        cwd=tmp_path, extra_env=PG_ENV,
    )  # fmt: skip
    assert run.code == 0, run.err
    assert "决策 2 条" in run.out
    assert len(list(out.glob("*.docx"))) == 1
    assert len(list(out.glob("*.csv"))) == 1


@pytest.mark.parametrize(
    ("section", "named"),
    [
        (
            '[dingtalk]\nenabled = true\nmode = "stream"\napp_key = "k"\nrobot_code = "r"\ncorp_id = "c"\n',
            "dingtalk.app_secret",
        ),
        (
            '[wecom]\nenabled = true\nmode = "webhook"\ncorp_id = "ww1"\nbot_id = "b"\n',
            "wecom.token",
        ),
    ],
)
def test_serve_with_a_platform_but_no_secret_fails_closed(
    tmp_path: Path, section: str, named: str
) -> None:
    """An enabled platform without its secret stops `yishi serve` before anything listens."""
    (tmp_path / "config.toml").write_text(
        f'[database]\nurl = "{sqlite_url(tmp_path / "db.sqlite")}"\n{section}', encoding="utf-8"
    )
    run = yishi("serve", cwd=tmp_path)
    assert run.code == 2
    assert "配置错误" in run.err
    assert named in run.err
    assert not (tmp_path / "db.sqlite").exists()
