"""The fake DingTalk, driven over real HTTP on 127.0.0.1 with the pure codec on our side."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from bot.adapters.base import Rejected
from bot.adapters.dingtalk.codec import (
    DingTalkSettings,
    decode_callback,
    decode_stream_callback,
    decode_stream_frame,
    encode_group_send,
    encode_private_send,
    encode_reply,
    epoch_ms,
)
from bot.clock import ManualClock
from bot.events import ChatKind, ChatRef, OutgoingMessage, Platform, UserRef
from tests.kit.dingtalk.payloads import make_callback, robot_payload, stream_frame
from tests.kit.dingtalk.server import FakeDingTalk

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
GROUP_ID = "cidFAKEgroup=="
ROBOT_TOKEN = "custom-robot-token"
ROBOT_SECRET = "SECfake0123456789abcdef0123456789abcdef0123456789abcdef0123456789"


def new_fake() -> tuple[FakeDingTalk, ManualClock]:
    clock = ManualClock(START)
    return FakeDingTalk(clock=clock.now, custom_robots={ROBOT_TOKEN: ROBOT_SECRET}), clock


def group_message(settings: DingTalkSettings, text: str) -> OutgoingMessage:
    chat = ChatRef(Platform.DINGTALK, settings.corp_id, GROUP_ID, ChatKind.GROUP)
    return OutgoingMessage(chat=chat, text=text)


async def get_token(session: aiohttp.ClientSession, fake: FakeDingTalk) -> str:
    async with session.post(
        fake.url("/v1.0/oauth2/accessToken"),
        json={"appKey": fake.app_key, "appSecret": fake.app_secret},
    ) as response:
        assert response.status == 200
        body = await response.json()
    assert body["expireIn"] == 7200
    token: str = body["accessToken"]
    return token


async def test_access_token_and_wrong_secret() -> None:
    fake, clock = new_fake()
    async with fake, aiohttp.ClientSession() as session:
        assert fake.base_url.startswith("http://127.0.0.1:")
        token = await get_token(session, fake)
        clock.advance(timedelta(minutes=30))
        assert await get_token(session, fake) == token  # same token while valid
        async with session.post(
            fake.url("/v1.0/oauth2/accessToken"),
            json={"appKey": fake.app_key, "appSecret": "wrong"},
        ) as response:
            assert response.status == 400
            error = await response.json()
        assert error["code"] == "invalidClientSecret"
        assert "message" in error
        assert [call.status for call in fake.recorded["access_token"]] == [200, 200, 400]


async def test_group_send_checks_token_and_msg_param() -> None:
    fake, clock = new_fake()
    async with fake, aiohttp.ClientSession() as session:
        settings = fake.settings()
        url = fake.url("/v1.0/robot/groupMessages/send")
        body = encode_group_send(
            group_message(settings, "明天 9:00 开会"), robot_code=settings.robot_code
        )

        async with session.post(url, json=body) as response:
            assert response.status == 401  # no token

        token = await get_token(session, fake)
        auth = {"x-acs-dingtalk-access-token": token}
        async with session.post(url, json=body, headers=auth) as response:
            assert response.status == 200
            assert "processQueryKey" in await response.json()

        as_object = {**body, "msgParam": json.loads(str(body["msgParam"]))}
        too_big = {**body, "msgParam": json.dumps({"content": "表" * 5000}, ensure_ascii=False)}
        with_at = {**body, "at": {"atUserIds": ["0123"]}}
        for bad in (as_object, too_big, with_at):
            async with session.post(url, json=bad, headers=auth) as response:
                assert response.status == 400

        clock.advance(timedelta(seconds=7200))
        async with session.post(url, json=body, headers=auth) as response:
            assert response.status == 401  # token expired

        accepted = [call for call in fake.recorded["group_send"] if call.ok]
        assert len(accepted) == 1
        assert accepted[0].body["openConversationId"] == GROUP_ID
        assert json.loads(accepted[0].body["msgParam"]) == {"content": "明天 9:00 开会"}
        assert [c.status for c in fake.recorded["group_send"]] == [401, 200, 400, 400, 400, 401]


async def test_private_batch_send_is_recorded() -> None:
    fake, _ = new_fake()
    async with fake, aiohttp.ClientSession() as session:
        settings = fake.settings()
        member = UserRef(Platform.DINGTALK, settings.corp_id, "0123456789", "张三")
        secret = OutgoingMessage(
            chat=group_message(settings, "").chat, text="您的选票已记录", private_to=member
        )
        body = encode_private_send(secret, robot_code=settings.robot_code)
        headers = {"x-acs-dingtalk-access-token": await get_token(session, fake)}
        url = fake.url("/v1.0/robot/oToMessages/batchSend")
        async with session.post(url, json=body, headers=headers) as response:
            assert response.status == 200
            assert (await response.json())["invalidStaffIdList"] == []
        async with session.post(url, json={**body, "userIds": []}, headers=headers) as response:
            assert response.status == 400
        (call,) = [c for c in fake.recorded["private_send"] if c.ok]
        assert call.body["userIds"] == ["0123456789"]


async def test_callback_decode_reply_through_session_webhook_until_it_expires() -> None:
    fake, clock = new_fake()
    async with fake, aiohttp.ClientSession() as session:
        settings = fake.settings()
        headers, body = fake.make_callback(
            settings,
            text="@议事 表决 同意",
            staff_id="0123456789",
            conversation_id=GROUP_ID,
            msg_id="msgFAKE0001==",
            now=clock.now(),
            at_staff_ids=("0456789",),
        )
        message = decode_callback(headers, body, settings=settings, now=clock.now())
        assert message.text == "表决 同意"
        assert message.chat.chat_id == GROUP_ID
        assert message.reply_handle.startswith(fake.url("/robot/sendBySession?session="))
        assert [m.user_id for m in message.mentions] == ["0456789"]

        reply = OutgoingMessage(
            chat=message.chat,
            text="已记录 @张三 的表决",
            mentions=(message.sender,),
            reply_handle=message.reply_handle,
        )
        async with session.post(reply.reply_handle, json=encode_reply(reply)) as response:
            assert response.status == 200
            assert (await response.json())["errcode"] == 0
        (call,) = fake.recorded["session"]
        assert call.at_user_ids == ["0123456789"]
        assert call.text == "已记录 @0123456789 的表决"

        expires_at = fake.session_expires_at(message.reply_handle)
        assert expires_at == START + timedelta(minutes=90)
        clock.set(expires_at - timedelta(seconds=1))
        async with session.post(reply.reply_handle, json=encode_reply(reply)) as response:
            assert response.status == 200
        clock.set(expires_at)
        async with session.post(reply.reply_handle, json=encode_reply(reply)) as response:
            assert response.status == fake.expired_session_status
            assert (await response.json())["errcode"] != 0
        assert [c.ok for c in fake.recorded["session"]] == [True, True, False]

        # A later decode of the same callback no longer offers the expired session.
        later = decode_callback(headers, body, settings=settings, now=START + timedelta(minutes=59))
        assert later.reply_handle == message.reply_handle
        clock.set(START + timedelta(minutes=95))
        expired = decode_stream_callback(
            decode_stream_frame(stream_frame(json.loads(body))),
            settings=settings,
            now=clock.now(),
        )
        assert expired.reply_handle == ""


async def test_session_webhook_rejects_unknown_sessions_and_bad_bodies() -> None:
    fake, clock = new_fake()
    async with fake, aiohttp.ClientSession() as session:
        url, _ = fake.open_session(GROUP_ID, "m1", clock.now())
        async with session.post(fake.url("/robot/sendBySession?session=nope"), json={}) as r:
            assert (await r.json())["errcode"] != 0
        async with session.post(url, json={"msgtype": "text", "text": {}}) as response:
            assert (await response.json())["errcode"] != 0
        assert not any(call.ok for call in fake.recorded["session"])


async def test_custom_robot_sign_and_rate_limit() -> None:
    fake, clock = new_fake()
    async with fake, aiohttp.ClientSession() as session:
        body = {"msgtype": "text", "text": {"content": "提醒：10 分钟后开会"}}

        async def send(url: str) -> int:
            async with session.post(URL(url, encoded=True), json=body) as response:
                assert response.status == 200
                errcode: int = (await response.json())["errcode"]
                return errcode

        # Signed URL built by hand with the URL-encoded sign.
        assert await send(fake.custom_robot_url(ROBOT_TOKEN, clock.now())) == 0
        # aiohttp encoding `params` from the plain base64 sign works too.
        timestamp = str(epoch_ms(clock.now()))
        signed_url = fake.custom_robot_url(ROBOT_TOKEN, clock.now())
        plain_sign = str(URL(signed_url, encoded=True).query["sign"])
        async with session.post(
            fake.url("/robot/send"),
            params={"access_token": ROBOT_TOKEN, "timestamp": timestamp, "sign": plain_sign},
            json=body,
        ) as response:
            assert (await response.json())["errcode"] == 0
        # Double encoding, a stale timestamp and an unknown token fail.
        double = signed_url.replace("%2F", "%252F").replace("%2B", "%252B").replace("%3D", "%253D")
        assert await send(double) == 310000
        stale = fake.custom_robot_url(ROBOT_TOKEN, clock.now() - timedelta(hours=1, seconds=1))
        assert await send(stale) == 310000
        assert await send(fake.url("/robot/send?access_token=x&timestamp=1&sign=x")) == 300001

        # 2 sent so far; 18 more fill the minute, the 21st is refused and blocks 10 minutes.
        for _ in range(18):
            clock.advance(timedelta(seconds=1))
            assert await send(fake.custom_robot_url(ROBOT_TOKEN, clock.now())) == 0
        assert await send(fake.custom_robot_url(ROBOT_TOKEN, clock.now())) == 130101
        blocked_at = clock.now()
        clock.set(blocked_at + timedelta(minutes=9, seconds=59))
        assert await send(fake.custom_robot_url(ROBOT_TOKEN, clock.now())) == 130101
        clock.set(blocked_at + timedelta(minutes=10))
        assert await send(fake.custom_robot_url(ROBOT_TOKEN, clock.now())) == 0
        assert sum(call.ok for call in fake.recorded["custom_robot"]) == 21


async def test_custom_robot_window_slides() -> None:
    fake, clock = new_fake()
    async with fake, aiohttp.ClientSession() as session:
        body = {"msgtype": "text", "text": {"content": "x"}}
        codes = []
        for _ in range(40):  # one every 3 s = 20 per minute exactly: never throttled
            url = URL(fake.custom_robot_url(ROBOT_TOKEN, clock.now()), encoded=True)
            async with session.post(url, json=body) as response:
                codes.append((await response.json())["errcode"])
            clock.advance(timedelta(seconds=3))
        assert set(codes) == {0}


async def test_signed_callbacks_through_an_aiohttp_route() -> None:
    """The headers a real aiohttp request carries (case-insensitive) decode like the dict."""
    clock = ManualClock(START)
    settings = DingTalkSettings(
        app_key="k", app_secret="route-secret", robot_code="k", corp_id="dingcorpROUTE"
    )
    seen: list[str] = []

    async def callback(request: web.Request) -> web.Response:
        try:
            message = decode_callback(
                request.headers, await request.read(), settings=settings, now=clock.now()
            )
        except Rejected as rejected:
            return web.json_response({"reason": rejected.reason}, status=rejected.status)
        seen.append(message.text)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/dingtalk", callback)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            fields = {
                "text": "表决 同意",
                "staff_id": "0123",
                "conversation_id": GROUP_ID,
                "now": clock.now(),
            }
            headers, body = make_callback(settings, msg_id="m1", **fields)
            statuses = []
            for payload in (
                body,
                body,  # redelivery: same msgId
                # The same header pair decodes: the stored binding judges it (test_dingtalk_replay)
                make_callback(settings, msg_id="m2", **fields)[1],
                make_callback(settings, msg_id="m3", **{**fields, "corp_id": "dingcorpOTHER"})[1],
            ):
                async with session.post(
                    server.make_url("/dingtalk"), data=payload, headers=headers
                ) as response:
                    statuses.append(response.status)
            clock.advance(timedelta(hours=1, seconds=1))
            async with session.post(
                server.make_url("/dingtalk"), data=body, headers=headers
            ) as response:
                statuses.append(response.status)
                assert (await response.json())["reason"] == "stale_timestamp"
    finally:
        await server.close()
    assert statuses == [200, 200, 200, 403, 401]
    assert seen == ["表决 同意", "表决 同意", "表决 同意"]


def test_robot_payload_without_a_running_fake() -> None:
    settings = DingTalkSettings(app_key="k", app_secret="s", robot_code="k", corp_id="c")
    payload = robot_payload(
        settings,
        text="hi",
        staff_id="1",
        conversation_id="cid",
        msg_id="m",
        now=START,
        conversation_type="1",
    )
    assert payload["conversationType"] == "1"
    assert "conversationTitle" not in payload
    assert payload["sessionWebhook"].startswith("https://oapi.dingtalk.com/")
    assert payload["sessionWebhookExpiredTime"] == epoch_ms(START + timedelta(minutes=90))


@pytest.mark.parametrize("conversation_type", ["1", "2"])
def test_fake_callbacks_decode(conversation_type: str) -> None:
    fake, clock = new_fake()
    settings = fake.settings()
    headers, body = fake.make_callback(
        settings,
        text="查询",
        staff_id="0777",
        conversation_id="cidX==",
        msg_id="mX",
        now=clock.now(),
        conversation_type=conversation_type,
    )
    message = decode_callback(headers, body, settings=settings, now=clock.now())
    expected_chat = "cidX==" if conversation_type == "2" else "0777"
    assert message.chat.chat_id == expected_chat
    assert message.sender == UserRef(Platform.DINGTALK, settings.corp_id, "0777", "张三")
