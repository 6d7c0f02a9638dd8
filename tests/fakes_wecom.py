"""A fake WeCom (企业微信) for tests and demos.

Two halves:

* builders that produce AI bot callbacks exactly as WeCom POSTs them (query parameters plus
  the `{"encrypt": ...}` body), and `decrypt_reply` to read the bot's passive replies. The
  crypto here is written independently of `bot.adapters.wecom.codec` and of wechatpy (AES through
  the `cryptography` package), so the codec tests are not circular;
* `FakeWeCom`, an aiohttp application with the qyapi endpoints the bot calls: gettoken,
  message/send, webhook/send (消息推送) and the AI bot's response_url, plus the AI bot's
  long-connection WebSocket at `/ws` (subscribe, ping, callbacks pushed by the test, replies
  and proactive sends recorded, the older connection of a bot kicked when a newer one
  subscribes, a socket dropped on demand). Time comes from an injectable clock, so tests cross
  token expiry and rate windows without sleeping.

Error codes the real platform does not document are invented here and named as such
(`FAKE_ERR_*`); the adapter must treat any unknown non-zero errcode as final.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import re
import secrets
import struct
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.adapters.wecom.codec import WeComSettings
from bot.clock import Clock

DEFAULT_CHAT_ID = "wrkSFfCgAAEXAMPLEchat"

# --- crypto, independent of the code under test ---------------------------------------------


def _key(settings: WeComSettings) -> bytes:
    key = base64.b64decode(settings.encoding_aes_key + "=")
    assert len(key) == 32
    return key


def sign(token: str, timestamp: str, nonce: str, data: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, data])).encode()).hexdigest()


def frame(message: bytes, *, random16: bytes | None = None, receive_id: bytes = b"") -> bytes:
    """random(16) | uint32_be(len(message)) | message | receive_id (unpadded)."""
    prefix = secrets.token_bytes(16) if random16 is None else random16
    assert len(prefix) == 16
    return prefix + struct.pack(">I", len(message)) + message + receive_id


def encrypt_raw(settings: WeComSettings, framed: bytes, *, pad: bool = True) -> str:
    """AES-256-CBC (IV = key[:16]) over `framed`, PKCS#7-padded to 32 bytes, base64."""
    key = _key(settings)
    if pad:
        n = 32 - len(framed) % 32
        framed += bytes([n]) * n
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(framed) + encryptor.finalize()).decode()


def encrypt_text(
    settings: WeComSettings, text: str, *, random16: bytes | None = None, receive_id: str = ""
) -> str:
    framed = frame(text.encode(), random16=random16, receive_id=receive_id.encode())
    return encrypt_raw(settings, framed)


def decrypt_text(settings: WeComSettings, encrypt: str, *, receive_id: str = "") -> str:
    key = _key(settings)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(encrypt, validate=True)) + decryptor.finalize()
    n = plain[-1]
    assert 1 <= n <= 32, "bad PKCS#7 padding"
    assert plain[-n:] == bytes([n]) * n, "bad PKCS#7 padding"
    content = plain[:-n]
    (length,) = struct.unpack(">I", content[16:20])
    assert content[20 + length :] == receive_id.encode(), "receive id mismatch"
    return content[20 : 20 + length].decode()


# --- inbound builders -------------------------------------------------------------------------


def timestamp_of(now: datetime) -> str:
    return str(int(now.timestamp()))


def sign_request(
    settings: WeComSettings, encrypt: str, *, now: datetime, nonce: str | None = None
) -> dict[str, str]:
    ts = timestamp_of(now)
    nonce = nonce or secrets.token_hex(5)
    return {
        "msg_signature": sign(settings.token, ts, nonce, encrypt),
        "timestamp": ts,
        "nonce": nonce,
    }


def make_callback(
    settings: WeComSettings,
    plaintext: dict[str, Any],
    *,
    now: datetime,
    nonce: str | None = None,
    random16: bytes | None = None,
) -> tuple[dict[str, str], bytes]:
    """(query params, body) of one encrypted AI bot callback."""
    encrypt = encrypt_text(settings, json.dumps(plaintext, ensure_ascii=False), random16=random16)
    params = sign_request(settings, encrypt, now=now, nonce=nonce)
    return params, json.dumps({"encrypt": encrypt}).encode()


