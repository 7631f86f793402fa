"""``Normaliser.account`` and ``.opportunity`` (a batch of one) give what the column path
gives for each record of a batch, on arbitrary text and JSON-typed records: the same
records, counts and rejects (the column path's put in row order). Independent of any copy
of earlier code: the stored corpus (tests/equivalence) checks the results themselves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_normalise_columns import VOCABULARIES

from icpsync.core.model import ConnectorStats
from icpsync.core.normalise import Normaliser, Reject
from icpsync.core.normalise_columns import (
    ACCOUNT_KEYS,
    OPPORTUNITY_KEYS,
    accounts_from_columns,
    opportunities_from_columns,
)

WORDS = [
    "Tech", "tech ", "Gong;Fax", "slack", "US", "n/a", "", " ", "-", "12", "1,200", "-5", "3.5",
    "1e400", "nan", "abc", "2026-01-02", "2026-01-02T03:04:05+0100", "1700000000000",
    "Tier 1", "Tier 9", "true", "No", "20000000",
]  # fmt: skip
TEXT = st.one_of(st.none(), st.sampled_from(WORDS), st.text(max_size=6))
TYPED = st.one_of(
    TEXT,
    st.booleans(),
    st.integers(-5, 10**8),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.sampled_from(WORDS), max_size=3),
)
IDS = st.sampled_from(["A", "B", "C", " ", "", None])


@st.composite
def batch(draw: st.DrawFn, keys: tuple[str, ...]) -> tuple[dict[str, list[Any]], list[Any]]:
    size = draw(st.integers(0, 12))
    cells = draw(st.sampled_from([TEXT, TYPED]))
    present = draw(st.sets(st.sampled_from(keys[1:])))
    columns = {key: draw(st.lists(cells, min_size=size, max_size=size)) for key in present}
    columns["id"] = draw(st.lists(IDS, min_size=size, max_size=size))
    signals = draw(
        st.lists(
            st.one_of(st.none(), st.dictionaries(st.just("plan"), cells, max_size=1)),
            min_size=size,
            max_size=size,
        )
    )
    return columns, signals


Columns = dict[str, list[Any]]


def agree(
    batches: list[tuple[Columns, list[Any]]],
    from_columns: Callable[[Normaliser, Columns, list[Any], list[int]], Any],
    view: Callable[[Normaliser, dict[str, Any], int], Any],
) -> None:
    stats, one_stats = ConnectorStats(), ConnectorStats()
    rejects: list[Reject] = []
    one_rejects: list[Reject] = []
    columnar = Normaliser(stats, VOCABULARIES, rejects.append)
    one = Normaliser(one_stats, VOCABULARIES, one_rejects.append)
    start = 0
    for columns, signals in batches + batches:  # again: the ids are seen, values remembered
        rows = list(range(start, start + len(signals)))
        start += len(signals)
        got = from_columns(columnar, columns, signals, rows)
        singles = [
            view(one, {**{k: v[i] for k, v in columns.items()}, "signals": signals[i]}, row)
            for i, row in enumerate(rows)
        ]
        assert repr(list(got)) == repr([s for s in singles if s is not None])
        assert got.rows == [row for row, s in zip(rows, singles, strict=True) if s is not None]
        assert stats == one_stats
        assert sorted(rejects, key=lambda r: r.row or 0) == one_rejects
    assert len(rejects) == sum(stats.bad_values.values()) + sum(stats.skipped.values())


@settings(max_examples=200, deadline=None)
@given(st.lists(batch(ACCOUNT_KEYS), min_size=1, max_size=3), st.booleans())
def test_account_view_agrees_with_the_column_path(
    batches: list[tuple[Columns, list[Any]]], dedupe: bool
) -> None:
    agree(
        batches,
        lambda n, columns, signals, rows: accounts_from_columns(
            n, columns, signals, dedupe=dedupe, rows=rows
        ),
        lambda n, raw, row: n.account(raw, dedupe=dedupe, row=row),
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(batch(OPPORTUNITY_KEYS), min_size=1, max_size=3))
def test_opportunity_view_agrees_with_the_column_path(
    batches: list[tuple[Columns, list[Any]]],
) -> None:
    agree(
        batches,
        lambda n, columns, _, rows: opportunities_from_columns(n, columns, rows=rows),
        lambda n, raw, row: n.opportunity(raw, row=row),
    )
