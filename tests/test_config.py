"""Settings: defaults, every documented key, per-society overrides, and errors that name the key."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import pytest

from bot import governance as g
from bot.config import (
    DEFAULT_DATABASE_URL,
    CommitteeAdmin,
    ConfigError,
    Settings,
    load_settings,
    parse_admin,
    parse_settings,
)

SOCIETY = "苏州市示例科技学会"


def settings_of(text: str, env: dict[str, str] | None = None) -> Settings:
    return parse_settings(tomllib.loads(text), env or {})


def error_of(text: str, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        settings_of(text, env)
    return info.value


# ---------------------------------------------------------------------------------------------
# Defaults and the environment


def test_defaults() -> None:
    s = parse_settings({}, {})
    assert s == Settings()
    assert s.timezone == "Asia/Shanghai"
    assert s.tz.key == "Asia/Shanghai"
    assert s.database_url == DEFAULT_DATABASE_URL
    assert s.database_url.startswith("sqlite://")
    assert s.database_url.removeprefix("sqlite://").startswith("data/")
    assert s.policy == g.Policy()
    assert s.society_policies == {}
    assert s.policy_for(SOCIETY) == g.Policy()
    assert s.committee_admins == ()
    assert (s.bot_name, s.http_host, s.http_port) == ("议事", "127.0.0.1", 8080)
    assert (dict(s.dingtalk), dict(s.wecom)) == ({}, {})


def test_policy_defaults_are_the_work_rules() -> None:
    p = parse_settings({}, {}).policy
    assert p.meeting_quorum == g.Threshold(Fraction(1, 2), g.Reading.STRICT)
    assert p.max_members == 7
    assert p.require_odd is True
    assert p.recused_leave_base is True
    assert p.allow_vote_change is True
    assert p.deferral_dissent_share == Fraction(1, 3)
    assert p.deferral_margin == 1
    assert p.checkin_opens_before == timedelta(hours=1)
    assert p.late_after == timedelta(0)
    assert set(p.matters) == set(g.MatterType)
    assert p.matter(g.MatterType.PERSONNEL).default_method is g.VoteMethod.SECRET
    assert p.matter(g.MatterType.MAJOR).major is True


def test_empty_tables_are_the_defaults() -> None:
    text = (
        "[database]\n[bot]\n[governance]\n[societies]\n[committee]\n[http]\n[dingtalk]\n[wecom]\n"
    )
    assert settings_of(text) == Settings()


def test_env_database_url_overrides_the_file() -> None:
    text = '[database]\nurl = "sqlite://file.db"\n'
    assert settings_of(text).database_url == "sqlite://file.db"
    env = {"YISHI_DATABASE_URL": "postgres://u:p@db.example:5432/yishi"}
    assert settings_of(text, env).database_url == "postgres://u:p@db.example:5432/yishi"
    assert parse_settings({}, env).database_url == "postgres://u:p@db.example:5432/yishi"
    # An empty variable does not count.
    assert settings_of(text, {"YISHI_DATABASE_URL": ""}).database_url == "sqlite://file.db"


def test_env_database_url_is_checked_too() -> None:
    exc = error_of("", {"YISHI_DATABASE_URL": "mongodb://localhost/yishi"})
    assert exc.key == "database.url"


def test_load_settings_without_a_file_gives_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings(None, {}) == Settings()
    assert load_settings(None, {"YISHI_DATABASE_URL": "sqlite://x.db"}).database_url == (
        "sqlite://x.db"
    )


def test_load_settings_reads_config_toml_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text('[bot]\nname = "小议"\n', encoding="utf-8")
    assert load_settings(None, {}).bot_name == "小议"


def test_load_settings_reads_the_named_file(tmp_path: Path) -> None:
    path = tmp_path / "yishi.toml"
    path.write_text('[http]\nport = 9000\n[bot]\ntimezone = "Asia/Urumqi"\n', encoding="utf-8")
    s = load_settings(str(path), {})
    assert (s.http_port, s.timezone) == (9000, "Asia/Urumqi")


# ---------------------------------------------------------------------------------------------
# Every documented key


FULL = f"""
[database]
url = "postgres://yishi:secret@127.0.0.1:5432/yishi"

