"""WeCom callbacks under load: encrypted vote callbacks against the real server, compared with a
bare aiohttp endpoint that only verifies and decrypts.

Servers (in this process, on 127.0.0.1, aiohttp's AppRunner, on the event loop `yishi serve` runs
on: uvloop where installed):

  real   build_app(...) with the WeComAdapter (webhook mode): body cap, signature, freshness,
         decryption, then per `[http] inbound`: "direct" runs the router (msgid
         de-duplication, permissions, the ballot, the event log) before the encrypted passive
         reply; "queue" answers once the message is committed to the inbound queue and the
         worker applies it right after (replies go to a local response_url sink). SQLite (temporary file, the app's WAL settings) and
         PostgreSQL (a throw-away database on YISHI_TEST_PG, default
         postgres://postgres@127.0.0.1:5432/test; skipped with a message when unreachable).
  bare   one aiohttp route that runs decode_callback and answers 200 with an empty body.
  shell  the WeComAdapter's own routes with a feed that answers at once (no storage): the
         adapter's overhead over `bare` (task, reply budget, encrypted passive reply).

Load: many societies (7 members each, one open named vote per society, bound to its own WeCom
group) so votes do not queue behind one society's lock; every request is a distinct msgid, a
member voting 赞成 / 反对 alternately (a change of vote is a write too). The callbacks are
encrypted and signed up front; the load generator runs in a separate process (multiprocessing,
spawn) with one aiohttp session per run and a TCPConnector limited to C connections, C workers
each sending its next request as soon as the previous answer arrived (closed loop). Latency is
per request (perf_counter around the POST, read included); requests/s = requests / wall time.

    .venv/bin/python benchmarks/wecom_callbacks.py            # both engines, 16 and 64 conns
    .venv/bin/python benchmarks/wecom_callbacks.py --quick    # a smoke run (seconds)
    .venv/bin/python benchmarks/wecom_callbacks.py --backend sqlite --requests 3000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import secrets
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web

from benchmarks import kit
from bot import runner
from bot.adapters.base import Rejected
from bot.adapters.wecom import codec
from bot.adapters.wecom.adapter import build_wecom_adapter
from bot.adapters.wecom.config import WeComConfig
from bot.app import FEED, build_app
from bot.clock import OffsetClock
from bot.config import Settings
from bot.events import ChatKind, ChatRef, IncomingMessage, OutgoingMessage, Platform, UserRef
from bot.storage_ports import StoredLease, StoredWebhooks
from storage import db, repo

TZ = ZoneInfo("Asia/Shanghai")
CORP = "wwBENCHcorp"
BOT_ID = "aibBENCH"
BOT_NAME = "议事助手"
TOKEN = "benchToken"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
MEMBERS = 7
PG_SERVER = os.environ.get("YISHI_TEST_PG", "postgres://postgres@127.0.0.1:5432/test")

Request = tuple[dict[str, str], bytes]


@dataclass
class Result:
    name: str
    conns: int
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


# --- the load generator (child process) -----------------------------------------------------


def _load_child(url: str, conns: int, requests: list[Request], out: Any) -> None:
    out.send(asyncio.run(_load(url, conns, requests)))


async def _load(
    url: str, conns: int, requests: list[Request]
) -> tuple[float, list[float], dict[int, int]]:
    queue: asyncio.Queue[Request] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=conns, force_close=False)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def worker() -> None:
            while True:
                try:
                    params, body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                async with session.post(url, params=params, data=body) as resp:
                    await resp.read()
                    statuses[resp.status] += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conns)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, dict(statuses)


def run_load(name: str, url: str, conns: int, requests: list[Request]) -> Result:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_load_child, args=(url, conns, requests, child))
    proc.start()
    child.close()
    elapsed, latencies, statuses = parent.recv()
    proc.join(timeout=30)
    return Result(name, conns, len(requests), elapsed, latencies, statuses)


async def run_load_async(name: str, url: str, conns: int, requests: list[Request]) -> Result:
    """The child process runs while this loop keeps serving."""
    return await asyncio.to_thread(run_load, name, url, conns, requests)


# --- callbacks ------------------------------------------------------------------------------


def settings() -> codec.WeComSettings:
    return codec.WeComSettings(
        token=TOKEN,
        encoding_aes_key=AES_KEY,
        corp_id=CORP,
        bot_id=BOT_ID,
        bot_name=BOT_NAME,
        api_base=SINK_BASE[0] if SINK_BASE else codec.DEFAULT_API_BASE,
    )


SINK_BASE: list[str] = []  # where response_urls point (set before any callback is built)


async def sink() -> tuple[web.AppRunner, str]:
    """Stands in for WeCom's response_url (queued inbound answers through it) and for the
    groups' 消息推送 webhook (notices of the seeding phase)."""
    return await kit.serve(kit.sink_app(kit.WECOM_ANSWERS))


