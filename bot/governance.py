"""The functional core: the work rules of a leading group as pure functions.

Over 600 lines as one file: the numbered rules below refer to each other (a quorum reading is
used by the meeting, the item and the decision; the input checks guard every public function), and
the exhaustive and property tests read it as one unit.

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
Rule 6. Impossible input (a negative or fractional count, more ballots than voters, a recused
        member who is not on the roster, a naive datetime, a value of the wrong kind) raises a
        `GovernanceInputError` subclass: it is never decided. A refusal by the rules is a
        `GovernanceError`; impossible input is a bug or bad data upstream.
Rule 7. One roster per meeting: 应到会 is the roster in force when the meeting is convened.
        Check-in, opening, quorum, base and minutes all read that one roster; a roster change
        approved later applies from the next meeting. So does a leader change: the leader then
        (who convened it) leads the meeting, votes last in it and signs its minutes.

Over 600 lines as one file: the rules are meant to be read in one sitting, vocabulary first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import TypeVar

# ---------------------------------------------------------------------------------------------
# Vocabulary


class MatterType(StrEnum):
    GENERAL = "general"  # 一般事项
    MAJOR = "major"  # 重大事项 / 三重一大
    PERSONNEL = "personnel"  # 人事
    DISCIPLINE = "discipline"  # 处分
    DOCUMENT = "document"  # 文件把关
    STUDY = "study"  # 学习、传达、通报: on the agenda, not decided (NOT_VOTED)


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
    RESCHEDULE = "reschedule"  # a new time or place, with a new notice (Rule 7)


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
    EDIT = "edit"  # its title or matter type corrected before its vote
    WITHDRAW = "withdraw"  # taken off the agenda by the leader before its vote
    RECALL = "recall"  # its vote withdrawn by the chair before any ballot (opened by mistake)


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
    held = frozenset(roles)
    for role in held:
        _kind("roles", role, Role)
    if _kind("need", need, Need) is Need.ANYONE:
        return True
    return not _NEED_ROLES[need].isdisjoint(held)


def roles_for_need(need: Need) -> frozenset[Role]:
    return _NEED_ROLES[_kind("need", need, Need)]


class Refusal(StrEnum):
    ILLEGAL_TRANSITION = "illegal_transition"
    NO_QUORUM = "no_quorum"
    NOT_ON_ROSTER = "not_on_roster"
    OBSERVER_CANNOT_VOTE = "observer_cannot_vote"
    NOT_PRESENT = "not_present"
    LEFT_MEETING = "left_meeting"
    LEADER_HAS_SPOKEN = "leader_has_spoken"
    MEETING_STALE = "meeting_stale"
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
    NOBODY_ENTITLED = "nobody_entitled"  # every member stands aside from the item
    TOO_MANY_HANDS = "too_many_hands"  # counts above those present and entitled
    EARLY_OPENING = "early_opening"  # before the announced time, not everyone present
    NOTICE_LAPSED = "notice_lapsed"  # never opened, and the announced time is long past
    NOT_THE_CHAIR = "not_the_chair"  # the meeting is chaired by another (a delegate, 第十七条)
    CHAIR_AWAY = "chair_away"  # the chair is on leave, has left or is not checked in
    BALLOTS_CAST = "ballots_cast"  # a vote someone has voted in cannot be withdrawn


class GovernanceError(Exception):
    """A rule refused an action. `details` carries the numbers the reply needs."""

    def __init__(self, refusal: Refusal, **details: object) -> None:
        super().__init__(refusal.value, details)
        self.refusal = refusal
        self.details = details


class GovernanceInputError(ValueError):
    """Input no meeting can produce. `what` names the argument, `value` is what came in."""

    def __init__(self, what: str, value: object, why: str) -> None:
        super().__init__(f"{what}={value!r}: {why}")
        self.what = what
        self.value = value


class CountError(GovernanceInputError):
    """A count that is not a whole number of people, or is negative."""


class BallotsExceedVotersError(GovernanceInputError):
    """More ballots than members entitled to cast them."""


class ElectorateError(GovernanceInputError):
    """Ids that are not whole numbers, or recused members who are not on the roster."""


class NoVotersError(GovernanceInputError):
    """A decision asked for an item on which nobody is entitled to vote."""


class ShareError(GovernanceInputError):
    """A share that is not an exact number between 0 and 1."""


class KindError(GovernanceInputError):
    """A value of the wrong kind (a string for an enum, a float for a count, ...)."""


class TimeError(GovernanceInputError):
    """A naive datetime, or a negative duration."""


_E = TypeVar("_E")


def _count(what: str, value: object) -> int:
    if type(value) is not int:  # bool is an int subclass: refused too
        raise CountError(what, value, "not a whole number")
    if value < 0:
        raise CountError(what, value, "negative")
    return value


def _kind(what: str, value: object, kind: type[_E]) -> _E:
    if not isinstance(value, kind):
        raise KindError(what, value, f"not a {kind.__name__}")
    return value


def _share(what: str, value: object) -> Fraction:
    if type(value) is Fraction:
        share = value
    elif type(value) is int:
        share = Fraction(value)
    else:  # a float is not exact, a bool is not a number
        raise ShareError(what, value, "not an exact number (Fraction)")
    if not 0 <= share.numerator <= share.denominator:
        raise ShareError(what, value, "outside 0..1")
    return share


def _aware(what: str, value: object) -> datetime:
    when = _kind(what, value, datetime)
    if when.tzinfo is None or when.utcoffset() is None:
        raise TimeError(what, value, "naive datetime")
    return when


def _duration(what: str, value: object) -> timedelta:
    span = _kind(what, value, timedelta)
    if span < timedelta(0):
        raise TimeError(what, value, "negative duration")
    return span


def _ids(what: str, value: object) -> frozenset[int]:
    ids = _kind(what, value, frozenset)
    for x in ids:
        if type(x) is not int:
            raise ElectorateError(what, x, "not a person id")
    return ids


# ---------------------------------------------------------------------------------------------
# Policy: every threshold is a named setting


@dataclass(frozen=True, slots=True)
class Threshold:
    share: Fraction
    reading: Reading

    def __post_init__(self) -> None:
        _share("share", self.share)
        _kind("reading", self.reading, Reading)

    def met(self, count: int, base: int) -> bool:
        """`count` of `base` people (count ≤ base) meets the threshold."""
        if _count("count", count) > _count("base", base):
            raise CountError("count", count, f"more than the base {base}")
        return self._met(count, base)

    def _met(self, count: int, base: int) -> bool:
        if base == 0:
            return False
        if self.reading is Reading.STRICT:
            return count > self.share * base
        return count >= self.share * base

    def needed(self, base: int) -> int:
        """The smallest count that meets the threshold (base + 1 when nothing can)."""
        for count in range(_count("base", base) + 1):
            if self._met(count, base):
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

    def __post_init__(self) -> None:
        _kind("quorum", self.quorum, Threshold)
        _kind("default_method", self.default_method, VoteMethod)
        for method in _kind("allowed_methods", self.allowed_methods, frozenset):
            _kind("allowed_methods", method, VoteMethod)
        if _share("pass_share", self.pass_share) == 0:
            raise ShareError("pass_share", self.pass_share, "a pass needs some yes votes")


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
    # never applied: no vote is opened on such an item (NOT_VOTED)
    MatterType.STUDY: MatterRule(HALF_STRICT, VoteMethod.NAMED, _OPEN_METHODS, major=False),
}
# What the group studies or is told (学习传达上级精神, 通报情况; 第八条, 第十条): on the agenda and in
# the minutes, never voted on, so no vote is opened on it and closing a meeting does not find it
# undecided. The chair may mark a general item so; a major, personnel or discipline matter is
# decided by the group (第七条) and never is.
NOT_VOTED = frozenset({MatterType.STUDY})
MAY_GO_UNVOTED = frozenset({MatterType.GENERAL, MatterType.DOCUMENT, MatterType.STUDY})


# The group meets at least once every half year (第十七条).
CADENCE_MONTHS = 6
# A meeting that was held: it opened, whatever came of it (the half-year count, the overview).
HELD_STATES = frozenset({MeetingState.OPEN, MeetingState.CLOSED, MeetingState.SIGNED})


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
    # How long after the announced time a meeting not yet opened may still open (and take
    # check-ins); later, the members were told a time that has passed: it is moved or cancelled.
    open_within: timedelta = timedelta(hours=3)

    def __post_init__(self) -> None:
        for mt in MatterType:
            if mt not in self.matters:
                raise KindError("matters", mt, "no rule for this matter type")
            _kind(f"matters[{mt.value}]", self.matters[mt], MatterRule)
        _kind("meeting_quorum", self.meeting_quorum, Threshold)
        if _count("max_members", self.max_members) < 1:
            raise CountError("max_members", self.max_members, "a group has members")
        _count("deferral_margin", self.deferral_margin)
        _share("deferral_dissent_share", self.deferral_dissent_share)
        _duration("checkin_opens_before", self.checkin_opens_before)
        _duration("late_after", self.late_after)
        _duration("open_within", self.open_within)

    def matter(self, matter_type: MatterType) -> MatterRule:
        return self.matters[_kind("matter_type", matter_type, MatterType)]


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
    entries = [_kind("roster", e, RosterEntry) for e in roster]
    _kind("policy", policy, Policy)
    if president_is_party_member is not None:
        _kind("president_is_party_member", president_is_party_member, bool)
    ids = [_count("person_id", e.person_id) for e in entries]
    if len(set(ids)) != len(ids):
        raise ElectorateError("roster", ids, "a person listed twice")
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
        _kind("issues", issue, RosterIssue)
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
    (MeetingState.DRAFT, MeetingAction.RESCHEDULE): MeetingState.DRAFT,
    (MeetingState.CONVENED, MeetingAction.RESCHEDULE): MeetingState.CONVENED,
    (MeetingState.CONVENED, MeetingAction.OPEN): MeetingState.OPEN,
    (MeetingState.OPEN, MeetingAction.CLOSE): MeetingState.CLOSED,
    (MeetingState.CLOSED, MeetingAction.SIGN): MeetingState.SIGNED,
}

ITEM_TRANSITIONS: Mapping[tuple[ItemState, ItemAction], ItemState] = {
    (ItemState.PROPOSED, ItemAction.ACCEPT): ItemState.ACCEPTED,
    (ItemState.PROPOSED, ItemAction.REJECT): ItemState.REJECTED,
    (ItemState.PROPOSED, ItemAction.EDIT): ItemState.PROPOSED,
    (ItemState.ACCEPTED, ItemAction.EDIT): ItemState.ACCEPTED,
    (ItemState.ACCEPTED, ItemAction.WITHDRAW): ItemState.REJECTED,
    (ItemState.ACCEPTED, ItemAction.OPEN_VOTE): ItemState.VOTING,
    (ItemState.ACCEPTED, ItemAction.DEFER): ItemState.DEFERRED,
    (ItemState.VOTING, ItemAction.DECIDE): ItemState.DECIDED,
    (ItemState.VOTING, ItemAction.RETURN): ItemState.ACCEPTED,
    (ItemState.VOTING, ItemAction.RECALL): ItemState.ACCEPTED,
    (ItemState.VOTING, ItemAction.DEFER): ItemState.DEFERRED,
}

VOTE_TRANSITIONS: Mapping[tuple[VoteState, VoteAction], VoteState] = {
    (VoteState.OPEN, VoteAction.CAST): VoteState.OPEN,
    (VoteState.OPEN, VoteAction.CLOSE): VoteState.CLOSED,
}


def meeting_next(state: MeetingState, action: MeetingAction) -> MeetingState:
    _kind("state", state, MeetingState)
    _kind("action", action, MeetingAction)
    try:
        return MEETING_TRANSITIONS[(state, action)]
    except KeyError:
        raise GovernanceError(
            Refusal.ILLEGAL_TRANSITION, machine="meeting", state=state, action=action
        ) from None


def item_next(state: ItemState, action: ItemAction) -> ItemState:
    _kind("state", state, ItemState)
    _kind("action", action, ItemAction)
    try:
        return ITEM_TRANSITIONS[(state, action)]
    except KeyError:
        raise GovernanceError(
            Refusal.ILLEGAL_TRANSITION, machine="item", state=state, action=action
        ) from None


def vote_next(state: VoteState, action: VoteAction) -> VoteState:
    _kind("state", state, VoteState)
    _kind("action", action, VoteAction)
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
    _kind("state", state, MeetingState)
    if state not in {_kind("allowed", a, MeetingState) for a in allowed}:
        raise GovernanceError(
            Refusal.ILLEGAL_TRANSITION, machine="meeting", state=state, action=action
        )


# ---------------------------------------------------------------------------------------------
# The chair (第十七条)


def check_chair(
    person_id: int, chair_id: int | None, status: Attendance, state: MeetingState
) -> bool:
    """May `person_id` act as the chair (open, close, open and close votes, defer, declare an
    emergency) of a meeting chaired by `chair_id` (the leader at convening, or the member the
    leader delegated), `status` being their attendance? The leader who delegated the chair does
    not chair (NOT_THE_CHAIR); a chair on leave, who left or (once the meeting is open) is not
    checked in is not in the room (CHAIR_AWAY). Returns whether the chair is to be checked in:
    a chair opening the meeting without having checked in is evidently there."""
    _kind("status", status, Attendance)
    _kind("state", state, MeetingState)
    if person_id != chair_id:
        raise GovernanceError(Refusal.NOT_THE_CHAIR, chair_id=chair_id)
    if status in PRESENT_STATES:
        return False
    if status in (Attendance.LEAVE, Attendance.LEFT) or state is not MeetingState.CONVENED:
        raise GovernanceError(Refusal.CHAIR_AWAY, status=status)
    return True


# ---------------------------------------------------------------------------------------------
# Attendance: leave (第十八条) and check-in


def leave_status(now: datetime, starts_at: datetime, state: MeetingState) -> Attendance:
    """Leave asked before the start is leave; asked after it, the member is recorded absent."""
    _aware("now", now)
    _aware("starts_at", starts_at)
    require_meeting_state(
        state, (MeetingState.DRAFT, MeetingState.CONVENED, MeetingState.OPEN), "leave"
    )
    if state is MeetingState.OPEN or now >= starts_at:
        return Attendance.ABSENT
    return Attendance.LEAVE


def checkin_status(
    now: datetime, starts_at: datetime, state: MeetingState, policy: Policy
) -> Attendance:
    """Check-in runs from `checkin_opens_before` the start until the meeting closes; a meeting
    not opened by `open_within` after the start takes none (NOTICE_LAPSED)."""
    _aware("now", now)
    _aware("starts_at", starts_at)
    _kind("state", state, MeetingState)
    _kind("policy", policy, Policy)
    if state not in (MeetingState.CONVENED, MeetingState.OPEN):
        raise GovernanceError(Refusal.CHECKIN_NOT_OPEN, state=state)
    if state is MeetingState.CONVENED:
        check_notice_holds(now, starts_at, policy)
    status = checkin_counts_as(now, starts_at, policy)
    if status is Attendance.UNKNOWN:
        opens_at = starts_at - policy.checkin_opens_before
        raise GovernanceError(Refusal.CHECKIN_NOT_OPEN, opens_at=opens_at)
    return status


# How long an open meeting's check-ins stand for who is in the room: a vote opened later would
# count members checked in on another day (第十八条 asks for them 到会 when it decides).
MEETING_LASTS = timedelta(hours=12)


def meeting_gone_stale(opened_at: datetime | None, now: datetime) -> bool:
    """Whether a meeting opened at `opened_at` is too old for a new vote (MEETING_LASTS)."""
    return opened_at is not None and now - _aware("opened_at", opened_at) > MEETING_LASTS


def checkin_counts_as(checked_in_at: datetime, starts_at: datetime, policy: Policy) -> Attendance:
    """What a check-in made at `checked_in_at` counts as for a meeting starting at `starts_at`:
    present, late, or nothing (UNKNOWN) before the check-in window opens. A meeting moved to a
    new time judges the check-ins made for the old one by this again."""
    _aware("checked_in_at", checked_in_at)
    _aware("starts_at", starts_at)
    _kind("policy", policy, Policy)
    if checked_in_at < starts_at - policy.checkin_opens_before:
        return Attendance.UNKNOWN
    # Meetings are announced to the minute: 「14:00」 is on time until 14:00:59.
    if checked_in_at >= starts_at + policy.late_after + timedelta(minutes=1):
        return Attendance.LATE
    return Attendance.PRESENT


# The item states in which a written opinion is still taken (its vote has not opened).
OPINION_STATES = frozenset({ItemState.PROPOSED, ItemState.ACCEPTED})


def check_written_opinion(author_attendance: Attendance, item_state: ItemState) -> None:
    """A member on leave may send a written opinion on a topic until its vote opens."""
    _kind("author_attendance", author_attendance, Attendance)
    _kind("item_state", item_state, ItemState)
    if author_attendance is not Attendance.LEAVE:
        raise GovernanceError(Refusal.OPINION_NOT_ON_LEAVE, attendance=author_attendance)
    if item_state not in OPINION_STATES:
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
    """`present` of the `base` members in the room (present ≤ base)."""
    _kind("threshold", threshold, Threshold)
    if _count("present", present) > _count("base", base):
        raise CountError("present", present, f"more than the base {base}")
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
    in (present or late); `recused` the members who stand aside for this item. `eligible`,
    at a vote's close (`still_present`): the voters frozen at its opening; members who came
    later count toward the quorum in the room but do not vote on it."""

    roster: frozenset[int]
    present: frozenset[int]
    recused: frozenset[int] = frozenset()
    eligible: frozenset[int] | None = None

    def __post_init__(self) -> None:
        roster = _ids("roster", self.roster)
        _ids("present", self.present)  # observers in the room may be in it; they never count
        if self.eligible is not None:
            _ids("eligible", self.eligible)
        stray = _ids("recused", self.recused) - roster
        if stray:
            raise ElectorateError("recused", sorted(stray), "not on the roster")

    @property
    def entitled(self) -> frozenset[int]:
        """Who may vote on the item, in the room or not: the roster less the recused."""
        return self.roster - self.recused

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
        voters = (self.present & self.roster) - self.recused
        return voters if self.eligible is None else voters & self.eligible


