"""The fake WeCom server over real loopback HTTP (aiohttp TestServer + ClientSession), and one
end-to-end pass of the WeCom codec behind a tiny aiohttp view. The clock is injected: token
expiry, rate windows and response_url lifetimes are crossed without sleeping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from bot.adapters.base import Rejected
from bot.adapters.wecom.codec import (
    CardEvent,
    StreamRefresh,
    WeComSettings,
    classify_webhook_error,
    decode_callback,
    encode_reply,
    encode_webhook_text,
    markdown_reply,
    stream_reply,
    update_card,
    verify_url,
    vote_card,
    vote_click,
)
from bot.clock import ManualClock
from bot.events import (
    ChatKind,
    ChatRef,
    IncomingMessage,
    OutgoingMessage,
    Platform,
    UserRef,
    VoteCard,
)
from tests.kit.wecom.payloads import (
    decrypt_reply,
    make_card_event,
    make_stream_refresh,
    make_text_message,
    make_url_verification,
)
from tests.kit.wecom.server import (
    ERR_BAD_JSON,
    ERR_FREQ_LIMIT,
    ERR_INVALID_CORPID,
    ERR_INVALID_MSGTYPE,
    ERR_INVALID_PARAM,
    ERR_INVALID_SECRET,
    ERR_INVALID_TOKEN,
    ERR_INVALID_WEBHOOK,
    ERR_TOKEN_EXPIRED,
    FAKE_ERR_RESPONSE_CODE_EXPIRED,
    FAKE_ERR_RESPONSE_CODE_UNKNOWN,
    FAKE_ERR_RESPONSE_CODE_USED,
    FakeWeCom,
)

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CORP = "ww1234567890abcdef"
KEY = "fake-webhook-key"


@dataclass
class Harness:
    fake: FakeWeCom
    clock: ManualClock
    session: aiohttp.ClientSession
    base: str

    async def get(self, path: str, **params: str) -> dict[str, Any]:
        async with self.session.get(self.base + path, params=params) as response:
            assert response.status == 200
            return await response.json()

    async def post(self, path: str, payload: Any, **params: str) -> dict[str, Any]:
        data = payload if isinstance(payload, bytes) else None
        json_body = None if isinstance(payload, bytes) else payload
        async with self.session.post(
            self.base + path, params=params, json=json_body, data=data
        ) as response:
            assert response.status == 200
            return await response.json()

    async def webhook(self, payload: Any, key: str = KEY) -> int:
        return (await self.post("/cgi-bin/webhook/send", payload, key=key))["errcode"]


@pytest.fixture
async def wecom() -> AsyncIterator[Harness]:
    clock = ManualClock(T0)
    fake = FakeWeCom(clock=clock, corp_id=CORP, webhook_keys=(KEY,))
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    session = aiohttp.ClientSession()
    try:
        yield Harness(fake, clock, session, str(server.make_url("/")).rstrip("/"))
    finally:
        await session.close()
        await server.close()


# --- gettoken / message/send ----------------------------------------------------------------------


async def test_gettoken(wecom: Harness):
    first = await wecom.get("/cgi-bin/gettoken", corpid=CORP, corpsecret="fake-corp-secret")
    assert first["errcode"] == 0
    assert first["expires_in"] == 7200
    wecom.clock.advance(timedelta(seconds=600))
    again = await wecom.get("/cgi-bin/gettoken", corpid=CORP, corpsecret="fake-corp-secret")
    assert again["access_token"] == first["access_token"]
    assert again["expires_in"] == 6600
    bad_secret = await wecom.get("/cgi-bin/gettoken", corpid=CORP, corpsecret="wrong")
    assert bad_secret["errcode"] == ERR_INVALID_SECRET
    assert "access_token" not in bad_secret
    bad_corp = await wecom.get("/cgi-bin/gettoken", corpid="wwOTHER", corpsecret="fake-corp-secret")
    assert bad_corp["errcode"] == ERR_INVALID_CORPID
    assert [call.errcode for call in wecom.fake.recorded["gettoken"]] == [
        0,
        0,
        ERR_INVALID_SECRET,
        ERR_INVALID_CORPID,
    ]


async def test_message_send_token_expiry(wecom: Harness):
    token = (await wecom.get("/cgi-bin/gettoken", corpid=CORP, corpsecret="fake-corp-secret"))[
        "access_token"
    ]
    message = {
        "touser": "zhangsan",
        "msgtype": "text",
        "agentid": 1000002,
        "text": {"content": "x"},
    }
    sent = await wecom.post("/cgi-bin/message/send", message, access_token=token)
    assert sent["errcode"] == 0
    assert sent["msgid"]
    wecom.clock.advance(timedelta(seconds=7199))
    assert (await wecom.post("/cgi-bin/message/send", message, access_token=token))["errcode"] == 0
    wecom.clock.advance(timedelta(seconds=1))
    expired = await wecom.post("/cgi-bin/message/send", message, access_token=token)
    assert expired["errcode"] == ERR_TOKEN_EXPIRED
    assert classify_webhook_error(expired["errcode"]) == "token"
    unknown = await wecom.post("/cgi-bin/message/send", message, access_token="nope")
    assert unknown["errcode"] == ERR_INVALID_TOKEN
    fresh = await wecom.get("/cgi-bin/gettoken", corpid=CORP, corpsecret="fake-corp-secret")
    assert fresh["access_token"] != token
    assert fresh["expires_in"] == 7200
    ok = await wecom.post("/cgi-bin/message/send", message, access_token=fresh["access_token"])
    assert ok["errcode"] == 0
    assert (await wecom.post("/cgi-bin/message/send", b"{", access_token=fresh["access_token"]))[
        "errcode"
    ] == ERR_BAD_JSON
    assert len(wecom.fake.accepted("message/send")) == 3
    assert wecom.fake.recorded["message/send"][0].body == message


# --- webhook/send (消息推送) -------------------------------------------------------------------------


def _text(content: str = "提醒：15:00 开会") -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


async def test_webhook_unknown_key(wecom: Harness):
    errcode = await wecom.webhook(_text(), key="removed")
    assert errcode == ERR_INVALID_WEBHOOK
    assert classify_webhook_error(errcode) == "gone"


async def test_webhook_sliding_window(wecom: Harness):
    for _ in range(10):
        assert await wecom.webhook(_text()) == 0
    wecom.clock.advance(timedelta(seconds=30))
    for _ in range(10):
        assert await wecom.webhook(_text()) == 0
    assert await wecom.webhook(_text()) == ERR_FREQ_LIMIT
    assert classify_webhook_error(ERR_FREQ_LIMIT) == "throttled"
    wecom.clock.advance(timedelta(seconds=29))  # T0+59 s: the first ten still count
    assert await wecom.webhook(_text()) == ERR_FREQ_LIMIT
    wecom.clock.advance(timedelta(seconds=1))  # T0+60 s: they slide out
    for _ in range(10):
        assert await wecom.webhook(_text()) == 0
    assert await wecom.webhook(_text()) == ERR_FREQ_LIMIT
    assert len(wecom.fake.accepted("webhook/send")) == 30
    assert len(wecom.fake.recorded["webhook/send"]) == 33


async def test_webhook_validation(wecom: Harness):
    assert await wecom.webhook(_text("x" * 2048)) == 0
    assert await wecom.webhook(_text("x" * 2049)) == ERR_INVALID_PARAM
    assert await wecom.webhook(_text("")) == ERR_INVALID_PARAM
    markdown = {"msgtype": "markdown", "markdown": {"content": "议" * 1366}}  # 4098 bytes
    assert await wecom.webhook(markdown) == ERR_INVALID_PARAM
    assert await wecom.webhook({"msgtype": "sticker", "sticker": {}}) == ERR_INVALID_MSGTYPE
    assert await wecom.webhook(b"<xml/>") == ERR_BAD_JSON
    card = vote_card(VoteCard(1, "议案", "", secret=False), task_id="vote_1")
    assert await wecom.webhook(card) == ERR_INVALID_PARAM  # no interactive cards on 消息推送
    notice = {"msgtype": "template_card", "template_card": {"card_type": "text_notice"}}
    assert await wecom.webhook(notice) == 0


async def test_webhook_accepts_encoder_output_and_records_mentions(wecom: Harness):
    chat = ChatRef(Platform.WECOM, CORP, "wrkGROUP")
    zhang = UserRef(Platform.WECOM, CORP, "zhangsan")
    li = UserRef(Platform.WECOM, CORP, "lisi")
    long_text = "请各位委员于今日 17:00 前完成表决。" * 200
    message = OutgoingMessage(chat=chat, text=long_text, mentions=(zhang, li))
    assert await wecom.webhook(encode_webhook_text(message)) == 0
    assert await wecom.webhook(encode_webhook_text(message, markdown=True)) == 0
    v2 = {"msgtype": "markdown_v2", "markdown_v2": {"content": "<@zhangsan> 不会提醒"}}
    assert await wecom.webhook(v2) == 0
    recorded = wecom.fake.accepted("webhook/send")
    assert [call.mentions for call in recorded] == [("zhangsan", "lisi"), ("zhangsan", "lisi"), ()]


# --- response_url -----------------------------------------------------------------------------------


async def test_response_url_is_single_use_within_an_hour(wecom: Harness):
    code = wecom.fake.issue_response_code()
    path = "/cgi-bin/aibot/response"
    encrypted = {"encrypt": "abc", "msgsignature": "x", "timestamp": "1", "nonce": "n"}
    assert (await wecom.post(path, encrypted, response_code=code))["errcode"] == ERR_INVALID_PARAM
    stream = stream_reply("s", "x")
    assert (await wecom.post(path, stream, response_code=code))["errcode"] == ERR_INVALID_MSGTYPE
    first = await wecom.post(path, markdown_reply("表决已结束"), response_code=code)
    assert first["errcode"] == 0  # refused bodies above did not consume the code
    second = await wecom.post(path, markdown_reply("again"), response_code=code)
    assert second["errcode"] == FAKE_ERR_RESPONSE_CODE_USED
    assert classify_webhook_error(second["errcode"]) == "permanent"

    late = wecom.fake.issue_response_code()
    wecom.clock.advance(timedelta(seconds=3599))
    in_time = wecom.fake.issue_response_code()
    wecom.clock.advance(timedelta(seconds=1))
    expired = await wecom.post(path, markdown_reply("x"), response_code=late)
    assert expired["errcode"] == FAKE_ERR_RESPONSE_CODE_EXPIRED
    assert (await wecom.post(path, markdown_reply("x"), response_code=in_time))["errcode"] == 0
    unknown = await wecom.post(path, markdown_reply("x"), response_code="never-issued")
    assert unknown["errcode"] == FAKE_ERR_RESPONSE_CODE_UNKNOWN
    assert len(wecom.fake.accepted("aibot/response")) == 2


# --- end to end: the codec behind an aiohttp view --------------------------------------------------


VOTE = VoteCard(
    vote_id=42, title="关于召开组织生活会的议案", summary="赞成 1 · 反对 0 · 弃权 0", secret=False
)


def bot_app(settings: WeComSettings, clock: ManualClock, seen: list[Any]) -> web.Application:
    """What the network shell will do, minimally: decode, answer at once, hand over."""

    async def verify(request: web.Request) -> web.Response:
        try:
            echo = verify_url(request.query, settings=settings, now=clock.now())
        except Rejected as error:
            return web.Response(status=error.status)
        return web.Response(text=echo)

    async def callback(request: web.Request) -> web.Response:
        try:
            decoded = decode_callback(
                request.query, await request.read(), settings=settings, now=clock.now()
            )
        except Rejected as error:
            return web.Response(status=error.status)
        seen.append(decoded)
        match decoded:
            case IncomingMessage():
                reply = stream_reply(f"stream_{decoded.message_id}", f"收到：{decoded.text}", False)
            case StreamRefresh():
                reply = stream_reply(decoded.stream_id, "表决已发起", True)
            case CardEvent():
                click = vote_click(decoded)
                assert click is not None
                reply = update_card(
                    VOTE,
                    task_id=decoded.task_id,
                    userid=decoded.sender.user_id,
                    chosen=click.choice,
                )
            case _:
                return web.Response(text="")
        timestamp = str(int(clock.now().timestamp()))
        nonce = request.query["nonce"]
        return web.json_response(
            encode_reply(reply, settings=settings, nonce=nonce, timestamp=timestamp)
        )

    app = web.Application()
    app.router.add_get("/wecom", verify)
    app.router.add_post("/wecom", callback)
    return app


async def test_end_to_end_through_http(wecom: Harness):
    settings = WeComSettings(
        token="QDG6eK",
        encoding_aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
        corp_id=CORP,
        bot_id="aibEXAMPLE01",
        api_base=wecom.base,
    )
    seen: list[Any] = []
    bot = TestServer(bot_app(settings, wecom.clock, seen), host="127.0.0.1")
    await bot.start_server()
    url = str(bot.make_url("/wecom"))
    session = wecom.session
    try:
        # URL verification, including a raw '+' that form decoding turns into a space.
        for i in range(256):
            params, echo = make_url_verification(
                settings, now=wecom.clock.now(), random16=bytes([i]) * 16
            )
            if "+" in params["echostr"]:
                break
        query = "&".join(f"{k}={v}" for k, v in params.items())  # '+' deliberately unescaped
        async with session.get(URL(f"{url}?{query}", encoded=True)) as response:
            assert response.status == 200
            assert await response.text() == echo

        # A group @-message: passive stream reply, then one deferred answer via response_url.
        response_url = wecom.fake.response_url(wecom.base)
        params, body = make_text_message(
            settings,
            "@议事助手 发起表决 关于召开组织生活会的议案",
            now=wecom.clock.now(),
            msgid="msg-1",
            response_url=response_url,
        )
        async with session.post(url, params=params, data=body) as response:
            assert response.status == 200
            reply = decrypt_reply(settings, await response.json())
        assert reply["stream"] == {
            "id": "stream_msg-1",
            "finish": False,
            "content": "收到：发起表决 关于召开组织生活会的议案",
        }
        message = seen[-1]
        assert message.chat == ChatRef(
            Platform.WECOM, CORP, "wrkSFfCgAAEXAMPLEchat", ChatKind.GROUP
        )
        async with session.post(
            message.reply_handle, json=vote_card(VOTE, task_id="vote_42_1")
        ) as r:
            assert (await r.json())["errcode"] == 0
        async with session.post(message.reply_handle, json=markdown_reply("again")) as r:
            assert (await r.json())["errcode"] == FAKE_ERR_RESPONSE_CODE_USED

        # The platform redelivers the same msgid: decoded again, identical id (dedupe is upstream).
        async with session.post(url, params=params, data=body) as response:
            assert response.status == 200
        assert seen[-1].message_id == seen[-2].message_id == "msg-1"

        # Stream refresh, then a vote click answered with a card update for the voter only.
        params, body = make_stream_refresh(settings, "stream_msg-1", now=wecom.clock.now())
        async with session.post(url, params=params, data=body) as response:
            assert decrypt_reply(settings, await response.json())["stream"]["finish"] is True
        wecom.clock.advance(timedelta(seconds=5))
        params, body = make_card_event(
            settings,
            now=wecom.clock.now(),
            task_id="vote_42_1",
            event_key="submit_vote_42",
            option_ids=["yes"],
            response_url=wecom.fake.response_url(wecom.base),
        )
        async with session.post(url, params=params, data=body) as response:
            update = decrypt_reply(settings, await response.json())
        assert update["response_type"] == "update_template_card"
        assert update["userids"] == ["lisi"]
        assert update["template_card"]["task_id"] == "vote_42_1"

        # Replayed six minutes later: outside the window, refused before decryption.
        wecom.clock.advance(timedelta(minutes=6))
        async with session.post(url, params=params, data=body) as response:
            assert response.status == 401
        # Tampered, oversized and XML bodies never reach the handler.
        fresh, body = make_text_message(settings, "签到", now=wecom.clock.now())
        async with session.post(url, params=fresh, data=body.replace(b'"}', b'A"}')) as response:
            assert response.status == 401
        async with session.post(url, params=fresh, data=b"{" + b" " * 70_000 + b"}") as response:
            assert response.status == 413
        async with session.post(url, params=fresh, data=b"<!DOCTYPE x><xml/>") as response:
            assert response.status == 400
        assert len(seen) == 4
    finally:
        await bot.close()
