"""Start to healthy and idle memory of `yishi serve`: the process is started as an operator
would (config.toml, no platform), `/healthz` is polled every 20 ms until it answers 200, then
the process idles for `--idle` seconds and its resident memory (VmRSS) is read.

    .venv/bin/python benchmarks/startup.py                      # a new SQLite file
    .venv/bin/python benchmarks/scale.py --societies 15000 --keep /tmp/15k.db
    .venv/bin/python benchmarks/startup.py --db /tmp/15k.db     # a copy of it, 15,000 societies
    .venv/bin/python benchmarks/startup.py --kill9 20           # crash and restart, 20 times

With `--kill9 N` one database is served by a process that is killed with SIGKILL while it
serves, then started again at once, N times in a row: each figure is from the kill to the new
process's healthy `/healthz` (the single-instance lock is the kernel's, so nothing waits for a
stale heartbeat).

Every run starts from a fresh copy of the database (a new file when none is given).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.kit import KEPT_KEY_SUFFIX  # noqa: E402
from bot.keys import KEY_FILE_NAME  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def health(url: str) -> dict[str, Any] | None:
    """What a healthy /healthz says; None while it does not answer 200."""
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return dict(json.loads(resp.read())) if resp.status == 200 else None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def prepare(tmp: str, db: Path | None) -> tuple[Path, int]:
    """A config.toml in `tmp` serving a copy of `db` (or a new file) on a free port."""
    path = Path(tmp) / "yishi.db"
    if db is not None:
        shutil.copyfile(db, path)
        # The server key that seals its records: kept by benchmarks/scale.py as <db>.key, or
        # the key file beside it as `yishi serve` keeps one.
        for key in (db.with_name(db.name + KEPT_KEY_SUFFIX), db.parent / KEY_FILE_NAME):
            if key.exists():
                shutil.copyfile(key, path.parent / KEY_FILE_NAME)
                break
    port = free_port()
    config = Path(tmp) / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite://{path}"\n[http]\nhost = "127.0.0.1"\nport = {port}\n',
        encoding="utf-8",
    )
    return config, port


def serve(
    tmp: str, config: Path, *, env: Mapping[str, str] | None = None, out: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """`yishi serve` as an operator starts it, in `tmp`, with nothing else in its environment
    but `env` (secrets); its output to `out` (by default nowhere)."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "serve"],
        cwd=tmp,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", **(env or {})},
        stdout=out or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if out else subprocess.DEVNULL,
    )


def until_healthy(proc: subprocess.Popen[bytes], port: int, *, settled: bool = False) -> None:
    """Until /healthz answers 200; with `settled`, also until its start-up sweep is done."""
    while (status := health(f"http://127.0.0.1:{port}/healthz")) is None or (
        settled and status.get("startup") != "done"
    ):
        if proc.poll() is not None:
            raise RuntimeError(f"yishi serve exited with {proc.returncode}")
        time.sleep(0.02)


def one_run(db: Path | None, idle: float) -> tuple[float, float]:
    """(seconds from exec to a healthy /healthz, idle RSS in MiB)."""
    with tempfile.TemporaryDirectory(prefix="yishi-start-") as tmp:
        config, port = prepare(tmp, db)
        started = time.perf_counter()
        proc = serve(tmp, config)
        try:
            until_healthy(proc, port)
            up = time.perf_counter() - started
            time.sleep(idle)
            return up, rss_mib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=60)


def kill9_cycles(db: Path | None, cycles: int) -> list[float]:
    """Seconds from each SIGKILL of a serving process to its successor's healthy /healthz."""
    backs: list[float] = []
    with tempfile.TemporaryDirectory(prefix="yishi-kill9-") as tmp:
        config, port = prepare(tmp, db)
        proc = serve(tmp, config)
        try:
            until_healthy(proc, port)
            for _ in range(cycles):
                time.sleep(0.2)
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=60)
                killed = time.perf_counter()
                proc = serve(tmp, config)
                until_healthy(proc, port)
                backs.append(time.perf_counter() - killed)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    return backs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", type=Path, help="an SQLite database to start on (copied)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle before RSS (5)")
    parser.add_argument("--kill9", type=int, default=0, help="crash/restart cycles instead")
    args = parser.parse_args(argv)
    if args.kill9:
        backs = kill9_cycles(args.db, args.kill9)
        print("  back after kill -9: " + " ".join(f"{b:.2f}" for b in backs) + " s")
        print(
            f"{args.db or 'new file'}: {len(backs)} kill -9 cycles, back to healthy median "
            f"{statistics.median(backs):.2f} s, max {max(backs):.2f} s, "
            f"{sum(b <= 2.0 for b in backs)}/{len(backs)} within 2 s"
        )
        return 0
    results = [one_run(args.db, args.idle) for _ in range(args.runs)]
    for up, rss in results:
        print(f"  healthy after {up:.2f} s, idle RSS {rss:.0f} MiB")
    ups = [u for u, _ in results]
    rsss = [r for _, r in results]
    print(
        f"{args.db or 'new file'}: start to healthy median {statistics.median(ups):.2f} s"
        f" ({min(ups):.2f}-{max(ups):.2f}), idle RSS median {statistics.median(rsss):.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
