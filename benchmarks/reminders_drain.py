"""Reminders at scale: N societies whose reminders fall due in the same minute, spread over robot
channels with a per-minute limit, sent to a fake platform on 127.0.0.1.

    .venv/bin/python benchmarks/reminders_drain.py [--societies 10000] [--channels 1000]
        [--rate 20] [--db postgres://postgres@127.0.0.1:5432/postgres | sqlite]

What it does:
1. Seeds the societies in bulk (3 roster members each, a bound group, a meeting starting at
   T0 + 1 h, joined T0 - 5 months, term ending T0 + 90 days): at T0 each society has three
   reminders due in the same minute (1 h before the meeting, 5 months without a meeting, 90 days
   to the end of the term) and one that has expired (24 h before the meeting: skipped, with the
   reason). Groups share robots: society n uses robot n % channels.
2. Materialises the reminders before T0 (the bot was running), then "restarts": measures the
   scheduler's start-up (plan every society, find everything already stored, arm the next due
   instant) with all of them pending.
3. At T0 the sweep decides every due reminder while the sender drains, as in `yishi serve`.
   Sends are real HTTP POSTs to an aiohttp server on 127.0.0.1 that checks each robot's rate.

Time: the bot reads a hybrid clock = T0 + real elapsed time + the waiting the rate limit forces.
Waiting is skipped (added to the clock instead of slept), so the run takes seconds, yet the
time to drain that it reports includes every real cost (database, HTTP) plus every wait the
limits impose. The minimum the limits allow: ceil(messages per robot / rate) - 1 full minutes
(the first `rate` go at once, the next after 60 s...), plus nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import resource
import sys
import time
import tracemalloc
import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import asyncpg
from aiohttp import web

from bot.adapters.base import Feed, SendError
from bot.config import DeliverySettings, Settings
from bot.events import OutgoingMessage, Platform
from bot.outbox import Sender
from bot.reminders import ReminderService
from storage import db, models
from storage import outbox as store

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 2, 9, 0, tzinfo=TZ)  # a Wednesday, a working day
CORP = "bench"


class HybridClock:
    """T0 + real elapsed time + skipped waits."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.base = time.perf_counter()
        self.skipped = timedelta(0)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.perf_counter() - self.base) + self.skipped

    def skip_to(self, when: datetime) -> None:
        gap = when - self.now()
        if gap > timedelta(0):
            self.skipped += gap


def robot_of(message: OutgoingMessage, channels: int) -> str:
    number = int(message.chat.chat_id.rsplit("-", 1)[1])
    return f"wecom:{CORP}:robot:{number % channels}"


class FakePlatform:
    """The robots: POST /send/{robot}; errcode 45009 when a robot is over its limit."""

    def __init__(self, clock: HybridClock, rate: int) -> None:
        self.clock = clock
        self.rate = rate
        self.times: dict[str, list[datetime]] = defaultdict(list)
        self.over_limit = 0
        self.app = web.Application()
        self.app.router.add_post("/send/{robot}", self.send)

    async def send(self, request: web.Request) -> web.Response:
        robot = request.match_info["robot"]
        await request.read()
        now = self.clock.now()
        recent = [t for t in self.times[robot] if now - t < timedelta(seconds=60)]
        if len(recent) >= self.rate:
            self.over_limit += 1
            return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
        self.times[robot].append(now)
        return web.json_response({"errcode": 0, "errmsg": "ok"})


class HttpAdapter:
    platform = Platform.WECOM

    def __init__(self, base: str, channels: int) -> None:
        self.base = base
        self.channels = channels
        self.session: aiohttp.ClientSession | None = None

    async def start(self, feed: Feed) -> None:
        self.session = aiohttp.ClientSession()

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def send(self, message: OutgoingMessage) -> None:
        assert self.session is not None
        robot = robot_of(message, self.channels).rsplit(":", 1)[1]
        async with self.session.post(f"{self.base}/send/{robot}", json={"text": message.text}) as r:
            body = await r.json()
        if body["errcode"] == 45009:
            raise SendError("throttled", 45009)
        if body["errcode"] != 0:
            raise SendError("transient", body["errcode"])


