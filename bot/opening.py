"""Opening the database for a command or the bot: the schema brought up to date (or required as
it is), the server key checked against what it sealed, the committee admins made known. Light
to import (no router, no web): the database commands of `yishi` use it."""

from __future__ import annotations

from bot.config import Settings
from bot.events import Platform, UserRef
from bot.keys import KeyProblem, ServerKey, load_key
from storage import db, repo, secrecy


async def start_storage(
    settings: Settings, *, key: ServerKey | None = None, existing: bool = False
) -> None:
    """Open the database (migrating it) and make sure the committee admins are known people.
    `key`: the server key, when the caller loaded it (by default `load_key` finds it).
    `existing`: a command that works on the records there (verify, export, reminders, prune)
    opens an existing database of this program at the current schema, creating, migrating and
    adding nothing: no file, folder or key is made for a mistyped path (db.require_current)."""
    if existing:
        await db.require_current(settings.database_url)
        # never a new key: a database copied without its key is refused, not reported on
        key = key if key is not None else load_key(settings.database_url, create=False)
    await db.open_db(settings.database_url, key=key, run_migrations=not existing)
    try:
        await secrecy.check_key()  # the key must open what is sealed already
    except KeyProblem:
        await db.close_db()
        raise
    if existing:
        return
    for admin in settings.committee_admins:
        user = UserRef(Platform(admin.platform), admin.corp_id, admin.user_id, admin.name)
        await repo.ensure_person(user, name=admin.name)


async def stop_storage() -> None:
    await db.close_db()
