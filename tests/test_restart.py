"""A crashed bot comes straight back; a real second instance is refused (SQLite).

The single-instance rule is an OS lock (flock) on `<db>.lock`, which the kernel drops when the
process dies: after `kill -9` a restarted bot serves at once instead of waiting for a stale
heartbeat. One test runs `yishi serve` for real (kill -9, restart, a second instance refused);
another runs 20 kill -9 / restart cycles of a small process that holds the same lock the way
`serve` does, each measured from the kill to the new process answering.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp

from storage import db
from storage.instance_lock import InstanceLock

ROOT = Path(__file__).resolve().parent.parent
BACK_WITHIN_S = 2.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YISHI_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _config(path: Path, database: Path, port: int) -> Path:
    """A configuration at `path` serving the SQLite file `database` on 127.0.0.1:`port`."""
    path.write_text(
        f'[database]\nurl = "sqlite://{database}"\n[http]\nhost = "127.0.0.1"\nport = {port}\n',
        encoding="utf-8",
    )
    return path


async def _serve(tmp_path: Path, config: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(config),
        "serve",
        cwd=tmp_path,
        env=_env(),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def _until_healthy(url: str, proc: asyncio.subprocess.Process, within: float) -> float:
    """Seconds until `url` answers 200 (the process must stay up meanwhile)."""
    started = time.monotonic()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        async with asyncio.timeout(within):
            while True:
                try:
                    async with http.get(url) as resp:
                        if resp.status == 200:
                            return time.monotonic() - started
                except aiohttp.ClientError:
                    pass
                assert proc.returncode is None, await proc.stderr.read()  # type: ignore[union-attr]
                await asyncio.sleep(0.02)


async def test_serve_restarts_at_once_after_kill_9_and_refuses_a_second_instance(
    tmp_path: Path,
) -> None:
    port = _free_port()
    config = _config(tmp_path / "config.toml", tmp_path / "yishi.db", port)
    health = f"http://127.0.0.1:{port}/healthz"
    proc = await _serve(tmp_path, config)
    try:
        await _until_healthy(health, proc, 120)
        # A real second instance next to the running one: refused, clearly, exit code 2.
        second = await _serve(tmp_path, config)
        _, err = await asyncio.wait_for(second.communicate(), 120)
        assert second.returncode == 2
        text = err.decode()
        assert "SQLite 只支持运行一个机器人实例" in text
        assert "Traceback" not in text
        for _ in range(2):
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            killed = time.monotonic()
            proc = await _serve(tmp_path, config)
            await _until_healthy(health, proc, 120)
            # Back without waiting for a stale heartbeat (that took 3 minutes): the restart
            # costs what a first start costs (the 2 s bound is measured below, without the
            # interpreter's and the imports' start-up, which depend on the machine).
            assert time.monotonic() - killed < 120
    finally:
        if proc.returncode is None:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 60)
    assert proc.returncode == 0


async def _yishi(*args: str, cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, (out + err).decode()


async def test_another_name_for_the_served_file_and_an_upgrade_beside_it_are_refused(
    tmp_path: Path,
) -> None:
    """A hard link gives the served file another name (and so another lock file): a second
    instance through it had run beside the first. `yishi db upgrade` next to a running instance
    had migrated under it. Both are refused now, with the reason, and change nothing."""
    port = _free_port()
    served = tmp_path / "yishi.db"
    config = _config(tmp_path / "config.toml", served, port)
    proc = await _serve(tmp_path, config)
    try:
        await _until_healthy(f"http://127.0.0.1:{port}/healthz", proc, 120)
        linked = tmp_path / "elsewhere" / "same.db"
        linked.parent.mkdir()
        os.link(served, linked)
        other = _config(tmp_path / "other.toml", linked, _free_port())
        code, said = await _yishi("--config", str(other), "serve", cwd=tmp_path)
        assert code == 2, said[-2000:]
        assert "SQLite 只支持运行一个机器人实例" in said
        assert "硬链接" in said
        assert "Traceback" not in said
        for name in (served, linked):
            code, said = await _yishi("db", "upgrade", "--db", f"sqlite://{name}", cwd=tmp_path)
            assert code == 2, said[-2000:]
            assert "请先停止正在运行的实例再升级" in said
        assert proc.returncode is None  # the first one serves on
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 60)
    assert proc.returncode == 0
    # Once it has stopped, the other name serves the same records (an upgrade runs too).
    code, said = await _yishi("db", "upgrade", "--db", f"sqlite://{linked}", cwd=tmp_path)
    assert code == 0, said[-2000:]


async def test_a_second_instance_is_refused_before_it_migrates(tmp_path: Path) -> None:
    """The lock is taken before the migrations: a second `serve` of a database whose first
    instance holds the lock had built the schema first (on an existing database: run the next
    version's migrations under the running instance) and only then been refused."""
    fresh = tmp_path / "fresh.db"
    lock = db.lock_path(f"sqlite://{fresh}")
    assert lock is not None
    held = InstanceLock(lock)  # as a running instance holds it
    assert held.acquire()
    try:
        config = _config(tmp_path / "config.toml", fresh, _free_port())
        code, said = await _yishi("--config", str(config), "serve", cwd=tmp_path)
    finally:
        held.release()
    assert code == 2, said[-2000:]
    assert "SQLite 只支持运行一个机器人实例" in said
    assert not fresh.exists()
    assert not (tmp_path / "fresh.db.new").exists()


# The lock as `serve` takes it, then a tiny HTTP answer standing for "serving".
HOLDER = """
import asyncio, sys
from pathlib import Path
from storage import db
from storage.instance_lock import InstanceLock

async def main():
    lock = InstanceLock(Path(sys.argv[1]))
    if not lock.acquire():
        print("refused", flush=True)
        sys.exit(2)
    async def answer(reader, writer):
        writer.write(b"serving")
        await writer.drain()
        writer.close()
    server = await asyncio.start_server(answer, "127.0.0.1", int(sys.argv[2]))
    async with server:
        await server.serve_forever()

asyncio.run(main())
"""


async def _holder(lock: Path, port: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLDER,
        str(lock),
        str(port),
        env=_env(),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )


async def _until_serving(port: int, proc: asyncio.subprocess.Process, within: float) -> None:
    async with asyncio.timeout(within):
        while True:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                data = await reader.read()
                writer.close()
                if data == b"serving":
                    return
            except OSError:
                pass
            assert proc.returncode is None, await proc.stdout.read()  # type: ignore[union-attr]
            await asyncio.sleep(0.01)


async def test_twenty_kill_9_restarts_each_serve_within_two_seconds(tmp_path: Path) -> None:
    lock = tmp_path / "yishi.db.lock"
    port = _free_port()
    proc = await _holder(lock, port)
    await _until_serving(port, proc, 60)
    # While it runs, the lock is held: a second holder is refused.
    assert not InstanceLock(lock).acquire()
    times: list[float] = []
    free_after: list[float] = []
    try:
        for _ in range(20):
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            killed = time.monotonic()
            # The kernel dropped the lock with the process: free at once.
            probe = InstanceLock(lock)
            assert probe.acquire()
            free_after.append(time.monotonic() - killed)
            probe.release()
            proc = await _holder(lock, port)
            await _until_serving(port, proc, 60)
            times.append(time.monotonic() - killed)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert len(times) == 20
    assert max(free_after) < 0.1, free_after
    # A loaded machine (CI) starts Python slowly: the bound allows for a bare interpreter's
    # start measured now.
    assert max(times) <= BACK_WITHIN_S + await _bare_start(), times


async def _bare_start() -> float:
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass", env=_env())
    assert await proc.wait() == 0
    return time.monotonic() - started


async def _until_exists(path: Path, within: float) -> None:
    deadline = time.monotonic() + within
    while not os.path.exists(path):  # noqa: ASYNC240 (another process makes it)
        assert time.monotonic() < deadline, f"{path} never appeared"
        await asyncio.sleep(0.01)


async def test_a_stop_during_the_first_migration_waits_for_it(tmp_path: Path) -> None:
    """SIGTERM while the migration child built a new database's schema had ended the parent at
    once and left the child migrating on its own beside the next start. The stop now waits for
    the child: the parent exits after it (143), the schema is whole, nothing is left running."""
    port = _free_port()
    db_file = tmp_path / "yishi.db"
    config = _config(tmp_path / "config.toml", db_file, port)
    proc = await _serve(tmp_path, config)
    building = tmp_path / "yishi.db.new"
    await _until_exists(building, 120)  # the child is making the schema
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 128 + signal.SIGTERM, err.decode()[-2000:]
    assert not building.exists()
    assert await db.pending_migrations(f"sqlite://{db_file}") == set()
