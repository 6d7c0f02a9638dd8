"""Settings: a TOML file read once into frozen dataclasses. Secrets may come from the environment.

A bad file raises ConfigError naming the key and the problem; the CLI prints it and exits 2.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import governance as g

DEFAULT_DATABASE_URL = "sqlite://data/yishi.db"


class ConfigError(Exception):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True)
class CommitteeAdmin:
    platform: str
    corp_id: str
    user_id: str
    name: str


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """The outbox sender: rates below the platforms' caps, retries, pauses."""

    group_rate_per_minute: int = 15  # per group robot webhook (platform cap 20)
    app_rate_per_minute: int = 60  # 1:1 messages through the platform app
    throttle_pause_seconds: int = 600  # after 130101 / 45009: that channel only
    # A platform failing nearly half the attempts (reliability T13: 30 % errors, 10 % hangs, 5 %
    # resets) still delivers: 20 attempts leave about 1 in 10^7 per message undelivered, and
    # retries at most a minute apart keep delivery within 15 minutes.
    max_attempts: int = 20
    backoff_base_seconds: float = 5.0
    backoff_cap_seconds: float = 60.0
    # Channels sent to at once by one instance (each channel stays in order); many groups'
    # reminders fall due at the same 09:00, and a pass waits on the platform's answers.
    send_concurrency: int = 64


@dataclass(frozen=True, slots=True)
class ReminderSettings:
    """When reminders go out; per society overridable ([societies."名称".reminders])."""

    meeting_hours_before: tuple[int, ...] = (24, 1)
    checkin_open: bool = True
    minutes_unsigned_days: int = 3
    cadence_months: tuple[int, ...] = (5, 6)  # the last one also tells the committee
    summary_days_before: tuple[int, ...] = (30, 7, 1, 0)
    summary_overdue: bool = True
    term_days_before: tuple[int, ...] = (90, 30)
    send_hour: int = 9  # local time of date-based reminders
    workdays_only: bool = True  # a date-based reminder on a holiday moves to the previous workday
    private: bool = True  # 1:1 where the platform allows, else @-mention in the group
    vote_closing_minutes: int = 30  # before a vote's announced deadline, to those yet to vote
    # A meeting notice not acknowledged (收到, check-in or leave) this long after convening is
    # escalated to the leader; never later than `notice_ack_latest_hours` before the start.
    notice_ack_hours: int = 24
    notice_ack_latest_hours: int = 1


@dataclass(frozen=True, slots=True)
class WebSettings:
    """The 工作台 pages served by `yishi serve` (and `yishi demo`) under /web/."""

    enabled: bool = True
    # Where people reach the server, used in the one-time login links ("" -> the [http]
    # address). https:// marks the session cookie Secure.
    base_url: str = ""
    session_idle_minutes: int = 30
    page_size: int = 50
    # How often every society's event chain is verified again in the background.
    verify_minutes: int = 60


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "Asia/Shanghai"
    policy: g.Policy = field(default_factory=g.Policy)
    society_policies: Mapping[str, g.Policy] = field(default_factory=dict)
    committee_admins: tuple[CommitteeAdmin, ...] = ()
    bot_name: str = "议事"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # "queue": a platform callback is answered once the message is committed to the inbound
    # queue and applied right after by a worker (platform deadlines hold under load; replies go
    # out through the platform's reply channel). "direct": applied before answering.
    inbound: str = "queue"
    dingtalk: Mapping[str, Any] = field(default_factory=dict)
    wecom: Mapping[str, Any] = field(default_factory=dict)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    reminders: ReminderSettings = field(default_factory=ReminderSettings)
    society_reminders: Mapping[str, ReminderSettings] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()  # for years the holiday calendar does not know
    private_platforms: frozenset[str] = frozenset({"console", "wecom", "dingtalk"})
    sweep_seconds: int = 60
    # Reminders due this soon are decided ahead and their messages held in the outbox until
    # their instant (a 09:00 burst then goes out at 09:00); 0 decides each at its instant.
    prepare_seconds: int = 120
    web: WebSettings = field(default_factory=WebSettings)

    @property
    def base_url(self) -> str:
        """The address in the 工作台 links, without a trailing slash."""
        return self.web.base_url or f"http://{self.http_host}:{self.http_port}"

    def reminders_for(self, society_name: str) -> ReminderSettings:
        return self.society_reminders.get(society_name, self.reminders)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def policy_for(self, society_name: str) -> g.Policy:
        return self.society_policies.get(society_name, self.policy)


