"""A reply longer than one message on its platform goes out in parts that each platform's own
encoder takes whole (a 31 KB 「纪要 全文」 had failed for good on DingTalk and been cut to 2 KB on
WeCom)."""

from __future__ import annotations

from bot.adapters.dingtalk import codec as dingtalk
from bot.adapters.wecom import codec as wecom
from bot.events import ChatKind, ChatRef, OutgoingMessage, Platform, UserRef
from bot.outbox import ID_CLOSE, ID_OPEN, in_parts, with_short_id

LINES = [
    f"{i}. 纪要备注：" + "会议讨论了年度工作安排和经费使用情况，" * (i % 40 + 1) for i in range(150)
]
TEXT = "\n".join(LINES)


def _message(platform: Platform) -> OutgoingMessage:
    chat = ChatRef(platform, "corp", "group-1", ChatKind.GROUP)
    return OutgoingMessage(
        chat=chat, text=TEXT, mentions=(UserRef(platform, "corp", "u1", "张伟"),)
    )


def _whole(parts: list[OutgoingMessage]) -> str:
    return "\n".join(p.text.split("\n", 1)[1] for p in parts)


def test_a_long_dingtalk_reply_goes_in_parts_each_sent_whole() -> None:
    assert len(TEXT.encode()) > 100_000
    parts = in_parts([_message(Platform.DINGTALK)])
    assert len(parts) > 1
    assert [p.text.split("\n", 1)[0] for p in parts] == [
        f"（第{k}/{len(parts)}段）" for k in range(1, len(parts) + 1)
    ]
    assert _whole(parts) == TEXT
    assert [bool(p.mentions) for p in parts] == [True] + [False] * (len(parts) - 1)
    for part in parts:
        sent = with_short_id(part, "a1b2")
        assert sent.text.endswith(f"{ID_OPEN}a1b2{ID_CLOSE}")
        dingtalk.encode_group_send(sent, robot_code="robot")  # raises MessageTooLarge if not
        dingtalk.encode_reply(sent)


def test_a_long_wecom_reply_goes_in_parts_none_cut_short() -> None:
    parts = in_parts([_message(Platform.WECOM)])
    # a line longer than a part (2 KB here) is cut inside: nothing of it is lost
    assert _whole(parts).replace("\n", "") == TEXT.replace("\n", "")
    for part in parts:
        sent = with_short_id(part, "a1b2")
        body = wecom.encode_webhook_text(sent)
        assert wecom.TRUNCATION_MARKER not in body["text"]["content"]


def test_a_short_reply_and_the_console_are_left_alone() -> None:
    short = OutgoingMessage(chat=ChatRef(Platform.DINGTALK, "c", "g", ChatKind.GROUP), text="好")
    console = OutgoingMessage(chat=ChatRef(Platform.CONSOLE, "c", "g", ChatKind.GROUP), text=TEXT)
    assert in_parts([short, console]) == [short, console]
