"""/healthz tells the truth: 503 with the reasons when the bot cannot do its work, 200 otherwise;
paused platform channels are listed without failing it; it reads a bounded number of rows."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from tortoise import connections

import bot.app
from bot.adapters.base import CallbackClock
from bot.adapters.console import ConsoleAdapter
from bot.app import RUNTIME, build_app
from bot.clock import ManualClock
from bot.config import Settings
from bot.reminders.service import ReminderService
from storage import db
from storage import models as m
from tests.conftest import PG_SERVER
from tests.kit.clock import TZ, FakeScheduler


def _app(url: str) -> tuple[Any, ManualClock]:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    adapter = ConsoleAdapter(bot_name="议事", clock=clock)
    settings = Settings(database_url=url)
    return build_app(settings, clock=clock, adapters=[adapter], scheduler=FakeScheduler()), clock


async def _health(client: TestClient) -> tuple[int, dict[str, Any]]:
    resp = await client.get("/healthz")
    return resp.status, await resp.json()


async def test_paused_channels_are_listed_without_failing(database: str) -> None:
    app, clock = _app(database)
    until = clock.now() + timedelta(minutes=10)
    for i in range(25):
        await m.ChannelState.create(
            channel=f"dingtalk:corp:group:g{i:02}", paused_until=until, reason="130101 throttled"
        )
    await m.ChannelState.create(channel="dingtalk:corp:group:ok", paused_until=None)
    async with TestClient(TestServer(app)) as client:
        clock.advance(timedelta(seconds=30))
        status, body = await _health(client)
        # The probe is a real write: the instance's heartbeat row now holds the probe's time.
        row = await m.BotInstance.filter(name=app[RUNTIME].instance).first()
        assert row is not None
        assert row.heartbeat_at == clock.now()
    assert status == 200, body
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    # At most 20 are shown (a bounded read), and that there are more.
    assert len(body["channels"]) == 20
    assert body["channels_more"] is True
    assert all(c["state"] == "paused" for c in body["channels"].values())


async def test_healthy_and_serving_while_the_start_up_catch_up_runs(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a long stop the start-up sweep may have thousands of overdue reminders to decide
    and send: it runs in the background, the callbacks and /healthz are served meanwhile."""
    release = asyncio.Event()
    entered = asyncio.Event()
    sweep = ReminderService.sweep

    async def long_sweep(self: ReminderService, *args: Any, **kwargs: Any) -> Any:
        entered.set()
        await release.wait()
        return await sweep(self, *args, **kwargs)

    monkeypatch.setattr(ReminderService, "sweep", long_sweep)
    app, _ = _app(database)
    async with TestClient(TestServer(app)) as client:
        await entered.wait()
        status, body = await _health(client)
        assert status == 200, body
        assert body["startup"] == "catching_up"
        release.set()
        await app[RUNTIME].caught_up.wait()
        status, body = await _health(client)
        assert status == 200, body
        assert body["startup"] == "done"


async def test_a_database_that_takes_no_writes_fails_the_probe(backend: str, database: str) -> None:
    app, _ = _app(database)
    async with TestClient(TestServer(app)) as client:
        assert (await _health(client))[0] == 200
        if backend == "sqlite":
            conn = connections.get(db.connection_name(database))
            await conn.execute_script("PRAGMA query_only = ON")
            try:
                status, body = await _health(client)
            finally:
                await conn.execute_script("PRAGMA query_only = OFF")
        else:
            name = database.rsplit("/", 1)[1]
            admin = await asyncpg.connect(PG_SERVER.replace("postgres://", "postgresql://"))
            try:
                await admin.execute(
                    f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'
                )
                kill = (
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = $1 AND pid <> pg_backend_pid()"
                )
                await admin.execute(kill, name)
                # The first probe meets the dropped connection; the next a read-only session.
                await _health(client)
                status, body = await _health(client)
            finally:
                await admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
                await admin.execute(kill, name)
                await admin.close()
        assert status == 503, body
        assert body["status"] == "error"
        assert body["database"] == "not_writable"
        assert "database_not_writable" in body["reasons"]
        # Writable again: healthy again, by itself.
        for _ in range(3):
            status, body = await _health(client)
            if status == 200:
                break
        assert status == 200, body


async def test_nearly_full_disk_and_stuck_workers_fail_with_reasons(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite://{tmp_path / 'h.db'}"
    await db.open_db(url)
    try:
        app, _ = _app(url)
        async with TestClient(TestServer(app)) as client:
            status, body = await _health(client)
            assert status == 200, body
            assert body["disk_free_mb"] > 0
            monkeypatch.setattr(bot.app, "free_disk_bytes", lambda path: 10 * 1024 * 1024)
            status, body = await _health(client)
            assert status == 503
            assert body["reasons"] == ["disk_nearly_full"]
            monkeypatch.undo()
            sender = app[RUNTIME].delivery.sender
            sender.looped_at = time.monotonic() - 3600  # the loop stopped turning an hour ago
            status, body = await _health(client)
            assert status == 503
            assert body["sender"] == "stuck"
            assert body["reasons"] == ["sender_stuck"]
    finally:
        await db.close_db()


def test_the_callback_clock_is_suspected_when_every_signed_callback_is_stale() -> None:
    """A server 2 h ahead had refused every member's callback as stale while /healthz said ok."""
    now = [1000.0]
    watch = CallbackClock(monotonic=lambda: now[0])
    watch.refused("bad_signature")
    watch.refused("stale_timestamp")
    watch.refused("stale_timestamp")
    assert not watch.suspect()  # two are not enough
    watch.refused("stale_timestamp")
    assert watch.suspect()
    watch.taken()  # one callback taken: the clock is right (a replayed old one was refused)
    assert not watch.suspect()
    now[0] += 61
    for _ in range(3):
        watch.refused("stale_timestamp")
    assert watch.suspect()
    now[0] += 61  # a minute without refusals
    assert not watch.suspect()


async def test_health_fails_while_the_callback_clock_is_suspected(database: str) -> None:
    app, _ = _app(database)
    watch = CallbackClock()
    for _ in range(3):
        watch.refused("stale_timestamp")
    app[bot.app.ADAPTERS][0].callback_clock = watch
    async with TestClient(TestServer(app)) as client:
        status, body = await _health(client)
    assert status == 503
    assert body["clock"] == "suspect"
    assert "clock_suspect" in body["reasons"]
