"""The WeCom network shell on its own: URL verification, passive replies, the reply budget and
the response_url fallback, stream refreshes, unsupported callbacks, and every send path with
its error classes, against the fake WeCom on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.adapters.base import Feed, SendError
from bot.adapters.wecom.adapter import build_wecom_adapter
from bot.app import RUNTIME
from bot.clock import ManualClock
from bot.events import (
    CARD_HINT,
    BallotAck,
    BallotOutcome,
    ChatKind,
    ChatRef,
    IncomingMessage,
    OutgoingMessage,
    Platform,
    UserRef,
    VoteCard,
)
from bot.outbox import to_outbox
from storage import outbox as outbox_store
from tests.kit.clock import TZ
from tests.kit.seed import WECOM_ADMIN, WECOM_CORP
from tests.kit.wecom.payloads import (
    DEFAULT_CHAT_ID,
    decrypt_reply,
    make_callback,
    make_card_event,
    make_stream_refresh,
    make_text_message,
    make_url_verification,
    text_payload,
)
from tests.kit.wecom.rig import (
    WeComRig,
    open_fake,
    open_rig,
    rig_config,
    rig_settings,
    stored_ports,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)


async def _bind(rig: WeComRig) -> None:
    bound = await rig.say(WECOM_ADMIN, "绑定学会 苏州市示例科技学会")
    assert "已绑定" in bound.text, bound
    pushed = await rig.say(WECOM_ADMIN, "绑定推送 fake-webhook-key")
    assert "已保存" in pushed.text


async def test_url_verification_answers_the_plain_echo(database: str) -> None:
    clock = ManualClock(T0)
    async with open_rig(clock) as (rig, _):
        params, echo = make_url_verification(rig.settings, now=clock.now())
        async with rig.client.get("/wecom/callback", params=params) as resp:
            assert resp.status == 200
            assert await resp.text() == echo
        params["msg_signature"] = "0" * 40
        async with rig.client.get("/wecom/callback", params=params) as resp:
            assert resp.status == 401


async def test_text_message_gets_an_encrypted_stream_reply(database: str) -> None:
    clock = ManualClock(T0)
    async with open_rig(clock) as (rig, _):
        unbound = await rig.say("zhangwei", "名单")
        assert unbound.status == 200
        assert "还没有绑定学会" in unbound.text
        await _bind(rig)
        roster = await rig.say("zhangwei", "名单")
        assert roster.reply is not None
        assert roster.reply["msgtype"] == "stream"
        assert roster.reply["stream"]["finish"] is True
        assert "张伟" in roster.text


# --- sends: every path and its error classes -------------------------------------------------

GROUP = ChatRef(Platform.WECOM, WECOM_CORP, DEFAULT_CHAT_ID)


def group_message(text: str = "【通知】明天开会", **kw: object) -> OutgoingMessage:
    return OutgoingMessage(chat=GROUP, text=text, **kw)  # type: ignore[arg-type]


def private_message(userid: str, text: str = "无记名投票已开始") -> OutgoingMessage:
    user = UserRef(Platform.WECOM, WECOM_CORP, userid)
    chat = ChatRef(Platform.WECOM, WECOM_CORP, userid, ChatKind.PRIVATE)
    return OutgoingMessage(chat=chat, text=text, private_to=user)


async def test_group_send_uses_the_bound_webhook_with_mentions(database: str) -> None:
    clock = ManualClock(T0)
    async with open_rig(clock) as (rig, adapter):
        await _bind(rig)
        lina = UserRef(Platform.WECOM, WECOM_CORP, "lina", "李娜")
        await adapter.send(group_message("请<b>签到</b>", mentions=(lina,)))
        call = rig.fake.accepted("webhook/send")[-1]
        assert call.query["key"] == "fake-webhook-key"
        assert call.mentions == ("lina",)
        assert "<b>" not in call.body["markdown"]["content"]  # text cannot inject markup


async def test_throttled_gone_and_unbound_webhooks(database: str) -> None:
    clock = ManualClock(T0)
    async with open_rig(clock) as (rig, adapter):
        with pytest.raises(SendError) as err:
            await adapter.send(group_message())
        assert (err.value.kind, err.value.code) == ("permanent", "no_webhook")
        await _bind(rig)
        rig.fake.webhook_limit = 1
        await adapter.send(group_message())
        with pytest.raises(SendError) as err:
            await adapter.send(group_message())
        assert (err.value.kind, err.value.code) == ("throttled", "45009")
        assert "已保存" in (await rig.say(WECOM_ADMIN, "绑定推送 removed-key")).text
        with pytest.raises(SendError) as err:
            await adapter.send(group_message())
        assert (err.value.kind, err.value.code) == ("permanent", "93000")


async def test_network_errors_are_transient_and_a_late_timeout_is_ambiguous(
    database: str,
) -> None:
    clock = ManualClock(T0)
    async with open_rig(clock, wecom={"request_timeout_s": 0.3}) as (rig, adapter):
        await _bind(rig)
        rig.fake.http_status = 502
        with pytest.raises(SendError) as err:
            await adapter.send(group_message())
        assert (err.value.kind, err.value.ambiguous) == ("transient", False)
        rig.fake.http_status = 200
        rig.fake.stall_s = 1.0  # the request went out; no answer in time
        with pytest.raises(SendError) as err:
            await adapter.send(group_message())
        assert (err.value.kind, err.value.ambiguous) == ("transient", True)
    async with open_rig(clock, wecom={"api_base": "http://127.0.0.1:9"}, seed=False) as (
        rig,
        adapter,
    ):
        with pytest.raises(SendError) as err:  # nothing listens: never sent
            await adapter.http.call(
                "POST", "http://127.0.0.1:9/cgi-bin/webhook/send?key=k", body={}
            )
        assert (err.value.kind, err.value.ambiguous) == ("transient", False)


async def test_private_message_goes_one_to_one_never_into_the_group(database: str) -> None:
    clock = ManualClock(T0)
    async with open_rig(clock) as (rig, adapter):
        await _bind(rig)
        await adapter.send(private_message("lina"))
        sent = rig.fake.accepted("message/send")
        assert [c.body["touser"] for c in sent] == ["lina"]
        assert sent[0].body["agentid"] == 1000002
        assert rig.fake.recorded["webhook/send"] == []
    async with open_rig(clock, wecom={"app_agent_id": "", "app_secret": ""}, seed=False) as (
        rig,
        adapter,
    ):
        with pytest.raises(SendError) as err:
            await adapter.send(private_message("lina"))
        assert err.value.kind == "permanent"
        assert "1:1" in str(err.value)
        assert rig.fake.recorded["webhook/send"] == []
        assert rig.fake.recorded["message/send"] == []


async def test_a_private_answer_goes_through_its_own_response_url(database: str) -> None:
    """Without a self-built app (app_agent_id is optional) the answer to a private message, a
    secret ballot's receipt among them, still reaches the member: through the response_url the
    private message brought, not the app (every one had failed `no_private_channel`)."""
    clock = ManualClock(T0)
    no_app = {"app_agent_id": "", "app_secret": ""}
    async with open_rig(clock, wecom=no_app, inbound="queue") as (rig, adapter):
        await rig.say(WECOM_ADMIN, "绑定学会 苏州市示例科技学会")
        answer = await rig.say("lina", "帮助", chatid=None)
        assert (answer.status, answer.body) == (200, b"")  # queued: answered later
        runtime = rig.client.app[RUNTIME]
        assert runtime.inbox is not None
        await runtime.inbox.drain()
        await runtime.delivery.sender.run_once()
        assert not await outbox_store.outbox_rows(state="failed")
        replies = [c.body["markdown"]["content"] for c in rig.fake.accepted("aibot/response")]
        assert any("帮助" in r or "指令" in r for r in replies[1:]), replies
        assert rig.fake.recorded["message/send"] == []
        # A message to the member that answers nothing still needs the app: refused for good.
        with pytest.raises(SendError) as err:
            await adapter.send(private_message("lina"))
        assert err.value.code == "no_private_channel"
        # A private message never takes a group's handle, even one written on it.
        group_handle = rig.fake.response_url(rig.fake_base)
        with pytest.raises(SendError):
            await adapter.send(
                replace(private_message("lina"), reply_handle=group_handle, chat=GROUP)
            )
        assert len(rig.fake.accepted("aibot/response")) == len(replies)


async def test_expired_token_is_refreshed_once_and_the_send_retried(database: str) -> None:
    clock = ManualClock(T0)
    async with open_rig(clock) as (rig, adapter):
        await adapter.send(private_message("lina"))
        assert len(rig.fake.recorded["gettoken"]) == 1
        # The platform revokes the token early; our cache still believes in it.
        rig.fake.token_ttl_s = 60
        clock.advance(timedelta(seconds=120))
        await adapter.send(private_message("wangqiang"))
        assert len(rig.fake.recorded["gettoken"]) == 2
        codes = [c.errcode for c in rig.fake.recorded["message/send"]]
        assert codes == [0, 42001, 0]


async def test_token_refresh_is_single_flight(database: str) -> None:
    clock = ManualClock(T0)
    async with open_rig(clock) as (rig, adapter):
        users = [f"user{i}" for i in range(20)]
        await asyncio.gather(*(adapter.send(private_message(u)) for u in users))
        assert len(rig.fake.recorded["gettoken"]) == 1
        rig.fake.token_ttl_s = 60
        clock.advance(timedelta(seconds=120))
        await asyncio.gather(*(adapter.send(private_message(u)) for u in users))
        assert len(rig.fake.recorded["gettoken"]) == 2  # one refresh for twenty 42001s
        assert len(rig.fake.accepted("message/send")) == 40


async def test_response_url_is_used_once_then_the_group_push(database: str) -> None:
    clock = ManualClock(T0)
    async with open_rig(clock) as (rig, adapter):
        await _bind(rig)
        handle = rig.fake.response_url(rig.fake_base)
        await adapter.send(group_message("第一条", reply_handle=handle))
        await adapter.send(group_message("第二条", reply_handle=handle))
        answered = rig.fake.accepted("aibot/response")
        assert [c.body["markdown"]["content"] for c in answered] == ["第一条"]
        assert "第二条" in rig.fake.accepted("webhook/send")[-1].body["markdown"]["content"]
        # Expired at WeCom (after 1 h): refused there, so the group push takes over.
        late = rig.fake.response_url(rig.fake_base)
        clock.advance(timedelta(hours=2))
        await adapter.send(group_message("第三条", reply_handle=late))
        assert "第三条" in rig.fake.accepted("webhook/send")[-1].body["markdown"]["content"]


async def test_a_response_url_refused_for_a_while_is_used_again(database: str) -> None:
    """WeCom answers the reply's response_url with its rate limit (45009), then a 500: neither
    uses the response_url up (it is good for an hour), so the outbox's retries go through it
    again and the reply reaches the group once. It had been marked used before the call: the
    retries went to the group's 消息推送 and, with none bound, the reply was lost for good."""
    clock = ManualClock(T0)
    async with open_rig(clock) as (rig, _adapter):
        handle = rig.fake.response_url(rig.fake_base)
        chat = ChatRef(Platform.WECOM, WECOM_CORP, DEFAULT_CHAT_ID, ChatKind.GROUP)
        reply = OutgoingMessage(chat=chat, text="议程已更新", reply_handle=handle)
        (row_id,) = await outbox_store.enqueue(to_outbox([reply], key_prefix="r"), clock.now())
        rig.fake.response_faults = [(200, 45009), (500, 0)]
        sender = rig.client.app[RUNTIME].delivery.sender
        for _ in range(6):
            await sender.run_once()
            clock.advance(timedelta(minutes=10))  # past the pause and the backoff
        (row,) = [r for r in await outbox_store.outbox_rows() if r.id == row_id]
        assert row.state == "sent", row.last_error
        calls = rig.fake.recorded["aibot/response"]
        assert [c.errcode for c in calls] == [45009, -1, 0]
        assert "议程已更新" in calls[-1].body["markdown"]["content"]
        assert rig.fake.recorded["webhook/send"] == []


