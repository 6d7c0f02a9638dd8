"""What a failed send leaves in the database: an attempt's detail, the row's last error and a
paused channel's reason are read by whoever reads the database (an operator, a backup, the
workbench). A DingTalk sessionWebhook and a WeCom response_url or webhook carry a bearer token
in their URL; a UserRef's repr names a member and their account. Neither is stored: URLs keep
their scheme and host only, object reprs their type. Every channel kind, every way to fail, on
both databases."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timedelta

import aiohttp
import pytest

from bot.adapters.base import Feed, SendError, SendErrorKind
from bot.adapters.dingtalk.codec import encode_private_send
from bot.clock import ManualClock
from bot.events import ChatKind, ChatRef, OutgoingMessage, Platform, UserRef
from bot.outbox import to_outbox
from storage import models
from storage import outbox as outbox_store
from storage.sql import raw_rows
from tests.kit.clock import TZ
from tests.kit.sender import drive, sender_for

SECRET = "s3cr3t-T0KEN"  # in every URL: never stored
SESSION_WEBHOOK = f"https://oapi.dingtalk.com/robot/sendBySession?session={SECRET}"
RESPONSE_URL = f"https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code={SECRET}"
WEBHOOK = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={SECRET}"
MEMBER = UserRef(Platform.DINGTALK, "corp", "staff-0042", "李娜")
# How a send may fail, each with the URL or the member in its text, as adapters and aiohttp say it.
FAILURES = ("transient", "throttled", "permanent", "raw", "aiohttp", "repr", "glued")


class FailingPlatform:
    """A platform whose every send fails the way the message's text names, the error carrying
    the URL the message would go to and the member it is for."""

    edits_cards = True

    def __init__(self, clock: ManualClock, platform: Platform) -> None:
        self.clock = clock
        self.platform = platform
        self.paused: set[str] = set()  # throttled once each, then refused for good

    async def start(self, feed: Feed) -> None:
        pass

    async def close(self) -> None:
        pass

    def merge(self, first: OutgoingMessage, then: OutgoingMessage) -> OutgoingMessage | None:
        return None

    async def send(self, message: OutgoingMessage) -> None:
        url = message.reply_handle or WEBHOOK
        how = message.text.split(":", 1)[0]
        said = f"POST {url} for {message.private_to!r} in {message.chat!r}"
        match how:
            case "transient":
                raise SendError(SendErrorKind.TRANSIENT, -1, f"system busy: {said}")
            case "throttled" if message.text not in self.paused:
                self.paused.add(message.text)
                raise SendError(SendErrorKind.THROTTLED, 130101, f"too fast: {said}")
            case "throttled":
                raise SendError(SendErrorKind.PERMANENT, 93000, f"invalid: {said}")
            case "permanent":
                raise SendError(SendErrorKind.PERMANENT, 93000, f"invalid: {said}")
            case "raw":  # no SendError: the sender classifies it (type name, str)
                raise KeyError(message.private_to or message.chat)
            case "aiohttp":
                raise aiohttp.InvalidURL(url)
            case "repr":
                raise RuntimeError(f"{object()} {said}")
            case "glued":  # the URL right after a word, no space or mark between
                raise SendError(SendErrorKind.PERMANENT, 93000, f"发送失败{url}，接收人{said}")
        raise AssertionError(how)


def _messages(platform: Platform) -> Iterator[OutgoingMessage]:
    """For each way to fail: a group reply through its handle (sessionWebhook or response_url), a
    proactive group message (the webhook) and a private message."""
    handle = SESSION_WEBHOOK if platform is Platform.DINGTALK else RESPONSE_URL
    member = UserRef(platform, "corp", MEMBER.user_id, MEMBER.name)
    for how in FAILURES:
        group = ChatRef(platform, "corp", f"group-{how}", ChatKind.GROUP)
        yield OutgoingMessage(chat=group, text=f"{how}: reply", reply_handle=handle)
        yield OutgoingMessage(chat=group, text=f"{how}: proactive")
        private = ChatRef(platform, "corp", f"{member.user_id}-{how}", ChatKind.PRIVATE)
        yield OutgoingMessage(chat=private, text=f"{how}: private", private_to=member)


def _leaks(text: str) -> list[str]:
    found = [
        part
        for part in (SECRET, "sendBySession", "/cgi-bin/", "staff-0042", "李娜")
        if part in text
    ]
    found += [part for part in ("UserRef(", "ChatRef(", " object at 0x") if part in text]
    return found


@pytest.mark.parametrize("platform", [Platform.DINGTALK, Platform.WECOM])
async def test_no_failed_attempt_stores_a_url_token_or_a_repr(
    database: str, platform: Platform
) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    fake = FailingPlatform(clock, platform)
    sender = sender_for(fake, max_attempts=3)  # type: ignore[arg-type]
    messages = list(_messages(platform))
    await outbox_store.enqueue(to_outbox(messages, key_prefix="leak"), clock.now())
    await drive(sender, clock, step=timedelta(minutes=10), until=clock.now() + timedelta(hours=6))

    attempts = await raw_rows(models.OutboxAttempt, "SELECT * FROM outbox_attempt")
    rows = await raw_rows(models.OutboxMessage, "SELECT id, last_error FROM outbox_message")
    paused = await raw_rows(models.ChannelState, "SELECT channel, reason FROM channel_state")
    # Every message was tried, most more than once, and each failure left its detail.
    assert {int(a["message_id"]) for a in attempts} >= {int(r["id"]) for r in rows[: len(messages)]}
    assert len(attempts) > len(messages)
    assert all(a["detail"] or a["code"] for a in attempts)
    stored = [
        *(f"attempt {a['id']}: {a['code']} {a['detail']}" for a in attempts),
        *(f"row {r['id']}: {r['last_error']}" for r in rows),
        *(f"channel {c['channel']}: {c['reason']}" for c in paused),
    ]
    leaked = [(text, _leaks(text)) for text in stored if _leaks(text)]
    assert not leaked, leaked
    # What stays tells an operator where it went and why.
    details = "\n".join(stored)
    host = "oapi.dingtalk.com" if platform is Platform.DINGTALK else "qyapi.weixin.qq.com"
    assert f"https://{host}/…" in details
    assert "<UserRef>" in details
    assert "system busy" in details
    assert "InvalidURL" in details


def test_a_dingtalk_private_message_for_someone_else_is_refused_without_their_repr() -> None:
    """The codec's refusal becomes the attempt's detail (SendError 「encode」): it named the
    whole UserRef (name and account)."""
    other = UserRef(Platform.WECOM, "corp", "wecom-user-7", "王强")
    chat = ChatRef(Platform.DINGTALK, "corp", "x", ChatKind.PRIVATE)
    with pytest.raises(ValueError, match="staff id") as refused:
        encode_private_send(OutgoingMessage(chat=chat, text="hi", private_to=other), robot_code="r")
    assert "王强" not in str(refused.value)
    assert "wecom-user-7" not in str(refused.value)


class CodeCarriesTheUrl(FailingPlatform):
    """A platform (or a proxy in front of it) whose error code is a text that names the URL and
    the member: throttled once, then refused for good."""

    async def send(self, message: OutgoingMessage) -> None:
        url = message.reply_handle or WEBHOOK
        code = f"40001 {url} {message.private_to!r}"
        if message.text not in self.paused:
            self.paused.add(message.text)
            raise SendError(SendErrorKind.THROTTLED, code, "too fast")
        raise SendError(SendErrorKind.PERMANENT, code, "invalid")


@pytest.mark.parametrize("platform", [Platform.DINGTALK, Platform.WECOM])
async def test_the_log_keeps_no_url_token_of_an_error_code(
    database: str, platform: Platform, captured: io.StringIO
) -> None:
    """The sender logged a throttled channel's and a lost message's code as the platform gave
    it: a code naming the URL put its token (and the member's account) in the log."""
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    sender = sender_for(CodeCarriesTheUrl(clock, platform), max_attempts=3)  # type: ignore[arg-type]
    await outbox_store.enqueue(to_outbox(list(_messages(platform)), key_prefix="log"), clock.now())
    await drive(sender, clock, step=timedelta(minutes=10), until=clock.now() + timedelta(hours=6))
    logged = captured.getvalue()
    assert "throttled" in logged, logged
    assert "failed for good" in logged, logged
    leaked = [line for line in logged.splitlines() if _leaks(line)]
    assert not leaked, leaked
    host = "oapi.dingtalk.com" if platform is Platform.DINGTALK else "qyapi.weixin.qq.com"
    assert f"https://{host}/…" in logged, logged
