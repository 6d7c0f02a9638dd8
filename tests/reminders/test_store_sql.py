"""The hand-written SQL of storage/outbox.py, storage/reminders.py and storage/snapshots.py (the
sweep's and the sender's hot paths) on SQLite and PostgreSQL: chunked statements, conditional
claims, and the planner's society snapshots."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from bot import governance as g
from storage import db, models, snapshots, sql
from storage import inbox as inbox_store
from storage import outbox as outbox_store
from storage import reminders as reminder_store
from tests.kit.clock import TZ
from tests.kit.databases import count_commits

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)  # not UTC: the store binds instants in UTC
LEASE = timedelta(minutes=2)


@pytest.fixture(params=[900, 16], ids=["chunks", "tiny-chunks"])
def chunk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Run with the real statement size and with a tiny one, so every chunked path loops."""
    monkeypatch.setattr(sql, "PARAMS", int(request.param))
    return int(request.param)


def _messages(prefix: str, n: int, channels: int) -> list[outbox_store.NewOutbox]:
    return [
        outbox_store.NewOutbox(f"{prefix}{i}", f"ch{i % channels}", "{}", "reminder")
        for i in range(n)
    ]


async def test_enqueue_and_add_outbox_skip_known_keys(database: str, chunk: int) -> None:
    ids = await outbox_store.enqueue(_messages("a", 250, 3), T0)  # PostgreSQL: over 999 parameters
    assert len(ids) == 250
    assert ids == sorted(ids)
    assert await outbox_store.enqueue(_messages("a", 10, 3), T0) == []
    await outbox_store.add_outbox(
        [*_messages("a", 5, 3), *_messages("b", 30, 4), *_messages("b", 3, 4)], T0
    )
    rows = await outbox_store.outbox_rows()
    assert len(rows) == 280
    assert {r.state for r in rows} == {"pending"}
    assert all(r.created_at == T0 and r.created_at.utcoffset() == timedelta(0) for r in rows)
    assert all(
        len(r.short_id) == 6 and set(r.short_id) <= set(outbox_store.SHORT_ALPHABET) for r in rows
    )
    assert [c.channel for c in await outbox_store.channels()] == [f"ch{i}" for i in range(4)]
    assert await outbox_store.due_channels(T0) == [f"ch{i}" for i in range(4)]
    assert await outbox_store.due_channels(T0 - timedelta(seconds=1)) == []


async def test_channels_are_leased_by_one_owner_at_a_time(database: str, chunk: int) -> None:
    await outbox_store.ensure_channels(["a", "b"])
    held = await outbox_store.claim_channels(["b", "a", "new"], "one", T0, LEASE)
    assert [c.channel for c in held] == ["a", "b", "new"]  # "new" had no row yet
    assert all(c.lease_owner == "one" and c.lease_until == T0 + LEASE for c in held)
    assert await outbox_store.claim_channels(["a", "b", "c"], "two", T0, LEASE) == [
        c for c in await outbox_store.channels() if c.channel == "c"
    ]
    assert await outbox_store.claim_channels(["a"], "two", T0, LEASE) == []
    (renewed,) = await outbox_store.claim_channels(["a"], "one", T0 + timedelta(seconds=30), LEASE)
    assert renewed.lease_until == T0 + timedelta(seconds=30) + LEASE
    await outbox_store.release_channels(["a", "b", "c"], "one")  # "c" is not ours: kept
    owners = {c.channel: c.lease_owner for c in await outbox_store.channels()}
    assert owners == {"a": "", "b": "", "c": "two", "new": "one"}
    # A lease that ran out is free for anyone.
    later = T0 + LEASE + timedelta(seconds=1)
    assert [c.channel for c in await outbox_store.claim_channels(["new"], "two", later, LEASE)] == [
        "new"
    ]


