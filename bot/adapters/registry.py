"""Which platform adapters `yishi serve` runs, built from the settings."""

from __future__ import annotations

from bot.adapters.base import ChatAdapter
from bot.clock import Clock
from bot.config import Settings


def adapters_from_settings(settings: Settings, clock: Clock) -> list[ChatAdapter]:
    """The adapters whose platform section is enabled in the configuration."""
    adapters: list[ChatAdapter] = []
    return adapters