def _fraction(key: str, value: object) -> Fraction:
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int | float):
            result = Fraction(value).limit_denominator(100)
        elif isinstance(value, str):
            result = Fraction(value.strip())
        else:
            raise ValueError
    except (ValueError, ZeroDivisionError, OverflowError):
        raise ConfigError(
            key, f'must be a fraction such as "1/2" or "2/3", got {value!r}'
        ) from None
    if not 0 < result < 1:
        raise ConfigError(key, f"must be between 0 and 1, got {value!r}")
    return result


def _typed(key: str, value: object, kind: type, what: str) -> Any:
    if kind is int and isinstance(value, bool):
        raise ConfigError(key, f"must be {what}, got {value!r}")
    if not isinstance(value, kind):
        raise ConfigError(key, f"must be {what}, got {value!r}")
    return value


def table_str(section: str, raw: Mapping[str, Any], key: str, default: str = "") -> str:
    """A string setting of a platform table (`[dingtalk]`, `[wecom]`), stripped."""
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{section}.{key}", f"must be a string, got {value!r}")
    return value.strip()


def _enum(key: str, value: object, enum: type[StrEnum]) -> Any:
    allowed = [e.value for e in enum]
    if value not in allowed:
        raise ConfigError(key, f"must be one of {', '.join(allowed)}, got {value!r}")
    return enum(value)


def _unknown(section: str, table: Mapping[str, object], known: set[str]) -> None:
    for k in table:
        if k not in known:
            raise ConfigError(f"{section}.{k}" if section else k, "unknown setting")


_GOV_KEYS = {
    "quorum",
    "quorum_reading",
    "max_members",
    "require_odd",
    "recused_leave_base",
    "allow_vote_change",
    "deferral_dissent_share",
    "deferral_margin",
    "checkin_opens_before_minutes",
    "late_after_minutes",
    "matter",
}
_MATTER_KEYS = {
    "quorum",
    "quorum_reading",
    "pass_share",
    "default_method",
    "allowed_methods",
    "major",
    "written_opinions_count",
    "leader_votes_last",
}


def _matter_rule(section: str, raw: Mapping[str, object], base: g.MatterRule) -> g.MatterRule:
    _unknown(section, raw, _MATTER_KEYS)
    rule = base
    if "quorum" in raw or "quorum_reading" in raw:
        share = (
            _fraction(f"{section}.quorum", raw["quorum"]) if "quorum" in raw else rule.quorum.share
        )
        reading = (
            _enum(f"{section}.quorum_reading", raw["quorum_reading"], g.Reading)
            if "quorum_reading" in raw
            else rule.quorum.reading
        )
        rule = replace(rule, quorum=g.Threshold(share, reading))
    if "pass_share" in raw:
        rule = replace(rule, pass_share=_fraction(f"{section}.pass_share", raw["pass_share"]))
    if "allowed_methods" in raw:
        methods = _typed(f"{section}.allowed_methods", raw["allowed_methods"], list, "a list")
        allowed = frozenset(_enum(f"{section}.allowed_methods", x, g.VoteMethod) for x in methods)
        if not allowed:
            raise ConfigError(f"{section}.allowed_methods", "must name at least one method")
        rule = replace(rule, allowed_methods=allowed)
    if "default_method" in raw:
        rule = replace(
            rule,
            default_method=_enum(f"{section}.default_method", raw["default_method"], g.VoteMethod),
        )
    if rule.default_method not in rule.allowed_methods:
        raise ConfigError(f"{section}.default_method", "must be one of allowed_methods")
    for flag in ("major", "written_opinions_count", "leader_votes_last"):
        if flag in raw:
            rule = replace(
                rule, **{flag: _typed(f"{section}.{flag}", raw[flag], bool, "true or false")}
            )
    return rule