async def test_claim_batch_takes_each_row_once_and_records_sends(database: str, chunk: int) -> None:
    await outbox_store.add_outbox(_messages("m", 40, 2), T0)  # ch0 and ch1, 20 each
    got = await outbox_store.claim_batch({"ch0": 5, "ch1": 100, "nothing": 3}, "one", T0, LEASE)
    assert [r.id for r in got] == sorted(r.id for r in got)
    assert sum(r.channel == "ch0" for r in got) == 5
    assert sum(r.channel == "ch1" for r in got) == 20
    assert all(r.state == "sending" and not r.ambiguous for r in got)
    assert await outbox_store.claim_batch({"ch0": 100, "ch1": 100}, "two", T0, LEASE) == [
        r
        for r in await outbox_store.outbox_rows(channel="ch0", state="sending")
        if r.id not in {x.id for x in got}
    ]
    # "one" died: its rows are taken again once the lease ran out, and marked ambiguous.
    later = T0 + LEASE + timedelta(seconds=1)
    again = await outbox_store.claim_batch({"ch0": 100}, "three", later, LEASE)
    assert {r.id for r in again} == {r.id for r in await outbox_store.outbox_rows(channel="ch0")}
    assert {r.id for r in again if r.ambiguous} == {r.id for r in again}  # all were leased out
    sent = [outbox_store.Sent(r, later + timedelta(seconds=i)) for i, r in enumerate(again)]
    stale = [
        outbox_store.Sent(r, later) for r in got if r.channel == "ch1"
    ]  # "one" no longer holds
    await outbox_store.record_sent([*sent, *stale], "three")
    rows = {r.id: r for r in await outbox_store.outbox_rows()}
    assert all(rows[s.row.id].state == "sent" and rows[s.row.id].attempts == 1 for s in sent)
    # sent_at is the latest instant of the statement's chunk (one chunk at the real size).
    for s in sent:
        sent_at = rows[s.row.id].sent_at
        assert sent_at is not None
        assert sent_at >= s.at
    if chunk // 5 >= len(sent) + len(stale):
        assert {rows[s.row.id].sent_at for s in sent} == {sent[-1].at}
    assert all(rows[s.row.id].state == "sending" for s in stale)
    window = await outbox_store.window_of(["ch0", "ch1", "ch2"], later - timedelta(seconds=1))
    assert window == {"ch0": (len(sent) + 0, later), "ch1": (len(stale), later)}
    assert await outbox_store.window_of(["ch0"], later + timedelta(hours=1)) == {}


async def test_claim_batch_takes_each_channels_oldest_due_rows_up_to_its_budget(
    database: str, chunk: int
) -> None:
    """250 channels (more than one statement's worth) with a backlog of 6 each: each gives its
    oldest due rows, no more than its budget; a row whose sending lease ran out counts among
    them in id order, a retry not yet due does not."""
    await outbox_store.add_outbox(_messages("b", 1500, 250), T0)
    rows = await outbox_store.outbox_rows(channel="ch7")
    first, second = rows[0], rows[1]
    await outbox_store.claim_batch({"ch7": 1}, "gone", T0, LEASE)  # `first`, then its holder died
    await models.OutboxMessage.filter(id=second.id).update(
        next_attempt_at=T0 + timedelta(minutes=5)  # backing off
    )
    later = T0 + LEASE + timedelta(seconds=1)
    budgets = {f"ch{i}": 1 + i % 4 for i in range(250)}
    got = await outbox_store.claim_batch(budgets, "one", later, LEASE)
    by_channel: dict[str, list[int]] = {}
    for r in got:
        by_channel.setdefault(r.channel, []).append(r.id)
    for name, budget in budgets.items():
        waiting = [r.id for r in await outbox_store.outbox_rows(channel=name)]
        if name == "ch7":
            assert first.id in waiting  # claimed again
            waiting.remove(second.id)
        assert by_channel[name] == waiting[:budget], name


async def test_reminders_are_written_once_locked_in_order_and_decided_once(
    database: str, chunk: int
) -> None:
    due = [T0 + timedelta(minutes=i % 5) for i in range(30)]
    items = [
        reminder_store.NewReminder(f"k{i}", i % 4 + 1, "kind", f"r{i}", due[i]) for i in range(30)
    ]
    assert await reminder_store.add_reminders(items, T0) == 30
    assert await reminder_store.add_reminders([*items, *items[:2]], T0) == 0
    extra = reminder_store.NewReminder("k99", 1, "kind", "x", T0 + timedelta(days=1))
    assert await reminder_store.add_reminders([*items, extra, extra], T0) == 1
    rows = await reminder_store.lock_due_reminders(T0 + timedelta(minutes=2), 10)
    assert [(r.due_at, r.id) for r in rows] == sorted((r.due_at, r.id) for r in rows)
    assert len(rows) == 10
    assert all(r.due_at <= T0 + timedelta(minutes=2) and r.state == "pending" for r in rows)
    assert rows[0] == next(r for r in await reminder_store.reminders() if r.id == rows[0].id)
    ids = [r.id for r in rows]
    assert await reminder_store.decide_reminders(ids, "sent", "", T0, "me") == 10
    assert await reminder_store.decide_reminders(ids, "skipped", "late", T0, "me") == 0
    decided = await reminder_store.reminders(state="sent")
    assert {r.id for r in decided} == set(ids)
    assert all(r.decided_at == T0 and r.instance == "me" for r in decided)
    left = await reminder_store.lock_due_reminders(T0 + timedelta(days=2), 100)
    assert len(left) == 21


