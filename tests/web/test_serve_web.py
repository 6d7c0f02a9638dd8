"""`yishi serve` for real serves the 工作台: the pages answer, the cookie key is made beside the
SQLite database, and every society's event chain is verified in the background."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.kit.dingtalk.server import FakeDingTalk
from tests.test_serve import ADMIN, ROOT, _now, serving


def _checks(path: Path) -> list[tuple[int, str]]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.execute("SELECT entries, problem FROM chain_check"))
    finally:
        conn.close()


async def test_serve_serves_the_workbench(tmp_path: Path) -> None:
    db = tmp_path / "yishi.db"
    done = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "bot",
            "console",
            "--script",
            str(ROOT / "examples" / "demo_meeting.txt"),
            "--db",
            f"sqlite://{db}",
        ],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    async with FakeDingTalk(clock=_now) as fake:
        table = f"""
[dingtalk]
enabled = true
mode = "http"
app_key = "{fake.app_key}"
robot_code = "{fake.robot_code}"
corp_id = "{fake.corp_id}"
api_base = "{fake.base_url}"
oapi_base = "{fake.base_url}"
"""
        logged: list[str] = []
        async with serving(
            tmp_path,
            table,
            {"YISHI_DINGTALK_APP_SECRET": fake.app_secret},
            f"dingtalk:{fake.corp_id}:{ADMIN}:市党委刘老师",
            logged=logged,
        ) as served:
            async with served.http.get(f"{served.base}/web/overview") as resp:
                assert resp.status == 401
                assert "发送「工作台」" in await resp.text()
            async with asyncio.timeout(30):
                while not await asyncio.to_thread(_checks, db):  # noqa: ASYNC110
                    await asyncio.sleep(0.2)
            assert await asyncio.to_thread(_checks, db) == [(37, "")]
    assert (tmp_path / "secret.key").exists()
    # A platform is on and [web] base_url is not set: the links would carry the listening
    # address (127.0.0.1 here), which nobody's phone reaches. The start says so.
    assert "[web] base_url 未设置：工作台登录链接会是 http://127.0.0.1:" in logged[0]
