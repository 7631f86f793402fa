"""One self-contained HTML report: inline CSS and SVG charts, no scripts, no external assets,
so it opens offline and can be mailed as a single file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from icpsync.evidence.charts import bar_chart, histogram_chart, trend_chart
from icpsync.evidence.report import render_verdict

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1a202c;max-width:980px}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}h3{font-size:1rem}
table{border-collapse:collapse;margin:.5rem 0}
td,th{padding:.25rem .6rem;border-bottom:1px solid #e2e8f0;text-align:right}
th:first-child,td:first-child{text-align:left;white-space:nowrap}
.warn{color:#9b2c2c;font-weight:600}.ok{color:#276749;font-weight:600}
.warn,.ok{white-space:pre-line}figure{margin:1rem 0}
svg text{font-size:11px;fill:#4a5568}svg .title{font-size:13px;font-weight:600;fill:#1a202c}
svg .axis{font-size:12px;fill:#2d3748}
"""


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
