"""The commands of `yishi` that work on the database or run the bot: imported by bot/cli.py once
the command line and the configuration are read, so that `yishi --version` and a configuration
error answer without loading the bot (about a second of imports). The database commands (verify,
backup, export, …) load only storage; the bot itself (`serve`) and the console
(bot/console_commands.py) are loaded by the commands that run them."""

from __future__ import annotations

import argparse
import errno
import sys
from datetime import datetime
from pathlib import Path

from bot.cli import _config_failed, _os_reason, _safe_url
from bot.clock import SystemClock
from bot.config import ConfigError, Settings
from bot.keys import KeyProblem, load_key
from bot.opening import start_storage, stop_storage
from storage import db, repo


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """The command `args` names, with the settings read (bot/cli.py read them)."""
    match args.command:
        case "db" if args.db_command == "prune":
            return await _prune(settings, dry_run=args.dry_run)
        case "db":
            from bot.scheduler import SingleInstanceError, sole_instance

            try:
                with sole_instance(settings.database_url):  # not under a running instance
                    await db.upgrade(settings.database_url)
            except SingleInstanceError as exc:
                print(f"{exc}请先停止正在运行的实例再升级。", file=sys.stderr)
                return 2
            print(f"数据库已升级到最新结构：{_safe_url(settings.database_url)}")
            return 0
        case "verify":
            return await _verify(settings)
        case "backup":
            return await _backup(settings, Path(args.out))
        case "restore":
            return await _restore(settings, Path(args.file))
        case "export":
            return await _export(settings, args.society, args.year, Path(args.out))
        case "console":
            from bot.console_commands import script

            return await script(settings, args.script_lines)
        case "demo":
            from bot.console_commands import demo

            return await demo(settings)
        case "serve":
            return await _serve(settings)
        case "reminders":
            return await _reminders(settings, args.society, SystemClock().now())
        case _:
            return 2


async def _serve(settings: Settings) -> int:
    """`yishi serve`: the bot, until told to stop."""
    from bot.adapters.registry import adapters_from_settings
    from bot.app import serve
    from bot.scheduler import SingleInstanceError
    from bot.storage_ports import StoredHeaderBindings, StoredLease, StoredWebhooks
    from bot.web.auth import WebKeyError, cookie_key

    clock = SystemClock()
    try:
        adapters = adapters_from_settings(
            settings,
            clock,
            webhooks=StoredWebhooks(),
            lease=StoredLease(),
            bindings=StoredHeaderBindings(),
        )
    except ConfigError as exc:
        return _config_failed(exc)
    try:
        web_key = cookie_key(settings) if settings.web.enabled else None
    except WebKeyError as exc:
        print(f"配置错误：{exc}", file=sys.stderr)
        return 2
    try:
        await serve(settings, clock=clock, adapters=adapters, web_key=web_key)
    except SingleInstanceError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(
            f"端口 {settings.http_port} 已被占用（{settings.http_host}）：请停止占用它的程序，"
            "或在配置 [http] port（环境变量 YISHI_HTTP__PORT）中换一个端口。",
            file=sys.stderr,
        )
        return 2
    return 0


async def _prune(settings: Settings, *, dry_run: bool) -> int:
    """`yishi db prune [--dry-run]`: what the retention rules remove, per table."""
    from storage import prune

    await start_storage(settings, existing=True)
    try:
        pruned = await prune.prune(settings.retention, SystemClock().now(), dry_run=dry_run)
    finally:
        await stop_storage()
    print("将清理（试运行，未改动）：" if dry_run else "已清理：")
    for p in pruned:
        age = f"超过 {p.days} 天" if p.days else "已过期"
        print(f"  {p.table}：{p.action}（{age}）{p.rows} 行")
    print("会议、表决、纪要和记录链不在清理范围内。")
    return 0


async def _verify(settings: Settings) -> int:
    from storage import verify

    # Verify never makes a key: a database copied without its key is refused, not reported.
    await start_storage(settings, existing=True)
    try:
        report = await verify.run()
        names = {s.id: s.name for s in await repo.all_societies()} if report.findings else {}
    finally:
        await stop_storage()
    for f in report.findings:
        print(f"发现篡改：{f.where(names)}：{f.what}")
    if report.findings:
        print(f"校验未通过：共 {len(report.findings)} 处问题。")
        return 1
    print(
        f"记录链完整：共校验 {report.entries} 条记录、{report.rows} 行会议与表决记录"
        f"（{report.societies} 个学会），重新计票一致，未发现篡改。"
    )
    return 0


