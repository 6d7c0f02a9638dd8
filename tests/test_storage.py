"""Storage settings and invariants on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tortoise import connections

from storage import db, models, repo, verify


async def test_sqlite_runs_wal_with_full_sync_and_busy_timeout(database: str) -> None:
    if not db.is_sqlite(database):
        return
    conn = connections.get(db.connection_name(database))
    _, mode = await conn.execute_query("PRAGMA journal_mode")
    _, sync = await conn.execute_query("PRAGMA synchronous")
    _, busy = await conn.execute_query("PRAGMA busy_timeout")
    assert str(mode[0][0]).lower() == "wal"
    assert int(sync[0][0]) == 2  # FULL
    assert int(busy[0][0]) == 5000


async def test_sqlite_reuses_its_wal_file_after_a_checkpoint(database: str) -> None:
    """tortoise's journal_size_limit of 16 KiB cut the WAL back at each checkpoint, so every
    commit grew the file again (a slower flush). Ours keeps it: after a checkpoint the next
    commit writes over the old frames and the file keeps its size."""
    if not db.is_sqlite(database):
        return
    conn = connections.get(db.connection_name(database))
    _, limit = await conn.execute_query("PRAGMA journal_size_limit")
    assert int(limit[0][0]) == db.WAL_KEPT_BYTES
    wal = db.sqlite_path(database).with_name(db.sqlite_path(database).name + "-wal")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    society = await repo.create_society("日志学会", now)
    for i in range(60):
        await repo.append_event(society.id, "note", {"i": i, "pad": "字" * 2000}, now)
    grown = wal.stat().st_size
    assert grown > 64 * 1024
    _, done = await conn.execute_query("PRAGMA wal_checkpoint(PASSIVE)")
    busy, frames, copied = tuple(done[0])
    assert busy == 0  # every frame is back in the file: the WAL starts over
    assert frames == copied
    await repo.append_event(society.id, "note", {"after": True}, now)
    assert wal.stat().st_size == grown


async def test_hand_written_sql_runs_where_the_orm_would(database: str) -> None:
    """storage/sql.py reads the task's connection itself: the same object the ORM would use,
    the transaction's inside one, the client's outside."""
    from tortoise.transactions import in_transaction

    from storage.sql import _connection

    assert _connection(models.Society) is models.Society._meta.db
    async with in_transaction(db.connection_name(database)) as tx:
        assert _connection(models.Society) is tx is models.Society._meta.db
        await repo.create_society("事务学会", datetime(2026, 12, 1, tzinfo=UTC))
    assert _connection(models.Society) is models.Society._meta.db


async def test_instants_are_stored_in_utc_and_filter_across_zones(database: str) -> None:
    shanghai = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)  # 15:00 in Asia/Shanghai
    society = await repo.create_society("时区测试学会", shanghai)
    person = await models.Person.create(name="甲")
    from bot import governance as g

    meeting = await repo.create_meeting(
        society.id,
        starts_at=shanghai,
        place="会议室",
        convened_by=person.id,
        state=g.MeetingState.CONVENED,
        now=shanghai,
    )
    assert meeting.starts_at == shanghai
    assert (await repo.meeting(meeting.id)).starts_at.utcoffset() == timedelta(0)
    assert [m.id for m in await repo.meetings_in_year(society.id, 2026)] == [meeting.id]
    assert await repo.meetings_in_year(society.id, 2027) == []


async def test_event_log_is_a_chain_per_society(database: str) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    a = await repo.create_society("甲学会", now)
    b = await repo.create_society("乙学会", now)
    for i in range(3):
        await repo.append_event(a.id, "note", {"i": i}, now)
        await repo.append_event(b.id, "note", {"i": i}, now)
    checked, broken = await repo.verify_all()
    assert (checked, broken) == (6, None)
    # Deleting an entry is a gap; swapping two payloads breaks the hash.
    await models.EventLog.filter(chain=f"society:{a.id}", seq=2).delete()
    _, broken = await repo.verify_all()
    assert broken is not None
    assert (broken.chain, broken.seq, broken.problem) == (f"society:{a.id}", 3, "gap")


async def test_hand_written_sql_takes_more_than_999_parameters(database: str) -> None:
    """`?` placeholders become `$1 ... $n` on PostgreSQL for any n (they once stopped at 999)."""
    from storage import models
    from storage.sql import raw_rows

    values = list(range(1500))
    marks = ", ".join("?" for _ in values)
    rows = await raw_rows(
        models.Society, f"SELECT COUNT(*) AS n FROM society WHERE id NOT IN ({marks})", *values
    )
    assert int(rows[0]["n"]) == await models.Society.all().count()


async def test_migrations_leave_the_outbox_and_reminders_lean_indexes(database: str) -> None:
    """Each state change rewrites every index entry of a row: the outbox keeps one index for
    what is due (state, next_attempt_at) and one for a prepared reminder's messages, no
    single-column state or time index; the reminders keep (state, due_at, id)."""
    conn = connections.get(db.connection_name(database))
    wanted = {
        "outbox_message": {("channel",), ("reminder_id",), ("state", "next_attempt_at")},
        "reminder": {("society_id",), ("state", "due_at", "id")},
    }
    for table, expected in wanted.items():
        if db.is_sqlite(database):
            _, listed = await conn.execute_query(f"PRAGMA index_list('{table}')")
            found = set()
            for row in listed:
                if row["origin"] != "c":
                    continue  # primary key and unique constraints
                _, cols = await conn.execute_query(f"PRAGMA index_info('{row['name']}')")
                found.add(tuple(c["name"] for c in sorted(cols, key=lambda c: c["seqno"])))
        else:
            _, listed = await conn.execute_query(
                "SELECT array_agg(a.attname ORDER BY k.n) AS cols FROM pg_index i"
                " JOIN pg_class t ON t.oid = i.indrelid"
                " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)"
                " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum"
                " WHERE t.relname = $1 AND NOT i.indisunique GROUP BY i.indexrelid",
                [table],
            )
            found = {tuple(row["cols"]) for row in listed}
        assert found == expected, table


async def test_heads_moved_in_a_savepoint_that_fails_are_left_as_they_were(database: str) -> None:
    """A command's savepoint writes each head once at its end (storage/seals.py Rule 4): a
    savepoint that fails inside it takes its moves with it, and the record verifies clean."""
    now = datetime(2026, 12, 1, tzinfo=UTC)
    society = await repo.create_society("保存点学会", now)
    person = await models.Person.create(name="乙")

    async def refused() -> None:
        async with repo.atomic():
            await repo.put_member(society.id, person.id, roster_role="member")
            await repo.append_event(society.id, "note", {"i": 2}, now)
            raise RuntimeError("refused")

    async with repo.atomic():
        await repo.append_event(society.id, "note", {"i": 1}, now)
        with pytest.raises(RuntimeError):
            await refused()
        await repo.put_member(society.id, person.id, roster_role="leader")
        await repo.append_event(society.id, "note", {"i": 3}, now)
    report = await verify.run()
    assert report.findings == []
    assert [e.payload for e in await repo.society_events(society.id)] == [{"i": 1}, {"i": 3}]
    assert [x.roster_role for x in await repo.members(society.id)] == ["leader"]


async def test_a_forged_head_is_left_as_found_by_later_writes(database: str) -> None:
    """A head whose MAC does not match when it is read is never moved (storage/seals.py Rule 3):
    later commands neither re-MAC it into a genuine one nor hide it from verify."""
    from storage.sql import raw_execute, raw_rows

    now = datetime(2026, 12, 1, tzinfo=UTC)
    society = await repo.create_society("伪造学会", now)
    person = await models.Person.create(name="丙")
    async with repo.atomic():
        await repo.append_event(society.id, "note", {"i": 1}, now)
    assert (await verify.run()).clean
    # Someone without the key rewrites the head's digests of the tables.
    await raw_execute(models.ChainHead, "UPDATE chain_head SET tables = ?", '{"member":[5,"00"]}')
    before = await raw_rows(models.ChainHead, "SELECT seq, head, tables, mac FROM chain_head")
    for i in (2, 3):
        async with repo.atomic():
            await repo.put_member(
                society.id, person.id, roster_role="member" if i == 2 else "leader"
            )
            await repo.append_event(society.id, "note", {"i": i}, now)
    assert (
        await raw_rows(models.ChainHead, "SELECT seq, head, tables, mac FROM chain_head") == before
    )
    found = (await verify.run()).findings
    assert any(f.society == society.id and f.table == "chain_head" for f in found), found


def test_a_head_is_taken_as_checked_only_when_read_back_exactly() -> None:
    """storage/seals.py remembers the heads it checked or wrote: any changed column (or another
    key) is checked again; the memory hands out copies (and is a bot/bounded.py Bounded)."""
    import dataclasses

    from bot.keys import ServerKey
    from bot.ledger import TableSum
    from storage.seals import _Checked, _Stored

    key = ServerKey(b"k" * 32)
    stored = _Stored(key, 1, 5, "ab" * 32, '{"ballot":[1,"00"]}', "cd" * 32)
    checked = _Checked(size=2)
    checked.keep("a", stored, {"ballot": TableSum(1, "00")})
    found = checked.tables("a", stored)
    assert found == {"ballot": TableSum(1, "00")}
    found["vote"] = TableSum(1, "11")  # the caller's copy
    assert checked.tables("a", stored) == {"ballot": TableSum(1, "00")}
    for change in (
        {"key": ServerKey(b"j" * 32)},
        {"keyed_from": 2},
        {"seq": 6},
        {"head": "ef" * 32},
        {"tables": '{"ballot":[2,"00"]}'},
        {"mac": "ef" * 32},
    ):
        assert checked.tables("a", dataclasses.replace(stored, **change)) is None
    assert checked.tables("b", stored) is None
