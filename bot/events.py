"""The vocabulary past the adapters: what came in, what goes out. No raw payload travels further."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Platform(StrEnum):
    CONSOLE = "console"
    WECOM = "wecom"
    DINGTALK = "dingtalk"


class ChatKind(StrEnum):
    GROUP = "group"
    PRIVATE = "private"


@dataclass(frozen=True, slots=True)
class ChatRef:
    """Where a message came from or goes to. `chat_id` is the platform's group id; for a
    private chat it is the member's user id."""

    platform: Platform
    corp_id: str
    chat_id: str
    kind: ChatKind = ChatKind.GROUP


@dataclass(frozen=True, slots=True)
class UserRef:
    """A platform identity: (platform, corp, user id). `name` is for display only."""

    platform: Platform
    corp_id: str
    user_id: str
    name: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.platform.value, self.corp_id, self.user_id)


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    platform: Platform
    chat: ChatRef
    sender: UserRef
    text: str
    message_id: str
    received_at: datetime
    mentions_bot: bool = True
    mentions: tuple[UserRef, ...] = ()
    # Set by an adapter whose platform names people only in the text (「@张伟」, no list of who
    # was mentioned: WeCom's AI bot): a name said is then looked up among who registered under
    # it (「我是张伟」), and a newcomer is told to register so.
    names_in_text: bool = False
    # An opaque handle the adapter may use to answer inline (session webhook, req_id...).
    reply_handle: str = ""


class CardKind(StrEnum):
    VOTE = "vote"


@dataclass(frozen=True, slots=True)
class VoteCard:
    """A vote card: buttons 赞成 / 反对 / 弃权 for one vote, with a count that never shows
    secret choices."""

    vote_id: int
    title: str
    summary: str
    secret: bool
    closed: bool = False


class BallotOutcome(StrEnum):
    RECORDED = "recorded"  # a first ballot
    CHANGED = "changed"  # a ballot changed to another choice
    UNCHANGED = "unchanged"  # the same choice again: it stands as recorded


@dataclass(frozen=True, slots=True)
class BallotAck:
    """A ballot reply's meaning in structure, so that an adapter can show it (WeCom checks the
    voter's option on their copy of the card) without reading the reply's wording. A refused
    ballot carries none."""

    vote_id: int
    choice: str  # a bot.governance.Choice value: "yes", "no" or "abstain"
    outcome: BallotOutcome
    # Who voted: where the group's vote card shows the count in place (DingTalk cards), the
    # acknowledgement goes to the voter alone, so that a ballot is at most one group message.
    voter: UserRef | None = None


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    chat: ChatRef
    text: str
    mentions: tuple[UserRef, ...] = ()
    card: VoteCard | None = None
    in_reply_to: str = ""
    reply_handle: str = ""
    # Set when the message goes 1:1 to a member (secret ballots, private reminders).
    private_to: UserRef | None = field(default=None)
    # On the reply to a ballot (kept by the outbox too: a queued message's reply goes through it).
    ballot: BallotAck | None = None

    @property
    def is_card_update(self) -> bool:
        """A card without text: a vote card's new count, edited in place where the platform
        can, never a message of its own."""
        return self.card is not None and not self.text

    def text_with_card(self) -> str:
        """The text as shown together with its card: an open named vote's card invites a
        click. Only an adapter that delivers the card with the text uses this (a card that is
        not shown must not be pointed at)."""
        card = self.card
        if not self.text or card is None or card.secret or card.closed:
            return self.text
        return f"{self.text}\n{CARD_HINT}"


# Added to a vote's announcement where its card with buttons is shown with it.
CARD_HINT = "也可以点表决卡片上的按钮投票。"


# The JSON shapes stored for the outbox and the inbound queue (lists keep the rows small).


def user_to_json(u: UserRef) -> list[str]:
    return [u.platform.value, u.corp_id, u.user_id, u.name]


def user_from_json(raw: list[str] | tuple[str, ...]) -> UserRef:
    return UserRef(Platform(raw[0]), raw[1], raw[2], raw[3])


def chat_to_json(chat: ChatRef) -> list[str]:
    return [chat.platform.value, chat.corp_id, chat.chat_id, chat.kind.value]


