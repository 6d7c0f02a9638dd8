"""The question the bot last asked a person in a chat and awaits a yes to.

A phrase that only suggests a command (「那天我有事来不了」) is asked back: 「是否请假？回复「是」或
「请假 那天我有事」确认。」. The command is kept here, one row per (chat, person); a 「是」 from that
person in that chat within QUESTION_HOLDS runs it as if typed, with every rule checked again then. A new
question replaces the last; the row goes when the person says something else to the bot (the
router tells us) or says no, and the prune removes what was never answered.

A ballot is never asked this way (its question names the one word to send), so nothing here
ever links a person to a choice. The answering message's id is kept, so a redelivery of that
「是」 resolves to the same command and is caught by the de-duplication table like any other.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.events import IncomingMessage
from bot.utterance import QUESTION_HOLDS
from storage import models as m
from storage.sql import utc


def keys(message: IncomingMessage) -> tuple[str, str]:
    """The (chat, person) a question is kept under."""
    chat = message.chat
    return f"{chat.platform.value}:{chat.corp_id}:{chat.chat_id}", message.sender.user_id


async def ask(message: IncomingMessage, command: str, now: datetime) -> bool:
    """Keep `command` as what a yes from the message's sender in its chat runs (True)."""
    chat_key, user_key = keys(message)
    row = m.PendingQuestion.filter(chat_key=chat_key, user_key=user_key)
    # In a savepoint of its own: a question asked from inside a command's unit of work (a
    # handler's AskBack) that cannot be kept must not abort that unit of work on PostgreSQL.
    async with in_transaction():
        if await row.update(command=command, asked_at=now, answered_by=""):
            return True
        try:
            async with in_transaction():  # a concurrent first question does not abort
                await m.PendingQuestion.create(
                    chat_key=chat_key, user_key=user_key, command=command, asked_at=now
                )
        except IntegrityError:
            await row.update(command=command, asked_at=now, answered_by="")
    return True


async def asked(message: IncomingMessage, now: datetime) -> str | None:
    """The command a yes in this message confirms: the question still waits (asked within
    QUESTION_HOLDS, not yet answered, or answered by this very message, redelivered); else None."""
    chat_key, user_key = keys(message)
    row = await m.PendingQuestion.filter(chat_key=chat_key, user_key=user_key).first()
    if row is None or now - utc(row.asked_at) > QUESTION_HOLDS:
        return None
    if row.answered_by not in ("", message.message_id):
        return None
    return row.command


async def asked_at(message: IncomingMessage) -> datetime | None:
    """When the question the message's sender answers in its chat was asked (None: none)."""
    chat_key, user_key = keys(message)
    row = await m.PendingQuestion.filter(chat_key=chat_key, user_key=user_key).first()
    return None if row is None else utc(row.asked_at)


async def answer(message: IncomingMessage) -> None:
    """Mark the question answered by this message (in the unit of work of its effect)."""
    chat_key, user_key = keys(message)
    await m.PendingQuestion.filter(chat_key=chat_key, user_key=user_key).update(
        answered_by=message.message_id
    )


async def forget(message: IncomingMessage) -> bool:
    """No question waits for the message's sender in its chat any more; whether one did."""
    chat_key, user_key = keys(message)
    rows = m.PendingQuestion.filter(chat_key=chat_key, user_key=user_key, answered_by="")
    return bool(await rows.delete())
