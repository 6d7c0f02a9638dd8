"""Signed DingTalk vote callbacks against the real server, next to a bare endpoint.

What runs, each in its own process (multiprocessing, "spawn"), all on 127.0.0.1:

  sink       DingTalk's endpoints the server calls back (benchmarks/kit.py), answered at once:
             the sessionWebhook replies go there
  bare       an aiohttp app with one route that reads the body, checks the timestamp window and
             the sign (HMAC-SHA256, constant-time compare) and parses the JSON; answers {}
  server     the real app: build_app + DingTalkAdapter in HTTP mode (router, handlers, storage,
             the inline reply POSTed to the fake's sessionWebhook in the background), on SQLite
             (temporary file, WAL + synchronous=FULL as configured) or PostgreSQL (a fresh
             database on YISHI_TEST_PG, default postgres://postgres@127.0.0.1:5432/test,
             dropped afterwards)
  load       the load generator: one aiohttp client session with a connection pool of exactly
             C connections (C = 16, then 64) and C workers sending back to back

Fairness: the same load process and client code, the same request bodies (a real robot callback,
about 1 KiB), the same number of requests and the same concurrency for the bare endpoint and the
server; both servers are single-process aiohttp with no access log, on the event loop `yishi
serve` runs on (uvloop where installed, bot/runner.py); the sink that receives the replies has
its own process, so neither server pays for it. Each request is signed just before it is sent,
with a timestamp 1 ms apart from every other (DingTalk's sign covers only the timestamp, and the
server accepts a (timestamp, sign) pair for one msgId).

Data: S societies of 7 voters (the platform's real size), each bound to its own group, each with
a meeting in session and one open named vote. Every request is a distinct ballot ("赞成" from a
different member, new msgId): the 16-connection run and the 64-connection run use different
societies, so every measured request writes a ballot. Setup goes through the router directly
before the server starts listening. Latency: perf_counter around each request in the load
process (queueing for a pool connection excluded); requests/s = requests / wall time of the run.

Phases on the server, each on its own share of the societies: 16 connections back to back, 64
connections back to back (each right after the bare endpoint's run at the same concurrency, on
as many requests; with `--rounds N`, N such alternating rounds and their medians), then (inbound
queue) an open-loop load at half the applied rate the 64-connection phases reached. After each,
the server waits until its queue is empty and reads the phase's own rows of the inbound queue
(received_at: committed at the door just before the answer; done_at: set in the transaction that
applied it): applied ballots per second, from the first acknowledged to the last applied, and
the acknowledgement-to-effect lag (p50, p99, max); then until its sender has gone quiet, so that
the next load (the bare endpoint's) does not share the machine with the replies.

    .venv/bin/python benchmarks/dingtalk_callbacks.py               # 3,003 ballots per engine
    .venv/bin/python benchmarks/dingtalk_callbacks.py --quick       # a short run
    .venv/bin/python benchmarks/dingtalk_callbacks.py --rounds 3    # medians of 3 alternating rounds
    .venv/bin/python benchmarks/dingtalk_callbacks.py --backend sqlite
    .venv/bin/python benchmarks/dingtalk_callbacks.py --inbound direct   # apply, then answer
    .venv/bin/python benchmarks/dingtalk_callbacks.py --statements 20    # which statements, how often
    .venv/bin/python benchmarks/dingtalk_callbacks.py --profile server.prof   # cProfile (pstats)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import hashlib
import hmac
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import kit

TZ = ZoneInfo("Asia/Shanghai")
PG_SERVER = os.environ.get("YISHI_TEST_PG", "postgres://postgres@127.0.0.1:5432/test")
APP_KEY = "dingbenchappkey"
APP_SECRET = "bench-app-secret-0123456789abcdef"
CORP = "dingcorpBENCH"
VOTERS = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏")  # bot.demo.PEOPLE's first seven
CONCURRENCY = (16, 64)
# `--inbound-workers`, handed to the server process (0: the default for the engine).
WORKERS_ENV = "YISHI_BENCH_INBOUND_WORKERS"
PROFILE_ENV = "YISHI_BENCH_PROFILE"
# Groups of one phase by default (x7 ballots: 1,001 requests a phase).
PHASE_SOCIETIES = 143

# A ballot to send: (group, staff id, nick, msgId, text)
Target = tuple[str, str, str, str, str]


def group_of(number: int) -> str:
    return f"cidBENCH{number:05d}=="


def staff_of(number: int, index: int) -> str:
    """The DingTalk staff id in society `number` of the demo person at `index` in PEOPLE."""
    return f"staff{number:04d}{index:02d}"


# --- the sink: DingTalk's endpoints the server calls back ------------------------------------


def run_sink(ports: Any, stop: Any) -> None:
    async def main() -> None:
        from benchmarks.kit import DINGTALK_ANSWERS, serve, sink_app

        runner, url = await serve(sink_app(DINGTALK_ANSWERS))
        ports.put(url)
        await asyncio.to_thread(stop.wait)
        await runner.cleanup()

    serve_loop(main())


def serve_loop(main: Coroutine[Any, Any, None]) -> None:
    """Every server process here (the fake DingTalk, the bare endpoint, ours) runs on the event
    loop `yishi serve` runs on (bot/runner.py: uvloop where it is installed)."""
    from bot import runner

    runner.run(main)


# --- the bare endpoint -----------------------------------------------------------------------


def run_bare(ports: Any, stop: Any) -> None:
    from aiohttp import web

    async def callback(request: web.Request) -> web.Response:
        body = await request.read()
        timestamp = request.headers.get("timestamp", "")
        sign = request.headers.get("sign", "")
        now_ms = int(time.time() * 1000)
        if not timestamp.isdigit() or abs(int(timestamp) - now_ms) > 3_600_000:
            return web.json_response({"errmsg": "rejected"}, status=401)
        message = f"{timestamp}\n{APP_SECRET}".encode()
        digest = hmac.new(APP_SECRET.encode(), message, hashlib.sha256).digest()
        expected = __import__("base64").b64encode(digest)
        if not hmac.compare_digest(expected, sign.encode()):
            return web.json_response({"errmsg": "rejected"}, status=401)
        try:
            json.loads(body)
        except ValueError:
            return web.json_response({"errmsg": "rejected"}, status=400)
        return web.json_response({})

    async def main() -> None:
        from benchmarks.kit import serve

        app = web.Application()
        app.router.add_post("/dingtalk/callback", callback)
        runner, url = await serve(app)
        ports.put((url, 0.0, []))
        await asyncio.to_thread(stop.wait)
        await runner.cleanup()

    serve_loop(main())


# --- the real server -------------------------------------------------------------------------


MEETING = datetime(2026, 12, 5, 15, 0, tzinfo=TZ)  # the scenario's meeting (its clock is set)


async def _prepare(societies: int, clock: Any, meeting: datetime = MEETING) -> list[Target]:
    """Seed the societies, convene (four days and six hours ahead), sign in, open the meeting
    (ten minutes before `meeting`, where `clock` is left) and a vote in each group."""
    from bot.app import build_router
    from bot.config import Settings
    from bot.demo import PEOPLE, seed_society
    from bot.events import ChatKind, ChatRef, IncomingMessage, Platform, UserRef

    router = build_router(Settings(), clock)
    serial = 0
    gate = asyncio.Semaphore(8)

    async def say(number: int, name: str, text: str, needle: str) -> None:
        nonlocal serial
        serial += 1
        message = IncomingMessage(
            platform=Platform.DINGTALK,
            chat=ChatRef(Platform.DINGTALK, CORP, group_of(number), ChatKind.GROUP),
            sender=UserRef(Platform.DINGTALK, CORP, staff_of(number, VOTERS.index(name)), name),
            text=text,
            message_id=f"setup-{serial}",
            received_at=clock.now(),
        )
        reply = "\n".join(r.text for r in await router.dispatch(message))
        if needle not in reply:
            raise RuntimeError(f"setup {number} {name} {text!r}: {reply!r}")

    clock.set(meeting - timedelta(days=4, hours=6))
    for number in range(societies):
        people = {
            name: UserRef(Platform.DINGTALK, CORP, staff_of(number, i), name)
            for i, (name, _, _, _) in enumerate(PEOPLE)
        }
        group = ChatRef(Platform.DINGTALK, CORP, group_of(number))
        await seed_society(f"示例科技学会{number:04d}", people, clock.now(), chat=group)

    async def convene(number: int) -> None:
        async with gate:
            convene = f"召开会议 {meeting:%Y-%m-%d %H:%M} 会议室 议题：年度工作"
            await say(number, "张伟", convene, "会议通知")

    await asyncio.gather(*(convene(n) for n in range(societies)))
    clock.set(meeting - timedelta(minutes=10))

    async def open_vote(number: int) -> None:
        async with gate:
            for name in VOTERS:
                await say(number, name, "签到", "签到")
            await say(number, "张伟", "开会", "会议现在开始")
            await say(number, "张伟", "发起表决 1", "开始表决")

    await asyncio.gather(*(open_vote(n) for n in range(societies)))
    return [
        (group_of(n), staff_of(n, v), name, f"bench-{n}-{v}", "赞成")
        for n in range(societies)
        for v, name in enumerate(VOTERS)
    ]


@dataclass
class Served:
    """The real server on 127.0.0.1, its societies voting (`serving`)."""

    app: Any
    adapter: Any
    url: str
    offset: float  # the server's clock minus the wall clock, in seconds
    targets: list[Target]


@contextlib.asynccontextmanager
async def serving(
    backend: str, societies: int, fake_url: str, inbound: str, prefix: str
) -> AsyncIterator[Served | None]:
    """The real app (build_app + DingTalkAdapter in HTTP mode) on a new database (a temporary
    SQLite file, or a throw-away PostgreSQL database named after `prefix`) with `societies`
    voting; None when PostgreSQL is unreachable (said on a line)."""
    from benchmarks.kit import IdleScheduler, serve
    from bot.adapters.dingtalk.adapter import build_dingtalk_adapter
    from bot.adapters.dingtalk.config import dingtalk_from_settings
    from bot.app import build_app, start_storage, stop_storage
    from bot.clock import OffsetClock
    from bot.config import Settings
    from bot.storage_ports import StoredHeaderBindings, StoredWebhooks
    from storage import db

    with tempfile.TemporaryDirectory() as tmp:
        database = (
            kit.throwaway_postgres(PG_SERVER, prefix)
            if backend == "postgres"
            else contextlib.nullcontext(f"sqlite://{tmp}/bench.db")
        )
        async with database as url:
            if url is None:
                yield None
                return
            workers = int(os.environ.get(WORKERS_ENV, "0"))
            settings = Settings(database_url=url, inbound=inbound, inbound_workers=workers)
            await db.upgrade_apart(url)  # as `yishi serve` does: the migrations in a child
            await start_storage(settings)
            clock = OffsetClock()
            runner = None
            try:
                targets = await _prepare(societies, clock)
                table = {
                    "enabled": True,
                    "mode": "http",
                    "app_key": APP_KEY,
                    "corp_id": CORP,
                    "api_base": fake_url,
                    "oapi_base": fake_url,
                }
                cfg = dingtalk_from_settings(table, {"YISHI_DINGTALK_APP_SECRET": APP_SECRET})
                adapter = build_dingtalk_adapter(
                    cfg, clock, webhooks=StoredWebhooks(), bindings=StoredHeaderBindings()
                )
                app = build_app(
                    settings, clock=clock, adapters=[adapter], scheduler=IdleScheduler()
                )
                runner, server_url = await serve(app)
                offset = (clock.now() - datetime.now(UTC)).total_seconds()
                yield Served(app, adapter, server_url, offset, targets)
            finally:
                if runner is not None:
                    await runner.cleanup()
                await stop_storage()


def run_server(
    backend: str,
    societies: int,
    fake_url: str,
    inbound: str,
    commands: Any,
    answers: Any,
    top: int,
    ports: Any,
    stop: Any,
) -> None:
    """Serve until told "stop"; on "phase <name>" (after a load), wait until every ballot of that
    phase is applied and answer its figures (`phase_figures`). At the end, the `top` statements
    sent most often, per ballot."""

    async def main() -> None:
        from bot.app import RUNTIME
        from storage import models
        from storage.sql import statements

        async with serving(backend, societies, fake_url, inbound, "yishi_bench") as served:
            if served is None:
                ports.put(None)
                return
            app, adapter, targets = served.app, served.adapter, served.targets
            ports.put((served.url, served.offset, targets))
            inbox = app[RUNTIME].inbox
            # From here every statement and every CPU second of this process (all threads: the
            # SQLite driver's too) is the requests': their door, effect and replies.
            last = await models.OutboxMessage.all().order_by("-id").first()
            first_outbox = 0 if last is None else last.id
            cpu = time.process_time()
            profile = os.environ.get(PROFILE_ENV)
            profiler = cProfile.Profile() if profile else None
            if profiler is not None:
                profiler.enable()  # the event loop's thread only, not the SQLite driver's
            with statements() as seen, round_trips() as trips:
                while (command := await asyncio.to_thread(commands.get)) != "stop":
                    phase = command.removeprefix("phase ")
                    # With the inbound queue every request was answered once committed; the
                    # worker may still be applying the last ones.
                    started = time.perf_counter()
                    while inbox is not None and await inbox.depth():  # noqa: ASYNC110 (polls the database)
                        await asyncio.sleep(0.05)
                    backlog = time.perf_counter() - started
                    rows = await models.InboundMessage.filter(
                        key__contains=f":{phase}-"
                    ).values_list("received_at", "done_at")
                    figures = phase_figures(rows)
                    await replies_sent()  # quiet before the next load (the bare endpoint's)
                    answers.put({"backlog": backlog, **figures})
                await adapter.tasks.flush(30)
                await app[RUNTIME].delivery.sender.run_once()  # the replies still queued
            cpu = time.process_time() - cpu
            if profiler is not None and profile:
                profiler.disable()
                profiler.dump_stats(profile)
                print(
                    f"  ({backend}: cProfile of the server over the loads in {profile};"
                    " it inflates every figure of this run)"
                )
            exchanged = f", {trips[0] / len(targets):.1f} round trips" if trips[0] else ""
            print(
                f"  ({backend}: per ballot, door to reply sent: {1000 * cpu / len(targets):.2f} ms"
                f" of server CPU, {len(seen) / len(targets):.1f} statements{exchanged})",
                flush=True,
            )
            if inbox is not None:
                print(
                    f"  ({backend}: the worker applied {inbox.applied} messages in"
                    f" {inbox.passes} passes, {inbox.applied / max(1, inbox.passes):.1f} per pass;"
                    f" {inbox.rounds_together} shared transactions, {inbox.rounds_split} split)",
                    flush=True,
                )
            ballots = await models.Ballot.all().count()
            states = Counter(
                await models.OutboxMessage.filter(id__gt=first_outbox).values_list(
                    "state", flat=True
                )
            )
            print(
                f"  ({backend}: outbox messages per ballot: "
                + ", ".join(f"{n / len(targets):.2f} {s}" for s, n in sorted(states.items()))
                + ")",
                flush=True,
            )
            print(
                f"  ({backend}, inbound={inbound}: {ballots} ballots written for {len(targets)}"
                " requests)",
                flush=True,
            )
            for sql, n in Counter(" ".join(sent.sql.split())[:100] for sent in seen).most_common(
                top
            ):
                print(f"    {n / len(targets):5.2f} per ballot  {sql}", flush=True)

    serve_loop(main())


async def replies_sent(quiet_s: float = 0.3, longest_s: float = 10.0) -> None:
    """Until the sender has sent what it can: no reply sent for `quiet_s` (a reply held back
    by a group's rate window may wait a minute; not that long)."""
    from storage import models

    sent = -1
    ends = time.monotonic() + longest_s
    while time.monotonic() < ends:
        now = await models.OutboxMessage.filter(state="sent").count()
        if now == sent:
            return
        sent = now
        await asyncio.sleep(quiet_s)


@contextlib.contextmanager
def round_trips() -> Iterator[list[int]]:
    """[exchanges with PostgreSQL] meanwhile: every statement, BEGIN, COMMIT, SAVEPOINT and
    ROLLBACK is one call of these asyncpg methods, and one round trip (the statement counts of
    `storage.sql.statements` leave out the transaction control). Stays [0] on SQLite."""
    import asyncpg

    counted = [0]
    names = ("execute", "executemany", "fetch", "fetchrow", "fetchval")
    originals = {name: getattr(asyncpg.Connection, name) for name in names}

    def counting(method: Any) -> Any:
        async def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            counted[0] += 1
            return await method(self, *args, **kwargs)

        return call

    for name, method in originals.items():
        setattr(asyncpg.Connection, name, counting(method))
    try:
        yield counted
    finally:
        for name, method in originals.items():
            setattr(asyncpg.Connection, name, method)


def phase_figures(rows: Sequence[tuple[datetime, datetime | None]]) -> dict[str, Any]:
    """From the queue's own rows of one phase (committed at the door just before the callback was
    answered; marked done in the transaction of the effect): ballots applied per second from the
    first acknowledged to the last applied, and the acknowledgement-to-effect lag."""
    done = [(received, applied) for received, applied in rows if applied is not None]
    if not done:
        return {"queued": len(rows), "applied": 0}
    lags = sorted((applied - received).total_seconds() for received, applied in done)
    span = (max(a for _, a in done) - min(r for r, _ in done)).total_seconds()
    return {
        "queued": len(rows),
        "applied": len(done),
        "applied_rps": len(done) / span if span > 0 else float("nan"),
        "lag_p50": statistics.median(lags),
        "lag_p99": lags[min(len(lags) - 1, int(len(lags) * 0.99))],
        "lag_max": lags[-1],
    }


# --- the load generator ----------------------------------------------------------------------


def _body(
    group: str, staff: str, nick: str, msg_id: str, text: str, now_ms: int, webhook: str
) -> bytes:
    payload = {
        "conversationId": group,
        "atUsers": [{"dingtalkId": "$:LWCP_v1:$botBENCH"}],
        "chatbotCorpId": CORP,
        "chatbotUserId": "$:LWCP_v1:$botBENCH",
        "msgId": msg_id,
        "senderNick": nick,
        "isAdmin": False,
        "senderStaffId": staff,
        "sessionWebhookExpiredTime": now_ms + 5_400_000,
        "createAt": now_ms,
        "senderCorpId": CORP,
        "conversationType": "2",
        "senderId": f"$:LWCP_v1:$sender{staff}",
        "conversationTitle": "党建工作领导小组",
        "isInAtList": True,
        "sessionWebhook": f"{webhook}/robot/sendBySession?session={msg_id}",
        "text": {"content": f" {text}"},
        "robotCode": APP_KEY,
        "msgtype": "text",
    }
    return json.dumps(payload, ensure_ascii=False).encode()


def run_load(
    url: str,
    offset: float,
    targets: Sequence[Target],
    conns: int,
    fake_url: str,
    first_ms: int,
    rate: float,
    out: Any,
) -> None:
    """Send `targets` over `conns` connections: back to back, or (rate > 0) open loop, the i-th
    request at i / rate seconds whether or not the earlier ones were answered."""
    import base64

    import aiohttp

    async def main() -> dict[str, Any]:
        queue = list(reversed(targets))
        # Never below the previous run's last timestamp: a (timestamp, sign) pair is good for
        # one message only, also across the 16- and 64-connection runs on the same server.
        last_ms = first_ms - 1
        latencies: list[float] = []
        errors: dict[int, int] = {}

        def signed() -> dict[str, str]:
            nonlocal last_ms
            now_ms = int((time.time() + offset) * 1000)
            last_ms = max(now_ms, last_ms + 1)
            timestamp = str(last_ms)
            digest = hmac.new(
                APP_SECRET.encode(), f"{timestamp}\n{APP_SECRET}".encode(), hashlib.sha256
            ).digest()
            return {
                "Content-Type": "application/json; charset=utf-8",
                "timestamp": timestamp,
                "sign": base64.b64encode(digest).decode(),
            }

        sent = 0

        async def worker(session: aiohttp.ClientSession) -> None:
            nonlocal sent
            while queue:
                group, staff, nick, msg_id, text = queue.pop()
                if rate > 0:
                    sent += 1
                    await asyncio.sleep(max(0.0, first + (sent - 1) / rate - time.perf_counter()))
                headers = signed()
                body = _body(group, staff, nick, msg_id, text, int(headers["timestamp"]), fake_url)
                started = time.perf_counter()
                async with session.post(
                    f"{url}/dingtalk/callback", data=body, headers=headers
                ) as r:
                    await r.read()
                    status = r.status
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    errors[status] = errors.get(status, 0) + 1

        connector = aiohttp.TCPConnector(limit=conns)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            # Warm the pool (one request per connection is not measured for the bare endpoint
            # only; the server's ballots are all measured).
            started = first = time.perf_counter()
            await asyncio.gather(*(worker(session) for _ in range(conns)))
            wall = time.perf_counter() - started
        latencies.sort()
        return {
            "requests": len(latencies),
            "wall": wall,
            "rps": len(latencies) / wall,
            "p50": statistics.median(latencies) * 1000,
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
            "errors": errors,
            "last_ms": last_ms,
        }

    out.put(asyncio.run(main()))


# --- orchestration ---------------------------------------------------------------------------


def start(ctx: Any, target: Any, *args: Any) -> tuple[Any, Any, Any]:
    ports, stop = ctx.Queue(), ctx.Event()
    # Not daemonic: the server starts a child for the migrations, as `yishi serve` does.
    process = ctx.Process(target=target, args=(*args, ports, stop), daemon=False)
    process.start()
    return process, ports, stop


def finish(process: Any, stop: Any) -> None:
    stop.set()
    process.join(30)
    if process.is_alive():
        process.terminate()
        process.join(5)


def load(
    ctx: Any,
    url: str,
    offset: float,
    targets: Sequence[Target],
    conns: int,
    fake: str,
    rate: float = 0.0,
) -> dict[str, Any]:
    out = ctx.Queue()
    first_ms = _LAST_MS.get(url, 0) + 1
    process = ctx.Process(
        target=run_load, args=(url, offset, targets, conns, fake, first_ms, rate, out)
    )
    process.start()
    result: dict[str, Any] = out.get(timeout=600)
    process.join(30)
    _LAST_MS[url] = max(_LAST_MS.get(url, 0), int(result["last_ms"]))
    return result


# The last timestamp sent to each server. Per server: each has its own clock (the bare endpoint
# the wall clock, the bot the scenario's), and a timestamp carried from one to the other could
# lie outside the other's signature window.
_LAST_MS: dict[str, int] = {}


def renamed(targets: Sequence[Target], phase: str) -> list[Target]:
    """The targets with message ids naming the phase (the server finds a phase's rows by it)."""
    return [
        (g, staff, nick, f"{phase}-{i}", text)
        for i, (g, staff, nick, _, text) in enumerate(targets)
    ]


def applied_line(figures: dict[str, Any], bare_rps: float | None) -> str:
    if not figures.get("applied"):
        return f"  applied: none of {figures.get('queued', 0)} queued"
    ratio = f" = {figures['applied_rps'] / bare_rps * 100:.1f}% of bare" if bare_rps else ""
    return (
        f"  applied {figures['applied']:>5} of {figures['queued']}: {figures['applied_rps']:7.0f}"
        f" ballots/s (first acknowledged to last applied){ratio}; lag acknowledged -> applied"
        f" p50 {figures['lag_p50'] * 1000:.0f} ms, p99 {figures['lag_p99'] * 1000:.0f} ms,"
        f" max {figures['lag_max'] * 1000:.0f} ms; queue empty"
        f" {figures['backlog']:.1f} s after the load"
    )


def line(name: str, conns: int, r: dict[str, Any]) -> str:
    errors = f"  errors {r['errors']}" if r["errors"] else ""
    return (
        f"{name:<22} {conns:>3} conns  {r['requests']:>5} req  {r['rps']:>8.0f} req/s  "
        f"p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms{errors}"
    )


def median_line(name: str, conns: int, rounds: Sequence[tuple[dict[str, Any], ...]]) -> str:
    """The medians of alternating rounds at one concurrency: each round is (bare, door,
    applied figures) measured one right after the other."""
    bare = statistics.median(r[0]["rps"] for r in rounds)
    door = statistics.median(r[1]["rps"] for r in rounds)
    door_ratio = statistics.median(r[1]["rps"] / r[0]["rps"] * 100 for r in rounds)
    text = (
        f"{name:<22} {conns:>3} conns  median of {len(rounds)} alternating rounds: bare"
        f" {bare:.0f} req/s, door {door:.0f} req/s = {door_ratio:.1f}% of bare"
    )
    if all(r[2].get("applied") for r in rounds):
        applied = statistics.median(r[2]["applied_rps"] for r in rounds)
        ratio = statistics.median(r[2]["applied_rps"] / r[0]["rps"] * 100 for r in rounds)
        lag = statistics.median(r[2]["lag_p99"] for r in rounds)
        text += (
            f", applied {applied:.0f} ballots/s = {ratio:.1f}% of bare"
            f" (lag p99 {lag * 1000:.0f} ms)"
        )
    return text


def main() -> None:
    kit.ensure_server_key()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--societies",
        type=int,
        default=0,
        help="groups per engine (x7 ballots, in 2 x rounds + 1 phases; default 143 a phase)",
    )
    parser.add_argument("--quick", action="store_true", help="20 groups a phase: 140 ballots")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        metavar="N",
        help="alternate the bare endpoint and the server N times at each concurrency and print"
        " the medians (each round on its own societies)",
    )
    parser.add_argument(
        "--inbound",
        choices=("queue", "direct"),
        default="queue",
        help="answer after committing to the inbound queue (the default) or after applying",
    )
    parser.add_argument(
        "--inbound-workers",
        type=int,
        default=0,
        metavar="N",
        help="workers of the inbound queue ([http] inbound_workers; 0: the engine's default)",
    )
    parser.add_argument(
        "--statements",
        type=int,
        default=0,
        metavar="N",
        help="also print the N statements the server sent most often, per ballot",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        default="",
        help="cProfile the server over the loads into FILE (pstats; one engine: the last's)",
    )
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds takes 1 or more")
    phases = 2 * args.rounds + 1
    societies = args.societies or (20 if args.quick else PHASE_SOCIETIES) * phases
    os.environ[WORKERS_ENV] = str(args.inbound_workers)
    os.environ[PROFILE_ENV] = str(Path(args.profile).resolve()) if args.profile else ""
    ctx = mp.get_context("spawn")
    fake_process, fake_ports, fake_stop = start(ctx, run_sink)
    fake_url = fake_ports.get(timeout=60)
    bare, bare_ports, bare_stop = start(ctx, run_bare)
    try:
        backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
        bare_url, _, _ = bare_ports.get(timeout=60)
        size = societies * len(VOTERS) // phases
        dummy = [
            (group_of(n), staff_of(n, v), name, f"bare-{n}-{v}", "赞成")
            for n in range(societies)
            for v, name in enumerate(VOTERS)
        ][:size]
        for backend in backends:
            commands, answers = ctx.Queue(), ctx.Queue()
            server, ports, stop = start(
                ctx,
                run_server,
                backend,
                societies,
                fake_url,
                args.inbound,
                commands,
                answers,
                args.statements,
            )
            try:
                url, offset, targets = ports.get(timeout=1800)
            except Exception:
                print(f"{backend}: server did not start (PostgreSQL unreachable?)", flush=True)
                finish(server, stop)
                continue
            name = f"yishi {backend}"
            parts = [targets[k * size : (k + 1) * size] for k in range(phases)]
            rounds: dict[int, list[tuple[dict[str, Any], ...]]] = {c: [] for c in CONCURRENCY}
            for k in range(args.rounds):
                for c, conns in enumerate(CONCURRENCY):
                    # The bare endpoint, then the server right after, on as many requests.
                    bare_result = load(ctx, bare_url, 0.0, dummy, conns, fake_url)
                    print(line("bare (sign + JSON)", conns, bare_result), flush=True)
                    phase = f"c{conns}" if args.rounds == 1 else f"c{conns}r{k + 1}"
                    part = parts[2 * k + c]
                    result = load(ctx, url, offset, renamed(part, phase), conns, fake_url)
                    ratio = result["rps"] / bare_result["rps"] * 100
                    print(f"{line(name, conns, result)}  = {ratio:.1f}% of bare", flush=True)
                    commands.put(f"phase {phase}")
                    figures = answers.get(timeout=1800)
                    print(applied_line(figures, bare_result["rps"]), flush=True)
                    rounds[conns].append((bare_result, result, figures))
            if args.rounds > 1:
                for conns in CONCURRENCY:
                    print(median_line(name, conns, rounds[conns]), flush=True)
            applied = statistics.median(
                figures.get("applied_rps", 0.0) for _, _, figures in rounds[CONCURRENCY[-1]]
            )
            if args.inbound == "queue" and applied > 0:
                # Open loop at half the applied rate the 64-connection phases reached: how long
                # after its acknowledgement does a ballot take effect when the bot is not
                # saturated?
                rate = applied / 2
                result = load(ctx, url, offset, renamed(parts[-1], "paced"), 64, fake_url, rate)
                print(f"{line(name, 64, result)}  (open loop at {rate:.0f}/s)", flush=True)
                commands.put("phase paced")
                print(applied_line(answers.get(timeout=1800), None), flush=True)
            commands.put("stop")
            finish(server, stop)
    finally:
        finish(bare, bare_stop)
        finish(fake_process, fake_stop)


if __name__ == "__main__":
    main()
