"""What a 7-member named vote puts into the group, message by message, on each platform: the
opening, at most one group message per ballot, the result. Where the platform edits a card in
place (DingTalk with cards) the ballot's one group message is the card's new count and the voter
gets the acknowledgement privately; otherwise (DingTalk without cards, WeCom's passive reply) it
is one line. A card update is never posted as a message of its own. Then the whole meeting's
noise in the group, per platform."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.adapters.dingtalk.adapter import MERGED_MAX_BYTES
from bot.app import RUNTIME
from bot.clock import ManualClock
from bot.events import ChatKind, ChatRef, OutgoingMessage, Platform, UserRef
from bot.outbox import ID_CLOSE, ID_OPEN, Sender, load_message, to_outbox
from storage import models
from storage import outbox as outbox_store
from tests.kit.clock import TZ
from tests.kit.dingtalk.rig import DingTalkRig, running_bot
from tests.kit.dingtalk.server import FakeDingTalk
from tests.kit.seed import DINGTALK_ADMIN, WECOM_ADMIN, WECOM_USERS, seed_dingtalk_society
from tests.kit.wecom.rig import WeComRig, open_rig

MEMBERS = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏")
CHOICES = ("赞成", "赞成", "赞成", "赞成", "反对", "反对", "弃权")
GROUP = "cidNOISEgroup01=="
# The meeting, command by command: (speaker, text, the local time to move the clock to, or "").
MEETING: list[tuple[str, str, str]] = [
    ("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作", ""),
    *((name, "签到", "2026-12-05 14:50" if name == "张伟" else "") for name in MEMBERS),
    ("张伟", "开会", "2026-12-05 15:00"),
    ("张伟", "发起表决 1", ""),
    *((name, choice, "") for name, choice in zip(MEMBERS, CHOICES, strict=True)),
    ("张伟", "结束表决", ""),
    ("张伟", "散会", "2026-12-05 16:00"),
    ("张伟", "签发", ""),
]
# Messages in the group per platform: notice 1, check-ins 7, opening 1, the vote's opening 1
# (+ the card where there are cards), ballots 7 (0 where the card's count is edited in place),
# result 1, close 1, sign-off 1.
EXPECTED = {"dingtalk-card": 14, "dingtalk-no-card": 20, "wecom": 20}


def _at(clock: ManualClock, text: str) -> None:
    if text:
        clock.set(datetime.fromisoformat(text).replace(tzinfo=TZ))


@contextlib.asynccontextmanager
async def _dingtalk_group(
    cards: bool, **options: Any
) -> AsyncIterator[tuple[ManualClock, FakeDingTalk, DingTalkRig, dict[str, str]]]:
    """The demo-shaped society on the fake DingTalk, bound to GROUP, with or without cards."""
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    table: dict[str, Any] = options if cards else {"card_template_id": "", **options}
    async with FakeDingTalk(clock=clock.now) as fake, running_bot(fake, clock, **table) as rig:
        staff = await seed_dingtalk_society(fake.corp_id, 1, clock.now())
        await rig.say(DINGTALK_ADMIN, "绑定学会 示例科技学会0001", group=GROUP)
        await _applied(rig)
        yield clock, fake, rig, staff


async def _applied(rig: DingTalkRig) -> None:
    """Every message the bot accepted has taken effect (with the inbound queue: drained) and
    its replies are delivered."""
    inbox = rig.app[RUNTIME].inbox
    while inbox is not None and await inbox.depth():
        await inbox.drain()
    await rig.drain_outbox()


@contextlib.asynccontextmanager
async def _wecom_group() -> AsyncIterator[tuple[ManualClock, WeComRig, Sender]]:
    """The demo society on the fake WeCom, bound to the rig's group with a push webhook."""
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    async with open_rig(clock) as (rig, _adapter):
        await rig.say(WECOM_ADMIN, "绑定学会 苏州市示例科技学会")
        await rig.say(WECOM_ADMIN, "绑定推送 fake-webhook-key")
        sender = rig.client.app[RUNTIME].delivery.sender
        await sender.run_once()
        yield clock, rig, sender


async def _queued_card_updates() -> int:
    """Card updates (a card without text) ever written to the outbox."""
    return sum(1 for r in await outbox_store.outbox_rows() if _is_card_update(r))


async def _meeting_in_session(clock: ManualClock, rig: DingTalkRig, staff: dict[str, str]) -> None:
    """Convened, everyone signed in, opened: the group ready for 「发起表决 1」."""
    await rig.say(staff["张伟"], "召开会议 2026-12-05 15:00 会议室 议题：年度工作", group=GROUP)
    _at(clock, "2026-12-05 14:50")
    for name in MEMBERS:
        await rig.say(staff[name], "签到", group=GROUP)
    _at(clock, "2026-12-05 15:00")
    await rig.say(staff["张伟"], "开会", group=GROUP)


