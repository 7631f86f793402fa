"""One self-contained HTML report: inline CSS and SVG charts, no scripts, no external assets,
so it opens offline and can be mailed as a single file."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from icpsync.evidence.report import render_verdict

WIDTH, HEIGHT = 600, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 36, 52
WON, LOST, BAR, LINE = "#2f855a", "#c05621", "#2b6cb0", "#2b6cb0"

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1a202c;max-width:980px}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}h3{font-size:1rem}
table{border-collapse:collapse;margin:.5rem 0}
td,th{padding:.25rem .6rem;border-bottom:1px solid #e2e8f0;text-align:right}
th:first-child,td:first-child{text-align:left}
.warn{color:#9b2c2c;font-weight:600}.ok{color:#276749;font-weight:600}
.warn,.ok{white-space:pre-line}figure{margin:1rem 0}
svg text{font-size:11px;fill:#4a5568}svg .title{font-size:13px;font-weight:600;fill:#1a202c}
svg .axis{font-size:12px;fill:#2d3748}
"""


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


def _rate(interval: Mapping[str, float]) -> str:
    return f"{interval['value']:.1%} ({interval['low']:.1%}-{interval['high']:.1%})"


def _tier_table(summary: Mapping[str, Any]) -> str:
    head = (
        "tier",
        "accounts",
        "deals",
        "won",
        "win rate",
        "95% CI",
        "avg won deal",
        "median cycle",
        "lift",
    )
    rows = []
    for t in summary["tiers"]:
        rate = t["win_rate"]
        cells = (
            t["tier"],
            f"{t['accounts']:,}",
            f"{t['deals']:,}",
            f"{t['wins']:,}",
            f"{rate['value']:.1%}" if rate else "-",
            f"{rate['low']:.1%}-{rate['high']:.1%}" if rate else "-",
            f"{t['avg_deal_size']:,.0f}" if t["avg_deal_size"] is not None else "-",
            f"{t['median_cycle_days']:.0f} d" if t["median_cycle_days"] is not None else "-",
            f"{t['lift']:.2f}x" if t["lift"] is not None else "-",
        )
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    return (
        "<table><tr>"
        + "".join(f"<th>{h}</th>" for h in head)
        + "</tr>"
        + "".join(rows)
        + "</table>"
    )


def _calibration_table(summary: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{escape(c['band'])}</td><td>{c['deals']:,}</td><td>{c['wins']:,}</td>"
        f"<td>{_rate(c['observed'])}</td>"
        f"<td>{c['expected']:.1%}</td></tr>"
        for c in summary["calibration"]
    )
    return (
        "<table><tr><th>score</th><th>deals</th><th>won</th><th>win rate (95% CI)</th>"
        f"<th>expected</th></tr>{rows}</table>"
    )


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    return (
        "<table><tr>"
        + "".join(f"<th>{escape(h)}</th>" for h in head)
        + "</tr>"
        + "".join(
            "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
        )
        + "</table>"
    )


def _ci(interval: Mapping[str, float] | None, fmt: str = "{:.1%}") -> str:
    if not interval:
        return "-"
    return (
        f"{fmt.format(interval['value'])} "
        f"({fmt.format(interval['low'])}-{fmt.format(interval['high'])})"
    )


def _value_table(summary: Mapping[str, Any]) -> str:
    rows = [
        (
            t["tier"],
            _ci(t.get("book_share")),
            _ci(t.get("deal_share")),
            _ci(t.get("win_share")),
            _ci(t.get("won_revenue_share")),
            _ci(t.get("avg_won_deal"), "{:,.0f}"),
            _ci(t.get("median_cycle"), "{:,.0f}"),
        )
        for t in summary["tiers"]
    ]
    return _table(
        (
            "tier",
            "share of book",
            "share of deals",
            "share of wins",
            "share of won revenue",
            "avg won deal",
            "median cycle (days)",
        ),
        rows,
    )


def summary_section(summary: Mapping[str, Any], title: str) -> str:
    """Tables and the three charts for one summary."""
    tiers = [t for t in summary["tiers"] if t["deals"]]
    labels = [t["tier"] for t in tiers]
    rates = [t["win_rate"]["value"] for t in tiers]
    whiskers = [(t["win_rate"]["low"], t["win_rate"]["high"]) for t in tiers]
    auc = summary["auc"]
    return "".join(
        [
            f"<h2>{escape(title)}</h2>",
            f"<p>{summary['deals']:,} closed deals, {summary['wins']:,} won (base rate "
            f"{summary['base_rate']:.1%}). AUC of the score {auc['value']:.3f} "
            f"(95% CI {auc['low']:.3f}-{auc['high']:.3f}, accounts resampled).</p>",
            _tier_table(summary),
            "<h3>Value by tier</h3><p>95% intervals: share of book by Wilson; the rest by a "
            "bootstrap over accounts.</p>",
            _value_table(summary),
            "<figure>",
            bar_chart(
                labels,
                rates,
                title="Win rate by tier (bars: 95% CI; dashed: base rate)",
                x_label="tier",
                y_label="win rate of closed deals",
                whiskers=whiskers,
                reference=summary["base_rate"],
            ),
            "</figure><figure>",
            histogram_chart(
                summary["score_histogram"]["bands"],
                summary["score_histogram"]["won"],
                summary["score_histogram"]["lost"],
                title="Score distribution: won vs lost deals",
            ),
            "</figure><figure>",
            bar_chart(
                labels,
                [t["lift"] for t in tiers],
                title="Lift over the base rate by tier (dashed: 1x)",
                x_label="tier",
                y_label="win rate / base rate",
                fmt="{:.1f}x",
                reference=1.0,
            ),
            "</figure>",
            "<h3>Calibration</h3>",
            _calibration_table(summary),
        ]
    )


