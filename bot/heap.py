"""Give the C heap's free memory back to the system once a burst of work is over.

Under a burst (a group voting, the half-year meeting season) the process allocates and frees
many short-lived buffers through the C allocator: request bodies and replies, decrypted
payloads, SQLite's page buffers, Python objects over 512 bytes. glibc keeps what was freed
inside its heap for reuse and hands pages back only from the heap's top, so after the burst the
process stays as large as it was at the busiest moment: 2-5 MiB of free but resident heap in
`benchmarks/queue_memory.py`. `malloc_trim(0)` returns every whole free page of every arena.

When: the keeper looks at the process's CPU time every `every` seconds; after at least
`min_work` seconds of CPU since the last trim (a burst, not a heartbeat), the first interval
with less than `quiet` of CPU (the burst is over) trims. Under steady load it never trims, so
it never makes pages that would be reused at once fault in again; an idle process trims once
and stays quiet. One trim takes a few milliseconds on the loop's thread (3.7 ms for 30 MiB of
fragmented heap, measured here).

Only where the C library has `malloc_trim` (glibc): elsewhere (musl, macOS) the keeper is off.
`glibc_trim` also serves storage/db.py, which trims once after migrating.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

Trim = Callable[[], int]


def glibc_trim() -> Trim | None:
    """`malloc_trim(0)` of the process's C library, or None when it has none."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: int(trim(0))


class HeapKeeper:
    def __init__(
        self,
        trim: Trim | None,
        *,
        every: float = 1.0,
        min_work: float = 1.0,
        quiet: float = 0.05,
        cpu: Callable[[], float] = time.process_time,
    ) -> None:
        self.trim = trim
        self.every = every
        self.min_work = min_work
        self.quiet = quiet
        self.cpu = cpu
        self.trims = 0
        self._since_trim = 0.0  # CPU seconds since the last trim
        self._last = cpu()

    def tick(self) -> bool:
        """One look (every `every` seconds): whether it trimmed."""
        now = self.cpu()
        used, self._last = now - self._last, now
        self._since_trim += used
        if self.trim is None or used >= self.quiet or self._since_trim < self.min_work:
            return False
        self.trim()
        self.trims += 1
        self._since_trim = 0.0
        return True

    async def run(self) -> None:
        if self.trim is None:
            return
        while True:
            await asyncio.sleep(self.every)
            try:
                self.tick()
            except Exception:  # never worth stopping the process for
                logger.exception("malloc_trim failed; heap trimming stops")
                return
