"""Time in tests: the zone test times are written in, and a scheduler that only records what the
bot asked to be woken for (tests wake it by calling `fire`, never by waiting)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.scheduler import wake

TZ = ZoneInfo("Asia/Shanghai")


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
        await wake(name)
