"""Dates written the short ways people type them in a convening: a day of the month alone
(「9号」), a month.day or month/day before a time (「12.9 15:00」「12/9 15:00」, the place after
the verb), and a weekday beside the date in brackets (「周四（12月10日）」「12月10号（周三）」),
a weekday that is not the date's being asked about, nothing convened."""

from __future__ import annotations

import pytest

from storage import models
from tests.kit.console import ConsoleRig


async def test_a_day_of_the_month_alone_is_the_next_such_day(harness: ConsoleRig) -> None:
    """「9号下午3点在302开会」 had not been understood and 「召开会议 9号下午3点 302」 had not read
    the time: the 9th is this month's while it is ahead, else next month's."""
    h = harness
    h.at("2026-12-04 09:00")  # a Friday
    notice = (await h.say("张伟", "9号下午3点在302开会，议题：年度工作总结")).text
    assert "时间：2026年12月9日（星期三）15:00\n地点：302\n" in notice
    assert "1. 年度工作总结（一般事项）" in notice
    assert "已取消" in await h.say("张伟", "取消会议 改期")
    notice = (await h.say("张伟", "召开会议 3号下午3点 302")).text
    assert "时间：2027年1月3日（星期日）15:00\n地点：302\n" in notice
    assert "已取消" in await h.say("张伟", "取消会议 改期")
    passed = (await h.say("张伟", "召开会议 4号 8点 302")).text  # today, but gone by
    assert "已经过去了" in passed
    asked = (await h.say("张伟", "召开会议 9号下午 302")).text
    assert asked.startswith("请写明开会的钟点（2026年12月9日下午几点）")
    assert "没有32日" in await h.say("张伟", "召开会议 32号 15:00 302")
    assert await models.Meeting.filter(state="convened").count() == 0


@pytest.mark.parametrize(
    "said",
    [
        "12.9 15:00 开会 学会302 议题：年度工作总结",
        "12/9 15:00 开会 学会302 议题：年度工作总结",
        "12/9 15:00 开会 学会302",
        "12.9 15:00 学会302 开会",
        "召开会议 12.9 15:00 学会302 议题：年度工作总结",
    ],
)
async def test_a_month_and_day_before_the_time(harness: ConsoleRig, said: str) -> None:
    """「12.9 15:00 开会 学会302」 had not been understood, nor 「12/9 15:00 开会 学会302」 with
    the place after the verb and no agenda (the place before the verb, or an agenda after the
    place, had been)."""
    h = harness
    h.at("2026-12-04 09:00")
    notice = (await h.say("张伟", said)).text
    assert "时间：2026年12月9日（星期三）15:00\n地点：学会302\n" in notice


async def test_a_dotted_number_is_a_date_only_before_a_time(harness: ConsoleRig) -> None:
    """「12.9」 alone may be an amount: no date without a clock time after it."""
    h = harness
    h.at("2026-12-04 09:00")
    refused = (await h.say("张伟", "召开会议 12.9 学会302")).text
    assert refused.startswith("没能识别会议时间")
    assert "没有听懂" in await h.say("张伟", "12.9万元的预算开会再说")
    assert await models.Meeting.all().count() == 0


@pytest.mark.parametrize(
    "said",
    [
        "周四（12月10日）下午3点在302开会，议题：预算",
        "召开会议 12月10号（周四）下午3点 302 议题：预算",
    ],
)
async def test_a_weekday_beside_the_date(harness: ConsoleRig, said: str) -> None:
    h = harness
    h.at("2026-12-04 09:00")
    notice = (await h.say("张伟", said)).text
    assert "时间：2026年12月10日（星期四）15:00\n地点：302\n" in notice


@pytest.mark.parametrize(
    "said",
    [
        "12月10号（周三）下午3点在302开会，议题：预算",
        "周三（12月10日）下午3点在302开会，议题：预算",
        "召开会议 12月10号（周三）下午3点 302 议题：预算",
        "召开会议 周三(12月10日) 15:00 302 议题：预算",
    ],
)
async def test_a_weekday_that_is_not_the_dates_is_asked_about(
    harness: ConsoleRig, said: str
) -> None:
    """The 10th is a Thursday: which of the two is meant is not known. It had been refused as
    an unreadable time (said as a command) or not understood (said in a sentence)."""
    h = harness
    h.at("2026-12-04 09:00")
    asked = (await h.say("张伟", said)).text
    assert asked.startswith(
        "2026年12月10日是星期四，不是星期三。会议是在12月10日（星期四），还是12月9日（星期三）？"
        "会议没有召开，请写明日期重新发送，例如：召开会议 12月10日 15:00 "
    )
    assert await models.Meeting.all().count() == 0


