"""Another bot instance on the same database, in its own process: it says one line in the
console group and prints the replies, one per line (the scene tests: a change this process's
memory never hears of).

    python -m tests.kit.other_instance DATABASE_URL ISO_INSTANT SPEAKER TEXT
"""

from __future__ import annotations

import asyncio
import io
import sys

from bot.adapters.console import ConsoleAdapter
from bot.app import build_router
from tests.kit.instance_worker import instance


async def main(url: str, instant: str, speaker: str, text: str) -> None:
    async with instance(url, instant) as (settings, clock):
        router = build_router(settings, clock)
        adapter = ConsoleAdapter(bot_name=settings.bot_name, clock=clock, out=io.StringIO())
        for reply in await router.dispatch(adapter.decode(speaker, text)):
            sys.stdout.write(reply.text.replace("\n", " ") + "\n")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
