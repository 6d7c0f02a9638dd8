"""A vote card's button names its vote (`表决#id`): a click on a card of another society's vote,
of no vote at all, or of a vote that has closed (a secret one included) is answered as what it
is, and nothing is counted (DingTalk, both engines)."""

from __future__ import annotations

import re
from datetime import datetime

from bot.clock import ManualClock
from storage import repo
from tests.adapters.test_private_ballot_societies import GROUPS, open_meeting
from tests.kit.clock import TZ
from tests.kit.dingtalk.rig import running_bot
from tests.kit.dingtalk.server import FakeDingTalk
from tests.kit.seed import seed_dingtalk_society


async def test_a_card_of_another_vote_is_answered_as_what_it_is(database: str) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    async with (
        FakeDingTalk(clock=clock.now) as fake,
        running_bot(fake, clock, card_template_id="") as rig,
    ):
        one = await seed_dingtalk_society(fake.corp_id, 1, clock.now(), group_id=GROUPS[1])
        two = await seed_dingtalk_society(fake.corp_id, 2, clock.now(), group_id=GROUPS[2])
        await open_meeting(rig, one, GROUPS[1])
        await open_meeting(rig, two, GROUPS[2])
        assert "无记名" in await rig.say(one["张伟"], "发起表决 1", group=GROUPS[1])
        meeting = await repo.active_meeting((await repo.society_by_name("示例科技学会0001")).id)
        assert meeting is not None
        ((secret, _),) = await repo.open_votes(meeting.id)

        # Society 2's member clicks a card of society 1's vote (forwarded into their group).
        other = await rig.say(two["李娜"], f"投票 赞成 表决#{secret.id}", group=GROUPS[2])
        assert "不是" in other, other.text
        assert "未计票" in other
        # A card naming no vote, even one past the database's ids.
        for vote_id in (secret.id + 1000, 99_999_999_999):
            none = await rig.say(one["李娜"], f"赞成 表决#{vote_id}", group=GROUPS[1])
            assert "不是" in none, none.text
            assert "未计票" in none
            assert "投票指令只能是" not in none

        # The secret vote closes; a click on its card in the group says it has ended, not
        # that secret ballots are cast in private.
        for name in ("李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏", "张伟"):
            assert "回执" in await rig.say(one[name], "投票 赞成", private=True)
        closed = await rig.say(one["张伟"], "结束表决", group=GROUPS[1])
        assert "通过" in closed, closed.text
        late = await rig.say(one["王强"], f"投票 反对 表决#{secret.id}", group=GROUPS[1])
        assert "已经结束" in late, late.text
        assert "私聊" not in late
        result = await rig.say(one["张伟"], "计票 1", group=GROUPS[1])
        assert re.search(r"赞成\s*7", result.text), result.text
