"""Settings: a TOML file read once into frozen dataclasses; the environment may override it.

Every problem is collected before anything is raised: one ConfigError lists them all, each with
its key path, in Chinese, with the allowed values (`yishi config check` prints them; any other
command prints them and exits 2).

Over 600 lines as one file: one schema (every table, its keys, their checks and the environment
overrides of the same keys) that `yishi config check` reads as a whole.

The environment: `YISHI_CONFIG` names the file; `YISHI_<TABLE>__<KEY>` overrides any scalar key
(`YISHI_HTTP__PORT=8081`, `YISHI_GOVERNANCE__MATTER__MAJOR__PASS_SHARE=2/3`: the table path
joined with `__`), the value read as that key's type; `YISHI_DATABASE_URL`, `YISHI_LOG_LEVEL`,
`YISHI_LOG_FORMAT` and the platform secrets (bot/adapters/*/config.py) are shorter names kept for
the keys operators set most.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import governance as g

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

DEFAULT_DATABASE_URL = "sqlite://data/yishi.db"
ENV_PREFIX = "YISHI_"
CONFIG_ENV = "YISHI_CONFIG"
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")
PLATFORMS = ("console", "wecom", "dingtalk")
INBOUND = ("queue", "direct")

T = TypeVar("T")
D = TypeVar("D", bound="DataclassInstance")
_EMPTY: Mapping[str, Any] = {}


def _with(obj: D, key: str, value: object) -> D:
    """`obj` (a dataclass) with one field set by name."""
    changes: dict[str, Any] = {key: value}
    return replace(obj, **changes)


class ConfigError(Exception):
    """One or more problems, each `(key, problem)`; `key` and `problem` are the first one's."""

    def __init__(self, key: str, problem: str, *, more: Sequence[tuple[str, str]] = ()) -> None:
        self.errors: tuple[tuple[str, str], ...] = ((key, problem), *more)
        super().__init__("\n".join(f"{k}: {p}" for k, p in self.errors))
        self.key = key
        self.problem = problem

    @classmethod
    def of(cls, errors: Sequence[tuple[str, str]]) -> ConfigError:
        (key, problem), *more = errors
        return cls(key, problem, more=more)

    def lines(self) -> list[str]:
        """One line per problem, for people: `键：问题`."""
        return [f"{k}：{p}" for k, p in self.errors]


