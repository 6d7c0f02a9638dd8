"""DingTalk's OpenAPI answers with error codes longer than the attempt's code column
(`Forbidden.AccessDenied.QpsLimitForAppkeyAndApi`, 46 characters): writing the attempt had
raised, so the row sat `sending` until its lease ended and a permanent error was retried for
ever, the admins never told. Against the fake DingTalk and the real sender, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.app import RUNTIME
from bot.clock import ManualClock
from bot.events import ChatKind, ChatRef, OutgoingMessage, Platform
from bot.outbox import load_message, to_outbox
from storage import models
from storage import outbox as outbox_store
from storage.outbox import OutboxKind, OutboxState
from tests.kit.clock import TZ
from tests.kit.dingtalk.rig import DingTalkRig, running_bot
from tests.kit.dingtalk.server import FakeDingTalk

GROUP = "cidLONGcodes01=="
QPS = "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"
GONE = "InvalidParameter.OpenConversationId.NotExist"


async def _notice(rig: DingTalkRig, fake: FakeDingTalk, key: str) -> int:
    chat = ChatRef(Platform.DINGTALK, fake.corp_id, GROUP, ChatKind.GROUP)
    message = OutgoingMessage(chat=chat, text=f"会议通知 {key}")
    (row_id,) = await outbox_store.enqueue(to_outbox([message], key_prefix=key), rig.clock.now())
    return row_id


async def _drain(rig: DingTalkRig) -> None:
    await rig.app[RUNTIME].delivery.sender.run_once()
    await rig.adapter.tasks.flush()


async def test_a_long_rate_limit_code_pauses_then_delivers_once(database: str) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    async with FakeDingTalk(clock=clock.now) as fake, running_bot(fake, clock) as rig:
        row_id = await _notice(rig, fake, "qps")
        fake.inject["group_send"] = [(403, {"code": QPS, "message": "qps limit", "requestid": "r"})]
        await _drain(rig)
        (row,) = [r for r in await outbox_store.outbox_rows() if r.id == row_id]
        assert (row.state, row.attempts) == (OutboxState.PENDING, 0)  # throttled, not lost
        (attempt,) = await models.OutboxAttempt.filter(message_id=row_id)
        assert attempt.outcome == "throttled"
        assert attempt.code == QPS[:32]  # the column's width; the whole code in the detail
        assert QPS in attempt.detail
        pause = rig.app[RUNTIME].delivery.sender.settings.throttle_pause_seconds
        clock.advance(timedelta(seconds=pause))
        await _drain(rig)
        (row,) = [r for r in await outbox_store.outbox_rows() if r.id == row_id]
        assert row.state == OutboxState.SENT
        sent = [c for c in fake.recorded["group_send"] if c.ok]
        assert len(sent) == 1
        assert "会议通知 qps" in str(sent[0].body)


async def test_a_long_permanent_code_fails_the_row_and_tells_the_admins(database: str) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    async with FakeDingTalk(clock=clock.now) as fake, running_bot(fake, clock) as rig:
        row_id = await _notice(rig, fake, "gone")
        refused = (400, {"code": GONE, "message": "x" * 5000 + "\x00", "requestid": "r"})
        fake.inject["group_send"] = [refused]
        await _drain(rig)
        await _drain(rig)  # the alert goes out
        rows = await outbox_store.outbox_rows()
        (row,) = [r for r in rows if r.id == row_id]
        assert row.state == OutboxState.FAILED
        assert GONE in row.last_error
        alerts = [load_message(r.payload) for r in rows if r.kind is OutboxKind.ALERT]
        assert len(alerts) == len(rig.app[RUNTIME].delivery.sender.admins) == 1
        assert f"发往「{GROUP}」的消息" in alerts[0].text
        assert GONE in alerts[0].text
        assert [c.ok for c in fake.recorded["group_send"]] == [False]  # not retried for ever
        clock.advance(timedelta(hours=1))
        await _drain(rig)
        assert [c.ok for c in fake.recorded["group_send"]] == [False]


def test_any_platform_text_fits_the_database() -> None:
    """A NUL (PostgreSQL refuses it) and a lone surrogate (JSON's \\ud800 escape; not UTF-8) are
    dropped or replaced, and the length is bounded."""
    assert outbox_store.db_text("a\x00\ud800b", 10) == "a?b"
    assert outbox_store.db_text("x" * 10_000, 500) == "x" * 500
