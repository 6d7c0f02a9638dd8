"""One DingTalk HTTP-mode bot instance in its own process, on a database it shares with others,
for the header binding tests: the real adapter (decode, stored header bindings), whose feed writes
every message it is given to a shared file instead of running a command.

    python -m tests.kit.dingtalk.instance DATABASE_URL ISO_INSTANT OUT_FILE NAME

Prints "port <n>" once it listens on 127.0.0.1; stops when its stdin is closed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import datetime
from typing import Final

from aiohttp import web

from bot.adapters.dingtalk.adapter import build_dingtalk_adapter
from bot.adapters.dingtalk.codec import DingTalkSettings
from bot.adapters.dingtalk.config import SECRET_ENV, DingTalkConfig, dingtalk_from_settings
from bot.clock import ManualClock
from bot.events import IncomingMessage, OutgoingMessage
from bot.storage_ports import StoredHeaderBindings, StoredWebhooks
from storage import db
from tests.kit.keys import PG_KEY

APP_KEY: Final = "dingINSTANCEkey"
APP_SECRET: Final = "instance-secret-0123456789"
CORP_ID: Final = "dingcorpINSTANCE"


def config() -> DingTalkConfig:
    table = {
        "enabled": True,
        "mode": "http",
        "app_key": APP_KEY,
        "corp_id": CORP_ID,
        "api_base": "http://127.0.0.1:9",  # never called: the feed sends nothing
        "oapi_base": "http://127.0.0.1:9",
    }
    return dingtalk_from_settings(table, {SECRET_ENV: APP_SECRET})


def codec_settings() -> DingTalkSettings:
    """What the test signs its callbacks with (the same robot as the instances)."""
    return config().codec_settings()


async def main(url: str, instant: str, out: str, name: str) -> None:
    clock = ManualClock(datetime.fromisoformat(instant))
    # A SQLite test database keeps its own key beside the file; PostgreSQL's is the fixtures'.
    await db.open_db(url, run_migrations=False, key=None if db.is_sqlite(url) else PG_KEY)
    adapter = build_dingtalk_adapter(
        config(), clock, webhooks=StoredWebhooks(), bindings=StoredHeaderBindings()
    )

    async def feed(message: IncomingMessage) -> list[OutgoingMessage]:
        line = json.dumps({"by": name, "id": message.message_id, "text": message.text})
        fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, (line + "\n").encode())  # one write with O_APPEND: lines never mix
        finally:
            os.close(fd)
        return []

    app = web.Application()
    app.add_routes(adapter.routes())
    await adapter.start(feed)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        sys.stdout.write(f"port {port}\n")
        sys.stdout.flush()
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await runner.cleanup()
        await adapter.close()
        await db.close_db()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
