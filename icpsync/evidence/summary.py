"""The report's numbers for one set of scored deals, and the verdict on their signal.

Per tier: accounts, deals, win rate with its Wilson interval, average won deal size,
median sales cycle of won deals and lift over the base rate; value by tier (shares of the
book, deals, wins and won revenue, average won deal and median cycle, with intervals; see
:mod:`~icpsync.evidence.value`); the AUC of the score with an
account-level bootstrap interval; a calibration table; the score distribution of won and
lost deals. The signal is reliable only when the AUC interval stays above 0.5 and Tier 1's
win rate interval clears that of the tiers below Tier 2.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from icpsync.core.model import ANTI_ICP, NOT_ICP, TIER_1, TIER_3, TIERS
from icpsync.evidence.evaluate import ScoredDeal
from icpsync.evidence.metrics import (
    CalibrationRow,
    Interval,
    auc_interval,
    calibration,
    lift,
    wilson,
)
from icpsync.evidence.value import book_shares, tier_values

MIN_DEALS = 40
MIN_TIER_DEALS = 10
LOW_TIERS = (TIER_3, NOT_ICP, ANTI_ICP)


@dataclass(frozen=True)
class TierRow:
    """What the deals of one tier did."""

    tier: str
    accounts: int
    deals: int
    wins: int
    win_rate: Interval
    avg_deal_size: float | None
    median_cycle_days: float | None
    lift: float
    value: Mapping[str, Interval] = field(default_factory=dict)
    book_share: Interval | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "book_share": self.book_share.to_dict() if self.book_share else None,
            **{k: _interval_dict(v) for k, v in self.value.items()},
            "tier": self.tier,
            "accounts": self.accounts,
            "deals": self.deals,
            "wins": self.wins,
            "win_rate": self.win_rate.to_dict() if self.deals else None,
            "avg_deal_size": _round(self.avg_deal_size, 2),
            "median_cycle_days": _round(self.median_cycle_days, 1),
            "lift": _round(self.lift, 3),
        }


def _interval_dict(interval: Interval) -> dict[str, float] | None:
    return None if math.isnan(interval.value) else interval.to_dict()


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None or math.isnan(value) else round(value, digits)


@dataclass(frozen=True)
class Verdict:
    """Whether the scores separate won from lost deals, and why (not)."""

    reliable: bool
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"reliable": self.reliable, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Summary:
    """The report's figures for one set of scored deals."""

    deals: int
    wins: int
    auc: Interval
    tiers: tuple[TierRow, ...]
    calibration: tuple[CalibrationRow, ...]
    histogram_won: tuple[int, ...]
    histogram_lost: tuple[int, ...]
    verdict: Verdict = field(default_factory=lambda: Verdict(False, ()))

    @property
    def base_rate(self) -> float:
        """Share of the deals won."""
        return self.wins / self.deals if self.deals else math.nan

    def tier(self, name: str) -> TierRow:
        """The row of tier ``name``."""
        return next(r for r in self.tiers if r.tier == name)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "deals": self.deals,
            "wins": self.wins,
            "base_rate": _round(self.base_rate, 4),
            "auc": self.auc.to_dict(),
            "tiers": [r.to_dict() for r in self.tiers],
            "calibration": [r.to_dict() for r in self.calibration],
            "score_histogram": {
                "bands": [f"{10 * i}-{10 * i + 9 if i < 9 else 100}" for i in range(10)],
                "won": list(self.histogram_won),
                "lost": list(self.histogram_lost),
            },
            "signal": self.verdict.to_dict(),
        }


def summarise(
    scored: Sequence[ScoredDeal], *, seed: int = 0, book_tiers: Mapping[str, int] | None = None
) -> Summary:
    """The figures for ``scored`` deals, with the verdict on their signal.

    Args:
        scored: the deals with their scores and tiers.
        seed: random seed of the bootstrap intervals.
        book_tiers: accounts of the whole book per tier (for each tier's share of the book).
    """
    n = len(scored)
    wins = sum(s.won for s in scored)
    base = wins / n if n else math.nan
    values = tier_values(scored, seed=seed)
    shares = book_shares(book_tiers) if book_tiers else {}
    rows = tuple(
        replace(
            _tier_row(t, [s for s in scored if s.tier == t], base),
            value=values.get(t, {}),
            book_share=shares.get(t),
        )
        for t in TIERS
    )
    scores = [s.score for s in scored]
    won = [s.won for s in scored]
    interval = auc_interval(scores, won, [s.example.account.id for s in scored], seed=seed)
    hist_won, hist_lost = [0] * 10, [0] * 10
    for s in scored:
        (hist_won if s.won else hist_lost)[min(max(s.score, 0) // 10, 9)] += 1
    summary = Summary(
        n, wins, interval, rows, tuple(calibration(scores, won)), tuple(hist_won), tuple(hist_lost)
    )
    return Summary(**{**summary.__dict__, "verdict": judge(summary)})


def _tier_row(tier: str, deals: Sequence[ScoredDeal], base: float) -> TierRow:
    wins = [s for s in deals if s.won]
    amounts = [a for a in (s.example.deal.amount for s in wins) if a is not None]
    cycles = [c for c in (s.example.deal.cycle_days for s in wins) if c is not None]
    rate = wilson(len(wins), len(deals))
    return TierRow(
        tier=tier,
        accounts=len({s.example.account.id for s in deals}),
        deals=len(deals),
        wins=len(wins),
        win_rate=rate,
        avg_deal_size=statistics.fmean(amounts) if amounts else None,
        median_cycle_days=float(statistics.median(cycles)) if cycles else None,
        lift=lift(rate.value, base) if deals else math.nan,
    )


def judge(summary: Summary) -> Verdict:
    """Reliable only with enough deals, an AUC interval above 0.5 and Tier 1 clear of the
    tiers below Tier 2."""
    reasons = []
    if summary.deals < MIN_DEALS:
        reasons.append(f"only {summary.deals} closed deals; at least {MIN_DEALS} are needed")
    auc = summary.auc
    if math.isnan(auc.low) or auc.low <= 0.5:
        reasons.append(
            f"AUC {auc.value:.3f} with interval {auc.low:.3f}-{auc.high:.3f} includes 0.5:"
            " the score does not separate won from lost better than chance"
        )
    top = summary.tier(TIER_1)
    low_deals = sum(summary.tier(t).deals for t in LOW_TIERS)
    low_wins = sum(summary.tier(t).wins for t in LOW_TIERS)
    if top.deals < MIN_TIER_DEALS or low_deals < MIN_TIER_DEALS:
        reasons.append(
            f"the tiers cannot be compared: Tier 1 holds {top.deals} deals and Tier 3 and "
            f"below {low_deals} (at least {MIN_TIER_DEALS} each are needed)"
        )
    else:
        low = wilson(low_wins, low_deals)
        if top.win_rate.overlaps(low):
            reasons.append(
                f"Tier 1 win rate {top.win_rate.value:.1%} ({top.win_rate.low:.1%}-"
                f"{top.win_rate.high:.1%}) overlaps Tier 3 and below {low.value:.1%} "
                f"({low.low:.1%}-{low.high:.1%})"
            )
    return Verdict(not reasons, tuple(reasons))
