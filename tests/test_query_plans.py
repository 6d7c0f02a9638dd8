"""Every statement of the hot paths is served by an index, on SQLite and on PostgreSQL; a ballot
sends a fixed, small number of statements.

The statements are not copied here: the real handlers, the inbound queue, the sender and the
reminder sweep run on the demo society (and a few more, so the tables hold more than one
society's rows) while a query logger (tortoise's `tortoise.db_client` logger, which hands over
each statement with its parameters) records what they send. Each recorded statement is then
explained with its own parameters: SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN with
sequential scans discouraged (`enable_seqscan = off`, so a table the planner still scans has no
usable index). A full scan of a table that grows with the societies, meetings or votes fails.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tortoise import Tortoise, connections

from bot.adapters.console import CORP, console_user
from bot.demo import seed_society
from bot.events import ChatRef, Platform
from bot.inbox import Inbox, make_apply
from bot.reminders.service import ReminderService
from storage import db
from storage import inbox as inbox_store
from storage.sql import statements
from tests.kit.console import ConsoleRig
from tests.kit.seed import NAMES
from tests.kit.voting import open_vote

# Tables whose rows stay few whatever the size of the database.
SMALL_TABLES = frozenset({"bot_instance", "tortoise_migrations"})
MEMBERS = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏")
CHOICES = ("赞成", "赞成", "反对", "弃权", "赞成", "赞成", "赞成")


@dataclass(frozen=True)
class Statement:
    path: str  # the hot path that sent it
    sql: str
    params: tuple[Any, ...]


class QueryLog:
    """Every statement the hot paths send (storage.sql.statements), with the path that sent it."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []

    @contextmanager
    def on(self, path: str) -> Iterator[None]:
        with statements() as sent:
            yield
        self.statements += [Statement(path, s.sql, s.params) for s in sent]


async def _other_societies(h: ConsoleRig, count: int) -> None:
    """More societies, each bound to a group of its own, so that no table holds the rows of the
    society under test only."""
    for n in range(count):
        people = {name: console_user(f"{name}{n:03d}") for name in NAMES}
        chat = ChatRef(Platform.CONSOLE, CORP, f"plans-{n:03d}")
        await seed_society(f"查询计划学会{n:03d}", people, h.clock.now(), chat=chat)


async def _run_hot_paths(h: ConsoleRig, log: QueryLog) -> None:
    h.at("2026-12-01 09:00")
    with log.on("convene"):
        await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作；经费预算")
    h.at("2026-12-05 14:50")
    with log.on("check-in"):
        for name in MEMBERS:
            await h.say(name, "签到")
    h.at("2026-12-05 15:00")
    with log.on("open meeting"):
        await h.say("张伟", "开会")
    with log.on("open vote"):
        await h.say("张伟", "发起表决 1")
    with log.on("ballot"):
        for name, choice in zip(MEMBERS, CHOICES, strict=True):
            assert "已记录" in await h.say(name, choice)
    with log.on("change ballot"):
        await h.say("赵敏", "反对")
    with log.on("close vote"):
        await h.say("张伟", "结束表决")
    with log.on("private message"):
        assert "第1次会议" in await h.say("李娜", "会议状态", private=True)
    # The first sweep plans every society (at start-up, on a new day, as a safety net); the
    # sweep of every minute re-plans the societies with new events only: that one is measured.
    service = ReminderService(h.settings, h.clock.now, instance="plans")
    await service.sweep()
    with log.on("open vote"):
        await h.say("张伟", "发起表决 2 截止 16:00")
    h.at("2026-12-05 15:02")
    with log.on("reminders sweep"):
        await service.sweep()
    assert h.delivery is not None
    delivery = h.delivery
    with log.on("outbox claim"):
        await delivery.sender.run_once()
    box = Inbox(
        clock=h.clock, instance="plans", apply=make_apply(h.router.dispatch, delivery.enqueue)
    )
    with log.on("inbound accept"):
        await box.submit(h.adapter.decode("李娜", "会议状态"))
    with log.on("inbound claim"):
        claimed = await inbox_store.claim("plans", h.clock.now(), lease=timedelta(60), limit=8)
        assert claimed
    with log.on("inbound apply"):
        await box.drain()


_SQLITE_SCAN = re.compile(r"^SCAN (\w+)")
_SQLITE_SEARCH = re.compile(r"^SEARCH (\w+) USING .*?\((.*)\)$")
# A platform's organisation (WeCom corp, DingTalk corp, the console) holds every society of a
# deployment: a seek by these columns alone reads the whole table in practice.
TENANT_WIDE = frozenset({"platform", "corp_id"})
_WORD = re.compile(r"[A-Za-z_]\w*")
_QUOTED = re.compile(r"'(?:[^']|'')*'")
_CAST = re.compile(r"::(?:text|integer|bigint|boolean|character varying|timestamp with time zone)")


def _columns() -> frozenset[str]:
    return frozenset(
        column
        for app in Tortoise.apps.values()
        for model in app.values()
        for column in model._meta.fields_db_projection.values()
    )


def _tenant_wide(condition: str) -> bool:
    """An index condition that names no column but tenant-wide ones (PostgreSQL's constants
    and casts are not names)."""
    condition = _CAST.sub("", _QUOTED.sub("", condition))
    named = set(_WORD.findall(condition)) & _columns()
    return bool(named) and named <= TENANT_WIDE


_ALIAS = re.compile(r'(?:FROM|JOIN|UPDATE)\s+"?(\w+)"?(?:\s+(?:AS\s+)?"?(\w+)"?)?', re.IGNORECASE)