def _dingtalk_group_texts(fake: FakeDingTalk) -> list[str]:
    """Every text the bot posted into a DingTalk group, whichever way it went."""
    texts = [c.text for c in fake.recorded["session"]]
    texts += [c.text for c in fake.recorded["custom_robot"]]
    texts += [json.loads(c.body["msgParam"])["content"] for c in fake.recorded["group_send"]]
    return texts


async def test_dingtalk_queued_ballot_reaches_the_voter_alone(database: str) -> None:
    """With the inbound queue (a configured server's default) the ballot's reply goes through
    the outbox, and still to the voter alone."""
    async with _dingtalk_group(True, settings_overrides={"inbound": "queue"}) as opened:
        clock, fake, rig, staff = opened
        assert rig.app[RUNTIME].inbox is not None
        first_ballot = MEETING.index(("张伟", "发起表决 1", "")) + 1
        for speaker, text, when in MEETING[: first_ballot + 1]:
            _at(clock, when)
            await rig.say(staff[speaker], text, group=GROUP)
            await _applied(rig)
        private = [json.loads(c.body["msgParam"])["content"] for c in fake.recorded["private_send"]]
        assert [p.split("（回执")[0] for p in private] == ["张伟：赞成（议题1 年度工作），已记录"]
        assert [c.body["userIds"] for c in fake.recorded["private_send"]] == [[staff["张伟"]]]
        assert not any("已记录" in text for text in _dingtalk_group_texts(fake))
        assert any("开始表决" in text for text in _dingtalk_group_texts(fake))


@pytest.mark.parametrize("cards", [True, False], ids=["card", "no-card"])
async def test_dingtalk_named_vote_group_messages(database: str, cards: bool) -> None:
    async with _dingtalk_group(cards) as (clock, fake, rig, staff):
        await _meeting_in_session(clock, rig, staff)
        await rig.drain_outbox()

        before = len(_dingtalk_group_texts(fake))
        assert "开始表决" in await rig.say(staff["张伟"], "发起表决 1", group=GROUP)
        for name, choice in zip(MEMBERS, CHOICES, strict=True):
            await rig.say(staff[name], choice, group=GROUP)
            await rig.drain_outbox()
        assert "结果：通过" in await rig.say(staff["张伟"], "结束表决", group=GROUP)
        await rig.drain_outbox()

        posted = _dingtalk_group_texts(fake)[before:]
        private = [json.loads(c.body["msgParam"])["content"] for c in fake.recorded["private_send"]]
        assert not any(ID_OPEN in text for text in posted + private)
        acks = [
            f"{name}：{choice}（议题1 年度工作），已记录"
            for name, choice in zip(MEMBERS, CHOICES, strict=True)
        ]
        if cards:  # each ballot: the one card's count edited in place, the receipt privately
            assert len(posted) == 1 + 1, posted
            (card,) = fake.cards.values()
            assert card.params["status"] == "已结束"
            assert len(card.updates) == 7 + 1  # one per ballot, then the closing
            summaries = [u["summary"] for u in card.updates[:7]]
            assert [s.split("，")[0] for s in summaries] == [f"已投 {n}/7" for n in range(1, 8)]
            assert [text.split("（回执")[0] for text in private] == acks
            assert await _queued_card_updates() == 7 + 1
        else:  # one line per ballot in the group, nothing private
            assert len(posted) == 1 + 7 + 1, posted
            assert [text.split("（回执")[0] for text in posted[1:8]] == acks
            assert private == []
            assert fake.recorded["card_create"] == []
            assert fake.recorded["card_update"] == []
            # Nothing would show a card update: none is queued (the adapter skipped them once).
            assert await _queued_card_updates() == 0
        assert "开始表决" in posted[0]
        assert "结果：通过" in posted[-1]


