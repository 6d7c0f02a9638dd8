"""Logs: time, level, logger and a work id on every line; text or JSON; and never a message's text,
a person's name or a vote choice (checked in the code and in the log of a whole meeting)."""

from __future__ import annotations

import ast
import io
import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import logs
from bot.adapters.base import retry_worthy
from bot.inbox import InboxUnavailable
from bot.reminders.service import ReminderService
from storage.faults import is_transient
from tests.kit.console import ConsoleRig

ROOT = Path(__file__).resolve().parent.parent
TEXT_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) "
    r"[\w.]+ \[[^\] ]+\] "
)


def test_text_lines_carry_time_level_logger_and_id(captured: io.StringIO) -> None:
    log = logging.getLogger("bot.example")
    log.info("outside any work")
    with logs.work("msg:wecom:42"):
        log.warning("inside %s", "work")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    lines = [line for line in captured.getvalue().splitlines() if TEXT_LINE.match(line)]
    assert len(lines) == 3
    assert lines[0].endswith("INFO bot.example [-] outside any work")
    assert " WARNING bot.example [msg:wecom:42] inside work" in lines[1]
    assert "Traceback" in captured.getvalue()


def test_json_lines_keep_chinese_readable() -> None:
    out = io.StringIO()
    handler = logs.setup("info", "json", stream=out)
    try:
        with logs.work("sweep:1"):
            logging.getLogger("bot.example").error("学会 %d 提醒失败", 3)
    finally:
        logging.getLogger().removeHandler(handler)
    record = json.loads(out.getvalue().splitlines()[-1])
    assert record["message"] == "学会 3 提醒失败"
    assert (record["level"], record["logger"], record["id"]) == ("error", "bot.example", "sweep:1")
    assert "\\u" not in out.getvalue()


def test_the_id_follows_into_tasks_started_inside() -> None:
    import asyncio

    async def main() -> str:
        with logs.work("req:abc"):
            task = asyncio.create_task(asyncio.sleep(0, logs.current_id()))
        return await task

    assert asyncio.run(main()) == "req:abc"
    assert logs.current_id() == logs.NO_ID


# Attributes and names that hold what people wrote or who they are.
PERSONAL = {"text", "name", "names", "payload", "body", "choice", "reply", "content", "raw"}


def _logger_calls(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in ("logger", "log")
            and node.func.attr in ("debug", "info", "warning", "error", "exception", "critical")
        ):
            yield node


def _rendered(expr: ast.expr) -> str | None:
    """The attribute or name whose value a logging argument renders: `message.text` -> text."""
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Name):
        return expr.id
    is_call = isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.args
    if is_call and expr.func.id in ("str", "repr"):  # type: ignore[attr-defined]
        return _rendered(expr.args[0])  # type: ignore[attr-defined]
    return None


def test_no_logger_call_interpolates_texts_names_or_payloads() -> None:
    found = []
    for folder in ("bot", "handlers", "storage"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for call in _logger_calls(ast.parse(path.read_text(encoding="utf-8"))):
                where = f"{path.relative_to(ROOT)}:{call.lineno}"
                if call.args and isinstance(call.args[0], ast.JoinedStr):
                    found.append(f"{where}: f-string message (pass values as arguments)")
                for arg in call.args[1:]:
                    shown = _rendered(arg)
                    if shown in PERSONAL:
                        found.append(f"{where}: logs {shown}")
    assert not found, "\n".join(found)


async def test_a_whole_meeting_logs_no_text_name_or_choice(
    harness: ConsoleRig, captured: io.StringIO
) -> None:
    h = harness
    said = [
        (
            "张伟",
            "召开会议 2026-12-05 15:00 第一会议室 议题：秘书处人选（人事）；预算调整方案（重大）",
        ),
        ("赵敏", "请假 家中老人住院"),
        ("赵敏", "书面意见 2 同意预算调整方案"),
    ]
    h.at("2026-12-01 09:00")
    for who, text in said:
        await h.say(who, text)
    sweep = ReminderService(h.settings, h.clock.now, instance="test")
    h.at("2026-12-04 15:00")
    await sweep.sweep()
    h.at("2026-12-05 14:50")
    for name in ("张伟", "李娜", "王强", "刘洋", "陈静", "杨帆"):
        await h.say(name, "签到")
    h.at("2026-12-05 15:00")  # not before the announced time
    await h.say("张伟", "开会")
    await h.say("张伟", "发起表决 2 记名")
    for name, choice in (("李娜", "赞成"), ("王强", "反对"), ("刘洋", "弃权"), ("陈静", "赞成")):
        await h.say(name, choice)
    await h.say("张伟", "结束表决")
    await h.say("张伟", "发起表决 1")
    for name in ("李娜", "王强", "刘洋"):
        await h.say(name, "投票 赞成", private=True)
    await h.say("张伟", "结束表决")
    await h.say("张伟", "散会 现在")
    h.at("2026-12-09 09:00")
    await sweep.sweep()
    assert h.delivery is not None
    await h.delivery.sender.run_once()
    text = captured.getvalue()
    assert text.strip(), "the meeting logged nothing: the check would prove nothing"
    for line in text.splitlines():
        assert TEXT_LINE.match(line) or line.startswith((" ", "Traceback")), line
    for forbidden in (
        "张伟",
        "赵敏",
        "李娜",
        "秘书处人选",
        "预算调整方案",
        "家中老人住院",
        "第一会议室",
        "赞成",
        "反对",
        "弃权",
    ):
        assert forbidden not in text, forbidden


def test_a_retry_later_is_one_line_a_second_not_a_traceback_each(
    captured: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PostgreSQL restart of 14 s had written 93,000 lines of tracebacks (one per callback
    answered 503); now one line a second says so and how many were kept quiet. A failure
    that is not the database's keeps its traceback."""
    now = [100.0]
    monkeypatch.setattr(logs.time, "monotonic", lambda: now[0])
    log = logging.getLogger("bot.adapters.test")
    busy = RuntimeError("database is locked")
    for _ in range(50):
        logs.retry_later(log, "callback", busy, transient=True)
    now[0] += 1.5
    logs.retry_later(log, "callback", busy, transient=True)
    lines = captured.getvalue().splitlines()
    assert len(lines) == 2
    assert "WARNING" in lines[0]
    assert "the database is busy or unavailable (RuntimeError: database is locked)" in lines[0]
    assert "(49 more like it since the last line)" in lines[1]
    try:
        raise ValueError("a bug")
    except ValueError as exc:
        logs.retry_later(log, "callback", exc, transient=False)
    assert "Traceback" in captured.getvalue()


def test_a_full_disk_inside_a_task_group_is_a_database_failure() -> None:
    """The sender's passes run in a TaskGroup: a full disk reached its log wrapped in an
    ExceptionGroup, was taken for a bug and logged with a traceback at every pass."""
    full = sqlite3.OperationalError("database or disk is full")
    wrapped = ExceptionGroup("unhandled errors in a TaskGroup", [full])
    assert is_transient(wrapped)
    assert retry_worthy(wrapped)
    assert retry_worthy(InboxUnavailable("database is locked"))
    assert not retry_worthy(ValueError("a bug"))
    assert not is_transient(ExceptionGroup("bugs", [ValueError("a bug")]))
