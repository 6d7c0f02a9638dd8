"""`yishi`: the command line. Subcommands: demo, console, db upgrade, verify, export, serve,
backup, restore, reminders, config check.

Just over 600 lines as one file: one argument parser and, per subcommand, the few lines that
turn its options into a call and a Chinese exit message; the work itself lives elsewhere."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bot import logs
from bot.config import (
    LOG_FORMATS,
    LOG_LEVELS,
    ConfigError,
    Settings,
    base_url_warning,
    config_path,
    database_url,
    load_settings,
    parse_admin,
)

# `yishi serve`'s exit code when the database did not answer (sysexits' EX_TEMPFAIL): the
# systemd unit restarts it, and does not restart a start that failed with exit code 2.
TEMPORARY = 75


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="yishi", description="议事：学会党建工作领导小组会议与决策机器人"
    )
    p.add_argument(
        "--config",
        help="配置文件（默认：环境变量 YISHI_CONFIG，其次当前目录的 config.toml，都没有则用内置默认值）",
    )
    p.add_argument(
        "--db",
        help="数据库 URL（默认：环境变量 YISHI_DATABASE_URL，其次配置 [database] url）；"
        "写在子命令前后都可以",
    )
    p.add_argument("--version", action="version", version=f"yishi {_version()}")
    p.add_argument(
        "--debug",
        action="store_true",
        help="出错时打印完整的调用栈（也可设置环境变量 YISHI_DEBUG=1）",
    )
    p.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        help="日志级别（默认：配置 [log] level 或环境变量 YISHI_LOG_LEVEL；serve 为 info，其余命令为 warning）",
    )
    p.add_argument(
        "--log-format", choices=LOG_FORMATS, help="日志格式：text（默认）或 json（供日志收集）"
    )
    sub = p.add_subparsers(dest="command", required=True)
    cfg = sub.add_parser("config", help="配置")
    cfgsub = cfg.add_subparsers(dest="config_command", required=True)
    check = cfgsub.add_parser("check", help="检查配置文件和环境变量，一次列出所有错误")
    check.add_argument("--config", default=argparse.SUPPRESS, help="要检查的配置文件")
    demo = sub.add_parser("demo", help="在本地控制台体验示例学会（SQLite，无需任何凭据）")
    demo.add_argument("--db", default=argparse.SUPPRESS, help="数据库 URL（默认见配置）")
    console = sub.add_parser("console", help="运行对话脚本并输出记录")
    console.add_argument("--script", required=True, help="脚本文件：每行「名字: 消息」")
    console.add_argument("--db", default=argparse.SUPPRESS, help="数据库 URL")
    dbp = sub.add_parser("db", help="数据库维护")
    dbsub = dbp.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="执行数据库迁移（不丢数据）")
    up.add_argument("--db", default=argparse.SUPPRESS, help="数据库 URL")
    prune = dbsub.add_parser("prune", help="按保留期限清理个人数据（入站消息、回复、发件记录）")
    prune.add_argument("--dry-run", action="store_true", help="只统计将清理多少行，不做改动")
    prune.add_argument("--db", default=argparse.SUPPRESS, help="数据库 URL")
    verify = sub.add_parser("verify", help="重新计算记录链哈希，检查是否被篡改")
    verify.add_argument("--db", default=argparse.SUPPRESS, help="数据库 URL")
    export = sub.add_parser("export", help="导出一个学会一年的档案")
    export.add_argument("--society", required=True)
    export.add_argument("--year", required=True, help="年份，如 2026")
    export.add_argument("--out", required=True)
    export.add_argument("--db", default=argparse.SUPPRESS, help="数据库 URL")
    srv = sub.add_parser("serve", help="运行机器人服务（平台回调、健康检查）")
    srv.add_argument("--db", default=argparse.SUPPRESS, help="数据库 URL")
    bak = sub.add_parser("backup", help="在线备份数据库（SQLite 备份 API；PostgreSQL 用 pg_dump）")
    bak.add_argument("--out", required=True, help="备份文件（不覆盖已有文件）")
    bak.add_argument("--db", default=argparse.SUPPRESS, help="数据库 URL")
    res = sub.add_parser("restore", help="把备份恢复到一个空数据库，然后校验记录链")
    res.add_argument("file", help="备份文件")
    res.add_argument("--db", default=argparse.SUPPRESS, help="目标数据库 URL（必须是空库）")
    rem = sub.add_parser("reminders", help="列出一个学会已安排的提醒")
    rem.add_argument("--society", required=True)
    rem.add_argument("--db", default=argparse.SUPPRESS, help="数据库 URL")
    return p


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    if getattr(args, "db", None):
        settings = replace(settings, database_url=database_url(args.db, "--db"))
    if args.command in ("demo", "console"):
        from bot.demo import committee_admin_entry

        admin = parse_admin("demo", committee_admin_entry())
        if admin not in settings.committee_admins:
            settings = replace(settings, committee_admins=(*settings.committee_admins, admin))
    return settings


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("yishi")
    except PackageNotFoundError:  # pragma: no cover - running from a tree that is not installed
        return "unknown"


def _config_failed(exc: ConfigError) -> int:
    """Print every problem of a ConfigError; the exit code for a bad configuration."""
    lines = exc.lines()
    if len(lines) == 1:
        print(f"配置错误：{lines[0]}", file=sys.stderr)
    else:
        print(f"配置错误（共 {len(lines)} 处）：", file=sys.stderr)
        for line in lines:
            print(f"  {line}", file=sys.stderr)
    return 2


def _setup_logging(args: argparse.Namespace, settings: Settings | None) -> None:
    """The flags win, then the configuration ([log], YISHI_LOG_LEVEL / YISHI_LOG_FORMAT); the
    commands people watch in a terminal show warnings and errors only unless told otherwise."""
    level = args.log_level
    if level is None:
        level = settings.log_level if settings is not None else "info"
        if args.command not in ("serve", "db"):
            level = "warning" if level in ("debug", "info") else level
    fmt = args.log_format or (settings.log_format if settings is not None else "text")
    logs.setup(level, fmt, tz=settings.tz if settings is not None else None)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
    except ConfigError as exc:
        _setup_logging(args, None)
        if args.command == "config":  # every problem at once, the platform tables' too
            exc = _with_platform_problems(args, exc)
        return _config_failed(exc)
    _setup_logging(args, settings)
    if args.command == "config":
        return _config_check(args, settings)
    if args.command == "console":
        try:
            args.script_lines = Path(args.script).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            print(f"无法读取脚本 {args.script}：{exc}", file=sys.stderr)
            return 2
    debug = args.debug or os.environ.get("YISHI_DEBUG") == "1"
    from bot import commands, runner
    from bot.keys import KeyProblem
    from storage import db

    with contextlib.suppress(ValueError):
        # How long opening the database may take (default 30 s); then exit code 2, never a hang.
        db.OPEN_TIMEOUT_S = float(os.environ.get("YISHI_DB_OPEN_TIMEOUT", db.OPEN_TIMEOUT_S))
    try:
        if args.command == "serve":
            return runner.run(commands.run(args, settings))
        return asyncio.run(commands.run(args, settings))
    except db.DatabaseError as exc:
        if debug:
            traceback.print_exc()
        print(f"数据库错误：{exc}", file=sys.stderr)
        # The server's start against a database that does not answer yet is a temporary failure
        # (a service manager starts it again); any other problem needs a person (exit 2).
        code = TEMPORARY if args.command == "serve" and db.unreachable(exc) else 2
        if isinstance(exc.__cause__, TimeoutError):
            # The driver's thread may still be stuck in the file: do not wait for it at exit.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        return code
    except KeyProblem as exc:
        print(f"配置错误：{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if debug:
            raise
        print(
            f"出错了：{type(exc).__name__}: {exc}（加 --debug 或设置 YISHI_DEBUG=1 查看详情）",
            file=sys.stderr,
        )
        return 1


def _with_platform_problems(args: argparse.Namespace, exc: ConfigError) -> ConfigError:
    """The settings' problems and those of the platform tables, read from the same file and
    environment (the tables are checked apart from the settings, which failed)."""
    from bot.adapters.dingtalk.config import dingtalk_from_settings
    from bot.adapters.wecom.config import wecom_from_settings
    from bot.config import Problems, apply_env_overrides, read_file

    path = config_path(args.config, os.environ)
    try:
        raw = {} if path is None else read_file(path)
    except ConfigError:
        return exc  # the file itself: said already
    problems = Problems()
    problems.errors.extend(exc.errors)
    raw, _ = apply_env_overrides(raw, os.environ, Problems())  # their problems: in exc already
    for name, read in (("dingtalk", dingtalk_from_settings), ("wecom", wecom_from_settings)):
        table = raw.get(name, {})
        if isinstance(table, dict):
            problems.take(read, None, table, os.environ)
    return ConfigError.of(problems.errors)


def _config_check(args: argparse.Namespace, settings: Settings) -> int:
    """`yishi config check`: the settings (already read) and the platform tables, every problem
    at once; a short summary when all is well."""
    from bot.adapters.dingtalk.config import dingtalk_from_settings
    from bot.adapters.wecom.config import private_chat_warning, wecom_from_settings
    from bot.config import Problems

    problems = Problems()
    dingtalk = problems.take(dingtalk_from_settings, None, settings.dingtalk, os.environ)
    wecom = problems.take(wecom_from_settings, None, settings.wecom, os.environ)
    if problems.errors:
        return _config_failed(ConfigError.of(problems.errors))
    source = config_path(args.config, os.environ) or "（无配置文件，使用内置默认值）"
    platforms = [
        name
        for name, cfg in (("钉钉", dingtalk), ("企业微信", wecom))
        if cfg is not None and cfg.enabled
    ]
    r = settings.retention
    print(f"配置正确：{source}")
    print(f"  数据库：{_safe_url(settings.database_url)}")
    print(f"  监听：{settings.http_host}:{settings.http_port}（入站：{settings.inbound}）")
    print(f"  平台：{'、'.join(platforms) if platforms else '未启用（仅本地控制台）'}")
    print(f"  时区：{settings.timezone}；日志：{settings.log_level}，{settings.log_format}")
    print(
        f"  保留期限：入站消息 {r.inbound_days} 天，回复 {r.replies_days} 天，"
        f"消息编号 {r.message_ids_days} 天，发件记录 {r.outbox_days} 天，"
        f"未用上的姓名登记 {r.registrations_days} 天"
    )
    if settings.web.enabled:
        print(f"  工作台：{settings.base_url}/web/")
    if (warning := base_url_warning(settings, platforms=bool(platforms))) is not None:
        print(f"注意：{warning}")
    if wecom is not None and (warning := private_chat_warning(wecom)) is not None:
        print(f"注意：{warning}")
    return 0


# Why the system refused a file, said plainly (the system's own words are English).
_OS_REASONS = {
    errno.EEXIST: "已有同名的文件（不是目录）",
    errno.ENOTDIR: "路径中有一段是文件而不是目录",
    errno.ENOENT: "路径不存在，也无法创建",
    errno.EACCES: "没有写入权限",
    errno.EPERM: "没有写入权限",
    errno.EROFS: "文件系统是只读的",
    errno.ENOSPC: "磁盘空间不足",
}


def _os_reason(exc: OSError) -> str:
    return _OS_REASONS.get(exc.errno or 0, exc.strerror or str(exc))


def _safe_url(url: str) -> str:
    """`url` as printed: its login (user and password) replaced by ***; a password with 「@」
    in it is all login (the host follows the last 「@」)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))
