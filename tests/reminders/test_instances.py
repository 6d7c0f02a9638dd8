"""T16 with several instances: the bot is stopped across due times, then three instances (three
OS processes) start on one PostgreSQL: exactly one send per reminder, none silently skipped."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bot import governance as g
from bot.adapters.console import CORP, console_user
from bot.clock import ManualClock
from bot.config import Settings
from bot.events import Platform
from bot.reminders.service import ReminderService
from storage import db, repo
from storage import outbox as outbox_store
from storage import reminders as reminder_store
from tests.kit.clock import TZ

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 12, 10, 15, 0, tzinfo=TZ)
SOCIETIES = 30


async def seed(count: int, now: datetime) -> None:
    for n in range(count):
        async with repo.atomic():
            soc = await repo.create_society(
                f"测试学会{n:03d}", now, term_start=date(2024, 6, 1), term_end=date(2029, 5, 31)
            )
            ids = []
            for name, role in (("组长", "leader"), ("成员甲", "member"), ("成员乙", "member")):
                who = f"{name}{n:03d}"
                person = await repo.ensure_person(console_user(who), name=who)
                await repo.put_member(soc.id, person.id, roster_role=role)
                ids.append(person.id)
            await repo.update_society(soc.id, liaison_id=ids[2])
            await repo.bind_chat(Platform.CONSOLE, CORP, f"grp-{n:03d}", soc.id)
            await repo.create_meeting(
                soc.id,
                starts_at=START,
                place="会议室",
                convened_by=ids[0],
                state=g.MeetingState.CONVENED,
                now=now,
            )


async def test_three_instances_after_downtime(database: str, tmp_path: Path) -> None:
    if db.is_sqlite(database):
        pytest.skip("several instances need PostgreSQL; SQLite refuses a second (test_service)")
    clock = ManualClock(START - timedelta(hours=26))
    await seed(SOCIETIES, clock.now())
    # The bot ran once (materialised the reminders), then stopped until 14:30 on the day.
    await ReminderService(Settings(), clock.now, instance="before").materialize(clock.now())
    instant = (START - timedelta(minutes=30)).isoformat()
    out = tmp_path / "sends.jsonl"
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.kit.instance_worker",
            database,
            instant,
            str(out),
            f"instance-{i}",
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for i in range(3)
    ]
    for p in procs:  # all three connected: let them go at once
        assert p.stdout is not None
        assert (await p.stdout.readline()).strip() == b"ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write(b"go\n")
        await p.stdin.drain()
    codes = await asyncio.gather(*(p.wait() for p in procs))
    assert codes == [0, 0, 0]
    now = START - timedelta(minutes=30)
    rows = await reminder_store.reminders()
    due = [r for r in rows if r.due_at <= now]
    assert {r.state for r in due} <= {"sent", "skipped"}  # nothing due is left undecided
    assert all(r.reason for r in due if r.state == "skipped")  # and no skip is silent
    by_kind = Counter((r.kind, r.ref.split(":")[-1], r.state) for r in due)
    assert by_kind[("meeting_before", "24h", "skipped")] == SOCIETIES  # its moment passed
    assert by_kind[("meeting_before", "1h", "sent")] == SOCIETIES
    sends = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    outbox = await outbox_store.outbox_rows()
    assert {r.state for r in outbox} == {"sent"}
    copies = Counter((s["chat"], s["text"]) for s in sends)
    assert len(sends) == len(outbox)
    assert max(copies.values()) == 1
    # Every member was told once that the meeting starts in an hour.
    one_hour = [s for s in sends if "还有1小时" in s["text"]]
    assert len(one_hour) == 3 * SOCIETIES
    assert len({r.key for r in rows}) == len(rows)
    assert all(r.instance.startswith("instance-") for r in due)  # decided by the instances
