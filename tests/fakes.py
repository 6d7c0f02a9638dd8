"""Test doubles: a chat harness that speaks to the real router through the console adapter."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.adapters.console import ConsoleAdapter
from bot.app import Delivery, build_router, make_feed
from bot.clock import ManualClock
from bot.config import Settings, parse_admin
from bot.demo import committee_admin_entry, ensure_demo
from bot.events import OutgoingMessage, UserRef
from bot.router import Router
from storage import repo

TZ = ZoneInfo("Asia/Shanghai")


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


class Harness:
    """`await h.say("张伟", "开会")` -> the bot's reply text; `h.sent` keeps every message."""

    def __init__(self, router: Router, adapter: ConsoleAdapter, clock: ManualClock) -> None:
        self.router = router
        self.adapter = adapter
        self.clock = clock
        self.sent: list[OutgoingMessage] = []
        self.delivery: Delivery | None = None
        self.settings = Settings()

    @classmethod
    async def create(
        cls, settings: Settings | None = None, *, now: datetime | None = None
    ) -> Harness:
        settings = settings or Settings()
        settings = replace(
            settings, committee_admins=(parse_admin("test", committee_admin_entry()),)
        )
        clock = ManualClock(now or datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
        admin = settings.committee_admins[0]
        from bot.events import Platform

        await repo.ensure_person(
            UserRef(Platform(admin.platform), admin.corp_id, admin.user_id, admin.name),
            name=admin.name,
        )
        await ensure_demo(clock.now())
        router = build_router(settings, clock)
        adapter = ConsoleAdapter(bot_name=settings.bot_name, clock=clock, out=_Sink())  # type: ignore[arg-type]
        delivery = Delivery([adapter], clock=clock, settings=settings)
        await adapter.start(make_feed(router, delivery))
        harness = cls(router, adapter, clock)
        harness.delivery = delivery
        harness.settings = settings
        return harness

    def at(self, text: str) -> None:
        self.clock.set(datetime.fromisoformat(text).replace(tzinfo=TZ))

    async def send(
        self, speaker: str, text: str, *, private: bool = False
    ) -> list[OutgoingMessage]:
        replies = await self.adapter.say(speaker, text, private=private)
        self.sent.extend(replies)
        return replies

    async def say(self, speaker: str, text: str, *, private: bool = False) -> str:
        replies = await self.send(speaker, text, private=private)
        return "\n".join(r.text for r in replies if r.private_to is None)


@dataclass
class FakeScheduler:
    """Records what the bot asked to be woken for; tests call `fire(name)` instead of waiting."""

    armed: list[tuple[str, datetime]] = field(default_factory=list)
    running: bool = False
    # Arms asked for before start(): APScheduler would drop them (see bot.scheduler).
    armed_stopped: int = 0

    def start(self) -> None:
        self.running = True

    def arm(self, name: str, at: datetime) -> None:
        self.armed.append((name, at))
        self.armed_stopped += not self.running

    def shutdown(self) -> None:
        self.running = False

    async def fire(self, name: str) -> None:
        from bot.scheduler import wake

        await wake(name)
