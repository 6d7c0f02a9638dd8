"""Reading one platform's table of the configuration (`[dingtalk]`, `[wecom]`): the checks both
platform configs share, on top of `bot.config`'s. Every error is a ConfigError naming
`<section>.<key>`; secrets come from the environment first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.config import ConfigError, table_str


class PlatformTable:
    """The raw table of `section`; a key outside `known` is refused at once."""

    def __init__(self, section: str, raw: Mapping[str, Any], known: Iterable[str]) -> None:
        self.section = section
        self.raw = raw
        allowed = set(known)
        for key in raw:
            if key not in allowed:
                raise self.error(key, "unknown setting")

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.section}.{key}", problem)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {value!r}")
        return value

    def text(self, key: str, default: str = "") -> str:
        return table_str(self.section, self.raw, key, default)

    def choice(self, key: str, default: str, allowed: Iterable[str]) -> str:
        options = tuple(allowed)
        value = self.text(key, default)
        if value not in options:
            raise self.error(key, f"must be one of {', '.join(options)}, got {value!r}")
        return value

    def number(
        self, key: str, default: float, *, whole: bool = False, high: float | None = None
    ) -> float:
        """A positive number (`whole`: an integer), at most `high`."""
        value: object = self.raw.get(key, default)
        fits = isinstance(value, int) or (not whole and isinstance(value, float))
        if isinstance(value, bool) or not isinstance(value, int | float) or not fits:
            what = "a positive whole number" if whole else "a positive number"
            raise self.error(key, f"must be {what}, got {value!r}")
        if value <= 0 or (high is not None and value > high):
            limit = "" if high is None else f" and at most {high:g}"
            raise self.error(key, f"must be more than 0{limit}, got {value!r}")
        return float(value)

    def url(
        self, key: str, default: str, schemes: tuple[str, ...] = ("https://", "http://")
    ) -> str:
        """A base URL without its trailing slash."""
        value = self.text(key, default).rstrip("/")
        if not value.startswith(schemes):
            kinds = " or ".join(s.removesuffix("://") for s in schemes)
            raise self.error(key, f"must be a {kinds} URL, got {value!r}")
        return value

    def path(self, key: str, default: str) -> str:
        value = self.text(key, default)
        if not value.startswith("/") or any(ch.isspace() for ch in value):
            raise self.error(key, f"must be a path like {default}, got {value!r}")
        return value

    def secret(self, key: str, env: Mapping[str, str], variable: str) -> str:
        """From the environment variable, else (discouraged) from the file."""
        value = env.get(variable) or self.raw.get(key, "")
        if not isinstance(value, str):
            raise self.error(key, f"must be a string (better: set {variable})")
        return value.strip()