def chat_from_json(raw: list[str] | tuple[str, ...]) -> ChatRef:
    return ChatRef(Platform(raw[0]), raw[1], raw[2], ChatKind(raw[3]))


# Zero-width characters and the C0 controls (NUL among them: PostgreSQL refuses it in text),
# except tab, line feed and carriage return, which fold into spaces below.
_ZERO_WIDTH = dict.fromkeys(
    [
        *map(ord, "\u200b\u200c\u200d\u2060\ufeff\x7f"),
        *(c for c in range(32) if chr(c) not in "\t\n\r"),
    ],
    None,
)


def normalize_text(text: str) -> str:
    """Drop zero-width and control characters (NUL among them) and fold runs of white space
    (the ideographic space too). Nothing else: the text stays as typed (full-width punctuation
    is quoted as written in replies, minutes and the chain); the router matches commands on an
    NFKC form of its own (bot/utterance.py)."""
    return " ".join(text.translate(_ZERO_WIDTH).split())


class EventKind(StrEnum):
    """What one entry of a society's event log records. The values are part of each entry's
    hash (bot/ledger.py) and are read back by the minutes and the archive: never change one."""

    # meetings
    MEETING_CONVENED = "meeting_convened"
    ITEM_PROPOSED = "item_proposed"
    ITEM_ADDED = "item_added"
    ITEM_CARRIED = "item_carried"
    ITEM_ACCEPTED = "item_accepted"
    ITEM_REJECTED = "item_rejected"
    ITEM_EDITED = "item_edited"
    ITEM_WITHDRAWN = "item_withdrawn"
    OBSERVER_ADDED = "observer_added"
    LEAVE = "leave"
    LATE_LEAVE = "late_leave"
    WRITTEN_OPINION = "written_opinion"
    CHECKIN = "checkin"
    # a member said ahead they will be late (「我晚到半小时」): kept for the status and minutes
    LATE_NOTICE = "late_notice"
    LEFT = "left"
    MEETING_OPENED = "meeting_opened"
    CHAIR_DELEGATED = "chair_delegated"
    # the delegated chair asked for leave or left: the chair back with the meeting's leader
    CHAIR_DELEGATION_ENDED = "chair_delegation_ended"
    RECUSED = "recused"
    MEETING_CLOSED = "meeting_closed"
    MEETING_CANCELLED = "meeting_cancelled"
    MEETING_RESCHEDULED = "meeting_rescheduled"
    # votes
    VOTE_OPENED = "vote_opened"
    BALLOT = "ballot"
    BALLOT_CHANGED = "ballot_changed"
    SECRET_BALLOT = "secret_ballot"
    HANDS_RECORDED = "hands_recorded"
    VOTE_CLOSED = "vote_closed"
    # opened by mistake, withdrawn by the chair before any ballot: the item is voted on afresh
    VOTE_WITHDRAWN = "vote_withdrawn"
    ITEM_DEFERRED = "item_deferred"
    EMERGENCY_DECLARED = "emergency_declared"
    # minutes
    MINUTES_DRAFTED = "minutes_drafted"
    MINUTES_NOTE = "minutes_note"  # the recorder's note during the meeting, for the draft
    # the recorder's note withdrawn during the meeting (its entry stays; the draft omits it)
    MINUTES_NOTE_WITHDRAWN = "minutes_note_withdrawn"
    MINUTES_NOTE_CHANGED = "minutes_note_changed"
    MINUTES_SIGNED = "minutes_signed"
    # the roster, designations, filings, group binding
    ROSTER_FORMED = "roster_formed"
    ROSTER_CHANGE_REQUESTED = "roster_change_requested"
    ROSTER_CHANGE_APPROVED = "roster_change_approved"
    ROSTER_CHANGE_REJECTED = "roster_change_rejected"
    LIAISON_SET = "liaison_set"
    RECORDER_SET = "recorder_set"
    FILING = "filing"
    FILING_ACKNOWLEDGED = "filing_acknowledged"
    CHAT_BOUND = "chat_bound"
    WEBHOOK_BOUND = "webhook_bound"
