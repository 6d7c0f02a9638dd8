"""Reminders at scale: N societies whose reminders fall due in the same minute, spread over
robot channels with a per-minute limit, sent to a fake platform on 127.0.0.1, in real time.

Over 600 lines as one file: one experiment (seeding, the fake platform's process, the bots'
processes, the measurement) that runs as a script and re-runs itself for each process.

    .venv/bin/python benchmarks/reminders_drain.py [--societies 10000] [--channels 1000]
        [--rate 20] [--instances 1] [--db postgres://postgres@127.0.0.1:5432/postgres | sqlite]
        [--prepare-seconds 120]

What it does:
1. Seeds the societies in bulk (3 roster members each, a bound group, a meeting starting at
   T0 + 1 h, joined T0 - 5 months, term ending T0 + 90 days, annual summary due T0 + 7 days):
   at T0 each society has four reminders due in the same minute (1 h before the meeting,
   5 months without a meeting, 90 days to the end of the term, 7 days to the summary deadline).
   Groups share robots: society n uses robot n % channels.
2. Materialises the reminders as a bot running before T0 would have.
3. Starts the fake platform in its own process: POST /send/{robot} answers errcode 45009 when
   the robot has had `rate` messages in the last 60 s (a sliding window, as strict as the
   platforms' "20 a minute"), records when each message arrived.
4. Starts `--instances` bot processes, each the real background of `yishi serve`
   (bot.app.Runtime: start-up sweep, armed wake-up, reminder sweep, outbox sender) with an
   adapter that POSTs to the fake. Their clock reads T0 - lead at start: the start-up (plan
   every society, decide what is overdue, arm the next due instant) is measured with every
   reminder pending. The sweep it arms at once prepares the reminders due within
   `prepare_seconds` (decided ahead, messages held in the outbox); at T0 (real time) the armed
   wake-up fires the sweep that releases them.
5. Waits until every reminder due by T0 is decided and the outbox is empty, then stops the bots.

Printed: the time to drain (T0 to the last message the platform accepted) and its ratio to the
minimum the limits allow: ceil(messages per robot / rate) - 1 full minutes (each robot's first
`rate` messages can go at T0, the next ones 60 s after those...), the messages the platform
refused, peak RSS of each bot process, and the start-up time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web

from benchmarks import kit
from bot import runner
from bot import scheduler as scheduler_module
from bot.adapters.base import Feed, SendError, SendErrorKind
from bot.app import Delivery, Runtime
from bot.clock import Clock, OffsetClock
from bot.config import DeliverySettings, Settings
from bot.events import OutgoingMessage, Platform
from bot.reminders.service import ReminderService
from storage import db, models, snapshots
from storage import outbox as outbox_store
from storage import reminders as reminder_store
from storage.sql import raw_execute, raw_rows

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 2, 9, 0, tzinfo=TZ)  # a Wednesday, a working day
CORP = "bench"
SCRIPT = Path(__file__).resolve()
JSON = {"Content-Type": "application/json"}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def robot_of(message: OutgoingMessage, channels: int) -> str:
    number = int(message.chat.chat_id.rsplit("-", 1)[1])
    return f"wecom:{CORP}:robot:{number % channels}"


# ---------------------------------------------------------------------------------------------
# The fake platform (its own process)


class FakePlatform:
    """The robots: POST /send/{robot}; errcode 45009 when a robot is over its limit."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.recent: dict[str, deque[float]] = {}
        self.accepted = 0
        self.last = 0.0
        self.first = 0.0
        self.over_limit = 0
        self.per_robot: dict[str, int] = {}
        self.seconds: dict[int, int] = {}  # accepted per second since the first

    async def send(self, request: web.BaseRequest, robot: str) -> web.Response:
        await request.read()
        mono = time.monotonic()
        window = self.recent.setdefault(robot, deque())
        while window and mono - window[0] >= 60.0:
            window.popleft()
        if len(window) >= self.rate:
            self.over_limit += 1
            return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
        window.append(mono)
        self.accepted += 1
        self.per_robot[robot] = self.per_robot.get(robot, 0) + 1
        self.last = time.time()
        self.first = self.first or self.last
        second = int(self.last - self.first)
        self.seconds[second] = self.seconds.get(second, 0) + 1
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def stats(self, request: web.BaseRequest) -> web.Response:
        return web.json_response(
            {
                "accepted": self.accepted,
                "first": self.first,
                "last": self.last,
                "over_limit": self.over_limit,
                "max_per_robot": max(self.per_robot.values(), default=0),
                "seconds": sorted(self.seconds.items()),
                "cpu": cpu_seconds(),
            }
        )


