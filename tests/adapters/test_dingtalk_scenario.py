"""Acceptance: a whole meeting (convene -> signed minutes) driven only by signed DingTalk HTTP
callbacks and card clicks over the Stream WebSocket, through the real app, router, handlers and
storage; replies and @-mentions are checked at the fake DingTalk. Then a short meeting with
the adapter in Stream mode. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

from bot.adapters.dingtalk.codec import ROBOT_MESSAGE_TOPIC
from bot.clock import ManualClock
from storage import models, repo
from tests.kit.clock import TZ
from tests.kit.dingtalk.payloads import card_callback_frame, robot_payload, stream_frame
from tests.kit.dingtalk.rig import DingTalkRig, running_bot
from tests.kit.dingtalk.server import FakeDingTalk
from tests.kit.seed import DINGTALK_ADMIN, seed_dingtalk_society

GROUP = "cidSCENARIOgroup01=="
MEMBERS = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏")


def at(clock: ManualClock, text: str) -> None:
    clock.set(datetime.fromisoformat(text).replace(tzinfo=TZ))


async def click(rig: DingTalkRig, track: str, staff: str, choice: str, event_id: str) -> None:
    """A member taps a card button: DingTalk pushes a CALLBACK frame; wait for its ACK."""
    frame = card_callback_frame(
        out_track_id=track,
        user_id=staff,
        corp_id=rig.fake.corp_id,
        params={"choice": choice},
        message_id=event_id,
    )
    conn = rig.fake.live_connections()[-1]
    seen = sum(a["headers"]["messageId"] == event_id for a in conn.acks)
    await conn.push(frame)
    await conn.wait_acks(event_id, seen + 1)
    assert all(a["code"] == 200 for a in conn.acks)
    await rig.adapter.tasks.flush()


async def test_full_meeting_from_signed_callbacks_and_card_clicks(database: str) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    async with FakeDingTalk(clock=clock.now) as fake, running_bot(fake, clock) as rig:
        staff = await seed_dingtalk_society(fake.corp_id, 1, clock.now())
        say = rig.say
        await fake.wait_connections(1)  # cards on: a Stream connection for the clicks

        # Binding by a committee admin, confirmed by a reply; before it, an explanation only.
        assert "还没有绑定学会" in await say(staff["张伟"], "召开会议 明天下午3点", group=GROUP)
        assert "本群已绑定" in await say(DINGTALK_ADMIN, "绑定学会 示例科技学会0001", group=GROUP)

        notice = await say(
            staff["张伟"],
            "召开会议 2026-12-05 15:00 学会会议室 议题：年度工作总结；2027年经费预算",
            group=GROUP,
        )
        assert "【会议通知】" in notice
        call = fake.recorded["session"][-1]
        assert set(call.at_user_ids) == {staff[n] for n in MEMBERS}
        for name in MEMBERS:  # each @ is a token in the text too, so DingTalk highlights it
            assert f"@{staff[name]}" in call.text

        at(clock, "2026-12-05 14:50")
        for i, name in enumerate(MEMBERS, start=1):
            assert f"已签到（{i}/7）" in await say(staff[name], "签到", group=GROUP)
        assert "会议现在开始" in await say(staff["张伟"], "开会", group=GROUP)

        # Item 1 by card: the card is created in the group, @-mentioning the voters.
        started = await say(staff["张伟"], "发起表决 1", group=GROUP)
        assert "开始表决" in started
        assert len(fake.cards) == 1
        card = next(iter(fake.cards.values()))
        assert card.open_space_id == f"dtv1.card//IM_GROUP.{GROUP}"
        assert set(card.at_user_ids) == {staff[n] for n in MEMBERS}
        assert card.params["show_buttons"] == "true"
        assert card.params["summary"] == "已投 0/7"

        choices = ("赞成", "赞成", "赞成", "赞成", "反对", "反对", "弃权")
        for n, (name, choice) in enumerate(zip(MEMBERS, choices, strict=True)):
            await click(rig, card.out_track_id, staff[name], choice, f"card-evt-{n}")
        # With cards the group sees each ballot once, as the card's count: the acknowledgement
        # (choice and receipt) goes to the voter alone.
        recorded = [c.body for c in fake.recorded["private_send"]]
        assert sum("已记录" in json.loads(b["msgParam"])["content"] for b in recorded) == 7
        assert [b["userIds"] for b in recorded] == [[staff[n]] for n in MEMBERS]
        assert not any("已记录" in c.text for c in fake.recorded["session"])
        assert fake.recorded["group_send"] == []
        # The same click pushed again (e.g. after a reconnect) is not counted twice.
        await click(rig, card.out_track_id, staff["李娜"], "赞成", "card-evt-1")
        assert await models.Ballot.all().count() == 7

        assert "赞成4、反对2、弃权1" in await say(staff["李娜"], "计票", group=GROUP)
        # The card shows the live count once the outbox is delivered (counts only, no names).
        # (The vote handlers send each new count as a text-less card through the outbox.)
        await rig.drain_outbox()
        assert card.updates
        assert card.params["summary"].startswith("已投 7/7")
        assert card.params["show_buttons"] == "true"
        assert "结果：通过" in await say(staff["张伟"], "结束表决", group=GROUP)
        await rig.drain_outbox()
        assert card.params["show_buttons"] == "false"
        assert card.params["status"] == "已结束"
        assert len(fake.cards) == 1  # updated in place, never a second card

        # Item 2 by typed commands (text keeps working where cards do).
        await say(staff["张伟"], "发起表决 2", group=GROUP)
        for name in MEMBERS[:5]:
            assert not (await say(staff[name], "赞成", group=GROUP)).replies
            ack = json.loads(fake.recorded["private_send"][-1].body["msgParam"])["content"]
            assert ack.startswith(f"{name}：赞成（议题2 2027年经费预算），已记录"), ack
        for name in MEMBERS[5:]:
            await say(staff[name], "反对", group=GROUP)
        assert "结果：通过" in await say(staff["张伟"], "结束表决", group=GROUP)

        at(clock, "2026-12-05 17:00")
        assert "纪要草稿" in await say(staff["张伟"], "散会", group=GROUP)
        assert "第2版" in await say(staff["周婷"], "纪要备注 会议传达了年度工作部署。", group=GROUP)
        assert "已签发" in await say(staff["张伟"], "签发", group=GROUP)
        minutes = await say(staff["李娜"], "纪要 全文", group=GROUP)
        assert "年度工作总结" in minutes

        assert await repo.verify_signed_minutes() == []
        checked, broken = await repo.verify_all()
        assert broken is None
        assert checked > 20
        # No reply was refused by the fake.
        assert all(c.ok for c in fake.recorded["session"])
        assert all(c.status == 200 for c in fake.recorded["group_send"])


async def test_short_meeting_in_stream_mode(database: str) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    async with (
        FakeDingTalk(clock=clock.now) as fake,
        running_bot(fake, clock, mode="stream") as rig,
    ):
        assert rig.adapter.routes() == []  # no public callback URL in Stream mode
        staff = await seed_dingtalk_society(fake.corp_id, 2, clock.now(), group_id=GROUP)
        conn = (await fake.wait_connections(1))[0]
        serial = 0

        async def say(name: str, text: str) -> str:
            nonlocal serial
            serial += 1
            msg_id = f"stream-msg-{serial}"
            webhook, expires = fake.open_session(GROUP, msg_id, clock.now())
            payload = robot_payload(
                rig.codec,
                text=text,
                staff_id=staff[name],
                conversation_id=GROUP,
                msg_id=msg_id,
                now=clock.now(),
                nick=name,
                session_webhook=webhook,
                session_expires_at=expires,
            )
            before = len(fake.recorded["session"])
            frame_id = f"frame-{serial}"
            await conn.push(stream_frame(payload, message_id=frame_id, topic=ROBOT_MESSAGE_TOPIC))
            ack = await conn.wait_ack(frame_id)
            assert ack["code"] == 200
            assert json.loads(ack["data"]) == {"response": None}
            await rig.adapter.tasks.flush()
            return "\n".join(c.text for c in fake.recorded["session"][before:])

        assert "【会议通知】" in await say(
            "张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作"
        )
        at(clock, "2026-12-05 14:50")
        for name in MEMBERS:
            await say(name, "签到")
        assert "会议现在开始" in await say("张伟", "开会")
        await say("张伟", "发起表决 1")
        track = next(iter(fake.cards))
        for n, name in enumerate(MEMBERS):
            await click(rig, track, staff[name], "赞成", f"stream-card-{n}")
        assert "结果：通过" in await say("张伟", "结束表决")
        assert "纪要草稿" in await say("张伟", "散会")
        assert "已签发" in await say("张伟", "签发")
        assert await repo.verify_signed_minutes() == []
        assert await models.Ballot.all().count() == 7


async def test_secret_ballot_in_the_one_to_one_chat(database: str) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    async with FakeDingTalk(clock=clock.now) as fake, running_bot(fake, clock) as rig:
        staff = await seed_dingtalk_society(fake.corp_id, 3, clock.now(), group_id=GROUP)
        say = rig.say
        await say(
            staff["张伟"],
            "召开会议 2026-12-05 15:00 会议室 议题：推荐副组长人选（人事）",
            group=GROUP,
        )
        at(clock, "2026-12-05 14:50")
        for name in MEMBERS:
            await say(staff[name], "签到", group=GROUP)
        await say(staff["张伟"], "开会", group=GROUP)
        await say(staff["张伟"], "发起表决 1", group=GROUP)
        card = next(iter(fake.cards.values()))
        assert card.params["show_buttons"] == "false"  # no buttons for a secret vote
        await rig.drain_outbox()
        # The invitations went 1:1 through oToMessages/batchSend, one per voter.
        invited = [c.body["userIds"] for c in fake.recorded["private_send"]]
        assert sorted(u for ids in invited for u in ids) == sorted(staff[n] for n in MEMBERS)
        group_calls = len(fake.recorded["session"])
        assert "私聊" in await say(staff["李娜"], "赞成", group=GROUP)  # refused in the group
        assert "组长最后表态" in await say(staff["张伟"], "投票 赞成", private=True)
        for name, choice in zip(
            MEMBERS[1:], ("赞成", "赞成", "反对", "赞成", "赞成", "弃权"), strict=True
        ):
            assert "回执" in await say(staff[name], f"投票 {choice}", private=True)
        await say(staff["张伟"], "投票 赞成", private=True)
        # The private answers went back on each member's own 1:1 session, never to the group.
        private_calls = fake.recorded["session"][group_calls + 1 :]
        assert all("回执" in c.text or "组长" in c.text for c in private_calls)
        # While the vote runs the card shows how many voted, never how.
        await rig.drain_outbox()
        assert card.params["summary"].startswith("已投 7/7")
        assert "赞成" not in card.params["summary"]
        result = await say(staff["张伟"], "结束表决", group=GROUP)
        assert "赞成5、反对1、弃权1" in result
        await rig.drain_outbox()
        assert "赞成5、反对1、弃权1" in card.params["summary"]  # totals once closed, no names
        assert not any(name in card.params["summary"] for name in MEMBERS)


async def test_queued_inbound_answers_first_and_replies_through_the_session(database: str) -> None:
    """With `[http] inbound = "queue"` the callback is answered once the message is queued; the
    worker applies it and the reply goes out through `send` on the message's sessionWebhook."""
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    async with (
        FakeDingTalk(clock=clock.now) as fake,
        running_bot(
            fake, clock, card_template_id="", settings_overrides={"inbound": "queue"}
        ) as rig,
    ):
        staff = await seed_dingtalk_society(fake.corp_id, 4, clock.now(), group_id=GROUP)
        response = await rig.post(
            staff["张伟"], "召开会议 2026-12-05 15:00 会议室 议题：年度工作", group=GROUP
        )
        assert response.status == 200
        assert await response.json() == {}
        async with asyncio.timeout(10):
            while not fake.recorded["session"]:
                await rig.drain_outbox()
                await asyncio.sleep(0.02)
        [reply] = fake.recorded["session"]
        assert "【会议通知】" in reply.text
        assert set(reply.at_user_ids) == {staff[n] for n in MEMBERS}
        assert await models.Meeting.all().count() == 1
