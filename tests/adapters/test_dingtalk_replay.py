"""T6 across processes: a DingTalk (timestamp, sign) pair is bound in the database to the messages
it carried (storage/header_bindings.py), so a captured pair with another body is refused by a
second instance and after a restart, while genuine messages pushed in the same millisecond (one
pair, several bodies) all pass. Both engines."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.clock import ManualClock
from bot.config import RetentionSettings
from bot.storage_ports import StoredHeaderBindings
from storage import header_bindings as hb
from storage import models as m
from storage import prune
from storage.sql import raw_rows
from tests.kit.databases import count_commits
from tests.kit.dingtalk import instance
from tests.kit.dingtalk.payloads import make_callback
from tests.kit.dingtalk.rig import running_bot
from tests.kit.dingtalk.server import FakeDingTalk
from tests.kit.seed import seed_dingtalk_society

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)
SIBLINGS = timedelta(seconds=10)
GROUP = "cidREPLAYgroup=="


async def bindings() -> int:
    rows = await raw_rows(m.HeaderBinding, "SELECT COUNT(*) AS n FROM header_binding")
    return int(rows[0]["n"])


async def bind(pair: str, msg_id: str, digest: str, now: datetime) -> str:
    binding = hb.Binding(pair, msg_id, digest, now, T0 + timedelta(hours=1), SIBLINGS)
    return (await hb.bind_many([binding]))[0]


async def test_the_binding_rule(database: str) -> None:
    assert await bind("p1", "m1", "d1", T0) == ""  # rule 5: a new pair
    assert await bind("p1", "m1", "d1", T0 + timedelta(minutes=30)) == ""  # 1: a redelivery
    assert await bind("p1", "m1", "d2", T0 + timedelta(seconds=1)) == hb.CHANGED_BODY  # 2
    assert await bind("p1", "m2", "d2", T0 + timedelta(seconds=9)) == ""  # 3: a sibling
    assert await bind("p1", "m3", "d3", T0 + timedelta(seconds=11)) == hb.LATE_BODY  # 4
    assert await bindings() == 2  # refusals write nothing
    # A refused late body stays refused (it was not bound on the way).
    assert await bind("p1", "m3", "d3", T0 + timedelta(seconds=12)) == hb.LATE_BODY
    # The sibling window runs from the pair's first use, not from the last sibling's.
    assert await bind("p1", "m2", "d2", T0 + timedelta(seconds=20)) == ""
    assert await bind("p2", "m1", "d1", T0 + timedelta(seconds=20)) == ""  # another pair
    # Pruned once the pair's timestamp leaves the signature window, not before.
    retention = RetentionSettings()
    await prune.prune(retention, T0 + timedelta(minutes=59))
    assert await bindings() == 3
    await prune.prune(retention, T0 + timedelta(hours=1, seconds=1))
    assert await bindings() == 0


async def test_the_rule_holds_inside_one_batch_and_the_batch_commits_once(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The port binds the callbacks that arrive together at once: the same answers as one by
    one, refusals write nothing, one commit for the lot on SQLite and none on PostgreSQL (one
    statement, atomic by itself). Both engines."""
    assert await bind("p1", "m1", "d1", T0) == ""
    commits = count_commits(monkeypatch, database)
    port = StoredHeaderBindings()
    later = T0 + timedelta(seconds=11)
    requests = [
        ("p1", "m1", "d1", T0 + timedelta(seconds=1), ""),  # 1: a redelivery
        ("p1", "m1", "d2", T0 + timedelta(seconds=1), hb.CHANGED_BODY),  # 2
        ("p1", "m3", "d3", later, hb.LATE_BODY),  # 4, between accepted ones
        *[(f"q{i}", f"n{i}", f"e{i}", T0, "") for i in range(40)],  # 5: new pairs
        *[("q0", f"s{i}", f"f{i}", T0 + timedelta(seconds=5), "") for i in range(5)],  # 3
    ]
    answers = await asyncio.gather(
        *(
            port.bind(p, mid, d, now=now, expires_at=T0 + timedelta(hours=1), siblings=SIBLINGS)
            for p, mid, d, now, _ in requests
        )
    )
    assert answers == [want for *_, want in requests]
    assert await bindings() == 1 + 40 + 5
    if not database.startswith("sqlite"):
        assert commits[0] == 0, commits[0]
    else:
        assert commits[0] <= 2, commits[0]  # the first bind's batch, then the rest together


