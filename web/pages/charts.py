"""Charts drawn on the server as SVG: no script, no request for anything, readable without colour.

Each chart is an ``<svg role="img">`` with a title and a description; the page's table beside it
holds the same figures for anyone who cannot see the chart. Only presentation attributes are used
(no ``style``), so the pages' Content-Security-Policy need not allow inline styles.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

LABEL_WIDTH = 210
PLOT_WIDTH = 400
ROW = 34
TOP = 28
INK = "#1b1b1b"
BAR = "#1d5a8e"
MUTED = "#595959"
GRID = "#b1b4b6"


def _x(score: float) -> float:
    return round(LABEL_WIDTH + PLOT_WIDTH * max(0.0, min(100.0, score)) / 100, 1)


def _axis(height: int) -> list[str]:
    parts = []
    for tick in (0, 25, 50, 75, 100):
        x = _x(tick)
        parts.append(f'<line x1="{x}" y1="{TOP - 6}" x2="{x}" y2="{height - 22}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{x}" y="{height - 6}" text-anchor="middle" font-size="12" fill="{MUTED}">{tick}%</text>')
    return parts


def _label(text: str) -> str:
    return text.replace("_", " ")


@dataclass(frozen=True)
class Interval:
    label: str
    score: int | None
    low: float | None
    high: float | None


def scores_with_intervals(title: str, items: Sequence[Interval]) -> Markup:
    """One bar per area for its score, with a whisker for its 95% interval."""
    height = TOP + ROW * max(1, len(items)) + 26
    described = "; ".join(
        f"{_label(i.label)}: {'no judgements' if i.score is None else f'{i.score}%'}"
        + (f" (95% interval {i.low}–{i.high}%)" if i.low is not None and i.high is not None else "")
        for i in items
    )
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="{_id(title)}-t {_id(title)}-d" '
        f'viewBox="0 0 {LABEL_WIDTH + PLOT_WIDTH + 20} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{_id(title)}-t">{escape(title)}</title>',
        f'<desc id="{_id(title)}-d">{escape(described)}</desc>',
        *_axis(height),
    ]
    for n, item in enumerate(items):
        y = TOP + ROW * n
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + 17}" text-anchor="end" font-size="13" '
                     f'fill="{INK}">{escape(_label(item.label))}</text>')
        if item.score is None:
            parts.append(f'<text x="{LABEL_WIDTH + 4}" y="{y + 17}" font-size="13" fill="{MUTED}">no judgements</text>')
            continue
        parts.append(f'<rect x="{LABEL_WIDTH}" y="{y + 6}" width="{_x(item.score) - LABEL_WIDTH}" height="16" '
                     f'fill="{BAR}"/>')
        if item.low is not None and item.high is not None:
            lo, hi, mid = _x(item.low), _x(item.high), y + 14
            parts.append(f'<line x1="{lo}" y1="{mid}" x2="{hi}" y2="{mid}" stroke="{INK}" stroke-width="2"/>')
            for end in (lo, hi):
                parts.append(f'<line x1="{end}" y1="{mid - 7}" x2="{end}" y2="{mid + 7}" stroke="{INK}" stroke-width="2"/>')
        parts.append(f'<text x="{min(_x(item.score), LABEL_WIDTH + PLOT_WIDTH - 30) + 4}" y="{y + 4}" font-size="12" '
                     f'fill="{INK}">{item.score}%</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class Strip:
    label: str
    scores: Sequence[int]  # one per inspection
    aggregate: int | None


def every_body(title: str, strips: Sequence[Strip]) -> Markup:
    """Each area a strip: a dot per inspection's score, and a bar at the pooled score of the year."""
    height = TOP + ROW * max(1, len(strips)) + 26
    described = "; ".join(
        f"{_label(s.label)}: {len(s.scores)} inspections"
        + (f", from {min(s.scores)}% to {max(s.scores)}%" if s.scores else "")
        + (f", pooled {s.aggregate}%" if s.aggregate is not None else "")
        for s in strips
    )
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="{_id(title)}-t {_id(title)}-d" '
        f'viewBox="0 0 {LABEL_WIDTH + PLOT_WIDTH + 20} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{_id(title)}-t">{escape(title)}</title>',
        f'<desc id="{_id(title)}-d">{escape(described)}</desc>',
        *_axis(height),
    ]
    for n, strip in enumerate(strips):
        y = TOP + ROW * n
        mid = y + 14
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + 17}" text-anchor="end" font-size="13" '
                     f'fill="{INK}">{escape(_label(strip.label))}</text>')
        parts.extend(
            f'<circle cx="{_x(score)}" cy="{mid}" r="5" fill="{BAR}" fill-opacity="0.45" stroke="{BAR}"/>'
            for score in strip.scores
        )
        if strip.aggregate is not None:
            x = _x(strip.aggregate)
            parts.append(f'<line x1="{x}" y1="{mid - 11}" x2="{x}" y2="{mid + 11}" stroke="{INK}" stroke-width="3"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _id(title: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in title.lower())[:40]