async def test_society_views_read_every_fact_with_python_types(database: str, chunk: int) -> None:
    people = [await models.Person.create(name=f"p{i}") for i in range(6)]
    p = [x.id for x in people]
    created = datetime(2026, 1, 5, 8, 0, 0, 250000, tzinfo=UTC)
    a = await models.Society.create(
        name="甲", term_end=date(2027, 3, 1), created_at=created, liaison_id=p[5]
    )
    b = await models.Society.create(name="乙", created_at=created)
    for pid, role in ((p[2], "member"), (p[0], "leader"), (p[1], "none"), (p[3], "member")):
        await models.Member.create(society_id=a.id, person_id=pid, roster_role=role)
    meetings = {}
    for number, state in ((2, "convened"), (1, "closed"), (3, "cancelled"), (4, "open")):
        meetings[number] = await models.Meeting.create(
            society_id=a.id,
            number=number,
            starts_at=T0 + timedelta(days=number),
            state=state,
            convened_by_id=p[0],
            chair_id=p[0] if number == 2 else None,
            roster=json.dumps([p[0], p[2]]),
            created_at=T0,
            closed_at=T0 if state == "closed" else None,
        )
    await models.NoticeAck.create(meeting_id=meetings[2].id, person_id=p[2], at=T0)
    await models.Attendance.create(meeting_id=meetings[2].id, person_id=p[3], status="leave", at=T0)
    await models.Attendance.create(
        meeting_id=meetings[2].id, person_id=p[0], status="unknown", at=T0
    )
    minutes = await models.MinutesVersion.create(
        meeting_id=meetings[1].id,
        version=1,
        body="{}",
        digest="d",
        created_by_id=p[0],
        created_at=T0,
    )
    await models.Signature.create(minutes_id=minutes.id, signer_id=p[0], digest="d", at=T0)
    await models.Filing.create(
        society_id=a.id, kind="annual_summary", title="t", filed_by_id=p[0], at=T0
    )
    await models.Filing.create(
        society_id=a.id, kind="work_rules", title="t", filed_by_id=p[0], at=T0
    )
    item = await models.AgendaItem.create(
        meeting_id=meetings[4].id,
        number=1,
        title="议题",
        matter_type="general",
        state="voting",
        proposed_by_id=p[0],
    )
    electorate = {"roster": [p[0], p[2], p[3]], "present": [p[0], p[2]], "recused": []}
    vote = await models.Vote.create(
        item_id=item.id,
        method="named",
        state="open",
        electorate=json.dumps(electorate),
        opened_at=T0,
        closes_at=T0 + timedelta(hours=1),
    )
    await models.Ballot.create(vote_id=vote.id, person_id=p[2], choice="yes", receipt="r")

    views = await snapshots.society_views([b.id, a.id, a.id])
    assert [v.id for v in views] == [a.id, b.id]
    ((first, last),) = await snapshots.society_id_ranges(10)
    assert await snapshots.society_views_between(first, last) == views
    assert await snapshots.society_views_between(b.id, b.id) == views[1:]
    assert await snapshots.society_views([b.id]) == views[1:]
    assert await snapshots.society_views([]) == []
    va, vb = views
    assert va.term_end == date(2027, 3, 1)
    assert vb.term_end is None
    assert va.created_at == created
    assert va.created_at.utcoffset() == timedelta(0)
    assert (va.leader_ids, va.member_ids, va.liaison_id) == ((p[0],), (p[2], p[0], p[3]), p[5])
    assert vb.liaison_id is None
    assert [m.number for m in va.meetings] == [1, 2, 4]  # cancelled left out
    closed, convened, held = va.meetings
    assert closed.signed
    assert closed.closed_at == T0
    assert not convened.signed
    assert convened.closed_at is None
    assert convened.starts_at == T0 + timedelta(days=2)
    assert convened.convened_at == T0
    assert (convened.convened_by, convened.chair_id, held.chair_id) == (p[0], p[0], None)
    assert convened.roster == (p[0], p[2])
    assert convened.acked == frozenset({p[2]})
    assert convened.answered == frozenset({p[3]})  # "unknown" is no answer
    assert va.summary_filed == ((T0, "t"),)
    (v,) = va.votes
    assert (v.id, v.meeting_id, v.number, v.title) == (vote.id, meetings[4].id, 1, "议题")
    assert v.method is g.VoteMethod.NAMED
    assert (v.opened_at, v.closes_at) == (T0, T0 + timedelta(hours=1))
    assert v.voters == frozenset({p[0], p[2]})
    assert v.voted == frozenset({p[2]})
    assert not v.hands_recorded
    assert vb.meetings == ()
    assert vb.votes == ()
    assert await snapshots.society_ids() == [a.id, b.id]
    assert await snapshots.person_names([p[0], p[1], p[0]]) == {p[0]: "p0", p[1]: "p1"}