class Problems:
    """Collects ConfigErrors so that one bad key does not hide the next."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def add(self, key: str, problem: str) -> None:
        self.errors.append((key, problem))

    def take(self, read: Callable[..., T], default: T, *args: Any, **kwargs: Any) -> T:
        """`read(*args, **kwargs)`, or `default` with its problems recorded."""
        try:
            return read(*args, **kwargs)
        except ConfigError as exc:
            self.errors.extend(exc.errors)
            return default

    def raise_if_any(self) -> None:
        if self.errors:
            raise ConfigError.of(self.errors)


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


# Platforms redeliver a callback they got no answer to within minutes (WeCom: 3 tries in
# seconds; DingTalk's Stream gateway: an unacknowledged frame); message ids are kept far longer.
MIN_MESSAGE_ID_DAYS = 7


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    """How long personal data in the delivery tables is kept ([retention]); governance records
    (meetings, ballots, minutes, the event chain) are never pruned."""

    inbound_days: int = 30  # raw inbound messages (texts, names) once applied
    replies_days: int = 90  # the reply stored with a processed message id (then blanked)
    message_ids_days: int = 365  # the processed message ids themselves (redelivery dedupe)
    outbox_days: int = 180  # sent / failed / skipped outbox rows and every send attempt
    # a name registered in a group (「我是张伟」) by an account nothing came to name (no roster
    # change, no designation made it a person's)
    registrations_days: int = 90


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
    # Workers of the inbound queue in this process, each applying other groups' messages at the
    # same time (0: by engine, 1 on SQLite, one writer; INBOUND_WORKERS_POSTGRES on PostgreSQL).
    inbound_workers: int = 0
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
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    log_level: str = "info"
    log_format: str = "text"
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


# The listening addresses nobody reaches from their phone: every address, and this machine.
_UNREACHABLE_HOSTS = {"0.0.0.0", "::", "", "localhost", "::1", "[::1]", "[::]"}


def base_url_warning(settings: Settings, *, platforms: bool) -> str | None:
    """Why the 工作台's login links would not open for the people they are sent to, when
    `platforms` (a chat platform is enabled) and [web] base_url is unset: the links are made
    from the listening address, which is every address (a container: http://0.0.0.0:8080) or
    this machine (behind a reverse proxy: http://127.0.0.1:8080). None when they can."""
    host = settings.http_host.strip()
    if not platforms or not settings.web.enabled or settings.web.base_url:
        return None
    if host not in _UNREACHABLE_HOSTS and not host.startswith("127."):
        return None
    return (
        f"[web] base_url 未设置：工作台登录链接会是 {settings.base_url}/web/login/…，"
        "成员在手机或电脑上打不开。请把 [web] base_url（或环境变量 YISHI_WEB__BASE_URL）设为"
        "大家访问本服务的地址，例如反向代理的 https://yishi.example.org。"
    )


# ---------------------------------------------------------------------------------------------
# Values


def _shown(value: object) -> str:
    return repr(value)


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
            key, f'应为 0 到 1 之间的分数，如 "1/2"、"2/3" 或 0.5，实际为 {_shown(value)}'
        ) from None
    if not 0 < result < 1:
        raise ConfigError(key, f"应大于 0 且小于 1，实际为 {_shown(value)}")
    return result


_KIND_NAMES: dict[type, str] = {
    int: "整数",
    bool: "true 或 false",
    str: "字符串",
    list: "列表",
    dict: "表（[...]）",
}


def _typed(key: str, value: object, kind: type, what: str = "") -> Any:
    """`value` when it is of `kind` (a bool is not an int); `what` describes it otherwise."""
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise ConfigError(key, f"应为{what or _KIND_NAMES[kind]}，实际为 {_shown(value)}")
    return value


def table_str(section: str, raw: Mapping[str, Any], key: str, default: str = "") -> str:
    """A string setting of a platform table (`[dingtalk]`, `[wecom]`), stripped."""
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{section}.{key}", f"应为字符串，实际为 {_shown(value)}")
    return value.strip()


def one_of(key: str, value: object, allowed: Iterable[str]) -> str:
    options = tuple(allowed)
    if not isinstance(value, str) or value not in options:
        raise ConfigError(key, f"应为以下之一：{'、'.join(options)}，实际为 {_shown(value)}")
    return value


def _enum(key: str, value: object, enum: type[StrEnum]) -> Any:
    return enum(one_of(key, value, [e.value for e in enum]))


def unknown_keys(section: str, table: Mapping[str, object], known: Iterable[str]) -> None:
    """Every key of `table` outside `known`, as one ConfigError."""
    allowed = sorted(known)
    found = [k for k in table if k not in allowed]
    if found:
        errors = [
            (f"{section}.{k}" if section else k, f"未知的设置项（可用：{'、'.join(allowed)}）")
            for k in found
        ]
        raise ConfigError.of(errors)


def _table(key: str, value: object) -> Mapping[str, Any]:
    result: Mapping[str, Any] = _typed(key, value, dict, f"表（[{key}]）")
    return result


def _whole(key: str, value: object, *, low: int = 1, high: int | None = None) -> int:
    """A whole number in [low, high]."""
    span = f"整数（{low} 到 {high}）" if high is not None else f"整数（不小于 {low}）"
    number = _typed(key, value, int, span)
    if number < low or (high is not None and number > high):
        raise ConfigError(key, f"应为{span}，实际为 {number}")
    return int(number)


def _positive_number(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(key, f"应为大于 0 的数，实际为 {_shown(value)}")
    return float(value)


def _int_list(key: str, value: object) -> tuple[int, ...]:
    items = _typed(key, value, list, "整数列表，如 [24, 1]")
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or item < 0:
            raise ConfigError(key, f"应为不小于 0 的整数列表，如 [24, 1]，实际为 {_shown(value)}")
    return tuple(items)


# ---------------------------------------------------------------------------------------------
# Governance


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
    "open_within_minutes",
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


def _threshold(
    section: str, raw: Mapping[str, object], base: g.Threshold, p: Problems
) -> g.Threshold:
    share, reading = base.share, base.reading
    if "quorum" in raw:
        share = p.take(_fraction, share, f"{section}.quorum", raw["quorum"])
    if "quorum_reading" in raw:
        reading = p.take(
            _enum, reading, f"{section}.quorum_reading", raw["quorum_reading"], g.Reading
        )
    return g.Threshold(share, reading)


def _methods(key: str, value: object) -> frozenset[g.VoteMethod]:
    items = _typed(key, value, list, '列表，如 ["named", "secret"]')
    allowed = frozenset(_enum(key, x, g.VoteMethod) for x in items)
    if not allowed:
        raise ConfigError(key, "至少要有一种表决方式（named、show_of_hands、secret）")
    return allowed


def _matter_rule(
    section: str, raw: Mapping[str, object], base: g.MatterRule, p: Problems
) -> g.MatterRule:
    p.take(unknown_keys, None, section, raw, _MATTER_KEYS)
    rule = replace(base, quorum=_threshold(section, raw, base.quorum, p))
    if "pass_share" in raw:
        share = p.take(_fraction, rule.pass_share, f"{section}.pass_share", raw["pass_share"])
        rule = replace(rule, pass_share=share)
    if "allowed_methods" in raw:
        key = f"{section}.allowed_methods"
        rule = replace(
            rule,
            allowed_methods=p.take(_methods, rule.allowed_methods, key, raw["allowed_methods"]),
        )
    if "default_method" in raw:
        key = f"{section}.default_method"
        method = p.take(_enum, rule.default_method, key, raw["default_method"], g.VoteMethod)
        rule = replace(rule, default_method=method)
    if rule.default_method not in rule.allowed_methods:
        allowed = "、".join(sorted(m.value for m in rule.allowed_methods))
        p.add(f"{section}.default_method", f"应为 allowed_methods 中的一种（{allowed}）")
    for flag in ("major", "written_opinions_count", "leader_votes_last"):
        if flag in raw:
            value = p.take(_typed, getattr(rule, flag), f"{section}.{flag}", raw[flag], bool)
            rule = _with(rule, flag, value)
    return rule


def explicit_readings(raw: Mapping[str, object]) -> frozenset[g.MatterType]:
    """The matter types whose `quorum_reading` a `[governance]` table sets itself."""
    matters = raw.get("matter")
    if not isinstance(matters, Mapping):
        return frozenset()
    return frozenset(
        mt
        for mt in g.MatterType
        if isinstance(matters.get(mt.value), Mapping) and "quorum_reading" in matters[mt.value]
    )


def parse_policy(
    section: str,
    raw: Mapping[str, object],
    base: g.Policy,
    problems: Problems | None = None,
    *,
    kept_readings: frozenset[g.MatterType] = frozenset(),
) -> g.Policy:
    """A `[governance]` table on top of `base`. Without `problems`, raises at the end.

    One `quorum_reading` means one thing: the table's top-level value is the reading of the
    meeting quorum and of every item quorum, except where a matter sets its own (in this table,
    or in `kept_readings`: the matters a table below this one set)."""
    p = Problems() if problems is None else problems
    p.take(unknown_keys, None, section, raw, _GOV_KEYS)
    policy = replace(base, meeting_quorum=_threshold(section, raw, base.meeting_quorum, p))
    if "quorum_reading" in raw:
        reading = policy.meeting_quorum.reading
        kept = kept_readings | explicit_readings(raw)
        policy = replace(
            policy,
            matters={
                mt: rule
                if mt in kept
                else replace(rule, quorum=g.Threshold(rule.quorum.share, reading))
                for mt, rule in policy.matters.items()
            },
        )
    for key, low in (("max_members", 1), ("deferral_margin", 0)):
        if key in raw:
            value = p.take(_whole, getattr(policy, key), f"{section}.{key}", raw[key], low=low)
            policy = _with(policy, key, value)
    for key in ("require_odd", "recused_leave_base", "allow_vote_change"):
        if key in raw:
            flag = p.take(_typed, getattr(policy, key), f"{section}.{key}", raw[key], bool)
            policy = _with(policy, key, flag)
    if "deferral_dissent_share" in raw:
        key = f"{section}.deferral_dissent_share"
        share = p.take(_fraction, policy.deferral_dissent_share, key, raw["deferral_dissent_share"])
        policy = replace(policy, deferral_dissent_share=share)
    for key, attr in (
        ("checkin_opens_before_minutes", "checkin_opens_before"),
        ("late_after_minutes", "late_after"),
        ("open_within_minutes", "open_within"),
    ):
        if key in raw:
            minutes = p.take(_whole, None, f"{section}.{key}", raw[key], low=0)
            if minutes is not None:
                policy = _with(policy, attr, timedelta(minutes=minutes))
    if "matter" in raw:
        matters_raw = p.take(_table, _EMPTY, f"{section}.matter", raw["matter"])
        matters = dict(policy.matters)
        for name, rule_raw in matters_raw.items():
            key = f"{section}.matter.{name}"
            matter = p.take(_enum, None, key, name, g.MatterType)
            if matter in g.NOT_VOTED:  # studied or reported: no vote, so no rule to set
                p.add(key, "学习、传达、通报的议题不表决，没有可配置的规则，请删去这一节")
                matter = None
            table = p.take(_table, None, key, rule_raw) if matter is not None else None
            if matter is not None and table is not None:
                matters[matter] = _matter_rule(key, table, matters[matter], p)
        policy = replace(policy, matters=matters)
    if problems is None:
        p.raise_if_any()
    return policy


# ---------------------------------------------------------------------------------------------
# Reminders and delivery


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
# The reminder keys that are whole numbers, with their lowest and highest values.
_REMINDER_NUMBERS: dict[str, tuple[int, int | None]] = {
    "minutes_unsigned_days": (1, None),
    "vote_closing_minutes": (1, None),
    "notice_ack_hours": (1, None),
    "notice_ack_latest_hours": (0, None),
    "send_hour": (0, 23),
}


def parse_reminders(
    section: str, raw: Mapping[str, object], base: ReminderSettings, p: Problems
) -> ReminderSettings:
    out = base
    for key in (
        "meeting_hours_before",
        "cadence_months",
        "summary_days_before",
        "term_days_before",
    ):
        if key in raw:
            out = _with(
                out, key, p.take(_int_list, getattr(out, key), f"{section}.{key}", raw[key])
            )
    for key in ("checkin_open", "summary_overdue", "workdays_only", "private"):
        if key in raw:
            flag = p.take(_typed, getattr(out, key), f"{section}.{key}", raw[key], bool)
            out = _with(out, key, flag)
    for key, (low, high) in _REMINDER_NUMBERS.items():
        if key in raw:
            path = f"{section}.{key}"
            number = p.take(_whole, getattr(out, key), path, raw[key], low=low, high=high)
            out = _with(out, key, number)
    return out


def parse_delivery(raw: Mapping[str, object], p: Problems) -> DeliverySettings:
    out = DeliverySettings()
    for key in ("group_rate_per_minute", "app_rate_per_minute", "max_attempts", "send_concurrency"):
        if key in raw:
            out = _with(out, key, p.take(_whole, getattr(out, key), f"reminders.{key}", raw[key]))
    if "throttle_pause_minutes" in raw:
        key = "reminders.throttle_pause_minutes"
        minutes = p.take(
            _whole, out.throttle_pause_seconds // 60, key, raw["throttle_pause_minutes"]
        )
        out = replace(out, throttle_pause_seconds=minutes * 60)
    for key in ("backoff_base_seconds", "backoff_cap_seconds"):
        if key in raw:
            value = p.take(_positive_number, getattr(out, key), f"reminders.{key}", raw[key])
            out = _with(out, key, value)
    return out


def _holidays(raw: object) -> frozenset[date]:
    key = "reminders.holidays"
    items = _typed(key, raw, list, '日期列表，如 ["2027-02-11"]')
    out = set()
    for item in items:
        try:
            out.add(item if isinstance(item, date) else date.fromisoformat(str(item)))
        except ValueError:
            raise ConfigError(key, f'应为日期，如 "2027-02-11"，实际为 {_shown(item)}') from None
    return frozenset(out)


def _private_platforms(raw: object) -> frozenset[str]:
    key = "reminders.private_platforms"
    items = _typed(key, raw, list, '平台列表，如 ["wecom", "dingtalk"]')
    return frozenset(one_of(key, item, PLATFORMS) for item in items)


# ---------------------------------------------------------------------------------------------
# Retention and the rest


_RETENTION_KEYS = {
    "inbound_days",
    "replies_days",
    "message_ids_days",
    "outbox_days",
    "registrations_days",
}


def parse_retention(raw: Mapping[str, object], p: Problems) -> RetentionSettings:
    p.take(unknown_keys, None, "retention", raw, _RETENTION_KEYS)
    out = RetentionSettings()
    for key in ("inbound_days", "replies_days", "outbox_days", "registrations_days"):
        if key in raw:
            out = _with(out, key, p.take(_whole, getattr(out, key), f"retention.{key}", raw[key]))
    if "message_ids_days" in raw:
        key = "retention.message_ids_days"
        days = p.take(
            _whole, out.message_ids_days, key, raw["message_ids_days"], low=MIN_MESSAGE_ID_DAYS
        )
        out = replace(out, message_ids_days=days)
    if out.message_ids_days < out.replies_days:
        p.add(
            "retention.message_ids_days",
            f"应不小于 retention.replies_days（{out.replies_days}），实际为 {out.message_ids_days}",
        )
    return out


_WEB_KEYS = {"enabled", "base_url", "session_idle_minutes", "page_size", "verify_minutes"}


def _base_url(key: str, value: object) -> str:
    url = _typed(key, value, str, "字符串").strip().rstrip("/")
    if url and (not url.startswith(("http://", "https://")) or " " in url):
        raise ConfigError(key, f"应以 http:// 或 https:// 开头，实际为 {_shown(url)}")
    return str(url)


def parse_web(raw: Mapping[str, object], p: Problems) -> WebSettings:
    p.take(unknown_keys, None, "web", raw, _WEB_KEYS)
    out = WebSettings()
    if "enabled" in raw:
        enabled = p.take(_typed, out.enabled, "web.enabled", raw["enabled"], bool)
        out = replace(out, enabled=enabled)
    if "base_url" in raw:
        out = replace(
            out, base_url=p.take(_base_url, out.base_url, "web.base_url", raw["base_url"])
        )
    for key, high in (
        ("session_idle_minutes", None),
        ("page_size", 1000),
        ("verify_minutes", None),
    ):
        if key in raw:
            value = p.take(_whole, getattr(out, key), f"web.{key}", raw[key], high=high)
            out = _with(out, key, value)
    return out


def parse_admin(key: str, raw: object) -> CommitteeAdmin:
    text = _typed(key, raw, str, '字符串 "平台:企业ID:用户ID:姓名"')
    parts = text.split(":")
    if len(parts) != 4 or not all(parts):
        raise ConfigError(key, f'应形如 "平台:企业ID:用户ID:姓名"，实际为 {_shown(text)}')
    one_of(key, parts[0], PLATFORMS)
    return CommitteeAdmin(*parts)


def sqlite_url_as_meant(url: str) -> str:
    """An absolute SQLite path written with four slashes (SQLAlchemy's form,
    sqlite:////srv/yishi.db) is ours with three (sqlite:///srv/yishi.db): the file is /srv/yishi.db
    either way (it had been another path, and opening it hung)."""
    found = re.fullmatch(r"sqlite://(/{2,})(.*)", url, flags=re.DOTALL)
    return f"sqlite:///{found.group(2)}" if found else url


def _database_url(raw: Mapping[str, Any], env: Mapping[str, str]) -> str:
    url = env.get("YISHI_DATABASE_URL") or raw.get("url", DEFAULT_DATABASE_URL)
    return database_url(_typed("database.url", url, str), "database.url")


def database_url(url: str, key: str) -> str:
    """A database URL as given in the file, the environment or `--db` (named `key` in the
    problem): a SQLite or PostgreSQL one, a four-slash SQLite path read as meant."""
    url = sqlite_url_as_meant(url)
    if not url.startswith(("sqlite://", "postgres://", "postgresql://", "asyncpg://")):
        raise ConfigError(key, f"应以 sqlite:// 或 postgres:// 开头，实际为 {_shown(url)}")
    return url


def _timezone(raw: object) -> str:
    tz = _typed("bot.timezone", raw, str, '时区名，如 "Asia/Shanghai"')
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(
            "bot.timezone", f'未知的时区 {_shown(tz)}（应为 IANA 时区名，如 "Asia/Shanghai"）'
        ) from None
    return str(tz)


_TOP_KEYS = {
    "database",
    "bot",
    "governance",
    "societies",
    "committee",
    "http",
    "log",
    "retention",
    "dingtalk",
    "wecom",
    "reminders",
    "web",
}


def parse_settings(raw: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
    """The settings of a parsed file (`raw`) with the environment's overrides applied. Raises
    one ConfigError listing every problem."""
    p = Problems()
    raw, origins = apply_env_overrides(raw, env, p)
    p.take(unknown_keys, None, "", raw, _TOP_KEYS)

    def section(name: str) -> Mapping[str, Any]:
        return p.take(_table, _EMPTY, name, raw.get(name, {}))

    d = Settings()
    db = section("database")
    p.take(unknown_keys, None, "database", db, {"url"})
    url = p.take(_database_url, d.database_url, db, env)
    bot = section("bot")
    p.take(unknown_keys, None, "bot", bot, {"timezone", "name"})
    tz = p.take(_timezone, d.timezone, bot.get("timezone", d.timezone))
    name = p.take(_typed, d.bot_name, "bot.name", bot.get("name", d.bot_name), str)
    global_gov = section("governance")
    policy = parse_policy("governance", global_gov, g.Policy(), p)

    rem = section("reminders")
    p.take(unknown_keys, None, "reminders", rem, _GLOBAL_REMINDER_KEYS)
    reminders = parse_reminders("reminders", rem, ReminderSettings(), p)
    delivery = parse_delivery(rem, p)
    holidays = p.take(_holidays, d.holidays, rem.get("holidays", []))
    platforms = p.take(
        _private_platforms, d.private_platforms, rem.get("private_platforms", list(PLATFORMS))
    )
    sweep = p.take(_whole, 60, "reminders.sweep_seconds", rem.get("sweep_seconds", 60))
    prepare = p.take(
        _whole, 120, "reminders.prepare_seconds", rem.get("prepare_seconds", 120), low=0
    )

    per_society: dict[str, g.Policy] = {}
    per_society_reminders: dict[str, ReminderSettings] = {}
    for sname, sraw in section("societies").items():
        key = f"societies.{sname}"
        table = p.take(_table, None, key, sraw)
        if table is None:
            continue
        p.take(unknown_keys, None, key, table, {"governance", "reminders"})
        gov = p.take(_table, _EMPTY, f"{key}.governance", table.get("governance", {}))
        per_society[sname] = parse_policy(
            f"{key}.governance", gov, policy, p, kept_readings=explicit_readings(global_gov)
        )
        if "reminders" in table:
            srem = p.take(_table, _EMPTY, f"{key}.reminders", table["reminders"])
            p.take(unknown_keys, None, f"{key}.reminders", srem, _REMINDER_KEYS)
            per_society_reminders[sname] = parse_reminders(f"{key}.reminders", srem, reminders, p)

    committee = section("committee")
    p.take(unknown_keys, None, "committee", committee, {"admins"})
    listed: list[object] = p.take(_typed, [], "committee.admins", committee.get("admins", []), list)
    found = [p.take(parse_admin, None, f"committee.admins[{i}]", a) for i, a in enumerate(listed)]
    admins = tuple(a for a in found if a is not None)

    http = section("http")
    p.take(unknown_keys, None, "http", http, {"host", "port", "inbound", "inbound_workers"})
    host = p.take(_typed, d.http_host, "http.host", http.get("host", d.http_host), str)
    port = p.take(
        _whole, d.http_port, "http.port", http.get("port", d.http_port), low=1, high=65535
    )
    inbound = p.take(one_of, d.inbound, "http.inbound", http.get("inbound", d.inbound), INBOUND)
    workers = http.get("inbound_workers", d.inbound_workers)
    workers = p.take(_whole, d.inbound_workers, "http.inbound_workers", workers, low=0, high=64)
    log = section("log")
    p.take(unknown_keys, None, "log", log, {"level", "format"})
    level = env.get("YISHI_LOG_LEVEL") or log.get("level", d.log_level)
    level = p.take(one_of, d.log_level, "log.level", level, LOG_LEVELS)
    fmt = env.get("YISHI_LOG_FORMAT") or log.get("format", d.log_format)
    fmt = p.take(one_of, d.log_format, "log.format", fmt, LOG_FORMATS)
    retention = parse_retention(section("retention"), p)
    web = parse_web(section("web"), p)
    dingtalk = section("dingtalk")
    wecom = section("wecom")

    if p.errors:
        raise ConfigError.of([(k, problem + origins.get(k, "")) for k, problem in p.errors])
    return Settings(
        database_url=url,
        timezone=tz,
        bot_name=name,
        policy=policy,
        society_policies=per_society,
        committee_admins=admins,
        http_host=host,
        http_port=port,
        inbound=inbound,
        inbound_workers=workers,
        dingtalk=dingtalk,
        wecom=wecom,
        delivery=delivery,
        reminders=reminders,
        society_reminders=per_society_reminders,
        holidays=holidays,
        private_platforms=platforms,
        sweep_seconds=sweep,
        prepare_seconds=prepare,
        retention=retention,
        log_level=level,
        log_format=fmt,
        web=web,
    )


# ---------------------------------------------------------------------------------------------
# Environment overrides


class Kind(StrEnum):
    """How an environment variable's text is read for a key."""

    TEXT = "text"  # as written (also fractions such as "2/3", read by the key itself)
    WHOLE = "whole"
    NUMBER = "number"
    FLAG = "flag"  # true / false


_K = Kind
# Every scalar key an environment variable may override, by table path ("*": any matter type).
SCALAR_KEYS: dict[str, Kind] = {
    "database.url": _K.TEXT,
    "bot.timezone": _K.TEXT,
    "bot.name": _K.TEXT,
    "http.host": _K.TEXT,
    "http.port": _K.WHOLE,
    "http.inbound": _K.TEXT,
    "http.inbound_workers": _K.WHOLE,
    "log.level": _K.TEXT,
    "log.format": _K.TEXT,
    **{f"retention.{k}": _K.WHOLE for k in _RETENTION_KEYS},
    "web.enabled": _K.FLAG,
    "web.base_url": _K.TEXT,
    **{f"web.{k}": _K.WHOLE for k in ("session_idle_minutes", "page_size", "verify_minutes")},
    "governance.quorum": _K.TEXT,
    "governance.quorum_reading": _K.TEXT,
    "governance.max_members": _K.WHOLE,
    "governance.require_odd": _K.FLAG,
    "governance.recused_leave_base": _K.FLAG,
    "governance.allow_vote_change": _K.FLAG,
    "governance.deferral_dissent_share": _K.TEXT,
    "governance.deferral_margin": _K.WHOLE,
    "governance.checkin_opens_before_minutes": _K.WHOLE,
    "governance.late_after_minutes": _K.WHOLE,
    "governance.open_within_minutes": _K.WHOLE,
    "governance.matter.*.quorum": _K.TEXT,
    "governance.matter.*.quorum_reading": _K.TEXT,
    "governance.matter.*.pass_share": _K.TEXT,
    "governance.matter.*.default_method": _K.TEXT,
    "governance.matter.*.major": _K.FLAG,
    "governance.matter.*.written_opinions_count": _K.FLAG,
    "governance.matter.*.leader_votes_last": _K.FLAG,
    **{f"reminders.{k}": _K.FLAG for k in ("checkin_open", "summary_overdue")},
    **{f"reminders.{k}": _K.FLAG for k in ("workdays_only", "private")},
    **{f"reminders.{k}": _K.WHOLE for k in _REMINDER_NUMBERS},
    **{
        f"reminders.{k}": _K.WHOLE
        for k in (
            "group_rate_per_minute",
            "app_rate_per_minute",
            "throttle_pause_minutes",
            "max_attempts",
            "send_concurrency",
            "sweep_seconds",
            "prepare_seconds",
        )
    },
    "reminders.backoff_base_seconds": _K.NUMBER,
    "reminders.backoff_cap_seconds": _K.NUMBER,
    # The platform tables (checked in bot/adapters/*/config.py; tests keep this list in step).
    **{f"dingtalk.{k}": _K.FLAG for k in ("enabled",)},
    **{
        f"dingtalk.{k}": _K.TEXT
        for k in (
            "mode",
            "app_key",
            "app_secret",
            "robot_code",
            "corp_id",
            "callback_path",
            "api_base",
            "oapi_base",
            "card_template_id",
            "bot_name",
        )
    },
    **{f"dingtalk.{k}": _K.WHOLE for k in ("timestamp_window_s", "max_body_bytes")},
    **{
        f"dingtalk.{k}": _K.NUMBER
        for k in ("send_timeout_s", "stream_watchdog_s", "stream_ping_s", "header_sibling_window_s")
    },
    "wecom.enabled": _K.FLAG,
    **{
        f"wecom.{k}": _K.TEXT
        for k in (
            "mode",
            "corp_id",
            "bot_id",
            "bot_name",
            "token",
            "encoding_aes_key",
            "callback_path",
            "api_base",
            "bot_secret",
            "ws_url",
            "app_agent_id",
            "app_secret",
        )
    },
    "wecom.timestamp_window_s": _K.WHOLE,
    **{f"wecom.{k}": _K.NUMBER for k in ("reply_budget_s", "heartbeat_s")},
}
# Shorter names kept for the keys set most; not overrides of the `__` kind.
_SHORT_NAMES = {"YISHI_DATABASE_URL", "YISHI_LOG_LEVEL", "YISHI_LOG_FORMAT"}


def env_name(path: str) -> str:
    """`http.port` -> `YISHI_HTTP__PORT`."""
    return ENV_PREFIX + "__".join(path.split(".")).upper()


def _kind_of(path: str) -> Kind | None:
    if path in SCALAR_KEYS:
        return SCALAR_KEYS[path]
    parts = path.split(".")
    matters = {m.value for m in g.MatterType}
    if len(parts) == 4 and parts[:2] == ["governance", "matter"] and parts[2] in matters:
        return SCALAR_KEYS.get(f"governance.matter.*.{parts[3]}")
    return None


def _read(path: str, variable: str, text: str, kind: Kind) -> object:
    match kind:
        case Kind.TEXT:
            return text
        case Kind.FLAG:
            word = text.strip().lower()
            if word not in ("true", "false"):
                raise ConfigError(
                    path, f"应为 true 或 false，实际为 {text!r}（环境变量 {variable}）"
                )
            return word == "true"
        case Kind.WHOLE:
            try:
                return int(text.strip())
            except ValueError:
                raise ConfigError(
                    path, f"应为整数，实际为 {text!r}（环境变量 {variable}）"
                ) from None
        case Kind.NUMBER:
            try:
                return float(text.strip())
            except ValueError:
                raise ConfigError(path, f"应为数，实际为 {text!r}（环境变量 {variable}）") from None


def apply_env_overrides(
    raw: Mapping[str, Any], env: Mapping[str, str], p: Problems
) -> tuple[dict[str, Any], dict[str, str]]:
    """`raw` with every `YISHI_<TABLE>__<KEY>` variable written in, and for each key set so the
    note that names its variable (appended to a problem with that key)."""
    out: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    origins: dict[str, str] = {}
    for variable in sorted(env):
        if not variable.startswith(ENV_PREFIX) or "__" not in variable:
            continue
        if variable in _SHORT_NAMES:
            continue
        path = ".".join(part.lower() for part in variable[len(ENV_PREFIX) :].split("__"))
        kind = _kind_of(path)
        if kind is None:
            p.add(variable, f"未知的环境变量：没有设置项 {path} 可以覆盖")
            continue
        try:
            value = _read(path, variable, env[variable], kind)
        except ConfigError as exc:
            p.errors.extend(exc.errors)
            continue
        *tables, key = path.split(".")
        target = out
        for name in tables:
            nested = target.get(name)
            if not isinstance(nested, dict):
                nested = {}
            nested = dict(nested)
            target[name] = nested
            target = nested
        target[key] = value
        origins[path] = f"（来自环境变量 {variable}）"
    return out, origins


# ---------------------------------------------------------------------------------------------
# The file


def config_path(path: str | None, env: Mapping[str, str]) -> str | None:
    """The file to read: `path`, else $YISHI_CONFIG, else ./config.toml if it exists."""
    if path:
        return path
    if env.get(CONFIG_ENV):
        return env[CONFIG_ENV]
    return "config.toml" if Path("config.toml").exists() else None


def read_file(path: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, f"无法读取配置文件（{exc.strerror}）") from None
    except UnicodeDecodeError:
        raise ConfigError(path, "配置文件不是 UTF-8 文本（请另存为 UTF-8）") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"line (\d+), column (\d+)", str(exc))
        at = f"第 {where[1]} 行第 {where[2]} 列附近" if where else "文件中"
        raise ConfigError(path, f"不是有效的 TOML：{at}有语法错误") from None


def load_settings(path: str | None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the file at `path` (None: $YISHI_CONFIG, else config.toml if it exists, else the
    built-in defaults), with the environment's overrides."""
    env = os.environ if env is None else env
    chosen = config_path(path, env)
    raw = {} if chosen is None else read_file(chosen)
    return parse_settings(raw, env)
