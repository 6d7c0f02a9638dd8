"""The utterance layer, pure: matching forms tied to the text as typed, what is set aside, the
one-tap question, the nearest commands, and help that fits a phone."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot import governance as g
from bot import utterance as u
from bot.router import answer_text
from handlers import ALL_ROUTES
from handlers.help import HELP_LINES, THANKS, help_now, help_text

LEXICON = u.Lexicon(ALL_ROUTES)
FEATURES = ALL_ROUTES[1:]  # what 帮助 lists (not itself)
TZ = ZoneInfo("Asia/Shanghai")


def resolve(text: str, *mentioned: str) -> u.Resolution:
    return LEXICON.resolve(text, mentioned)


def test_arguments_are_kept_as_typed() -> None:
    found = resolve("书面意见　\uff12　同意预算，建议压缩会务费（第\uff13稿）")
    assert isinstance(found, u.Command)
    assert found.route.words[0] == "书面意见"
    assert found.args == "\uff12　同意预算，建议压缩会务费（第\uff13稿）"


@pytest.mark.parametrize(
    ("text", "word", "args"),
    [
        ("@议事小助手 帮助", "帮助", ""),
        ("\uff20议事小助手　帮助", "帮助", ""),
        ("「张伟：几点开会？」 ------ 签到", "签到", ""),
        ("“张伟：请回复” - - - - 请假 出差", "请假", "出差"),
        ("「赞成」", "赞成", ""),
        ("/ 计票", "计票", ""),
        ("请 假 出差", "请假", "出差"),
        ("好的，收到👌", "收到", ""),
        ("同意！", "赞成", ""),
        ("弃权🙏", "弃权", ""),
        ("赞成 第\uff12项", "赞成", "第\uff12项"),
        ("Sign In", "签到", ""),
        ("开会时间？", "会议状态", ""),
        ("同意议题 2", "同意议题", "2"),
    ],
)
def test_what_runs(text: str, word: str, args: str) -> None:
    found = resolve(text)
    assert isinstance(found, u.Command), found
    assert (found.route.words[0], found.args) == (word, args)


def test_a_leading_mention_of_a_person_is_kept() -> None:
    found = resolve("@王五 列席 理事长", "王五")
    assert not isinstance(found, u.Command)
    found = resolve("列席 @王五 理事长", "王五")
    assert isinstance(found, u.Command)
    assert found.args == "@王五 理事长"


@pytest.mark.parametrize(
    "text", ["我同意", "👍", "yes", "好的", "我不同意", "同 意", "同意的", "赞成吧我想想", "可以的"]
)
def test_ambiguous_vote_phrases_are_asked_back_while_a_vote_may_be_open(text: str) -> None:
    found = resolve(text)
    assert isinstance(found, u.Clarify), found
    answer = u.settle(LEXICON, found, frozenset({g.Role.MEMBER}), g.MeetingState.OPEN)
    assert isinstance(answer, u.Clarify)
    assert answer_text(answer).startswith("是否投")
    # With no vote possible, the nearest commands instead of a question about a ballot.
    later = u.settle(LEXICON, found, frozenset({g.Role.MEMBER}), None)
    assert isinstance(later, u.Suggest)


def test_the_question_is_one_tap() -> None:
    found = resolve("我同意")
    assert isinstance(found, u.Clarify)
    assert answer_text(found) == "是否投赞成票？回复「赞成」确认。"


@pytest.mark.parametrize(
    ("text", "roles", "phase", "word"),
    [
        ("签倒", {g.Role.MEMBER}, g.MeetingState.CONVENED, "签到"),
        # No meeting: nothing near is useful now, the command meant is still shown.
        ("签倒", {g.Role.MEMBER}, None, "签到"),
        ("qingjia", {g.Role.MEMBER}, g.MeetingState.CONVENED, "请假"),
        ("纪要被注 补记", {g.Role.RECORDER}, g.MeetingState.CLOSED, "纪要备注"),
        ("可以散会了", {g.Role.MEMBER, g.Role.LEADER, g.Role.CHAIR}, g.MeetingState.OPEN, "散会"),
        ("签法", {g.Role.MEMBER, g.Role.LEADER}, g.MeetingState.CLOSED, "签发"),
        ("daipi", {g.Role.COMMITTEE}, None, "待批"),
    ],
)
def test_nearest_commands(
    text: str, roles: set[g.Role], phase: g.MeetingState | None, word: str
) -> None:
    found = resolve(text)
    assert isinstance(found, u.Unknown), found
    answer = u.settle(LEXICON, found, frozenset(roles), phase)
    assert isinstance(answer, u.Suggest)
    assert 1 <= len(answer.near) <= 3
    assert word in [r.words[0] for r in answer.near]
    assert f"「{text}」" in answer_text(answer)


def test_nearest_only_offers_what_this_person_may_use_now() -> None:
    found = resolve("签法")
    assert isinstance(found, u.Unknown)
    member = u.settle(LEXICON, found, frozenset({g.Role.MEMBER}), g.MeetingState.CLOSED)
    assert isinstance(member, u.Suggest)
    assert "签发" not in [r.words[0] for r in member.near]


def test_nothing_alike_gets_the_plain_answer() -> None:
    found = resolve("今天天气不错")
    assert isinstance(found, u.Unknown)
    answer = u.settle(LEXICON, found, frozenset({g.Role.MEMBER}), None)
    assert isinstance(answer, u.Suggest)
    assert "帮助" in answer_text(answer)


ROLE_SETS = [
    frozenset(s)
    for s in (
        {g.Role.MEMBER},
        {g.Role.MEMBER, g.Role.LEADER},
        {g.Role.MEMBER, g.Role.LEADER, g.Role.CHAIR},
        {g.Role.MEMBER, g.Role.CHAIR},
        {g.Role.RECORDER},
        {g.Role.MEMBER, g.Role.LIAISON},
        {g.Role.COMMITTEE},
        {g.Role.OBSERVER},
        set(),
    )
]


@pytest.mark.parametrize(
    ("roles", "phase"), list(itertools.product(ROLE_SETS, [None, *g.MeetingState]))
)
def test_help_fits_a_phone(roles: frozenset[g.Role], phase: g.MeetingState | None) -> None:
    text = help_now(FEATURES, roles, phase)
    lines = text.splitlines()
    assert len(lines) <= HELP_LINES
    # Ballot words and their aliases share one line; no command is listed twice.
    assert sum(line.lstrip().startswith(("赞成", "同意")) for line in lines) <= 1
    if phase is g.MeetingState.OPEN:
        assert any("赞成" in line and "同意" in line for line in lines)


def test_help_all_lists_every_command() -> None:
    text = help_text(FEATURES)
    for route in FEATURES:
        if route is THANKS:  # not a command: answered when said, listed nowhere
            assert route.usage not in text
            assert not route.group
            continue
        assert route.usage in text


def test_times_are_read_on_the_nfkc_form_and_the_rest_kept_as_typed() -> None:
    now = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    parsed = u.leading_time("12月5日 15：30 学会会议室（三楼） 议题：预算", now, TZ)
    assert parsed is not None
    assert parsed.when.astimezone(TZ).strftime("%m-%d %H:%M") == "12-05 15:30"
    assert parsed.rest == "学会会议室（三楼） 议题：预算"


def test_routes_declare_no_phrase_twice() -> None:
    with pytest.raises(ValueError, match="twice"):
        u.Lexicon([*ALL_ROUTES, ALL_ROUTES[1]])


def test_remembered_answers_are_the_answers_and_stay_bounded() -> None:
    lexicon = u.Lexicon(ALL_ROUTES)
    said = ["赞成", "投赞成票", "我到了", "请假 出差", "随便说说", "签到"]
    first = [lexicon.resolve(text) for text in said]
    # Asked again (remembered) and by a table that remembers nothing: the same answers.
    assert [lexicon.resolve(text) for text in said] == first
    assert first == [u.Lexicon(ALL_ROUTES)._resolve(text, ()) for text in said]
    # The mentions are part of the question: 「请假」 with @张伟 keeps the mention as typed.
    assert lexicon.resolve("请假 @张伟 出差", ["张伟"]) == u.Lexicon(ALL_ROUTES)._resolve(
        "请假 @张伟 出差", ["张伟"]
    )
    for n in range(u.RESOLVED_KEPT + 100):
        lexicon.resolve(f"请假 第{n}次")
    assert len(lexicon._resolved) == u.RESOLVED_KEPT
    assert lexicon.resolve("赞成") == first[0]  # forgotten first, then found again
    long = "书面意见 " + "同意" * u.RESOLVED_TEXT_MAX
    assert isinstance(lexicon.resolve(long), u.Command)
    assert (long, ()) not in lexicon._resolved


@pytest.mark.parametrize(
    ("text", "args"),
    [
        ("那天我要去上海出差，请个假", "那天我要去上海出差"),
        ("我那天有事，来不了了🙏", "我那天有事"),
        ("抱歉，12月10日请假", ""),  # a date is no reason (as 「5号」, utterance.no_reason)
        ("不好意思 对不起，请假", ""),
        ("Sorry，那天出差，请假", "那天出差"),
        ("那天我可能来不了", ""),  # which day and how sure are no reason
        ("到时候可能来不了", ""),
    ],
)
def test_a_leave_that_ends_the_message_is_asked_back_with_what_came_before(
    text: str, args: str
) -> None:
    found = resolve(text)
    assert isinstance(found, u.Clarify)
    assert found.route.words[0] == "请假"
    assert found.args == args
    if args:
        assert answer_text(found) == f"是否请假？回复「是」或「请假 {args}」确认。"
    else:  # no reason: asked for one (a leave needs it), not for a 「是」
        assert answer_text(found) == "是否请假？请写明理由发送，例如「请假 出差在外」。"


@pytest.mark.parametrize("text", ["到时候再说", "我可能晚到一会儿", "🙏请假"])
def test_what_does_not_end_with_a_leave_is_not_asked_about_one(text: str) -> None:
    found = resolve(text)
    assert not (isinstance(found, u.Clarify) and found.route.words[0] == "请假")


@pytest.mark.parametrize(
    ("text", "args"),
    [
        ("下周四下午三点在三楼会议室开个会，议题：预算", "下周四下午三点在三楼会议室 议题：预算"),
        ("12月10日15:00开会 议题：预算；换届", "12月10日15:00 议题：预算；换届"),
        ("后天上午十点开个会吧", "后天上午十点"),
        ("明天下午三点开会吗？", None),  # asks when; not a convening
        ("明天开会", None),  # no hour: not a convening said time first
        ("明天下午三点开会我来不了", None),  # the leave is asked back instead
    ],
)
def test_a_convening_said_time_first(text: str, args: str | None) -> None:
    found = LEXICON.resolve(text)
    if args is None:
        assert not (isinstance(found, u.Command) and found.route.words[0] == "召开会议")
    else:
        assert isinstance(found, u.Command)
        assert (found.route.words[0], found.args) == ("召开会议", args)


@pytest.mark.parametrize(
    ("text", "word", "kind"),
    [
        ("大家都投完了，结束表决", "结束表决", u.Clarify),  # changes something: asked back
        ("人齐了，我们开会吧", "宣布开会", u.Clarify),
        ("会议室在三楼，请假 出差", "请假", u.Clarify),
        ("谢谢大家，会议状态", "会议状态", u.Command),  # only shows: runs
        ("纪要没问题，签发吧", "签发", u.Clarify),  # not the minutes shown with arguments
        ("纪要看过了，没问题", "纪要", u.Command),  # 「没问题」 is no ballot here
        ("今天天气不错，大家好", None, u.Unknown),
    ],
)
def test_a_command_after_a_remark(text: str, word: str | None, kind: type) -> None:
    found = LEXICON.resolve(text)
    assert isinstance(found, kind)
    if word is not None:
        assert not isinstance(found, u.Unknown)
        assert found.route.words[0] == word


def test_the_committee_sees_its_own_commands_first() -> None:
    """The committee admin's 「帮助」 leads with 待批、批准、驳回、报送情况、确认收到 (they had come
    after the members' commands and been cut off the phone screen)."""
    lines = help_now(FEATURES, frozenset({g.Role.COMMITTEE}), None).splitlines()
    assert [x.split(" —— ")[0].strip() for x in lines[1:6]] == [
        "待批（也可说：待审批）",
        "批准 3 [特批]",
        "驳回 3 理由",
        "报送情况（也可说：备案列表、报告列表）",
        "确认收到 3",
    ]


