"""A fake WeCom (企业微信) for tests: `FakeWeCom`, an aiohttp application with the qyapi
endpoints the bot calls: gettoken, message/send, webhook/send (消息推送) and the AI bot's
response_url, plus the AI bot's long-connection WebSocket at `/ws` (subscribe, ping, callbacks
pushed by the test, replies and proactive sends recorded, the older connection of a bot kicked
when a newer one subscribes, a socket dropped on demand). Time comes from an injectable clock, so
tests cross token expiry and rate windows without sleeping. What WeCom sends the bot is built in
`payloads`.

Error codes the real platform does not document are invented here and named as such
(`FAKE_ERR_*`); the adapter must treat any unknown non-zero errcode as final.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import re
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from bot.clock import Clock
from tests.kit.http import read_json

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
    # aibot/response faults, one per call until used up: (HTTP status, errcode); the code is
    # not consumed (a 45009 rate limit, a 500).
    response_faults: list[tuple[int, int]] = field(default_factory=list)
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

    async def _message_send(self, request: web.Request) -> web.Response:
        body = await read_json(request)
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
        body = await read_json(request)
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
        body = await read_json(request)
        if self.response_faults:
            status, errcode = self.response_faults.pop(0)
            if status != 200:
                self.recorded["aibot/response"].append(
                    Call(self.clock.now(), dict(request.query), body, -1)
                )
                return web.Response(status=status, text="fake fault")
            return self._record("aibot/response", request, body, errcode)
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

    async def wait_until(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
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