async def test_card_updates_waiting_together_become_one_edit(database: str) -> None:
    """Ballots applied before the sender's next pass (a group voting at once) leave several
    updates of the same card in the outbox: only the last is sent, the card's count is the
    same, and the rest are marked superseded, taking nothing from the rate window."""
    async with _dingtalk_group(True) as (clock, fake, rig, staff):
        await _meeting_in_session(clock, rig, staff)
        assert "开始表决" in await rig.say(staff["张伟"], "发起表决 1", group=GROUP)
        await rig.drain_outbox()
        for name, choice in zip(MEMBERS[:5], CHOICES[:5], strict=True):
            await rig.say(staff[name], choice, group=GROUP)
        await rig.drain_outbox()
        (card,) = fake.cards.values()
        assert [u["summary"].split("，")[0] for u in card.updates] == ["已投 5/7"]
        states = [r.state for r in await outbox_store.outbox_rows() if _is_card_update(r)]
        assert sorted(states) == ["sent"] + ["superseded"] * 4
        attempts = await models.OutboxAttempt.all().count()
        sent = await models.OutboxMessage.filter(state="sent").count()
        assert attempts == sent  # one attempt per message sent, none for the superseded
        for name, choice in zip(MEMBERS[5:], CHOICES[5:], strict=True):
            await rig.say(staff[name], choice, group=GROUP)
            await rig.drain_outbox()
        assert [u["summary"].split("，")[0] for u in card.updates[1:]] == ["已投 6/7", "已投 7/7"]


async def test_dingtalk_sends_a_groups_waiting_texts_as_one_message(database: str) -> None:
    """A group voting at once through the inbound queue leaves several acknowledgements waiting
    in the outbox (no cards: each is a line for the group). They go out as one group message,
    through the latest sessionWebhook, each line followed by its visible id, and every row is
    sent, with one attempt each. Texts that must go their own way (a mention) are not joined."""
    async with _dingtalk_group(False) as (clock, fake, rig, staff):
        now = clock.now()
        chat = ChatRef(Platform.DINGTALK, fake.corp_id, GROUP, ChatKind.GROUP)
        acks = [
            f"{name}：{choice}，已记录。" for name, choice in zip(MEMBERS, CHOICES, strict=True)
        ]
        hooks = [fake.open_session(GROUP, f"vote-{i}", now)[0] for i in range(6)]
        messages = [
            OutgoingMessage(chat=chat, text=text, reply_handle=hook)
            for text, hook in zip(acks[:5], hooks, strict=False)
        ]
        voter = UserRef(Platform.DINGTALK, fake.corp_id, staff["赵敏"], "赵敏")
        mentioned = OutgoingMessage(
            chat=chat, text=acks[6], reply_handle=hooks[5], mentions=(voter,)
        )
        await outbox_store.enqueue(to_outbox([*messages, mentioned], key_prefix="together"), now)
        before = len(fake.recorded["session"])
        await rig.drain_outbox()
        posted = fake.recorded["session"][before:]
        assert len(posted) == 2, [c.text for c in posted]
        lines = posted[0].text.split("\n")
        assert lines[::2] == acks[:5]
        assert all(line.startswith(ID_OPEN) and line.endswith(ID_CLOSE) for line in lines[1::2])
        ids = [line.removeprefix(ID_OPEN).removesuffix(ID_CLOSE) for line in lines[1::2]]
        assert posted[0].query["session"] == hooks[4].rsplit("=", 1)[1]  # the latest to expire
        assert acks[6] in posted[1].text  # its own message, with the @
        rows = {r.short_id: r for r in await outbox_store.outbox_rows()}
        assert [rows[i].state for i in ids] == ["sent"] * 5
        joined = [rows[i].id for i in ids]
        assert await models.OutboxAttempt.filter(message_id__in=joined).count() == 5


async def _texts_waiting(
    clock: ManualClock, fake: FakeDingTalk, prefix: str
) -> tuple[list[str], list[int]]:
    """Three plain texts for GROUP waiting in the outbox, each answering its own message (its
    own sessionWebhook): their texts and outbox ids."""
    chat = ChatRef(Platform.DINGTALK, fake.corp_id, GROUP, ChatKind.GROUP)
    hooks = [fake.open_session(GROUP, f"{prefix}-{i}", clock.now())[0] for i in range(3)]
    texts = [f"第{i}条回复" for i in range(3)]
    messages = [
        OutgoingMessage(chat=chat, text=text, reply_handle=hook)
        for text, hook in zip(texts, hooks, strict=True)
    ]
    return texts, await outbox_store.enqueue(to_outbox(messages, key_prefix=prefix), clock.now())


