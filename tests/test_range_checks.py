"""Range checks placed by bisection give what testing each value gives."""

from __future__ import annotations

import math
from typing import Any

import pytest

from icpsync.core.checks import FieldChecks, compile_check
from icpsync.core.profile import Profile


def _outcomes(field: FieldChecks, column: list[Any]) -> list[tuple[Any, ...]]:
    """The outcomes of ``column`` (the field gives their codes)."""
    return [field.outcome_of[code] for code in field.column(column)]


def _missing(field: FieldChecks) -> tuple[Any, ...]:
    return field.outcome_of[field.missing]


def _field(**condition: Any) -> FieldChecks:
    profile = Profile.model_validate(
        {
            "criteria": [
                {"id": f"c{i}", "field": "employees", "points": 5, **{op: operand}}
                for i, (op, operand) in enumerate(condition.items())
            ],
            "tiers": {"tier_1": 70, "tier_2": 50, "tier_3": 30},
        }
    )
    return FieldChecks([(i, compile_check(c, c.points)) for i, c in enumerate(profile.criteria)])


EDGES = [0, 1, 199, 200, 201, 999, 1000, 1001, 2000, 2001, 10**6, 2**60, -(2**60)]


EXACT = [n for n in EDGES if abs(n) < 2**53]
NEAR_200 = [math.nextafter(200.0, 0), math.nextafter(200.0, 1e9)]


@pytest.mark.parametrize(
    ("numbers", "bisected"),
    [
        (EXACT, True),
        (EDGES, False),  # integers beyond 2**53: one at a time
        (
            [*map(float, EXACT), *NEAR_200, -0.0, math.inf, -math.inf],
            True,
        ),
        ([*map(float, EXACT), math.nan], False),
    ],
)
def test_range_checks_placed_by_bisection_match_each_value(numbers: list, bisected: bool) -> None:
    checks = {"between": [200, 2000], "at_least": 1000, "at_most": 200.5}
    column = [*numbers, None, *numbers]
    field = _field(**checks)
    placed = _outcomes(field, column)
    each = _field(**checks)
    assert each.ranges is not None
    placeable = each.ranges.lookup(list(set(numbers)), type(numbers[0])) is not None
    assert placeable is bisected
    assert placed == [_missing(each) if v is None else each._tested(v) for v in column]


