"""The README stays in step with the code: command reference, quick start, example config."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import Settings, load_settings
from handlers import ALL_ROUTES
from handlers.help import reference_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_command_reference_matches_route_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- commands:start -->\n(.*?)<!-- commands:end -->", readme, re.S)
    assert found is not None
    assert found.group(1) == reference_markdown(ALL_ROUTES)


def test_quick_start_has_exactly_two_command_lines() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## 快速开始", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 2
    assert "yishi demo" in lines[0]
    assert "pytest" in lines[1]
    assert "pytest" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_example_config_is_valid_and_matches_defaults() -> None:
    settings = load_settings(str(ROOT / "config.example.toml"), env={})
    defaults = Settings()
    assert settings.policy == defaults.policy
    assert settings.database_url == defaults.database_url
    assert settings.timezone == defaults.timezone
