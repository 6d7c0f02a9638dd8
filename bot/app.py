"""The composition root: every dependency is built here and passed in; nothing at import time.

adapter (decode) -> feed -> router.dispatch -> replies
    inline replies  -> back to the adapter that received the message
    everything else -> the outbox (same transaction) -> Sender -> adapter.send of its platform
scheduler (wakes) -> reminder sweep -> outbox -> Sender
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import signal
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from bot import logs
from bot import scheduler as scheduler_module
from bot.adapters.base import ChatAdapter, Feed
from bot.admission import Admission
from bot.clock import Clock, SystemClock
from bot.config import Settings, base_url_warning
from bot.errors import causes
from bot.events import IncomingMessage, OutgoingMessage, Platform
from bot.gate import Gate
from bot.heap import HeapKeeper, glibc_trim
from bot.inbox import Inbox, make_apply
from bot.metrics import Metrics
from bot.opening import start_storage, stop_storage
from bot.outbox import Sender, to_outbox
from bot.reminders.service import ReminderService
from bot.retention import Pruning
from bot.router import CommandOutcome, Route, Router, is_inline
from bot.scheduler import (
    ApScheduler,
    Heartbeat,
    Scheduler,
    SingleInstanceError,
    sole_instance,
)
from bot.web.app import mount_web
from handlers import ALL_ROUTES
from handlers.common import why_not
from handlers.texts import render_need, render_refusal
from handlers.votes import BALLOT_WORDS
from storage import db, instances, outbox, repo
from storage import inbox as inbox_store
from storage import reminders as reminder_store
from storage.faults import is_lost_connection, retried
from storage.instance_lock import InstanceLock

logger = logging.getLogger(__name__)
Dispatch = Callable[..., Awaitable[list[OutgoingMessage]]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_router(
    settings: Settings,
    clock: Clock,
    *,
    metrics: Metrics | None = None,
    adapters: Sequence[ChatAdapter] | None = None,
) -> Router:
    """The router over every route, admitting through storage; with `metrics`, each admitted
    command counts once under its first word and how it ended (/metrics); with `adapters`, a
    card update is queued only for a platform whose adapter edits cards in place."""

    def count(route: Route, outcome: CommandOutcome) -> None:
        if metrics is not None:
            # Every way of casting a ballot counts as 投票: a per-choice counter ticking when a
            # secret ballot is cast would tell its choice to whoever reads the metrics.
            word = route.words[0]
            metrics.command("投票" if word in BALLOT_WORDS else word, outcome.value)

    return Router(
        ALL_ROUTES,
        admission=Admission(
            settings,
            clock,
            card_platforms=None
            if adapters is None
            else [a.platform for a in adapters if a.edits_cards],
        ),
        render_refusal=render_refusal,
        render_need=render_need,
        on_command=count,
        why_not=why_not,
    )


def timed(dispatch: Dispatch, metrics: Metrics) -> Dispatch:
    """`dispatch` observed in the message-handling histogram, by platform."""

    async def run(message: IncomingMessage, *, inline: bool = True) -> list[OutgoingMessage]:
        started = time.perf_counter()
        try:
            return await dispatch(message, inline=inline)
        finally:
            seconds = time.perf_counter() - started
            metrics.handling.labels(platform=message.platform.value).observe(seconds)

    return run


@runtime_checkable
class HttpAdapter(Protocol):
    """An adapter that receives over HTTP adds its routes to the application."""

    def routes(self) -> Sequence[web.RouteDef]: ...


class Delivery:
    """Delivers the outbox after each message: at once (console, tests: the sender drains
    every due row before the call returns, so transcripts keep their order) or, in the server,
    by waking the background sender task (`background=True`)."""

    def __init__(
        self,
        adapters: Sequence[ChatAdapter],
        *,
        clock: Clock | None = None,
        settings: Settings | None = None,
        background: bool = False,
        metrics: Metrics | None = None,
        rng: random.Random | None = None,
    ) -> None:
        settings = settings or Settings()
        self.metrics = metrics or Metrics()
        self.sender = Sender(
            adapters,
            clock=clock or SystemClock(),
            settings=settings.delivery,
            committee_admins=settings.committee_admins,
            metrics=self.metrics,
            rng=rng,
            concurrency=settings.delivery.send_concurrency,
        )
        self.background = background

    async def after_dispatch(self, *, enqueued: bool = True) -> None:
        if self.background:
            if enqueued:
                self.sender.wake()
            return
        try:
            await self.sender.run_once()
        except Exception:
            logger.exception("outbox drain failed; the rows stay for the next pass")

    async def enqueue(self, messages: Sequence[OutgoingMessage]) -> None:
        """Write messages that no inbound message caused to the outbox (in the caller's
        transaction, if any), without delivering them yet. In a shared round of the inbound
        queue (what a queued message got back instead of its effect) they are held with the
        round's other messages, so that a chat's replies keep their order."""
        if not messages:
            return
        now = self.sender.clock.now()
        items = to_outbox(messages, key_prefix=f"direct:{uuid.uuid4().hex}")
        if repo.in_shared_round():
            await repo.enqueue_latest(items, [None] * len(items), now)
            return
        async with repo.atomic():
            await outbox.enqueue(items, now)

    async def deliver(self, messages: Sequence[OutgoingMessage]) -> None:
        """Queue messages that no inbound message caused, then deliver as above."""
        await self.enqueue(messages)
        await self.after_dispatch()


def make_feed(router: Router, delivery: Delivery) -> Feed:
    """The adapters' entry: dispatch (the router writes everything that is not an inline
    reply to the outbox in the same transaction), deliver the outbox, return the inline replies."""

    dispatch = timed(router.dispatch, delivery.metrics)

    async def feed(message: IncomingMessage) -> list[OutgoingMessage]:
        delivery.metrics.inbound.labels(platform=message.platform.value).inc()
        replies = await dispatch(message)
        inline = [r for r in replies if is_inline(r, message)]
        await delivery.after_dispatch(enqueued=len(inline) < len(replies))
        return inline

    return feed


def make_queued_feed(router: Router, inbox: Inbox, metrics: Metrics) -> Feed:
    """The platform adapters' entry with `[http] inbound = "queue"`: what needs no storage
    (not a command, an unbound group) is answered inline and writes nothing; anything else is
    committed to the inbound queue and gets no inline reply (the worker applies it and the
    replies go out through the platform's reply channel). Raises InboxUnavailable when the
    message cannot be queued, so the adapter answers with a status the platform retries."""

    async def feed(message: IncomingMessage) -> list[OutgoingMessage]:
        metrics.inbound.labels(platform=message.platform.value).inc()
        answer = await router.answer_at_the_door(message)
        if answer is not None:
            return answer
        await inbox.submit(message)
        return []

    return feed


ADAPTERS: web.AppKey[tuple[ChatAdapter, ...]] = web.AppKey("adapters")
FEED: web.AppKey[Feed] = web.AppKey("feed")
RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime")


# Characters of the host name an instance's name keeps: the name goes into 64-character columns
# (claimed_by, lease_owner, instance), with the process id, a random suffix and an inbound
# worker's "/k".
HOST_IN_NAME = 40


def instance_name(host: str, pid: int) -> str:
    """This process's name in the database: host, process id and a random suffix (a restarted
    process that got the same pid is another instance). At most 56 characters."""
    return f"{host[:HOST_IN_NAME]}-{pid}-{uuid.uuid4().hex[:6]}"


# Inbound workers of one process on PostgreSQL (`[http] inbound_workers = 0`): a round waits for
# its round trips most of the time, and while one waits the other applies (two did better than
# one, four or eight in benchmarks/dingtalk_callbacks.py: more only contend for the CPU).
INBOUND_WORKERS_POSTGRES = 2


def inbound_workers(settings: Settings) -> int:
    """How many workers of the inbound queue this process runs (`[http] inbound_workers`; 0:
    by engine). SQLite takes one writer at a time: one worker, whatever is asked."""
    if db.is_sqlite(settings.database_url):
        return 1
    return settings.inbound_workers or INBOUND_WORKERS_POSTGRES


class Runtime:
    """The background parts of a running bot: sender, reminder sweep, scheduler, heartbeat."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        delivery: Delivery,
        scheduler: Scheduler,
        monotonic: Callable[[], float],
        router: Router | None = None,
        instance_lock: InstanceLock | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.instance_lock = instance_lock  # taken by `serve` before the migrations
        self.delivery = delivery
        self.scheduler = scheduler
        self.instance = instance_name(socket.gethostname(), os.getpid())
        delivery.sender.instance = self.instance
        self.sweep_event = asyncio.Event()
        self.reminders = ReminderService(
            settings,
            clock.now,
            instance=self.instance,
            on_enqueued=delivery.sender.wake,
            arm=lambda at: scheduler.arm("reminders", at),
            metrics=delivery.metrics,
        )
        self.heartbeat = Heartbeat(self.instance, clock.now, monotonic)
        self.pruning = Pruning(settings.retention, clock.now, self.instance)
        self.prune_event = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.caught_up = asyncio.Event()  # the start-up sweep has ended
        self.gate = Gate()
        self.heap = HeapKeeper(glibc_trim())
        self.inbox: Inbox | None = None
        if router is not None:

            async def after_batch() -> None:
                await delivery.after_dispatch()

            self.inbox = Inbox(
                clock=clock,
                instance=self.instance,
                apply=make_apply(timed(router.dispatch, delivery.metrics), delivery.enqueue),
                after_batch=after_batch,
                gate=self.gate,
                monotonic=monotonic,
                lanes=inbound_workers(settings),
            )

    async def start(self) -> None:
        """Start-up: register the instance and start the background work. The catch-up (sweep
        once: materialise, fire what came due while the bot was down, arm the next wake-up;
        then drain the outbox once) runs in the background too: after a long stop it may have
        thousands of reminders to decide and send, and the platforms' callbacks must be
        answered meanwhile. `caught_up` is set when it has ended; /healthz reports it."""
        url = db.opened_url() or self.settings.database_url
        await self.heartbeat.start(
            single=db.is_sqlite(url), lock_file=db.lock_path(url), held=self.instance_lock
        )
        # The scheduler first: the start-up sweep arms the next due instant, and an arm before
        # the scheduler runs would be dropped (the next periodic sweep, up to a minute late).
        scheduler_module.register("reminders", self.sweep_event)
        scheduler_module.register("sender", self.delivery.sender._event)
        scheduler_module.register("prune", self.prune_event)
        self.scheduler.start()
        self.tasks = [
            asyncio.create_task(self._catch_up(), name="start-up-sweep"),
            asyncio.create_task(self.delivery.sender.run(gate=self.gate), name="outbox-sender"),
            asyncio.create_task(
                self._woken(
                    self.sweep_event, self._sweep, "reminder sweep failed; the next sweep retries"
                ),
                name="reminder-sweep",
            ),
            # Woken with the periodic work; prunes once a day (bot/retention.py).
            asyncio.create_task(
                self._woken(self.prune_event, self.pruning.maybe, "prune failed; retried later"),
                name="retention-prune",
            ),
            asyncio.create_task(self.heap.run(), name="heap-trim"),
        ]
        if self.inbox is not None:
            self.tasks.append(asyncio.create_task(self.inbox.run(), name="inbound-queue"))

    async def _catch_up(self) -> None:
        try:
            async with self.gate.passing():
                if self.gate.closing():
                    return
                with logs.work(logs.new_id("sweep")):
                    # Preparing what falls due soon is left to the sweep this one arms (at once).
                    await self.reminders.sweep(prepare=False)
                    await self.delivery.sender.run_once()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("start-up sweep failed; the periodic sweep retries")
        finally:
            self.caught_up.set()

    async def _woken(
        self, event: asyncio.Event, work: Callable[[], Awaitable[object]], failed: str
    ) -> None:
        """Run `work` each time the scheduler sets `event`, until the gate closes; a failure is
        logged (`failed`) and the next wake tries again."""
        while not self.gate.closing():
            await event.wait()
            event.clear()
            if self.gate.closing():
                return
            try:
                async with self.gate.passing():
                    await work()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception(failed)

    async def _sweep(self) -> None:
        with logs.work(logs.new_id("sweep")):
            await self.heartbeat.beat()
            await self.reminders.sweep()

    async def stop(self) -> None:
        self.scheduler.shutdown()
        await self.gate.stop(self.tasks)
        scheduler_module.unregister("reminders")
        scheduler_module.unregister("sender")
        scheduler_module.unregister("prune")
        with contextlib.suppress(Exception):
            await self.heartbeat.stop()


