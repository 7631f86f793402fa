"""Property test: arbitrary raw records through the normaliser and the scorer never crash and
always give a valid, deterministic result."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from icpsync.core.default_profile import default_profile
from icpsync.core.model import NO_AGGREGATES, TIERS, ConnectorStats
from icpsync.core.normalise import Normaliser, Vocabulary
from icpsync.core.scoring import Scorer

SCORER = Scorer(default_profile())
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    st.binary(max_size=50),
    st.lists(st.text(max_size=20), max_size=5),
)
KEYS = [
    "id",
    "name",
    "domain",
    "industry",
    "employees",
    "annual_revenue",
    "country",
    "region",
    "tech_stack",
    "last_modified",
    "icp_score",
    "icp_tier",
    "icp_tier_override",
    "icp_anti_flags",
    "icp_scored_at",
    "signals",
]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=len(KEYS)))
def test_any_record_scores_validly(raw: dict[str, object]) -> None:
    raw = {**raw, "id": raw.get("id") or "fixed-id"}
    normaliser = Normaliser(
        ConnectorStats(), {"industry": Vocabulary({"Tech": "Technology"}, keep_unknown=False)}
    )
    account = normaliser.account(raw, dedupe=False)
    if account is None:  # an id that cleans to nothing
        return
    result = SCORER.score(account, NO_AGGREGATES, AS_OF)
    assert 0 <= result.score <= 100
    assert result.tier in TIERS
    assert len(result.reasons_short) <= 255
    assert result == SCORER.score(account, NO_AGGREGATES, AS_OF)
