"""DingTalk vote cards (互动卡片), pure: the outTrackId that names a vote's card in one chat, the
card's public data, the bodies that create and update it, and a button click decoded into the
text command it stands for.

1. `outTrackId` is `vote-<vote_id>-g<base64url(conversationId)>` (`-u<staffId>` for a 1:1
   chat): deterministic, so the first send creates the card and every later one updates it,
   after a restart too; the chat is part of it because a click's callback names only the id.
2. Every card value is a string (platforms.md §2.5) and never a secret choice; a secret or
   closed vote shows no buttons.
3. A click becomes `投票 <choice> 表决#<vote_id>` from the clicking member, with a message id
   from the platform's event id, so it passes the same permissions and de-duplication as a
   typed vote.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any, Final

from bot.adapters.base import Rejected
from bot.events import ChatKind, ChatRef, IncomingMessage, OutgoingMessage, Platform, UserRef

CARD_CHOICES: Final = {
    "赞成": "赞成",
    "反对": "反对",
    "弃权": "弃权",
    "yes": "赞成",
    "no": "反对",
    "abstain": "弃权",
}


def card_track_id(vote_id: int, chat: ChatRef) -> str:
    """`vote-<vote_id>-g<base64url(conversationId)>` (or `-u<staffId>` for a 1:1 chat)."""
    kind = "g" if chat.kind is ChatKind.GROUP else "u"
    encoded = base64.urlsafe_b64encode(chat.chat_id.encode()).decode("ascii").rstrip("=")
    return f"vote-{vote_id}-{kind}{encoded}"


def parse_track_id(track_id: str) -> tuple[int, ChatKind, str] | None:
    """The inverse of `card_track_id`; None for anything we did not make."""
    parts = track_id.split("-", 2)
    if len(parts) != 3 or parts[0] != "vote" or not parts[1].isascii() or not parts[1].isdigit():
        return None
    if len(parts[1]) > 18 or not parts[2] or parts[2][0] not in "gu":
        return None
    raw = parts[2][1:]
    try:
        chat_id = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    if not chat_id or not chat_id.isprintable():
        return None
    return int(parts[1]), ChatKind.GROUP if parts[2][0] == "g" else ChatKind.PRIVATE, chat_id


def card_params(message: OutgoingMessage) -> dict[str, str]:
    """The public card data: every value a string (platforms.md §2.5); never a secret choice."""
    card = message.card
    assert card is not None
    buttons = not card.closed and not card.secret
    return {
        "vote_id": str(card.vote_id),
        "title": card.title,
        "summary": card.summary,
        "status": "已结束" if card.closed else "进行中",
        "secret": "true" if card.secret else "false",
        "show_buttons": "true" if buttons else "false",
    }


def decode_card_click(data: str, *, corp_id: str, event_id: str, now: datetime) -> IncomingMessage:
    """A card button click (Stream topic /v1.0/card/instances/callback) becomes the text
    command `投票 <choice> 表决#<vote_id>` from the clicking member. `message_id` derives from
    the platform's event id, so a redelivered click is deduplicated like a message."""
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError):
        raise Rejected(400, "bad_json") from None
    if not isinstance(payload, dict):
        raise Rejected(400, "not_an_object")
    track = payload.get("outTrackId")
    user_id = payload.get("userId")
    corp = payload.get("corpId")
    content = payload.get("content")
    if not isinstance(track, str) or (parsed := parse_track_id(track)) is None:
        raise Rejected(400, "bad_field:outTrackId")
    if corp != corp_id:
        raise Rejected(403, "wrong_corp")
    if not isinstance(user_id, str) or not user_id.strip():
        raise Rejected(403, "no_staff_id")
    try:
        inner: Any = json.loads(content) if isinstance(content, str) else content
        params = inner["cardPrivateData"]["params"]
    except (ValueError, RecursionError, KeyError, TypeError):
        raise Rejected(400, "bad_field:content") from None
    if not isinstance(params, dict):
        raise Rejected(400, "bad_field:params")
    raw_choice = params.get("choice", params.get("option"))
    choice = CARD_CHOICES.get(raw_choice) if isinstance(raw_choice, str) else None
    if choice is None:
        raise Rejected(400, "bad_field:choice")
    vote_id, kind, chat_id = parsed
    chat = ChatRef(Platform.DINGTALK, corp_id, chat_id, kind)
    return IncomingMessage(
        platform=Platform.DINGTALK,
        chat=chat,
        sender=UserRef(Platform.DINGTALK, corp_id, user_id),
        text=f"投票 {choice} 表决#{vote_id}",
        message_id=f"card:{event_id}",
        received_at=now,
    )


def create_body(
    message: OutgoingMessage, *, track: str, template_id: str, robot_code: str
) -> dict[str, Any]:
    """Body of `POST /v1.0/card/instances/createAndDeliver`: the card into the message's chat,
    its clicks called back over Stream."""
    chat = message.chat
    body: dict[str, Any] = {
        "cardTemplateId": template_id,
        "outTrackId": track,
        "cardData": {"cardParamMap": card_params(message)},
        "callbackType": "STREAM",
    }
    if chat.kind is ChatKind.GROUP:
        at = {u.user_id: (u.name or u.user_id) for u in message.mentions}
        body["openSpaceId"] = f"dtv1.card//IM_GROUP.{chat.chat_id}"
        body["imGroupOpenSpaceModel"] = {"supportForward": False}
        body["imGroupOpenDeliverModel"] = {"robotCode": robot_code, "atUserIds": at}
    else:
        body["openSpaceId"] = f"dtv1.card//IM_ROBOT.{chat.chat_id}"
        body["imRobotOpenSpaceModel"] = {"supportForward": False}
        body["imRobotOpenDeliverModel"] = {"spaceType": "IM_ROBOT", "robotCode": robot_code}
    return body


def update_body(message: OutgoingMessage, *, track: str) -> dict[str, Any]:
    """Body of `PUT /v1.0/card/instances`: the card's data replaced key by key."""
    return {
        "outTrackId": track,
        "cardData": {"cardParamMap": card_params(message)},
        "cardUpdateOptions": {"updateCardDataByKey": True},
    }