def one_by_one(
    history: list[tuple[str, str, str, datetime]], b: hb.Binding
) -> tuple[str, list[tuple[str, str, str, datetime]]]:
    """The rule of storage/header_bindings.py applied to one callback at a time, over the
    bound (pair, msgId, digest, seen_at): the answer, and the bindings after it."""
    for pair, msg_id, digest, _ in history:
        if (pair, msg_id) == (b.pair, b.message_id):
            return (hb.ACCEPTED if digest == b.digest else hb.CHANGED_BODY), history
    seen = [at for pair, _, _, at in history if pair == b.pair]
    if seen and min(seen) < b.now - b.siblings:
        return hb.LATE_BODY, history
    return hb.ACCEPTED, [*history, (b.pair, b.message_id, b.digest, b.now)]


@pytest.mark.parametrize("seed", range(12))
async def test_a_batch_answers_as_one_by_one(database: str, seed: int) -> None:
    """Random callbacks over a few pairs, msgIds and bodies, at times up to 30 s apart, bound
    in random batches: each answer, and what stays bound, is what binding them one by one
    gives."""
    rng = random.Random(seed)
    history: list[tuple[str, str, str, datetime]] = []
    at = T0
    for _ in range(8):
        batch = []
        for _ in range(rng.randint(1, 12)):
            at += timedelta(seconds=rng.choice([0, 0, 1, 4, 12]))
            batch.append(
                hb.Binding(
                    f"p{rng.randint(1, 3)}",
                    f"m{rng.randint(1, 4)}",
                    f"d{rng.randint(1, 2)}",
                    at,
                    T0 + timedelta(hours=1),
                    SIBLINGS,
                )
            )
        expected = []
        for b in batch:
            answer, history = one_by_one(history, b)
            expected.append(answer)
        assert await hb.bind_many(batch) == expected
        rows = await raw_rows(
            m.HeaderBinding, "SELECT pair, message_id, digest FROM header_binding"
        )
        assert sorted((r["pair"], r["message_id"], r["digest"]) for r in rows) == sorted(
            (p, mid, d) for p, mid, d, _ in history
        )


async def test_a_thousand_genuine_concurrent_callbacks_none_refused(database: str) -> None:
    """~1,000 genuine callbacks posted at once, 40 per millisecond (so 40 share each header
    pair, as DingTalk's pushes of one millisecond do): none is refused, each is fed once."""
    clock = ManualClock(T0)
    async with (
        FakeDingTalk(clock=clock.now) as fake,
        running_bot(fake, clock, card_template_id="") as rig,
    ):
        staff = await seed_dingtalk_society(fake.corp_id, 1, clock.now(), group_id=GROUP)
        people = sorted(staff.values())
        callbacks = []
        for n in range(1000):
            callbacks.append(
                make_callback(
                    rig.codec,
                    text="签到" if n % 10 == 0 else "大家好，今天天气不错",
                    staff_id=people[n % len(people)],
                    conversation_id=GROUP,
                    msg_id=f"genuine-{n:04d}",
                    now=clock.now() + timedelta(milliseconds=n // 40),
                )
            )
        pairs = Counter((h["timestamp"], h["sign"]) for h, _ in callbacks)
        assert len(pairs) == 25
        assert set(pairs.values()) == {40}
        gate = asyncio.Semaphore(64)
        statuses: Counter[int] = Counter()

        async def post(headers: dict[str, str], body: bytes) -> None:
            async with gate:
                response = await rig.client.post(rig.path, data=body, headers=headers)
                await response.read()
                statuses[response.status] += 1

        await asyncio.gather(*(post(h, b) for h, b in callbacks))
        await rig.adapter.tasks.flush(30)
        assert statuses == Counter({200: 1000})
        assert await bindings() == 1000
        # Every 签到 was applied once: one processed-message row per command message.
        rows = await raw_rows(m.ProcessedMessage, "SELECT COUNT(*) AS n FROM processed_message")
        assert int(rows[0]["n"]) == 100


@dataclass
class Instance:
    process: asyncio.subprocess.Process
    url: str

    async def post(self, headers: dict[str, str], body: bytes) -> int:
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, data=body, headers=headers) as response,
        ):
            await response.read()
            return response.status


