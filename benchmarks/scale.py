"""Cost per command against the size of the database: CPU and statements per ballot and per
convening, with 150 societies and with 15,000 (100,000 on PostgreSQL if asked).

The database is filled to size with societies that have a past: one template society (the demo
shape, bound to its group) goes through a meeting the way members would (convened, signed in,
opened, two items voted on by all 7, closed, reminders planned), then every row of it is copied
N - 1 times in set-based INSERT ... SELECT statements (ids shifted, unique text suffixed). The
copies only make the tables as large as N such societies would; nothing reads their JSON.
Then `--measured` fresh societies (seeded as the demo is) each convene a meeting, sign in, open
it, open a vote and cast 7 ballots through the real router and handlers; each command's CPU
time (time.process_time around Router.dispatch) and statement count (tortoise's query logger)
are summed per kind of command. Statistics are refreshed (ANALYZE) after the fill, as a
database that grew over months would have them.

    .venv/bin/python benchmarks/scale.py --backend sqlite --societies 150 15000
    .venv/bin/python benchmarks/scale.py --backend postgres --societies 150 15000 100000
    .venv/bin/python benchmarks/scale.py --backend sqlite --societies 15000 --keep /tmp/15k.db
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tortoise import Tortoise, connections
from tortoise.models import Model
from tortoise.transactions import in_transaction

from benchmarks import kit
from benchmarks.vote_burst import CHOICES, LEADER, ROSTER, TZ, Bench, bench_society, expect
from bot.app import build_router
from bot.clock import ManualClock
from bot.config import Settings
from bot.reminders.service import ReminderService
from bot.router import Router
from storage import db
from storage import models as m
from storage.sql import raw_execute, statements

PG_SERVER = os.environ.get("YISHI_BENCH_PG", "postgres://postgres@127.0.0.1:5432/test")
# Copied per society: everything a society's past leaves behind. Not copied: the instances, the
# 工作台's sessions, the committee's chain, the reminder planner's marks (one per planner, not
# per society: copied, they broke the unique name).
SKIPPED = {
    "bot_instance",
    "web_login_link",
    "web_session",
    "chain_check",
    "inbound_message",
    "plan_mark",
}
# Plain integer columns that hold another table's id.
REFERENCES = {
    ("event_log", "meeting_id"): "meeting",
    ("outbox_message", "society_id"): "society",
    ("outbox_message", "reminder_id"): "reminder",
    ("reminder", "society_id"): "society",
}
# The one text column of each unique constraint that the copies make distinct.
DISTINCT_TEXT = {
    "society": "name",
    "identity": "user_id",
    "chat_binding": "chat_id",
    "event_log": "hash",
    "processed_message": "message_id",
    "outbox_message": "dedupe_key",
    "channel_state": "channel",
    "reminder": "key",
}
# Columns that name a society's chain ("society:<id>"): the copies name their own society's.
CHAIN_COLUMNS = {("event_log", "chain"), ("chain_head", "chain_key"), ("row_seal", "chain_key")}
COPIES_PER_STATEMENT = 2000


# ---------------------------------------------------------------------------------------------
# Costs per command


@dataclass
class Costs:
    """CPU seconds and statements, per command kind."""

    cpu: dict[str, list[float]] = field(default_factory=dict)
    statements: dict[str, list[int]] = field(default_factory=dict)

    def add(self, kind: str, cpu: float, statements: int) -> None:
        self.cpu.setdefault(kind, []).append(cpu)
        self.statements.setdefault(kind, []).append(statements)


async def timed(
    costs: Costs,
    kind: str,
    router: Router,
    bench: Bench,
    name: str,
    text: str,
    needle: str,
) -> None:
    with statements() as sent:
        before = time.process_time()
        await expect(router, bench.message(name, text), needle)
        cpu = time.process_time() - before
    costs.add(kind, cpu, len(sent))


# ---------------------------------------------------------------------------------------------
# Filling the database


def _models() -> list[type[Model]]:
    """Every model, each after the models it references."""
    left = [model for app in Tortoise.apps.values() for model in app.values()]
    done: list[type[Model]] = []
    while left:
        for model in left:
            meta = model._meta
            needs = {meta.fields_map[f].related_model for f in (*meta.fk_fields, *meta.o2o_fields)}
            if all(n in done or n is model for n in needs):
                done.append(model)
                left.remove(model)
                break
    return done


def _copy_statement(model: type[Model], spans: dict[str, int]) -> str | None:
    """INSERT ... SELECT that copies the template rows of `model` once per `k.n`."""
    meta = model._meta
    table = meta.db_table
    if table in SKIPPED or table not in spans:
        return None
    columns: list[str] = []
    values: list[str] = []
    references = {
        meta.fields_map[f].source_field: meta.fields_map[f].related_model._meta.db_table
        for f in (*meta.fk_fields, *meta.o2o_fields)
    }
    for (owner, column), target in REFERENCES.items():
        if owner == table:
            references[column] = target
    for column in meta.fields_db_projection.values():
        columns.append(column)
        if column == "id":
            values.append(f"t.id + k.n * {spans[table]}")
        elif column in references:
            values.append(f"t.{column} + k.n * {spans.get(references[column], 0)}")
        elif DISTINCT_TEXT.get(table) == column:
            width = meta.fields_map[column].max_length  # type: ignore[attr-defined]
            suffix = "'#' || CAST(k.n AS TEXT)"
            values.append(f"SUBSTR(t.{column}, 1, {width} - LENGTH({suffix})) || {suffix}")
        elif (table, column) in CHAIN_COLUMNS:
            values.append(
                f"'society:' || CAST(CAST(SUBSTR(t.{column}, 9) AS INTEGER)"
                f" + k.n * {spans['society']} AS TEXT)"
            )
        elif table == "row_seal" and column == "row_id":
            # A seal names a row of any sealed table: shifted by that table's span.
            cases = " ".join(f"WHEN '{t}' THEN {n}" for t, n in sorted(spans.items()))
            values.append(f"t.row_id + k.n * (CASE t.tbl {cases} ELSE 0 END)")
        else:
            values.append(f"t.{column}")
    chain = next((c for t, c in CHAIN_COLUMNS if t == table), None)
    where = f" WHERE t.{chain} LIKE 'society:%'" if chain else ""
    return (
        "WITH RECURSIVE k(n) AS"
        " (SELECT CAST(? AS INTEGER) UNION ALL SELECT n + 1 FROM k WHERE n < ?)"
        f" INSERT INTO {table} ({', '.join(columns)})"
        f" SELECT {', '.join(values)} FROM {table} AS t, k{where}"
        f"{' AND' if where else ' WHERE'} t.id <= {spans[table]}"
    )


async def fill(url: str, societies: int, clock: ManualClock, router: Router) -> float:
    """The template society's past, copied to `societies` societies; returns the seconds."""
    started = time.perf_counter()
    await past_of_one_society(clock, router)
    conn = connections.get(db.connection_name(url))
    spans: dict[str, int] = {}
    for model in _models():
        _, rows = await conn.execute_query(f"SELECT MAX(id) AS top FROM {model._meta.db_table}")
        top = rows[0]["top"] if rows else None
        if top:
            spans[model._meta.db_table] = int(top)
    order = [mod for mod in _models() if mod._meta.db_table != "tortoise_migrations"]
    statements = [(mod, _copy_statement(mod, spans)) for mod in order]
    for first in range(1, societies, COPIES_PER_STATEMENT):
        last = min(societies - 1, first + COPIES_PER_STATEMENT - 1)
        async with in_transaction(db.connection_name(url)):  # a slice of copies at a time
            for _, sql in statements:
                if sql is not None:
                    await raw_execute(m.Society, sql, first, last)
    if not db.is_sqlite(url):
        for table in spans:
            await conn.execute_query(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT MAX(id) FROM {table}))"
            )
    await conn.execute_script("ANALYZE")
    return time.perf_counter() - started