async def test_a_channel_seen_in_the_table_is_not_looked_for_again(database: str) -> None:
    """The outbox's writers look a channel's row up once per process and database; a channel
    whose row a rolled-back transaction wrote is not taken as known; a remembered one whose row
    is gone all the same is written again by the claim."""
    from tortoise.transactions import in_transaction

    def looked_up(seen: list[sql.Sent]) -> int:
        return sum("FROM channel_state" in s.sql for s in seen)

    with sql.statements() as seen:
        await outbox_store.enqueue(_messages("a", 1, 1), T0)  # ch0: looked up, written
    assert looked_up(seen) == 1
    with sql.statements() as seen:
        await outbox_store.enqueue(_messages("b", 1, 1), T0)  # ch0 committed: seen, remembered
    assert looked_up(seen) == 1
    with sql.statements() as seen:
        await outbox_store.enqueue(_messages("c", 1, 1), T0)
    assert looked_up(seen) == 0

    class Undo(Exception):
        pass

    new = [outbox_store.NewOutbox("d0", "fresh", "{}", "reminder")]

    async def written_then_undone() -> None:
        async with in_transaction():
            await outbox_store.enqueue(new, T0)
            raise Undo

    with pytest.raises(Undo):
        await written_then_undone()
    await outbox_store.enqueue(new, T0)  # looked up again: the first row was rolled back
    assert "fresh" in {c.channel for c in await outbox_store.channels()}

    await models.ChannelState.filter(channel="ch0").delete()  # never done by the bot itself
    await outbox_store.enqueue(_messages("e", 1, 1), T0)  # remembered: not written here
    held = await outbox_store.claim_channels(["ch0"], "one", T0, LEASE)
    assert [c.channel for c in held] == ["ch0"]  # the claim wrote it


async def test_single_statements_go_without_begin_and_commit_on_postgres(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement is atomic by itself: on PostgreSQL, where BEGIN and COMMIT are a round trip
    each, the door's insert into the inbound queue, the sender's claim and the record of its
    sends (one statement there: the attempt rows and the messages' state together) go without
    them. SQLite keeps its transactions (they cost no round trip)."""
    await outbox_store.add_outbox(_messages("m", 4, 1), T0)
    commits = count_commits(monkeypatch, database)
    with sql.statements() as seen:
        got = await outbox_store.claim_batch({"ch0": 10}, "one", T0, LEASE)
        await outbox_store.record_sent([outbox_store.Sent(r, T0) for r in got], "one")
        new = await inbox_store.accept([inbox_store.NewInbound("k1", "chat", "{}")], T0)
    postgres = not db.is_sqlite(database)
    assert commits == [0 if postgres else 3]
    assert len(seen) == (4 if postgres else 5)
    assert new == {"k1"}
    assert await inbox_store.depth() == 1
    rows = await outbox_store.outbox_rows()
    assert len(rows) == 4
    assert all(r.state == "sent" and r.attempts == 1 for r in rows)
    assert await outbox_store.window_of(["ch0"], T0 - timedelta(seconds=1)) == {"ch0": (4, T0)}


async def test_a_single_statement_in_a_transaction_keeps_its_savepoint(database: str) -> None:
    """Inside an enclosing transaction `transaction_for` is a savepoint even for one statement:
    a statement that fails in it is undone alone and the enclosing transaction goes on (on
    PostgreSQL, without the savepoint, the failure would abort the whole transaction)."""
    from tortoise.exceptions import IntegrityError
    from tortoise.transactions import in_transaction

    async with in_transaction():
        await inbox_store.accept([inbox_store.NewInbound("k1", "chat", "{}")], T0)
        with pytest.raises(IntegrityError):
            async with sql.transaction_for(models.InboundMessage, 1):
                await sql.raw_execute(
                    models.InboundMessage,
                    "INSERT INTO inbound_message (key, chat_key, payload, received_at, state,"
                    " claimed_by) VALUES ('k1', 'chat', '{}', ?, 'pending', '')",
                    sql.utc(T0),
                )
        await inbox_store.accept([inbox_store.NewInbound("k2", "chat", "{}")], T0)
    assert await inbox_store.depth() == 2


async def test_a_transaction_can_tell_whether_it_wrote(database: str) -> None:
    """`sql.writes_so_far` moves with every write of the transaction and never with a read
    (what lets a refused command in a shared round go without a savepoint)."""
    from tortoise.transactions import in_transaction

    async with in_transaction():
        start = sql.writes_so_far(models.InboundMessage)
        await inbox_store.depth()
        await sql.raw_rows(models.InboundMessage, "SELECT id FROM inbound_message")
        assert sql.writes_so_far(models.InboundMessage) == start
        await inbox_store.accept([inbox_store.NewInbound("k1", "chat", "{}")], T0)
        wrote = sql.writes_so_far(models.InboundMessage)
        assert wrote != start
        await models.InboundMessage.filter(key="k1").update(chat_key="other")  # the ORM too
        assert sql.writes_so_far(models.InboundMessage) != wrote
