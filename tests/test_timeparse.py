from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.timeparse import (
    ParsedTime,
    format_when,
    parse_hourless,
    parse_leading_time,
    why_unreadable,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday morning.
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)
# A Wednesday evening near the end of the year.
YEAR_END = datetime(2026, 12, 30, 20, 0, tzinfo=SHANGHAI)
# The same Monday, late in the evening.
LATE = datetime(2026, 11, 30, 22, 30, tzinfo=SHANGHAI)


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def parse(text: str, now: datetime = NOW) -> ParsedTime:
    result = parse_leading_time(text, now, SHANGHAI)
    assert result is not None, text
    return result


CASES_NOW = [
    # Month and day, with a time in every spelling.
    ("12月5日下午3点", local(2026, 12, 5, 15)),
    ("12月5日15:00", local(2026, 12, 5, 15)),
    ("12月5号 15:00", local(2026, 12, 5, 15)),
    ("12月5日 下午3点半", local(2026, 12, 5, 15, 30)),
    ("12月5日下午三点", local(2026, 12, 5, 15)),
    ("十二月五日下午三点一刻", local(2026, 12, 5, 15, 15)),
    ("12月5日下午3点三刻", local(2026, 12, 5, 15, 45)),
    ("12月5日 15时", local(2026, 12, 5, 15)),
    ("12月5日 15时30分", local(2026, 12, 5, 15, 30)),
    ("12月5日 3点05", local(2026, 12, 5, 15, 5)),
    ("12月5日 三点十五分", local(2026, 12, 5, 15, 15)),
    ("12月5日 两点零五分", local(2026, 12, 5, 14, 5)),
    ("12月5日 10点整", local(2026, 12, 5, 10)),
    ("12月5日 10点钟", local(2026, 12, 5, 10)),
    ("十二月二十五日上午九点半", local(2026, 12, 25, 9, 30)),
    # Relative days.
    ("明天14:00", local(2026, 12, 1, 14)),
    ("明天 14:00", local(2026, 12, 1, 14)),
    ("明天上午10点", local(2026, 12, 1, 10)),
    ("明早9点", local(2026, 12, 1, 9)),
    ("今天下午4点", local(2026, 11, 30, 16)),
    ("今晚8点", local(2026, 11, 30, 20)),
    ("今晚12点", local(2026, 12, 1, 0)),
    ("后天上午十点", local(2026, 12, 2, 10)),
    ("大后天9点", local(2026, 12, 3, 9)),
    ("明天晚上七点半", local(2026, 12, 1, 19, 30)),
    ("明天中午", local(2026, 12, 1, 12)),
    ("明天中午1点", local(2026, 12, 1, 13)),
    ("明天凌晨2点", local(2026, 12, 1, 2)),
    ("明天傍晚6点", local(2026, 12, 1, 18)),
    # Weeks (now is Monday 2026-11-30).
    ("下周三 15:00", local(2026, 12, 9, 15)),
    ("下个星期三下午3点", local(2026, 12, 9, 15)),
    ("本周五下午2点", local(2026, 12, 4, 14)),
    ("这周五14:00", local(2026, 12, 4, 14)),
    ("周五下午2点", local(2026, 12, 4, 14)),
    ("星期五 14:00", local(2026, 12, 4, 14)),
    ("礼拜天上午10点", local(2026, 12, 6, 10)),
    ("本周日 10:00", local(2026, 12, 6, 10)),
    ("下下周一 9:00", local(2026, 12, 14, 9)),
    ("周一 11点", local(2026, 11, 30, 11)),  # today, still ahead
    ("周一 9点", local(2026, 12, 7, 9)),  # today's 9:00 is gone: next Monday
    ("本周一 9点", local(2026, 11, 30, 9)),  # this week's Monday, even though past
    # Numeric dates.
    ("2026-12-05 15:00", local(2026, 12, 5, 15)),
    ("2026/12/5 15:00", local(2026, 12, 5, 15)),
    ("2026.12.05 15:00", local(2026, 12, 5, 15)),
    ("2026年12月5日 15:00", local(2026, 12, 5, 15)),
    ("2026-12-05T15:00", local(2026, 12, 5, 15)),
    ("2027-01-04 08:30", local(2027, 1, 4, 8, 30)),
    ("二〇二六年十二月五日 15:00", local(2026, 12, 5, 15)),
    ("12-05 15:00", local(2026, 12, 5, 15)),
    ("12/5 下午3点", local(2026, 12, 5, 15)),
    # Time only: today if still ahead, else tomorrow.
    ("15:00", local(2026, 11, 30, 15)),
    ("下午3点", local(2026, 11, 30, 15)),
    ("9:00", local(2026, 12, 1, 9)),
    ("中午", local(2026, 11, 30, 12)),
    # Hours without a period word: 1-6 are afternoon hours, leading zero means as written.
    ("明天3点", local(2026, 12, 1, 15)),
    ("明天03:00", local(2026, 12, 1, 3)),
    ("明天0点", local(2026, 12, 1, 0)),
    ("明天12点", local(2026, 12, 1, 12)),
    ("明天8点", local(2026, 12, 1, 8)),
    # A 24-hour value after 下午 is accepted as written.
    ("明天下午15点", local(2026, 12, 1, 15)),
    # A month and day already past this year means next year.
    ("3月1日 10:00", local(2027, 3, 1, 10)),
    ("11月30日 15:00", local(2026, 11, 30, 15)),  # today stays this year
    ("2月29日 10:00", local(2028, 2, 29, 10)),  # the next year that has the day
]

