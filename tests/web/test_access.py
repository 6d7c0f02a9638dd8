"""Who may see what: every cell of the access table, as data and through HTTP."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from bot.events import Platform, UserRef
from bot.web.access import RULES, Action, Page, Scope, Viewer, WebRole, allowed, scope
from storage import repo
from tests.web.conftest import Client, Web
from tests.web.conftest import Page as Fetched

C, L, LI, R, M, G = (
    WebRole.COMMITTEE,
    WebRole.LEADER,
    WebRole.LIAISON,
    WebRole.RECORDER,
    WebRole.MEMBER,
    WebRole.GUEST,
)
A, OWN = Scope.ALL, Scope.OWN
# Written out by hand, independently of bot/web/access.py: page, action -> scope per role
# in the order committee, leader, liaison, recorder, member, guest (None: denied).
EXPECTED: dict[tuple[Page, Action], tuple[Scope | None, ...]] = {
    (Page.HOME, Action.VIEW): (A, OWN, OWN, OWN, OWN, OWN),
    (Page.OVERVIEW, Action.VIEW): (A, None, None, None, None, None),
    (Page.OVERVIEW, Action.EXPORT): (A, None, None, None, None, None),
    (Page.CHARTS, Action.VIEW): (A, None, None, None, None, None),
    (Page.APPROVALS, Action.VIEW): (A, None, None, None, None, None),
    (Page.APPROVALS, Action.DECIDE): (A, None, None, None, None, None),
    (Page.SESSIONS, Action.VIEW): (A, None, None, None, None, None),
    (Page.SESSIONS, Action.REVOKE): (A, None, None, None, None, None),
    (Page.SOCIETY, Action.VIEW): (A, OWN, OWN, OWN, None, None),
    (Page.MINUTES, Action.VIEW): (A, OWN, OWN, OWN, OWN, None),
    (Page.MINUTES, Action.EXPORT): (A, OWN, OWN, OWN, OWN, None),
}
ROLES = (C, L, LI, R, M, G)
CELLS = list(itertools.product(ROLES, Page, Action))


@pytest.mark.parametrize(("role", "page", "action"), CELLS)
def test_every_cell_of_the_table(role: WebRole, page: Page, action: Action) -> None:
    want = EXPECTED.get((page, action), (None,) * len(ROLES))[ROLES.index(role)]
    assert scope(role, page, action) == want


def test_the_table_has_no_cell_the_expectation_lacks() -> None:
    assert set(RULES) == set(EXPECTED)


def _viewer(role: WebRole, society: int) -> Viewer:
    if role is WebRole.COMMITTEE:
        return Viewer(1, "x", 1, committee=True)
    if role is WebRole.GUEST:
        return Viewer(1, "x", 1)
    return Viewer(1, "x", 1, societies={society: frozenset({role})})


@pytest.mark.parametrize(("role", "page", "action"), CELLS)
def test_own_scope_means_own_society_only(role: WebRole, page: Page, action: Action) -> None:
    cell = EXPECTED.get((page, action), (None,) * len(ROLES))[ROLES.index(role)]
    mine, other = 1, 2
    who = _viewer(role, mine)
    if page is Page.HOME:  # not a page of a society
        assert allowed(who, page, action) is (cell is not None)
        return
    assert allowed(who, page, action, mine) is (cell is not None)
    assert allowed(who, page, action, other) is (cell is Scope.ALL)


# ---------------------------------------------------------------------------------------------
# Through HTTP: every page and action that has an address, for a person of each role.

PEOPLE = {C: "市党委刘老师", L: "张伟", LI: "陈静", R: "周婷", M: "李娜", G: "吴国华"}


def _requests(society: int, meeting: int) -> dict[tuple[Page, Action], tuple[str, str]]:
    s = f"/web/society/{society}"
    return {
        (Page.HOME, Action.VIEW): ("GET", "/web/"),
        (Page.OVERVIEW, Action.VIEW): ("GET", "/web/overview"),
        (Page.OVERVIEW, Action.EXPORT): ("GET", "/web/overview.csv"),
        (Page.CHARTS, Action.VIEW): ("GET", "/web/charts"),
        (Page.APPROVALS, Action.VIEW): ("GET", "/web/approvals"),
        (Page.APPROVALS, Action.DECIDE): ("POST", "/web/approvals/filing/999"),
        (Page.SESSIONS, Action.VIEW): ("GET", "/web/sessions"),
        (Page.SESSIONS, Action.REVOKE): ("POST", "/web/sessions/999/revoke"),
        (Page.SOCIETY, Action.VIEW): ("GET", s),
        (Page.MINUTES, Action.VIEW): ("GET", f"{s}/minutes/{meeting}"),
        (Page.MINUTES, Action.EXPORT): ("GET", f"{s}/minutes/{meeting}.docx"),
    }


async def _signed_meeting(w: Web) -> int:
    h = w.harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    h.at("2026-12-05 14:50")
    for name in ("张伟", "李娜", "王强", "刘洋", "陈静"):
        await h.say(name, "签到")
    h.at("2026-12-05 15:00")  # not before the announced time
    await h.say("张伟", "开会")
    await h.say("张伟", "发起表决 1")
    for name in ("张伟", "李娜", "王强", "刘洋", "陈静"):
        await h.say(name, "赞成")
    await h.say("张伟", "结束表决")
    await h.say("张伟", "散会 现在")
    assert "已签发" in await h.say("张伟", "签发")
    meeting = await repo.latest_meeting((await repo.society_by_name("苏州市示例科技学会")).id)  # type: ignore[union-attr]
    assert meeting is not None
    return meeting.id


async def test_every_cell_is_enforced_by_the_server(webapp: Web) -> None:
    w = webapp
    mid = await _signed_meeting(w)
    own = (await repo.society_by_name("苏州市示例科技学会")).id  # type: ignore[union-attr]
    other = await _other_society(w)
    other_mid = await _other_meeting(other.id)
    for role, name in PEOPLE.items():
        client = await w.login(name)
        for (page, action), (method, path) in _requests(own, mid).items():
            cell = EXPECTED[(page, action)][ROLES.index(role)]
            got = (await client.get(path)) if method == "GET" else (await client.post(path))
            if cell is None:
                assert got.status == 403, (role, page, action, got.status)
                assert "无权查看" in got.text
            else:
                assert got.status == 200, (role, page, action, got.status, got.text[:300])
        # Another society's pages: only the committee.
        for (page, action), (_, path) in _requests(other.id, other_mid).items():
            if page not in (Page.SOCIETY, Page.MINUTES):
                continue
            got = await client.get(path)
            # The committee sees the society (no such meeting there: not found).
            want = (200 if page is Page.SOCIETY else 404) if role is C else 403
            assert got.status == want, (role, page, action, got.status)


async def _other_society(w: Web) -> repo.Society:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    other = await repo.create_society("苏州市另一学会", now)
    boss = await repo.ensure_person(
        UserRef(Platform.CONSOLE, "console", "孙磊", "孙磊"), name="孙磊"
    )
    await repo.put_member(other.id, boss.id, roster_role="leader")
    return other


async def _other_meeting(society_id: int) -> int:
    # No meeting there: the committee gets "not found", everyone else "forbidden" before
    # anything is read.
    return 424242


async def test_a_guest_sees_only_the_start_page(webapp: Web) -> None:
    client = await webapp.login("吴国华")
    page = await client.get("/web/")
    assert "您目前没有可查看的学会内容" in page.text
    assert "学会总览" not in page.text


async def test_a_number_no_record_can_have_is_not_found(webapp: Web) -> None:
    """Ids are 32-bit: a larger number in an address had reached PostgreSQL, which refused it
    (HTTP 500, an English traceback page). It is not found, as any number without a record."""
    w = webapp
    mid = await _signed_meeting(w)
    own = (await repo.society_by_name("苏州市示例科技学会")).id  # type: ignore[union-attr]
    beyond = repo.MAX_ID + 1
    committee = await w.login(PEOPLE[C])
    member = await w.login(PEOPLE[M])
    for client, method, path in (
        (committee, "GET", f"/web/society/{beyond}"),
        (committee, "GET", f"/web/society/{beyond}/minutes"),
        (committee, "GET", f"/web/society/{own}/minutes/{beyond}.docx"),
        (committee, "POST", f"/web/approvals/change/{beyond}"),
        (committee, "POST", f"/web/approvals/filing/{beyond}"),
        (committee, "POST", f"/web/sessions/{beyond}/revoke"),
        (member, "GET", f"/web/society/{own}/minutes/{beyond}"),
        (member, "GET", f"/web/society/{own}/minutes/{repo.MAX_ID}"),
    ):
        got = (await client.get(path)) if method == "GET" else (await client.post(path))
        assert got.status == 404, (path, got.status, got.text[:300])
        assert "找不到页面" in got.text, path
        assert got.headers.get("X-Frame-Options") == "DENY"
    assert (await member.get(f"/web/society/{own}/minutes/{mid}")).status == 200


async def test_what_the_server_refuses_is_a_page_of_the_workbench(webapp: Web) -> None:
    """A POST-only address opened, a form too large, a body that is no form and the static
    folder had answered with aiohttp's bare English pages (405, 413, a 500 from the form
    reader, 403) without the security headers. Each is a page in the layout, in Chinese, with
    its status, and nothing is done."""
    w = webapp
    h = w.harness
    h.at("2026-12-06 09:00")
    await h.say("张伟", "提议增补 @孙磊 党员 理事 工作需要")
    change = (await repo.roster_changes(status="pending"))[0]
    committee = await w.login(PEOPLE[C])
    pages = {}
    pages["logout"] = await committee.get("/web/logout")
    assert pages["logout"].status == 405
    assert "不能这样打开" in pages["logout"].text
    assert pages["logout"].headers.get("Allow") == "POST"
    assert (await committee.get("/web/overview")).status == 200  # still logged in
    path = f"/web/approvals/change/{change.id}"
    csrf = urlencode({"csrf": committee.csrf, "decision": "reject"}).encode()
    large = csrf + b"&note=" + b"x" * (1024 * 1024 + 1)  # over the server's limit
    pages["large"] = await _raw_post(committee, w.base + path, large, FORM)
    assert pages["large"].status == 413
    assert "提交的内容太长" in pages["large"].text
    nameless = b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n"
    pages["multipart"] = await _raw_post(
        committee, w.base + path, nameless, "multipart/form-data; boundary=b"
    )
    assert pages["multipart"].status == 400
    assert "表单无法读取" in pages["multipart"].text
    pages["static"] = await committee.get("/web/static/")
    assert pages["static"].status == 404
    assert "找不到页面" in pages["static"].text
    for name, page in pages.items():
        assert "议事工作台</title>" in page.text, name
        assert page.headers.get("X-Frame-Options") == "DENY", name
        assert "Content-Security-Policy" in page.headers, name
    assert [c.id for c in await repo.roster_changes(status="pending")] == [change.id]


FORM = "application/x-www-form-urlencoded"


async def _raw_post(client: Client, url: str, body: bytes, content_type: str) -> Fetched:
    async with client.session.post(
        url, data=io.BytesIO(body), headers={"Content-Type": content_type}
    ) as resp:
        return Fetched(resp.status, await resp.text(), str(resp.url), dict(resp.headers))
