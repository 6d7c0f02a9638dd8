"""Study items (学习通报, not voted on) kept apart from the items the group decides: a major or
personnel item is never made a study item, by 「议题2改成学习」 as by 「议题2不需要表决」; a
new title that reads as study asks before the type changes; 「下一个议题」 comes back to a study
item the chair jumped over; after the meeting a study item's status says 学习通报 as its
minutes do; a study item is not deferred; 「议题3同意」 asks about a proposal only when item 3
is one."""

from __future__ import annotations

from storage import models
from tests.kit.console import MEMBERS, ConsoleRig, check_in_and_open, convene_and_open

TOPICS = (
    "年度工作总结；2027年经费预算（重大）；学习传达市党委全会精神；会员发展工作；换届人选（人事）"
)


async def _rows() -> tuple[int, int]:
    return await models.EventLog.all().count(), await models.Vote.all().count()


async def _matters() -> list[str]:
    return [it.matter_type for it in await models.AgendaItem.all().order_by("number")]


async def _vote(h: ConsoleRig, number: int) -> None:
    await h.say("张伟", f"发起表决 {number}")
    for name in MEMBERS:
        await h.say(name, "赞成")
    assert "结果：通过" in await h.say("张伟", "结束表决")


async def test_a_major_or_personnel_item_is_not_made_a_study_item(harness: ConsoleRig) -> None:
    """「议题2改成学习」 had made the major budget item 学习通报 (never voted on), which
    「议题2不需要表决」 refuses: both refuse it, in the same words, and write nothing."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", f"召开会议 2026-12-05 15:00 会议室 议题：{TOPICS}")
    before = await _rows()
    for said, number, kind in (
        ("议题2改成学习", 2, "重大事项"),
        ("议题5改为通报", 5, "人事事项"),
        ("把换届人选设为学习", 5, "人事事项"),
        ("议题2不需要表决", 2, "重大事项"),
    ):
        refused = (await h.say("张伟", said)).text
        assert refused.startswith(f"议题{number}「"), said
        assert f"是{kind}，须由小组集体讨论、表决决定（第七条），不能不表决" in refused, said
    assert await _rows() == before
    assert await _matters() == ["general", "major", "study", "general", "personnel"]
    changed = (await h.say("张伟", "议题1改成学习")).text  # a general item may be studied
    assert "已改为「年度工作总结」（学习通报，不表决）" in changed
    assert (await _matters())[0] == "study"


async def test_a_new_title_that_reads_as_study_asks_before_the_type_changes(
    harness: ConsoleRig,
) -> None:
    """「修改议题 4 学习…」 had kept a general item under a study title, to be voted on in
    silence: a new title never changes the type by itself; one that reads as study is asked
    about first (「是」 makes it a study item, 「（一般）」 only retitles it); a major item so
    retitled keeps its type, and the reply says it is still voted on."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", f"召开会议 2026-12-05 15:00 会议室 议题：{TOPICS}")
    before = await _rows()
    asked = (await h.say("张伟", "修改议题 4 学习会员发展工作文件")).text
    assert asked.startswith("新标题「学习会员发展工作文件」像是学习通报。改标题不改类型")
    assert "请发送「修改议题 4 学习会员发展工作文件（一般）」" in asked
    assert asked.endswith(
        "是否改为学习通报事项（不表决）？回复「是」或「修改议题 4 学习会员发展工作文件（学习）」确认。"
    )
    assert await _rows() == before  # asked, nothing changed
    done = (await h.say("张伟", "是")).text
    assert "已改为「学习会员发展工作文件」（学习通报，不表决）" in done
    assert (await _matters())[3] == "study"
    kept = (await h.say("张伟", "修改议题 1 通报年度工作总结（一般）")).text
    assert "已改为「通报年度工作总结」（一般事项）" in kept
    assert (await _matters())[0] == "general"
    renamed = (await h.say("张伟", "修改议题 2 通报2027年工作要点")).text
    assert "已改为「通报2027年工作要点」（重大事项）" in renamed
    assert renamed.endswith("类型没有改：仍是重大事项，仍须表决（第七条）。")
    assert (await _matters())[1] == "major"