async def _sqlite_scans(url: str, st: Statement) -> tuple[set[str], str]:
    """SQLite: the names a `SCAN` step reads whole (a table, or an index of it, read from end to
    end), or a `SEARCH` step seeks by tenant-wide columns only."""
    conn = connections.get(db.connection_name(url))
    _, rows = await conn.execute_query(f"EXPLAIN QUERY PLAN {st.sql}", list(st.params))
    plan = [str(r["detail"]) for r in rows]
    names = set()
    for line in plan:
        search = _SQLITE_SEARCH.match(line)
        if search is not None and _tenant_wide(search.group(2)):
            names.add(search.group(1))
        elif scan := _SQLITE_SCAN.match(line):
            names.add(scan.group(1))
    return names, "; ".join(plan)


def _pg_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from _pg_nodes(child)


async def _pg_scans(url: str, st: Statement) -> tuple[set[str], str]:
    """PostgreSQL, sequential scans discouraged: a sequential scan, or an index scan with no
    index condition (the whole index in order), reads the table whole."""
    conn = connections.get(db.connection_name(url))
    async with conn.acquire_connection() as raw, raw.transaction():
        await raw.execute("SET LOCAL enable_seqscan = off")
        text = await raw.fetchval(f"EXPLAIN (FORMAT JSON) {st.sql}", *st.params)
    plan = json.loads(text)[0]["Plan"]
    names = set()
    for node in _pg_nodes(plan):
        kind = node["Node Type"]
        seek = str(node.get("Index Cond", ""))
        whole = kind == "Seq Scan" or (
            kind in ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
            and (not seek or _tenant_wide(seek))
        )
        if whole:
            names.add(str(node.get("Relation Name") or node.get("Index Name", "")))
    return names, json.dumps(plan, ensure_ascii=False)[:400]


def _tables() -> frozenset[str]:
    return frozenset(
        model._meta.db_table for app in Tortoise.apps.values() for model in app.values()
    )


async def _full_scans(url: str, st: Statement) -> tuple[set[str], str]:
    """The growing tables the plan reads whole. SQLite names a table by its alias in the
    statement; CTE and subquery results are not tables."""
    read = _sqlite_scans if db.is_sqlite(url) else _pg_scans
    names, plan = await read(url, st)
    tables = _tables()
    aliases = {t: t for t in tables}
    for found in _ALIAS.finditer(st.sql):
        if found.group(1) in tables and found.group(2):
            aliases.setdefault(found.group(2), found.group(1))
    scanned = {aliases.get(name, "") for name in names}
    return {t for t in scanned if t and t not in SMALL_TABLES}, plan


def _explainable(sql: str) -> bool:
    """A statement that reads or writes rows; the ORM's `WHERE 1=0` (an empty IN list) is
    answered without reading the table."""
    head = sql.lstrip().split(None, 1)[0].upper()
    return head in {"SELECT", "UPDATE", "DELETE", "WITH", "INSERT"} and "WHERE 1=0" not in sql


async def test_hot_paths_scan_no_growing_table(database: str) -> None:
    h = await ConsoleRig.create()
    await _other_societies(h, 3)
    log = QueryLog()
    await _run_hot_paths(h, log)
    paths = {st.path for st in log.statements}
    assert {"convene", "check-in", "ballot", "open vote", "reminders sweep"} <= paths
    assert {"outbox claim", "inbound claim", "private message"} <= paths
    seen: set[str] = set()
    problems: list[str] = []
    for st in log.statements:
        key = repr((st.sql, st.params))
        if not _explainable(st.sql) or key in seen:
            continue
        seen.add(key)
        scans, plan = await _full_scans(database, st)
        if scans:
            problems.append(f"[{st.path}] full scan of {sorted(scans)}: {st.sql}\n  {plan}")
    assert not problems, "\n".join(problems)


# What one named ballot in a group sends, transaction control (BEGIN, SAVEPOINT, COMMIT) aside:
# the de-duplication row; admission's read of the society, the speaker, their roster entry and
# the active meeting (PostgreSQL: the society's lock first, then the rest); the open vote with its
# ballots; the ballot; the chain head with the chain's last entry; the ballot's seal; the event;
# the head; the stored reply; the outbox channel and the card update.
BALLOT_STATEMENTS = {"sqlite": 11, "postgres": 12}
# Once the group's scene is remembered (storage/scenes.py: after the first ballot of the vote),
# one read checks it and brings the head with the chain's last entry and the ballots so far (on
# SQLite the speaker too; PostgreSQL reads the speaker with the society's lock, first): the open
# vote's read and the head's are gone.
SCENE_BALLOT_STATEMENTS = {"sqlite": 8, "postgres": 9}


async def test_a_named_ballot_sends_few_statements(database: str) -> None:
    h = await ConsoleRig.create()
    await open_vote(h, MEMBERS[1:])
    log = QueryLog()
    for name, choice in zip(MEMBERS, CHOICES, strict=True):
        with log.on(name):  # the router alone: the rig's delivery of the outbox aside
            replies = await h.router.dispatch(h.adapter.decode(name, choice))
        assert "已记录" in replies[0].text
    per_ballot = Counter(st.path for st in log.statements)
    assert set(per_ballot) == set(MEMBERS)
    # The first card update of the group also writes the outbox channel's row, and the second
    # looks for it once more before it is remembered: one more each.
    engine = "sqlite" if db.is_sqlite(database) else "postgres"
    bound, later = BALLOT_STATEMENTS[engine], SCENE_BALLOT_STATEMENTS[engine]
    allowed = {name: later + (name == MEMBERS[1]) for name in MEMBERS[1:]}
    allowed[MEMBERS[0]] = bound + 1
    over = [name for name in MEMBERS if per_ballot[name] > allowed[name]]
    sent = [st.sql for st in log.statements if over and st.path == over[0]]
    assert not over, f"{per_ballot}\n" + "\n".join(sent)
