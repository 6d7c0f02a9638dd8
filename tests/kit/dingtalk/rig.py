"""The bot under test behind DingTalk: the real app (`build_app`) with the DingTalk adapter built
from settings, served by aiohttp's TestServer, talking to a `FakeDingTalk`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from bot.adapters.dingtalk.adapter import DingTalkAdapter, build_dingtalk_adapter
from bot.adapters.dingtalk.codec import DingTalkSettings
from bot.adapters.dingtalk.config import dingtalk_from_settings
from bot.app import RUNTIME
from bot.clock import ManualClock
from bot.config import Settings
from bot.storage_ports import StoredHeaderBindings, StoredWebhooks
from tests.kit.dingtalk.server import FakeDingTalk
from tests.kit.rig import Rig, Said, serve_bot
from tests.kit.seed import dingtalk_admin, ensure_admin

DEFAULT_GROUP = "cidDEFAULTgroup=="  # where `say` speaks unless told another group


def dingtalk_table(fake: FakeDingTalk, **overrides: Any) -> dict[str, Any]:
    """The `[dingtalk]` settings table pointing at the fake (the secret comes from env)."""
    table: dict[str, Any] = {
        "enabled": True,
        "mode": "http",
        "app_key": fake.app_key,
        "robot_code": fake.robot_code,
        "corp_id": fake.corp_id,
        "api_base": fake.base_url,
        "oapi_base": fake.base_url,
        "card_template_id": "yishi-vote.schema",
        "stream_watchdog_s": 2.0,
        "stream_ping_s": 0.5,
    }
    table.update(overrides)
    return table


def secret_env(fake: FakeDingTalk) -> dict[str, str]:
    return {"YISHI_DINGTALK_APP_SECRET": fake.app_secret}


@dataclass
class DingTalkRig:
    """The real app (`build_app`) with a DingTalk adapter, served by aiohttp's TestServer, and
    the fake platform it talks to. `say` posts a signed callback and returns the replies the
    fake received on that message's sessionWebhook (DingTalk answers the callback itself with
    `{}`)."""

    fake: FakeDingTalk
    clock: ManualClock
    adapter: DingTalkAdapter
    client: TestClient[web.Request, web.Application]
    app: web.Application
    codec: DingTalkSettings
    path: str
    serial: int = 0

    def next_msg_id(self) -> str:
        self.serial += 1
        return f"msg-{id(self) % 10_000:04d}-{self.serial:06d}"

    async def post(
        self,
        staff: str,
        text: str,
        *,
        group: str,
        private: bool = False,
        nick: str = "",
        msg_id: str | None = None,
        at_staff_ids: Iterable[str] = (),
    ) -> ClientResponse:
        # DingTalk signs each push at its own millisecond; a (timestamp, sign) pair is good for
        # one msgId only (HeaderReplayGuard), so the manual clock moves 1 ms per message.
        self.clock.advance(timedelta(milliseconds=1))
        headers, body = self.fake.make_callback(
            self.codec,
            text=text,
            staff_id=staff,
            conversation_id=f"cidP2P{staff}" if private else group,
            msg_id=msg_id or self.next_msg_id(),
            now=self.clock.now(),
            nick=nick or staff,
            conversation_type="1" if private else "2",
            at_staff_ids=at_staff_ids,
        )
        return await self.client.post(self.path, data=body, headers=headers)

    async def say(
        self, staff: str, text: str, *, group: str = DEFAULT_GROUP, private: bool = False
    ) -> Said:
        """Post `text` from `staff` into `group` (or their 1:1 chat with the bot) and return what
        the fake received on that message's sessionWebhook."""
        before = len(self.fake.recorded["session"])
        response = await self.post(staff, text, group=group, private=private)
        assert response.status == 200, await response.text()
        assert await response.json() == {}
        await self.adapter.tasks.flush()
        replies = tuple(c.text for c in self.fake.recorded["session"][before:])
        return Said(replies=replies, status=response.status, body=await response.read())

    async def drain_outbox(self) -> None:
        await self.app[RUNTIME].delivery.sender.run_once()
        await self.adapter.tasks.flush()


if TYPE_CHECKING:
    _: type[Rig] = DingTalkRig  # mypy checks that the DingTalk rig is a Rig


def admin_settings(corp_id: str) -> Settings:
    # Applied before the answer unless a test asks for the inbound queue (the default of a
    # configured server) with settings_overrides={"inbound": "queue"}.
    return Settings(committee_admins=(dingtalk_admin(corp_id),), inbound="direct")


@contextlib.asynccontextmanager
async def running_bot(
    fake: FakeDingTalk,
    clock: ManualClock,
    *,
    stream_options: Mapping[str, Any] | None = None,
    settings_overrides: Mapping[str, Any] | None = None,
    **table: Any,
) -> AsyncIterator[DingTalkRig]:
    """Start the bot (`build_app` + DingTalk adapter from settings) against `fake`."""
    cfg = dingtalk_from_settings(dingtalk_table(fake, **table), secret_env(fake))
    adapter = build_dingtalk_adapter(
        cfg,
        clock,
        webhooks=StoredWebhooks(),
        bindings=StoredHeaderBindings(),
        **(stream_options or {}),
    )
    settings = admin_settings(fake.corp_id)
    if settings_overrides:
        settings = replace(settings, **settings_overrides)
    await ensure_admin(settings.committee_admins[0])
    async with serve_bot(settings, clock, adapter) as client:
        yield DingTalkRig(
            fake, clock, adapter, client, client.app, adapter.settings, cfg.callback_path
        )
