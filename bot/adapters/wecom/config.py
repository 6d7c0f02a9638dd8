"""The `[wecom]` table of the configuration, checked. Fails closed: an enabled bot with a missing
or malformed secret raises ConfigError naming the key (and the environment variable)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final

from bot.adapters.table import PlatformTable
from bot.adapters.wecom import codec
from bot.adapters.wecom.ws import DEFAULT_WS_URL

MODES: Final = ("webhook", "long_connection")
WEBHOOK_DEADLINE_S: Final = 5.0  # WeCom drops the request after about 5 s (platforms.md §1.1)


@dataclass(frozen=True, slots=True)
class WeComConfig:
    """The [wecom] table, validated. Secrets come from the environment (YISHI_WECOM_*)."""

    enabled: bool = False
    mode: str = "webhook"
    corp_id: str = ""
    bot_id: str = ""
    bot_name: str = ""
    token: str = field(default="", repr=False)
    encoding_aes_key: str = field(default="", repr=False)
    callback_path: str = "/wecom/callback"
    timestamp_window_s: int = 300
    reply_budget_s: float = 3.0
    api_base: str = codec.DEFAULT_API_BASE
    bot_secret: str = field(default="", repr=False)
    ws_url: str = DEFAULT_WS_URL
    heartbeat_s: float = 30.0
    app_agent_id: str = ""
    app_secret: str = field(default="", repr=False)
    max_body_bytes: int = 64 * 1024
    request_timeout_s: float = 10.0

    def codec_settings(self) -> codec.WeComSettings:
        """The codec's settings. In long-connection mode frames are neither signed nor
        encrypted; the token and key are placeholders only the webhook path would use."""
        token, key = self.token, self.encoding_aes_key
        if self.mode == "long_connection":
            token, key = token or "unused", key or "A" * 43
        return codec.WeComSettings(
            token=token,
            encoding_aes_key=key,
            corp_id=self.corp_id,
            bot_id=self.bot_id,
            max_body_bytes=self.max_body_bytes,
            timestamp_window_s=self.timestamp_window_s,
            bot_name=self.bot_name,
            api_base=self.api_base,
        )


def private_chat_warning(config: WeComConfig) -> str | None:
    """Why the bot could not start a private chat (webhook mode without a self-built app: the AI
    bot's webhook only answers); None when it can, or WeCom is off. `app_agent_id` is optional,
    so this is a warning for `yishi config check` and the start of `yishi serve`, not an error."""
    if not config.enabled or config.mode != "webhook" or config.app_agent_id:
        return None
    return (
        "企业微信未配置自建应用（[wecom] app_agent_id 和环境变量 YISHI_WECOM_APP_SECRET）："
        "机器人能回复成员发来的私聊，但不能主动发起私聊，无记名投票的私聊邀请、发给个人的提醒"
        "都发不出去（每一条都会作为发送失败通知管理员）。需要时请在企业微信管理后台创建自建应用"
        '并填写这两项，或改用长连接模式（mode = "long_connection"）。'
    )


# The body cap and the request timeout are fixed (the dataclass defaults), not read from the file.
_KEYS: Final = frozenset(f.name for f in fields(WeComConfig)) - {
    "max_body_bytes",
    "request_timeout_s",
}


def wecom_from_settings(raw: Mapping[str, Any], env: Mapping[str, str]) -> WeComConfig:
    """Validate `Settings.wecom` (the raw [wecom] table); every problem is raised at once."""
    table = PlatformTable("wecom", raw, _KEYS)
    enabled = table.flag("enabled")
    mode = table.choice("mode", "webhook", MODES)
    agent = raw.get("app_agent_id", "")
    agent_id = str(agent).strip() if isinstance(agent, int | str) else ""
    if (
        isinstance(agent, bool)
        or not isinstance(agent, int | str)
        or not (agent_id.isdigit() or not agent_id)
    ):
        table.fail("app_agent_id", f"应为数字（自建应用的 AgentId），实际为 {agent!r}")
        agent_id = ""
    config = WeComConfig(
        enabled=enabled,
        mode=mode,
        corp_id=table.text("corp_id"),
        bot_id=table.text("bot_id"),
        bot_name=table.text("bot_name"),
        token=table.secret("token", env, "YISHI_WECOM_TOKEN"),
        encoding_aes_key=table.secret("encoding_aes_key", env, "YISHI_WECOM_AES_KEY"),
        callback_path=table.path("callback_path", "/wecom/callback"),
        timestamp_window_s=int(table.number("timestamp_window_s", 300, whole=True, high=3600)),
        reply_budget_s=table.number("reply_budget_s", 3.0, high=WEBHOOK_DEADLINE_S - 0.5),
        api_base=table.url("api_base", codec.DEFAULT_API_BASE),
        bot_secret=table.secret("bot_secret", env, "YISHI_WECOM_BOT_SECRET"),
        ws_url=table.url("ws_url", DEFAULT_WS_URL, schemes=("wss://", "ws://")),
        heartbeat_s=table.number("heartbeat_s", 30, high=300),
        app_agent_id=agent_id,
        app_secret=table.secret("app_secret", env, "YISHI_WECOM_APP_SECRET"),
    )
    if enabled:
        _check_enabled(table, config)
    table.done()
    return config


def _check_enabled(table: PlatformTable, config: WeComConfig) -> None:
    """What an enabled bot needs for its mode: ids, secrets, well-formed keys."""
    for key in ("corp_id", "bot_id"):
        if not getattr(config, key):
            table.fail(key, "wecom.enabled = true 时必须填写")
    if config.mode == "webhook":
        if not config.token:
            table.fail("token", "缺少：请设置环境变量 YISHI_WECOM_TOKEN（webhook 模式）")
        elif not codec.TOKEN_RE.fullmatch(config.token):
            table.fail("token", "应为 1-128 个可打印 ASCII 字符")
        if not config.encoding_aes_key:
            table.fail(
                "encoding_aes_key", "缺少：请设置环境变量 YISHI_WECOM_AES_KEY（webhook 模式）"
            )
        elif not codec.AES_KEY_RE.fullmatch(config.encoding_aes_key):
            table.fail("encoding_aes_key", "应为 43 个字符（A-Z、a-z、0-9）")
    elif not config.bot_secret:
        table.fail(
            "bot_secret", "缺少：请设置环境变量 YISHI_WECOM_BOT_SECRET（long_connection 模式）"
        )
    if config.app_agent_id and not config.app_secret:
        table.fail("app_secret", "缺少：请设置环境变量 YISHI_WECOM_APP_SECRET")
    if config.app_secret and not config.app_agent_id:
        table.fail("app_agent_id", "配置了自建应用的 Secret 时必须填写")