def still_present(electorate: Electorate, present_now: frozenset[int]) -> Electorate:
    """The electorate at the close of a vote (or when a show of hands is entered): quorum is
    checked again on the members in the room now, so those who left meanwhile no longer count
    (their ballots still count) and those who came since do (though they do not vote on it:
    the voters stay those of the opening who are still here)."""
    _kind("electorate", electorate, Electorate)
    return Electorate(
        electorate.roster,
        _ids("present_now", present_now),
        electorate.recused,
        eligible=electorate.voters,
    )


def item_quorum(electorate: Electorate, rule: MatterRule, policy: Policy) -> QuorumCheck:
    _kind("electorate", electorate, Electorate)
    _kind("rule", rule, MatterRule)
    _kind("policy", policy, Policy)
    item = check_quorum(electorate.quorum_present(policy), electorate.base(policy), rule.quorum)
    if not (item.met and policy.recused_leave_base and electorate.recused):
        return item
    # Members who stand aside leave the item's base, but the meeting's own quorum (第十八条)
    # still holds for the vote: three absentees standing aside do not let three of seven decide.
    room = check_quorum(
        len(electorate.present & electorate.roster), len(electorate.roster), policy.meeting_quorum
    )
    return item if room.met else room


def check_vote_opening(electorate: Electorate, rule: MatterRule, policy: Policy) -> QuorumCheck:
    """A vote opens only on an item someone is entitled to vote on, with the item's quorum
    present: refused otherwise (NOBODY_ENTITLED before NO_QUORUM)."""
    quorum = item_quorum(electorate, rule, policy)
    if not electorate.entitled:
        raise GovernanceError(Refusal.NOBODY_ENTITLED, recused=len(electorate.recused))
    if not quorum.met:
        raise GovernanceError(Refusal.NO_QUORUM, quorum=quorum)
    return quorum