def parse_policy(section: str, raw: Mapping[str, object], base: g.Policy) -> g.Policy:
    _unknown(section, raw, _GOV_KEYS)
    policy = base
    if "quorum" in raw or "quorum_reading" in raw:
        share = (
            _fraction(f"{section}.quorum", raw["quorum"])
            if "quorum" in raw
            else policy.meeting_quorum.share
        )
        reading = (
            _enum(f"{section}.quorum_reading", raw["quorum_reading"], g.Reading)
            if "quorum_reading" in raw
            else policy.meeting_quorum.reading
        )
        policy = replace(policy, meeting_quorum=g.Threshold(share, reading))
    for key in ("max_members", "deferral_margin"):
        if key in raw:
            value = _typed(f"{section}.{key}", raw[key], int, "a whole number")
            if value < 0 or (key == "max_members" and value < 1):
                raise ConfigError(f"{section}.{key}", f"out of range: {value}")
            policy = replace(policy, **{key: value})
    for key in ("require_odd", "recused_leave_base", "allow_vote_change"):
        if key in raw:
            policy = replace(
                policy, **{key: _typed(f"{section}.{key}", raw[key], bool, "true or false")}
            )
    if "deferral_dissent_share" in raw:
        policy = replace(
            policy,
            deferral_dissent_share=_fraction(
                f"{section}.deferral_dissent_share", raw["deferral_dissent_share"]
            ),
        )
    for key, attr in (
        ("checkin_opens_before_minutes", "checkin_opens_before"),
        ("late_after_minutes", "late_after"),
    ):
        if key in raw:
            minutes = _typed(f"{section}.{key}", raw[key], int, "a whole number of minutes")
            if minutes < 0:
                raise ConfigError(f"{section}.{key}", f"must not be negative, got {minutes}")
            if attr == "checkin_opens_before":
                policy = replace(policy, checkin_opens_before=timedelta(minutes=minutes))
            else:
                policy = replace(policy, late_after=timedelta(minutes=minutes))
    if "matter" in raw:
        matters_raw = _typed(f"{section}.matter", raw["matter"], dict, "a table")
        matters = dict(policy.matters)
        for name, rule_raw in matters_raw.items():
            key = f"{section}.matter.{name}"
            matter = _enum(key, name, g.MatterType)
            matters[matter] = _matter_rule(
                key, _typed(key, rule_raw, dict, "a table"), matters[matter]
            )
        policy = replace(policy, matters=matters)
    return policy


_DELIVERY_KEYS = {
    "group_rate_per_minute",
    "app_rate_per_minute",
    "throttle_pause_minutes",
    "max_attempts",
    "backoff_base_seconds",
    "backoff_cap_seconds",
    "send_concurrency",
}
_REMINDER_KEYS = {
    "meeting_hours_before",
    "checkin_open",
    "minutes_unsigned_days",
    "cadence_months",
    "summary_days_before",
    "summary_overdue",
    "term_days_before",
    "send_hour",
    "workdays_only",
    "private",
    "vote_closing_minutes",
    "notice_ack_hours",
    "notice_ack_latest_hours",
}
_GLOBAL_REMINDER_KEYS = (
    _REMINDER_KEYS
    | _DELIVERY_KEYS
    | {
        "holidays",
        "private_platforms",
        "sweep_seconds",
        "prepare_seconds",
    }
)


def _int_list(key: str, value: object) -> tuple[int, ...]:
    items = _typed(key, value, list, "a list of whole numbers")
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or item < 0:
            raise ConfigError(key, f"must be a list of whole numbers >= 0, got {value!r}")
        out.append(item)
    return tuple(out)


def _positive(key: str, value: object, *, allow_zero: bool = False) -> int:
    number = _typed(key, value, int, "a whole number")
    if number < (0 if allow_zero else 1):
        raise ConfigError(key, f"out of range: {number}")
    return int(number)


def parse_reminders(
    section: str, raw: Mapping[str, object], base: ReminderSettings
) -> ReminderSettings:
    out = base
    for key in (
        "meeting_hours_before",
        "cadence_months",
        "summary_days_before",
        "term_days_before",
    ):
        if key in raw:
            lists: dict[str, Any] = {key: _int_list(f"{section}.{key}", raw[key])}
            out = replace(out, **lists)
    for key in ("checkin_open", "summary_overdue", "workdays_only", "private"):
        if key in raw:
            out = replace(out, **{key: _typed(f"{section}.{key}", raw[key], bool, "true or false")})
    if "minutes_unsigned_days" in raw:
        out = replace(
            out,
            minutes_unsigned_days=_positive(
                f"{section}.minutes_unsigned_days", raw["minutes_unsigned_days"]
            ),
        )
    for key in ("vote_closing_minutes", "notice_ack_hours"):
        if key in raw:
            numbers: dict[str, Any] = {key: _positive(f"{section}.{key}", raw[key])}
            out = replace(out, **numbers)
    if "notice_ack_latest_hours" in raw:
        out = replace(
            out,
            notice_ack_latest_hours=_positive(
                f"{section}.notice_ack_latest_hours",
                raw["notice_ack_latest_hours"],
                allow_zero=True,
            ),
        )
    if "send_hour" in raw:
        hour = _positive(f"{section}.send_hour", raw["send_hour"], allow_zero=True)
        if hour > 23:
            raise ConfigError(f"{section}.send_hour", f"must be 0-23, got {hour}")
        out = replace(out, send_hour=hour)
    return out


