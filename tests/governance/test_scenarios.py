"""The rules at the edges, as conversations: one table of scenarios, each run through the
console adapter and the real router on SQLite and PostgreSQL.

A step is (time or None, speaker, message, fragments): every fragment must be in the reply,
and a fragment starting with "!" must not be. ADMIN speaks to the bot in private."""

from __future__ import annotations

import json
import tomllib

import pytest

from bot.config import Settings, parse_settings
from storage import models
from tests.kit.console import ConsoleRig

ADMIN = "市党委刘老师"
MEMBERS = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏")
RECORDER = "周婷"

Step = tuple[str | None, str, str, tuple[str, ...]]

CONVENE: list[Step] = [
    (
        "2026-12-01 09:00",
        "张伟",
        "召开会议 2026-12-05 15:00 会议室 议题：年度工作；会员发展；经费预算（重大）",
        ("会议通知",),
    )
]


def check_in(names: tuple[str, ...], at: str | None = "2026-12-05 14:50") -> list[Step]:
    return [(at if i == 0 else None, n, "签到", ("已签到",)) for i, n in enumerate(names)]


def opened(present: int, base: int = 7, at: str = "2026-12-05 15:00") -> list[Step]:
    return [(at, "张伟", "开会", ("会议现在开始", f"应到{base}人，实到{present}人"))]


def all_vote(names: tuple[str, ...], word: str) -> list[Step]:
    return [(None, n, word, ("已记录",)) for n in names]


SCENARIOS: dict[str, tuple[str, list[Step]]] = {
    # --- 1. one roster per meeting -----------------------------------------------------------
    "removed between convening and opening still counts for this meeting": (
        "",
        [
            *CONVENE,
            (None, "张伟", "提议免去 @赵敏 退休", ("须经市科技社团党委审核批准",)),
            (None, ADMIN, "批准 1", ("已批准", "第1次会议已召开", "应到会7人", "下次会议起")),
            *check_in(("张伟", "李娜", "王强")),
            (None, "赵敏", "签到", ("已签到（4/7）", "已达法定人数")),
            (None, "张伟", "会议状态", ("应到会7人（召开会议时", "赵敏不再担任成员", "下次会议起")),
            *opened(4),
            (None, "张伟", "发起表决 1", ("应到会7人", "出席且有表决权4人")),
            *all_vote(("张伟", "李娜", "王强", "赵敏"), "赞成"),
            (None, "张伟", "结束表决 现在", ("结果：通过", "应到会7人")),
            (None, "张伟", "散会 现在", ("会议结束",)),
            (None, "张伟", "纪要 全文", ("应到会：7人", "赵敏")),
            ("2026-12-06 09:00", "张伟", "签发", ("签发",)),
            (None, "张伟", "召开会议 2026-12-10 15:00 会议室 议题：档案整理", ("会议通知",)),
            ("2026-12-10 14:50", "赵敏", "签到", ("不在本次会议的参会名单中",)),
            (None, "李娜", "会议状态", ("应到会6人", "!赵敏不再担任")),
        ],
    ),
    "added between convening and opening joins from the next meeting": (
        "",
        [
            *CONVENE,
            (None, "张伟", "提议增补 @孙磊 党员 理事 工作需要", ("须经",)),
            (None, ADMIN, "批准 1 特批", ("已批准", "仍按召开时的名单（应到会7人）")),
            ("2026-12-05 14:50", "孙磊", "签到", ("不在第1次会议的应到会名单中", "下次会议起")),
            (None, "孙磊", "请假 出差", ("不在第1次会议的应到会名单中",)),
            *check_in(("张伟", "李娜", "王强"), at=None),
            (None, "刘洋", "签到", ("已签到（4/7）", "已达法定人数")),
            (None, "张伟", "会议状态", ("应到会7人", "增补孙磊", "下次会议起")),
            *opened(4),
            (None, "张伟", "发起表决 1", ("应到会7人",)),
            (None, "孙磊", "赞成", ("不在本次会议的应到会成员名单中",)),
        ],
    ),
    "leader changed between convening and opening": (
        "",
        [
            *CONVENE,
            (None, "张伟", "提议组长 @李娜", ("须经",)),
            (None, ADMIN, "批准 1", ("已批准", "下次会议起")),
            *check_in(MEMBERS),
            # The leader at convening chairs this meeting (第十七条, governance Rule 7).
            ("2026-12-05 14:55", "李娜", "开会", ("由张伟主持", "没有开会")),
            # Everyone is present: the meeting may open before the announced time.
            (None, "张伟", "开会", ("会议现在开始", "应到7人，实到7人")),
            (None, "张伟", "发起表决 1", ("开始表决", "应到会7人")),
            *all_vote(MEMBERS[:4], "赞成"),
            (None, "李娜", "结束表决 现在", ("由张伟主持", "没有结束表决")),
            (None, "张伟", "结束表决 现在", ("结果：通过",)),
        ],
    ),
    "roster changes during the meeting apply from the next one": (
        "",
        [
            *CONVENE,
            *check_in(MEMBERS),
            *opened(7),
            (None, "张伟", "提议免去 @赵敏 退休", ("须经",)),
            (None, ADMIN, "批准 1", ("仍按召开时的名单（应到会7人）进行",)),
            (None, "张伟", "提议增补 @孙磊 党员 理事", ("须经",)),
            (None, ADMIN, "批准 2", ("已批准", "下次会议起")),
            (None, "张伟", "发起表决 1", ("应到会7人", "出席且有表决权7人")),
            (None, "赵敏", "赞成", ("已记录",)),
            (None, "孙磊", "赞成", ("不在本次会议的应到会成员名单中",)),
            (None, "赵敏", "离席 有事", ("中途离席", "现出席6人")),
            (None, "张伟", "会议状态", ("应到会7人", "增补孙磊", "赵敏不再担任成员")),
        ],
    ),
    # --- 2. show of hands ----------------------------------------------------------------------
    "show of hands bounded by who is present when it is entered": (
        "",
        [
            *CONVENE,
            *check_in(MEMBERS),
            *opened(7),
            (None, "张伟", "发起表决 1 举手", ("举手表决",)),
            (None, "刘洋", "离席", ("现出席6人",)),
            (None, "陈静", "离席", ("现出席5人",)),
            (None, "杨帆", "离席", ("现出席4人", "仍达到法定人数")),
            (None, RECORDER, "举手结果 赞成7", ("超过了出席且有表决权的人数（4",)),
            (None, RECORDER, "举手结果 赞成4 赞成1", ("写了两次", "没有记录")),
            (None, RECORDER, "举手结果 赞成3 同意1", ("写了两次",)),
            (None, RECORDER, "举手结果 赞成99", ("超过了",)),
            (None, RECORDER, "举手结果 赞成4", ("已录入",)),
            (None, "张伟", "结束表决 现在", ("结果：通过",)),
            (None, "张伟", "发起表决 2 举手", ("举手表决",)),
            (None, "赵敏", "离席", ("已不足法定人数",)),
            (None, RECORDER, "举手结果 赞成3", ("已不足法定人数", "没有记录")),
            (None, "张伟", "结束表决 现在", ("未达法定人数",)),
        ],
    ),
    # --- 4. rule fixes -------------------------------------------------------------------------
    "no vote on an item every member stands aside from": (
        "",
        [
            *CONVENE,
            *check_in(MEMBERS),
            *opened(7),
            *[(None, n, "回避 1", ("回避",)) for n in MEMBERS],
            (None, "张伟", "发起表决 1", ("全体成员均已回避", "不能发起表决")),
            (None, "张伟", "发起表决 2", ("开始表决",)),
        ],
    ),
    "dissent share over those entitled when the recused stay in the base": (
        "[governance]\nrecused_leave_base = false\n",
        [
            *CONVENE,
            *check_in(MEMBERS),
            *opened(7),
            (None, "陈静", "回避 3", ("回避",)),
            (None, "张伟", "发起表决 3", ("应到会7人", "出席且有表决权6人")),
            # 4 yes, 1 no, 1 abstain: 2 of the 6 voters dissent (⅓): deferred (第十六条). Over
            # the 7 present, recused included, it would have passed.
            *all_vote(("张伟", "李娜", "王强", "刘洋"), "赞成"),
            (None, "杨帆", "反对", ("已记录",)),
            (None, "赵敏", "弃权", ("已记录",)),
            (None, "张伟", "结束表决 现在", ("暂缓决定", "第十六条")),
        ],
    ),
    "one quorum_reading for the meeting and its items": (
        '[governance]\nquorum_reading = "inclusive"\n',
        [
            ("2026-11-30 09:00", "张伟", "提议免去 @赵敏 退休", ("须经",)),
            (None, ADMIN, "批准 1", ("已批准", "!下次会议起")),
            *CONVENE,
            *check_in(("张伟", "李娜", "王强")),
            *opened(3, base=6),
            (None, "张伟", "发起表决 1", ("开始表决", "!未达到")),
            *all_vote(("张伟", "李娜", "王强"), "赞成"),
            (None, "张伟", "结束表决 现在", ("未通过", "!未达法定人数")),
        ],
    ),
    "no opening before the announced time unless everyone is present": (
        "",
        [
            *CONVENE,
            *check_in(MEMBERS[:3]),
            (None, "张伟", "开会", ("未达到法定人数",)),
            *check_in(MEMBERS[3:6], at=None),
            ("2026-12-05 14:52", "张伟", "开会", ("提前开会须全体7名成员到齐", "现到6人", "通知")),
            ("2026-12-05 14:55", "赵敏", "签到", ("已签到（7/7）",)),
            (None, "张伟", "开会", ("会议现在开始", "应到7人，实到7人")),
        ],
    ),
}


