"""Command parsing: random and mutated input never crashes the router, and no ballot is
recorded from text that is not an unambiguous vote command; the door before the unit of work."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.app import build_router
from bot.clock import ManualClock
from bot.config import Settings
from bot.events import ChatRef, normalize_text
from bot.router import strip_command_prefix
from bot.utterance import is_decoration
from handlers import ALL_ROUTES
from storage import models
from tests.kit.console import ConsoleRig

ROUTER = build_router(Settings(), ManualClock(datetime(2026, 12, 1, tzinfo=UTC)))
WORDS = [w for r in ALL_ROUTES for w in r.words]
# Every unambiguous vote phrase: the words and phrasings of the routes that record a ballot.
VOTES = tuple(p for r in ALL_ROUTES if r.exact for p in (*r.words, *r.phrasings))


def test_longest_prefix_wins() -> None:
    assert ROUTER.match("同意议题 2")[0].words[0] == "同意议题"  # type: ignore[index]
    assert ROUTER.match("同意")[0].words[0] == "赞成"  # type: ignore[index]
    assert ROUTER.match("不同意")[0].words[0] == "反对"  # type: ignore[index]
    assert ROUTER.match("纪要备注 x")[0].words[0] == "纪要备注"  # type: ignore[index]
    assert ROUTER.match("/ 计票")[0].words[0] == "计票"  # type: ignore[index]
    assert ROUTER.match(normalize_text("\uff0f投票\u3000赞成"))[0].words[0] == "投票"  # type: ignore[index]
    assert ROUTER.match("今天天气") is None


@given(st.text(max_size=60))
def test_match_never_crashes(text: str) -> None:
    found = ROUTER.match(normalize_text(text))
    if found is not None:
        route, args = found
        # A route is found by its words, one of its phrasings or a form said alone, somewhere in
        # what was said once the mention, full-width forms, case and spaces are set aside.
        said = unicodedata.normalize("NFKC", normalize_text(text)).lower()
        said = "".join(said.split())
        known = (*route.words, *route.phrasings, *route.alone)
        assert any("".join(unicodedata.normalize("NFKC", w).lower().split()) in said for w in known)
        assert isinstance(args, str)


def _decoration(ch: str) -> bool:
    """What the bot sets aside around a vote word, seen after NFKC: NFKC turns a spacing mark
    such as 「¨」 (a symbol the bot strips) into a space and a combining mark."""
    return is_decoration(ch) or unicodedata.category(ch).startswith("M")


mutations = st.builds(
    lambda word, noise, tail: f"{word}{noise}{tail}",
    st.sampled_from(WORDS),
    st.sampled_from(
        ["", " ", "　", "：", "!", "\u200b", "啊", "吗", "2", " 2", "票", "意见", "@张伟 "]
    ),
    st.text(max_size=12),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.one_of(mutations, st.text(max_size=30)))
@example(text="反对票¨")
async def test_no_ballot_from_ambiguous_text(harness_with_open_vote: ConsoleRig, text: str) -> None:
    h = harness_with_open_vote
    # Each example starts with no ballot (also after a failed one: Hypothesis replays it).
    await models.Ballot.all().delete()
    await h.send("李娜", text)
    if await models.Ballot.all().exists():
        body = unicodedata.normalize("NFKC", normalize_text(text)).lower()
        body = strip_command_prefix(body.lstrip('「“"『《'))
        while body and _decoration(body[-1]):
            body = body[:-1]
        stripped = body
        for prefix in ("投票",):
            if stripped.startswith(prefix):
                stripped = stripped[len(prefix) :].strip()
        word = next(w for w in sorted(VOTES, key=len, reverse=True) if stripped.startswith(w))
        rest = stripped[len(word) :].strip()
        while rest and _decoration(rest[0]):
            rest = rest[1:]
        assert rest in ("", "1", "议题1", "第1项", "#1", "表决#1"), text


async def test_the_door_answers_alike_on_both_paths_and_writes_nothing(harness: ConsoleRig) -> None:
    """What needs no unit of work (not addressed to the bot, not a command, a group no society
    is bound to) is answered the same by dispatch and by answer_at_the_door (the inbound
    queue's door), without a de-duplication row; anything else passes the door."""
    h = harness
    said = h.adapter.decode("张伟", "召开会议 明天下午3点 会议室")
    unbound = replace(said, chat=ChatRef(said.platform, said.chat.corp_id, "other-group"))
    cases = [
        (replace(said, mentions_bot=False), ""),
        (replace(said, text="今天天气不错"), "没有听懂"),
        (unbound, "还没有绑定学会"),
    ]
    for message, answer in cases:
        at_the_door = await h.router.answer_at_the_door(message)
        dispatched = await h.router.dispatch(message)
        assert at_the_door == dispatched
        assert answer in "".join(r.text for r in dispatched)
        assert bool(dispatched) == bool(answer)
    assert await models.ProcessedMessage.all().count() == 0
    # A command from an unbound group that needs no society goes in (binding the group).
    binding = replace(unbound, text="帮助")
    assert await h.router.answer_at_the_door(binding) is None
    assert await h.router.answer_at_the_door(said) is None
    assert await models.ProcessedMessage.all().count() == 0