def parse_delivery(raw: Mapping[str, object]) -> DeliverySettings:
    out = DeliverySettings()
    for key in ("group_rate_per_minute", "app_rate_per_minute", "max_attempts", "send_concurrency"):
        if key in raw:
            out = replace(out, **{key: _positive(f"reminders.{key}", raw[key])})
    if "throttle_pause_minutes" in raw:
        minutes = _positive("reminders.throttle_pause_minutes", raw["throttle_pause_minutes"])
        out = replace(out, throttle_pause_seconds=minutes * 60)
    floats: dict[str, Any] = {}
    for key in ("backoff_base_seconds", "backoff_cap_seconds"):
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"reminders.{key}", f"must be a positive number, got {value!r}")
            floats[key] = float(value)
    out = replace(out, **floats)
    return out


def _holidays(raw: object) -> frozenset[date]:
    items = _typed("reminders.holidays", raw, list, 'a list of dates like "2027-01-01"')
    out = set()
    for item in items:
        try:
            out.add(item if isinstance(item, date) else date.fromisoformat(str(item)))
        except ValueError:
            raise ConfigError("reminders.holidays", f"not a date: {item!r}") from None
    return frozenset(out)


def parse_admin(key: str, raw: object) -> CommitteeAdmin:
    text = _typed(key, raw, str, 'a string "platform:corp:user_id:姓名"')
    parts = text.split(":")
    if len(parts) != 4 or not all(parts):
        raise ConfigError(key, f'must look like "platform:corp:user_id:姓名", got {text!r}')
    if parts[0] not in ("console", "wecom", "dingtalk"):
        raise ConfigError(key, f"unknown platform {parts[0]!r}")
    return CommitteeAdmin(*parts)


_WEB_KEYS = {"enabled", "base_url", "session_idle_minutes", "page_size", "verify_minutes"}


def parse_web(raw: Mapping[str, object]) -> WebSettings:
    _unknown("web", raw, _WEB_KEYS)
    out = WebSettings()
    if "enabled" in raw:
        out = replace(out, enabled=_typed("web.enabled", raw["enabled"], bool, "true or false"))
    if "base_url" in raw:
        url = _typed("web.base_url", raw["base_url"], str, "a string").strip().rstrip("/")
        if url and (not url.startswith(("http://", "https://")) or " " in url):
            raise ConfigError("web.base_url", f"must start with http:// or https://, got {url!r}")
        out = replace(out, base_url=url)
    numbers: dict[str, Any] = {
        key: _positive(f"web.{key}", raw[key])
        for key in ("session_idle_minutes", "page_size", "verify_minutes")
        if key in raw
    }
    if numbers.get("page_size", 1) > 1000:
        raise ConfigError("web.page_size", f"must be 1-1000, got {numbers['page_size']}")
    return replace(out, **numbers)


