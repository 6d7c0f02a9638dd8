"""Start to healthy and idle memory of `yishi serve`: the process is started as an operator
would (config.toml, no platform), `/healthz` is polled every 20 ms until it answers 200, then
the process idles for `--idle` seconds and its resident memory (VmRSS) is read.

    .venv/bin/python benchmarks/startup.py                      # a new SQLite file
    .venv/bin/python benchmarks/scale.py --societies 15000 --keep /tmp/15k.db
    .venv/bin/python benchmarks/startup.py --db /tmp/15k.db     # a copy of it, 15,000 societies

Every run starts from a fresh copy of the database (a new file when none is given).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def one_run(db: Path | None, idle: float) -> tuple[float, float]:
    """(seconds from exec to a healthy /healthz, idle RSS in MiB)."""
    with tempfile.TemporaryDirectory(prefix="yishi-start-") as tmp:
        path = Path(tmp) / "yishi.db"
        if db is not None:
            shutil.copyfile(db, path)
        port = free_port()
        config = Path(tmp) / "config.toml"
        config.write_text(
            f'[database]\nurl = "sqlite://{path}"\n[http]\nhost = "127.0.0.1"\nport = {port}\n',
            encoding="utf-8",
        )
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "serve"],
            cwd=tmp,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while not healthy(f"http://127.0.0.1:{port}/healthz"):
                if proc.poll() is not None:
                    raise RuntimeError(f"yishi serve exited with {proc.returncode}")
                time.sleep(0.02)
            up = time.perf_counter() - started
            time.sleep(idle)
            return up, rss_mib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", type=Path, help="an SQLite database to start on (copied)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle before RSS (5)")
    args = parser.parse_args(argv)
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
