"""Parse the natural Chinese meeting times that users type at the start of a chat command.

The input has already been NFKC-normalised (full-width digits and colons are ASCII) and its
white space folded. The module is pure: it never reads the clock, `now` is always passed in.

Grammar (at the start of the text, optional spaces between the parts)::

    expression := date [note] [period] [time] | weekday （date） [period] [time]
                | [period] time | 中午
    date       := YYYY-MM-DD | YYYY/M/D | YYYY.M.D   (an optional "T" may follow)
                | [YYYY年] M月D日 | [YYYY年] M月D号   (numbers in digits or Chinese numerals)
                | M-D | M/D
                | D日 | D号 | M.D                 (a meeting's time only: see `convening`)
                | 今天 今日 明天 明日 后天 大后天
                | 今早 今晨 明早 明晨 (morning) | 今晚 今夜 明晚 (night)
                | weekday
    weekday    := [本|这|这个|下|下个|下下|下下个] (周|星期|礼拜)(一..六|日|天|1..7)
    note       := [（(] (周|星期|礼拜)(一..六|日|天) [）)]   (the weekday beside a date)
    period     := 凌晨 | 早上 早晨 清晨 上午 早 | 中午 | 下午 午后 | 傍晚 | 晚上 晚间 夜里 夜间 晚
    time       := (H:MM[:SS] | H(点|时)[半 | 一刻 | 三刻 | M分 | MM | 钟 | 整]) [am | pm]
                | H (am | pm)                   (am/pm in any case, with or without dots)

Numbers are ASCII digits or Chinese numerals (零〇一二两三四五六七八九十, e.g. 十二, 二十五, 零五;
a year may be written digit by digit, 二〇二六). A minute without 分 must have two places
(``3点05``, ``三点十五``) so that ``3点2楼`` stops after ``3点``.

Rules:

* Hours with a period word: 凌晨 0-6 (12 = 0:00); 上午/早上 0-12 as written; 中午 11-14 as
  written, 1-2 as 13-14; 下午/傍晚 1-11 add twelve, 12-23 are accepted as written (so 下午15点 is
  15:00); 晚上/夜里 5-11 add twelve, 17-23 as written, 12 is midnight at the end of that day.
  Any other combination (下午0点, 晚上3点, 上午13点) is invalid.
* Hours without a period word (meeting context): 0 and 7-23 as written, 1-6 are afternoon
  hours (3点 = 15:00) unless written with a leading zero (03:00 = 3:00).
* am/pm after a time: 12am is 0:00, 12pm is noon, 1-11pm add twelve; with a period word they
  must agree (下午3pm is 15:00, 上午3pm is invalid). The time's text never leaks into ``rest``.
* A period word without an hour is too vague and gives None (明天下午), except 中午 = 12:00
  (parse_hourless reads a day and a period without the hour, to ask back with the usual hour);
  a lone 早/晚 without an hour is ordinary text (明天晚些时候 is the date 明天).
* A date without a time means 09:00 local with ``explicit_time=False``.
* A time without a date means today if that is still in the future, otherwise tomorrow.
* A month and day without a year means the next occurrence: this year unless that date is
  before today (then the next year in which the date exists).
* A weekday beside a date (「12月9日（周三）」「周三（12月9日）」) must be that date's weekday;
  otherwise there is no result, since which of the two is meant is not known.
* Read as a meeting's time (``convening=True``: convening a meeting or moving one) a day of
  the month alone (「9号」「9日」, not 「3号楼」「1号议题」「2号会议室」) is the next such day,
  this month if still ahead (today included), else the next month that has it; a month.day
  (「12.9」) is a date only when a clock time follows it (「12.9 15:00」, not 「12.9万元」); and
  a weekday that disagrees with its date is left for the caller to ask about
  (``ParsedTime.weekday``, ``Hourless.weekday``) instead of giving None. Elsewhere 「3号」 and
  「12.9」 are numbers (「3号申请」, an amount).
* 本周X / 这周X is that day of the current Monday-based week (even if already past); 下周X is the
  day of next week and 下下周X the week after. A bare 周X is the nearest such day, today included
  only if the resulting time is still in the future.
* Past times are not rejected here; the caller does that.
* ``rest`` is the text after the expression, stripped of white space and of a leading ，,、.
* Anything unparseable or invalid (2月30日, 13月1日, 25:00, 明天25点) gives None; the parser never
  raises on any text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "Hourless",
    "ParsedTime",
    "format_when",
    "parse_hourless",
    "parse_leading_time",
    "why_unreadable",
]


@dataclass(frozen=True, slots=True)
class ParsedTime:
    when: datetime  # aware, in UTC
    rest: str  # the text that followed the time expression, stripped
    explicit_time: bool  # False when only a date was given (the time is then 09:00 local)
    weekday: int | None = None  # the weekday said beside the date (Monday = 0), if one was
    dated: bool = True  # False when only a clock time was given (「下午4点」: today or tomorrow)


@dataclass(frozen=True, slots=True)
class Hourless:
    """A day and a part of it said without the hour (「明天下午」「今晚」「下周一上午」)."""

    when: datetime  # that day at the hour a meeting usually has in that part of it, in UTC
    written: str  # the expression with that hour written in: 「明天下午3点」
    period: str  # the part of the day as said with an hour: 「下午」 (「今晚」: 「晚上」)
    said: str  # that hour as said: 「下午3点」
    hours: tuple[int, int]  # the local hours [from, to) that part of the day spans
    rest: str  # the text that followed, stripped
    weekday: int | None = None  # the weekday said beside the date (Monday = 0), if one was


DEFAULT_TIME = time(9, 0)
WEEKDAY_NAMES = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")

_CN_DIGITS = {
    "\u3007": 0,  # IDEOGRAPHIC NUMBER ZERO
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN = "[〇零一二两三四五六七八九十]"
_NUM = rf"(?:[0-9]{{1,2}}|{_CN}{{1,3}})"

# Period words: the word -> the kind of hour rule (see _to_24h).
_PERIODS = {
    "凌晨": "dawn",
    "早上": "morning",
    "早晨": "morning",
    "清晨": "morning",
    "上午": "morning",
    "早": "morning",
    "中午": "noon",
    "下午": "afternoon",
    "午后": "afternoon",
    "傍晚": "afternoon",
    "晚上": "night",
    "晚间": "night",
    "夜里": "night",
    "夜间": "night",
    "晚": "night",
}
# The hour a meeting usually has in a part of the day said alone (24-hour); a part of the day
# without one here (凌晨, a lone 早/晚) is never given an hour.
_USUAL_HOURS = {
    "上午": 9,
    "早上": 9,
    "早晨": 9,
    "清晨": 9,
    "下午": 15,
    "午后": 15,
    "傍晚": 17,
    "晚上": 19,
    "晚间": 19,
    "夜里": 19,
    "夜间": 19,
}
# The local hours [from, to) each kind of part of the day spans.
_SPANS = {"morning": (5, 12), "afternoon": (12, 19), "night": (18, 24)}
# Relative day words: the word -> (days from today, implied period word or None).
_RELATIVE_DAYS: dict[str, tuple[int, str | None]] = {
    "今天": (0, None),
    "今日": (0, None),
    "明天": (1, None),
    "明日": (1, None),
    "后天": (2, None),
    "大后天": (3, None),
    "今早": (0, "早上"),
    "今晨": (0, "早上"),
    "今晚": (0, "晚上"),
    "今夜": (0, "晚上"),
    "明早": (1, "早上"),
    "明晨": (1, "早上"),
    "明晚": (1, "晚上"),
}
_WEEK_PREFIXES = {"本": 0, "这": 0, "这个": 0, "下": 1, "下个": 1, "下下": 2, "下下个": 2}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}


def _alternatives(words: Iterable[str]) -> str:
    """A regex alternation of `words`, longest first so that 大后天 wins over 后天."""
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


_ISO_DATE = re.compile(
    r"(?P<year>[0-9]{4})(?P<sep>[-/.])(?P<month>[0-9]{1,2})(?P=sep)(?P<day>[0-9]{1,2})"
    r"(?![0-9])(?:T(?=[0-9]))?"
)
_CN_DATE = re.compile(
    rf"(?:(?P<year>[0-9]{{4}}|[〇零一二三四五六七八九]{{4}})\s*年\s*)?"
    rf"(?P<month>{_NUM})\s*月\s*(?P<day>{_NUM})\s*[日号]"
)
_MONTH_DAY = re.compile(r"(?P<month>[0-9]{1,2})[-/](?P<day>[0-9]{1,2})(?![0-9])")
# A meeting's time only (see `convening`): 「12.9」 (a clock time must follow), 「9号」「九号」「9日」,
# not a numbered thing (「3号楼」「1号议题」「2号文件」「2号会议室」) nor a span (「3日内」「两日后」).
_MONTH_DOT_DAY = re.compile(r"(?P<month>1[0-2]|0?[1-9])\.(?P<day>[0-9]{1,2})(?![0-9.])")
_DAY_OF_MONTH = re.compile(
    rf"(?:(?P<day>[0-9]{{1,2}})\s*[日号]|(?P<cn_day>{_CN}{{1,3}})号)"
    r"(?![楼院栋幢座层室厅门馆线议项文件人位票后前内以起之]|会议?[室厅]|会场|会堂)"
)
_RELATIVE = re.compile(rf"(?P<word>{_alternatives(_RELATIVE_DAYS)})")
_WEEK = re.compile(
    rf"(?P<prefix>{_alternatives(_WEEK_PREFIXES)})?\s*(?:周|星期|礼拜)(?P<day>[一二三四五六日天1-7])"
)
_PERIOD = re.compile(rf"(?P<period>{_alternatives(_PERIODS)})")
_CLOCK = re.compile(r"(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})(?::[0-5][0-9])?(?![0-9])")
_AMPM = re.compile(r"\s*(?P<ampm>[AaPp])\.?\s*[Mm]\.?(?![A-Za-z])")
_BARE_HOUR = re.compile(r"(?P<hour>[0-9]{1,2})(?=\s*[AaPp]\.?\s*[Mm]\.?(?![A-Za-z]))")
_HOUR = re.compile(
    rf"(?P<hour>{_NUM})[点时]"
    rf"(?:(?P<half>半)|(?P<quarter>[一三]刻)|(?P<minute>[0-9]{{1,2}}|{_CN}{{1,3}})\s*分"
    rf"|(?P<bare_minute>[0-9]{{2}}|{_CN}{{2,3}})(?![0-9])|钟|整)?"
)


@dataclass(frozen=True, slots=True)
class _CalendarDate:
    year: int | None
    month: int
    day: int
    dotted: bool = False  # said as 「12.9」: a date only when a clock time follows


@dataclass(frozen=True, slots=True)
class _DayOfMonth:
    day: int


@dataclass(frozen=True, slots=True)
class _RelativeDay:
    days: int


@dataclass(frozen=True, slots=True)
class _Weekday:
    weekday: int  # Monday = 0
    weeks: int | None  # None for a bare 周X, else 0 (this week), 1 (next week), 2


_DateSpec = _CalendarDate | _DayOfMonth | _RelativeDay | _Weekday


def small_number(token: str) -> int | None:
    """0-99 from digits (ASCII or full-width) or a Chinese numeral (五, 十二, 二十五, 零五); None
    if malformed."""
    if token.isdecimal():
        return int(token)
    if token.isascii():
        return None
    if "十" not in token:
        if len(token) == 1:
            return _CN_DIGITS.get(token)
        if len(token) == 2 and token[0] in "〇零":
            return _CN_DIGITS.get(token[1])
        return None
    tens_text, _, ones_text = token.partition("十")
    if len(tens_text) > 1 or len(ones_text) > 1 or tens_text in ("\u3007", "零"):
        return None
    tens = _CN_DIGITS.get(tens_text) if tens_text else 1
    ones = _CN_DIGITS.get(ones_text) if ones_text else 0
    if tens is None or ones is None:
        return None
    return tens * 10 + ones


def _year(token: str) -> int | None:
    """A four-digit year in ASCII digits or Chinese digits written one by one (二〇二六)."""
    if token.isascii():
        return int(token)
    digits = [_CN_DIGITS.get(ch) for ch in token]
    if any(d is None for d in digits):
        return None
    return int("".join(str(d) for d in digits))


def _match_date(
    text: str, pos: int, convening: bool = False
) -> tuple[_DateSpec, int, str | None] | None:
    """The date at `pos`, where it ends and the period word it implies (今晚); None if absent.
    `convening`: also a day of the month alone (9号) and a month.day (12.9)."""
    if m := _ISO_DATE.match(text, pos):
        return _CalendarDate(int(m["year"]), int(m["month"]), int(m["day"])), m.end(), None
    if m := _CN_DATE.match(text, pos):
        year = _year(m["year"]) if m["year"] else None
        month, day = small_number(m["month"]), small_number(m["day"])
        if (m["year"] and year is None) or month is None or day is None:
            return None
        return _CalendarDate(year, month, day), m.end(), None
    if m := _MONTH_DAY.match(text, pos):
        return _CalendarDate(None, int(m["month"]), int(m["day"])), m.end(), None
    if convening and (m := _MONTH_DOT_DAY.match(text, pos)):
        return _CalendarDate(None, int(m["month"]), int(m["day"]), dotted=True), m.end(), None
    if convening and (m := _DAY_OF_MONTH.match(text, pos)):
        day = int(m["day"]) if m["day"] else small_number(m["cn_day"])
        return None if day is None else (_DayOfMonth(day), m.end(), None)
    if m := _RELATIVE.match(text, pos):
        days, period = _RELATIVE_DAYS[m["word"]]
        return _RelativeDay(days), m.end(), period
    if m := _WEEK.match(text, pos):
        name = m["day"]
        weekday = int(name) - 1 if name.isascii() else _WEEKDAYS[name]
        weeks = _WEEK_PREFIXES[m["prefix"]] if m["prefix"] else None
        return _Weekday(weekday, weeks), m.end(), None
    return None


def _to_24h(hour: int, period: str | None, zero_padded: bool) -> int | None:
    """The hour 0-24 (24 = midnight at the end of the day) for `hour` said with `period`."""
    if period is None:
        if zero_padded or hour == 0 or 7 <= hour <= 23:
            return hour
        return hour + 12 if 1 <= hour <= 6 else None
    match _PERIODS[period]:
        case "dawn":
            return 0 if hour == 12 else hour if 0 <= hour <= 6 else None
        case "morning":
            return hour if 0 <= hour <= 12 else None
        case "noon":
            return hour if hour in (11, 12, 13, 14) else hour + 12 if hour in (1, 2) else None
        case "afternoon":
            return hour + 12 if 1 <= hour <= 11 else hour if 12 <= hour <= 23 else None
        case "night":
            if hour == 12:
                return 24
            return hour + 12 if 5 <= hour <= 11 else hour if 17 <= hour <= 23 else None
        case _:
            return None


def _match_time(text: str, pos: int, period: str | None) -> tuple[int, int, int] | None:
    """(hour 0-24, minute, end) of the clock time at `pos`, None if there is none.

    Raises ValueError when a clock time is there but invalid (25点, 3:75, 下午0点), so that
    明天25点 gives no result instead of the date 明天 followed by the text "25点".
    """
    if m := _CLOCK.match(text, pos):
        hour_text, minute = m["hour"], int(m["minute"])
    elif m := _BARE_HOUR.match(text, pos):
        hour_text, minute = m["hour"], 0
    elif m := _HOUR.match(text, pos):
        hour_text = m["hour"]
        if m["half"]:
            minute = 30
        elif m["quarter"]:
            minute = 15 if m["quarter"] == "一刻" else 45
        elif m["minute"] or m["bare_minute"]:
            minute = _checked(small_number(m["minute"] or m["bare_minute"]))
        else:
            minute = 0
    else:
        return None
    if minute > 59:
        raise ValueError(f"invalid minute {minute}")
    zero_padded = len(hour_text) == 2 and hour_text[0] == "0"
    end = m.end()
    if ampm := _AMPM.match(text, end):
        hour = _checked(_with_ampm(_checked(small_number(hour_text)), ampm["ampm"].lower() == "p"))
        if period is not None and _to_24h(_checked(small_number(hour_text)), period, False) != hour:
            raise ValueError(f"{period} disagrees with am/pm")
        return hour, minute, ampm.end()
    hour = _checked(_to_24h(_checked(small_number(hour_text)), period, zero_padded))
    return hour, minute, end


def _with_ampm(hour: int, pm: bool) -> int | None:
    """The 24-hour hour of `hour` am/pm (1-12); 12am is midnight, 12pm noon."""
    if not 1 <= hour <= 12:
        return None
    return (hour % 12) + (12 if pm else 0)


def _checked(value: int | None) -> int:
    if value is None:
        raise ValueError("invalid number in a time expression")
    return value


def _local(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime:
    """`day` at hour:minute in `tz`; hour 24 is midnight at the end of `day`."""
    naive = datetime.combine(day, time(hour % 24, minute)) + timedelta(days=hour // 24)
    return naive.replace(tzinfo=tz)


def _resolve(
    spec: _DateSpec | None, hour: int, minute: int, now: datetime, tz: ZoneInfo
) -> datetime | None:
    """The local datetime meant by `spec` at hour:minute, seen from `now` (local in `tz`)."""
    today = now.date()
    match spec:
        case None:
            when = _local(today, hour, minute, tz)
            return when if when > now else _local(today + timedelta(days=1), hour, minute, tz)
        case _CalendarDate(year=int() as year, month=month, day=day):
            return _local(date(year, month, day), hour, minute, tz)
        case _CalendarDate(year=None, month=month, day=day):
            for year in range(today.year, today.year + 9):  # 2月29日 may be years away
                try:
                    candidate = date(year, month, day)
                except ValueError:
                    continue
                if candidate >= today:
                    return _local(candidate, hour, minute, tz)
            return None
        case _DayOfMonth(day=day):
            this_month = today.year * 12 + today.month - 1
            for month in range(this_month, this_month + 12):  # 31号 skips months without one
                try:
                    candidate = date(month // 12, month % 12 + 1, day)
                except ValueError:
                    continue
                if candidate >= today:
                    return _local(candidate, hour, minute, tz)
            return None
        case _RelativeDay(days=days):
            return _local(today + timedelta(days=days), hour, minute, tz)
        case _Weekday(weekday=weekday, weeks=None):
            ahead = (weekday - today.weekday()) % 7
            when = _local(today + timedelta(days=ahead), hour, minute, tz)
            return when if when > now else when + timedelta(days=7)
        case _Weekday(weekday=weekday, weeks=int() as weeks):
            monday = today - timedelta(days=today.weekday())
            return _local(monday + timedelta(days=7 * weeks + weekday), hour, minute, tz)
        case _:
            return None


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


@dataclass(frozen=True, slots=True)
class _Opening:
    """What opens a text before any clock time: a date, a period word (or the one the date
    implies: 今晚), where each ends and where a clock time would begin."""

    spec: _DateSpec | None
    date_end: int
    period: str | None
    period_end: int
    pos: int
    weekday: int | None = None  # the weekday said after a date (「12月9日（周三）」), 0 = Monday


# A weekday said after a date, as a note (「12月9日周三」「12月9日（星期三）」).
_WEEKDAY_NOTE = re.compile(r"[（(]?\s*(?:周|星期|礼拜)(?P<d>[一二三四五六日天])\s*[）)]?")
_WEEKDAY_NUMBER = {c: i for i, c in enumerate("一二三四五六日")} | {"天": 6}
# The brackets around a date said after its weekday (「周三（12月9日）」).
_OPENING_BRACKET = re.compile(r"[（(]\s*")
_CLOSING_BRACKET = re.compile(r"\s*[）)]")


def _opening(text: str, convening: bool = False) -> _Opening:
    pos = date_end = _skip_space(text, 0)
    spec: _DateSpec | None = None
    period: str | None = None
    weekday: int | None = None
    if found := _match_date(text, pos, convening):
        spec, date_end, period = found
        pos = _skip_space(text, date_end)
        if period is None and (note := _WEEKDAY_NOTE.match(text, pos)):
            weekday = _WEEKDAY_NUMBER[note["d"]]
            date_end = note.end()
            pos = _skip_space(text, date_end)
        elif isinstance(spec, _Weekday) and (dated := _date_in_brackets(text, pos, convening)):
            # 「周三（12月9日）」: the date says the day, the weekday is checked against it
            weekday, (spec, date_end) = spec.weekday, dated
            pos = _skip_space(text, date_end)
    period_end = pos
    if period is None and (m := _PERIOD.match(text, pos)):
        period, period_end = m["period"], m.end()
        pos = _skip_space(text, period_end)
    return _Opening(spec, date_end, period, period_end, pos, weekday)


def _date_in_brackets(text: str, pos: int, convening: bool) -> tuple[_DateSpec, int] | None:
    """A calendar date in brackets at `pos` (「（12月9日）」) and where the brackets end."""
    if not (opening := _OPENING_BRACKET.match(text, pos)):
        return None
    found = _match_date(text, opening.end(), convening)
    if found is None or not isinstance(found[0], _CalendarDate | _DayOfMonth):
        return None
    if not (closing := _CLOSING_BRACKET.match(text, found[1])):
        return None
    return found[0], closing.end()


def _parse(text: str, now: datetime, tz: ZoneInfo, convening: bool) -> ParsedTime | None:
    op = _opening(text, convening)
    if clock := _match_time(text, op.pos, op.period):
        hour, minute, end = clock
    elif isinstance(op.spec, _CalendarDate) and op.spec.dotted:
        return None  # 「12.9」 without a clock time may be a number (an amount, a version)
    elif op.period == "中午":
        hour, minute, end = 12, 0, op.period_end
    elif op.spec is not None and (op.period is None or op.period in ("早", "晚")):
        # A date alone; a lone 早/晚 without an hour is ordinary text (明天晚些时候再议).
        hour, minute, end = DEFAULT_TIME.hour, DEFAULT_TIME.minute, op.date_end
    else:
        return None  # a vague period (明天下午: parse_hourless) or nothing at all

    when = _resolve(op.spec, hour, minute, now.astimezone(tz), tz)
    if when is None:
        return None
    if not convening and op.weekday is not None and when.weekday() != op.weekday:
        return None  # 「12月9日周四」 when the 9th is a Wednesday: which is meant is not known
    rest = text[end:].strip().lstrip(",，、").strip()
    return ParsedTime(
        when.astimezone(UTC), rest, end != op.date_end, op.weekday, dated=op.spec is not None
    )


def parse_leading_time(
    text: str, now: datetime, tz: ZoneInfo, *, convening: bool = False
) -> ParsedTime | None:
    """Parse a time expression at the start of `text` (after optional white space).

    `now` is aware (any zone); the expression is read in zone `tz` (normally Asia/Shanghai).
    Returns None when no time expression is at the start or it is invalid (2月30日, 25点, 13月).
    Past times are not rejected: the caller does that. Raises ValueError only for a naive `now`.
    `convening`: read as a meeting's time (「9号」「12.9 15:00」 are dates), a weekday that
    disagrees with its date being returned in `weekday` for the caller to ask about.
    """
    if now.tzinfo is None:
        raise ValueError("parse_leading_time needs an aware `now`")
    try:
        return _parse(text, now, tz, convening)
    except (ValueError, OverflowError):  # invalid times, impossible dates, years out of range
        return None


def parse_hourless(
    text: str, now: datetime, tz: ZoneInfo, *, convening: bool = False
) -> Hourless | None:
    """A day and a part of it at the start of `text` without the hour (「下周一上午」「明晚」),
    which parse_leading_time leaves as too vague: what the usual hour would make of it, to be
    asked back or checked against a meeting's own hour, never assumed. None when the day or the
    part of the day is missing, an hour is said, or the part of the day has no usual hour.
    `convening` as for parse_leading_time."""
    if now.tzinfo is None:
        raise ValueError("parse_hourless needs an aware `now`")
    try:
        return _hourless(text, now, tz, convening)
    except (ValueError, OverflowError):
        return None


def _hourless(text: str, now: datetime, tz: ZoneInfo, convening: bool) -> Hourless | None:
    op = _opening(text, convening)
    if op.spec is None or op.period is None:
        return None
    if isinstance(op.spec, _CalendarDate) and op.spec.dotted:
        return None  # 「12.9」 is a date only before a clock time
    period, end = op.period, op.period_end
    hour = _USUAL_HOURS.get(period)
    if hour is None or _match_time(text, op.pos, period) is not None:
        return None
    when = _resolve(op.spec, hour, 0, now.astimezone(tz), tz)
    if when is None:
        return None
    if not convening and op.weekday is not None and when.weekday() != op.weekday:
        return None  # as for parse_leading_time: which of the two is meant is not known
    clock = f"{hour % 12 or 12}点"
    rest = text[end:].strip().lstrip(",，、").strip()
    return Hourless(
        when.astimezone(UTC),
        f"{text[:end].strip()}{clock}",
        period,
        f"{period}{clock}",
        _SPANS[_PERIODS[period]],
        rest,
        op.weekday,
    )


_GONE_BY = re.compile(r"\s*(?:昨天|昨日|前天|大前天|上周|上星期|上礼拜|上个?月|去年)")


def why_unreadable(text: str, *, convening: bool = False) -> str | None:
    """Why what opens `text` looks like a time but gives none: a day gone by (昨天), a date
    that does not exist (2月30日, 13月1日, 32号) or a clock time out of range (25点, 下午0点). None
    when nothing there looks like a time. Said to whoever typed it; never raises. `convening`
    as for parse_leading_time."""
    if _GONE_BY.match(text):
        return "那是已经过去的日子，会议时间要在将来。"
    op = _opening(text, convening)
    if isinstance(spec := op.spec, _DayOfMonth) and not 1 <= spec.day <= 31:
        return f"一个月里没有{spec.day}日。"
    if isinstance(spec := op.spec, _CalendarDate):
        if not 1 <= spec.month <= 12:
            return f"没有{spec.month}月。"
        try:
            date(spec.year or 2028, spec.month, spec.day)  # 2028: 2月29日 exists
        except ValueError:
            return f"{spec.month}月没有{spec.day}日。"
    try:
        _match_time(text, op.pos, op.period)
    except (ValueError, OverflowError):
        return "钟点不对：一天是0点到24点，分钟是0到59，「上午」「下午」「晚上」要和钟点对得上。"
    return None


def format_when(when: datetime, tz: ZoneInfo) -> str:
    """'2026年12月5日（星期六）15:00': the date, the weekday and the 24-hour time in zone `tz`."""
    local = when.astimezone(tz)
    weekday = WEEKDAY_NAMES[local.weekday()]
    return f"{local.year}年{local.month}月{local.day}日（{weekday}）{local:%H:%M}"
