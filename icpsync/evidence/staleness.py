"""Is the profile going stale? The newest period against the one before it.

The newest period is the last calendar quarter with closes (a quarter only just begun joins
the one before it; or the ``--holdout`` period);
the earlier period is every deal closed before it. The profile is **stale** when the
newest AUC interval lies wholly below the earlier one, or Tier 1's lift over the newest
base rate falls under ``LIFT_FLOOR``. What moved: the criteria whose win rates changed most
between the two periods. AUC per quarter gives the trend the HTML report draws.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from icpsync.core.checks import getter_for, predicate_for
from icpsync.core.model import TIER_1
from icpsync.core.profile import Profile
from icpsync.evidence.evaluate import ScoredDeal, _as_of
from icpsync.evidence.metrics import auc_interval, lift, wilson

#: Tier 1 must win at least this multiple of the newest base rate.
LIFT_FLOOR = 1.3
MIN_PERIOD_DEALS = 40
MIN_TIER_DEALS = 10
MIN_CRITERION_DEALS = 20
QUARTER_MIN_DEALS = 40
#: only for a deal with neither a created nor a closed date (never the case here)
_NOW = datetime(2000, 1, 1, tzinfo=UTC)


def quarter_start(day: date) -> date:
    """The first day of ``day``'s calendar quarter."""
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def quarter_label(day: date) -> str:
    """``2026-Q3``."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def _period(scored: Sequence[ScoredDeal], seed: int) -> dict[str, Any]:
    won = [s.won for s in scored]
    interval = auc_interval(
        [s.score for s in scored], won, [s.example.account.id for s in scored], seed=seed
    )
    top = [s for s in scored if s.tier == TIER_1]
    base = sum(won) / len(won) if won else math.nan
    top_rate = wilson(sum(s.won for s in top), len(top))
    return {
        "deals": len(scored),
        "wins": sum(won),
        "base_rate": round(base, 4) if won else None,
        "auc": interval.to_dict(),
        "tier_1_deals": len(top),
        "tier_1_lift": round(lift(top_rate.value, base), 3) if top else None,
    }


def criteria_moves(
    profile: Profile, earlier: Sequence[ScoredDeal], newest: Sequence[ScoredDeal]
) -> list[dict[str, Any]]:
    """Each criterion's win rate in both periods, largest change first."""
    moves = []
    for criterion in profile.criteria:
        get = getter_for(criterion.field)
        test: Any = None if criterion.operator == "is_missing" else predicate_for(criterion)

        def hits(deals: Sequence[ScoredDeal], get: Any = get, test: Any = test) -> list[bool]:
            out = []
            for s in deals:
                value = get(s.example.account, s.example.aggregates, _as_of(s.example, _NOW))
                met = value is None if test is None else value is not None and test(value)
                if met:
                    out.append(s.won)
            return out

        before, after = hits(earlier), hits(newest)
        if len(before) < MIN_CRITERION_DEALS or len(after) < MIN_CRITERION_DEALS:
            continue
        rate_before, rate_after = sum(before) / len(before), sum(after) / len(after)
        moves.append(
            {
                "criterion": criterion.label or criterion.id,
                "earlier_win_rate": round(rate_before, 4),
                "newest_win_rate": round(rate_after, 4),
                "change": round(rate_after - rate_before, 4),
                "newest_deals": len(after),
            }
        )
    return sorted(moves, key=lambda m: -abs(m["change"]))


def quarter_trend(scored: Sequence[ScoredDeal], *, seed: int = 0) -> list[dict[str, Any]]:
    """AUC with its interval per calendar quarter of close (quarters with enough deals)."""
    by_quarter: dict[date, list[ScoredDeal]] = defaultdict(list)
    for s in scored:
        if s.example.deal.closed is not None:
            by_quarter[quarter_start(s.example.deal.closed)].append(s)
    trend = []
    for start in sorted(by_quarter):
        deals = by_quarter[start]
        if len(deals) < QUARTER_MIN_DEALS:
            continue
        won = [s.won for s in deals]
        interval = auc_interval(
            [s.score for s in deals], won, [s.example.account.id for s in deals], seed=seed
        )
        if not math.isnan(interval.value):
            trend.append(
                {"quarter": quarter_label(start), "deals": len(deals), **interval.to_dict()}
            )
    return trend


def _newest_quarter(dated: Sequence[ScoredDeal]) -> date:
    """The start of the newest quarter that, with the closes after it, holds enough deals
    (a quarter only just begun joins the one before it)."""
    counts: dict[date, int] = defaultdict(int)
    for s in dated:
        if s.example.deal.closed is not None:
            counts[quarter_start(s.example.deal.closed)] += 1
    total = 0
    for start in sorted(counts, reverse=True):
        total += counts[start]
        if total >= MIN_PERIOD_DEALS:
            return start
    return min(counts)


def check_staleness(
    profile: Profile,
    scored: Sequence[ScoredDeal],
    *,
    cutoff: date | None = None,
    seed: int = 0,
) -> dict[str, Any] | None:
    """The staleness verdict on ``scored`` deals (None without dates or enough deals).

    Args:
        profile: the profile the deals were scored with.
        scored: closed deals with close dates.
        cutoff: first day of the newest period (default: the last quarter with closes).
        seed: bootstrap seed.
    """
    dated = [s for s in scored if s.example.deal.closed is not None]
    if not dated:
        return None
    start = cutoff or _newest_quarter(dated)
    newest = [s for s in dated if s.example.deal.closed and s.example.deal.closed >= start]
    earlier = [s for s in dated if s.example.deal.closed and s.example.deal.closed < start]
    if len(newest) < MIN_PERIOD_DEALS or len(earlier) < MIN_PERIOD_DEALS:
        return None
    new, old = _period(newest, seed), _period(earlier, seed)
    reasons = []
    if new["auc"]["high"] < old["auc"]["low"]:
        reasons.append(
            f"AUC on the newest deals {new['auc']['value']:.3f} ({new['auc']['low']:.3f}-"
            f"{new['auc']['high']:.3f}) lies below the earlier {old['auc']['value']:.3f} "
            f"({old['auc']['low']:.3f}-{old['auc']['high']:.3f})"
        )
    lift_new = new["tier_1_lift"]
    if new["tier_1_deals"] >= MIN_TIER_DEALS and lift_new is not None and lift_new < LIFT_FLOOR:
        reasons.append(f"Tier 1 wins {lift_new:.2f}x the newest base rate, under {LIFT_FLOOR:g}x")
    return {
        "stale": bool(reasons),
        "newest_from": start.isoformat(),
        "newest": new,
        "earlier": old,
        "reasons": reasons,
        "moved": criteria_moves(profile, earlier, newest)[:5],
        "lift_floor": LIFT_FLOOR,
    }