CASES_YEAR_END = [
    ("12月5日下午3点", local(2027, 12, 5, 15)),
    ("1月3日 上午10点", local(2027, 1, 3, 10)),
    ("12月31日 10:00", local(2026, 12, 31, 10)),
    ("明天", local(2026, 12, 31)),
    ("后天9点", local(2027, 1, 1, 9)),
    ("下周一 9:00", local(2027, 1, 4, 9)),
    ("周三 21:00", local(2026, 12, 30, 21)),
    ("周三 19:00", local(2027, 1, 6, 19)),
    ("8点", local(2026, 12, 31, 8)),
]

CASES_LATE = [
    ("15:00", local(2026, 12, 1, 15)),
    ("下午3点", local(2026, 12, 1, 15)),
    ("23:00", local(2026, 11, 30, 23)),
    ("22:30", local(2026, 12, 1, 22, 30)),  # not strictly ahead: tomorrow
    ("晚上11点", local(2026, 11, 30, 23)),
    ("晚上12点", local(2026, 12, 1, 0)),
    ("周一 23点", local(2026, 11, 30, 23)),
    ("周一 15点", local(2026, 12, 7, 15)),
]


@pytest.mark.parametrize(("text", "expected"), CASES_NOW)
def test_parse_from_monday_morning(text: str, expected: datetime) -> None:
    assert parse(text).when == expected


@pytest.mark.parametrize(("text", "expected"), CASES_YEAR_END)
def test_parse_near_year_end(text: str, expected: datetime) -> None:
    assert parse(text, YEAR_END).when == expected


@pytest.mark.parametrize(("text", "expected"), CASES_LATE)
def test_parse_late_in_the_evening(text: str, expected: datetime) -> None:
    assert parse(text, LATE).when == expected


def test_result_is_utc() -> None:
    result = parse("12月5日下午3点")
    assert result.when.tzinfo is UTC
    assert result.when == datetime(2026, 12, 5, 7, 0, tzinfo=UTC)


def test_now_in_another_zone_is_read_in_tz() -> None:
    # 2026-11-30 02:00 UTC is 10:00 in Shanghai, so 明天 is 12-01 there.
    now_utc = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    assert parse("明天14:00", now_utc).when == local(2026, 12, 1, 14)
    assert parse("下午3点", now_utc).when == local(2026, 11, 30, 15)


