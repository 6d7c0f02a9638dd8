"""On PostgreSQL a batch is one statement whatever its size: each connection keeps a prepared
statement per distinct text (asyncpg's cache), so IN lists and multi-row VALUES of every length
would fill every connection's cache with near-copies. Rows are written as one array per column
(`unnest`), lists bound as one array (`= ANY(?)`). SQLite keeps its VALUES lists; both engines
must write and read the same rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import inbox, outbox, reminders
from storage import models as m
from storage.sql import Insert, insert_rows, statements

NOW = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)
SIZES = (1, 2, 3, 7, 40)


def _distinct(seen: list, *words: str) -> set[str]:
    return {s.sql for s in seen if all(w in s.sql for w in words)}


async def test_the_inbound_queue_uses_one_statement_per_kind_whatever_the_batch(
    database: str, backend: str
) -> None:
    n = 0
    with statements() as seen:
        for size in SIZES:
            rows = [
                inbox.NewInbound(f"k{n + i}", f"chat{n + i}", f"payload {n + i}")
                for i in range(size)
            ]
            n += size
            assert await inbox.accept(rows, NOW) == {r.key for r in rows}
            claimed = await inbox.claim("me", NOW, lease=timedelta(seconds=60), limit=size)
            assert len(claimed) == size
            assert [c.payload for c in claimed] == [r.payload for r in rows]
            await inbox.release([c.id for c in claimed[1:]], "me")
            await inbox.finish([c.id for c in claimed[:1]], NOW)
            claimed = await inbox.claim("me", NOW, lease=timedelta(seconds=60), limit=size)
            await inbox.finish([c.id for c in claimed], NOW)
    assert await inbox.depth() == 0
    assert await m.InboundMessage.filter(state="done").count() == n
    writes = {
        "INSERT INTO inbound_message": _distinct(seen, "INSERT INTO inbound_message"),
        "claim": _distinct(seen, "UPDATE inbound_message SET claimed_by")
        - _distinct(seen, "claimed_until = NULL"),
        "release": _distinct(seen, "claimed_until = NULL"),
        "finish": _distinct(seen, "UPDATE inbound_message SET state"),
    }
    for what, texts in writes.items():
        if backend == "postgres":
            assert len(texts) == 1, (what, texts)
        else:
            assert len(texts) >= 3, (what, texts)  # a VALUES or IN list per length


async def test_outbox_and_reminder_rows_written_as_arrays_read_back_the_same(
    database: str, backend: str
) -> None:
    n = 0
    with statements() as seen:
        for size in SIZES:
            items = [
                outbox.NewOutbox(
                    f"d{n + i}",
                    f"dingtalk:group:c{(n + i) % 3}",
                    f'{{"text": "第{n + i}条"}}',
                    society_id=None if (n + i) % 2 else n + i,
                    hold_until=None if (n + i) % 3 else NOW + timedelta(minutes=5),
                    guard_seq=None if (n + i) % 3 else n + i,
                )
                for i in range(size)
            ]
            ids = await outbox.enqueue(items, NOW)
            assert len(ids) == size
            assert await outbox.enqueue(items, NOW) == []  # the dedupe keys hold
            added = await reminders.add_reminders(
                [
                    reminders.NewReminder(f"r{n + i}", n + i, "deadline", f"ref{i}", NOW)
                    for i in range(size)
                ],
                NOW,
            )
            assert added == size
            n += size
    stored = {o.dedupe_key: o for o in await m.OutboxMessage.all()}
    assert len(stored) == n
    assert stored["d3"].society_id is None
    assert stored["d2"].society_id == 2
    assert stored["d6"].state == "held"
    assert stored["d6"].guard_seq == 6
    assert stored["d1"].state == "pending"
    assert stored["d1"].guard_seq is None
    assert stored["d1"].attempts == 0
    assert stored["d1"].ambiguous is False
    assert await m.Reminder.filter(state="pending").count() == n
    assert await m.ChannelState.all().count() == 3
    inserts = {
        table: _distinct(seen, f"INSERT INTO {table}") for table in ("outbox_message", "reminder")
    }
    for table, texts in inserts.items():
        if backend == "postgres":
            assert len(texts) == 1, (table, texts)
            assert all("unnest(" in t for t in texts)


async def test_a_row_of_the_wrong_length_is_refused_before_any_write(database: str) -> None:
    insert = Insert(m.ChannelState, ("channel",), (("reason", "''"), ("lease_owner", "''")))
    with pytest.raises(ValueError, match="another length"):
        await insert_rows(insert, [("a",), ("b", "extra")])
    assert await m.ChannelState.all().count() == 0
    assert await insert_rows(insert, []) == []


async def test_the_statement_collector_sees_each_statement_once_and_nests(database: str) -> None:
    with statements() as outer:
        await m.ChannelState.all().count()
        with statements() as inner:
            await m.ChannelState.all().count()
        await m.ChannelState.all().count()
    await m.ChannelState.all().count()  # after both: seen by neither
    assert len(inner) == 1
    assert len(outer) == 3
    assert all("channel_state" in s.sql for s in [*outer, *inner])