async def test_vote_card_through_response_url_or_as_text_in_the_group(database: str) -> None:
    """A response_url takes one message: a card alone goes as the card, a text with its card
    as the text (the announcement; no hint at buttons nobody sees)."""
    clock = ManualClock(T0)
    async with open_rig(clock) as (rig, adapter):
        await _bind(rig)
        card = VoteCard(7, "议题1：年度工作", "已投 3/7", secret=False)
        handle = rig.fake.response_url(rig.fake_base)
        await adapter.send(group_message("", card=card, reply_handle=handle))
        assert rig.fake.accepted("aibot/response") == []  # a card update: never a message
        await adapter._post_response_url(handle, group_message("", card=card))
        body = rig.fake.accepted("aibot/response")[-1].body
        assert body["template_card"]["card_type"] == "vote_interaction"
        assert body["template_card"]["submit_button"]["key"] == "submit_vote_7"
        handle = rig.fake.response_url(rig.fake_base)
        await adapter.send(group_message("开始表决", card=card, reply_handle=handle))
        body = rig.fake.accepted("aibot/response")[-1].body
        assert body["markdown"]["content"].startswith("开始表决")
        assert CARD_HINT not in body["markdown"]["content"]
        secret = VoteCard(8, "议题2：人事", "赞成 4", secret=True)
        await adapter.send(group_message("表决进行中", card=secret))
        content = rig.fake.accepted("webhook/send")[-1].body["markdown"]["content"]
        assert "表决进行中" in content
        assert "赞成 4" not in content  # a secret ballot's count is never shown


