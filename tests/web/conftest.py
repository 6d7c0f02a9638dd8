"""The 工作台 under test: the real pages mounted on an aiohttp server on 127.0.0.1, the chat
harness (console adapter, real router) on the same database and clock, and HTTP clients that
log in the way people do: 「工作台」 in a private chat, then the link."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port

from bot.config import Settings, WebSettings
from bot.web.app import mount_web
from storage.sql import statements
from tests.kit.console import ConsoleRig

LINK = re.compile(r"http://127\.0\.0\.1:\d+/web/login/[A-Za-z0-9_-]+")


@dataclass
class Page:
    status: int
    text: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class Client:
    """One browser's worth of cookies, speaking HTTP to the test server."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def get(self, path: str, **params: str) -> Page:
        return await self._send("GET", path, params=params or None)

    async def post(
        self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True
    ) -> Page:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf", self.csrf)
        return await self._send("POST", path, data=form)

    async def _send(self, method: str, path: str, **kwargs: object) -> Page:
        url = path if path.startswith("http") else self.base + path
        async with self.session.request(method, url, allow_redirects=True, **kwargs) as resp:  # type: ignore[arg-type]
            body = await resp.read()
            page = Page(
                resp.status,
                body.decode("utf-8", "replace"),
                str(resp.url),
                dict(resp.headers),
                body,
            )
        self._remember(page)
        return page

    def _remember(self, page: Page) -> None:
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        if found:
            self.csrf = found.group(1)

    async def close(self) -> None:
        await self.session.close()


@dataclass
class Web:
    harness: ConsoleRig
    base: str
    clients: list[Client] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        return self.harness.settings

    async def link(self, name: str, *, private: bool = True) -> str:
        """What a person gets from 「工作台」: the link in their private chat."""
        before = len(self.harness.adapter.sent)
        await self.harness.send(name, "工作台", private=private)
        for message in self.harness.adapter.sent[before:]:
            if message.private_to is not None and message.private_to.user_id == name:
                found = LINK.search(message.text)
                if found:
                    return found.group(0)
        raise AssertionError(f"no login link for {name}")

    def client(self) -> Client:
        c = Client(self.base)
        self.clients.append(c)
        return c

    async def login(self, name: str) -> Client:
        c = self.client()
        link = await self.link(name)
        page = await c.get(link)
        assert page.status == 200, page.text
        page = await c.post(link, csrf=False)
        assert page.status == 200, page.text
        assert page.url.endswith("/web/"), page.url
        return c


def mount(root: web.Application, harness: ConsoleRig) -> None:
    """The pages on `root`, sharing the harness's settings, clock and outbox delivery."""
    assert harness.delivery is not None
    mount_web(
        root,
        harness.settings,
        harness.clock,
        key=b"k" * 32,
        after_change=harness.delivery.after_dispatch,
        verify_chains=False,
    )


@pytest.fixture
async def webapp(database: str) -> AsyncIterator[Web]:
    port = unused_port()
    base = f"http://127.0.0.1:{port}"
    harness = await ConsoleRig.create(Settings(web=WebSettings(base_url=base)))
    root = web.Application()
    mount(root, harness)
    server = TestServer(root, host="127.0.0.1", port=port)
    await server.start_server()
    w = Web(harness, base)
    try:
        yield w
    finally:
        for c in w.clients:
            await c.close()
        await server.close()


counting_queries = statements


def with_settings(w: Web, **changes: object) -> Settings:
    return replace(w.settings, **changes)  # type: ignore[arg-type]
