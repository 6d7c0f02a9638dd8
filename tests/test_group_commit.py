"""Group commit (bot/group_commit.py): callers that arrive while a batch commits go together in
the next; `settled` waits for the batch being committed, not for the ones after it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bot.group_commit import GroupCommit


class Gated:
    """A commit that waits, batch by batch, until the test lets it through."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gates: list[asyncio.Event] = []
        self.started = asyncio.Event()

    async def commit(self, items: Sequence[int]) -> list[int]:
        gate = asyncio.Event()
        self.batches.append(list(items))
        self.gates.append(gate)
        self.started.set()
        await gate.wait()
        if -1 in items:
            raise RuntimeError("the batch failed")
        return [x * 10 for x in items]


async def test_callers_that_arrive_while_a_batch_commits_go_together_in_the_next() -> None:
    gated = Gated()
    door: GroupCommit[int, int] = GroupCommit(gated.commit)
    first = asyncio.create_task(door.submit(1))
    await gated.started.wait()
    later = [asyncio.create_task(door.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    assert door.waiting
    gated.gates[0].set()
    assert await first == 10
    await asyncio.sleep(0)
    assert gated.batches == [[1], [2, 3, 4]]
    gated.gates[1].set()
    assert await asyncio.gather(*later) == [20, 30, 40]
    assert not door.waiting


async def test_a_failed_batch_fails_its_callers_only() -> None:
    gated = Gated()
    door: GroupCommit[int, int] = GroupCommit(gated.commit)
    bad = asyncio.create_task(door.submit(-1))
    await gated.started.wait()
    good = asyncio.create_task(door.submit(5))
    gated.gates[0].set()
    with pytest.raises(RuntimeError):
        await bad
    await asyncio.sleep(0)
    gated.gates[1].set()
    assert await good == 50


async def test_settled_waits_for_the_batch_in_flight_not_for_the_next() -> None:
    """Under a steady stream of callers there is always a next batch: a worker that waited for
    the door to be idle (the inbound queue's round, bot/inbox.py) waited for a lull."""
    gated = Gated()
    door: GroupCommit[int, int] = GroupCommit(gated.commit)
    await door.settled()  # nothing in flight: at once
    first = asyncio.create_task(door.submit(1))
    await gated.started.wait()
    second = asyncio.create_task(door.submit(2))
    settled = asyncio.create_task(door.settled())
    await asyncio.sleep(0)
    assert not settled.done()  # the first batch is still committing
    gated.gates[0].set()
    await asyncio.wait_for(settled, 1)
    assert await first == 10
    # The second batch has started and waits at its gate; settled() was not held up by it.
    assert gated.batches == [[1], [2]]
    assert not second.done()
    gated.gates[1].set()
    assert await second == 20
