"""The README stays in step with the code: command reference, quick start, example config."""

from __future__ import annotations

import re
import subprocess
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


def _backup_recipes(readme: str) -> list[str]:
    """The daily backup commands the 部署 section gives: the code spans that write a dump or
    a copy of the database into a file."""
    section = readme.split("**备份**：", 1)[1].split("\n\n", 1)[0]
    spans = re.findall(r"`([^`]+)`", section.replace("\n", ""))
    return [s for s in spans if "pg_dump" in s or ".backup" in s]


def test_the_documented_backup_recipes_make_files_only_their_owner_reads(tmp_path: Path) -> None:
    """The README's `pg_dump -Fc yishi > file` made the dump (every record, the secret ballots'
    seals) with the shell's umask: 0644, readable by anyone on the machine. Each recipe, run as
    written against stand-in tools under umask 022, leaves a file of mode 0600."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    recipes = _backup_recipes(readme)
    assert len(recipes) == 3, recipes  # pg_dump, pg_dump in compose, sqlite3 .backup
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("pg_dump", "docker", "sqlite3"):
        tool = tools / name
        # a stand-in: writes to its standard output, or makes the file named after .backup
        tool.write_text(
            '#!/bin/sh\nfor a in "$@"; do case "$a" in .backup*) echo x > "${a#.backup }";'
            " exit 0;; esac; done\necho dump\n",
            encoding="utf-8",
        )
        tool.chmod(0o755)
    for number, recipe in enumerate(recipes):
        where = tmp_path / str(number)
        where.mkdir()
        subprocess.run(
            ["/bin/sh", "-c", f"umask 022; {recipe}"],
            cwd=where,
            env={"PATH": f"{tools}:/usr/bin:/bin"},
            check=True,
        )
        made = list(where.iterdir())
        assert len(made) == 1, (recipe, made)
        assert made[0].stat().st_mode & 0o777 == 0o600, recipe