async def test_a_joined_message_that_fails_is_retried_row_by_row(database: str) -> None:
    """When the one message of several rows fails (DingTalk answers 500 twice), every row keeps its
    own failed attempt and backoff; on the next try they are joined and sent again, once."""
    async with _dingtalk_group(False) as (clock, fake, rig, _staff):
        texts, ids = await _texts_waiting(clock, fake, "again")
        busy = (500, {"errcode": -1, "errmsg": "系统繁忙"})
        fake.inject["session"] = [busy]
        fake.inject["group_send"] = [busy]  # where an answer of 500 sends the adapter next
        before = len(fake.recorded["session"])
        await rig.drain_outbox()
        rows = [r for r in await outbox_store.outbox_rows() if r.id in ids]
        assert [(r.state, r.attempts) for r in rows] == [("pending", 1)] * 3
        clock.advance(timedelta(minutes=10))
        await rig.drain_outbox()
        posted = fake.recorded["session"][before:]
        assert [c.ok for c in posted] == [False, True]
        assert posted[1].text.split("\n")[::2] == texts
        rows = [r for r in await outbox_store.outbox_rows() if r.id in ids]
        assert [r.state for r in rows] == ["sent"] * 3
        assert await models.OutboxAttempt.filter(message_id__in=ids).count() == 6


async def test_a_joined_message_that_is_throttled_waits_with_the_rest(database: str) -> None:
    """DingTalk answers the joined message with its rate limit (130101): the channel pauses for
    `throttle_pause_seconds`; the joined rows wait it out without an attempt counted against
    them, the row after them is not tried, and nothing is lost: after the pause the three go out
    joined again, once, and the mentioned one alone."""
    async with _dingtalk_group(False) as (clock, fake, rig, staff):
        chat = ChatRef(Platform.DINGTALK, fake.corp_id, GROUP, ChatKind.GROUP)
        hooks = [fake.open_session(GROUP, f"slow-{i}", clock.now())[0] for i in range(4)]
        texts = [f"第{i}条回复" for i in range(4)]
        voter = UserRef(Platform.DINGTALK, fake.corp_id, staff["李娜"], "李娜")
        messages = [
            OutgoingMessage(chat=chat, text=text, reply_handle=hook)
            for text, hook in zip(texts[:3], hooks, strict=False)
        ]
        mentioned = OutgoingMessage(
            chat=chat, text=texts[3], reply_handle=hooks[3], mentions=(voter,)
        )
        ids = await outbox_store.enqueue(
            to_outbox([*messages, mentioned], key_prefix="slow"), clock.now()
        )
        fake.inject["session"] = [(200, {"errcode": 130101, "errmsg": "send too fast"})]
        before = len(fake.recorded["session"])
        await rig.drain_outbox()
        assert len(fake.recorded["session"]) == before + 1  # the joined one only
        rows = {r.id: r for r in await outbox_store.outbox_rows() if r.id in ids}
        pause = timedelta(seconds=rig.app[RUNTIME].delivery.sender.settings.throttle_pause_seconds)
        assert [(rows[i].state, rows[i].attempts) for i in ids] == [("pending", 0)] * 4
        assert {rows[i].next_attempt_at for i in ids[:3]} == {clock.now() + pause}
        await rig.drain_outbox()  # still paused: nothing goes
        assert len(fake.recorded["session"]) == before + 1
        clock.advance(pause)
        await rig.drain_outbox()
        posted = fake.recorded["session"][before + 1 :]
        assert [c.ok for c in posted] == [True, True]
        assert posted[0].text.split("\n")[::2] == texts[:3]
        assert texts[3] in posted[1].text
        rows = {r.id: r for r in await outbox_store.outbox_rows() if r.id in ids}
        assert [rows[i].state for i in ids] == ["sent"] * 4


async def test_a_joined_message_that_fails_for_good_alerts_once(database: str) -> None:
    """The joined message cannot be delivered at all (the session is gone, the group send
    refused: 400): every row fails, and each admin gets one alert naming all of them, not one
    per row."""
    async with _dingtalk_group(False) as (clock, fake, rig, _staff):
        texts, ids = await _texts_waiting(clock, fake, "gone")
        fake.inject["session"] = [(200, {"errcode": 300001, "errmsg": "session expired"})]
        fake.inject["group_send"] = [(400, {"code": "param.invalid", "message": "robot removed"})]
        await rig.drain_outbox()
        rows = {r.id: r for r in await outbox_store.outbox_rows()}
        assert [rows[i].state for i in ids] == ["failed"] * 3
        alerts = [load_message(r.payload) for r in rows.values() if r.kind.value == "alert"]
        assert len(alerts) == len(rig.app[RUNTIME].delivery.sender.admins) == 1
        text = alerts[0].text
        assert text.startswith(f"【消息发送失败】发往「{GROUP}」的 3 条消息")
        assert all(f"{ID_OPEN}{rows[i].short_id}{ID_CLOSE}" in text for i in ids)
        assert f"第一条内容：{texts[0]}" in text


