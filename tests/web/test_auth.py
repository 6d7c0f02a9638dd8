"""Login without passwords (one-time links from the chat), sessions, CSRF and the cookie key."""

from __future__ import annotations

import base64
import hashlib
import re
import stat
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings, WebSettings
from bot.keys import ENV_VAR, ServerKey, new_key_text
from bot.web.auth import WebKeyError, cookie_key
from handlers.workbench import SENDING_PRIVATELY
from storage import models
from tests.web.conftest import LINK, Web, mount

ROLES = ("市党委刘老师", "张伟", "李娜", "陈静", "周婷", "吴国华")


async def test_every_role_gets_a_link_in_a_private_chat(webapp: Web) -> None:
    h = webapp.harness
    for name in ROLES:
        before = len(h.adapter.sent)
        # In the group: the answer says where the link went; the link itself goes privately.
        replies = await h.send(name, "工作台")
        group = [r for r in replies if r.private_to is None]
        assert [r.text for r in group] == [SENDING_PRIVATELY]
        assert not any(LINK.search(r.text) for r in group)
        private = [m for m in h.adapter.sent[before:] if m.private_to is not None]
        assert len(private) == 1
        assert private[0].private_to is not None
        assert private[0].private_to.user_id == name
        assert "10 分钟内有效，只能使用一次" in private[0].text
        assert LINK.search(private[0].text)
    # Asked in the private chat itself: the link, and no second message.
    before = len(h.adapter.sent)
    await h.send("张伟", "工作台", private=True)
    assert len(h.adapter.sent) == before + 1
    assert await models.WebLoginLink.all().count() == len(ROLES) + 1


async def test_a_stranger_gets_no_link(webapp: Web) -> None:
    reply = await webapp.harness.say("路人甲", "工作台", private=True)
    assert "系统里还没有您的身份信息" in reply
    assert await models.WebLoginLink.all().count() == 0


async def test_only_the_hash_of_the_token_is_stored(webapp: Web) -> None:
    link = await webapp.link("张伟")
    token = link.rsplit("/", 1)[1]
    (row,) = await models.WebLoginLink.all()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.token_hash, str(row.id))
    assert len(base64.urlsafe_b64decode(token + "=")) == 32


async def test_a_link_logs_in_its_person_once(webapp: Web) -> None:
    w = webapp
    link = await w.link("李娜")
    first = w.client()
    page = await first.get(link)
    assert "登录工作台" in page.text
    page = await first.post(link, csrf=False)
    assert page.status == 200
    assert "您好，李娜" in page.text
    # The same link again, in another browser or the same: refused, nothing started.
    for client in (w.client(), first):
        again = await client.get(link)
        assert again.status == 410
        assert "链接已使用过" in again.text
        again = await client.post(link, csrf=False)
        assert again.status == 410
        assert "链接已使用过" in again.text
    assert await models.WebSession.all().count() == 1
    bogus = await w.client().get(link[:-3] + "xyz")
    assert bogus.status == 404
    assert "链接无效" in bogus.text


async def test_a_link_expires_after_ten_minutes(webapp: Web) -> None:
    w = webapp
    h = w.harness
    early = await w.link("张伟")
    late = await w.link("张伟")
    h.clock.advance(timedelta(minutes=9, seconds=59))
    assert (await w.client().post(early, csrf=False)).status == 200
    h.clock.advance(timedelta(seconds=1))
    page = await w.client().get(late)
    assert page.status == 410
    assert "链接已过期" in page.text
    page = await w.client().post(late, csrf=False)
    assert page.status == 410
    assert "链接已过期" in page.text
    assert await models.WebSession.all().count() == 1


async def test_pages_need_a_session(webapp: Web) -> None:
    page = await webapp.client().get("/web/overview")
    assert page.status == 401
    assert "发送「工作台」" in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"
    css = await webapp.client().get("/web/static/style.css")  # the login page needs it
    assert css.status == 200
    assert "text/css" in css.headers["Content-Type"]


