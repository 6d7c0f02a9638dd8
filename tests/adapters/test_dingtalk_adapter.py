"""The DingTalk network shell against the fake: configuration (fail closed), the HTTP route,
every kind of send, the access token (single flight, refresh, retry) and the error classes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.adapters.base import Rejected, SendError
from bot.adapters.dingtalk.adapter import DingTalkAdapter, build_dingtalk_adapter
from bot.adapters.dingtalk.cards import card_track_id, decode_card_click, parse_track_id
from bot.adapters.dingtalk.codec import CARD_CALLBACK_TOPIC
from bot.adapters.dingtalk.config import dingtalk_from_settings
from bot.clock import ManualClock
from bot.config import ConfigError
from bot.events import (
    ChatKind,
    ChatRef,
    IncomingMessage,
    OutgoingMessage,
    Platform,
    UserRef,
    VoteCard,
)
from bot.storage_ports import StoredHeaderBindings, StoredWebhooks
from storage import repo
from tests.kit.dingtalk.payloads import make_callback
from tests.kit.dingtalk.rig import dingtalk_table, running_bot, secret_env
from tests.kit.dingtalk.server import FakeDingTalk

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
GROUP = "cidADAPTERgroup=="
ROBOT_TOKEN = "robot-token-1"
ROBOT_SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
LINA = UserRef(Platform.DINGTALK, "dingcorpFAKE", "staff-lina", "李娜")
WANG = UserRef(Platform.DINGTALK, "dingcorpFAKE", "staff-wang", "王强")


def group_chat(chat_id: str = GROUP) -> ChatRef:
    return ChatRef(Platform.DINGTALK, "dingcorpFAKE", chat_id, ChatKind.GROUP)


def adapter_for(fake: FakeDingTalk, clock: ManualClock, **table: Any) -> DingTalkAdapter:
    cfg = dingtalk_from_settings(dingtalk_table(fake, **table), secret_env(fake))
    return build_dingtalk_adapter(
        cfg, clock, webhooks=StoredWebhooks(), bindings=StoredHeaderBindings()
    )


# --- configuration ----------------------------------------------------------------------------

BASE = {"enabled": True, "app_key": "dingkey", "corp_id": "dingcorp", "robot_code": "dingkey"}


def test_config_defaults_and_env_secret() -> None:
    cfg = dingtalk_from_settings(BASE, {"YISHI_DINGTALK_APP_SECRET": "s3cret"})
    assert cfg.enabled
    assert cfg.mode == "stream"
    assert cfg.app_secret == "s3cret"
    assert "s3cret" not in repr(cfg)
    assert cfg.callback_path == "/dingtalk/callback"
    assert cfg.api_base == "https://api.dingtalk.com"
    assert cfg.oapi_base == "https://oapi.dingtalk.com"
    assert cfg.timestamp_window_s == 3600  # DingTalk's own ±1 h sign window
    assert cfg.codec_settings().session_webhook_prefix == (
        "https://oapi.dingtalk.com/robot/sendBySession?"
    )
    # The environment wins over the file; robot_code defaults to the app key.
    cfg = dingtalk_from_settings(
        {"enabled": True, "app_key": "k", "corp_id": "c", "app_secret": "file"},
        {"YISHI_DINGTALK_APP_SECRET": "env"},
    )
    assert (cfg.app_secret, cfg.robot_code) == ("env", "k")


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (BASE, "dingtalk.app_secret"),  # no secret anywhere: fail closed
        ({**BASE, "app_secret": ""}, "dingtalk.app_secret"),
        ({"enabled": True, "corp_id": "c", "app_secret": "s"}, "dingtalk.app_key"),
        ({"enabled": True, "app_key": "k", "app_secret": "s"}, "dingtalk.corp_id"),
        ({**BASE, "app_secret": "s", "mode": "webhook"}, "dingtalk.mode"),
        ({**BASE, "app_secret": "s", "mode": 1}, "dingtalk.mode"),
        ({**BASE, "app_secret": "s", "enabled": "yes"}, "dingtalk.enabled"),
        ({**BASE, "app_secret": "s", "timestamp_window_s": 0}, "dingtalk.timestamp_window_s"),
        ({**BASE, "app_secret": "s", "timestamp_window_s": True}, "dingtalk.timestamp_window_s"),
        ({**BASE, "app_secret": "s", "callback_path": "dingtalk"}, "dingtalk.callback_path"),
        (
            {**BASE, "app_secret": "s", "header_sibling_window_s": 0},
            "dingtalk.header_sibling_window_s",
        ),
        (
            {**BASE, "app_secret": "s", "header_sibling_window_s": 61},
            "dingtalk.header_sibling_window_s",
        ),
        ({**BASE, "app_secret": "s", "api_base": "ftp://x"}, "dingtalk.api_base"),
        (
            {**BASE, "app_secret": "s", "stream_watchdog_s": 5, "stream_ping_s": 10},
            "dingtalk.stream_watchdog_s",
        ),
        ({**BASE, "app_secret": "s", "secret": "typo"}, "dingtalk.secret"),
    ],
)
def test_config_errors_name_the_key(raw: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        dingtalk_from_settings(raw, {})
    assert err.value.key == key


def test_disabled_table_needs_no_secret() -> None:
    cfg = dingtalk_from_settings({"enabled": False}, {})
    assert not cfg.enabled
    assert not dingtalk_from_settings({}, {}).enabled


# --- card ids and clicks ------------------------------------------------------------------------


def test_card_track_id_round_trip_and_click_decoding() -> None:
    chat = group_chat("cid+/ab==")
    track = card_track_id(42, chat)
    assert track.startswith("vote-42-g")
    assert parse_track_id(track) == (42, ChatKind.GROUP, "cid+/ab==")
    for bad in ("vote_42", "vote-x-gYQ", "vote-1-x", "vote-1-g", "other-1-gYQ", "vote-1-g!!!"):
        assert parse_track_id(bad) is None
    content = json.dumps({"cardPrivateData": {"params": {"choice": "反对"}}}, ensure_ascii=False)
    click = {
        "outTrackId": track,
        "corpId": "dingcorpFAKE",
        "userId": "staff-lina",
        "content": content,
    }
    data = json.dumps(click, ensure_ascii=False)
    message = decode_card_click(data, corp_id="dingcorpFAKE", event_id="evt-1", now=START)
    assert message.text == "投票 反对 表决#42"
    assert message.message_id == "card:evt-1"
    assert message.chat == ChatRef(Platform.DINGTALK, "dingcorpFAKE", "cid+/ab==", ChatKind.GROUP)
    assert message.sender.user_id == "staff-lina"
    for broken, status in (
        (data.replace("dingcorpFAKE", "dingcorpOTHER"), 403),
        (data.replace('"staff-lina"', '""'), 403),
        (data.replace("反对", "同意吧"), 400),
        (data.replace(track, "vote_42"), 400),
        ("[]", 400),
        ("{", 400),
    ):
        with pytest.raises(Rejected) as err:
            decode_card_click(broken, corp_id="dingcorpFAKE", event_id="evt-1", now=START)
        assert err.value.status == status


# --- the HTTP route -----------------------------------------------------------------------------


async def test_route_answers_empty_object_and_caps_the_body(database: str) -> None:
    clock = ManualClock(START)
    fed: list[IncomingMessage] = []

    async def feed(message: IncomingMessage) -> list[OutgoingMessage]:
        fed.append(message)
        return []

    async with FakeDingTalk(clock=clock.now) as fake:
        adapter = adapter_for(fake, clock, card_template_id="", max_body_bytes=4096)
        app = web.Application()
        app.add_routes(adapter.routes())
        await adapter.start(feed)
        try:
            async with TestClient(TestServer(app)) as client:
                headers, body = make_callback(
                    adapter.settings,
                    text="签到",
                    staff_id="s1",
                    conversation_id=GROUP,
                    msg_id="m1",
                    now=START,
                )
                response = await client.post("/dingtalk/callback", data=body, headers=headers)
                assert response.status == 200
                assert await response.json() == {}
                assert [m.text for m in fed] == ["签到"]
                await adapter.tasks.flush()
                assert fake.recorded["session"] == []  # nothing to say: nothing sent
                # The same pair and msgId with another body is refused; so is a new msgId once
                # the pair's first use is older than the sibling window; a redelivery passes.
                changed = body.replace("签到".encode(), "结束表决".encode())
                response = await client.post("/dingtalk/callback", data=changed, headers=headers)
                assert response.status == 401
                clock.advance(timedelta(seconds=adapter.cfg.header_sibling_window_s + 1))
                other = body.replace(b"m1", b"m2")
                response = await client.post("/dingtalk/callback", data=other, headers=headers)
                assert response.status == 401
                response = await client.post("/dingtalk/callback", data=body, headers=headers)
                assert response.status == 200
                # Oversized: refused on Content-Length, and when streamed without one.
                big = b"{" + b" " * 5000 + b"}"
                response = await client.post("/dingtalk/callback", data=big, headers=headers)
                assert response.status == 413

                async def chunks() -> Any:
                    for _ in range(10):
                        yield b" " * 1000

                response = await client.post("/dingtalk/callback", data=chunks(), headers=headers)
                assert response.status == 413
                assert len(fed) == 2
        finally:
            await adapter.close()


async def test_stream_mode_has_no_route() -> None:
    clock = ManualClock(START)
    async with FakeDingTalk(clock=clock.now) as fake:
        assert adapter_for(fake, clock, mode="stream").routes() == []
        assert len(adapter_for(fake, clock, mode="http").routes()) == 1


# --- sends --------------------------------------------------------------------------------------


async def test_private_message_never_goes_into_the_group() -> None:
    clock = ManualClock(START)
    async with FakeDingTalk(clock=clock.now) as fake:
        adapter = adapter_for(fake, clock)
        try:
            webhook, _ = fake.open_session(GROUP, "m1", START)
            message = OutgoingMessage(
                chat=group_chat(),
                text="请在私聊中投票",
                private_to=LINA,
                reply_handle=webhook,  # even with a group session at hand
            )
            await adapter.send(message)
        finally:
            await adapter.close()
        assert fake.recorded["session"] == []
        assert fake.recorded["group_send"] == []
        [call] = fake.recorded["private_send"]
        assert call.ok
        assert call.body["userIds"] == ["staff-lina"]


async def test_token_is_fetched_once_for_concurrent_senders_and_refreshed_before_expiry() -> None:
    clock = ManualClock(START)
    async with FakeDingTalk(clock=clock.now, token_delay=0.05) as fake:
        adapter = adapter_for(fake, clock)
        try:
            sends = [
                adapter.send(OutgoingMessage(chat=group_chat(), text=f"通知{i}")) for i in range(20)
            ]
            await asyncio.gather(*sends)
            assert len(fake.recorded["access_token"]) == 1
            assert len(fake.recorded["group_send"]) == 20
            # 5 minutes before the 2 h expiry the token is refreshed (once), not used stale.
            clock.advance(timedelta(seconds=7200 - 299))
            await asyncio.gather(
                *(adapter.send(OutgoingMessage(chat=group_chat(), text="x")) for _ in range(5))
            )
            assert len(fake.recorded["access_token"]) == 2
            # A token the platform no longer accepts: one refresh, one retry, delivered.
            fake._tokens.clear()
            await adapter.send(OutgoingMessage(chat=group_chat(), text="重试"))
            assert len(fake.recorded["access_token"]) == 3
            statuses = [c.status for c in fake.recorded["group_send"][-2:]]
            assert statuses == [401, 200]
        finally:
            await adapter.close()


async def test_platform_errors_become_send_errors() -> None:
    clock = ManualClock(START)
    message = OutgoingMessage(chat=group_chat(), text="通知")
    async with FakeDingTalk(clock=clock.now) as fake:
        adapter = adapter_for(fake, clock, send_timeout_s=0.05)
        try:
            cases = [
                (503, {"code": "ServiceUnavailable", "message": "busy"}, "transient"),
                (
                    403,
                    {"code": "Forbidden.AccessDenied.QpsLimitForApi", "message": "qps"},
                    "throttled",
                ),
                (400, {"code": "invalidParameter", "message": "robotCode"}, "permanent"),
                (200, {"errcode": 130101, "errmsg": "send too fast"}, "throttled"),
                (400, {"errcode": 310000, "errmsg": "sign not match"}, "permanent"),
            ]
            for status, body, kind in cases:
                fake.inject["group_send"] = [(status, body)]
                with pytest.raises(SendError) as err:
                    await adapter.send(message)
                assert err.value.kind == kind, (body, err.value)
                assert not err.value.ambiguous
            # A timeout after the request went out: transient and ambiguous.
            fake.delay["group_send"] = 0.1
            with pytest.raises(SendError) as err:
                await adapter.send(message)
            assert (err.value.kind, err.value.ambiguous) == ("transient", True)
            fake.delay.clear()
        finally:
            await adapter.close()
    # Nobody listening: transient, not ambiguous (nothing went out).
    async with FakeDingTalk(clock=clock.now) as gone:
        port_table = dingtalk_table(gone)
    cfg = dingtalk_from_settings(port_table, secret_env(gone))
    adapter = build_dingtalk_adapter(
        cfg, clock, webhooks=StoredWebhooks(), bindings=StoredHeaderBindings()
    )
    try:
        with pytest.raises(SendError) as err:
            await adapter.send(message)
        assert (err.value.kind, err.value.ambiguous) == ("transient", False)
    finally:
        await adapter.close()


async def test_vote_card_is_created_once_then_updated(database: str) -> None:
    clock = ManualClock(START)
    async with FakeDingTalk(clock=clock.now) as fake:
        adapter = adapter_for(fake, clock)
        card = VoteCard(7, "议题1：年度工作", "已投 0/7", secret=False)
        opened = OutgoingMessage(chat=group_chat(), text="开始表决", card=card, mentions=(LINA,))
        try:
            await adapter.send(opened)
            counted = OutgoingMessage(
                chat=group_chat(), text="", card=VoteCard(7, "议题1：年度工作", "已投 3/7", False)
            )
            await adapter.send(counted)
        finally:
            await adapter.close()
        assert len(fake.recorded["card_create"]) == 1
        assert len(fake.recorded["card_update"]) == 1
        track = card_track_id(7, group_chat())
        stored = fake.cards[track]
        assert stored.params["summary"] == "已投 3/7"
        assert stored.at_user_ids == {"staff-lina": "李娜"}
        assert fake.recorded["card_create"][0].body["callbackType"] == "STREAM"
        # The group send carried the text and wrote the name out (the OpenAPI cannot @).
        [text] = fake.recorded["group_send"]
        assert "@李娜" in text.body["msgParam"]
        # After a restart the adapter does not remember the card: create fails, update follows.
        adapter = adapter_for(fake, clock)
        closed = VoteCard(7, "议题1：年度工作", "赞成5、反对2、弃权0", secret=False, closed=True)
        try:
            await adapter.send(OutgoingMessage(chat=group_chat(), text="", card=closed))
        finally:
            await adapter.close()
        assert fake.cards[track].params["show_buttons"] == "false"
        assert fake.cards[track].params["status"] == "已结束"
        # A secret vote's card never has buttons in the group.
        adapter = adapter_for(fake, clock)
        try:
            secret = VoteCard(8, "议题2：人事", "已投 0/7", secret=True)
            await adapter.send(OutgoingMessage(chat=group_chat(), text="", card=secret))
        finally:
            await adapter.close()
        assert fake.cards[card_track_id(8, group_chat())].params["show_buttons"] == "false"


# --- sends that need storage (custom robot lookup) ---------------------------------------------


async def test_expired_session_falls_back_to_group_send_with_names(database: str) -> None:
    clock = ManualClock(START)
    async with (
        FakeDingTalk(clock=clock.now) as fake,
        running_bot(fake, clock, card_template_id="") as rig,
    ):
        webhook, expires = fake.open_session(GROUP, "m1", clock.now())
        reply = OutgoingMessage(
            chat=group_chat(), text="请李娜、王强投票", mentions=(LINA, WANG), reply_handle=webhook
        )
        await rig.adapter.send(reply)
        [live] = fake.recorded["session"]
        assert live.ok
        assert live.at_user_ids == ["staff-lina", "staff-wang"]
        assert "@staff-lina" in live.text
        assert "@staff-wang" in live.text
        clock.set(expires + timedelta(seconds=1))  # 90 minutes later: the session is gone
        await rig.adapter.send(reply)
        assert not fake.recorded["session"][-1].ok
        [fallback] = fake.recorded["group_send"]
        content = fallback.body["msgParam"]
        assert "@李娜" in content
        assert "@王强" in content
        assert "at" not in fallback.body


async def test_custom_robot_carries_mentions_and_130101_is_throttled(database: str) -> None:
    clock = ManualClock(START)
    async with (
        FakeDingTalk(clock=clock.now, custom_robots={ROBOT_TOKEN: ROBOT_SECRET}) as fake,
        running_bot(fake, clock, card_template_id="") as rig,
    ):
        society = await repo.create_society("示例学会", clock.now())
        await repo.bind_chat(Platform.DINGTALK, fake.corp_id, GROUP, society.id)
        url = f"{fake.base_url}/robot/send?access_token={ROBOT_TOKEN}#{ROBOT_SECRET}"
        await repo.set_chat_webhook(Platform.DINGTALK, fake.corp_id, GROUP, url)
        notice = OutgoingMessage(chat=group_chat(), text="明天开会", mentions=(LINA,))
        for _ in range(20):
            await rig.adapter.send(notice)
            clock.advance(timedelta(seconds=1))
        calls = fake.recorded["custom_robot"]
        assert all(c.ok for c in calls)
        assert calls[0].at_user_ids == ["staff-lina"]
        assert "secret" not in calls[0].query
        assert len({c.query["timestamp"] for c in calls}) == 20  # signed afresh each time
        with pytest.raises(SendError) as err:
            await rig.adapter.send(notice)
        assert (err.value.kind, err.value.code) == ("throttled", "130101")
        # Without mentions the OpenAPI is used (no @ needed, no robot quota spent).
        await rig.adapter.send(OutgoingMessage(chat=group_chat(), text="纪要已签发"))
        assert len(fake.recorded["group_send"]) == 1
        # A stored URL that is not DingTalk's custom robot is never called.
        await repo.set_chat_webhook(
            Platform.DINGTALK, fake.corp_id, GROUP, "https://evil.example/x"
        )
        await rig.adapter.send(notice)
        assert len(fake.recorded["group_send"]) == 2


async def test_card_click_topic_is_subscribed_in_http_mode(database: str) -> None:
    clock = ManualClock(START)
    async with FakeDingTalk(clock=clock.now) as fake, running_bot(fake, clock) as rig:
        await fake.wait_connections(1)
        assert fake.subscribed == [{CARD_CALLBACK_TOPIC}]
        assert rig.adapter.stream is not None


async def test_a_failing_feed_answers_503_not_500(database: str) -> None:
    """Our own failure (the database or the inbound queue is down) asks DingTalk to retry."""
    clock = ManualClock(START)

    async def feed(message: IncomingMessage) -> list[OutgoingMessage]:
        raise RuntimeError("database unreachable")

    async with FakeDingTalk(clock=clock.now) as fake:
        adapter = adapter_for(fake, clock, card_template_id="")
        app = web.Application()
        app.add_routes(adapter.routes())
        await adapter.start(feed)
        try:
            async with TestClient(TestServer(app)) as client:
                headers, body = make_callback(
                    adapter.settings,
                    text="赞成",
                    staff_id="s1",
                    conversation_id=GROUP,
                    msg_id="m1",
                    now=START,
                )
                response = await client.post("/dingtalk/callback", data=body, headers=headers)
                assert response.status == 503
                # The retry of the same delivery is let through again (same msgId, same body).
                response = await client.post("/dingtalk/callback", data=body, headers=headers)
                assert response.status == 503
        finally:
            await adapter.close()
