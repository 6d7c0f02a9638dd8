"""The year's archive of a society: minutes as .docx, decisions as CSV, the event log as JSON lines."""

from __future__ import annotations

import asyncio
import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from bot import minutes as mn
from storage import repo

MATTER = mn.MATTER
OUTCOME = mn.OUTCOME


@dataclass(frozen=True, slots=True)
class ExportResult:
    minutes_files: list[Path]
    decisions_csv: Path
    events_jsonl: Path
    meetings: int
    decisions: int
    events: int


def _minutes_of(version: repo.MinutesVersion) -> mn.Minutes:
    return mn.Minutes.from_json(json.loads(version.body), version.notes)


def _font(run: Any, size: float, *, bold: bool = False, family: str = "仿宋") -> None:
    """python-docx is untyped: `run` is its Run."""
    from docx.oxml.ns import qn
    from docx.shared import Pt

    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.name = family
    run._element.rPr.rFonts.set(qn("w:eastAsia"), family)


def write_docx(minutes: mn.Minutes, version: repo.MinutesVersion, path: Path | IO[bytes]) -> None:
    """A Chinese official meeting record: a centred title (小标宋 style, 二号), body in 仿宋
    三号, the signature block at the end."""
    # python-docx is imported when a document is written, not at every start (it and its
    # XML parser cost about 70 ms and several MB).
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = Document()
    # The file's own properties: the template's (author 「python-docx」, created 2013) otherwise
    props = doc.core_properties
    props.author = props.last_modified_by = minutes.recorder or "议事"
    props.title = f"{minutes.society}党建工作领导小组第{minutes.number}次会议记录"
    props.created = props.modified = version.created_at
    props.comments = f"纪要第{version.version}版，校验码 {version.digest}"
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(
        title.add_run(f"{minutes.society}党建工作领导小组\n第{minutes.number}次会议记录"),
        22,
        bold=True,
        family="方正小标宋简体",
    )
    for line in mn.render_text(minutes).split("\n")[1:]:
        para = doc.add_paragraph()
        para.paragraph_format.first_line_indent = Pt(32) if not line.startswith("   ") else Pt(48)
        para.paragraph_format.line_spacing = Pt(28)
        _font(para.add_run(line.strip()), 16)
    doc.add_paragraph()
    status = "已签发" if version.signed else "草稿（未签发）"
    for line in (
        f"记录人：{minutes.recorder or '　　　　'}",
        f"签发人：{minutes.chair if version.signed else '　　　　'}（{status}）",
        f"纪要版本：第{version.version}版　校验码：{version.digest}",
    ):
        para = doc.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _font(para.add_run(line), 14)
    doc.save(str(path) if isinstance(path, Path) else path)


async def export_year(society_name: str, year: int, out: Path, tz: ZoneInfo) -> ExportResult:
    society = await repo.society_by_name(society_name)
    if society is None:
        raise LookupError(society_name)
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    files: list[Path] = []
    decisions = 0
    csv_path = out / f"{society.name}-{year}-决策.csv"
    meetings = await repo.meetings_in_year(society.id, year)
    with csv_path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "会议",
                "日期",
                "议题编号",
                "议题",
                "类型",
                "表决方式",
                "赞成",
                "反对",
                "弃权",
                "未投",
                "应到会",
                "通过所需",
                "结果",
                "紧急情况",
            ]
        )
        for meeting in meetings:
            version = await repo.signed_minutes(meeting.id) or await repo.latest_minutes(meeting.id)
            if version is not None:
                path = out / f"{society.name}-第{meeting.number}次会议记录.docx"
                write_docx(_minutes_of(version), version, path)
                files.append(path)
            for vote in await repo.meeting_votes(meeting.id):
                r = vote.result
                if not r or "yes" not in r:
                    continue
                decisions += 1
                writer.writerow(
                    [
                        meeting.number,
                        meeting.starts_at.astimezone(tz).date().isoformat(),
                        r["number"],
                        r["title"],
                        MATTER.get(r["matter_type"], r["matter_type"]),
                        mn.METHOD.get(r["method"], r["method"]),
                        r["yes"],
                        r["no"],
                        r["abstain"],
                        r["not_voted"],
                        r["base"],
                        r["needed"],
                        OUTCOME.get(r["outcome"], r["outcome"]),
                        r.get("emergency_reason", ""),
                    ]
                )
    events_path = out / f"{society.name}-{year}-记录链.jsonl"
    count = 0
    with events_path.open("w", encoding="utf-8") as fh:
        for e in await repo.society_events(society.id):
            if e.at.astimezone(tz).year != year:
                continue
            count += 1
            fh.write(
                json.dumps(
                    {
                        "seq": e.seq,
                        "at": e.at.isoformat(),
                        "kind": e.kind,
                        "meeting": e.meeting_id,
                        "payload": e.payload,
                        "hash": e.hash,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    return ExportResult(files, csv_path, events_path, len(meetings), decisions, count)
