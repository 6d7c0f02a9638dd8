"""CPU to read one group message: what the router does with the text before any database work
(the command lookup, and for a message no command takes, the nearest commands it is compared
with). Most messages in a society's group are remarks no command takes, so this is paid for
nearly every message the bot sees.

    .venv/bin/python benchmarks/utterance.py [--repeat 200]

Prints, for each kind of message, microseconds of CPU per message (median of the repeats).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import handlers  # noqa: E402
from bot import governance as g  # noqa: E402
from bot import utterance as u  # noqa: E402

KINDS: dict[str, tuple[str, ...]] = {
    "ballot": ("赞成", "反对", "弃权", "同意"),
    "command": ("签到", "请假 出差", "状态", "纪要"),
    "remark": (
        "大家好，今天天气不错",
        "收到，谢谢",
        "下午的材料我已经发到邮箱了，请查收",
        "这个事情我们下次再聊吧，今天先这样",
    ),
    "typo": ("签倒", "请价 出差", "装态"),
}
MEMBER = frozenset({g.Role.MEMBER})


def read(lexicon: u.Lexicon, text: str) -> object:
    found = lexicon.resolve(text)
    if isinstance(found, (u.Clarify, u.Unknown)):
        return u.settle(lexicon, found, MEMBER, g.MeetingState.OPEN)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="messages timed per text")
    args = parser.parse_args()
    lexicon = u.Lexicon(handlers.ALL_ROUTES)
    print(f"{len(lexicon.routes)} commands, {sum(map(len, lexicon.forms))} words and phrasings")
    for kind, texts in KINDS.items():
        each = []
        for text in texts:
            read(lexicon, text)  # caches warm, as in a running bot
            start = time.process_time()
            for _ in range(args.repeat):
                read(lexicon, text)
            each.append((time.process_time() - start) / args.repeat * 1e6)
        print(f"{kind:8} {statistics.median(each):10.0f} µs CPU per message (max {max(each):.0f})")


if __name__ == "__main__":
    main()