@contextlib.asynccontextmanager
async def running_instance(
    database: str, at: datetime, out: Path, name: str
) -> AsyncIterator[Instance]:
    """A bot instance in its own OS process (tests/kit/dingtalk/instance.py) whose clock
    stands at `at`."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.kit.dingtalk.instance",
        database,
        at.isoformat(),
        str(out),
        name,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stdin is not None
    try:
        async with asyncio.timeout(30):
            line = (await process.stdout.readline()).decode().split()
        assert line[:1] == ["port"], line
        path = instance.config().callback_path
        yield Instance(process, f"http://127.0.0.1:{line[1]}{path}")
    finally:
        process.stdin.close()
        async with asyncio.timeout(30):
            assert await process.wait() == 0


def callback(text: str, msg_id: str, at: datetime) -> tuple[dict[str, str], bytes]:
    return make_callback(
        instance.codec_settings(),
        text=text,
        staff_id="leader-staff",
        conversation_id=GROUP,
        msg_id=msg_id,
        now=at,
    )


def forged(headers: dict[str, str], text: str, msg_id: str) -> tuple[dict[str, str], bytes]:
    """The captured headers with a body of the forger's choosing."""
    _, body = callback(text, msg_id, T0)
    return headers, body


async def test_a_captured_pair_is_refused_by_a_second_instance_and_after_a_restart(
    database: str, tmp_path: Path
) -> None:
    out = tmp_path / "fed.jsonl"
    genuine_headers, genuine_body = callback("计票", "genuine-1", T0)
    later = T0 + timedelta(seconds=30)  # well inside the signature window, past the siblings'
    same_id = forged(genuine_headers, "结束表决", "genuine-1")
    new_id = forged(genuine_headers, "结束表决", "forged-1")
    async with (
        running_instance(database, T0, out, "a") as a,
        running_instance(database, later, out, "b") as b,
    ):
        assert await a.post(genuine_headers, genuine_body) == 200
        # A genuine message of the same millisecond carries the same pair: it passes.
        sibling = callback("签到", "genuine-2", T0)
        assert sibling[0] == genuine_headers
        assert await a.post(*sibling) == 200
        # The second instance, which never saw the pair in its own memory, refuses both forgeries
        # and takes the redelivery (the msgId dedupe downstream drops it).
        assert await b.post(*same_id) == 401
        assert await b.post(*new_id) == 401
        assert await b.post(genuine_headers, genuine_body) == 200
    # A restart of the first instance: nothing in memory, the same verdicts.
    async with running_instance(database, later, out, "a-restarted") as a:
        assert await a.post(*same_id) == 401
        assert await a.post(*new_id) == 401
        assert await a.post(genuine_headers, genuine_body) == 200
    fed = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(f["by"], f["id"], f["text"]) for f in fed] == [
        ("a", "genuine-1", "计票"),
        ("a", "genuine-2", "签到"),
        ("b", "genuine-1", "计票"),
        ("a-restarted", "genuine-1", "计票"),
    ]
    assert await bindings() == 2


async def test_the_same_redelivery_bound_by_another_instance_at_once_passes(
    database: str,
) -> None:
    """The same callback sent to two instances at once: the other instance's insert commits
    while this one's statement waits on it, unseen by this statement's snapshot. That binding
    is read again and judged (the same body passes); it had been refused as a changed body."""
    if not database.startswith("postgres"):
        pytest.skip("one statement per batch: PostgreSQL's concurrent instances")
    import asyncpg  # the other instance's own connection

    other = await asyncpg.connect(database.replace("postgres://", "postgresql://", 1))
    try:
        async with other.transaction():
            await other.execute(
                "INSERT INTO header_binding (pair, message_id, digest, seen_at, expires_at)"
                " VALUES ('pc', 'mc', 'dc', $1, $2)",
                T0,
                T0 + timedelta(hours=1),
            )
            racing = asyncio.create_task(bind("pc", "mc", "dc", T0))  # waits on that insert
            await asyncio.sleep(0.3)
            assert not racing.done()
        assert await racing == ""
        changed = asyncio.create_task(bind("pc", "mc", "dX", T0))
        assert await changed == hb.CHANGED_BODY  # another body under it is still refused
    finally:
        await other.close()