def test_other_zone() -> None:
    new_york = ZoneInfo("America/New_York")
    result = parse_leading_time("12月5日下午3点", NOW, new_york)
    assert result is not None
    assert result.when == datetime(2026, 12, 5, 15, tzinfo=new_york)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12月5日", local(2026, 12, 5)),
        ("明天", local(2026, 12, 1)),
        ("下周三", local(2026, 12, 9)),
        ("2026-12-05", local(2026, 12, 5)),
        ("明天 会议", local(2026, 12, 1)),
        ("明天晚些时候再议", local(2026, 12, 1)),
    ],
)
def test_date_only_defaults_to_nine(text: str, expected: datetime) -> None:
    result = parse(text)
    assert result.when == expected
    assert result.explicit_time is False


@pytest.mark.parametrize("text", ["明天14:00", "15:00", "中午", "周五下午2点", "12月5日 三点"])
def test_explicit_time_flag(text: str) -> None:
    assert parse(text).explicit_time is True


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("12月5日下午3点 学会会议室 议题:年度工作", "学会会议室 议题:年度工作"),
        ("12月5日下午3点会议室", "会议室"),
        ("  明天 14:00   党支部会议  ", "党支部会议"),
        ("明天14:00，学会会议室", "学会会议室"),
        ("下周三 15:00 年度总结", "年度总结"),
        ("明天 会议", "会议"),
        ("明天晚些时候再议", "晚些时候再议"),
        ("明天中午 聚餐", "聚餐"),
        ("3点钟开会", "开会"),
        ("下午3点2楼", "2楼"),
        ("12月5日 3楼", "3楼"),
        ("2026-12-05 15:00:00 x", "x"),
        ("12月5日下午3点", ""),
        ("周五 3:30pm 会议室 议题:年度工作", "会议室 议题:年度工作"),
        ("周五 3pm 3楼会议室", "3楼会议室"),
    ],
)
def test_rest(text: str, rest: str) -> None:
    assert parse(text).rest == rest


# The ways people type a meeting time on a phone, each with the time it means from NOW.
TYPED_TIMES = [
    ("周五 3:30pm", local(2026, 12, 4, 15, 30)),
    ("周五 3:30 PM", local(2026, 12, 4, 15, 30)),
    ("周五 3:30p.m.", local(2026, 12, 4, 15, 30)),
    ("周五3pm", local(2026, 12, 4, 15)),
    ("周五 9am", local(2026, 12, 4, 9)),
    ("周五 9:15 am", local(2026, 12, 4, 9, 15)),
    ("周五 12pm", local(2026, 12, 4, 12)),
    ("周五下午3pm", local(2026, 12, 4, 15)),
    ("下午3点半", local(2026, 11, 30, 15, 30)),
    ("15点30", local(2026, 11, 30, 15, 30)),
    ("15点30分", local(2026, 11, 30, 15, 30)),
    ("明早九点", local(2026, 12, 1, 9)),
    ("12/10 9:30", local(2026, 12, 10, 9, 30)),
    ("12/10 9:30am", local(2026, 12, 10, 9, 30)),
    ("12月10日 下午2点", local(2026, 12, 10, 14)),
    ("周五", local(2026, 12, 4, 9)),
]


@pytest.mark.parametrize(("phrase", "expected"), TYPED_TIMES)
@pytest.mark.parametrize("after", [" 会议室 议题:年度工作", "，学会会议室", " 3楼会议室"])
def test_no_fragment_of_the_time_is_left_behind(
    phrase: str, expected: datetime, after: str
) -> None:
    """What follows the time is exactly what was typed after it: the place, never a piece of
    the time (「周五 3:30pm 会议室」 once stored the place 「pm 会议室」)."""
    result = parse(phrase + after)
    assert result.when == expected
    assert result.rest == after.strip().lstrip("，")