def callback(s: codec.WeComSettings, payload: dict[str, Any], now: datetime) -> Request:
    ts, nonce = str(int(now.timestamp())), secrets.token_hex(5)
    # A callback is sealed like a passive reply: the same encryption and signature.
    sealed = codec.encode_reply(payload, settings=s, nonce=nonce, timestamp=ts)
    params = {"msg_signature": sealed["msgsignature"], "timestamp": ts, "nonce": nonce}
    return params, json.dumps({"encrypt": sealed["encrypt"]}).encode()


def vote_requests(
    chats: list[tuple[str, list[str]]], count: int, now: datetime, sink: str = ""
) -> list[Request]:
    s = settings()
    out = []
    pairs = [(chat, user) for chat, users in chats for user in users]
    for n in range(count):
        chat, user = pairs[n % len(pairs)]
        word = "赞成" if (n // len(pairs)) % 2 == 0 else "反对"
        payload = {
            "msgid": f"bench-{uuid.uuid4().hex}",
            "aibotid": BOT_ID,
            "chatid": chat,
            "chattype": "group",
            "from": {"userid": user},
            "msgtype": "text",
            "text": {"content": f"@{BOT_NAME} {word}"},
        }
        if sink:
            payload["response_url"] = f"{sink}/cgi-bin/aibot/response?response_code={n}"
        out.append(callback(s, payload, now))
    return out


# --- servers --------------------------------------------------------------------------------


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner, base = await kit.serve(app)
    return runner, f"{base}/wecom/callback"


def bare_app(clock: OffsetClock) -> web.Application:
    s = settings()

    async def handler(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            codec.decode_callback(request.query, body, settings=s, now=clock.now())
        except Rejected as rej:
            return web.Response(status=rej.status)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/wecom/callback", handler)
    return app


async def seed(societies: int, clock: OffsetClock, feed: Any) -> list[tuple[str, list[str]]]:
    """Societies with 7 members each, a meeting open and a named vote open in each."""
    now = clock.now()
    chats = []
    async with repo.atomic():
        for s in range(societies):
            society = await repo.create_society(f"基准学会{s:04d}", now)
            users = [f"b{s:04d}u{i}" for i in range(MEMBERS)]
            for i, user in enumerate(users):
                person = await repo.ensure_person(
                    UserRef(Platform.WECOM, CORP, user), name=f"成员{s:04d}{i}"
                )
                role = "leader" if i == 0 else "member"
                await repo.put_member(society.id, person.id, roster_role=role)
            chat = f"wrkbench{s:04d}"
            await repo.bind_chat(Platform.WECOM, CORP, chat, society.id)
            await repo.set_chat_webhook(Platform.WECOM, CORP, chat, "benchkey")
            chats.append((chat, users))
    start = (now + timedelta(days=1)).astimezone(TZ).replace(hour=15, minute=0, second=0)
    n = 0

    async def say(chat: str, user: str, text: str) -> None:
        nonlocal n
        n += 1
        ref = ChatRef(Platform.WECOM, CORP, chat, ChatKind.GROUP)
        message = IncomingMessage(
            Platform.WECOM, ref, UserRef(Platform.WECOM, CORP, user), text, f"seed-{n}", now
        )
        await feed(message)

    when = start.strftime("%Y-%m-%d %H:%M")
    for chat, users in chats:
        await say(chat, users[0], f"召开会议 {when} 会议室 议题：基准事项")
    clock.set(start - timedelta(minutes=10))
    for chat, users in chats:
        for user in users:
            await say(chat, user, "签到")
    clock.set(start + timedelta(minutes=1))
    for chat, users in chats:
        await say(chat, users[0], "开会")
        await say(chat, users[0], "发起表决 1")
    return chats


async def bench_backend(
    backend: str, inbound: str, societies: int, requests: int, conns: tuple[int, ...]
) -> list[Result]:
    tmp = tempfile.TemporaryDirectory()
    database = (
        kit.throwaway_postgres(PG_SERVER, "yishi_bench")
        if backend == "postgres"
        else contextlib.nullcontext(f"sqlite://{Path(tmp.name) / 'bench.db'}")
    )
    try:
        async with database as url:
            return (
                []
                if url is None
                else await bench_on(url, backend, inbound, societies, requests, conns)
            )
    finally:
        tmp.cleanup()


async def bench_on(
    url: str, backend: str, inbound: str, societies: int, requests: int, conns: tuple[int, ...]
) -> list[Result]:
    clock = OffsetClock()
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    results = []
    await db.open_db(url)
    try:
        cfg = WeComConfig(
            enabled=True,
            corp_id=CORP,
            bot_id=BOT_ID,
            bot_name=BOT_NAME,
            token=TOKEN,
            encoding_aes_key=AES_KEY,
            api_base=SINK_BASE[0],  # replies of queued messages go to the response_url sink
        )
        adapter = build_wecom_adapter(cfg, clock, webhooks=StoredWebhooks(), lease=StoredLease())
        base_settings = replace(Settings(), database_url=url, inbound=inbound)
        app = build_app(base_settings, clock=clock, adapters=[adapter])
        runner, target = await serve(app)
        try:
            started = time.perf_counter()
            chats = await seed(societies, clock, app[FEED])
            print(
                f"  [{backend}] seeded {societies} societies in {time.perf_counter() - started:.1f} s"
            )
            for c in conns:
                load = vote_requests(chats, requests, clock.now(), SINK_BASE[0])
                name = f"{inbound}/{backend}"
                results.append(await run_load_async(name, target, c, load))
        finally:
            await runner.cleanup()
    finally:
        await db.close_db()
    return results


async def bench_bare(requests: int, conns: tuple[int, ...]) -> list[Result]:
    clock = OffsetClock()
    runner, target = await serve(bare_app(clock))
    chats = [(f"wrkbare{s}", [f"u{s}_{i}" for i in range(MEMBERS)]) for s in range(50)]
    try:
        return [
            await run_load_async("bare", target, c, vote_requests(chats, requests, clock.now()))
            for c in conns
        ]
    finally:
        await runner.cleanup()


async def bench_shell(requests: int, conns: tuple[int, ...]) -> list[Result]:
    clock = OffsetClock()
    cfg = WeComConfig(
        enabled=True,
        corp_id=CORP,
        bot_id=BOT_ID,
        bot_name=BOT_NAME,
        token=TOKEN,
        encoding_aes_key=AES_KEY,
        api_base="http://127.0.0.1:9",
    )
    adapter = build_wecom_adapter(cfg, clock, webhooks=StoredWebhooks(), lease=StoredLease())

    async def feed(message: IncomingMessage) -> list[OutgoingMessage]:
        return [OutgoingMessage(chat=message.chat, text="张三：赞成，已记录。已投3/7。")]

    await adapter.start(feed)
    app = web.Application()
    app.add_routes(adapter.routes())
    runner, target = await serve(app)
    chats = [(f"wrkshell{s}", [f"u{s}_{i}" for i in range(MEMBERS)]) for s in range(50)]
    try:
        return [
            await run_load_async("shell", target, c, vote_requests(chats, requests, clock.now()))
            for c in conns
        ]
    finally:
        await runner.cleanup()
        await adapter.close()


def report(results: list[Result]) -> None:
    bare = {r.conns: r for r in results if r.name == "bare"}
    print(
        f"\n{'server':<16}{'conns':>6}{'requests':>10}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'vs bare':>9}  statuses"
    )
    for r in results:
        base = bare.get(r.conns)
        ratio = f"{r.rps / base.rps:.0%}" if base and base.rps else "-"
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(r.statuses.items()))
        print(
            f"{r.name:<16}{r.conns:>6}{r.requests:>10}{r.rps:>10.0f}{r.pct(50):>9.1f}"
            f"{r.pct(99):>9.1f}{ratio:>9}  {statuses}"
        )


async def main(args: argparse.Namespace) -> None:
    conns = tuple(args.conns)
    sink_runner, sink_base = await sink()
    SINK_BASE.append(sink_base)
    results: list[Result] = []
    try:
        results += await bench_bare(args.requests, conns)
        results += await bench_shell(args.requests, conns)
        backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
        modes = ("direct", "queue") if args.inbound == "both" else (args.inbound,)
        for backend in backends:
            for inbound in modes:
                results += await bench_backend(
                    backend, inbound, args.societies, args.requests, conns
                )
    finally:
        await sink_runner.cleanup()
    report(results)


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--societies", type=int, default=60)
    p.add_argument("--requests", type=int, default=1000, help="requests per run")
    p.add_argument("--conns", type=int, nargs="+", default=[16, 64])
    p.add_argument(
        "--inbound",
        choices=("direct", "queue", "both"),
        default="both",
        help="[http] inbound: apply before answering (direct) or after (queue)",
    )
    p.add_argument("--quick", action="store_true", help="a smoke run: 20 societies, 300 requests")
    args = p.parse_args()
    if args.quick:
        args.societies, args.requests = 20, 300
    return args


if __name__ == "__main__":
    kit.ensure_server_key()
    # The servers run on the event loop `yishi serve` runs on (bot/runner.py: uvloop where
    # installed).
    runner.run(main(parse()))
