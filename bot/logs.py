"""Logging: one line per record with the time, level, logger and the id of the work it belongs to.

The id lives in a context variable, set where a unit of work starts: an HTTP request (`req:…`),
an inbound message (`msg:<platform>:<message id>`), an outbox send (`out:<row id>`), a reminder
sweep (`sweep:…`). asyncio copies the context into the tasks a unit starts, so their lines carry
its id too; a line outside any unit shows `-`.

Two formats: `text` for people (`2026-12-05T15:00:00.123+08:00 INFO bot.app [msg:wecom:42]
…`) and `json` for collectors (one object per line, Chinese kept readable).

Rule for callers: log ids, counts, states and error codes; never message texts, names, vote
choices or payloads (tests/test_logs.py checks the code and a whole meeting's log).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime
from typing import Final, TextIO
from zoneinfo import ZoneInfo

NO_ID: Final = "-"
_work_id: ContextVar[str] = ContextVar("yishi_work_id", default=NO_ID)
_HANDLER_NAME: Final = "yishi"
# Third-party loggers: the database drivers and the ORM log statements with their values (names,
# message texts) at DEBUG, so they stay at WARNING; the access log (every platform callback with
# its query string), asyncio and APScheduler speak below WARNING only at `debug`.
_NEVER_BELOW_WARNING: Final = ("tortoise", "aiosqlite", "asyncpg")
_QUIET_UNLESS_DEBUG: Final = ("aiohttp.access", "asyncio", "apscheduler")


# Per place that answers "retry later": when it last wrote a line, and how many it kept quiet.
_retry_lines: dict[str, tuple[float, int]] = {}


def retry_later(log: logging.Logger, where: str, exc: BaseException, *, transient: bool) -> None:
    """A failure answered so that the platform tries again (a 503, a frame left unacknowledged).
    A transient one (the database busy, locked, full or away) is one line, at most one a second
    for each place, with how many came in between (a 14-second PostgreSQL restart had written
    93,000 lines of tracebacks); anything else keeps its traceback."""
    if not transient:
        log.error("%s failed; not taken now, to be delivered again", where, exc_info=exc)
        return
    now = time.monotonic()
    last, quiet = _retry_lines.get(where, (float("-inf"), 0))
    if now - last < 1.0:
        _retry_lines[where] = (last, quiet + 1)
        return
    _retry_lines[where] = (now, 0)
    more = f" ({quiet} more like it since the last line)" if quiet else ""
    log.warning(
        "%s: the database is busy or unavailable (%s: %s); not taken now, to be delivered"
        " again, nothing was applied%s",
        where,
        type(exc).__name__,
        str(exc)[:160],
        more,
    )


def current_id() -> str:
    return _work_id.get()


def new_id(kind: str) -> str:
    """A fresh id for a unit of work that has none of its own: `sweep:1f3a9c2e`."""
    return f"{kind}:{uuid.uuid4().hex[:8]}"


def message_id(platform: str, message_id: str) -> str:
    """The id of an inbound message's work: `msg:<platform>:<the platform's message id>`."""
    return f"msg:{platform}:{message_id or uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def work(work_id: str) -> Iterator[str]:
    """Every line logged inside (and in tasks started inside) carries `work_id`."""
    token = _work_id.set(work_id)
    try:
        yield work_id
    finally:
        _work_id.reset(token)


class _WorkIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.work_id = _work_id.get()
        return True


class _Formatter(logging.Formatter):
    def __init__(self, tz: ZoneInfo | None) -> None:
        super().__init__()
        self.tz = tz

    def timestamp(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, tz=self.tz)
        if self.tz is None:
            when = when.astimezone()
        return when.isoformat(timespec="milliseconds")


class TextFormatter(_Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = (
            f"{self.timestamp(record)} {record.levelname} {record.name} "
            f"[{getattr(record, 'work_id', NO_ID)}] {record.getMessage()}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(_Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, object] = {
            "time": self.timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "id": getattr(record, "work_id", NO_ID),
            "message": record.getMessage(),
        }
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body, ensure_ascii=False)


def setup(
    level: str = "info",
    fmt: str = "text",
    *,
    tz: ZoneInfo | None = None,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Configure the root logger (replacing what an earlier call installed) and return the
    handler. `level`: debug | info | warning | error; `fmt`: text | json."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(_WorkIdFilter())
    handler.setFormatter(JsonFormatter(tz) if fmt == "json" else TextFormatter(tz))
    root.addHandler(handler)
    numeric = logging.getLevelNamesMapping()[level.upper()]
    root.setLevel(numeric)
    for name in _NEVER_BELOW_WARNING:
        logging.getLogger(name).setLevel(logging.WARNING)
    quiet = logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING
    for name in _QUIET_UNLESS_DEBUG:
        logging.getLogger(name).setLevel(quiet)
    return handler