@pytest.mark.parametrize("text", ["上午3pm", "晚上9am", "13pm", "0am", "周五 下午9am"])
def test_am_pm_that_disagrees_gives_none(text: str) -> None:
    assert parse_leading_time(text, NOW, SHANGHAI) is None


@pytest.mark.parametrize(
    "text",
    [
        "2月30日",
        "2月30日 15:00",
        "13月1日",
        "0月1日",
        "12月32日",
        "2026-02-30 15:00",
        "2026-13-01",
        "25:00",
        "12:60",
        "明天25点",
        "明天 3:75",
        "明天24:00",
        "上午13点",
        "下午0点",
        "晚上3点",
        "中午5点",
        "凌晨7点",
        "明天下午",
        "今晚",
        "下午",
        "12月5日 十十点",
        "9999-12-31 晚上12点",
        "0000-01-01",
        "",
        "   ",
        "会议",
        "asdf",
        "下周",
        "周末",
        "5号 10点",
        "2026年",
    ],
)
def test_invalid_or_absent_gives_none(text: str) -> None:
    assert parse_leading_time(text, NOW, SHANGHAI) is None


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_leading_time("明天", datetime(2026, 11, 30, 10), SHANGHAI)  # noqa: DTZ001


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (local(2026, 12, 5, 15), "2026年12月5日（星期六）15:00"),
        (local(2026, 11, 30, 9), "2026年11月30日（星期一）09:00"),
        (local(2026, 12, 1, 14, 5), "2026年12月1日（星期二）14:05"),
        (local(2026, 12, 9, 0, 0), "2026年12月9日（星期三）00:00"),
        (local(2027, 1, 7, 23, 59), "2027年1月7日（星期四）23:59"),
        (local(2027, 1, 1, 10), "2027年1月1日（星期五）10:00"),
        (local(2026, 12, 6, 10), "2026年12月6日（星期日）10:00"),
        # A UTC value is shown in the local zone (23:30 UTC is 07:30 the next day there).
        (datetime(2026, 12, 4, 23, 30, tzinfo=UTC), "2026年12月5日（星期六）07:30"),
    ],
)
def test_format_when(when: datetime, expected: str) -> None:
    assert format_when(when, SHANGHAI) == expected


def test_format_round_trip() -> None:
    result = parse("下周三 15:00")
    assert format_when(result.when, SHANGHAI) == "2026年12月9日（星期三）15:00"


VALID_PHRASES = [text for text, _ in CASES_NOW + CASES_YEAR_END + CASES_LATE]
GRAMMAR_ALPHABET = sorted(
    set("".join(VALID_PHRASES))
    | set("0123456789:-/.T 年月日号点时分半刻钟整周星期礼拜天今明后大早晚")
)


def check_result(text: str, result: ParsedTime | None) -> None:
    if result is None:
        return
    assert result.when.tzinfo is UTC
    assert result.rest == result.rest.strip()
    assert result.rest in text


@given(st.text())
def test_random_text_never_raises(text: str) -> None:
    check_result(text, parse_leading_time(text, NOW, SHANGHAI))


@given(st.text(alphabet=GRAMMAR_ALPHABET, max_size=30))
def test_grammar_soup_never_raises(text: str) -> None:
    check_result(text, parse_leading_time(text, NOW, SHANGHAI))


