"""Inline SVG charts for the HTML report: each with a title, labelled axes and round ticks
(steps of 1, 2, 2.5 or 5 times a power of ten), no scripts."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

WIDTH, HEIGHT = 600, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 36, 52
WON, LOST, BAR, LINE = "#2f855a", "#c05621", "#2b6cb0", "#2b6cb0"


def nice_ticks(top: float, *, count: int = 5, floor: float = 0.0) -> list[float]:
    """Round tick values from ``floor`` to at least ``top``: steps of 1, 2, 2.5 or 5 times a
    power of ten, about ``count`` of them (0%, 20%, 40% rather than 17%, 35%, 52%)."""
    span = max(top - floor, 1e-9)
    raw = span / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw - 1e-12)
    n = math.ceil(span / step - 1e-9)
    return [round(floor + i * step, 10) for i in range(n + 1)]


class _Frame:
    """Plot area, scale and the SVG parts of one chart."""

    def __init__(self, title: str, x_label: str, y_label: str, ticks: list[float], fmt: str):
        self.low, self.high = ticks[0], ticks[-1]
        self.parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
            f'<text class="title" x="{WIDTH / 2}" y="18" text-anchor="middle">'
            f"{escape(title)}</text>",
            f'<text class="axis" x="{LEFT + (WIDTH - LEFT - RIGHT) / 2}" y="{HEIGHT - 6}" '
            f'text-anchor="middle">{escape(x_label)}</text>',
            f'<text class="axis" transform="translate(14 {TOP + (HEIGHT - TOP - BOTTOM) / 2}) '
            f'rotate(-90)" text-anchor="middle">{escape(y_label)}</text>',
        ]
        for tick in ticks:
            y = self.y(tick)
            self.parts.append(
                f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                f'stroke="{"#a0aec0" if tick == ticks[0] else "#edf2f7"}"/>'
                f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                f"{fmt.format(tick)}</text>"
            )

    def y(self, value: float) -> float:
        share = (value - self.low) / (self.high - self.low) if self.high > self.low else 0.0
        return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * min(max(share, 0.0), 1.0)

    def step(self, n: int) -> float:
        return (WIDTH - LEFT - RIGHT) / max(1, n)

    def x_label(self, x: float, label: str) -> None:
        self.parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )

    def reference(self, value: float) -> None:
        y = self.y(value)
        self.parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            'stroke="#718096" stroke-dasharray="4 3"/>'
        )

    def svg(self) -> str:
        return "".join([*self.parts, "</svg>"])


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    title: str,
    x_label: str,
    y_label: str,
    fmt: str = "{:.0%}",
    whiskers: Sequence[tuple[float, float] | None] | None = None,
    reference: float | None = None,
) -> str:
    """An SVG bar chart with a title, labelled axes, round ticks, optional interval whiskers
    and a dashed reference line."""
    tops = [v for v in values if v is not None] + [w[1] for w in (whiskers or []) if w]
    frame = _Frame(title, x_label, y_label, nice_ticks(max([*tops, reference or 0, 1e-9])), fmt)
    step = frame.step(len(labels))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x, width = LEFT + i * step + step * 0.2, step * 0.6
        if value is not None:
            y = frame.y(value)
            frame.parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                f'height="{HEIGHT - BOTTOM - y:.1f}" fill="{BAR}"><title>{escape(label)}: '
                f"{fmt.format(value)}</title></rect>"
                f'<text x="{x + width * 0.75:.1f}" y="{y - 4:.1f}" text-anchor="start">'
                f"{fmt.format(value)}</text>"
            )
        whisker = whiskers[i] if whiskers else None
        if whisker and value is not None:
            cx = x + width / 2
            lo, hi = frame.y(whisker[0]), frame.y(whisker[1])
            frame.parts.append(
                f'<line x1="{cx:.1f}" y1="{lo:.1f}" x2="{cx:.1f}" y2="{hi:.1f}" '
                'stroke="#1a202c" stroke-width="1.5"/>'
            )
        frame.x_label(x + width / 2, label)
    if reference is not None:
        frame.reference(reference)
    return frame.svg()


def histogram_chart(
    bands: Sequence[str], won: Sequence[int], lost: Sequence[int], *, title: str
) -> str:
    """Score distribution of won and lost deals side by side (share of each outcome)."""
    total_won, total_lost = max(1, sum(won)), max(1, sum(lost))
    won_share = [w / total_won for w in won]
    lost_share = [x / total_lost for x in lost]
    ticks = nice_ticks(max([*won_share, *lost_share, 1e-9]))
    frame = _Frame(title, "score band", "share of deals of each outcome", ticks, "{:.0%}")
    step = frame.step(len(bands))
    for i, band in enumerate(bands):
        x = LEFT + i * step + step * 0.1
        for j, (share, colour) in enumerate(((won_share[i], WON), (lost_share[i], LOST))):
            y = frame.y(share)
            frame.parts.append(
                f'<rect x="{x + j * step * 0.4:.1f}" y="{y:.1f}" width="{step * 0.38:.1f}" '
                f'height="{HEIGHT - BOTTOM - y:.1f}" fill="{colour}"><title>{escape(band)}: '
                f"{share:.1%} of {'won' if j == 0 else 'lost'} deals</title></rect>"
            )
        frame.x_label(x + step * 0.4, band)
    frame.parts.append(
        f'<rect x="{WIDTH - 120}" y="30" width="10" height="10" fill="{WON}"/>'
        f'<text x="{WIDTH - 106}" y="39">won</text>'
        f'<rect x="{WIDTH - 70}" y="30" width="10" height="10" fill="{LOST}"/>'
        f'<text x="{WIDTH - 56}" y="39">lost</text>'
    )
    return frame.svg()


def trend_chart(trend: Sequence[Mapping[str, Any]], *, title: str) -> str:
    """AUC per quarter with its interval, on a round axis from 0.5 (chance) up."""
    top = max([t["high"] for t in trend] + [0.6])
    low = min([t["low"] for t in trend] + [0.5])
    floor = math.floor(low * 10) / 10
    ticks = nice_ticks(min(top, 1.0), floor=floor, count=8)  # steps of 0.1, never past 1
    frame = _Frame(title, "quarter of close", "AUC (95% CI)", ticks, "{:.1f}")
    step = frame.step(len(trend))
    points = []
    for i, t in enumerate(trend):
        x = LEFT + (i + 0.5) * step
        frame.parts.append(
            f'<line x1="{x:.1f}" y1="{frame.y(t["low"]):.1f}" x2="{x:.1f}" '
            f'y2="{frame.y(t["high"]):.1f}" stroke="#a0aec0" stroke-width="3"/>'
        )
        points.append(f"{x:.1f},{frame.y(t['value']):.1f}")
        frame.parts.append(
            f'<circle cx="{x:.1f}" cy="{frame.y(t["value"]):.1f}" r="3.5" fill="{LINE}">'
            f"<title>{escape(t['quarter'])}: AUC {t['value']:.3f} ({t['low']:.3f}-"
            f"{t['high']:.3f}), {t['deals']:,} deals</title></circle>"
        )
        year, quarter = t["quarter"].split("-")
        frame.x_label(x, quarter)
        if i == 0 or quarter == "Q1":  # the year once, under its first quarter
            frame.parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 29}" text-anchor="middle">{year}</text>'
            )
    frame.parts.append(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{LINE}" stroke-width="1.5"/>'
    )
    if floor <= 0.5:
        frame.reference(0.5)
    return frame.svg()
