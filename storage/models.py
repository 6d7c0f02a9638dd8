"""Tortoise models: the only module that imports tortoise.models. No Model leaves storage/.

All datetimes are stored in UTC (the ORM runs with use_tz and timezone UTC); the edges convert.

Over 600 lines as one file: the schema is read as a whole (the migrations are generated from it,
and every table's indexes and constraints sit beside its fields).
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model as _OrmModel
from tortoise.models import ModelMeta


class _SchemaMeta(ModelMeta):
    """Tortoise reads a model's source file when the class is made, for `#:` field comments;
    this schema keeps none, and the reading cost about 0.2 s of every start."""

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any]) -> Any:
        attrs.setdefault("_no_comments", True)
        return super().__new__(mcs, name, bases, attrs)


class Model(_OrmModel, metaclass=_SchemaMeta):
    class Meta:
        abstract = True


class Person(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    is_party_member = fields.BooleanField(default=True)

    class Meta:
        table = "person"


# A platform identity bound to a person: (platform, corp, user id), never a nickname.
class Identity(Model):
    id = fields.IntField(primary_key=True)
    platform = fields.CharField(max_length=16)
    corp_id = fields.CharField(max_length=128)
    user_id = fields.CharField(max_length=128)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="identities"
    )

    class Meta:
        table = "identity"
        indexes = (("person_id",),)
        unique_together = (("platform", "corp_id", "user_id"),)


class Society(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    term_start = fields.DateField(null=True)
    term_end = fields.DateField(null=True)
    roster_exception = fields.BooleanField(default=False)
    recorder: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False, null=True
    )
    liaison: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False, null=True
    )
    report_deadline = fields.CharField(max_length=5, default="12-31")  # MM-DD
    settings = fields.TextField(default="{}")  # per-society overrides of the governance settings
    created_at = fields.DatetimeField()

    class Meta:
        table = "society"


# Everyone the society knows: roster members (leader/member) and people with a council
# position who are not on the roster (a non-party president, for instance).
class Member(Model):
    id = fields.IntField(primary_key=True)
    society: fields.ForeignKeyRelation[Society] = fields.ForeignKeyField(
        "models.Society", related_name="members"
    )
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="memberships"
    )
    roster_role = fields.CharField(max_length=16, default="none")  # leader | member | none
    position = fields.CharField(max_length=16, default="none")  # governance.CouncilPosition

    class Meta:
        table = "member"
        indexes = (("person_id",),)
        unique_together = (("society", "person"),)


class ChatBinding(Model):
    id = fields.IntField(primary_key=True)
    platform = fields.CharField(max_length=16)
    corp_id = fields.CharField(max_length=128)
    chat_id = fields.CharField(max_length=128)
    society: fields.ForeignKeyRelation[Society] = fields.ForeignKeyField(
        "models.Society", related_name="bindings"
    )
    webhook = fields.TextField(default="")  # per-group robot webhook key or URL, when any

    class Meta:
        table = "chat_binding"
        indexes = (("society_id",),)
        unique_together = (("platform", "corp_id", "chat_id"),)


class RosterChange(Model):
    id = fields.IntField(primary_key=True)
    society: fields.ForeignKeyRelation[Society] = fields.ForeignKeyField(
        "models.Society", related_name="roster_changes"
    )
    kind = fields.CharField(max_length=16)  # add | remove | role
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False
    )
    roster_role = fields.CharField(max_length=16, default="member")
    position = fields.CharField(max_length=16, default="none")
    reason = fields.TextField(default="")
    status = fields.CharField(max_length=16, default="pending")  # pending | approved | rejected
    requested_by: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False
    )
    decided_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False, null=True
    )
    exception = fields.BooleanField(default=False)
    decision_note = fields.TextField(default="")
    created_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "roster_change"


class Meeting(Model):
    id = fields.IntField(primary_key=True)
    society: fields.ForeignKeyRelation[Society] = fields.ForeignKeyField(
        "models.Society", related_name="meetings"
    )
    # 第几次会议, counting the meetings not cancelled; a cancelled one hands its number to the
    # next one convened and keeps -id (repo.create_meeting)
    number = fields.IntField()
    place = fields.CharField(max_length=200, default="")
    starts_at = fields.DatetimeField()
    state = fields.CharField(max_length=16)
    convened_by: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False
    )
    chair: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False, null=True
    )
    roster = fields.TextField(
        default="[]"
    )  # 应到会: person ids, decided when the meeting is convened
    created_at = fields.DatetimeField()
    opened_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "meeting"
        unique_together = (("society", "number"),)


class AgendaItem(Model):
    id = fields.IntField(primary_key=True)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="items"
    )
    number = fields.IntField()
    title = fields.CharField(max_length=200)
    matter_type = fields.CharField(max_length=16)
    state = fields.CharField(max_length=16)
    proposed_by: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False
    )
    carried_from: fields.ForeignKeyNullableRelation[AgendaItem] = fields.ForeignKeyField(
        "models.AgendaItem", related_name=False, null=True
    )
    emergency_reason = fields.TextField(default="")
    outcome = fields.CharField(max_length=16, default="")
    carried = fields.BooleanField(default=False)  # a deferred item already taken to a later meeting

    class Meta:
        table = "agenda_item"
        unique_together = (("meeting", "number"),)


class Attendance(Model):
    id = fields.IntField(primary_key=True)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="attendance"
    )
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False
    )
    status = fields.CharField(max_length=16)
    reason = fields.TextField(default="")
    at = fields.DatetimeField()

    class Meta:
        table = "attendance"
        unique_together = (("meeting", "person"),)


class Observer(Model):
    id = fields.IntField(primary_key=True)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="observers"
    )
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False
    )
    reason = fields.TextField(default="")

    class Meta:
        table = "observer"
        unique_together = (("meeting", "person"),)


class Recusal(Model):
    id = fields.IntField(primary_key=True)
    item: fields.ForeignKeyRelation[AgendaItem] = fields.ForeignKeyField(
        "models.AgendaItem", related_name="recusals"
    )
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False
    )

    class Meta:
        table = "recusal"
        unique_together = (("item", "person"),)


class WrittenOpinion(Model):
    id = fields.IntField(primary_key=True)
    item: fields.ForeignKeyRelation[AgendaItem] = fields.ForeignKeyField(
        "models.AgendaItem", related_name="opinions"
    )
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False
    )
    text = fields.TextField()
    at = fields.DatetimeField()

    class Meta:
        table = "written_opinion"
        indexes = (("item_id",),)


class Vote(Model):
    id = fields.IntField(primary_key=True)
    item: fields.ForeignKeyRelation[AgendaItem] = fields.ForeignKeyField(
        "models.AgendaItem", related_name="votes"
    )
    method = fields.CharField(max_length=16)
    state = fields.CharField(max_length=16)
    electorate = fields.TextField()  # JSON: roster, present, recused (frozen at open)
    opened_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)
    result = fields.TextField(default="")  # JSON of the decision, once closed
    hands = fields.TextField(default="")  # JSON counts a recorder entered (show of hands)
    # The announced deadline, if any: reminders only; the poll is never closed by the clock.
    closes_at = fields.DatetimeField(null=True)

    class Meta:
        table = "vote"
        indexes = (("item_id",),)


# A named ballot: one row per voter and vote; a change updates it and is logged.
class Ballot(Model):
    id = fields.IntField(primary_key=True)
    vote: fields.ForeignKeyRelation[Vote] = fields.ForeignKeyField(
        "models.Vote", related_name="ballots"
    )
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False
    )
    choice = fields.CharField(max_length=16)
    receipt = fields.CharField(max_length=16)
    changes = fields.IntField(default=0)

    class Meta:
        table = "ballot"
        unique_together = (("vote", "person"),)


# Who has cast a secret ballot: a sorted list, so the order of voting is not kept.
class SecretVoterList(Model):
    id = fields.IntField(primary_key=True)
    vote: fields.OneToOneRelation[Vote] = fields.OneToOneField(
        "models.Vote", related_name="voter_list"
    )
    voters = fields.TextField(default="[]")

    class Meta:
        table = "secret_voter_list"


# A secret ballot while its vote is open: a random id, the vote, and the choice with the keyed
# digest of the receipt sealed under the server key (constant length). No voter, no time; the id
# does not follow the order of casting. Deleted when the vote closes.
class SecretBallotSealed(Model):
    id = fields.CharField(max_length=32, primary_key=True)
    vote: fields.ForeignKeyRelation[Vote] = fields.ForeignKeyField(
        "models.Vote", related_name="sealed_ballots"
    )
    sealed = fields.TextField()

    class Meta:
        table = "secret_ballot_sealed"


# The plain box of a closed secret vote, written in one transaction at close in a random order
# with fresh random ids: (keyed digest of the receipt, choice). Nothing names or orders voters.
class SecretBoxEntry(Model):
    id = fields.CharField(max_length=32, primary_key=True)
    vote: fields.ForeignKeyRelation[Vote] = fields.ForeignKeyField(
        "models.Vote", related_name="box_entries"
    )
    digest = fields.CharField(max_length=64, db_index=True)  # 「查回执」 looks it up
    choice = fields.CharField(max_length=16)

    class Meta:
        table = "secret_box_entry"
        unique_together = (("vote", "digest"),)


class MinutesVersion(Model):
    id = fields.IntField(primary_key=True)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="minutes"
    )
    version = fields.IntField()
    body = fields.TextField()  # canonical JSON of the assembled minutes
    notes = fields.TextField(default="")
    digest = fields.CharField(max_length=64)
    created_by: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "minutes_version"
        unique_together = (("meeting", "version"),)


class Signature(Model):
    id = fields.IntField(primary_key=True)
    minutes: fields.ForeignKeyRelation[MinutesVersion] = fields.ForeignKeyField(
        "models.MinutesVersion", related_name="signatures"
    )
    signer: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False
    )
    digest = fields.CharField(max_length=64)
    at = fields.DatetimeField()

    class Meta:
        table = "signature"
        indexes = (("minutes_id",),)


# Work-rule filings (备案), annual summaries and major-issue reports to the committee.
class Filing(Model):
    id = fields.IntField(primary_key=True)
    society: fields.ForeignKeyRelation[Society] = fields.ForeignKeyField(
        "models.Society", related_name="filings"
    )
    kind = fields.CharField(max_length=16)  # work_rules | annual_summary | major_issue
    title = fields.CharField(max_length=200)
    body = fields.TextField(default="")
    filed_by: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False
    )
    at = fields.DatetimeField()
    acknowledged_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False, null=True
    )
    acknowledged_at = fields.DatetimeField(null=True)

    class Meta:
        table = "filing"
        indexes = (("society_id",),)


# Append-only, hash-chained: hash = SHA-256(prev_hash + canonical JSON of the entry).
class EventLog(Model):
    id = fields.IntField(primary_key=True)
    chain = fields.CharField(max_length=32)  # "society:<id>" or "committee"
    seq = fields.IntField()
    at = fields.DatetimeField()
    kind = fields.CharField(max_length=32)
    meeting_id = fields.IntField(null=True, db_index=True)
    payload = fields.TextField()  # canonical JSON, produced by the application
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64, unique=True)

    class Meta:
        table = "event_log"
        unique_together = (("chain", "seq"),)


# The head of each society's chain, kept outside the event table: seq and hash of the last entry,
# the keyed set digest of every governance row of the society (bot/ledger.py TableSum per table),
# under a MAC. Keyed by an HMAC of the society, so nothing here names it. `keyed_from`: the first
# entry hashed with the key (the entries before it were written before the chain was keyed).
class ChainHead(Model):
    id = fields.IntField(primary_key=True)
    chain_key = fields.CharField(max_length=64, unique=True)
    keyed_from = fields.IntField(default=1)
    seq = fields.IntField(default=0)
    head = fields.CharField(max_length=64)
    tables = fields.TextField(default="{}")
    mac = fields.CharField(max_length=64)

    class Meta:
        table = "chain_head"


# The seal of one governance row (storage/seals.py): the MAC of its columns, so an edit, an
# insertion or a deletion of any single row is told apart from what the application wrote.
class RowSeal(Model):
    id = fields.IntField(primary_key=True)
    chain_key = fields.CharField(max_length=64, db_index=True)
    tbl = fields.CharField(max_length=32)
    row_id = fields.IntField()
    mac = fields.CharField(max_length=64)

    class Meta:
        table = "row_seal"
        unique_together = (("tbl", "row_id"),)


# A member's acknowledgement (收到) of a meeting notice: platforms may drop a message without an
# error, so a notice that matters is confirmed. A check-in or leave request also counts; those
# are read from the attendance, only the explicit acknowledgements are stored here.
class NoticeAck(Model):
    id = fields.IntField(primary_key=True)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="acks"
    )
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False
    )
    at = fields.DatetimeField()

    class Meta:
        table = "notice_ack"
        unique_together = (("meeting", "person"),)


# Inbound message ids already handled, written in the same transaction as the effect.
class ProcessedMessage(Model):
    id = fields.IntField(primary_key=True)
    platform = fields.CharField(max_length=16)
    corp_id = fields.CharField(max_length=128)
    message_id = fields.CharField(max_length=128)
    at = fields.DatetimeField()
    reply = fields.TextField(default="")  # the stored outcome, replayed to a redelivery

    class Meta:
        table = "processed_message"
        unique_together = (("platform", "corp_id", "message_id"),)


# ---------------------------------------------------------------------------------------------
# Delivery: the outbox, every send attempt, per-channel state; reminders; running instances.


# An outgoing message written in the same transaction as the change that caused it. The sender
# claims it (lease), sends it through the adapter and records every attempt.
class OutboxMessage(Model):
    id = fields.IntField(primary_key=True)
    dedupe_key = fields.CharField(max_length=255, unique=True)
    short_id = fields.CharField(max_length=12)  # shown in the text, so a reader can spot a resend
    channel = fields.CharField(max_length=255, db_index=True)
    payload = fields.TextField()  # JSON of the OutgoingMessage
    kind = fields.CharField(max_length=32, default="notice")  # notice | reminder | alert
    society_id = fields.IntField(null=True)
    # held (a reminder's, written ahead) | pending | sending | sent | failed
    state = fields.CharField(max_length=16)
    attempts = fields.IntField(default=0)
    ambiguous = fields.BooleanField(default=False)  # an attempt may have been delivered
    next_attempt_at = fields.DatetimeField()
    lease_owner = fields.CharField(max_length=64, default="")
    lease_until = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    # A reminder's message written ahead of its due instant (state `held`): it stays held until
    # the sweep releases it at that instant, if the society's event chain has not grown past
    # `guard_seq` and `not_after` has not passed; otherwise it is dropped and decided afresh.
    reminder_id = fields.IntField(null=True, db_index=True)
    guard_seq = fields.IntField(null=True)
    not_after = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_message"
        # One index for "what is due" (state, then time): every state change rewrites each
        # index entry of the row, so no single-column ones besides.
        indexes = (("state", "next_attempt_at"),)


class OutboxAttempt(Model):
    id = fields.IntField(primary_key=True)
    message: fields.ForeignKeyRelation[OutboxMessage] = fields.ForeignKeyField(
        "models.OutboxMessage", related_name="attempt_rows"
    )
    channel = fields.CharField(max_length=255, db_index=True)  # the rate window reads this
    number = fields.IntField()
    at = fields.DatetimeField(db_index=True)
    outcome = fields.CharField(max_length=16)  # sent | transient | throttled | permanent | token
    code = fields.CharField(max_length=32, default="")
    ambiguous = fields.BooleanField(default=False)
    detail = fields.TextField(default="")
    instance = fields.CharField(max_length=64, default="")

    class Meta:
        table = "outbox_attempt"
        indexes = (("message_id",),)


# One row per channel (robot webhook of a group, an app's 1:1 messages, the console): who drains
# it now (a lease, so one instance at a time holds the rate) and whether it is paused.
class ChannelState(Model):
    id = fields.IntField(primary_key=True)
    channel = fields.CharField(max_length=255, unique=True)
    paused_until = fields.DatetimeField(null=True)
    reason = fields.TextField(default="")
    lease_owner = fields.CharField(max_length=64, default="")
    lease_until = fields.DatetimeField(null=True)

    class Meta:
        table = "channel_state"


# A reminder materialised by the planner: unique per (kind, reference, due instant).
class Reminder(Model):
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=255, unique=True)
    society_id = fields.IntField(db_index=True)
    kind = fields.CharField(max_length=32)
    ref = fields.CharField(max_length=64)
    due_at = fields.DatetimeField()
    # pending | prepared (its messages held in the outbox until due_at) | sent | skipped
    state = fields.CharField(max_length=16)
    reason = fields.TextField(default="")
    created_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)
    instance = fields.CharField(max_length=64, default="")

    class Meta:
        table = "reminder"
        indexes = (("state", "due_at", "id"),)  # the sweep takes due rows in this order


# A running bot instance, renewed by its heartbeat: SQLite allows one, PostgreSQL many.
class BotInstance(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    host = fields.CharField(max_length=128, default="")
    pid = fields.IntField(default=0)
    started_at = fields.DatetimeField()
    heartbeat_at = fields.DatetimeField()
    last_now = fields.DatetimeField(null=True)  # the clock at the last beat: jumps are logged

    class Meta:
        table = "bot_instance"


# An inbound platform message accepted before it is applied: the callback is answered as soon as
# this row is committed (platform deadlines), a worker applies the rows in order per chat.
# `key` de-duplicates redeliveries at the door; the processed_message row of the effect stays
# the authority on "applied once".
class InboundMessage(Model):
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=255, unique=True)
    chat_key = fields.CharField(max_length=255)
    payload = fields.TextField()  # JSON of the IncomingMessage
    received_at = fields.DatetimeField()
    state = fields.CharField(max_length=16, default="pending")  # pending | done
    claimed_by = fields.CharField(max_length=64, default="")
    claimed_until = fields.DatetimeField(null=True)
    done_at = fields.DatetimeField(null=True)

    class Meta:
        table = "inbound_message"
        indexes = (("state", "chat_key", "id"),)


# A DingTalk HTTP callback's (timestamp, sign) pair bound to each message it carried, shared by
# every instance (storage/header_bindings.py has the rule). `pair` is the SHA-256 of the pair, so
# the table never holds a usable credential; rows go once the timestamp is out of the window.
class HeaderBinding(Model):
    id = fields.IntField(primary_key=True)
    pair = fields.CharField(max_length=64)
    message_id = fields.CharField(max_length=128)
    digest = fields.CharField(max_length=64)  # SHA-256 of the body
    seen_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "header_binding"
        unique_together = (("pair", "message_id"),)


# The question the bot last asked a person in a chat and awaits a yes to (「是否请假？回复「是」或
# 「请假 出差」确认。」): the command a 「是」 runs (storage/questions.py). Never a ballot. The
# message that answered it is kept, so a redelivery of that 「是」 resolves the same way.
class PendingQuestion(Model):
    id = fields.IntField(primary_key=True)
    chat_key = fields.CharField(max_length=255)
    user_key = fields.CharField(max_length=128)
    command = fields.TextField()
    asked_at = fields.DatetimeField(db_index=True)
    answered_by = fields.CharField(max_length=128, default="")

    class Meta:
        table = "pending_question"
        unique_together = (("chat_key", "user_key"),)


# The item a meeting is on, as the chair last turned to it (「下一个议题」「讨论议题 2」, opening its
# vote): what 「那我们投票吧」「这个议题下次再议」 mean when no number is said. Conversation, not
# record: the item a vote or deferral concerns is recorded with it. `studied`: the numbers of
# the study items (学习通报, not voted on) the chair has turned to, comma-separated: those are
# done, whichever item the meeting is on now (「下一个议题」 comes back to one jumped over).
class MeetingFocus(Model):
    id = fields.IntField(primary_key=True)
    meeting_id = fields.IntField(unique=True)
    number = fields.IntField()
    at = fields.DatetimeField()
    studied = fields.TextField(null=True)

    class Meta:
        table = "meeting_focus"


# ---------------------------------------------------------------------------------------------
# 工作台 (the web pages): one-time login links, sessions, the last verification of each chain.


# A one-time login link sent in a private chat: only the SHA-256 of its random token is kept.
class WebLoginLink(Model):
    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False
    )
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "web_login_link"


# A browser session started by a login link. The encrypted cookie carries the session key; the
# row (the key's hash) lets the committee list and revoke sessions.
class WebSession(Model):
    id = fields.IntField(primary_key=True)
    key_hash = fields.CharField(max_length=64, unique=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name=False
    )
    created_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    user_agent = fields.CharField(max_length=200, default="")

    class Meta:
        table = "web_session"


# The last verification of a society's event chain (the overview shows it; a background task
# and the society page refresh it).
class ChainCheck(Model):
    id = fields.IntField(primary_key=True)
    society_id = fields.IntField(unique=True)
    checked_at = fields.DatetimeField()
    entries = fields.IntField()
    head = fields.CharField(max_length=64)
    broken_seq = fields.IntField(null=True)
    problem = fields.CharField(max_length=16, default="")  # "" | hash | link | gap

    class Meta:
        table = "chain_check"


# How far the stored reminders reflect the societies' state (bot/reminders/service.py): every
# event up to `covered` was re-planned, a full plan was made at `full_at` with the planner and
# settings whose digest is `fingerprint`. A starting instance whose plan would be the same skips
# the full re-plan (one row, written after each sweep by any instance).
class PlanMark(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=32, unique=True)
    covered = fields.IntField()
    full_at = fields.DatetimeField()
    fingerprint = fields.CharField(max_length=64)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "plan_mark"


# A name a person gave for themselves in a group (「我是张伟」): the platform account that said it
# and the name, per group. On WeCom, whose callbacks carry no list of the people @-mentioned
# (only the text 「@张伟」), it is how 「提议增补 @张伟」 finds the account meant. A claim, not a
# record: the committee sees the account beside the name when it approves.
class Registration(Model):
    id = fields.IntField(primary_key=True)
    platform = fields.CharField(max_length=16)
    corp_id = fields.CharField(max_length=128)
    chat_id = fields.CharField(max_length=128)
    user_id = fields.CharField(max_length=128)
    name = fields.CharField(max_length=64)
    at = fields.DatetimeField()

    class Meta:
        table = "registration"
        unique_together = (("platform", "corp_id", "chat_id", "user_id"),)
