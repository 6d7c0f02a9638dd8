"""Another bot instance on the same database, in its own process: it says one line in the
console group and prints the replies, one per line (the scene tests: a change this process's
memory never hears of).

    python -m tests.kit.other_instance DATABASE_URL ISO_INSTANT SPEAKER TEXT
"""

from __future__ import annotations

import asyncio
import io
import sys
from dataclasses import replace
from datetime import datetime

from bot.adapters.console import ConsoleAdapter
from bot.app import build_router
from bot.clock import ManualClock
from bot.config import Settings, parse_admin
from bot.demo import committee_admin_entry
from storage import db
from tests.kit.keys import key_for


async def main(url: str, instant: str, speaker: str, text: str) -> None:
    settings = replace(
        Settings(database_url=url),
        committee_admins=(parse_admin("test", committee_admin_entry()),),
    )
    clock = ManualClock(datetime.fromisoformat(instant))
    await db.open_db(url, run_migrations=False, key=key_for(url))
    try:
        router = build_router(settings, clock)
        adapter = ConsoleAdapter(bot_name=settings.bot_name, clock=clock, out=io.StringIO())
        for reply in await router.dispatch(adapter.decode(speaker, text)):
            sys.stdout.write(reply.text.replace("\n", " ") + "\n")
    finally:
        await db.close_db()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
