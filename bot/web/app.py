"""The 工作台: server-rendered pages (aiohttp-jinja2) mounted under /web/ on the bot's aiohttp app.

request -> session cookie (aiohttp-session) -> guard (who is it, CSRF on POST, security headers)
-> view: access.allowed(...) before anything is read -> storage.workbench / repo -> template.
Decisions made on the pages call the chat commands' domain functions (handlers.roster), in one
transaction with the notices they cause (outbox), exactly as the router runs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import aiohttp_jinja2
import aiohttp_session
import jinja2
from aiohttp import web
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from bot import governance as g
from bot.clock import Clock
from bot.config import Settings
from bot.outbox import to_outbox
from bot.router import UsageError
from bot.web import auth, routes
from bot.web.access import Action, Page
from bot.web.base import (
    FORM,
    VIEWER,
    WEB,
    Refused,
    WebContext,
    context,
    flash,
    not_found,
    path_id,
    redirect,
    render,
    require,
    viewer,
)
from handlers import roster
from handlers.texts import render_refusal
from storage import outbox, repo
from storage import workbench as store

logger = logging.getLogger(__name__)
PREFIX = auth.PREFIX
HERE = Path(__file__).parent
COOKIE = "yishi_session"
PUBLIC = frozenset({"login", "login_post", "static"})
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self';"
    " frame-ancestors 'none'; base-uri 'none'"
)


@web.middleware
async def guard(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        response = await _guarded(request, handler)
    except web.HTTPException as exc:
        if exc.status < 400:  # a redirect
            raise
        response = await _refused(request, _said(request, exc))
        if "Allow" in exc.headers:  # a 405 says what is allowed
            response.headers["Allow"] = exc.headers["Allow"]
    except Refused as exc:
        response = await _refused(request, exc)
    except Exception:
        logger.exception("a workbench page failed")
        response = await _refused(
            request,
            Refused(
                500,
                "出错了",
                "服务器处理这个请求时出错，这次操作没有完成。请稍后重试；一直如此请告知管理员。",
            ),
        )
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if request.match_info.route.name != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


async def _refused(request: web.Request, exc: Refused) -> web.StreamResponse:
    return await render(
        request, "message.html", {"title": exc.title, "text": exc.text}, status=exc.status
    )


def _said(request: web.Request, exc: web.HTTPException) -> Refused:
    """aiohttp's own refusals (no such address, wrong method, a body too large), in words."""
    static = request.match_info.route.name == "static"
    match exc.status:
        case 404:
            return Refused(404, "找不到页面", "没有这一页，或它已不存在。")
        case 403 if static:  # the folder itself: no listing, and no page either
            return Refused(404, "找不到页面", "没有这一页，或它已不存在。")
        case 405:
            return Refused(
                405,
                "不能这样打开",
                "这个地址只接受工作台页面上的按钮提交，不能直接打开。请回到工作台首页操作。",
            )
        case 413:
            return Refused(
                413,
                "提交的内容太长",
                "提交的内容超过了工作台允许的大小，这次提交没有生效。请精简后重新提交。",
            )
        case _:
            return Refused(exc.status, "无法处理这个请求", f"请求没有生效（HTTP {exc.status}）。")