async def test_what_dingtalk_joins(database: str) -> None:
    """Texts for one group, without mentions, going to the group, while the whole stays under
    MERGED_MAX_BYTES; nothing else."""
    async with _dingtalk_group(False) as (_clock, fake, rig, staff):
        adapter = rig.adapter
        chat = ChatRef(Platform.DINGTALK, fake.corp_id, GROUP, ChatKind.GROUP)
        other = ChatRef(Platform.DINGTALK, fake.corp_id, "cidOTHER==", ChatKind.GROUP)
        voter = UserRef(Platform.DINGTALK, fake.corp_id, staff["李娜"], "李娜")
        a = OutgoingMessage(chat=chat, text="一", reply_handle="h1")
        b = OutgoingMessage(chat=chat, text="二", reply_handle="h2")
        joined = adapter.merge(a, b)
        assert joined is not None
        assert (joined.text, joined.reply_handle) == ("一\n二", "h2")
        assert adapter.merge(a, replace(b, chat=other)) is None
        assert adapter.merge(a, replace(b, mentions=(voter,))) is None
        assert adapter.merge(a, replace(b, private_to=voter)) is None
        assert adapter.merge(a, replace(b, text="")) is None
        long = "长" * (MERGED_MAX_BYTES // 3)
        assert adapter.merge(a, replace(b, text=long)) is None


def _is_card_update(row: outbox_store.OutboxRow) -> bool:
    return load_message(row.payload).is_card_update


async def test_wecom_named_vote_group_messages(database: str) -> None:
    async with _wecom_group() as (clock, rig, sender):
        await rig.say(WECOM_USERS["张伟"], "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
        _at(clock, "2026-12-05 14:50")
        for name in MEMBERS:
            await rig.say(WECOM_USERS[name], "签到")
        _at(clock, "2026-12-05 15:00")
        await rig.say(WECOM_USERS["张伟"], "开会")
        await sender.run_once()
        pushed_before = len(rig.fake.recorded["webhook/send"])
        answers = [(await rig.say(WECOM_USERS["张伟"], "发起表决 1")).text]
        for name, choice in zip(MEMBERS, CHOICES, strict=True):
            answers.append((await rig.say(WECOM_USERS[name], choice)).text)
            await sender.run_once()
        answers.append((await rig.say(WECOM_USERS["张伟"], "结束表决")).text)
        await sender.run_once()

        # Each command is answered once, in its own passive reply; nothing else reaches the group.
        assert "开始表决" in answers[0]
        for text, name, choice in zip(answers[1:8], MEMBERS, CHOICES, strict=True):
            assert text.startswith(f"{name}：{choice}（议题1 年度工作），已记录"), text
        assert "结果：通过" in answers[8]
        assert rig.fake.recorded["webhook/send"][pushed_before:] == []
        assert rig.fake.recorded["aibot/response"] == []
        assert not any(ID_OPEN in text for text in answers)
        assert await _queued_card_updates() == 0  # WeCom edits a card only in a click's answer


# ---------------------------------------------------------------------------------------------
# Group noise: how many messages a 7-member meeting puts into the group from convening to
# signed minutes (one item, a named vote). A card edited in place is not a new message; a
# private message is not a group message. The figures are in the README (性能).


def _dingtalk_group_messages(fake: FakeDingTalk) -> int:
    """Texts posted into the group whichever way they went, plus each card created there."""
    return len(_dingtalk_group_texts(fake)) + len(fake.recorded["card_create"])


@pytest.mark.parametrize("cards", [True, False], ids=["card", "no-card"])
async def test_dingtalk_meeting_group_noise(database: str, cards: bool) -> None:
    async with _dingtalk_group(cards) as (clock, fake, rig, staff):
        before = _dingtalk_group_messages(fake)
        for speaker, text, when in MEETING:
            _at(clock, when)
            await rig.say(staff[speaker], text, group=GROUP)
            await rig.drain_outbox()
        noise = _dingtalk_group_messages(fake) - before
        assert "已签发" in fake.recorded["session"][-1].text
        assert noise == EXPECTED["dingtalk-card" if cards else "dingtalk-no-card"]


async def test_wecom_meeting_group_noise(database: str) -> None:
    async with _wecom_group() as (clock, rig, sender):
        pushed = len(rig.fake.recorded["webhook/send"]) + len(rig.fake.recorded["aibot/response"])
        answers = 0
        last = ""
        for speaker, text, when in MEETING:
            _at(clock, when)
            said = await rig.say(WECOM_USERS[speaker], text)
            answers += 1 if said.replies else 0  # one passive reply per command at most
            last = said.text or last
            await sender.run_once()
        pushed = (
            len(rig.fake.recorded["webhook/send"])
            + len(rig.fake.recorded["aibot/response"])
            - pushed
        )
        assert "已签发" in last
        assert answers + pushed == EXPECTED["wecom"]
