"""A meeting with an open vote, and the inbound queue over a console rig: shared by the queue,
fault and backup tests."""

from __future__ import annotations

from collections.abc import Sequence

from tests.kit.console import ConsoleRig


async def open_vote(h: ConsoleRig, voters: Sequence[str]) -> None:
    """张伟 convenes, `voters` and 张伟 sign in, the meeting opens and votes on item 1."""
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    h.at("2026-12-05 14:50")
    for name in ("张伟", *voters):
        await h.say(name, "签到")
    h.at("2026-12-05 15:00")  # not before the announced time
    await h.say("张伟", "开会")
    await h.say("张伟", "发起表决 1")