def _envelope(
    settings: WeComSettings,
    *,
    userid: str,
    chatid: str | None,
    msgid: str | None,
    response_url: str | None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "msgid": msgid or secrets.token_urlsafe(12),
        "aibotid": settings.bot_id,
    }
    if chatid is None:
        payload["chattype"] = "single"
    else:
        payload["chatid"] = chatid
        payload["chattype"] = "group"
    payload["from"] = {"userid": userid}
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def text_payload(
    settings: WeComSettings,
    text: str,
    *,
    userid: str = "zhangsan",
    chatid: str | None = DEFAULT_CHAT_ID,
    msgid: str | None = None,
    response_url: str | None = None,
) -> dict[str, Any]:
    """A decrypted text message. For a group, WeCom keeps the @mention in `text.content`, so
    pass it in `text` ("@议事助手 签到")."""
    payload = _envelope(
        settings, userid=userid, chatid=chatid, msgid=msgid, response_url=response_url
    )
    payload["msgtype"] = "text"
    payload["text"] = {"content": text}
    return payload


def make_text_message(
    settings: WeComSettings,
    text: str,
    *,
    now: datetime,
    userid: str = "zhangsan",
    chatid: str | None = DEFAULT_CHAT_ID,
    msgid: str | None = None,
    response_url: str | None = None,
    nonce: str | None = None,
) -> tuple[dict[str, str], bytes]:
    payload = text_payload(
        settings, text, userid=userid, chatid=chatid, msgid=msgid, response_url=response_url
    )
    return make_callback(settings, payload, now=now, nonce=nonce)


def card_event_payload(
    settings: WeComSettings,
    *,
    task_id: str,
    event_key: str,
    option_ids: list[str] | None = None,
    question_key: str = "choice",
    card_type: str = "vote_interaction",
    userid: str = "lisi",
    chatid: str | None = DEFAULT_CHAT_ID,
    msgid: str | None = None,
    response_url: str | None = None,
    create_time: int = 1764476400,
) -> dict[str, Any]:
    payload = _envelope(
        settings, userid=userid, chatid=chatid, msgid=msgid, response_url=response_url
    )
    payload["create_time"] = create_time
    event: dict[str, Any] = {"card_type": card_type, "event_key": event_key, "task_id": task_id}
    if option_ids is not None:
        event["selected_items"] = {
            "selected_item": [
                {"question_key": question_key, "option_ids": {"option_id": option_ids}}
            ]
        }
    payload["msgtype"] = "event"
    payload["event"] = {"eventtype": "template_card_event", "template_card_event": event}
    return payload


def make_card_event(
    settings: WeComSettings,
    *,
    now: datetime,
    task_id: str,
    event_key: str,
    option_ids: list[str] | None = None,
    userid: str = "lisi",
    chatid: str | None = DEFAULT_CHAT_ID,
    msgid: str | None = None,
    response_url: str | None = None,
    nonce: str | None = None,
) -> tuple[dict[str, str], bytes]:
    payload = card_event_payload(
        settings,
        task_id=task_id,
        event_key=event_key,
        option_ids=option_ids,
        userid=userid,
        chatid=chatid,
        msgid=msgid,
        response_url=response_url,
        create_time=int(now.timestamp()),
    )
    return make_callback(settings, payload, now=now, nonce=nonce)


def make_stream_refresh(
    settings: WeComSettings,
    stream_id: str,
    *,
    now: datetime,
    userid: str = "zhangsan",
    chatid: str | None = DEFAULT_CHAT_ID,
    msgid: str | None = None,
    nonce: str | None = None,
) -> tuple[dict[str, str], bytes]:
    payload = _envelope(settings, userid=userid, chatid=chatid, msgid=msgid, response_url=None)
    payload["msgtype"] = "stream"
    payload["stream"] = {"id": stream_id}
    return make_callback(settings, payload, now=now, nonce=nonce)


