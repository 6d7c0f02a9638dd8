"""The composition root: every dependency is built here and passed in; nothing at import time."""

from __future__ import annotations

from bot.clock import Clock
from bot.config import Settings
from bot.events import Platform, UserRef
from bot.router import Router
from handlers import ALL_ROUTES
from handlers.texts import render_need, render_refusal
from storage import db, repo


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
