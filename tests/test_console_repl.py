"""The console as a person uses it (`yishi demo`): one prompt per line, the typed line echoed
after its prompt when the input is piped, `:as` only for people of the demo society, `:reset`
starting the demo afresh."""

from __future__ import annotations

import io

import pytest

from bot.adapters.console import ConsoleAdapter
from bot.app import Delivery, build_router, make_feed
from bot.clock import OffsetClock
from bot.console_commands import Repl
from bot.demo import SOCIETY, reset_demo
from storage import models, verify
from tests.kit.clock import TZ
from tests.kit.console import ConsoleRig

TYPED = [
    "召开会议 明天下午3点 会议室 议题：测试议题",
    ":as 李小明",
    ":as 李娜",
    "请假 出差",
    "",
    ":reset",
    "会议状态",
    "张伟: 召开会议 明天下午4点 会议室",
]


async def _run(h: ConsoleRig, lines: list[str]) -> str:
    out = io.StringIO()
    clock = OffsetClock()
    adapter = ConsoleAdapter(bot_name=h.settings.bot_name, clock=clock, out=out)
    delivery = Delivery([adapter], clock=clock, settings=h.settings)
    await adapter.start(make_feed(build_router(h.settings, clock), delivery))
    repl = Repl(adapter, h.settings, clock, inp=io.StringIO("\n".join(lines) + "\n"), out=out)
    await repl.run()
    return out.getvalue()


async def test_piped_lines_are_echoed_one_prompt_per_line(harness: ConsoleRig) -> None:
    shown = await _run(harness, TYPED)
    rows = shown.splitlines()
    prompts = [row for row in rows if "] > " in row]
    # Every line read has its own prompt, with what was typed after it; the end of input too.
    assert [p.split("] > ", 1)[1] for p in prompts] == [*TYPED, ""]
    assert all(row.count("] > ") == 1 for row in prompts)
    assert prompts[0].startswith("[张伟@群] > 召开会议")
    assert "【会议通知】" in shown
    assert "李娜已请假（出差）" in shown
    assert "[李娜@群] > 请假 出差" in rows


async def test_as_refuses_a_name_not_in_the_society(harness: ConsoleRig) -> None:
    shown = await _run(harness, [":as 李小明", ":as", "签到"])
    assert "示例学会里没有「李小明」。仍以张伟的身份发言。可选：张伟、李娜、王强" in shown
    assert "市党委刘老师" in shown
    assert "请写明要切换到谁" in shown
    assert "[张伟@群] > 签到" in shown  # still 张伟


async def test_one_line_as_someone_by_the_end_of_their_name(harness: ConsoleRig) -> None:
    """「刘老师(私聊): 待批」 speaks as 市党委刘老师 (the end of exactly one name); a private line
    of a name nobody has is not sent as 张伟's message."""
    shown = await _run(harness, ["刘老师(私聊): 待批", "李小明(私聊): 签到", "请假：身体不适"])
    assert "[议事 → 私聊 市党委刘老师]" in shown
    assert "没有待审批的成员调整" in shown
    assert "示例学会里没有「李小明」，这句没有发送。可选：张伟、李娜" in shown
    assert "没有听懂「李小明" not in shown
    assert "没有听懂「请假：身体不适" not in shown  # 「请假」 is no one's name: 张伟 says it


async def test_as_takes_the_end_of_exactly_one_name(harness: ConsoleRig) -> None:
    """「:as 刘老师」 switches to 市党委刘老师, as 「刘老师(私聊): …」 speaks as them."""
    shown = await _run(harness, [":as 刘老师", ":私聊", "待批"])
    assert "现在以市党委刘老师（" in shown
    assert "没有待审批的成员调整" in shown


