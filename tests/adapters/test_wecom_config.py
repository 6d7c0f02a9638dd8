"""Acceptance 5: the [wecom] table. Missing secrets for the enabled mode fail closed with a
ConfigError naming the key; secrets come from the environment; defaults are sane."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.adapters.registry import adapters_from_settings
from bot.adapters.wecom.adapter import WeComAdapter, build_wecom_adapter, webhook_key
from bot.adapters.wecom.config import wecom_from_settings
from bot.adapters.wecom.ws import DEFAULT_WS_URL
from bot.clock import ManualClock, SystemClock
from bot.config import ConfigError, Settings, parse_settings
from bot.storage_ports import StoredHeaderBindings, StoredLease, StoredWebhooks
from tests.kit.wecom.rig import stored_ports

KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
BASE: dict[str, Any] = {"enabled": True, "corp_id": "ww1", "bot_id": "aib1"}
WEBHOOK_ENV = {"YISHI_WECOM_TOKEN": "tok", "YISHI_WECOM_AES_KEY": KEY}


def test_disabled_needs_nothing() -> None:
    cfg = wecom_from_settings({}, {})
    assert not cfg.enabled
    with pytest.raises(ConfigError) as err:
        build_wecom_adapter(cfg, ManualClock(datetime(2026, 1, 1, tzinfo=UTC)), **stored_ports())
    assert err.value.key == "wecom.enabled"


def test_webhook_defaults_and_secrets_from_the_environment() -> None:
    cfg = wecom_from_settings(BASE, WEBHOOK_ENV)
    assert cfg.mode == "webhook"
    assert cfg.token == "tok"
    assert cfg.encoding_aes_key == KEY
    assert cfg.callback_path == "/wecom/callback"
    assert cfg.timestamp_window_s == 300
    assert 0 < cfg.reply_budget_s <= 4.5  # well under WeCom's ~5 s
    assert cfg.api_base == "https://qyapi.weixin.qq.com"
    assert cfg.ws_url == DEFAULT_WS_URL
    assert cfg.heartbeat_s == 30
    assert "tok" not in repr(cfg)
    assert KEY not in repr(cfg)
    adapter = build_wecom_adapter(
        cfg, ManualClock(datetime(2026, 1, 1, tzinfo=UTC)), **stored_ports()
    )
    assert isinstance(adapter, WeComAdapter)
    assert [r.method for r in adapter.routes()] == ["GET", "POST"]


@pytest.mark.parametrize(
    ("raw", "env", "key"),
    [
        (BASE, {"YISHI_WECOM_AES_KEY": KEY}, "wecom.token"),
        (BASE, {"YISHI_WECOM_TOKEN": "tok"}, "wecom.encoding_aes_key"),
        (BASE, {**WEBHOOK_ENV, "YISHI_WECOM_AES_KEY": "short"}, "wecom.encoding_aes_key"),
        (BASE, {**WEBHOOK_ENV, "YISHI_WECOM_TOKEN": "has space"}, "wecom.token"),
        ({**BASE, "mode": "long_connection"}, WEBHOOK_ENV, "wecom.bot_secret"),
        ({**BASE, "corp_id": ""}, WEBHOOK_ENV, "wecom.corp_id"),
        ({"enabled": True, "corp_id": "ww1"}, WEBHOOK_ENV, "wecom.bot_id"),
        ({**BASE, "app_agent_id": 1000002}, WEBHOOK_ENV, "wecom.app_secret"),
        (BASE, {**WEBHOOK_ENV, "YISHI_WECOM_APP_SECRET": "s"}, "wecom.app_agent_id"),
        ({**BASE, "mode": "stream"}, WEBHOOK_ENV, "wecom.mode"),
        ({**BASE, "enabled": "yes"}, WEBHOOK_ENV, "wecom.enabled"),
        ({**BASE, "reply_budget_s": 5}, WEBHOOK_ENV, "wecom.reply_budget_s"),
        ({**BASE, "reply_budget_s": 0}, WEBHOOK_ENV, "wecom.reply_budget_s"),
        ({**BASE, "timestamp_window_s": 0}, WEBHOOK_ENV, "wecom.timestamp_window_s"),
        ({**BASE, "callback_path": "wecom"}, WEBHOOK_ENV, "wecom.callback_path"),
        ({**BASE, "api_base": "ftp://x"}, WEBHOOK_ENV, "wecom.api_base"),
        ({**BASE, "ws_url": "https://x"}, WEBHOOK_ENV, "wecom.ws_url"),
        ({**BASE, "heartbeat_s": -1}, WEBHOOK_ENV, "wecom.heartbeat_s"),
        ({**BASE, "app_agent_id": "abc"}, WEBHOOK_ENV, "wecom.app_agent_id"),
        ({**BASE, "surprise": 1}, WEBHOOK_ENV, "wecom.surprise"),
    ],
)
def test_missing_or_bad_values_fail_closed(
    raw: dict[str, Any], env: dict[str, str], key: str
) -> None:
    with pytest.raises(ConfigError) as err:
        wecom_from_settings(raw, env)
    assert err.value.key == key


def test_long_connection_needs_only_the_bot_secret() -> None:
    cfg = wecom_from_settings(
        {**BASE, "mode": "long_connection", "heartbeat_s": 10},
        {"YISHI_WECOM_BOT_SECRET": "sec"},
    )
    assert cfg.bot_secret == "sec"
    assert cfg.heartbeat_s == 10
    adapter = build_wecom_adapter(
        cfg, ManualClock(datetime(2026, 1, 1, tzinfo=UTC)), **stored_ports()
    )
    assert adapter.routes() == []  # no public URL in long-connection mode


def test_environment_wins_over_the_file_and_self_built_app_is_optional() -> None:
    raw = {**BASE, "token": "from-file", "app_agent_id": "1000002"}
    env = {**WEBHOOK_ENV, "YISHI_WECOM_APP_SECRET": "app"}
    cfg = wecom_from_settings(raw, env)
    assert cfg.token == "tok"
    assert (cfg.app_agent_id, cfg.app_secret) == ("1000002", "app")


def test_settings_wecom_table_feeds_the_adapter_config() -> None:
    settings = parse_settings({"wecom": {**BASE, "bot_name": "议事助手"}}, WEBHOOK_ENV)
    cfg = wecom_from_settings(settings.wecom, WEBHOOK_ENV)
    assert cfg.bot_name == "议事助手"


@pytest.mark.parametrize(
    ("stored", "key"),
    [
        ("693a-7aoc", "693a-7aoc"),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123", "abc-123"),
        ("https://evil.example/cgi-bin/webhook/send?key=abc", "abc"),  # host is never used
        ("", ""),
        ("key with space", ""),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send", ""),
    ],
)
def test_webhook_key_from_what_the_group_bound(stored: str, key: str) -> None:
    assert webhook_key(stored) == key


def test_serve_warns_at_start_when_wecom_cannot_start_private_chats(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The adapters `yishi serve` builds: WeCom in webhook mode without a self-built app is
    started, with a warning that it cannot start a private chat; with the app, or over the long
    connection (its single chat), nothing is said."""
    base = {"enabled": True, "corp_id": "ww1", "bot_id": "aib1", "bot_name": "议事助手"}
    env = {
        "YISHI_WECOM_TOKEN": "tok",
        "YISHI_WECOM_AES_KEY": "a" * 43,
        "YISHI_WECOM_BOT_SECRET": "b",
    }
    ports = {
        "webhooks": StoredWebhooks(),
        "lease": StoredLease(),
        "bindings": StoredHeaderBindings(),
    }
    tables = [
        (base, True),
        ({**base, "app_agent_id": "1000002"}, False),
        ({**base, "mode": "long_connection"}, False),
    ]
    for table, warned in tables:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="bot.adapters.registry"):
            adapters = adapters_from_settings(
                Settings(wecom=table),
                SystemClock(),
                env={**env, "YISHI_WECOM_APP_SECRET": "s"} if "app_agent_id" in table else env,
                **ports,  # type: ignore[arg-type]
            )
        assert [a.platform.value for a in adapters] == ["wecom"]
        said = "\n".join(r.getMessage() for r in caplog.records)
        assert ("企业微信未配置自建应用" in said) is warned, said
