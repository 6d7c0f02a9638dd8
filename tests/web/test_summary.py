"""「报送情况」 in the chat: counts, the societies most in need of attention, the filings to
acknowledge, the 工作台 hint, in one message of at most 2,000 bytes (UTF-8)."""

from __future__ import annotations

from datetime import datetime

from handlers.workbench import CHAT_LIMIT, HINT
from tests.kit.clock import TZ
from tests.web.conftest import Web
from tests.web.seed import Facts, society

ADMIN = "市党委刘老师"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)


async def test_the_summary_fits_one_message_with_many_societies(webapp: Web) -> None:
    h = webapp.harness
    long = "苏州市" + "人工智能与先进制造产业技术创新" * 3
    for i in range(100):
        await society(
            Facts(
                name=f"{long}学会{i:03d}",
                months_ago=None if i % 2 else 7 + i % 5,
                rules=i % 3 == 0,
                pending_filings=1 + i % 2,
                pending_changes=int(i % 4 == 0),
                roster=6 if i % 5 == 0 else 7,
            ),
            NOW,
        )
    text = (await h.say(ADMIN, "报送情况", private=True)).text
    assert len(text.encode("utf-8")) <= CHAT_LIMIT
    assert text.startswith("报送与备案情况（共 101 个学会）：")
    assert "工作制度：已备案 34 个，未备案 67 个" in text
    assert "待确认收到：150 件（重大问题报告 150）" in text
    assert "待审批成员调整：25 件" in text
    assert "超过半年未开会：100 个学会" in text
    assert "最需关注：" in text
    assert "1. " in text
    assert "另有" in text
    assert text.endswith(HINT)
    # The same in a group the committee is in.
    assert len((await h.say(ADMIN, "报送情况")).text.encode("utf-8")) <= CHAT_LIMIT


async def test_a_small_summary_lists_everything(webapp: Web) -> None:
    h = webapp.harness
    await h.say("陈静", "备案 议事规则 经第1次会议通过")
    await h.say("陈静", "报告 关于换届的请示 明年换届")
    text = (await h.say(ADMIN, "报送情况", private=True)).text
    assert "共 1 个学会" in text
    assert "待确认收到：2 件（工作制度备案 1、重大问题报告 1）" in text
    assert (
        "待确认（发送「确认收到 编号」）：#1 苏州市示例科技学会「议事规则」；#2 苏州市示例科技学会「关于换届的请示」"
        in text
    )
    assert "另有" not in text
    assert "只有市科技社团党委管理员" in await h.say("张伟", "报送情况")