[bot]
timezone = "Asia/Hong_Kong"
name = "小议"

[governance]
quorum = "2/3"
quorum_reading = "inclusive"
max_members = 9
require_odd = false
recused_leave_base = false
allow_vote_change = false
deferral_dissent_share = "1/4"
deferral_margin = 2
checkin_opens_before_minutes = 30
late_after_minutes = 10

[governance.matter.general]
quorum = 0.5
quorum_reading = "strict"
pass_share = "3/5"
default_method = "show_of_hands"
allowed_methods = ["named", "show_of_hands", "secret"]
major = true
written_opinions_count = true
leader_votes_last = true

[governance.matter.personnel]
allowed_methods = ["secret"]

[governance.matter.discipline]
default_method = "named"
allowed_methods = ["named"]

[societies."{SOCIETY}".governance]
quorum = "1/2"

[societies."{SOCIETY}".governance.matter.major]
pass_share = "2/3"

[societies."另一个学会"]

[committee]
admins = ["wecom:ww123:liu:市党委刘老师", "dingtalk:ding456:user7:王老师", "console:console:刘:刘"]

[http]
host = "0.0.0.0"
port = 8443

[dingtalk]
app_key = "k"
app_secret = "s"

[wecom]
token = "t"
aes_key = "a"
"""


def test_every_documented_key_is_accepted() -> None:
    s = settings_of(FULL)
    assert s.database_url == "postgres://yishi:secret@127.0.0.1:5432/yishi"
    assert (s.timezone, s.bot_name) == ("Asia/Hong_Kong", "小议")
    p = s.policy
    assert p.meeting_quorum == g.Threshold(Fraction(2, 3), g.Reading.INCLUSIVE)
    assert (p.max_members, p.require_odd, p.recused_leave_base, p.allow_vote_change) == (
        9,
        False,
        False,
        False,
    )
    assert (p.deferral_dissent_share, p.deferral_margin) == (Fraction(1, 4), 2)
    assert (p.checkin_opens_before, p.late_after) == (timedelta(minutes=30), timedelta(minutes=10))
    general = p.matter(g.MatterType.GENERAL)
    assert general == g.MatterRule(
        quorum=g.Threshold(Fraction(1, 2), g.Reading.STRICT),
        default_method=g.VoteMethod.SHOW_OF_HANDS,
        allowed_methods=frozenset(g.VoteMethod),
        major=True,
        pass_share=Fraction(3, 5),
        written_opinions_count=True,
        leader_votes_last=True,
    )
    personnel = p.matter(g.MatterType.PERSONNEL)
    assert personnel.allowed_methods == {g.VoteMethod.SECRET}
    assert personnel.quorum == g.Policy().matter(g.MatterType.PERSONNEL).quorum  # kept
    discipline = p.matter(g.MatterType.DISCIPLINE)
    assert (discipline.default_method, discipline.allowed_methods) == (
        g.VoteMethod.NAMED,
        {g.VoteMethod.NAMED},
    )
    # Matters not mentioned keep their defaults, but for the top-level quorum_reading, which is
    # the reading of every quorum a matter does not set itself.
    assert p.matter(g.MatterType.DOCUMENT) == replace(
        g.Policy().matter(g.MatterType.DOCUMENT),
        quorum=g.Threshold(Fraction(1, 2), g.Reading.INCLUSIVE),
    )
    assert s.committee_admins == (
        CommitteeAdmin("wecom", "ww123", "liu", "市党委刘老师"),
        CommitteeAdmin("dingtalk", "ding456", "user7", "王老师"),
        CommitteeAdmin("console", "console", "刘", "刘"),
    )
    assert (s.http_host, s.http_port) == ("0.0.0.0", 8443)
    assert dict(s.dingtalk) == {"app_key": "k", "app_secret": "s"}
    assert dict(s.wecom) == {"token": "t", "aes_key": "a"}


def test_per_society_overrides_start_from_the_global_policy() -> None:
    s = settings_of(FULL)
    own = s.policy_for(SOCIETY)
    # Its own keys ...
    assert own.meeting_quorum == g.Threshold(Fraction(1, 2), g.Reading.INCLUSIVE)
    assert own.matter(g.MatterType.MAJOR).pass_share == Fraction(2, 3)
    # ... on top of the global [governance] table.
    assert own.max_members == 9
    assert own.matter(g.MatterType.GENERAL) == s.policy.matter(g.MatterType.GENERAL)
    assert s.policy.matter(g.MatterType.MAJOR).pass_share == Fraction(1, 2)
    # An empty society table is the global policy; an unknown society gets the global policy.
    assert s.policy_for("另一个学会") == s.policy
    assert s.policy_for("没有配置的学会") == s.policy


def test_per_society_override_without_global_changes() -> None:
    s = settings_of(f'[societies."{SOCIETY}".governance]\nmax_members = 5\nrequire_odd = false\n')
    assert s.policy_for(SOCIETY) == g.Policy(max_members=5, require_odd=False)
    assert s.policy == g.Policy()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"2/3"', Fraction(2, 3)),
        ('" 3/4 "', Fraction(3, 4)),
        ('"0.6"', Fraction(3, 5)),
        ("0.5", Fraction(1, 2)),
        ("0.6667", Fraction(2, 3)),
    ],
)
def test_fraction_forms(value: str, expected: Fraction) -> None:
    assert settings_of(f"[governance]\nquorum = {value}\n").policy.meeting_quorum.share == expected


def test_quorum_reading_alone_keeps_the_share() -> None:
    p = settings_of('[governance]\nquorum_reading = "inclusive"\n').policy
    assert p.meeting_quorum == g.Threshold(Fraction(1, 2), g.Reading.INCLUSIVE)
    rule = settings_of('[governance.matter.personnel]\nquorum_reading = "strict"\n').policy.matter(
        g.MatterType.PERSONNEL
    )
    assert rule.quorum == g.Threshold(Fraction(2, 3), g.Reading.STRICT)


def test_one_quorum_reading_for_the_meeting_and_its_items() -> None:
    """With `inclusive` at the top, 3 of 6 may open the meeting and may vote on its general
    items; a matter that sets its own reading keeps it, at either level."""
    p = settings_of('[governance]\nquorum_reading = "inclusive"\n').policy
    assert p.meeting_quorum.met(3, 6)
    for mt in g.MatterType:
        assert p.matter(mt).quorum.reading is g.Reading.INCLUSIVE, mt
    assert p.matter(g.MatterType.GENERAL).quorum.met(3, 6)
    s = settings_of(
        '[governance]\nquorum_reading = "inclusive"\n'
        '[governance.matter.major]\nquorum_reading = "strict"\n'
        f'[societies."{SOCIETY}".governance]\nquorum_reading = "strict"\n'
        f'[societies."{SOCIETY}".governance.matter.general]\nquorum_reading = "inclusive"\n'
    )
    assert s.policy.matter(g.MatterType.MAJOR).quorum.reading is g.Reading.STRICT
    assert s.policy.matter(g.MatterType.GENERAL).quorum.reading is g.Reading.INCLUSIVE
    own = s.policy_for(SOCIETY)
    assert own.meeting_quorum.reading is g.Reading.STRICT
    assert own.matter(g.MatterType.GENERAL).quorum.reading is g.Reading.INCLUSIVE  # its own
    assert own.matter(g.MatterType.MAJOR).quorum.reading is g.Reading.STRICT  # global matter
    assert own.matter(g.MatterType.PERSONNEL).quorum.reading is g.Reading.STRICT  # its top


def test_parse_admin() -> None:
    assert parse_admin("k", "dingtalk:corp:uid:王老师") == CommitteeAdmin(
        "dingtalk", "corp", "uid", "王老师"
    )


# ---------------------------------------------------------------------------------------------
# Errors name the key


UNKNOWN_KEYS = [
    ("colour = 1", "colour"),
    ("[database]\npath = 'x.db'", "database.path"),
    ("[bot]\nlanguage = 'zh'", "bot.language"),
    ("[governance]\nquorom = '1/2'", "governance.quorom"),
    ("[governance.matter.general]\npass = '1/2'", "governance.matter.general.pass"),
    ("[governance.matter.budget]\npass_share = '1/2'", "governance.matter.budget"),
    (f"[societies.'{SOCIETY}']\nquorum = '1/2'", f"societies.{SOCIETY}.quorum"),
    (f"[societies.'{SOCIETY}'.governance]\nfoo = 1", f"societies.{SOCIETY}.governance.foo"),
    (
        f"[societies.'{SOCIETY}'.governance.matter.major]\nmajr = true",
        f"societies.{SOCIETY}.governance.matter.major.majr",
    ),
    ("[committee]\nadmin = []", "committee.admin"),
    ("[http]\nhostname = 'x'", "http.hostname"),
]


@pytest.mark.parametrize(("text", "key"), UNKNOWN_KEYS)
def test_unknown_keys_are_named(text: str, key: str) -> None:
    exc = error_of(text)
    assert exc.key == key
    assert str(exc).startswith(f"{key}: ")


FRACTION_KEYS = [
    "governance.quorum",
    "governance.deferral_dissent_share",
    "governance.matter.major.quorum",
    "governance.matter.general.pass_share",
    f"societies.'{SOCIETY}'.governance.quorum",
]
BAD_FRACTIONS = ['"abc"', '"3/2"', "0", "true", '"1/0"', "1", '"1"', "-0.5", '"0"', "[]", "{}"]


def _table_and_key(dotted: str) -> tuple[str, str, str]:
    """'governance.matter.major.quorum' -> ('[governance.matter.major]', 'quorum', plain key)."""
    table, _, key = dotted.rpartition(".")
    return f"[{table}]", key, dotted.replace("'", "")


@pytest.mark.parametrize("dotted", FRACTION_KEYS)
@pytest.mark.parametrize("value", BAD_FRACTIONS)
def test_bad_fractions(dotted: str, value: str) -> None:
    table, key, plain = _table_and_key(dotted)
    exc = error_of(f"{table}\n{key} = {value}\n")
    assert exc.key == plain


def test_infinite_fraction_names_the_key() -> None:
    assert error_of("[governance]\nquorum = inf\n").key == "governance.quorum"


def test_nan_fraction_names_the_key() -> None:
    assert error_of("[governance]\nquorum = nan\n").key == "governance.quorum"


@pytest.mark.parametrize(
    "dotted",
    [
        "governance.quorum_reading",
        "governance.matter.personnel.quorum_reading",
        f"societies.'{SOCIETY}'.governance.quorum_reading",
    ],
)
@pytest.mark.parametrize("value", ['"more"', '"Strict"', "1", "true"])
def test_bad_reading(dotted: str, value: str) -> None:
    table, key, plain = _table_and_key(dotted)
    exc = error_of(f"{table}\n{key} = {value}\n")
    assert exc.key == plain
    assert "strict" in exc.problem
    assert "inclusive" in exc.problem


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("default_method = 'secret ballot'", "governance.matter.general.default_method"),
        ("default_method = 1", "governance.matter.general.default_method"),
        ("allowed_methods = ['named', 'raise_hands']", "governance.matter.general.allowed_methods"),
        ("allowed_methods = []", "governance.matter.general.allowed_methods"),
        ("allowed_methods = 'named'", "governance.matter.general.allowed_methods"),
        # Not in allowed_methods: the configured list, or the default list.
        ("default_method = 'secret'", "governance.matter.general.default_method"),
        (
            "default_method = 'named'\nallowed_methods = ['secret']",
            "governance.matter.general.default_method",
        ),
    ],
)
def test_bad_methods(text: str, key: str) -> None:
    assert error_of(f"[governance.matter.general]\n{text}\n").key == key


def test_narrowing_allowed_methods_below_the_default_method_names_default_method() -> None:
    # Personnel matters default to a secret ballot.
    exc = error_of("[governance.matter.personnel]\nallowed_methods = ['named']\n")
    assert exc.key == "governance.matter.personnel.default_method"


@pytest.mark.parametrize(
    "key", ["checkin_opens_before_minutes", "late_after_minutes", "open_within_minutes"]
)
@pytest.mark.parametrize("value", ["-1", "-60", '"10"', "1.5", "true"])
def test_bad_minutes(key: str, value: str) -> None:
    assert error_of(f"[governance]\n{key} = {value}\n").key == f"governance.{key}"


def test_zero_minutes_are_fine() -> None:
    p = settings_of("[governance]\ncheckin_opens_before_minutes = 0\nlate_after_minutes = 0\n")
    assert (p.policy.checkin_opens_before, p.policy.late_after) == (timedelta(0), timedelta(0))


def test_the_opening_window_is_read_in_minutes() -> None:
    assert settings_of("").policy.open_within == timedelta(hours=3)
    p = settings_of("[governance]\nopen_within_minutes = 90\n")
    assert p.policy.open_within == timedelta(minutes=90)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("max_members = 0", "governance.max_members"),
        ("max_members = -3", "governance.max_members"),
        ("max_members = true", "governance.max_members"),
        ("max_members = '7'", "governance.max_members"),
        ("deferral_margin = -1", "governance.deferral_margin"),
        ("deferral_margin = 1.0", "governance.deferral_margin"),
        ("require_odd = 'yes'", "governance.require_odd"),
        ("recused_leave_base = 1", "governance.recused_leave_base"),
        ("allow_vote_change = 'false'", "governance.allow_vote_change"),
        ("matter = 1", "governance.matter"),
        ("matter.general = 1", "governance.matter.general"),
        ("matter.general.major = 1", "governance.matter.general.major"),
        (
            "matter.personnel.leader_votes_last = 'yes'",
            "governance.matter.personnel.leader_votes_last",
        ),
        (
            "matter.major.written_opinions_count = 0",
            "governance.matter.major.written_opinions_count",
        ),
    ],
)
def test_bad_governance_values(text: str, key: str) -> None:
    assert error_of(f"[governance]\n{text}\n").key == key


@pytest.mark.parametrize("value", ["0", "-1", "65536", "70000", '"8080"', "true", "80.5"])
def test_bad_port(value: str) -> None:
    assert error_of(f"[http]\nport = {value}\n").key == "http.port"


def test_bad_host() -> None:
    assert error_of("[http]\nhost = 127\n").key == "http.host"


@pytest.mark.parametrize(
    "value",
    ['"Mars/Olympus_Mons"', '"asia/shanghai"', '""', '"../etc/passwd"', '"/etc/localtime"', "8"],
)
def test_unknown_time_zone(value: str) -> None:
    exc = error_of(f"[bot]\ntimezone = {value}\n")
    assert exc.key == "bot.timezone"


def test_time_zone_that_names_a_folder() -> None:
    assert error_of('[bot]\ntimezone = "Asia"\n').key == "bot.timezone"


def test_bad_bot_name() -> None:
    assert error_of("[bot]\nname = 1\n").key == "bot.name"


@pytest.mark.parametrize(
    "value",
    [
        '"wecom:corp:user"',
        '"wecom:corp:user:姓名:多余"',
        '"slack:corp:user:姓名"',
        '"wecom::user:姓名"',
        '"wecom:corp:user:"',
        '""',
        "42",
    ],
)
def test_bad_committee_admin(value: str) -> None:
    exc = error_of(f'[committee]\nadmins = ["console:console:ok:ok", {value}]\n')
    assert exc.key == "committee.admins[1]"


def test_committee_admins_must_be_a_list() -> None:
    exc = error_of('[committee]\nadmins = "wecom:corp:user:姓名"\n')
    assert exc.key == "committee.admins"


@pytest.mark.parametrize(
    "value",
    ['"mysql://u@h/db"', '"data/yishi.db"', '"http://example.com"', '""', "5"],
)
def test_bad_database_url(value: str) -> None:
    assert error_of(f"[database]\nurl = {value}\n").key == "database.url"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://data/yishi.db",
        "sqlite:///var/lib/yishi/yishi.db",
        "postgres://u@h:5432/db",
        "postgresql://u@h/db",
        "asyncpg://u@h/db",
    ],
)
def test_good_database_urls(url: str) -> None:
    assert settings_of(f'[database]\nurl = "{url}"\n').database_url == url


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("database = 1", "database"),
        ("bot = 'x'", "bot"),
        ("governance = []", "governance"),
        ("societies = 1", "societies"),
        (f"societies.'{SOCIETY}' = 1", f"societies.{SOCIETY}"),
        (f"societies.'{SOCIETY}'.governance = 1", f"societies.{SOCIETY}.governance"),
        ("committee = 1", "committee"),
        ("http = 1", "http"),
        ("dingtalk = 1", "dingtalk"),
        ("wecom = 'x'", "wecom"),
    ],
)
def test_sections_must_be_tables(text: str, key: str) -> None:
    assert error_of(text).key == key


# ---------------------------------------------------------------------------------------------
# Files


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[governance\nquorum = 1/2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(str(path), {})
    assert info.value.key == str(path)
    assert "TOML" in info.value.problem
    assert "第 1 行" in info.value.problem


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    with pytest.raises(ConfigError) as info:
        load_settings(str(path), {})
    assert info.value.key == str(path)
    assert "无法读取" in info.value.problem


def test_a_folder_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(str(tmp_path), {})
    assert info.value.key == str(tmp_path)


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "gbk.toml"
    path.write_bytes('[bot]\nname = "议事机器人"\n'.encode("gbk"))
    with pytest.raises(ConfigError) as info:
        load_settings(str(path), {})
    assert info.value.key == str(path)


def test_errors_in_a_file_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[governance]\nquorum = "abc"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(str(path), {})
    assert info.value.key == "governance.quorum"
    assert "'abc'" in str(info.value)


# ---------------------------------------------------------------------------------------------
# The documented example


EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def test_the_example_config_is_the_defaults() -> None:
    """config.example.toml says that what it shows are the default values."""
    from bot.adapters.dingtalk.config import dingtalk_from_settings
    from bot.adapters.wecom.config import wecom_from_settings

    s = load_settings(str(EXAMPLE), {})
    assert replace(s, dingtalk={}, wecom={}) == Settings()
    # The platform tables show the defaults too, with both platforms off.
    assert dingtalk_from_settings(s.dingtalk, {}) == dingtalk_from_settings({}, {})
    assert wecom_from_settings(s.wecom, {}) == wecom_from_settings({"bot_name": "议事"}, {})
    assert not dingtalk_from_settings(s.dingtalk, {}).enabled
    assert not wecom_from_settings(s.wecom, {}).enabled


def test_the_example_documents_every_key() -> None:
    from bot import config

    text = EXAMPLE.read_text(encoding="utf-8")
    for key in sorted(config._GOV_KEYS | config._MATTER_KEYS):
        assert key in text, key
    for matter in g.MatterType:
        assert f"[governance.matter.{matter.value}]" in text, matter


def test_the_commented_examples_in_the_example_config_parse() -> None:
    lines = []
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        body = line.removeprefix("# ")
        # Uncomment the sample settings: `# admins = [...]`, `# [societies...]`, `# key = 10`.
        if line.startswith("# ") and (body.startswith("[") or " = " in body.split("#")[0]):
            if body.startswith("admins"):
                lines = [x for x in lines if not x.startswith("admins")]
            lines.append(body)
        else:
            lines.append(line)
    s = parse_settings(tomllib.loads("\n".join(lines)), {})
    assert len(s.committee_admins) == 2
    assert s.policy_for(SOCIETY).late_after == timedelta(minutes=10)
