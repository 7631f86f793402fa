"""Drift figures against hand-computed values."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from icpsync.engine.drift import profile_drift_share, psi, score_drift
from icpsync.engine.run_report import RunReport


def test_psi_matches_hand_computation() -> None:
    expected = [50, 30, 20]
    actual = [30, 30, 40]
    by_hand = (0.3 - 0.5) * math.log(0.3 / 0.5) + 0 + (0.4 - 0.2) * math.log(0.4 / 0.2)
    assert psi(expected, actual) == pytest.approx(by_hand, abs=1e-4)
    assert psi(expected, expected) == 0
    assert psi([0, 0], [1, 1]) is None


def test_score_drift_tier_mix_transitions_and_share() -> None:
    report = RunReport(crm="file", mode="full", scored=10)
    report.tiers = Counter({"Tier 1": 2, "Tier 2": 3, "Not ICP": 5})
    report.transitions = Counter(
        {("Tier 1", "Tier 2"): 2, ("none", "Tier 1"): 2, ("Tier 3", "Tier 3"): 1}
    )
    report.score_histogram = [5, 0, 0, 0, 0, 3, 0, 2, 0, 0]
    drift = score_drift(report, [5, 0, 0, 0, 0, 3, 0, 2, 0, 0])
    assert drift["tier_mix"]["Tier 2"] == 0.3
    assert drift["tier_changed"] == 2  # new accounts and unchanged tiers do not count
    assert drift["tier_change_share"] == 0.2
    assert drift["transition_matrix"]["Tier 1"] == {"Tier 2": 2}
    assert drift["psi"] == 0


def test_profile_drift_is_the_fall_below_the_first_share() -> None:
    assert profile_drift_share(0.8, None) == {"profile_baseline": 0.8, "profile_drift": 0.0}
    assert profile_drift_share(0.5, 0.8) == {"profile_baseline": 0.8, "profile_drift": 0.3}
    assert profile_drift_share(0.9, 0.8)["profile_drift"] == 0.0


def test_an_incremental_run_measures_tier_changes_against_the_whole_book() -> None:
    report = RunReport(crm="file", mode="incremental", scored=3)
    report.transitions = Counter({("Tier 1", "Tier 3"): 3})
    assert score_drift(report, None)["tier_change_share"] == 1.0
    assert score_drift(report, None, population=1000)["tier_change_share"] == 0.003