async def test_a_group_line_as_someone_not_in_the_demo_says_so(harness: ConsoleRig) -> None:
    """「王芳: 好」 (王芳 is not in the demo) is sent as the current speaker's message, with a note
    that says so; 「请假: 出差」 is no one's name and gets no note."""
    shown = await _run(harness, ["王芳: 好", "请假: 出差"])
    assert "（示例学会里没有「王芳」，整句按张伟的发言发出；可选的人：张伟、李娜" in shown
    assert "没有「请假」" not in shown


async def test_reset_starts_the_demo_afresh(harness: ConsoleRig) -> None:
    shown = await _run(harness, [*TYPED[:4], ":time 2026-12-20 10:00", ":reset", "会议状态"])
    after = shown.split(":reset", 1)[1]
    assert f"已重新开始：示例学会「{SOCIETY}」是新的" in after
    assert "目前没有会议" in after
    assert "[张伟@群] > 会议状态" in after  # the speaker is back to the leader
    old, new = await models.Society.all().order_by("id")
    assert new.name == SOCIETY
    assert old.name.startswith(f"{SOCIETY}（第{old.id}号")
    assert await models.Meeting.filter(society_id=old.id).count() == 1  # kept as it was
    assert await models.Meeting.filter(society_id=new.id).count() == 0


async def test_after_a_reset_everyone_speaks_for_the_new_society(harness: ConsoleRig) -> None:
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    assert await reset_demo(h.clock.now(), TZ)
    # set aside through the seals: the old society checks out, and its recorder and liaison
    # no longer belong to it
    assert (await verify.run()).clean
    old = await models.Society.filter(name__contains="重置前").first()
    assert old is not None
    assert "2026-12-01 09:00:00重置前" in old.name  # local time, as everywhere else
    assert old.recorder_id is None  # type: ignore[attr-defined]
    assert old.liaison_id is None  # type: ignore[attr-defined]
    assert "目前没有会议" in await h.say("李娜", "会议状态")
    assert "【会议通知】" in await h.say("张伟", "召开会议 2026-12-06 15:00 会议室 议题：新议题")
    # A private message still finds the one society the member belongs to.
    assert "新议题" in await h.say("李娜", "会议状态", private=True)


def test_a_secret_ballot_card_shows_no_buttons() -> None:
    """As on the platforms (README: 无记名投票的卡片没有按钮): the console draws buttons on a named
    vote's open card only."""
    from bot.adapters.console import render
    from bot.events import ChatRef, OutgoingMessage, Platform, VoteCard

    chat = ChatRef(Platform.CONSOLE, "demo", "g")

    def card(*, secret: bool, closed: bool = False) -> str:
        shown = VoteCard(1, "议题1：预算", "已投 2/5", secret=secret, closed=closed)
        return render(OutgoingMessage(chat=chat, text="", card=shown), "议事")

    assert card(secret=False).endswith("[赞成] [反对] [弃权]")
    assert "[赞成]" not in card(secret=True)
    assert "[赞成]" not in card(secret=False, closed=True)


async def test_a_time_that_does_not_exist_is_said_so(harness: ConsoleRig) -> None:
    """「:time 2026-02-30」 had only repeated the format hint, as if the form were wrong. The
    console says which part does not exist and keeps its time; a script says the same."""
    shown = await _run(
        harness,
        [":time 2026-02-30", ":time 2026-13-01 09:00", ":time 2026-12-05 25:00", ":time 明天"],
    )
    assert "这个时间不存在（2026-02-30：2026年2月没有30日），控制台时间没有改。" in shown
    assert "这个时间不存在（2026-13-01 09:00：没有13月）" in shown
    assert "这个时间不存在（2026-12-05 25:00：没有25:00这个时刻）" in shown
    assert shown.count("时间格式：:time 2026-12-05 14:55") == 1  # 「明天」: the form is wrong
    assert "控制台时间已设为" not in shown
    from bot.adapters.console import ScriptError, parse_script

    with pytest.raises(ScriptError) as refused:
        list(parse_script(["@time 2026-02-29 09:00"]))
    assert str(refused.value) == "第1行：这个时间不存在：2026-02-29 09:00：2026年2月没有29日"