async def test_the_session_cookie(webapp: Web) -> None:
    w = webapp
    link = await w.link("张伟")
    async with (
        aiohttp.ClientSession() as raw,
        raw.post(link, allow_redirects=False) as resp,
    ):
        assert resp.status == 303
        cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("yishi_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/web/" in cookie
    assert "Secure" not in cookie  # plain http base URL
    # The cookie is encrypted: neither the session key's hash nor the person is readable.
    (row,) = await models.WebSession.all()
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    assert "张伟" not in value
    assert row.key_hash not in value


async def test_the_cookie_is_secure_behind_https(database: str) -> None:
    from tests.kit.console import ConsoleRig

    h = await ConsoleRig.create(Settings(web=WebSettings(base_url="https://yishi.example.org")))
    root = web.Application()
    mount(root, h)
    before = len(h.adapter.sent)
    await h.send("张伟", "工作台", private=True)
    text = h.adapter.sent[before].text
    assert "https://yishi.example.org/web/login/" in text
    token = text.split("/web/login/", 1)[1].split()[0]
    async with TestClient(TestServer(root)) as client:
        resp = await client.post(f"/web/login/{token}", allow_redirects=False)
        assert resp.status == 303
        assert "Secure" in resp.headers["Set-Cookie"]


async def test_idle_sessions_end(webapp: Web) -> None:
    w = webapp
    h = w.harness
    idle = timedelta(minutes=w.settings.web.session_idle_minutes)
    client = await w.login("市党委刘老师")
    for _ in range(3):  # activity keeps it alive past the idle time
        h.clock.advance(idle - timedelta(minutes=2))
        assert (await client.get("/web/overview")).status == 200
    h.clock.advance(idle + timedelta(seconds=61))
    page = await client.get("/web/overview")
    assert page.status == 401
    assert "登录已过期或已被退出" in page.text


async def test_the_committee_lists_and_revokes_sessions(webapp: Web) -> None:
    w = webapp
    admin = await w.login("市党委刘老师")
    member = await w.login("李娜")
    assert (await member.get("/web/")).status == 200
    page = await admin.get("/web/sessions")
    assert "李娜" in page.text
    assert "市党委刘老师（本机）" in page.text
    (row,) = await models.WebSession.filter(person__name="李娜")
    page = await admin.post(f"/web/sessions/{row.id}/revoke")
    assert f"已注销会话 #{row.id}" in page.text
    assert "李娜" not in page.text.split("<tbody>", 1)[1]
    stopped = await member.get("/web/")
    assert stopped.status == 401
    page = await admin.post(f"/web/sessions/{row.id}/revoke")
    assert "不存在或已结束" in page.text


async def test_logout(webapp: Web) -> None:
    w = webapp
    client = await w.login("张伟")
    page = await client.post("/web/logout")
    assert "您已退出工作台" in page.text
    assert (await client.get("/web/")).status == 401
    (row,) = await models.WebSession.all()
    assert row.revoked_at is not None


async def test_forms_without_the_session_token_are_refused(webapp: Web) -> None:
    w = webapp
    h = w.harness
    await h.say("张伟", "备案 议事规则 全文")
    admin = await w.login("市党委刘老师")
    for data, csrf in (({}, False), ({"csrf": "forged"}, False), ({"csrf": ""}, False)):
        page = await admin.post("/web/approvals/filing/1", data, csrf=csrf)
        assert page.status == 403
        assert "表单已失效" in page.text
    assert (await models.Filing.get(id=1)).acknowledged_at is None
    # Another person's token does not work either.
    other = await w.login("张伟")
    page = await admin.post("/web/approvals/filing/1", {"csrf": other.csrf}, csrf=False)
    assert page.status == 403
    assert (await models.Filing.get(id=1)).acknowledged_at is None
    page = await admin.post("/web/approvals/filing/1")
    assert "已确认收到" in page.text
    assert (await models.Filing.get(id=1)).acknowledged_at is not None


def test_cookie_key_is_made_once_beside_the_sqlite_database(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite://{tmp_path / 'd' / 'yishi.db'}")
    key = cookie_key(settings, env={})
    file = tmp_path / "d" / "secret.key"
    assert len(key) == 32
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert cookie_key(settings, env={}) == key


def test_cookie_key_from_the_server_key() -> None:
    text = new_key_text()
    pg = Settings(database_url="postgres://u@127.0.0.1/x")
    assert cookie_key(pg, env={ENV_VAR: text}) == ServerKey.from_text(text).derive("web-session")
    with pytest.raises(WebKeyError, match=ENV_VAR):
        cookie_key(pg, env={})
    with pytest.raises(WebKeyError, match="至少 32 字节"):
        cookie_key(pg, env={ENV_VAR: "short"})


async def test_a_login_posted_from_another_site_is_refused(database: str) -> None:
    """Another site's page posting a link its owner holds had logged the visitor's browser into
    that account (login CSRF: 303 and a cookie). The form posted from the 工作台 itself (or
    by a client sending neither header) still logs in."""
    from tests.kit.console import ConsoleRig

    h = await ConsoleRig.create(Settings(web=WebSettings(base_url="https://yishi.example.org")))
    root = web.Application()
    mount(root, h)
    tokens = []
    for _ in range(4):
        before = len(h.adapter.sent)
        await h.send("张伟", "工作台", private=True)
        tokens.append(h.adapter.sent[before].text.split("/web/login/", 1)[1].split()[0])
    async with TestClient(TestServer(root)) as client:
        for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            resp = await client.post(
                f"/web/login/{tokens.pop()}", headers=headers, allow_redirects=False
            )
            assert resp.status == 403
            assert "Set-Cookie" not in resp.headers
            refusal = await resp.text()
            assert "不能从其他网站登录" in refusal
            # It names the button the login page shows (it had said 「登录」).
            page = await (await client.get(f"/web/login/{tokens[-1]}")).text()
            button = re.search(r'<button type="submit"[^>]*>([^<]+)</button>', page)
            assert button is not None
            assert f"点「{button.group(1)}」" in refusal
        for headers in (
            {"Origin": "https://yishi.example.org", "Sec-Fetch-Site": "same-origin"},
            {"Origin": "https://yishi.example.org"},
        ):
            resp = await client.post(
                f"/web/login/{tokens.pop()}", headers=headers, allow_redirects=False
            )
            assert resp.status == 303
