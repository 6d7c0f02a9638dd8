"""Minutes (会议记录) assembled only from recorded events, and their plain-text rendering.

`assemble(events)` is pure: it reads the meeting's event-log entries (kind, payload, time) and
nothing else, so the minutes never say anything the log does not."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.timeparse import format_when

MATTER = {
    "general": "一般事项",
    "major": "重大事项",
    "personnel": "人事事项",
    "discipline": "处分事项",
    "document": "文件把关",
    "study": "学习通报",
}
METHOD = {"named": "记名表决", "show_of_hands": "举手表决", "secret": "无记名投票"}
OUTCOME = {
    "passed": "通过",
    "not_passed": "未通过",
    "no_quorum": "未达法定人数，不作决定",
    "deferred": "暂缓决定",
}
ATTENDANCE = {
    "present": "出席",
    "late": "迟到",
    "leave": "请假",
    "absent": "缺席",
    "unknown": "未回复",
}
DEFERRAL = {
    "dissent": "反对和弃权票达到出席成员三分之一以上",
    "margin": "赞成与反对票数相差不超过一票",
    "by_hand": "主持人决定暂缓",
}
# How a delegated chair went, when the delegation ended with it (chair_delegation_ended).
DELEGATE_GONE = {"leave": "请假", "absent": "请假", "left": "中途离席"}
READING = {"strict": "超过", "inclusive": "达到"}
SHARE = {"1/2": "半数", "2/3": "三分之二"}


@dataclass
class MinutesItem:
    number: int
    title: str
    matter_type: str
    proposed_by: str = ""
    opinions: list[tuple[str, str]] = field(default_factory=list)
    # who sent a written opinion, then attended after all (withdrawn at their check-in)
    opinions_withdrawn: list[str] = field(default_factory=list)
    recused: list[str] = field(default_factory=list)
    emergency: str = ""
    result: dict[str, Any] | None = None
    deferred_by_hand: str | None = None
    # votes opened and withdrawn before any ballot: 「15:02 记名表决发起后撤回（…）」, in order
    withdrawn_votes: list[str] = field(default_factory=list)
    carried: bool = False
    accepted: bool = True  # a member's proposal is on the agenda once the leader accepts it


@dataclass
class Minutes:
    society: str
    number: int
    starts_at: str
    place: str
    convener: str
    chair: str
    recorder: str
    opened_at: str = ""
    closed_at: str = ""
    attendance: dict[str, str] = field(default_factory=dict)
    leave_reasons: dict[str, str] = field(default_factory=dict)
    observers: list[tuple[str, str]] = field(default_factory=list)
    quorum: dict[str, Any] = field(default_factory=dict)
    delegations: list[str] = field(default_factory=list)
    reschedules: list[str] = field(default_factory=list)
    # who left during the meeting: [name, reason, time back or ""] in order (minutes stored
    # before it show who had left at the close only)
    departures: list[list[str]] = field(default_factory=list)
    # how each who left and did not come back had attended before leaving (present or late):
    # they attended, and are listed so (minutes stored before it: present)
    left_from: dict[str, str] = field(default_factory=dict)
    # who said ahead they would be late, and by how much as said (「约30分钟」, or 「」)
    late_notices: dict[str, str] = field(default_factory=dict)
    items: list[MinutesItem] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    notes: str = ""

    def to_json(self) -> dict[str, Any]:
        """As stored (canonical JSON, keys sorted): the attendance as [name, state] pairs, so
        that the names keep the roster's order (a mapping's keys would be sorted)."""
        data = asdict(self)
        data["attendance"] = [[name, state] for name, state in self.attendance.items()]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], notes: str = "") -> Minutes:
        fields = dict(data)
        # pairs in the roster's order; minutes stored before that kept a mapping (sorted names)
        fields["attendance"] = {
            str(n): str(s) for n, s in dict(fields.get("attendance", {})).items()
        }
        items = [MinutesItem(**it) for it in fields.pop("items", [])]
        observers = [(str(n), str(r)) for n, r in fields.pop("observers", [])]
        minutes = cls(**fields)
        minutes.items = items
        minutes.observers = observers
        minutes.notes = notes
        return minutes


def assemble(
    events: Iterable[tuple[str, datetime, Mapping[str, Any]]],
    *,
    society: str,
    recorder: str,
    tz: ZoneInfo,
) -> Minutes:
    """Build the minutes from (kind, at, payload) entries of one meeting, in log order."""
    minutes = Minutes(society, 0, "", "", "", "", recorder)
    items: dict[int, MinutesItem] = {}
    for kind, at, p in events:
        when = format_when(at, tz)
        match kind:
            case "meeting_convened":
                minutes.number = p["number"]
                minutes.starts_at = format_when(datetime.fromisoformat(p["starts_at"]), tz)
                minutes.place = p["place"]
                minutes.convener = p["convened_by"]["name"]
                minutes.chair = minutes.chair or p["convened_by"]["name"]
                minutes.attendance = dict.fromkeys(p.get("roster", []), "unknown")
            case "item_added" | "item_proposed" | "item_carried":
                items[p["item"]] = MinutesItem(
                    p["number"],
                    p["title"],
                    p["matter_type"],
                    p["by"]["name"],
                    carried=kind == "item_carried",
                    accepted=kind != "item_proposed",
                )
            case "item_accepted":
                if p.get("item") in items:
                    items[p["item"]].accepted = True
            case "item_edited":
                if p["item"] in items:
                    items[p["item"]].title = p["title"]
                    items[p["item"]].matter_type = p["matter_type"]
            case "item_withdrawn":
                items.pop(p["item"], None)
                reason = f"：{p['reason']}" if p.get("reason") else ""
                minutes.withdrawn.append(f"{p['title']}（{p['by']['name']}撤回{reason}）")
            case "item_rejected":
                items.pop(p["item"], None)
                reason = f"（{p['reason']}）" if p.get("reason") else ""
                minutes.rejected.append(f"{p['title']}{reason}")
            case "observer_added":
                minutes.observers.append((p["person"]["name"], p["reason"]))
            case "leave" | "late_leave":
                minutes.attendance[p["person"]["name"]] = p["status"]
                minutes.leave_reasons[p["person"]["name"]] = p["reason"]
            case "checkin":
                if not p.get("observer"):
                    minutes.attendance[p["person"]["name"]] = p["status"]
                name = p["person"]["name"]
                if p.get("returned"):
                    gone = [d for d in minutes.departures if d[0] == name and not d[2]]
                    if gone:
                        gone[-1][2] = at.astimezone(tz).strftime("%H:%M")
                for item_id in p.get("opinions_withdrawn", []):
                    if item_id in items:  # they speak and vote in person
                        it = items[item_id]
                        it.opinions = [(n, x) for n, x in it.opinions if n != name]
                        it.opinions_withdrawn.append(name)
            case "late_notice":
                minutes.late_notices[p["person"]["name"]] = p.get("by", "")
            case "written_opinion":
                if p["item"] in items:
                    items[p["item"]].opinions.append((p["person"]["name"], p["text"]))
            case "meeting_rescheduled":
                before = format_when(datetime.fromisoformat(p["from"]), tz)
                after = format_when(datetime.fromisoformat(p["starts_at"]), tz)
                change = f"原定{before}在{p['place_from']}，改为{after}在{p['place']}"
                reason = f"（{p['reason']}）" if p.get("reason") else ""
                minutes.reschedules.append(f"{change}{reason}，{p['by']['name']}{when}通知")
                minutes.starts_at, minutes.place = after, p["place"]
                minutes.attendance.update(p.get("checkins", {}))
            case "chair_delegated":
                minutes.chair = p["to"]["name"]
                reason = f"（{p['reason']}）" if p.get("reason") else ""
                back = p["from"]["name"] == p["to"]["name"]  # the leader takes the chair back
                to = "恢复" if back else f"委托{p['to']['name']}"
                minutes.delegations.append(f"{p['from']['name']}{to}主持{reason}")
            case "chair_delegation_ended":
                minutes.chair = p["to"]["name"]
                went = DELEGATE_GONE.get(p.get("why", ""), "不能主持")
                minutes.delegations.append(
                    f"{p['from']['name']}{went}，受托主持随之结束，主持回到组长{p['to']['name']}"
                )
            case "meeting_opened":
                minutes.opened_at = when
                minutes.quorum = dict(p["quorum"])
                minutes.attendance.update(p["attendance"])
            case "recused":
                if p["item"] in items:
                    why = f"（{p['reason']}）" if p.get("reason") else ""
                    items[p["item"]].recused.append(f"{p['person']['name']}{why}")
            case "emergency_declared":
                if p["item"] in items:
                    items[p["item"]].emergency = p["reason"]
            case "vote_closed":
                if p["item"] in items:
                    items[p["item"]].result = dict(p)
            case "vote_withdrawn":
                if p["item"] in items:
                    how = METHOD.get(p.get("method", ""), "表决")
                    why = f"，{p['reason']}" if p.get("reason") else ""
                    items[p["item"]].withdrawn_votes.append(
                        f"{at.astimezone(tz).strftime('%H:%M')} {how}发起后撤回（尚无人投票{why}）"
                    )
                    items[p["item"]].result = None  # it is voted on afresh
            case "item_deferred":
                if p["item"] in items:
                    items[p["item"]].deferred_by_hand = p.get("reason", "")
            case "left":
                had = minutes.attendance.get(p["person"]["name"], "")
                if had in ("present", "late"):
                    minutes.left_from[p["person"]["name"]] = had
                minutes.attendance[p["person"]["name"]] = "left"
                minutes.departures.append([p["person"]["name"], p.get("reason") or "", ""])
                if p.get("reason"):
                    minutes.leave_reasons[p["person"]["name"]] = p["reason"]
            case "meeting_closed":
                minutes.closed_at = when
                minutes.attendance.update(p["attendance"])
            case _:
                pass
    # 第十五条: a proposal the leader never accepted was no agenda item
    minutes.rejected += [
        f"{i.title}（{i.proposed_by}提议）" for i in items.values() if not i.accepted
    ]
    minutes.items = sorted((i for i in items.values() if i.accepted), key=lambda i: i.number)
    return minutes


def _names(attendance: Mapping[str, str], *states: str) -> str:
    found = [n for n, s in attendance.items() if s in states]
    return "、".join(found) if found else "无"


def _attended(m: Minutes, state: str) -> str:
    """Who attended as `state` (present or late), in the roster's order: those who left the
    meeting and did not come back too, marked so (they had been left out of 出席 while the
    count of those there, 实到, held them)."""
    found = [
        (n if s == state else f"{n}（中途离席）") + _late_noted(m, n, state)
        for n, s in m.attendance.items()
        if s == state or (s == "left" and m.left_from.get(n, "present") == state)
    ]
    return "、".join(found) if found else "无"


def _late_noted(m: Minutes, name: str, state: str) -> str:
    """For one who came late having said so ahead: 「（事先告知晚到约30分钟）」."""
    if state != "late" or name not in m.late_notices:
        return ""
    return f"（事先告知晚到{m.late_notices[name]}）"


def attended(m: Minutes) -> int:
    """How many attended: present or late, those who left during the meeting included."""
    return sum(1 for s in m.attendance.values() if s in ("present", "late", "left"))


def render_text(m: Minutes) -> str:
    """The minutes as plain text (also the content of the Word document)."""
    lines = [
        f"{m.society}党建工作领导小组第{m.number}次会议记录",
        f"时间：{m.starts_at}（开会 {m.opened_at or '—'}，散会 {m.closed_at or '—'}）",
        f"地点：{m.place}",
        f"召集人：{m.convener}　主持人：{m.chair}　记录人：{m.recorder or '未指定'}",
    ]
    lines.extend(f"改期：{r}" for r in m.reschedules)
    lines.extend(f"委托主持：{d}" for d in m.delegations)
    lines.append(
        f"应到会：{len(m.attendance)}人（召开会议时的成员名单：{'、'.join(m.attendance)}）"
    )
    lines.append(f"出席：{_attended(m, 'present')}；迟到：{_attended(m, 'late')}")
    leave = [
        f"{n}（{m.leave_reasons.get(n, '')}）" for n, s in m.attendance.items() if s == "leave"
    ]
    lines.append(f"请假：{'、'.join(leave) if leave else '无'}")
    lines.append(f"缺席：{_names(m.attendance, 'absent', 'unknown')}")
    if m.departures:
        gone = []
        for name, reason, back in m.departures:
            said = "，".join(x for x in (reason, f"{back}返回" if back else "") if x)
            gone.append(f"{name}（{said}）" if said else name)
        lines.append(f"中途离席：{'、'.join(gone)}")
    elif any(s == "left" for s in m.attendance.values()):
        left = [
            f"{n}（{m.leave_reasons[n]}）" if m.leave_reasons.get(n) else n
            for n, s in m.attendance.items()
            if s == "left"
        ]
        lines.append(f"中途离席：{'、'.join(left)}")
    obs = [f"{n}（{r}）" for n, r in m.observers]
    lines.append(f"列席：{'、'.join(obs) if obs else '无'}")
    if m.quorum:
        q = m.quorum
        rule = f"{READING.get(q['reading'], q['reading'])}{SHARE.get(q['share'], q['share'])}"
        lines.append(
            f"法定人数：应到{q['base']}人，实到{q['present']}人，按「{rule}」需至少{q['needed']}人，已达到。"
        )
        if q.get("readings_disagree"):
            lines.append("（注：按另一种理解结论不同，本次按上述理解执行。）")
    lines.append("议题及表决情况：")
    for it in m.items:
        again = "" if it.matter_type == "study" else "，再行表决"
        carried = f"（上次会议暂缓{again}）" if it.carried else ""
        lines.append(
            f"{it.number}. {it.title}（{MATTER.get(it.matter_type, it.matter_type)}）{carried}，提出人：{it.proposed_by}"
        )
        for name, text in it.opinions:
            lines.append(f"   书面意见（{name}，不计票）：{text}")
        if it.opinions_withdrawn:
            lines.append(f"   {'、'.join(it.opinions_withdrawn)}的书面意见已在本人签到到会时撤回")
        if it.recused:
            lines.append(f"   回避：{'、'.join(it.recused)}")
        if it.emergency:
            lines.append(f"   主持人宣布紧急情况：{it.emergency}")
        lines.extend(f"   {w}" for w in it.withdrawn_votes)
        r = it.result
        if r and "yes" in r:
            lines.append(
                f"   {METHOD.get(r['method'], r['method'])}：赞成{r['yes']}、反对{r['no']}、弃权{r['abstain']}、"
                f"未投{r['not_voted']}；应到会{r['base']}人，通过须至少{r['needed']}票赞成"
                + (
                    "（回避成员不计入应到会人数）"
                    if it.recused and r.get("recused_leave_base")
                    else ""
                )
            )
            for choice, label in (("yes", "赞成"), ("no", "反对"), ("abstain", "弃权")):
                voters = (r.get("names") or {}).get(choice) or []
                if voters:
                    lines.append(f"   {label}：{'、'.join(voters)}")
            result = OUTCOME.get(r["outcome"], r["outcome"])
            if r["outcome"] == "deferred" and r.get("deferral"):
                result += f"（{DEFERRAL.get(r['deferral'], r['deferral'])}，依第十六条暂缓）"
            if r.get("emergency"):
                result += "（意见分歧较大，因紧急情况未暂缓）"
            lines.append(f"   结果：{result}")
            if r.get("readings_disagree"):
                lines.append("   （注：按另一种法定人数理解结论不同，本次按配置的理解执行。）")
        elif it.deferred_by_hand is not None:
            why = f"：{it.deferred_by_hand}" if it.deferred_by_hand else ""
            lines.append(f"   结果：暂缓决定（主持人决定{why}）")
        elif r:
            lines.append(f"   结果：{OUTCOME.get(r.get('outcome', ''), '')}")
        elif it.matter_type == "study":
            lines.append("   学习通报，不表决")
        else:
            lines.append("   未表决")
    if m.rejected:
        lines.append(f"未列入议程的议题建议：{'；'.join(m.rejected)}")
    if m.withdrawn:
        lines.append(f"撤出议程的议题：{'；'.join(m.withdrawn)}")
    notes = [n for n in m.notes.splitlines() if n.strip()]
    if len(notes) == 1:
        lines.append(f"记录人备注：{notes[0]}")
    elif notes:  # one per line, as the recorder added them
        lines.append("记录人备注：")
        lines.extend(f"  {n}" for n in notes)
    return "\n".join(lines)


def summary(m: Minutes) -> str:
    """A concise chat summary."""
    parts = [f"第{m.number}次会议纪要摘要（{m.starts_at}，{m.place}）"]
    parts.append(
        f"出席{attended(m)}人，"
        f"请假{sum(1 for s in m.attendance.values() if s == 'leave')}人，"
        f"缺席{sum(1 for s in m.attendance.values() if s in ('absent', 'unknown'))}人，列席{len(m.observers)}人"
    )
    for it in m.items:
        r = it.result
        if r and "yes" in r:
            res = OUTCOME.get(r["outcome"], r["outcome"])
            parts.append(f"{it.number}. {it.title}：{res}（{r['yes']}/{r['no']}/{r['abstain']}）")
        elif it.deferred_by_hand is not None:
            parts.append(f"{it.number}. {it.title}：暂缓决定")
        elif it.matter_type == "study":
            parts.append(f"{it.number}. {it.title}：学习通报")
        else:
            parts.append(f"{it.number}. {it.title}：未表决")
    if m.notes:
        parts.append(f"备注：{m.notes}")
    return "\n".join(parts)