def build_app(
    settings: Settings,
    *,
    clock: Clock,
    adapters: Sequence[ChatAdapter],
    scheduler: Scheduler | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    web_key: bytes | None = None,
    verify_chains: bool = False,
    instance_lock: InstanceLock | None = None,
) -> web.Application:
    """The HTTP application: platform callbacks, /healthz and /metrics, the 工作台 under /web/
    (its cookie key: `web_key`, else one for this process only); in the background the outbox
    sender, the reminder sweep and, with `verify_chains` (`serve` sets it), the periodic check
    of every society's event chain. The database is opened by the caller before the app starts
    (see `serve`)."""
    app = web.Application(client_max_size=256 * 1024, middlewares=[_work_id])
    delivery = Delivery(adapters, clock=clock, settings=settings, background=True)
    router = build_router(settings, clock, metrics=delivery.metrics, adapters=adapters)
    feed = make_feed(router, delivery)
    scheduler = scheduler or ApScheduler(
        sweep_seconds=settings.sweep_seconds, sweep_names=("reminders", "sender", "prune")
    )
    queued = settings.inbound == "queue" and any(
        a.platform is not Platform.CONSOLE for a in adapters
    )
    runtime = Runtime(
        settings,
        clock,
        delivery,
        scheduler,
        monotonic,
        router=router if queued else None,
        instance_lock=instance_lock,
    )
    queued_feed = (
        make_queued_feed(router, runtime.inbox, delivery.metrics)
        if runtime.inbox is not None
        else feed
    )
    app[ADAPTERS] = tuple(adapters)
    app[FEED] = feed
    app[RUNTIME] = runtime
    for adapter in adapters:
        if isinstance(adapter, HttpAdapter):
            app.add_routes(adapter.routes())

    async def adapters_ctx(app: web.Application) -> AsyncIterator[None]:
        runtime = app[RUNTIME]
        await runtime.start()
        started: list[ChatAdapter] = []
        try:
            for adapter in app[ADAPTERS]:
                await adapter.start(feed if adapter.platform is Platform.CONSOLE else queued_feed)
                started.append(adapter)
            yield
        finally:
            # The background work first (it sends through the adapters), then the adapters.
            await runtime.stop()
            for adapter in started[::-1]:
                try:
                    await adapter.close()
                except Exception:
                    logger.exception("closing the %s adapter failed", adapter.platform.value)

    app.cleanup_ctx.append(adapters_ctx)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    if settings.web.enabled:

        async def after_change() -> None:
            delivery.sender.wake()

        mount_web(
            app,
            settings,
            clock,
            key=web_key or secrets.token_bytes(32),
            after_change=after_change,
            verify_chains=verify_chains,
        )
    return app