async def past_of_one_society(clock: ManualClock, router: Router) -> None:
    """The template: the demo society through one meeting with two votes, reminders planned."""
    clock.set(datetime(2026, 9, 1, 9, 0, tzinfo=TZ))
    bench = await bench_society(0, clock)
    await expect(
        router,
        bench.message(LEADER, "召开会议 9月5日下午3点 会议室 议题：工作计划；经费"),
        "【会议通知】",
    )
    clock.set(datetime(2026, 9, 5, 14, 50, tzinfo=TZ))
    for name in ROSTER:
        await expect(router, bench.message(name, "签到"), "已签到")
    await expect(router, bench.message(LEADER, "开会"), "现在开始")
    for item in (1, 2):
        await expect(router, bench.message(LEADER, f"发起表决 {item}"), "开始表决")
        for name, choice in zip(ROSTER, CHOICES, strict=True):
            await expect(router, bench.message(name, choice), "已记录")
        await expect(router, bench.message(LEADER, "结束表决"), "结果")
    await expect(router, bench.message(LEADER, "散会"), "")
    service = ReminderService(Settings(), clock.now, instance="bench")
    await service.sweep()


# ---------------------------------------------------------------------------------------------
# Measuring


async def measure(clock: ManualClock, router: Router, measured: int, base: int) -> Costs:
    """`measured` fresh societies: convene, sign in, open, open a vote, 7 ballots each."""
    costs = Costs()
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    benches = [await bench_society(base + i, clock) for i in range(measured)]
    for b in benches:
        await timed(
            costs,
            "convene",
            router,
            b,
            LEADER,
            "召开会议 12月5日下午3点 会议室 议题：年度工作",
            "【会议通知】",
        )
    clock.set(datetime(2026, 12, 5, 14, 50, tzinfo=TZ))
    for b in benches:
        for name in ROSTER:
            await timed(costs, "check-in", router, b, name, "签到", "已签到")
        await timed(costs, "open meeting", router, b, LEADER, "开会", "现在开始")
        await timed(costs, "open vote", router, b, LEADER, "发起表决 1", "开始表决")
        for name, choice in zip(ROSTER, CHOICES, strict=True):
            await timed(costs, "ballot", router, b, name, choice, "已记录")
    return costs