@given(
    st.sampled_from(VALID_PHRASES),
    st.integers(min_value=0, max_value=40),
    st.text(max_size=10),
    st.datetimes(
        min_value=datetime(1, 1, 2),  # noqa: DTZ001
        max_value=datetime(9999, 12, 30),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
)
def test_prefixes_of_valid_phrases_never_raise(
    phrase: str, cut: int, tail: str, now: datetime
) -> None:
    text = phrase[:cut] + tail
    check_result(text, parse_leading_time(text, now, SHANGHAI))


@given(st.sampled_from(VALID_PHRASES), st.integers(min_value=-400, max_value=400))
def test_valid_phrases_parse_from_any_day(phrase: str, days: int) -> None:
    now = NOW + timedelta(days=days)
    result = parse_leading_time(phrase, now, SHANGHAI)
    assert result is not None, phrase
    check_result(phrase, result)


@pytest.mark.parametrize(
    ("text", "written", "said", "hour", "rest"),
    [
        ("明天下午", "明天下午3点", "下午3点", 15, ""),
        ("下周一上午 三楼", "下周一上午9点", "上午9点", 9, "三楼"),
        ("今晚", "今晚7点", "晚上7点", 19, ""),
        ("明早，讨论预算", "明早9点", "早上9点", 9, "讨论预算"),
        ("12月9日傍晚", "12月9日傍晚5点", "傍晚5点", 17, ""),
    ],
)
def test_a_day_and_a_part_of_it_without_the_hour(
    text: str, written: str, said: str, hour: int, rest: str
) -> None:
    found = parse_hourless(text, NOW, SHANGHAI)
    assert found is not None
    assert (found.written, found.said, found.rest) == (written, said, rest)
    assert found.when.astimezone(SHANGHAI).hour == hour
    assert found.hours[0] <= hour < found.hours[1]
    again = parse_leading_time(found.written, NOW, SHANGHAI)  # the hour written in reads back
    assert again is not None
    assert again.when == found.when


@pytest.mark.parametrize(
    "text", ["明天下午3点", "明天", "下午", "明天凌晨", "明天晚些时候", "明天下午25点", "会议"]
)
def test_not_a_day_and_a_part_of_it_alone(text: str) -> None:
    assert parse_hourless(text, NOW, SHANGHAI) is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("2月30日下午3点 三楼", "2月没有30日。"),
        ("2026-02-30 15:00", "2月没有30日。"),
        ("13月1日", "没有13月。"),
        ("昨天下午3点", "那是已经过去的日子，会议时间要在将来。"),
        ("上周五 9:00", "那是已经过去的日子，会议时间要在将来。"),
        (
            "明天25点",
            "钟点不对：一天是0点到24点，分钟是0到59，「上午」「下午」「晚上」要和钟点对得上。",
        ),
        (
            "晚上3点 三楼",
            "钟点不对：一天是0点到24点，分钟是0到59，「上午」「下午」「晚上」要和钟点对得上。",
        ),
        ("三楼会议室", None),
        ("明天下午3点", None),
        ("2月29日 9点", None),
    ],
)
def test_why_a_time_cannot_be_read(text: str, why: str | None) -> None:
    assert why_unreadable(text) == why


@given(st.text(max_size=30))
def test_why_unreadable_never_raises(text: str) -> None:
    found = why_unreadable(text)
    assert found is None or found.endswith("。")


def convening(text: str, now: datetime = NOW) -> ParsedTime | None:
    return parse_leading_time(text, now, SHANGHAI, convening=True)


@pytest.mark.parametrize(
    ("text", "now", "expected"),
    [
        # A day of the month alone: this month while ahead (today included), else the next
        # month that has it.
        ("9号下午3点", NOW, local(2026, 12, 9, 15)),
        ("9日 15:00", NOW, local(2026, 12, 9, 15)),
        ("九号下午三点", NOW, local(2026, 12, 9, 15)),
        ("30号 15:00", NOW, local(2026, 11, 30, 15)),
        ("30号 9点", NOW, local(2026, 11, 30, 9)),  # today, gone by: the caller says so
        ("29号 15:00", NOW, local(2026, 12, 29, 15)),
        ("5号 10点", YEAR_END, local(2027, 1, 5, 10)),
        ("31号 10点", local(2027, 4, 1), local(2027, 5, 31, 10)),  # April has no 31st
        ("29号 10点", local(2027, 2, 1), local(2027, 3, 29, 10)),
        ("9号", NOW, local(2026, 12, 9)),
        # A month.day before a clock time.
        ("12.9 15:00", NOW, local(2026, 12, 9, 15)),
        ("12.9下午3点", NOW, local(2026, 12, 9, 15)),
        ("1.5 9:30", NOW, local(2027, 1, 5, 9, 30)),
        # A weekday beside the date, either way round.
        ("周三（12月9日）下午3点", NOW, local(2026, 12, 9, 15)),
        ("星期三(12月9日) 15:00", NOW, local(2026, 12, 9, 15)),
        ("周三（9号）下午3点", NOW, local(2026, 12, 9, 15)),
        ("12.9（周三）15:00", NOW, local(2026, 12, 9, 15)),
    ],
)
def test_a_meetings_short_dates(text: str, now: datetime, expected: datetime) -> None:
    found = convening(text, now)
    assert found is not None, text
    assert found.when == expected


