"""Running the event loop: uvloop where it is installed (Linux, macOS), asyncio's own loop
elsewhere. A serving bot spends most of its CPU in the loop's networking (platform callbacks,
sends to the platforms, the database driver); uvloop does that work in C."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - e.g. Windows
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
