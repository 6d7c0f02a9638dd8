"""One way to talk to the bot under test, whatever the platform: a `Rig` takes a message from a
member and gives back what the bot answered as a `Said`. Three rigs conform: `ConsoleRig` (the
console adapter on the demo society), `DingTalkRig` (signed callbacks against `FakeDingTalk`) and
`WeComRig` (encrypted callbacks against `FakeWeCom`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.adapters.base import ChatAdapter
from bot.app import RUNTIME, build_app
from bot.clock import Clock
from bot.config import Settings
from tests.kit.clock import FakeScheduler

# A decoded JSON object as a platform sends or receives it: its values are whatever the JSON
# holds, so they stay `Any` and each test indexes what its platform documents.
JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Said:
    """The bot's answer to one message, in the same shape on every platform.

    replies  the text of each reply the member sees, in order: the console's replies to the chat
             (private ones stay in `ConsoleRig.sent`), the messages DingTalk's sessionWebhook
             received for this message, WeCom's passive reply (a stream or a card's subtitle)
    card     the vote card the answer carried (WeCom's `template_card`); DingTalk delivers its
             cards apart (`FakeDingTalk.cards`), the console has none
    reply    the answer in the callback's own HTTP response, decoded (WeCom: the decrypted
             passive reply); None when it was empty or there is no HTTP (DingTalk answers `{}`)
    status   the HTTP status the bot answered the callback with; None on the console
    body     that HTTP answer's raw body (b"" on the console)
    """

    replies: tuple[str, ...] = ()
    card: JsonObject | None = None
    reply: JsonObject | None = None
    status: int | None = None
    body: bytes = b""

    @property
    def text(self) -> str:
        """The replies as one text, one per line ("" when the bot stayed silent)."""
        return "\n".join(self.replies)

    def __contains__(self, part: str) -> bool:
        """`"已签到" in said`: the answer's text contains `part`."""
        return part in self.text


@runtime_checkable
class Rig(Protocol):
    """The bot under test on one platform. `say(who, text)` sends `text` from `who` into the rig's
    group chat and returns the answer; `who` is the member as the platform knows them (the name
    on the console, the staff id on DingTalk, the userid on WeCom)."""

    async def say(self, who: str, text: str, /) -> Said: ...


@contextlib.asynccontextmanager
async def serve_bot(
    settings: Settings, clock: Clock, adapter: ChatAdapter
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """The bot's real app (`build_app` with `adapter` and a FakeScheduler) behind an aiohttp
    TestClient (`client.app` is the app), on the database the caller opened."""
    app = build_app(settings, clock=clock, adapters=[adapter], scheduler=FakeScheduler())
    async with TestClient(TestServer(app)) as client:
        await app[RUNTIME].caught_up.wait()  # the start-up sweep runs in the background
        yield client
