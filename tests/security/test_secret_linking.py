"""The linking attack on secret ballots (issue 13), on SQLite and PostgreSQL.

The adversary holds every table, the SQLite file and its WAL (freed pages included), every row
version PostgreSQL still keeps with its xmin (live and dead, read with pageinspect), and the logs;
not the server key. Over VOTES random 7-member secret votes (half cast straight, half through the
inbound queue, the last one left open) it tries every join of the issue and must find:

- no receipt and no ballot text anywhere: the joins through stored replies, the inbound queue,
  the outbox, and event order against 「已投k/m」, have nothing to start from;
- sealed values whose length does not depend on the choice;
- no order that links voters to the plain box better than chance. For each order the adversary
  can see (entry ids, physical row order, first appearance in the file or WAL, PostgreSQL xmin)
  the k-th entry is paired with the k-th voter of the event log; the statistic is the number of
  voters whose choice the pairing gets right, summed over the closed votes, and it must stay
  below the mean of a random pairing plus 4 standard deviations (Monte Carlo). The same statistic
  applied to the true pairing (the test holds the key) is far above the bar: the test has power.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tortoise import connections

from bot import governance as g
from bot.inbox import message_key
from handlers.texts import CHOICE, CHOICE_WORDS
from storage import db, secrecy
from tests.kit.console import ConsoleRig

MEMBERS = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏")
VOTES = 12  # per engine; the last stays open
_RECEIPT = re.compile(r"回执 ([0-9a-f]{8})")
_HEX8 = re.compile(r"(?<![0-9A-Za-z_+/=-])([0-9a-f]{8})(?![0-9A-Za-z_+/=-])")
_BALLOT_TEXT = re.compile(r'"text":\s*"(?:投票\s*)?(?:赞成|同意|反对|不同意|弃权)')
_BALLOT_WORDS = re.compile(r"投票\s*(?:赞成|同意|反对|不同意|弃权)")


@dataclass
class Cast:
    """What the test knows and the adversary does not."""

    truth: dict[int, dict[str, g.Choice]] = field(default_factory=dict)  # vote -> voter -> choice
    receipts: dict[int, dict[str, str]] = field(default_factory=dict)
    keys: dict[str, g.Choice] = field(default_factory=dict)  # inbound key / message id -> choice
    open_vote: int = 0


@dataclass
class Loot:
    """What the adversary holds."""

    blobs: list[tuple[str, bytes]]  # files, WAL, raw pages, live rows, logs
    rows: dict[str, list[dict[str, Any]]]  # live rows with `_pos` (and `_xmin` on PostgreSQL)
    tuples: dict[str, list[tuple[str, bytes]]]  # PostgreSQL: every row version (xmin, data)
    wal: bytes


async def _open_meeting(h: ConsoleRig, items: str) -> None:
    """A meeting with every member present, open, its items listed."""
    h.at("2026-12-01 09:00")
    await h.say("张伟", f"召开会议 2026-12-05 15:00 会议室 议题：{items}")
    h.at("2026-12-05 14:50")
    for name in MEMBERS:
        await h.say(name, "签到")
    await h.say("张伟", "开会")


async def _run_votes(h: ConsoleRig, rng: random.Random) -> Cast:
    from storage import models

    await _open_meeting(h, "；".join(f"事项{i}（处分）" for i in range(1, VOTES + 1)))
    inbox, cast = h.inbox("attack"), Cast()
    for number in range(1, VOTES + 1):
        assert "开始表决" in await h.say("张伟", f"发起表决 {number} 无记名")
        vote = await models.Vote.all().order_by("-id").first()
        assert vote is not None
        truth, receipts = cast.truth.setdefault(vote.id, {}), cast.receipts.setdefault(vote.id, {})
        for voter in rng.sample(MEMBERS, len(MEMBERS)):
            word = rng.choice(sorted(CHOICE_WORDS))
            text = rng.choice((f"投票 {word}", word))
            message = h.adapter.decode(voter, text, private=True)
            before = len(h.adapter.sent)
            if number % 2:
                replies = await h.adapter.feed(message)
            else:
                assert await inbox.submit(message)
                assert await inbox.drain() == 1
                replies = [r for r in h.adapter.sent[before:] if r.chat == message.chat]
            found = [m for r in replies for m in _RECEIPT.findall(r.text)]
            assert len(found) == 1, [r.text for r in replies]
            truth[voter], receipts[voter] = CHOICE_WORDS[word], found[0]
            cast.keys[message_key(message)] = cast.keys[message.message_id] = CHOICE_WORDS[word]
        if number == VOTES:
            cast.open_vote = vote.id
            break
        result = await h.say("张伟", "结束表决")
        counts = [sum(c is choice for c in truth.values()) for choice in g.Choice]
        assert f"赞成{counts[0]}、反对{counts[1]}、弃权{counts[2]}" in result
    return cast


# ---------------------------------------------------------------------------------------------
# What the adversary reads


async def _loot(url: str, logs: str) -> Loot:
    conn = connections.get(db.connection_name(url))
    sqlite = db.is_sqlite(url)
    blobs: list[tuple[str, bytes]] = [("logs", logs.encode("utf-8"))]
    rows: dict[str, list[dict[str, Any]]] = {}
    tuples: dict[str, list[tuple[str, bytes]]] = {}
    wal = b""
    if sqlite:
        _, names = await conn.execute_query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        tables = [str(r["name"]) for r in names]
        path = Path(url[len("sqlite://") :].split("?", 1)[0])
        blobs.append(("file", await asyncio.to_thread(path.read_bytes)))
        wal_path = path.with_name(path.name + "-wal")
        wal = await asyncio.to_thread(wal_path.read_bytes)
        blobs.append(("wal", wal))
        select = 'SELECT rowid AS "_pos", * FROM "{}"'
    else:
        _, names = await conn.execute_query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
        tables = [str(r["tablename"]) for r in names]
        await conn.execute_script("CREATE EXTENSION IF NOT EXISTS pageinspect")
        _, rels = await conn.execute_query(
            "SELECT c.oid::regclass::text AS rel, c.relkind, pg_relation_size(c.oid) AS size"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname IN ('public', 'pg_toast') AND c.relkind IN ('r', 'i', 't')"
            " AND (n.nspname = 'public' OR c.relname LIKE 'pg_toast_%')"
        )
        for rel in rels:
            name, pages = str(rel["rel"]), int(rel["size"]) // 8192
            _, raw = await conn.execute_query(
                "SELECT n, get_raw_page($1, n) AS p FROM generate_series(0, $2 - 1) AS n",
                [name, pages],
            )
            blobs += [(f"page {name}:{r['n']}", bytes(r["p"])) for r in raw]
            if rel["relkind"] == "r" and pages:
                _, items = await conn.execute_query(
                    "SELECT h.t_xmin::text AS xmin, h.t_data FROM generate_series(0, $2 - 1) AS n,"
                    " LATERAL heap_page_items(get_raw_page($1, n)) AS h"
                    " WHERE h.t_data IS NOT NULL",
                    [name, pages],
                )
                tuples[name] = [(str(i["xmin"]), bytes(i["t_data"])) for i in items]
        select = 'SELECT xmin::text AS "_xmin", ctid AS "_pos", * FROM "{}"'
    for table in tables:
        _, live = await conn.execute_query(select.format(table))
        rows[table] = [dict(r) for r in live]
        blobs.append((f"rows {table}", repr(rows[table]).encode("utf-8")))
    return Loot(blobs, rows, tuples, wal)


def _text(blob: bytes) -> str:
    return blob.decode("utf-8", "ignore")


# ---------------------------------------------------------------------------------------------
# The joins


def _no_receipt_or_ballot_text(loot: Loot, cast: Cast) -> None:
    """Receipts (with or without 「回执」 before them) and ballot texts appear nowhere."""
    every = {r for by_voter in cast.receipts.values() for r in by_voter.values()}
    for name, blob in loot.blobs:
        text = _text(blob)
        assert not _RECEIPT.search(text), f"a receipt next to 回执 in {name}"
        assert not (set(_HEX8.findall(text)) & every), f"a receipt in {name}"
        assert not _BALLOT_TEXT.search(text), f"a ballot's text in {name}"
        if name == "logs":
            assert not _BALLOT_WORDS.search(text), "a ballot's words in the logs"


def _lengths_say_nothing(loot: Loot, cast: Cast) -> None:
    """Every sealed value tied to a ballot has one length, whatever the choice."""
    ballots = [
        (len(r["payload"]), cast.keys[r["key"]])
        for r in loot.rows["inbound_message"]
        if r["key"] in cast.keys
    ]
    ballots_replies = [
        (len(r["reply"]), cast.keys[r["message_id"]])
        for r in loot.rows["processed_message"]
        if r["message_id"] in cast.keys and r["reply"]  # a queued ballot keeps no reply
    ]
    receipts_out = [
        (len(r["payload"]), cast.keys[str(r["dedupe_key"]).split(":")[3]])
        for r in loot.rows["outbox_message"]
        if str(r["dedupe_key"]).split(":")[3:4]
        and str(r["dedupe_key"]).split(":")[3] in cast.keys
        and str(r["channel"]).endswith(":app")
    ]
    sealed_box = [(len(r["sealed"]), g.Choice.YES) for r in loot.rows["secret_ballot_sealed"]]
    assert len(ballots) == (VOTES // 2) * len(MEMBERS)  # the queued ballots
    assert len(ballots_replies) == (VOTES - VOTES // 2) * len(MEMBERS)  # the direct ballots
    assert len(sealed_box) == len(MEMBERS)  # the open vote
    assert len(receipts_out) == len(ballots)  # a queued ballot's receipt goes out by the outbox
    for found in (ballots, ballots_replies, receipts_out, sealed_box):
        assert len({size for size, _ in found}) <= 1, sorted(set(found))
    for r in loot.rows["inbound_message"] + loot.rows["processed_message"]:
        for column in ("payload", "reply"):
            value = str(r.get(column) or "")
            assert not value or value.startswith(secrecy.SEALED)
    sealed_versions = loot.tuples.get("secret_ballot_sealed", [])
    assert len({len(data) for _, data in sealed_versions}) <= 1


@dataclass(frozen=True)
class Entry:
    id: str
    choice: g.Choice
    pos: tuple[int, ...]
    xmin: str
    digest: str


def _position(value: Any) -> tuple[int, ...]:
    """SQLite rowid, or PostgreSQL ctid "(page,item)"."""
    return tuple(int(x) for x in re.findall(r"\d+", str(value)))


def _boxes(loot: Loot) -> dict[int, list[Entry]]:
    boxes: dict[int, list[Entry]] = {}
    for r in loot.rows["secret_box_entry"]:
        entry = Entry(
            str(r["id"]),
            g.Choice(r["choice"]),
            _position(r["_pos"]),
            str(r.get("_xmin", "")),
            str(r["digest"]),
        )
        boxes.setdefault(int(r["vote_id"]), []).append(entry)
    return boxes


def _cast_order(loot: Loot) -> dict[int, list[tuple[str, str]]]:
    """vote -> (voter, xmin of the event) in the order of the chain: what the event log says."""
    import json

    order: dict[int, list[tuple[str, str]]] = {}
    events = sorted(
        (r for r in loot.rows["event_log"] if r["kind"] == "secret_ballot"),
        key=lambda r: int(r["seq"]),
    )
    for r in events:
        payload = json.loads(r["payload"])
        order.setdefault(int(payload["vote"]), []).append(
            (str(payload["voter"]["name"]), str(r.get("_xmin", "")))
        )
    return order


Pairing = Callable[[list[Entry], list[tuple[str, str]]], dict[str, Entry]]


def _by(key: Callable[[Entry], Any]) -> Pairing:
    def pair(entries: list[Entry], voters: list[tuple[str, str]]) -> dict[str, Entry]:
        ordered = sorted(entries, key=key)
        return {voter: e for (voter, _), e in zip(voters, ordered, strict=True)}

    return pair


def _by_offset(blob: bytes) -> Pairing:
    """The order in which the entries' ids first appear in a file (unseen ones last)."""
    return _by(lambda e: (blob.find(e.id.encode()) % (len(blob) + 1), e.pos))


