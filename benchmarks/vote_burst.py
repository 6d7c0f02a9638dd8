"""Vote burst: many societies voting at once, through the real router, handlers and storage.

Each of N societies is a copy of the demo society (7 on the roster, a recorder, a non-party
president), bound to its own console group chat. Every society convenes and opens a meeting,
then for each measured mode the leader opens a named vote and all 7 members vote:

  serial      one command at a time (no contention: the latency of one durable vote)
  societies   asyncio.gather across societies, the 7 votes of a society one after another
  all         asyncio.gather over every vote of every society at once

Each command is timed with time.perf_counter around Router.dispatch (so waiting for the
database lock or a pool connection counts); commands/s is commands / wall time of the burst.
SQLite runs on a temporary file with the app's settings (WAL, synchronous=FULL); PostgreSQL on
a throw-away database (YISHI_BENCH_PG, default postgres://postgres@127.0.0.1:5432/test names
the server; skipped with a message when unreachable).

    .venv/bin/python benchmarks/vote_burst.py --societies 50 --backend both
    .venv/bin/python benchmarks/vote_burst.py --backend sqlite --profile   # cProfile, serial
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import math
import os
import pstats
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tortoise import connections

from benchmarks import kit
from bot import demo, runner
from bot.adapters.console import CORP, ConsoleAdapter, console_user
from bot.app import build_router
from bot.clock import ManualClock
from bot.config import Settings
from bot.demo import PEOPLE
from bot.events import ChatRef, IncomingMessage, Platform
from bot.router import Router
from storage import db, repo

TZ = ZoneInfo("Asia/Shanghai")
MODES = ("serial", "societies", "all")
ROSTER = tuple(name for name, role, _, _ in PEOPLE if role != "none")
LEADER = next(name for name, role, _, _ in PEOPLE if role == "leader")
# 4 yes, 2 no, 1 abstain: the item passes (more than half of 7).
CHOICES = ("赞成", "赞成", "赞成", "赞成", "反对", "反对", "弃权")
PG_SERVER = os.environ.get("YISHI_BENCH_PG", "postgres://postgres@127.0.0.1:5432/test")


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@dataclass
class Bench:
    """One society: its people are named 张伟007 and so on, its group is bench-007."""

    number: int
    adapter: ConsoleAdapter

    def who(self, name: str) -> str:
        return f"{name}{self.number:03d}"

    def message(self, name: str, text: str) -> IncomingMessage:
        return self.adapter.decode(self.who(name), text)


@dataclass
class Result:
    backend: str
    mode: str
    societies: int
    latencies: list[float] = field(default_factory=list)  # seconds
    failures: list[str] = field(default_factory=list)
    wall: float = 0.0


async def seed_society(number: int, now: datetime) -> None:
    """The demo society's shape, with names and a group chat of this society's own."""
    people = {name: console_user(f"{name}{number:03d}") for name, _, _, _ in PEOPLE}
    group = ChatRef(Platform.CONSOLE, CORP, f"bench-{number:03d}")
    await demo.seed_society(f"基准测试学会{number:03d}", people, now, chat=group)


async def expect(router: Router, message: IncomingMessage, needle: str) -> str:
    replies = await router.dispatch(message)
    text = "\n".join(r.text for r in replies)
    if needle not in text:
        raise RuntimeError(
            f"{message.sender.name}「{message.text}」: expected {needle!r}, got {text!r}"
        )
    return text


async def bench_society(number: int, clock: ManualClock) -> Bench:
    """Society `number`, seeded, and the console group it speaks in."""
    await seed_society(number, clock.now())
    adapter = ConsoleAdapter(
        bot_name="议事",
        clock=clock,
        out=_Sink(),  # type: ignore[arg-type]
        group=f"bench-{number:03d}",
    )
    return Bench(number, adapter)


async def prepare(societies: int, clock: ManualClock, router: Router) -> list[Bench]:
    """Seed the societies, convene a meeting with one item per mode, sign in and open it."""
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    benches = [await bench_society(number, clock) for number in range(1, societies + 1)]
    topics = "；".join(f"表决测试{i}" for i in range(1, len(MODES) + 1))
    for b in benches:
        await expect(
            router,
            b.message(LEADER, f"召开会议 12月5日下午3点 会议室 议题：{topics}"),
            "【会议通知】",
        )
    clock.set(datetime(2026, 12, 5, 14, 50, tzinfo=TZ))
    for b in benches:
        for name in ROSTER:
            await expect(router, b.message(name, "签到"), "已签到")
        await expect(router, b.message(LEADER, "开会"), "现在开始")
    return benches


async def burst(
    backend: str,
    mode: str,
    item: int,
    benches: list[Bench],
    router: Router,
    profiler: cProfile.Profile | None = None,
) -> Result:
    for b in benches:
        await expect(router, b.message(LEADER, f"发起表决 {item}"), "开始表决")
    result = Result(backend, mode, len(benches))

    async def one(b: Bench, name: str, choice: str) -> None:
        message = b.message(name, choice)
        start = time.perf_counter()
        replies = await router.dispatch(message)
        result.latencies.append(time.perf_counter() - start)
        text = "\n".join(r.text for r in replies)
        if "已记录" not in text:
            result.failures.append(f"{b.who(name)}: {text}")

    async def society_in_turn(b: Bench) -> None:
        for name, choice in zip(ROSTER, CHOICES, strict=True):
            await one(b, name, choice)

    if profiler is not None:
        profiler.enable()
    start = time.perf_counter()
    match mode:
        case "serial":
            for b in benches:
                await society_in_turn(b)
        case "societies":
            await asyncio.gather(*(society_in_turn(b) for b in benches))
        case "all":
            await asyncio.gather(
                *(
                    one(b, name, choice)
                    for b in benches
                    for name, choice in zip(ROSTER, CHOICES, strict=True)
                )
            )
    result.wall = time.perf_counter() - start
    if profiler is not None:
        profiler.disable()
        result.mode += "*"
    for b in benches:
        await expect(router, b.message(LEADER, "结束表决"), "赞成4、反对2、弃权1")
    return result


async def run_backend(
    backend: str, url: str, societies: int, modes: tuple[str, ...], profile: bool
) -> list[Result]:
    await db.open_db(url)
    try:
        conn = connections.get(db.connection_name(url))
        if db.is_sqlite(url):
            _, journal = await conn.execute_query("PRAGMA journal_mode")
            _, sync = await conn.execute_query("PRAGMA synchronous")
            level = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(sync[0][0], sync[0][0])
            print(f"  sqlite: journal_mode={journal[0][0]}, synchronous={level}")
        else:
            settings = []
            for name in ("fsync", "synchronous_commit", "server_version"):
                _, rows = await conn.execute_query(f"SHOW {name}")
                settings.append(f"{name}={next(iter(rows[0].values()))}")
            print(f"  postgres: {', '.join(settings)}")
        clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
        router = build_router(Settings(), clock)
        started = time.perf_counter()
        benches = await prepare(societies, clock, router)
        print(f"  set-up of {societies} societies: {time.perf_counter() - started:.1f} s")
        results = []
        for item, mode in enumerate(MODES, start=1):
            if mode not in modes:
                # Keep the item numbers aligned: vote on it untimed.
                await burst(backend, mode, item, benches, router)
                continue
            if profile and mode == "serial":
                profiler = cProfile.Profile()
                results.append(await burst(backend, mode, item, benches, router, profiler))
                report_profile(profiler)
            else:
                results.append(await burst(backend, mode, item, benches, router))
        checked, broken = await repo.verify_all()
        print(f"  verify: {checked} entries, {'intact' if broken is None else broken}")
        return results
    finally:
        await db.close_db()


def report_profile(profiler: cProfile.Profile) -> None:
    for order, restrict, title in (
        ("tottime", (20,), "top 20 by own time"),
        ("cumulative", (r"router|handlers|repo|ledger|governance", 25), "project code"),
        ("cumulative", (r"tortoise|aiosqlite|asyncpg|pypika", 15), "ORM and driver"),
    ):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(order).print_stats(*restrict)
        print(f"\n  cProfile of the serial vote burst (votes only), {title}, by {order}:")
        lines = out.getvalue().splitlines()
        start = next(i for i, line in enumerate(lines) if "ncalls" in line)
        for line in lines[start:]:
            if line.strip():
                print("   ", line)
    print()


async def with_sqlite(
    societies: int, modes: tuple[str, ...], profile: bool, synchronous: str | None = None
) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="yishi-bench-") as tmp:
        url = f"sqlite://{Path(tmp) / 'bench.db'}"
        if synchronous:  # a diagnostic: the app always uses FULL (storage.db.prepare_url)
            url += f"?synchronous={synchronous}"
        print(f"SQLite ({url})")
        return await run_backend("sqlite", url, societies, modes, profile)


async def with_postgres(societies: int, modes: tuple[str, ...], profile: bool) -> list[Result]:
    async with kit.throwaway_postgres(PG_SERVER, "yishi_bench") as url:
        if url is None:
            return []
        print(f"PostgreSQL (throw-away database {url.rsplit('/', 1)[1]})")
        return await run_backend("postgres", url, societies, modes, profile)


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def table(results: list[Result]) -> str:
    head = (
        f"{'backend':<9} {'mode':<10} {'soc.':>4} {'votes':>6} {'failed':>6} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'mean ms':>8} {'votes/s':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        ms = sorted(x * 1000 for x in r.latencies)
        lines.append(
            f"{r.backend:<9} {r.mode:<10} {r.societies:>4} {len(ms):>6} {len(r.failures):>6} "
            f"{percentile(ms, 0.50):>8.2f} {percentile(ms, 0.95):>8.2f} "
            f"{percentile(ms, 0.99):>8.2f} {ms[-1]:>8.2f} {statistics.fmean(ms):>8.2f} "
            f"{len(ms) / r.wall:>8.0f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    kit.ensure_server_key()
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--societies", type=int, default=50, help="number of societies (50)")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--mode", choices=(*MODES, "every"), default="every", help="which burst to measure"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the serial burst and print hot spots"
    )
    parser.add_argument(
        "--sqlite-synchronous",
        choices=("OFF", "NORMAL", "FULL"),
        help="diagnostic only: override the app's PRAGMA synchronous=FULL to see the fsync cost",
    )
    args = parser.parse_args(argv)
    if args.societies < 1:
        parser.error("--societies must be at least 1")
    modes = MODES if args.mode == "every" else (args.mode,)
    if args.profile and "serial" not in modes:
        parser.error("--profile profiles the serial burst; use --mode serial or every")

    async def everything() -> list[Result]:
        results = []
        if args.backend in ("sqlite", "both"):
            results += await with_sqlite(
                args.societies, modes, args.profile, args.sqlite_synchronous
            )
        if args.backend in ("postgres", "both"):
            results += await with_postgres(args.societies, modes, args.profile)
        return results

    # On the event loop `yishi serve` runs on (bot/runner.py: uvloop where installed).
    results = runner.run(everything())
    print()
    print(
        f"Vote burst: {args.societies} societies x {len(ROSTER)} named votes per mode "
        "(latency = Router.dispatch of one vote, including any wait for the database)"
    )
    print(table(results))
    if any(r.mode.endswith("*") for r in results):
        print("* measured under cProfile: the profiler inflates these latencies")
    failures = [f for r in results for f in r.failures]
    for failure in failures[:10]:
        print("FAILED:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
