"""WeCom names people only in the text (「@张伟」: the AI bot's callback carries the sender's
account and the text, no list of who was mentioned). A society set up over WeCom from nothing:
people register in the group (「我是张伟」), the committee and then the leader propose them by
@name or by account, the committee approves seeing the account, and the members meet and vote
under their names. Driven only by encrypted callbacks through the real app, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from bot.app import RUNTIME
from bot.clock import ManualClock
from storage import models, repo
from tests.kit.clock import TZ
from tests.kit.seed import WECOM_ADMIN, ensure_admin, wecom_admin
from tests.kit.wecom.rig import WeComRig, open_rig

SOCIETY = "苏州市新建科技学会"


async def approval_requests(rig: WeComRig) -> list[str]:
    """The 【待审批】 messages the committee admin was sent 1:1 (through the outbox)."""
    await rig.client.app[RUNTIME].delivery.sender.run_once()
    return [
        str(c.body["text"]["content"])
        for c in rig.fake.accepted("message/send")
        if c.body.get("touser") == WECOM_ADMIN and "【待审批】" in str(c.body)
    ]


async def test_a_society_gets_its_members_over_wecom_by_registration(database: str) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))

    def at(text: str) -> None:
        clock.set(datetime.fromisoformat(text).replace(tzinfo=TZ))

    async with open_rig(clock, seed=False) as (rig, _adapter):
        await repo.create_society(SOCIETY, clock.now())
        await ensure_admin(wecom_admin())
        say = rig.say
        assert "本群已绑定" in (await say(WECOM_ADMIN, f"绑定学会 {SOCIETY}")).text

        # Nobody registered: the @name is only text, and who it is cannot be told.
        unknown = await say(WECOM_ADMIN, "提议组长 @张伟 党员 副理事长 组建领导小组")
        assert "群里还没有人登记为「张伟」" in unknown.text
        assert "我是张伟" in unknown.text
        assert await models.RosterChange.all().count() == 0

        # Someone not known yet who tries a command is told how to be known.
        stranger = await say("zhangwei", "签到")
        assert "系统里还没有您的身份信息" in stranger.text
        assert "我是 姓名" in stranger.text

        # People register themselves; a second registration replaces the first.
        done = await say("zhangwei", "我是张卫")
        assert "已登记" in done.text
        assert "张卫" in done.text
        assert "zhangwei" in done.text
        redone = await say("zhangwei", "登记 张伟")
        assert "由「张卫」改为「张伟」" in redone.text
        assert "提议增补 @张伟" in redone.text
        assert "「李娜」" in (await say("lina", "我是李娜")).text
        assert "已登记" in (await say("wangqiang", "@议事助手 我叫王强")).text
        assert "「李来福」" in (await say("liulaifu", "登记姓名 李来福")).text

        # The committee names the first leader by @name; the reason is what follows the name.
        proposed = await say(WECOM_ADMIN, "提议组长 @张伟 党员 副理事长 组建领导小组")
        assert "增补张伟为组长" in proposed.text, proposed.text
        assert "zhangwei" in proposed.text
        (first,) = await models.RosterChange.all()
        assert first.reason == "组建领导小组"
        (request,) = await approval_requests(rig)
        assert "张伟" in request
        assert "企业微信账号 zhangwei" in request
        assert "已批准" in (await say(WECOM_ADMIN, f"批准 {first.id}")).text

        # The leader proposes the others, by @name and by account id.
        by_name = await say("zhangwei", "提议增补 @李娜 党员 理事 工作需要")
        assert "增补李娜为组员" in by_name.text, by_name.text
        # In private too (the leader's 1:1 with the bot): the society's group's registrations.
        by_account = await say("zhangwei", "提议增补 @wangqiang 党员 理事", chatid=None)
        assert "增补王强为组员" in by_account.text, by_account.text
        requests = await approval_requests(rig)
        assert any("李娜" in r and "lina" in r for r in requests)
        assert any("王强" in r and "wangqiang" in r for r in requests)
        na, wang = (await models.RosterChange.all().order_by("id"))[1:]
        assert na.reason == "工作需要"
        assert "已批准" in (await say(WECOM_ADMIN, f"批准 {na.id} 特批")).text
        assert "已批准" in (await say(WECOM_ADMIN, f"批准 {wang.id}")).text
        roster = await say("lina", "名单")
        assert "张伟：组长" in roster.text
        assert "李娜：组员" in roster.text
        assert "王强：组员" in roster.text
        assert "wangqiang" not in roster.text

        # Two registered under one name: which is meant is asked, the account settles it.
        await say("zhaomin", "我是赵敏")
        shared = await say("zhaomin2", "我是赵敏")
        assert "本群还有别人登记为「赵敏」" in shared.text
        assert "@zhaomin2" in shared.text
        ambiguous = await say("zhangwei", "提议增补 @赵敏 党员")
        assert "zhaomin" in ambiguous.text
        assert "zhaomin2" in ambiguous.text
        assert "没有办理" in ambiguous.text
        assert await models.RosterChange.all().count() == 3
        # Someone's namesake on the roster cannot register under the same name.
        assert "已有一位张伟" in (await say("zhangwei2", "我是张伟")).text

        # A meeting: the registered members check in and vote, under their names.
        convened = await say("zhangwei", "召开会议 2026-12-05 15:00 学会会议室 议题：年度工作计划")
        assert "【会议通知】" in convened.text, convened.text
        at("2026-12-05 14:55")
        for account in ("zhangwei", "lina", "wangqiang"):
            assert "已签到" in (await say(account, "签到")).text
        at("2026-12-05 15:01")
        assert "会议现在开始" in (await say("zhangwei", "开会")).text
        assert "开始表决" in (await say("zhangwei", "发起表决 1")).text
        for account in ("zhangwei", "lina", "wangqiang"):
            assert "已记录" in (await say(account, "赞成")).text
        assert "结果：通过" in (await say("zhangwei", "结束表决")).text
        assert "纪要草稿" in (await say("zhangwei", "散会")).text
        minutes = (await say("lina", "纪要 全文")).text
        assert "张伟" in minutes
        assert "李娜" in minutes
        assert "王强" in minutes
        assert "zhangwei" not in minutes
        assert "lina" not in minutes
