"""Configuration problems all at once, in Chinese; environment overrides for every scalar key."""

from __future__ import annotations

import re
import tomllib
import typing
from dataclasses import fields
from pathlib import Path

import pytest

from bot import governance as g
from bot.config import (
    SCALAR_KEYS,
    ConfigError,
    Kind,
    RetentionSettings,
    Settings,
    env_name,
    load_settings,
    parse_settings,
)

CJK = re.compile(r"[\u4e00-\u9fff]")


def errors_of(text: str, env: dict[str, str] | None = None) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        parse_settings(tomllib.loads(text), env or {})
    return dict(info.value.errors)


def test_every_problem_is_reported_at_once() -> None:
    found = errors_of(
        "colour = 1\n"
        "[http]\nport = 70000\ninbound = 'later'\ninbound_workers = 65\n"
        "[reminders]\nsend_hour = 25\nholidays = ['2027-13-01']\n"
        "[governance]\nquorum = 'abc'\nmax_members = 0\n"
        "[governance.matter.major]\npass_share = 2\n"
        "[committee]\nadmins = ['x', 'wecom:c:u:王']\n"
        "[retention]\ninbound_days = 0\nmessage_ids_days = 3\n"
    )
    assert set(found) == {
        "colour",
        "http.port",
        "http.inbound",
        "http.inbound_workers",
        "reminders.send_hour",
        "reminders.holidays",
        "governance.quorum",
        "governance.max_members",
        "governance.matter.major.pass_share",
        "committee.admins[0]",
        "retention.inbound_days",
        "retention.message_ids_days",
    }
    # In Chinese, with the allowed values.
    for key, problem in found.items():
        assert CJK.search(problem), (key, problem)
        assert "must" not in problem
    assert "0 到 23" in found["reminders.send_hour"]
    assert "1 到 65535" in found["http.port"]
    assert "queue、direct" in found["http.inbound"]
    assert "0 到 64" in found["http.inbound_workers"]
    assert "可用：" in found["colour"]
    assert "http" in found["colour"]


def test_the_first_problem_is_the_errors_key() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(tomllib.loads("[http]\nport = 0\n[bot]\nname = 1\n"), {})
    assert (info.value.key, len(info.value.errors)) == ("bot.name", 2)
    assert info.value.lines()[0].startswith("bot.name：")


def test_retention_defaults_and_bounds() -> None:
    assert parse_settings({}, {}).retention == RetentionSettings(30, 90, 365, 180)
    s = parse_settings(tomllib.loads("[retention]\ninbound_days = 7\noutbox_days = 30\n"), {})
    assert (s.retention.inbound_days, s.retention.outbox_days) == (7, 30)
    found = errors_of("[retention]\nreplies_days = 400\n")
    assert "replies_days" in found["retention.message_ids_days"]
    assert (
        "不小于 7" in errors_of("[retention]\nmessage_ids_days = 2\n")["retention.message_ids_days"]
    )


# ---------------------------------------------------------------------------------------------
# The environment


@pytest.mark.parametrize(
    ("variable", "value", "read"),
    [
        ("YISHI_HTTP__PORT", "8081", lambda s: s.http_port == 8081),
        ("YISHI_HTTP__HOST", "0.0.0.0", lambda s: s.http_host == "0.0.0.0"),
        ("YISHI_BOT__TIMEZONE", "Asia/Urumqi", lambda s: s.timezone == "Asia/Urumqi"),
        ("YISHI_DATABASE__URL", "postgres://u@h/y", lambda s: s.database_url == "postgres://u@h/y"),
        ("YISHI_LOG__LEVEL", "debug", lambda s: s.log_level == "debug"),
        ("YISHI_LOG_LEVEL", "error", lambda s: s.log_level == "error"),
        ("YISHI_LOG_FORMAT", "json", lambda s: s.log_format == "json"),
        ("YISHI_GOVERNANCE__QUORUM", "2/3", lambda s: str(s.policy.meeting_quorum.share) == "2/3"),
        ("YISHI_GOVERNANCE__REQUIRE_ODD", "FALSE", lambda s: s.policy.require_odd is False),
        (
            "YISHI_GOVERNANCE__MATTER__MAJOR__PASS_SHARE",
            "0.6",
            lambda s: str(s.policy.matter(g.MatterType.MAJOR).pass_share) == "3/5",
        ),
        ("YISHI_REMINDERS__SEND_HOUR", "8", lambda s: s.reminders.send_hour == 8),
        (
            "YISHI_REMINDERS__BACKOFF_CAP_SECONDS",
            "30.5",
            lambda s: s.delivery.backoff_cap_seconds == 30.5,
        ),
        ("YISHI_RETENTION__INBOUND_DAYS", "14", lambda s: s.retention.inbound_days == 14),
        ("YISHI_HTTP__INBOUND_WORKERS", "3", lambda s: s.inbound_workers == 3),
        ("YISHI_WECOM__CORP_ID", "12345", lambda s: s.wecom["corp_id"] == "12345"),
        ("YISHI_DINGTALK__ENABLED", "true", lambda s: s.dingtalk["enabled"] is True),
    ],
)
def test_a_variable_overrides_its_key(
    variable: str, value: str, read: typing.Callable[[Settings], bool]
) -> None:
    text = "[http]\nport = 9000\n[governance]\nrequire_odd = true\n"
    assert read(parse_settings(tomllib.loads(text), {variable: value}))


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("YISHI_HTTP__PORT", "eighty", "http.port"),
        ("YISHI_HTTP__PORT", "0", "http.port"),
        ("YISHI_GOVERNANCE__REQUIRE_ODD", "yes", "governance.require_odd"),
        ("YISHI_REMINDERS__BACKOFF_BASE_SECONDS", "soon", "reminders.backoff_base_seconds"),
        ("YISHI_HTTP__INBOUND", "later", "http.inbound"),
        ("YISHI_HTTP__INBOUND_WORKERS", "-1", "http.inbound_workers"),
        ("YISHI_HTTP__PROT", "1", "YISHI_HTTP__PROT"),
        (
            "YISHI_GOVERNANCE__MATTER__BUDGET__MAJOR",
            "true",
            "YISHI_GOVERNANCE__MATTER__BUDGET__MAJOR",
        ),
    ],
)
def test_a_bad_variable_is_reported_like_a_file_error(variable: str, value: str, key: str) -> None:
    found = errors_of("", {variable: value})
    assert key in found
    assert variable in f"{key} {found[key]}"
    assert CJK.search(found[key])