async def fake_main(rate: int) -> None:
    fake = FakePlatform(rate)

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        # aiohttp's low-level server: the platform's CPU is not the bot's, and on a small
        # machine every cycle the fake spends is taken from the bots being measured.
        if request.method == "POST" and request.path.startswith("/send/"):
            return await fake.send(request, request.path[len("/send/") :])
        if request.path == "/stats":
            return await fake.stats(request)
        return web.Response(status=404)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(web.Server(handle, access_log=None), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port}), flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()


# ---------------------------------------------------------------------------------------------
# A bot instance (its own process)


class HttpAdapter:
    """A group robot: POST the text, 45009 = throttled, any other errcode = transient."""

    platform = Platform.WECOM
    edits_cards = False

    def __init__(self, base: str, channels: int) -> None:
        self.base = base
        self.channels = channels
        self.session: aiohttp.ClientSession | None = None

    async def start(self, feed: Feed) -> None:
        self.session = aiohttp.ClientSession()

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    def merge(self, first: OutgoingMessage, then: OutgoingMessage) -> OutgoingMessage | None:
        return None  # one by one

    async def send(self, message: OutgoingMessage) -> None:
        assert self.session is not None
        robot = robot_of(message, self.channels).rsplit(":", 1)[1]
        data = json.dumps({"msgtype": "text", "text": {"content": message.text}}).encode()
        async with self.session.post(f"{self.base}/send/{robot}", data=data, headers=JSON) as r:
            body = json.loads(await r.read())
        if body["errcode"] == 45009:
            raise SendError(SendErrorKind.THROTTLED, 45009)
        if body["errcode"] != 0:
            raise SendError(SendErrorKind.TRANSIENT, body["errcode"])


class LoopScheduler:
    """The Scheduler protocol on the event loop, reading the bot's clock (APScheduler reads the
    system clock, which is not the benchmark's T0): arms a wake-up, sweeps periodically."""

    def __init__(self, clock: Clock, sweep_seconds: int, names: tuple[str, ...]) -> None:
        self.clock = clock
        self.sweep_seconds = sweep_seconds
        self.names = names
        self.handles: dict[str, asyncio.TimerHandle] = {}
        self.periodic: asyncio.Task[None] | None = None
        self.running = False

    def start(self) -> None:
        self.running = True
        self.periodic = asyncio.get_running_loop().create_task(self._sweeps())

    async def _sweeps(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_seconds)
            for name in self.names:
                await scheduler_module.wake(name)

    def arm(self, name: str, at: datetime) -> None:
        if not self.running:
            return
        old = self.handles.pop(name, None)
        if old is not None:
            old.cancel()
        delay = max(0.0, (at - self.clock.now()).total_seconds())
        loop = asyncio.get_running_loop()
        self.handles[name] = loop.call_later(
            delay, lambda: loop.create_task(scheduler_module.wake(name))
        )

    def shutdown(self) -> None:
        self.running = False
        for handle in self.handles.values():
            handle.cancel()
        if self.periodic is not None:
            self.periodic.cancel()


