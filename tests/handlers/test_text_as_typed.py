"""Free text is kept as typed (issue: NFKC only on what is matched): full-width punctuation in
an opinion, a reason and a title reaches the reply, the chain, the signed minutes (.docx) and
the yearly export unchanged, while command words and numbers typed in full width still work."""

from __future__ import annotations

import asyncio
from pathlib import Path

from docx import Document

from bot.demo import SOCIETY
from bot.records import export_year
from tests.kit.console import TZ, ConsoleRig

OPINION = "同意预算，建议压缩会务费（第\uff13稿）"
REASON = "出差在外：参加省科协培训！"
TITLE = "年度工作总结，含党建部分"


def _read(out: Path) -> tuple[str, str]:
    docx = next(out.glob("*.docx"))
    text = "\n".join(p.text for p in Document(str(docx)).paragraphs)
    chain = next(out.glob("*.jsonl")).read_text(encoding="utf-8")
    return text, chain


async def test_full_width_text_survives_to_the_minutes_and_the_export(
    harness: ConsoleRig, tmp_path: Path
) -> None:
    h = harness
    h.at("2026-12-01 09:00")
    convened = await h.say(
        "张伟", f"召开会议 12月5日 15\uff1a00 学会会议室 议题：{TITLE}；经费预算"
    )
    assert "15:00" in convened, convened
    assert TITLE in convened
    leave = await h.say("杨帆", f"请假 {REASON}")
    assert REASON in leave, leave
    written = await h.say("杨帆", f"书面意见 \uff12 {OPINION}")
    assert "议题2" in written, written  # a full-width digit read as the item number
    h.at("2026-12-05 14:55")
    for name in ("张伟", "李娜", "王强", "刘洋", "陈静", "赵敏"):
        await h.say(name, "签到")
    h.at("2026-12-05 15:00")
    await h.say("张伟", "开会")
    await h.say("张伟", "散会 现在")
    signed = await h.say("张伟", "签发")
    assert "签发" in signed, signed
    out = tmp_path / "export"
    await export_year(SOCIETY, 2026, out, TZ)
    minutes, chain = await asyncio.to_thread(_read, out)
    for text in (OPINION, REASON, TITLE):
        assert text in minutes, text
        assert text in chain, text
