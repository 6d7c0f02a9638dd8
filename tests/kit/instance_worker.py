"""One bot instance in its own process, for the many-instances test: sweeps reminders and
drains the outbox a few times at a fixed instant, recording every send in a shared file.

    python -m tests.kit.instance_worker DATABASE_URL ISO_INSTANT OUT_FILE NAME
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime

from bot.adapters.base import Feed
from bot.clock import ManualClock
from bot.config import DeliverySettings, Settings, parse_admin
from bot.demo import committee_admin_entry
from bot.events import OutgoingMessage, Platform
from bot.outbox import Sender
from bot.reminders.service import ReminderService
from storage import db
from tests.kit.keys import key_for


class RecordingConsole:
    platform = Platform.CONSOLE

    edits_cards = True

    def __init__(self, path: str, name: str) -> None:
        self.path = path
        self.name = name

    async def start(self, feed: Feed) -> None:
        pass

    async def close(self) -> None:
        pass

    def merge(self, first: OutgoingMessage, then: OutgoingMessage) -> OutgoingMessage | None:
        return None  # one by one

    async def send(self, message: OutgoingMessage) -> None:
        line = json.dumps(
            {"chat": message.chat.chat_id, "text": message.text, "by": self.name},
            ensure_ascii=False,
        )
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, (line + "\n").encode())  # one write with O_APPEND: lines never mix
        finally:
            os.close(fd)


@asynccontextmanager
async def instance(url: str, instant: str) -> AsyncIterator[tuple[Settings, ManualClock]]:
    """A test's other instance: its settings and clock (fixed at `instant`), with `url` open."""
    settings = replace(
        Settings(database_url=url),
        committee_admins=(parse_admin("test", committee_admin_entry()),),
    )
    await db.open_db(url, run_migrations=False, key=key_for(url))
    try:
        yield settings, ManualClock(datetime.fromisoformat(instant))
    finally:
        await db.close_db()


async def main(url: str, instant: str, out: str, name: str) -> None:
    async with instance(url, instant) as (settings, clock):
        service = ReminderService(settings, clock.now, instance=name)
        service.batch = 4  # small transactions: the instances interleave
        # Start together: say ready, wait for the parent's go (a line on stdin).
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        sender = Sender(
            [RecordingConsole(out, name)], clock=clock, settings=DeliverySettings(), instance=name
        )
        for _ in range(4):
            await service.sweep()
            await sender.run_once()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
