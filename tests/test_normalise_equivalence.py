"""The normaliser cleans and counts exactly like the reference normaliser (the code before
the throughput work, frozen in tests/reference, with the plausibility limits added since),
record for record, whether records come one at a time (``Normaliser.account``, a view) or
a batch of columns at a time (the one path). The view and the column path also report the
same rejects: the column path column by column, which in row order is the view's order."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import plausible_reference as PLAUSIBLE
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import normalise_v1 as REFERENCE

import icpsync.core.normalise as normalise
from icpsync.core.model import ConnectorStats
from icpsync.core.normalise import Normaliser, Reject, Vocabulary
from icpsync.core.normalise_columns import accounts_from_columns, opportunities_from_columns

WORDS = [
    "Tech", "tech ", "Technology", "Bogus", "US", "n/a", "", " ", "-", "12", "1,200", "-5",
    "3.5", "1e400", "nan", "abc", "Salesforce; HubSpot", "Gong;;bogus", "2026-01-02",
    "2026-01-02T03:04:05Z", "2026-01-02T03:04:05+0100", "1700000000000", "Tier 1", "Tier 9",
    "true", "No", "20000000",
]  # fmt: skip
VALUES = st.one_of(
    st.none(),
    st.sampled_from(WORDS),
    st.text(max_size=12),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(max_size=6),
    st.lists(st.sampled_from(WORDS), max_size=3),
    st.dictionaries(st.sampled_from(["intent", "plan"]), st.sampled_from(WORDS), max_size=2),
)
TEXT_CELLS = st.one_of(st.none(), st.sampled_from(WORDS), st.text(max_size=6))
ACCOUNT_KEYS = [
    "id", "name", "domain", "industry", "employees", "annual_revenue", "country", "region",
    "tech_stack", "last_modified", "signals", "icp_score", "icp_tier", "icp_anti_flags",
    "icp_reasons", "icp_profile_version", "icp_scored_at", "icp_tier_override",
]  # fmt: skip
OPPORTUNITY_KEYS = [
    "id", "account_id", "stage", "is_closed", "is_won", "amount", "created", "closed",
    "last_modified",
]  # fmt: skip
IDS = st.sampled_from(["A", "B", "C", "D", " ", "", None])


def records(keys: list[str]) -> st.SearchStrategy[dict[str, object]]:
    return st.builds(
        lambda raw, record_id: {**raw, "id": record_id},
        st.dictionaries(st.sampled_from(keys), VALUES),
        IDS,
    )


def vocabularies(ref: bool) -> dict[str, Any]:
    vocab = REFERENCE.Vocabulary if ref else Vocabulary
    return {
        "industry": vocab({"Tech": "Technology"}, keep_unknown=False),
        "country": vocab({"US": "United States"}),
        "tech_stack": vocab({"salesforce": "Salesforce", "Gong": "Gong"}, keep_unknown=False),
        "stage": vocab({"12": "Won"}, keep_unknown=False),
    }


def counts(stats: ConnectorStats) -> list[object]:
    return [list(stats.bad_values.items()), list(stats.skipped.items())]


def listening(stats: ConnectorStats) -> tuple[Normaliser, list[Reject]]:
    rejects: list[Reject] = []
    return Normaliser(stats, vocabularies(ref=False), rejects.append), rejects


def assert_rejects_match_counts(rejects: list[Reject], stats: ConnectorStats) -> None:
    """One reject per value made missing (per stack item) and per record skipped."""
    assert Counter(r.column for r in rejects if r.column) == +stats.bad_values
    assert Counter(r.reason for r in rejects if r.column is None) == +stats.skipped


@settings(max_examples=300, deadline=None)
@given(st.lists(records(ACCOUNT_KEYS), max_size=15), st.booleans())
def test_accounts_match_reference(raws: list[dict[str, object]], dedupe: bool) -> None:
    fast_stats, ref_stats = ConnectorStats(), ConnectorStats()
    fast, rejects = listening(fast_stats)
    ref = PLAUSIBLE.Normaliser(ref_stats, vocabularies(ref=True))
    for row, raw in enumerate(raws + raws):  # the second pass hits the remembered values
        before = len(rejects)
        got, expected = fast.account(raw, dedupe=dedupe, row=row), ref.account(raw, dedupe=dedupe)
        assert repr(got) == repr(expected)
        assert got == expected
        assert counts(fast_stats) == counts(ref_stats)  # in the same order, too
        assert {(r.row, r.id) for r in rejects[before:]} <= {(row, REFERENCE._text(raw["id"]))}
    assert_rejects_match_counts(rejects, ref_stats)


@settings(max_examples=150, deadline=None)
@given(st.lists(records(OPPORTUNITY_KEYS), max_size=15))
def test_opportunities_match_reference(raws: list[dict[str, object]]) -> None:
    fast_stats, ref_stats = ConnectorStats(), ConnectorStats()
    fast, rejects = listening(fast_stats)
    ref = PLAUSIBLE.Normaliser(ref_stats, vocabularies(ref=True))
    for row, raw in enumerate(raws + raws):
        assert repr(fast.opportunity(raw, row=row)) == repr(ref.opportunity(raw))
        assert counts(fast_stats) == counts(ref_stats)
    assert_rejects_match_counts(rejects, ref_stats)


@pytest.mark.parametrize("batch_records", [1, 3, 1024])
def test_streams_match_reference(batch_records: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """``accounts`` and ``opportunities`` clean a batch at a time; the ids seen carry over."""
    monkeypatch.setattr(normalise, "BATCH_RECORDS", batch_records)

    @settings(max_examples=60, deadline=None)
    @given(st.lists(records(ACCOUNT_KEYS), max_size=12), st.lists(records(OPPORTUNITY_KEYS)))
    def check(accounts: list[dict[str, object]], opportunities: list[dict[str, object]]) -> None:
        fast_stats, ref_stats = ConnectorStats(), ConnectorStats()
        fast = Normaliser(fast_stats, vocabularies(ref=False))
        ref = PLAUSIBLE.Normaliser(ref_stats, vocabularies(ref=True))
        for raws, fast_clean, ref_clean in [
            (accounts, fast.accounts, ref.accounts),
            (opportunities, fast.opportunities, ref.opportunities),
        ]:
            got = list(fast_clean(iter(raws + raws)))  # type: ignore[operator]
            assert repr(got) == repr(list(ref_clean(raws + raws)))  # type: ignore[operator]
            assert fast_stats.bad_values == ref_stats.bad_values
            assert fast_stats.skipped == ref_stats.skipped

    check()


@st.composite
def batches(
    draw: st.DrawFn, keys: list[str], cells: st.SearchStrategy[object]
) -> tuple[dict[str, list[object]], list[object]]:
    """A batch of raw records as columns (some absent), with signals per record."""
    size = draw(st.integers(0, 12))
    present = draw(st.sets(st.sampled_from([k for k in keys if k not in ("id", "signals")])))
    column = st.lists(cells, min_size=size, max_size=size)
    columns = {key: draw(column) for key in sorted(present)}
    columns["id"] = draw(st.lists(IDS, min_size=size, max_size=size))
    signals = draw(
        st.lists(
            st.one_of(st.none(), st.dictionaries(st.sampled_from(["plan"]), cells)),
            min_size=size,
            max_size=size,
        )
    )
    return columns, signals


def check_batches(
    batches: list[tuple[dict[str, list[object]], list[object]]],
    from_columns: Callable[..., Any],
    view: Callable[[Normaliser], Callable[..., Any]],
    reference: Callable[[PLAUSIBLE.Normaliser], Callable[..., Any]],
    with_signals: bool,
) -> None:
    """The column path against the reference, record by record, and against its own view
    (a second normaliser fed one record at a time), rejects included."""
    fast_stats, view_stats, ref_stats = ConnectorStats(), ConnectorStats(), ConnectorStats()
    fast, fast_rejects = listening(fast_stats)
    one, view_rejects = listening(view_stats)
    ref = PLAUSIBLE.Normaliser(ref_stats, vocabularies(ref=True))
    next_row = 0
    for columns, signals in batches + batches:  # the second pass hits the remembered values
        rows = list(range(next_row, next_row + len(signals)))
        next_row += len(signals)
        raws = [
            {**{key: values[i] for key, values in columns.items()}, "signals": signals[i]}
            for i in range(len(signals))
        ]
        expected = [reference(ref)(raw) for raw in raws]
        extra = {"signals": signals} if with_signals else {}
        got = from_columns(fast, columns, rows=rows, **extra)
        assert repr(list(got)) == repr([r for r in expected if r is not None])
        assert got.rows == [row for row, r in zip(rows, expected, strict=True) if r is not None]
        assert fast_stats.bad_values == ref_stats.bad_values
        assert fast_stats.skipped == ref_stats.skipped
        one_by_one = [view(one)(raw, row=row) for row, raw in zip(rows, raws, strict=True)]
        assert repr(one_by_one) == repr(expected)
        assert counts(view_stats) == counts(ref_stats)
        assert sorted(fast_rejects, key=lambda r: r.row or 0) == view_rejects
    assert_rejects_match_counts(fast_rejects, ref_stats)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(batches(ACCOUNT_KEYS, TEXT_CELLS), min_size=1, max_size=4),
    st.lists(batches(ACCOUNT_KEYS, VALUES), min_size=1, max_size=2),
    st.booleans(),
)
def test_account_batches_match_reference_rows(
    text: list[tuple[dict[str, list[object]], list[object]]],
    typed: list[tuple[dict[str, list[object]], list[object]]],
    dedupe: bool,
) -> None:
    """Text columns (CSV, HubSpot) and JSON-typed ones (numbers, booleans, lists)."""
    check_batches(
        text + typed,
        lambda normaliser, columns, **kw: accounts_from_columns(
            normaliser, columns, dedupe=dedupe, **kw
        ),
        lambda normaliser: lambda raw, row: normaliser.account(raw, dedupe=dedupe, row=row),
        lambda ref: lambda raw: ref.account(raw, dedupe=dedupe),
        with_signals=True,
    )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(batches(OPPORTUNITY_KEYS, TEXT_CELLS), min_size=1, max_size=3),
    st.lists(batches(OPPORTUNITY_KEYS, VALUES), min_size=1, max_size=2),
)
def test_opportunity_batches_match_reference_rows(
    text: list[tuple[dict[str, list[object]], list[object]]],
    typed: list[tuple[dict[str, list[object]], list[object]]],
) -> None:
    check_batches(
        text + typed,
        opportunities_from_columns,
        lambda normaliser: normaliser.opportunity,
        lambda ref: ref.opportunity,
        with_signals=False,
    )
