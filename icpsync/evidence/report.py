"""Terminal tables for ``learn`` and ``report``, rendered from the same plain data the
``--json`` output prints."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from icpsync.core.text import table


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _rate(interval: Mapping[str, float] | None) -> str:
    if not interval:
        return "-"
    return f"{interval['value']:.1%} ({interval['low']:.1%}-{interval['high']:.1%})"


def _auc(interval: Mapping[str, float]) -> str:
    return f"{interval['value']:.3f} ({interval['low']:.3f}-{interval['high']:.3f})"


def _num(value: float | None, fmt: str = "{:,.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def render_summary(summary: Mapping[str, Any], title: str) -> str:
    """Tier table, AUC and calibration of one summary."""
    rows = [
        (
            t["tier"],
            t["accounts"],
            t["deals"],
            t["wins"],
            _rate(t["win_rate"]),
            _num(t["avg_deal_size"]),
            _num(t["median_cycle_days"], "{:,.0f} d"),
            _num(t["lift"], "{:.2f}x"),
        )
        for t in summary["tiers"]
    ]
    lines = [
        f"{title}: {summary['deals']:,} closed deals, {summary['wins']:,} won "
        f"(base rate {_pct(summary['base_rate'])})",
        table(
            (
                "tier",
                "accounts",
                "deals",
                "won",
                "win rate (95% CI)",
                "avg won deal",
                "median cycle",
                "lift",
            ),
            rows,
        ),
        f"AUC of the score: {_auc(summary['auc'])} (interval: accounts resampled)",
        "",
        render_value(summary),
        "",
        "calibration (win rate by score band; expected = logistic fit of won on score):",
        table(
            ("score", "deals", "won", "win rate (95% CI)", "expected"),
            [
                (c["band"], c["deals"], c["wins"], _rate(c["observed"]), _pct(c["expected"]))
                for c in summary["calibration"]
            ],
        ),
    ]
    return "\n".join(lines)


def _share(interval: Mapping[str, float] | None) -> str:
    return _rate(interval)


def _money(interval: Mapping[str, float] | None, fmt: str = "{:,.0f}") -> str:
    if not interval:
        return "-"
    return (
        f"{fmt.format(interval['value'])} "
        f"({fmt.format(interval['low'])}-{fmt.format(interval['high'])})"
    )


def render_value(summary: Mapping[str, Any]) -> str:
    """Value by tier: shares of the book, deals, wins and won revenue, average won deal and
    median cycle, each with its 95% interval."""
    rows = [
        (
            t["tier"],
            _share(t.get("book_share")),
            _pct(t["deal_share"]["value"]) if t.get("deal_share") else "-",
            _pct(t["win_share"]["value"]) if t.get("win_share") else "-",
            _share(t.get("won_revenue_share")),
            _money(t.get("avg_won_deal")),
            _money(t.get("median_cycle"), "{:,.0f}"),
        )
        for t in summary["tiers"]
    ]
    return "\n".join(
        [
            "value by tier (95% CI; book: Wilson, the rest: accounts resampled):",
            table(
                (
                    "tier",
                    "share of book",
                    "deals",
                    "wins",
                    "won revenue",
                    "avg won deal",
                    "median cycle (d)",
                ),
                rows,
            ),
        ]
    )


def render_anti(rules: Sequence[Mapping[str, Any]]) -> str:
    """Each anti-ICP rule: the accounts it flags and the win rate of their deals."""
    if not rules:
        return ""
    return "\n".join(
        [
            "anti-ICP rules:",
            table(
                ("rule", "effect", "accounts flagged", "share of book", "deals", "win rate"),
                [
                    (
                        r["label"],
                        r["effect"],
                        r["accounts"],
                        _pct(r["book_share"]),
                        r["deals"],
                        _rate(r["win_rate"]),
                    )
                    for r in rules
                ],
            ),
        ]
    )


def render_staleness(staleness: Mapping[str, Any] | None) -> str:
    """The newest period against the earlier one, and the verdict."""
    if not staleness:
        return ""
    new, old = staleness["newest"], staleness["earlier"]
    head = (
        f"staleness: deals closed from {staleness['newest_from']} ({new['deals']:,}) against "
        f"those before ({old['deals']:,}): AUC {_auc(new['auc'])} against {_auc(old['auc'])}"
    )
    if not staleness["stale"]:
        return head + "\nverdict: current (the profile ranks the newest deals as well as before)"
    lines = [head, "verdict: STALE; run `icpsync learn` to propose a new profile"]
    lines += [f"  - {reason}" for reason in staleness["reasons"]]
    if staleness["moved"]:
        lines.append("what moved (win rate of each criterion's deals, earlier -> newest):")
        lines += [
            f"  - {m['criterion']}: {m['earlier_win_rate']:.1%} -> {m['newest_win_rate']:.1%}"
            for m in staleness["moved"][:3]
        ]
    return "\n".join(lines)


def render_comparison(comparison: Mapping[str, Any]) -> str:
    """The learned points profile next to the unrounded model and the trees."""
    rows = [
        ("learned points profile", _auc(comparison["points_profile"])),
        ("logistic model (unrounded)", _auc(comparison["logistic_model"])),
        ("gradient-boosted trees (reference)", _auc(comparison["reference_trees"])),
    ]
    return "\n".join(
        [
            f"validation: {comparison['description']}",
            table(("model", "AUC on held-out deals (95% CI)"), rows),
            f"explainability costs {comparison['explainability_cost']:+.3f} AUC "
            "(trees minus points)",
        ]
    )


def render_verdict(signal: Mapping[str, Any], subject: str) -> str:
    """One plain sentence on whether the signal is reliable, with the reasons."""
    if signal["reliable"]:
        return (
            f"{subject}: reliable signal (AUC interval above 0.5, Tier 1 clear of Tier 3 and below)"
        )
    lines = [f"{subject}: NO RELIABLE SIGNAL"]
    lines += [f"  - {reason}" for reason in signal["reasons"]]
    return "\n".join(lines)


def render_notes(notes: Sequence[str]) -> str:
    """Notes as a bulleted block."""
    return "\n".join(f"note: {n}" for n in notes)


def render_criteria(criteria: Sequence[Mapping[str, Any]]) -> str:
    """The learned criteria with their evidence."""
    return table(
        ("criterion", "points", "deals", "win rate"),
        [(c["label"], c["points"], c["deals"], _pct(c["win_rate"])) for c in criteria],
    )


def render_learn(payload: Mapping[str, Any]) -> str:
    """Everything ``learn`` prints."""
    parts = [render_data(payload["data"])]
    if payload.get("validation"):
        parts.append(
            render_summary(
                payload["validation"]["summary"],
                "held-out deals scored by profiles learned without them",
            )
        )
        parts.append(render_comparison(payload["validation"]["comparison"]))
        parts.append(render_verdict(payload["validation"]["summary"]["signal"], "learned profile"))
    learned = payload["profile"]
    if learned.get("tier_policy"):
        parts.append(
            f"tier policy ({learned['tier_policy']['kind']}): "
            f"{learned['tier_policy']['description']} Cut-offs: "
            + ", ".join(f"Tier {i} from {c}" for i, c in enumerate(learned["tiers"], start=1))
        )
    if learned.get("criteria"):
        parts.append(render_criteria(learned["criteria"]))
    if learned.get("anti_candidates"):
        parts.append(
            table(
                ("anti-ICP", "applied", "deals", "win rate"),
                [
                    (
                        a["label"],
                        "yes" if a["active"] else "commented",
                        a["deals"],
                        _pct(a["win_rate"]),
                    )
                    for a in learned["anti_candidates"]
                ],
            )
        )
    parts.append(render_notes(payload["notes"]))
    return "\n\n".join(p for p in parts if p)


def render_report(payload: Mapping[str, Any]) -> str:
    """Everything ``report`` prints."""
    profile = payload["profile"]
    parts = [
        render_data(payload["data"]),
        f"profile {profile['name']} (version {profile['version']})",
        render_summary(payload["all"], "all closed deals"),
    ]
    if payload.get("holdout"):
        parts.append(
            render_summary(payload["holdout"]["summary"], payload["holdout"]["description"])
        )
    parts.append(render_verdict(payload["all"]["signal"], "this profile"))
    parts.append(render_anti(payload.get("anti_rules") or []))
    parts.append(render_staleness(payload.get("staleness")))
    if payload.get("comparison"):
        parts.append(render_comparison(payload["comparison"]))
    parts.append(render_notes(payload["notes"]))
    return "\n\n".join(p for p in parts if p)


def render_data(data: Mapping[str, Any]) -> str:
    """Where the deals came from."""
    text = (
        f"data: {data['closed_deals']:,} closed deals ({data['wins']:,} won) on "
        f"{data['accounts_with_deals']:,} accounts of {data['accounts']:,}"
    )
    if data.get("first_close"):
        text += f"; closed {data['first_close']} to {data['last_close']}"
    else:
        text += "; no close dates"
    if data.get("skipped"):
        text += "; left out: " + ", ".join(
            f"{k.replace('_', ' ')} {v:,}" for k, v in data["skipped"].items()
        )
    return text