def settings_of(text: str) -> Settings | None:
    return parse_settings(tomllib.loads(text), {}) if text else None


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_scenario(name: str, database: str) -> None:
    config, steps = SCENARIOS[name]
    h = await ConsoleRig.create(settings_of(config))
    for number, (at, speaker, text, fragments) in enumerate(steps, start=1):
        if at is not None:
            h.at(at)
        said = await h.say(speaker, text, private=speaker == ADMIN)
        reply = "\n".join(said.replies)
        for fragment in fragments:
            if fragment.startswith("!"):
                assert fragment[1:] not in reply, (number, speaker, text, reply)
            else:
                assert fragment in reply, (number, speaker, text, reply)


async def test_impossible_stored_counts_are_refused_politely(database: str) -> None:
    """Counts no meeting can produce (a tampered or corrupted row: 9 hands of 7) reach the
    rules; the reply is polite and nothing is decided."""
    h = await ConsoleRig.create()
    for at, speaker, text, _ in [*CONVENE, *check_in(MEMBERS), *opened(7)]:
        if at is not None:
            h.at(at)
        await h.say(speaker, text)
    assert "举手表决" in await h.say("张伟", "发起表决 1 举手")
    assert "已录入" in await h.say(RECORDER, "举手结果 赞成4")
    vote = await models.Vote.get()
    vote.hands = json.dumps({"yes": 9, "no": 0, "abstain": 0})
    await vote.save()
    refused = await h.say("张伟", "结束表决 现在")
    assert "不合规则" in refused
    assert "没有记录" in refused
    assert (await models.Vote.get()).state == "open"
    assert await models.EventLog.filter(kind="vote_closed").count() == 0
