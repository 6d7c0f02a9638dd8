"""Acceptance 1: a whole meeting, convening to signed minutes, driven only by encrypted WeCom
callbacks and vote-card clicks through the real app (build_app + WeComAdapter) on SQLite and
PostgreSQL. Replies are decrypted here; proactive sends (reminders with <@userid> mentions,
secret-ballot invitations 1:1) are checked at the fake WeCom."""

from __future__ import annotations

from datetime import datetime

from bot.app import RUNTIME
from bot.clock import ManualClock
from storage import models
from tests.kit.clock import TZ
from tests.kit.seed import WECOM_ADMIN, WECOM_USERS
from tests.kit.wecom.rig import WeComRig, open_rig

MEMBERS = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏")


def uid(name: str) -> str:
    return WECOM_USERS[name]


async def drain(rig: WeComRig) -> None:
    await rig.client.app[RUNTIME].delivery.sender.run_once()


async def test_meeting_from_convening_to_signed_minutes_over_wecom(database: str) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))

    def at(text: str) -> None:
        clock.set(datetime.fromisoformat(text).replace(tzinfo=TZ))

    async with open_rig(clock) as (rig, _adapter):
        say = rig.say
        fake = rig.fake
        # Binding by the committee admin, confirmed by a reply.
        assert (
            "本群已绑定「苏州市示例科技学会」"
            in (await say(WECOM_ADMIN, "绑定学会 苏州市示例科技学会")).text
        )
        assert "已保存" in (await say(WECOM_ADMIN, "绑定推送 fake-webhook-key")).text
        assert "只有" in (await say(uid("李娜"), "绑定学会 别的学会")).text

        notice = await say(
            uid("张伟"),
            "召开会议 2026-12-05 15:00 学会会议室 议题：2026年度工作总结；推荐副组长人选（人事）",
        )
        assert notice.reply is not None
        assert notice.reply["msgtype"] == "stream"
        assert "【会议通知】" in notice.text
        for name in MEMBERS:  # the notice @-mentions every member
            assert f"<@{uid(name)}>" in notice.text

        # 24 hours before: the reminder goes through the group's 消息推送 with <@userid>.
        at("2026-12-04 15:00")
        runtime = rig.client.app[RUNTIME]
        await runtime.reminders.sweep()
        await drain(rig)
        pushed = fake.accepted("webhook/send")
        assert pushed, fake.recorded["webhook/send"]
        reminder = pushed[-1]
        assert reminder.body["msgtype"] == "markdown"
        assert "会议提醒" in reminder.body["markdown"]["content"]
        assert set(reminder.mentions) == {uid(n) for n in MEMBERS}

        at("2026-12-05 14:50")
        for name in MEMBERS:
            assert "已签到" in (await say(uid(name), "签到")).text
        assert "列席" in (await say(uid("吴国华"), "签到")).text
        at("2026-12-05 15:01")
        assert "会议现在开始" in (await say(uid("张伟"), "开会")).text

        # Item 1: named vote on the card.
        started = await say(uid("张伟"), "发起表决 1")
        assert started.reply is not None
        assert started.reply["msgtype"] == "stream_with_template_card"
        assert "开始表决" in started.text
        card = started.card
        assert card is not None
        assert card["card_type"] == "vote_interaction"
        choices = {"张伟": "yes", "李娜": "yes", "王强": "yes", "陈静": "yes"}
        choices |= {"刘洋": "no", "杨帆": "no", "赵敏": "abstain"}
        first_click = ""
        for name, option in choices.items():
            msgid = rig.msgid()
            first_click = first_click or msgid
            clicked = await rig.click(uid(name), card, option, msgid=msgid)
            assert clicked.reply is not None
            assert clicked.reply["response_type"] == "update_template_card"
            assert clicked.reply["userids"] == [uid(name)]
            updated = clicked.reply["template_card"]
            assert updated["task_id"] == card["task_id"]
            checked = [o["id"] for o in updated["checkbox"]["option_list"] if o.get("is_checked")]
            assert checked == [option]
            assert "已记录" in updated["sub_title_text"]
        # A redelivered click is recognised and changes nothing: the card shows the first answer.
        again = await rig.click(uid("张伟"), card, "no", msgid=first_click)
        assert again.card is not None
        assert "重复消息" in again.card["sub_title_text"]
        assert [o["id"] for o in again.card["checkbox"]["option_list"] if o.get("is_checked")] == [
            "yes"
        ]
        # An observer's click is refused and records nothing.
        refused = await rig.click(uid("吴国华"), card, "yes")
        assert refused.card is not None
        assert not any(o.get("is_checked") for o in refused.card["checkbox"]["option_list"])
        counted = await say(uid("李娜"), "计票")
        assert "赞成4、反对2、弃权1" in counted.text
        result = await say(uid("张伟"), "结束表决")
        assert "结果：通过" in result.text

        # Item 2: personnel, secret ballot in the single chat; invitations go 1:1.
        before = len(fake.accepted("message/send"))
        secret = await say(uid("张伟"), "发起表决 2")
        assert "无记名" in secret.text
        assert secret.card is not None
        await drain(rig)
        invitations = fake.accepted("message/send")[before:]
        assert sorted(c.body["touser"] for c in invitations) == sorted(uid(n) for n in MEMBERS)
        assert all("无记名投票已开始" in c.body["text"]["content"] for c in invitations)
        assert not any(
            "无记名投票已开始" in str(c.body) for c in fake.recorded["webhook/send"]
        )  # never into the group
        assert "私聊" in (await say(uid("李娜"), "赞成")).text  # refused in the group
        for name in MEMBERS[1:]:
            answer = await say(uid(name), "投票 赞成", chatid=None)
            assert "回执" in answer.text
        assert "回执" in (await say(uid("张伟"), "投票 赞成", chatid=None)).text
        closed = await say(uid("张伟"), "结束表决")
        assert "赞成7" in closed.text

        # Close, minutes, sign-off.
        assert "纪要草稿" in (await say(uid("张伟"), "散会")).text
        assert "第2版" in (await say(uid("周婷"), "纪要备注 会议传达了年度工作部署。")).text
        assert "已签发" in (await say(uid("张伟"), "签发")).text
        minutes = await say(uid("李娜"), "纪要 全文")
        assert "年度工作总结" in minutes.text

        assert await models.Signature.all().count() == 1
        vote = await models.Vote.all().order_by("id").first()
        assert vote is not None
        assert await models.Ballot.filter(vote_id=vote.id).count() == 7
        # Every inline answer came back encrypted in the HTTP response: response_url unused.
        assert fake.recorded["aibot/response"] == []
