"""Retention on both engines: aged rows go (or their replies are blanked), recent ones and
everything still to do stay, governance records are untouched, and de-duplication holds."""

from __future__ import annotations

from datetime import timedelta

from bot.config import RetentionSettings
from bot.retention import Pruning
from storage import inbox, outbox, questions, repo
from storage import models as m
from storage import prune as store
from storage.sql import raw_execute, raw_rows
from tests.kit.console import ConsoleRig


async def count(table: str, where: str = "1 = 1") -> int:
    rows = await raw_rows(m.OutboxMessage, f"SELECT COUNT(*) AS n FROM {table} WHERE {where}")
    return int(rows[0]["n"])


async def governance_rows() -> dict[str, int]:
    tables = ("meeting", "agenda_item", "attendance", "vote", "ballot", "event_log", "reminder")
    return {t: await count(t) for t in tables}


async def age_delivery_rows(h: ConsoleRig, days: int, tag: str) -> None:
    """One of each delivery row, written `days` ago: a done and a pending inbound message, a
    sent and a pending outbox row with an attempt each."""
    then = h.clock.now() - timedelta(days=days)
    await inbox.accept(
        [inbox.NewInbound(f"{tag}-done", "c", "{}"), inbox.NewInbound(f"{tag}-wait", "c", "{}")],
        then,
    )
    rows = await raw_rows(
        m.InboundMessage, "SELECT id FROM inbound_message WHERE key = ?", f"{tag}-done"
    )
    await inbox.finish([int(rows[0]["id"])], then)
    ids = await outbox.enqueue(
        [outbox.NewOutbox(f"{tag}-sent", "ch", "{}"), outbox.NewOutbox(f"{tag}-wait", "ch", "{}")],
        then,
    )
    await raw_execute(
        m.OutboxMessage, "UPDATE outbox_message SET state = 'sent' WHERE id = ?", ids[0]
    )
    for message_id in ids:
        await raw_execute(
            m.OutboxAttempt,
            "INSERT INTO outbox_attempt (message_id, channel, number, at, outcome, code, ambiguous,"
            " detail, instance) VALUES (?, 'ch', 1, ?, 'sent', '', ?, '', '')",
            message_id,
            then,
            False,
        )


async def test_aged_rows_go_and_the_rest_stays(harness: ConsoleRig) -> None:
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    h.at("2027-07-01 09:00")
    for days, tag in ((400, "old"), (200, "mid"), (100, "fairly"), (40, "month"), (1, "new")):
        await age_delivery_rows(h, days, tag)
    governance = await governance_rows()
    before = await raw_rows(m.ProcessedMessage, "SELECT COUNT(*) AS n FROM processed_message")
    assert int(before[0]["n"]) >= 1

    retention = RetentionSettings()
    dry = {
        (p.table, p.action): p.rows
        for p in await store.prune(retention, h.clock.now(), dry_run=True)
    }
    # The dry run changed nothing.
    assert await count("inbound_message") == 10
    assert await count("outbox_message", "kind = 'notice' AND dedupe_key NOT LIKE 'msg:%'") == 10
    done = {(p.table, p.action): p.rows for p in await store.prune(retention, h.clock.now())}
    assert done == dry
    # Inbound: the applied ones older than 30 days went; pending ones are never pruned.
    assert {
        str(r["key"]) for r in await raw_rows(m.InboundMessage, "SELECT key FROM inbound_message")
    } == {
        "old-wait",
        "mid-wait",
        "fairly-wait",
        "month-wait",
        "new-done",
        "new-wait",
    }
    # Outbox: sent rows older than 180 days went with their attempts; rows still to go stay.
    kept = {
        str(r["dedupe_key"])
        for r in await raw_rows(m.OutboxMessage, "SELECT dedupe_key FROM outbox_message")
    }
    assert {"old-wait", "mid-wait", "fairly-sent", "fairly-wait", "month-sent", "new-sent"} <= kept
    assert not {"old-sent", "mid-sent"} & kept
    assert await count("outbox_attempt") == 6  # those of the 400- and 200-day-old rows went
    # Governance records are untouched, and the chain still verifies.
    assert await governance_rows() == governance
    checked, broken = await repo.verify_all()
    assert broken is None
    assert checked >= 1
    # A second run finds nothing more.
    assert all(p.rows == 0 for p in await store.prune(retention, h.clock.now()))


