"""Migration 0010 on a database that holds a record written before the chain was keyed: every
existing entry keeps its SHA-256 hash and verifies, every existing row is sealed, no ballot is
lost, and tampering with what was there before is still reported afterwards.

The database "before" is this schema with the record in it, then put back as 0007 left it: the
chain re-hashed with plain SHA-256 as the old code wrote it, the two tables of 0010 dropped and
0010 unrecorded; `db.upgrade` then applies 0010 for real."""

from __future__ import annotations

from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from bot.ledger import GENESIS, entry_hash
from storage import db, models, verify
from storage.sql import raw_execute, raw_rows, when
from tests.kit.console import ConsoleRig
from tests.security.record import build_record


async def _as_before_0010(url: str) -> None:
    rows = await raw_rows(models.EventLog, "SELECT * FROM event_log ORDER BY chain, seq")
    prev: dict[str, str] = {}
    for r in rows:
        h = entry_hash(
            prev.get(r["chain"], GENESIS),
            chain=r["chain"],
            seq=r["seq"],
            at=when(r["at"]).isoformat(timespec="seconds"),
            kind=r["kind"],
            meeting_id=r["meeting_id"],
            payload=r["payload"],
        )
        await raw_execute(
            models.EventLog,
            "UPDATE event_log SET prev_hash = ?, hash = ? WHERE id = ?",
            prev.get(r["chain"], GENESIS),
            h,
            r["id"],
        )
        prev[r["chain"]] = h
    conn = connections.get(db.connection_name(url))
    await conn.execute_script("DROP TABLE chain_head; DROP TABLE row_seal;")
    await conn.execute_script("DELETE FROM tortoise_migrations WHERE name LIKE '0010%'")


async def _counts() -> dict[str, Any]:
    return {
        t: (await raw_rows(models.EventLog, f"SELECT COUNT(*) AS n FROM {t}"))[0]["n"]
        for t in ("event_log", "ballot", "secret_ballot_box", "vote", "attendance")
    }


async def test_existing_records_are_sealed_and_still_verify(
    harness: ConsoleRig, database: str
) -> None:
    await build_record(harness)
    box = await raw_rows(models.SecretBallotBox, "SELECT ballots FROM secret_ballot_box")
    before = await _counts()
    await _as_before_0010(database)
    key = db.server_key()
    await db.close_db()
    await db.upgrade(database, key=key)
    await db.open_db(database, run_migrations=False, key=key)

    assert await _counts() == before
    assert await raw_rows(models.SecretBallotBox, "SELECT ballots FROM secret_ballot_box") == box
    report = await verify.run()
    assert report.clean, report.findings
    head = (await raw_rows(models.ChainHead, "SELECT keyed_from, seq FROM chain_head"))[0]
    assert head["keyed_from"] == before["event_log"] + 1  # the old entries stay SHA-256

    # An old entry edited and the old chain re-hashed with SHA-256 (no key needed for that).
    rows = await raw_rows(models.EventLog, "SELECT * FROM event_log WHERE seq = 5")
    try:
        async with in_transaction():
            await raw_execute(
                models.EventLog,
                "UPDATE event_log SET payload = ? WHERE id = ?",
                rows[0]["payload"][:-1] + ',"forged":1}',
                rows[0]["id"],
            )
            await _as_before_0010_chain_only()
            found = (await verify.run()).findings
            raise RuntimeError("rollback")
    except RuntimeError:
        pass
    assert any(f.table == "event_log" and "链头" in f.what for f in found), found

    # The record goes on with keyed entries after the old ones, and stays clean.
    h = await ConsoleRig.create()
    h.at("2026-12-20 09:00")
    await h.say("张伟", "召开会议 2026-12-28 15:00 会议室 议题：2027年经费预算（重大）")
    report = await verify.run()
    assert report.clean, report.findings
    assert report.entries > before["event_log"]


async def _as_before_0010_chain_only() -> None:
    rows = await raw_rows(models.EventLog, "SELECT * FROM event_log ORDER BY seq")
    prev = GENESIS
    for r in rows:
        h = entry_hash(
            prev,
            chain=r["chain"],
            seq=r["seq"],
            at=when(r["at"]).isoformat(timespec="seconds"),
            kind=r["kind"],
            meeting_id=r["meeting_id"],
            payload=r["payload"],
        )
        await raw_execute(
            models.EventLog,
            "UPDATE event_log SET prev_hash = ?, hash = ? WHERE id = ?",
            prev,
            h,
            r["id"],
        )
        prev = h
