"""Impossible input is refused by the pure core, never decided (governance Rule 6).

Hypothesis generates inputs no meeting can produce (negative or fractional counts, more ballots
than members entitled to vote, recused members off the roster, nobody entitled, shares outside
0..1, naive datetimes, values of the wrong kind) and every public function must raise a
`GovernanceInputError` subclass for them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import governance as g

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, database=None)
POLICY = g.Policy()
RULES = st.sampled_from([POLICY.matter(mt) for mt in g.MatterType])
NOW = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)

# Anything that is not a whole number of people: negatives, fractions, floats, bools, text.
NOT_A_COUNT = (
    st.integers(max_value=-1)
    | st.floats(allow_nan=True).filter(lambda x: x != int(x) if x == x and abs(x) < 1e18 else True)
    | st.fractions().filter(lambda x: x.denominator != 1)
    | st.booleans()
    | st.text(max_size=3)
    | st.none()
)
# Negative numbers of people, and numbers that are not whole: a count is never these.
BAD_COUNT = st.integers(max_value=-1) | st.floats(0.1, 50).filter(lambda x: x != int(x))


def electorate(size: int, present: int, recused: int = 0) -> g.Electorate:
    return g.Electorate(
        frozenset(range(size)), frozenset(range(present)), frozenset(range(size - recused, size))
    )


@PROPERTY_SETTINGS
@given(
    field=st.sampled_from(["yes", "no", "abstain", "not_voted"]),
    value=NOT_A_COUNT,
)
def test_a_tally_holds_whole_non_negative_counts(field: str, value: Any) -> None:
    counts: dict[str, Any] = {"yes": 1, "no": 1, "abstain": 1, "not_voted": 1, field: value}
    with pytest.raises(g.CountError):
        g.Tally(**counts)


@PROPERTY_SETTINGS
@given(
    size=st.integers(1, 15),
    present=st.integers(0, 15),
    excess=st.integers(1, 10),
    rule=RULES,
    leave_base=st.booleans(),
    split=st.integers(0, 2),
)
def test_more_ballots_than_members_entitled_are_never_decided(
    size: int, present: int, excess: int, rule: g.MatterRule, leave_base: bool, split: int
) -> None:
    """9 yes on a roster of 7 was once 'passed'."""
    e = electorate(size, min(present, size))
    cast = size + excess
    counts = [0, 0, 0]
    counts[split] = cast
    policy = dataclasses.replace(POLICY, recused_leave_base=leave_base)
    with pytest.raises(g.BallotsExceedVotersError):
        g.decide(e, g.Tally(*counts, 0), rule, policy)


@PROPERTY_SETTINGS
@given(size=st.integers(0, 15), present=st.integers(0, 15), rule=RULES, leave_base=st.booleans())
def test_an_item_with_nobody_entitled_is_never_decided(
    size: int, present: int, rule: g.MatterRule, leave_base: bool
) -> None:
    e = electorate(size, min(present, size), recused=size)  # everyone recused (or nobody there)
    policy = dataclasses.replace(POLICY, recused_leave_base=leave_base)
    with pytest.raises(g.NoVotersError):
        g.decide(e, g.Tally(0, 0, 0, 0), rule, policy)
    if size:
        with pytest.raises(g.GovernanceError) as refused:
            g.check_vote_opening(e, rule, policy)
        assert refused.value.refusal is g.Refusal.NOBODY_ENTITLED


@PROPERTY_SETTINGS
@given(size=st.integers(0, 12), strays=st.sets(st.integers(100, 120), min_size=1, max_size=3))
def test_recused_members_must_be_on_the_roster(size: int, strays: set[int]) -> None:
    with pytest.raises(g.ElectorateError):
        g.Electorate(frozenset(range(size)), frozenset(), frozenset(strays))


@PROPERTY_SETTINGS
@given(bad=st.sampled_from(["a", 2.5, None, True, (3,)]), where=st.sampled_from(["r", "p", "x"]))
def test_ids_are_whole_numbers(bad: object, where: str) -> None:
    ids: dict[str, set[object]] = {"r": {0, 5}, "p": {0}, "x": set()}
    ids[where].add(bad)
    if where == "x":
        ids["r"].add(bad)  # recused and on the roster: still not a person id
    with pytest.raises(g.ElectorateError):
        g.Electorate(frozenset(ids["r"]), frozenset(ids["p"]), frozenset(ids["x"]))  # type: ignore[arg-type]


@PROPERTY_SETTINGS
@given(base=BAD_COUNT, rule=RULES)
def test_votes_needed_refuses_impossible_bases(base: Any, rule: g.MatterRule) -> None:
    """votes_needed(-2) was once -1."""
    with pytest.raises(g.CountError):
        g.votes_needed(base, rule)


@PROPERTY_SETTINGS
@given(
    present=st.integers(0, 20) | BAD_COUNT,
    base=st.integers(0, 20) | BAD_COUNT,
    threshold=st.sampled_from([g.HALF_STRICT, g.TWO_THIRDS]),
)
def test_quorum_counts_are_whole_and_no_more_than_the_base(
    present: Any, base: Any, threshold: g.Threshold
) -> None:
    valid = all(type(x) is int and x >= 0 for x in (present, base)) and present <= base
    if valid:
        assert g.check_quorum(present, base, threshold).base == base
        return
    with pytest.raises(g.CountError):
        g.check_quorum(present, base, threshold)
    with pytest.raises(g.CountError):
        threshold.met(present, base)


@PROPERTY_SETTINGS
@given(voters=BAD_COUNT | st.integers(0, 5), ballots=st.integers(0, 10))
def test_tally_refuses_impossible_voters(voters: Any, ballots: int) -> None:
    choices = [g.Choice.YES] * ballots
    if type(voters) is int and voters >= ballots:
        assert g.tally(choices, voters).not_voted == voters - ballots
        return
    with pytest.raises((g.CountError, g.BallotsExceedVotersError)):
        g.tally(choices, voters)


@PROPERTY_SETTINGS
@given(share=st.fractions().filter(lambda x: not 0 <= x <= 1) | st.floats(0, 1) | st.booleans())
def test_shares_are_exact_and_between_0_and_1(share: Any) -> None:
    with pytest.raises(g.ShareError):
        g.Threshold(share, g.Reading.STRICT)
    with pytest.raises(g.ShareError):
        dataclasses.replace(POLICY, deferral_dissent_share=share)


@PROPERTY_SETTINGS
@given(
    field=st.sampled_from(["max_members", "deferral_margin"]),
    value=BAD_COUNT | st.booleans(),
)
def test_policy_counts(field: str, value: Any) -> None:
    with pytest.raises(g.CountError):
        dataclasses.replace(POLICY, **{field: value})


@PROPERTY_SETTINGS
@given(minutes=st.integers(-(10**9), -1))
def test_policy_durations(minutes: int) -> None:
    with pytest.raises(g.TimeError):
        dataclasses.replace(POLICY, late_after=timedelta(minutes=minutes))


@PROPERTY_SETTINGS
@given(naive=st.datetimes(), which=st.sampled_from(["now", "starts_at"]))
def test_naive_datetimes_are_refused(naive: datetime, which: str) -> None:
    times = {"now": NOW, "starts_at": NOW, which: naive}
    for call in (
        lambda: g.leave_status(times["now"], times["starts_at"], g.MeetingState.CONVENED),
        lambda: g.checkin_status(times["now"], times["starts_at"], g.MeetingState.OPEN, POLICY),
        lambda: g.check_opening(times["now"], times["starts_at"], 7, 7, POLICY),
    ):
        with pytest.raises(g.TimeError):
            call()


WRONG = st.sampled_from(["open", 1, None, g.Choice.YES, g.Role.LEADER])


@PROPERTY_SETTINGS
@given(value=WRONG)
def test_values_of_the_wrong_kind(value: Any) -> None:
    calls = [
        lambda: g.meeting_next(value, g.MeetingAction.OPEN),
        lambda: g.item_next(g.ItemState.ACCEPTED, value),
        lambda: g.vote_next(value, g.VoteAction.CAST),
        lambda: g.may([value], g.Need.MEMBER) if value is not g.Role.LEADER else g.may([], value),
        lambda: g.roles_for_need(value),
        lambda: g.check_method(value, POLICY.matter(g.MatterType.GENERAL)),
        lambda: g.check_written_opinion(value, g.ItemState.ACCEPTED),
        lambda: g.require_meeting_state(value, [g.MeetingState.OPEN], "x"),
        lambda: POLICY.matter(value),
        lambda: g.blocking_issues([value], exception_approved=False, is_removal=False),
    ]
    for call in calls:
        with pytest.raises(g.KindError):
            call()
    if value is not g.Choice.YES:
        with pytest.raises(g.KindError):
            g.tally([value], 3)


@PROPERTY_SETTINGS
@given(size=st.integers(1, 9), extra=st.integers(1, 5))
def test_show_of_hands_above_those_present_is_a_refusal(size: int, extra: int) -> None:
    """A recorder's typing is refused politely (a rule refusal), with the numbers."""
    e = electorate(size, size)
    with pytest.raises(g.GovernanceError) as refused:
        g.check_show_of_hands(
            g.Tally(size + extra, 0, 0, 0), e, POLICY.matter(g.MatterType.GENERAL), POLICY
        )
    assert refused.value.refusal is g.Refusal.TOO_MANY_HANDS


