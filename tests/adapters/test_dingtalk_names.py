"""DingTalk names: its callbacks name the people mentioned only by staff id (`atUsers`) while the
text keeps 「@孙磊」 for each of them in order, and name the sender (`senderNick`). A member
added by @-mention is named as typed (not 「增补1001为组员」), the reason stored leaves the
@names out, and someone known only by a staff id is named when they speak. Signed callbacks
through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.clock import ManualClock
from bot.events import Platform, UserRef
from storage import models, repo
from tests.kit.clock import TZ
from tests.kit.dingtalk.rig import DingTalkRig, running_bot
from tests.kit.dingtalk.server import FakeDingTalk
from tests.kit.seed import DINGTALK_ADMIN, seed_dingtalk_society

GROUP = "cidNAMESgroup01=="
NEWCOMER = "1001"  # 孙磊's staff id


async def speak(rig: DingTalkRig, staff: str, nick: str, text: str, at: Iterable[str] = ()) -> str:
    """A signed group callback from `staff` shown as `nick`, @-mentioning `at` (staff ids, in the
    order of the text's @names); the replies the session webhook received, joined."""
    before = len(rig.fake.recorded["session"])
    response = await rig.post(staff, text, group=GROUP, nick=nick, at_staff_ids=at)
    assert response.status == 200, await response.text()
    await rig.adapter.tasks.flush()
    return "\n".join(c.text for c in rig.fake.recorded["session"][before:])


async def test_people_added_by_mention_are_named_as_typed(database: str) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))

    def at(text: str) -> None:
        clock.set(datetime.fromisoformat(text).replace(tzinfo=TZ))

    async with FakeDingTalk(clock=clock.now) as fake, running_bot(fake, clock) as rig:
        staff = await seed_dingtalk_society(fake.corp_id, 1, clock.now(), group_id=GROUP)

        async def say(name: str, text: str, mention: Iterable[str] = ()) -> str:
            return await speak(rig, staff.get(name, name), name, text, mention)

        # A removal by @-mention: the reason is what follows the name.
        removal = await say("张伟", "提议免去 @赵敏 工作调动", [staff["赵敏"]])
        assert "免去赵敏的领导小组成员职务" in removal, removal
        (first,) = await models.RosterChange.all()
        assert first.reason == "工作调动"
        assert "已批准" in await speak(rig, DINGTALK_ADMIN, "刘老师", f"批准 {first.id}")

        # A newcomer by @-mention: named as typed, everywhere.
        added = await say("张伟", "提议增补 @孙磊 党员 理事 加强年轻力量", [NEWCOMER])
        assert "增补孙磊为组员" in added, added
        assert NEWCOMER not in added.replace(f"钉钉账号 {NEWCOMER}", ""), added
        second = await models.RosterChange.get(kind="add")
        assert second.reason == "加强年轻力量"
        approved = await speak(rig, DINGTALK_ADMIN, "刘老师", f"批准 {second.id}")
        assert "增补孙磊为组员" in approved, approved
        assert "孙磊：组员" in await say("李娜", "名单")

        # A meeting: the newcomer checks in and votes under their name.
        await say("张伟", "召开会议 2026-12-05 15:00 学会会议室 议题：年度工作计划")
        at("2026-12-05 14:55")
        members = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆")
        for name in members:
            assert "已签到" in await say(name, "签到")
        assert "已签到" in await speak(rig, NEWCOMER, "孙磊", "签到")
        at("2026-12-05 15:01")
        assert "会议现在开始" in await say("张伟", "开会")
        await say("张伟", "发起表决 1")
        for name in members:
            await say(name, "赞成")
        await speak(rig, NEWCOMER, "孙磊", "赞成")
        assert "赞成7" in await say("张伟", "结束表决")
        await say("张伟", "散会")
        minutes = await say("李娜", "纪要 全文")
        assert "孙磊" in minutes, minutes
        assert NEWCOMER not in minutes, minutes


async def test_someone_known_by_a_staff_id_is_named_when_they_speak(database: str) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    async with FakeDingTalk(clock=clock.now) as fake, running_bot(fake, clock) as rig:
        await seed_dingtalk_society(fake.corp_id, 1, clock.now(), group_id=GROUP)
        # As an @-mention whose name could not be told left them (an older record).
        user = UserRef(Platform.DINGTALK, fake.corp_id, "1002")
        await repo.ensure_person(user, name="1002")
        await speak(rig, "1002", "钱多多", "名单")
        named = await repo.person_by_identity(user)
        assert named is not None
        assert named.name == "钱多多"
        # A display name never replaces a name the roster knows (「张伟」 stays 张伟).
        leader = UserRef(Platform.DINGTALK, fake.corp_id, "staff000100")
        await speak(rig, "staff000100", "伟哥", "名单")
        kept = await repo.person_by_identity(leader)
        assert kept is not None
        assert kept.name == "张伟"
