"""Another bot instance on the same database, in its own process: it says lines in the console
group and prints the replies, one per line (the scene tests: a change this process's memory
never hears of, or two instances voting in one group at once).

    python -m tests.kit.other_instance DATABASE_URL ISO_INSTANT SPEAKER TEXT [SPEAKER TEXT ...]

It prints "ready" once its database is open and says the lines when it reads a line on
stdin, so that the parent can start it and itself together.
"""

from __future__ import annotations

import asyncio
import io
import sys

from bot.adapters.console import ConsoleAdapter
from bot.app import build_router
from tests.kit.instance_worker import instance


async def main(url: str, instant: str, lines: list[str]) -> None:
    async with instance(url, instant) as (settings, clock):
        router = build_router(settings, clock)
        adapter = ConsoleAdapter(bot_name=settings.bot_name, clock=clock, out=io.StringIO())
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        for speaker, text in zip(lines[::2], lines[1::2], strict=True):
            replies = await router.dispatch(adapter.decode(speaker, text))
            sys.stdout.write(" | ".join(r.text.replace("\n", " ") for r in replies) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
