"""The demo society: created once in the configured database for `yishi demo`; societies shaped
like it (the same people under other identities) for the tests and the benchmarks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, tzinfo

from bot import governance as g
from bot.adapters.console import CORP, GROUP, console_user
from bot.events import ChatRef, Platform, UserRef
from storage import repo

SOCIETY = "苏州市示例科技学会"
COMMITTEE_ADMIN = "市党委刘老师"
# name, roster role, council position, party member
PEOPLE: tuple[tuple[str, str, g.CouncilPosition, bool], ...] = (
    ("张伟", "leader", g.CouncilPosition.VICE_PRESIDENT, True),
    ("李娜", "member", g.CouncilPosition.VICE_PRESIDENT, True),
    ("王强", "member", g.CouncilPosition.DIRECTOR, True),
    ("刘洋", "member", g.CouncilPosition.DIRECTOR, True),
    ("陈静", "member", g.CouncilPosition.DIRECTOR, True),
    ("杨帆", "member", g.CouncilPosition.DIRECTOR, True),
    ("赵敏", "member", g.CouncilPosition.DIRECTOR, True),
    ("吴国华", "none", g.CouncilPosition.PRESIDENT, False),  # 非党员理事长，列席
    ("周婷", "none", g.CouncilPosition.NONE, True),  # 学会工作人员，记录人
)
LEADER = "张伟"
RECORDER = "周婷"
LIAISON = "陈静"
PRESIDENT = "吴国华"
TERM = (date(2024, 6, 1), date(2029, 5, 31))


async def ensure_demo(now: datetime) -> bool:
    """Create the demo society if it does not exist; return True when it was created."""
    if await repo.society_by_name(SOCIETY) is not None:
        return False
    people = {name: console_user(name) for name, _, _, _ in PEOPLE}
    await seed_society(SOCIETY, people, now, chat=ChatRef(Platform.CONSOLE, CORP, GROUP))
    return True


async def reset_demo(now: datetime, tz: tzinfo = UTC) -> str:
    """Start the demo afresh: the demo society is set aside under a name dated in `tz` (its
    records stay) and a new one takes its name and its group. Returns the name it was set aside
    under ("" when there was none)."""
    archived = ""
    async with repo.atomic():
        old = await repo.society_by_name(SOCIETY)
        if old is not None:
            archived = f"{SOCIETY}（第{old.id}号，{now.astimezone(tz):%Y-%m-%d %H:%M:%S}重置前）"
            await repo.archive_society(old.id, archived)
    await ensure_demo(now)
    return archived


async def seed_society(
    name: str, people: Mapping[str, UserRef], now: datetime, *, chat: ChatRef | None = None
) -> int:
    """A society shaped like the demo one, named `name`: PEOPLE with their roster roles, council
    positions and party membership, RECORDER and LIAISON, the demo term, and the formation of the
    leading group in the event log. `people` gives each of PEOPLE's names the identity that person
    speaks as (the identity's `name` is the person's name). Bound to `chat` when given. Returns
    the society's id. The demo, the platform tests and the benchmarks seed through here."""
    async with repo.atomic():
        society = await repo.create_society(name, now, term_start=TERM[0], term_end=TERM[1])
        ids: dict[str, int] = {}
        for who, role, position, party in PEOPLE:
            user = people[who]
            person = await repo.ensure_person(user, name=user.name, is_party_member=party)
            ids[who] = person.id
            await repo.put_member(society.id, person.id, roster_role=role, position=position)
        await repo.update_society(society.id, recorder_id=ids[RECORDER], liaison_id=ids[LIAISON])
        if chat is not None:
            await repo.bind_chat(chat.platform, chat.corp_id, chat.chat_id, society.id)
        await repo.append_event(
            society.id,
            "roster_formed",
            {
                "members": [people[n].name for n, r, _, _ in PEOPLE if r != "none"],
                "leader": people[LEADER].name,
                "recorder": people[RECORDER].name,
                "liaison": people[LIAISON].name,
                "approved_by": COMMITTEE_ADMIN,
            },
            now,
        )
    return society.id


def committee_admin_entry() -> str:
    return f"console:{CORP}:{COMMITTEE_ADMIN}:{COMMITTEE_ADMIN}"
