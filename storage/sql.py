"""Hand-written SQL: placeholders, dialects, chunking, datetimes; the one door to tortoise's
internals.

The hot paths (every command's look-ups, the reminder sweep, the sender) run hand-written SQL:
building model instances and compiling ORM queries cost more CPU than the statements
themselves. They are written with `?` placeholders (rewritten to `$1, $2, ...` for PostgreSQL)
and run on the connection, or transaction, the model's own queries would use at that moment.
Datetimes are bound in UTC (SQLite compares the stored ISO text) and read back through `when`
(SQLite returns that text, asyncpg a datetime).

Rule: only this module touches tortoise's private API (`Model._meta`, `Model._init_from_db`, the
task's connection map), besides the engines it runs on (storage/sqlite_engine.py,
storage/asyncpg_engine.py) and the transaction repair in storage/faults.py; other storage
modules use the ORM's public API or the functions below.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar, cast

from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.context import get_current_context
from tortoise.models import Model
from tortoise.transactions import in_transaction

from storage import sqlite_engine

ModelT = TypeVar("ModelT", bound=Model)
T = TypeVar("T")

# Parameters one statement binds at most: below SQLite's historical limit of 999 (builds older
# than 3.32) and PostgreSQL's 32767. An IN list takes up to this many values; a multi-row
# INSERT takes `rows_per_statement(parameters per row)` rows.
PARAMS = 900


# ---------------------------------------------------------------------------------------------
# Instants and dates


def utc(value: datetime) -> datetime:
    """An instant in UTC; a naive value (as a driver may return) is taken as UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_opt(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def when(value: Any) -> datetime:
    """A datetime column read by hand-written SQL: SQLite gives the ISO text the ORM stored."""
    return utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def when_opt(value: Any) -> datetime | None:
    return None if value is None else when(value)


def day(value: Any) -> date | None:
    """A date column read by hand-written SQL: SQLite gives ISO text."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


# ---------------------------------------------------------------------------------------------
# Statement text


def marks(count: int) -> str:
    """`count` placeholders for an IN list: `?, ?, ?`."""
    return ", ".join("?" * count)


def literals(*values: StrEnum) -> str:
    """State values written into the statement (`'pending', 'prepared'`), where a literal lets
    the query planner judge how selective a condition is. Only enum values, never input."""
    for value in values:
        if "'" in value:
            raise ValueError(f"not a plain state value: {value!r}")
    return ", ".join(f"'{value}'" for value in values)


def chunks(values: Sequence[T], size: int = 0) -> Iterator[Sequence[T]]:
    """`values` in slices of `size` (0: as many as one statement binds, `PARAMS`)."""
    step = size or PARAMS
    for start in range(0, len(values), step):
        yield values[start : start + step]


def rows_per_statement(params_per_row: int) -> int:
    """Rows a multi-row INSERT writes per statement."""
    return PARAMS // params_per_row


def where_equal(**columns: Any) -> tuple[str, list[Any]]:
    """` WHERE a = ? AND b = ?` for the columns given a value (None: any), and those values."""
    given = {name: value for name, value in columns.items() if value is not None}
    where = " AND ".join(f"{name} = ?" for name in given)
    return (f" WHERE {where}" if where else ""), list(given.values())


@functools.lru_cache(maxsize=128)
def _dialect_sql(sql: str, dialect: str) -> str:
    """Write SQL with `?` placeholders; PostgreSQL (asyncpg) wants `$1, $2, ...`."""
    if dialect != "postgres":
        return sql
    counter = itertools.count(1)
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


# ---------------------------------------------------------------------------------------------
# The connection


def _connection(model: type[Model]) -> BaseDBAsyncClient:
    """The connection (or the transaction) the model's queries would use now: what
    `model._meta.db` gives, read from the task's connections directly (a third of its cost; a
    ballot asks 15 times). tortoise's own way when there is none yet or it was opened on
    another event loop (it opens one, or a new one)."""
    ctx = get_current_context()
    if ctx is not None:
        conn = ctx.connections._get_storage().get(model._meta.default_connection or "")
        if conn is not None and conn._check_loop():
            return conn
    found: BaseDBAsyncClient = model._meta.db
    return found


def writes_so_far(model: type[Model]) -> int:
    """Inside a transaction: a count that grows whenever the transaction writes (SQLite: the
    connection's total_changes, the rows that INSERT, UPDATE and DELETE changed; PostgreSQL:
    the statements that are not a plain SELECT, storage/asyncpg_engine.Connection). Two
    readings that differ mean something may have been written between them; equal, nothing
    was."""
    raw: Any = getattr(_connection(model), "_connection", None)  # aiosqlite's, or asyncpg's
    inner = getattr(raw, "_conn", None)
    if isinstance(inner, sqlite3.Connection):
        return inner.total_changes
    writes = getattr(raw, "writes", None)
    if not isinstance(writes, int):
        raise TypeError(f"no write count on {type(raw).__name__}")
    return writes


def is_postgres(model: type[Model]) -> bool:
    """SQLite has no `FOR UPDATE`; every model shares the one connection."""
    return bool(_connection(model).capabilities.dialect == "postgres")


def transaction_for(model: type[Model], statements: int) -> AbstractAsyncContextManager[object]:
    """The transaction `statements` statements on `model`'s database need to be atomic: none
    for a single one on PostgreSQL outside any transaction (a statement is atomic by itself,
    and BEGIN and COMMIT would be two more round trips); otherwise `in_transaction()` (on
    SQLite a transaction costs no round trip; inside a transaction, a savepoint keeps a failing
    statement from aborting the enclosing one)."""
    conn = _connection(model)
    alone = statements <= 1 and not isinstance(conn, TransactionalDBClient)
    if alone and conn.capabilities.dialect == "postgres":
        return nullcontext()
    return in_transaction()


def can_lock_rows(model: type[Model]) -> bool:
    """Whether `SELECT ... FOR UPDATE` takes row locks (PostgreSQL; SQLite's one writer needs
    none)."""
    return bool(_connection(model).capabilities.support_for_update)


def skip_locked(model: type[Model], of: str = "") -> str:
    """The clause that makes a claim skip the rows another instance holds (PostgreSQL), locking
    only the rows of the table aliased `of` when given; empty on SQLite, whose one writer needs
    no row lock."""
    if not is_postgres(model):
        return ""
    return f" FOR UPDATE OF {of} SKIP LOCKED" if of else " FOR UPDATE SKIP LOCKED"


def any_of(model: type[Model], column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """`column = ANY(?)` binding one array on PostgreSQL (one prepared statement, however many
    values), `column IN (?, ?, ...)` on SQLite; and the parameters. For the short lists of a
    command (a roster, a meeting's items): a long list goes through `rows_in`."""
    test, params = membership(model, values)
    return f"{column} {test}", params


def membership(model: type[Model], values: Sequence[Any]) -> tuple[str, list[Any]]:
    """`any_of` without the column: `= ANY(?)` or `IN (?, ?, ...)`, and the parameters."""
    if is_postgres(model):
        return "= ANY(?)", [list(values)]
    return f"IN ({marks(len(values))})", list(values)


def listed(model: type[Model], values: Sequence[str], alias: str) -> tuple[str, Any]:
    """A row source of the text `values`, one row each, read as `<alias>.value`, bound as one
    parameter however many there are (one statement text): `unnest` of an array on PostgreSQL,
    `json_each` of a JSON array on SQLite. And that parameter."""
    if is_postgres(model):
        return f"unnest(?::text[]) AS {alias}(value)", list(values)
    return f"json_each(?) AS {alias}", json.dumps(list(values), ensure_ascii=False)


def joined(model: type[Model], expression: str) -> str:
    """An aggregate of `expression` (text) over the rows, joined by commas: `string_agg` on
    PostgreSQL, `group_concat` on SQLite."""
    if is_postgres(model):
        return f"string_agg({expression}, ',')"
    return f"group_concat({expression}, ',')"


def split_joined(text: Any) -> list[list[str]]:
    """What `joined` gave, back in items, each split at ':' into the fields the expression
    joined that way (NULL: no rows)."""
    return [item.split(":") for item in str(text or "").split(",") if item]


async def raw_rows(model: type[Model], sql: str, *params: Any) -> list[dict[str, Any]]:
    """Run a read on the connection (or transaction) the model's queries would use now."""
    conn = _connection(model)
    fetched = await sqlite_engine.fetch(conn, sql, params)
    if fetched is not None:
        return [dict(row) for row in fetched]
    rows: list[dict[str, Any]] = await conn.execute_query_dict(
        _dialect_sql(sql, conn.capabilities.dialect), list(params)
    )
    return rows


async def records(model: type[Model], sql: str, *params: Any) -> Sequence[Mapping[str, Any]]:
    """Rows as the driver returns them (asyncpg Records, sqlite3 Rows: read by column name),
    without building a dict per row, for readers of many rows (the 工作台 overview)."""
    conn = _connection(model)
    fetched = await sqlite_engine.fetch(conn, sql, params)
    if fetched is not None:
        return cast(list[Mapping[str, Any]], fetched)
    _, rows = await conn.execute_query(_dialect_sql(sql, conn.capabilities.dialect), list(params))
    return rows


async def raw_execute(model: type[Model], sql: str, *params: Any) -> None:
    conn = _connection(model)
    if await sqlite_engine.fetch(conn, sql, params) is None:
        await conn.execute_query(_dialect_sql(sql, conn.capabilities.dialect), list(params))


async def counts_by(model: type[Model], column: str) -> dict[str, int]:
    """How many rows of the model's table hold each value of `column` (a state, a kind)."""
    rows = await raw_rows(
        model,
        f"SELECT {column} AS value, COUNT(*) AS n FROM {model._meta.db_table} GROUP BY {column}",
    )
    return {str(r["value"]): int(r["n"]) for r in rows}


def model_of(model: type[ModelT], row: dict[str, Any]) -> ModelT:
    """A row read by hand (`SELECT <table>.* ...`) as a model instance, through the ORM's own
    converter, so types stay the ORM's."""
    return model._init_from_db(**row)


async def raw_models(model: type[ModelT], sql: str, *params: Any) -> list[ModelT]:
    """`SELECT <table>.* ...` rows as model instances."""
    return [model_of(model, row) for row in await raw_rows(model, sql, *params)]


_IN_VALUES = " IN ({values})"


def _in_chunks(
    model: type[Model],
    statement: str,
    values: Sequence[Any],
    before: Sequence[Any],
    after: Sequence[Any],
    size: int,
) -> Iterator[tuple[str, list[Any]]]:
    """On PostgreSQL ` IN ({values})` becomes ` = ANY(?)` binding the chunk as one array: one
    prepared statement however long the chunk (each length of an IN list would be a statement of
    its own in every connection's cache)."""
    if _IN_VALUES not in statement:
        raise ValueError(f"the statement lists no{_IN_VALUES}: {statement!r}")
    postgres = is_postgres(model)
    for chunk in chunks(values, size):
        if postgres:
            yield statement.replace(_IN_VALUES, " = ANY(?)"), [*before, list(chunk), *after]
        else:
            yield statement.format(values=marks(len(chunk))), [*before, *chunk, *after]


async def rows_in(
    model: type[Model],
    statement: str,
    values: Sequence[Any],
    *,
    before: Sequence[Any] = (),
    after: Sequence[Any] = (),
    size: int = 0,
) -> list[dict[str, Any]]:
    """Run `statement`, whose `IN ({values})` lists `values`, once per chunk of `size` values (0:
    `PARAMS`), binding `before` and `after` around the list; the rows of every chunk, in order."""
    out: list[dict[str, Any]] = []
    for text, params in _in_chunks(model, statement, values, before, after, size):
        out += await raw_rows(model, text, *params)
    return out


async def execute_in(
    model: type[Model],
    statement: str,
    values: Sequence[Any],
    *,
    before: Sequence[Any] = (),
    after: Sequence[Any] = (),
    size: int = 0,
) -> None:
    """`rows_in` for a statement that returns nothing."""
    for text, params in _in_chunks(model, statement, values, before, after, size):
        await raw_execute(model, text, *params)


# ---------------------------------------------------------------------------------------------
# Writing many rows


@dataclass(frozen=True, slots=True)
class Insert:
    """A multi-row INSERT of `model`'s table: the columns bound per row, the columns every row
    gives the same SQL expression (a literal state, NULL, ''), and what follows the rows
    (`ON CONFLICT ...`, `RETURNING ...`)."""

    model: type[Model]
    columns: tuple[str, ...]
    constants: tuple[tuple[str, str], ...] = ()
    tail: str = ""

    def _names(self) -> str:
        return ", ".join([*self.columns, *(name for name, _ in self.constants)])

    def sqlite(self, rows: int) -> str:
        """`VALUES (?, ?, 'x'), (?, ?, 'x'), ...` for `rows` rows."""
        row = "(" + ", ".join([*("?" * len(self.columns)), *(e for _, e in self.constants)]) + ")"
        table = self.model._meta.db_table
        return f"INSERT INTO {table} ({self._names()}) VALUES {', '.join([row] * rows)}{self.tail}"

    def postgres(self) -> str:
        """One array per column, unnested: the same statement (one prepared statement in each
        connection's cache) whatever the number of rows."""
        arrays = ", ".join(f"?::{_pg_array_type(self.model, c)}" for c in self.columns)
        picked = ", ".join([*self.columns, *(e for _, e in self.constants)])
        table = self.model._meta.db_table
        return (
            f"INSERT INTO {table} ({self._names()}) SELECT {picked}"
            f" FROM unnest({arrays}) AS u({', '.join(self.columns)}){self.tail}"
        )


def _pg_array_type(model: type[Model], column: str) -> str:
    from tortoise import fields

    field = model._meta.fields_map[column]
    if isinstance(field, fields.BooleanField):
        return "boolean[]"
    if isinstance(field, fields.DatetimeField):
        return "timestamptz[]"
    if isinstance(field, fields.IntField | fields.BigIntField | fields.SmallIntField):
        return "bigint[]"
    if isinstance(field, fields.CharField | fields.TextField):
        return "text[]"
    raise TypeError(f"{model.__name__}.{column}: no array type for {type(field).__name__}")


@functools.lru_cache(maxsize=64)
def _postgres_insert(insert: Insert) -> str:
    return insert.postgres()


@functools.lru_cache(maxsize=256)
def _sqlite_insert(insert: Insert, rows: int) -> str:
    return insert.sqlite(rows)


# Rows one PostgreSQL statement takes (its arrays are one parameter each, so this only bounds
# the size of one message to the server).
PG_ROWS = 5000


async def insert_rows(insert: Insert, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """Write `rows` (one value per column of `insert.columns`, in order), in chunks: on SQLite
    one `VALUES` list per `rows_per_statement` rows, on PostgreSQL one array per column. The
    rows `insert.tail`'s RETURNING gives, in order; [] without one."""
    model = insert.model
    out: list[dict[str, Any]] = []
    if not rows:
        return out
    if any(len(row) != len(insert.columns) for row in rows):
        raise ValueError(f"{insert.columns}: a row of another length")
    if is_postgres(model):
        statement = _postgres_insert(insert)
        for chunk in chunks(rows, PG_ROWS):
            out += await raw_rows(model, statement, *(list(c) for c in zip(*chunk, strict=True)))
        return out
    for chunk in chunks(rows, rows_per_insert(model, len(insert.columns))):
        flat = [value for row in chunk for value in row]
        out += await raw_rows(model, _sqlite_insert(insert, len(chunk)), *flat)
    return out


def rows_per_insert(model: type[Model], columns: int) -> int:
    """Rows one multi-row INSERT of `columns` bound columns takes (`insert_rows`): PostgreSQL's
    arrays are one parameter each, SQLite binds every value."""
    return PG_ROWS if is_postgres(model) else rows_per_statement(columns)


def insert_statements(insert: Insert, rows: int) -> int:
    """How many statements `insert_rows` sends for `rows` rows."""
    return -(-rows // rows_per_insert(insert.model, len(insert.columns)))


# ---------------------------------------------------------------------------------------------
# Watching the statements sent (tests and benchmarks count and explain them)


@dataclass(frozen=True, slots=True)
class Sent:
    sql: str
    params: tuple[Any, ...]


@contextmanager
def statements() -> Iterator[list[Sent]]:
    """Collect every statement the ORM's connections send meanwhile, with its parameters:
    tortoise's db client logs each at DEBUG as ("%s: %s", statement, values); its connection
    messages and transaction control are not statements. The collector takes the place of the
    logger's `debug` while it runs, so no log record is made (turning DEBUG on for the logger
    would cost a record per statement: about 5 % of a busy server's CPU) and none goes further."""
    seen: list[Sent] = []
    log = logging.getLogger("tortoise.db_client")
    outer = log.__dict__.get("debug")  # a collector this one runs inside: it sees them too

    def collect(msg: object, *args: Any, **kwargs: Any) -> None:
        if len(args) == 2 and isinstance(args[0], str):
            values = args[1]
            if isinstance(values, list | tuple | type(None)):
                seen.append(Sent(args[0], tuple(values or ())))
        if outer is not None:
            outer(msg, *args, **kwargs)

    log.debug = collect  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        if outer is None:
            del log.debug  # the class's method again
        else:
            log.debug = outer  # type: ignore[method-assign]


def columns_of(instance: Model) -> dict[str, Any]:
    """A model instance's values by column name, as a `SELECT <table>.*` row holds them, for the
    readers that build their views from rows (values already converted by the ORM)."""
    projection = instance._meta.fields_db_projection
    return {column: getattr(instance, name) for name, column in projection.items()}