async def seed(societies: int) -> None:
    created = (T0 - timedelta(days=153)).replace(hour=10)  # 2026-07-02: five months before T0
    starts = T0 + timedelta(hours=1)
    term_end = (T0 + timedelta(days=90)).date()
    batch = 2000
    for first in range(0, societies, batch):
        numbers = range(first, min(first + batch, societies))
        socs = [
            models.Society(
                name=f"基准学会{n:05d}",
                term_start=date(2023, 3, 1),
                term_end=term_end,
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


async def fresh_database(url: str | None) -> tuple[str, str | None]:
    if url and url.startswith("sqlite"):
        path = Path("/tmp") / f"yishi_bench_{uuid.uuid4().hex[:8]}.db"
        return f"sqlite://{path}", None
    server = url or "postgres://postgres@127.0.0.1:5432/postgres"
    name = f"yishi_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(server.replace("postgres://", "postgresql://"))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    # A pool as wide as the sender's concurrency (tortoise's asyncpg default is 5 connections).
    return f"{server.rsplit('/', 1)[0]}/{name}?minsize=1&maxsize=20", server


def remove_sqlite(url: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(url[len("sqlite://") :] + suffix).unlink(missing_ok=True)


async def drop_database(url: str, server: str | None) -> None:
    if server is None:
        remove_sqlite(url)
        return
    conn = await asyncpg.connect(server.replace("postgres://", "postgresql://"))
    try:
        name = url.rsplit("/", 1)[1].split("?", 1)[0]
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def run(args: argparse.Namespace) -> None:
    tracemalloc.start()
    url, server = await fresh_database(args.db)
    clock = HybridClock(T0 - timedelta(hours=1))
    fake = FakePlatform(clock, args.rate)
    runner = web.AppRunner(fake.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    adapter = HttpAdapter(f"http://127.0.0.1:{port}", args.channels)
    await adapter.start(lambda m: asyncio.sleep(0, []))  # type: ignore[arg-type,return-value]
    settings = replace(
        Settings(database_url=url),
        private_platforms=frozenset(),
        delivery=DeliverySettings(group_rate_per_minute=args.rate),
    )
    try:
        await db.open_db(url)
        t = time.perf_counter()
        await seed(args.societies)
        seeded = time.perf_counter() - t

        def service() -> ReminderService:
            s = ReminderService(settings, clock.now, instance="bench", arm=lambda _at: None)
            s.channel_of = lambda m: robot_of(m, args.channels)
            return s

        # The bot ran before T0: reminders materialised.
        t = time.perf_counter()
        written = await service().materialize(clock.now())
        materialised = time.perf_counter() - t
        # Restart: the scheduler's start-up with everything pending.
        armed: list[datetime] = []
        t = time.perf_counter()
        restart = service()
        restart.arm = armed.append
        rewritten = await restart.materialize(clock.now())
        nxt = await store.next_reminder_due()
        if nxt is not None:
            restart.arm(nxt)
        startup = time.perf_counter() - t
        pending = await models.Reminder.filter(state="pending").count()
        assert rewritten == 0
        assert armed

        # T0: everything due in the same minute. Sweep and sender run together.
        clock.skip_to(T0)
        start = clock.now()
        sender = Sender(
            [adapter],
            clock=clock,
            settings=settings.delivery,
            instance="bench",
            concurrency=args.concurrency,
        )
        sweeper = service()
        sweeper.on_enqueued = sender.wake
        real = time.perf_counter()
        fire = asyncio.create_task(sweeper.fire_due(clock.now(), batch=args.batch))
        fire_real = [0.0]
        fire.add_done_callback(lambda _t: fire_real.__setitem__(0, time.perf_counter() - real))
        passes = 0
        while True:
            fired_all = fire.done()  # read before the counts: the last batch may commit meanwhile
            result = await sender.run_once()
            passes += 1
            left = await models.OutboxMessage.filter(state__in=["pending", "sending"]).exists()
            if fired_all and not left:
                break
            if result.sent == 0 and not fired_all:
                # Nothing to send until the sweep commits its next batch (it wakes the sender).
                woken = asyncio.create_task(sender._event.wait())
                await asyncio.wait([fire, woken], return_when=asyncio.FIRST_COMPLETED)
                woken.cancel()
                sender._event.clear()
                continue
            if result.sent == 0 and fire.done():
                # Nothing could go: skip (do not sleep) to when the limit lets a robot send again.
                retry = await store.next_attempt_at()
                waits = [w for w in (result.blocked_until, retry) if w and w > clock.now()]
                if waits:
                    clock.skip_to(min(waits))
        fired = await fire
        drained_real = time.perf_counter() - real
        sent_times = [t for ts in fake.times.values() for t in ts]
        last = max(sent_times)
        per_robot = math.ceil(len(sent_times) / args.channels)
        minimum = timedelta(minutes=max(0, math.ceil(per_robot / args.rate) - 1))
        drain = last - start
        _, peak = tracemalloc.get_traced_memory()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        failed = await models.OutboxMessage.filter(state="failed").count()
        print(f"database            {'PostgreSQL' if server else 'SQLite'}")
        print(
            f"societies           {args.societies} over {args.channels} robots, {args.rate}/min each"
        )
        print(f"seeded in           {seeded:.1f} s")
        print(f"materialised        {written} reminders in {materialised:.1f} s")
        print(f"scheduler start-up  {startup:.2f} s with {pending} pending reminders")
        print(
            f"reminders at T0     sent {fired.sent}, skipped {fired.skipped} "
            f"({'; '.join(f'{k}: {v}' for k, v in fired.reasons.items())})"
        )
        print(
            f"messages            {len(sent_times)} delivered, {failed} failed, "
            f"{fake.over_limit} refused by the platform's limit"
        )
        print(
            f"reminders decided   in {fire_real[0]:.1f} s real (decide + queue, batches of {args.batch})"
        )
        print(
            f"time to drain       {drain.total_seconds():.1f} s (clock; {drained_real:.1f} s real, {passes} passes)"
        )
        print(
            f"minimum allowed     {minimum.total_seconds():.0f} s ({per_robot} per robot at {args.rate}/min)"
        )
        if minimum.total_seconds():
            print(f"ratio               {drain / minimum:.3f}")
        print(f"peak memory         {peak / 2**20:.0f} MiB traced, {rss:.0f} MiB max RSS")
    finally:
        await adapter.close()
        await runner.cleanup()
        await db.close_db()
        await drop_database(url, server)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--societies", type=int, default=10_000)
    p.add_argument("--channels", type=int, default=1_000)
    p.add_argument("--rate", type=int, default=20)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--batch", type=int, default=500, help="reminders decided per transaction")
    p.add_argument("--db", default=os.environ.get("YISHI_BENCH_DB"))
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
