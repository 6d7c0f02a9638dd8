"""Retention: personal data in the delivery tables is pruned once it has served its purpose.

    inbound_message     applied rows (`done`) older than `inbound_days`: deleted. A redelivery
                        after that is still caught by its processed_message row.
    processed_message   the stored reply older than `replies_days`: blanked (the row keeps the
                        message id, so a redelivery replays "已处理过" and applies nothing);
                        rows older than `message_ids_days` (at least 7 days, far beyond any
                        platform's redelivery): deleted.
    outbox_attempt      attempts older than `outbox_days`: deleted.
    outbox_message      finished rows (sent, failed, superseded) created more than `outbox_days` ago:
                        deleted with their attempts. Rows still to go are never touched.
    header_binding      DingTalk (timestamp, sign) bindings whose timestamp is out of the
                        signature window (`expires_at` passed): deleted, the codec refuses
                        such a pair anyway (storage/header_bindings.py).
    pending_question    questions asked back more than a day ago (a yes counts for ten
                        minutes, storage/questions.py): deleted.
    registration        names registered in a group (「我是张伟」) more than `registrations_days`
                        ago whose account no person has (nothing used it: no roster change,
                        no designation): deleted. An account that became someone's keeps its
                        registration, which shows beside the person in the 工作台.

Governance records (meetings, ballots, minutes, the event chain, reminders) are kept:
`yishi verify` reads only those. Deletes go in chunks, each its own short transaction, so a
prune never holds locks for long; every statement is idempotent, so two instances pruning at once
do no harm (the runtime lets one a day do it, bot/app.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.models import Model
from tortoise.transactions import in_transaction

from bot.config import RetentionSettings
from storage import models as m
from storage.inbox import InboundState
from storage.outbox import OutboxState
from storage.sql import literals, marks, raw_execute, raw_rows, utc

CHUNK = 1000  # rows per statement and transaction


@dataclass(frozen=True, slots=True)
class Step:
    """One pruning rule: what it does to which rows of which table."""

    table: str
    action: str  # shown: 删除 / 清空回复
    model: type[Model]
    where: str  # with one `?`: the cutoff instant
    days: int
    blank: str = ""  # the column set to '' instead of deleting the row


@dataclass(frozen=True, slots=True)
class Pruned:
    table: str
    action: str
    days: int
    rows: int


def steps(retention: RetentionSettings) -> list[Step]:
    finished = literals(OutboxState.SENT, OutboxState.FAILED, OutboxState.SUPERSEDED)
    return [
        Step(
            "inbound_message",
            "删除已处理的入站消息",
            m.InboundMessage,
            f"state = {literals(InboundState.DONE)} AND received_at < ?",
            retention.inbound_days,
        ),
        Step(
            "processed_message",
            "清空已处理消息的回复",
            m.ProcessedMessage,
            "reply <> '' AND at < ?",
            retention.replies_days,
            blank="reply",
        ),
        Step(
            "processed_message",
            "删除消息编号（去重记录）",
            m.ProcessedMessage,
            "at < ?",
            retention.message_ids_days,
        ),
        Step(
            "outbox_attempt", "删除发送尝试记录", m.OutboxAttempt, "at < ?", retention.outbox_days
        ),
        Step(
            "outbox_message",
            "删除已结束的发件记录",
            m.OutboxMessage,
            f"state IN ({finished}) AND created_at < ?",
            retention.outbox_days,
        ),
        Step("header_binding", "删除过期的签名绑定", m.HeaderBinding, "expires_at < ?", 0),
        Step("pending_question", "删除过期的待确认问题", m.PendingQuestion, "asked_at < ?", 1),
        Step(
            "registration",
            "删除未用上的姓名登记",
            m.Registration,
            "at < ? AND NOT EXISTS (SELECT 1 FROM identity AS i WHERE i.platform ="
            " registration.platform AND i.corp_id = registration.corp_id"
            " AND i.user_id = registration.user_id)",
            retention.registrations_days,
        ),
    ]


async def _count(step: Step, cutoff: datetime) -> int:
    rows = await raw_rows(
        step.model, f"SELECT COUNT(*) AS n FROM {step.table} WHERE {step.where}", cutoff
    )
    return int(rows[0]["n"]) if rows else 0


async def _apply_chunk(step: Step, cutoff: datetime, limit: int) -> int:
    """Prune up to `limit` rows in one transaction; how many."""
    async with in_transaction():
        rows = await raw_rows(
            step.model, f"SELECT id FROM {step.table} WHERE {step.where} LIMIT ?", cutoff, limit
        )
        ids = [int(r["id"]) for r in rows]
        if not ids:
            return 0
        where = f"id IN ({marks(len(ids))})"
        if step.blank:
            sql = f"UPDATE {step.table} SET {step.blank} = '' WHERE {where}"
        else:
            if step.model is m.OutboxMessage:  # the attempts refer to their message
                await raw_execute(
                    m.OutboxAttempt,
                    f"DELETE FROM outbox_attempt WHERE message_id IN ({marks(len(ids))})",
                    *ids,
                )
            sql = f"DELETE FROM {step.table} WHERE {where}"
        await raw_execute(step.model, sql, *ids)
    return len(ids)


async def prune(
    retention: RetentionSettings, now: datetime, *, dry_run: bool = False, chunk: int = CHUNK
) -> list[Pruned]:
    """Apply every rule (or, with `dry_run`, count what each would touch)."""
    out = []
    for step in steps(retention):
        cutoff = utc(now) - timedelta(days=step.days)
        if dry_run:
            total = await _count(step, cutoff)
        else:
            total = 0
            while True:
                done = await _apply_chunk(step, cutoff, chunk)
                total += done
                if done < chunk:
                    break
        out.append(Pruned(step.table, step.action, step.days, total))
    return out