async def bot_main(args: argparse.Namespace) -> None:
    clock = OffsetClock()
    clock.set(T0 + timedelta(seconds=time.time() - args.start_wall))
    settings = replace(
        Settings(database_url=args.db),
        private_platforms=frozenset(),
        delivery=DeliverySettings(
            group_rate_per_minute=args.rate, send_concurrency=args.concurrency
        ),
        prepare_seconds=args.prepare_seconds,
    )
    await db.open_db(args.db)
    adapter = HttpAdapter(args.fake, args.channels)
    await adapter.start(lambda m: asyncio.sleep(0, []))  # type: ignore[arg-type,return-value]
    delivery = Delivery([adapter], clock=clock, settings=settings, background=True)
    scheduler = LoopScheduler(clock, settings.sweep_seconds, ("reminders", "sender"))
    runtime = Runtime(settings, clock, delivery, scheduler, time.monotonic)
    runtime.reminders.channel_of = lambda m: robot_of(m, args.channels)
    runtime.reminders.batch = args.batch
    pending = await models.Reminder.filter(state="pending").count()
    # The preparations (reminders decided ahead, messages held until T0): how many, how long.
    preparations: list[tuple[int, float]] = []
    prepare = runtime.reminders.prepare

    async def timed_prepare(now: datetime) -> int:
        t = time.perf_counter()
        n = await prepare(now)
        preparations.append((n, time.perf_counter() - t))
        return n

    runtime.reminders.prepare = timed_prepare  # type: ignore[method-assign]
    started = time.perf_counter()
    await runtime.start()
    startup = time.perf_counter() - started
    # Serving from here; the start-up sweep (plan, decide the overdue, arm) runs behind.
    await runtime.caught_up.wait()
    caught_up = time.perf_counter() - started
    print(
        json.dumps(
            {
                "event": "started",
                "startup": startup,
                "caught_up": caught_up,
                "pending": pending,
                "late": time.time() > args.start_wall,
            }
        ),
        flush=True,
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runtime.stop()
    await adapter.close()
    await db.close_db()
    sent = sum(
        delivery.metrics.value("yishi_sends_total", platform=p, outcome="sent")
        for p in ("wecom", "dingtalk", "console")
    )
    metrics = {"sent": int(sent)}
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "event": "stopped",
                "rss": rss,
                "metrics": metrics,
                "cpu": cpu_seconds(),
                "prepared": sum(n for n, _ in preparations),
                "prepare_seconds": sum(t for n, t in preparations if n),
            }
        ),
        flush=True,
    )


# ---------------------------------------------------------------------------------------------
# The conductor


async def seed(societies: int) -> None:
    created = (T0 - timedelta(days=153)).replace(hour=10)  # 2026-07-02: five months before T0
    starts = T0 + timedelta(hours=1)
    term_end = (T0 + timedelta(days=90)).date()
    deadline = (T0 + timedelta(days=7)).strftime("%m-%d")  # the annual summary: 7 days left
    batch = 2000
    for first in range(0, societies, batch):
        numbers = range(first, min(first + batch, societies))
        socs = [
            models.Society(
                name=f"基准学会{n:05d}",
                term_start=date(2023, 3, 1),
                term_end=term_end,
                report_deadline=deadline,
                created_at=created,
            )
            for n in numbers
        ]
        await models.Society.bulk_create(socs)
        rows = await models.Society.filter(name__in=[s.name for s in socs]).order_by("id")
        people = [
            models.Person(name=f"{role}{n:05d}")
            for n in numbers
            for role in ("组长", "成员", "联系人")
        ]
        await models.Person.bulk_create(people)
        persons = {
            p.name: p.id
            for p in await models.Person.filter(name__in=[p.name for p in people]).only(
                "id", "name"
            )
        }
        members, bindings, meetings, acks = [], [], [], []
        for soc, n in zip(rows, numbers, strict=True):
            ids = [persons[f"{role}{n:05d}"] for role in ("组长", "成员", "联系人")]
            for pid, role in zip(ids, ("leader", "member", "member"), strict=True):
                members.append(models.Member(society_id=soc.id, person_id=pid, roster_role=role))
            bindings.append(
                models.ChatBinding(
                    platform="wecom", corp_id=CORP, chat_id=f"grp-{n}", society_id=soc.id
                )
            )
            meetings.append(
                models.Meeting(
                    society_id=soc.id,
                    number=1,
                    starts_at=starts,
                    state="convened",
                    convened_by_id=ids[0],
                    chair_id=ids[0],
                    created_at=created,
                )
            )
            soc.liaison_id = ids[2]
        await models.Member.bulk_create(members)
        await models.ChatBinding.bulk_create(bindings)
        await models.Meeting.bulk_create(meetings)
        # The members acknowledged the notice (收到): the escalation to the leader is skipped.
        held = await models.Meeting.filter(society_id__in=[s.id for s in rows]).values_list(
            "id", "society_id"
        )
        by_society = {sid: mid for mid, sid in held}
        for soc, n in zip(rows, numbers, strict=True):
            for role in ("成员", "联系人"):
                acks.append(
                    models.NoticeAck(
                        meeting_id=by_society[soc.id],
                        person_id=persons[f"{role}{n:05d}"],
                        at=created,
                    )
                )
        await models.NoticeAck.bulk_create(acks)
        await models.Society.bulk_update(rows, fields=["liaison_id"])


