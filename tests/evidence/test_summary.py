"""The report's numbers on a small hand-computed example."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from icpsync.core.model import Account
from icpsync.evidence.dataset import Example
from icpsync.evidence.evaluate import ScoredDeal
from icpsync.evidence.summary import summarise

MakeExample = Callable[..., Example]


def test_tier_figures_by_hand(make_example: MakeExample) -> None:
    a, b, c = Account(id="A"), Account(id="B"), Account(id="C")
    d0 = date(2025, 1, 1)

    def deal(i: int, acc: Account, won: bool, amount: float, days: int) -> Example:
        return make_example(
            f"D{i}",
            acc,
            won,
            amount=amount,
            created=d0,
            closed=date.fromordinal(d0.toordinal() + days),
        )

    scored = [
        ScoredDeal(deal(1, a, True, 100.0, 30), 80, "Tier 1"),
        ScoredDeal(deal(2, a, True, 300.0, 50), 80, "Tier 1"),
        ScoredDeal(deal(3, b, False, 999.0, 10), 75, "Tier 1"),
        ScoredDeal(deal(4, c, True, 50.0, 90), 20, "Tier 3"),
        ScoredDeal(deal(5, c, False, 10.0, 5), 20, "Tier 3"),
        ScoredDeal(deal(6, c, False, 10.0, 5), 10, "Tier 3"),
    ]
    summary = summarise(scored)
    assert (summary.deals, summary.wins) == (6, 3)
    t1 = summary.tier("Tier 1")
    assert (t1.accounts, t1.deals, t1.wins) == (2, 3, 2)
    assert t1.win_rate.value == pytest.approx(2 / 3)
    assert t1.avg_deal_size == pytest.approx(200.0)  # won deals only: (100 + 300) / 2
    assert t1.median_cycle_days == pytest.approx(40.0)  # won deals: 30 and 50 days
    assert t1.lift == pytest.approx((2 / 3) / 0.5)
    t3 = summary.tier("Tier 3")
    assert (t3.accounts, t3.deals, t3.wins, t3.avg_deal_size, t3.median_cycle_days) == (
        1,
        3,
        1,
        50.0,
        90.0,
    )
    assert summary.tier("Tier 2").deals == 0
    # won/lost pairs: every won deal (80, 80, 20) against lost (75, 20, 10):
    # 80 beats all 3 (x2) = 6; 20 ties 20 (0.5) and beats 10 (1) = 1.5 -> 7.5 / 9
    assert summary.auc.value == pytest.approx(7.5 / 9)
    assert summary.histogram_won[8] == 2 and summary.histogram_lost[7] == 1
    assert not summary.verdict.reliable
    assert any("at least 40 are needed" in r for r in summary.verdict.reasons)
