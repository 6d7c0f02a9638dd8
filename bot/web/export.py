"""The overview table as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese) and XLSX
(openpyxl, write-only mode): the same columns as the page (overview.COLUMNS)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from bot.web.overview import COLUMNS, Row


def to_csv(rows: Sequence[Row]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.header for c in COLUMNS])
    for row in rows:
        writer.writerow([c.value(row) for c in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: Sequence[Row], *, title: str = "学会总览") -> bytes:
    # openpyxl is imported when a workbook is written, not at every start.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    bold = Font(bold=True)
    header = []
    for c in COLUMNS:
        cell = WriteOnlyCell(sheet, value=c.header)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append([c.value(row) for c in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
