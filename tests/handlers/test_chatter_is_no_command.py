"""Chat that opens with a command's words, or tells of someone else, does nothing (each of these
had run the command: a summary filed, the chair delegated, a place changed, minutes signed, a
member recorded as leaving); said as meant, the commands still run."""

from __future__ import annotations

from storage import models
from tests.kit.console import ConsoleRig, convene_and_open

TOPICS = "2026年度工作总结；2027年经费预算（重大）"


async def _records() -> tuple[int, ...]:
    return (
        await models.Filing.all().count(),
        await models.AgendaItem.all().count(),
        await models.Attendance.all().count(),
        await models.Meeting.filter(state="cancelled").count(),
    )


async def test_remarks_before_the_meeting_change_nothing(harness: ConsoleRig) -> None:
    h = harness
    h.at("2026-12-01 09:00")
    summary = (await h.say("陈静", "年度总结：初稿已经写好了，明天发大家")).text
    assert summary.startswith("「初稿已经写好了」不像年度工作总结的标题，没有报送。")
    assert "是否向市科技社团党委报告重大问题" in await h.say("陈静", "请示一下组长，材料要打印几份")
    await h.say("张伟", f"召开会议 2026-12-09 15:00 学会三楼会议室 议题：{TOPICS}")
    before = await _records()
    for said in (
        "取消会议室预订的事情陈静跟一下",
        "请假的同志记得交书面意见",
        "请假要提前说哈",
        "补充议题材料我晚上发",
    ):
        assert "没有听懂" in await h.say("张伟", said), said
    assert "没有听懂" in await h.say("刘洋", "请假条我交给陈静了")
    errand = (await h.say("张伟", "委托陈静把会议材料打印一下，每人一份")).text
    assert errand.startswith("这句话像是请陈静办一件事，没有委托主持。")
    assert "请写明新的会议地点" in await h.say("张伟", "换个地方停车吧楼下满了")
    assert "请写明新的会议地点" in await h.say("张伟", "改在三楼还是四楼来着")
    h.at("2026-12-07 09:00")
    moved = (await h.say("张伟", "会议推迟半小时，王强那边堵车")).text
    assert "15:30" in moved
    assert "地点：学会三楼会议室" in moved
    h.at("2026-12-09 14:10")
    assert "没有听懂" in await h.say("陈静", "签到表放在前台了")
    assert await _records() == before
    meeting = await models.Meeting.get()
    assert (meeting.place, meeting.chair_id) == ("学会三楼会议室", meeting.convened_by_id)
    # said as meant, each still works
    h.at("2026-12-09 14:40")
    assert "陈静已签到" in await h.say("陈静", "签到签到")
    assert "已向市科技社团党委提交2026年度工作总结" in await h.say(
        "陈静", "年度总结 2026年度工作总结 全年开会两次"
    )


async def test_remarks_in_the_meeting_and_after_change_nothing(harness: ConsoleRig) -> None:
    h = harness
    await convene_and_open(h, TOPICS, present=("张伟", "李娜", "王强", "刘洋", "陈静"))
    left = (await h.say("张伟", "离席的同志表决不计入，大家注意")).text
    assert "没有听懂" in left
    told = (await h.say("刘洋", "离席 王强，他单位有急事")).text
    assert told.startswith("这句话说的是王强离席。")
    assert "是否" in await h.say("张伟", "暂缓一下，等王强回来再投")
    statuses = {a.status for a in await models.Attendance.all()}
    assert statuses == {"present"}
    assert await models.AgendaItem.filter(state="deferred").count() == 0
    await h.say("张伟", "散会 现在")
    for said in ("签字笔没水了", "签字板放哪了", "签字这块陈静负责"):
        assert "没有听懂" in await h.say("张伟", said), said
    assert await models.Meeting.filter(state="signed").count() == 0


