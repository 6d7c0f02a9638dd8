"""Seed data: the demo society's people (bot.demo) with the identities they have on each platform,
the committee admin on each platform, and the seeds that put them in the database (through
`bot.demo.seed_society`, the one shape every platform's society takes)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.config import CommitteeAdmin, parse_admin
from bot.demo import COMMITTEE_ADMIN, PEOPLE, SOCIETY, committee_admin_entry, seed_society
from bot.events import ChatRef, Platform, UserRef
from storage import repo

# --- identities ----------------------------------------------------------------------------------

NAMES = tuple(name for name, _, _, _ in PEOPLE)  # the demo people; the console knows them by name

# DingTalk: the corp is the fake's (`FakeDingTalk.corp_id`); staff ids by society number.
DINGTALK_ADMIN = "staff-admin"  # the committee admin's staff id


def dingtalk_staff_id(society_no: int, name: str) -> str:
    return f"staff{society_no:04d}{NAMES.index(name):02d}"


# WeCom: one corp, one society.
WECOM_CORP = "ww1234567890abcdef"
WECOM_ADMIN = "liulaoshi"  # the committee admin's userid
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


def identities(platform: Platform, corp_id: str, user_ids: Mapping[str, str]) -> dict[str, UserRef]:
    """Each demo name -> the identity that person speaks as on `platform`."""
    return {name: UserRef(platform, corp_id, user_ids[name], name) for name in NAMES}


# --- the committee admin -------------------------------------------------------------------------


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


# --- societies -----------------------------------------------------------------------------------


async def seed_dingtalk_society(
    corp_id: str, society_no: int, now: datetime, *, group_id: str | None = None
) -> dict[str, str]:
    """A society shaped like the demo one, 示例科技学会<society_no>, whose people have DingTalk
    identities (staff ids by `dingtalk_staff_id`); bound to `group_id` when given. Returns name
    -> staff id."""
    staff = {name: dingtalk_staff_id(society_no, name) for name in NAMES}
    chat = ChatRef(Platform.DINGTALK, corp_id, group_id) if group_id is not None else None
    people = identities(Platform.DINGTALK, corp_id, staff)
    await seed_society(f"示例科技学会{society_no:04d}", people, now, chat=chat)
    return staff


async def seed_wecom_society(now: datetime) -> None:
    """The demo society with WeCom identities (`WECOM_USERS`), plus the committee admin. The group
    is bound later by chat command."""
    await seed_society(SOCIETY, identities(Platform.WECOM, WECOM_CORP, WECOM_USERS), now)
    await ensure_admin(wecom_admin())
