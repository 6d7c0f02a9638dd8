"""A mapping that keeps its newest entries: the process's memories (the WeCom adapter's answers,
the reminder sweep's plans, the chain heads checked, the groups' scenes) stay bounded however
many keys pass."""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Bounded(OrderedDict[K, V]):
    """The last `size` entries put: `put` makes an entry the newest, and past `size` the one put
    longest ago goes."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: K, value: V) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)
