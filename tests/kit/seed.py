"""Seed data: the demo society's people (bot.demo) with the identities they have on each platform,
the committee admin on each platform, and the storage set-up that puts them in the database."""

from __future__ import annotations

from datetime import datetime

from bot import governance as g
from bot.config import CommitteeAdmin, parse_admin
from bot.demo import COMMITTEE_ADMIN, LIAISON, PEOPLE, RECORDER, SOCIETY, committee_admin_entry
from bot.events import Platform, UserRef
from storage import repo

# --- the committee admin -----------------------------------------------------------------------

WECOM_CORP = "ww1234567890abcdef"  # the corp of the WeCom rig
DINGTALK_ADMIN = "staff-admin"  # the admin's DingTalk staff id
WECOM_ADMIN = "liulaoshi"  # the admin's WeCom userid


def console_admin() -> CommitteeAdmin:
    return parse_admin("test", committee_admin_entry())


def dingtalk_admin(corp_id: str) -> CommitteeAdmin:
    return CommitteeAdmin("dingtalk", corp_id, DINGTALK_ADMIN, COMMITTEE_ADMIN)


def wecom_admin() -> CommitteeAdmin:
    return CommitteeAdmin("wecom", WECOM_CORP, WECOM_ADMIN, COMMITTEE_ADMIN)


async def ensure_admin(admin: CommitteeAdmin) -> None:
    """The committee admin as a person the bot knows (config names the admin; storage must too)."""
    user = UserRef(Platform(admin.platform), admin.corp_id, admin.user_id, admin.name)
    await repo.ensure_person(user, name=admin.name)


# --- DingTalk ------------------------------------------------------------------------------------

DEMO_TEAM: tuple[tuple[str, str], ...] = (
    # name, roster role; staff ids are derived by `dingtalk_staff_id`
    ("张伟", "leader"),
    ("李娜", "member"),
    ("王强", "member"),
    ("刘洋", "member"),
    ("陈静", "member"),
    ("杨帆", "member"),
    ("赵敏", "member"),
    ("吴国华", "none"),
    ("周婷", "none"),
)


def dingtalk_staff_id(society_no: int, name: str) -> str:
    index = [n for n, _ in DEMO_TEAM].index(name)
    return f"staff{society_no:04d}{index:02d}"


async def seed_dingtalk_society(
    corp_id: str, society_no: int, now: datetime, *, group_id: str | None = None
) -> dict[str, str]:
    """A society like the demo one (7 on the roster, recorder 周婷, liaison 陈静, president
    吴国华 not a party member) whose people have DingTalk identities; bound to `group_id` when
    given. Returns name -> staff id."""
    staff: dict[str, str] = {}
    async with repo.atomic():
        society = await repo.create_society(f"示例科技学会{society_no:04d}", now)
        ids: dict[str, int] = {}
        for name, role in DEMO_TEAM:
            sid = dingtalk_staff_id(society_no, name)
            staff[name] = sid
            person = await repo.ensure_person(
                UserRef(Platform.DINGTALK, corp_id, sid, name),
                name=name,
                is_party_member=name != "吴国华",
            )
            ids[name] = person.id
            position = g.CouncilPosition.PRESIDENT if name == "吴国华" else None
            await repo.put_member(society.id, person.id, roster_role=role, position=position)
        await repo.update_society(society.id, recorder_id=ids["周婷"], liaison_id=ids["陈静"])
        if group_id is not None:
            await repo.bind_chat(Platform.DINGTALK, corp_id, group_id, society.id)
    return staff


# --- WeCom ---------------------------------------------------------------------------------------

# The demo society's people and their WeCom user ids.
WECOM_USERS = {
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


async def seed_wecom_society(now: datetime) -> None:
    """The demo society's people and roster (bot.demo), with WeCom identities only, plus the
    committee admin. Storage set-up for tests; the group is bound later by chat command."""
    async with repo.atomic():
        society = await repo.create_society(SOCIETY, now)
        ids: dict[str, int] = {}
        for name, role, position, party in PEOPLE:
            user = UserRef(Platform.WECOM, WECOM_CORP, WECOM_USERS[name], name)
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
        await ensure_admin(wecom_admin())