def make_url_verification(
    settings: WeComSettings,
    *,
    now: datetime,
    echo: str | None = None,
    nonce: str | None = None,
    random16: bytes | None = None,
) -> tuple[dict[str, str], str]:
    """(decoded GET params, the plaintext the bot must answer)."""
    echo = echo or str(secrets.randbelow(10**19))
    echostr = encrypt_text(settings, echo, random16=random16)
    params = sign_request(settings, echostr, now=now, nonce=nonce)
    params["echostr"] = echostr
    return params, echo


def decrypt_reply(settings: WeComSettings, reply_json: dict[str, Any]) -> dict[str, Any]:
    """Check a passive reply's shape and signature and return its decrypted JSON."""
    assert set(reply_json) == {"encrypt", "msgsignature", "timestamp", "nonce"}, reply_json
    expected = sign(
        settings.token, reply_json["timestamp"], reply_json["nonce"], reply_json["encrypt"]
    )
    assert hmac.compare_digest(expected, reply_json["msgsignature"]), "bad reply signature"
    value = json.loads(decrypt_text(settings, reply_json["encrypt"]))
    assert isinstance(value, dict)
    return value


# --- the fake qyapi server --------------------------------------------------------------------

# Not documented by WeCom for response_url; invented for the fake.
FAKE_ERR_RESPONSE_CODE_USED = 95001
FAKE_ERR_RESPONSE_CODE_EXPIRED = 95002
FAKE_ERR_RESPONSE_CODE_UNKNOWN = 95003

ERR_INVALID_SECRET = 40001
ERR_INVALID_CORPID = 40013
ERR_INVALID_TOKEN = 40014
ERR_TOKEN_EXPIRED = 42001
ERR_INVALID_MSGTYPE = 40008
ERR_INVALID_PARAM = 40058
ERR_BAD_JSON = 47001
ERR_FREQ_LIMIT = 45009
ERR_INVALID_WEBHOOK = 93000

_MENTION_RE = re.compile(r"<@([^<>\s]+)>")
_WEBHOOK_MSGTYPES = {
    "text",
    "markdown",
    "markdown_v2",
    "image",
    "news",
    "file",
    "voice",
    "template_card",
}


@dataclass
class Call:
    """One request the fake received, whatever its outcome."""

    at: datetime
    query: dict[str, str]
    body: Any
    errcode: int
    mentions: tuple[str, ...] = ()


