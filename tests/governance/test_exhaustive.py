"""Every distinct attendance/vote composition of a roster of 1..9 against the oracle.

The rules depend only on how many members are in each state, so the enumeration runs over
compositions of N into the state counts (multisets), not over the 8**N assignments."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from math import comb

import pytest

from bot import governance as g
from tests.governance import oracle

# absent, on leave, present-not-voted, present-yes, present-no, present-abstain, late-yes,
# recused-present
STATES = 8
SIZES = range(1, 10)


def compositions(total: int, parts: int) -> Iterator[tuple[int, ...]]:
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in compositions(total - first, parts - 1):
            yield (first, *rest)


def with_reading(policy: g.Policy, reading: g.Reading) -> g.Policy:
    matters = {
        mt: dataclasses.replace(rule, quorum=dataclasses.replace(rule.quorum, reading=reading))
        for mt, rule in policy.matters.items()
    }
    return dataclasses.replace(
        policy,
        matters=matters,
        meeting_quorum=dataclasses.replace(policy.meeting_quorum, reading=reading),
    )


DEFAULT = g.Policy()


# Matter types checked beyond their default policy. DOCUMENT has the GENERAL rule and
# DISCIPLINE the PERSONNEL rule (see test_duplicate_rules_are_identical), so the flipped
# readings and recused_leave_base=False are run on one type of each distinct rule.
VARIANT_TYPES = (g.MatterType.GENERAL, g.MatterType.MAJOR, g.MatterType.PERSONNEL)
# The matter types decided by a vote (what is only studied, g.NOT_VOTED, has no result).
VOTED = [mt for mt in g.MatterType if mt not in g.NOT_VOTED]


def _variants() -> list[tuple[g.MatterType, g.Policy, g.Reading, bool, bool]]:
    """(matter type, policy, reading applied, emergency, recused_leave_base).

    Every matter type voted on under the default policy, with and without emergency; then the three
    other (reading, recused_leave_base) combinations for VARIANT_TYPES, with emergency only
    where it can matter (major types)."""
    out = []
    for mt in VOTED:
        reading = DEFAULT.matter(mt).quorum.reading
        for emergency in (False, True):
            out.append((mt, DEFAULT, reading, emergency, DEFAULT.recused_leave_base))
    for reading in g.Reading:
        for leave_base in (True, False):
            policy = dataclasses.replace(
                with_reading(DEFAULT, reading), recused_leave_base=leave_base
            )
            for mt in VARIANT_TYPES:
                if reading is DEFAULT.matter(mt).quorum.reading and leave_base:
                    continue  # the default policy, done above
                for emergency in (False, True) if DEFAULT.matter(mt).major else (False,):
                    out.append((mt, policy, reading, emergency, leave_base))
    return out


VARIANTS = _variants()


def build(counts: tuple[int, ...]) -> tuple[g.Electorate, g.Tally]:
    """The electorate and tally a caller would build for these state counts."""
    absent, leave, idle, yes, no, abstain, late_yes, recused = counts
    ids = iter(range(sum(counts)))

    def take(n: int) -> frozenset[int]:
        return frozenset(next(ids) for _ in range(n))

    take(absent)
    take(leave)
    idle_ids, yes_ids, no_ids = take(idle), take(yes), take(no)
    abstain_ids, late_ids, recused_ids = take(abstain), take(late_yes), take(recused)
    roster = frozenset(range(sum(counts)))
    present = idle_ids | yes_ids | no_ids | abstain_ids | late_ids | recused_ids
    electorate = g.Electorate(roster=roster, present=present, recused=recused_ids)
    choices = (
        [g.Choice.YES] * len(yes_ids | late_ids)
        + [g.Choice.NO] * len(no_ids)
        + [g.Choice.ABSTAIN] * len(abstain_ids)
    )
    return electorate, g.tally(choices, voters=len(electorate.voters))


def check_size(size: int) -> int:
    checked = 0
    for counts in compositions(size, STATES):
        electorate, t = build(counts)
        _absent, _leave, idle, yes, no, abstain, late_yes, recused = counts
        assert t.not_voted == idle
        in_room = idle + yes + no + abstain + late_yes + recused
        for mt, policy, reading, emergency, leave_base in VARIANTS:
            rule = policy.matter(mt)
            want = oracle.expect(
                mt.value,
                roster=size,
                present=in_room,
                recused_present=recused,
                recused_away=0,
                yes=yes + late_yes,
                no=no,
                abstain=abstain,
                reading=reading.value,
                emergency=emergency,
                recused_leave_base=leave_base,
                meeting_reading=policy.meeting_quorum.reading.value,
            )
            case = (mt, reading, emergency, leave_base, counts)
            if want is None:  # every member recused: refused, never decided
                with pytest.raises(g.NoVotersError):
                    g.decide(electorate, t, rule, policy, emergency=emergency)
                checked += 1
                continue
            got = g.decide(electorate, t, rule, policy, emergency=emergency)
            assert got.outcome.value == want.outcome, case
            assert got.needed == want.needed, case
            assert got.base == want.base, case
            assert got.quorum.present == want.present, case
            assert got.quorum.met is want.quorum_met, case
            assert got.quorum.readings_disagree is (want.other_reading_met != want.quorum_met), case
            assert (got.deferral and got.deferral.value) == want.deferral, case
            assert (got.would_defer and got.would_defer.value) == want.would_defer, case
            assert got.emergency is (emergency and want.would_defer is not None), case
            checked += 1
    return checked


@pytest.mark.parametrize("size", SIZES)
def test_every_composition_matches_the_oracle(size: int) -> None:
    assert check_size(size) == comb(size + STATES - 1, STATES - 1) * len(VARIANTS)


def test_case_count() -> None:
    per_policy = sum(comb(n + STATES - 1, STATES - 1) for n in SIZES)
    assert per_policy == 24_309
    assert len(VARIANTS) == 2 * len(VOTED) + 3 * (1 + 2 + 2)
    assert per_policy * len(VARIANTS) == 607_725


def test_duplicate_rules_are_identical() -> None:
    rules = DEFAULT.matters
    assert rules[g.MatterType.DOCUMENT] == rules[g.MatterType.GENERAL]
    assert (
        dataclasses.replace(rules[g.MatterType.PERSONNEL], leader_votes_last=False)
        == rules[g.MatterType.DISCIPLINE]
    )
