"""AUC, Wilson intervals, lift and calibration against hand-computed values."""

from __future__ import annotations

import math

import pytest

from icpsync.evidence.metrics import auc, auc_interval, calibration, lift, wilson


def test_auc_by_hand() -> None:
    # pairs (won, lost): (2,1) yes, (2,3) no, (4,1) yes, (4,3) yes -> 3/4
    assert auc([1, 2, 3, 4], [False, True, False, True]) == pytest.approx(0.75)
    # a tie between a won and a lost deal counts half
    assert auc([1, 1], [True, False]) == pytest.approx(0.5)
    assert math.isnan(auc([1, 2], [True, True]))


def test_wilson_by_hand() -> None:
    interval = wilson(8, 10)
    assert interval.value == pytest.approx(0.8)
    assert interval.low == pytest.approx(0.4902, abs=1e-4)
    assert interval.high == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 0).low == 0.0 and wilson(0, 0).high == 1.0


def test_bootstrap_interval_resamples_accounts_and_is_reproducible() -> None:
    scores = [1, 2, 3, 4, 5, 6, 7, 8] * 10
    won = [False, False, True, False, True, True, False, True] * 10
    groups = [f"A{i % 8}" for i in range(80)]
    first = auc_interval(scores, won, groups, resamples=300, seed=3)
    assert first == auc_interval(scores, won, groups, resamples=300, seed=3)
    assert first.low <= first.value <= first.high
    # 8 accounts: the interval is wide even though there are 80 deals
    assert first.high - first.low > 0.2


def test_lift_and_calibration() -> None:
    assert lift(0.6, 0.3) == pytest.approx(2.0)
    assert math.isnan(lift(0.5, 0.0))
    rows = calibration([10, 10, 90, 90, 90], [False, True, True, True, False], width=50)
    assert [(r.low, r.high, r.deals, r.wins) for r in rows] == [(0, 49, 2, 1), (50, 100, 3, 2)]
    assert rows[1].observed.value == pytest.approx(2 / 3)
