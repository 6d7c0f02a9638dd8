"""Acceptance 2: WeCom delivers at least once. 2,000 distinct vote messages (card clicks and
typed votes, spread over 20 societies of 7 members), each delivered 5 times through the real
app: sequentially, concurrently, and across a restart (a new build_app on the same database,
every 5 rounds; the held-back copies arrive after it, some once their vote has closed)
-> exactly 2,000 processed events and no ballot counted twice, on SQLite and PostgreSQL.
Meeting set-up commands go straight into the app's feed; every vote copy goes over HTTP."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.app import FEED
from bot.clock import ManualClock
from bot.events import ChatKind, ChatRef, IncomingMessage, Platform, UserRef
from storage import models, repo
from tests.kit.clock import TZ
from tests.kit.seed import WECOM_CORP, seed_wecom_society
from tests.kit.wecom.payloads import make_card_event, make_text_message
from tests.kit.wecom.rig import WeComRig, open_bot, open_fake, rig_settings

SOCIETIES = 20
MEMBERS = 7
MESSAGES = 2000
COPIES = 5
ROUNDS = -(-MESSAGES // (SOCIETIES * MEMBERS))  # votes per society
RESTART_EVERY = 5  # rounds between restarts


@dataclass
class Society:
    chat_id: str
    users: list[str]


async def _seed(now: datetime) -> list[Society]:
    out = []
    async with repo.atomic():
        for s in range(SOCIETIES):
            society = await repo.create_society(f"测试学会{s:02d}", now)
            users = [f"s{s:02d}u{i}" for i in range(MEMBERS)]
            for i, user_id in enumerate(users):
                person = await repo.ensure_person(
                    UserRef(Platform.WECOM, WECOM_CORP, user_id), name=f"成员{s:02d}{i}"
                )
                await repo.put_member(
                    society.id, person.id, roster_role="leader" if i == 0 else "member"
                )
            chat_id = f"wrkgroup{s:02d}"
            await repo.bind_chat(Platform.WECOM, WECOM_CORP, chat_id, society.id)
            out.append(Society(chat_id, users))
    return out


class Setup:
    """Meeting set-up commands go straight into the app's feed (no HTTP: it is not under test)."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.n = 0

    async def say(self, client: object, society: Society, who: int, text: str) -> list[object]:
        self.n += 1
        chat = ChatRef(Platform.WECOM, WECOM_CORP, society.chat_id, ChatKind.GROUP)
        message = IncomingMessage(
            platform=Platform.WECOM,
            chat=chat,
            sender=UserRef(Platform.WECOM, WECOM_CORP, society.users[who]),
            text=text,
            message_id=f"setup-{self.n}",
            received_at=self.clock.now(),
        )
        return list(await client.app[FEED](message))  # type: ignore[attr-defined]


Copy = tuple[dict[str, str], bytes]


async def _deliver(rig: WeComRig, copy: Copy, msgid: str, answers: dict[str, list[str]]) -> None:
    posted = await rig.post(*copy)
    assert posted.status == 200, posted
    answers.setdefault(msgid, []).append(posted.text)


async def _first_copies(
    rig: WeComRig,
    gate: asyncio.Semaphore,
    later: list[tuple[str, Copy]],
    answers: dict[str, list[str]],
    msgid: str,
    copy: Copy,
    mode: int,
) -> None:
    async with gate:
        if mode == 0:  # five times in a row
            for _ in range(COPIES):
                await _deliver(rig, copy, msgid, answers)
        elif mode == 1:  # five at once
            await asyncio.gather(*(_deliver(rig, copy, msgid, answers) for _ in range(COPIES)))
        else:  # two at once now, three after the restart
            await asyncio.gather(*(_deliver(rig, copy, msgid, answers) for _ in range(2)))
            later.append((msgid, copy))


async def _last_copies(
    rig: WeComRig, gate: asyncio.Semaphore, answers: dict[str, list[str]], msgid: str, copy: Copy
) -> None:
    async with gate:
        await _deliver(rig, copy, msgid, answers)
        await asyncio.gather(*(_deliver(rig, copy, msgid, answers) for _ in range(2)))


