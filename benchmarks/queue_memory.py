"""Memory of `yishi serve` over 100,000 ballots taken through the inbound queue.

The server is `yishi serve` itself, started as an operator starts it (a config.toml: DingTalk in
HTTP mode, `inbound = "queue"`, the DingTalk endpoints pointed at a fake in its own process), on a
database another process seeded beforehand: S societies of 7, each bound to its group, with a
meeting in session and an open named vote (benchmarks/dingtalk_callbacks.py's scenario, timed
from now, as the server's clock is the real one). So the idle figure is what an operator sees,
not that of a process that also seeded the data. Signed callbacks come from a separate load
process, 64 connections. Every request is a ballot that changes something: in round r every
member votes 「赞成」 (r even) or 「反对」 (r odd), a new msgId each time, so each is applied (a
change of the recorded choice), sealed, answered (a reply through the outbox to the fake
DingTalk) and kept.

The load goes in steps of `--step` ballots. After each step this process waits (reading the
database) until the inbound queue has nothing pending and the outbox nothing pending or being
sent, then `SETTLE_S` seconds more (the last sends' records; the server gives its free C heap
back once a second has passed without work, bot/heap.py), then reads the server's resident
memory (VmRSS from /proc, without forcing a garbage collection) and how many messages it
applied. Printed: RSS idle (healthy, the start-up sweep done, then 5 s), after each step, the
growth from the first step to the last and from idle; the applied rate of each step (its first
request until the queue was empty). On a PostgreSQL server with autovacuum off, VACUUM ANALYZE
runs after each sample (what autovacuum would have done meanwhile): without it the dead row
versions of the queue, the outbox and the chain heads slow every step down.

    .venv/bin/python benchmarks/queue_memory.py                       # 100,000 ballots, both engines
    .venv/bin/python benchmarks/queue_memory.py --ballots 20000 --backend sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import kit  # noqa: E402
from benchmarks.dingtalk_callbacks import (  # noqa: E402
    APP_KEY,
    APP_SECRET,
    CORP,
    PG_SERVER,
    TZ,
    Target,
    _prepare,
    finish,
    load,
    run_sink,
    start,
)
from benchmarks.startup import free_port, rss_mib, serve, until_healthy  # noqa: E402
from bot.keys import ENV_VAR  # noqa: E402

PENDING_INBOUND = "SELECT count(*) FROM inbound_message WHERE state = 'pending'"
DONE_INBOUND = "SELECT count(*) FROM inbound_message WHERE state = 'done'"
UNSENT = "SELECT count(*) FROM outbox_message WHERE state IN ('pending', 'sending')"
SETTLE_S = 3.0


def seed(url: str, societies: int, meeting: datetime, out: Any) -> None:
    """In its own process: migrate the database as `yishi serve` would, seed the scenario."""

    async def main() -> list[Target]:
        from bot.app import start_storage, stop_storage
        from bot.clock import OffsetClock
        from bot.config import Settings
        from storage import db

        await db.upgrade_apart(url)
        await start_storage(Settings(database_url=url))
        try:
            return await _prepare(societies, OffsetClock(), meeting)
        finally:
            await stop_storage()

    out.put(asyncio.run(main()))


class Probe:
    """Reads the server's database from this process: plain counts, and VACUUM ANALYZE."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.pg: Any = None
        if url.startswith("postgres"):
            import asyncpg

            libpq = url.replace("postgres://", "postgresql://", 1)
            self.pg = self.loop.run_until_complete(asyncpg.connect(libpq))

    def count(self, sql: str) -> int:
        if self.pg is not None:
            return int(self.loop.run_until_complete(self.pg.fetchval(sql)))
        path = self.url.removeprefix("sqlite://")
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as conn:
            return int(conn.execute(sql).fetchone()[0])

    def autovacuum_off(self) -> bool:
        if self.pg is None:
            return False
        return str(self.loop.run_until_complete(self.pg.fetchval("SHOW autovacuum"))) != "on"

    def vacuum(self) -> None:
        self.loop.run_until_complete(self.pg.execute("VACUUM ANALYZE"))

    def close(self) -> None:
        if self.pg is not None:
            self.loop.run_until_complete(self.pg.close())
        self.loop.close()


@contextmanager
def database(backend: str, tmp: str) -> Iterator[str | None]:
    """A new SQLite file in `tmp`, or a throw-away PostgreSQL database (None: unreachable)."""
    if backend == "sqlite":
        yield f"sqlite://{tmp}/yishi.db"
        return
    loop = asyncio.new_event_loop()
    made = kit.throwaway_postgres(PG_SERVER, "yishi_memory")
    try:
        yield loop.run_until_complete(made.__aenter__())
    finally:
        loop.run_until_complete(made.__aexit__(None, None, None))
        loop.close()


