"""The demo society: created once in the configured database, for `yishi demo` and the tests."""

from __future__ import annotations

from datetime import date, datetime

from bot import governance as g
from bot.adapters.console import CORP, GROUP, console_user
from bot.events import Platform
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
RECORDER = "周婷"
LIAISON = "陈静"
PRESIDENT = "吴国华"


async def ensure_demo(now: datetime) -> bool:
    """Create the demo society if it does not exist; return True when it was created."""
    if await repo.society_by_name(SOCIETY) is not None:
        return False
    async with repo.atomic():
        society = await repo.create_society(
            SOCIETY, now, term_start=date(2024, 6, 1), term_end=date(2029, 5, 31)
        )
        ids: dict[str, int] = {}
        for name, role, position, party in PEOPLE:
            person = await repo.ensure_person(console_user(name), name=name, is_party_member=party)
            ids[name] = person.id
            await repo.put_member(society.id, person.id, roster_role=role, position=position)
        await repo.update_society(society.id, recorder_id=ids[RECORDER], liaison_id=ids[LIAISON])
        await repo.bind_chat(Platform.CONSOLE, CORP, GROUP, society.id)
        await repo.append_event(
            society.id,
            "roster_formed",
            {
                "members": [n for n, r, _, _ in PEOPLE if r != "none"],
                "leader": "张伟",
                "recorder": RECORDER,
                "liaison": LIAISON,
                "approved_by": COMMITTEE_ADMIN,
            },
            now,
        )
    return True


def committee_admin_entry() -> str:
    return f"console:{CORP}:{COMMITTEE_ADMIN}:{COMMITTEE_ADMIN}"
