"""What DingTalk sends the bot, built exactly as DingTalk sends it (docs/platforms.md §2): the
robot message body, a signed HTTP-mode callback, Stream frames (a robot message, a card click,
SYSTEM frames). Usable without a running fake; `FakeDingTalk.make_callback` adds a live
sessionWebhook."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.adapters.dingtalk.codec import (
    CARD_CALLBACK_TOPIC,
    ROBOT_MESSAGE_TOPIC,
    DingTalkSettings,
    callback_sign,
    epoch_ms,
)

SESSION_TTL = timedelta(minutes=90)
BOT_DINGTALK_ID = "$:LWCP_v1:$botFAKE"


def robot_payload(
    settings: DingTalkSettings,
    *,
    text: str,
    staff_id: str,
    conversation_id: str,
    msg_id: str,
    now: datetime,
    nick: str = "张三",
    corp_id: str | None = None,
    conversation_type: str = "2",
    at_staff_ids: Iterable[str] = (),
    session_webhook: str = "https://oapi.dingtalk.com/robot/sendBySession?session=EXAMPLE",
    session_expires_at: datetime | None = None,
) -> dict[str, Any]:
    """The robot message body DingTalk sends (HTTP body == Stream frame data)."""
    created_ms = epoch_ms(now)
    expires = session_expires_at if session_expires_at is not None else now + SESSION_TTL
    at_users: list[dict[str, str]] = []
    if conversation_type == "2":
        at_users.append({"dingtalkId": BOT_DINGTALK_ID})
    at_users += [{"dingtalkId": f"$:LWCP_v1:${sid}", "staffId": sid} for sid in at_staff_ids]
    payload: dict[str, Any] = {
        "conversationId": conversation_id,
        "atUsers": at_users,
        "chatbotCorpId": settings.corp_id,
        "chatbotUserId": BOT_DINGTALK_ID,
        "msgId": msg_id,
        "senderNick": nick,
        "isAdmin": False,
        "senderStaffId": staff_id,
        "sessionWebhookExpiredTime": epoch_ms(expires),
        "createAt": created_ms,
        "senderCorpId": settings.corp_id if corp_id is None else corp_id,
        "conversationType": conversation_type,
        "senderId": f"$:LWCP_v1:$sender{staff_id}",
        "isInAtList": True,
        "sessionWebhook": session_webhook,
        "text": {"content": f" {text}"},  # DingTalk strips the @bot and leaves a space
        "robotCode": settings.robot_code,
        "msgtype": "text",
    }
    if conversation_type == "2":
        payload["conversationTitle"] = "党建工作领导小组"
    return payload


def signed_headers(settings: DingTalkSettings, now: datetime) -> dict[str, str]:
    timestamp = str(epoch_ms(now))
    return {
        "Content-Type": "application/json; charset=utf-8",
        "timestamp": timestamp,
        "sign": callback_sign(settings.app_secret, timestamp),
    }


def make_callback(settings: DingTalkSettings, **fields: Any) -> tuple[dict[str, str], bytes]:
    """Headers and body of an HTTP-mode callback, exactly as DingTalk POSTs them; `fields` are
    those of `robot_payload`. Without a running fake the sessionWebhook is DingTalk's URL."""
    payload = robot_payload(settings, **fields)
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return signed_headers(settings, fields["now"]), body


def stream_frame(
    payload: Mapping[str, Any],
    *,
    message_id: str = "212ca9d7_974_1898c159aa6_1783b",
    topic: str = ROBOT_MESSAGE_TOPIC,
    frame_type: str = "CALLBACK",
    now: datetime | None = None,
) -> str:
    """A Stream push frame wrapping `payload` (data is a JSON string inside the JSON)."""
    headers = {
        "appId": "app-FAKE",
        "connectionId": "conn-FAKE",
        "contentType": "application/json",
        "messageId": message_id,
        "topic": topic,
    }
    if now is not None:
        headers["time"] = str(epoch_ms(now))
    frame = {
        "specVersion": "1.0",
        "type": frame_type,
        "headers": headers,
        "data": json.dumps(payload, ensure_ascii=False),
    }
    return json.dumps(frame, ensure_ascii=False)


def card_callback_frame(
    *,
    out_track_id: str,
    user_id: str,
    corp_id: str,
    params: Mapping[str, str],
    message_id: str,
) -> str:
    """A Stream CALLBACK frame for a card button click (topic /v1.0/card/instances/callback)."""
    content = {"cardPrivateData": {"actionIds": ["vote"], "params": dict(params)}}
    data = {
        "outTrackId": out_track_id,
        "corpId": corp_id,
        "userId": user_id,
        "type": "actionCallback",
        "content": json.dumps(content, ensure_ascii=False),
        "extension": "{}",
    }
    return stream_frame(data, message_id=message_id, topic=CARD_CALLBACK_TOPIC)


def system_frame(topic: str, data: Mapping[str, Any], *, message_id: str) -> str:
    """A SYSTEM frame (`ping` with an opaque, `disconnect` with a reason)."""
    return stream_frame(data, message_id=message_id, topic=topic, frame_type="SYSTEM")
