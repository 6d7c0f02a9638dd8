"""Memory of a serving bot over 100,000 ballots taken through the inbound queue.

The real server (build_app + DingTalkAdapter in HTTP mode, `inbound = "queue"`, as in
benchmarks/dingtalk_callbacks.py) in its own process; S societies of 7 with an open named vote;
signed callbacks from a separate load process, 64 connections. Every request is a ballot that
changes something: in round r every member votes 「赞成」 (r even) or 「反对」 (r odd), a new
msgId each time, so each is applied (a change of the recorded choice), sealed, answered (a reply
through the outbox to the fake DingTalk) and kept.

The load goes in steps of `--step` ballots. After each step the server waits until the queue is
empty, the outbox has sent everything and the inline replies are done, then reports its
resident memory (VmRSS, without forcing a garbage collection), the ballots applied and the
requests refused. Printed: RSS idle after set-up, after each step, the growth from the first
step to the last and from idle; the applied rate of each step (its first request until the queue
was empty). On a PostgreSQL server with autovacuum off, the server runs VACUUM ANALYZE after each
sample (what autovacuum would have done meanwhile): without it the dead row versions of the
queue, the outbox and the chain heads slow every step down.

    .venv/bin/python benchmarks/queue_memory.py                       # 100,000 ballots, both engines
    .venv/bin/python benchmarks/queue_memory.py --ballots 20000 --backend sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import kit
from benchmarks.dingtalk_callbacks import Target, finish, load, run_sink, serving, start


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def run_server(backend: str, societies: int, fake_url: str, ports: Any, commands: Any) -> None:
    async def main() -> None:
        from bot.app import RUNTIME
        from storage import models
        from storage import outbox as outbox_store

        async with serving(backend, societies, fake_url, "queue", "yishi_memory") as served:
            if served is None:
                ports.put(None)
                return
            inbox = served.app[RUNTIME].inbox
            assert inbox is not None
            ports.put((served.url, served.offset, served.targets, rss_kib()))
            vacuum = backend == "postgres" and not await _autovacuum_on()
            while await asyncio.to_thread(commands.get) != "stop":
                while await inbox.depth():  # noqa: ASYNC110 (polls the database)
                    await asyncio.sleep(0.05)
                drained = time.time()
                while (await outbox_store.outbox_counts()).get("pending", 0):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
                await served.adapter.tasks.flush(30)
                ports.put(
                    {
                        "drained": drained,
                        "rss": rss_kib(),
                        "ballots": await models.Ballot.all().count(),
                        "applied": inbox.applied,
                        "vacuumed": vacuum,
                    }
                )
                if vacuum:  # what autovacuum would have done meanwhile (after the sample)
                    await _vacuum()

    asyncio.run(main())


async def _autovacuum_on() -> bool:
    from tortoise import connections

    _, rows = await connections.get("postgres").execute_query("SHOW autovacuum")
    return str(next(iter(rows[0].values()))) == "on"


async def _vacuum() -> None:
    """VACUUM ANALYZE the database (not inside a transaction): the queue, the outbox and the
    chain heads leave a dead row version per ballot."""
    from tortoise import connections

    await connections.get("postgres").execute_script("VACUUM ANALYZE")


def rounds(targets: list[Target], total: int) -> list[Target]:
    """`total` ballots: every member in turn, the choice flipping each round (each a change)."""
    out: list[Target] = []
    r = 0
    while len(out) < total:
        text = "赞成" if r % 2 == 0 else "反对"
        for group, staff, nick, msg_id, _ in targets:
            out.append((group, staff, nick, f"{msg_id}-r{r}", text))
        r += 1
    return out[:total]


def run(backend: str, societies: int, total: int, step: int, conns: int) -> None:
    ctx = mp.get_context("spawn")
    sink, sink_ports, sink_stop = start(ctx, run_sink)
    fake_url = sink_ports.get(timeout=60)
    ports, commands = ctx.Queue(), ctx.Queue()
    server = ctx.Process(
        target=run_server, args=(backend, societies, fake_url, ports, commands), daemon=True
    )
    server.start()
    try:
        started = ports.get(timeout=900)
        if started is None:
            print(f"{backend}: skipped (PostgreSQL unreachable)")
            return
        url, offset, targets, idle = started
        # Round 0 casts every member's first ballot, each later round changes it.
        ballots = rounds(targets, total)
        print(f"{backend}: {societies} societies x 7, {total} ballots in steps of {step}")
        print(f"  idle after set-up       RSS {idle / 1024:6.1f} MiB")
        first: int | None = None
        last = idle
        sent = 0
        for start_at in range(0, total, step):
            part = ballots[start_at : start_at + step]
            began = time.time()
            result = load(ctx, url, offset, part, conns, fake_url)
            commands.put("sample")
            sample = ports.get(timeout=3600)
            sent += len(part)
            applied_rate = len(part) / (sample["drained"] - began)
            errors = f"  errors {result['errors']}" if result["errors"] else ""
            print(
                f"  after {sent:>7} ballots   RSS {sample['rss'] / 1024:6.1f} MiB"
                f"   door {result['rps']:6.0f} req/s   applied {applied_rate:5.0f}/s"
                f"   applied in all {sample['applied']}{errors}",
                flush=True,
            )
            if sample["vacuumed"] and first is None:
                print(
                    "  (the server's autovacuum is off: VACUUM ANALYZE after each step, as it would)"
                )
            if first is None:
                first = sample["rss"]
            last = sample["rss"]
        assert first is not None
        print(
            f"  growth: {100 * (last - first) / first:+.1f} % from the first step to the last, "
            f"{100 * (last - idle) / idle:+.1f} % from idle"
        )
    finally:
        commands.put("stop")
        server.join(120)
        if server.is_alive():
            server.terminate()
        finish(sink, sink_stop)


def main() -> None:
    kit.ensure_server_key()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--societies", type=int, default=100)
    parser.add_argument("--ballots", type=int, default=100_000)
    parser.add_argument("--step", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    for backend in backends:
        run(backend, args.societies, args.ballots, args.step, args.connections)


if __name__ == "__main__":
    main()