def test_the_issue_examples() -> None:
    """The inputs that were once decided: 9 yes of 7, (5, -3, 0), 4.5 yes, votes_needed(-2)."""
    seven = electorate(7, 7)
    major = POLICY.matter(g.MatterType.MAJOR)
    with pytest.raises(g.BallotsExceedVotersError):
        g.decide(seven, g.Tally(9, 0, 0, 0), POLICY.matter(g.MatterType.GENERAL), POLICY)
    with pytest.raises(g.CountError):
        g.decide(seven, g.Tally(5, -3, 0, 0), major, POLICY)
    with pytest.raises(g.CountError):
        g.Tally(4.5, 0, 0, 0)  # type: ignore[arg-type]
    with pytest.raises(g.CountError):
        g.votes_needed(-2, major)
    assert issubclass(g.CountError, g.GovernanceInputError)
    assert issubclass(g.GovernanceInputError, ValueError)
    assert not issubclass(g.GovernanceInputError, g.GovernanceError)


def test_roster_entries_are_checked() -> None:
    entry = g.RosterEntry(1, True, True, g.CouncilPosition.PRESIDENT)
    with pytest.raises(g.ElectorateError):
        g.roster_issues([entry, entry], president_is_party_member=True, policy=POLICY)
    with pytest.raises(g.CountError):
        g.roster_issues(
            [dataclasses.replace(entry, person_id=-1)],
            president_is_party_member=True,
            policy=POLICY,
        )
    with pytest.raises(g.KindError):
        g.roster_issues([1], president_is_party_member=True, policy=POLICY)  # type: ignore[list-item]


def test_a_ballot_check_refuses_impossible_input() -> None:
    e = electorate(5, 5)
    good: dict[str, Any] = {
        "vote_state": g.VoteState.OPEN,
        "method": g.VoteMethod.NAMED,
        "electorate": e,
        "voter_id": 1,
        "is_observer": False,
        "previous": None,
        "already_voted": False,
        "choice": g.Choice.YES,
        "policy": POLICY,
        "rule": POLICY.matter(g.MatterType.GENERAL),
        "voter_is_leader": False,
        "voted": frozenset(),
    }
    assert g.check_ballot(**good) is g.BallotAction.NEW
    for change, error in (
        ({"voter_id": -1}, g.CountError),
        ({"choice": "yes"}, g.KindError),
        ({"voted": frozenset({99})}, g.ElectorateError),
        ({"method": "named"}, g.KindError),
    ):
        with pytest.raises(error):
            g.check_ballot(**{**good, **change})