async def test_dedupe_holds_across_pruning(harness: ConsoleRig) -> None:
    """A redelivered message is not applied twice while its id is kept (its reply blanked)."""
    h = harness
    h.at("2026-12-01 09:00")
    message = h.adapter.decode("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    first = await h.adapter.feed(message)
    assert "已召集" in first[0].text or "会议" in first[0].text
    meetings = await count("meeting")
    retention = RetentionSettings()

    h.at("2027-03-15 09:00")  # 104 days later: the reply is blanked, the id kept
    await store.prune(retention, h.clock.now())
    rows = await raw_rows(m.ProcessedMessage, "SELECT reply FROM processed_message")
    assert rows
    assert all(r["reply"] == "" for r in rows)
    again = await h.adapter.feed(message)
    assert "重复消息" in again[0].text
    assert "已经处理过" in again[0].text
    assert await count("meeting") == meetings


async def test_the_daily_job_runs_on_one_instance_a_day(harness: ConsoleRig) -> None:
    h = harness
    h.at("2027-07-01 09:00")
    await age_delivery_rows(h, 40, "month")
    one = Pruning(RetentionSettings(), h.clock.now, "one")
    two = Pruning(RetentionSettings(), h.clock.now, "two")
    assert await one.maybe() is not None
    assert await count("inbound_message", "state = 'done'") == 0
    assert await two.maybe() is None  # the lease is held for the day
    assert await one.maybe() is None  # not due again yet
    h.clock.set(h.clock.now() + timedelta(hours=2))
    assert await two.maybe() is None  # retried an hour later: still held
    h.clock.set(h.clock.now() + timedelta(hours=22))
    assert await one.maybe() is not None or await two.maybe() is not None
    assert one.runs + two.runs == 2


async def test_yishi_serve_prunes_when_the_scheduler_wakes_it(harness: ConsoleRig) -> None:
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import RUNTIME, build_app
    from tests.kit.clock import FakeScheduler

    h = harness
    h.at("2027-07-01 09:00")
    await age_delivery_rows(h, 40, "month")
    scheduler = FakeScheduler()
    app = build_app(h.settings, clock=h.clock, adapters=[h.adapter], scheduler=scheduler)
    async with TestClient(TestServer(app)):
        runtime = app[RUNTIME]
        await scheduler.fire("prune")
        async with asyncio.timeout(30):
            while runtime.pruning.runs == 0:  # noqa: ASYNC110 - the background task counts
                await asyncio.sleep(0.01)
    assert await count("inbound_message", "state = 'done'") == 0


async def test_superseded_card_updates_are_pruned_like_sent_ones(harness: ConsoleRig) -> None:
    h = harness
    h.at("2027-07-01 09:00")
    for days, key in ((200, "old-superseded"), (1, "new-superseded")):
        ids = await outbox.enqueue(
            [outbox.NewOutbox(key, "ch", "{}")], h.clock.now() - timedelta(days=days)
        )
        await raw_execute(
            m.OutboxMessage, "UPDATE outbox_message SET state = 'superseded' WHERE id = ?", ids[0]
        )
    await store.prune(RetentionSettings(), h.clock.now())
    kept = await raw_rows(m.OutboxMessage, "SELECT dedupe_key FROM outbox_message")
    assert {str(r["dedupe_key"]) for r in kept} & {"old-superseded", "new-superseded"} == {
        "new-superseded"
    }


async def test_questions_asked_back_go_after_a_day(harness: ConsoleRig) -> None:
    """A question asked back (storage/questions.py) is pruned once a day old; a recent one,
    which a 「是」 may still answer, stays."""
    h = harness
    h.at("2026-12-01 09:00")
    await questions.ask(h.adapter.decode("李娜", "那天有事"), "请假 那天有事", h.clock.now())
    h.at("2026-12-02 10:00")
    await questions.ask(h.adapter.decode("王强", "那天有事"), "请假 那天有事", h.clock.now())
    pruned = {p.table: p.rows for p in await store.prune(RetentionSettings(), h.clock.now())}
    assert pruned["pending_question"] == 1
    left = await m.PendingQuestion.all()
    assert [q.user_key for q in left] == [h.adapter.decode("王强", "").sender.user_id]


async def test_registrations_nothing_used_go_after_their_days(harness: ConsoleRig) -> None:
    """A name registered (「我是赵六」) whose account no roster change (nor designation) came to
    name goes after `registrations_days`; one that was used, or a member's own, stays, and so
    does a recent one."""
    h = harness
    h.at("2027-01-04 09:00")
    assert "已登记" in await h.say("zl", "我是赵六")
    assert "已登记" in await h.say("sl", "我是孙磊")
    assert "已登记" in await h.say("张伟", "我是张伟")
    assert "已提交成员调整申请" in await h.say("张伟", "提议增补 @sl 党员 理事 工作需要")
    h.at("2027-03-20 09:00")
    assert "已登记" in await h.say("qq", "我是钱七")
    h.at("2027-04-05 09:00")  # 91 days after the first three

    retention = RetentionSettings()
    assert retention.registrations_days == 90
    dry = await store.prune(retention, h.clock.now(), dry_run=True)
    assert [p.rows for p in dry if p.table == "registration"] == [1]
    assert await count("registration") == 4
    done = await store.prune(retention, h.clock.now())
    assert [p.rows for p in done if p.table == "registration"] == [1]
    left = await raw_rows(m.Registration, "SELECT user_id FROM registration")
    assert {str(r["user_id"]) for r in left} == {"sl", "张伟", "qq"}
