"""The server key of the PostgreSQL test databases (a SQLite test database keeps its own beside
the file): the fixtures open them with it and a test that starts a process on one passes it as
YISHI_SECRET_KEY."""

from __future__ import annotations

from bot.keys import ServerKey

PG_KEY_TEXT = "yishi-test-key-0123456789abcdefghijklmnopqrstuvwxyz"
PG_KEY = ServerKey.from_text(PG_KEY_TEXT)


def key_for(url: str) -> ServerKey | None:
    """The key a test process opens `url` with: the test key on PostgreSQL; None on SQLite,
    whose key file beside the database is shared by every process."""
    return None if url.startswith("sqlite:") else PG_KEY