def votes_needed(base: int, rule: MatterRule) -> int:
    """Yes votes needed to pass: strictly more than `pass_share` of 应到会."""
    _kind("rule", rule, MatterRule)
    return Threshold(rule.pass_share, Reading.STRICT).needed(_count("base", base))


@dataclass(frozen=True, slots=True)
class Tally:
    yes: int
    no: int
    abstain: int
    not_voted: int

    def __post_init__(self) -> None:
        for what in ("yes", "no", "abstain", "not_voted"):
            _count(what, getattr(self, what))

    @property
    def cast(self) -> int:
        return self.yes + self.no + self.abstain


def tally(choices: Iterable[Choice], voters: int) -> Tally:
    """Counts from ballots; `voters` is the number entitled and present when the vote
    opened, so the ones who have not voted are the rest."""
    counts = dict.fromkeys(Choice, 0)
    for choice in choices:
        counts[_kind("choices", choice, Choice)] += 1
    cast = sum(counts.values())
    if cast > _count("voters", voters):
        raise BallotsExceedVotersError("choices", cast, f"more ballots than {voters} voters")
    return Tally(counts[Choice.YES], counts[Choice.NO], counts[Choice.ABSTAIN], voters - cast)


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


def deferral_reason(t: Tally, voters: int, policy: Policy) -> DeferralReason | None:
    """Significant disagreement on a major item (第十六条): the dissent share is of `voters`,
    the members present and entitled to vote on the item (recused members never count)."""
    _kind("tally", t, Tally)
    _kind("policy", policy, Policy)
    if _count("voters", voters) > 0 and (t.no + t.abstain) >= (
        policy.deferral_dissent_share * voters
    ):
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
    """The result of a vote, from the electorate at the close and the counts.

    Written opinions (`opinion_stances`) join the counts only when the matter rule says so.
    Impossible input raises a `GovernanceInputError`: an item nobody may vote on, more
    ballots than members entitled to vote."""
    _kind("electorate", electorate, Electorate)
    _kind("tally", t, Tally)
    _kind("emergency", emergency, bool)
    if not electorate.entitled:
        raise NoVotersError("electorate", electorate, "nobody is entitled to vote on the item")
    stances = [_kind("opinion_stances", c, Choice) for c in opinion_stances]
    if rule.written_opinions_count:
        extra = tally(stances, len(stances))
        t = Tally(t.yes + extra.yes, t.no + extra.no, t.abstain + extra.abstain, t.not_voted)
    if t.cast > len(electorate.entitled):
        raise BallotsExceedVotersError(
            "tally", t, f"{t.cast} ballots, {len(electorate.entitled)} entitled to vote"
        )
    quorum = item_quorum(electorate, rule, policy)
    base = electorate.base(policy)
    needed = votes_needed(base, rule)
    if not quorum.met:
        return Decision(Outcome.NO_QUORUM, t, quorum, needed, base)
    passed = t.yes >= needed
    outcome = Outcome.PASSED if passed else Outcome.NOT_PASSED
    found = deferral_reason(t, len(electorate.voters), policy) if rule.major else None
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
    last_call: bool = False,
    left: frozenset[int] = frozenset(),
    stale: bool = False,
    leader_voted: bool = False,
) -> BallotAction:
    """May `voter_id` cast `choice` now? `previous` is the recorded choice of a named ballot;
    for a secret ballot only `already_voted` is known. `voted` is who has voted so far.
    `last_call`: the vote's deadline has passed (the chair's 「结束表决」 calls it when the
    leader who states a position last has not): the leader no longer waits for the others.
    `left`: who has left the meeting since (离席): they vote no more, and the leader does not
    wait for them. `stale`: the meeting opened more than MEETING_LASTS ago (a vote left open
    overnight is not a poll of the next day). `leader_voted`: the leader who states a position
    last has voted: nobody votes after the leader."""
    _kind("method", method, VoteMethod)
    _kind("electorate", electorate, Electorate)
    _count("voter_id", voter_id)
    _kind("choice", choice, Choice)
    if previous is not None:
        _kind("previous", previous, Choice)
    _kind("policy", policy, Policy)
    _kind("rule", rule, MatterRule)
    stray = _ids("voted", voted) - electorate.voters
    if stray:
        raise ElectorateError("voted", sorted(stray), "not among the voters")
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
    if voter_id in _ids("left", left):
        raise GovernanceError(Refusal.LEFT_MEETING)
    if _kind("stale", stale, bool):
        raise GovernanceError(Refusal.MEETING_STALE, hours=MEETING_LASTS // timedelta(hours=1))
    if already_voted or previous is not None:
        if previous is not None and previous is choice:
            return BallotAction.SAME
        if not ballot_changeable(method, policy):
            raise GovernanceError(Refusal.VOTE_CHANGE_NOT_ALLOWED, method=method)
        return BallotAction.CHANGE
    if rule.leader_votes_last and not voter_is_leader and _kind("leader_voted", leader_voted, bool):
        raise GovernanceError(Refusal.LEADER_HAS_SPOKEN)
    if rule.leader_votes_last and voter_is_leader:
        waiting = electorate.voters - voted - left - {voter_id}
        if waiting and not _kind("last_call", last_call, bool):
            raise GovernanceError(Refusal.LEADER_VOTES_LAST, waiting=len(waiting))
    return BallotAction.NEW


def ballot_changeable(method: VoteMethod, policy: Policy) -> bool:
    """Whether a cast ballot may be changed until the vote closes: a named one, when the policy
    allows it (a secret ballot is cast once; a show of hands is counted by the recorder)."""
    _kind("method", method, VoteMethod)
    _kind("policy", policy, Policy)
    return method is VoteMethod.NAMED and policy.allow_vote_change


def check_show_of_hands(
    t: Tally, electorate: Electorate, rule: MatterRule, policy: Policy
) -> QuorumCheck:
    """Counts a recorder enters, against `electorate` as it is at the moment of entry (see
    `still_present`): the hands cannot outnumber the members present and entitled then, and
    the item's quorum is checked again. Returns the quorum; refusals raise."""
    _kind("tally", t, Tally)
    quorum = item_quorum(electorate, rule, policy)
    voters = len(electorate.voters)
    if t.cast > voters:
        raise GovernanceError(Refusal.TOO_MANY_HANDS, cast=t.cast, voters=voters)
    if not quorum.met:
        raise GovernanceError(Refusal.NO_QUORUM, quorum=quorum)
    return quorum


def check_notice_holds(now: datetime, starts_at: datetime, policy: Policy) -> None:
    """A convened meeting not opened by `policy.open_within` after its announced time opens no
    more (NOTICE_LAPSED): the members were told a time long past, and those who came then and
    left would miss it. It is moved (a new notice) or cancelled."""
    _aware("now", now)
    _aware("starts_at", starts_at)
    if now > starts_at + _kind("policy", policy, Policy).open_within:
        raise GovernanceError(Refusal.NOTICE_LAPSED, starts_at=starts_at, within=policy.open_within)


def check_opening(
    now: datetime, starts_at: datetime, present: int, roster: int, policy: Policy
) -> QuorumCheck:
    """May the meeting open now? `present` of the meeting's `roster` are in the room. The
    announced time must not be long past (NOTICE_LAPSED); the meeting quorum must be met
    (NO_QUORUM); before the announced time, everyone on the roster must be present
    (EARLY_OPENING): those who come on time must not miss a vote."""
    check_notice_holds(now, starts_at, policy)
    quorum = check_quorum(present, roster, policy.meeting_quorum)
    if not quorum.met:
        raise GovernanceError(Refusal.NO_QUORUM, quorum=quorum)
    if now < starts_at and present < roster:
        raise GovernanceError(
            Refusal.EARLY_OPENING, starts_at=starts_at, present=present, roster=roster
        )
    return quorum


def check_method(method: VoteMethod, rule: MatterRule) -> None:
    _kind("method", method, VoteMethod)
    if method not in _kind("rule", rule, MatterRule).allowed_methods:
        allowed = tuple(x for x in VoteMethod if x in rule.allowed_methods)
        raise GovernanceError(Refusal.METHOD_NOT_ALLOWED, method=method, allowed=allowed)


def check_vote_recall(cast: int) -> None:
    """A vote opened by mistake may be withdrawn (its item back to be voted on) only while
    nobody has voted in it: a ballot cast is part of a collective decision on the record, and
    withdrawing the vote (or changing its method) once the ballots are seen would let the chair
    choose the outcome. `cast`: the ballots cast (a show of hands: the hands entered)."""
    if _count("cast", cast) > 0:
        raise GovernanceError(Refusal.BALLOTS_CAST, cast=cast)


def check_emergency(rule: MatterRule) -> None:
    if not _kind("rule", rule, MatterRule).major:
        raise GovernanceError(Refusal.EMERGENCY_NOT_MAJOR)
