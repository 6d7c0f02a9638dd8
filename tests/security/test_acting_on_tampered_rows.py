"""The running bot against an adversary who can write the database but has not the server key:
it must not act on a governance row that fails its seal before anyone runs `yishi verify`.

The attacker edits a member's named ballot (赞成 -> 反对) with a raw UPDATE, as the verify
tests do (tests/security/test_tamper.py). Before, the close counted the edited row into the
result (and so into the decision and the minutes), and the member changing the ballot was
answered 「原为反对」 from it. Now the close and the change are refused politely, nothing is
written, the committee admins are told (never what any ballot says) and the log warns.

The same for the attendance a quorum is decided from (members on leave or gone made present),
for rows deleted with their seal (seen at a close through the head's set digest), and for a
secret box entry that will not open (the admins are told too)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from bot.events import OutgoingMessage
from storage import models, seals, verify
from storage.sql import raw_execute, raw_rows
from tests.kit.console import MEMBERS, ConsoleRig, convene_and_open
from tests.kit.databases import MODELS

# Everything the record is made of: what a refusal must leave exactly as it was.
RECORD = (*seals.TABLES, "event_log", "chain_head", "row_seal", "secret_ballot_sealed")
CHOICES = ("赞成", "反对", "弃权")
REFUSED = "校验未通过"


async def _snapshot() -> dict[str, list[dict[str, Any]]]:
    return {
        table: [
            dict(r) for r in await raw_rows(MODELS[table], f"SELECT * FROM {table} ORDER BY id")
        ]
        for table in RECORD
    }


async def _person(name: str) -> int:
    return int(
        (await raw_rows(models.Person, "SELECT id FROM person WHERE name = ?", name))[0]["id"]
    )


async def _named_vote(h: ConsoleRig) -> int:
    """Item 1 under a named vote, every member present and voting 赞成 but 赵敏 (反对)."""
    await convene_and_open(h, "年度工作")
    await h.say("张伟", "发起表决 1")
    for name in MEMBERS[1:-1]:
        assert "已记录" in await h.say(name, "赞成")
    return int((await raw_rows(models.Vote, "SELECT id FROM vote"))[0]["id"])


async def _edit_ballot(name: str, choice: str) -> None:
    """The attacker's edit: the member's ballot row, its seal untouched (no key)."""
    await raw_execute(
        models.Ballot,
        "UPDATE ballot SET choice = ? WHERE person_id = ?",
        choice,
        await _person(name),
    )


async def _send(h: ConsoleRig, who: str, text: str) -> tuple[str, list[str]]:
    """What `who` is answered, and the notices about the record's check the bot sent others
    in private meanwhile (through the outbox, to the console)."""
    before = len(h.adapter.sent)
    reply = (await h.say(who, text)).text
    return reply, _notices(h.adapter.sent[before:])


def _notices(sent: list[OutgoingMessage]) -> list[str]:
    return [m.text for m in sent if m.private_to is not None and "校验" in m.text]


def _says_no_ballot(text: str) -> None:
    for word in CHOICES:
        assert word not in text, text
    for name in MEMBERS:
        assert name not in text, text


async def test_the_close_refuses_a_result_from_an_edited_ballot(
    harness: ConsoleRig, captured: io.StringIO
) -> None:
    h = harness
    await _named_vote(h)
    assert "已记录" in await h.say("赵敏", "赞成")
    await _edit_ballot("赵敏", "no")
    before = await _snapshot()
    reply, notices = await _send(h, "张伟", "结束表决 现在")
    assert REFUSED in reply, reply
    assert "结果暂不记录" in reply, reply
    assert "yishi verify" in reply, reply
    assert "表决结果" not in reply, reply
    assert "反对1" not in reply, reply
    assert await _snapshot() == before  # nothing half-written: the vote is open, no event
    assert len(notices) == len(h.settings.committee_admins) == 1
    assert "议题1" in notices[0]
    assert "yishi verify" in notices[0]
    _says_no_ballot(notices[0])
    logged = captured.getvalue()
    assert "WARNING" in logged, logged
    assert "do not match their seals" in logged, logged
    assert "'no'" not in logged
    assert '"no"' not in logged
    # 计票 is not told from the edited row either, and 「我投了吗」 does not show it.
    counted = (await h.say("刘洋", "计票")).text
    assert REFUSED in counted, counted
    assert "反对1" not in counted, counted
    mine = (await h.say("赵敏", "我投了吗", private=True)).text
    assert REFUSED in mine, mine
    assert "反对" not in mine, mine
    # Once the row is what its seal says again, the close records the true result.
    await _edit_ballot("赵敏", "yes")
    closed = (await h.say("张伟", "结束表决 现在")).text
    assert "赞成6、反对0" in closed, closed
    assert (await verify.run()).clean


async def test_a_changed_ballot_is_not_answered_or_written_from_an_edited_row(
    harness: ConsoleRig,
) -> None:
    h = harness
    await _named_vote(h)
    assert "已记录" in await h.say("赵敏", "赞成")
    await _edit_ballot("赵敏", "no")
    before = await _snapshot()
    for said in ("弃权", "反对", "赞成"):  # a change, the edited value, the true one
        reply, notices = await _send(h, "赵敏", said)
        assert REFUSED in reply, reply
        assert "没有记录" in reply, reply
        assert "原为" not in reply, reply
        assert "已投过" not in reply, reply
        assert await _snapshot() == before  # the edited row is not overwritten nor re-sealed
        (notice,) = notices
        _says_no_ballot(notice)
    findings = (await verify.run()).findings
    assert any(f.table == "ballot" for f in findings), findings


@pytest.mark.parametrize(
    "edit",
    [
        # the item's matter type: a major matter's rule read as a general one's
        ("UPDATE agenda_item SET matter_type = 'major' WHERE number = 1", ()),
        # the vote's electorate: a voter added behind the bot's back
        (
            "UPDATE vote SET electorate = REPLACE(electorate, '\"present\": [', '\"present\": [99, ')",
            (),
        ),
        # a ballot inserted for someone who never voted (no seal)
        (
            "INSERT INTO ballot (vote_id, person_id, choice, receipt, changes)"
            " SELECT vote_id, (SELECT id FROM person WHERE name = '张伟'), 'no', 'ffffffff', 0"
            " FROM ballot WHERE id = (SELECT MIN(id) FROM ballot)",
            (),
        ),
    ],
    ids=["item", "vote", "inserted-ballot"],
)
async def test_the_close_refuses_when_what_it_counts_from_was_edited(
    harness: ConsoleRig, edit: tuple[str, tuple[Any, ...]]
) -> None:
    h = harness
    await _named_vote(h)
    sql, params = edit
    await raw_execute(models.Ballot, sql, *params)
    before = await _snapshot()
    reply, notices = await _send(h, "张伟", "结束表决 现在")
    assert REFUSED in reply, reply
    assert "表决结果" not in reply, reply
    assert await _snapshot() == before
    (notice,) = notices
    _says_no_ballot(notice)


async def test_a_secret_close_refuses_an_edited_voter_list_or_a_missing_ballot(
    harness: ConsoleRig,
) -> None:
    h = harness
    await convene_and_open(h, "推荐副组长人选（人事）")
    await h.say("张伟", "发起表决 1 无记名")
    for name in ("李娜", "王强", "刘洋"):
        assert "回执" in await h.say(name, "投票 反对", private=True)
    vote = int((await raw_rows(models.Vote, "SELECT id FROM vote"))[0]["id"])
    # A sealed entry taken out: the box holds one ballot fewer than the voters listed.
    entry = (await raw_rows(models.SecretBallotSealed, "SELECT id FROM secret_ballot_sealed"))[0]
    gone = await raw_rows(
        models.SecretBallotSealed, "SELECT * FROM secret_ballot_sealed WHERE id = ?", entry["id"]
    )
    await raw_execute(
        models.SecretBallotSealed, "DELETE FROM secret_ballot_sealed WHERE id = ?", entry["id"]
    )
    before = await _snapshot()
    reply, notices = await _send(h, "张伟", "结束表决 现在")
    assert REFUSED in reply, reply
    assert "表决结果" not in reply, reply
    assert await _snapshot() == before
    (notice,) = notices
    _says_no_ballot(notice)
    # The entry back, the voter list edited (one voter dropped): refused too.
    row = gone[0]
    await raw_execute(
        models.SecretBallotSealed,
        "INSERT INTO secret_ballot_sealed (id, vote_id, sealed) VALUES (?, ?, ?)",
        row["id"],
        row["vote_id"],
        row["sealed"],
    )
    listed = (await raw_rows(models.SecretVoterList, "SELECT voters FROM secret_voter_list"))[0]
    await raw_execute(
        models.SecretVoterList,
        "UPDATE secret_voter_list SET voters = ? WHERE vote_id = ?",
        listed["voters"].replace("[", "[99, ", 1),
        vote,
    )
    before = await _snapshot()
    assert REFUSED in await h.say("张伟", "结束表决 现在")
    assert await _snapshot() == before


# The attendance: who is present decides the quorum (法定人数). The attacker makes members who
# asked for leave or left the room present again, the seals untouched (no key).
FLIP_TO_PRESENT = "UPDATE attendance SET status = 'present' WHERE status IN ('leave', 'left')"
LEAVING = ("刘洋", "陈静", "杨帆", "赵敏")  # four of seven away: no quorum with the other three


async def _nobody_quorate_at_opening(h: ConsoleRig) -> str:
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    for name in LEAVING:
        await h.say(name, "请假 出差")
    h.at("2026-12-05 14:50")
    for name in MEMBERS[:3]:
        await h.say(name, "签到")
    h.at("2026-12-05 15:00")
    return "开会"


async def _gone_before_a_vote(h: ConsoleRig) -> str:
    await convene_and_open(h, "年度工作")
    for name in LEAVING:
        await h.say(name, "离席 单位有急事")
    return "发起表决 1"


async def _gone_during_a_vote(h: ConsoleRig) -> str:
    await convene_and_open(h, "年度工作")
    await h.say("张伟", "发起表决 1")
    for name in MEMBERS[:3]:
        assert "已记录" in await h.say(name, "赞成")
    for name in LEAVING:
        await h.say(name, "离席 单位有急事")
    return "结束表决 现在"


async def _gone_before_the_hands(h: ConsoleRig) -> str:
    await convene_and_open(h, "年度工作")
    await h.say("张伟", "发起表决 1 举手")
    for name in LEAVING:
        await h.say(name, "离席 单位有急事")
    return "举手结果 赞成7"


async def _gone_before_closing(h: ConsoleRig) -> str:
    await convene_and_open(h, "年度工作")
    for name in LEAVING:
        await h.say(name, "离席 单位有急事")
    return "散会 现在"


@pytest.mark.parametrize(
    ("setup", "who", "refused"),
    [
        (_nobody_quorate_at_opening, "张伟", "没有开会"),
        (_gone_before_a_vote, "张伟", "没有发起表决"),
        (_gone_during_a_vote, "张伟", "没有结束表决"),
        (_gone_before_the_hands, "周婷", "举手结果没有记录"),
        (_gone_before_closing, "张伟", "没有散会"),
    ],
    ids=["open-meeting", "open-vote", "close-vote", "hands", "close-meeting"],
)
async def test_no_quorum_is_made_from_an_edited_attendance(
    harness: ConsoleRig, captured: io.StringIO, setup: Any, who: str, refused: str
) -> None:
    h = harness
    said = await setup(h)
    await raw_execute(models.Attendance, FLIP_TO_PRESENT)
    before = await _snapshot()
    reply, notices = await _send(h, who, said)
    assert REFUSED in reply, reply
    assert "签到记录" in reply, reply
    assert refused in reply, reply
    assert "yishi verify" in reply, reply
    assert await _snapshot() == before  # nothing written from the edited rows
    (notice,) = notices
    assert "第1次会议" in notice, notice
    assert "签到（出席）记录" in notice, notice
    for name in MEMBERS:
        assert name not in notice, notice
    logged = captured.getvalue()
    assert "attendance rows" in logged, logged
    assert (await verify.run()).findings  # verify sees the same rows


# Rows deleted (with their seal, or without): no seal fails, the close counts from what is
# left. The head's per-table set digest (count and XOR of the row MACs) shows it.
_VOTER = "(SELECT id FROM person WHERE name = '赵敏')"
DELETIONS = {
    "ballot-with-seal": (
        f"DELETE FROM row_seal WHERE tbl = 'ballot' AND row_id = "
        f"(SELECT id FROM ballot WHERE person_id = {_VOTER})",
        f"DELETE FROM ballot WHERE person_id = {_VOTER}",
    ),
    "ballot-seal-left": (f"DELETE FROM ballot WHERE person_id = {_VOTER}",),
    "attendance-with-seal": (
        f"DELETE FROM row_seal WHERE tbl = 'attendance' AND row_id = "
        f"(SELECT id FROM attendance WHERE person_id = {_VOTER})",
        f"DELETE FROM attendance WHERE person_id = {_VOTER}",
    ),
}


@pytest.mark.parametrize("deletion", sorted(DELETIONS))
async def test_the_close_sees_rows_deleted_behind_its_back(
    harness: ConsoleRig, deletion: str
) -> None:
    h = harness
    await _named_vote(h)
    assert "已记录" in await h.say("赵敏", "反对")
    for sql in DELETIONS[deletion]:
        await raw_execute(models.Ballot, sql)
    before = await _snapshot()
    reply, notices = await _send(h, "张伟", "结束表决 现在")
    assert REFUSED in reply, reply
    assert "表决结果" not in reply, reply
    assert await _snapshot() == before
    (notice,) = notices
    _says_no_ballot(notice)


async def test_a_secret_box_that_will_not_open_is_told_to_the_admins(
    harness: ConsoleRig, captured: io.StringIO
) -> None:
    """The refusal stays as it was (a changed server key is one cause); the committee admins
    are told too, without anything of the box."""
    h = harness
    await convene_and_open(h, "推荐副组长人选（人事）")
    await h.say("张伟", "发起表决 1 无记名")
    for name in ("李娜", "王强", "刘洋"):
        assert "回执" in await h.say(name, "投票 反对", private=True)
    entries = await raw_rows(
        models.SecretBallotSealed, "SELECT id, sealed FROM secret_ballot_sealed ORDER BY id"
    )
    # the first entry's sealed value under the second's id: bound to its id, it will not open
    await raw_execute(
        models.SecretBallotSealed,
        "UPDATE secret_ballot_sealed SET sealed = ? WHERE id = ?",
        entries[0]["sealed"],
        entries[1]["id"],
    )
    before = await _snapshot()
    reply, notices = await _send(h, "张伟", "结束表决 现在")
    assert "打不开" in reply, reply
    assert "服务器密钥被更换" in reply, reply
    assert await _snapshot() == before
    (notice,) = notices
    assert "议题1" in notice, notice
    assert "打不开" in notice, notice
    _says_no_ballot(notice)
    assert "secret box does not open" in captured.getvalue()
