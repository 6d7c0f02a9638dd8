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
import bot.cli
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
