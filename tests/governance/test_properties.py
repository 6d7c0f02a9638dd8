"""Properties of the rules that must hold for any meeting, checked with hypothesis."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import governance as g
from tests.governance import oracle

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, database=None)
DEFAULT = g.Policy()
NON_MAJOR = [mt for mt in g.MatterType if not DEFAULT.matter(mt).major]
OBSERVER_BASE = 1000  # ids from here up are never on a roster


@dataclasses.dataclass(frozen=True)
class Meeting:
    """A generated meeting: who is where, and how the present voters voted. Someone is always
    entitled to vote (an item where nobody is cannot be voted on: test_invalid_input.py)."""

    roster: frozenset[int]
    present: frozenset[int]  # may include observers (ids not on the roster)
    recused: frozenset[int]
    choices: tuple[g.Choice, ...]  # one per voter who voted

    @property
    def electorate(self) -> g.Electorate:
        return g.Electorate(roster=self.roster, present=self.present, recused=self.recused)

    @property
    def tally(self) -> g.Tally:
        return g.tally(self.choices, voters=len(self.electorate.voters))


@st.composite
def meetings(draw: st.DrawFn, max_size: int = 11) -> Meeting:
    size = draw(st.integers(1, max_size))
    roster = frozenset(range(size))
    states = draw(
        st.lists(
            st.sampled_from(["absent", "leave", "present", "recused_present", "recused_away"]),
            min_size=size,
            max_size=size,
        ).filter(lambda xs: any(not x.startswith("recused") for x in xs))
    )
    observers = draw(st.integers(0, 3))
    present = frozenset(
        i for i, s in enumerate(states) if s in {"present", "recused_present"}
    ) | frozenset(range(OBSERVER_BASE, OBSERVER_BASE + observers))
    recused = frozenset(i for i, s in enumerate(states) if s.startswith("recused"))
    voters = (present & roster) - recused
    voted = draw(st.integers(0, len(voters)))
    choices = tuple(draw(st.lists(st.sampled_from(g.Choice), min_size=voted, max_size=voted)))
    return Meeting(roster, present, recused, choices)


def with_reading(policy: g.Policy, reading: g.Reading) -> g.Policy:
    matters = {
        mt: dataclasses.replace(rule, quorum=g.Threshold(rule.quorum.share, reading))
        for mt, rule in policy.matters.items()
    }
    return dataclasses.replace(policy, matters=matters)


@st.composite
def policies(draw: st.DrawFn) -> g.Policy:
    policy = dataclasses.replace(DEFAULT, recused_leave_base=draw(st.booleans()))
    if draw(st.booleans()):
        policy = with_reading(policy, draw(st.sampled_from(g.Reading)))
    return policy


@PROPERTY_SETTINGS
@given(
    meeting=meetings(),
    mt=st.sampled_from(g.MatterType),
    policy=policies(),
    emergency=st.booleans(),
)
def test_never_passed_without_quorum(
    meeting: Meeting, mt: g.MatterType, policy: g.Policy, emergency: bool
) -> None:
    decision = g.decide(
        meeting.electorate, meeting.tally, policy.matter(mt), policy, emergency=emergency
    )
    if not decision.quorum.met:
        assert decision.outcome is g.Outcome.NO_QUORUM
    if decision.outcome is g.Outcome.PASSED:
        assert decision.quorum.met
        assert decision.tally.yes * 2 > decision.base


@PROPERTY_SETTINGS
@given(
    meeting=meetings(),
    mt=st.sampled_from(g.MatterType),
    policy=policies(),
    emergency=st.booleans(),
)
def test_matches_the_oracle_with_observers_and_recused_absentees(
    meeting: Meeting, mt: g.MatterType, policy: g.Policy, emergency: bool
) -> None:
    rule = policy.matter(mt)
    got = g.decide(meeting.electorate, meeting.tally, rule, policy, emergency=emergency)
    in_room = meeting.present & meeting.roster
    want = oracle.expect(
        mt.value,
        roster=len(meeting.roster),
        present=len(in_room),
        recused_present=len(in_room & meeting.recused),
        recused_away=len(meeting.recused - in_room),
        yes=meeting.choices.count(g.Choice.YES),
        no=meeting.choices.count(g.Choice.NO),
        abstain=meeting.choices.count(g.Choice.ABSTAIN),
        reading=rule.quorum.reading.value,
        emergency=emergency,
        recused_leave_base=policy.recused_leave_base,
        meeting_reading=policy.meeting_quorum.reading.value,
    )
    assert got.outcome.value == want.outcome
    assert (got.needed, got.base, got.quorum.present) == (want.needed, want.base, want.present)
    assert got.quorum.met is want.quorum_met
    assert got.quorum.other_reading_met is want.other_reading_met


@PROPERTY_SETTINGS
@given(
    meeting=meetings(),
    mt=st.sampled_from(g.MatterType),
    opinions=st.lists(st.sampled_from(g.Choice), max_size=6),
    emergency=st.booleans(),
)
def test_written_opinions_never_count_under_default_rules(
    meeting: Meeting, mt: g.MatterType, opinions: list[g.Choice], emergency: bool
) -> None:
    rule = DEFAULT.matter(mt)
    assert not rule.written_opinions_count
    without = g.decide(meeting.electorate, meeting.tally, rule, DEFAULT, emergency=emergency)
    with_opinions = g.decide(
        meeting.electorate,
        meeting.tally,
        rule,
        DEFAULT,
        emergency=emergency,
        opinion_stances=iter(opinions),
    )
    assert with_opinions == without
    assert with_opinions.tally == meeting.tally


@PROPERTY_SETTINGS
@given(meeting=meetings(), mt=st.sampled_from(g.MatterType), observers=st.integers(1, 5))
def test_observers_in_the_room_never_change_the_result(
    meeting: Meeting, mt: g.MatterType, observers: int
) -> None:
    rule = DEFAULT.matter(mt)
    crowd = frozenset(range(OBSERVER_BASE + 100, OBSERVER_BASE + 100 + observers))
    more = dataclasses.replace(meeting, present=meeting.present | crowd)
    assert more.electorate.voters == meeting.electorate.voters
    assert g.decide(more.electorate, more.tally, rule, DEFAULT) == g.decide(
        meeting.electorate, meeting.tally, rule, DEFAULT
    )


@PROPERTY_SETTINGS
@given(
    meeting=meetings(),
    outsider=st.integers(OBSERVER_BASE, OBSERVER_BASE + 10),
    is_observer=st.booleans(),
    vote_state=st.sampled_from(g.VoteState),
    method=st.sampled_from(g.VoteMethod),
    previous=st.none() | st.sampled_from(g.Choice),
    already_voted=st.booleans(),
    choice=st.sampled_from(g.Choice),
    mt=st.sampled_from(g.MatterType),
    voter_is_leader=st.booleans(),
    allow_change=st.booleans(),
)
def test_nobody_off_the_roster_can_vote(
    meeting: Meeting,
    outsider: int,
    is_observer: bool,
    vote_state: g.VoteState,
    method: g.VoteMethod,
    previous: g.Choice | None,
    already_voted: bool,
    choice: g.Choice,
    mt: g.MatterType,
    voter_is_leader: bool,
    allow_change: bool,
) -> None:
    policy = dataclasses.replace(DEFAULT, allow_vote_change=allow_change)
    electorate = meeting.electorate  # the outsider may even be in `present` (an observer)
    with pytest.raises(g.GovernanceError) as refused:
        g.check_ballot(
            vote_state=vote_state,
            method=method,
            electorate=electorate,
            voter_id=outsider,
            is_observer=is_observer,
            previous=previous,
            already_voted=already_voted,
            choice=choice,
            policy=policy,
            rule=policy.matter(mt),
            voter_is_leader=voter_is_leader,
            voted=frozenset(),
        )
    if vote_state is g.VoteState.CLOSED:
        assert refused.value.refusal is g.Refusal.VOTE_CLOSED
    elif method is g.VoteMethod.SHOW_OF_HANDS:
        assert refused.value.refusal is g.Refusal.METHOD_NOT_ALLOWED
    elif is_observer:
        assert refused.value.refusal is g.Refusal.OBSERVER_CANNOT_VOTE
    else:
        assert refused.value.refusal is g.Refusal.NOT_ON_ROSTER


@PROPERTY_SETTINGS
@given(
    meeting=meetings(),
    mt=st.sampled_from(NON_MAJOR),
    policy=policies(),
    extra=st.integers(1, 5),
    source=st.sampled_from(["not_voted", "no", "abstain", "new"]),
)
def test_more_yes_never_turns_passed_into_not_passed(
    meeting: Meeting, mt: g.MatterType, policy: g.Policy, extra: int, source: str
) -> None:
    rule = policy.matter(mt)
    t = meeting.tally
    before = g.decide(meeting.electorate, t, rule, policy)
    match source:
        case "not_voted":
            k = min(extra, t.not_voted)
            more = dataclasses.replace(t, yes=t.yes + k, not_voted=t.not_voted - k)
        case "no":
            k = min(extra, t.no)
            more = dataclasses.replace(t, yes=t.yes + k, no=t.no - k)
        case "abstain":
            k = min(extra, t.abstain)
            more = dataclasses.replace(t, yes=t.yes + k, abstain=t.abstain - k)
        case _:  # a ballot from an entitled member on leave (an opinion that counts)
            k = min(extra, len(meeting.electorate.entitled) - t.cast)
            more = dataclasses.replace(t, yes=t.yes + k)
    after = g.decide(meeting.electorate, more, rule, policy)
    assert after.quorum == before.quorum  # the quorum counts people, not votes
    if before.outcome is g.Outcome.PASSED:
        assert after.outcome is g.Outcome.PASSED
    assert before.outcome is not g.Outcome.DEFERRED
    assert after.outcome is not g.Outcome.DEFERRED


@PROPERTY_SETTINGS
@given(
    share=st.fractions(min_value=0, max_value=1, max_denominator=12),
    reading=st.sampled_from(g.Reading),
    base=st.integers(0, 40),
)
def test_needed_is_the_minimal_count_that_meets(
    share: Fraction, reading: g.Reading, base: int
) -> None:
    threshold = g.Threshold(share, reading)
    needed = threshold.needed(base)
    counts = range(base + 1)  # 0 .. base: the counts a meeting can have
    assert 0 <= needed <= len(counts)
    for count in counts:
        assert threshold.met(count, base) is (count >= needed)
    if needed < len(counts):
        assert threshold.met(needed, base)
        assert needed == 0 or not threshold.met(needed - 1, base)
    pair = (share.numerator, share.denominator)
    assert needed == oracle.smallest_meeting(base, pair, reading.value)