async def _guarded(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.match_info.http_exception is not None:
        raise request.match_info.http_exception
    if request.match_info.route.name in PUBLIC:
        return await handler(request)
    ctx = context(request)
    session = await aiohttp_session.get_session(request)
    key = session.get("key")
    who = await auth.viewer_of(ctx.settings, key, ctx.clock.now()) if key else None
    if who is None:
        if key:
            session.invalidate()
        raise Refused(
            401,
            "请先登录",
            "请在企业微信或钉钉里向机器人发送「工作台」，用私聊收到的一次性链接登录。"
            + ("（登录已过期或已被退出。）" if key else ""),
        )
    request[VIEWER] = who
    if request.method == "POST":
        try:
            form = await request.post()
        except ValueError:  # a body that is no form (a multipart part without a name, …)
            raise Refused(
                400,
                "表单无法读取",
                "提交的内容不是工作台的表单，这次提交没有生效。请刷新页面后重新操作。",
            ) from None
        token = form.get("csrf")
        if not isinstance(token, str) or not auth.same(token, str(session.get("csrf", ""))):
            raise Refused(
                403,
                "表单已失效",
                "表单校验未通过（CSRF），这次提交没有生效。请刷新页面后重新操作。",
            )
        request[FORM] = form
    return await handler(request)


# ---------------------------------------------------------------------------------------------
# Login and logout


async def login_page(request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]
    state = await store.login_link(auth.digest(token))
    _check_link(state, context(request).clock.now())
    return await render(request, "login.html", {"title": "登录工作台", "token": token})


def _check_link(state: store.LinkState | None, now: datetime) -> None:
    again = "请在聊天里向机器人重新发送「工作台」获取新的链接。"
    if state is None:
        raise Refused(404, "链接无效", "这个登录链接不存在。" + again)
    if state.used_at is not None:
        raise Refused(410, "链接已使用过", "每个登录链接只能使用一次。" + again)
    if state.expires_at <= now:
        raise Refused(410, "链接已过期", "登录链接在发出 10 分钟后失效。" + again)


def _same_site(request: web.Request) -> bool:
    """Whether the login form was posted from the 工作台 itself: another site's page posting a
    link it holds would log the visitor's browser into that link's account (login CSRF)."""
    fetch = request.headers.get("Sec-Fetch-Site")
    if fetch is not None:
        return fetch in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # an old browser or a tool: no cross-site form is sent without Origin today
    own = urlsplit(context(request).settings.base_url)
    return origin in (f"{own.scheme}://{own.netloc}", f"{request.scheme}://{request.host}")


async def login(request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]
    if not _same_site(request):
        raise Refused(
            403,
            "不能从其他网站登录",
            "请直接打开机器人发给您的登录链接，在打开的页面上点「登录工作台」。",
        )
    now = context(request).clock.now()
    hashed = auth.digest(token)
    async with repo.atomic():
        person_id = await store.use_login_link(hashed, now)
        if person_id is not None:
            key, csrf = await auth.start_session(
                person_id, now, request.headers.get("User-Agent", "")
            )
    if person_id is None:
        _check_link(await store.login_link(hashed), now)
        not_found()  # pragma: no cover - a link that is neither valid nor refused
    session = await aiohttp_session.new_session(request)
    session["key"] = key
    session["csrf"] = csrf
    redirect("/")


async def logout(request: web.Request) -> web.StreamResponse:
    who = viewer(request)
    await store.revoke_session(who.session_id, context(request).clock.now())
    session = await aiohttp_session.get_session(request)
    session.invalidate()
    request[VIEWER] = None
    return await render(
        request,
        "message.html",
        {"title": "已退出", "text": "您已退出工作台。需要时再向机器人发送「工作台」。"},
    )


# ---------------------------------------------------------------------------------------------
# Committee decisions: the chat commands' domain functions, one transaction with their notices


async def decide(request: web.Request) -> web.StreamResponse:
    who = require(request, Page.APPROVALS, Action.DECIDE)
    ctx = context(request)
    form = request[FORM]
    kind = request.match_info["kind"]
    number = path_id(request, "id")
    now = ctx.clock.now()
    actor = await repo.person(who.person_id)
    note = str(form.get("note", "")).strip()
    verdict = str(form.get("decision", ""))
    exception = verdict == "approve" and form.get("exception") == "on"
    if kind == "change" and verdict == "approve" and form.get("confirm") != "1":
        # A non-party member: the chat's warning (第五条, 第十五条) first, then a second click.
        flag = await routes.change_flag(number)
        if flag:
            return await _confirm_approval(request, number, flag, note=note, exception=exception)
    try:
        async with repo.atomic():
            if kind == "change":
                if verdict not in ("approve", "reject"):
                    raise UsageError("请选择批准或驳回。")
                done = await roster.decide_change(
                    ctx.settings,
                    actor,
                    number,
                    approve=verdict == "approve",
                    note=note,
                    exception=exception,
                    now=now,
                )
            else:
                done = await roster.acknowledge_filing(actor, number, now=now)
            if done.notices:
                await outbox.enqueue(
                    to_outbox(
                        done.notices,
                        key_prefix=f"web:{uuid.uuid4().hex}",
                        society_id=done.society_id,
                    ),
                    now,
                )
    except (UsageError, g.GovernanceError) as exc:
        said = render_refusal(exc) if isinstance(exc, g.GovernanceError) else str(exc)
        if kind == "change":  # the page again, with what was typed: nothing is lost
            typed = routes.Typed(number, verdict, note, exception)
            return await routes.approvals(request, typed=typed, error=said, status=400)
        await flash(request, "error", said)
    else:
        await flash(request, "ok", done.reply)
        try:
            await ctx.after_change()
        except Exception:
            logger.exception("delivering the notices of a decision failed; they stay queued")
    redirect("/approvals")


async def _confirm_approval(
    request: web.Request, number: int, warning: str, *, note: str, exception: bool
) -> web.StreamResponse:
    """The approval of a non-party member's addition, asked once more with the warning the
    chat gives; nothing is decided until it is confirmed."""
    change = await repo.roster_change(number)
    assert change is not None  # it has a warning: it is pending
    return await render(
        request,
        "confirm.html",
        {
            "title": "确认批准",
            "number": number,
            "society": change.society_name,
            "text": roster.change_text(change.kind, change.person.name, change.roster_role),
            "warning": warning,
            "note": note,
            "exception": exception,
        },
    )


async def revoke(request: web.Request) -> web.StreamResponse:
    require(request, Page.SESSIONS, Action.REVOKE)
    session_id = path_id(request, "id")
    if await store.revoke_session(session_id, context(request).clock.now()):
        await flash(request, "ok", f"已注销会话 #{session_id}，该浏览器须重新登录。")
    else:
        await flash(request, "error", f"会话 #{session_id} 不存在或已结束。")
    redirect("/sessions")


# ---------------------------------------------------------------------------------------------
# Assembly


async def _verify_chains(ctx: WebContext) -> None:
    """Re-verify every society's event chain now and then (the overview's 记录链 column)."""
    while True:
        try:
            for society_id in await store.society_ids():
                await store.verify_society_chain(society_id, ctx.clock.now())
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("verifying the event chains failed; trying again later")
        await asyncio.sleep(ctx.settings.web.verify_minutes * 60)


def mount_web(
    app: web.Application,
    settings: Settings,
    clock: Clock,
    *,
    key: bytes,
    after_change: Callable[[], Awaitable[None]],
    verify_chains: bool = True,
) -> web.Application:
    """Add the 工作台 under /web/ to `app`; return the sub-application."""
    # aiohttp-session keeps its storage under a plain string key: aiohttp asks for typed keys.
    warnings.filterwarnings(
        "ignore", "It is recommended to use web.RequestKey", web.NotAppKeyWarning, "aiohttp_session"
    )
    sub = web.Application()
    sub[WEB] = WebContext(settings, clock, after_change)
    aiohttp_session.setup(
        sub,
        EncryptedCookieStorage(
            key,
            cookie_name=COOKIE,
            path=PREFIX + "/",
            httponly=True,
            samesite="Strict",
            secure=settings.base_url.startswith("https://"),
        ),
    )
    sub.middlewares.append(guard)
    env = aiohttp_jinja2.setup(
        sub,
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    env.globals["query"] = urlencode
    sub.add_routes(
        [
            web.get("/", routes.home, name="home"),
            web.get("/login/{token}", login_page, name="login"),
            web.post("/login/{token}", login, name="login_post"),
            web.post("/logout", logout, name="logout"),
            web.get("/overview", routes.overview, name="overview"),
            web.get("/overview.csv", routes.overview_csv, name="overview_csv"),
            web.get("/overview.xlsx", routes.overview_xlsx, name="overview_xlsx"),
            web.get("/charts", routes.charts_view, name="charts"),
            web.get("/approvals", routes.approvals, name="approvals"),
            web.post("/approvals/{kind:change|filing}/{id:\\d{1,18}}", decide, name="decide"),
            web.get("/sessions", routes.sessions, name="sessions"),
            web.post("/sessions/{id:\\d{1,18}}/revoke", revoke, name="revoke"),
            web.get("/society/{sid:\\d{1,18}}", routes.society, name="society"),
            web.get("/society/{sid:\\d{1,18}}/minutes", routes.minutes_list, name="minutes"),
            web.get(
                "/society/{sid:\\d{1,18}}/minutes/{mid:\\d{1,18}}",
                routes.minutes_view,
                name="minute",
            ),
            web.get(
                "/society/{sid:\\d{1,18}}/minutes/{mid:\\d{1,18}}.docx",
                routes.minutes_docx,
                name="docx",
            ),
        ]
    )
    sub.router.add_static("/static", HERE / "static", name="static")

    if verify_chains:

        async def checker(_: web.Application) -> AsyncIterator[None]:
            task = asyncio.create_task(_verify_chains(sub[WEB]), name="chain-verify")
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        sub.cleanup_ctx.append(checker)

    async def to_home(request: web.Request) -> web.StreamResponse:  # 「/web」 typed bare
        raise web.HTTPFound(PREFIX + "/")

    app.router.add_get(PREFIX, to_home)  # before the pages: their prefix would take it (404)
    app.add_subapp(PREFIX, sub)
    return sub
