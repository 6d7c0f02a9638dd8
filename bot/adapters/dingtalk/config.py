"""The `[dingtalk]` table of the configuration, checked: an enabled robot without app key, secret
or corp id stops start-up (fail closed)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final

from bot.adapters.dingtalk.codec import DingTalkSettings
from bot.adapters.table import PlatformTable

SECRET_ENV: Final = "YISHI_DINGTALK_APP_SECRET"
MODES: Final = ("stream", "http")


@dataclass(frozen=True)
class DingTalkConfig:
    """The `[dingtalk]` table, checked. The secret comes from YISHI_DINGTALK_APP_SECRET (or,
    discouraged, the file)."""

    enabled: bool
    mode: str
    app_key: str
    app_secret: str = field(repr=False)
    robot_code: str
    corp_id: str
    callback_path: str = "/dingtalk/callback"
    api_base: str = "https://api.dingtalk.com"
    oapi_base: str = "https://oapi.dingtalk.com"
    card_template_id: str = ""
    timestamp_window_s: int = 3600
    # HTTP mode: a signed header pair carries new messages only this long after its first use
    # (genuine pushes of the same millisecond share it; storage/header_bindings.py).
    header_sibling_window_s: float = 10.0
    bot_name: str = "议事"
    max_body_bytes: int = 16 * 1024
    send_timeout_s: float = 10.0
    # Stream: no frame (nor pong) for this long -> reconnect; our WebSocket ping interval.
    stream_watchdog_s: float = 90.0
    stream_ping_s: float = 30.0

    def codec_settings(self) -> DingTalkSettings:
        return DingTalkSettings(
            app_key=self.app_key,
            app_secret=self.app_secret,
            robot_code=self.robot_code,
            corp_id=self.corp_id,
            bot_names=(self.bot_name, "机器人"),
            session_webhook_prefix=f"{self.oapi_base}/robot/sendBySession?",
            max_body_bytes=self.max_body_bytes,
            timestamp_window_s=self.timestamp_window_s,
        )


_KEYS: Final = frozenset(f.name for f in fields(DingTalkConfig))


def dingtalk_from_settings(raw: Mapping[str, Any], env: Mapping[str, str]) -> DingTalkConfig:
    """Check the `[dingtalk]` table (used when `enabled = true`); every problem is raised at
    once."""
    table = PlatformTable("dingtalk", raw, _KEYS)
    enabled = table.flag("enabled")
    mode = table.choice("mode", "stream", MODES)
    app_key = table.text("app_key")
    secret = table.secret("app_secret", env, SECRET_ENV)
    corp_id = table.text("corp_id")
    robot_code = table.text("robot_code") or app_key
    if enabled:
        if not app_key:
            table.fail("app_key", "缺少（机器人的 AppKey / ClientID）")
        if not secret:
            table.fail("app_secret", f"缺少：请设置环境变量 {SECRET_ENV}（不接受未签名的回调）")
        if not corp_id:
            table.fail("corp_id", "缺少（组织的 CorpId）")
    path = table.path("callback_path", "/dingtalk/callback")
    ping = table.number("stream_ping_s", 30.0)
    watchdog = table.number("stream_watchdog_s", 90.0)
    if watchdog <= ping:
        table.fail("stream_watchdog_s", f"应大于 stream_ping_s（{ping:g}），实际为 {watchdog:g}")
    config = DingTalkConfig(
        enabled=enabled,
        mode=mode,
        app_key=app_key,
        app_secret=secret,
        robot_code=robot_code,
        corp_id=corp_id,
        callback_path=path,
        api_base=table.url("api_base", "https://api.dingtalk.com"),
        oapi_base=table.url("oapi_base", "https://oapi.dingtalk.com"),
        card_template_id=table.text("card_template_id"),
        timestamp_window_s=int(table.number("timestamp_window_s", 3600, whole=True)),
        header_sibling_window_s=table.number("header_sibling_window_s", 10.0, high=60),
        bot_name=table.text("bot_name", "议事") or "议事",
        max_body_bytes=int(table.number("max_body_bytes", 16 * 1024, whole=True)),
        send_timeout_s=table.number("send_timeout_s", 10.0),
        stream_watchdog_s=watchdog,
        stream_ping_s=ping,
    )
    table.done()
    return config
