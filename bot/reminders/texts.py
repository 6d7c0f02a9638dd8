"""The reminders' Chinese wording: the messages, the reasons a reminder is skipped, and the names
`yishi reminders` lists. Only wording here: which message goes to whom is decided in draft.py
and service.py, from plain values passed in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot import governance as g
from bot.reminders.plan import ReminderKind, ReminderState
from bot.workdays import Source

KIND_NAMES = {
    ReminderKind.MEETING_BEFORE: "会前提醒",
    ReminderKind.CHECKIN_OPEN: "签到开始",
    ReminderKind.MINUTES_UNSIGNED: "纪要待签发",
    ReminderKind.CADENCE: "半年会议提醒",
    ReminderKind.SUMMARY: "年度总结提醒",
    ReminderKind.SUMMARY_OVERDUE: "年度总结逾期",
    ReminderKind.TERM_END: "换届提醒",
    ReminderKind.VOTE_CLOSING: "表决即将截止",
    ReminderKind.VOTE_DEADLINE: "表决截止",
    ReminderKind.NOTICE_UNACKED: "通知未确认",
    ReminderKind.MEETING_LAPSED: "会议未召开",
}

# In a draft's text, replaced by the names of `Draft.listed` when the message is built.
NAMES = "\u3008名单\u3009"


def local_time(when: datetime, tz: ZoneInfo) -> str:
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def name_list(names: list[str]) -> str:
    return "、".join(names)


def addressed(names: list[str], text: str) -> str:
    """A group message naming people who cannot be @-mentioned (no identity there)."""
    return f"{name_list(names)}：{text}"


def for_committee(society: str, text: str) -> str:
    return f"（{society}）{text}"


# ---------------------------------------------------------------------------------------------
# Why a reminder is skipped (stored on its row, listed by `yishi reminders`)

SOCIETY_GONE = "学会已不存在"
NOBODY_TO_REACH = "没有可送达的对象（学会未绑定群，且收件人没有平台身份）"
MEETING_CANCELLED = "会议已取消"
MEETING_STARTED = "会议已召开"
ALL_ANSWERED = "全体成员已签到或请假"
ALL_ACKNOWLEDGED = "全体成员已确认收到会议通知"
VOTE_CLOSED = "表决已结束"
HANDS_NOT_CHASED = "举手表决由记录人录入结果，无需逐人提醒"
ALL_VOTED = "有表决权的成员均已投票"

# The plan no longer has the reminder: what changed, by kind.
_GONE = {
    ReminderKind.MEETING_BEFORE: "会议已取消、改期或已开始",
    ReminderKind.CHECKIN_OPEN: "会议已取消、改期或已开始",
    ReminderKind.MINUTES_UNSIGNED: "纪要已签发",
    ReminderKind.CADENCE: "期间已召开会议",
    ReminderKind.SUMMARY: "已报送年度总结或截止日已调整",
    ReminderKind.SUMMARY_OVERDUE: "已报送年度总结或截止日已调整",
    ReminderKind.TERM_END: "任期已调整",
    ReminderKind.VOTE_CLOSING: "表决已结束或截止时间已更改",
    ReminderKind.VOTE_DEADLINE: "表决已结束或截止时间已更改",
    ReminderKind.NOTICE_UNACKED: "会议已取消、改期或已召开",
    ReminderKind.MEETING_LAPSED: "会议已召开、改期或已取消",
}


def no_longer_planned(kind: str) -> str:
    return _GONE[ReminderKind(kind)] if kind in _GONE else "已不再需要"


def too_late(due: str, minutes: int) -> str:
    return f"已过时效：应于{due}发送，迟了{minutes}分钟"


# ---------------------------------------------------------------------------------------------
# The messages


def _hours(hours: int) -> str:
    return f"{hours // 24}天" if hours % 24 == 0 and hours >= 24 else f"{hours}小时"


def meeting_before(number: int, when: str, hours: int) -> str:
    return (
        f"【会议提醒】第{number}次领导小组会议将于{when}召开（还有{_hours(hours)}）。"
        "您尚未签到或请假：请按时参会，不能参加请发送「请假 原因」。"
    )


def checkin_open(number: int, when: str) -> str:
    return f"【签到】第{number}次领导小组会议（{when}）现在开始，尚未签到的成员请发送「签到」。"


def minutes_unsigned(number: int, when: str) -> str:
    return (
        f"【纪要待签发】第{number}次会议（{when}）已结束，会议纪要尚未签发。"
        "请组长审阅「纪要」后发送「签发」。"
    )


def meeting_lapsed(number: int, when: str) -> str:
    return (
        f"【会议未召开】第{number}次领导小组会议原定{when}召开，至今没有开会，这次通知已经过时，"
        "不能再按它开会或签到。请组长发送「改期 新时间」重新通知全体成员，或发送「取消会议 理由」。"
    )


def cadence(society: str, months: int, last_held: date | None, *, committee: bool) -> str:
    since = f"上次会议：{last_held.isoformat()}" if last_held is not None else "本届尚未召开会议"
    text = (
        f"【半年会议提醒】{society}已{months}个月未召开领导小组会议（{since}）。"
        "按工作规则原则上每半年至少召开一次，请尽快安排。"
    )
    if committee:
        text += "此提醒已同时告知市科技社团党委。"
    return text


def summary(society: str, year: int, deadline: date, note: str, days: int) -> str:
    left = "今天是截止日" if days == 0 else f"还有{days}天"
    return (
        f"【年度工作总结】{society}{year}年度工作总结（含党建工作部分）应于"
        f"{deadline.isoformat()}{note}前报送市科技社团党委，{left}。"
        f"报送方法：发送「年度总结 {year}年度工作总结」。"
    )


def summary_overdue(society: str, year: int, deadline: date) -> str:
    return f"【年度总结逾期】{society}尚未报送{year}年度工作总结（截止{deadline.isoformat()}）。"


def term_end(society: str, end: str, days: str) -> str:
    return (
        f"【换届提醒】{society}党建工作领导小组本届任期将于{end}届满"
        f"（还有{days}天），请与理事会换届同步做好领导小组调整的准备。"
    )


_HOW_TO_VOTE = {
    g.VoteMethod.NAMED: "请在群里发送「赞成」「反对」或「弃权」。",
    g.VoteMethod.SECRET: "请在与我的私聊中发送「投票 赞成」「投票 反对」或「投票 弃权」。",
    g.VoteMethod.SHOW_OF_HANDS: "",
}


def vote_closing(number: int, title: str, when: str, minutes: int, method: g.VoteMethod) -> str:
    return (
        f"【表决即将截止】议题{number}「{title}」的表决将于{when}截止（还有{minutes}分钟），"
        f"您尚未投票。{_HOW_TO_VOTE[method]}"
    )


def _deadline_head(number: int, title: str, when: str) -> str:
    return f"【表决截止】议题{number}「{title}」的表决截止时间（{when}）已到。"


_DEADLINE_TAIL = "表决不会自动结束：请主持人核对后发送「结束表决」。"


def vote_deadline_hands(number: int, title: str, when: str, *, recorded: bool) -> str:
    state = "已录入" if recorded else "尚未录入"
    return f"{_deadline_head(number, title, when)}举手结果{state}。{_DEADLINE_TAIL}"


def vote_deadline_all_voted(number: int, title: str, when: str, voters: int) -> str:
    return f"{_deadline_head(number, title, when)}有表决权的{voters}人均已投票。{_DEADLINE_TAIL}"


def vote_deadline_waiting(number: int, title: str, when: str, voted: int, voters: int) -> str:
    """Names those yet to vote where `NAMES` stands."""
    return (
        f"{_deadline_head(number, title, when)}已投{voted}/{voters}，尚未投票：{NAMES}。"
        f"{_DEADLINE_TAIL}"
    )


def notice_unacked(number: int, when: str) -> str:
    """Names those who did not acknowledge where `NAMES` stands."""
    return (
        f"【通知未确认】第{number}次领导小组会议（{when}）的通知发出后，"
        f"以下成员尚未回复「收到」、签到或请假：{NAMES}。"
        "平台可能没有送达通知，请电话或当面告知。"
    )


# ---------------------------------------------------------------------------------------------
# `yishi reminders`

STATE_NAMES = {
    ReminderState.PENDING: "待发送",
    ReminderState.PREPARED: "已备好，到时发出",
    ReminderState.SENT: "已发送",
    ReminderState.SKIPPED: "已跳过",
}
PLANNED = "计划中"
SOURCE_NAMES = {
    Source.CHINESECALENDAR: "国务院节假日安排",
    Source.HOLIDAYS: "法定节假日推算",
    Source.CONFIG: "配置的节假日",
    Source.WEEKDAYS: "周一至周五",
}


def decided_by(source: Source) -> str:
    """Which calendar decided whether a date-based reminder's day is a working day."""
    return f"（工作日依据：{SOURCE_NAMES[source]}）"


