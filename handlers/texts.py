"""Chinese words for the governance vocabulary, and the replies to refusals."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from bot import governance as g
from bot.timeparse import format_when

MATTER = {
    g.MatterType.GENERAL: "一般事项",
    g.MatterType.MAJOR: "重大事项",
    g.MatterType.PERSONNEL: "人事事项",
    g.MatterType.DISCIPLINE: "处分事项",
    g.MatterType.DOCUMENT: "文件把关",
    g.MatterType.STUDY: "学习通报，不表决",
}
MATTER_WORDS: dict[str, g.MatterType] = {
    "一般": g.MatterType.GENERAL,
    "一般事项": g.MatterType.GENERAL,
    "重大": g.MatterType.MAJOR,
    "重大事项": g.MatterType.MAJOR,
    "三重一大": g.MatterType.MAJOR,
    "人事": g.MatterType.PERSONNEL,
    "人事事项": g.MatterType.PERSONNEL,
    "干部任免": g.MatterType.PERSONNEL,
    "处分": g.MatterType.DISCIPLINE,
    "处分事项": g.MatterType.DISCIPLINE,
    "纪律": g.MatterType.DISCIPLINE,
    "文件": g.MatterType.DOCUMENT,
    "文件把关": g.MatterType.DOCUMENT,
    "学习": g.MatterType.STUDY,
    "通报": g.MatterType.STUDY,
    "传达": g.MatterType.STUDY,
    "学习通报": g.MatterType.STUDY,
    "学习传达": g.MatterType.STUDY,
    "传达学习": g.MatterType.STUDY,
    "学习事项": g.MatterType.STUDY,
    "通报事项": g.MatterType.STUDY,
    "不表决": g.MatterType.STUDY,
}
METHOD = {
    g.VoteMethod.NAMED: "记名表决",
    g.VoteMethod.SHOW_OF_HANDS: "举手表决",
    g.VoteMethod.SECRET: "无记名投票",
}
METHOD_WORD = {  # as the chair writes it after 发起表决
    g.VoteMethod.NAMED: "记名",
    g.VoteMethod.SHOW_OF_HANDS: "举手",
    g.VoteMethod.SECRET: "无记名",
}
METHOD_WORDS: dict[str, g.VoteMethod] = {
    "记名": g.VoteMethod.NAMED,
    "记名表决": g.VoteMethod.NAMED,
    "举手": g.VoteMethod.SHOW_OF_HANDS,
    "举手表决": g.VoteMethod.SHOW_OF_HANDS,
    "无记名": g.VoteMethod.SECRET,
    "无记名投票": g.VoteMethod.SECRET,
    "不记名": g.VoteMethod.SECRET,
    "秘密": g.VoteMethod.SECRET,
}
CHOICE = {g.Choice.YES: "赞成", g.Choice.NO: "反对", g.Choice.ABSTAIN: "弃权"}
CHOICE_WORDS: dict[str, g.Choice] = {
    "赞成": g.Choice.YES,
    "同意": g.Choice.YES,
    "反对": g.Choice.NO,
    "不同意": g.Choice.NO,
    "弃权": g.Choice.ABSTAIN,
}
OUTCOME = {
    g.Outcome.PASSED: "通过",
    g.Outcome.NOT_PASSED: "未通过",
    g.Outcome.NO_QUORUM: "未达法定人数，不作决定",
    g.Outcome.DEFERRED: "暂缓决定",
}
ATTENDANCE = {
    g.Attendance.UNKNOWN: "未回复",
    g.Attendance.PRESENT: "出席",
    g.Attendance.LATE: "迟到",
    g.Attendance.LEAVE: "请假",
    g.Attendance.ABSENT: "缺席",
    g.Attendance.LEFT: "中途离席",
}
MEETING_STATE = {
    g.MeetingState.DRAFT: "筹备中",
    g.MeetingState.CONVENED: "已通知",
    g.MeetingState.OPEN: "进行中",
    g.MeetingState.CLOSED: "已散会，纪要待签发",
    g.MeetingState.SIGNED: "纪要已签发",
    g.MeetingState.CANCELLED: "已取消",
}
ITEM_STATE = {
    g.ItemState.PROPOSED: "待组长确定",
    g.ItemState.ACCEPTED: "已列入议程",
    g.ItemState.REJECTED: "未列入",
    g.ItemState.VOTING: "表决中",
    g.ItemState.DECIDED: "已表决",
    g.ItemState.DEFERRED: "暂缓",
}
# A meeting that has ended (散会, then signed) voted on its agenda or did not: an item still only
# on the agenda was not voted on, as its minutes say.
_ENDED = frozenset({g.MeetingState.CLOSED, g.MeetingState.SIGNED})


def item_state(state: g.ItemState, meeting: g.MeetingState, matter: g.MatterType) -> str:
    """An item's state in words, as of its meeting's state: once it ended, one still only on
    the agenda as its minutes say it (学习通报 for a study item, else 未表决)."""
    if state is g.ItemState.ACCEPTED and meeting in _ENDED:
        return "学习通报" if matter in g.NOT_VOTED else "未表决"
    return ITEM_STATE[state]


READING = {g.Reading.STRICT: "超过", g.Reading.INCLUSIVE: "达到"}
DEFERRAL = {
    g.DeferralReason.DISSENT: "反对和弃权票达到出席成员的三分之一以上，意见分歧较大",
    g.DeferralReason.MARGIN: "赞成与反对票数相差不超过一票，意见分歧较大",
    g.DeferralReason.BY_HAND: "主持人决定暂缓",
}
POSITION = {
    g.CouncilPosition.PRESIDENT: "理事长",
    g.CouncilPosition.VICE_PRESIDENT: "副理事长",
    g.CouncilPosition.DIRECTOR: "理事",
    g.CouncilPosition.NONE: "",
}
ROSTER_ISSUE = {
    g.RosterIssue.EMPTY: "名单为空",
    g.RosterIssue.TOO_LARGE: "人数超过7人",
    g.RosterIssue.EVEN: "人数为双数（应为单数）",
    g.RosterIssue.NO_LEADER: "没有组长",
    g.RosterIssue.SEVERAL_LEADERS: "组长多于一人",
    g.RosterIssue.LEADER_NOT_PARTY_MEMBER: "组长应为中共党员",
    g.RosterIssue.LEADER_NOT_ELIGIBLE: "组长应由党员理事长担任；理事长非党员时，从党员副理事长中产生",
}
NEED = {
    g.Need.ANYONE: "所有人",
    g.Need.MEMBER: "领导小组成员",
    g.Need.CHAIR: "组长或受委托主持会议的成员",
    g.Need.LEADER: "组长",
    g.Need.RECORDER: "记录人",
    g.Need.REPORTER: "组长或党建联系人",
    g.Need.ROSTER: "组长或市科技社团党委管理员",
    g.Need.COMMITTEE: "市科技社团党委管理员",
}


def secret_box_summary(box: list[list[str]]) -> str:
    """A closed secret vote's box as announced: how many ballots and how a voter checks theirs.
    A box closed before receipts were kept as digests lists its receipts."""
    if all(len(entry) == 8 for entry, _ in box):
        return "、".join(f"{rc}={CHOICE[g.Choice(c)]}" for rc, c in box)
    return f"共{len(box)}张选票均已计入，投票人可私聊我发送「查回执 回执号」核对自己的一张"


def secret_box_text(box: list[list[str]]) -> str:
    return f"无记名投票回执：{secret_box_summary(box)}。"


def share_text(share: Fraction) -> str:
    return {Fraction(1, 2): "半数", Fraction(2, 3): "三分之二", Fraction(1, 3): "三分之一"}.get(
        share, f"{share.numerator}/{share.denominator}"
    )


def quorum_next(q: g.QuorumCheck, state: g.MeetingState, opens: str = "组长可宣布开会") -> str:
    """Where the check-ins stand against the quorum: 「还需2人签到才达到法定人数」, or met (before
    the opening, who may open: `opens`, the chair named by common.who_opens)."""
    if not q.met:
        return f"还需{q.needed - q.present}人签到才达到法定人数"
    return f"已达法定人数，{opens}" if state is g.MeetingState.CONVENED else "已达法定人数"


def quorum_text(q: g.QuorumCheck) -> str:
    rule = f"{READING[q.threshold.reading]}{share_text(q.threshold.share)}"
    text = f"应到{q.base}人，实到{q.present}人，需{rule}即至少{q.needed}人"
    if q.readings_disagree:
        other = READING[q.threshold.other().reading]
        verdict = "达到" if q.other_reading_met else "达不到"
        text += f"（注意：若按「{other}{share_text(q.threshold.share)}」理解则{verdict}法定人数，本次按「{rule}」执行）"
    return text


def when(dt: datetime, tz: ZoneInfo) -> str:
    return format_when(dt, tz)


def day(d: date) -> str:
    """「2026年12月31日」"""
    return f"{d.year}年{d.month}月{d.day}日"


def vote_deadline_text(closes_at: datetime, tz: ZoneInfo) -> str:
    return (
        f"截止时间：{when(closes_at, tz)}。截止前会提醒尚未投票的成员；"
        "到时表决不会自动结束，由主持人发送「结束表决」。"
    )


def card_summary(cast: int, voters: int, closes_at: datetime | None, tz: ZoneInfo) -> str:
    """The vote card's summary line: the count, and the deadline when one was set."""
    text = f"已投 {cast}/{voters}"
    if closes_at is not None:
        text += f"，截止 {closes_at.astimezone(tz):%m-%d %H:%M}"
    return text


