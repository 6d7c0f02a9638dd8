"""Charts as server-side SVG (pure): no script, nothing loaded from elsewhere.

Colours are presentation attributes, not `style`: the pages' Content-Security-Policy forbids
inline styles. Every text is escaped here; the templates insert the markup as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

BAR = "#2b6cb0"
WARN = "#c05621"
BAD = "#c53030"
GRID = "#d9d9d9"
TEXT = "#333333"
FONT = "sans-serif"


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    text: str  # what is written at the end of the bar
    colour: str = BAR


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" role="img" aria-label={quoteattr(title)}'
        f' font-family="{FONT}"'
        f' font-size="12" class="chart"><title>{escape(title)}</title>' + "".join(body) + "</svg>"
    )


def columns(title: str, bars: Sequence[Bar], *, height: int = 220) -> str:
    """Vertical bars, one per label (e.g. meetings per month)."""
    left, bottom, top = 36, 48, 16
    step = max(28, min(96, 640 // max(len(bars), 1)))
    slanted = step < 60  # long labels under narrow bars are written at an angle
    width = left + step * max(len(bars), 1) + 12
    top_value = max([b.value for b in bars] + [1.0])
    scale = (height - bottom - top) / top_value
    body = [
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 8}" y2="{height - bottom}"'
        f' stroke="{GRID}"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" fill="{TEXT}">'
        f"{escape(_number(top_value))}</text>",
    ]
    bar_w = min(step - 8, 48)
    for i, b in enumerate(bars):
        h = b.value * scale
        x = left + i * step + (step - bar_w) / 2
        y = height - bottom - h
        middle = x + bar_w / 2
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w}" height="{h:.1f}" fill="{b.colour}">'
            f"<title>{escape(b.label)}：{escape(b.text)}</title></rect>"
        )
        if b.value:
            body.append(
                f'<text x="{middle:.1f}" y="{y - 3:.1f}" text-anchor="middle"'
                f' fill="{TEXT}" font-size="10">{escape(b.text)}</text>'
            )
        label_y = height - bottom + 14
        turn = f' transform="rotate(-45 {middle:.1f} {label_y})"' if slanted else ""
        body.append(
            f'<text x="{middle:.1f}" y="{label_y}" text-anchor="{"end" if slanted else "middle"}"'
            f' fill="{TEXT}" font-size="10"{turn}>{escape(b.label)}</text>'
        )
    return _svg(width, height, title, body)


def rows(title: str, bars: Sequence[Bar], *, maximum: float = 1.0) -> str:
    """Horizontal bars, one per line (e.g. the attendance rate of a society)."""
    label_w, bar_w, line = 220, 320, 22
    width = label_w + bar_w + 90
    height = line * max(len(bars), 1) + 8
    body = [] if bars else [f'<text x="{label_w}" y="19" fill="{TEXT}">暂无数据</text>']
    for i, b in enumerate(bars):
        y = 4 + i * line
        w = bar_w * (b.value / maximum if maximum else 0)
        body.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" fill="{TEXT}">'
            f"{escape(_clip(b.label, 16))}</text>"
        )
        body.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{line - 8}" fill="{GRID}"'
            ' opacity="0.4"/>'
        )
        body.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{line - 8}"'
            f' fill="{b.colour}"><title>{escape(b.label)}：{escape(b.text)}</title></rect>'
        )
        body.append(
            f'<text x="{label_w + bar_w + 8}" y="{y + 15}" fill="{TEXT}">{escape(b.text)}</text>'
        )
    return _svg(width, height, title, body)


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def rate_colour(rate: float) -> str:
    return BAD if rate < 0.5 else WARN if rate < 2 / 3 else BAR
