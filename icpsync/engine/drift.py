"""Drift figures: how the tier mix and score distribution moved, and whether the profile
still puts recent wins in the top tiers. Pure functions over counts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from icpsync.core.model import TIERS

if TYPE_CHECKING:
    from icpsync.engine.run_report import RunReport

PSI_FLOOR = 1e-4


def psi(expected: Sequence[int], actual: Sequence[int]) -> float | None:
    """Population stability index of two histograms over the same bins.

    ``sum((a - e) * ln(a / e))`` over bin shares; empty bins are floored at 1e-4 so one
    empty bin does not make the figure infinite. None when either histogram is empty.
    """
    total_e, total_a = sum(expected), sum(actual)
    if not total_e or not total_a or len(expected) != len(actual):
        return None
    value = 0.0
    for e_count, a_count in zip(expected, actual, strict=True):
        e = max(e_count / total_e, PSI_FLOOR)
        a = max(a_count / total_a, PSI_FLOOR)
        value += (a - e) * math.log(a / e)
    return round(value, 4)


def score_drift(
    report: RunReport, previous_histogram: Sequence[int] | None, population: int | None = None
) -> dict[str, Any]:
    """Tier mix, transition matrix, share of accounts that changed tier, and PSI.

    The share that changed tier is of ``population`` (the accounts of the last full run)
    when given: an incremental run scores only the accounts that changed, and three of
    three moving is not 100% of the book moving.
    """
    scored = report.scored or 0
    base = max(population or 0, scored)
    moved = sum(n for (old, new), n in report.transitions.items() if old != "none" and old != new)
    matrix: dict[str, dict[str, int]] = {}
    for (old, new), n in sorted(report.transitions.items()):
        matrix.setdefault(old, {})[new] = n
    out: dict[str, Any] = {
        "tier_mix": {
            t: round(report.tiers.get(t, 0) / scored, 4) if scored else 0.0 for t in TIERS
        },
        "transition_matrix": matrix,
        "tier_changed": moved,
        "tier_change_share": round(moved / base, 4) if base else 0.0,
    }
    if report.mode == "full":
        out["psi"] = psi(previous_histogram, report.score_histogram) if previous_histogram else None
    return out


def profile_drift_share(share: float, baseline: float | None) -> dict[str, Any]:
    """How far the share of recent wins in Tier 1-2 fell below the profile's first share."""
    if baseline is None:
        return {"profile_baseline": share, "profile_drift": 0.0}
    return {"profile_baseline": baseline, "profile_drift": round(max(0.0, baseline - share), 4)}
