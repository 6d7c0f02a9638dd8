"""The 工作台 at the committee's scale: 2,000 societies with two years of meetings, PostgreSQL.

Seeds a throw-away database with COPY (societies, people, rosters, meetings every two to four
months with attendance, filings, pending roster changes, event chains of 30 entries, chain
checks), serves the real pages (bot.web.app.mount_web) on 127.0.0.1, logs in the way a person
does (a one-time link, the login form) and measures:

  overview, first page   server-side time (a middleware of the outer app around the page:
                         session, access, the read model, sorting, the template) and the
                         client's round trip, median and p99 over --requests requests
  statements per page    every statement the ORM's connections send (tortoise logs each)
  CSV / XLSX of all      the whole table, server-side time
  a society's page       server-side time (it re-verifies that society's chain)

    .venv/bin/python benchmarks/workbench.py [--societies 2000] [--requests 200]

YISHI_BENCH_PG (default postgres://postgres@127.0.0.1:5432/test) names the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import asyncpg
from aiohttp import web

from benchmarks import kit
from bot.clock import SystemClock
from bot.config import CommitteeAdmin, Settings, WebSettings
from bot.events import Platform, UserRef
from bot.ledger import GENESIS, canonical_json, entry_hash
from bot.web.app import mount_web
from bot.web.auth import issue_link
from storage import db, repo
from storage.sql import statements

PG_SERVER = os.environ.get("YISHI_BENCH_PG", "postgres://postgres@127.0.0.1:5432/test")
ADMIN = CommitteeAdmin("console", "console", "bench-admin", "市党委管理员")
HELD = ("signed", "closed")


@dataclass
class Seeded:
    societies: int
    people: int
    meetings: int
    attendance: int
    events: int
    seconds: float


def _rows(societies: int, now: datetime, rng: random.Random) -> dict[str, list[tuple[Any, ...]]]:
    """Every row to COPY, with explicit ids."""
    out: dict[str, list[tuple[Any, ...]]] = {
        k: []
        for k in (
            "person",
            "society",
            "member",
            "meeting",
            "attendance",
            "filing",
            "roster_change",
            "event_log",
            "chain_check",
        )
    }
    person_id = meeting_id = attendance_id = filing_id = change_id = event_id = 0
    start = now - timedelta(days=730)
    for s in range(1, societies + 1):
        people = []
        for i in range(9):
            person_id += 1
            people.append(person_id)
            out["person"].append((person_id, f"学会{s:04d}成员{i}", True))
        roster = people[:7] if s % 10 else people[:6]  # a tenth with a vacancy
        joined = start - timedelta(days=rng.randint(0, 400))
        term_end = (now + timedelta(days=rng.randint(-30, 1400))).date()
        out["society"].append(
            (
                s,
                f"苏州市第{s:04d}科技学会",
                joined.date() - timedelta(days=365),
                term_end,
                False,
                people[8],
                people[4],
                "12-31",
                "{}",
                joined,
            )
        )
        for i, p in enumerate(people):
            role = "leader" if i == 0 else "member" if p in roster else "none"
            out["member"].append((s * 10 + i, s, p, role, "director"))
        # Meetings every 2-4 months for two years; some societies stop meeting for a while.
        pause = rng.choice((0, 0, 0, 0, 120, 160, 200, 300))
        at = start + timedelta(days=rng.randint(0, 60))
        number = 0
        while at < now - timedelta(days=pause):
            number += 1
            meeting_id += 1
            last = at + timedelta(days=75) >= now - timedelta(days=pause)
            state = "closed" if last and s % 7 == 0 else "signed"
            out["meeting"].append(
                (
                    meeting_id,
                    s,
                    number,
                    "学会会议室",
                    at,
                    state,
                    people[0],
                    people[0],
                    json.dumps(roster),
                    at - timedelta(days=5),
                    at,
                    at + timedelta(hours=2),
                )
            )
            for p in roster:
                attendance_id += 1
                status = "present" if rng.random() < 0.85 else rng.choice(("leave", "absent"))
                out["attendance"].append((attendance_id, meeting_id, p, status, "", at))
            at += timedelta(days=rng.randint(60, 120))
        if rng.random() < 0.7:
            filing_id += 1
            out["filing"].append(
                (filing_id, s, "work_rules", "议事规则", "", people[4], joined, people[4], joined)
            )
        for year, share in ((now.year - 1, 0.8), (now.year, 0.3)):
            if rng.random() < share:
                filing_id += 1
                when = datetime(year, 12, rng.randint(1, 28), tzinfo=UTC)
                when = min(when, now - timedelta(days=1))
                out["filing"].append(
                    (
                        filing_id,
                        s,
                        "annual_summary",
                        f"{year}年度工作总结",
                        "",
                        people[4],
                        when,
                        people[4],
                        when,
                    )
                )
        if rng.random() < 0.1:
            filing_id += 1
            out["filing"].append(
                (
                    filing_id,
                    s,
                    "major_issue",
                    "关于换届的请示",
                    "",
                    people[4],
                    now - timedelta(days=3),
                    None,
                    None,
                )
            )
        if rng.random() < 0.05:
            change_id += 1
            out["roster_change"].append(
                (
                    change_id,
                    s,
                    "add",
                    people[7],
                    "member",
                    "director",
                    "工作需要",
                    "pending",
                    people[0],
                    None,
                    False,
                    "",
                    now - timedelta(days=2),
                    None,
                )
            )
        chain = f"society:{s}"
        prev = GENESIS
        for seq in range(1, 31):
            event_id += 1
            at_text = (joined + timedelta(days=seq)).isoformat(timespec="seconds")
            payload = canonical_json({"note": seq})
            h = entry_hash(
                prev,
                chain=chain,
                seq=seq,
                at=at_text,
                kind="note",
                meeting_id=None,
                payload=payload,
            )
            out["event_log"].append(
                (
                    event_id,
                    chain,
                    seq,
                    datetime.fromisoformat(at_text),
                    "note",
                    None,
                    payload,
                    prev,
                    h,
                )
            )
            prev = h
        out["chain_check"].append((s, s, now, 30, prev, None, ""))
    return out


COLUMNS = {
    "person": ("id", "name", "is_party_member"),
    "society": (
        "id",
        "name",
        "term_start",
        "term_end",
        "roster_exception",
        "recorder_id",
        "liaison_id",
        "report_deadline",
        "settings",
        "created_at",
    ),
    "member": ("id", "society_id", "person_id", "roster_role", "position"),
    "meeting": (
        "id",
        "society_id",
        "number",
        "place",
        "starts_at",
        "state",
        "convened_by_id",
        "chair_id",
        "roster",
        "created_at",
        "opened_at",
        "closed_at",
    ),
    "attendance": ("id", "meeting_id", "person_id", "status", "reason", "at"),
    "filing": (
        "id",
        "society_id",
        "kind",
        "title",
        "body",
        "filed_by_id",
        "at",
        "acknowledged_by_id",
        "acknowledged_at",
    ),
    "roster_change": (
        "id",
        "society_id",
        "kind",
        "person_id",
        "roster_role",
        "position",
        "reason",
        "status",
        "requested_by_id",
        "decided_by_id",
        "exception",
        "decision_note",
        "created_at",
        "decided_at",
    ),
    "event_log": (
        "id",
        "chain",
        "seq",
        "at",
        "kind",
        "meeting_id",
        "payload",
        "prev_hash",
        "hash",
    ),
    "chain_check": ("id", "society_id", "checked_at", "entries", "head", "broken_seq", "problem"),
}


async def seed(url: str, societies: int, now: datetime) -> Seeded:
    began = time.perf_counter()
    rows = _rows(societies, now, random.Random(16))
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        for table, columns in COLUMNS.items():
            await conn.copy_records_to_table(table, records=rows[table], columns=columns)
            if rows[table]:
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"
                )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return Seeded(
        societies,
        len(rows["person"]),
        len(rows["meeting"]),
        len(rows["attendance"]),
        len(rows["event_log"]),
        time.perf_counter() - began,
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def run(societies: int, requests: int) -> int:
    async with kit.throwaway_postgres(PG_SERVER, "yishi_bench_web") as url:
        return 2 if url is None else await measure(url, societies, requests)


async def measure(url: str, societies: int, requests: int) -> int:
    clock = SystemClock()
    now = clock.now()
    await db.upgrade(url)
    seeded = await seed(url, societies, now)
    print(
        f"seeded {seeded.societies} societies, {seeded.people} people, {seeded.meetings} "
        f"meetings, {seeded.attendance} attendance rows, {seeded.events} events "
        f"in {seeded.seconds:.1f} s (COPY)"
    )
    port = _free_port()
    settings = Settings(
        database_url=url,
        committee_admins=(ADMIN,),
        web=WebSettings(base_url=f"http://127.0.0.1:{port}"),
    )
    await db.open_db(url, run_migrations=False)
    timings: dict[str, list[float]] = {}

    @web.middleware
    async def timer(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        began = time.perf_counter()
        response = await handler(request)
        timings.setdefault(request.path, []).append(time.perf_counter() - began)
        return response

    async def nothing() -> None:
        return None

    root = web.Application(middlewares=[timer])
    mount_web(root, settings, clock, key=os.urandom(32), after_change=nothing, verify_chains=False)
    runner = web.AppRunner(root, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    base = f"http://127.0.0.1:{port}"
    try:
        admin = UserRef(Platform.CONSOLE, ADMIN.corp_id, ADMIN.user_id, ADMIN.name)
        person = await repo.ensure_person(admin, name=ADMIN.name)
        async with repo.atomic():
            link = await issue_link(settings, person.id, clock.now())
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as client:
            async with client.post(link) as resp:
                assert resp.status == 200, resp.status
            report = await _requests(client, base, timings, requests)
    finally:
        await runner.cleanup()
        await db.close_db()
    print(report)
    return 0


async def _get(client: aiohttp.ClientSession, url: str) -> tuple[float, int]:
    began = time.perf_counter()
    async with client.get(url) as resp:
        body = await resp.read()
        assert resp.status == 200, (url, resp.status)
    return time.perf_counter() - began, len(body)


async def _requests(
    client: aiohttp.ClientSession, base: str, timings: dict[str, list[float]], n: int
) -> str:
    lines = []
    counts = {}
    for path in ("/web/", "/web/overview", "/web/overview.csv", "/web/approvals", "/web/society/1"):
        with statements() as seen:
            await _get(client, base + path)
        counts[path] = len(seen)
    for _ in range(10):  # warm-up
        await _get(client, base + "/web/overview")
    timings.clear()
    round_trips = [(await _get(client, base + "/web/overview"))[0] for _ in range(n)]
    server = timings["/web/overview"]
    lines.append(
        f"overview, first page (50 of all societies): server median {statistics.median(server) * 1000:.1f} ms,"
        f" p99 {percentile(server, 0.99) * 1000:.1f} ms; round trip median"
        f" {statistics.median(round_trips) * 1000:.1f} ms, p99 {percentile(round_trips, 0.99) * 1000:.1f} ms"
        f" ({n} requests)"
    )
    for label, path in (
        ("sorted by months, filtered", "/web/overview?sort=months&dir=desc&f=stale6"),
    ):
        timings.clear()
        for _ in range(max(n // 4, 10)):
            await _get(client, base + path)
        got = timings[path.split("?", 1)[0]]
        lines.append(
            f"overview, {label}: server median {statistics.median(got) * 1000:.1f} ms,"
            f" p99 {percentile(got, 0.99) * 1000:.1f} ms"
        )
    for path, runs in (("/web/overview.csv", 5), ("/web/overview.xlsx", 3)):
        timings.clear()
        size = 0
        for _ in range(runs):
            _, size = await _get(client, base + path)
        got = timings[path]
        lines.append(
            f"{path.rsplit('/', 1)[1]} of all societies: server median {statistics.median(got):.2f} s,"
            f" max {max(got):.2f} s ({size / 1024:.0f} KiB, {runs} runs)"
        )
    timings.clear()
    for _ in range(30):
        await _get(client, base + "/web/society/1")
    got = timings["/web/society/1"]
    lines.append(
        f"a society's page (verifies its chain): server median {statistics.median(got) * 1000:.1f} ms,"
        f" p99 {percentile(got, 0.99) * 1000:.1f} ms"
    )
    lines.append(
        "statements per request: " + ", ".join(f"{path} {count}" for path, count in counts.items())
    )
    return "\n".join(lines)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    kit.ensure_server_key()
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--societies", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)
    return asyncio.run(run(args.societies, args.requests))


if __name__ == "__main__":
    raise SystemExit(main())
