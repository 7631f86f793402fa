"""Whole columns of the common shape parsed at once give the per-value parsers' answers:
on columns of the shape they answer, and on columns with any value off the shape (or one
the parser refuses) they answer the same or not at all, and the normaliser then counts and
reports as value by value."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest

from icpsync.core.clean_columns import FEW_NEW, clean_column, remembered
from icpsync.core.model import ConnectorStats
from icpsync.core.normalise import Normaliser, Reject
from icpsync.core.normalise_columns import accounts_from_columns
from icpsync.core.parsers import (
    MAX_EMPLOYEES,
    Unusable,
    parse_bool,
    parse_datetime,
    parse_employees,
    parse_float,
    parse_int,
    parse_revenue,
)
from icpsync.core.shaped_columns import SHORTCUTS, UTC_SHAPES

STAMPS = [
    "2024-05-15T00:01:26.000Z",
    "2026-12-31T23:59:59.999Z",
    "2000-02-29T12:00:00.000Z",
]
#: Values off the shape, or of it and refused, or of another of its layouts.
ODD_STAMPS: list[Any] = [
    " 2024-05-15T00:01:26.000Z", "2024-05-15T00:01:26.000Z ", "2024-05-15T00:01:26.000Z\n",
    "2024-05-15T00:01:26.000Z\n2024-05-15T00:01:26.000Z", "2024-13-15T00:01:26.000Z",
    "2024-02-30T00:01:26.000Z", "2024-05-15T24:00:00.000Z", "2024-05-15T00:01:26.000+0000",
    "2024-05-15T00:01:26.000+00:00", "2024-05-15T00:01:26.000+0100", "2024-05-15T00:01:26.000-0000",
    "2024-05-15T00:01:26Z", "2024-05-15T00:01:26.5Z", "2024-05-15T00:01:26.1234567Z",
    "2024-05-15T00:01:26.000", "2024-05-15", "2024-05-15T00:01:26.000z", "1715731200000",
    "N/A", "null", "", None, "bad", "２０２４-05-15T00:01:26.000Z", "2024-05-15T00:01:26.00Z0",
    "Z", "2024-05-15T00:01:26.00", "0Z", 1715731200000, 1.5, True,
    date(2024, 5, 15), datetime(2024, 5, 15, 1, 2, 3), ["2024-05-15T00:01:26.000Z"],
]  # fmt: skip
NUMBERS = ["68418000", "801", "0", "12.5", "0.001", "1000000"]
HEADCOUNTS = ["801", "0", "12.5", "2.5", "5000"]
ODD_NUMBERS: list[Any] = [
    "", None, " 5", "5 ", "5\n", "1,200", "1_000", ".", "5.", ".5", "1.2.3", "-5", "+5",
    "1e5", "nan", "inf", "N/A", "٣", "５", "1" * 400, "0." + "0" * 1200 + "1", "1" * 1001,
    "2.5", "3.5", "10000000.5", "10000000.6", "10000001", "10000000000000", "10000000000001",
    "00012", "9007199254740992", "9007199254740993", "123456789012345678901", "1" * 309,
    2.5, 1e14, 1e13, -0.0, -1.0, 0, 7, float("nan"), float("inf"), True,
    10**400, 1e308, 10000000.5, ["5"],
]  # fmt: skip
BOOLEANS = [True, False, None, ""]
ODD_BOOLEANS: list[Any] = [
    "true", "False", "yes", "1", "0", " ", "N/A", "x", 1, 0, 1.0, 0.0, float("nan"), [True],
]  # fmt: skip
PARSERS: list[tuple[Callable[[object], Any], list[Any], list[Any]]] = [
    (parse_bool, BOOLEANS, ODD_BOOLEANS),
    (parse_datetime, STAMPS, ODD_STAMPS),
    (parse_float, NUMBERS, ODD_NUMBERS),
    (parse_revenue, NUMBERS, ODD_NUMBERS),
    (parse_int, NUMBERS, ODD_NUMBERS),
    (parse_employees, HEADCOUNTS, ODD_NUMBERS),
]


def each(parse: Callable[[object], Any], values: Sequence[Any]) -> list[Any]:
    """The per-value answers, a refusal as its reason; an exception as its class."""
    out: list[Any] = []
    for value in values:
        try:
            out.append(parse(value))
        except Unusable as exc:
            out.append(("refused", exc.reason))
        except Exception as exc:  # the shortcut must not hide it
            out.append(("raised", type(exc)))
    return out


def same(got: Sequence[Any], want: Sequence[Any]) -> bool:
    """Equal, of the same classes, signs and (for datetimes) the same tzinfo object."""
    return len(got) == len(want) and all(
        type(g) is type(w)
        and repr(g) == repr(w)
        and getattr(g, "tzinfo", 0) is getattr(w, "tzinfo", 0)
        for g, w in zip(got, want, strict=True)
    )


@pytest.mark.parametrize(("parse", "shaped", "odd"), PARSERS)
def test_columns_of_the_shape_are_answered_at_once(
    parse: Callable[[object], Any], shaped: list[Any], odd: list[Any]
) -> None:
    column = [*shaped * 50, "", None]
    whole = SHORTCUTS[parse](column)
    assert whole is not None and same(whole, each(parse, column))


@pytest.mark.parametrize(("parse", "shaped", "odd"), PARSERS)
def test_columns_of_the_shape_with_no_value_missing_are_answered_at_once(
    parse: Callable[[object], Any], shaped: list[Any], odd: list[Any]
) -> None:
    """No stand-in is put where nothing is missing: the same answers."""
    column = [value for value in shaped * 50 if value not in ("", None)]
    whole = SHORTCUTS[parse](column)
    assert whole is not None and same(whole, each(parse, column))


@pytest.mark.parametrize(("parse", "shaped", "odd"), PARSERS)
def test_any_odd_value_gives_the_same_answers_or_none(
    parse: Callable[[object], Any], shaped: list[Any], odd: list[Any]
) -> None:
    """Each odd value alone, among shaped ones, and many at random: the shortcut answers
    as the parser value by value, or leaves the column to it (always when one is refused
    or raises)."""
    rng = random.Random(16)
    columns = [[value] for value in odd]
    columns += [[*shaped, value, *shaped] for value in odd]
    columns += [[rng.choice(odd) for _ in range(rng.randint(1, 6))] for _ in range(500)]
    columns += [[rng.choice([*shaped, *odd[:3]]) for _ in range(8)] for _ in range(200)]
    answered = 0
    for column in columns:
        want = each(parse, column)
        try:
            got = SHORTCUTS[parse](column)
        except Exception as exc:
            raise AssertionError(f"{parse.__name__} shortcut raised on {column!r}") from exc
        if got is None:
            continue
        answered += 1
        assert same(got, want), (column, got, want)
    assert answered  # some mixed columns are of the shape


def test_every_utc_layout_reads_as_the_parser_does() -> None:
    for shape in UTC_SHAPES:
        text = shape.replace("0000-00-00", "2025-07-09").replace("T00:00:00", "T21:08:07")
        column = [text, text.replace("2025", "1999"), "", None]
        got = SHORTCUTS[parse_datetime](column)
        assert got is not None and same(got, each(parse_datetime, column))
        assert got[0].tzinfo is UTC


def test_headcounts_up_to_the_limit_after_rounding_only() -> None:
    assert (
        SHORTCUTS[parse_employees]([str(MAX_EMPLOYEES), f"{MAX_EMPLOYEES}.5"])
        == [MAX_EMPLOYEES] * 2
    )
    assert SHORTCUTS[parse_employees]([float(MAX_EMPLOYEES) + 0.5]) == [MAX_EMPLOYEES]
    assert SHORTCUTS[parse_employees]([f"{MAX_EMPLOYEES}.51"]) is None


def test_a_column_of_mostly_new_values_is_answered_whole_not_one_by_one() -> None:
    """``remembered`` asks the whole-column answer when most values are new (having
    computed at most the first few alone), and computes each distinct value once
    (remembering it) when they repeat."""
    computed: list[Any] = []

    def one_by_one(values: Sequence[Any]) -> list[Any]:
        computed.extend(values)
        return list(map(parse_datetime, values))

    memo: dict[Any, Any] = {}
    fresh = [f"2024-05-{day:02}T{hour:02}:00:00.000Z" for day in range(1, 29) for hour in range(24)]
    found = remembered(memo, fresh, one_by_one, SHORTCUTS[parse_datetime])
    assert found == list(map(parse_datetime, fresh))
    assert len(computed) <= FEW_NEW + 1 < len(fresh)
    repeated = ["5", "6"] * 50
    asked: list[Any] = []

    def whole(values: Sequence[Any]) -> list[Any]:
        asked.append(values)
        return []

    found = remembered({}, repeated, lambda raws: [int(r) for r in raws], whole)
    assert found == [5, 6] * 50 and not asked


def listening() -> tuple[Normaliser, list[Reject]]:
    rejects: list[Reject] = []
    return Normaliser(ConnectorStats(), {}, rejects.append), rejects


@pytest.mark.parametrize(("parse", "shaped", "odd"), PARSERS)
def test_the_normaliser_counts_and_reports_as_value_by_value(
    parse: Callable[[object], Any], shaped: list[Any], odd: list[Any]
) -> None:
    """Large columns of new values (so the shortcut is asked) with odd values among them:
    the same answers, counts and rejects as each value cleaned alone."""
    rng = random.Random(7)
    hashable = [v for v in odd if not isinstance(v, list)]
    for round_ in range(30):
        size = rng.randint(150, 250)  # past the few computed one by one
        base = [f"{rng.randint(1, 9)}{rng.randint(0, 10**6)}" for _ in range(size)]
        if parse is parse_datetime:
            base = [_stamp(rng) for _ in range(size)]
        column = list(base)
        for _ in range(rng.choice([0, 0, 1, 3])):
            column[rng.randrange(size)] = rng.choice(hashable)
        want = each(parse, column)
        if any(isinstance(w, tuple) and w[0] == "raised" for w in want):
            continue
        normaliser, rejects = listening()
        got = clean_column(normaliser, "field", parse, column, _addresses(size))
        refused = [i for i, w in enumerate(want) if isinstance(w, tuple)]
        assert same(got, [None if isinstance(w, tuple) else w for w in want]), round_
        assert normaliser.stats.bad_values.get("field", 0) == len(refused)
        assert [(r.row, r.reason) for r in rejects] == [(i, want[i][1]) for i in refused]


def _stamp(rng: random.Random) -> str:
    day = datetime(2010, 1, 1, tzinfo=UTC).timestamp() + rng.randint(0, 20 * 365 * 86400)
    return datetime.fromtimestamp(day, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "123Z"


def _addresses(size: int) -> Any:
    from icpsync.core.clean_columns import RecordAddresses

    return RecordAddresses(list(range(size)), [f"A{i}" for i in range(size)])


def test_a_large_batch_reads_salesforce_timestamps_and_revenues_as_each_alone() -> None:
    normaliser, rejects = listening()
    size = 200
    raw = {
        "id": [f"A{i}" for i in range(size)],
        "last_modified": [f"2025-08-08T10:{i // 60:02}:{i % 60:02}.000Z" for i in range(size)],
        "annual_revenue": ["" if i % 7 == 0 else str(1000 * i + 17) for i in range(size)],
        "employees": [str(i) for i in range(size)],
    }
    raw["annual_revenue"][3] = "20000000000000"  # above the limit: refused
    batch = accounts_from_columns(normaliser, raw)
    for key, parse in [
        ("last_modified", parse_datetime),
        ("annual_revenue", parse_revenue),
        ("employees", parse_employees),
    ]:
        alone = [None if isinstance(w, tuple) else w for w in each(parse, raw[key])]
        assert same(batch.columns[key], alone), key
    assert normaliser.stats.bad_values == {"annual_revenue": 1}
    assert [(r.id, r.reason) for r in rejects] == [("A3", "implausible: above 10^13")]


def test_a_field_of_mostly_new_values_is_next_answered_by_its_shortcut_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a column of mostly new values the next column of the field goes to the
    shortcut before the memo and the set of its values; when the shortcut cannot answer
    (an odd value) the column is cleaned as before, counted and reported alike; a column
    of repeated values sends the field back to its memo."""
    normaliser, rejects = listening()
    fresh = [
        f"2024-05-{d:02}T{h:02}:{m:02}:00.000Z"
        for d in range(1, 8)
        for h in range(24)
        for m in (0, 30)
    ]
    first = clean_column(normaliser, "at", parse_datetime, fresh[:150])
    assert same(first, each(parse_datetime, fresh[:150]))
    assert normaliser.mostly_new("at", parse_datetime)
    asked: list[int] = []
    shortcut = SHORTCUTS[parse_datetime]

    def counted(values: Sequence[Any]) -> Any:
        asked.append(len(values))
        return shortcut(values)

    monkeypatch.setitem(SHORTCUTS, parse_datetime, counted)
    monkeypatch.setattr("icpsync.core.clean_columns.remembered", None)  # must not be reached
    second = clean_column(normaliser, "at", parse_datetime, fresh[150:])
    assert same(second, each(parse_datetime, fresh[150:])) and asked == [len(fresh) - 150]
    monkeypatch.undo()
    odd = [*fresh[:100], "2024-13-01T00:00:00.000Z", *fresh[200:250]]
    third = clean_column(normaliser, "at", parse_datetime, odd, _addresses(len(odd)))
    want = each(parse_datetime, odd)
    assert same(third, [None if isinstance(w, tuple) else w for w in want])
    assert normaliser.stats.bad_values["at"] == 1 and [r.row for r in rejects] == [100]
    repeated = fresh[:5] * 40
    again = clean_column(normaliser, "at", parse_datetime, repeated)
    assert same(again, each(parse_datetime, repeated))
    assert not normaliser.mostly_new("at", parse_datetime)
