"""Charts drawn on the server as SVG: no script, no request for anything, readable without colour.

Each chart is an ``<svg role="img">`` with a title and a description; the page's table beside it
holds the same figures for anyone who cannot see the chart. Only presentation attributes are used
(no ``style``), so the pages' Content-Security-Policy need not allow inline styles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

LEFT = 12
PLOT_WIDTH = 400
WIDTH = LEFT + PLOT_WIDTH + 40
ROW = 50  # a line of text naming the row and its figures, then the bar or strip beneath it
TOP = 6
INK = "#0b0c0c"
BAR = "#5694ca"  # 3.3:1 against white, with the interval drawn over it in ink
DOT = "#1d5a8e"
MUTED = "#505a5f"
GRID = "#b1b4b6"


def _x(score: float) -> float:
    return round(LEFT + PLOT_WIDTH * max(0.0, min(100.0, score)) / 100, 1)


def _axis(height: int) -> list[str]:
    parts = []
    for tick in (0, 25, 50, 75, 100):
        x = _x(tick)
        parts.append(f'<line x1="{x}" y1="{TOP + 20}" x2="{x}" y2="{height - 22}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(
            f'<text x="{x}" y="{height - 6}" text-anchor="middle" font-size="12" fill="{MUTED}">{tick}%</text>'
        )
    return parts


def _label(text: str) -> str:
    return text.replace("_", " ")


def _open(title: str, described: str, rows: int) -> tuple[list[str], int]:
    height = TOP + ROW * max(1, rows) + 24
    ident = _id(title)
    return [
        f'<svg class="chart" role="img" aria-labelledby="{ident}-t {ident}-d" '
        f'viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-t">{escape(title)}</title>',
        f'<desc id="{ident}-d">{escape(described)}</desc>',
        *_axis(height),
    ], height


def _row_label(y: int, text: str) -> str:
    # (a white outline keeps the text clear of the grid lines behind it)
    return (
        f'<text x="{LEFT}" y="{y + 14}" font-size="14" fill="{INK}" stroke="#fff" stroke-width="4" '
        f'paint-order="stroke">{escape(text)}</text>'
    )


@dataclass(frozen=True)
class Interval:
    label: str
    score: int | None
    low: float | None
    high: float | None


def scores_with_intervals(title: str, items: Sequence[Interval]) -> Markup:
    """One bar per area for its score, with a whisker for its 95% interval; the figures written above."""
    texts = [
        f"{_label(i.label)}: "
        + ("no judgements" if i.score is None else f"{i.score}%")
        + (f" (95% interval {i.low}–{i.high}%)" if i.low is not None and i.high is not None else "")
        for i in items
    ]
    parts, _ = _open(title, "; ".join(texts), len(items))
    for n, item in enumerate(items):
        y = TOP + ROW * n
        short = f" ({item.low}–{item.high}%)" if item.low is not None and item.high is not None else ""
        parts.append(
            _row_label(
                y, f"{_label(item.label)}: " + ("no judgements" if item.score is None else f"{item.score}%{short}")
            )
        )
        if item.score is None:
            continue
        parts.append(f'<rect x="{LEFT}" y="{y + 22}" width="{_x(item.score) - LEFT}" height="18" fill="{BAR}"/>')
        if item.low is not None and item.high is not None:
            lo, hi, mid = _x(item.low), _x(item.high), y + 31
            parts.append(f'<line x1="{lo}" y1="{mid}" x2="{hi}" y2="{mid}" stroke="{INK}" stroke-width="2"/>')
            for end in (lo, hi):
                parts.append(
                    f'<line x1="{end}" y1="{mid - 8}" x2="{end}" y2="{mid + 8}" stroke="{INK}" stroke-width="2"/>'
                )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()


@dataclass(frozen=True)
class Strip:
    label: str
    scores: Sequence[int]  # one per inspection
    aggregate: int | None


def every_body(title: str, strips: Sequence[Strip]) -> Markup:
    """Each area a strip: a dot per inspection's score (equal scores stacked apart), and a bar at the
    pooled score of the year."""
    texts = [
        f"{_label(s.label)}: "
        + (f"pooled {s.aggregate}%" if s.aggregate is not None else "no pooled score")
        + (f", {len(s.scores)} inspections from {min(s.scores)}% to {max(s.scores)}%" if s.scores else "")
        for s in strips
    ]
    parts, _ = _open(title, "; ".join(texts), len(strips))
    for n, (strip, text) in enumerate(zip(strips, texts, strict=True)):
        y = TOP + ROW * n
        mid = y + 32
        parts.append(_row_label(y, text.split(",")[0]))  # the range is in the description and the table
        seen: dict[int, int] = {}
        for score in strip.scores:
            k = seen[score] = seen.get(score, -1) + 1
            dy = (0, -5, 5, -10, 10)[k % 5]
            parts.append(
                f'<circle cx="{_x(score)}" cy="{mid + dy}" r="4.5" fill="{DOT}" fill-opacity="0.35" stroke="{DOT}"/>'
            )
        if strip.aggregate is not None:
            x = _x(strip.aggregate)
            parts.append(f'<line x1="{x}" y1="{mid - 13}" x2="{x}" y2="{mid + 13}" stroke="{INK}" stroke-width="3"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape()


def _id(title: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in title.lower())[:40]
