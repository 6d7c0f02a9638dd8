"""Table tests for bot.governance: thresholds, the spec's worked examples, the roster, the
state machines, attendance, ballots and permissions."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import cast

import pytest

from bot import governance as g
from tests.governance import oracle

POLICY = g.Policy()
HALF = Fraction(1, 2)
TWO_THIRDS = Fraction(2, 3)
S, I = g.Reading.STRICT, g.Reading.INCLUSIVE  # noqa: E741


def refusal_of(excinfo: pytest.ExceptionInfo[g.GovernanceError]) -> g.Refusal:
    return excinfo.value.refusal


# ---------------------------------------------------------------------------------------------
# Threshold

# needed count for bases 0..9 (base 0: nothing meets, so base + 1)
NEEDED = {
    (HALF, S): [1, 1, 2, 2, 3, 3, 4, 4, 5, 5],
    (HALF, I): [1, 1, 1, 2, 2, 3, 3, 4, 4, 5],
    (TWO_THIRDS, S): [1, 1, 2, 3, 3, 4, 5, 5, 6, 7],
    (TWO_THIRDS, I): [1, 1, 2, 2, 3, 4, 4, 5, 6, 6],
}


@pytest.mark.parametrize(("share", "reading"), list(NEEDED))
@pytest.mark.parametrize("base", range(10))
def test_threshold_needed_and_met(share: Fraction, reading: g.Reading, base: int) -> None:
    threshold = g.Threshold(share, reading)
    needed = NEEDED[(share, reading)][base]
    assert threshold.needed(base) == needed
    pair = (share.numerator, share.denominator)
    for count in range(base + 1):
        expected = base > 0 and count >= needed
        assert threshold.met(count, base) is expected
        assert threshold.met(count, base) is oracle.meets(count, base, pair, reading.value)
    with pytest.raises(g.CountError):  # more people in the room than on the roster
        threshold.met(base + 1, base)


@pytest.mark.parametrize(
    ("share", "base", "strict", "inclusive"),
    [
        (TWO_THIRDS, 3, 3, 2),
        (TWO_THIRDS, 6, 5, 4),
        (HALF, 4, 3, 2),
        (HALF, 7, 4, 4),  # odd roster: the readings agree
        (TWO_THIRDS, 7, 5, 5),
    ],
)
def test_threshold_spec_examples(share: Fraction, base: int, strict: int, inclusive: int) -> None:
    assert g.Threshold(share, S).needed(base) == strict
    assert g.Threshold(share, I).needed(base) == inclusive


def test_threshold_nothing_meets() -> None:
    assert g.Threshold(Fraction(1), S).needed(5) == 6  # more than all: impossible
    assert g.Threshold(Fraction(1), I).needed(5) == 5
    assert not g.Threshold(Fraction(0), I).met(0, 0)  # empty base
    assert g.Threshold(Fraction(0), I).needed(3) == 0


def test_threshold_other() -> None:
    assert g.Threshold(HALF, S).other() == g.Threshold(HALF, I)
    assert g.Threshold(HALF, I).other() == g.Threshold(HALF, S)
    assert g.Threshold(HALF, S) == g.HALF_STRICT
    assert g.Threshold(TWO_THIRDS, I) == g.TWO_THIRDS


def test_check_quorum_reports_the_other_reading() -> None:
    q = g.check_quorum(2, 4, g.HALF_STRICT)
    assert (q.present, q.base, q.needed, q.met, q.other_reading_met) == (2, 4, 3, False, True)
    assert q.readings_disagree
    q = g.check_quorum(3, 5, g.HALF_STRICT)
    assert q.met
    assert q.other_reading_met
    assert not q.readings_disagree
    q = g.check_quorum(2, 3, g.TWO_THIRDS)
    assert q.met
    assert not q.other_reading_met
    assert q.readings_disagree


def test_votes_needed_is_more_than_half_of_the_base() -> None:
    rule = POLICY.matter(g.MatterType.GENERAL)
    assert [g.votes_needed(b, rule) for b in range(10)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    two_thirds = dataclasses.replace(rule, pass_share=TWO_THIRDS)
    assert g.votes_needed(6, two_thirds) == 5  # strictly more than ⅔ of 6


# ---------------------------------------------------------------------------------------------
# Default matter rules (the table in governance.md)


def test_default_matter_rules() -> None:
    rules = POLICY.matters
    assert set(rules) == set(g.MatterType)
    for mt in (g.MatterType.GENERAL, g.MatterType.DOCUMENT, g.MatterType.MAJOR):
        assert rules[mt].quorum == g.Threshold(HALF, S)
    for mt in (g.MatterType.PERSONNEL, g.MatterType.DISCIPLINE):
        assert rules[mt].quorum == g.Threshold(TWO_THIRDS, I)
        assert rules[mt].default_method is g.VoteMethod.SECRET
    assert {mt for mt, r in rules.items() if r.major} == {
        g.MatterType.MAJOR,
        g.MatterType.PERSONNEL,
        g.MatterType.DISCIPLINE,
    }
    assert all(r.pass_share == HALF and not r.written_opinions_count for r in rules.values())
    assert {mt for mt, r in rules.items() if r.leader_votes_last} == {g.MatterType.PERSONNEL}
    assert POLICY.meeting_quorum == g.Threshold(HALF, S)
    assert POLICY.recused_leave_base
    assert POLICY.deferral_dissent_share == Fraction(1, 3)
    assert POLICY.deferral_margin == 1
    assert (POLICY.max_members, POLICY.require_odd) == (7, True)


# ---------------------------------------------------------------------------------------------
# Decisions: the worked examples


def meeting(
    roster: int,
    *,
    present: int,
    yes: int = 0,
    no: int = 0,
    abstain: int = 0,
    recused: int = 0,
) -> tuple[g.Electorate, g.Tally]:
    """Members 0..present-1 are in the room; the last `recused` of them are recused."""
    in_room = frozenset(range(present))
    recused_ids = frozenset(range(present - recused, present))
    electorate = g.Electorate(frozenset(range(roster)), in_room, recused_ids)
    choices = [g.Choice.YES] * yes + [g.Choice.NO] * no + [g.Choice.ABSTAIN] * abstain
    return electorate, g.tally(choices, voters=len(electorate.voters))


def decide(mt: g.MatterType, electorate: g.Electorate, t: g.Tally, **kwargs: bool) -> g.Decision:
    return g.decide(electorate, t, POLICY.matter(mt), POLICY, **kwargs)


def test_pass_needs_more_than_half_of_the_roster_not_of_those_present() -> None:
    d = decide(g.MatterType.GENERAL, *meeting(7, present=4, yes=3, no=1))
    assert d.outcome is g.Outcome.NOT_PASSED
    assert (d.needed, d.base, d.quorum.met, d.quorum.needed) == (4, 7, True, 4)


def test_general_four_to_three_passes() -> None:
    d = decide(g.MatterType.GENERAL, *meeting(7, present=7, yes=4, no=3))
    assert d.outcome is g.Outcome.PASSED
    assert (d.deferral, d.would_defer, d.emergency) == (None, None, False)


def test_personnel_needs_two_thirds_present() -> None:
    d = decide(g.MatterType.PERSONNEL, *meeting(7, present=4, yes=4))
    assert d.outcome is g.Outcome.NO_QUORUM
    assert (d.quorum.present, d.quorum.needed, d.quorum.met) == (4, 5, False)
    assert not d.quorum.readings_disagree
    assert decide(g.MatterType.PERSONNEL, *meeting(7, present=5, yes=5)).outcome is (
        g.Outcome.PASSED
    )


def test_major_close_vote_is_deferred_unless_emergency() -> None:
    electorate, t = meeting(7, present=7, yes=4, no=3)
    d = decide(g.MatterType.MAJOR, electorate, t)
    assert d.outcome is g.Outcome.DEFERRED
    assert d.deferral is d.would_defer is g.DeferralReason.DISSENT
    assert not d.emergency
    d = decide(g.MatterType.MAJOR, electorate, t, emergency=True)
    assert d.outcome is g.Outcome.PASSED
    assert d.emergency
    assert d.deferral is None
    assert d.would_defer is g.DeferralReason.DISSENT


def test_major_margin_deferral() -> None:
    electorate, t = meeting(7, present=7, yes=3, no=2)  # dissent 2 < 7/3, margin 1
    d = decide(g.MatterType.MAJOR, electorate, t)
    assert (d.outcome, d.deferral) == (g.Outcome.DEFERRED, g.DeferralReason.MARGIN)
    d = decide(g.MatterType.MAJOR, electorate, t, emergency=True)
    assert (d.outcome, d.emergency, d.would_defer) == (
        g.Outcome.NOT_PASSED,
        True,
        g.DeferralReason.MARGIN,
    )


def test_major_clear_result_is_not_deferred() -> None:
    d = decide(g.MatterType.MAJOR, *meeting(7, present=7, yes=5, no=2))
    assert (d.outcome, d.deferral, d.would_defer) == (g.Outcome.PASSED, None, None)
    d = decide(g.MatterType.MAJOR, *meeting(7, present=7, yes=5, no=2), emergency=True)
    assert (d.outcome, d.emergency) == (g.Outcome.PASSED, False)  # nothing was overridden


def test_non_major_is_never_deferred() -> None:
    d = decide(g.MatterType.GENERAL, *meeting(7, present=7, yes=4, no=3), emergency=True)
    assert (d.outcome, d.would_defer, d.emergency) == (g.Outcome.PASSED, None, False)


def test_recused_member_leaves_the_base() -> None:
    electorate, t = meeting(7, present=5, yes=4, recused=1)
    d = decide(g.MatterType.GENERAL, electorate, t)
    assert (d.base, d.needed, d.quorum.present, d.outcome) == (6, 4, 4, g.Outcome.PASSED)
    keep = dataclasses.replace(POLICY, recused_leave_base=False)
    d = g.decide(electorate, t, keep.matter(g.MatterType.GENERAL), keep)
    assert (d.base, d.needed, d.quorum.present, d.outcome) == (7, 4, 5, g.Outcome.PASSED)
    assert electorate.voters == frozenset(range(4))


def test_observers_do_not_count_toward_quorum() -> None:
    electorate = g.Electorate(frozenset(range(5)), frozenset({0, 1, 100, 101, 102}))
    assert electorate.quorum_present(POLICY) == 2
    assert electorate.voters == frozenset({0, 1})
    d = g.decide(
        electorate, g.tally([g.Choice.YES] * 2, 2), POLICY.matter(g.MatterType.GENERAL), POLICY
    )
    assert d.outcome is g.Outcome.NO_QUORUM


def test_written_opinions_count_only_when_the_rule_says_so() -> None:
    electorate, t = meeting(5, present=3, yes=2)
    counted = dataclasses.replace(POLICY.matter(g.MatterType.GENERAL), written_opinions_count=True)
    stances = [g.Choice.YES, g.Choice.NO, g.Choice.ABSTAIN]
    d = g.decide(electorate, t, counted, POLICY, opinion_stances=stances)
    assert d.outcome is g.Outcome.PASSED
    assert d.tally == g.Tally(yes=3, no=1, abstain=1, not_voted=1)
    general = POLICY.matter(g.MatterType.GENERAL)
    d = g.decide(electorate, t, general, POLICY, opinion_stances=stances)
    assert (d.outcome, d.tally) == (g.Outcome.NOT_PASSED, t)


def test_deferral_reason_edges() -> None:
    assert g.deferral_reason(g.Tally(0, 0, 0, 0), 0, POLICY) is g.DeferralReason.MARGIN
    assert g.deferral_reason(g.Tally(5, 0, 0, 0), 0, POLICY) is None
    assert g.deferral_reason(g.Tally(4, 1, 1, 0), 6, POLICY) is g.DeferralReason.DISSENT  # 2 ≥ 2
    assert g.deferral_reason(g.Tally(5, 1, 0, 1), 7, POLICY) is None  # 1 < 7/3, margin 4
    assert g.deferral_reason(g.Tally(3, 2, 0, 2), 7, POLICY) is g.DeferralReason.MARGIN


def test_zero_quorum_rule_with_nobody_present() -> None:
    rule = dataclasses.replace(
        POLICY.matter(g.MatterType.MAJOR), quorum=g.Threshold(Fraction(0), I)
    )
    d = g.decide(*meeting(3, present=0), rule, POLICY)
    assert d.quorum.met
    assert (d.outcome, d.deferral) == (g.Outcome.DEFERRED, g.DeferralReason.MARGIN)


def test_empty_roster_is_never_decided() -> None:
    with pytest.raises(g.NoVotersError):
        decide(g.MatterType.GENERAL, *meeting(0, present=0))
    q = g.check_quorum(0, 0, POLICY.meeting_quorum)
    assert (q.met, q.needed) == (False, 1)


def test_tally() -> None:
    t = g.tally([g.Choice.YES, g.Choice.NO, g.Choice.YES, g.Choice.ABSTAIN], voters=6)
    assert t == g.Tally(yes=2, no=1, abstain=1, not_voted=2)
    assert t.cast == 4
    with pytest.raises(g.BallotsExceedVotersError):  # more ballots than voters
        g.tally([g.Choice.YES] * 3, voters=2)
    assert g.tally([], voters=3) == g.Tally(0, 0, 0, 3)


def test_check_show_of_hands() -> None:
    general = POLICY.matter(g.MatterType.GENERAL)
    five, _ = meeting(7, present=5)
    assert g.check_show_of_hands(g.Tally(2, 2, 1, 0), five, general, POLICY).met
    g.check_show_of_hands(g.Tally(0, 0, 0, 0), five, general, POLICY)
    with pytest.raises(g.GovernanceError) as refused:
        g.check_show_of_hands(g.Tally(3, 2, 1, 0), five, general, POLICY)
    assert refusal_of(refused) is g.Refusal.TOO_MANY_HANDS
    assert refused.value.details == {"cast": 6, "voters": 5}
    # Seven present when the vote opened, three left since: the hands of four at most, and
    # four of seven is still a quorum; after a fourth leaves, the quorum is gone.
    seven, _ = meeting(7, present=7)
    now = g.still_present(seven, frozenset(range(4)))
    with pytest.raises(g.GovernanceError) as refused:
        g.check_show_of_hands(g.Tally(7, 0, 0, 0), now, general, POLICY)
    assert refused.value.details == {"cast": 7, "voters": 4}
    g.check_show_of_hands(g.Tally(4, 0, 0, 0), now, general, POLICY)
    with pytest.raises(g.GovernanceError) as refused:
        g.check_show_of_hands(
            g.Tally(3, 0, 0, 0), g.still_present(seven, frozenset(range(3))), general, POLICY
        )
    assert refusal_of(refused) is g.Refusal.NO_QUORUM


# ---------------------------------------------------------------------------------------------
# Roster (第五条, 第六条)

P = g.CouncilPosition


def entry(
    pid: int, *, leader: bool = False, party: bool = True, position: g.CouncilPosition = P.NONE
) -> g.RosterEntry:
    return g.RosterEntry(pid, leader, party, position)


def roster(size: int, leader: g.RosterEntry | None = None) -> list[g.RosterEntry]:
    first = [leader] if leader is not None else []
    return first + [entry(i) for i in range(len(first), size)]


PRESIDENT_LEADER = entry(0, leader=True, position=P.PRESIDENT)


def issues(entries: list[g.RosterEntry], president: bool | None = True) -> list[g.RosterIssue]:
    return g.roster_issues(entries, president_is_party_member=president, policy=POLICY)


@pytest.mark.parametrize(
    ("entries", "president", "expected"),
    [
        ([], True, [g.RosterIssue.EMPTY]),
        (roster(7, PRESIDENT_LEADER), True, []),
        (roster(1, PRESIDENT_LEADER), True, []),
        (roster(8, PRESIDENT_LEADER), True, [g.RosterIssue.TOO_LARGE, g.RosterIssue.EVEN]),
        (roster(9, PRESIDENT_LEADER), True, [g.RosterIssue.TOO_LARGE]),
        (roster(6, PRESIDENT_LEADER), True, [g.RosterIssue.EVEN]),
        (roster(5), True, [g.RosterIssue.NO_LEADER]),
        (roster(4), True, [g.RosterIssue.EVEN, g.RosterIssue.NO_LEADER]),
        (
            [*roster(4, PRESIDENT_LEADER), entry(9, leader=True, position=P.VICE_PRESIDENT)],
            True,
            [g.RosterIssue.SEVERAL_LEADERS],
        ),
        (
            roster(5, entry(0, leader=True, party=False, position=P.PRESIDENT)),
            False,
            [g.RosterIssue.LEADER_NOT_PARTY_MEMBER],
        ),
        (
            roster(5, entry(0, leader=True, party=False, position=P.DIRECTOR)),
            False,
            [g.RosterIssue.LEADER_NOT_PARTY_MEMBER],
        ),
        (
            roster(5, entry(0, leader=True, position=P.VICE_PRESIDENT)),
            True,
            [g.RosterIssue.LEADER_NOT_ELIGIBLE],
        ),
        (roster(5, entry(0, leader=True, position=P.VICE_PRESIDENT)), False, []),
        (roster(5, entry(0, leader=True, position=P.VICE_PRESIDENT)), None, []),
        (roster(5, PRESIDENT_LEADER), None, []),
        (roster(5, PRESIDENT_LEADER), False, []),
        (
            roster(5, entry(0, leader=True, position=P.DIRECTOR)),
            False,
            [g.RosterIssue.LEADER_NOT_ELIGIBLE],
        ),
        (
            roster(5, entry(0, leader=True, position=P.DIRECTOR)),
            None,
            [g.RosterIssue.LEADER_NOT_ELIGIBLE],
        ),
        (
            roster(5, entry(0, leader=True, position=P.NONE)),
            False,
            [g.RosterIssue.LEADER_NOT_ELIGIBLE],
        ),
    ],
)
def test_roster_issues(
    entries: list[g.RosterEntry], president: bool | None, expected: list[g.RosterIssue]
) -> None:
    assert issues(entries, president) == expected
    again = g.roster_issues(iter(entries), president_is_party_member=president, policy=POLICY)
    assert again == expected


def test_unknown_position_is_not_eligible() -> None:
    # A position outside the enum (e.g. read from an old record) falls through every case of
    # the match and is treated as not eligible.
    odd = cast(g.CouncilPosition, "secretary_general")
    for president in (True, False, None):
        assert issues(roster(5, entry(0, leader=True, position=odd)), president) == [
            g.RosterIssue.LEADER_NOT_ELIGIBLE
        ]


def test_roster_size_settings() -> None:
    relaxed = dataclasses.replace(POLICY, max_members=9, require_odd=False)
    team = roster(8, PRESIDENT_LEADER)
    assert g.roster_issues(team, president_is_party_member=True, policy=relaxed) == []


B = g.RosterIssue


@pytest.mark.parametrize(
    ("found", "exception_approved", "is_removal", "expected"),
    [
        ([B.TOO_LARGE, B.EVEN], False, False, [B.TOO_LARGE, B.EVEN]),
        ([B.TOO_LARGE, B.EVEN], True, False, []),
        ([B.EVEN], False, True, []),
        ([B.TOO_LARGE, B.EVEN], True, True, []),
        ([B.EVEN, B.NO_LEADER], True, False, [B.NO_LEADER]),
        ([B.EVEN, B.SEVERAL_LEADERS], False, True, [B.SEVERAL_LEADERS]),
        ([B.LEADER_NOT_PARTY_MEMBER], True, True, [B.LEADER_NOT_PARTY_MEMBER]),
        ([B.LEADER_NOT_ELIGIBLE], True, True, [B.LEADER_NOT_ELIGIBLE]),
        ([B.EMPTY], True, True, [B.EMPTY]),
        ([], False, False, []),
    ],
)
def test_blocking_issues(
    found: list[g.RosterIssue],
    exception_approved: bool,
    is_removal: bool,
    expected: list[g.RosterIssue],
) -> None:
    assert (
        g.blocking_issues(found, exception_approved=exception_approved, is_removal=is_removal)
        == expected
    )


def test_size_issues() -> None:
    assert frozenset({B.TOO_LARGE, B.EVEN}) == g.SIZE_ISSUES


# ---------------------------------------------------------------------------------------------
# State machines: every (state, action) pair

MS, MA = g.MeetingState, g.MeetingAction
MEETING_TABLE = {
    (MS.DRAFT, MA.CONVENE): MS.CONVENED,
    (MS.DRAFT, MA.CANCEL): MS.CANCELLED,
    (MS.CONVENED, MA.CANCEL): MS.CANCELLED,
    (MS.DRAFT, MA.RESCHEDULE): MS.DRAFT,
    (MS.CONVENED, MA.RESCHEDULE): MS.CONVENED,
    (MS.CONVENED, MA.OPEN): MS.OPEN,
    (MS.OPEN, MA.CLOSE): MS.CLOSED,
    (MS.CLOSED, MA.SIGN): MS.SIGNED,
}
IS, IA = g.ItemState, g.ItemAction
ITEM_TABLE = {
    (IS.PROPOSED, IA.ACCEPT): IS.ACCEPTED,
    (IS.PROPOSED, IA.REJECT): IS.REJECTED,
    (IS.PROPOSED, IA.EDIT): IS.PROPOSED,
    (IS.ACCEPTED, IA.EDIT): IS.ACCEPTED,
    (IS.ACCEPTED, IA.WITHDRAW): IS.REJECTED,
    (IS.ACCEPTED, IA.OPEN_VOTE): IS.VOTING,
    (IS.ACCEPTED, IA.DEFER): IS.DEFERRED,
    (IS.VOTING, IA.DECIDE): IS.DECIDED,
    (IS.VOTING, IA.RETURN): IS.ACCEPTED,
    (IS.VOTING, IA.RECALL): IS.ACCEPTED,
    (IS.VOTING, IA.DEFER): IS.DEFERRED,
}
VS, VA = g.VoteState, g.VoteAction
VOTE_TABLE = {(VS.OPEN, VA.CAST): VS.OPEN, (VS.OPEN, VA.CLOSE): VS.CLOSED}


@pytest.mark.parametrize(("state", "action"), list(itertools.product(MS, MA)))
def test_meeting_machine(state: g.MeetingState, action: g.MeetingAction) -> None:
    if (state, action) in MEETING_TABLE:
        assert g.meeting_next(state, action) is MEETING_TABLE[(state, action)]
        return
    with pytest.raises(g.GovernanceError) as refused:
        g.meeting_next(state, action)
    assert refusal_of(refused) is g.Refusal.ILLEGAL_TRANSITION
    assert refused.value.details == {"machine": "meeting", "state": state, "action": action}
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__


@pytest.mark.parametrize(("state", "action"), list(itertools.product(IS, IA)))
def test_item_machine(state: g.ItemState, action: g.ItemAction) -> None:
    if (state, action) in ITEM_TABLE:
        assert g.item_next(state, action) is ITEM_TABLE[(state, action)]
        return
    with pytest.raises(g.GovernanceError) as refused:
        g.item_next(state, action)
    assert refusal_of(refused) is g.Refusal.ILLEGAL_TRANSITION
    assert refused.value.details == {"machine": "item", "state": state, "action": action}


@pytest.mark.parametrize(("state", "action"), list(itertools.product(VS, VA)))
def test_vote_machine(state: g.VoteState, action: g.VoteAction) -> None:
    if (state, action) in VOTE_TABLE:
        assert g.vote_next(state, action) is VOTE_TABLE[(state, action)]
        return
    with pytest.raises(g.GovernanceError) as refused:
        g.vote_next(state, action)
    assert refusal_of(refused) is g.Refusal.VOTE_CLOSED  # the only illegal moves: closed
    assert state is VS.CLOSED


def test_vote_machine_unknown_action_is_illegal() -> None:
    # Every action is legal on an open vote; an action outside the vocabulary is not a
    # refusal by the rules but impossible input.
    unknown = cast(g.VoteAction, "withdraw")
    with pytest.raises(g.KindError):
        g.vote_next(VS.OPEN, unknown)


def test_transition_tables() -> None:
    assert dict(g.MEETING_TRANSITIONS) == MEETING_TABLE
    assert dict(g.ITEM_TRANSITIONS) == ITEM_TABLE
    assert dict(g.VOTE_TRANSITIONS) == VOTE_TABLE


def test_a_vote_is_withdrawn_only_before_any_ballot() -> None:
    """A vote opened by mistake may be withdrawn while nobody has voted; a ballot cast stands."""
    g.check_vote_recall(0)
    with pytest.raises(g.GovernanceError) as refused:
        g.check_vote_recall(1)
    assert refusal_of(refused) is g.Refusal.BALLOTS_CAST
    assert refused.value.details == {"cast": 1}
    with pytest.raises(g.CountError):
        g.check_vote_recall(-1)


@pytest.mark.parametrize("state", MS)
def test_require_meeting_state(state: g.MeetingState) -> None:
    if state in g.AGENDA_OPEN_STATES:
        g.require_meeting_state(state, iter(g.AGENDA_OPEN_STATES), "add_topic")
        return
    with pytest.raises(g.GovernanceError) as refused:
        g.require_meeting_state(state, g.AGENDA_OPEN_STATES, "add_topic")
    assert refusal_of(refused) is g.Refusal.ILLEGAL_TRANSITION
    assert refused.value.details["action"] == "add_topic"
    assert {MS.DRAFT, MS.CONVENED, MS.OPEN} == g.AGENDA_OPEN_STATES


def test_governance_error() -> None:
    error = g.GovernanceError(g.Refusal.NO_QUORUM, present=3, needed=4)
    assert error.refusal is g.Refusal.NO_QUORUM
    assert error.details == {"present": 3, "needed": 4}
    assert error.args == ("no_quorum", {"present": 3, "needed": 4})


# ---------------------------------------------------------------------------------------------
# Attendance: leave and check-in

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("now", "state", "expected"),
    [
        (START - timedelta(days=2), MS.DRAFT, g.Attendance.LEAVE),
        (START - MINUTE, MS.CONVENED, g.Attendance.LEAVE),
        (START, MS.CONVENED, g.Attendance.ABSENT),
        (START + MINUTE, MS.CONVENED, g.Attendance.ABSENT),
        (START - MINUTE, MS.OPEN, g.Attendance.ABSENT),  # opened early: it has started
        (START + MINUTE, MS.OPEN, g.Attendance.ABSENT),
    ],
)
def test_leave_status(now: datetime, state: g.MeetingState, expected: g.Attendance) -> None:
    assert g.leave_status(now, START, state) is expected


@pytest.mark.parametrize("state", [MS.CLOSED, MS.SIGNED, MS.CANCELLED])
def test_leave_after_the_meeting_is_refused(state: g.MeetingState) -> None:
    with pytest.raises(g.GovernanceError) as refused:
        g.leave_status(START - timedelta(days=1), START, state)
    assert refusal_of(refused) is g.Refusal.ILLEGAL_TRANSITION
    assert refused.value.details["action"] == "leave"


LATE_POLICY = dataclasses.replace(POLICY, late_after=timedelta(minutes=10))


@pytest.mark.parametrize(
    ("now", "state", "policy", "expected"),
    [
        (START - timedelta(hours=1), MS.CONVENED, POLICY, g.Attendance.PRESENT),
        (START - MINUTE, MS.CONVENED, POLICY, g.Attendance.PRESENT),
        (START, MS.CONVENED, POLICY, g.Attendance.PRESENT),
        (START, MS.OPEN, POLICY, g.Attendance.PRESENT),
        (START + timedelta(seconds=59), MS.OPEN, POLICY, g.Attendance.PRESENT),
        (START + timedelta(seconds=60), MS.OPEN, POLICY, g.Attendance.LATE),
        (START + timedelta(hours=3), MS.OPEN, POLICY, g.Attendance.LATE),
        (START + MINUTE, MS.CONVENED, POLICY, g.Attendance.LATE),
        (START + 10 * MINUTE, MS.OPEN, LATE_POLICY, g.Attendance.PRESENT),
        (START + 11 * MINUTE - timedelta(seconds=1), MS.OPEN, LATE_POLICY, g.Attendance.PRESENT),
        (START + 11 * MINUTE, MS.OPEN, LATE_POLICY, g.Attendance.LATE),
    ],
)
def test_checkin_status(
    now: datetime, state: g.MeetingState, policy: g.Policy, expected: g.Attendance
) -> None:
    assert g.checkin_status(now, START, state, policy) is expected


def test_checkin_before_the_window_is_refused() -> None:
    too_early = START - timedelta(hours=1) - timedelta(seconds=1)
    with pytest.raises(g.GovernanceError) as refused:
        g.checkin_status(too_early, START, MS.CONVENED, POLICY)
    assert refusal_of(refused) is g.Refusal.CHECKIN_NOT_OPEN
    assert refused.value.details == {"opens_at": START - timedelta(hours=1)}
    wide = dataclasses.replace(POLICY, checkin_opens_before=timedelta(hours=2))
    assert g.checkin_status(too_early, START, MS.CONVENED, wide) is g.Attendance.PRESENT


def test_a_meeting_not_opened_long_after_its_announced_time_lapses() -> None:
    """Up to `open_within` after the start a convened meeting still opens and takes check-ins;
    a second later it does neither (the notice lapsed); an open meeting keeps taking them."""
    edge = START + timedelta(hours=3)
    assert g.checkin_status(edge, START, MS.CONVENED, POLICY) is g.Attendance.LATE
    assert g.check_opening(edge, START, 4, 7, POLICY).met
    past = edge + timedelta(seconds=1)
    for attempt in (
        lambda: g.checkin_status(past, START, MS.CONVENED, POLICY),
        lambda: g.check_opening(past, START, 7, 7, POLICY),
    ):
        with pytest.raises(g.GovernanceError) as refused:
            attempt()
        assert refusal_of(refused) is g.Refusal.NOTICE_LAPSED
        assert refused.value.details == {"starts_at": START, "within": timedelta(hours=3)}
    assert g.checkin_status(past, START, MS.OPEN, POLICY) is g.Attendance.LATE
    longer = dataclasses.replace(POLICY, open_within=timedelta(hours=6))
    assert g.check_opening(past, START, 4, 7, longer).met


@pytest.mark.parametrize("state", [MS.DRAFT, MS.CLOSED, MS.SIGNED, MS.CANCELLED])
def test_checkin_outside_the_meeting_is_refused(state: g.MeetingState) -> None:
    with pytest.raises(g.GovernanceError) as refused:
        g.checkin_status(START, START, state, POLICY)
    assert refusal_of(refused) is g.Refusal.CHECKIN_NOT_OPEN
    assert refused.value.details == {"state": state}


@pytest.mark.parametrize(("attendance", "item_state"), list(itertools.product(g.Attendance, IS)))
def test_check_written_opinion(attendance: g.Attendance, item_state: g.ItemState) -> None:
    if attendance is not g.Attendance.LEAVE:
        with pytest.raises(g.GovernanceError) as refused:
            g.check_written_opinion(attendance, item_state)
        assert refusal_of(refused) is g.Refusal.OPINION_NOT_ON_LEAVE
    elif item_state in (IS.PROPOSED, IS.ACCEPTED):
        g.check_written_opinion(attendance, item_state)
    else:
        with pytest.raises(g.GovernanceError) as refused:
            g.check_written_opinion(attendance, item_state)
        assert refusal_of(refused) is g.Refusal.OPINION_CLOSED
        assert refused.value.details == {"item_state": item_state}


def test_present_states() -> None:
    assert frozenset({g.Attendance.PRESENT, g.Attendance.LATE}) == g.PRESENT_STATES


# ---------------------------------------------------------------------------------------------
# Ballots

LEADER = 0
ELECTORATE = g.Electorate(
    roster=frozenset(range(7)),
    present=frozenset({0, 1, 2, 3, 4, 100}),  # 5 and 6 away; 100 is an observer
    recused=frozenset({4}),
)


def ballot(**overrides: object) -> g.BallotAction:
    args: dict[str, object] = {
        "vote_state": VS.OPEN,
        "method": g.VoteMethod.NAMED,
        "electorate": ELECTORATE,
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
    args.update(overrides)
    return g.check_ballot(**args)  # type: ignore[arg-type]


def refused_ballot(**overrides: object) -> g.GovernanceError:
    with pytest.raises(g.GovernanceError) as refused:
        ballot(**overrides)
    return refused.value


NO_CHANGE = dataclasses.replace(POLICY, allow_vote_change=False)
PERSONNEL = POLICY.matter(g.MatterType.PERSONNEL)
SECRET = g.VoteMethod.SECRET


def test_new_ballot() -> None:
    assert ballot() is g.BallotAction.NEW
    assert ballot(method=SECRET) is g.BallotAction.NEW


def test_repeat_and_change_of_a_named_ballot() -> None:
    assert ballot(previous=g.Choice.YES, already_voted=True) is g.BallotAction.SAME
    assert ballot(previous=g.Choice.YES) is g.BallotAction.SAME
    assert ballot(previous=g.Choice.NO, already_voted=True) is g.BallotAction.CHANGE
    assert ballot(previous=None, already_voted=True) is g.BallotAction.CHANGE
    assert ballot(previous=g.Choice.YES, policy=NO_CHANGE) is g.BallotAction.SAME
    error = refused_ballot(previous=g.Choice.NO, policy=NO_CHANGE)
    assert error.refusal is g.Refusal.VOTE_CHANGE_NOT_ALLOWED
    assert error.details == {"method": g.VoteMethod.NAMED}


def test_secret_ballot_cannot_be_changed() -> None:
    error = refused_ballot(method=SECRET, already_voted=True)
    assert error.refusal is g.Refusal.VOTE_CHANGE_NOT_ALLOWED
    assert error.details == {"method": SECRET}


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        ({"voter_id": 5}, g.Refusal.NOT_PRESENT),
        ({"voter_id": 4}, g.Refusal.RECUSED),
        ({"voter_id": 100, "is_observer": True}, g.Refusal.OBSERVER_CANNOT_VOTE),
        ({"voter_id": 100}, g.Refusal.NOT_ON_ROSTER),
        ({"voter_id": 200}, g.Refusal.NOT_ON_ROSTER),
        ({"vote_state": VS.CLOSED}, g.Refusal.VOTE_CLOSED),
        ({"vote_state": VS.CLOSED, "voter_id": 100}, g.Refusal.VOTE_CLOSED),
        ({"method": g.VoteMethod.SHOW_OF_HANDS}, g.Refusal.METHOD_NOT_ALLOWED),
    ],
)
def test_refused_ballots(overrides: dict[str, object], refusal: g.Refusal) -> None:
    assert refused_ballot(**overrides).refusal is refusal


def test_leader_votes_last_on_personnel() -> None:
    leader = {"voter_id": LEADER, "voter_is_leader": True, "rule": PERSONNEL, "method": SECRET}
    error = refused_ballot(**leader)
    assert error.refusal is g.Refusal.LEADER_VOTES_LAST
    assert error.details == {"waiting": 3}  # 1, 2 and 3; 4 is recused, 5 and 6 away
    error = refused_ballot(**leader, voted=frozenset({1, 2}))
    assert error.details == {"waiting": 1}
    assert ballot(**leader, voted=frozenset({1, 2, 3})) is g.BallotAction.NEW
    # the others are free to vote in any order; on a general item the leader is too
    assert ballot(rule=PERSONNEL, method=SECRET) is g.BallotAction.NEW
    assert ballot(voter_id=LEADER, voter_is_leader=True) is g.BallotAction.NEW
    # a leader alone in the room votes at once
    alone = g.Electorate(frozenset(range(3)), frozenset({LEADER}))
    assert ballot(**leader, electorate=alone) is g.BallotAction.NEW


# ---------------------------------------------------------------------------------------------
# Permissions

R, N = g.Role, g.Need
MAY = {
    N.ANYONE: set(R),
    N.MEMBER: {R.MEMBER, R.LEADER},
    N.CHAIR: {R.CHAIR, R.LEADER},
    N.LEADER: {R.LEADER},
    N.RECORDER: {R.RECORDER},
    N.REPORTER: {R.LEADER, R.LIAISON},
    N.ROSTER: {R.LEADER, R.COMMITTEE},
    N.COMMITTEE: {R.COMMITTEE},
}


@pytest.mark.parametrize(("role", "need"), list(itertools.product(R, N)))
def test_may(role: g.Role, need: g.Need) -> None:
    assert g.may({role}, need) is (role in MAY[need])
    assert g.may([role, R.OBSERVER], need) is (role in MAY[need] or R.OBSERVER in MAY[need])


@pytest.mark.parametrize("need", N)
def test_may_default_deny(need: g.Need) -> None:
    assert g.may((), need) is (need is N.ANYONE)
    assert g.may(iter(set(R)), need)
    assert g.roles_for_need(need) == MAY[need]


# ---------------------------------------------------------------------------------------------
# Method and emergency

NAMED, HANDS = g.VoteMethod.NAMED, g.VoteMethod.SHOW_OF_HANDS
# The "ballot" column of the matter-type table in governance.md. DOCUMENT is not in the
# table ("document review" is routine work): it follows the general row.
ALLOWED_METHODS = {
    g.MatterType.GENERAL: {NAMED, HANDS},  # "named (记名) or show of hands"
    g.MatterType.DOCUMENT: {NAMED, HANDS},
    g.MatterType.MAJOR: {NAMED},  # "named"
    g.MatterType.PERSONNEL: {SECRET},  # "secret (无记名)"
    g.MatterType.DISCIPLINE: {SECRET},  # "secret"
    g.MatterType.STUDY: {NAMED, HANDS},  # never voted on (NOT_VOTED): the general row, unused
}


def _method_cases() -> list[object]:
    return [
        pytest.param(mt, method, id=f"{mt}-{method}")
        for mt, method in itertools.product(g.MatterType, g.VoteMethod)
    ]


@pytest.mark.parametrize(("mt", "method"), _method_cases())
def test_check_method(mt: g.MatterType, method: g.VoteMethod) -> None:
    rule = POLICY.matter(mt)
    assert rule.default_method in ALLOWED_METHODS[mt]
    if method in ALLOWED_METHODS[mt]:
        g.check_method(method, rule)
        return
    with pytest.raises(g.GovernanceError) as refused:
        g.check_method(method, rule)
    assert refusal_of(refused) is g.Refusal.METHOD_NOT_ALLOWED
    allowed = tuple(x for x in g.VoteMethod if x in ALLOWED_METHODS[mt])
    assert refused.value.details == {"method": method, "allowed": allowed}


@pytest.mark.parametrize("mt", g.MatterType)
def test_check_emergency(mt: g.MatterType) -> None:
    rule = POLICY.matter(mt)
    if mt in (g.MatterType.MAJOR, g.MatterType.PERSONNEL, g.MatterType.DISCIPLINE):
        g.check_emergency(rule)
        return
    with pytest.raises(g.GovernanceError) as refused:
        g.check_emergency(rule)
    assert refusal_of(refused) is g.Refusal.EMERGENCY_NOT_MAJOR


def test_still_present_keeps_roster_and_recusals() -> None:
    e = g.Electorate(frozenset(range(7)), frozenset({0, 1, 2, 3, 4}), frozenset({4}))
    later = g.still_present(e, frozenset({0, 1, 4, 6}))
    assert later == g.Electorate(
        frozenset(range(7)), frozenset({0, 1, 4, 6}), frozenset({4}), frozenset({0, 1, 2, 3})
    )
    assert later.voters == {0, 1}  # 6 came after the opening: in the room, not voting on it
    assert later.quorum_present(POLICY) == 4 - POLICY.recused_leave_base


def test_quorum_at_the_close_counts_who_came_since() -> None:
    """Four of seven in the room at the close: a member who left during the vote and one who
    came after it opened had given 「未达法定人数」 (only the opening's voters were counted)."""
    general = POLICY.matter(g.MatterType.GENERAL)
    opening = g.Electorate(frozenset(range(7)), frozenset({0, 1, 2, 3}))
    close = g.still_present(opening, frozenset({0, 1, 2, 4}))  # 3 left, 4 came
    decision = g.decide(close, g.Tally(4, 0, 0, 0), general, POLICY)
    assert decision.quorum.met
    assert decision.quorum.present == 4
    assert decision.outcome is g.Outcome.PASSED
    assert close.voters == {0, 1, 2}  # 4 came late: not a voter of this item
    assert g.Attendance.LEFT not in g.PRESENT_STATES


@pytest.mark.parametrize("method", list(g.VoteMethod))
@pytest.mark.parametrize("allowed", [True, False])
def test_which_ballots_may_be_changed(method: g.VoteMethod, allowed: bool) -> None:
    """A named ballot, while the policy allows it; never a secret one or a show of hands. The
    rule check_ballot applies is the one 「改票」 explains."""
    policy = g.Policy(allow_vote_change=allowed)
    assert g.ballot_changeable(method, policy) is (method is g.VoteMethod.NAMED and allowed)


def test_only_the_chair_in_the_room_chairs() -> None:
    """第十七条: the chair (the leader at convening, or the delegate) chairs, in the room; one
    opening the meeting without having checked in is to be checked in."""
    a = g.Attendance
    convened, open_ = g.MeetingState.CONVENED, g.MeetingState.OPEN
    assert g.check_chair(1, 1, a.PRESENT, open_) is False
    assert g.check_chair(1, 1, a.UNKNOWN, convened) is True
    assert g.check_chair(1, 1, a.ABSENT, convened) is True
    with pytest.raises(g.GovernanceError) as other:
        g.check_chair(1, 2, a.PRESENT, open_)
    assert other.value.refusal is g.Refusal.NOT_THE_CHAIR
    for status, state in [(a.LEAVE, convened), (a.LEFT, open_), (a.UNKNOWN, open_)]:
        with pytest.raises(g.GovernanceError) as away:
            g.check_chair(1, 1, status, state)
        assert away.value.refusal is g.Refusal.CHAIR_AWAY