def _by_xmin(entries: list[Entry], voters: list[tuple[str, str]]) -> dict[str, Entry]:
    """An entry written in a ballot's transaction belongs to that voter; the rest in order."""
    paired: dict[str, Entry] = {}
    rest = list(entries)
    for voter, xmin in voters:
        same = [e for e in rest if e.xmin and e.xmin == xmin]
        if same:
            paired[voter] = same[0]
            rest.remove(same[0])
    for (voter, _), e in zip([v for v in voters if v[0] not in paired], rest, strict=True):
        paired[voter] = e
    return paired


def _score(cast: Cast, pairs: dict[int, dict[str, Entry]]) -> int:
    return sum(
        cast.truth[vote][voter] is entry.choice
        for vote, paired in pairs.items()
        for voter, entry in paired.items()
    )


def _chance(cast: Cast, boxes: dict[int, list[Entry]], rng: random.Random) -> tuple[float, float]:
    """Mean and standard deviation of the score of a random pairing."""
    samples = []
    for _ in range(2000):
        total = 0
        for vote, entries in boxes.items():
            choices = [e.choice for e in entries]
            rng.shuffle(choices)
            total += sum(c is t for c, t in zip(choices, cast.truth[vote].values(), strict=True))
        samples.append(total)
    return statistics.fmean(samples), statistics.pstdev(samples)


