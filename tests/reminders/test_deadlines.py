"""Vote deadlines and acknowledged notices (T17, T18): what the planner plans (pure), and the
reminders end to end through the demo society with an injected clock."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot import governance as g
from bot.config import ReminderSettings
from bot.events import Platform
from bot.reminders.draft import draft
from bot.reminders.plan import MeetingView, Planned, ReminderKind, SocietyView, VoteView, plan
from bot.reminders.service import ReminderService
from bot.workdays import Workdays
from storage import models, verify
from storage import reminders as reminder_store
from tests.kit.clock import TZ, FakeScheduler
from tests.kit.console import ConsoleRig
from tests.kit.sender import FakePlatform, sender_for

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)
MEMBERS = ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵敏")


def _meeting(state: g.MeetingState, **kw: object) -> MeetingView:
    base = MeetingView(
        id=12,
        number=3,
        starts_at=datetime(2026, 12, 9, 7, 0, tzinfo=UTC),
        state=state,
        closed_at=None,
        signed=False,
        answered=frozenset(),
        convened_at=datetime(2026, 12, 5, 1, 0, tzinfo=UTC),
        convened_by=1,
        chair_id=1,
        roster=(1, 2, 3, 4, 5),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def _vote(**kw: object) -> VoteView:
    base = VoteView(
        id=40,
        meeting_id=12,
        number=2,
        title="年度预算",
        method=g.VoteMethod.NAMED,
        opened_at=NOW,
        closes_at=NOW + timedelta(hours=1),
        voters=frozenset({1, 2, 3, 4}),
        voted=frozenset({1, 3}),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def _view(**kw: object) -> SocietyView:
    base = SocietyView(
        id=1,
        name="苏州市示例科技学会",
        created_at=datetime(2026, 1, 5, 2, 0, tzinfo=UTC),
        term_end=None,
        report_deadline="12-31",
        leader_ids=(1,),
        member_ids=(1, 2, 3, 4, 5),
        liaison_id=5,
        meetings=(),
        summary_filed=(),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def _of(items: list[Planned], kind: str) -> list[Planned]:
    return [p for p in items if p.kind == kind]


def test_vote_reminders_are_planned_from_the_deadline() -> None:
    view = _view(meetings=(_meeting(g.MeetingState.OPEN),), votes=(_vote(),))
    items = plan(view, ReminderSettings(), SH, Workdays(), NOW)
    (closing,) = _of(items, ReminderKind.VOTE_CLOSING)
    assert closing.due_at == NOW + timedelta(minutes=30)
    assert closing.expires_at == NOW + timedelta(hours=1)  # after the deadline: skipped
    (deadline,) = _of(items, ReminderKind.VOTE_DEADLINE)
    assert deadline.due_at == NOW + timedelta(hours=1)
    assert deadline.expires_at is None  # held for the chair whenever the bot comes back
    # The offset is configurable; a deadline closer than the offset gets no "closing" notice.
    items = plan(view, ReminderSettings(vote_closing_minutes=90), SH, Workdays(), NOW)
    assert _of(items, ReminderKind.VOTE_CLOSING) == []
    assert len(_of(items, ReminderKind.VOTE_DEADLINE)) == 1


def test_vote_closing_goes_to_those_who_have_not_voted() -> None:
    view = _view(meetings=(_meeting(g.MeetingState.OPEN),), votes=(_vote(),))
    (closing,) = _of(plan(view, ReminderSettings(), SH, Workdays(), NOW), ReminderKind.VOTE_CLOSING)
    d = draft(closing, view, SH, Workdays())
    assert not isinstance(d, str)
    assert d.audience.people == (2, 4)
    assert "还有30分钟" in d.text
    assert "2026-12-05 16:00截止" in d.text
    everyone = _view(meetings=view.meetings, votes=(_vote(voted=frozenset({1, 2, 3, 4})),))
    assert draft(closing, everyone, SH, Workdays()) == "有表决权的成员均已投票"
    hands = _view(meetings=view.meetings, votes=(_vote(method=g.VoteMethod.SHOW_OF_HANDS),))
    assert "举手表决" in str(draft(closing, hands, SH, Workdays()))
    closed = _view(meetings=view.meetings, votes=())
    assert draft(closing, closed, SH, Workdays()) == "表决已结束"


def test_vote_deadline_tells_the_chair_who_has_not_voted() -> None:
    view = _view(
        meetings=(_meeting(g.MeetingState.OPEN, chair_id=3),),
        votes=(_vote(),),
    )
    (deadline,) = _of(
        plan(view, ReminderSettings(), SH, Workdays(), NOW), ReminderKind.VOTE_DEADLINE
    )
    d = draft(deadline, view, SH, Workdays())
    assert not isinstance(d, str)
    assert d.audience.people == (3, 1)  # the chair, then the leader
    assert d.listed == (2, 4)
    assert "已投2/4" in d.text
    assert "不会自动结束" in d.text


def test_unacknowledged_notice_is_planned_within_the_window() -> None:
    convened = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
    far = _view(meetings=(_meeting(g.MeetingState.CONVENED),))
    (p,) = _of(plan(far, ReminderSettings(), SH, Workdays(), NOW), ReminderKind.NOTICE_UNACKED)
    assert p.due_at == convened + timedelta(hours=24)
    assert p.expires_at == datetime(2026, 12, 9, 7, 0, tzinfo=UTC)
    # Never later than an hour before the start.
    soon = _view(
        meetings=(_meeting(g.MeetingState.CONVENED, starts_at=convened + timedelta(hours=10)),)
    )
    (p,) = _of(plan(soon, ReminderSettings(), SH, Workdays(), NOW), ReminderKind.NOTICE_UNACKED)
    assert p.due_at == convened + timedelta(hours=9)
    cfg = ReminderSettings(notice_ack_hours=4, notice_ack_latest_hours=2)
    (p,) = _of(plan(soon, cfg, SH, Workdays(), NOW), ReminderKind.NOTICE_UNACKED)
    assert p.due_at == convened + timedelta(hours=4)
    # Convened less than an hour before the start: nothing to wait for.
    now_or_never = _view(
        meetings=(_meeting(g.MeetingState.CONVENED, starts_at=convened + timedelta(minutes=50)),)
    )
    assert (
        _of(
            plan(now_or_never, ReminderSettings(), SH, Workdays(), NOW), ReminderKind.NOTICE_UNACKED
        )
        == []
    )
    # A meeting already held plans nothing (a stored row is then skipped as gone).
    held = _view(meetings=(_meeting(g.MeetingState.OPEN),))
    assert (
        _of(plan(held, ReminderSettings(), SH, Workdays(), NOW), ReminderKind.NOTICE_UNACKED) == []
    )


def test_unacknowledged_notice_lists_who_has_not_answered() -> None:
    mt = _meeting(g.MeetingState.CONVENED, acked=frozenset({2}), answered=frozenset({3}))
    view = _view(meetings=(mt,))
    (p,) = _of(plan(view, ReminderSettings(), SH, Workdays(), NOW), ReminderKind.NOTICE_UNACKED)
    d = draft(p, view, SH, Workdays())
    assert not isinstance(d, str)
    assert d.audience.people == (1,)  # the leader
    assert d.listed == (4, 5)  # not the convener, not who acknowledged, checked in or asked leave
    everyone = _view(meetings=(replace(mt, acked=frozenset({2, 4, 5})),))
    assert draft(p, everyone, SH, Workdays()) == "全体成员已确认收到会议通知"


# ---------------------------------------------------------------------------------------------
# End to end through the demo society


def _service(h: ConsoleRig, scheduler: FakeScheduler | None = None) -> ReminderService:
    return ReminderService(
        h.settings,
        h.clock.now,
        instance="test",
        arm=(lambda at: scheduler.arm("reminders", at)) if scheduler else None,
    )


async def _open_vote(h: ConsoleRig, args: str) -> None:
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作；经费预算（重大）")
    h.at("2026-12-05 14:50")
    for name in MEMBERS[:6]:
        await h.say(name, "签到")
    h.at("2026-12-05 15:00")  # not before the announced time
    await h.say("张伟", "开会")
    h.at("2026-12-05 15:00")
    assert "截止时间" in await h.say("张伟", f"发起表决 {args}")


async def test_vote_closing_and_deadline_reminders(harness: ConsoleRig) -> None:
    h = harness
    await _open_vote(h, "1 记名 截止 16:30")
    await h.say("李娜", "赞成")
    await h.say("王强", "反对")
    svc = _service(h)
    await svc.sweep()
    before = len(h.adapter.sent)
    h.at("2026-12-05 16:00")
    await svc.sweep()
    assert h.delivery is not None
    await h.delivery.sender.run_once()
    closing = [m for m in h.adapter.sent[before:] if "【表决即将截止】" in m.text]
    assert sorted(m.private_to.name for m in closing if m.private_to) == [
        "刘洋",
        "张伟",
        "杨帆",
        "陈静",
    ]
    assert all("还有30分钟" in m.text for m in closing)
    await h.say("刘洋", "赞成")
    # T18: the clock jumps two hours past the deadline, then back: the poll stays open and the
    # chair is told once.
    h.at("2026-12-05 18:30")
    await svc.sweep()
    await h.delivery.sender.run_once()
    h.at("2026-12-05 16:40")
    await svc.sweep()
    await h.delivery.sender.run_once()
    h.at("2026-12-05 18:31")
    await svc.sweep()
    await h.delivery.sender.run_once()
    deadline = [m for m in h.adapter.sent if "【表决截止】" in m.text]
    assert len(deadline) == 1
    assert deadline[0].private_to is not None
    assert deadline[0].private_to.name == "张伟"
    assert "已投3/6，尚未投票：张伟、陈静、杨帆" in deadline[0].text
    (vote,) = await models.Vote.all()
    assert vote.state == "open"  # never closed by the clock
    assert "当前：赞成2、反对1" in await h.say("张伟", "计票")


async def test_closed_vote_skips_its_reminders(harness: ConsoleRig) -> None:
    h = harness
    await _open_vote(h, "1 截止 16:30")
    svc = _service(h)
    await svc.sweep()
    for name in MEMBERS[:6]:
        await h.say(name, "赞成")
    await h.say("张伟", "结束表决")
    h.at("2026-12-05 16:45")
    await svc.sweep()
    rows = {r.kind: r for r in await reminder_store.reminders() if r.ref.startswith("vote:")}
    assert rows[ReminderKind.VOTE_CLOSING].state == "skipped"
    assert rows[ReminderKind.VOTE_DEADLINE].state == "skipped"
    assert "表决已结束" in rows[ReminderKind.VOTE_CLOSING].reason
    assert not [m for m in h.adapter.sent if "【表决截止】" in m.text]


async def _unacknowledged_a_day_later(h: ConsoleRig, acked: tuple[str, ...]) -> ReminderService:
    """Convened on 1 December at 09:00, `acked` answer 收到 and 王强 asks for leave; the sweeps
    of then and a day later, and the sender delivering what they queued."""
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    for name in acked:
        await h.say(name, "收到")
    await h.say("王强", "请假 出差")
    svc = _service(h)
    await svc.sweep()
    h.at("2026-12-02 09:00")
    await svc.sweep()
    assert h.delivery is not None
    await h.delivery.sender.run_once()
    return svc


async def test_unacknowledged_notice_goes_to_the_leader(harness: ConsoleRig) -> None:
    h = harness
    await _unacknowledged_a_day_later(h, ("李娜",))
    (escalation,) = [m for m in h.adapter.sent if "【通知未确认】" in m.text]
    assert escalation.private_to is not None
    assert escalation.private_to.name == "张伟"
    assert "尚未回复「收到」、签到或请假：刘洋、陈静、杨帆、赵敏" in escalation.text


async def test_a_moved_meeting_waits_for_its_new_notice(harness: ConsoleRig) -> None:
    """改期 sends a new notice: a 收到 given before it answers the old one only. The leader is
    told again who has not acknowledged the new notice; leave still counts as an answer."""
    h = harness
    svc = await _unacknowledged_a_day_later(h, ("李娜", "刘洋", "陈静"))
    (first,) = [m for m in h.adapter.sent if "【通知未确认】" in m.text]
    assert "尚未回复「收到」、签到或请假：杨帆、赵敏" in first.text
    h.at("2026-12-02 10:00")
    notice = await h.say("张伟", "改期 2026-12-08 15:00 理由：组长出差")
    assert "这是新的通知，收到通知请回复「收到」。" in notice
    assert "已确认收到" in await h.say("刘洋", "收到")  # the new notice
    assert "会前一小时起可发送「签到」" in await h.say("杨帆", "收到")
    again = await h.say("杨帆", "收到")
    assert "已确认收到" in again
    assert "会前一小时起" not in again
    await svc.sweep()
    h.at("2026-12-03 10:00")
    await svc.sweep()
    await h.delivery.sender.run_once()
    _, second = [m for m in h.adapter.sent if "【通知未确认】" in m.text]
    assert second.private_to is not None
    assert second.private_to.name == "张伟"
    assert "尚未回复「收到」、签到或请假：李娜、陈静、赵敏" in second.text
    rows = [r for r in await reminder_store.reminders() if r.kind == ReminderKind.NOTICE_UNACKED]
    assert sorted(r.state for r in rows) == ["sent", "sent"]
    # 刘洋's acknowledgement was rewritten for the new notice under its seal: the record verifies.
    assert (await verify.run()).clean


async def test_cancelled_meeting_skips_the_escalation(harness: ConsoleRig) -> None:
    h = harness
    h.at("2026-12-01 09:00")
    await h.say("张伟", "召开会议 2026-12-05 15:00 会议室 议题：年度工作")
    svc = _service(h)
    await svc.sweep()
    await h.say("张伟", "取消会议 时间冲突")
    h.at("2026-12-02 09:00")
    await svc.sweep()
    (row,) = [r for r in await reminder_store.reminders() if r.kind == ReminderKind.NOTICE_UNACKED]
    assert row.state == "skipped"
    assert "会议已取消" in row.reason


async def test_silent_drops_are_escalated_to_the_leader_every_time(harness: ConsoleRig) -> None:
    """T17: the platform answers errcode 0 but drops messages. Members whose notice was
    dropped never answer; in every run the leader is told, within the window, exactly who."""
    h = harness
    assert h.delivery is not None
    h.delivery.background = True  # the sender below (dropping) delivers; the console does not
    rng = random.Random(17)
    leader = "张伟"
    fake = FakePlatform(
        h.clock,
        platform=Platform.CONSOLE,
        behaviour=lambda m: "ok" if m.private_to and m.private_to.name == leader else "drop",
    )
    sender = sender_for(fake)
    scheduler = FakeScheduler()
    svc = _service(h, scheduler)
    runs = 20
    h.at("2026-12-01 08:00")
    for run in range(runs):
        convened = h.clock.now() + timedelta(minutes=rng.randint(1, 600))
        h.clock.set(convened)
        starts = (convened + timedelta(hours=rng.randint(3, 96))).astimezone(TZ)
        starts = starts.replace(second=0, microsecond=0)  # as typed: to the minute
        reply = await h.say(leader, f"召开会议 {starts:%Y-%m-%d %H:%M} 会议室 议题：第{run}轮")
        assert "【会议通知】" in reply
        convened = h.clock.now()
        due = min(convened + timedelta(hours=24), starts - timedelta(hours=1))
        dropped = [n for n in MEMBERS[1:] if rng.random() < 0.5] or [rng.choice(MEMBERS[1:])]
        got_it = [n for n in MEMBERS[1:] if n not in dropped]
        # Those who got the notice answer at random moments before the escalation.
        for name in got_it:
            h.clock.set(convened + (due - convened) * rng.random() * 0.9)
            await h.say(name, rng.choice(["收到", "收到", "请假 出差"]))
        h.clock.set(convened)
        # The bot wakes at each armed instant (APScheduler) or, when that wake-up is lost,
        # at the next periodic sweep up to a minute later.
        told_at = None
        while h.clock.now() <= due + timedelta(minutes=2):
            await svc.sweep()
            await sender.run_once()
            mine = [
                (at, m)
                for at, m in fake.delivered
                if "【通知未确认】" in m.text and f"（{starts:%Y-%m-%d %H:%M}）" in m.text
            ]
            if mine:
                told_at, message = mine[0]
                break
            armed = [at for _, at in scheduler.armed if at > h.clock.now()]
            step = min(armed) if armed else h.clock.now() + timedelta(minutes=1)
            lost = rng.random() < 0.3
            h.clock.set(step + (timedelta(seconds=rng.randint(1, 59)) if lost else timedelta()))
        assert told_at is not None, f"run {run}: no escalation"
        assert due <= told_at <= due + timedelta(minutes=1), f"run {run}"
        assert message.private_to is not None
        assert message.private_to.name == leader
        listed = message.text.split("签到或请假：", 1)[1].split("。", 1)[0].split("、")
        assert sorted(listed) == sorted(dropped), f"run {run}"
        await h.say(leader, "取消会议 下一轮")
    escalations = [m for _, m in fake.delivered if "【通知未确认】" in m.text]
    assert len(escalations) == runs  # once per meeting
