"""`yishi demo` and `yishi console`: the demo society in a terminal, typed or from a script,
as the chat would show it (replies, cards, reminders when the clock is moved)."""

from __future__ import annotations

import asyncio
import re
import socket
import sys
from dataclasses import replace
from typing import TextIO

from aiohttp import web

from bot.adapters.console import (
    ConsoleAdapter,
    NoSuchTime,
    ScriptError,
    ScriptLine,
    console_user,
    parse_script,
    parse_time_line,
)
from bot.app import Delivery, build_router, make_feed
from bot.cli import _safe_url
from bot.clock import Clock, ManualClock, OffsetClock, SystemClock
from bot.config import Settings
from bot.demo import COMMITTEE_ADMIN, SOCIETY, ensure_demo, reset_demo
from bot.opening import start_storage, stop_storage
from bot.web.app import mount_web
from bot.web.auth import WebKeyError, cookie_key, issue_link
from storage import repo


class _Reminders:
    """The console's reminders: when its clock is moved (「:time」, a script's time line), what
    fell due meanwhile is sent as `yishi serve` would send it (the reminder sweep, then the
    outbox), so the meeting reminders, the notice chasers and the liaison's deadlines appear in
    the transcript where they would have in the chat."""

    def __init__(self, settings: Settings, clock: Clock, delivery: Delivery) -> None:
        from bot.reminders.service import ReminderService

        self.service = ReminderService(settings, clock.now, instance="console")
        self.delivery = delivery

    async def due(self) -> None:
        await self.service.sweep()
        await self.delivery.after_dispatch()


async def script(settings: Settings, lines: list[str]) -> int:
    """`yishi console --script FILE`: the lines said in the demo society, the replies printed."""
    try:
        steps = list(parse_script(lines))
    except ScriptError as exc:
        print(f"脚本错误：{exc}", file=sys.stderr)
        return 2
    clock = ManualClock(SystemClock().now())
    await start_storage(settings)
    try:
        await ensure_demo(clock.now())
        router = build_router(settings, clock)
        adapter = ConsoleAdapter(bot_name=settings.bot_name, clock=clock)
        delivery = Delivery([adapter], clock=clock, settings=settings)
        await adapter.start(make_feed(router, delivery))
        reminders = _Reminders(settings, clock, delivery)
        for number, step in steps:
            if isinstance(step, str):
                try:
                    clock.set(parse_time_line(step, settings.tz))
                except ValueError:
                    print(f"脚本错误：第{number}行的时间无法识别：{step}", file=sys.stderr)
                    return 2
                print(f"（时间：{step[5:].strip()}）")
                await reminders.due()
                continue
            _echo(step)
            await adapter.say(step.speaker, step.text, private=step.private)
        await adapter.close()
    finally:
        await stop_storage()
    return 0


def _echo(step: ScriptLine) -> None:
    where = "（私聊）" if step.private else ""
    print(f"\n{step.speaker}{where}: {step.text}")


HELP = """控制台：直接输入消息，以当前身份在群里发言。
  :as 名字        切换发言人（例如 :as 张伟；只能选示例学会里的人，:who 查看）
  :私聊 / :群     切换到与机器人的私聊 / 回到群聊
  :time 2026-12-05 14:55   设置控制台时间
  :who            查看示例学会的人员
  :reset          重新开始：示例学会从头再来（原有记录改名保留），时间回到现在
  :quit           退出
也可以一次写「名字: 消息」或「名字(私聊): 消息」。"""


