"""One self-contained HTML report: inline CSS and SVG charts, no scripts, no external assets,
so it opens offline and can be mailed as a single file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from icpsync.evidence.report import render_comparison, render_verdict

WIDTH, HEIGHT, PAD = 560, 240, 40
WON, LOST, BAR = "#2f855a", "#c05621", "#2b6cb0"

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1a202c;max-width:980px}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}
td,th{padding:.25rem .6rem;border-bottom:1px solid #e2e8f0;text-align:right}
th:first-child,td:first-child{text-align:left}
.warn{color:#9b2c2c;font-weight:600}.ok{color:#276749;font-weight:600}
.warn,.ok{white-space:pre-line}
pre{background:#f7fafc;padding:.75rem;white-space:pre-wrap}svg text{font-size:11px;fill:#4a5568}
"""


def _axes(max_value: float, fmt: str) -> list[str]:
    base = HEIGHT - PAD
    parts = [f'<line x1="{PAD}" y1="{base}" x2="{WIDTH - 10}" y2="{base}" stroke="#a0aec0"/>']
    for i in range(5):
        value = max_value * i / 4
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * i / 4
        parts.append(
            f'<line x1="{PAD}" y1="{y:.1f}" x2="{WIDTH - 10}" y2="{y:.1f}" stroke="#edf2f7"/>'
        )
        parts.append(
            f'<text x="{PAD - 4}" y="{y + 4:.1f}" text-anchor="end">{fmt.format(value)}</text>'
        )
    return parts


def _y(value: float, max_value: float) -> float:
    return HEIGHT - PAD - (HEIGHT - 2 * PAD) * (value / max_value if max_value else 0)


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    title: str,
    fmt: str = "{:.0%}",
    whiskers: Sequence[tuple[float, float] | None] | None = None,
    reference: float | None = None,
) -> str:
    """An SVG bar chart with optional interval whiskers and a dashed reference line."""
    tops = [v for v in values if v is not None] + [w[1] for w in (whiskers or []) if w]
    max_value = max([*tops, reference or 0, 1e-9]) * 1.1
    step = (WIDTH - PAD - 10) / max(1, len(labels))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        *_axes(max_value, fmt),
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = PAD + i * step + step * 0.2
        width = step * 0.6
        if value is not None:
            y = _y(value, max_value)
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                f'height="{HEIGHT - PAD - y:.1f}" fill="{BAR}"><title>{escape(label)}: '
                f"{fmt.format(value)}</title></rect>"
            )
            parts.append(
                f'<text x="{x + width / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">'
                f"{fmt.format(value)}</text>"
            )
        whisker = whiskers[i] if whiskers else None
        if whisker and value is not None:
            cx = x + width / 2
            lo, hi = _y(whisker[0], max_value), _y(whisker[1], max_value)
            parts.append(
                f'<line x1="{cx:.1f}" y1="{lo:.1f}" x2="{cx:.1f}" y2="{hi:.1f}" '
                'stroke="#1a202c" stroke-width="1.5"/>'
            )
        parts.append(
            f'<text x="{x + width / 2:.1f}" y="{HEIGHT - PAD + 14}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    if reference is not None:
        y = _y(reference, max_value)
        parts.append(
            f'<line x1="{PAD}" y1="{y:.1f}" x2="{WIDTH - 10}" y2="{y:.1f}" '
            'stroke="#718096" stroke-dasharray="4 3"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram_chart(
    bands: Sequence[str], won: Sequence[int], lost: Sequence[int], *, title: str
) -> str:
    """Score distribution of won and lost deals side by side (share of each outcome)."""
    total_won, total_lost = max(1, sum(won)), max(1, sum(lost))
    won_share = [w / total_won for w in won]
    lost_share = [x / total_lost for x in lost]
    max_value = max([*won_share, *lost_share, 1e-9]) * 1.1
    step = (WIDTH - PAD - 10) / max(1, len(bands))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        *_axes(max_value, "{:.0%}"),
    ]
    for i, band in enumerate(bands):
        x = PAD + i * step + step * 0.1
        for j, (share, colour) in enumerate(((won_share[i], WON), (lost_share[i], LOST))):
            y = _y(share, max_value)
            parts.append(
                f'<rect x="{x + j * step * 0.4:.1f}" y="{y:.1f}" width="{step * 0.38:.1f}" '
                f'height="{HEIGHT - PAD - y:.1f}" fill="{colour}"><title>{escape(band)}: '
                f"{share:.1%} of {'won' if j == 0 else 'lost'} deals</title></rect>"
            )
        parts.append(
            f'<text x="{x + step * 0.4:.1f}" y="{HEIGHT - PAD + 14}" '
            f'text-anchor="middle">{escape(band)}</text>'
        )
    parts.append(
        f'<rect x="{WIDTH - 120}" y="8" width="10" height="10" fill="{WON}"/>'
        f'<text x="{WIDTH - 106}" y="17">won</text>'
        f'<rect x="{WIDTH - 70}" y="8" width="10" height="10" fill="{LOST}"/>'
        f'<text x="{WIDTH - 56}" y="17">lost</text></svg>'
    )
    return "".join(parts)


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
            bar_chart(
                labels,
                rates,
                title="Win rate by tier (95% CI; dashed: base rate)",
                whiskers=whiskers,
                reference=summary["base_rate"],
            ),
            histogram_chart(
                summary["score_histogram"]["bands"],
                summary["score_histogram"]["won"],
                summary["score_histogram"]["lost"],
                title="Score distribution: won vs lost deals",
            ),
            bar_chart(
                labels,
                [t["lift"] for t in tiers],
                title="Lift over the base rate (dashed: 1x)",
                fmt="{:.2f}x",
                reference=1.0,
            ),
            "<h3>Calibration</h3>",
            _calibration_table(summary),
        ]
    )


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
    if payload.get("comparison"):
        body.append(
            "<h2>What explainability costs</h2><pre>"
            f"{escape(render_comparison(payload['comparison']))}</pre>"
        )
    if payload.get("notes"):
        body.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in payload["notes"]) + "</ul>")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>ICP evidence report</title><style>{_STYLE}</style></head><body>"
        + "".join(body)
        + "</body></html>\n"
    )