def test_numbers_remembered_across_batches_match_each_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A range field remembers its numbers' outcomes batch after batch, past its memo's
    limit too (then each batch's numbers are placed afresh), and NaN or integers beyond
    2**53 met in between change no answer."""
    monkeypatch.setattr("icpsync.core.checks.VALUE_CACHE_LIMIT", 6)
    checks = {"between": [200, 2000], "at_least": 1000, "at_most": 200.5}
    field, each = _field(**checks), _field(**checks)
    batches: list[list[Any]] = [
        [5, 200, None, 5, 2001],
        [200, 1000, 7, None],
        [2**60, 200, None],  # one at a time; 200 still from memory
        [1.5, 200.0, math.nan, None],
        [-0.0, 0.0, 1999.5, 2000.0, 1e9, 3.0, 4.0, 5.0],  # the float memo fills here
        [1999.5, 6.0, 7.0, None, 8.0],
        [9, 10, 11, 12, 13, 200, 5],  # the int memo is full: placed afresh
    ]
    for column in batches:
        assert _outcomes(field, column) == [
            _missing(each) if v is None else each._tested(v) for v in column
        ]
    assert len(field.memos[int]) <= 6 + len(batches[-1])


def test_equal_numbers_of_other_classes_get_the_same_range_outcomes() -> None:
    """Numbers read by their distinct values (1 == 1.0 == True) fall in the same ranges as
    each tested alone, the first time and from memory (every number of the column met)."""
    checks = {"between": [1, 200], "at_least": 200}
    for column in ([1, 1.0, True, 200, 200.0, None, 5], [1.0, 1, 200.0, 200, False, 0]):
        field, each = _field(**checks), _field(**checks)
        expected = [_missing(each) if v is None else each._tested(v) for v in column]
        assert _outcomes(field, column) == expected
        assert _outcomes(field, column[::-1]) == expected[::-1]


def test_text_in_no_list_gets_the_fixed_outcome_with_or_without_missing_values() -> None:
    """A membership field: unique texts in no list, with and without None among them, and
    with a listed key inside longer text or cased otherwise."""
    profile = Profile.model_validate(
        {
            "criteria": [
                {"id": "d", "field": "domain", "points": 5, "in": ["rival.com", "x.io"]},
                {"id": "n", "field": "domain", "points": 5, "not_in": ["Rival.com"]},
            ],
            "tiers": {"tier_1": 70, "tier_2": 50, "tier_3": 30},
        }
    )
    compiled = [(i, compile_check(c, c.points)) for i, c in enumerate(profile.criteria)]
    columns = [
        [f"c{i}.example.com" for i in range(50)],
        [*[f"c{i}.example.com" for i in range(50)], None],
        ["myrival.com", " RIVAL.com ", "x.io.uk", "X.IO", None, "rival.co"],
    ]
    for column in columns:
        field, each = FieldChecks(compiled), FieldChecks(compiled)
        assert _outcomes(field, column) == [
            _missing(each) if v is None else each._tested(v) for v in column
        ]


def test_columns_of_floats_with_equal_numbers_of_other_classes_are_placed_one_by_one() -> None:
    """A float column is placed value by value (no dictionary of its numbers): an int or a
    bool equal to one of its floats, and None, still get what each tested alone gets."""
    checks = {"between": [200, 2000], "at_least": 1000, "at_most": 200.5}
    for column in (
        [200.0, 200, None, 1000.0, True, 1.0, 2000.5, -0.0],
        [1999.5, None, None, 5e9, 200.25],
        [None, None],
    ):
        field, each = _field(**checks), _field(**checks)
        assert _outcomes(field, column) == [
            _missing(each) if v is None else each._tested(v) for v in column
        ]


def test_text_alone_is_tested_when_a_listed_key_is_in_it() -> None:
    """A column of text alone (no None) holding listed keys, cased or spaced otherwise, or a
    key spread over two values, gets what each value tested alone gets."""
    profile = Profile.model_validate(
        {
            "criteria": [
                {"id": "d", "field": "domain", "points": 5, "in": ["rival.com", "a\nb"]},
                {"id": "n", "field": "domain", "points": 5, "not_in": ["x.io"]},
            ],
            "tiers": {"tier_1": 70, "tier_2": 50, "tier_3": 30},
        }
    )
    compiled = [(i, compile_check(c, c.points)) for i, c in enumerate(profile.criteria)]
    for column in (["a", "b", "c.com"], [" RIVAL.com ", "x.io", "X.IO ", "rival.co"]):
        field, each = FieldChecks(compiled), FieldChecks(compiled)
        assert _outcomes(field, column) == [each._tested(v) for v in column]


def test_columns_answered_from_memory_match_each_value() -> None:
    """Batch after batch, columns whose values repeat (texts in a list and in none, stacks,
    numbers of every class) are answered from memory, one lookup a value, as each value
    tested alone is; a value met for the first time, or of another class, still is."""
    profile = Profile.model_validate(
        {
            "criteria": [
                {"id": "i", "field": "industry", "points": 5, "in": ["Software", "fintech"]},
                {"id": "n", "field": "industry", "points": 5, "not_in": ["Retail"]},
                {"id": "s", "field": "tech_stack", "points": 5, "contains_any": ["Gong"]},
                {"id": "e", "field": "employees", "points": 5, "between": [10, 100]},
            ],
            "tiers": {"tier_1": 70, "tier_2": 50, "tier_3": 30},
        }
    )
    by_field: dict[str, list[Any]] = {}
    for i, c in enumerate(profile.criteria):
        by_field.setdefault(c.field, []).append((i, compile_check(c, c.points)))
    industries = ["Software", "Retail", "Health", None, " FINTECH ", "software"]
    stacks = [frozenset({"Gong"}), frozenset({"Slack"}), frozenset(), None, frozenset({"gong "})]
    numbers: list[Any] = [5, 50, 50.0, True, None, 100, 1e3]
    columns = {
        "industry": [industries * 3, industries[::-1] * 3, ["Fintech", *industries] * 3],
        "tech_stack": [stacks * 3, stacks[::-1] * 3, [frozenset({"Gong", "Jira"}), *stacks] * 3],
        "employees": [numbers * 3, numbers[::-1] * 3, [7, 7.5, *numbers] * 3],
    }
    for name, batches in columns.items():
        field, each = FieldChecks(by_field[name]), FieldChecks(by_field[name])
        for column in batches:
            assert _outcomes(field, column) == [
                _missing(each) if v is None else each._tested(v) for v in column
            ]
        assert field._usual is not None  # answered from memory


def test_a_column_of_ints_then_one_of_booleans_keep_their_reasons() -> None:
    """1 and True are equal keys but not the same matched text: a column of ints answered
    before does not answer a column of booleans."""
    profile = Profile.model_validate(
        {
            "criteria": [{"id": "x", "field": "signals.x", "points": 5, "in": [1, True]}],
            "tiers": {"tier_1": 70, "tier_2": 50, "tier_3": 30},
        }
    )
    field = FieldChecks([(0, compile_check(profile.criteria[0], 5))])
    assert _outcomes(field, [1, 1, None, 1]) == [("1",), ("1",), (None,), ("1",)]
    assert _outcomes(field, [True, True, None]) == [("True",), ("True",), (None,)]