async def demo(settings: Settings) -> int:
    """`yishi demo`: the console, with the 工作台 served when it is enabled."""
    try:
        web_key = cookie_key(settings) if settings.web.enabled else None
    except WebKeyError as exc:
        print(f"配置错误：{exc}", file=sys.stderr)
        return 2
    clock = OffsetClock()
    sock = _demo_socket(settings.http_port) if web_key is not None else None
    if sock is not None:
        # The links the demo prints, and those 「工作台」 sends, point at this process.
        port = sock.getsockname()[1]
        web_settings = replace(settings.web, base_url=f"http://127.0.0.1:{port}")
        settings = replace(settings, web=web_settings)
    runner: web.AppRunner | None = None
    await start_storage(settings)
    try:
        created = await ensure_demo(clock.now())
        router = build_router(settings, clock)
        adapter = ConsoleAdapter(bot_name=settings.bot_name, clock=clock)
        delivery = Delivery([adapter], clock=clock, settings=settings)
        await adapter.start(make_feed(router, delivery))
        print(
            ("已创建" if created else "已打开")
            + f"示例学会「{SOCIETY}」，数据库：{_safe_url(settings.database_url)}"
        )
        if sock is not None and web_key is not None:
            runner = await _demo_web(settings, clock, web_key, delivery, sock)
        print(HELP)
        reminders = _Reminders(settings, clock, delivery)
        await Repl(
            adapter, settings, clock, inp=sys.stdin, out=sys.stdout, reminders=reminders
        ).run()
        await adapter.close()
    finally:
        if runner is not None:
            await runner.cleanup()
        elif sock is not None:
            sock.close()
        await stop_storage()
    return 0


def _demo_socket(preferred: int) -> socket.socket:
    """A listening address on 127.0.0.1: the configured port, or any free one."""
    for port in (preferred, 0):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        sock.listen(128)
        return sock
    raise OSError("no free port on 127.0.0.1")


async def _demo_web(
    settings: Settings, clock: Clock, key: bytes, delivery: Delivery, sock: socket.socket
) -> web.AppRunner:
    """Serve the 工作台 in this process (the console keeps reading input meanwhile) and print a
    login link for the demo committee admin."""
    app = web.Application()
    mount_web(app, settings, clock, key=key, after_change=delivery.after_dispatch)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    admin = await repo.person_by_identity(console_user(COMMITTEE_ADMIN))
    print(f"工作台（网页）：{settings.base_url}/web/")
    if admin is not None:
        async with repo.atomic():
            link = await issue_link(settings, admin.id, clock.now())
        print(f"{COMMITTEE_ADMIN}的一次性登录链接（10 分钟内有效，只能用一次）：{link}")
    print("其他人在控制台以自己的身份发送「工作台」即可收到自己的链接（例如 :as 张伟 后发送）。")
    sys.stdout.flush()
    return runner


def _people() -> dict[str, str]:
    """Everyone the demo knows, with what they are in the society."""
    from bot.demo import PEOPLE

    roles = {"leader": "组长", "member": "组员"}
    people = {name: roles.get(role, "非成员") for name, role, _, _ in PEOPLE}
    people[COMMITTEE_ADMIN] = "市党委"
    return people