async def test_a_leader_on_leave_does_not_open_and_a_private_hand_is_told(
    harness: ConsoleRig,
) -> None:
    """A leader on leave had opened and chaired the meeting (the minutes named him chair and on
    leave); a private 「赞成」 in a show of hands had been told to vote in the group, where it
    is refused too. A date with its weekday 「12月9日（周三）下午3点」 is read (it had asked for
    the hour); 「1同意 2同意」 with a leave are two opinions (they had been refused)."""
    h = harness
    h.at("2026-12-01 09:00")
    convened = (await h.say("张伟", f"召开会议 12月9日（周三）下午3点 三楼 议题：{TOPICS}")).text
    assert "2026年12月9日（星期三）15:00" in convened
    said = (await h.say("王强", "请假 家里有事 书面意见：1同意 2同意")).text
    assert "书面意见没有记下" not in said
    assert await models.WrittenOpinion.all().count() == 2
    await h.say("张伟", "请假 出差北京")
    h.at("2026-12-09 14:50")
    for name in ("李娜", "刘洋", "陈静", "杨帆"):
        await h.say(name, "签到")
    h.at("2026-12-09 15:00")
    refused = (await h.say("张伟", "开会")).text
    assert refused.startswith("张伟已请假（出差北京），不能主持本次会议，没有开会。")
    assert await models.Meeting.filter(state="open").count() == 0
    await h.say("张伟", "委托主持 @李娜 组长出差")
    assert "会议现在开始" in await h.say("李娜", "开会")
    await h.say("李娜", "举手表决 1")
    told = (await h.say("刘洋", "赞成", private=True)).text
    assert told.startswith("议题1是举手表决：请在会上举手，由记录人在群里录入举手结果")


async def test_the_leaders_role_passed_on_an_even_roster_needs_no_exception(
    harness: ConsoleRig,
) -> None:
    """With six members after a removal, making another member the leader keeps six: no
    exception is needed (it had been refused as 双数 without 特批)."""
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "提议免去 @赵敏 调动")
    await h.say("市党委刘老师", "批准 1", private=True)
    await h.say("张伟", "提议组长 @李娜 副理事长 工作调整")
    done = (await h.say("市党委刘老师", "批准 2", private=True)).text
    assert done.startswith("已批准 #2")
    leader = await models.Member.get(roster_role="leader").prefetch_related("person")
    assert leader.person.name == "李娜"


async def test_what_is_only_talked_about_or_taken_back_is_not_done(harness: ConsoleRig) -> None:
    """Each had been done: the minutes signed and locked while a change was asked for, a filing
    sent to the committee from a remark, a recorder and a liaison changed while talked over, an
    item deferred and a request approved though the words took them back, a removal approved
    by 「嗯」 after 「我再了解一下」. A 请示 that asks the committee something is still filed."""
    h = harness
    await convene_and_open(h, "年度工作总结；经费预算（重大）；换届人选（人事）")
    assert "没有听懂" in await h.say("张伟", "暂缓 3，不对，是第2项")
    assert await models.AgendaItem.filter(state="deferred").count() == 0
    await h.say("张伟", "散会 现在")
    for said in ("同意签发，但是赵敏的意见要加上", "签发，赵敏的意见周婷补一下"):
        assert "所以没有签发" in await h.say("张伟", said), said
    assert await models.Meeting.filter(state="signed").count() == 0
    h.at("2026-12-20 10:00")
    society = await models.Society.get()
    for said in ("记录人改为刘洋，大家看行不行", "联系人换成刘洋的话要不要跟市里说一声"):
        assert "这句话是在商量" in await h.say("张伟", said), said
    assert "没有听懂" in await h.say("张伟", "设置记录人 @刘洋，哦不对是杨帆")
    assert (await models.Society.get()).recorder_id == society.recorder_id
    assert (await models.Society.get()).liaison_id == society.liaison_id
    for said in (
        "报告 张组长，市里来电话了",
        "备案：材料我下周准备好",
        "备案 工作规则我找不到了，谁有电子版",
    ):
        answer = (await h.say("陈静", said)).text
        assert "没有提交" in answer or answer.startswith("是否"), said
    assert await models.Filing.all().count() == 0
    filed = (await h.say("陈静", "请示 关于换届时间的请示 换届能否推迟到明年？")).text
    assert filed.startswith("已向市科技社团党委提交重大问题请示报告")
    await h.say("张伟", "提议免去 @赵敏 工作调动")
    held = (await h.say("市党委刘老师", "免去赵敏的事我再了解一下", private=True)).text
    assert held.startswith(
        "好的，申请 #1（苏州市示例科技学会：免去赵敏的领导小组成员职务）暂不审批"
    )
    assert "好的" in await h.say("市党委刘老师", "嗯", private=True)
    assert "没有待审批的" not in await h.say("市党委刘老师", "批准 2，不对，是1号", private=True)
    assert [c.status for c in await models.RosterChange.all()] == ["pending"]