def test_the_liaison_sees_the_filings_when_no_meeting_is_ahead() -> None:
    """The liaison's 「帮助」 with no meeting ahead lists 年度总结、备案、报告 (年度总结, the one
    due every year, had been cut off after the members' queries)."""
    roles = frozenset({g.Role.MEMBER, g.Role.LIAISON})
    idle = help_now(FEATURES, roles, None).splitlines()
    assert "  年度总结 标题 内容 —— 报送年度工作总结（含党建部分）" in idle
    assert idle.index("  年度总结 标题 内容 —— 报送年度工作总结（含党建部分）") < 6
    before = help_now(FEATURES, roles, g.MeetingState.CONVENED).splitlines()
    assert before[1].startswith("  提议议题")  # a meeting ahead: its commands first


def test_a_leave_is_asked_in_the_meeting_but_not_listed_there() -> None:
    """「我今天来不了」 in the meeting is asked back as 请假 (recorded absent with why), but the
    members present do not read 请假 in their 帮助 (Route.unlisted)."""
    member = frozenset({g.Role.MEMBER})
    assert "请假 出差在外" not in help_now(FEATURES, member, g.MeetingState.OPEN)
    assert "请假 出差在外" in help_now(FEATURES, member, g.MeetingState.CONVENED)


def test_a_question_mark_alone_makes_a_question() -> None:
    """「会议在几楼？」 had not been a question (the mark was stripped as decoration before the
    search), so while a leave's reason was awaited it was taken as the answer."""
    from bot.utterance import is_question

    assert is_question("会议在几楼？")
    assert is_question("出差?")
    assert not is_question("出差")
    assert not is_question("出差北京🙏")
