"""bot/heap.py: when the heap keeper trims, and that a trim gives memory back for real."""

from __future__ import annotations

import asyncio

import pytest

from bot.heap import HeapKeeper, glibc_trim


class Cpu:
    """The process's CPU seconds as the test spends them."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def keeper(cpu: Cpu) -> tuple[HeapKeeper, list[int]]:
    calls: list[int] = []

    def trim() -> int:
        calls.append(1)
        return 1

    return HeapKeeper(trim, every=1.0, min_work=1.0, quiet=0.05, cpu=cpu), calls


def test_it_trims_once_a_burst_is_over_and_not_during_it() -> None:
    cpu = Cpu()
    k, calls = keeper(cpu)
    for _ in range(5):  # a burst: 0.6 s of CPU each second
        cpu.t += 0.6
        assert not k.tick()
    cpu.t += 0.01  # the first quiet second
    assert k.tick()
    assert calls == [1]
    for _ in range(10):  # idle from then on: no second trim
        cpu.t += 0.01
        assert not k.tick()
    assert k.trims == 1


def test_a_little_work_spread_over_quiet_seconds_does_not_trim() -> None:
    """The heartbeat and the sweeps of an idle process: never a second's worth of CPU."""
    cpu = Cpu()
    k, calls = keeper(cpu)
    for _ in range(50):
        cpu.t += 0.015
        k.tick()
    assert calls == []  # 0.75 s in all: under min_work
    cpu.t += 0.3  # a short busy second brings it over
    assert not k.tick()
    assert k.tick()  # and the quiet second after it trims


def test_without_malloc_trim_it_stays_off() -> None:
    k = HeapKeeper(None, cpu=Cpu())
    assert not k.tick()
    asyncio.run(asyncio.wait_for(k.run(), 1))  # returns at once


def rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise AssertionError("no RssAnon")


def test_a_trim_returns_a_fragmented_heap_to_the_system() -> None:
    """What glibc keeps after a burst: buffers of 1 KiB (the C heap, not Python's small-object
    allocator), one in 16 still held, so the heap's top cannot shrink. The trim returns the
    free pages in between."""
    trim = glibc_trim()
    if trim is None:
        pytest.skip("the C library has no malloc_trim (not glibc)")
    trim()
    chunks = [bytes(1024) for _ in range(64 * 1024)]  # 64 MiB
    kept = chunks[::16]
    del chunks
    before = rss_kib()
    trim()
    after = rss_kib()
    assert len(kept) == 4096
    assert before - after > 32 * 1024, (before, after)