class Repl:
    """The interactive demo: one prompt per line read, the line echoed after it when the input
    is not a terminal (piped input, transcripts), `:` lines for the console itself."""

    def __init__(
        self,
        adapter: ConsoleAdapter,
        settings: Settings,
        clock: OffsetClock,
        *,
        inp: TextIO,
        out: TextIO,
        reminders: _Reminders | None = None,
    ) -> None:
        self.adapter, self.settings, self.clock = adapter, settings, clock
        self.reminders = reminders
        self.inp, self.out = inp, out
        self.echo = not inp.isatty()
        self.people = _people()
        self.speaker, self.private = "张伟", False

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def read(self) -> str | None:
        """One prompt, one line (None at the end of the input)."""
        where = "私聊" if self.private else "群"
        self.out.write(f"[{self.speaker}@{where}] > ")
        self.out.flush()
        line = await asyncio.get_running_loop().run_in_executor(None, self.inp.readline)
        if not line:
            self.say("")
            return None
        line = line.rstrip("\r\n")
        if self.echo:
            self.say(line)
        return line.strip()

    async def run(self) -> None:
        while (line := await self.read()) is not None:
            if line in (":quit", ":q", ":exit"):
                return
            if line:
                await self.handle(line)

    async def handle(self, line: str) -> None:
        if line == ":as" or line.startswith(":as "):
            self.switch(line[3:].strip())
        elif line in (":私聊", ":private"):
            self.private = True
        elif line in (":群", ":group"):
            self.private = False
        elif line == ":who":
            self.say("、".join(f"{n}（{what}）" for n, what in self.people.items()))
        elif line.startswith(":time"):
            if self.set_time(line[5:].strip()) and self.reminders is not None:
                await self.reminders.due()
        elif line == ":reset":
            await self.reset()
        elif line == ":help":
            self.say(HELP)
        elif line.startswith(":"):
            self.say(f"没有「{line.split()[0]}」这个控制台命令。{HELP}")
        elif isinstance(step := _inline_speaker(line, set(self.people)), str):
            self.say(f"示例学会里没有「{step}」，这句没有发送。可选：{'、'.join(self.people)}")
        elif step is not None:
            await self.adapter.say(step.speaker, step.text, private=step.private)
        else:
            if (said := _named_as(line)) is not None:  # 「王芳: 好」, 王芳 not in the demo
                self.say(
                    f"（示例学会里没有「{said}」，整句按{self.speaker}的发言发出；"
                    f"可选的人：{'、'.join(self.people)}）"
                )
            await self.adapter.say(self.speaker, line, private=self.private)

    def switch(self, name: str) -> None:
        known = "、".join(self.people)
        name = _one_named(name, set(self.people)) or name  # 「:as 刘老师」 is 市党委刘老师
        if name not in self.people:
            what = f"示例学会里没有「{name}」。" if name else "请写明要切换到谁。"
            self.say(f"{what}仍以{self.speaker}的身份发言。可选：{known}")
            return
        self.speaker = name
        self.say(f"现在以{name}（{self.people[name]}）的身份发言。")

    def set_time(self, text: str) -> bool:
        """Set the console's clock; whether the time was read."""
        try:
            self.clock.set(parse_time_line("@time " + text, self.settings.tz))
        except NoSuchTime as exc:
            self.say(f"这个时间不存在（{exc}），控制台时间没有改。")
            return False
        except ValueError:
            self.say("时间格式：:time 2026-12-05 14:55")
            return False
        self.say(f"控制台时间已设为 {text}")
        return True

    async def reset(self) -> None:
        self.clock.reset()
        archived = await reset_demo(self.clock.now(), self.settings.tz)
        self.speaker, self.private = "张伟", False
        kept = f"原有记录已改名为「{archived}」保留。" if archived else ""
        self.say(f"已重新开始：示例学会「{SOCIETY}」是新的，时间回到现在。{kept}")


# A common surname, then one or two characters, then an ASCII colon as the console help writes
# it: 「王芳: 好」 (not 「请假: 出差」, nor a full-width 「议题：」 of chat).
_NAMED = re.compile(
    "([王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾"
    r"毛郝龚邵万钱严覃武戴莫孔向汤][\u4e00-\u9fff]{1,2})\s*:"
)


def _named_as(line: str) -> str | None:
    """The person a group line opens with (_NAMED), for a line `_inline_speaker` found no one
    in."""
    found = _NAMED.match(line)
    return found.group(1) if found else None


def _inline_speaker(line: str, known: set[str]) -> ScriptLine | str | None:
    """「名字: 消息」 speaks once as someone else, when the name is a known person or the end of
    exactly one (「刘老师」 is 「市党委刘老师」). 「名字(私聊): 消息」 with a name that is neither:
    that name (nothing is sent). Anything else is a message of the current speaker."""
    try:
        steps = list(parse_script([line]))
    except ScriptError:
        return None
    if len(steps) != 1 or not isinstance(step := steps[0][1], ScriptLine):
        return None
    if (speaker := _one_named(step.speaker, known)) is not None:
        return replace(step, speaker=speaker)
    return step.speaker if step.private else None


def _one_named(name: str, known: set[str]) -> str | None:
    """The person `name` names: a known name, or the end of exactly one (「刘老师」)."""
    if name in known:
        return name
    ends = [who for who in known if name and who.endswith(name)]
    return ends[0] if len(ends) == 1 else None