@web.middleware
async def _work_id(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every line logged while a request is handled carries its id (`req:…`)."""
    with logs.work(logs.new_id("req")):
        return await handler(request)


# /healthz thresholds: a probe that takes longer than this is a failing database; less free disk
# than this (beside a SQLite file) is a disk nearly full; a loop that has not turned for this
# long, or a queued message this old, is a stuck worker.
HEALTH_DB_TIMEOUT_S = 5.0
# A dropped server leaves each idle pooled connection broken once (the pool holds at most 5).
HEALTH_PROBE_TRIES = 6
HEALTH_MIN_FREE_BYTES = 64 * 1024 * 1024
HEALTH_STUCK_S = 300.0
HEALTH_PAUSED_SHOWN = 20


def free_disk_bytes(path: Path) -> int:
    """Free bytes for an unprivileged writer on the file system holding `path`."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


async def _probe_write(instance: str, now: datetime) -> None:
    """The one-row write, again on a pooled connection the server dropped while it was idle
    (each such connection fails once and is replaced), so that the probe reports the database
    (read-only, full, locked) rather than a stale connection. Bounded by the caller's timeout."""
    await retried(
        lambda: instances.probe_write(instance, now),
        (0.0,) * (HEALTH_PROBE_TRIES - 1),
        what="health check: the probe's write",
        clears=lambda exc: any(is_lost_connection(e) for e in causes(exc)),
    )


async def _healthz(request: web.Request) -> web.Response:
    """200 when the bot can do its work; 503 with the reasons when it cannot: the database
    unreachable or not writable (a one-row write), the disk beside a SQLite file nearly full,
    the sender or the inbound worker stuck. Paused platform channels (a throttled robot) are
    listed without failing the probe. Reads and writes a bounded number of rows."""
    runtime = request.app[RUNTIME]
    now = runtime.clock.now()
    mono = runtime.heartbeat.monotonic()
    problems: list[str] = []
    body: dict[str, object] = {"status": "ok", "database": "ok"}
    paused: list[outbox.Channel] = []
    pending: int | None = None
    oldest: datetime | None = None
    try:
        async with asyncio.timeout(HEALTH_DB_TIMEOUT_S):
            await _probe_write(runtime.instance, now)
            paused = await outbox.paused_list(now, HEALTH_PAUSED_SHOWN + 1)
            if runtime.inbox is not None:
                pending = await runtime.inbox.depth()
                oldest = await inbox_store.oldest_pending()
    except Exception as exc:
        text = str(exc).lower()
        if "readonly" in text or "read-only" in text:
            body["database"] = "not_writable"
        elif "locked" in text or "busy" in text or isinstance(exc, TimeoutError):
            body["database"] = "busy"
        else:
            body["database"] = "unreachable"
        body["detail"] = f"{type(exc).__name__}: {exc}"[:300]
        problems.append(f"database_{body['database']}")
        logger.warning("health check: database %s: %s", body["database"], body["detail"])
    path = db.sqlite_path(db.opened_url() or runtime.settings.database_url)
    if path is not None:
        try:
            free = free_disk_bytes(path.parent)
            body["disk_free_mb"] = free // (1024 * 1024)
            if free < HEALTH_MIN_FREE_BYTES:
                problems.append("disk_nearly_full")
        except OSError:
            problems.append("disk_unreadable")
    sender = runtime.delivery.sender
    body["sender"] = "running" if sender.alive else "stopped"
    if not sender.alive:
        problems.append("sender_stopped")
    elif sender.looped_at is not None and time.monotonic() - sender.looped_at > HEALTH_STUCK_S:
        body["sender"] = "stuck"
        problems.append("sender_stuck")
    clocks = [getattr(a, "callback_clock", None) for a in request.app[ADAPTERS]]
    if any(c is not None and c.suspect() for c in clocks):  # every signed callback refused
        body["clock"] = "suspect"
        problems.append("clock_suspect")
    body["scheduler"] = "running" if runtime.scheduler.running else "stopped"
    # Still deciding and sending what came due while the bot was down: serving meanwhile.
    body["startup"] = "done" if runtime.caught_up.is_set() else "catching_up"
    if not runtime.scheduler.running:
        problems.append("scheduler_stopped")
    if runtime.inbox is None:
        body["inbound"] = "direct"
    else:
        box = runtime.inbox
        state = "running" if box.alive else "stopped"
        busy = box.busy_since is not None and mono - box.busy_since > HEALTH_STUCK_S
        late = oldest is not None and (now - oldest).total_seconds() > HEALTH_STUCK_S
        if box.alive and (busy or late):
            state = "stuck"
        body["inbound"] = {"state": state, "pending": pending, "retries": box.retries}
        if state != "running":
            problems.append(f"inbound_{state}")
    body["adapters"] = [a.platform.value for a in request.app[ADAPTERS]]
    body["instance"] = runtime.instance
    body["channels"] = {
        c.channel: {"state": "paused", "until": c.paused_until.isoformat(), "reason": c.reason}
        for c in paused[:HEALTH_PAUSED_SHOWN]
        if c.paused_until is not None
    }
    if len(paused) > HEALTH_PAUSED_SHOWN:
        body["channels_more"] = True
    if problems:
        body["status"] = "error"
        body["reasons"] = problems
        return web.json_response(body, status=503)
    return web.json_response(body)


async def _metrics(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    try:
        await read_gauges(runtime)
    except Exception:
        logger.exception("metrics: database unreachable")
        return web.Response(status=503, text="# database unreachable\n")
    body = runtime.delivery.metrics.exposition()
    # The 0.0.4 text format: what every Prometheus 2.x and 3.x server reads.
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})


