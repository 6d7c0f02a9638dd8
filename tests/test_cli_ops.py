"""The operator's commands: `yishi --version`, `yishi config check`, the log options."""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import socket
import sqlite3
import struct
import threading
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.test_cli import ROOT, sqlite_url, yishi


def test_version_comes_from_the_package_metadata(tmp_path: Path) -> None:
    run = yishi("--version", cwd=tmp_path)
    assert run.code == 0
    assert run.out.strip() == f"yishi {version('yishi')}"


def test_config_check_passes_with_a_summary(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("[http]\nport = 9001\n", encoding="utf-8")
    run = yishi("config", "check", "--config", "c.toml", cwd=tmp_path)
    assert run.code == 0, run.err
    assert "配置正确：c.toml" in run.out
    assert "127.0.0.1:9001" in run.out
    # The environment: YISHI_CONFIG names the file, YISHI_<TABLE>__<KEY> overrides a key.
    run = yishi(
        "config",
        "check",
        cwd=tmp_path,
        extra_env={"YISHI_CONFIG": "c.toml", "YISHI_HTTP__PORT": "9002"},
    )
    assert run.code == 0, run.err
    assert "配置正确：c.toml" in run.out
    assert "127.0.0.1:9002" in run.out


def test_config_check_lists_every_problem(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text(
        "[http]\nport = 70000\n[reminders]\nsend_hour = 25\n[wecom]\nenabled = true\nmode = 'x'\n",
        encoding="utf-8",
    )
    run = yishi(
        "config",
        "check",
        "--config",
        "bad.toml",
        cwd=tmp_path,
        extra_env={"YISHI_BOT__NAME": "议事"},
    )
    assert run.code == 2
    assert "Traceback" not in run.err
    assert "配置错误（共 " in run.err
    # the settings' problems and the platform table's, in one pass (the table's had been
    # listed only once the settings were fixed)
    for key in ("http.port", "reminders.send_hour", "wecom.mode", "wecom.corp_id", "wecom.token"):
        assert f"  {key}：" in run.err


def test_log_options_json_lines_with_an_id(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path / "y.db")
    run = yishi(
        "--log-format", "json", "--log-level", "info", "db", "upgrade", "--db", db, cwd=tmp_path
    )
    assert run.code == 0, run.err
    lines = [json.loads(line) for line in run.err.splitlines() if line.startswith("{")]
    assert lines, run.err
    for line in lines:
        assert {"time", "level", "logger", "id", "message"} <= set(line)


def test_db_prune_dry_run_lists_every_table(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path / "y.db")
    assert yishi("db", "upgrade", "--db", db, cwd=tmp_path).code == 0
    run = yishi("db", "prune", "--dry-run", "--db", db, cwd=tmp_path)
    assert run.code == 0, run.err
    assert "试运行" in run.out
    for table in ("inbound_message", "processed_message", "outbox_attempt", "outbox_message"):
        assert f"  {table}：" in run.out
    run = yishi("db", "prune", "--db", db, cwd=tmp_path)
    assert run.code == 0, run.err
    assert "已清理" in run.out


def test_config_check_warns_when_login_links_would_not_open(tmp_path: Path) -> None:
    """In the documented container (YISHI_HTTP__HOST=0.0.0.0) or behind a reverse proxy
    (127.0.0.1), with a platform on and [web] base_url unset, every login link had been
    http://0.0.0.0:8080/… or http://127.0.0.1:8080/…, and nothing said so."""
    (tmp_path / "c.toml").write_text(
        "[dingtalk]\nenabled = true\nmode = 'http'\napp_key = 'k'\nrobot_code = 'r'\ncorp_id = 'c'\n",
        encoding="utf-8",
    )
    secret = {"YISHI_CONFIG": "c.toml", "YISHI_DINGTALK_APP_SECRET": "s"}
    for host in ("0.0.0.0", "127.0.0.1", "::"):
        run = yishi("config", "check", cwd=tmp_path, extra_env={**secret, "YISHI_HTTP__HOST": host})
        assert run.code == 0, run.err
        assert "注意：[web] base_url 未设置：工作台登录链接会是 http://" in run.out, run.out
        assert "YISHI_WEB__BASE_URL" in run.out
    settled = {**secret, "YISHI_HTTP__HOST": "0.0.0.0", "YISHI_WEB__BASE_URL": "https://y.example"}
    run = yishi("config", "check", cwd=tmp_path, extra_env=settled)
    assert run.code == 0, run.err
    assert "工作台：https://y.example/web/" in run.out
    assert "注意" not in run.out
    # No platform (a local try-out): the links go to this machine's browser, nothing to say.
    (tmp_path / "c.toml").write_text("", encoding="utf-8")
    run = yishi("config", "check", cwd=tmp_path, extra_env={"YISHI_CONFIG": "c.toml"})
    assert run.code == 0, run.err
    assert "注意" not in run.out


def test_the_restore_drill_runs_as_the_readme_writes_it(tmp_path: Path) -> None:
    """Step 4 of the drill, `yishi --db <URL> export …`, had stopped at argparse (--db was taken
    after the subcommand only). --db is read before or after it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    drill = readme.split("**恢复演练**", 1)[1]
    step = re.search(r"^4\. `yishi ([^`]*)`", drill, re.M)
    assert step is not None
    db = sqlite_url(tmp_path / "drill.db")
    script = ROOT / "examples" / "demo_meeting.txt"
    run = yishi("console", "--script", script, "--db", db, cwd=tmp_path)
    assert run.code == 0, run.err
    out = tmp_path / "drill-export"
    words = [
        {"<空库": db, "学会名": "苏州市示例科技学会", "今年": "2026"}.get(w, w)
        for w in shlex.split(step.group(1))
        if w != "URL>"
    ]
    words = [str(out) if w == "/tmp/drill-export" else w for w in words]
    run = yishi(*words, cwd=tmp_path)
    assert run.code == 0, run.err
    assert "已导出" in run.out
    assert out.is_dir()
    # After the subcommand, as every other example writes it: the same.
    run = yishi("verify", "--db", db, cwd=tmp_path)
    assert run.code == 0, run.err
    run = yishi("--db", db, "verify", cwd=tmp_path)
    assert run.code == 0, run.err


def test_db_prune_on_a_mistyped_path_makes_nothing(tmp_path: Path) -> None:
    """On a mistyped path prune had made the folder, a new database and a new key, and reported
    0 rows (exit 0). Like verify and export it says the file is not there, exit 2, nothing
    written."""
    typo = tmp_path / "typo" / "yishi.db"
    for dry in (("--dry-run",), ()):
        run = yishi("db", "prune", *dry, "--db", sqlite_url(typo), cwd=tmp_path)
        assert run.code == 2, run.out
        assert f"找不到数据库文件 {typo}" in run.err
        assert "不会新建数据库" in run.err
        assert "Traceback" not in run.err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_db_option_that_is_no_database_url_is_said_as_in_the_config(tmp_path: Path) -> None:
    """--db had skipped the check the configuration's URL gets: 「garbage」 was taken for
    PostgreSQL (「必须设置环境变量 YISHI_SECRET_KEY」, 「数据库不存在…CREATE DATABASE」) and
    mysql:// for a host name to resolve. Each says what a URL must start with, exit 2."""
    for url in ("garbage", "mysql://x@y/z", "sqlite:data.db"):
        for command in (
            ("db", "upgrade"),
            ("verify",),
            ("db", "prune", "--dry-run"),
            ("reminders", "--society", "x"),
            ("backup", "--out", "b.db"),
        ):
            run = yishi(*command, "--db", url, cwd=tmp_path)
            assert run.code == 2, (command, url, run.err)
            assert "配置错误：--db：应以 sqlite:// 或 postgres:// 开头，实际为" in run.err, run.err
            assert url in run.err
        run = yishi("--db", url, "verify", cwd=tmp_path)
        assert "配置错误：--db：应以 sqlite:// 或 postgres:// 开头" in run.err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_export_refuses_a_year_it_cannot_be_of(tmp_path: Path) -> None:
    """--year 0 and 99999 had ended in 「出错了：ValueError…」 with exit 1 (a failed
    verification's code), 99999 leaving an empty folder; --year abc in argparse's English. Each
    is said in Chinese, exit 2, nothing made."""
    db = sqlite_url(tmp_path / "y.db")
    assert yishi("db", "upgrade", "--db", db, cwd=tmp_path).code == 0
    made = sorted(p.name for p in tmp_path.iterdir())
    for year in ("0", "99999", "abc", "1999", "-1"):
        out = tmp_path / f"out-{year}"
        run = yishi(
            "export",
            "--society",
            "苏州市示例科技学会",
            "--year",
            year,
            "--out",
            out,
            "--db",
            db,
            cwd=tmp_path,
        )
        assert run.code == 2, (year, run.err)
        assert f"--year 应为 2000 到 2100 之间的年份（如 2026），实际为「{year}」" in run.err
        assert "Traceback" not in run.err
        assert "error:" not in run.err
    assert sorted(p.name for p in tmp_path.iterdir()) == made


def test_serve_says_whether_starting_again_can_help(tmp_path: Path) -> None:
    """The systemd unit restarts the server unless it exits with 2. A database server that does
    not answer yet (refused: not started) is a temporary failure (75: started again); a
    configuration error is for a person to fix (2)."""
    key = {"YISHI_SECRET_KEY": "yishi-test-key-0123456789abcdefghijklmnopqrstuvwxyz"}
    run = yishi("serve", "--db", "postgres://u@127.0.0.1:1/x", cwd=tmp_path, extra_env=key)
    assert run.code == 75, run.err
    assert "无法连接数据库服务器" in run.err
    (tmp_path / "bad.toml").write_text("[http]\nport = 70000\n", encoding="utf-8")
    run = yishi("--config", "bad.toml", "serve", cwd=tmp_path)
    assert run.code == 2, run.err
    # Any other command: 2, as before (nothing restarts it).
    run = yishi("verify", "--db", "postgres://u@127.0.0.1:1/x", cwd=tmp_path, extra_env=key)
    assert run.code == 2, run.err


def test_a_printed_database_url_shows_nothing_of_a_password_with_an_at_sign() -> None:
    """「已备份：postgres://***@ss@db…」: the login had been cut at the first 「@」, the rest of
    a password with 「@」 in it printed."""
    from bot.cli import _safe_url

    assert (
        _safe_url("postgres://yishi:p@ss:w@db:5432/yishi?sslmode=require")
        == "postgres://***@db:5432/yishi?sslmode=require"
    )
    assert _safe_url("postgres://yishi@db/yishi") == "postgres://***@db/yishi"
    assert _safe_url("sqlite:///srv/yishi/data.db") == "sqlite:///srv/yishi/data.db"


class _PostgresStub:
    """A TCP port that speaks as a PostgreSQL server would, in one of two ways: `silent` (takes
    the connection and says nothing, a server hung or a firewall dropping packets) or
    `starting` (refuses every login with 57P03, 「the database system is starting up」)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.open: list[socket.socket] = []

    def __enter__(self) -> _PostgresStub:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join(5)
        for conn in self.open:
            conn.close()
        self.sock.close()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.open.append(conn)
            if self.mode == "starting":
                with contextlib.suppress(OSError):
                    self._starting_up(conn)

    @staticmethod
    def _starting_up(conn: socket.socket) -> None:
        conn.settimeout(5)
        while True:
            size = struct.unpack("!I", conn.recv(4, socket.MSG_WAITALL))[0]
            body = conn.recv(size - 4, socket.MSG_WAITALL)
            if body[:4] == struct.pack("!I", 80877103):  # SSLRequest: no TLS here
                conn.sendall(b"N")
                continue
            break  # the startup message
        fields = b"".join(
            kind + text.encode() + b"\0"
            for kind, text in (
                (b"S", "FATAL"),
                (b"V", "FATAL"),
                (b"C", "57P03"),
                (b"M", "the database system is starting up"),
            )
        )
        conn.sendall(b"E" + struct.pack("!I", len(fields) + 5) + fields + b"\0")
        conn.close()


@pytest.mark.parametrize("mode", ["silent", "starting"])
def test_serve_exits_75_while_the_database_server_cannot_answer_yet(
    tmp_path: Path, mode: str
) -> None:
    """The README promises exit code 75 (started again by systemd) for a database that does not
    answer at the start: refused (tested above), no answer within the deadline, still starting
    up. Each of these, and a command other than serve (2: nothing restarts it)."""
    env = {
        "YISHI_SECRET_KEY": "yishi-test-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "YISHI_DB_OPEN_TIMEOUT": "2",
    }
    said = {"silent": "打开数据库超时（2 秒", "starting": "正在启动（或正在关闭），暂时不接受连接"}
    with _PostgresStub(mode) as stub:
        url = f"postgres://u@127.0.0.1:{stub.port}/x"
        run = yishi("serve", "--db", url, cwd=tmp_path, extra_env=env)
        assert run.code == 75, run.err
        assert run.err.startswith("数据库错误："), run.err
        assert said[mode] in run.err, run.err
        assert "Traceback" not in run.err
        run = yishi("verify", "--db", url, cwd=tmp_path, extra_env=env)
        assert run.code == 2, run.err


def test_serve_exits_75_while_another_program_holds_the_sqlite_file_locked(
    tmp_path: Path,
) -> None:
    """A SQLite file another program is writing (an exclusive transaction held open, a copy
    being made with the sqlite3 shell): the lock is let go soon, so 75 (started again)."""
    path = tmp_path / "yishi.db"
    run = yishi("db", "upgrade", "--db", sqlite_url(path), cwd=tmp_path)
    assert run.code == 0, run.err
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        run = yishi(
            "serve",
            "--db",
            sqlite_url(path),
            cwd=tmp_path,
            extra_env={"YISHI_DB_OPEN_TIMEOUT": "8"},
        )
    finally:
        holder.close()
    assert run.code == 75, run.err
    assert "Traceback" not in run.err


WECOM_WEBHOOK = "[wecom]\nenabled = true\ncorp_id = 'ww1'\nbot_id = 'aib1'\nbot_name = '议事助手'\n"
WECOM_SECRETS = {"YISHI_WECOM_TOKEN": "tok", "YISHI_WECOM_AES_KEY": "a" * 43}


def test_config_check_warns_that_wecom_without_an_app_cannot_start_private_chats(
    tmp_path: Path,
) -> None:
    """`app_agent_id` is optional, and nothing had said that without it no secret-ballot
    invitation and no personal reminder can go out (each failed at the first send)."""
    (tmp_path / "c.toml").write_text(WECOM_WEBHOOK, encoding="utf-8")
    env = {"YISHI_CONFIG": "c.toml", "YISHI_WEB__BASE_URL": "https://y.example", **WECOM_SECRETS}
    run = yishi("config", "check", cwd=tmp_path, extra_env=env)
    assert run.code == 0, run.err
    assert "注意：企业微信未配置自建应用" in run.out, run.out
    assert "无记名投票的私聊邀请" in run.out
    (tmp_path / "c.toml").write_text(WECOM_WEBHOOK + "app_agent_id = 1000002\n", encoding="utf-8")
    run = yishi("config", "check", cwd=tmp_path, extra_env={**env, "YISHI_WECOM_APP_SECRET": "s"})
    assert run.code == 0, run.err
    assert "注意" not in run.out, run.out
