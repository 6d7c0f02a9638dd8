"""The deployment kit: the Dockerfile's rules (multi-stage, no compilers and not root in the final
image, a health check on /healthz, the default port), compose.yaml (PostgreSQL with a volume and
a health check, the bot waiting for it, secrets from an env file with placeholders only) and the
systemd unit (systemd-analyze verify where installed, else its keys). No docker daemon is needed:
`docker compose config` validates the file when the compose plugin is there."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPILERS = re.compile(r"\b(build-essential|gcc|g\+\+|clang|make|cc)\b")


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's stages, each a list of (INSTRUCTION, arguments), continuations joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    logical = re.sub(r"\\\n", " ", text)
    stages: list[list[tuple[str, str]]] = []
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((word, rest.strip()))
    return stages


def test_dockerfile_is_multi_stage_with_a_slim_unprivileged_final_stage() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    builder, final = stages[0], stages[-1]
    # The builder has the compilers and builds the wheels; the final stage installs only those.
    assert any(w == "RUN" and COMPILERS.search(a) for w, a in builder)
    assert any(w == "RUN" and "pip wheel" in a for w, a in builder)
    for word, args in final:
        if word == "RUN":
            assert not COMPILERS.search(args), args
            assert "apt-get install" not in args, args
    assert any(w == "COPY" and "--from=" in a for w, a in final)
    assert "slim" in final[0][1] or final[0][1].startswith("${PYTHON_IMAGE}")
    # Not root.
    users = [a for w, a in final if w == "USER"]
    assert users
    assert users[-1] not in ("root", "0", "0:0")
    # The health check asks /healthz on the port the image exposes, which is the bot's default.
    checks = [a for w, a in final if w == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "/healthz" in checks[0]
    exposed = [a for w, a in final if w == "EXPOSE"]
    assert exposed == [str(Settings().http_port)]
    assert f"'{Settings().http_port}'" in checks[0] or str(Settings().http_port) in checks[0]
    env = " ".join(a for w, a in final if w == "ENV")
    assert f"YISHI_HTTP__PORT={Settings().http_port}" in env
    assert "YISHI_HTTP__HOST=0.0.0.0" in env  # reachable from outside the container
    # A data volume, which is also the working directory.
    volumes = [a for w, a in final if w == "VOLUME"]
    workdir = [a for w, a in final if w == "WORKDIR"]
    assert volumes
    assert workdir
    assert workdir[-1] in volumes[-1]
    assert [a for w, a in final if w == "CMD"] == ['["serve"]']


def compose() -> dict[str, object]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_compose_runs_the_bot_on_a_healthy_postgres() -> None:
    services = compose()["services"]
    assert isinstance(services, dict)
    db, bot = services["db"], services["yishi"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volumes = compose()["volumes"]
    assert isinstance(volumes, dict)
    (data,) = [v.split(":")[0] for v in db["volumes"] if v.endswith("/var/lib/postgresql/data")]
    assert data in volumes
    assert bot["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert "/healthz" in " ".join(bot["healthcheck"]["test"])
    assert any(v.split(":")[1] == "/var/lib/yishi" for v in bot["volumes"])
    # Secrets come from the env file, never from the compose file itself: the bot reads .env,
    # the database only its password, interpolated from .env.
    assert bot["env_file"] == ".env"
    assert "env_file" not in db
    assert db["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD")
    for key in bot.get("environment", {}):
        assert "PASSWORD" not in key
        assert "SECRET" not in key
        assert key != "YISHI_DATABASE_URL"


def test_env_example_has_placeholders_only() -> None:
    values = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    for key in ("POSTGRES_PASSWORD", "YISHI_DATABASE_URL", "YISHI_SECRET_KEY"):
        assert key in values
    assert "change-me" in values["POSTGRES_PASSWORD"]
    assert "change-me" in values["YISHI_SECRET_KEY"]
    assert values["POSTGRES_PASSWORD"] in values["YISHI_DATABASE_URL"]
    assert "@db:5432/yishi" in values["YISHI_DATABASE_URL"]
    for key, value in values.items():
        if "SECRET" in key or "TOKEN" in key or "KEY" in key or "PASSWORD" in key:
            assert value in ("",) or value.startswith("change-me"), key


def _compose_command() -> list[str] | None:
    """`docker compose` (the plugin), else the older standalone `docker-compose`, else None."""
    docker = shutil.which("docker")
    if docker is not None:
        found = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
        if found.returncode == 0:
            return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone is not None else None


def test_compose_config_validates_where_compose_is_installed(tmp_path: Path) -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("no docker compose here: the YAML checks above stand in for it")
    for name in ("compose.yaml", "Dockerfile"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    (tmp_path / "config.toml").write_text("", encoding="utf-8")
    done = subprocess.run(
        [*command, "config", "--quiet"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


UNIT = ROOT / "deploy" / "yishi.service"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def test_the_unit_restarts_on_failure_and_writes_only_its_data() -> None:
    service = unit()["Service"]
    assert service["Restart"] == "on-failure"
    assert service["User"] == "yishi"
    assert service["ExecStart"].endswith("yishi serve")
    assert service["ReadWritePaths"] == "/var/lib/yishi"
    assert service["WorkingDirectory"] == "/var/lib/yishi"
    for key, value in {
        "NoNewPrivileges": "true",
        "ProtectSystem": "strict",
        "ProtectHome": "true",
        "PrivateTmp": "true",
    }.items():
        assert service[key] == value, key
    assert service["EnvironmentFile"].startswith("/etc/yishi/")
    assert unit()["Install"]["WantedBy"] == "multi-user.target"


def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed: the key checks above stand in for it")
    # verify insists that ExecStart exists: point it at a stand-in executable, nothing else changes.
    stand_in = tmp_path / "yishi"
    stand_in.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    stand_in.chmod(0o755)
    text = UNIT.read_text(encoding="utf-8").replace("/opt/yishi/bin/yishi", str(stand_in))
    (tmp_path / "yishi.service").write_text(text, encoding="utf-8")
    done = subprocess.run(
        [analyze, "verify", str(tmp_path / "yishi.service")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "yishi.service" not in done.stderr, done.stderr


def _deployment() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("\n## 部署\n", 1)[1].split("\n## ", 1)[0]


def test_every_way_of_deploying_sets_the_workbench_address() -> None:
    """The container listens on 0.0.0.0 and a service behind a proxy on 127.0.0.1: without
    [web] base_url every login link carried that address. Each way of deploying says to set
    it, and the example env file offers it."""
    docker, systemd = _deployment().split("**2. systemd**", 1)
    assert "[web] base_url" in docker
    assert "YISHI_WEB__BASE_URL" in docker
    assert "[web] base_url" in systemd
    assert "# YISHI_WEB__BASE_URL=https://" in (ROOT / ".env.example").read_text(encoding="utf-8")
    assert "部署时必须填写" in (ROOT / "config.example.toml").read_text(encoding="utf-8")


def test_the_files_with_secrets_are_not_committed() -> None:
    """.env.example says 「不要提交到版本库」, but .gitignore had covered neither .env nor
    config.toml (where the committee's ids and platform settings go)."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    names = [".env", "config.toml", ".env.example", "config.example.toml"]
    done = subprocess.run(
        [git, "check-ignore", "--no-index", *names],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout.split() == [".env", "config.toml"]


def test_the_unit_does_not_restart_what_a_person_must_fix() -> None:
    """Restart=on-failure had started the bot again every 5 s after a configuration error
    (exit code 2), for ever. A start that failed with 2 stays stopped; a database that did not
    answer at the start (75) and a crash are restarted."""
    service = unit()["Service"]
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"
    from bot.cli import TEMPORARY

    assert TEMPORARY != 2  # a database not answering yet is restarted


def test_the_systemd_config_check_reads_what_the_service_reads() -> None:
    """The README's `YISHI_CONFIG=… yishi config check` did not read /etc/yishi/yishi.env, so it
    reported the secrets as missing. The command given runs as the unit's user with the unit's
    environment file and config path."""
    steps = _deployment().split("**2. systemd**", 1)[1]
    block = re.search(r"```sh\n(.*?)```", steps, re.S)
    assert block is not None
    lines = re.sub(r"\\\n\s*", " ", block.group(1)).splitlines()
    check = next(line.split("#", 1)[0].strip() for line in lines if "config check" in line)
    service = unit()["Service"]
    assert check.startswith("systemd-run --pipe --wait"), check
    assert f"--uid={service['User']}" in check
    assert f"-p EnvironmentFile={service['EnvironmentFile']}" in check
    assert f"--setenv={service['Environment']}" in check
    assert service["ExecStart"].replace(" serve", " config check") in check