def _comparison(comparison: Mapping[str, Any]) -> str:
    rows = [
        (name, _ci(comparison[key], "{:.3f}"))
        for name, key in (
            ("learned points profile", "points_profile"),
            ("logistic model (unrounded)", "logistic_model"),
            ("gradient-boosted trees (reference)", "reference_trees"),
        )
    ]
    return (
        "<h2>What explainability costs</h2>"
        f"<p>Validation: {escape(comparison['description'])}.</p>"
        + _table(("model", "AUC on held-out deals (95% CI)"), rows)
        + f"<p>Explainability costs {comparison['explainability_cost']:+.3f} AUC "
        "(trees minus points).</p>"
    )


def _anti(rules: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        (
            r["label"],
            r["effect"],
            f"{r['accounts']:,}",
            f"{r['book_share']:.1%}" if r["book_share"] is not None else "-",
            f"{r['deals']:,}",
            _ci(r["win_rate"]),
        )
        for r in rules
    ]
    return "<h2>Anti-ICP rules</h2>" + _table(
        ("rule", "effect", "accounts flagged", "share of book", "deals", "win rate (95% CI)"),
        rows,
    )


def _staleness(staleness: Mapping[str, Any] | None, trend: Sequence[Mapping[str, Any]]) -> str:
    parts = ["<h2>Is the profile going stale?</h2>"]
    if staleness:
        new, old = staleness["newest"], staleness["earlier"]
        word = "STALE: run icpsync learn" if staleness["stale"] else "current"
        parts.append(
            f'<p class="{"warn" if staleness["stale"] else "ok"}">Verdict: {word}</p>'
            + _table(
                ("period", "deals", "AUC (95% CI)", "Tier 1 lift"),
                [
                    (
                        f"closed from {staleness['newest_from']}",
                        f"{new['deals']:,}",
                        _ci(new["auc"], "{:.3f}"),
                        new["tier_1_lift"] if new["tier_1_lift"] is not None else "-",
                    ),
                    (
                        "before",
                        f"{old['deals']:,}",
                        _ci(old["auc"], "{:.3f}"),
                        old["tier_1_lift"] if old["tier_1_lift"] is not None else "-",
                    ),
                ],
            )
        )
        parts += [f"<p>{escape(r)}</p>" for r in staleness["reasons"]]
        if staleness["stale"] and staleness["moved"]:
            parts.append(
                "<h3>What moved</h3>"
                + _table(
                    ("criterion", "win rate before", "win rate newest", "deals newest"),
                    [
                        (
                            m["criterion"],
                            f"{m['earlier_win_rate']:.1%}",
                            f"{m['newest_win_rate']:.1%}",
                            m["newest_deals"],
                        )
                        for m in staleness["moved"]
                    ],
                )
            )
    if trend:
        parts.append(
            "<figure>"
            + trend_chart(trend, title="AUC of the score by quarter of close (bars: 95% CI)")
            + "</figure>"
        )
    return "".join(parts) if len(parts) > 1 else ""


def render_html(payload: Mapping[str, Any]) -> str:
    """The whole ``report`` payload as one HTML document."""
    signal = payload["all"]["signal"]
    verdict_class = "ok" if signal["reliable"] else "warn"
    profile = payload["profile"]
    body = [
        f"<h1>ICP evidence report: {escape(profile['name'])}</h1>",
        f"<p>Profile version {escape(profile['version'])}.</p>",
        f'<p class="{verdict_class}">{escape(render_verdict(signal, "this profile"))}</p>',
        summary_section(payload["all"], "All closed deals"),
    ]
    if payload.get("holdout"):
        body.append(
            summary_section(payload["holdout"]["summary"], payload["holdout"]["description"])
        )
    if payload.get("anti_rules"):
        body.append(_anti(payload["anti_rules"]))
    body.append(_staleness(payload.get("staleness"), payload.get("trend") or []))
    if payload.get("comparison"):
        body.append(_comparison(payload["comparison"]))
    if payload.get("notes"):
        body.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in payload["notes"]) + "</ul>")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>ICP evidence report</title><style>{_STYLE}</style></head><body>"
        + "".join(body)
        + "</body></html>\n"
    )
