"""What the benchmarks share. They never import the tests (tests/test_layering.py): the test kit's
fake platforms (tests/kit/) check and record every request the way the platforms would, while a
benchmark needs only endpoints that answer at once. Societies are seeded with
`bot.demo.seed_society`, as the tests and `yishi demo` do.

  sink_app     the platform endpoints the bot calls back (replies, notices, tokens): each POST
               is read and answered with the platform's success body
  serve        an aiohttp app on 127.0.0.1, a free port, no access log
  IdleScheduler  a Scheduler that never wakes the bot (the bot wakes its sender on enqueue)
  ensure_server_key  a server key for a run on a throw-away PostgreSQL database
  throwaway_postgres  a new PostgreSQL database for one run, dropped afterwards
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web

from bot.keys import ENV_VAR, new_key_text


@asynccontextmanager
async def throwaway_postgres(server_url: str, prefix: str) -> AsyncIterator[str | None]:
    """A new database on the PostgreSQL server of `server_url` (tortoise's postgres:// URL),
    named `prefix` and a random suffix, dropped afterwards; None, said on a line, when the
    server cannot be reached."""
    libpq = server_url.replace("postgres://", "postgresql://", 1)
    try:
        conn = await asyncpg.connect(libpq, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"PostgreSQL: skipped, {server_url} is unreachable ({exc})")
        yield None
        return
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield f"{server_url.rsplit('/', 1)[0]}/{name}"
    finally:
        conn = await asyncpg.connect(libpq, timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


# The server key of a SQLite file kept by benchmarks/scale.py (--keep), in <file>.key beside it.
KEPT_KEY_SUFFIX = ".key"


def keep_server_key(db_path: str) -> None:
    """Write this run's server key (from the environment) beside a kept SQLite file."""
    key = Path(db_path + KEPT_KEY_SUFFIX)
    key.write_text(os.environ[ENV_VAR] + "\n", encoding="utf-8")
    key.chmod(0o600)


def ensure_server_key() -> None:
    """PostgreSQL needs the server key from the environment; a benchmark's database is thrown
    away afterwards, so without YISHI_SECRET_KEY a new key serves this run (the processes it
    starts inherit it)."""
    os.environ.setdefault(ENV_VAR, new_key_text())


OK: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
# What each platform answers a successful call (docs/platforms.md), by path.
DINGTALK_ANSWERS: dict[str, dict[str, Any]] = {
    "/v1.0/oauth2/accessToken": {"accessToken": "bench-token", "expireIn": 7200},
    "/v1.0/robot/groupMessages/send": {"processQueryKey": "bench"},
    "/v1.0/robot/oToMessages/batchSend": {
        "processQueryKey": "bench",
        "invalidStaffIdList": [],
        "flowControlledStaffIdList": [],
    },
    "/robot/sendBySession": OK,
}
WECOM_ANSWERS: dict[str, dict[str, Any]] = {
    "/cgi-bin/aibot/response": OK,  # response_url: replies of queued messages
    "/cgi-bin/webhook/send": OK,  # 消息推送: group notices
}


def sink_app(answers: Mapping[str, Mapping[str, Any]]) -> web.Application:
    """POST to one of `answers`' paths: the body is read, that path's answer returned."""

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response(answers[request.path])

    app = web.Application()
    for path in answers:
        app.router.add_post(path, answer)
    return app


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """`app` on 127.0.0.1: (runner, base URL without a trailing slash)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


class IdleScheduler:
    """bot.scheduler's Scheduler with no alarm: no periodic sweep, no armed wake-up. The bot still
    wakes its own sender when it enqueues a message; reminders are not what a callback benchmark
    measures."""

    def __init__(self) -> None:
        self.running = False

    def start(self) -> None:
        self.running = True

    def arm(self, name: str, at: datetime) -> None:
        pass

    def shutdown(self) -> None:
        self.running = False
