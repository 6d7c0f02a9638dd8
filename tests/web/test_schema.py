"""The 工作台's tables after the migrations, on both engines; the background chain check."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestServer
from tortoise import connections

from bot.web.app import mount_web
from storage import db, models
from tests.kit.console import ConsoleRig


async def _unique_columns(database: str, table: str) -> set[tuple[str, ...]]:
    conn = connections.get(db.connection_name(database))
    if db.is_sqlite(database):
        _, listed = await conn.execute_query(f"PRAGMA index_list('{table}')")
        found = set()
        for row in listed:
            if row["unique"]:
                _, cols = await conn.execute_query(f"PRAGMA index_info('{row['name']}')")
                found.add(tuple(c["name"] for c in sorted(cols, key=lambda c: c["seqno"])))
        return found
    _, listed = await conn.execute_query(
        "SELECT array_agg(a.attname ORDER BY k.n) AS cols FROM pg_index i"
        " JOIN pg_class t ON t.oid = i.indrelid"
        " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)"
        " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum"
        " WHERE t.relname = $1 AND i.indisunique AND NOT i.indisprimary GROUP BY i.indexrelid",
        [table],
    )
    return {tuple(row["cols"]) for row in listed}


async def test_migration_0007_makes_the_tables(database: str) -> None:
    assert ("token_hash",) in await _unique_columns(database, "web_login_link")
    assert ("key_hash",) in await _unique_columns(database, "web_session")
    assert ("society_id",) in await _unique_columns(database, "chain_check")


async def test_the_chains_are_verified_in_the_background(database: str) -> None:
    h = await ConsoleRig.create()
    root = web.Application()
    assert h.delivery is not None
    mount_web(root, h.settings, h.clock, key=b"k" * 32, after_change=h.delivery.after_dispatch)
    server = TestServer(root, host="127.0.0.1")
    await server.start_server()
    try:
        for _ in range(100):
            if await models.ChainCheck.exists():
                break
            await asyncio.sleep(0.05)
        check = await models.ChainCheck.get()
        assert check.problem == ""
        assert check.entries == await models.EventLog.all().count()
    finally:
        await server.close()
