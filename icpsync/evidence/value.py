"""Value by tier: share of accounts, deals, wins and won revenue, average won deal and
median sales cycle, each with a 95% interval.

Share of the book is a count over every account, with a Wilson interval (the book taken as
a sample of the market). The deal-based figures get a percentile bootstrap that resamples
*accounts* (an account's deals share every trait), all resamples at once: each resample is
a vector of account counts, so a figure is a weighted sum and a median a weighted median.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from icpsync.core.model import TIERS
from icpsync.evidence.evaluate import ScoredDeal
from icpsync.evidence.metrics import Interval, wilson

RESAMPLES = 500
NAN = Interval(math.nan, math.nan, math.nan)


def book_shares(book_tiers: Mapping[str, int]) -> dict[str, Interval]:
    """Each tier's share of the book's accounts, with its Wilson interval."""
    total = sum(book_tiers.values())
    return {t: wilson(book_tiers.get(t, 0), total) for t in TIERS}


def _interval(point: float, draws: np.ndarray) -> Interval:
    draws = draws[~np.isnan(draws)]
    if math.isnan(point) or len(draws) == 0:
        return Interval(point, math.nan, math.nan)
    low, high = np.percentile(draws, [2.5, 97.5])
    return Interval(point, float(low), float(high))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        result: np.ndarray = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    return result


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Median of ``values`` per row of ``weights`` (NaN where a row weighs nothing)."""
    if len(values) == 0:
        return np.full(weights.shape[0], np.nan)
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[:, order], axis=1)
    total = cum[:, -1]
    index = (cum < (total / 2)[:, None]).sum(axis=1)
    result = values[order][np.minimum(index, len(values) - 1)]
    return np.where(total > 0, result, np.nan)


def tier_values(
    scored: Sequence[ScoredDeal], *, resamples: int = RESAMPLES, seed: int = 0
) -> dict[str, dict[str, Interval]]:
    """Per tier: ``deal_share``, ``win_share``, ``won_revenue_share``, ``avg_won_deal`` and
    ``median_cycle`` with account-bootstrap intervals."""
    if not scored:
        return {t: {} for t in TIERS}
    _, group = np.unique([s.example.account.id for s in scored], return_inverse=True)
    tier = np.array([s.tier for s in scored])
    won = np.array([s.won for s in scored], dtype=float)
    amount = np.array([s.example.deal.amount or 0.0 for s in scored], dtype=float)
    has_amount = np.array([s.example.deal.amount is not None for s in scored], dtype=float)
    cycle = np.array(
        [np.nan if (c := s.example.deal.cycle_days) is None else c for s in scored], dtype=float
    )
    n_groups = int(group.max()) + 1
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_groups, size=(resamples, n_groups))
    flat = (np.arange(resamples)[:, None] * n_groups + draws).ravel()
    counts = np.bincount(flat, minlength=resamples * n_groups).reshape(resamples, n_groups)
    weights = np.vstack([np.ones((1, len(scored))), counts[:, group].astype(float)])
    revenue = won * amount
    totals = {
        "deals": weights.sum(axis=1),
        "wins": weights @ won,
        "revenue": weights @ revenue,
    }
    out: dict[str, dict[str, Interval]] = {}
    for name in TIERS:
        mask = (tier == name).astype(float)
        won_here = mask * won
        cyc = (won_here > 0) & ~np.isnan(cycle)
        figures = {
            "deal_share": _ratio(weights @ mask, totals["deals"]),
            "win_share": _ratio(weights @ won_here, totals["wins"]),
            "won_revenue_share": _ratio(weights @ (mask * revenue), totals["revenue"]),
            "avg_won_deal": _ratio(weights @ (mask * revenue), weights @ (won_here * has_amount)),
            "median_cycle": _weighted_median(cycle[cyc], weights[:, cyc]),
        }
        out[name] = {k: _interval(float(v[0]), v[1:]) for k, v in figures.items()}
    return out
