"""A realistic record for the tamper tests: one society's meeting from notice to signed minutes
with a named vote (a changed ballot), a show of hands, a secret ballot, a deferral, a recusal, a
written opinion, an observer, a notice acknowledgement, a roster change and a filing."""

from __future__ import annotations

import random

from tests.kit.console import ConsoleRig

ADMIN = "市党委刘老师"
CHOICE = {"yes": "赞成", "no": "反对", "abstain": "弃权"}


REASONS = (
    "出差在外",
    "家中有事 🙏",
    "赴京参加“学术年会”，无法到会",
    "身体不适，医生建议休息两天；会后补阅材料。" * 3,
)
NOTES = (
    "会议传达了市科技社团党委年度工作部署。",
    "补记：预算表附后 (v2)，请各位会后核对 ✅",
    "「会员发展」一项，请联系人于12月底前报送名单。",
)


async def build_record(h: ConsoleRig, rng: random.Random | None = None) -> None:
    """With `rng`, a distinct record per seed: the meeting's day and hour, the ballots, the
    hands and the free texts vary; without, the same record every time."""
    vary = rng is not None
    rng = rng or random.Random(0)

    def pick() -> str:
        return CHOICE[rng.choice(list(CHOICE))]

    say = h.say
    day, hour = (rng.randint(3, 9), rng.randint(2, 4)) if vary else (5, 3)
    reason, note = (rng.choice(REASONS), rng.choice(NOTES)) if vary else (REASONS[0], NOTES[0])
    h.at("2026-12-01 09:00")
    await say(
        "张伟",
        f"召开会议 12月{day}日下午{hour}点 学会会议室 议题：2026年度工作总结；2027年经费预算（重大）；"
        "推荐副组长人选（人事）",
    )
    await say("王强", "提议议题 会员发展工作")
    await say("张伟", "同意议题 4")
    await say("刘洋", "提议议题 年终聚餐")
    await say("张伟", "驳回议题 5 不属于领导小组职责")
    await say("杨帆", f"请假 {reason}")
    await say("杨帆", "书面意见 2 同意预算，建议压缩会务费")
    await say("张伟", "列席 @吴国华 非党员理事长列席")
    await say("李娜", "收到")
    h.at(f"2026-12-{day:02d} {hour + 11}:50")
    present = ["张伟", "李娜", "王强", "刘洋", "陈静", "赵敏"]
    for name in present:
        await say(name, "签到")
    await say("吴国华", "签到")
    h.at(
        f"2026-12-{day:02d} {hour + 12}:00"
    )  # not before the announced time: one member is on leave
    await say("张伟", "开会")
    await say("陈静", "回避 4")
    # Item 1, named, with a changed ballot.
    await say("张伟", "发起表决 1")
    for name in present:
        await say(name, pick())
    await say("赵敏", "反对")
    await say("张伟", "结束表决")
    # Item 4, show of hands (陈静 recused: five voters), entered by the recorder.
    await say("张伟", "发起表决 4 举手")
    yes = rng.randint(3, 5)
    no = rng.randint(0, 5 - yes)
    await say("周婷", f"举手结果 赞成{yes} 反对{no} 弃权{5 - yes - no}")
    await say("张伟", "结束表决")
    # Item 3, personnel: secret ballots in private, the leader last.
    await say("张伟", "发起表决 3 无记名")
    for name in present[1:]:
        await say(name, f"投票 {pick()}", private=True)
    await say("张伟", "投票 赞成", private=True)
    await say("张伟", "结束表决")
    await say("张伟", "暂缓 2 需进一步调研")
    await say("张伟", "散会 现在")
    await say("周婷", f"纪要备注 {note}")
    await say("张伟", "签发")
    await say("张伟", "提议增补 @孙磊 党员 理事 工作需要")
    await say(ADMIN, "批准 1 特批", private=True)
    await say("张伟", "设置联系人 @王强")
    await say("王强", "备案 领导小组议事规则 经第1次会议通过")
