"""Reading one platform's table of the configuration (`[dingtalk]`, `[wecom]`): the checks both
platform configs share, on top of `bot.config`'s. Problems are collected, each naming
`<section>.<key>` in Chinese, and raised together by `done()`; a bad value reads as its default
meanwhile. Secrets come from the environment first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.config import ConfigError, Problems, one_of, table_str, unknown_keys


class PlatformTable:
    """The raw table of `section`; a key outside `known` is a problem too."""

    def __init__(self, section: str, raw: Mapping[str, Any], known: Iterable[str]) -> None:
        self.section = section
        self.raw = raw
        self.problems = Problems()
        self.problems.take(lambda: unknown_keys(section, raw, known), None)

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.section}.{key}", problem)

    def fail(self, key: str, problem: str) -> None:
        self.problems.add(f"{self.section}.{key}", problem)

    def done(self) -> None:
        """Raise every problem found, as one ConfigError."""
        self.problems.raise_if_any()

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, f"应为 true 或 false，实际为 {value!r}")
            return default
        return value

    def text(self, key: str, default: str = "") -> str:
        return self.problems.take(lambda: table_str(self.section, self.raw, key, default), default)

    def choice(self, key: str, default: str, allowed: Iterable[str]) -> str:
        options = tuple(allowed)
        value = self.text(key, default)
        return self.problems.take(lambda: one_of(f"{self.section}.{key}", value, options), default)

    def number(
        self, key: str, default: float, *, whole: bool = False, high: float | None = None
    ) -> float:
        """A positive number (`whole`: an integer), at most `high`."""
        value: object = self.raw.get(key, default)
        fits = isinstance(value, int) or (not whole and isinstance(value, float))
        what = "正整数" if whole else "大于 0 的数"
        limit = "" if high is None else f"，不超过 {high:g}"
        if isinstance(value, bool) or not isinstance(value, int | float) or not fits:
            self.fail(key, f"应为{what}{limit}，实际为 {value!r}")
            return default
        if value <= 0 or (high is not None and value > high):
            self.fail(key, f"应为{what}{limit}，实际为 {value!r}")
            return default
        return float(value)

    def url(
        self, key: str, default: str, schemes: tuple[str, ...] = ("https://", "http://")
    ) -> str:
        """A base URL without its trailing slash."""
        value = self.text(key, default).rstrip("/")
        if not value.startswith(schemes):
            kinds = " 或 ".join(s.removesuffix("://") for s in schemes)
            self.fail(key, f"应为以 {kinds} 开头的地址，实际为 {value!r}")
            return default
        return value

    def path(self, key: str, default: str) -> str:
        value = self.text(key, default)
        if not value.startswith("/") or any(ch.isspace() for ch in value):
            self.fail(key, f"应为以 / 开头、不含空白的路径，如 {default}，实际为 {value!r}")
            return default
        return value

    def secret(self, key: str, env: Mapping[str, str], variable: str) -> str:
        """From the environment variable, else (discouraged) from the file."""
        value = env.get(variable) or self.raw.get(key, "")
        if not isinstance(value, str):
            self.fail(key, f"应为字符串（最好改用环境变量 {variable}）")
            return ""
        return value.strip()