# --- the callback shell: budget, late replies, streams, unsupported, errors -----------------


@contextlib.asynccontextmanager
async def standalone(
    clock: ManualClock, feed: Feed, **overrides: object
) -> AsyncIterator[tuple[Any, Any, Any]]:
    """The adapter's own routes in a bare aiohttp app with a test feed: (client, adapter, rig
    settings); the fake WeCom is at adapter.cfg.api_base."""
    async with open_fake(clock) as (fake, base):
        adapter = build_wecom_adapter(rig_config(base, **overrides), clock, **stored_ports())
        app = web.Application()
        app.add_routes(adapter.routes())
        await adapter.start(feed)
        client = TestClient(TestServer(app))
        await client.start_server()
        try:
            yield client, adapter, fake
        finally:
            await client.close()
            await adapter.close()


async def _post(client: Any, params: dict[str, str], body: bytes) -> tuple[int, bytes]:
    async with client.post("/wecom/callback", params=params, data=body) as resp:
        return resp.status, await resp.read()


async def test_slow_feed_answers_empty_then_replies_through_response_url() -> None:
    clock = ManualClock(T0)
    release = asyncio.Event()

    async def slow(message: IncomingMessage) -> list[OutgoingMessage]:
        async with asyncio.timeout(5):
            await release.wait()
        return [
            OutgoingMessage(chat=message.chat, text="处理完毕", reply_handle=message.reply_handle)
        ]

    async with standalone(clock, slow, reply_budget_s=0.05) as (client, adapter, fake):
        settings = rig_settings(adapter.cfg.api_base)
        handle = fake.response_url(adapter.cfg.api_base)
        params, body = make_text_message(
            settings, "@议事助手 计票", now=clock.now(), response_url=handle
        )
        status, raw = await _post(client, params, body)
        assert (status, raw) == (200, b"")
        release.set()
        await adapter.tasks.flush()  # the late delivery finishes
        assert [c.body["markdown"]["content"] for c in fake.accepted("aibot/response")] == [
            "处理完毕"
        ]


