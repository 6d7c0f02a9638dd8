"""An independent oracle for the vote result, written from docs/governance.md.

Plain integers only: every share is a (numerator, denominator) pair and every comparison is
done by cross-multiplication. Nothing here imports the logic of `bot.governance`.
"""

from __future__ import annotations

from dataclasses import dataclass

STRICT = "strict"
INCLUSIVE = "inclusive"

# matter type -> (quorum share, its default reading, major?)  (the table in governance.md;
# "document review" is routine work and follows the general row)
MATTERS: dict[str, tuple[tuple[int, int], str, bool]] = {
    "general": ((1, 2), STRICT, False),
    "document": ((1, 2), STRICT, False),
    "major": ((1, 2), STRICT, True),
    "personnel": ((2, 3), INCLUSIVE, True),
    "discipline": ((2, 3), INCLUSIVE, True),
    # studied or reported (学习通报): never voted on; its unused rule is the general row
    "study": ((1, 2), STRICT, False),
}

DISSENT_SHARE = (1, 3)  # 反对 + 弃权 ≥ ⅓ of those present and entitled to vote
MARGIN = 1  # |赞成 - 反对| ≤ 1


def meets(count: int, base: int, share: tuple[int, int], reading: str) -> bool:
    """count > share·base (strict) or count ≥ share·base (inclusive); an empty base meets
    nothing."""
    if base <= 0:
        return False
    num, den = share
    if reading == STRICT:
        return count * den > num * base
    return count * den >= num * base


def smallest_meeting(base: int, share: tuple[int, int], reading: str) -> int:
    """The smallest count that meets, or base + 1 when no count can."""
    return next((c for c in range(base + 1) if meets(c, base, share, reading)), base + 1)


@dataclass(frozen=True)
class Expected:
    outcome: str  # passed / not_passed / no_quorum / deferred
    needed: int  # yes votes needed to pass
    base: int  # 应到会
    present: int  # present for quorum
    quorum_met: bool
    other_reading_met: bool
    deferral: str | None  # dissent / margin / None
    would_defer: str | None


def expect(
    matter: str,
    *,
    roster: int,
    present: int,
    recused_present: int,
    recused_away: int,
    yes: int,
    no: int,
    abstain: int,
    reading: str | None = None,
    emergency: bool = False,
    recused_leave_base: bool = True,
    meeting_reading: str = STRICT,
) -> Expected | None:
    """The result the rules give; None when no vote can be held (nobody entitled to vote).

    `roster` counts every member (on leave included); `present` the members in the room
    (present or late), recused ones included; `recused_present` / `recused_away` the recused
    members in and out of the room. `reading` overrides the matter's quorum reading;
    `meeting_reading` is the meeting's (its quorum holds for every vote too)."""
    share, default_reading, major = MATTERS[matter]
    reading = reading or default_reading
    if roster - recused_present - recused_away <= 0:
        return None  # every member recused: no vote on the item
    voters = present - recused_present  # in the room and entitled, whatever the base setting
    base = roster
    in_room = present
    if recused_leave_base:
        base -= recused_present + recused_away
        in_room -= recused_present
    quorum_met = meets(in_room, base, share, reading)
    other = INCLUSIVE if reading == STRICT else STRICT
    other_met = meets(in_room, base, share, other)
    # pass: yes strictly more than half of 应到会
    needed = base // 2 + 1
    if not quorum_met:
        return Expected("no_quorum", needed, base, in_room, False, other_met, None, None)
    # recused members leave the base, but the meeting's quorum (第十八条: more than half of the
    # members in the room) still holds for the vote
    recused = recused_present + recused_away
    if recused_leave_base and recused and not meets(present, roster, (1, 2), meeting_reading):
        room_other = meets(
            present, roster, (1, 2), INCLUSIVE if meeting_reading == STRICT else STRICT
        )
        return Expected("no_quorum", needed, base, present, False, room_other, None, None)
    passed = yes * 2 > base
    found = None
    if major:
        if voters > 0 and (no + abstain) * DISSENT_SHARE[1] >= DISSENT_SHARE[0] * voters:
            found = "dissent"
        elif abs(yes - no) <= MARGIN:
            found = "margin"
    if found is not None and not emergency:
        return Expected("deferred", needed, base, in_room, True, other_met, found, found)
    outcome = "passed" if passed else "not_passed"
    return Expected(outcome, needed, base, in_room, True, other_met, None, found)
