"""Values parsed or tested many at once give what the one-value path gives, value by value."""

from __future__ import annotations

import math
from typing import Any

import pytest

from icpsync.core.checks import FieldChecks, compile_check
from icpsync.core.parse_columns import FEW, each_parsed, parsed_texts
from icpsync.core.parsers import (
    Refused,
    parse_date,
    parse_datetime,
    parse_employees,
    parse_float,
    parse_int,
    parse_revenue,
)
from icpsync.core.profile import Profile

NUMBERS = [str(n) for n in range(40)] + ["1,200", " 7 ", "3.5", "1e3", "0.0", "-0.0", "9999999"]
ODD_NUMBERS = ["", "N/A", "nan", "-3", "1_000", "inf", "1e400", "$5", "1e13", "2e13", "20000000"]
MOMENTS = [f"2026-0{m}-1{d}T10:0{d}:00.000Z" for m in range(1, 10) for d in range(10)]
ODD_MOMENTS = [
    "2026-01-01T00:00:00+0000", "2026-01-01T00:00:00-0530", "2026-01-01", "2026-01-01T10:00:00",
    "1767225600000", "yesterday", "", "unknown", " 2026-03-01T00:00:00Z ", "2026-13-01T00:00:00Z",
]  # fmt: skip


def _answers(found: dict[Any, Any]) -> dict[Any, Any]:
    """Each answer, a refusal as its reason, a moment with its zone."""
    return {
        raw: ("refused", value.reason)
        if isinstance(value, Refused)
        else (type(value), value, getattr(value, "tzinfo", None))
        for raw, value in found.items()
    }


@pytest.mark.parametrize(
    ("parse", "plain", "odd"),
    [
        (parse_float, NUMBERS, ODD_NUMBERS),
        (parse_int, NUMBERS, ODD_NUMBERS),
        (parse_employees, NUMBERS, ODD_NUMBERS),
        (parse_revenue, NUMBERS, ODD_NUMBERS),
        (parse_datetime, MOMENTS, ODD_MOMENTS),
        (parse_date, MOMENTS, ODD_MOMENTS),
    ],
)
def test_texts_parsed_together_match_each_parsed(parse: Any, plain: list, odd: list) -> None:
    assert len(plain) >= FEW
    for texts in (plain, [*plain, None, "", "N/A"], *([*plain, one] for one in odd)):
        distinct = set(texts)
        assert _answers(parsed_texts(parse, distinct)) == _answers(each_parsed(parse, distinct))


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
    placed = _field(**checks).column(column)
    each = _field(**checks)
    assert each.ranges is not None
    placeable = each.ranges.lookup(list(set(numbers)), type(numbers[0])) is not None
    assert placeable is bisected
    assert placed == [each.missing if v is None else each._tested(v) for v in column]