async def read_gauges(runtime: Runtime) -> None:
    """The gauges a scrape reads from the database: each a bounded read served by an index
    (the waiting part of a queue, the first due reminder), never a whole-table count."""
    metrics = runtime.delivery.metrics
    if runtime.inbox is not None:
        metrics.inbound_queue.set(await runtime.inbox.depth())
    waiting = await outbox.waiting_counts()
    for state in outbox.WAITING:
        metrics.outbox.labels(state=state.value).set(waiting.get(state, 0))
    undecided = await reminder_store.undecided_counts()
    for rstate in reminder_store.UNDECIDED:
        metrics.reminders.labels(state=rstate.value).set(undecided.get(rstate, 0))
    now = runtime.clock.now()
    oldest = await reminder_store.oldest_overdue(now)
    metrics.reminder_lag.set(0.0 if oldest is None else (now - oldest).total_seconds())
    metrics.channels_paused.set(await outbox.paused_channels(now))
    metrics.clock_jumps.set(len(runtime.heartbeat.jumps))


async def serve(
    settings: Settings,
    *,
    clock: Clock,
    adapters: Sequence[ChatAdapter],
    web_key: bytes | None = None,
) -> None:
    """Run until cancelled or sent SIGTERM / SIGINT: open the database in this task first, then
    the web site. A signal stops it in order: no new callbacks, the background work finishes
    its pass, the adapters close, the database closes (the inbound queue keeps anything not
    applied yet for the next start). Pending migrations run in a child process first, so the
    bot idles as small on a new database as on an existing one (`db.upgrade_apart`). On SQLite
    the single-instance lock comes first: a second instance migrates nothing under a running one.
    """
    with sole_instance(settings.database_url) as lock:
        await db.upgrade_apart(settings.database_url)
        if lock is not None and not lock.cover():  # the new file the migrations made
            raise SingleInstanceError(f"数据库文件 {lock.database} 已由另一个实例使用。")
        await start_storage(settings)
        await _serving(settings, clock=clock, adapters=adapters, web_key=web_key, lock=lock)


async def _serving(
    settings: Settings,
    *,
    clock: Clock,
    adapters: Sequence[ChatAdapter],
    web_key: bytes | None,
    lock: InstanceLock | None,
) -> None:
    runner: web.AppRunner | None = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        app = build_app(
            settings,
            clock=clock,
            adapters=adapters,
            web_key=web_key,
            verify_chains=True,
            instance_lock=lock,
        )
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, settings.http_host, settings.http_port)
        await site.start()
        logger.warning("yishi listening on http://%s:%s", settings.http_host, settings.http_port)
        if settings.web.enabled:
            logger.warning("工作台: %s/web/", settings.base_url)
        chats = any(a.platform is not Platform.CONSOLE for a in adapters)
        if (warning := base_url_warning(settings, platforms=chats)) is not None:
            logger.warning("%s", warning)
        await stop.wait()
        logger.warning("yishi stopping")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        if runner is not None:
            await runner.cleanup()
        await stop_storage()
