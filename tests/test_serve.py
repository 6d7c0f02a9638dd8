"""`yishi serve` for real: a separate process configured only by config.toml and environment
variables, talking to the fake DingTalk on 127.0.0.1 (HTTP mode, signed callbacks)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from tests.kit.dingtalk.server import FakeDingTalk

ROOT = Path(__file__).resolve().parent.parent
GROUP = "cidSERVE"
ADMIN = "staff-admin-01"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Served:
    base: str
    http: aiohttp.ClientSession
    health: dict[str, Any]


@contextlib.asynccontextmanager
async def serving(
    tmp_path: Path,
    platform_toml: str,
    secrets: Mapping[str, str],
    admin: str,
    *,
    logged: list[str] | None = None,
) -> AsyncIterator[Served]:
    """`yishi serve` in its own process with this platform table; stopped with SIGTERM, after
    which it must have exited normally (what it logged is added to `logged`)."""
    port = _free_port()
    new_database = not (tmp_path / "yishi.db").exists()
    (tmp_path / "config.toml").write_text(
        f"""
[database]
url = "sqlite://{tmp_path / "yishi.db"}"
[http]
host = "127.0.0.1"
port = {port}
[committee]
admins = ["{admin}"]
{platform_toml}
""",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("YISHI_")}
    env.update(secrets)
    env["PYTHONPATH"] = str(ROOT)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(tmp_path / "config.toml"),
        "serve",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            async with asyncio.timeout(60):
                while True:
                    try:
                        async with http.get(f"{base}/healthz") as resp:
                            if resp.status == 200:
                                health = await resp.json()
                                break
                    except aiohttp.ClientConnectionError:
                        pass
                    assert proc.returncode is None, await proc.stderr.read()  # type: ignore[union-attr]
                    await asyncio.sleep(0.2)
            yield Served(base, http, health)
    finally:
        if proc.returncode is None:
            proc.terminate()
        async with asyncio.timeout(30):
            await proc.wait()
    # SIGTERM stops the server in order and the process ends normally.
    log = await proc.stderr.read()  # type: ignore[union-attr]
    assert proc.returncode == 0, log
    if logged is not None:
        logged.append(log.decode("utf-8", "replace"))
    # A new database is migrated by a child (the server's heap never holds the migrations); an
    # up-to-date one starts no child.
    assert (b"database migrated in a child process" in log) == new_database, log


async def test_serve_answers_signed_dingtalk_callbacks(tmp_path: Path) -> None:
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
        async with serving(
            tmp_path,
            table,
            {"YISHI_DINGTALK_APP_SECRET": fake.app_secret},
            f"dingtalk:{fake.corp_id}:{ADMIN}:市党委刘老师",
        ) as served:
            base, http, health = served.base, served.http, served.health
            assert health["adapters"] == ["dingtalk"]
            assert health["inbound"]["state"] == "running"
            settings = fake.settings()
            sent = 0

            async def say(text: str, staff: str, nick: str) -> int:
                nonlocal sent
                sent += 1
                headers, body = fake.make_callback(
                    settings,
                    text=text,
                    staff_id=staff,
                    conversation_id=GROUP,
                    msg_id=f"msg-{sent}",
                    now=_now(),
                    nick=nick,
                )
                async with http.post(
                    f"{base}/dingtalk/callback", data=body, headers=headers
                ) as resp:
                    return resp.status

            async def replies(count: int) -> list[str]:
                async with asyncio.timeout(30):
                    while len(fake.recorded["session"]) < count:  # noqa: ASYNC110
                        await asyncio.sleep(0.05)
                return [c.text for c in fake.recorded["session"]]

            # An unbound group: the explanation, through the message's session webhook.
            assert await say("名单", "staff-x", "路人") == 200
            assert "还没有绑定学会" in (await replies(1))[0]
            # The committee admin binds the group; the binding is confirmed and kept.
            assert await say("绑定学会 苏州市测试科技学会", ADMIN, "市党委刘老师") == 200
            assert "苏州市测试科技学会" in (await replies(2))[1]
            assert await say("名单", ADMIN, "市党委刘老师") == 200
            assert "还没有绑定学会" not in (await replies(3))[2]
            # A forged callback is refused by the running server.
            headers, body = fake.make_callback(
                settings,
                text="名单",
                staff_id=ADMIN,
                conversation_id=GROUP,
                msg_id="forged",
                now=_now(),
            )
            headers["sign"] = "AAAA" + headers["sign"][4:]
            async with http.post(f"{base}/dingtalk/callback", data=body, headers=headers) as r:
                assert r.status == 401


async def test_serve_answers_encrypted_wecom_callbacks(tmp_path: Path) -> None:
    from aiohttp.test_utils import TestServer

    from tests.kit.seed import WECOM_CORP
    from tests.kit.wecom.payloads import make_text_message
    from tests.kit.wecom.rig import RIG_AES_KEY, RIG_BOT_ID, RIG_BOT_NAME, RIG_TOKEN, rig_settings
    from tests.kit.wecom.server import FakeWeCom

    class Clock:
        def now(self) -> datetime:
            return _now()

    fake = FakeWeCom(clock=Clock(), corp_id=WECOM_CORP)
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    fake_base = str(server.make_url("/")).rstrip("/")
    table = f"""
[wecom]
enabled = true
mode = "webhook"
corp_id = "{WECOM_CORP}"
bot_id = "{RIG_BOT_ID}"
bot_name = "{RIG_BOT_NAME}"
api_base = "{fake_base}"
"""
    settings = rig_settings(fake_base)
    try:
        async with serving(
            tmp_path,
            table,
            {"YISHI_WECOM_TOKEN": RIG_TOKEN, "YISHI_WECOM_AES_KEY": RIG_AES_KEY},
            f"wecom:{WECOM_CORP}:{ADMIN}:市党委刘老师",
        ) as served:
            base, http = served.base, served.http
            assert served.health["adapters"] == ["wecom"]

            async def say(text: str, user: str, n: int) -> int:
                headers, body = make_text_message(
                    settings,
                    f"@{RIG_BOT_NAME} {text}",
                    now=_now(),
                    userid=user,
                    msgid=f"wecom-msg-{n}",
                    response_url=fake.response_url(fake_base),
                )
                params = {k: v for k, v in headers.items() if k != "Content-Type"}
                async with http.post(
                    f"{base}/wecom/callback",
                    params=params,
                    data=body,
                    headers={"Content-Type": "application/json"},
                ) as resp:
                    return resp.status

            async def answers(count: int) -> list[str]:
                async with asyncio.timeout(30):
                    while len(fake.accepted("aibot/response")) < count:  # noqa: ASYNC110
                        await asyncio.sleep(0.05)
                return [str(c.body) for c in fake.accepted("aibot/response")]

            assert await say("绑定学会 苏州市测试科技学会", ADMIN, 1) == 200
            assert "苏州市测试科技学会" in (await answers(1))[0]
            assert await say("名单", ADMIN, 2) == 200
            assert "还没有绑定学会" not in (await answers(2))[1]
    finally:
        await server.close()