def _orders_say_nothing(loot: Loot, cast: Cast, rng: random.Random, sqlite: bool) -> None:
    boxes = _boxes(loot)
    order = _cast_order(loot)
    closed = {v for v in cast.truth if v != cast.open_vote}
    assert set(boxes) == closed
    assert all(len(boxes[v]) == len(MEMBERS) for v in closed)
    mean, sd = _chance(cast, boxes, rng)
    bar = mean + 4 * sd
    pairings: dict[str, Pairing] = {
        "entry id": _by(lambda e: e.id),
        "physical order": _by(lambda e: e.pos),
        "digest": _by(lambda e: e.digest),
    }
    if sqlite:
        pairings["position in the file"] = _by_offset(dict(loot.blobs)["file"])
        pairings["position in the WAL"] = _by_offset(loot.wal)
    else:
        pairings["xmin"] = _by_xmin
    for name, pairing in pairings.items():
        score = _score(cast, {v: pairing(boxes[v], order[v]) for v in closed})
        assert score < bar, f"{name}: {score} right, chance {mean:.1f} ± {sd:.1f}"
    # The statistic has power: the true pairing (through the key) is far above the bar, and
    # every voter's receipt is in the box.
    truth = {
        v: {
            voter: next(e for e in boxes[v] if e.digest == secrecy.receipt_digest(receipt))
            for voter, receipt in cast.receipts[v].items()
        }
        for v in closed
    }
    assert _score(cast, truth) == len(closed) * len(MEMBERS) > bar