async def test_two_thousand_votes_delivered_five_times_count_once(database: str) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    await seed_wecom_society(clock.now())  # the committee admin
    societies = await _seed(clock.now())
    setup = Setup(clock)
    agenda = "；".join(f"事项{k}" for k in range(1, ROUNDS + 1))
    answers: dict[str, list[str]] = {}
    plan: list[tuple[str, int]] = []  # (msgid, round)

    async with open_fake(clock) as (fake, base):
        settings = rig_settings(base)

        client_ctx = open_bot(clock, base)
        client, _ = await client_ctx.__aenter__()
        try:
            for society in societies:
                await setup.say(
                    client, society, 0, f"召开会议 2026-12-05 15:00 会议室 议题：{agenda}"
                )
            clock.set(datetime(2026, 12, 5, 14, 50, tzinfo=TZ))
            for society in societies:
                for i in range(MEMBERS):
                    await setup.say(client, society, i, "签到")
            clock.set(datetime(2026, 12, 5, 15, 1, tzinfo=TZ))
            for society in societies:
                await setup.say(client, society, 0, "开会")

            sent = 0
            later: list[tuple[str, Copy]] = []
            gate = asyncio.Semaphore(16)
            for k in range(1, ROUNDS + 1):
                votes: dict[str, int] = {}
                for society in societies:
                    replies = await setup.say(client, society, 0, f"发起表决 {k}")
                    card = next(r.card for r in replies if r.card is not None)  # type: ignore[attr-defined]
                    votes[society.chat_id] = card.vote_id
                # This round's messages: card clicks and typed votes, alternating.
                batch: list[tuple[str, tuple[dict[str, str], bytes]]] = []
                for society in societies:
                    for i, user_id in enumerate(society.users):
                        if sent == MESSAGES:
                            break
                        sent += 1
                        msgid = f"vote-{k}-{society.chat_id}-{i}"
                        now = clock.now()
                        if sent % 2:
                            vote_id = votes[society.chat_id]
                            copy = make_card_event(
                                settings,
                                now=now,
                                task_id=f"vote{vote_id}_t",
                                event_key=f"submit_vote_{vote_id}",
                                option_ids=["yes"],
                                userid=user_id,
                                chatid=society.chat_id,
                                msgid=msgid,
                            )
                        else:
                            copy = make_text_message(
                                settings,
                                "@议事助手 反对",
                                now=now,
                                userid=user_id,
                                chatid=society.chat_id,
                                msgid=msgid,
                            )
                        batch.append((msgid, copy))
                        plan.append((msgid, k))
                rig = WeComRig(client, fake, base, settings, clock)
                await asyncio.gather(
                    *(
                        _first_copies(rig, gate, later, answers, m, c, n % 3)
                        for n, (m, c) in enumerate(batch)
                    )
                )
                if k % RESTART_EVERY == 0 or k == ROUNDS:
                    # Restart: a new app and adapter on the same database; then the remaining
                    # copies of the held-back messages arrive (some of their votes are closed
                    # by now: a late redelivery).
                    await client_ctx.__aexit__(None, None, None)
                    client_ctx = open_bot(clock, base)
                    client, _ = await client_ctx.__aenter__()
                    rig = WeComRig(client, fake, base, settings, clock)
                    await asyncio.gather(
                        *(_last_copies(rig, gate, answers, m, c) for m, c in later)
                    )
                    later.clear()
                for society in societies:
                    await setup.say(client, society, 0, "结束表决")
                clock.advance(timedelta(seconds=30))
        finally:
            await client_ctx.__aexit__(None, None, None)

    assert len(plan) == MESSAGES
    ids = [m for m, _ in plan]
    assert await models.ProcessedMessage.filter(message_id__in=ids).count() == MESSAGES
    assert await models.Ballot.all().count() == MESSAGES
    events = await models.EventLog.filter(kind__in=("ballot", "ballot_changed")).all()
    assert len(events) == MESSAGES
    assert all(e.kind == "ballot" for e in events)
    voters = [(json.loads(e.payload)["vote"], json.loads(e.payload)["voter"]["id"]) for e in events]
    assert len(set(voters)) == MESSAGES  # no (vote, voter) twice
    for msgid in ids:
        texts = answers[msgid]
        assert len(texts) == COPIES
        assert sum("已记录" in t and "重复消息" not in t for t in texts) == 1, texts
        assert sum("重复消息" in t for t in texts) == COPIES - 1, texts
