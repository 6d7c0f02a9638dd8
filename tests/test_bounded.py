"""bot/bounded.py: the memories that must stay bounded however many keys pass (the reminder
sweep's plans: at 100,000 societies keeping all of them took the bot to 643 MiB; the WeCom
adapter's answers; the chain heads checked)."""

from __future__ import annotations

from bot.bounded import Bounded


def test_it_keeps_the_last_entries_put() -> None:
    kept: Bounded[int, str] = Bounded(3)
    for key in range(10):
        kept.put(key, f"plan {key}")
        assert len(kept) <= 3
    assert list(kept) == [7, 8, 9]
    kept.put(7, "planned again")  # put again: the newest
    kept.put(10, "plan 10")
    assert list(kept) == [9, 7, 10]
    assert kept[7] == "planned again"
