"""What a start costs in memory: the document libraries load when a document is written, and
pinyin comes without its phrase dictionary (about 46 MB of the bot's idle memory together;
benchmarks/startup.py measures the RSS). A fresh interpreter, as `yishi serve` starts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
import bot.cli, bot.commands, bot.app  # what `yishi serve` loads
import bot.utterance
from pypinyin import constants
print(json.dumps({
    "loaded": sorted(m for m in ("docx", "openpyxl") if m in sys.modules),
    "phrases": len(constants.PHRASES_DICT),
    "sound": bot.utterance.lazy_pinyin("签到"),
}))
"""


def test_a_start_loads_no_document_library_and_no_phrase_dictionary() -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["loaded"] == []
    assert found["phrases"] == 0
    assert found["sound"] == ["qian", "dao"]  # single characters still read


PLATFORM_PROBE = """
import asyncio, json, sys
from bot.adapters.registry import adapters_from_settings
from bot.clock import SystemClock
from bot.config import load_settings
from bot.storage_ports import StoredHeaderBindings, StoredLease, StoredWebhooks
from storage import db, repo

async def main(path):
    settings = load_settings(path, {})
    adapters = adapters_from_settings(
        settings, SystemClock(), webhooks=StoredWebhooks(), lease=StoredLease(),
        bindings=StoredHeaderBindings(), env={"YISHI_DINGTALK_APP_SECRET": "s" * 16},
    )
    await db.open_db(settings.database_url)
    try:
        await repo.verify_all()
    finally:
        await db.close_db()
    return [a.platform.value for a in adapters]

platforms = asyncio.run(main(sys.argv[1]))
print(json.dumps({
    "platforms": platforms,
    "loaded": sorted(m for m in ("wechatpy", "requests", "asyncpg") if m in sys.modules),
}))
"""


def _probe_platforms(tmp_path: Path, extra: str) -> dict[str, object]:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite://{tmp_path / "y.db"}"\n{extra}', "utf-8")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", PLATFORM_PROBE, str(config)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return found


def test_a_bot_on_sqlite_without_wecom_loads_neither_wechatpy_nor_asyncpg(tmp_path: Path) -> None:
    """WeCom's modules bring wechatpy and requests, PostgreSQL's driver asyncpg: about 7 MiB of
    an idle bot's memory that a DingTalk-only bot on SQLite never uses."""
    dingtalk = '[dingtalk]\nenabled = true\nmode = "http"\napp_key = "k"\ncorp_id = "c"\n'
    assert _probe_platforms(tmp_path, dingtalk) == {"platforms": ["dingtalk"], "loaded": []}
