"""/metrics: prometheus_client's exposition, parsed with its own parser; and a scrape that reads
no whole table (each database read is served by an index, checked with EXPLAIN on both engines).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.app import FEED, RUNTIME, build_app
from bot.events import ChatRef, OutgoingMessage, Platform
from storage import inbox, outbox, reminders
from storage import models as m
from storage.sql import is_postgres, raw_execute, raw_rows
from tests.kit.clock import FakeScheduler
from tests.kit.console import ConsoleRig


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def test_scrape_parses_with_process_latency_and_outcome_metrics(harness: ConsoleRig) -> None:
    h = harness
    app = build_app(h.settings, clock=h.clock, adapters=[h.adapter], scheduler=FakeScheduler())
    async with TestClient(TestServer(app)) as client:
        runtime = app[RUNTIME]
        for speaker, text in (
            ("张伟", "会议状态"),
            ("李娜", "会议状态"),
            ("李娜", "开会"),
            ("张伟", "开会"),
        ):
            await app[FEED](h.adapter.decode(speaker, text))
        await runtime.delivery.deliver(
            [OutgoingMessage(chat=ChatRef(Platform.CONSOLE, "console", "group"), text="通知")]
        )
        await runtime.delivery.sender.run_once()
        resp = await client.get("/metrics")
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        found = samples(await resp.text())
    names = {name for name, _ in found}
    # Process metrics.
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes", "python_info"} <= names
    # Counters by command (its first word) and outcome.
    assert value(found, "yishi_commands_total", command="会议状态", outcome="ok") == 2
    assert value(found, "yishi_commands_total", command="宣布开会", outcome="refused") == 1
    assert value(found, "yishi_commands_total", command="宣布开会", outcome="rejected") == 1
    assert value(found, "yishi_inbound_events_total", platform="console") == 4
    # Latency histograms: message handling and sends, per platform.
    assert value(found, "yishi_message_handling_seconds_count", platform="console") == 4
    assert value(found, "yishi_message_handling_seconds_bucket", platform="console", le="+Inf") == 4
    assert value(found, "yishi_sends_total", platform="console", outcome="sent") >= 1
    assert value(found, "yishi_send_seconds_count", platform="console") >= 1
    # Gauges read from the database, by state.
    assert ("yishi_outbox_messages", frozenset({("state", "pending")})) in found
    assert ("yishi_reminders", frozenset({("state", "pending")})) in found
    assert "yishi_reminder_lag_seconds" in names
    assert "yishi_channels_paused" in names
    assert not any(name.endswith("_created") for name in names)


# ---------------------------------------------------------------------------------------------
# No table scans per scrape


NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


async def _fill(rows: int) -> None:
    """Many finished rows (sent, done, decided) and a few waiting ones, then fresh statistics."""
    chunk = 200
    for start in range(0, rows, chunk):
        await outbox.enqueue(
            [
                outbox.NewOutbox(f"k{n}", f"ch{n % 7}", "{}")
                for n in range(start, min(rows, start + chunk))
            ],
            NOW,
        )
        await inbox.accept(
            [
                inbox.NewInbound(f"in{n}", f"chat{n % 7}", "{}")
                for n in range(start, min(rows, start + chunk))
            ],
            NOW,
        )
        await reminders.add_reminders(
            [
                reminders.NewReminder(f"r{n}", 1, "cadence", str(n), NOW - timedelta(minutes=n))
                for n in range(start, min(rows, start + chunk))
            ],
            NOW,
        )
    await raw_execute(m.OutboxMessage, "UPDATE outbox_message SET state = 'sent' WHERE id > 5")
    await raw_execute(m.InboundMessage, "UPDATE inbound_message SET state = 'done' WHERE id > 5")
    await raw_execute(m.Reminder, "UPDATE reminder SET state = 'sent' WHERE id > 5")
    if is_postgres(m.OutboxMessage):
        for table in ("outbox_message", "inbound_message", "reminder"):
            await raw_execute(m.OutboxMessage, f"ANALYZE {table}")
    else:
        await raw_execute(m.OutboxMessage, "ANALYZE")


async def _plan(model: type[m.Model], sql: str, *params: object) -> list[str]:
    if is_postgres(model):
        rows = await raw_rows(model, f"EXPLAIN {sql}", *params)
        return [str(r["QUERY PLAN"]) for r in rows]
    rows = await raw_rows(model, f"EXPLAIN QUERY PLAN {sql}", *params)
    return [str(r["detail"]) for r in rows]


async def test_every_scrape_query_is_served_by_an_index(database: str) -> None:
    await _fill(3000)
    queries = [
        (m.OutboxMessage, outbox.WAITING_COUNTS_SQL, ()),
        (m.InboundMessage, inbox.DEPTH_SQL, ()),
        (m.Reminder, reminders.UNDECIDED_COUNTS_SQL, ()),
        (m.Reminder, reminders.OLDEST_OVERDUE_SQL, (NOW,)),
    ]
    for model, sql, params in queries:
        plan = await _plan(model, sql, *params)
        text = "\n".join(plan)
        if is_postgres(model):
            assert "Seq Scan" not in text, (sql, text)
            assert "Index" in text, (sql, text)
        else:
            # SQLite: SEARCH walks the index range; SCAN reads every row (also of an index).
            assert any(line.startswith("SEARCH") and "INDEX" in line for line in plan), (sql, text)
            assert not any(line.startswith("SCAN") for line in plan), (sql, text)
    # And the gauges read what is waiting, not what is done.
    assert await outbox.waiting_counts() == {"pending": 5}
    assert await inbox.depth() == 5
    assert await reminders.undecided_counts() == {"pending": 5}