def test_variables_and_file_errors_together() -> None:
    found = errors_of("[reminders]\nsend_hour = 30\n", {"YISHI_HTTP__PORT": "x"})
    assert set(found) == {"reminders.send_hour", "http.port"}


def test_other_variables_are_left_alone() -> None:
    env = {"YISHI_TEST_PG": "postgres://x", "YISHI_WECOM_TOKEN": "t", "HOME": "/"}
    assert parse_settings({}, env) == Settings()


def test_yishi_config_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "elsewhere.toml"
    path.write_text("[http]\nport = 9100\n", encoding="utf-8")
    (tmp_path / "config.toml").write_text("[http]\nport = 9200\n", encoding="utf-8")
    assert load_settings(None, {"YISHI_CONFIG": str(path)}).http_port == 9100
    assert load_settings(None, {}).http_port == 9200
    # --config wins over the variable.
    assert (
        load_settings(str(tmp_path / "config.toml"), {"YISHI_CONFIG": str(path)}).http_port == 9200
    )


def test_env_names() -> None:
    assert env_name("http.port") == "YISHI_HTTP__PORT"
    assert env_name("governance.matter.major.pass_share") == (
        "YISHI_GOVERNANCE__MATTER__MAJOR__PASS_SHARE"
    )


def _kind(annotation: str) -> Kind:
    return {"bool": Kind.FLAG, "str": Kind.TEXT, "int": Kind.WHOLE, "float": Kind.NUMBER}[
        annotation
    ]


@pytest.mark.parametrize("section", ["dingtalk", "wecom"])
def test_every_platform_key_can_be_overridden_with_its_type(section: str) -> None:
    """SCALAR_KEYS lists each key the platform table reads, as that field's type."""
    if section == "dingtalk":
        from bot.adapters.dingtalk import config as platform

        dataclass_fields = fields(platform.DingTalkConfig)
    else:
        from bot.adapters.wecom import config as platform  # type: ignore[no-redef]

        dataclass_fields = fields(platform.WeComConfig)
    for f in dataclass_fields:
        if f.name not in platform._KEYS:
            continue
        expected = Kind.TEXT if f.name == "app_agent_id" else _kind(str(f.type))
        assert SCALAR_KEYS.get(f"{section}.{f.name}") == expected, f.name
    listed = {k.split(".", 1)[1] for k in SCALAR_KEYS if k.startswith(f"{section}.")}
    assert listed == set(platform._KEYS)


def test_every_scalar_key_of_the_example_can_be_overridden() -> None:
    """Each scalar (not a list, not a table) in config.example.toml has its variable."""
    example = tomllib.loads(
        (Path(__file__).resolve().parent.parent / "config.example.toml").read_text("utf-8")
    )

    def scalars(table: dict[str, object], path: str) -> list[str]:
        out = []
        for key, value in table.items():
            here = f"{path}.{key}" if path else key
            if isinstance(value, dict):
                out += scalars(value, here)  # type: ignore[arg-type]
            elif not isinstance(value, list):
                out.append(here)
        return out

    parse_settings(example, {})  # the example itself is fine
    for path in scalars(example, ""):
        name = env_name(path)
        assert SCALAR_KEYS.get(path) or SCALAR_KEYS.get(
            re.sub(r"^governance\.matter\.\w+\.", "governance.matter.*.", path)
        ), name


def test_an_absolute_sqlite_path_with_four_slashes_is_the_same_file(tmp_path: Path) -> None:
    """sqlite:////srv/yishi.db (SQLAlchemy's form) names /srv/yishi.db as sqlite:///srv/yishi.db
    does, in the file, the variable and `--db` (it had named another path, and opening hung);
    three slashes and a relative path are as they were."""
    from bot.cli import _parser, _settings
    from storage import db

    assert parse_settings({}, {"YISHI_DATABASE_URL": "sqlite:////srv/yishi.db"}).database_url == (
        "sqlite:///srv/yishi.db"
    )
    settings = parse_settings(tomllib.loads('[database]\nurl = "sqlite:////srv/a.db"\n'), {})
    assert db.sqlite_path(settings.database_url) == Path("/srv/a.db")
    config = tmp_path / "yishi.toml"
    config.write_text("", encoding="utf-8")
    args = _parser().parse_args(
        [
            "--config",
            str(config),
            "verify",
            "--db",
            f"sqlite:///{tmp_path}/x.db".replace(":///", ":////"),
        ]
    )
    assert _settings(args).database_url == f"sqlite://{tmp_path}/x.db"
    for kept in ("sqlite:///srv/yishi.db", "sqlite://data/yishi.db", "sqlite://:memory:"):
        assert parse_settings({}, {"YISHI_DATABASE_URL": kept}).database_url == kept
