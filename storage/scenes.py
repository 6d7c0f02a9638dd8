"""A bound group's scene: what a message in the group reads of its society before the command
runs (the society's row, its roster, its active meeting, who observes that meeting, and the
meeting's open votes), remembered between messages and used only while the society's chain head
shows that the rows it was read from are unchanged (`repo.group_speaker`; on PostgreSQL the
check is made after the society's row is locked, so it sees what any other instance committed).

Why a scene in use is never stale:
1. Every column a scene is built from is covered by a row seal (`SCENE_TABLES` lists the tables;
   tests/test_scenes.py fails when one of their columns is not in `seals.TABLES`).
2. Every write of such a row moves its society's head in the same transaction (seals rule 2).
   The head's sums of these tables (count and XOR of row MACs; a MAC covers the row's id and
   sealed columns) are a digest of exactly the society's rows of these tables: equal sums,
   equal rows (short of a collision of the keyed MACs).
3. A scene is stamped with the sums of the head as the transaction that read it had it (the
   batch's copy when the transaction has moved it: `seals.current_sums`), and is used only when
   the head as the using transaction has it carries the same sums. A write by another process
   or instance, this transaction's own, one rolled back later: each either changes the rows and
   the sums together, or neither.
4. A head that is not genuine (its MAC fails) never stamps or validates a scene: moves stop at
   such a head, so its sums no longer follow the rows.
5. Within one unit of work the scene checked at its start serves the reads of the command only
   until this process moves any head (`seals.writes.moves`): the command's own writes show in
   what it reads next.
Not covered: a row changed behind the seals (tampering) and then rewritten by a command is not
re-sealed (`seals.rewrite`), so its head does not move; this process forgets every scene when it
does that (`seals.writes.blind`), another process's such write goes unseen until the head next
moves. `yishi verify` reports the tampered row either way.

Not in a scene: the speaker (person and identity are not sealed) and the ballots cast (read
with the check, every time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bot.bounded import Bounded
from bot.ledger import TableSum
from storage import seals
from storage.sql import split_joined

if TYPE_CHECKING:
    from storage.repo import Item, Meeting, Society, Vote

# The tables a scene is read from.
SCENE_TABLES = ("society", "chat_binding", "member", "meeting", "observer", "agenda_item", "vote")

# Scenes kept (one per bound group that speaks; about 8 KB each with a vote open): past this
# many, the one used longest ago goes first, and its group's next message reads it again.
SCENES_KEPT = 256

Stamp = tuple[TableSum, ...]


def stamp_of(sums: Mapping[str, TableSum]) -> Stamp:
    empty = TableSum()
    return tuple(sums.get(table, empty) for table in SCENE_TABLES)


@dataclass(frozen=True, slots=True)
class Scene:
    chain_key: str  # the society's
    stamp: Stamp
    society: Society
    meeting: Meeting | None
    members: Mapping[int, tuple[str, str]]  # person id -> (roster role, council position)
    observers: frozenset[int]  # of the meeting
    votes: tuple[tuple[Vote, Item], ...] | None = None  # the meeting's open votes; None: not read
    moved: int = 0  # the process's moves of the society's scene rows when it was read


@dataclass(frozen=True, slots=True)
class Entered:
    """The scene a unit of work checked, with the ballots read with the check (vote id ->
    person id -> choice) and `seals.writes.moves` at the time."""

    group: tuple[str, str, str]
    scene: Scene
    ballots: Mapping[int, Mapping[int, str]]
    moves: int
    head: Mapping[str, Any] | None = None  # the head as the check read it (`seals.offered`)
    left: frozenset[int] | None = None  # who has left the meeting (read with open votes)


class _Memory:
    """The scenes of this process by group. A scene whose society's scene rows this process
    has moved since it was read is not offered (it could only fail its check): the next
    message reads the scene again in the same read as the speaker."""

    def __init__(self, size: int) -> None:
        self._scenes: Bounded[tuple[str, str, str], Scene] = Bounded(size)
        self._moved: Bounded[str, int] = Bounded(4 * size)
        self._blind = seals.writes.blind

    def recall(self, group: tuple[str, str, str]) -> Scene | None:
        if self._blind != seals.writes.blind:
            self.clear()
            self._blind = seals.writes.blind
        found = self._scenes.get(group)
        if found is None:
            return None
        if found.moved != self.moves_of(found.chain_key):
            del self._scenes[group]
            return None
        self._scenes.move_to_end(group)
        return found

    def moves_of(self, ck: str) -> int:
        return self._moved.get(ck, 0)

    def moved(self, ck: str, table: str) -> None:
        if table in SCENE_TABLES:
            self._moved.put(ck, self.moves_of(ck) + 1)

    def keep(self, group: tuple[str, str, str], scene: Scene) -> None:
        self._scenes.put(group, scene)

    def keep_votes(self, entered: Entered, votes: Sequence[tuple[Vote, Item]]) -> None:
        """The open votes read in a unit whose scene still holds: added to the scene, when it
        is still the one remembered for the group."""
        if self._scenes.get(entered.group) is entered.scene:
            self._scenes.put(entered.group, replace(entered.scene, votes=tuple(votes)))

    def clear(self) -> None:
        self._scenes.clear()


memory = _Memory(SCENES_KEPT)
seals.moved = memory.moved


@dataclass
class _Unit:
    entered: Entered | None = None


_unit: ContextVar[_Unit | None] = ContextVar("scene_unit", default=None)


def begin_unit() -> Token[_Unit | None]:
    """A unit of work starts with no scene (`end_unit` with the token when it ends)."""
    return _unit.set(_Unit())


def end_unit(token: Token[_Unit | None]) -> None:
    _unit.reset(token)


def enter(entered: Entered) -> None:
    """The scene the current unit of work checked (outside a unit of work: not kept)."""
    unit = _unit.get()
    if unit is not None:
        unit.entered = entered


def entered_for(meeting_id: int) -> Entered | None:
    """The unit's checked scene when it is about `meeting_id` and no head has moved since."""
    unit = _unit.get()
    found = None if unit is None else unit.entered
    if found is None or found.moves != seals.writes.moves:
        return None
    meeting = found.scene.meeting
    return found if meeting is not None and meeting.id == meeting_id else None


def _offered_head(ck: str) -> Mapping[str, Any] | None:
    """The head the unit's scene check read, while no head has moved since."""
    unit = _unit.get()
    found = None if unit is None else unit.entered
    if found is None or found.head is None or found.scene.chain_key != ck:
        return None
    return found.head if found.moves == seals.writes.moves else None


seals.offered = _offered_head


def parse_ballots(text: Any) -> dict[int, dict[int, str]]:
    """`vote:person:choice` items joined by commas -> vote id -> person id -> choice."""
    out: dict[int, dict[int, str]] = {}
    for vote, person, choice in split_joined(text):
        out.setdefault(int(vote), {})[int(person)] = choice
    return out
