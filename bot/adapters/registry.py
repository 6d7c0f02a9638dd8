"""Which platform adapters `yishi serve` runs, built from the settings."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from bot.adapters.base import ChatAdapter
from bot.adapters.ports import ChatWebhooks, ConnectionLease, HeaderBindings
from bot.clock import Clock
from bot.config import Settings

logger = logging.getLogger(__name__)


def adapters_from_settings(
    settings: Settings,
    clock: Clock,
    *,
    webhooks: ChatWebhooks,
    lease: ConnectionLease,
    bindings: HeaderBindings,
    env: Mapping[str, str] | None = None,
) -> list[ChatAdapter]:
    """The adapters whose platform section is enabled in the configuration. A section that is
    enabled but incomplete (a missing secret above all) raises ConfigError: fail closed.
    A platform's modules are imported only when its section is there: WeCom's bring wechatpy
    and requests (about 5 MiB of the process's memory) that a DingTalk-only bot never uses."""
    env = os.environ if env is None else env
    adapters: list[ChatAdapter] = []
    if settings.dingtalk:
        from bot.adapters.dingtalk.adapter import build_dingtalk_adapter
        from bot.adapters.dingtalk.config import dingtalk_from_settings

        dingtalk = dingtalk_from_settings(settings.dingtalk, env)
        if dingtalk.enabled:
            adapters.append(
                build_dingtalk_adapter(dingtalk, clock, webhooks=webhooks, bindings=bindings)
            )
    if settings.wecom:
        from bot.adapters.wecom.adapter import build_wecom_adapter
        from bot.adapters.wecom.config import private_chat_warning, wecom_from_settings

        wecom = wecom_from_settings(settings.wecom, env)
        if (warning := private_chat_warning(wecom)) is not None:
            logger.warning("%s", warning)
        if wecom.enabled:
            adapters.append(build_wecom_adapter(wecom, clock, webhooks=webhooks, lease=lease))
    return adapters
