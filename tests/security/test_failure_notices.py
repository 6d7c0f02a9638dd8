"""The committee admin as the attacker: every private message that fails for good is reported to
them (「【消息发送失败】…」), and they read the server's logs too. They must not learn any secret
ballot's receipt from either (with a receipt, 「查回执」 tells its choice: the admin would link a
voter and a choice), nor what else a private message said. Over the real WeCom adapter and the
fake WeCom, with the inbound queue (the replies go through the outbox), on both databases."""

from __future__ import annotations

import io
import re
from datetime import datetime

from bot.app import RUNTIME
from bot.clock import ManualClock
from bot.outbox import load_message
from storage import models
from storage import outbox as outbox_store
from storage.outbox import OutboxKind, OutboxState
from tests.kit.clock import TZ
from tests.kit.seed import WECOM_ADMIN, WECOM_USERS
from tests.kit.wecom.payloads import make_text_message
from tests.kit.wecom.rig import WeComRig, open_rig

MEMBERS = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏")
VOTERS = (*MEMBERS[1:], MEMBERS[0])
CHOICES = ("赞成", "赞成", "反对", "赞成", "弃权", "反对", "赞成")
RECEIPT = re.compile(r"回执\s*([0-9A-Za-z]{6,})")


async def settle(rig: WeComRig) -> None:
    """Every queued message applied, the outbox drained as far as it goes now."""
    runtime = rig.client.app[RUNTIME]
    assert runtime.inbox is not None
    while await runtime.inbox.depth():
        await runtime.inbox.drain()
    await runtime.delivery.sender.run_once()
    await runtime.delivery.sender.run_once()  # the alerts written by the first pass


async def say(rig: WeComRig, name: str, text: str, *, private: bool = False) -> None:
    """A member's message; a private one carries a response_url WeCom never issued, so that its
    reply cannot go back that way either."""
    userid = WECOM_USERS.get(name, name)
    if not private:
        await rig.say(userid, text)
    else:
        params, body = make_text_message(
            rig.settings,
            text,
            now=rig.clock.now(),
            userid=userid,
            chatid=None,
            msgid=rig.msgid(),
            response_url=rig.fake.response_url(rig.fake_base, "never-issued"),
        )
        await rig.post(params, body)
    await settle(rig)


async def test_an_admin_told_of_every_failed_send_learns_no_receipt(
    database: str, captured: io.StringIO
) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))

    def at(text: str) -> None:
        clock.set(datetime.fromisoformat(text).replace(tzinfo=TZ))

    async with open_rig(clock, inbound="queue") as (rig, _adapter):
        await say(rig, WECOM_ADMIN, "绑定学会 苏州市示例科技学会")
        await say(rig, WECOM_ADMIN, "绑定推送 fake-webhook-key")
        await say(rig, "张伟", "召开会议 2026-12-05 15:00 学会会议室 议题：推荐副组长人选（人事）")
        at("2026-12-05 14:50")
        for name in MEMBERS:
            await say(rig, name, "签到")
        at("2026-12-05 15:01")
        await say(rig, "张伟", "开会")
        await say(rig, "张伟", "发起表决 1")
        # From now on every private message fails for good at WeCom (the app is refused).
        rig.fake.http_status = 400
        for name, choice in zip(VOTERS, CHOICES, strict=True):  # the leader last (personnel)
            await say(rig, name, f"投票 {choice}", private=True)
        await say(rig, WECOM_ADMIN, "绑定推送 fake-webhook-key")  # a group reply still goes

        failed = await outbox_store.outbox_rows(state=OutboxState.FAILED)
        lost = [load_message(r.payload) for r in failed if r.kind is not OutboxKind.ALERT]
        receipts = {m for msg in lost for m in RECEIPT.findall(msg.text)}
        assert len(receipts) == len(MEMBERS), [m.text for m in lost]
        alerts = [
            load_message(r.payload).text
            for r in await outbox_store.outbox_rows()
            if r.kind is OutboxKind.ALERT
        ]
        told = "\n".join(alerts)
        # The admin is told of each lost receipt: to whom, and what kind of message.
        for name in MEMBERS:
            assert f"发往「{WECOM_USERS[name]}」的一条私聊消息（投票回执）" in told, told
        seen = told + captured.getvalue()
        assert captured.getvalue().strip()
        for receipt in receipts:
            assert receipt not in seen, receipt
        for choice in ("赞成", "反对", "弃权"):
            assert choice not in told, told
        assert "http://" not in told  # no link either (a response_url, a login link)
        stored = await models.OutboxMessage.all().values_list("payload", flat=True)
        assert not [p for p in stored if any(r in str(p) for r in receipts)]