async def _backup(settings: Settings, out: Path) -> int:
    from bot.backup import BackupError, backup

    try:
        copied = await backup(settings.database_url, out)
    except BackupError as exc:
        print(f"备份失败：{exc}", file=sys.stderr)
        return 2
    print(f"已备份：{_safe_url(settings.database_url)} → {copied.path}（{copied.size} 字节）")
    print(
        "服务器密钥不在备份中：请另行妥善保存（环境变量 YISHI_SECRET_KEY，或 SQLite 旁的密钥文件），恢复时需要。"
    )
    return 0


async def _restore(settings: Settings, source: Path) -> int:
    """`yishi restore FILE`: into an empty database, schema brought up to date, then verified.
    The server key the backup was written with must be in place first (a new one would not open
    what is sealed, and the target would then not be empty for a second try)."""
    from bot.backup import BackupError, restore
    from bot.keys import key_file_for

    url = settings.database_url
    try:
        key = load_key(url, create=False)
    except KeyProblem as exc:
        beside = key_file_for(url)
        where = f"把原来的密钥文件复制为 {beside}，或" if beside is not None else ""
        print(
            f"恢复失败：{exc}恢复前请{where}设置环境变量 YISHI_SECRET_KEY 为备份时所用的密钥；"
            "没有改动任何文件。",
            file=sys.stderr,
        )
        return 2
    try:
        await restore(url, source, key=key)
    except BackupError as exc:
        print(f"恢复失败：{exc}", file=sys.stderr)
        return 2
    print(f"已恢复：{source} → {_safe_url(settings.database_url)}")
    return await _verify(settings)


# The years an archive can be of: the bot's records start with its use (the rules are of 2020).
YEARS = range(2000, 2101)


async def _export(settings: Settings, society: str, said_year: str, out: Path) -> int:
    from bot.records import export_year
    from storage import verify

    year = int(said_year) if said_year.strip().isdigit() else 0
    if year not in YEARS:
        print(
            f"--year 应为 {YEARS[0]} 到 {YEARS[-1]} 之间的年份（如 2026），实际为「{said_year}」；"
            "没有导出。",
            file=sys.stderr,
        )
        return 2
    await start_storage(settings, existing=True)
    try:
        found = await repo.society_by_name(society)
        if found is None:
            print(f"找不到学会「{society}」。", file=sys.stderr)
            return 2
        # An archive is handed on as the record: never made from records that do not check out
        findings = (await verify.run(found.id)).findings
        if findings:
            for f in findings:
                print(f"发现篡改：{f.where({found.id: found.name})}：{f.what}", file=sys.stderr)
            print(
                f"没有导出：「{society}」的记录校验未通过（{len(findings)} 处与记录链不符），"
                "导出的档案会把改动过的内容当作正式记录。请先查明（yishi verify）。",
                file=sys.stderr,
            )
            return 1
        result = await export_year(society, year, out, settings.tz)
    except OSError as exc:
        print(f"无法写入导出目录 {out}：{_os_reason(exc)}。", file=sys.stderr)
        return 2
    finally:
        await stop_storage()
    print(
        f"已导出 {result.meetings} 次会议：纪要 {len(result.minutes_files)} 份，决策 {result.decisions} 条，"
        f"记录 {result.events} 条 → {out}"
    )
    return 0


async def _reminders(settings: Settings, society: str, now: datetime) -> int:
    from bot.reminders.listing import listing

    await start_storage(settings, existing=True)
    try:
        found = await listing(settings, society, now)
    finally:
        await stop_storage()
    if found is None:
        print(f"找不到学会「{society}」。", file=sys.stderr)
        return 2
    print(f"「{society}」的提醒（时间为 {settings.timezone}）：")
    for line in found.lines:
        print(f"  {line}")
    if not found.lines:
        print("  （暂无）")
    if found.fallback_years:
        years = "、".join(str(y) for y in found.fallback_years)
        print(
            f"注意：chinesecalendar 尚无 {years} 年的国务院节假日安排，这些年份按 holidays 包的"
            "中国法定节假日（及其已收录的调休上班日）计算，并扣除配置 [reminders] holidays 中"
            "列出的日期；国务院公布安排后请升级 chinesecalendar / holidays 或补充配置。"
        )
    return 0
