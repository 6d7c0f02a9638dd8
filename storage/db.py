"""Open and close the database: tortoise config, SQLite pragmas, schema migrations."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate

from bot.keys import ServerKey, load_key

MODELS_MODULE = "storage.models"
MIGRATIONS_MODULE = "storage.migrations"
DEFAULT_URL = "sqlite://data/yishi.db"

# For `tortoise makemigrations` during development (pyproject's [tool.tortoise]).
TORTOISE_ORM: dict[str, Any] = {}

logger = logging.getLogger(__name__)


class DatabaseError(Exception):
    """The database could not be opened or prepared; the message says why."""


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def prepare_url(url: str) -> str:
    """SQLite gets WAL (tortoise's default), synchronous=FULL and a busy timeout unless the URL
    sets them."""
    if not is_sqlite(url):
        return url
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    params.setdefault("synchronous", "FULL")
    params.setdefault("busy_timeout", "5000")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(params), ""))


def _ensure_folder(url: str) -> None:
    """Create the SQLite file's folder (only when the database is actually opened)."""
    if is_sqlite(url):
        path = url[len("sqlite://") :].split("?", 1)[0]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def connection_name(url: str) -> str:
    """Each engine gets its own connection name: tortoise caches compiled queries per name,
    and one process (the test suite) may use SQLite and PostgreSQL one after the other."""
    return "sqlite" if is_sqlite(url) else "postgres"


def tortoise_config(url: str) -> dict[str, Any]:
    name = connection_name(url)
    return {
        "connections": {name: prepare_url(url)},
        "apps": {
            "models": {
                "models": [MODELS_MODULE],
                "migrations": MIGRATIONS_MODULE,
                "default_connection": name,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


TORTOISE_ORM.update(tortoise_config(DEFAULT_URL))


_server_key: ServerKey | None = None


def server_key() -> ServerKey:
    """The server key of the open database (bot/keys.py): the chain's MACs and the row seals."""
    if _server_key is None:
        raise RuntimeError("the database is not open (no server key)")
    return _server_key


def use_key(key: ServerKey) -> None:
    global _server_key
    _server_key = key


async def upgrade(url: str, *, key: ServerKey | None = None) -> None:
    """Apply every pending migration. Migrations only add; data is kept. The server key (loaded
    as `load_key` does unless given) seals what a migration moves (storage/seals.py)."""
    _ensure_folder(url)
    use_key(key if key is not None else load_key(url))
    await migrate(config=tortoise_config(url))
    await Tortoise.close_connections()
    logger.info("database schema up to date (%s)", connection_name(url))


async def open_db(url: str, *, run_migrations: bool = True, key: ServerKey | None = None) -> None:
    """Initialise the ORM in the current task (before any background task starts). `key`: the
    server key; by default `load_key(url)` (the environment, or the file beside SQLite)."""
    _ensure_folder(url)
    key = key if key is not None else load_key(url)
    use_key(key)
    if run_migrations:
        await upgrade(url, key=key)
    # The global fallback lets tasks started outside this context (aiohttp's request handlers,
    # WebSocket clients, the scheduler) see the ORM. One database per process.
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    if is_sqlite(url):
        await _check_sqlite(connection_name(url))


async def _check_sqlite(name: str) -> None:
    conn = connections.get(name)
    _, rows = await conn.execute_query("PRAGMA journal_mode")
    mode = str(rows[0][0]).lower() if rows else ""
    if mode not in ("wal", "memory"):
        raise DatabaseError(f"SQLite journal_mode is {mode!r}, WAL could not be enabled")


async def close_db() -> None:
    await Tortoise.close_connections()
