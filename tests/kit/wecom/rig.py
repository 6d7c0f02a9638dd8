"""The bot under test behind WeCom: the real app (`build_app`) with the real WeCom adapter under an
aiohttp TestClient, and a `FakeWeCom` on loopback for everything the bot calls."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.adapters.ports import ChatWebhooks, ConnectionLease
from bot.adapters.wecom.adapter import WeComAdapter, build_wecom_adapter
from bot.adapters.wecom.codec import WeComSettings
from bot.adapters.wecom.config import WeComConfig
from bot.clock import Clock
from bot.config import ReminderSettings, Settings
from bot.storage_ports import StoredLease, StoredWebhooks
from tests.kit.rig import JsonObject, Rig, Said, serve_bot
from tests.kit.seed import WECOM_CORP, seed_wecom_society, wecom_admin
from tests.kit.wecom.payloads import (
    DEFAULT_CHAT_ID,
    decrypt_reply,
    make_card_event,
    make_text_message,
)
from tests.kit.wecom.server import FakeWeCom

RIG_BOT_ID = "aibEXAMPLE01"
RIG_BOT_NAME = "议事助手"
RIG_TOKEN = "QDG6eK"
RIG_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"


def rig_settings(api_base: str, **overrides: Any) -> WeComSettings:
    return WeComSettings(
        token=RIG_TOKEN,
        encoding_aes_key=RIG_AES_KEY,
        corp_id=WECOM_CORP,
        bot_id=RIG_BOT_ID,
        bot_name=RIG_BOT_NAME,
        api_base=api_base,
        **overrides,
    )


def said(status: int, body: bytes, reply: JsonObject | None) -> Said:
    """A callback's answer: `reply` is the decrypted passive reply (None for an empty answer);
    its text is the stream's content or, for a card alone, the card's subtitle."""
    if reply is None:
        return Said(status=status, body=body)
    card = reply.get("template_card")
    card = card if isinstance(card, dict) else None
    stream = reply.get("stream")
    if isinstance(stream, dict):
        text = str(stream.get("content", ""))
    else:
        text = str(card.get("sub_title_text", "")) if card is not None else ""
    return Said(replies=(text,), card=card, reply=reply, status=status, body=body)


@dataclass
class WeComRig:
    """`await rig.say("lina", "签到")` posts an encrypted callback (the @mention added in a group)
    to the real app and returns the decrypted answer. `fake_base` is where the fake WeCom
    listens."""

    client: TestClient[web.Request, web.Application]  # the bot's app
    fake: FakeWeCom
    fake_base: str
    settings: WeComSettings
    clock: Clock
    callback_path: str = "/wecom/callback"
    counter: int = 0

    def msgid(self) -> str:
        self.counter += 1
        return f"msg{self.counter:06d}{secrets.token_hex(3)}"

    async def post(self, params: dict[str, str], body: bytes) -> Said:
        async with self.client.post(self.callback_path, params=params, data=body) as resp:
            raw = await resp.read()
            status = resp.status
        reply = decrypt_reply(self.settings, json.loads(raw)) if status == 200 and raw else None
        return said(status, raw, reply)

    async def say(
        self,
        userid: str,
        text: str,
        *,
        chatid: str | None = DEFAULT_CHAT_ID,
        msgid: str | None = None,
        mention: bool = True,
    ) -> Said:
        if chatid is not None and mention:
            text = f"@{RIG_BOT_NAME} {text}"
        params, body = make_text_message(
            self.settings,
            text,
            now=self.clock.now(),
            userid=userid,
            chatid=chatid,
            msgid=msgid or self.msgid(),
            response_url=self.fake.response_url(self.fake_base),
        )
        return await self.post(params, body)

    async def click(
        self,
        userid: str,
        card: JsonObject,
        option: str,
        *,
        chatid: str | None = DEFAULT_CHAT_ID,
        msgid: str | None = None,
    ) -> Said:
        params, body = make_card_event(
            self.settings,
            now=self.clock.now(),
            task_id=card["task_id"],
            event_key=card["submit_button"]["key"],
            option_ids=[option],
            userid=userid,
            chatid=chatid,
            msgid=msgid or self.msgid(),
            response_url=self.fake.response_url(self.fake_base),
        )
        return await self.post(params, body)


if TYPE_CHECKING:
    _: type[Rig] = WeComRig  # mypy checks that the WeCom rig is a Rig


@contextlib.asynccontextmanager
async def open_fake(clock: Clock) -> AsyncIterator[tuple[FakeWeCom, str]]:
    """The fake WeCom on loopback: (fake, base URL without a trailing slash)."""
    fake = FakeWeCom(clock, corp_id=WECOM_CORP, corp_secret="app-secret")
    server = TestServer(fake.app())
    await server.start_server()
    try:
        yield fake, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


class Ports(TypedDict):
    webhooks: ChatWebhooks
    lease: ConnectionLease


def stored_ports() -> Ports:
    """The adapter's ports over the test database, as `build_wecom_adapter` takes them."""
    return {"webhooks": StoredWebhooks(), "lease": StoredLease()}


def rig_config(base: str, **overrides: Any) -> WeComConfig:
    options: dict[str, Any] = {
        "enabled": True,
        "corp_id": WECOM_CORP,
        "bot_id": RIG_BOT_ID,
        "bot_name": RIG_BOT_NAME,
        "token": RIG_TOKEN,
        "encoding_aes_key": RIG_AES_KEY,
        "api_base": base,
        "app_agent_id": "1000002",
        "app_secret": "app-secret",
        "ws_url": base.replace("http://", "ws://") + "/ws",
    }
    options.update(overrides)
    return WeComConfig(**options)


@contextlib.asynccontextmanager
async def open_bot(
    clock: Clock, base: str, *, wecom: dict[str, Any] | None = None, inbound: str = "direct"
) -> AsyncIterator[tuple[TestClient[web.Request, web.Application], WeComAdapter]]:
    """The bot's real app with the WeCom adapter (`serve_bot`): (client, adapter)."""
    adapter = build_wecom_adapter(rig_config(base, **(wecom or {})), clock, **stored_ports())
    # inbound "direct": applied before the answer (replies in the passive reply); "queue" (the
    # production default): answered once queued, applied right after.
    settings = Settings(
        committee_admins=(wecom_admin(),),
        reminders=ReminderSettings(private=False),  # reminders @-mention in the group
        inbound=inbound,
    )
    async with serve_bot(settings, clock, adapter) as client:
        yield client, adapter


@contextlib.asynccontextmanager
async def open_rig(
    clock: Clock, *, wecom: dict[str, Any] | None = None, seed: bool = True, inbound: str = "direct"
) -> AsyncIterator[tuple[WeComRig, WeComAdapter]]:
    """(rig, adapter): the fake WeCom and the bot's real app on loopback; with `seed`, the demo
    society's people with WeCom identities."""
    async with open_fake(clock) as (fake, base):
        if seed:
            await seed_wecom_society(clock.now())
        async with open_bot(clock, base, wecom=wecom, inbound=inbound) as (client, adapter):
            yield WeComRig(client, fake, base, rig_settings(base), clock), adapter
