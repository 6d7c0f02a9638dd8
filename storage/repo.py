"""Async storage functions. They take and return plain dataclasses; no Model leaves storage/.

Over 1,000 lines as one file: every governance record the handlers read and write, behind the one
`repo.` namespace they use; its sections follow the records (unit of work, event log, people and
societies, roster, meetings, votes, minutes, filings). Delivery lives in the modules beside it.

Every state change runs inside `unit_of_work`: one transaction that records the inbound message
id (de-duplication), locks the society row (PostgreSQL: SELECT ... FOR UPDATE; SQLite: the
single connection's transaction lock), applies the change, appends to the event log and stores
the reply that a redelivery gets back.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Hashable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from tortoise.models import Model
from tortoise.transactions import in_transaction

from bot import governance as g
from bot.events import EventKind, Platform, UserRef
from bot.keys import SealError
from bot.ledger import GENESIS, Break, canonical_json, digest, entry_hash
from storage import models as m
from storage import outbox, scenes, seals, secrecy, verify
from storage.db import server_key
from storage.faults import is_transient
from storage.sql import (
    Insert,
    any_of,
    can_lock_rows,
    columns_of,
    day,
    insert_rows,
    is_postgres,
    joined,
    marks,
    model_of,
    raw_execute,
    raw_models,
    raw_rows,
    split_joined,
    utc,
    when,
    when_opt,
)
from storage.sql import writes_so_far as sql_writes_so_far
from storage.sqlite_engine import commit_on_thread

# The largest id a record has: ids are 32-bit integers (PostgreSQL's `integer` columns), so a
# larger number names no record (and must not reach a query, which PostgreSQL refuses).
MAX_ID = 2**31 - 1

# ---------------------------------------------------------------------------------------------
# Views


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    name: str
    is_party_member: bool


@dataclass(frozen=True, slots=True)
class Society:
    id: int
    name: str
    term_start: date | None
    term_end: date | None
    roster_exception: bool
    recorder_id: int | None
    liaison_id: int | None
    report_deadline: str
    settings: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Member:
    person: Person
    roster_role: str  # leader | member | none
    position: g.CouncilPosition

    @property
    def on_roster(self) -> bool:
        return self.roster_role in ("leader", "member")

    @property
    def is_leader(self) -> bool:
        return self.roster_role == "leader"


@dataclass(frozen=True, slots=True)
class Meeting:
    id: int
    society_id: int
    number: int
    place: str
    starts_at: datetime
    state: g.MeetingState
    convened_by_id: int
    chair_id: int | None
    roster: tuple[int, ...]
    opened_at: datetime | None
    closed_at: datetime | None

    @property
    def leader_id(self) -> int:
        """The meeting's leader: the group's leader when it was convened (only the leader
        convenes), as its roster is the roster then (governance Rule 7). A leader appointed
        since takes over from the next meeting."""
        return self.convened_by_id


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    meeting_id: int
    number: int
    title: str
    matter_type: g.MatterType
    state: g.ItemState
    proposed_by_id: int
    carried_from_id: int | None
    emergency_reason: str
    outcome: str
    carried: bool


@dataclass(frozen=True, slots=True)
class AttendanceRecord:
    person_id: int
    status: g.Attendance
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Vote:
    id: int
    item_id: int
    method: g.VoteMethod
    state: g.VoteState
    electorate: g.Electorate
    opened_at: datetime
    closed_at: datetime | None
    result: dict[str, Any]
    hands: dict[str, int]
    closes_at: datetime | None = None  # announced deadline (the leader still closes the vote)


@dataclass(frozen=True, slots=True)
class RosterChange:
    id: int
    society_id: int
    society_name: str
    kind: str
    person: Person
    roster_role: str
    position: g.CouncilPosition
    reason: str
    status: str
    requested_by: Person
    exception: bool
    decision_note: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Filing:
    id: int
    society_id: int
    society_name: str
    kind: str
    title: str
    body: str
    filed_by: Person
    at: datetime
    acknowledged: bool


@dataclass(frozen=True, slots=True)
class MinutesVersion:
    id: int
    meeting_id: int
    version: int
    body: str
    notes: str
    digest: str
    created_at: datetime
    signed: bool


def _person(p: m.Person) -> Person:
    return Person(p.id, p.name, p.is_party_member)


def _society(s: m.Society) -> Society:
    return society_row(columns_of(s))


def society_row(r: Mapping[str, Any]) -> Society:
    """A society from its row (`SELECT society.*`, or a model's `columns_of`): built directly,
    without a model instance, which costs more than the read on the hot paths."""
    return Society(
        id=int(r["id"]),
        name=str(r["name"]),
        term_start=day(r["term_start"]),
        term_end=day(r["term_end"]),
        roster_exception=bool(r["roster_exception"]),
        recorder_id=r["recorder_id"],
        liaison_id=r["liaison_id"],
        report_deadline=str(r["report_deadline"]),
        settings=json.loads(r["settings"] or "{}"),
    )


def _meeting(x: m.Meeting) -> Meeting:
    return meeting_row(columns_of(x))


def meeting_row(r: Mapping[str, Any]) -> Meeting:
    """A meeting from its row (`society_row`'s way)."""
    return Meeting(
        id=int(r["id"]),
        society_id=int(r["society_id"]),
        number=int(r["number"]),
        place=str(r["place"]),
        starts_at=when(r["starts_at"]),
        state=g.MeetingState(r["state"]),
        convened_by_id=int(r["convened_by_id"]),
        chair_id=r["chair_id"],
        roster=tuple(json.loads(r["roster"] or "[]")),
        opened_at=when_opt(r["opened_at"]),
        closed_at=when_opt(r["closed_at"]),
    )


def _item(x: m.AgendaItem) -> Item:
    return item_row(columns_of(x))


def item_row(r: Mapping[str, Any]) -> Item:
    """An agenda item from its row (`society_row`'s way)."""
    return Item(
        id=int(r["id"]),
        meeting_id=int(r["meeting_id"]),
        number=int(r["number"]),
        title=str(r["title"]),
        matter_type=g.MatterType(r["matter_type"]),
        state=g.ItemState(r["state"]),
        proposed_by_id=int(r["proposed_by_id"]),
        carried_from_id=r["carried_from_id"],
        emergency_reason=str(r["emergency_reason"]),
        outcome=str(r["outcome"]),
        carried=bool(r["carried"]),
    )


def _vote(x: m.Vote) -> Vote:
    return vote_row(columns_of(x))


def vote_row(r: Mapping[str, Any]) -> Vote:
    """A vote from its row (`society_row`'s way)."""
    return Vote(
        id=int(r["id"]),
        item_id=int(r["item_id"]),
        method=g.VoteMethod(r["method"]),
        state=g.VoteState(r["state"]),
        electorate=electorate_of(r["electorate"]),
        opened_at=when(r["opened_at"]),
        closed_at=when_opt(r["closed_at"]),
        result=json.loads(r["result"]) if r["result"] else {},
        hands=json.loads(r["hands"]) if r["hands"] else {},
        closes_at=when_opt(r["closes_at"]),
    )


def _iso(value: datetime) -> str:
    return utc(value).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------
# Unit of work: de-duplication, society lock, stored reply


class DuplicateMessage(Exception):
    def __init__(self, reply: str) -> None:
        super().__init__("duplicate")
        self.reply = reply


@dataclass
class Work:
    """What one inbound message did: the processed-message row to fill with the reply."""

    processed_id: int | None
    society_id: int | None = None
    events: list[str] = field(default_factory=list)


class RoundBroken(Exception):
    """A message's unit of work failed inside a shared round (`shared_round`), after it may have
    written: the round has to be rolled back (the inbound worker then applies its messages one
    by one, each in a transaction of its own)."""


# A message's processed-message key: (platform, corp id, message id).
Processed = tuple[str, str, str]


@dataclass
class _Round:
    """A shared round's processed-message rows, written together when it starts: the keys
    asked for, the rows inserted (key -> id; a key asked for and not inserted was processed
    before) and the keys whose unit of work took its row."""

    asked: set[Processed]
    inserted: dict[Processed, int]
    taken: set[Processed] = field(default_factory=set)
    # The round's outbox messages (`enqueue_latest`), in the order written, written together
    # when the round ends; of those with a key, only the last of each key.
    held: dict[Hashable, outbox.NewOutbox] = field(default_factory=dict)


# Inside a shared round: each unit of work runs in the round's transaction without a savepoint.
_in_round: ContextVar[_Round | None] = ContextVar("shared_round", default=None)

_INSERT_PROCESSED = Insert(
    m.ProcessedMessage,
    ("platform", "corp_id", "message_id", "at"),
    (("reply", "''"),),
    " ON CONFLICT (platform, corp_id, message_id) DO NOTHING"
    " RETURNING id, platform, corp_id, message_id",
)


@asynccontextmanager
async def shared_round(messages: Sequence[Processed], now: datetime) -> AsyncIterator[None]:
    """One transaction for a round of messages (bot/inbox.py), `messages` the keys of those it
    may apply. Their processed-message rows are written at once, in one statement; a message's
    unit of work takes its row (or, when the row was there before, is a duplicate that writes
    nothing) and opens no savepoint of its own (on PostgreSQL a savepoint is a round trip), nor
    does its command (bot/router.py: a refusal comes before any write, or breaks the round).
    Anything that escapes a unit raises RoundBroken, or the fault itself when it is transient, so that the caller rolls the whole
    round back. At the end, the rows of the messages the round did not get to go again.
    Its COMMIT is flushed off the event loop (`commit_on_thread`): the door takes in the next
    round's messages meanwhile."""
    with commit_on_thread():
        async with atomic():
            asked = {key for key in messages if key[2]}
            inserted = await _insert_processed(asked, now)
            round_ = _Round(asked, inserted)
            token = _in_round.set(round_)
            try:
                yield
            finally:
                _in_round.reset(token)
            if round_.held:
                await outbox.add_outbox(list(round_.held.values()), now)
            left = [row for key, row in inserted.items() if key not in round_.taken]
            if left:
                ids_in, params = any_of(m.ProcessedMessage, "id", left)
                await raw_execute(
                    m.ProcessedMessage, f"DELETE FROM processed_message WHERE {ids_in}", *params
                )


def in_shared_round() -> bool:
    """Whether the current unit of work is part of a shared round (no savepoint of its own)."""
    return _in_round.get() is not None


def writes_so_far() -> int:
    """Inside a transaction: a count that moves whenever it writes (`sql.writes_so_far`)."""
    return sql_writes_so_far(m.Society)


async def enqueue_latest(
    items: Sequence[outbox.NewOutbox], latest: Sequence[Hashable | None], now: datetime
) -> None:
    """Write a message's replies to the outbox in the current transaction. `latest[i]` is a key
    for an item that a later item of the same key makes pointless (a card's update: the card
    shows its last count only), or None. In a shared round every item is held, in the order
    written, and the round's are written together when it ends (one statement for the round,
    not one per message: nothing in a round reads the outbox back); an item with a key replaces
    the round's earlier one of that key: the round commits at once, so the states in between
    were never anyone's to see. This is the last write of a message's unit of work
    (`admission._settle`): no refusal comes after it."""
    round_ = _in_round.get()
    if round_ is None:
        await outbox.enqueue(items, now)
        return
    for item, key in zip(items, latest, strict=True):
        if key is None:
            key = object()  # a key of its own
        round_.held.pop(key, None)  # the newest goes last, as it was written
        round_.held[key] = item


@asynccontextmanager
async def unit_of_work(
    platform: Platform, corp_id: str, message_id: str, now: datetime
) -> AsyncIterator[Work]:
    """One transaction per inbound message (inside a shared round, a part of the round's).
    Raises DuplicateMessage with the stored reply when the message id was processed before
    (also when a concurrent delivery just committed: the insert waits for it)."""
    round_ = _in_round.get()
    if round_ is None:
        async with in_transaction(), _unit(platform, corp_id, message_id, now) as work:
            yield work
        return
    key = (platform.value, corp_id, message_id)
    try:
        async with _unit(platform, corp_id, message_id, now, round_) as work:
            yield work
    except (DuplicateMessage, RoundBroken):
        raise
    except Exception as exc:
        if is_transient(exc):
            raise
        raise RoundBroken(f"message {message_id}: {type(exc).__name__}: {exc}") from exc
    finally:
        if key in round_.inserted:
            round_.taken.add(key)


@asynccontextmanager
async def _unit(
    platform: Platform,
    corp_id: str,
    message_id: str,
    now: datetime,
    round_: _Round | None = None,
) -> AsyncIterator[Work]:
    """The message's processed-message row (its unique key decides: a redelivery writes
    nothing and is answered with the reply stored; in a shared round, the row written when the
    round started), then the work, with its scene."""
    processed_id: int | None = None
    key = (platform.value, corp_id, message_id)
    if round_ is not None and key in round_.inserted:
        processed_id = round_.inserted[key]
    elif round_ is not None and key in round_.asked:
        raise DuplicateMessage(await _stored_reply(key))
    elif message_id:
        processed_id = (await _insert_processed([key], now)).get(key)
        if processed_id is None:
            raise DuplicateMessage(await _stored_reply(key))
    scene = scenes.begin_unit()
    try:
        yield Work(processed_id)
    finally:
        scenes.end_unit(scene)


async def _insert_processed(keys: Iterable[Processed], now: datetime) -> dict[Processed, int]:
    """The processed-message rows of `keys`, in one statement: key -> id of the rows inserted
    (a key left out was processed before; a concurrent insert of it is waited for)."""
    found = await insert_rows(_INSERT_PROCESSED, [(*key, utc(now)) for key in sorted(keys)])
    return {
        (str(r["platform"]), str(r["corp_id"]), str(r["message_id"])): int(r["id"]) for r in found
    }


async def _stored_reply(key: Processed) -> str:
    """The reply kept for a message processed before ("": none, or its row went meanwhile)."""
    platform, corp_id, message_id = key
    existing = await m.ProcessedMessage.filter(
        platform=platform, corp_id=corp_id, message_id=message_id
    ).first()
    if existing is None:
        return ""
    return secrecy.open_text("reply", existing.reply, str(existing.id))


@asynccontextmanager
async def atomic() -> AsyncIterator[None]:
    """A transaction (nested: a savepoint, so a refused command rolls back only its own writes).
    The seals' heads it moves are written once, at its end (`seals.batched`)."""
    async with in_transaction(), seals.batched():
        yield


async def store_reply(work: Work, reply: str) -> None:
    """Keep the reply for a redelivery, sealed (it may carry a secret ballot's receipt)."""
    if work.processed_id is not None and reply:
        await raw_execute(
            m.ProcessedMessage,
            "UPDATE processed_message SET reply = ? WHERE id = ?",
            secrecy.seal_text("reply", reply, str(work.processed_id)),
            work.processed_id,
        )


async def lock_society(society_id: int) -> None:
    """Serialise all writes of one society (PostgreSQL row lock; SQLite's transaction lock
    already serialises the process)."""
    if can_lock_rows(m.Society):
        await m.Society.select_for_update().filter(id=society_id).first()


# ---------------------------------------------------------------------------------------------
# Event log


async def append_event(
    society_id: int,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    *,
    meeting_id: int | None = None,
) -> str:
    """Append to the society's chain (the caller holds the society lock); return the hash."""
    chain = f"society:{society_id}"
    last, prev = await seals.chain_tip(society_id)
    seq = last + 1
    at = _iso(now)
    body = canonical_json(payload)
    h = entry_hash(
        prev,
        chain=chain,
        seq=seq,
        at=at,
        kind=kind,
        meeting_id=meeting_id,
        payload=body,
        key=seals.chain_subkey(server_key()),
    )
    await raw_execute(
        m.EventLog,
        "INSERT INTO event_log (chain, seq, at, kind, meeting_id, payload, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        chain,
        seq,
        utc(now).replace(microsecond=0),
        kind,
        meeting_id,
        body,
        prev,
        h,
    )
    await seals.advance(society_id, prev_seq=seq - 1, prev_hash=prev, seq=seq, new_hash=h)
    return h


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    at: datetime
    kind: str
    meeting_id: int | None
    payload: dict[str, Any]
    hash: str


async def meeting_events(meeting: Meeting) -> list[Event]:
    """The meeting's events, from its society's chain only: a row written under any other chain
    name (「society:02」) is no record of it (verify reports such a chain)."""
    rows = await m.EventLog.filter(
        chain=f"society:{meeting.society_id}", meeting_id=meeting.id
    ).order_by("seq")
    return [
        Event(r.seq, utc(r.at), r.kind, r.meeting_id, json.loads(r.payload), r.hash) for r in rows
    ]


async def society_events(society_id: int) -> list[Event]:
    rows = await m.EventLog.filter(chain=f"society:{society_id}").order_by("seq")
    return [
        Event(r.seq, utc(r.at), r.kind, r.meeting_id, json.loads(r.payload), r.hash) for r in rows
    ]


async def claimed_party(society_id: int, change_id: int) -> bool | None:
    """The party membership the request of roster change `change_id` said of the person to be
    added (「提议增补 @王五 党员」), from its record in the society's chain; None when unsaid."""
    rows = await m.EventLog.filter(
        chain=f"society:{society_id}", kind=EventKind.ROSTER_CHANGE_REQUESTED.value
    ).order_by("-seq")
    for r in rows:
        payload = json.loads(r.payload)
        if payload.get("change") == change_id:
            party = payload.get("party")
            return party if isinstance(party, bool) else None
    return None


async def chain_head(society_id: int) -> str:
    last = await m.EventLog.filter(chain=f"society:{society_id}").order_by("-seq").first()
    return GENESIS if last is None else last.hash


async def verify_all() -> tuple[int, Break | None]:
    """Recompute every chain; return the number of entries checked and the first break (the
    whole check, rows and votes included, is `storage.verify.run`)."""
    return await verify.chains_checked()


async def verify_signed_minutes() -> list[tuple[int, int]]:
    """Signed minutes whose stored text no longer matches the signed digest:
    (meeting id, version) pairs."""
    return await verify.signed_minutes_changed()


# ---------------------------------------------------------------------------------------------
# People, societies, bindings


async def person_by_identity(user: UserRef) -> Person | None:
    rows = await raw_models(
        m.Person,
        "SELECT person.* FROM person JOIN identity ON identity.person_id = person.id"
        " WHERE identity.platform = ? AND identity.corp_id = ? AND identity.user_id = ? LIMIT 1",
        user.platform.value,
        user.corp_id,
        user.user_id,
    )
    return _person(rows[0]) if rows else None


async def ensure_person(user: UserRef, *, name: str, is_party_member: bool = True) -> Person:
    found = await person_by_identity(user)
    if found is not None:
        return found
    p = await m.Person.create(name=name or user.user_id, is_party_member=is_party_member)
    await m.Identity.create(
        platform=user.platform.value, corp_id=user.corp_id, user_id=user.user_id, person=p
    )
    return _person(p)


async def rename(person_id: int, name: str) -> None:
    """The person's name as they give it (「我是张伟」) or as their platform shows it now (a
    DingTalk display name in place of a bare staff id). The people register is no governance
    record: what the chain recorded under the old name stays as recorded."""
    await m.Person.filter(id=person_id).update(name=name)


async def on_a_roster(person_id: int) -> bool:
    """Whether the person is on some society's leading group: the name there is the one the
    committee approved (第六条), not theirs to change by registering another."""
    return await m.Member.filter(person_id=person_id, roster_role__in=("leader", "member")).exists()


async def register(user: UserRef, chat_id: str, name: str, now: datetime) -> str | None:
    """Keep `name` as what `user` calls themself in group `chat_id` (a new registration
    replaces theirs); returns the name it replaced, None the first time."""
    found = await m.Registration.filter(
        platform=user.platform.value, corp_id=user.corp_id, chat_id=chat_id, user_id=user.user_id
    ).first()
    if found is None:
        await m.Registration.create(
            platform=user.platform.value,
            corp_id=user.corp_id,
            chat_id=chat_id,
            user_id=user.user_id,
            name=name,
            at=now,
        )
        return None
    before = found.name
    await m.Registration.filter(id=found.id).update(name=name, at=now)
    return before


async def registered(
    platform: Platform, corp_id: str, chat_id: str, said: str
) -> list[tuple[str, str]]:
    """Who registered in group `chat_id` under the name `said`, or as the account `said`:
    (account, name) pairs in the order they registered."""
    here = m.Registration.filter(platform=platform.value, corp_id=corp_id, chat_id=chat_id)
    rows = {r.id: r for r in await here.filter(name=said)}
    rows.update({r.id: r for r in await here.filter(user_id=said)})
    return [(rows[i].user_id, rows[i].name) for i in sorted(rows)]


async def set_party_member(person_id: int, value: bool) -> None:
    await m.Person.filter(id=person_id).update(is_party_member=value)


async def person(person_id: int) -> Person:
    return _person(await m.Person.get(id=person_id))


async def people(ids: Iterable[int]) -> dict[int, Person]:
    rows = await m.Person.filter(id__in=list(set(ids)))
    return {p.id: _person(p) for p in rows}


async def identities(person_ids: Iterable[int], platform: Platform, corp_id: str) -> list[UserRef]:
    """The people's identities on one platform and corp, in the order asked. Sought by person
    (a corp holds every society's members: a seek by platform and corp reads them all); a
    person has an identity or two, the platform's is picked here."""
    ids = list(person_ids)
    if not ids:
        return []
    where, params = any_of(m.Identity, "i.person_id", ids)
    rows = await raw_rows(
        m.Identity,
        "SELECT i.person_id, i.platform, i.corp_id, i.user_id, p.name FROM identity AS i"
        f" JOIN person AS p ON p.id = i.person_id WHERE {where} ORDER BY i.id",
        *params,
    )
    by_person = {
        int(r["person_id"]): UserRef(platform, corp_id, str(r["user_id"]), str(r["name"]))
        for r in rows
        if r["platform"] == platform.value and r["corp_id"] == corp_id
    }
    return [by_person[pid] for pid in ids if pid in by_person]


async def create_society(
    name: str, now: datetime, *, term_start: date | None = None, term_end: date | None = None
) -> Society:
    s = await m.Society.create(name=name, created_at=now, term_start=term_start, term_end=term_end)
    await seals.touch("society", s.id)
    return _society(s)


async def society(society_id: int) -> Society:
    return _society(await m.Society.get(id=society_id))


async def society_joined(society_id: int) -> datetime:
    """When the society was set up here (the reminders count its first deadlines from it)."""
    row = await m.Society.filter(id=society_id).only("id", "created_at").get()
    return utc(row.created_at)


async def society_by_name(name: str) -> Society | None:
    s = await m.Society.filter(name=name).first()
    return None if s is None else _society(s)


async def all_societies() -> list[Society]:
    return [_society(s) for s in await m.Society.all().order_by("id")]


async def update_society(society_id: int, **fields: Any) -> None:
    async with seals.rewrite("society", society_id):
        await m.Society.filter(id=society_id).update(**fields)


async def archive_society(society_id: int, name: str) -> None:
    """Set a society aside under another name: its records stay (the chain, meetings, minutes),
    its chats and its people are released for a society that takes its place (the demo's
    `:reset`)."""
    # Through the seals, as every change the application makes: `yishi verify` and the
    # workbench then find the society set aside, not tampered with. Its recorder and liaison
    # go with its people (they would otherwise keep seeing it on the workbench).
    async with seals.rewrite("society", society_id):
        await m.Society.filter(id=society_id).update(name=name, recorder_id=None, liaison_id=None)
    for model, table in ((m.ChatBinding, "chat_binding"), (m.Member, "member")):
        ids = await model.filter(society_id=society_id).values_list("id", flat=True)
        await model.filter(society_id=society_id).delete()
        for row_id in ids:
            await seals.touch(table, int(row_id))  # type: ignore[call-overload]


async def bind_chat(platform: Platform, corp_id: str, chat_id: str, society_id: int) -> None:
    existing = await m.ChatBinding.filter(
        platform=platform.value, corp_id=corp_id, chat_id=chat_id
    ).first()
    if existing is None:
        row = await m.ChatBinding.create(
            platform=platform.value, corp_id=corp_id, chat_id=chat_id, society_id=society_id
        )
        await seals.touch("chat_binding", row.id)
    else:
        async with seals.rewrite("chat_binding", existing.id):
            existing.society_id = society_id
            await existing.save()


async def set_chat_webhook(platform: Platform, corp_id: str, chat_id: str, webhook: str) -> bool:
    found = await m.ChatBinding.filter(
        platform=platform.value, corp_id=corp_id, chat_id=chat_id
    ).first()
    if found is None:
        return False
    async with seals.rewrite("chat_binding", found.id):
        await m.ChatBinding.filter(id=found.id).update(webhook=webhook)
    return True


async def chat_webhook(platform: Platform, corp_id: str, chat_id: str) -> str:
    b = await m.ChatBinding.filter(
        platform=platform.value, corp_id=corp_id, chat_id=chat_id
    ).first()
    return "" if b is None else b.webhook


async def society_of_chat(platform: Platform, corp_id: str, chat_id: str) -> Society | None:
    """The society a group chat is bound to, in one read."""
    rows = await raw_rows(
        m.Society,
        "SELECT society.* FROM society JOIN chat_binding ON chat_binding.society_id = society.id"
        " WHERE chat_binding.platform = ? AND chat_binding.corp_id = ?"
        " AND chat_binding.chat_id = ? LIMIT 1",
        platform.value,
        corp_id,
        chat_id,
    )
    return society_row(rows[0]) if rows else None


async def group_chats(society_id: int) -> list[tuple[Platform, str, str]]:
    rows = await m.ChatBinding.filter(society_id=society_id)
    return [(Platform(r.platform), r.corp_id, r.chat_id) for r in rows]


async def societies_of(person_id: int) -> list[int]:
    rows = await m.Member.filter(person_id=person_id).values_list("society_id", flat=True)
    return sorted({int(x) for x in rows})  # type: ignore[call-overload]


# ---------------------------------------------------------------------------------------------
# Admission: who speaks in a group, for which society, in one or two reads


@dataclass(frozen=True, slots=True)
class Speaker:
    """What admission needs of a group message: the bound society (locked), the speaker, their
    place on its roster, its active meeting and whether they observe (列席) it."""

    society: Society
    person: Person | None
    member: Member | None
    meeting: Meeting | None
    observer: bool


_SOCIETY_COLUMNS = "s.*, p.id AS p_id, p.name AS p_name, p.is_party_member AS p_party"
_SOCIETY_FROM = (
    " FROM chat_binding cb JOIN society s ON s.id = cb.society_id"
    " LEFT JOIN identity i ON i.platform = ? AND i.corp_id = ? AND i.user_id = ?"
    " LEFT JOIN person p ON p.id = i.person_id"
)
_SOCIETY_WHERE = " WHERE cb.platform = ? AND cb.corp_id = ? AND cb.chat_id = ?"
# The speaker's roster entry and the society's active meeting (as `active_meeting_seen_by`),
# joined to a row that names the society `s` and the person `p`.
_MEETING_COLUMNS = (
    *("id", "society_id", "number", "place", "starts_at", "state", "convened_by_id"),
    *("chair_id", "roster", "created_at", "opened_at", "closed_at"),
)
_SCENE_COLUMNS = (
    "mb.roster_role AS mb_role, mb.position AS mb_position, "
    + ", ".join(f"mt.{c} AS mt_{c}" for c in _MEETING_COLUMNS)
    + ", EXISTS (SELECT 1 FROM observer o WHERE o.meeting_id = mt.id AND o.person_id = p.id)"
    " AS mt_observer"
)
_SCENE_JOINS = (
    " LEFT JOIN member mb ON mb.society_id = s.id AND mb.person_id = p.id"
    " LEFT JOIN meeting mt ON mt.id = (SELECT x.id FROM meeting x WHERE x.society_id = s.id"
    " AND x.state IN (?, ?, ?) ORDER BY x.number DESC LIMIT 1)"
)


async def group_speaker(
    user: UserRef, platform: Platform, corp_id: str, chat_id: str
) -> Speaker | None:
    """The society bound to the group, locked for the rest of the transaction, and the speaker
    in it (None: no society is bound). SQLite (one writer: the transaction's first write already
    holds the database) reads it all at once; PostgreSQL locks the society's row first and reads
    the rest after the lock, so a change committed while it waited is seen."""
    speaker = (user.platform.value, user.corp_id, user.user_id)
    group = (platform.value, corp_id, chat_id)
    states = tuple(state.value for state in ACTIVE_STATES)
    if not can_lock_rows(m.Society):
        return await _sqlite_speaker(speaker, group, states)
    rows = await raw_rows(
        m.Society,
        f"SELECT {_SOCIETY_COLUMNS}{_SOCIETY_FROM}{_SOCIETY_WHERE} LIMIT 1 FOR UPDATE OF s",
        *speaker,
        *group,
    )
    if not rows:
        return None
    locked = rows[0]
    remembered = scenes.memory.recall(group)
    if remembered is not None and remembered.society.id == int(locked["id"]):
        found = await _postgres_speaker_on_scene(remembered, locked, group)
        if found is not None:
            return found
    scene = await raw_rows(m.Member, _POSTGRES_SCENE_READ, locked["p_id"], *states, locked["id"])
    return _scene_read(_speaker(locked, scene[0]), group, scene[0])


# PostgreSQL: the scene as SQLite remembers it, read and checked after the society's row is
# locked (the first read of `group_speaker`), so that what a transaction committed while this
# one waited for the lock is seen. The full read takes the head's columns in the same statement
# as the rows it stamps; the check reads the head locked (as `seals` would: it is `offered`)
# with the chain's last entry and the ballots of the scene's open votes.
_POSTGRES_SCENE_READ = (
    f"SELECT {_SCENE_COLUMNS}, "
    + ", ".join(f"h.{c} AS h_{c}" for c in seals.HEAD_COLUMNS)
    + ", rs.chain_key AS h_chain_key,"
    " (SELECT string_agg(x.person_id || ':' || x.roster_role || ':' || x.position, ',')"
    " FROM member x WHERE x.society_id = s.id) AS members__,"
    " (SELECT string_agg(o.person_id::text, ',') FROM observer o WHERE o.meeting_id = mt.id)"
    f" AS observers__ FROM society s LEFT JOIN person p ON p.id = ?{_SCENE_JOINS}"
    " LEFT JOIN row_seal rs ON rs.tbl = 'society' AND rs.row_id = s.id"
    " LEFT JOIN chain_head h ON h.chain_key = rs.chain_key"
    " WHERE s.id = ?"
)
_POSTGRES_SCENE_CHECK = (
    f"SELECT {', '.join(f'h.{c}' for c in seals.HEAD_COLUMNS)}, {{ballots}} AS ballots__,"
    f" {{left}} AS left__, {seals.TIP_COLUMNS} FROM chain_head h WHERE h.chain_key = ?"
    " FOR UPDATE OF h"
)


async def _postgres_speaker_on_scene(
    scene: scenes.Scene, locked: Mapping[str, Any], group: tuple[str, str, str]
) -> Speaker | None:
    """The speaker on the remembered scene when it holds (the society's head, read under the
    society's lock, shows its rows unchanged); None: read the scene again. The unit of work
    keeps it, with the head and the ballots read, for the command."""
    votes = scene.votes or ()
    ballots, left, params = "NULL", "NULL", []
    if votes and scene.meeting is not None:
        each = "string_agg(b.vote_id || ':' || b.person_id || ':' || b.choice, ',')"
        ballots = f"(SELECT {each} FROM ballot b WHERE b.vote_id = ANY(?))"
        left = _LEFT.format(joined(m.Attendance, _text(m.Attendance, "a.person_id")))
        params = [[vote.id for vote, _ in votes], scene.meeting.id]
    rows = await raw_rows(
        m.ChainHead,
        _POSTGRES_SCENE_CHECK.format(ballots=ballots, left=left),
        *params,
        *(f"society:{scene.society.id}",) * 2,
        scene.chain_key,
    )
    if not rows:
        return None
    head = rows[0]
    sums = seals.current_sums(scene.chain_key, head)
    if sums is None or scenes.stamp_of(sums) != scene.stamp:
        return None
    cast_so_far = scenes.parse_ballots(head["ballots__"])
    scenes.enter(
        scenes.Entered(group, scene, cast_so_far, seals.writes.moves, head, _left_of(head, votes))
    )
    return _on_scene(scene, _person_of(locked))


# SQLite: the group's scene (storage/scenes.py) is remembered between messages. A message checks
# the remembered scene against the society's head, reading the speaker, the head (with its
# chain's last entry, for the command's first move: `seals.offered`) and the ballots of the
# scene's open votes at once; one that does not hold, or none, is read in full with what the
# scene needs besides (the head, the roster, the meeting's observers), in one read. A society
# whose row's seal does not name its chain key has no scene (verify reports the seal).
_SCENE_CHECK = (
    "SELECT cb.society_id AS sid, p.id AS p_id, p.name AS p_name, p.is_party_member AS p_party, "
    + ", ".join(f"h.{c}" for c in seals.HEAD_COLUMNS)
    + f", {{ballots}} AS ballots__, {{left}} AS left__, {seals.TIP_COLUMNS} FROM chat_binding cb"
    " LEFT JOIN identity i ON i.platform = ? AND i.corp_id = ? AND i.user_id = ?"
    " LEFT JOIN person p ON p.id = i.person_id"
    " LEFT JOIN chain_head h ON h.chain_key = ?"
    f"{_SOCIETY_WHERE} LIMIT 1"
)
_SCENE_READ = (
    f"SELECT {_SOCIETY_COLUMNS}, {_SCENE_COLUMNS}, "
    + ", ".join(f"h.{c} AS h_{c}" for c in seals.HEAD_COLUMNS)
    + ", rs.chain_key AS h_chain_key,"
    " (SELECT group_concat(x.person_id || ':' || x.roster_role || ':' || x.position, ',')"
    " FROM member x WHERE x.society_id = s.id) AS members__,"
    " (SELECT group_concat(o.person_id, ',') FROM observer o WHERE o.meeting_id = mt.id)"
    f" AS observers__{_SOCIETY_FROM}{_SCENE_JOINS}"
    # The head is found through the society row's seal, which names its chain key (checked).
    " LEFT JOIN row_seal rs ON rs.tbl = 'society' AND rs.row_id = s.id"
    " LEFT JOIN chain_head h ON h.chain_key = rs.chain_key"
    f"{_SOCIETY_WHERE} LIMIT 1"
)


async def _sqlite_speaker(
    speaker: tuple[str, str, str], group: tuple[str, str, str], states: tuple[str, ...]
) -> Speaker | None:
    remembered = scenes.memory.recall(group)
    if remembered is not None:
        holds, found = await _speaker_on_scene(remembered, speaker, group)
        if holds:
            return found
    rows = await raw_rows(m.Society, _SCENE_READ, *speaker, *states, *group)
    if not rows:
        return None
    return _scene_read(_speaker(rows[0], rows[0]), group, rows[0])


def _scene_read(found: Speaker, group: tuple[str, str, str], r: Mapping[str, Any]) -> Speaker:
    """`found`, read in full with its scene (`r`: the roster, the observers and the head found
    through the society row's seal, `h_`); the scene is remembered when that seal names the
    society's own chain key."""
    ck = seals.chain_key(server_key(), found.society.id)
    if r["h_chain_key"] == ck:
        head = {c: r[f"h_{c}"] for c in seals.HEAD_COLUMNS} if r["h_mac"] is not None else None
        _remember_scene(found, group, ck, head, r)
    return found


async def _speaker_on_scene(
    scene: scenes.Scene, speaker: tuple[str, str, str], group: tuple[str, str, str]
) -> tuple[bool, Speaker | None]:
    """Whether the remembered scene holds (the society's head shows its rows unchanged), and
    the speaker on it (None: the group is bound to no society now). The unit of work keeps a
    scene that holds, with the head and the ballots read, for the command."""
    votes = scene.votes or ()
    ballots, left, meeting = "NULL", "NULL", tuple[int, ...]()
    if votes and scene.meeting is not None:
        cast_so_far = joined(m.Ballot, "b.vote_id || ':' || b.person_id || ':' || b.choice")
        ballots = f"(SELECT {cast_so_far} FROM ballot b WHERE b.vote_id IN ({marks(len(votes))}))"
        left = _LEFT.format(joined(m.Attendance, _text(m.Attendance, "a.person_id")))
        meeting = (scene.meeting.id,)
    rows = await raw_rows(
        m.Society,
        _SCENE_CHECK.format(ballots=ballots, left=left),
        *(vote.id for vote, _ in votes),
        *meeting,
        *(f"society:{scene.society.id}",) * 2,
        *speaker,
        scene.chain_key,
        *group,
    )
    if not rows:
        return True, None
    r = rows[0]
    head = None if r["mac"] is None else r
    if int(r["sid"]) != scene.society.id:
        return False, None
    sums = seals.current_sums(scene.chain_key, head)
    if sums is None or scenes.stamp_of(sums) != scene.stamp:
        return False, None
    ballots_cast = scenes.parse_ballots(r["ballots__"])
    scenes.enter(
        scenes.Entered(group, scene, ballots_cast, seals.writes.moves, head, _left_of(r, votes))
    )
    return True, _on_scene(scene, _person_of(r))


# Who has left the scene's meeting (离席), read with the check when votes are open: a ballot
# needs it (attendance is not a scene table: read every time, like the ballots).
_LEFT = "(SELECT {} FROM attendance a WHERE a.meeting_id = ? AND a.status = 'left')"


def _text(model: type[Model], column: str) -> str:
    """A whole-number column as text for `joined` (string_agg takes text only)."""
    return f"{column}::text" if is_postgres(model) else column


def _left_of(r: Mapping[str, Any], votes: Sequence[object]) -> frozenset[int] | None:
    if not votes:
        return None
    return frozenset(int(p) for p in str(r["left__"] or "").split(",") if p)


def _person_of(r: Mapping[str, Any]) -> Person | None:
    """The speaker's person as `_SOCIETY_COLUMNS` read it (`p_`); None: not registered."""
    if r["p_id"] is None:
        return None
    return Person(int(r["p_id"]), str(r["p_name"]), bool(r["p_party"]))


def _on_scene(scene: scenes.Scene, person: Person | None) -> Speaker:
    """The speaker in a scene that holds."""
    member = None if person is None else scene.members.get(person.id)
    return Speaker(
        scene.society,
        person,
        None
        if person is None or member is None
        else Member(person, member[0], g.CouncilPosition(member[1])),
        scene.meeting,
        person is not None and scene.meeting is not None and person.id in scene.observers,
    )


def _remember_scene(
    found: Speaker,
    group: tuple[str, str, str],
    ck: str,
    head: Mapping[str, Any] | None,
    r: Mapping[str, Any],
) -> None:
    """Remember the scene `found` was read from, with the roster and observers read with it
    (`members__`, `observers__`), stamped with the society's head as this transaction has it
    (`head`: as stored; a batch's copy wins). A society without a genuine head has no scene."""
    sums = seals.current_sums(ck, head)
    if sums is None:
        return
    members = {
        int(person): (role, position) for person, role, position in split_joined(r["members__"])
    }
    observers = frozenset(int(person) for (person,) in split_joined(r["observers__"]))
    scene = scenes.Scene(
        ck,
        scenes.stamp_of(sums),
        found.society,
        found.meeting,
        members,
        observers,
        moved=scenes.memory.moves_of(ck),
    )
    scenes.memory.keep(group, scene)
    scenes.enter(scenes.Entered(group, scene, {}, seals.writes.moves))


def _speaker(head: dict[str, Any], scene: dict[str, Any]) -> Speaker:
    """A Speaker from the rows `group_speaker` read: the society's own columns, the person's
    (`p_`) and the roster entry's and meeting's (`mb_`, `mt_`), each mapped as a row of its
    table would be."""
    person = _person_of(head)
    society = society_row(head)
    member = (
        None
        if person is None or scene["mb_role"] is None
        else Member(person, str(scene["mb_role"]), g.CouncilPosition(scene["mb_position"]))
    )
    meeting = None
    if scene["mt_id"] is not None:
        meeting = meeting_row({c: scene[f"mt_{c}"] for c in _MEETING_COLUMNS})
    observer = meeting is not None and person is not None and bool(scene["mt_observer"])
    return Speaker(society, person, member, meeting, observer)


# ---------------------------------------------------------------------------------------------
# Roster


async def members(society_id: int) -> list[Member]:
    rows = await m.Member.filter(society_id=society_id).prefetch_related("person").order_by("id")
    return [Member(_person(r.person), r.roster_role, g.CouncilPosition(r.position)) for r in rows]


async def roster(society_id: int) -> list[Member]:
    return [x for x in await members(society_id) if x.on_roster]


async def member(society_id: int, person_id: int) -> Member | None:
    rows = await raw_rows(
        m.Member,
        "SELECT person.*, member.roster_role AS member_roster_role,"
        " member.position AS member_position FROM member"
        " JOIN person ON person.id = member.person_id"
        " WHERE member.society_id = ? AND member.person_id = ? LIMIT 1",
        society_id,
        person_id,
    )
    if not rows:
        return None
    row = rows[0]
    return Member(
        _person(model_of(m.Person, row)),
        str(row["member_roster_role"]),
        g.CouncilPosition(row["member_position"]),
    )


async def put_member(
    society_id: int, person_id: int, *, roster_role: str, position: g.CouncilPosition | None = None
) -> None:
    r = await m.Member.filter(society_id=society_id, person_id=person_id).first()
    if r is None:
        row = await m.Member.create(
            society_id=society_id,
            person_id=person_id,
            roster_role=roster_role,
            position=(position or g.CouncilPosition.NONE).value,
        )
        await seals.touch("member", row.id)
        return
    async with seals.rewrite("member", r.id):
        r.roster_role = roster_role
        if position is not None:
            r.position = position.value
        await r.save()


async def create_roster_change(
    society_id: int,
    *,
    kind: str,
    person_id: int,
    roster_role: str,
    position: g.CouncilPosition,
    reason: str,
    requested_by: int,
    now: datetime,
) -> int:
    r = await m.RosterChange.create(
        society_id=society_id,
        kind=kind,
        person_id=person_id,
        roster_role=roster_role,
        position=position.value,
        reason=reason,
        requested_by_id=requested_by,
        created_at=now,
    )
    await seals.touch("roster_change", r.id)
    return int(r.id)


def _change(r: m.RosterChange) -> RosterChange:
    return RosterChange(
        id=r.id,
        society_id=r.society_id,  # type: ignore[attr-defined]
        society_name=r.society.name,
        kind=r.kind,
        person=_person(r.person),
        roster_role=r.roster_role,
        position=g.CouncilPosition(r.position),
        reason=r.reason,
        status=r.status,
        requested_by=_person(r.requested_by),
        exception=r.exception,
        decision_note=r.decision_note,
        created_at=utc(r.created_at),
    )


async def roster_changes(
    *, status: str | None = None, society_id: int | None = None
) -> list[RosterChange]:
    q = m.RosterChange.all()
    if status is not None:
        q = q.filter(status=status)
    if society_id is not None:
        q = q.filter(society_id=society_id)
    rows = await q.order_by("id").prefetch_related("society", "person", "requested_by")
    return [_change(r) for r in rows]


async def roster_change(change_id: int) -> RosterChange | None:
    r = (
        await m.RosterChange.filter(id=change_id)
        .prefetch_related("society", "person", "requested_by")
        .first()
    )
    return None if r is None else _change(r)


async def decide_roster_change(
    change_id: int, *, status: str, decided_by: int, exception: bool, note: str, now: datetime
) -> None:
    async with seals.rewrite("roster_change", change_id):
        await m.RosterChange.filter(id=change_id).update(
            status=status,
            decided_by_id=decided_by,
            exception=exception,
            decision_note=note,
            decided_at=now,
        )


# ---------------------------------------------------------------------------------------------
# Meetings


ACTIVE_STATES = (g.MeetingState.DRAFT, g.MeetingState.CONVENED, g.MeetingState.OPEN)


async def create_meeting(
    society_id: int,
    *,
    starts_at: datetime,
    place: str,
    convened_by: int,
    state: g.MeetingState,
    now: datetime,
) -> Meeting:
    """A new meeting, numbered after the meetings not cancelled (第几次会议: a cancelled meeting
    was never held, so its number goes to the next one convened; the cancelled row then holds
    -id, which no number shown is). Numbers given before stay as they are: signed minutes carry
    theirs."""
    last = (
        await m.Meeting.filter(society_id=society_id)
        .exclude(state=g.MeetingState.CANCELLED.value)
        .order_by("-number")
        .first()
    )
    number = 1 if last is None else last.number + 1
    for cancelled in await m.Meeting.filter(society_id=society_id, number=number):
        await update_meeting(cancelled.id, number=-cancelled.id)  # gives its number back
    x = await m.Meeting.create(
        society_id=society_id,
        number=number,
        place=place,
        starts_at=starts_at,
        state=state.value,
        convened_by_id=convened_by,
        chair_id=convened_by,
        created_at=now,
    )
    await seals.touch("meeting", x.id)
    return _meeting(x)


async def active_meeting(society_id: int) -> Meeting | None:
    rows = await raw_rows(
        m.Meeting,
        "SELECT * FROM meeting WHERE society_id = ? AND state IN (?, ?, ?)"
        " ORDER BY number DESC LIMIT 1",
        society_id,
        *(state.value for state in ACTIVE_STATES),
    )
    return meeting_row(rows[0]) if rows else None


async def active_meeting_seen_by(society_id: int, person_id: int) -> tuple[Meeting | None, bool]:
    """The society's active meeting (as `active_meeting`) and whether the person observes it
    (列席), in one read: every command asks both."""
    rows = await raw_rows(
        m.Meeting,
        "SELECT meeting.*, EXISTS (SELECT 1 FROM observer WHERE observer.meeting_id = meeting.id"
        " AND observer.person_id = ?) AS seen_as_observer FROM meeting"
        " WHERE society_id = ? AND state IN (?, ?, ?) ORDER BY number DESC LIMIT 1",
        person_id,
        society_id,
        *(state.value for state in ACTIVE_STATES),
    )
    if not rows:
        return None, False
    row = rows[0]
    return meeting_row(row), bool(row["seen_as_observer"])


async def latest_meeting(society_id: int) -> Meeting | None:
    x = (
        await m.Meeting.filter(society_id=society_id)
        .exclude(state=g.MeetingState.CANCELLED.value)
        .order_by("-number")
        .first()
    )
    return None if x is None else _meeting(x)


async def set_focus(meeting_id: int, number: int, now: datetime, *, studied: bool = False) -> None:
    """The meeting is on item `number` now (models.MeetingFocus); in the command's unit of work,
    under the society's lock, so no two commands of one meeting race to create the row.
    `studied`: the item is one only studied (g.NOT_VOTED), done once turned to
    (studied_items)."""
    row = await m.MeetingFocus.filter(meeting_id=meeting_id).first()
    if row is None:
        await m.MeetingFocus.create(
            meeting_id=meeting_id, number=number, at=now, studied=str(number) if studied else ""
        )
        return
    done = _studied(row.studied) | ({number} if studied else set())
    await m.MeetingFocus.filter(id=row.id).update(
        number=number, at=now, studied=",".join(str(n) for n in sorted(done))
    )


def _studied(column: str | None) -> frozenset[int]:
    return frozenset(int(n) for n in (column or "").split(",") if n)


async def focus(meeting_id: int) -> int | None:
    """The item the chair last turned to in the meeting, if any."""
    row = await m.MeetingFocus.filter(meeting_id=meeting_id).first()
    return None if row is None else row.number


async def studied_items(meeting_id: int) -> frozenset[int]:
    """The numbers of the study items the chair has turned to in the meeting (set_focus)."""
    row = await m.MeetingFocus.filter(meeting_id=meeting_id).first()
    return frozenset() if row is None else _studied(row.studied)


async def recent_meetings(society_id: int, limit: int) -> list[Meeting]:
    """The society's last `limit` meetings (cancelled ones too), the latest convened first."""
    rows = await m.Meeting.filter(society_id=society_id).order_by("-id").limit(limit)
    return [_meeting(x) for x in rows]


async def held_starts(society_id: int) -> list[datetime]:
    """When each meeting that was held (opened, whatever came of it) was to start."""
    held = [s.value for s in g.HELD_STATES]
    rows = await m.Meeting.filter(society_id=society_id, state__in=held)
    return sorted(_meeting(x).starts_at for x in rows)


async def meeting(meeting_id: int) -> Meeting:
    return _meeting(await m.Meeting.get(id=meeting_id))


async def meeting_numbers(society_id: int) -> dict[int, int]:
    """Meeting id -> its number in the society (第几次会议); a cancelled meeting that gave its
    number back has none."""
    rows = await m.Meeting.filter(society_id=society_id).values_list("id", "number")
    return {int(i): int(n) for i, n in rows if int(n) > 0}


async def meetings_in_year(society_id: int, year: int) -> list[Meeting]:
    start = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    rows = await m.Meeting.filter(
        society_id=society_id, starts_at__gte=start, starts_at__lt=end
    ).order_by("number")
    return [_meeting(x) for x in rows]


async def update_meeting(meeting_id: int, **fields: Any) -> None:
    for key, value in list(fields.items()):
        if isinstance(value, g.MeetingState):
            fields[key] = value.value
        elif key == "roster":
            fields[key] = json.dumps(sorted(value))
    async with seals.rewrite("meeting", meeting_id):
        await m.Meeting.filter(id=meeting_id).update(**fields)


async def items(meeting_id: int) -> list[Item]:
    return [_item(x) for x in await m.AgendaItem.filter(meeting_id=meeting_id).order_by("number")]


async def item(item_id: int) -> Item:
    return _item(await m.AgendaItem.get(id=item_id))


async def add_item(
    meeting_id: int,
    *,
    title: str,
    matter_type: g.MatterType,
    state: g.ItemState,
    proposed_by: int,
    carried_from: int | None = None,
) -> Item:
    last = await m.AgendaItem.filter(meeting_id=meeting_id).order_by("-number").first()
    number = 1 if last is None else last.number + 1
    x = await m.AgendaItem.create(
        meeting_id=meeting_id,
        number=number,
        title=title,
        matter_type=matter_type.value,
        state=state.value,
        proposed_by_id=proposed_by,
        carried_from_id=carried_from,
    )
    await seals.touch("agenda_item", x.id)
    return _item(x)


async def update_item(item_id: int, *, checked: bool = False, **fields: Any) -> None:
    """`checked`: what is written was decided from the row (its matter type, its emergency):
    `seals.Tampered`, nothing written, when the row does not match its seal."""
    for key, value in list(fields.items()):
        if isinstance(value, g.ItemState | g.Outcome | g.MatterType):
            fields[key] = value.value
    async with seals.rewrite("agenda_item", item_id, strict=checked):
        await m.AgendaItem.filter(id=item_id).update(**fields)


async def pending_deferred_items(society_id: int) -> list[Item]:
    rows = await m.AgendaItem.filter(
        meeting__society_id=society_id, state=g.ItemState.DEFERRED.value, carried=False
    ).order_by("id")
    return [_item(x) for x in rows]


async def attendance(meeting_id: int) -> dict[int, AttendanceRecord]:
    rows = await m.Attendance.filter(meeting_id=meeting_id)
    return {
        r.person_id: AttendanceRecord(r.person_id, g.Attendance(r.status), r.reason, utc(r.at))  # type: ignore[attr-defined]
        for r in rows
    }


async def checked_attendance(meeting_id: int) -> dict[int, AttendanceRecord]:
    """`attendance` for a quorum the bot decides from it (a vote's opening, hands and close, a
    meeting's opening and close), each row read with its seal: `seals.Tampered` when one does
    not match (an absent member made present makes a quorum that was not there). One read, as
    `attendance`."""
    rows = await raw_rows(
        m.Attendance,
        seals.TABLES["attendance"].select_sealed("WHERE t.meeting_id = ?"),
        meeting_id,
    )
    seals.check_rows("attendance", rows)
    return {
        int(r["person_id"]): AttendanceRecord(
            int(r["person_id"]), g.Attendance(r["status"]), str(r["reason"]), when(r["at"])
        )
        for r in rows
    }


async def left_meeting(meeting_id: int) -> frozenset[int]:
    """Who has left the meeting (离席) and not come back: they vote no more. A unit of work
    whose scene holds has it read with the check."""
    entered = scenes.entered_for(meeting_id)
    if entered is not None and entered.left is not None:
        return entered.left
    rows = await raw_rows(
        m.Attendance,
        "SELECT person_id FROM attendance WHERE meeting_id = ? AND status = ?",
        meeting_id,
        g.Attendance.LEFT.value,
    )
    return frozenset(int(r["person_id"]) for r in rows)


async def set_attendance(
    meeting_id: int, person_id: int, status: g.Attendance, *, reason: str, now: datetime
) -> None:
    r = await m.Attendance.filter(meeting_id=meeting_id, person_id=person_id).first()
    if r is None:
        row = await m.Attendance.create(
            meeting_id=meeting_id, person_id=person_id, status=status.value, reason=reason, at=now
        )
        await seals.touch("attendance", row.id)
        return
    async with seals.rewrite("attendance", r.id):
        r.status = status.value
        r.reason = reason
        r.at = now
        await r.save()


async def observers(meeting_id: int) -> dict[int, str]:
    rows = await raw_rows(
        m.Observer,
        "SELECT person_id, reason FROM observer WHERE meeting_id = ? ORDER BY id",
        meeting_id,
    )
    return {int(r["person_id"]): str(r["reason"]) for r in rows}


async def add_observer(meeting_id: int, person_id: int, reason: str) -> bool:
    if await m.Observer.filter(meeting_id=meeting_id, person_id=person_id).exists():
        return False
    row = await m.Observer.create(meeting_id=meeting_id, person_id=person_id, reason=reason)
    await seals.touch("observer", row.id)
    return True


async def recused(item_id: int) -> frozenset[int]:
    rows = await m.Recusal.filter(item_id=item_id).values_list("person_id", flat=True)
    return frozenset(int(x) for x in rows)  # type: ignore[call-overload]


async def add_recusal(item_id: int, person_id: int) -> bool:
    if await m.Recusal.filter(item_id=item_id, person_id=person_id).exists():
        return False
    row = await m.Recusal.create(item_id=item_id, person_id=person_id)
    await seals.touch("recusal", row.id)
    return True


async def add_opinion(item_id: int, person_id: int, text: str, now: datetime) -> None:
    row = await m.WrittenOpinion.create(item_id=item_id, person_id=person_id, text=text, at=now)
    await seals.touch("written_opinion", row.id)


async def withdraw_opinions(item_ids: Iterable[int], person_id: int) -> list[int]:
    """The person's written opinions on these items go (they attend after all); returns the
    items that had one."""
    rows = await m.WrittenOpinion.filter(item_id__in=list(item_ids), person_id=person_id)
    for row in rows:
        await row.delete()
        await seals.touch("written_opinion", row.id)
    return sorted({row.item_id for row in rows})  # type: ignore[attr-defined]


async def opinions(item_id: int) -> list[tuple[int, str]]:
    rows = await m.WrittenOpinion.filter(item_id=item_id).order_by("id")
    return [(r.person_id, r.text) for r in rows]  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# Votes and ballots


def _electorate_json(e: g.Electorate) -> str:
    return json.dumps(
        {"roster": sorted(e.roster), "present": sorted(e.present), "recused": sorted(e.recused)}
    )


def electorate_of(text: str) -> g.Electorate:
    """`vote.electorate` as `_electorate_json` wrote it."""
    e = json.loads(text)
    return g.Electorate(frozenset(e["roster"]), frozenset(e["present"]), frozenset(e["recused"]))


async def open_vote(
    item_id: int, *, method: g.VoteMethod, electorate: g.Electorate, now: datetime
) -> Vote:
    x = await m.Vote.create(
        item_id=item_id,
        method=method.value,
        state=g.VoteState.OPEN.value,
        electorate=_electorate_json(electorate),
        opened_at=now,
    )
    await seals.touch("vote", x.id)
    if method is g.VoteMethod.SECRET:
        voters = await m.SecretVoterList.create(vote_id=x.id, voters="[]")
        await seals.touch("secret_voter_list", voters.id)
    return _vote(x)


async def vote(vote_id: int) -> Vote:
    return _vote(await m.Vote.get(id=vote_id))


async def vote_or_none(vote_id: int) -> Vote | None:
    found = await m.Vote.get_or_none(id=vote_id)
    return None if found is None else _vote(found)


async def open_votes(meeting_id: int) -> list[tuple[Vote, Item]]:
    """The meeting's open votes with their items, in one read."""
    return [(vote, item) for vote, item, _ in await open_votes_with_ballots(meeting_id)]


async def open_votes_with_ballots(
    meeting_id: int,
) -> list[tuple[Vote, Item, dict[int, g.Choice]]]:
    """The meeting's open votes with their items and each vote's named ballots (person ->
    choice; none for a secret vote or a show of hands), in one read: what a ballot needs to know
    before it is cast. A unit of work whose scene holds (storage/scenes.py) has the votes and
    items remembered and the ballots read with the check."""
    entered = scenes.entered_for(meeting_id)
    if entered is not None and entered.scene.votes is not None:
        return [
            (vote, item, {p: g.Choice(c) for p, c in entered.ballots.get(vote.id, {}).items()})
            for vote, item in entered.scene.votes
        ]
    columns = tuple(m.AgendaItem._meta.fields_db_projection.values())  # known once the ORM runs
    item_columns = ", ".join(f"agenda_item.{c} AS item__{c}" for c in columns)
    ballots = joined(m.Ballot, "ballot.person_id || ':' || ballot.choice")
    left = _LEFT.format(joined(m.Attendance, _text(m.Attendance, "a.person_id")))
    rows = await raw_rows(
        m.Vote,
        f"SELECT vote.*, {item_columns}, (SELECT {ballots} FROM ballot"
        f" WHERE ballot.vote_id = vote.id) AS ballots__, {left} AS left__ FROM vote"
        " JOIN agenda_item ON agenda_item.id = vote.item_id"
        " WHERE agenda_item.meeting_id = ? AND vote.state = ? ORDER BY vote.id",
        meeting_id,
        meeting_id,
        g.VoteState.OPEN.value,
    )
    out = []
    for row in rows:
        named = {int(voter): g.Choice(choice) for voter, choice in split_joined(row["ballots__"])}
        out.append((vote_row(row), item_row({c: row[f"item__{c}"] for c in columns}), named))
    if entered is not None:
        scenes.memory.keep_votes(entered, [(vote, item) for vote, item, _ in out])
        if rows:  # who has left, read with the votes: the ballot asks next
            scenes.enter(replace(entered, left=_left_of(rows[0], rows)))
    return out


async def open_votes_of(person_id: int) -> list[tuple[int, Vote, Item]]:
    """The open votes (any method) in every society the person is a member of, oldest
    first, each with its society's id: where a private ballot of theirs may be meant for."""
    rows = await raw_rows(
        m.Vote,
        "SELECT vote.id AS id, meeting.society_id AS society_id FROM vote"
        " JOIN agenda_item ON agenda_item.id = vote.item_id"
        " JOIN meeting ON meeting.id = agenda_item.meeting_id"
        " JOIN member ON member.society_id = meeting.society_id"
        " WHERE member.person_id = ? AND vote.state = ? ORDER BY vote.id",
        person_id,
        g.VoteState.OPEN.value,
    )
    found = []
    for row in rows:
        x = await vote(int(row["id"]))
        found.append((int(row["society_id"]), x, await item(x.item_id)))
    return found


async def votes_of_item(item_id: int) -> list[Vote]:
    return [_vote(x) for x in await m.Vote.filter(item_id=item_id).order_by("id")]


async def named_ballots(vote_id: int) -> dict[int, g.Choice]:
    rows = await raw_rows(
        m.Ballot, "SELECT person_id, choice FROM ballot WHERE vote_id = ?", vote_id
    )
    return {int(r["person_id"]): g.Choice(r["choice"]) for r in rows}


async def checked_named_ballots(vote_id: int, person_id: int | None = None) -> dict[int, g.Choice]:
    """`named_ballots` (or the one of `person_id`) for what is decided or shown from them (a
    close, 计票, 「我投了吗」, 「已投过」), each row read with its seal: `seals.Tampered` when one
    does not match. One read, as `named_ballots`."""
    where, params = "WHERE t.vote_id = ?", [vote_id]
    if person_id is not None:
        where, params = where + " AND t.person_id = ?", [vote_id, person_id]
    rows = await raw_rows(m.Ballot, seals.TABLES["ballot"].select_sealed(where), *params)
    seals.check_rows("ballot", rows)
    return {int(r["person_id"]): g.Choice(r["choice"]) for r in rows}


async def checked_secret_voters(vote_id: int) -> frozenset[int]:
    """`secret_voters` read with its seal, for a close: `seals.Tampered` when it does not
    match (who is listed decides how many ballots the box must hold)."""
    rows = await raw_rows(
        m.SecretVoterList,
        seals.TABLES["secret_voter_list"].select_sealed("WHERE t.vote_id = ?"),
        vote_id,
    )
    seals.check_rows("secret_voter_list", rows)
    return frozenset(json.loads(rows[0]["voters"])) if rows else frozenset()


async def put_named_ballot(
    society_id: int, vote_id: int, person_id: int, choice: g.Choice, *, first: bool | None = None
) -> str:
    """Insert or change a named ballot of a vote of the society; return its receipt.
    `first=True` (the caller read the ballots under the society lock and found none of this
    voter) skips the look-up; the unique index still refuses a second row."""
    r = None if first else await m.Ballot.filter(vote_id=vote_id, person_id=person_id).first()
    if r is None:
        receipt = secrets.token_hex(4)
        row = {
            "vote_id": vote_id,
            "person_id": person_id,
            "choice": choice.value,
            "receipt": receipt,
            "changes": 0,
        }
        written = await raw_rows(
            m.Ballot,
            "INSERT INTO ballot (vote_id, person_id, choice, receipt, changes)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            *row.values(),
        )
        await seals.seal_new("ballot", int(written[0]["id"]), society_id, row)
        return receipt
    # A changed ballot stands on the one it replaces: a row that no longer matches its seal
    # is left as found (`seals.Tampered`), never overwritten nor answered 「原为…」 from.
    async with seals.rewrite("ballot", r.id, strict=True):
        r.choice = choice.value
        r.changes += 1
        await r.save()
    return str(r.receipt)


async def secret_voters(vote_id: int) -> frozenset[int]:
    r = await m.SecretVoterList.get(vote_id=vote_id)
    return frozenset(json.loads(r.voters))


async def cast_secret_ballot(vote_id: int, person_id: int, choice: g.Choice) -> str:
    """Add the voter to the sorted voter list and a sealed box entry (random id, no time; the
    choice and the receipt's keyed digest sealed): the two share no key, order or time, and
    nothing readable without the server key. Return the receipt."""
    voters = await m.SecretVoterList.get(vote_id=vote_id)
    async with seals.rewrite("secret_voter_list", voters.id):
        listed = set(json.loads(voters.voters))
        listed.add(person_id)
        voters.voters = json.dumps(sorted(listed))
        await voters.save()
    receipt = secrecy.new_receipt()
    entry_id = secrecy.new_entry_id()
    sealed = secrecy.seal_ballot(vote_id, entry_id, choice, secrecy.receipt_digest(receipt))
    await m.SecretBallotSealed.create(id=entry_id, vote_id=vote_id, sealed=sealed)
    return receipt


async def secret_box(vote_id: int) -> list[tuple[str, g.Choice]]:
    """The box as (receipt digest, choice) sorted by digest: the plain box of a closed vote, or
    the sealed entries opened (the vote is being closed)."""
    rows = await raw_rows(
        m.SecretBoxEntry, "SELECT digest, choice FROM secret_box_entry WHERE vote_id = ?", vote_id
    )
    box = [(str(r["digest"]), g.Choice(r["choice"])) for r in rows]
    sealed = await raw_rows(
        m.SecretBallotSealed,
        "SELECT id, sealed FROM secret_ballot_sealed WHERE vote_id = ?",
        vote_id,
    )
    box += [secrecy.open_ballot(vote_id, str(r["id"]), str(r["sealed"])) for r in sealed]
    return sorted(box, key=lambda e: e[0])


async def unseal_secret_box(vote_id: int) -> list[tuple[str, g.Choice]]:
    """At close (inside the closing transaction): open the sealed entries, write the plain box
    in a random order with fresh random ids, delete the sealed rows. Returns the box sorted by
    digest (what the close event carries). SealError when the box holds plain entries already
    (only a close writes them: put there behind the bot's back) or a sealed entry that does not
    open with the key."""
    plain = await raw_rows(
        m.SecretBoxEntry, "SELECT id FROM secret_box_entry WHERE vote_id = ? LIMIT 1", vote_id
    )
    if plain:
        raise SealError(f"vote {vote_id}: plain box entries before its close")
    box = await secret_box(vote_id)
    shuffled = list(box)
    secrets.SystemRandom().shuffle(shuffled)
    await raw_execute(
        m.SecretBallotSealed, "DELETE FROM secret_ballot_sealed WHERE vote_id = ?", vote_id
    )
    await raw_execute(m.SecretBoxEntry, "DELETE FROM secret_box_entry WHERE vote_id = ?", vote_id)
    for entry_digest, choice in shuffled:
        await m.SecretBoxEntry.create(
            id=secrecy.new_entry_id(), vote_id=vote_id, digest=entry_digest, choice=choice.value
        )
    return box


async def discard_secret_ballots(vote_id: int) -> None:
    """A vote closed without a count (deferred by hand): its sealed entries go."""
    await raw_execute(
        m.SecretBallotSealed, "DELETE FROM secret_ballot_sealed WHERE vote_id = ?", vote_id
    )


async def find_receipt(receipt: str) -> list[tuple[int, g.Choice]]:
    """The closed secret votes whose plain box holds this receipt: (vote id, choice). A box
    closed before 0012 holds the receipts it announced as they were."""
    rows = await raw_rows(
        m.SecretBoxEntry,
        "SELECT vote_id, choice FROM secret_box_entry WHERE digest IN (?, ?) ORDER BY vote_id",
        secrecy.receipt_digest(receipt),
        receipt.strip().lower(),
    )
    return [(int(r["vote_id"]), g.Choice(r["choice"])) for r in rows]


async def record_hands(vote_id: int, counts: dict[str, int]) -> None:
    async with seals.rewrite("vote", vote_id):
        await m.Vote.filter(id=vote_id).update(hands=json.dumps(counts))


async def close_vote(
    vote_id: int, *, result: dict[str, Any], now: datetime, checked: bool = False
) -> None:
    """`checked`: the result was counted from the vote row (its electorate, method, hands):
    `seals.Tampered`, nothing written, when the row does not match its seal."""
    async with seals.rewrite("vote", vote_id, strict=checked):
        await m.Vote.filter(id=vote_id).update(
            state=g.VoteState.CLOSED.value, result=canonical_json(result), closed_at=now
        )


async def meeting_votes(meeting_id: int) -> list[Vote]:
    rows = await m.Vote.filter(item__meeting_id=meeting_id).order_by("id")
    return [_vote(x) for x in rows]


# ---------------------------------------------------------------------------------------------
# Minutes


def _minutes(x: m.MinutesVersion, signed: bool) -> MinutesVersion:
    return MinutesVersion(
        id=x.id,
        meeting_id=x.meeting_id,  # type: ignore[attr-defined]
        version=x.version,
        body=x.body,
        notes=x.notes,
        digest=x.digest,
        created_at=utc(x.created_at),
        signed=signed,
    )


async def latest_minutes(meeting_id: int) -> MinutesVersion | None:
    x = await m.MinutesVersion.filter(meeting_id=meeting_id).order_by("-version").first()
    if x is None:
        return None
    signed = await m.Signature.filter(minutes_id=x.id).exists()
    return _minutes(x, signed)


async def add_minutes_version(
    meeting_id: int, *, body: str, notes: str, created_by: int, now: datetime
) -> MinutesVersion:
    last = await m.MinutesVersion.filter(meeting_id=meeting_id).order_by("-version").first()
    version = 1 if last is None else last.version + 1
    x = await m.MinutesVersion.create(
        meeting_id=meeting_id,
        version=version,
        body=body,
        notes=notes,
        digest=digest(body + "\n" + notes),
        created_by_id=created_by,
        created_at=now,
    )
    await seals.touch("minutes_version", x.id)
    return _minutes(x, False)


async def sign_minutes(minutes_id: int, signer_id: int, now: datetime) -> str:
    x = await m.MinutesVersion.get(id=minutes_id)
    sig = await m.Signature.create(
        minutes_id=minutes_id, signer_id=signer_id, digest=x.digest, at=now
    )
    await seals.touch("signature", sig.id)
    return str(x.digest)


async def signed_minutes(meeting_id: int) -> MinutesVersion | None:
    sig = (
        await m.Signature.filter(minutes__meeting_id=meeting_id)
        .order_by("-id")
        .prefetch_related("minutes")
        .first()
    )
    return None if sig is None else _minutes(sig.minutes, True)


# ---------------------------------------------------------------------------------------------
# Filings and reports


def _filing(r: m.Filing) -> Filing:
    return Filing(
        id=r.id,
        society_id=r.society_id,  # type: ignore[attr-defined]
        society_name=r.society.name,
        kind=r.kind,
        title=r.title,
        body=r.body,
        filed_by=_person(r.filed_by),
        at=utc(r.at),
        acknowledged=r.acknowledged_at is not None,
    )


async def add_filing(
    society_id: int, *, kind: str, title: str, body: str, filed_by: int, now: datetime
) -> int:
    r = await m.Filing.create(
        society_id=society_id, kind=kind, title=title, body=body, filed_by_id=filed_by, at=now
    )
    await seals.touch("filing", r.id)
    return int(r.id)


async def filings(*, kind: str | None = None, society_id: int | None = None) -> list[Filing]:
    q = m.Filing.all()
    if kind is not None:
        q = q.filter(kind=kind)
    if society_id is not None:
        q = q.filter(society_id=society_id)
    return [_filing(r) for r in await q.order_by("id").prefetch_related("society", "filed_by")]


async def filing(filing_id: int) -> Filing | None:
    r = await m.Filing.filter(id=filing_id).prefetch_related("society", "filed_by").first()
    return None if r is None else _filing(r)


async def acknowledge_filing(filing_id: int, by: int, now: datetime) -> None:
    async with seals.rewrite("filing", filing_id):
        await m.Filing.filter(id=filing_id).update(acknowledged_by_id=by, acknowledged_at=now)


def sorted_ids(values: Sequence[int]) -> list[int]:
    return sorted(set(values))
