"""The alarm clock: APScheduler 3 (AsyncIOScheduler, memory store) only *wakes* the bot.

The database decides what is due; a lost or doubled APScheduler job costs nothing: a one-shot
`date` job is armed for the next due instant and a periodic sweep (every minute) catches anything
missed, so APScheduler's misfire grace never matters. Job targets are a module-level coroutine
that takes only a name (style rule 13).

Heartbeat: each instance renews its row; a clock that moves differently from the monotonic
timer (a jump of the server clock) is logged. SQLite allows one running instance only: an OS
lock on a file beside the database, released by the kernel when the process dies (so a restart
after a crash serves at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from storage import db
from storage import instances as store
from storage.instance_lock import RESTORING, InstanceLock

logger = logging.getLogger(__name__)

_EVENTS: dict[str, asyncio.Event] = {}


async def wake(name: str) -> None:
    """The job target: set the named event (the sweep or the sender waits on it)."""
    event = _EVENTS.get(name)
    if event is not None:
        event.set()


def register(name: str, event: asyncio.Event) -> None:
    _EVENTS[name] = event


def unregister(name: str) -> None:
    _EVENTS.pop(name, None)


class Scheduler(Protocol):
    def start(self) -> None: ...

    def arm(self, name: str, at: datetime) -> None:
        """Wake `name` at `at` (replaces the previous arm of the same name)."""
        ...

    def shutdown(self) -> None: ...

    @property
    def running(self) -> bool: ...


class ApScheduler:
    """AsyncIOScheduler with a periodic sweep and one armed date job per name."""

    def __init__(self, *, sweep_seconds: int = 60, sweep_names: tuple[str, ...] = ()) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._sweep_seconds = sweep_seconds
        self._sweep_names = sweep_names

    def start(self) -> None:
        self._scheduler.start()
        for name in self._sweep_names:
            self._scheduler.add_job(
                wake,
                "interval",
                seconds=self._sweep_seconds,
                args=[name],
                id=f"sweep:{name}",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
            )

    def arm(self, name: str, at: datetime) -> None:
        if not self._scheduler.running:
            return
        self._scheduler.add_job(
            wake,
            "date",
            run_date=at.astimezone(UTC),
            args=[name],
            id=f"arm:{name}",
            replace_existing=True,
            misfire_grace_time=None,
        )

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)


class SingleInstanceError(Exception):
    """A second instance on SQLite."""


def take_instance_lock(lock_file: Path, database: Path | None = None) -> InstanceLock:
    """The single-instance lock on SQLite (storage/instance_lock.py); SingleInstanceError when
    another process holds it."""
    lock = InstanceLock(lock_file, database)
    if not lock.acquire():
        holder = lock.holder()
        if holder.startswith(RESTORING):
            raise SingleInstanceError(
                f"数据库正在恢复备份（{holder}），锁文件：{lock_file}。请等恢复完成后再启动。"
            )
        raise SingleInstanceError(
            "SQLite 只支持运行一个机器人实例，已有实例在运行"
            + (f"（{holder}）" if holder else "")
            + f"，锁文件：{lock_file}"
            + ("；数据库文件（包括它的硬链接）同一时间只能由一个实例使用" if database else "")
            + "。多实例请改用 PostgreSQL。"
        )
    return lock


@contextlib.contextmanager
def sole_instance(url: str) -> Iterator[InstanceLock | None]:
    """Hold the single-instance lock of a SQLite database at `url` (the lock file and the file
    itself) for the block; None on PostgreSQL. Left only after the database is closed."""
    lock_file, database = db.lock_path(url), db.sqlite_path(url)
    if lock_file is None or database is None:
        yield None
        return
    db.make_folder(url)  # the lock file lives beside the database
    try:
        lock = take_instance_lock(lock_file, database.resolve())
    except OSError as exc:
        raise db.DatabaseError(
            f"无法创建单实例锁文件 {lock_file}：{exc.strerror or exc}。请检查路径和权限。"
        ) from exc
    try:
        yield lock
    finally:
        lock.release()


class Heartbeat:
    """The instance row and the clock-jump detector."""

    def __init__(
        self,
        name: str,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float],
        *,
        tolerance: timedelta = timedelta(minutes=5),
        stale: timedelta = timedelta(minutes=3),
    ) -> None:
        self.name = name
        self.clock = clock
        self.monotonic = monotonic
        self.tolerance = tolerance
        self.stale = stale
        self._last: tuple[datetime, float] | None = None
        self.jumps: list[timedelta] = []
        self._lock: InstanceLock | None = None

    async def start(
        self, *, single: bool, lock_file: Path | None = None, held: InstanceLock | None = None
    ) -> None:
        """Register the instance. With `single` (SQLite) the instance first takes the OS lock
        on `lock_file` (unless the caller `held` it already: `serve` takes it before the
        migrations); a live holder means another instance: SingleInstanceError."""
        now = self.clock()
        if single and lock_file is not None:
            lock = held or take_instance_lock(lock_file)
            lock.describe(f"{self.name}，进程 {os.getpid()}")
            self._lock = None if held else lock  # what `serve` took, `serve` drops
            try:  # no other process is alive: what a killed one held is free at once
                await store.expire_leases_of_the_dead(now)
            except BaseException:
                self._release()
                raise
        try:
            await store.register_instance(self.name, socket.gethostname(), os.getpid(), now)
        except BaseException:
            self._release()
            raise
        self._last = (now, self.monotonic())

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def check(self) -> timedelta | None:
        """Compare wall-clock and monotonic progress since the last check; log a jump."""
        now, mono = self.clock(), self.monotonic()
        jump = None
        if self._last is not None:
            wall = now - self._last[0]
            real = timedelta(seconds=mono - self._last[1])
            if abs(wall - real) > self.tolerance:
                jump = wall - real
                self.jumps.append(jump)
                logger.warning(
                    "server clock jumped by %+d s (wall %s, monotonic %s): reminders are "
                    "decided by the database, none is sent twice",
                    int(jump.total_seconds()),
                    wall,
                    real,
                )
        self._last = (now, mono)
        return jump

    async def beat(self) -> timedelta | None:
        jump = self.check()
        await store.heartbeat(self.name, self.clock())
        return jump

    async def stop(self) -> None:
        try:
            await store.unregister_instance(self.name)
        finally:
            self._release()