@dataclass
class Row:
    backend: str
    societies: int
    fill_s: float
    costs: Costs


async def run_one(backend: str, url: str, societies: int, measured: int) -> Row:
    await db.open_db(url)
    try:
        clock = ManualClock(datetime(2026, 9, 1, 9, 0, tzinfo=TZ))
        router = build_router(Settings(), clock)
        fill_s = await fill(url, societies, clock, router)
        print(f"  {backend}: {societies} societies filled in {fill_s:.1f} s", flush=True)
        costs = await measure(clock, router, measured, base=500)
        return Row(backend, societies, fill_s, costs)
    finally:
        await db.close_db()


async def on_sqlite(societies: int, measured: int, keep: str | None) -> Row:
    if keep:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(keep + suffix)
        # The key that seals the kept database's records, next to it (benchmarks/startup.py
        # serves a copy of both): this run's key comes from the environment.
        kit.keep_server_key(keep)
        return await run_one("sqlite", f"sqlite://{keep}", societies, measured)
    with tempfile.TemporaryDirectory(prefix="yishi-scale-") as tmp:
        return await run_one("sqlite", f"sqlite://{Path(tmp) / 'scale.db'}", societies, measured)


async def on_postgres(societies: int, measured: int) -> Row | None:
    async with kit.throwaway_postgres(PG_SERVER, "yishi_scale") as url:
        return None if url is None else await run_one("postgres", url, societies, measured)


def report(rows: list[Row]) -> str:
    kinds = ("convene", "check-in", "open meeting", "open vote", "ballot")
    head = f"{'backend':<9} {'societies':>9} " + " ".join(f"{k:>20}" for k in kinds)
    lines = [head, f"{'':<9} {'':>9} " + " ".join(f"{'CPU ms / statements':>20}" for _ in kinds)]
    lines.append("-" * len(head))
    for r in rows:
        cells = []
        for k in kinds:
            cpu = statistics.median(r.costs.cpu[k]) * 1000
            n = statistics.median(r.costs.statements[k])
            cells.append(f"{cpu:>13.2f} / {n:>4.0f}")
        lines.append(f"{r.backend:<9} {r.societies:>9} " + " ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    kit.ensure_server_key()
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--societies", type=int, nargs="+", default=[150, 15000])
    parser.add_argument("--measured", type=int, default=20, help="societies measured (20)")
    parser.add_argument("--keep", help="SQLite: keep the filled database at this path")
    args = parser.parse_args(argv)

    async def everything() -> list[Row]:
        rows = []
        for n in args.societies:
            if args.backend in ("sqlite", "both"):
                rows.append(await on_sqlite(n, args.measured, args.keep))
            if args.backend in ("postgres", "both"):
                row = await on_postgres(n, args.measured)
                if row is not None:
                    rows.append(row)
        return rows

    rows = asyncio.run(everything())
    print()
    print(
        f"Median per command over {args.measured} fresh societies (7 ballots each), "
        "in a database filled with N societies that each have a meeting with two votes behind them"
    )
    print(report(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
