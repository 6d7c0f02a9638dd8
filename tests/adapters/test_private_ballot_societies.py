"""A member of two societies casts secret ballots in their private chat with the bot (DingTalk,
both engines): asked which vote when both societies vote at once, the ballot taken once the vote
is named (`表决#id` or the society's name), and a named vote sent in private refused with a hint
to vote in the group."""

from __future__ import annotations

import re
from datetime import datetime

from bot.clock import ManualClock
from bot.events import Platform, UserRef
from storage import models, repo
from tests.kit.clock import TZ
from tests.kit.dingtalk.rig import DingTalkRig, running_bot
from tests.kit.dingtalk.server import FakeDingTalk
from tests.kit.seed import seed_dingtalk_society

MEMBERS = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏")
GROUPS = {1: "cidSOCIETYone==", 2: "cidSOCIETYtwo=="}
SEEDED = {1: "示例科技学会0001", 2: "示例科技学会0002"}
NAMES = {1: "苏州市示例材料学会", 2: "苏州市示例信息研究会"}  # as a member would type them


def at(clock: ManualClock, text: str) -> None:
    clock.set(datetime.fromisoformat(text).replace(tzinfo=TZ))


async def open_meeting(
    rig: DingTalkRig, staff: dict[str, str], group: str, extra: tuple[str, ...] = ()
) -> None:
    """At 15:00, a meeting with a personnel item (secret by rule) and a work item, everyone
    (and `extra`, staff ids of members from elsewhere) signed in."""
    at(rig.clock, "2026-12-01 09:00")
    agenda = "议题：推荐副组长人选（人事）；年度工作"
    await rig.say(staff["张伟"], f"召开会议 2026-12-05 15:00 会议室 {agenda}", group=group)
    at(rig.clock, "2026-12-05 14:50")
    for who in (*(staff[name] for name in MEMBERS), *extra):
        assert "签到" in await rig.say(who, "签到", group=group)
    at(rig.clock, "2026-12-05 15:00")
    await rig.say(staff["张伟"], "开会", group=group)


async def cast_so_far(rig: DingTalkRig, leader: str, group: str) -> int:
    """How many ballots the open vote of `group` holds, as 计票 tells the group."""
    said = await rig.say(leader, "计票", group=group)
    found = re.search(r"已投(\d+)/", said.text)
    assert found is not None, said.text
    return int(found.group(1))


async def test_a_member_of_two_societies_votes_in_private(database: str) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    async with (
        FakeDingTalk(clock=clock.now) as fake,
        running_bot(fake, clock, card_template_id="") as rig,
    ):
        one = await seed_dingtalk_society(fake.corp_id, 1, clock.now(), group_id=GROUPS[1])
        two = await seed_dingtalk_society(fake.corp_id, 2, clock.now(), group_id=GROUPS[2])
        for n, name in NAMES.items():
            seeded = await repo.society_by_name(SEEDED[n])
            assert seeded is not None
            await repo.update_society(seeded.id, name=name)
        lina = one["李娜"]  # also a member of society 2
        person = await repo.person_by_identity(UserRef(Platform.DINGTALK, fake.corp_id, lina))
        society_two = await repo.society_by_name(NAMES[2])
        assert person is not None
        assert society_two is not None
        await repo.put_member(society_two.id, person.id, roster_role="member")

        await open_meeting(rig, one, GROUPS[1])
        await open_meeting(rig, two, GROUPS[2], extra=(lina,))
        # Only society 1 votes: her private ballot goes there without asking.
        assert "无记名" in await rig.say(one["张伟"], "发起表决 1", group=GROUPS[1])
        assert "回执" in await rig.say(lina, "投票 弃权", private=True)
        assert await cast_so_far(rig, one["张伟"], GROUPS[1]) == 1
        # Both vote: she is asked which, and nothing is counted.
        assert "无记名" in await rig.say(two["张伟"], "发起表决 1", group=GROUPS[2])
        asked = await rig.say(lina, "投票 赞成", private=True)
        assert "未计票" in asked
        listed = dict(re.findall(r"表决#(\d+)：(\S+) 议题1", asked.text))
        assert sorted(listed.values()) == sorted(NAMES.values()), asked.text
        assert await cast_so_far(rig, one["张伟"], GROUPS[1]) == 1
        assert await cast_so_far(rig, two["张伟"], GROUPS[2]) == 0
        vote_two = next(int(v) for v, name in listed.items() if name == NAMES[2])
        # Named by id, or by the society's name: taken in that society.
        assert "回执" in await rig.say(lina, f"投票 赞成 表决#{vote_two}", private=True)
        assert await cast_so_far(rig, two["张伟"], GROUPS[2]) == 1
        assert "不允许改票" in await rig.say(lina, f"投票 反对 {NAMES[2]}", private=True)
        assert await cast_so_far(rig, two["张伟"], GROUPS[2]) == 1
        # A vote that is not hers to name is refused, and counts nothing.
        assert "未计票" in await rig.say(lina, "投票 赞成 表决#999", private=True)
        # A member of society 2 only is never asked: the society is hers.
        assert "回执" in await rig.say(two["王强"], "投票 反对", private=True)
        assert await cast_so_far(rig, two["张伟"], GROUPS[2]) == 2
        assert await cast_so_far(rig, one["张伟"], GROUPS[1]) == 1

        # A named vote is cast in the group only: sent in private, it is refused with a hint.
        await rig.say(two["张伟"], "结束表决 现在", group=GROUPS[2])
        assert "记名" in await rig.say(two["张伟"], "发起表决 2 记名", group=GROUPS[2])
        refused = await rig.say(two["王强"], "赞成", private=True)
        assert "学会工作群" in refused
        assert "未计票" in refused
        named = await models.Vote.filter(method="named").first()
        assert named is not None
        refused = await rig.say(lina, f"投票 赞成 表决#{named.id}", private=True)
        assert "学会工作群" in refused
        assert not await models.Ballot.filter(vote_id=named.id).exists()
        assert "已记录" in await rig.say(two["王强"], "赞成", group=GROUPS[2])