@pytest.mark.parametrize(
    "text",
    ["9号下午3点", "12.9 15:00", "3号 15:00"],
)
def test_short_dates_are_numbers_outside_a_convening(text: str) -> None:
    """「3号申请」「12.9万元」: outside a convening's time these are numbers."""
    assert parse_leading_time(text, NOW, SHANGHAI) is None


@pytest.mark.parametrize(
    "text",
    [
        "3号楼 15:00",
        "1号议题 15:00",
        "2号会议室 15:00",
        "3日内 15:00",
        "12.9",
        "12.9 学会302",
        "12.9万元",
        "12.9.1 9:00",
    ],
)
def test_not_a_meetings_date(text: str) -> None:
    assert convening(text) is None, text


@pytest.mark.parametrize(
    ("text", "weekday"),
    [
        ("12月10号（周三）下午3点", 2),
        ("周三（12月10日）下午3点", 2),
        ("周四（12月10日）下午3点", 3),
        ("12月10日 15:00", None),
    ],
)
def test_the_weekday_said_beside_a_date(text: str, weekday: int | None) -> None:
    """In a convening a weekday that is not the date's is kept for the caller to ask about;
    elsewhere there is no result (which is meant is not known)."""
    found = convening(text)
    assert found is not None
    assert found.when == local(2026, 12, 10, 15)
    assert found.weekday == weekday
    plain = parse_leading_time(text, NOW, SHANGHAI)
    assert (plain is not None) == (weekday in (None, 3))


@pytest.mark.parametrize(
    ("text", "weekday"),
    [
        ("12月10号（周三）下午", 2),
        ("周三（12月10日）下午", 2),
        ("周四（12月10日）下午", 3),
        ("12月10日下午", None),
    ],
)
def test_the_weekday_said_beside_a_date_without_the_hour(text: str, weekday: int | None) -> None:
    """「12月10日（周三）下午」 likewise: kept for the caller in a convening, no result else."""
    found = parse_hourless(text, NOW, SHANGHAI, convening=True)
    assert found is not None
    assert found.when == local(2026, 12, 10, 15)
    assert found.weekday == weekday
    plain = parse_hourless(text, NOW, SHANGHAI)
    assert (plain is not None) == (weekday in (None, 3))


@pytest.mark.parametrize(
    ("text", "dated"),
    [("下午4点", False), ("16:00 三楼", False), ("4 p.m.", False), ("12.9 16:00", True)],
)
def test_whether_a_day_was_said(text: str, dated: bool) -> None:
    """An hour alone (「推迟到下午4点」) leaves a meeting on its day; 「12.9 16:00」 names one."""
    found = convening(text)
    assert found is not None
    assert found.dated is dated


def test_a_day_that_no_month_has() -> None:
    assert why_unreadable("32号 10点", convening=True) == "一个月里没有32日。"
    assert why_unreadable("32号 10点") is None


@given(st.text(alphabet=[*GRAMMAR_ALPHABET, "（", "）", "(", ")", "楼"], max_size=30))
def test_convening_soup_never_raises(text: str) -> None:
    check_result(text, convening(text))
    parse_hourless(text, NOW, SHANGHAI, convening=True)
    why = why_unreadable(text, convening=True)
    assert why is None or why.endswith("。")