async def test_next_comes_back_to_a_study_item_jumped_over(harness: ConsoleRig) -> None:
    """The chair takes item 4 before the study items 1 and 3: 「下一个议题」 had gone on past
    them (only an item after the one in hand was next). The lowest item not yet voted on or
    studied is next, whichever item the meeting is on."""
    h = harness
    await convene_and_open(
        h, "学习传达市党委全会精神；经费预算（重大）；通报会员发展情况；年度工作"
    )
    assert (await h.say("张伟", "讨论议题 4")).text.startswith("议题4「年度工作」")
    await _vote(h, 4)
    shown = (await h.say("张伟", "下一个议题")).text
    assert shown.startswith("议题1「学习传达市党委全会精神」（学习通报"), shown
    assert (await h.say("张伟", "下一个议题")).text.startswith("议题2「经费预算」")
    await _vote(h, 2)
    assert (await h.say("张伟", "下一个议题")).text.startswith("议题3「通报会员发展情况」")
    assert (await h.say("张伟", "下一个议题")).text.startswith("议程上的议题都已表决")


async def test_after_the_meeting_a_study_items_status_agrees_with_its_minutes(
    harness: ConsoleRig,
) -> None:
    """Closed, the status had said 未表决 of a study item where the minutes say 学习通报."""
    h = harness
    await convene_and_open(h, "学习传达市党委全会精神；年度工作")
    await _vote(h, 2)
    await h.say("张伟", "散会")
    status = (await h.say("张伟", "议题1现在什么状态")).text
    assert "议题1「学习传达市党委全会精神」（学习通报，不表决）：学习通报" in status
    assert "未表决" not in status
    assert "1. 学习传达市党委全会精神：学习通报" in await h.say("张伟", "纪要")


async def test_a_study_item_is_not_deferred(harness: ConsoleRig) -> None:
    """「暂缓 3 再学习」 had deferred a study item to the next meeting, to be voted on there:
    deferral is for items to be decided; refused, saying why, nothing written."""
    h = harness
    await convene_and_open(h, TOPICS)
    before = await _rows()
    refused = (await h.say("张伟", "暂缓 3 再学习")).text
    assert refused.startswith("议题3「学习传达市党委全会精神」是学习通报事项，不表决，不适用暂缓")
    assert await _rows() == before
    assert (await models.AgendaItem.get(number=3)).state == "accepted"
    # A ballot on it, or on an item deferred, says so (it had said 「发起表决 3」 would open one).
    said = (await h.say("李娜", "同意3")).text
    assert said.startswith("议题3「学习传达市党委全会精神」是学习通报事项，不表决"), said
    assert "暂缓决定" in await h.say("张伟", "暂缓 4 材料不全")
    said = (await h.say("李娜", "同意4")).text
    assert said.startswith("议题4「会员发展工作」已暂缓，转入下次会议再行表决"), said


async def test_item_n_agreed_asks_only_about_a_proposal(harness: ConsoleRig) -> None:
    """「议题3同意」 with no vote open had asked the leader whether to put item 3 on the agenda,
    whatever item 3 was: asked only of a member's proposal; otherwise what item 3 is."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作；学习传达市党委全会精神")
    await h.say("王强", "提议议题 会员发展工作")
    asked = (await h.say("张伟", "议题3同意")).text
    assert "是否把成员提议的议题列入议程？" in asked
    studied = (await h.say("张伟", "议题2同意")).text
    assert "列入议程" not in studied
    assert studied.startswith("议题2「学习传达市党委全会精神」是学习通报事项，不表决")
    listed = (await h.say("张伟", "议题1同意")).text
    assert "列入议程" not in listed
    assert listed.startswith("议题1还没有发起表决")
    refused = (await h.say("张伟", "议题2反对")).text  # a study item, not a proposal to turn down
    assert refused.startswith("议题2「学习传达市党委全会精神」是学习通报事项"), refused
    assert await models.AgendaItem.filter(state="rejected").count() == 0
    await check_in_and_open(h)
    await _vote(h, 1)
    done = (await h.say("张伟", "议题1同意")).text
    assert "列入议程" not in done
    assert done.startswith("目前没有正在进行的表决，这句话不记票。"), done
