"""Login without passwords, sessions and CSRF for the 工作台.

Rule 1. A person sends 「工作台」 to the bot and gets, in a private chat, a one-time link: a
        random token (32 bytes) of which only the SHA-256 is stored, bound to that person,
        valid for 10 minutes, used at most once (one conditional UPDATE decides).
Rule 2. Opening the link shows a button; pressing it (a POST, so link previews in chat apps
        cannot use the link up) starts a session: a new random session key in an encrypted
        cookie (aiohttp-session EncryptedCookieStorage: HttpOnly, SameSite=Strict, Secure when
        the base URL is https) and a server-side row holding the key's hash.
Rule 3. Every request looks the row up: a revoked session or one idle for longer than
        `session_idle_minutes` (read from the injected clock) stops working at once.
Rule 4. Every state-changing form carries the session's CSRF token, compared on the server in
        constant time before the handler runs.
Rule 5. The cookie key is the server key's sub-key "web-session" (bot/keys.py: YISHI_SECRET_KEY,
        or, with SQLite, a key file created once beside the database); PostgreSQL without the
        variable is refused (WebKeyError).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta

from bot.config import Settings
from bot.keys import KeyProblem, load_key
from bot.web.access import Viewer, WebRole, society_roles
from storage import workbench as store

LINK_TTL = timedelta(minutes=10)
PREFIX = "/web"


class WebKeyError(Exception):
    """The server key is missing or malformed: the message (Chinese) says what to do."""


def cookie_key(settings: Settings, env: Mapping[str, str] | None = None) -> bytes:
    """The 32-byte key of the session cookies (Rule 5)."""
    try:
        return load_key(settings.database_url, env).derive("web-session")
    except KeyProblem as exc:
        raise WebKeyError(str(exc)) from exc


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


async def issue_link(settings: Settings, person_id: int, now: datetime) -> str:
    """A one-time login link for this person (Rule 1); the caller's transaction stores it."""
    token = secrets.token_urlsafe(32)
    await store.add_login_link(digest(token), person_id, now, now + LINK_TTL)
    return f"{settings.base_url}{PREFIX}/login/{token}"


async def start_session(person_id: int, now: datetime, user_agent: str) -> tuple[str, str]:
    """A new session for the person: (session key for the cookie, CSRF token)."""
    key = secrets.token_urlsafe(32)
    await store.add_session(digest(key), person_id, now, user_agent)
    return key, secrets.token_urlsafe(24)


# Writing last_seen_at on every request would turn every page view into a write; a minute of
# slack keeps the idle timeout exact to within a minute.
TOUCH_EVERY = timedelta(minutes=1)


async def viewer_of(settings: Settings, key: str, now: datetime) -> Viewer | None:
    """The person behind a session key, with their roles, or None (unknown, revoked, idle)."""
    row = await store.session_by_key(digest(key))
    if row is None or row.revoked_at is not None:
        return None
    if now - row.last_seen_at > timedelta(minutes=settings.web.session_idle_minutes):
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        await store.touch_session(row.id, now)
    admins = {(a.platform, a.corp_id, a.user_id) for a in settings.committee_admins}
    committee = any(k in admins for k in await store.identity_keys(row.person_id))
    societies: dict[int, frozenset[WebRole]] = {}
    names: dict[int, str] = {}
    for mship in await store.memberships(row.person_id):
        roles = society_roles(mship.roster_role, mship.recorder, mship.liaison)
        if roles:
            societies[mship.society_id] = roles
            names[mship.society_id] = mship.society_name
    return Viewer(row.person_id, row.person_name, row.id, committee, societies, names)
