"""`yishi verify` against an adversary who can write the database but has not the server key:
every single-row edit, deletion or insertion in a governance table is reported, and an untouched
record is reported clean, on SQLite and PostgreSQL.

The suite builds one realistic record per engine (tests/security/record.py), then applies each
random tamper inside a transaction that is rolled back afterwards and runs verify's checks
in-process inside it. The untouched runs: verify of the same record after each rollback, plus
verify of records built from distinct seeds (`test_distinct_records_verify_clean`)."""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise.exceptions import BaseORMException
from tortoise.models import Model
from tortoise.transactions import in_transaction

from storage import models, seals, verify
from storage.sql import raw_execute, raw_rows
from tests.kit.console import ConsoleRig
from tests.security.record import build_record

TAMPERS = 1_000
UNTOUCHED = 1_000
# The record's own tables, besides the governance tables the seals cover.
RECORD_TABLES = (*seals.TABLES, "event_log", "chain_head", "row_seal")
MODELS: dict[str, type[Model]] = {
    model._meta.db_table: model
    for model in vars(models).values()
    if isinstance(model, type) and issubclass(model, Model) and model is not Model
}


class _Rollback(Exception):
    pass


def _columns(table: str) -> dict[str, Any]:
    """Column -> its tortoise field, the id left out."""
    meta = MODELS[table]._meta
    return {
        column: meta.fields_map[name]
        for name, column in meta.fields_db_projection.items()
        if column != "id"
    }


def _changed(field: Any, value: Any, rng: random.Random) -> Any:
    """A different value of the column's own type (as the engine stores it)."""
    kind = type(field).__name__
    if kind == "BooleanField":
        return (not value) if isinstance(value, bool) else (0 if value else 1)
    if kind == "DatetimeField":
        if value is None:
            return datetime(2026, 12, 6, 1, 2, 3, tzinfo=UTC)
        if isinstance(value, str):
            moved = datetime.fromisoformat(value) + timedelta(seconds=rng.randint(1, 3600))
            return moved.isoformat(sep="T" if "T" in value else " ")
        return value + timedelta(seconds=rng.randint(1, 3600))
    if kind == "DateField":
        if value is None:
            return date(2026, 1, 1)
        if isinstance(value, str):
            return (date.fromisoformat(value) + timedelta(days=1)).isoformat()
        return value + timedelta(days=1)
    if kind in ("IntField", "SmallIntField", "BigIntField"):
        return 1 if value is None else value + rng.choice((-1, 1, 2))
    text = "" if value is None else str(value)
    if not text:
        return "x"
    i = rng.randrange(len(text))
    swap = "1" if text[i] != "1" else "2"
    return text[:i] + swap + text[i + 1 :]


async def _tamper(table: str, rng: random.Random) -> str | None:
    """One random edit, deletion or insertion of one row of `table`; a description, or None
    when the engine refused it (a constraint) or the table is empty."""
    rows = await raw_rows(MODELS[table], f"SELECT * FROM {table} ORDER BY id")
    if not rows:
        return None
    row = rng.choice(rows)
    columns = _columns(table)
    op = rng.choice(("edit", "delete", "insert"))
    try:
        async with in_transaction():
            if op == "delete":
                await raw_execute(MODELS[table], f"DELETE FROM {table} WHERE id = ?", row["id"])
                return f"delete {table} {row['id']}"
            column = rng.choice(sorted(columns))
            value = _changed(columns[column], row[column], rng)
            if op == "edit":
                await raw_execute(
                    MODELS[table], f"UPDATE {table} SET {column} = ? WHERE id = ?", value, row["id"]
                )
                return f"edit {table} {row['id']} {column}"
            new_id = max(int(r["id"]) for r in rows) + rng.randint(1, 50)
            copy = {**{c: row[c] for c in columns}, "id": new_id}
            if rng.random() < 0.5 or table in ("row_seal", "chain_head"):
                copy[column] = value  # a copy must differ where the table is unique
            names = sorted(copy)
            await raw_execute(
                MODELS[table],
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                *(copy[n] for n in names),
            )
            return f"insert {table} {new_id}"
    except (BaseORMException, ValueError, OverflowError):
        return None
    except Exception as exc:  # asyncpg/sqlite constraint errors arrive raw on some paths
        if "constraint" in str(exc).lower() or "violat" in str(exc).lower():
            return None
        raise


async def test_random_single_row_tampering_is_always_reported(harness: ConsoleRig) -> None:
    await build_record(harness)
    report = await verify.run()
    assert report.clean, report.findings
    assert report.entries > 40
    assert report.rows > 40
    rng = random.Random(20261204)
    tables = [t for t in RECORD_TABLES if await raw_rows(MODELS[t], f"SELECT id FROM {t} LIMIT 1")]
    assert len(tables) == len(RECORD_TABLES), set(RECORD_TABLES) - set(tables)
    applied: dict[str, int] = {}
    missed: list[str] = []
    false_alarms = 0
    started = time.perf_counter()
    done = 0
    while done < TAMPERS:
        what: str | None = None
        try:
            async with in_transaction():
                what = await _tamper(rng.choice(tables), rng)
                if what is not None and (await verify.run()).clean:
                    missed.append(what)
                raise _Rollback
        except _Rollback:
            pass
        if what is None:
            continue
        done += 1
        applied[what.split()[0]] = applied.get(what.split()[0], 0) + 1
        if done <= UNTOUCHED and not (await verify.run()).clean:
            false_alarms += 1
    elapsed = time.perf_counter() - started
    figures = f"{TAMPERS} tampers {applied}, {UNTOUCHED} untouched runs: {elapsed:.1f} s"
    assert missed == [], figures
    assert false_alarms == 0, figures
    assert min(applied.values()) > TAMPERS // 10
