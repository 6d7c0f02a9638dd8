"""The test kit's one `Rig` protocol: the console, DingTalk and WeCom rigs each take a member's
message and give back a `Said`; the same words get the same answer on all three."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import datetime

import pytest

from bot.clock import ManualClock
from bot.demo import LIAISON, PEOPLE, RECORDER
from tests.kit.clock import TZ
from tests.kit.console import ConsoleRig
from tests.kit.dingtalk.rig import DEFAULT_GROUP, running_bot
from tests.kit.dingtalk.server import FakeDingTalk
from tests.kit.rig import Rig, Said
from tests.kit.seed import WECOM_ADMIN, WECOM_USERS, seed_dingtalk_society
from tests.kit.wecom.rig import open_rig


async def roster(rig: Rig, who: str) -> Said:
    return await rig.say(who, "名单")


@pytest.fixture(params=["console", "dingtalk", "wecom"])
async def rig_and_leader(
    request: pytest.FixtureRequest, database: str
) -> AsyncIterator[tuple[Rig, str]]:
    """A platform's rig, its group bound to a demo-shaped society, and the leader's user id."""
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    async with AsyncExitStack() as stack:
        if request.param == "console":
            yield await ConsoleRig.create(now=clock.now()), "张伟"
        elif request.param == "dingtalk":
            fake = await stack.enter_async_context(FakeDingTalk(clock=clock.now))
            rig = await stack.enter_async_context(running_bot(fake, clock))
            staff = await seed_dingtalk_society(
                fake.corp_id, 1, clock.now(), group_id=DEFAULT_GROUP
            )
            yield rig, staff["张伟"]
        else:
            wecom, _ = await stack.enter_async_context(open_rig(clock))
            assert "已绑定" in await wecom.say(WECOM_ADMIN, "绑定学会 苏州市示例科技学会")
            yield wecom, WECOM_USERS["张伟"]


async def test_each_rig_is_a_rig_and_answers_with_said(rig_and_leader: tuple[Rig, str]) -> None:
    rig, leader = rig_and_leader
    assert isinstance(rig, Rig)
    said = await roster(rig, leader)
    assert isinstance(said, Said)
    assert len(said.replies) == 1, said
    assert said.text == said.replies[0]
    # The same roster on every platform: the demo society's leading group, recorder, liaison.
    for name in (name for name, role, _, _ in PEOPLE if role != "none"):
        assert f"- {name}：" in said, (name, said)
    assert "- 张伟：组长（副理事长、中共党员）" in said
    assert f"记录人：{RECORDER}；党建联系人：{LIAISON}" in said


def test_a_plain_object_is_not_a_rig() -> None:
    assert not isinstance(object(), Rig)
