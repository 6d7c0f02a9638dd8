"""The composition root: every dependency is built here and passed in; nothing at import time.

adapter (decode) -> feed -> router.dispatch -> replies
    inline replies  -> back to the adapter that received the message
    everything else -> Delivery -> the adapter of the target platform (adapter.send)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable

from aiohttp import web

from bot.adapters.base import ChatAdapter, Feed
from bot.clock import Clock
from bot.config import Settings
from bot.events import IncomingMessage, OutgoingMessage, Platform, UserRef
from bot.router import Router
from handlers import ALL_ROUTES
from handlers.texts import render_need, render_refusal
from storage import db, repo

logger = logging.getLogger(__name__)


def build_router(settings: Settings, clock: Clock) -> Router:
    return Router(
        ALL_ROUTES,
        settings=settings,
        clock=clock,
        render_refusal=render_refusal,
        render_need=render_need,
    )


async def start_storage(settings: Settings) -> None:
    """Open the database (migrating it) and make sure the committee admins are known people."""
    await db.open_db(settings.database_url)
    for admin in settings.committee_admins:
        user = UserRef(Platform(admin.platform), admin.corp_id, admin.user_id, admin.name)
        await repo.ensure_person(user, name=admin.name)


async def stop_storage() -> None:
    await db.close_db()


@runtime_checkable
class HttpAdapter(Protocol):
    """An adapter that receives over HTTP adds its routes to the application."""

    def routes(self) -> Sequence[web.RouteDef]: ...


class Delivery:
    """Sends each message through the adapter of its platform. A failed send is logged and does
    not stop the others."""

    def __init__(self, adapters: Sequence[ChatAdapter]) -> None:
        self._adapters = {a.platform: a for a in adapters}

    async def deliver(self, messages: Sequence[OutgoingMessage]) -> None:
        for message in messages:
            adapter = self._adapters.get(message.chat.platform)
            if adapter is None:
                logger.warning("no adapter for %s; message dropped", message.chat.platform)
                continue
            try:
                await adapter.send(message)
            except Exception:
                logger.exception("sending to %s failed", message.chat.platform)


def is_inline(out: OutgoingMessage, message: IncomingMessage) -> bool:
    return out.chat == message.chat and out.private_to is None


def make_feed(router: Router, delivery: Delivery) -> Feed:
    async def feed(message: IncomingMessage) -> list[OutgoingMessage]:
        replies = await router.dispatch(message)
        await delivery.deliver([r for r in replies if not is_inline(r, message)])
        return [r for r in replies if is_inline(r, message)]

    return feed


ADAPTERS: web.AppKey[tuple[ChatAdapter, ...]] = web.AppKey("adapters")
FEED: web.AppKey[Feed] = web.AppKey("feed")


def build_app(
    settings: Settings, *, clock: Clock, adapters: Sequence[ChatAdapter]
) -> web.Application:
    """The HTTP application: platform callbacks and /healthz. The database is opened by the
    caller before the app starts (see `serve`)."""
    app = web.Application(client_max_size=256 * 1024)
    router = build_router(settings, clock)
    delivery = Delivery(adapters)
    feed = make_feed(router, delivery)
    app[ADAPTERS] = tuple(adapters)
    app[FEED] = feed
    for adapter in adapters:
        if isinstance(adapter, HttpAdapter):
            app.add_routes(adapter.routes())

    async def adapters_ctx(app: web.Application) -> AsyncIterator[None]:
        for adapter in app[ADAPTERS]:
            await adapter.start(feed)
        yield
        for adapter in app[ADAPTERS][::-1]:
            await adapter.close()

    app.cleanup_ctx.append(adapters_ctx)
    app.router.add_get("/healthz", _healthz)
    return app


async def _healthz(request: web.Request) -> web.Response:
    try:
        await repo.all_societies()
    except Exception:
        logger.exception("health check: database unreachable")
        return web.json_response({"status": "error", "database": "unreachable"}, status=503)
    platforms = [a.platform.value for a in request.app[ADAPTERS]]
    return web.json_response({"status": "ok", "database": "ok", "adapters": platforms})


async def serve(settings: Settings, *, clock: Clock, adapters: Sequence[ChatAdapter]) -> None:
    """Run until cancelled: open the database in this task first, then the web site."""
    await start_storage(settings)
    runner: web.AppRunner | None = None
    try:
        app = build_app(settings, clock=clock, adapters=adapters)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, settings.http_host, settings.http_port)
        await site.start()
        logger.warning("yishi listening on http://%s:%s", settings.http_host, settings.http_port)
        await asyncio.Event().wait()
    finally:
        if runner is not None:
            await runner.cleanup()
        await stop_storage()