@dataclass
class FakeWeCom:
    """qyapi on loopback. `recorded[endpoint]` lists every call, accepted or not; endpoints:
    "gettoken", "message/send", "webhook/send", "aibot/response".

    * access tokens live `token_ttl_s` (7200); a repeated gettoken inside that time returns
      the same token with the remaining lifetime; an expired one → 42001, unknown → 40014;
    * webhook/send: unknown key → 93000; more than `webhook_limit` accepted sends for one key
      in any sliding 60 s window → 45009 (refused calls do not count toward the window);
      text ≤ 2048 bytes, markdown ≤ 4096 → else 40058; template_card only text_notice /
      news_notice;
    * aibot/response: one plain-JSON POST per code within `response_code_ttl_s` (1 h): a
      second use → FAKE_ERR_RESPONSE_CODE_USED, later → ..._EXPIRED, never issued →
      ..._UNKNOWN; an encrypted envelope or another msgtype is refused (40058 / 40008) and
      does not consume the code."""

    clock: Clock
    corp_id: str = "ww1234567890abcdef"
    corp_secret: str = "fake-corp-secret"
    webhook_keys: tuple[str, ...] = ("fake-webhook-key",)
    token_ttl_s: int = 7200
    webhook_limit: int = 20
    webhook_window_s: int = 60
    response_code_ttl_s: int = 3600
    recorded: dict[str, list[Call]] = field(
        default_factory=lambda: {
            "gettoken": [],
            "message/send": [],
            "webhook/send": [],
            "aibot/response": [],
        }
    )
    _tokens: dict[str, datetime] = field(default_factory=dict, init=False)
    _current_token: str = field(default="", init=False)
    _webhook_sent: dict[str, deque[datetime]] = field(default_factory=dict, init=False)
    _response_codes: dict[str, datetime] = field(default_factory=dict, init=False)
    _used_codes: set[str] = field(default_factory=set, init=False)
    # long connection: bot_id -> secret; frames received per cmd; connection counts
    bot_secrets: dict[str, str] = field(default_factory=lambda: {"aibEXAMPLE01": "bot-secret"})
    # Faults for send tests: webhook/send (and message/send) answer this HTTP status, or only
    # after this many seconds (a real wait: it exercises the client's timeout).
    http_status: int = 200
    stall_s: float = 0.0
    ws_errcodes: dict[str, int] = field(default_factory=dict)  # cmd -> errcode to answer
    ws_ack: bool = True  # False: pings (and other requests) go unanswered
    ws_frames: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ws_subscribes: int = 0
    ws_refused: int = 0
    ws_kicks: int = 0
    ws_active: int = 0
    ws_max_active: int = 0
    _ws_by_bot: dict[str, web.WebSocketResponse] = field(default_factory=dict, init=False)
    _ws_changed: asyncio.Condition | None = field(default=None, init=False)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._message_send)
        app.router.add_post("/cgi-bin/webhook/send", self._webhook_send)
        app.router.add_post("/cgi-bin/aibot/response", self._aibot_response)
        app.router.add_get("/ws", self._ws)
        app.on_shutdown.append(self._close_sockets)
        return app

    # helpers for tests

    def issue_response_code(self) -> str:
        code = secrets.token_urlsafe(16)
        self._response_codes[code] = self.clock.now()
        return code

    def response_url(self, base: str, code: str | None = None) -> str:
        """A response_url as WeCom would put in a callback, pointing at this fake (`base` is
        the test server's root URL without a trailing slash)."""
        return f"{base}/cgi-bin/aibot/response?response_code={code or self.issue_response_code()}"

    def accepted(self, endpoint: str) -> list[Call]:
        return [call for call in self.recorded[endpoint] if call.errcode == 0]

    # endpoints

    def _record(
        self, endpoint: str, request: web.Request, body: Any, errcode: int, **extra: Any
    ) -> web.Response:
        call = Call(self.clock.now(), dict(request.query), body, errcode, extra.get("mentions", ()))
        self.recorded[endpoint].append(call)
        payload = {"errcode": errcode, "errmsg": "ok" if errcode == 0 else f"fake error {errcode}"}
        payload.update({k: v for k, v in extra.items() if k != "mentions"})
        return web.json_response(payload)

    async def _gettoken(self, request: web.Request) -> web.Response:
        if request.query.get("corpid") != self.corp_id:
            return self._record("gettoken", request, None, ERR_INVALID_CORPID)
        if not hmac.compare_digest(request.query.get("corpsecret", ""), self.corp_secret):
            return self._record("gettoken", request, None, ERR_INVALID_SECRET)
        now = self.clock.now()
        issued = self._tokens.get(self._current_token)
        if issued is None or now - issued >= timedelta(seconds=self.token_ttl_s):
            self._current_token = secrets.token_hex(16)
            self._tokens[self._current_token] = issued = now
        remaining = self.token_ttl_s - int((now - issued).total_seconds())
        return self._record(
            "gettoken", request, None, 0, access_token=self._current_token, expires_in=remaining
        )

    def _token_error(self, request: web.Request) -> int:
        issued = self._tokens.get(request.query.get("access_token", ""))
        if issued is None:
            return ERR_INVALID_TOKEN
        if self.clock.now() - issued >= timedelta(seconds=self.token_ttl_s):
            return ERR_TOKEN_EXPIRED
        return 0

    @staticmethod
    async def _json(request: web.Request) -> Any:
        try:
            return json.loads(await request.read())
        except ValueError:
            return None

    async def _message_send(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if (fault := await self._fault()) is not None:
            return fault
        if errcode := self._token_error(request):
            return self._record("message/send", request, body, errcode)
        if not isinstance(body, dict):
            return self._record("message/send", request, body, ERR_BAD_JSON)
        if not isinstance(body.get("msgtype"), str):
            return self._record("message/send", request, body, ERR_INVALID_MSGTYPE)
        return self._record("message/send", request, body, 0, msgid=secrets.token_hex(8))

    async def _fault(self) -> web.Response | None:
        if self.stall_s:
            await asyncio.sleep(self.stall_s)
        if self.http_status != 200:
            return web.Response(status=self.http_status, text="fake fault")
        return None

    async def _webhook_send(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if (fault := await self._fault()) is not None:
            return fault
        key = request.query.get("key", "")
        if key not in self.webhook_keys:
            return self._record("webhook/send", request, body, ERR_INVALID_WEBHOOK)
        now = self.clock.now()
        window = self._webhook_sent.setdefault(key, deque())
        while window and now - window[0] >= timedelta(seconds=self.webhook_window_s):
            window.popleft()
        if len(window) >= self.webhook_limit:
            return self._record("webhook/send", request, body, ERR_FREQ_LIMIT)
        errcode, mentions = self._check_webhook_body(body)
        if errcode == 0:
            window.append(now)
        return self._record("webhook/send", request, body, errcode, mentions=mentions)

    @staticmethod
    def _check_webhook_body(body: Any) -> tuple[int, tuple[str, ...]]:
        if not isinstance(body, dict):
            return ERR_BAD_JSON, ()
        msgtype = body.get("msgtype")
        if msgtype not in _WEBHOOK_MSGTYPES or not isinstance(body.get(msgtype), dict):
            return ERR_INVALID_MSGTYPE, ()
        inner = body[msgtype]
        if msgtype in ("text", "markdown", "markdown_v2"):
            content = inner.get("content")
            if not isinstance(content, str) or not content:
                return ERR_INVALID_PARAM, ()
            limit = 2048 if msgtype == "text" else 4096
            if len(content.encode()) > limit:
                return ERR_INVALID_PARAM, ()
            if msgtype == "text":
                mentions = inner.get("mentioned_list", [])
                if not isinstance(mentions, list) or not all(isinstance(m, str) for m in mentions):
                    return ERR_INVALID_PARAM, ()
                return 0, tuple(mentions)
            if msgtype == "markdown":
                return 0, tuple(_MENTION_RE.findall(content))
            return 0, ()  # markdown_v2 does not support <@userid>
        if msgtype == "template_card" and inner.get("card_type") not in (
            "text_notice",
            "news_notice",
        ):
            return ERR_INVALID_PARAM, ()
        return 0, ()

    async def _aibot_response(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        code = request.query.get("response_code", "")
        issued = self._response_codes.get(code)
        if issued is None:
            return self._record("aibot/response", request, body, FAKE_ERR_RESPONSE_CODE_UNKNOWN)
        if code in self._used_codes:
            return self._record("aibot/response", request, body, FAKE_ERR_RESPONSE_CODE_USED)
        if self.clock.now() - issued >= timedelta(seconds=self.response_code_ttl_s):
            return self._record("aibot/response", request, body, FAKE_ERR_RESPONSE_CODE_EXPIRED)
        if not isinstance(body, dict) or "encrypt" in body:
            return self._record("aibot/response", request, body, ERR_INVALID_PARAM)
        if body.get("msgtype") not in ("markdown", "template_card") or not isinstance(
            body.get(body["msgtype"]), dict
        ):
            return self._record("aibot/response", request, body, ERR_INVALID_MSGTYPE)
        self._used_codes.add(code)
        return self._record("aibot/response", request, body, 0)

    # --- the AI bot long connection -----------------------------------------------------------

    def _condition(self) -> asyncio.Condition:
        if self._ws_changed is None:
            self._ws_changed = asyncio.Condition()
        return self._ws_changed

    async def _notify(self) -> None:
        async with self._condition():
            self._condition().notify_all()

    async def wait_until(self, predicate: Any, within: float = 5.0) -> None:
        """Wait (bounded) until `predicate()` holds; re-checked after every WebSocket event."""
        async with asyncio.timeout(within), self._condition():
            await self._condition().wait_for(predicate)

    def connected(self, bot_id: str = "aibEXAMPLE01") -> bool:
        ws = self._ws_by_bot.get(bot_id)
        return ws is not None and not ws.closed

    def frames(self, cmd: str) -> list[dict[str, Any]]:
        return self.ws_frames.setdefault(cmd, [])

    async def push(
        self, body: dict[str, Any], *, cmd: str = "aibot_msg_callback", bot_id: str = "aibEXAMPLE01"
    ) -> str:
        """Push a callback to the bot's current connection; returns its req_id."""
        ws = self._ws_by_bot.get(bot_id)
        assert ws is not None, "the bot is not connected"
        assert not ws.closed, "the bot is not connected"
        rid = f"{cmd}_{secrets.token_hex(6)}"
        await ws.send_json({"cmd": cmd, "headers": {"req_id": rid}, "body": body})
        return rid

    async def drop(self, bot_id: str = "aibEXAMPLE01") -> None:
        """Close the bot's socket from the server side (a network drop)."""
        ws = self._ws_by_bot.get(bot_id)
        if ws is not None:
            await ws.close()

    async def _close_sockets(self, app: web.Application) -> None:
        for ws in list(self._ws_by_bot.values()):
            await ws.close()

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None, autoping=True)
        await ws.prepare(request)
        bot_id = ""
        try:
            async with asyncio.timeout(10):
                first = await ws.receive()
            frame = json.loads(first.data) if first.type is aiohttp.WSMsgType.TEXT else {}
            rid = frame.get("headers", {}).get("req_id", "")
            body = frame.get("body") or {}
            self.frames("aibot_subscribe").append(frame)
            wanted = self.bot_secrets.get(body.get("bot_id", ""))
            if (
                frame.get("cmd") != "aibot_subscribe"
                or wanted is None
                or not hmac.compare_digest(str(body.get("secret", "")), wanted)
            ):
                self.ws_refused += 1
                await ws.send_json(
                    {"headers": {"req_id": rid}, "errcode": ERR_INVALID_SECRET, "errmsg": "bad"}
                )
                await ws.close()
                await self._notify()
                return ws
            bot_id = body["bot_id"]
            self.ws_subscribes += 1
            self.ws_active += 1
            self.ws_max_active = max(self.ws_max_active, self.ws_active)
            older = self._ws_by_bot.get(bot_id)
            self._ws_by_bot[bot_id] = ws
            await ws.send_json({"headers": {"req_id": rid}, "errcode": 0, "errmsg": "ok"})
            if older is not None and not older.closed:
                self.ws_kicks += 1
                event = {"eventtype": "disconnected_event", "disconnected_event": {}}
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await older.send_json(
                        {
                            "cmd": "aibot_event_callback",
                            "headers": {"req_id": secrets.token_hex(6)},
                            "body": {"msgtype": "event", "event": event, "aibotid": bot_id},
                        }
                    )
                await older.close()
            await self._notify()
            async for msg in ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                cmd = frame.get("cmd", "")
                self.frames(cmd).append(frame)
                if self.ws_ack:
                    errcode = self.ws_errcodes.get(cmd, 0)
                    rid = frame.get("headers", {}).get("req_id", "")
                    await ws.send_json(
                        {"headers": {"req_id": rid}, "errcode": errcode, "errmsg": "ok"}
                    )
                await self._notify()
        except (TimeoutError, ValueError, ConnectionError):
            pass
        finally:
            if bot_id:
                self.ws_active -= 1
                if self._ws_by_bot.get(bot_id) is ws:
                    del self._ws_by_bot[bot_id]
                await self._notify()
        return ws


# --- a whole bot behind WeCom: the real app, the real adapter, this fake -------------------------

RIG_CORP = "ww1234567890abcdef"
RIG_BOT_ID = "aibEXAMPLE01"
RIG_BOT_NAME = "议事助手"
RIG_TOKEN = "QDG6eK"
RIG_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
RIG_ADMIN = "liulaoshi"
# The demo society's people and their WeCom user ids.
RIG_USERS = {
    "张伟": "zhangwei",
    "李娜": "lina",
    "王强": "wangqiang",
    "刘洋": "liuyang",
    "陈静": "chenjing",
    "杨帆": "yangfan",
    "赵敏": "zhaomin",
    "吴国华": "wuguohua",
    "周婷": "zhouting",
}


def rig_settings(api_base: str, **overrides: Any) -> WeComSettings:
    return WeComSettings(
        token=RIG_TOKEN,
        encoding_aes_key=RIG_AES_KEY,
        corp_id=RIG_CORP,
        bot_id=RIG_BOT_ID,
        bot_name=RIG_BOT_NAME,
        api_base=api_base,
        **overrides,
    )


@dataclass
class Posted:
    """One callback as the bot answered it."""

    status: int
    body: bytes
    reply: dict[str, Any] | None  # the decrypted passive reply, None for an empty answer

    @property
    def text(self) -> str:
        if self.reply is None:
            return ""
        stream = self.reply.get("stream")
        if isinstance(stream, dict):
            return str(stream.get("content", ""))
        card = self.reply.get("template_card", {})
        return str(card.get("sub_title_text", ""))

    @property
    def card(self) -> dict[str, Any] | None:
        if self.reply is None:
            return None
        card = self.reply.get("template_card")
        return card if isinstance(card, dict) else None


@dataclass
class Rig:
    """`await rig.say("lina", "@议事助手 签到")` posts an encrypted callback to the real app and
    returns the decrypted answer. `fake_base` is where the fake WeCom listens."""

    client: Any  # aiohttp.test_utils.TestClient of the bot's app
    fake: FakeWeCom
    fake_base: str
    settings: WeComSettings
    clock: Clock
    callback_path: str = "/wecom/callback"
    counter: int = 0

    def msgid(self) -> str:
        self.counter += 1
        return f"msg{self.counter:06d}{secrets.token_hex(3)}"

    async def post(self, params: dict[str, str], body: bytes) -> Posted:
        async with self.client.post(self.callback_path, params=params, data=body) as resp:
            raw = await resp.read()
            status = resp.status
        reply = decrypt_reply(self.settings, json.loads(raw)) if status == 200 and raw else None
        return Posted(status, raw, reply)

    async def say(
        self,
        userid: str,
        text: str,
        *,
        chatid: str | None = DEFAULT_CHAT_ID,
        msgid: str | None = None,
        mention: bool = True,
    ) -> Posted:
        if chatid is not None and mention:
            text = f"@{RIG_BOT_NAME} {text}"
        params, body = make_text_message(
            self.settings,
            text,
            now=self.clock.now(),
            userid=userid,
            chatid=chatid,
            msgid=msgid or self.msgid(),
            response_url=self.fake.response_url(self.fake_base),
        )
        return await self.post(params, body)

    async def click(
        self,
        userid: str,
        card: dict[str, Any],
        option: str,
        *,
        chatid: str | None = DEFAULT_CHAT_ID,
        msgid: str | None = None,
    ) -> Posted:
        params, body = make_card_event(
            self.settings,
            now=self.clock.now(),
            task_id=card["task_id"],
            event_key=card["submit_button"]["key"],
            option_ids=[option],
            userid=userid,
            chatid=chatid,
            msgid=msgid or self.msgid(),
            response_url=self.fake.response_url(self.fake_base),
        )
        return await self.post(params, body)


async def seed_demo_people(now: datetime) -> None:
    """The demo society's people and roster (bot.demo), with WeCom identities only, plus the
    committee admin. Storage set-up for tests; the group is bound later by chat command."""
    from bot.demo import LIAISON, PEOPLE, RECORDER, SOCIETY
    from bot.events import Platform, UserRef
    from storage import repo

    async with repo.atomic():
        society = await repo.create_society(SOCIETY, now)
        ids: dict[str, int] = {}
        for name, role, position, party in PEOPLE:
            user = UserRef(Platform.WECOM, RIG_CORP, RIG_USERS[name], name)
            person = await repo.ensure_person(user, name=name, is_party_member=party)
            ids[name] = person.id
            await repo.put_member(society.id, person.id, roster_role=role, position=position)
        await repo.update_society(society.id, recorder_id=ids[RECORDER], liaison_id=ids[LIAISON])
        await repo.append_event(
            society.id,
            "roster_formed",
            {"members": [n for n, r, _, _ in PEOPLE if r != "none"], "leader": "张伟"},
            now,
        )
        await repo.ensure_person(
            UserRef(Platform.WECOM, RIG_CORP, RIG_ADMIN, "市党委刘老师"), name="市党委刘老师"
        )


def rig_committee_admin() -> Any:
    from bot.config import CommitteeAdmin

    return CommitteeAdmin("wecom", RIG_CORP, RIG_ADMIN, "市党委刘老师")


@contextlib.asynccontextmanager
async def open_fake(clock: Any) -> AsyncIterator[tuple[FakeWeCom, str]]:
    """The fake WeCom on loopback: (fake, base URL without a trailing slash)."""
    from aiohttp.test_utils import TestServer

    fake = FakeWeCom(clock, corp_id=RIG_CORP, corp_secret="app-secret")
    server = TestServer(fake.app())
    await server.start_server()
    try:
        yield fake, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


def stored_ports() -> dict[str, Any]:
    """The adapter's ports over the test database, as `build_wecom_adapter` takes them."""
    from bot.storage_ports import StoredLease, StoredWebhooks

    return {"webhooks": StoredWebhooks(), "lease": StoredLease()}


def rig_config(base: str, **overrides: Any) -> Any:
    from bot.adapters.wecom.config import WeComConfig

    options: dict[str, Any] = {
        "enabled": True,
        "corp_id": RIG_CORP,
        "bot_id": RIG_BOT_ID,
        "bot_name": RIG_BOT_NAME,
        "token": RIG_TOKEN,
        "encoding_aes_key": RIG_AES_KEY,
        "api_base": base,
        "app_agent_id": "1000002",
        "app_secret": "app-secret",
        "ws_url": base.replace("http://", "ws://") + "/ws",
    }
    options.update(overrides)
    return WeComConfig(**options)


@contextlib.asynccontextmanager
async def open_bot(
    clock: Any, base: str, *, wecom: dict[str, Any] | None = None, inbound: str = "direct"
) -> AsyncIterator[tuple[Any, Any]]:
    """The bot's real app (build_app with the WeCom adapter, FakeScheduler) under an aiohttp
    TestClient, on the database the caller opened: (client, adapter)."""
    from aiohttp.test_utils import TestClient, TestServer

    from bot.adapters.wecom.adapter import build_wecom_adapter
    from bot.app import build_app
    from bot.config import ReminderSettings, Settings
    from tests.fakes import FakeScheduler

    adapter = build_wecom_adapter(rig_config(base, **(wecom or {})), clock, **stored_ports())
    # inbound "direct": applied before the answer (replies in the passive reply); "queue" (the
    # production default): answered once queued, applied right after.
    settings = Settings(
        committee_admins=(rig_committee_admin(),),
        reminders=ReminderSettings(private=False),  # reminders @-mention in the group
        inbound=inbound,
    )
    app = build_app(settings, clock=clock, adapters=[adapter], scheduler=FakeScheduler())
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client, adapter
    finally:
        await client.close()


@contextlib.asynccontextmanager
async def open_rig(
    clock: Any, *, wecom: dict[str, Any] | None = None, seed: bool = True, inbound: str = "direct"
) -> AsyncIterator[tuple[Rig, Any]]:
    """(rig, adapter): the fake WeCom and the bot's real app on loopback; with `seed`, the demo
    society's people with WeCom identities."""
    async with open_fake(clock) as (fake, base):
        if seed:
            await seed_demo_people(clock.now())
        async with open_bot(clock, base, wecom=wecom, inbound=inbound) as (client, adapter):
            yield Rig(client, fake, base, rig_settings(base), clock), adapter
