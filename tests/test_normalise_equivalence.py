"""The remembering normaliser cleans and counts exactly like the reference normaliser (the
code before the throughput work, frozen in tests/reference), record for record."""

from __future__ import annotations

import plausible_reference as PLAUSIBLE
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import normalise_v1 as REFERENCE

from icpsync.core.model import ConnectorStats
from icpsync.core.normalise import Normaliser, Vocabulary
from icpsync.core.normalise_columns import accounts_from_columns

WORDS = [
    "Tech", "tech ", "Technology", "Bogus", "US", "n/a", "", " ", "-", "12", "1,200", "-5",
    "3.5", "1e400", "nan", "abc", "Salesforce; HubSpot", "Gong;;bogus", "2026-01-02",
    "2026-01-02T03:04:05Z", "2026-01-02T03:04:05+0100", "1700000000000", "Tier 1", "Tier 9",
    "true", "No",
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
ACCOUNT_KEYS = [
    "id", "name", "domain", "industry", "employees", "annual_revenue", "country", "region",
    "tech_stack", "last_modified", "signals", "icp_score", "icp_tier", "icp_anti_flags",
    "icp_reasons", "icp_profile_version", "icp_scored_at", "icp_tier_override",
]  # fmt: skip
OPPORTUNITY_KEYS = [
    "id", "account_id", "stage", "is_closed", "is_won", "amount", "created", "closed",
    "last_modified",
]  # fmt: skip
IDS = st.sampled_from(["A", "B", "C", "D", " ", None])


def records(keys: list[str]) -> st.SearchStrategy[dict[str, object]]:
    return st.builds(
        lambda raw, record_id: {**raw, "id": record_id},
        st.dictionaries(st.sampled_from(keys), VALUES),
        IDS,
    )


def vocabularies(ref: bool) -> dict[str, object]:
    vocab = REFERENCE.Vocabulary if ref else Vocabulary
    return {
        "industry": vocab({"Tech": "Technology"}, keep_unknown=False),
        "country": vocab({"US": "United States"}),
        "tech_stack": vocab({"salesforce": "Salesforce", "Gong": "Gong"}, keep_unknown=False),
        "stage": vocab({"12": "Won"}, keep_unknown=False),
    }


def counts(stats: ConnectorStats) -> list[object]:
    return [list(stats.bad_values.items()), list(stats.skipped.items())]


@settings(max_examples=300, deadline=None)
@given(st.lists(records(ACCOUNT_KEYS), max_size=15), st.booleans())
def test_accounts_match_reference(raws: list[dict[str, object]], dedupe: bool) -> None:
    fast_stats, ref_stats = ConnectorStats(), ConnectorStats()
    fast = Normaliser(fast_stats, vocabularies(ref=False))  # type: ignore[arg-type]
    ref = PLAUSIBLE.Normaliser(ref_stats, vocabularies(ref=True))
    for raw in raws + raws:  # the second pass hits the remembered values
        got, expected = fast.account(raw, dedupe=dedupe), ref.account(raw, dedupe=dedupe)
        assert repr(got) == repr(expected)
        assert got == expected
        assert counts(fast_stats) == counts(ref_stats)


@settings(max_examples=150, deadline=None)
@given(st.lists(records(OPPORTUNITY_KEYS), max_size=15))
def test_opportunities_match_reference(raws: list[dict[str, object]]) -> None:
    fast_stats, ref_stats = ConnectorStats(), ConnectorStats()
    fast = Normaliser(fast_stats, vocabularies(ref=False))  # type: ignore[arg-type]
    ref = PLAUSIBLE.Normaliser(ref_stats, vocabularies(ref=True))
    got = list(fast.opportunities(raws + raws))
    assert repr(got) == repr(list(ref.opportunities(raws + raws)))
    assert counts(fast_stats) == counts(ref_stats)


TEXT_CELLS = st.one_of(st.none(), st.sampled_from(WORDS), st.text(max_size=6))


@st.composite
def text_batches(draw: st.DrawFn) -> tuple[dict[str, list[str | None]], list[object]]:
    size = draw(st.integers(0, 12))
    keys = draw(st.sets(st.sampled_from([k for k in ACCOUNT_KEYS if k not in ("id", "signals")])))
    cells = st.lists(TEXT_CELLS, min_size=size, max_size=size)
    columns = {key: draw(cells) for key in ["id", *sorted(keys)]}
    columns["id"] = draw(
        st.lists(st.sampled_from(["A", "B", "C", " ", "", None]), min_size=size, max_size=size)
    )
    signals = draw(
        st.lists(
            st.one_of(
                st.none(), st.dictionaries(st.sampled_from(["plan"]), st.sampled_from(WORDS))
            ),
            min_size=size,
            max_size=size,
        )
    )
    return columns, signals


@settings(max_examples=300, deadline=None)
@given(st.lists(text_batches(), min_size=1, max_size=4), st.booleans())
def test_column_batches_match_reference_rows(
    batches: list[tuple[dict[str, list[str | None]], list[object]]], dedupe: bool
) -> None:
    fast_stats, ref_stats = ConnectorStats(), ConnectorStats()
    fast = Normaliser(fast_stats, vocabularies(ref=False))  # type: ignore[arg-type]
    ref = PLAUSIBLE.Normaliser(ref_stats, vocabularies(ref=True))
    for columns, signals in batches + batches:  # the second pass hits the remembered values
        rows = [
            {**{key: values[i] for key, values in columns.items()}, "signals": signals[i]}
            for i in range(len(signals))
        ]
        expected = [ref.account(row, dedupe=dedupe) for row in rows]
        got = accounts_from_columns(fast, columns, signals, dedupe=dedupe)
        assert repr(list(got)) == repr([a for a in expected if a is not None])
        assert dict(fast_stats.bad_values) == dict(ref_stats.bad_values)
        assert dict(fast_stats.skipped) == dict(ref_stats.skipped)
        # the row-by-row path shares the remembered values with the column path
        assert repr(fast.account(rows[0], dedupe=False) if rows else None) == repr(
            ref.account(rows[0], dedupe=False) if rows else None
        )