async def test_a_rescheduling_with_the_date_beside_its_weekday(harness: ConsoleRig) -> None:
    """「改期 周四（12月10日）…」 of a meeting a week later names its day: it is not asked
    which Thursday is meant (as a bare 「周四」 would be)."""
    h = harness
    h.at("2026-12-04 09:00")
    await h.say("张伟", "召开会议 12月17日下午3点 302 议题：预算")
    moved = (await h.say("张伟", "改期 周四（12月10日）下午3点")).text
    assert "时间：2026年12月10日（星期四）15:00（原定2026年12月17日（星期四）15:00）" in moved


@pytest.mark.parametrize(
    "said",
    [
        "12月10日（周三）下午开会",
        "12月10日（周三）下午在学会302开会",
        "周三（12月10日）下午在学会302开会，议题：预算",
        "召开会议 12月10日（周三）下午 学会302",
    ],
)
async def test_a_wrong_weekday_is_said_before_the_missing_hour(
    harness: ConsoleRig, said: str
) -> None:
    """「12月10日（周三）下午开会」 had been asked only for the hour (「没有说几点，先按下午3点」,
    whose yes was then refused for the weekday), 「召开会议 12月10日（周三）下午」 likewise: the
    weekday that is not the date's is said first, then that the hour is missing."""
    h = harness
    h.at("2026-12-04 09:00")
    asked = (await h.say("张伟", said)).text
    assert asked.startswith(
        "2026年12月10日是星期四，不是星期三。会议是在12月10日（星期四），还是12月9日（星期三）？"
        "会议没有召开，请写明日期和钟点（下午几点）重新发送，例如：召开会议 12月10日下午3点 "
    ), asked
    assert "没有待确认的事项" in await h.say("张伟", "是")
    assert await models.Meeting.all().count() == 0


async def test_a_right_weekday_without_the_hour_is_asked_the_hour(harness: ConsoleRig) -> None:
    h = harness
    h.at("2026-12-04 09:00")
    asked = (await h.say("张伟", "12月10日（周四）下午在学会302开会")).text
    assert asked.startswith("请写明开会的钟点（2026年12月10日下午几点）"), asked
    assert await models.Meeting.all().count() == 0


@pytest.mark.parametrize(
    "said",
    [
        "定于12月10日下午3点在学会302召开领导小组会议",
        "兹定于12月10日下午3点在学会302召开党建工作领导小组会议",
        "通知：定于12月10日（周四）下午3点在学会302召开领导小组会议，议题：年度工作总结",
        "经研究，拟于12月10日15:00在学会302召开领导小组会议",
        "会议定于12月10日下午3点在学会302召开",
    ],
)
async def test_the_words_of_a_formal_notice(harness: ConsoleRig, said: str) -> None:
    """「定于12月10日下午3点在学会302召开领导小组会议」, as a notice is written, had not been
    understood: it convenes as 「12月10日下午3点 学会302 开会」 does."""
    h = harness
    h.at("2026-12-04 09:00")
    notice = (await h.say("张伟", said)).text
    assert "时间：2026年12月10日（星期四）15:00\n地点：学会302\n" in notice, notice
    assert await models.Meeting.filter(state="convened").count() == 1


async def test_a_convening_after_a_remark_and_a_notice_ending_with_be_there(
    harness: ConsoleRig,
) -> None:
    """「各位，市里要求3月10号前报送换届方案，我们3月5号周五下午3点开个临时会，…」 had not been
    understood (a remark with a date of its own first, 「开个临时会」): asked back, a 「是」
    convenes at the second date; 「…召开领导小组会议，请准时参加」 convenes, the request to be
    there no part of the place."""
    h = harness
    h.at("2027-02-25 09:00")
    said = (
        "各位，市里要求3月10号前报送学会换届方案，我们3月5号周五下午3点开个临时会，"
        "线上腾讯会议，议题：换届方案"
    )
    asked = (await h.say("张伟", said)).text
    assert asked.startswith("是否召集会议并通知全体成员？")
    assert await models.Meeting.all().count() == 0
    notice = (await h.say("张伟", "是")).text
    assert "时间：2027年3月5日（星期五）15:00\n地点：线上腾讯会议\n" in notice
    assert "1. 换届方案（一般事项）" in notice
    assert "已取消" in await h.say("张伟", "取消会议 改期")
    notice = (await h.say("张伟", "3月6日下午3点在学会302召开领导小组会议，请准时参加")).text
    assert "时间：2027年3月6日（星期六）15:00\n地点：学会302\n" in notice