async def test_stream_refresh_unsupported_empty_and_failing_feed() -> None:
    clock = ManualClock(T0)
    replies: dict[str, list[OutgoingMessage]] = {}

    async def feed(message: IncomingMessage) -> list[OutgoingMessage]:
        if message.text == "坏":
            raise RuntimeError("boom")
        return replies.get(message.text, [])

    async with standalone(clock, feed) as (client, adapter, _fake):
        settings = rig_settings(adapter.cfg.api_base)
        replies["名单"] = [OutgoingMessage(chat=GROUP, text="领导小组：张伟")]
        status, raw = await _post(
            client, *make_text_message(settings, "@议事助手 名单", now=clock.now())
        )
        first = decrypt_reply(settings, json.loads(raw))
        stream_id = first["stream"]["id"]
        status, raw = await _post(
            client, *make_stream_refresh(settings, stream_id, now=clock.now())
        )
        refreshed = decrypt_reply(settings, json.loads(raw))
        assert refreshed["stream"] == {"id": stream_id, "finish": True, "content": "领导小组：张伟"}
        # Empty feed result: a plain empty success.
        assert await _post(
            client, *make_text_message(settings, "@议事助手 无事", now=clock.now())
        ) == (
            200,
            b"",
        )
        # An image (unsupported) and a click on somebody else's card: empty success.
        image = text_payload(settings, "x")
        image["msgtype"] = "image"
        image["image"] = {"url": "https://example.invalid/a.jpg"}
        assert await _post(client, *make_callback(settings, image, now=clock.now())) == (200, b"")
        other = make_card_event(
            settings, now=clock.now(), task_id="t1", event_key="other_key", option_ids=["a"]
        )
        assert await _post(client, *other) == (200, b"")
        # A feed that raises is never a 500: 503, so WeCom delivers the message again.
        status, raw = await _post(
            client, *make_text_message(settings, "@议事助手 坏", now=clock.now())
        )
        assert (status, raw) == (503, b"")