def listed(
    when: str, kind: str, ref: str, status: str, meetings: Mapping[int, int] | None = None
) -> str:
    name = KIND_NAMES[ReminderKind(kind)] if kind in KIND_NAMES else kind
    return f"{when}  {name}（{ref_text(ref, meetings or {})}）  {status}"


def ref_text(ref: str, meetings: Mapping[int, int]) -> str:
    """What a reminder is about, said plainly (its key is for the scheduler): 「2026:30d」 ->
    「2026年度，截止前30天」, 「meeting:12:24h」 -> 「第3次会议，会前24小时」 (`meetings`: meeting
    id -> its number), 「5m」 -> 「距上次开会满5个月」."""
    parts = ref.split(":")
    match parts:
        case [year, days] if year.isdigit() and days.endswith("d"):
            n = days[:-1]
            return f"{year}年度，截止当天" if n == "0" else f"{year}年度，截止前{n}天"
        case [year] if year.isdigit():
            return f"{year}年度"
        case [months] if months.endswith("m") and months[:-1].isdigit():
            return f"距上次开会满{months[:-1]}个月"
        case [end, days] if days.endswith("d") and end[:4].isdigit():
            return f"任期至{end}，提前{days[:-1]}天"
        case ["meeting", mid, *rest] if mid.isdigit():
            said = f"第{meetings[int(mid)]}次会议" if int(mid) in meetings else "会议"
            for extra in rest:
                if extra.endswith("h") and extra[:-1].isdigit():
                    said += f"，会前{extra[:-1]}小时"
                elif extra.isdigit():
                    said += f"，第{extra}次通知"
            return said
        case ["vote", vid] if vid.isdigit():
            return f"表决#{vid}"
    return ref


def stored_status(state: ReminderState, reason: str) -> str:
    name = STATE_NAMES[state]
    extra = f"：{reason}" if reason else ""
    return f"[{name}{extra}]"


def planned_status(shifted_from: date | None) -> str:
    moved = f"（原定{shifted_from.isoformat()}，遇节假日调整）" if shifted_from else ""
    return f"[{PLANNED}]{moved}"
