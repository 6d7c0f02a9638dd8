"""What every 工作台 view shares: the context held by the application, the access check, page
rendering (with the navigation the viewer may use), flashes and redirects, template filters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NoReturn

import aiohttp_jinja2
import aiohttp_session
from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy

from bot.clock import Clock
from bot.config import Settings
from bot.web import access
from bot.web.access import Action, Page, Viewer
from bot.web.auth import PREFIX
from storage.repo import MAX_ID


@dataclass(frozen=True, slots=True)
class WebContext:
    settings: Settings
    clock: Clock
    # Delivers the outbox after a decision wrote notices to it (wakes the sender, or drains it).
    after_change: Callable[[], Awaitable[None]]


WEB: web.AppKey[WebContext] = web.AppKey("web", WebContext)
VIEWER = web.RequestKey[Viewer | None]("viewer")
FORM = web.RequestKey[MultiDictProxy[str | bytes | bytearray | FileField]]("form")


class Refused(Exception):
    """Ends a request with a rendered page (403 forbidden, 404 not found, 401 not logged in)."""

    def __init__(self, status: int, title: str, text: str) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.text = text


def forbidden() -> NoReturn:
    raise Refused(403, "无权查看", "您没有查看或操作这一页的权限。")


def not_found() -> NoReturn:
    raise Refused(404, "找不到页面", "没有这一页，或它已不存在。")


def path_id(request: web.Request, name: str) -> int:
    """The record number `name` of the page's address: one beyond the largest id names nothing
    (404), as a number no record has."""
    number = int(request.match_info[name])
    if number > MAX_ID:
        not_found()
    return number


def viewer(request: web.Request) -> Viewer:
    found = request[VIEWER]
    if found is None:
        raise Refused(401, "请先登录", "请重新登录。")
    return found


def require(
    request: web.Request, page: Page, action: Action, society_id: int | None = None
) -> Viewer:
    """The server-side check every view makes before it reads anything."""
    who = viewer(request)
    if not access.allowed(who, page, action, society_id):
        forbidden()
    return who


def context(request: web.Request) -> WebContext:
    return request.app[WEB]


NAV = (
    (Page.OVERVIEW, "/overview", "学会总览"),
    (Page.APPROVALS, "/approvals", "审批与报送"),
    (Page.CHARTS, "/charts", "统计图"),
    (Page.SESSIONS, "/sessions", "登录会话"),
)


def nav(who: Viewer | None, path: str) -> list[tuple[str, str, bool]]:
    """(href, label, current) of the pages this viewer may open."""
    if who is None:
        return []
    out = [(PREFIX + "/", "首页", path == PREFIX + "/")]
    for page, href, label in NAV:
        if access.allowed(who, page, Action.VIEW):
            out.append((PREFIX + href, label, path.startswith(PREFIX + href)))
    return out


async def render(
    request: web.Request, template: str, values: Mapping[str, Any], *, status: int = 200
) -> web.Response:
    session = await aiohttp_session.get_session(request)
    who: Viewer | None = request.get(VIEWER)
    data = {
        "prefix": PREFIX,
        "viewer": who,
        "csrf": session.get("csrf", "") if who else "",
        "flash": session.pop("flash", None),
        "nav": nav(who, request.path),
        **values,
    }
    return aiohttp_jinja2.render_template(template, request, data, status=status)


async def flash(request: web.Request, kind: str, text: str) -> None:
    session = await aiohttp_session.get_session(request)
    session["flash"] = {"kind": kind, "text": text}


def redirect(path: str) -> NoReturn:
    raise web.HTTPSeeOther(PREFIX + path)


def local(value: datetime | None, settings: Settings, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "" if value is None else value.astimezone(settings.tz).strftime(fmt)


def day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def percent(value: float) -> str:
    return f"{value * 100:.0f}%"
