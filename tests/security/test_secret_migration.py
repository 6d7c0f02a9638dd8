"""Migration 0012 on both engines: a database at the schema before it (0007), holding an open and a
closed secret vote in the old one-row box and the texts that carried receipts and ballots in
plain, is upgraded without losing a ballot, and nothing plain is left behind."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tortoise import Tortoise
from tortoise.migrations.api import migrate

from bot import governance as g
from storage import db, repo, secrecy
from storage import models as m
from storage.sql import raw_rows
from tests.kit.databases import new_postgres
from tests.kit.keys import PG_KEY

BEFORE = "models.0007_workbench"
OPEN_BOX = [["1a2b3c4d", "yes"], ["5e6f7a8b", "no"], ["9c0d1e2f", "abstain"], ["0f1e2d3c", "yes"]]
CLOSED_BOX = [["aaaa1111", "yes"], ["bbbb2222", "yes"], ["cccc3333", "no"]]
REPLY = "已收到您对议题1的无记名投票（回执 1a2b3c4d，结束时公布全部回执）。已投1/7。"
INBOUND = json.dumps({"sender": {"user_id": "lina"}, "text": "投票 反对"}, ensure_ascii=False)
PRIVATE = json.dumps({"chat": {"chat_id": "lina"}, "text": REPLY}, ensure_ascii=False)
GROUP = json.dumps({"chat": {"chat_id": "group"}, "text": "已投1/7"}, ensure_ascii=False)
AT = "2026-12-05 07:00:00+00:00"

_ROWS: list[tuple[str, tuple[Any, ...]]] = [
    (
        "INSERT INTO vote (id, method, state, electorate, opened_at, result, hands, item_id)"
        " VALUES (?, 'secret', ?, '{}', ?, ?, '', 1)",
        (1, "open", AT, ""),
    ),
    (
        "INSERT INTO vote (id, method, state, electorate, opened_at, result, hands, item_id)"
        " VALUES (?, 'secret', ?, '{}', ?, ?, '', 1)",
        (2, "closed", AT, json.dumps({"box": CLOSED_BOX})),
    ),
    ("INSERT INTO secret_ballot_box (vote_id, ballots) VALUES (?, ?)", (1, json.dumps(OPEN_BOX))),
    ("INSERT INTO secret_ballot_box (vote_id, ballots) VALUES (?, ?)", (2, json.dumps(CLOSED_BOX))),
    (
        "INSERT INTO processed_message (platform, corp_id, message_id, at, reply)"
        " VALUES ('console', 'c', ?, ?, ?)",
        ("m1", AT, REPLY),
    ),
    (
        "INSERT INTO processed_message (platform, corp_id, message_id, at, reply)"
        " VALUES ('console', 'c', ?, ?, ?)",
        ("m2", AT, ""),
    ),
    (
        "INSERT INTO inbound_message (key, chat_key, payload, received_at, state, claimed_by)"
        " VALUES (?, 'k', ?, ?, 'pending', '')",
        ("console:c:m1", INBOUND, AT),
    ),
    *(
        (
            "INSERT INTO outbox_message (dedupe_key, short_id, channel, payload, kind, state,"
            " attempts, ambiguous, next_attempt_at, lease_owner, last_error, created_at)"
            " VALUES (?, 'x', ?, ?, 'notice', 'sent', 1, ?, ?, '', '', ?)",
            (key, channel, payload, False, AT, AT),
        )
        for key, channel, payload in (
            ("o1", "console:c:app", PRIVATE),
            ("o2", "console:c:group:g", GROUP),
        )
    ),
]


def _pg(sql: str) -> str:
    parts = sql.split("?")
    return parts[0] + "".join(f"${i}{p}" for i, p in enumerate(parts[1:], 1))


async def _fill(url: str) -> None:
    """The old rows, written with the engine's own driver (foreign keys off: only the tables that
    matter here are filled)."""
    if db.is_sqlite(url):

        def write() -> None:
            conn = sqlite3.connect(url[len("sqlite://") :])
            with conn:
                for sql, args in _ROWS:
                    conn.execute(sql, args)
            conn.close()

        await asyncio.to_thread(write)
        return
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    try:
        await conn.execute("SET session_replication_role = replica")
        for sql, args in _ROWS:
            values = [datetime.fromisoformat(a) if a == AT else a for a in args]
            await conn.execute(_pg(sql), *values)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database migrated up to 0007 only."""
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path / 'old.db'}"
        await migrate(config=db.tortoise_config(url), target=BEFORE)
        await Tortoise.close_connections()
        yield url
        return
    async with new_postgres("yishi_mig") as url:
        try:
            await migrate(config=db.tortoise_config(url), target=BEFORE)
            await Tortoise.close_connections()
            yield url
        finally:
            await Tortoise.close_connections()


async def test_0012_keeps_every_ballot_and_seals_what_linked(old_database: str) -> None:
    url = old_database
    await _fill(url)
    await db.upgrade(url, key=PG_KEY)
    await db.open_db(url, run_migrations=False, key=PG_KEY)
    try:
        await secrecy.check_key()
        # The open vote: sealed entries, one per old ballot, under the digests of the receipts
        # the voters hold.
        sealed = await raw_rows(
            m.SecretBallotSealed, "SELECT id, vote_id, sealed FROM secret_ballot_sealed"
        )
        assert all(r["vote_id"] == 1 for r in sealed)
        opened = sorted(secrecy.open_ballot(1, str(r["id"]), str(r["sealed"])) for r in sealed)
        expected = sorted((secrecy.receipt_digest(rc), g.Choice(c)) for rc, c in OPEN_BOX)
        assert opened == expected
        assert len({len(str(r["sealed"])) for r in sealed}) == 1
        # The closed vote: its announced receipts as the plain box.
        assert sorted(await repo.secret_box(2)) == sorted((rc, g.Choice(c)) for rc, c in CLOSED_BOX)
        assert await repo.find_receipt(CLOSED_BOX[2][0]) == [(2, g.Choice.NO)]
        # Closing the open vote counts every old ballot; each voter finds their receipt.
        box = await repo.unseal_secret_box(1)
        assert sorted(c.value for _, c in box) == sorted(c for _, c in OPEN_BOX)
        for receipt, choice in OPEN_BOX:
            assert await repo.find_receipt(receipt) == [(1, g.Choice(choice))]
        assert not await m.SecretBallotSealed.all().exists()
        # The texts: sealed, and they open to what they were.
        reply = await m.ProcessedMessage.get(message_id="m1")
        assert reply.reply.startswith(secrecy.SEALED)
        assert secrecy.open_text("reply", reply.reply, str(reply.id)) == REPLY
        assert (await m.ProcessedMessage.get(message_id="m2")).reply == ""
        inbound = await m.InboundMessage.get(key="console:c:m1")
        assert secrecy.open_text("inbound", inbound.payload, inbound.key) == INBOUND
        private = await m.OutboxMessage.get(dedupe_key="o1")
        assert private.payload.startswith(secrecy.SEALED)
        assert secrecy.open_text("outbox", private.payload, private.channel) == PRIVATE
        assert (await m.OutboxMessage.get(dedupe_key="o2")).payload == GROUP
        tables = await raw_rows(
            m.Vote,
            "SELECT name FROM sqlite_master WHERE name = 'secret_ballot_box'"
            if db.is_sqlite(url)
            else "SELECT tablename AS name FROM pg_tables WHERE tablename = 'secret_ballot_box'",
        )
        assert not tables
    finally:
        await db.close_db()