async def test_queued_inbound_answers_at_once_and_replies_through_response_url(
    database: str,
) -> None:
    """With `[http] inbound = "queue"` the callback is answered empty once the message is
    queued; the worker applies it and the reply goes out once through its response_url."""
    clock = ManualClock(T0)
    async with open_rig(clock, inbound="queue") as (rig, _):
        answer = await rig.say(WECOM_ADMIN, "绑定学会 苏州市示例科技学会")
        assert (answer.status, answer.body) == (200, b"")
        async with asyncio.timeout(10):
            while True:
                if rig.fake.accepted("aibot/response"):
                    break
                await asyncio.sleep(0.01)
        body = rig.fake.accepted("aibot/response")[0].body
        assert "已绑定" in body["markdown"]["content"]


async def test_the_clicked_card_shows_the_ballot_ack_not_the_reply_wording() -> None:
    """The member's copy of the card is checked from the reply's BallotAck: a reply reworded
    without 「已记录」 still checks the option, a refusal worded like a record checks none."""
    clock = ManualClock(T0)
    answer: dict[str, tuple[str, BallotAck | None]] = {}

    async def feed(message: IncomingMessage) -> list[OutgoingMessage]:
        text, ack = answer[message.message_id]
        return [OutgoingMessage(chat=message.chat, text=text, ballot=ack)]

    async def click(msgid: str, option: str) -> dict[str, Any]:
        params, body = make_card_event(
            settings,
            now=clock.now(),
            task_id="vote7_t",
            event_key="submit_vote_7",
            option_ids=[option],
            msgid=msgid,
        )
        status, raw = await _post(client, params, body)
        assert status == 200
        reply = decrypt_reply(settings, json.loads(raw))
        assert reply["response_type"] == "update_template_card"
        assert reply["userids"] == ["lisi"]
        return dict(reply["template_card"])

    def checked(card: dict[str, Any]) -> list[str]:
        return [o["id"] for o in card["checkbox"]["option_list"] if o.get("is_checked")]

    async with standalone(clock, feed) as (client, adapter, _fake):
        settings = rig_settings(adapter.cfg.api_base)
        answer["m1"] = ("李四投了反对票（第3票）", BallotAck(7, "no", BallotOutcome.RECORDED))
        reworded = await click("m1", "no")
        assert "已记录" not in reworded["sub_title_text"]
        assert checked(reworded) == ["no"]
        assert reworded["checkbox"]["disable"] is True
        answer["m2"] = ("已记录：您不是本次表决的表决人", None)  # a refusal, worded like a record
        assert checked(await click("m2", "yes")) == []
        answer["m3"] = ("李四：赞成，已记录", BallotAck(8, "yes", BallotOutcome.RECORDED))
        assert checked(await click("m3", "yes")) == []  # another vote's acknowledgement
        answer["m4"] = ("李四已投过弃权票", BallotAck(7, "abstain", BallotOutcome.UNCHANGED))
        assert checked(await click("m4", "abstain")) == ["abstain"]
        # A redelivered click is answered from the stored text only: the card stays as first
        # answered.
        answer["m1"] = ("（重复消息，已处理过）李四投了反对票（第3票）", None)
        assert checked(await click("m1", "no")) == ["no"]
