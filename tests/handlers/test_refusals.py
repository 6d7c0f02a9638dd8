"""Every refusal says why in plain words and what happens next: for each meeting state, every
command that the state refuses is sent, and each answer must name the state and a next step (a
command that exists, in 「」); a command someone may not use names who may."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot import governance as g
from handlers import ALL_ROUTES
from handlers import texts as t
from tests.kit.console import ConsoleRig

MEMBERS = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏")
WORDS = sorted((w for r in ALL_ROUTES for w in r.words), key=len, reverse=True)
_QUOTED = re.compile(r"「([^「」]+)」")


def next_commands(text: str) -> list[str]:
    """The commands a reply tells someone to send: each 「…」 that starts with a command word."""
    return [q for q in _QUOTED.findall(text) if any(q.startswith(w) for w in WORDS)]


def assert_next_step(text: str) -> None:
    assert next_commands(text), f"no command named in: {text}"


# What each meeting state refuses, and who tries it (the leader for the chair's commands).
REFUSED: dict[str, list[tuple[str, str]]] = {
    "convened": [
        ("张伟", "发起表决 1"),
        ("张伟", "散会 现在"),
        ("张伟", "签发"),
        ("周婷", "纪要备注 补充一句"),
        ("李娜", "离席 有事"),
        ("张伟", "紧急 1 汛期临近"),
        ("张伟", "结束表决"),
        ("李娜", "赞成"),
        ("张伟", "召开会议 2026-12-09 15:00 会议室"),
        ("张伟", "暂缓 9"),
    ],
    "open": [
        ("张伟", "开会"),
        ("张伟", "取消会议 改期"),
        ("张伟", "签发"),
        ("张伟", "召开会议 2026-12-09 15:00 会议室"),
        ("李娜", "赞成"),
        ("张伟", "结束表决"),
    ],
    "closed": [
        ("张伟", "开会"),
        ("张伟", "散会 现在"),
        ("张伟", "发起表决 1"),
        ("李娜", "签到"),
        ("李娜", "请假 出差"),
        ("李娜", "提议议题 会员发展"),
        ("李娜", "书面意见 1 同意"),
        ("张伟", "取消会议 改期"),
        ("李娜", "离席 有事"),
    ],
    "signed": [
        ("张伟", "开会"),
        ("张伟", "散会 现在"),
        ("张伟", "签发"),
        ("周婷", "纪要备注 再改一次"),
        ("李娜", "签到"),
        ("李娜", "请假 出差"),
        ("张伟", "发起表决 1"),
        ("张伟", "取消会议 改期"),
    ],
    "cancelled": [
        ("张伟", "开会"),
        ("张伟", "散会 现在"),
        ("李娜", "签到"),
        ("李娜", "请假 出差"),
        ("张伟", "签发"),
    ],
}


async def _reach(h: ConsoleRig, state: str) -> None:
    h.at("2026-12-01 09:00")
    assert "【会议通知】" in await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    if state == "cancelled":
        assert "已取消" in await h.say("张伟", "取消会议 改期")
        return
    h.at("2026-12-05 14:50")
    if state == "convened":
        return
    for name in MEMBERS:
        await h.say(name, "签到")
    assert "会议现在开始" in await h.say("张伟", "开会")
    if state == "open":
        return
    assert "纪要草稿" in await h.say("张伟", "散会 现在")
    if state == "closed":
        return
    assert "已签发" in await h.say("张伟", "签发")


@pytest.mark.parametrize("state", list(REFUSED))
async def test_each_state_refusal_names_the_state_and_the_next_step(
    harness: ConsoleRig, state: str
) -> None:
    h = harness
    await _reach(h, state)
    for speaker, text in REFUSED[state]:
        (reply,) = (await h.say(speaker, text)).replies
        assert_next_step(reply)
        if state != "cancelled" and not reply.startswith(
            ("目前没有正在进行的表决", "本次会议没有")
        ):
            assert t.MEETING_STATE_PLAIN[g.MeetingState(state)] in reply, (text, reply)


async def test_an_observer_not_yet_invited_is_told_how_to_be_invited(harness: ConsoleRig) -> None:
    h = harness
    await _reach(h, "convened")
    refused = (await h.say("吴国华", "签到")).text
    assert "没有被邀请列席" in refused
    assert "列席 姓名 理由" in next_commands(refused)
    assert "已邀请吴国华列席" in await h.say("张伟", "列席 吴国华 非党员理事长列席")
    assert "（列席）已签到" in await h.say("吴国华", "签到")
    assert_next_step((await h.say("吴国华", "赞成")).text)


async def test_checking_in_too_early_says_from_when(harness: ConsoleRig) -> None:
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    early = (await h.say("李娜", "签到")).text
    assert "2026年12月5日（星期六）14:00" in early
    assert next_commands(early) == ["签到"]


async def test_a_command_someone_may_not_use_names_who_may(harness: ConsoleRig) -> None:
    """吴国华 is in the society but holds no role: every command that needs one is refused with
    the people who may use it."""
    h = harness
    await _reach(h, "convened")
    needing = [r for r in ALL_ROUTES if r.needs is not g.Need.ANYONE]
    assert len(needing) > 20
    for route in needing:
        reply = (await h.say("吴国华", route.usage)).text
        assert f"只有{t.NEED[route.needs]}可以使用" in reply, (route.usage, reply)


_PLAIN: dict[str, dict[Any, str]] = {
    "meeting": dict(t.MEETING_STATE_PLAIN),
    "item": dict(t.ITEM_STATE_PLAIN),
}


@pytest.mark.parametrize(
    ("machine", "state"),
    [("meeting", s) for s in g.MeetingState] + [("item", s) for s in g.ItemState],
)
def test_every_state_refusal_names_the_state_and_a_command(machine: str, state: Any) -> None:
    text = t.render_refusal(
        g.GovernanceError(g.Refusal.ILLEGAL_TRANSITION, machine=machine, state=state)
    )
    assert _PLAIN[machine][state] in text
    assert_next_step(text)


# Refusals whose next step is a command; the others say what stands instead (named below).
_NO_COMMAND = {
    g.Refusal.RECUSED,
    g.Refusal.LEADER_VOTES_LAST,
    g.Refusal.OPINION_CLOSED,
    g.Refusal.OBSERVER_CANNOT_VOTE,
}
_DETAILS: dict[g.Refusal, dict[str, object]] = {
    g.Refusal.METHOD_NOT_ALLOWED: {
        "method": g.VoteMethod.SHOW_OF_HANDS,
        "allowed": (g.VoteMethod.NAMED,),
    },
    g.Refusal.ROSTER_INVALID: {"issues": [g.RosterIssue.EVEN]},
    g.Refusal.LEADER_VOTES_LAST: {"waiting": 2},
    g.Refusal.MEETING_STALE: {"hours": 12},
    g.Refusal.CHECKIN_NOT_OPEN: {"state": g.MeetingState.CLOSED},
    g.Refusal.ILLEGAL_TRANSITION: {"machine": "vote", "state": g.VoteState.OPEN},
}


@pytest.mark.parametrize("refusal", list(g.Refusal))
def test_every_refusal_says_what_to_do(refusal: g.Refusal) -> None:
    text = t.render_refusal(g.GovernanceError(refusal, **_DETAILS.get(refusal, {})))
    if refusal in _NO_COMMAND:
        assert any(w in text for w in ("其他议题照常", "请等", "不能再", "写入纪要")), text
        return
    if refusal is g.Refusal.LEAVE_NOT_OPEN or refusal is g.Refusal.ROSTER_INVALID:
        assert "请" in text, text
        return
    assert_next_step(text)