@contextmanager
def serving(tmp: str, url: str, fake_url: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`yishi serve` on `url`, healthy and done with its start-up sweep: (process, port)."""
    port = free_port()
    config = Path(tmp) / "config.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n'
        f'[http]\nhost = "127.0.0.1"\nport = {port}\ninbound = "queue"\n'
        f'[dingtalk]\nenabled = true\nmode = "http"\napp_key = "{APP_KEY}"\n'
        f'corp_id = "{CORP}"\napi_base = "{fake_url}"\noapi_base = "{fake_url}"\n',
        encoding="utf-8",
    )
    secrets = {ENV_VAR: os.environ[ENV_VAR], "YISHI_DINGTALK_APP_SECRET": APP_SECRET}
    log = Path(tmp) / "serve.log"
    with log.open("wb") as out:
        proc = serve(tmp, config, env=secrets, out=out)
    try:
        try:
            until_healthy(proc, port, settled=True)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}: {log.read_text()[-2000:]}") from None
        yield proc, port
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


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
    try:
        with (
            tempfile.TemporaryDirectory(prefix="yishi-memory-") as tmp,
            database(backend, tmp) as url,
        ):
            if url is None:
                print(f"{backend}: skipped (PostgreSQL unreachable)")
                return
            # The meeting starts in ten minutes: the seeding leaves it open, with its vote, now.
            now = datetime.now(TZ).replace(second=0, microsecond=0)
            out = ctx.Queue()
            seeder = ctx.Process(
                target=seed, args=(url, societies, now + timedelta(minutes=10), out)
            )
            seeder.start()
            targets = out.get(timeout=1800)
            seeder.join(60)
            with serving(tmp, url, fake_url) as (proc, port):
                probe = Probe(url)
                try:
                    measure(
                        ctx,
                        backend,
                        societies,
                        total,
                        step,
                        conns,
                        targets,
                        proc,
                        port,
                        probe,
                        fake_url,
                    )
                finally:
                    probe.close()
    finally:
        finish(sink, sink_stop)


def measure(
    ctx: Any,
    backend: str,
    societies: int,
    total: int,
    step: int,
    conns: int,
    targets: list[Target],
    proc: subprocess.Popen[bytes],
    port: int,
    probe: Probe,
    fake_url: str,
) -> None:
    time.sleep(5)
    idle = rss_mib(proc.pid)
    url = f"http://127.0.0.1:{port}"
    # Round 0 casts every member's first ballot, each later round changes it.
    ballots = rounds(targets, total)
    print(f"{backend}: yishi serve, {societies} societies x 7, {total} ballots in steps of {step}")
    print(f"  idle (healthy, start-up sweep done, +5 s)   RSS {idle:6.1f} MiB")
    vacuum = probe.autovacuum_off()
    first: float | None = None
    last = idle
    sent = 0
    for start_at in range(0, total, step):
        part = ballots[start_at : start_at + step]
        began = time.time()
        result = load(ctx, url, 0.0, part, conns, fake_url)
        while probe.count(PENDING_INBOUND):
            time.sleep(0.05)
        drained = time.time()
        while probe.count(UNSENT):
            time.sleep(0.05)
        # The last sends' records; and a quiet second or two, after which the server gives its
        # free C heap back (bot/heap.py), as it does after every burst.
        time.sleep(SETTLE_S)
        rss = rss_mib(proc.pid)
        sent += len(part)
        errors = f"  errors {result['errors']}" if result["errors"] else ""
        print(
            f"  after {sent:>7} ballots   RSS {rss:6.1f} MiB"
            f"   door {result['rps']:6.0f} req/s   applied {len(part) / (drained - began):5.0f}/s"
            f"   applied in all {probe.count(DONE_INBOUND)}{errors}",
            flush=True,
        )
        if vacuum:  # what autovacuum would have done meanwhile (after the sample)
            if first is None:
                print(
                    "  (the server's autovacuum is off: VACUUM ANALYZE after each step, as it would)"
                )
            probe.vacuum()
        if first is None:
            first = rss
        last = rss
    assert first is not None
    print(
        f"  growth: {100 * (last - first) / first:+.1f} % from the first step to the last, "
        f"{100 * (last - idle) / idle:+.1f} % from idle"
    )


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
