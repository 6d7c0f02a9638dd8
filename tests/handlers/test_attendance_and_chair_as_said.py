"""Attendance and chairing as a society's half year in the group showed them: a leave named
for someone else refused at once, reasons without the 「我」 in front, a question after 「收到」
answered, lateness said ahead kept on the record, the leader's leave with the chair handed on
in one sentence, and the chair named as who chairs (each had been a question asked for
nothing, a reason read oddly in the minutes, a question left open, a note lost, half of what
was said done, or the wrong person told to act)."""

from __future__ import annotations

import pytest

from bot import utterance as u
from storage import models
from tests.kit.console import ConsoleRig, check_in_and_open

CONVENE = "召开会议 2026-12-05 15:00 学会会议室 议题：年度总结；经费预算（重大）"


async def _convened(h: ConsoleRig) -> None:
    h.at("2026-12-01 09:00")
    await h.say("张伟", CONVENE)


async def _reason(name: str) -> str:
    person = await models.Person.get(name=name)
    row = await models.Attendance.get(person_id=person.id)
    return row.reason


async def test_a_leave_named_for_another_is_refused_without_a_question(
    harness: ConsoleRig,
) -> None:
    """「杨帆请假 家里有事」 from 陈静 had been asked back (「是否请假？」) and refused only after
    her 「是」; now it is refused at once, the speaker is not put on leave, and a 「是」 after it
    confirms nothing. The speaker's own leave said the same way is still asked back."""
    h = harness
    await _convened(h)
    for said in ("杨帆请假 家里有事", "杨帆明天来不了，家里有事", "王强先请个假"):
        told = (await h.say("陈静", said)).text
        assert "是否请假" not in told, (said, told)
        assert told.startswith("这句话说的是"), (said, told)
        assert "须由本人发送「请假 理由」" in told, told
    assert "没有待确认的事项" in await h.say("陈静", "是")
    assert await models.Attendance.all().count() == 0
    told = (await h.say("杨帆", "杨帆明天来不了，家里有事")).text
    assert "是否请假" in told, told


async def test_a_leading_i_is_not_kept_in_the_reason(harness: ConsoleRig) -> None:
    """「我明天要出差，请假」 had been kept as 「我明天要出差」 in the leave list and the minutes;
    now 「明天要出差」. A 我 that is part of a word (我们, 我校, 我会) stays."""
    h = harness
    await _convened(h)
    await h.say("李娜", "我明天要出差，请假")
    assert (await h.say("李娜", "是")).text.startswith("李娜已请假（明天要出差）。")
    cases = {
        "王强": ("请假 我家里有事", "家里有事"),
        "刘洋": ("请假 我们单位要迎接检查", "我们单位要迎接检查"),
    }
    for name, (said, kept) in cases.items():
        assert (await h.say(name, said)).text.startswith(f"{name}已请假（{kept}）"), said
        assert await _reason(name) == kept, said
    assert await _reason("李娜") == "明天要出差"
    status = (await h.say("张伟", "会议状态")).text
    assert "李娜（明天要出差）" in status, status
    await check_in_and_open(h, present=("张伟", "陈静", "杨帆", "赵敏"))
    await h.say("张伟", "散会 现在")
    full = (await h.say("张伟", "纪要 全文")).text
    assert "李娜（明天要出差）" in full, full
    assert "王强（家里有事）" in full, full
    assert "刘洋（我们单位要迎接检查）" in full, full


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("我明天要出差", "明天要出差"),
        ("本人在外地出差", "在外地出差"),
        ("我爱人住院了", "爱人住院了"),
        ("我们单位要迎接检查", "我们单位要迎接检查"),
        ("我校有招生考试", "我校有招生考试"),
        ("我会那天有活动", "我会那天有活动"),
        ("我自己身体不适", "我自己身体不适"),
        ("我", "我"),
    ],
)
def test_the_speaker_in_front_of_a_reason(said: str, kept: str) -> None:
    assert u.reason_said(said) == kept


async def test_a_question_after_a_receipt_is_answered(harness: ConsoleRig) -> None:
    """「收到，几点开始？」 had been acknowledged with 「后面问的……没有回答」, 「收到 会议在哪」
    with nothing about the place; now the receipt is taken and the time and place are told."""
    h = harness
    await _convened(h)
    told = (await h.say("王强", "收到，几点开始？")).text
    assert told.startswith("王强已确认收到第1次会议"), told
    assert "没有回答" not in told, told
    assert "时间：2026年12月5日（星期六）15:00" in told, told
    assert "地点：学会会议室" in told, told
    told = (await h.say("刘洋", "收到 会议在哪")).text
    assert told.startswith("刘洋已确认收到第1次会议"), told
    assert "地点：学会会议室" in told, told
    acked = (await h.say("张伟", "会议状态")).text
    assert "已确认收到通知：王强、刘洋" in acked, acked


