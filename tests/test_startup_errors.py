"""No hang, no traceback: configuration and environment faults end with a clear Chinese error
and exit code 2 (a traceback only with --debug / YISHI_DEBUG=1); hostile input is refused
before it reaches storage."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.adapters.base import Rejected
from bot.cli import main
from bot.events import normalize_text
from tests.conftest import PG_SERVER
from tests.kit.keys import PG_KEY_TEXT

ROOT = Path(__file__).resolve().parent.parent
PG_BASE = PG_SERVER.rsplit("/", 1)[0].rsplit("@", 1)[-1]  # host:port


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://postgres@127.0.0.1:1/test", "连接被拒绝"),
        ("postgres://no_such_user:wrong@{pg}/test", "用户名和密码"),
        ("postgres://postgres@{pg}/no_such_database_here", "数据库不存在"),
        ("sqlite:///proc/no/such/folder/yishi.db", "无法创建数据库目录"),
        # verify only reads: it makes no folder and no database
        ("sqlite:///proc/no/such/folder/yishi.db", "找不到数据库文件"),
    ],
)
def test_wrong_database_settings_exit_2_without_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    monkeypatch.setenv("YISHI_SECRET_KEY", PG_KEY_TEXT)
    command = ("db", "upgrade") if expected == "无法创建数据库目录" else ("verify",)
    code, text = _run(capsys, *command, "--db", url.format(pg=PG_BASE))
    assert code == 2, text
    assert text.startswith("数据库错误：")
    assert expected in text
    assert "Traceback" not in text


def test_a_read_only_sqlite_database_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # query_only makes SQLite refuse every write, as a read-only file does (also for root).
    code, text = _run(capsys, "db", "upgrade", "--db", f"sqlite://{tmp_path / 'y.db'}?query_only=1")
    assert code == 2, text
    assert "只读" in text
    assert "Traceback" not in text


def test_a_database_from_a_newer_version_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite://{tmp_path / 'y.db'}"
    assert _run(capsys, "db", "upgrade", "--db", url)[0] == 0
    conn = sqlite3.connect(tmp_path / "y.db")
    conn.execute(
        "INSERT INTO tortoise_migrations (app, name, applied_at)"
        " VALUES ('models', '0999_from_the_future', '2030-01-01 00:00:00+00:00')"
    )
    conn.commit()
    conn.close()
    code, text = _run(capsys, "verify", "--db", url)
    assert code == 2
    assert "数据库结构比本程序新" in text
    assert "0999_from_the_future" in text


def test_debug_flag_shows_the_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YISHI_SECRET_KEY", PG_KEY_TEXT)
    code, text = _run(capsys, "--debug", "verify", "--db", "postgres://postgres@127.0.0.1:1/x")
    assert code == 2
    assert "Traceback" in text


def test_a_server_that_never_answers_meets_the_deadline(tmp_path: Path) -> None:
    """A port that accepts connections and never speaks: exit 2 at the deadline, no hang."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("YISHI_")}
        env.update(PYTHONPATH=str(ROOT), YISHI_DB_OPEN_TIMEOUT="2", YISHI_SECRET_KEY=PG_KEY_TEXT)
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "bot", "verify", "--db", f"postgres://u@127.0.0.1:{port}/x"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 2, proc.stderr
    assert "超时" in proc.stderr
    assert "Traceback" not in proc.stderr
    # The deadline, plus starting Python on a possibly busy machine.
    assert time.monotonic() - started < 60


def test_nul_and_control_characters_never_reach_storage() -> None:
    assert normalize_text("投票\x00 赞成\x07\x1b") == "投票 赞成"
    assert normalize_text("第一行\n第二行\t完") == "第一行 第二行 完"


def test_an_oversized_message_id_is_refused_by_both_codecs() -> None:
    from bot.adapters.dingtalk import codec as dingtalk

    with pytest.raises(Rejected) as refused:
        dingtalk._id({"msgId": "m" * 5000}, "msgId")
    assert refused.value.status == 400
    assert dingtalk._id({"msgId": "m" * 40}, "msgId") == "m" * 40


async def test_a_slow_body_is_refused_without_waiting_for_ever() -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from bot.adapters import http

    async def view(request: web.Request) -> web.Response:
        try:
            await http.read_body(request, cap=1024, deadline_s=0.3)
        except TimeoutError:
            return web.Response(status=408)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/cb", view)

    async def trickle():  # type: ignore[no-untyped-def]
        yield b"{"
        await asyncio.sleep(2)
        yield b"}"

    async with TestClient(TestServer(app)) as client:
        started = time.monotonic()
        resp = await client.post("/cb", data=trickle())
        assert resp.status == 408
        assert time.monotonic() - started < 2


def test_a_new_sqlite_database_is_readable_by_its_owner_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The file holds every society's records: it had been made 0644 (readable by every local
    user), while its key beside it was 0600."""
    path = tmp_path / "data" / "y.db"
    code, text = _run(capsys, "db", "upgrade", "--db", f"sqlite://{path}")
    assert code == 0, text
    for made in (path, path.with_name("secret.key")):
        assert made.stat().st_mode & 0o077 == 0, oct(made.stat().st_mode)