def parse_settings(raw: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
    _unknown(
        "",
        raw,
        {
            "database",
            "bot",
            "governance",
            "societies",
            "committee",
            "http",
            "dingtalk",
            "wecom",
            "reminders",
            "web",
        },
    )
    settings = Settings()
    db = _typed("database", raw.get("database", {}), dict, "a table")
    _unknown("database", db, {"url"})
    url = env.get("YISHI_DATABASE_URL") or db.get("url", DEFAULT_DATABASE_URL)
    url = _typed("database.url", url, str, "a string")
    if not url.startswith(("sqlite://", "postgres://", "postgresql://", "asyncpg://")):
        raise ConfigError("database.url", f"must start with sqlite:// or postgres://, got {url!r}")
    bot = _typed("bot", raw.get("bot", {}), dict, "a table")
    _unknown("bot", bot, {"timezone", "name"})
    tz = _typed("bot.timezone", bot.get("timezone", "Asia/Shanghai"), str, "a time zone name")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError("bot.timezone", f"unknown time zone {tz!r}") from None
    name = _typed("bot.name", bot.get("name", "议事"), str, "a string")
    policy = parse_policy(
        "governance", _typed("governance", raw.get("governance", {}), dict, "a table"), g.Policy()
    )
    rem_raw = _typed("reminders", raw.get("reminders", {}), dict, "a table")
    _unknown("reminders", rem_raw, _GLOBAL_REMINDER_KEYS)
    reminders = parse_reminders("reminders", rem_raw, ReminderSettings())
    delivery = parse_delivery(rem_raw)
    holidays = _holidays(rem_raw.get("holidays", []))
    platforms = _typed(
        "reminders.private_platforms",
        rem_raw.get("private_platforms", sorted(Settings().private_platforms)),
        list,
        "a list of platforms",
    )
    for item in platforms:
        if item not in ("console", "wecom", "dingtalk"):
            raise ConfigError("reminders.private_platforms", f"unknown platform {item!r}")
    sweep = _positive("reminders.sweep_seconds", rem_raw.get("sweep_seconds", 60))
    prepare = _positive(
        "reminders.prepare_seconds", rem_raw.get("prepare_seconds", 120), allow_zero=True
    )
    societies = _typed("societies", raw.get("societies", {}), dict, "a table")
    per_society = {}
    per_society_reminders = {}
    for sname, sraw in societies.items():
        key = f"societies.{sname}"
        table = _typed(key, sraw, dict, "a table")
        _unknown(key, table, {"governance", "reminders"})
        per_society[sname] = parse_policy(
            f"{key}.governance",
            _typed(f"{key}.governance", table.get("governance", {}), dict, "a table"),
            policy,
        )
        if "reminders" in table:
            srem = _typed(f"{key}.reminders", table["reminders"], dict, "a table")
            _unknown(f"{key}.reminders", srem, _REMINDER_KEYS)
            per_society_reminders[sname] = parse_reminders(f"{key}.reminders", srem, reminders)
    committee = _typed("committee", raw.get("committee", {}), dict, "a table")
    _unknown("committee", committee, {"admins"})
    admins_raw = _typed("committee.admins", committee.get("admins", []), list, "a list")
    admins = tuple(parse_admin(f"committee.admins[{i}]", a) for i, a in enumerate(admins_raw))
    http = _typed("http", raw.get("http", {}), dict, "a table")
    _unknown("http", http, {"host", "port", "inbound"})
    host = _typed("http.host", http.get("host", "127.0.0.1"), str, "a string")
    port = _typed("http.port", http.get("port", 8080), int, "a port number")
    if not 0 < port < 65536:
        raise ConfigError("http.port", f"must be between 1 and 65535, got {port}")
    inbound = _typed("http.inbound", http.get("inbound", "queue"), str, "a string")
    if inbound not in ("queue", "direct"):
        raise ConfigError("http.inbound", f'must be "queue" or "direct", got {inbound!r}')
    dingtalk = _typed("dingtalk", raw.get("dingtalk", {}), dict, "a table")
    wecom = _typed("wecom", raw.get("wecom", {}), dict, "a table")
    web = parse_web(_typed("web", raw.get("web", {}), dict, "a table"))
    return replace(
        settings,
        database_url=url,
        timezone=tz,
        bot_name=name,
        policy=policy,
        society_policies=per_society,
        committee_admins=admins,
        http_host=host,
        http_port=port,
        inbound=inbound,
        dingtalk=dingtalk,
        wecom=wecom,
        delivery=delivery,
        reminders=reminders,
        society_reminders=per_society_reminders,
        holidays=holidays,
        private_platforms=frozenset(platforms),
        sweep_seconds=sweep,
        prepare_seconds=prepare,
        web=web,
    )


def load_settings(path: str | None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the file at `path` (None: built-in defaults, plus config.toml if it exists)."""
    env = os.environ if env is None else env
    if path is None:
        path = "config.toml" if Path("config.toml").exists() else None
    if path is None:
        return parse_settings({}, env)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, f"cannot read the file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(path, "the file is not UTF-8 text (save it as UTF-8)") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, f"not valid TOML: {exc}") from None
    return parse_settings(raw, env)