# ---------------------------------------------------------------------------------------------


@pytest.mark.row_versions  # the attacker reads every row version: none of earlier tests'
async def test_the_linking_attack_recovers_nothing(
    harness: ConsoleRig, database: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    cast = await _run_votes(harness, rng)
    loot = await _loot(database, caplog.text)
    context = f"seed {seed}"
    try:
        _no_receipt_or_ballot_text(loot, cast)
        _lengths_say_nothing(loot, cast)
        _orders_say_nothing(loot, cast, rng, db.is_sqlite(database))
    except AssertionError as exc:
        raise AssertionError(f"{context}: {exc}") from exc


async def test_a_voter_checks_a_receipt_in_private_only(harness: ConsoleRig) -> None:
    h = harness
    await _open_meeting(h, "事项（处分）")
    await h.say("张伟", "发起表决 1 无记名")
    receipts: dict[str, str] = {}
    for name, word in zip(
        MEMBERS, ("赞成", "反对", "弃权", "同意", "不同意", "赞成", "赞成"), strict=True
    ):
        said = await h.say(name, f"投票 {word}", private=True)
        receipts[name] = _RECEIPT.findall(said.text)[0]
    early = await h.say("李娜", f"查回执 {receipts['李娜']}", private=True)
    assert "没有找到" in early  # the box opens at close
    result = await h.say("张伟", "结束表决")
    assert "共7张选票均已计入" in result
    assert not set(receipts.values()) & set(_HEX8.findall(result.text))
    checked = await h.say("李娜", f"查回执 {receipts['李娜']}", private=True)
    assert f"这张{CHOICE[g.Choice.NO]}票已计入结果" in checked
    assert "请在与我的私聊中" in await h.say("李娜", f"查回执 {receipts['李娜']}")
    assert "没有找到" in await h.say("李娜", "查回执 00000000", private=True)


def test_every_ballot_word_counts_as_one_command(tmp_path: Path) -> None:
    """The metrics never name a choice: each way of casting a ballot counts as 投票."""
    from bot.app import build_router
    from bot.clock import ManualClock
    from bot.config import Settings
    from bot.metrics import Metrics
    from bot.router import CommandOutcome

    metrics = Metrics()
    router = build_router(
        Settings(), ManualClock(datetime(2026, 12, 1, tzinfo=UTC)), metrics=metrics
    )
    assert router._on_command is not None
    words: Sequence[str] = ("赞成", "同意", "反对", "不同意", "弃权", "投票")
    for word in words:
        found = router.match(f"{word} 1")
        assert found is not None
        router._on_command(found[0], CommandOutcome.OK)
    assert metrics.value("yishi_commands_total", command="投票", outcome="ok") == len(words)
    for word in words[:-1]:
        assert metrics.value("yishi_commands_total", command=word, outcome="ok") == 0