def vote_status_deadline(closes_at: datetime, now: datetime, tz: ZoneInfo) -> str:
    if closes_at > now:
        return f"截止时间：{when(closes_at, tz)}。"
    return f"截止时间{when(closes_at, tz)}已过，请主持人发送「结束表决」。"


NOTICE_ACK_HINT = "收到通知请回复「收到」。"

# Free text as typed, bounded: a reason (请假, 离席, 列席, 驳回, 取消, 委托, 紧急) at most
# REASON_MAX characters; a written opinion is stored whole up to OPINION_MAX (the minutes and
# the record keep all of it); the group sees an echo of at most ECHO_MAX characters.
REASON_MAX = 500
OPINION_MAX = 2000
NOTES_MAX = 2000
ECHO_MAX = 40


def echo(text: str, limit: int = ECHO_MAX) -> str:
    """What the group sees of a member's free text: the text itself when short, else its
    beginning and how long the whole is (「出差在外……（共620字）」)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return f"{text[:limit]}……（共{len(text)}字）"


# A ballot's receipt names its item briefly: the title up to this many characters.
TAG_MAX = 12


def item_tag(number: int, title: str) -> str:
    """An item as a ballot's receipt names it, 「议题1 年度工作计划」 (a long title cut short):
    the voter sees which item the ballot went to."""
    short = title if len(title) <= TAG_MAX else f"{title[: TAG_MAX - 1]}…"
    return f"议题{number} {short}"


def too_long(what: str, length: int, limit: int) -> str:
    return f"{what}最多{limit}字，这条有{length}字，没有记录。请精简后重新发送。"


def render_need(need: g.Need) -> str:
    return NEED[need]


# Each meeting state in plain words, and the command that moves the meeting on from it.
MEETING_STATE_PLAIN = {
    g.MeetingState.DRAFT: "会议还在筹备，尚未发出通知",
    g.MeetingState.CONVENED: "会议已发出通知，还没有开始",
    g.MeetingState.OPEN: "会议正在进行",
    g.MeetingState.CLOSED: "会议已散会，纪要还没有签发",
    g.MeetingState.SIGNED: "会议已结束，纪要已签发并锁定",
    g.MeetingState.CANCELLED: "会议已取消",
}
CONVENE_HINT = "组长发送「召开会议 时间 地点 议题：…」召集新的会议"
MEETING_NEXT = {
    g.MeetingState.DRAFT: CONVENE_HINT,
    g.MeetingState.CONVENED: (
        "成员会前一小时起发送「签到」，达到法定人数后组长（或受委托的主持人）发送「开会」宣布开会"
    ),
    g.MeetingState.OPEN: (
        "主持人发送「发起表决 议题编号」逐项表决，议题表决完后发送「散会」结束会议"
    ),
    g.MeetingState.CLOSED: "组长发送「纪要」核对草稿后发送「签发」签发纪要",
    g.MeetingState.SIGNED: CONVENE_HINT,
    g.MeetingState.CANCELLED: CONVENE_HINT,
}
ITEM_STATE_PLAIN = {
    g.ItemState.PROPOSED: "这个议题还是成员的提议，尚未列入议程",
    g.ItemState.ACCEPTED: "这个议题已列入议程，还没有开始表决",
    g.ItemState.REJECTED: "这个议题未列入议程",
    g.ItemState.VOTING: "这个议题正在表决",
    g.ItemState.DECIDED: "这个议题已经表决，结果已记录",
    g.ItemState.DEFERRED: "这个议题已暂缓决定",
}
ITEM_NEXT = {
    g.ItemState.PROPOSED: "组长发送「同意议题 议题编号」列入议程，或「驳回议题 议题编号 理由」",
    g.ItemState.ACCEPTED: "会议开始后，主持人发送「发起表决 议题编号」",
    g.ItemState.REJECTED: "如需再议，成员可重新发送「提议议题 标题」",
    g.ItemState.VOTING: "出席成员发送「赞成」「反对」或「弃权」，投完后主持人发送「结束表决」",
    g.ItemState.DECIDED: "发送「计票」查看结果；表决结果不能更改",
    g.ItemState.DEFERRED: "组长发送「召开会议 时间 地点」召集下次会议时，它会自动列入议程，再行表决",
}


def meeting_state_refusal(state: g.MeetingState) -> str:
    """A state refusal: the meeting's state in plain words, and the command that moves it on."""
    return f"{MEETING_STATE_PLAIN[state]}，这条指令现在用不了。下一步：{MEETING_NEXT[state]}。"


