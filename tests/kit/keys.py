"""The server key of the PostgreSQL test databases (a SQLite test database keeps its own beside
the file): the fixtures open them with it and a test that starts a process on one passes it as
YISHI_SECRET_KEY."""

from __future__ import annotations

from bot.keys import ServerKey

PG_KEY_TEXT = "yishi-test-key-0123456789abcdefghijklmnopqrstuvwxyz"
PG_KEY = ServerKey.from_text(PG_KEY_TEXT)
