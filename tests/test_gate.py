"""Background loops stop between passes: a pass inside a transaction is let finish, and the
database is usable afterwards (on both engines)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from bot.gate import Gate
from storage import models as m


async def test_stop_lets_the_pass_in_progress_commit(database: str) -> None:
    gate = Gate()
    inside = asyncio.Event()
    passes: list[int] = []
    now = datetime(2026, 12, 1, tzinfo=UTC)

    async def loop() -> None:
        n = 0
        while not gate.closing():
            async with gate.passing():
                async with in_transaction():
                    n += 1
                    await m.BotInstance.create(name=f"i{n}", started_at=now, heartbeat_at=now)
                    inside.set()
                    await asyncio.sleep(0.05)
                passes.append(n)
            await asyncio.sleep(3600)  # idle until woken: cancelled here, outside any pass

    task = asyncio.create_task(loop())
    await inside.wait()
    await gate.stop([task], grace=5)
    assert task.cancelled()
    assert passes == [1]
    async with asyncio.timeout(5):
        assert await m.BotInstance.all().count() == 1