def checkin_opens(opens_at: datetime, tz: ZoneInfo) -> str:
    return f"现在还不能签到：签到从会前一小时（{when(opens_at, tz)}）开始，到时请再发送「签到」。"


def roster_invalid(d: Mapping[str, object]) -> str:
    """What a roster would break (ROSTER_INVALID's details): 「调整后的名单不符合工作规则：…。」"""
    issues: object = d.get("issues", [])
    listed = issues if isinstance(issues, list | tuple | frozenset | set) else []
    names = "、".join(ROSTER_ISSUE[i] for i in listed if isinstance(i, g.RosterIssue))
    return f"调整后的名单不符合工作规则：{names}。"


def render_refusal(exc: g.GovernanceError) -> str:
    """Every refusal says why in plain words and what can be done next (who, which command,
    when)."""
    d = exc.details
    match exc.refusal:
        case g.Refusal.ILLEGAL_TRANSITION:
            return _illegal(d)
        case g.Refusal.NO_QUORUM:
            q = d.get("quorum")
            detail = quorum_text(q) if isinstance(q, g.QuorumCheck) else ""
            return f"未达到法定人数，不能继续。{detail}。请未签到的成员发送「签到」，人数够了再试。"
        case g.Refusal.NOT_ON_ROSTER:
            return (
                "您不在本次会议的应到会成员名单中（以召开会议时的名单为准），不能表决。"
                "名单的调整从下次会议起生效；发送「名单」查看领导小组成员。"
            )
        case g.Refusal.OBSERVER_CANNOT_VOTE:
            return "列席人员不参加表决，也不计入法定人数。您可以在会上发表意见，由记录人写入纪要。"
        case g.Refusal.NOT_PRESENT:
            # the electorate is fixed when the vote opens: one who checked in later waits
            return (
                "本项表决开始时您不在出席名单中（没有签到，或在表决开始后才签到），不能参加本项表决，"
                "可参加之后的表决。还没签到的，请发送「签到」。"
            )
        case g.Refusal.LEFT_MEETING:
            return (
                "您已中途离席，不能再参加表决（离席前已投的票仍然有效）。"
                "回到会场的，请先发送「签到」，再参加之后的表决。"
            )
        case g.Refusal.LEADER_HAS_SPOKEN:
            return (
                "人事事项由组长最后表态，组长已经投票，其他成员不能再投票，本条未计票。"
                "主持人发送「结束表决」公布结果。"
            )
        case g.Refusal.MEETING_STALE:
            return (
                f"会议开始已超过{d['hours']}小时，当时的签到已不能说明现在谁在场，本条未计票。"
                "请主持人发送「结束表决」公布结果，或「散会」结束本次会议。"
            )
        case g.Refusal.RECUSED:
            return "您已就本议题回避，不参加表决；其他议题照常表决。"
        case g.Refusal.VOTE_CLOSED:
            return "该表决已经结束，不能再投票。发送「计票」查看结果。"
        case g.Refusal.VOTE_CHANGE_NOT_ALLOWED:
            return "您已投过票，本次表决不允许改票，以第一次投票为准。发送「计票」查看进度。"
        case g.Refusal.LEADER_VOTES_LAST:
            return (
                f"人事事项由组长最后表态，还有{d.get('waiting')}位出席成员未投票。"
                "请等他们投票后再发送；不再等待的，主持人发送「结束表决」宣布截止后，组长即可投票。"
            )
        case g.Refusal.CHECKIN_NOT_OPEN:
            return _checkin_refusal(d)
        case g.Refusal.LEAVE_NOT_OPEN:
            return "会议已结束，不能再请假。缺席情况以纪要为准，如有出入请联系记录人。"
        case g.Refusal.OPINION_NOT_ON_LEAVE:
            return (
                "书面意见由请假的成员提交。不能参会请先发送「请假 理由」，再发送书面意见；"
                "参会的成员请在会上发表意见。"
            )
        case g.Refusal.OPINION_CLOSED:
            return "该议题已开始表决（或已结束），不能再提交书面意见。"
        case g.Refusal.METHOD_NOT_ALLOWED:
            return _method_refusal(d)
        case g.Refusal.ROSTER_INVALID:
            # Said to the committee deciding (only 超员、双数 may be granted as an exception).
            return f"{roster_invalid(d)}这一项不能特批：请驳回并写明理由，由学会调整后重新提交。"
        case g.Refusal.EMERGENCY_NOT_MAJOR:
            return (
                "只有重大事项（含人事、处分）需要暂缓判断，一般事项无需宣布紧急情况，"
                "直接「发起表决 议题编号」即可。"
            )
        case g.Refusal.NOBODY_ENTITLED:
            return (
                "本议题全体成员均已回避，没有成员有表决权，不能发起表决。"
                "主持人可发送「暂缓 议题编号 理由」转入下次会议。"
            )
        case g.Refusal.TOO_MANY_HANDS:
            return (
                f"录入的票数（{d.get('cast')}）超过了出席且有表决权的人数（{d.get('voters')}，以此刻在场的成员为准），"
                "没有记录。中途离席的成员不能计入举手结果，请核对后重新发送「举手结果 赞成4 反对2 弃权1」。"
            )
        case g.Refusal.NOTICE_LAPSED:
            within = d.get("within")
            hours = within.total_seconds() / 3600 if isinstance(within, timedelta) else 3
            return (
                f"会议通知的开会时间已过去{hours:g}小时以上，会议没有召开，不能再按这次通知开会或签到"
                "（按时到会又离开的成员会错过会议）。请组长发送「改期 新时间」重新通知，"
                "或发送「取消会议 理由」。"
            )
        case g.Refusal.NOT_THE_CHAIR:
            return (
                "本次会议由受委托的成员主持（第十七条），开会、表决和散会由主持人办理。"
                "发送「会议状态」查看主持人。"
            )
        case g.Refusal.CHAIR_AWAY:
            return (
                "主持人须在会场主持会议（第十七条）。请先发送「签到」；不能到会的，"
                "请组长发送「委托主持 @成员 理由」由其他成员主持。"
            )
        case g.Refusal.BALLOTS_CAST:
            return (
                f"这项表决已有{d.get('cast')}人投票，已投的票有效，表决不能撤回或作废"
                "（表决由集体作出并记录在案）。请出席成员投完后，主持人发送「结束表决」按规则计算结果。"
            )
        case g.Refusal.EARLY_OPENING:
            return (
                f"还没到会议通知的开始时间，提前开会须全体{d.get('roster')}名成员到齐"
                f"（现到{d.get('present')}人），以免按时到会的成员错过表决。"
                "请到时再发送「开会」；如需提前，请发送「改期 新时间」重新通知"
                "（在新时间会前一小时内的签到仍然有效）。"
            )


