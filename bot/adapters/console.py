"""The console adapter: a first-class simulator of a group chat and private chats with the bot.

It speaks the same interface as the platform adapters: text in -> IncomingMessage -> feed ->
OutgoingMessage -> printed. Identity is (console, console, name)."""

from __future__ import annotations

import calendar
import re
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.adapters.base import Feed
from bot.clock import Clock
from bot.events import (
    ChatKind,
    ChatRef,
    IncomingMessage,
    OutgoingMessage,
    Platform,
    UserRef,
    normalize_text,
)

CORP = "console"
GROUP = "demo-group"
_MENTION = re.compile(r"@(\S+?)(?=\s|$|[,，:：])")
_LINE = re.compile(
    r"^(?P<name>[^:：(（\s]{1,32})\s*(?P<private>[(（]私聊[)）])?\s*[:：]\s*(?P<text>.*)$"
)
_TIME = re.compile(r"^@time\s+(?P<when>.+)$")


def console_user(name: str) -> UserRef:
    return UserRef(Platform.CONSOLE, CORP, name, name)


@dataclass(frozen=True, slots=True)
class ScriptLine:
    speaker: str
    text: str
    private: bool


class ConsoleAdapter:
    platform = Platform.CONSOLE

    def __init__(
        self, *, bot_name: str, clock: Clock, out: TextIO | None = None, group: str = GROUP
    ) -> None:
        self.bot_name = bot_name
        self.clock = clock
        self.out = out or sys.stdout
        self.group = group
        self._feed: Feed | None = None
        self.sent: list[OutgoingMessage] = []

    async def start(self, feed: Feed) -> None:
        self._feed = feed

    async def close(self) -> None:
        self._feed = None

    def decode(self, speaker: str, text: str, *, private: bool = False) -> IncomingMessage:
        """What a platform adapter's decode_callback does, for a typed line."""
        clean = normalize_text(text)
        # The bot under any display name that extends its own (「@议事小助手」 for 「议事」).
        to_bot = (self.bot_name, "机器人", "bot")
        mentions = tuple(
            console_user(name) for name in _MENTION.findall(clean) if not name.startswith(to_bot)
        )
        # In the console every line is spoken to the bot.
        mentions_bot = True
        chat = (
            ChatRef(Platform.CONSOLE, CORP, speaker, ChatKind.PRIVATE)
            if private
            else ChatRef(Platform.CONSOLE, CORP, self.group, ChatKind.GROUP)
        )
        return IncomingMessage(
            platform=Platform.CONSOLE,
            chat=chat,
            sender=console_user(speaker),
            text=clean,
            message_id=f"console-{uuid.uuid4().hex}",
            received_at=self.clock.now(),
            mentions_bot=mentions_bot,
            mentions=mentions,
        )

    async def say(self, speaker: str, text: str, *, private: bool = False) -> list[OutgoingMessage]:
        """Speak one line; return the bot's inline replies to it. Messages delivered elsewhere
        (private messages, other groups) are in `sent` too."""
        return await self.feed(self.decode(speaker, text, private=private))

    async def feed(self, message: IncomingMessage) -> list[OutgoingMessage]:
        if self._feed is None:
            raise RuntimeError("console adapter not started")
        replies = await self._feed(message)
        for reply in replies:
            await self.send(reply)
        return replies

    edits_cards = True  # the card is printed again with its new count

    def merge(self, first: OutgoingMessage, then: OutgoingMessage) -> OutgoingMessage | None:
        return None  # the console prints each reply as it was written

    async def send(self, message: OutgoingMessage) -> None:
        self.sent.append(message)
        self.out.write(render(message, self.bot_name) + "\n")
        self.out.flush()


def render(message: OutgoingMessage, bot_name: str) -> str:
    if message.chat.kind is ChatKind.PRIVATE:
        target = f"私聊 {message.private_to.name if message.private_to else message.chat.chat_id}"
    else:
        target = "群"
    mentions = " ".join(f"@{m.name or m.user_id}" for m in message.mentions)
    head = f"[{bot_name} → {target}]" + (f" {mentions}" if mentions else "")
    # a card's update carries no text: no empty line before the card
    shown = message.text_with_card()
    text = head + ("\n  " + shown.replace("\n", "\n  ") if shown else "")
    if message.card is not None:
        card = message.card
        # a secret ballot's card has no buttons (a ballot is cast in the private chat)
        buttons = "" if card.closed or card.secret else "  [赞成] [反对] [弃权]"
        text += f"\n  [表决卡片] {card.title} | {card.summary}{buttons}"
    return text


def parse_script(lines: Iterable[str]) -> Iterable[tuple[int, ScriptLine | str]]:
    """Yield (line number, ScriptLine) or (line number, '@time ...' text); skip blanks and #."""
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if _TIME.match(line):
            try:
                parse_time_line(line, ZoneInfo("UTC"))
            except NoSuchTime as exc:
                raise ScriptError(number, f"这个时间不存在：{exc}") from None
            except ValueError:
                raise ScriptError(
                    number, f"时间无法识别：{line!r}（格式：@time 2026-12-05 14:55）"
                ) from None
            yield number, line
            continue
        found = _LINE.match(line)
        if found is None:
            raise ScriptError(number, f"无法解析：{line!r}（格式应为「名字: 消息」）")
        yield number, ScriptLine(found["name"], found["text"], bool(found["private"]))


class NoSuchTime(ValueError):
    """A time written in the right form that does not exist (2026-02-30, 25:00); the message
    (Chinese) says which part."""


_WRITTEN = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2})(?::\d{2})?)?$")


def parse_time_line(line: str, tz: ZoneInfo) -> datetime:
    """The instant of an `@time 2026-12-05 14:55` line; ValueError when it is not written so,
    NoSuchTime when it is but names a day or hour that does not exist."""
    found = _TIME.match(line)
    if found is None:
        raise ValueError(line)
    text = found["when"].strip().replace("/", "-").replace("T", " ")
    try:
        return datetime.fromisoformat(text).replace(tzinfo=tz)
    except ValueError:
        written = _WRITTEN.match(text)
        if written is None:
            raise
        year, month, day = (int(written[i]) for i in (1, 2, 3))
        if not 1 <= month <= 12:
            raise NoSuchTime(f"{text}：没有{month}月") from None
        if not 1 <= day <= calendar.monthrange(year, month)[1]:
            raise NoSuchTime(f"{text}：{year}年{month}月没有{day}日") from None
        raise NoSuchTime(f"{text}：没有{written[4]}:{written[5]}这个时刻") from None


class ScriptError(Exception):
    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"第{line}行：{problem}")
        self.line = line
