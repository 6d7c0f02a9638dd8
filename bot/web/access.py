"""Who may see and do what on the 工作台: a table (role x page x action -> scope), default deny.

Rule 1. Committee admins (configured `committee_admins`) see every society and act on
        approvals, filings and sessions.
Rule 2. A society's leader, liaison and recorder see that society's page; nothing of others.
Rule 3. Members of the leading group see their society's signed minutes and decisions only.
Rule 4. A person known to the bot without any of these roles sees only the start page.
Rule 5. No page shows secret-ballot data beyond the announced totals and receipts (the pages
        read the announced result of a vote, never the voter list or the ballot box).
Every request is checked on the server with `allowed()` before anything is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class WebRole(StrEnum):
    COMMITTEE = "committee"
    LEADER = "leader"
    LIAISON = "liaison"
    RECORDER = "recorder"
    MEMBER = "member"
    GUEST = "guest"  # logged in, no role in any society


class Page(StrEnum):
    HOME = "home"  # the start page: what this person may open
    OVERVIEW = "overview"  # every society on one table (+ CSV/XLSX)
    CHARTS = "charts"
    APPROVALS = "approvals"  # roster changes to approve, filings to acknowledge
    SESSIONS = "sessions"  # everyone's web sessions
    SOCIETY = "society"  # one society: roster and history, meetings, filings, reminders, chain
    MINUTES = "minutes"  # one society's signed minutes and decisions


class Action(StrEnum):
    VIEW = "view"
    EXPORT = "export"  # the overview as CSV/XLSX, minutes as .docx
    DECIDE = "decide"  # approve or reject a roster change, acknowledge a filing
    REVOKE = "revoke"  # end somebody's session


class Scope(StrEnum):
    ALL = "all"  # every society
    OWN = "own"  # the societies the role is held in


_SOCIETY_STAFF = {
    WebRole.LEADER: Scope.OWN,
    WebRole.LIAISON: Scope.OWN,
    WebRole.RECORDER: Scope.OWN,
}
_COMMITTEE = {WebRole.COMMITTEE: Scope.ALL}

RULES: Mapping[tuple[Page, Action], Mapping[WebRole, Scope]] = {
    (Page.HOME, Action.VIEW): dict.fromkeys(WebRole, Scope.OWN) | _COMMITTEE,
    (Page.OVERVIEW, Action.VIEW): _COMMITTEE,
    (Page.OVERVIEW, Action.EXPORT): _COMMITTEE,
    (Page.CHARTS, Action.VIEW): _COMMITTEE,
    (Page.APPROVALS, Action.VIEW): _COMMITTEE,
    (Page.APPROVALS, Action.DECIDE): _COMMITTEE,
    (Page.SESSIONS, Action.VIEW): _COMMITTEE,
    (Page.SESSIONS, Action.REVOKE): _COMMITTEE,
    (Page.SOCIETY, Action.VIEW): _COMMITTEE | _SOCIETY_STAFF,
    (Page.MINUTES, Action.VIEW): _COMMITTEE | _SOCIETY_STAFF | {WebRole.MEMBER: Scope.OWN},
    (Page.MINUTES, Action.EXPORT): _COMMITTEE | _SOCIETY_STAFF | {WebRole.MEMBER: Scope.OWN},
}


def scope(role: WebRole, page: Page, action: Action) -> Scope | None:
    """The table's cell: None is deny."""
    return RULES.get((page, action), {}).get(role)


@dataclass(frozen=True, slots=True)
class Viewer:
    """The logged-in person and their roles: committee-wide, and per society."""

    person_id: int
    name: str
    session_id: int
    committee: bool = False
    societies: Mapping[int, frozenset[WebRole]] = field(default_factory=dict)
    society_names: Mapping[int, str] = field(default_factory=dict)

    @property
    def roles(self) -> frozenset[WebRole]:
        found = {r for roles in self.societies.values() for r in roles}
        if self.committee:
            found.add(WebRole.COMMITTEE)
        return frozenset(found or {WebRole.GUEST})


def allowed(viewer: Viewer, page: Page, action: Action, society_id: int | None = None) -> bool:
    """May this viewer do `action` on `page` (of `society_id`, for a society's pages)?"""
    for role in viewer.roles:
        match scope(role, page, action):
            case Scope.ALL:
                return True
            case Scope.OWN:
                if society_id is None or role in viewer.societies.get(society_id, frozenset()):
                    return True
            case None:
                pass
    return False


def society_roles(roster_role: str, recorder: bool, liaison: bool) -> frozenset[WebRole]:
    roles = set()
    if roster_role in ("leader", "member"):
        roles.add(WebRole.MEMBER)
    if roster_role == "leader":
        roles.add(WebRole.LEADER)
    if recorder:
        roles.add(WebRole.RECORDER)
    if liaison:
        roles.add(WebRole.LIAISON)
    return frozenset(roles)