def _checkin_refusal(d: dict[str, object]) -> str:
    if "opens_at" in d:
        return "现在还不能签到：签到从会前一小时开始，到时请再发送「签到」。"
    state = d.get("state")
    if isinstance(state, g.MeetingState):
        return f"现在不能签到：{MEETING_STATE_PLAIN[state]}。下一步：{MEETING_NEXT[state]}。"
    return "现在还不能签到：签到从会前一小时开始，到散会为止。"


def _method_refusal(d: dict[str, object]) -> str:
    if "cast" in d:
        return (
            f"录入的票数（{d['cast']}）超过了出席且有表决权的人数（{d['voters']}）。"
            "请记录人核对后重新发送「举手结果 赞成4 反对2 弃权1」。"
        )
    method = d.get("method")
    if d.get("ballot") and method is g.VoteMethod.SHOW_OF_HANDS:
        return "本议题采用举手表决，由记录人录入举手结果（「举手结果 赞成4 反对2 弃权1」）。"
    allowed = d.get("allowed")
    if isinstance(method, g.VoteMethod) and isinstance(allowed, tuple) and allowed:
        return (
            f"这类议题不能采用{METHOD[method]}，可用{'、'.join(METHOD[x] for x in allowed)}。"
            f"请主持人重新发送，例如「发起表决 议题编号 {METHOD_WORD[allowed[0]]}」。"
        )
    return "表决方式不符合规定。请主持人发送「发起表决 议题编号」按默认方式表决。"


def _illegal(d: dict[str, object]) -> str:
    machine = d.get("machine")
    state = d.get("state")
    if machine == "meeting" and isinstance(state, g.MeetingState):
        return meeting_state_refusal(state)
    if machine == "item" and isinstance(state, g.ItemState):
        return f"{ITEM_STATE_PLAIN[state]}，不能这样操作。下一步：{ITEM_NEXT[state]}。"
    return "当前状态下不能这样操作。发送「会议状态」查看会议进行到哪一步。"
