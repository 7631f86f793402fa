"""The drift log's recent wins per tier: each account's wins land in the tier it is scored in."""

from collections import Counter

import pytest

from icpsync.engine.sync import _count_recent_wins


def test_wins_are_added_to_the_tier_each_account_is_scored_in() -> None:
    by_tier: Counter[str] = Counter({"Tier 1": 1})
    wins = Counter({"a": 2, "c": 1, "not-in-batch": 5})
    _count_recent_wins(
        by_tier, wins, ["a", "b", "c", "d"], ["Tier 1", "Tier 2", "Tier 3", "Tier 1"]
    )
    assert by_tier == Counter({"Tier 1": 3, "Tier 3": 1})


def test_a_tier_missing_for_an_account_is_refused() -> None:
    with pytest.raises(ValueError):
        _count_recent_wins(Counter(), Counter({"a": 1}), ["a", "b"], ["Tier 1"])
