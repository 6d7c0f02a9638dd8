"""The functional core: the work rules of a leading group as pure functions.

Rule 1. Nothing here does I/O, reads the clock or produces Chinese text: time comes in as
        `now`, every threshold comes in as a `Policy`, and results are enums and dataclasses
        that the handlers render.
Rule 2. Every number is exact (`Fraction`), and every comparison says which reading it used:
        "strict" (more than) or "inclusive" (at least).
Rule 3. 应到会 (the base) is the roster of the meeting, members on leave included; a recused
        member leaves the base of that item when `recused_leave_base` is set. Pass means yes
        votes strictly more than `pass_share` of the base, never of those present or of votes
        cast.
Rule 4. Written opinions and observers never count, unless a matter rule says opinions do.
Rule 5. State machines are transition tables. An illegal move raises `GovernanceError` and
        changes nothing: every function returns a new value.

Over 600 lines as one file: the rules are meant to be read in one sitting, vocabulary first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction

# ---------------------------------------------------------------------------------------------
# Vocabulary


class MatterType(StrEnum):
    GENERAL = "general"  # 一般事项
    MAJOR = "major"  # 重大事项 / 三重一大
    PERSONNEL = "personnel"  # 人事
    DISCIPLINE = "discipline"  # 处分
    DOCUMENT = "document"  # 文件把关


class Reading(StrEnum):
    STRICT = "strict"  # more than the share
    INCLUSIVE = "inclusive"  # the share or more


class VoteMethod(StrEnum):
    NAMED = "named"  # 记名
    SHOW_OF_HANDS = "show_of_hands"  # 举手, counts recorded by the recorder
    SECRET = "secret"  # 无记名


class Choice(StrEnum):
    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"


class Attendance(StrEnum):
    UNKNOWN = "unknown"  # has not answered
    PRESENT = "present"
    LATE = "late"
    LEAVE = "leave"
    ABSENT = "absent"
    LEFT = "left"  # was present, left before the meeting closed


PRESENT_STATES = frozenset({Attendance.PRESENT, Attendance.LATE})


class Outcome(StrEnum):
    PASSED = "passed"
    NOT_PASSED = "not_passed"
    NO_QUORUM = "no_quorum"
    DEFERRED = "deferred"


class DeferralReason(StrEnum):
    DISSENT = "dissent"  # 反对 + 弃权 ≥ the dissent share of those present
    MARGIN = "margin"  # yes and no within the margin
    BY_HAND = "by_hand"  # the chair deferred it


class MeetingState(StrEnum):
    DRAFT = "draft"
    CONVENED = "convened"
    OPEN = "open"
    CLOSED = "closed"
    SIGNED = "signed"
    CANCELLED = "cancelled"


class MeetingAction(StrEnum):
    CONVENE = "convene"
    OPEN = "open"
    CLOSE = "close"
    SIGN = "sign"
    CANCEL = "cancel"


class ItemState(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    VOTING = "voting"
    DECIDED = "decided"
    DEFERRED = "deferred"


class ItemAction(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    OPEN_VOTE = "open_vote"
    DECIDE = "decide"
    RETURN = "return"  # a vote without quorum: the item may be voted on again
    DEFER = "defer"


class VoteState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class VoteAction(StrEnum):
    CAST = "cast"
    CLOSE = "close"


class Role(StrEnum):
    LEADER = "leader"  # 组长
    MEMBER = "member"  # 组员 (the leader is a member too)
    CHAIR = "chair"  # who chairs the current meeting: the leader or a delegate
    RECORDER = "recorder"  # 记录人
    LIAISON = "liaison"  # 党建联系人
    OBSERVER = "observer"  # 列席
    COMMITTEE = "committee"  # 市科技社团党委


class Need(StrEnum):
    """What a command requires of its sender."""

    ANYONE = "anyone"
    MEMBER = "member"
    CHAIR = "chair"
    LEADER = "leader"
    RECORDER = "recorder"
    REPORTER = "reporter"  # leader or liaison
    ROSTER = "roster"  # leader or committee: propose roster changes
    COMMITTEE = "committee"


_NEED_ROLES: Mapping[Need, frozenset[Role]] = {
    Need.ANYONE: frozenset(Role),
    Need.MEMBER: frozenset({Role.MEMBER, Role.LEADER}),
    Need.CHAIR: frozenset({Role.CHAIR, Role.LEADER}),
    Need.LEADER: frozenset({Role.LEADER}),
    Need.RECORDER: frozenset({Role.RECORDER}),
    Need.REPORTER: frozenset({Role.LEADER, Role.LIAISON}),
    Need.ROSTER: frozenset({Role.LEADER, Role.COMMITTEE}),
    Need.COMMITTEE: frozenset({Role.COMMITTEE}),
}


def may(roles: Iterable[Role], need: Need) -> bool:
    """The permission gate: default deny."""
    if need is Need.ANYONE:
        return True
    return not _NEED_ROLES[need].isdisjoint(roles)


def roles_for_need(need: Need) -> frozenset[Role]:
    return _NEED_ROLES[need]


class Refusal(StrEnum):
    ILLEGAL_TRANSITION = "illegal_transition"
    NO_QUORUM = "no_quorum"
    NOT_ON_ROSTER = "not_on_roster"
    OBSERVER_CANNOT_VOTE = "observer_cannot_vote"
    NOT_PRESENT = "not_present"
    RECUSED = "recused"
    VOTE_CLOSED = "vote_closed"
    VOTE_CHANGE_NOT_ALLOWED = "vote_change_not_allowed"
    LEADER_VOTES_LAST = "leader_votes_last"
    CHECKIN_NOT_OPEN = "checkin_not_open"
    LEAVE_NOT_OPEN = "leave_not_open"
    OPINION_NOT_ON_LEAVE = "opinion_not_on_leave"
    OPINION_CLOSED = "opinion_closed"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    ROSTER_INVALID = "roster_invalid"
    EMERGENCY_NOT_MAJOR = "emergency_not_major"


class GovernanceError(Exception):
    """A rule refused an action. `details` carries the numbers the reply needs."""

    def __init__(self, refusal: Refusal, **details: object) -> None:
        super().__init__(refusal.value, details)
        self.refusal = refusal
        self.details = details


# ---------------------------------------------------------------------------------------------
# Policy: every threshold is a named setting


@dataclass(frozen=True, slots=True)
class Threshold:
    share: Fraction
    reading: Reading

    def met(self, count: int, base: int) -> bool:
        if base <= 0:
            return False
        if self.reading is Reading.STRICT:
            return count > self.share * base
        return count >= self.share * base

    def needed(self, base: int) -> int:
        """The smallest count that meets the threshold (base + 1 when nothing can)."""
        for count in range(base + 1):
            if self.met(count, base):
                return count
        return base + 1

    def other(self) -> Threshold:
        flipped = Reading.INCLUSIVE if self.reading is Reading.STRICT else Reading.STRICT
        return Threshold(self.share, flipped)


@dataclass(frozen=True, slots=True)
class MatterRule:
    quorum: Threshold
    default_method: VoteMethod
    allowed_methods: frozenset[VoteMethod]
    major: bool  # subject to the deferral check
    pass_share: Fraction = Fraction(1, 2)  # yes must be strictly more than this share of 应到会
    written_opinions_count: bool = False
    leader_votes_last: bool = False


HALF_STRICT = Threshold(Fraction(1, 2), Reading.STRICT)
TWO_THIRDS = Threshold(Fraction(2, 3), Reading.INCLUSIVE)
_OPEN_METHODS = frozenset({VoteMethod.NAMED, VoteMethod.SHOW_OF_HANDS})

DEFAULT_MATTERS: Mapping[MatterType, MatterRule] = {
    MatterType.GENERAL: MatterRule(HALF_STRICT, VoteMethod.NAMED, _OPEN_METHODS, major=False),
    MatterType.DOCUMENT: MatterRule(HALF_STRICT, VoteMethod.NAMED, _OPEN_METHODS, major=False),
    MatterType.MAJOR: MatterRule(
        HALF_STRICT,
        VoteMethod.NAMED,
        frozenset({VoteMethod.NAMED}),
        major=True,
    ),
    MatterType.PERSONNEL: MatterRule(
        TWO_THIRDS,
        VoteMethod.SECRET,
        frozenset({VoteMethod.SECRET}),
        major=True,
        leader_votes_last=True,
    ),
    MatterType.DISCIPLINE: MatterRule(
        TWO_THIRDS, VoteMethod.SECRET, frozenset({VoteMethod.SECRET}), major=True
    ),
}


@dataclass(frozen=True, slots=True)
class Policy:
    matters: Mapping[MatterType, MatterRule] = field(default_factory=lambda: dict(DEFAULT_MATTERS))
    meeting_quorum: Threshold = HALF_STRICT
    max_members: int = 7
    require_odd: bool = True
    recused_leave_base: bool = True
    allow_vote_change: bool = True
    deferral_dissent_share: Fraction = Fraction(1, 3)
    deferral_margin: int = 1
    checkin_opens_before: timedelta = timedelta(hours=1)
    late_after: timedelta = timedelta(0)

    def matter(self, matter_type: MatterType) -> MatterRule:
        return self.matters[matter_type]


# ---------------------------------------------------------------------------------------------
# Roster (第五条, 第六条)


class CouncilPosition(StrEnum):
    PRESIDENT = "president"  # 理事长
    VICE_PRESIDENT = "vice_president"  # 副理事长
    DIRECTOR = "director"  # 理事
    NONE = "none"


class RosterIssue(StrEnum):
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    EVEN = "even"
    NO_LEADER = "no_leader"
    SEVERAL_LEADERS = "several_leaders"
    LEADER_NOT_PARTY_MEMBER = "leader_not_party_member"
    LEADER_NOT_ELIGIBLE = "leader_not_eligible"


SIZE_ISSUES = frozenset({RosterIssue.TOO_LARGE, RosterIssue.EVEN})


@dataclass(frozen=True, slots=True)
class RosterEntry:
    person_id: int
    is_leader: bool
    is_party_member: bool
    position: CouncilPosition


def roster_issues(
    roster: Iterable[RosterEntry], *, president_is_party_member: bool | None, policy: Policy
) -> list[RosterIssue]:
    """What is wrong with a roster. `president_is_party_member` is None when the society has
    no president on record; the leader rule is then checked on the leader alone."""
    entries = list(roster)
    issues: list[RosterIssue] = []
    if not entries:
        return [RosterIssue.EMPTY]
    if len(entries) > policy.max_members:
        issues.append(RosterIssue.TOO_LARGE)
    if policy.require_odd and len(entries) % 2 == 0:
        issues.append(RosterIssue.EVEN)
    leaders = [e for e in entries if e.is_leader]
    if not leaders:
        issues.append(RosterIssue.NO_LEADER)
    elif len(leaders) > 1:
        issues.append(RosterIssue.SEVERAL_LEADERS)
    else:
        leader = leaders[0]
        if not leader.is_party_member:
            issues.append(RosterIssue.LEADER_NOT_PARTY_MEMBER)
        elif not _leader_eligible(leader.position, president_is_party_member):
            issues.append(RosterIssue.LEADER_NOT_ELIGIBLE)
    return issues


def _leader_eligible(position: CouncilPosition, president_is_party_member: bool | None) -> bool:
    match position:
        case CouncilPosition.PRESIDENT:
            return True
        case CouncilPosition.VICE_PRESIDENT:
            # Only when the president is not a party member (or none is on record).
            return president_is_party_member is not True
        case CouncilPosition.DIRECTOR | CouncilPosition.NONE:
            return False


def blocking_issues(
    issues: Iterable[RosterIssue], *, exception_approved: bool, is_removal: bool
) -> list[RosterIssue]:
    """The issues that stop a change from taking effect. Size issues give way to an explicit
    committee exception, and a removal may leave a vacancy (shown as a warning until filled)."""
    blocking = []
    for issue in issues:
        if issue in SIZE_ISSUES and (exception_approved or is_removal):
            continue
        blocking.append(issue)
    return blocking


# ---------------------------------------------------------------------------------------------
# State machines

MEETING_TRANSITIONS: Mapping[tuple[MeetingState, MeetingAction], MeetingState] = {
    (MeetingState.DRAFT, MeetingAction.CONVENE): MeetingState.CONVENED,
    (MeetingState.DRAFT, MeetingAction.CANCEL): MeetingState.CANCELLED,
    (MeetingState.CONVENED, MeetingAction.CANCEL): MeetingState.CANCELLED,
    (MeetingState.CONVENED, MeetingAction.OPEN): MeetingState.OPEN,
    (MeetingState.OPEN, MeetingAction.CLOSE): MeetingState.CLOSED,
    (MeetingState.CLOSED, MeetingAction.SIGN): MeetingState.SIGNED,
}

ITEM_TRANSITIONS: Mapping[tuple[ItemState, ItemAction], ItemState] = {
    (ItemState.PROPOSED, ItemAction.ACCEPT): ItemState.ACCEPTED,
    (ItemState.PROPOSED, ItemAction.REJECT): ItemState.REJECTED,
    (ItemState.ACCEPTED, ItemAction.OPEN_VOTE): ItemState.VOTING,
    (ItemState.ACCEPTED, ItemAction.DEFER): ItemState.DEFERRED,
    (ItemState.VOTING, ItemAction.DECIDE): ItemState.DECIDED,
    (ItemState.VOTING, ItemAction.RETURN): ItemState.ACCEPTED,
    (ItemState.VOTING, ItemAction.DEFER): ItemState.DEFERRED,
}

VOTE_TRANSITIONS: Mapping[tuple[VoteState, VoteAction], VoteState] = {
    (VoteState.OPEN, VoteAction.CAST): VoteState.OPEN,
    (VoteState.OPEN, VoteAction.CLOSE): VoteState.CLOSED,
}


def meeting_next(state: MeetingState, action: MeetingAction) -> MeetingState:
    try:
        return MEETING_TRANSITIONS[(state, action)]
    except KeyError:
        raise GovernanceError(
            Refusal.ILLEGAL_TRANSITION, machine="meeting", state=state, action=action
        ) from None


def item_next(state: ItemState, action: ItemAction) -> ItemState:
    try:
        return ITEM_TRANSITIONS[(state, action)]
    except KeyError:
        raise GovernanceError(
            Refusal.ILLEGAL_TRANSITION, machine="item", state=state, action=action
        ) from None


def vote_next(state: VoteState, action: VoteAction) -> VoteState:
    try:
        return VOTE_TRANSITIONS[(state, action)]
    except KeyError:
        if state is VoteState.CLOSED:
            raise GovernanceError(Refusal.VOTE_CLOSED) from None
        raise GovernanceError(
            Refusal.ILLEGAL_TRANSITION, machine="vote", state=state, action=action
        ) from None


# States in which the agenda may still change, and in which people answer the notice.
AGENDA_OPEN_STATES = frozenset({MeetingState.DRAFT, MeetingState.CONVENED, MeetingState.OPEN})


def require_meeting_state(
    state: MeetingState, allowed: Iterable[MeetingState], action: str
) -> None:
    if state not in set(allowed):
        raise GovernanceError(
            Refusal.ILLEGAL_TRANSITION, machine="meeting", state=state, action=action
        )


# ---------------------------------------------------------------------------------------------
# Attendance: leave (第十八条) and check-in


def leave_status(now: datetime, starts_at: datetime, state: MeetingState) -> Attendance:
    """Leave asked before the start is leave; asked after it, the member is recorded absent."""
    require_meeting_state(
        state, (MeetingState.DRAFT, MeetingState.CONVENED, MeetingState.OPEN), "leave"
    )
    if state is MeetingState.OPEN or now >= starts_at:
        return Attendance.ABSENT
    return Attendance.LEAVE


def checkin_status(
    now: datetime, starts_at: datetime, state: MeetingState, policy: Policy
) -> Attendance:
    """Check-in runs from `checkin_opens_before` the start until the meeting closes."""
    if state not in (MeetingState.CONVENED, MeetingState.OPEN):
        raise GovernanceError(Refusal.CHECKIN_NOT_OPEN, state=state)
    opens_at = starts_at - policy.checkin_opens_before
    if now < opens_at:
        raise GovernanceError(Refusal.CHECKIN_NOT_OPEN, opens_at=opens_at)
    if now > starts_at + policy.late_after:
        return Attendance.LATE
    return Attendance.PRESENT


def check_written_opinion(author_attendance: Attendance, item_state: ItemState) -> None:
    """A member on leave may send a written opinion on a topic until its vote opens."""
    if author_attendance is not Attendance.LEAVE:
        raise GovernanceError(Refusal.OPINION_NOT_ON_LEAVE, attendance=author_attendance)
    if item_state not in (ItemState.PROPOSED, ItemState.ACCEPTED):
        raise GovernanceError(Refusal.OPINION_CLOSED, item_state=item_state)


# ---------------------------------------------------------------------------------------------
# Quorum (第十八条) and the decision


@dataclass(frozen=True, slots=True)
class QuorumCheck:
    present: int
    base: int
    needed: int
    met: bool
    threshold: Threshold
    # What the other reading (strict / inclusive) would say: when it differs, say so.
    other_reading_met: bool

    @property
    def readings_disagree(self) -> bool:
        return self.met != self.other_reading_met


def check_quorum(present: int, base: int, threshold: Threshold) -> QuorumCheck:
    return QuorumCheck(
        present=present,
        base=base,
        needed=threshold.needed(base),
        met=threshold.met(present, base),
        threshold=threshold,
        other_reading_met=threshold.other().met(present, base),
    )


@dataclass(frozen=True, slots=True)
class Electorate:
    """Who may vote on one item, frozen when the vote opens.

    `roster` is 应到会 (every member, those on leave included); `present` the members checked
    in (present or late); `recused` the members who stand aside for this item."""

    roster: frozenset[int]
    present: frozenset[int]
    recused: frozenset[int] = frozenset()

    def base(self, policy: Policy) -> int:
        if policy.recused_leave_base:
            return len(self.roster - self.recused)
        return len(self.roster)

    def quorum_present(self, policy: Policy) -> int:
        present = self.present & self.roster
        if policy.recused_leave_base:
            present -= self.recused
        return len(present)

    @property
    def voters(self) -> frozenset[int]:
        return (self.present & self.roster) - self.recused


def still_present(electorate: Electorate, present_now: frozenset[int]) -> Electorate:
    """The electorate at the close of a vote: quorum is checked again, so members who left
    the meeting meanwhile no longer count as present (their ballots still count)."""
    return Electorate(electorate.roster, electorate.present & present_now, electorate.recused)


def item_quorum(electorate: Electorate, rule: MatterRule, policy: Policy) -> QuorumCheck:
    return check_quorum(electorate.quorum_present(policy), electorate.base(policy), rule.quorum)


def votes_needed(base: int, rule: MatterRule) -> int:
    """Yes votes needed to pass: strictly more than `pass_share` of 应到会."""
    return Threshold(rule.pass_share, Reading.STRICT).needed(base)


@dataclass(frozen=True, slots=True)
class Tally:
    yes: int
    no: int
    abstain: int
    not_voted: int

    @property
    def cast(self) -> int:
        return self.yes + self.no + self.abstain


def tally(choices: Iterable[Choice], voters: int) -> Tally:
    """Counts from ballots; `voters` is the number entitled and present, so the ones who
    have not voted are the rest."""
    counts = dict.fromkeys(Choice, 0)
    for choice in choices:
        counts[choice] += 1
    cast = sum(counts.values())
    return Tally(
        counts[Choice.YES], counts[Choice.NO], counts[Choice.ABSTAIN], max(voters - cast, 0)
    )


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    tally: Tally
    quorum: QuorumCheck
    needed: int
    base: int
    deferral: DeferralReason | None = None
    emergency: bool = False  # the deferral check was overridden by a declared emergency
    would_defer: DeferralReason | None = None  # what the check found, even when overridden


def deferral_reason(t: Tally, present: int, policy: Policy) -> DeferralReason | None:
    """Significant disagreement on a major item (第十六条)."""
    if present > 0 and (t.no + t.abstain) >= policy.deferral_dissent_share * present:
        return DeferralReason.DISSENT
    if abs(t.yes - t.no) <= policy.deferral_margin:
        return DeferralReason.MARGIN
    return None


def decide(
    electorate: Electorate,
    t: Tally,
    rule: MatterRule,
    policy: Policy,
    *,
    emergency: bool = False,
    opinion_stances: Iterable[Choice] = (),
) -> Decision:
    """The result of a vote, from the frozen electorate and the counts.

    Written opinions (`opinion_stances`) join the counts only when the matter rule says so."""
    if rule.written_opinions_count:
        extra = tally(opinion_stances, 0)
        t = Tally(t.yes + extra.yes, t.no + extra.no, t.abstain + extra.abstain, t.not_voted)
    quorum = item_quorum(electorate, rule, policy)
    base = electorate.base(policy)
    needed = votes_needed(base, rule)
    if not quorum.met:
        return Decision(Outcome.NO_QUORUM, t, quorum, needed, base)
    passed = t.yes >= needed
    outcome = Outcome.PASSED if passed else Outcome.NOT_PASSED
    found = deferral_reason(t, quorum.present, policy) if rule.major else None
    if found is not None and not emergency:
        return Decision(
            Outcome.DEFERRED, t, quorum, needed, base, deferral=found, would_defer=found
        )
    return Decision(
        outcome,
        t,
        quorum,
        needed,
        base,
        emergency=emergency and found is not None,
        would_defer=found,
    )


# ---------------------------------------------------------------------------------------------
# Ballots


class BallotAction(StrEnum):
    NEW = "new"
    CHANGE = "change"
    SAME = "same"  # a repeat of the recorded choice: nothing changes


def check_ballot(
    *,
    vote_state: VoteState,
    method: VoteMethod,
    electorate: Electorate,
    voter_id: int,
    is_observer: bool,
    previous: Choice | None,
    already_voted: bool,
    choice: Choice,
    policy: Policy,
    rule: MatterRule,
    voter_is_leader: bool,
    voted: frozenset[int],
) -> BallotAction:
    """May `voter_id` cast `choice` now? `previous` is the recorded choice of a named ballot;
    for a secret ballot only `already_voted` is known. `voted` is who has voted so far."""
    vote_next(vote_state, VoteAction.CAST)
    if method is VoteMethod.SHOW_OF_HANDS:
        # Counted by the recorder, not by individual ballots.
        raise GovernanceError(Refusal.METHOD_NOT_ALLOWED, method=method, ballot=True)
    if voter_id not in electorate.roster:
        if is_observer:
            raise GovernanceError(Refusal.OBSERVER_CANNOT_VOTE)
        raise GovernanceError(Refusal.NOT_ON_ROSTER)
    if voter_id in electorate.recused:
        raise GovernanceError(Refusal.RECUSED)
    if voter_id not in electorate.present:
        raise GovernanceError(Refusal.NOT_PRESENT)
    if already_voted or previous is not None:
        if previous is not None and previous is choice:
            return BallotAction.SAME
        if method is VoteMethod.SECRET or not policy.allow_vote_change:
            raise GovernanceError(Refusal.VOTE_CHANGE_NOT_ALLOWED, method=method)
        return BallotAction.CHANGE
    if rule.leader_votes_last and voter_is_leader:
        waiting = electorate.voters - voted - {voter_id}
        if waiting:
            raise GovernanceError(Refusal.LEADER_VOTES_LAST, waiting=len(waiting))
    return BallotAction.NEW


def check_show_of_hands(t: Tally, voters: int) -> None:
    """Counts a recorder enters must fit the number of members entitled and present."""
    if t.cast > voters:
        raise GovernanceError(Refusal.METHOD_NOT_ALLOWED, cast=t.cast, voters=voters)


def check_method(method: VoteMethod, rule: MatterRule) -> None:
    if method not in rule.allowed_methods:
        raise GovernanceError(Refusal.METHOD_NOT_ALLOWED, method=method)


def check_emergency(rule: MatterRule) -> None:
    if not rule.major:
        raise GovernanceError(Refusal.EMERGENCY_NOT_MAJOR)