@contextlib.asynccontextmanager
async def fresh_database(url: str | None) -> AsyncIterator[tuple[str, str | None]]:
    """(a new database's URL, its PostgreSQL server or None for SQLite), removed afterwards."""
    if url and url.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="yishi_bench_") as folder:
            yield f"sqlite://{folder}/bench.db", None
        return
    server = url or "postgres://postgres@127.0.0.1:5432/postgres"
    async with kit.throwaway_postgres(server, "yishi_bench") as made:
        if made is None:
            raise SystemExit(f"PostgreSQL unreachable at {server}")
        yield f"{made}?minsize=1&maxsize=10", server


def postgres_cpu() -> float:
    """CPU seconds of the PostgreSQL server processes so far (Linux /proc; 0 elsewhere)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = stat.read_text()
            name = text[text.index("(") + 1 : text.rindex(")")]
            if name.startswith("postgres"):
                fields = text[text.rindex(")") + 2 :].split()
                total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def read_json(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    """The next JSON line a child prints (other lines, e.g. logs, are skipped)."""
    assert proc.stdout is not None
    while True:
        line = await proc.stdout.readline()
        if not line:
            raise RuntimeError(f"child {proc.pid} ended without answering")
        with contextlib.suppress(ValueError):
            value = json.loads(line)
            if isinstance(value, dict):
                return value


async def spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), *args, stdout=subprocess.PIPE
    )


async def settled(now: datetime) -> bool:
    """Every reminder due by `now` decided and nothing left to send. (Literal states: the
    planner then knows how few rows match and uses the indexes; this poll must not load the
    database the bots are measured on.)"""
    due = await raw_rows(
        models.Reminder,
        "SELECT 1 AS x FROM reminder WHERE state IN ('pending', 'prepared') AND due_at <= ?"
        " LIMIT 1",
        now.astimezone(UTC),
    )
    if due:
        return False
    left = await raw_rows(
        models.OutboxMessage,
        "SELECT 1 AS x FROM outbox_message WHERE state IN ('held', 'pending', 'sending') LIMIT 1",
    )
    return not left


async def run(args: argparse.Namespace) -> None:
    if args.db and args.db.startswith("sqlite") and args.instances > 1:
        raise SystemExit("SQLite runs one instance; use PostgreSQL for --instances > 1")
    async with fresh_database(args.db) as (url, server):
        await run_on(url, server, args)


async def run_on(url: str, server: str | None, args: argparse.Namespace) -> None:
    if server is None and args.instances > 1:
        raise SystemExit("SQLite runs one instance; use PostgreSQL for --instances > 1")
    settings = replace(Settings(database_url=url), private_platforms=frozenset())
    children: list[asyncio.subprocess.Process] = []
    try:
        await db.open_db(url)
        t = time.perf_counter()
        await seed(args.societies)
        seeded = time.perf_counter() - t
        # The bot ran before T0: reminders materialised, and those due earlier (24 h before the
        # meeting, the unacknowledged-notice check) decided and delivered then.
        before = T0 - timedelta(hours=2)
        earlier = ReminderService(settings, lambda: before)
        earlier.channel_of = lambda m: robot_of(m, args.channels)
        t = time.perf_counter()
        written = await earlier.materialize(before)
        materialised = time.perf_counter() - t
        history = await earlier.fire_due(before, batch=args.batch)
        if not args.first_start:
            # The bot that ran until now left its plan mark: the bots restart from it.
            await reminder_store.record_full_plan(earlier.fingerprint, before)
            await reminder_store.record_covered(
                earlier.fingerprint, await snapshots.last_event_id(), before
            )
        await models.OutboxMessage.filter(state="pending").update(state="sent", sent_at=before)
        if server is not None:
            # Statistics, as autovacuum keeps them on a running server (it may be off on a test
            # server): without them the planner guesses on tables that grew from nothing.
            await raw_execute(models.Reminder, "ANALYZE")

        fake = await spawn("--role", "fake", "--rate", str(args.rate))
        children.append(fake)
        port = (await read_json(fake))["port"]
        base = f"http://127.0.0.1:{port}"
        start_wall = time.time() + args.lead
        bots = []
        for _ in range(args.instances):
            bot = await spawn(
                "--role",
                "bot",
                "--db",
                url,
                "--fake",
                base,
                "--start-wall",
                repr(start_wall),
                "--channels",
                str(args.channels),
                "--rate",
                str(args.rate),
                "--concurrency",
                str(args.concurrency),
                "--batch",
                str(args.batch),
                "--prepare-seconds",
                str(args.prepare_seconds),
                *(["--profile", args.profile] if args.profile and not bots else []),
            )
            children.append(bot)
            bots.append(bot)
        started = [await read_json(b) for b in bots]
        pg_before = postgres_cpu()
        for s in started:
            if s["late"]:
                print(f"warning: a start-up took {s['caught_up']:.1f} s, past T0: raise --lead")
        # Real time from here: T0 is `start_wall`.
        # Ask the database only once the platform has gone quiet: the poll must not load the
        # database the bots are measured on.
        async with aiohttp.ClientSession() as session:
            seen, quiet = -1, 0
            while True:
                await asyncio.sleep(1.0)
                async with session.get(f"{base}/stats") as r:
                    stats = await r.json()
                quiet = quiet + 1 if stats["accepted"] == seen else 0
                seen = stats["accepted"]
                if time.time() > start_wall + 5 and quiet >= 2 and await settled(T0):
                    break
            pg_cpu = postgres_cpu() - pg_before
            async with session.get(f"{base}/stats") as r:
                stats = await r.json()
        for b in bots:
            b.send_signal(signal.SIGTERM)
        stopped = [await read_json(b) for b in bots]
        for b in bots:
            await b.wait()
        fake.send_signal(signal.SIGTERM)
        await fake.wait()
        children.clear()

        counts = await reminder_store.reminder_counts()
        decided = await models.Reminder.filter(decided_at__gt=before.astimezone(UTC)).exclude(
            state="pending"
        )
        sent = sum(1 for r in decided if r.state == "sent")
        reasons: dict[str, int] = {}
        for r in decided:
            if r.state == "skipped":
                reasons[r.reason] = reasons.get(r.reason, 0) + 1
        outbox = await outbox_store.outbox_counts()
        per_robot = math.ceil(stats["accepted"] / args.channels)
        minimum = max(0, math.ceil(per_robot / args.rate) - 1) * 60.0
        drain = stats["last"] - start_wall
        print(
            f"database            {'PostgreSQL' if server else 'SQLite'}, {args.instances} instance(s)"
        )
        print(
            f"societies           {args.societies} over {args.channels} robots, {args.rate}/min each"
        )
        print(f"seeded in           {seeded:.1f} s")
        print(
            f"materialised        {written} reminders in {materialised:.1f} s (before T0; "
            f"{history.sent} sent and {history.skipped} skipped before T0)"
        )
        for i, s in enumerate(started):
            print(
                f"scheduler start-up  {s['startup']:.2f} s to serving, {s['caught_up']:.2f} s to "
                f"caught up, with {s['pending']} pending reminders (instance {i + 1}: the "
                "start-up sweep plans, decides the overdue and arms behind the serving bot)"
            )
        for i, s in enumerate(stopped):
            print(
                f"prepared ahead      {s['prepared']} reminders in {s['prepare_seconds']:.1f} s "
                f"(instance {i + 1}, before T0: messages held in the outbox until T0)"
            )
        print(
            f"decided from T0     sent {sent}, skipped {sum(reasons.values())} "
            f"({'; '.join(f'{k}: {v}' for k, v in reasons.items())}); states now {counts}"
        )
        print(
            f"messages            {stats['accepted']} accepted (at most {stats['max_per_robot']} "
            f"per robot), {stats['over_limit']} refused by the platform's limit; outbox {outbox}"
        )
        print(f"time to drain       {drain:.1f} s (T0 to the last message accepted, real time)")
        print(
            f"minimum allowed     {minimum:.0f} s ({per_robot} per robot at {args.rate}/min: "
            f"{args.rate} at T0, the rest 60 s later)"
        )
        print(f"accepted per second {stats['seconds']}")
        if minimum:
            print(f"ratio               {drain / minimum:.3f}")
        for i, s in enumerate(stopped):
            sends = s["metrics"].get("sent", 0)
            print(
                f"peak memory         {s['rss']:.0f} MiB max RSS (instance {i + 1}, {sends} sent, "
                f"{s['cpu']:.1f} s CPU in all)"
            )
        print(f"fake platform       {stats['cpu']:.1f} s CPU")
        if server:
            print(
                f"PostgreSQL          {pg_cpu:.1f} s CPU from T0 - lead to the end (all backends)"
            )
    finally:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
        await db.close_db()


def main() -> None:
    kit.ensure_server_key()
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--societies", type=int, default=10_000)
    p.add_argument("--channels", type=int, default=1_000)
    p.add_argument("--rate", type=int, default=20)
    p.add_argument("--instances", type=int, default=1)
    p.add_argument("--concurrency", type=int, default=64, help="channels sent to at once")
    p.add_argument("--batch", type=int, default=200, help="reminders decided per transaction")
    p.add_argument("--lead", type=float, default=60.0, help="seconds from the bots' start to T0")
    p.add_argument(
        "--prepare-seconds",
        type=int,
        default=Settings().prepare_seconds,
        help="reminders due this soon are prepared ahead (0: decided at T0)",
    )
    p.add_argument("--db", default=os.environ.get("YISHI_BENCH_DB"))
    p.add_argument(
        "--first-start",
        action="store_true",
        help="no plan mark stored: the bots' start-up plans every society (a first start, a "
        "new day or another planner); by default they restart from the mark of a bot that ran",
    )
    p.add_argument("--profile", help="write a cProfile of the (first) bot process here")
    p.add_argument("--role", choices=["conductor", "fake", "bot"], default="conductor")
    p.add_argument("--fake", help=argparse.SUPPRESS)
    p.add_argument("--start-wall", type=float, help=argparse.SUPPRESS)
    args = p.parse_args()
    # The event loop `yishi serve` runs on (uvloop where installed), in every process.
    if args.role == "fake":
        runner.run(fake_main(args.rate))
    elif args.role == "bot" and args.profile:
        import cProfile

        cProfile.runctx("runner.run(bot_main(args))", globals(), {"args": args}, args.profile)
    elif args.role == "bot":
        runner.run(bot_main(args))
    else:
        runner.run(run(args))


if __name__ == "__main__":
    main()
