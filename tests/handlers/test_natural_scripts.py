"""The five example scripts typed only in everyday phrasings reach signed minutes, and the bot
answers every line with something other than 「没有听懂」."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import governance as g
from bot.adapters.console import parse_script, parse_time_line
from bot.demo import SOCIETY
from storage import repo
from tests.kit.console import ConsoleRig

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
SCRIPTS = {
    p.stem: p.read_text(encoding="utf-8").splitlines()
    for p in sorted(EXAMPLES.glob("natural_meeting_*.txt"))
}


def test_there_are_five_scripts() -> None:
    assert len(SCRIPTS) == 5


@pytest.mark.parametrize("script", SCRIPTS)
async def test_a_meeting_in_everyday_phrasings_reaches_signed_minutes(
    harness: ConsoleRig, script: str
) -> None:
    h = harness
    answers: list[tuple[str, str]] = []
    for _, step in parse_script(SCRIPTS[script]):
        if isinstance(step, str):
            h.clock.set(parse_time_line(step, h.settings.tz))
            continue
        said = await h.say(step.speaker, step.text, private=step.private)
        answers.append((step.text, "\n".join(said.replies)))
    for text, answer in answers:
        assert answer, f"no answer to {text!r}"
        assert "没有听懂" not in answer, (text, answer)
        assert "系统出了点问题" not in answer, (text, answer)
    # An ambiguous phrase was asked back, never counted.
    asked = [a for t, a in answers if t in ("我同意", "👍", "yes")]
    assert all("确认" in a for a in asked)
    society = await repo.society_by_name(SOCIETY)
    assert society is not None
    meeting = await repo.latest_meeting(society.id)
    assert meeting is not None
    assert meeting.state is g.MeetingState.SIGNED, answers
