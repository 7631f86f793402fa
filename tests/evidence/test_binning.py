"""Binning: cut points where the outcome changes, pooled rare values, and bins that match
exactly what the profile criterion written from them matches."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from icpsync.core.model import Account
from icpsync.core.profile import Criterion
from icpsync.evidence.binning import (
    Bin,
    categorical_feature,
    design_matrix,
    item_feature,
    learn_features,
    nice,
    numeric_feature,
)
from icpsync.evidence.dataset import Example

MakeExample = Callable[..., Example]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (199.5, 200.0),
        (1847.0, 1800.0),
        (20_345_000.0, 20_000_000.0),
        (9.5, 9.5),
        (0.0, 0.0),
        (-0.0314, -0.031),
    ],
)
def test_nice_keeps_two_significant_digits(raw: float, expected: float) -> None:
    assert nice(raw) == pytest.approx(expected)


def test_numeric_cut_lands_where_the_win_rate_changes() -> None:
    employees = [10, 50, 120, 150] * 25 + [250, 400, 900, 1500] * 25  # midpoint 200
    won = np.array([False] * 100 + [True] * 100)
    feature = numeric_feature("employees", employees, won, support=20)
    assert feature is not None
    assert [b.label for b in feature.bins] == ["employees at most 199", "employees at least 200"]
    low, high = feature.bins
    assert low.matches(199) and not low.matches(200)
    assert high.matches(200) and not high.matches(None)


def test_numeric_feature_adds_a_missing_bin_only_when_common() -> None:
    values: list[object] = [5, 500] * 40 + [None] * 30
    won = np.array([False, True] * 40 + [True] * 30)
    with_missing = numeric_feature("employees", values, won, support=20)
    assert with_missing is not None and with_missing.bins[-1].kind == "missing"
    rare = numeric_feature("employees", values[:85], won[:85], support=20)
    assert rare is not None and all(b.kind != "missing" for b in rare.bins)


def test_categorical_pools_rare_values_as_other() -> None:
    values = ["Tech"] * 30 + ["Retail"] * 25 + ["Mining"] * 12 + ["Farming"] * 10 + [None] * 3
    feature = categorical_feature("industry", values, support=20)
    assert feature is not None
    assert [(b.kind, b.values) for b in feature.bins] == [
        ("values", ("Retail",)),
        ("values", ("Tech",)),
        ("other", ("Retail", "Tech")),
    ]
    other = feature.bins[2]
    assert other.matches("Mining") and not other.matches("Tech") and not other.matches(None)


def test_items_need_support_on_both_sides() -> None:
    sets = (
        [frozenset({"Salesforce", "Slack"})] * 30 + [frozenset({"Slack"})] * 30 + [frozenset()] * 5
    )
    feature = item_feature("tech_stack", sets, support=20)
    assert feature is not None
    assert [b.values for b in feature.bins] == [
        ("Salesforce",)
    ]  # Slack is on 60 of 65: no contrast


@pytest.mark.parametrize(
    ("b", "inside", "outside"),
    [
        (Bin("employees", "range", 200.0, 1999.0), [200, 1999, "500"], [199, 2000, None, "n/a"]),
        (Bin("employees", "range", None, 199.0), [0, 199], [200, None]),
        (Bin("annual_revenue", "range", 1e6, None), [1e6, 5e9], [999_999.0, None]),
        (
            Bin("industry", "values", values=("Tech", "Software")),
            ["Tech", "Software"],
            ["Retail", None],
        ),
        (Bin("industry", "other", values=("Tech",)), ["Retail"], ["Tech", None]),
        (Bin("country", "missing"), [None, "", "  "], ["Germany"]),
        (
            Bin("tech_stack", "item", values=("Gong",)),
            [frozenset({"Gong", "Slack"})],
            [frozenset()],
        ),
    ],
)
def test_bin_condition_is_a_valid_criterion(
    b: Bin, inside: list[object], outside: list[object]
) -> None:
    criterion = Criterion.model_validate({"id": "x", "points": 5, **b.condition()})
    assert criterion.field == b.field
    assert all(b.matches(v) for v in inside)
    assert not any(b.matches(v) for v in outside)


def test_learn_features_reads_signals_and_builds_a_zero_one_matrix(
    make_example: MakeExample,
) -> None:
    examples = []
    for i in range(200):
        big = i % 2 == 0
        account = Account(
            id=f"A{i}",
            employees=5000 if big else 50,
            industry="Tech" if i % 4 < 2 else "Retail",
            signals={"client": "Current" if big else "New"},
        )
        examples.append(make_example(f"D{i}", account, big))
    features = learn_features(examples)
    fields = [f.field for f in features]
    assert fields == ["employees", "industry", "signals.client"]
    x = design_matrix(examples, features)
    assert x.shape == (200, sum(len(f.bins) for f in features))
    assert set(np.unique(x)) == {0.0, 1.0}
    assert (x[:, :2].sum(axis=1) == 1).all()  # every deal in exactly one employees bin