async def test_lateness_said_ahead_is_on_the_record(harness: ConsoleRig) -> None:
    """「我晚到半小时」「路上堵车，晚到十分钟」 had been answered and forgotten: the leader's status
    and the minutes knew nothing of it. Now it is kept: the status says who will be late and by
    how much; the late check-in counts toward the quorum from when it is made, and the minutes
    name who came late and what they said."""
    h = harness
    await _convened(h)
    h.at("2026-12-05 14:40")
    told = (await h.say("杨帆", "我晚到半小时")).text
    assert told.startswith("好的，杨帆会晚到（半小时）"), told
    told = (await h.say("赵敏", "路上堵车，晚到十分钟")).text
    assert told.startswith("好的，赵敏会晚到（十分钟）"), told
    status = (await h.say("张伟", "会议状态")).text
    assert "告知晚到：杨帆（约30分钟）、赵敏（约10分钟）" in status, status
    await check_in_and_open(h, present=("张伟", "李娜", "王强", "刘洋"))
    h.at("2026-12-05 15:25")
    told = (await h.say("杨帆", "签到")).text
    assert told.startswith("杨帆已签到（迟到）（5/7）"), told
    status = (await h.say("张伟", "会议状态")).text
    assert "迟到：杨帆（事先告知晚到约30分钟）" in status, status
    assert "告知晚到：赵敏（约10分钟）" in status, status
    await h.say("张伟", "散会 现在")
    full = (await h.say("张伟", "纪要 全文")).text
    assert "迟到：杨帆（事先告知晚到约30分钟）" in full, full
    assert "赵敏" in full


async def test_the_leaders_leave_and_the_chair_in_one_sentence(harness: ConsoleRig) -> None:
    """「我临时要去市里开会，来不了，请李娜主持」 from the leader had been asked as a leave only (the
    delegation kept in the reason); now the question names both, and the yes does both."""
    h = harness
    await _convened(h)
    told = (await h.say("张伟", "我临时要去市里开会，来不了，请李娜主持")).text
    assert "委托李娜主持" in told, told
    told = (await h.say("张伟", "是")).text
    assert told.startswith("张伟已请假（临时要去市里开会）。"), told
    assert "组长张伟委托李娜主持第1次会议" in told, told
    meeting = await models.Meeting.get(number=1)
    lina = await models.Person.get(name="李娜")
    assert meeting.chair_id == lina.id
    assert await _reason("张伟") == "临时要去市里开会"


async def test_a_delegation_refused_leaves_no_leave_behind(harness: ConsoleRig) -> None:
    """The chair handed on to a member who cannot chair: neither is recorded, and the reply
    says so."""
    h = harness
    await _convened(h)
    await h.say("王强", "请假 出差")
    await h.say("张伟", "我临时要去市里开会，来不了，请王强主持")
    told = (await h.say("张伟", "是")).text
    assert "王强已请假" in told, told
    assert "请假也没有记下" in told, told
    zhang = await models.Person.get(name="张伟")
    assert not await models.Attendance.filter(person_id=zhang.id).exists()


async def test_who_chairs_is_named(harness: ConsoleRig) -> None:
    """With 李娜 chairing, check-ins had said 「组长可宣布开会」; a former delegate's 「开会」 had
    got the generic 「只有组长或受委托主持会议的成员可以使用」; the leader on leave was told only
    to 「撤销请假」 (which withdraws nothing). Now the chair is named, the former delegate told
    the delegation ended and who chairs, and the leader told to check in or delegate."""
    h = harness
    await _convened(h)
    await h.say("张伟", "请假 去市里开会")
    told = (await h.say("张伟", "开会")).text
    assert "请发送「委托主持 @成员 理由」由其他成员主持" in told, told
    assert "请假不用撤销，会前一小时起发送「签到」" in told, told
    await h.say("张伟", "委托主持 @李娜 组长出差")
    h.at("2026-12-05 14:50")
    for name in ("王强", "刘洋", "陈静"):
        await h.say(name, "签到")
    told = (await h.say("赵敏", "签到")).text
    assert "已达法定人数，李娜（代为主持）可宣布开会" in told, told
    await h.say("李娜", "请假 临时有事")
    told = (await h.say("李娜", "开会")).text
    assert "只有组长或受委托主持会议的成员可以使用" not in told, told
    assert "受托主持第1次会议已结束，主持已回到组长张伟" in told, told
    told = (await h.say("杨帆", "签到")).text
    assert "组长可宣布开会" not in told, told
