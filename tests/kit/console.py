"""The bot under test on the console: the real router and delivery behind the console adapter, on
the demo society (bot.demo)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.adapters.console import ConsoleAdapter
from bot.app import Delivery, build_router, make_feed
from bot.clock import ManualClock
from bot.config import Settings
from bot.demo import ensure_demo
from bot.events import OutgoingMessage
from bot.inbox import Inbox, make_apply
from bot.router import Router
from tests.kit.clock import TZ
from tests.kit.rig import Rig, Said
from tests.kit.seed import console_admin, ensure_admin


class _Sink(io.StringIO):
    """Where the console adapter prints: nowhere (tests read the replies, not the terminal)."""

    def write(self, text: str) -> int:
        return len(text)


class ConsoleRig:
    """`await h.say("张伟", "开会")` -> what the bot answered; `h.sent` keeps every message."""

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
    ) -> ConsoleRig:
        settings = replace(settings or Settings(), committee_admins=(console_admin(),))
        clock = ManualClock(now or datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
        await ensure_admin(settings.committee_admins[0])
        await ensure_demo(clock.now())
        router = build_router(settings, clock)
        adapter = ConsoleAdapter(bot_name=settings.bot_name, clock=clock, out=_Sink())
        delivery = Delivery([adapter], clock=clock, settings=settings)
        await adapter.start(make_feed(router, delivery))
        rig = cls(router, adapter, clock)
        rig.delivery = delivery
        rig.settings = settings
        return rig

    def inbox(self, instance: str = "a", **options: Any) -> Inbox:
        """The inbound queue in front of this rig's router: what it applies is delivered here."""
        assert self.delivery is not None
        delivery = self.delivery

        async def after() -> None:
            await delivery.after_dispatch()

        return Inbox(
            clock=self.clock,
            instance=instance,
            apply=make_apply(self.router.dispatch, delivery.enqueue),
            after_batch=after,
            **options,
        )

    def at(self, text: str) -> None:
        self.clock.set(datetime.fromisoformat(text).replace(tzinfo=TZ))

    async def send(
        self, speaker: str, text: str, *, private: bool = False
    ) -> list[OutgoingMessage]:
        replies = await self.adapter.say(speaker, text, private=private)
        self.sent.extend(replies)
        return replies

    async def say(self, speaker: str, text: str, *, private: bool = False) -> Said:
        """`speaker` says `text` in the group (or to the bot in private); the answer holds the
        replies they see there (`send` returns every message, private ones to others too)."""
        replies = await self.send(speaker, text, private=private)
        return Said(replies=tuple(r.text for r in replies if r.private_to is None))


if TYPE_CHECKING:
    _: type[Rig] = ConsoleRig  # mypy checks that the console rig is a Rig


# The demo society's roster (bot.demo), its leader first.
MEMBERS = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏")


async def check_in_and_open(
    h: ConsoleRig, *, day: str = "2026-12-05", present: tuple[str, ...] = MEMBERS
) -> None:
    """`present` check in at 14:50 on `day` and the leader opens the 15:00 meeting then."""
    h.at(f"{day} 14:50")
    for name in present:
        await h.say(name, "签到")
    h.at(f"{day} 15:00")  # not before the announced time
    assert "会议现在开始" in await h.say("张伟", "开会")


async def convene(h: ConsoleRig, topics: str) -> None:
    """The leader convenes on 1 December a meeting at 2026-12-05 15:00 with `topics`."""
    h.at("2026-12-01 09:00")
    await h.say("张伟", f"召开会议 2026-12-05 15:00 会议室 议题：{topics}")


async def convene_and_open(
    h: ConsoleRig, topics: str, *, present: tuple[str, ...] = MEMBERS
) -> None:
    """Convened on 1 December for 2026-12-05 15:00 with `topics`, then opened."""
    await convene(h, topics)
    await check_in_and_open(h, present=present)
