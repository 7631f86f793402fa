"""The property values the HubSpot writer sends: each distinct outcome formatted once per
run, shared across writes, and let go when a later run begins."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

from icpsync.connectors.hubspot.writer import Writer
from icpsync.core.model import ScoreUpdate
from icpsync.engine.field_map import load_field_map


def _update(account_id: str, score: int, scored_at: datetime) -> ScoreUpdate:
    return ScoreUpdate(account_id, score, "Tier 1", (), "why", "v1", scored_at)


def test_outcomes_are_shared_within_a_run_and_dropped_at_the_next() -> None:
    writer = Writer(cast(Any, SimpleNamespace(max_retries=0)), load_field_map("hubspot"))
    first = datetime(2026, 1, 1, tzinfo=UTC)
    one = writer._values([_update("1", 80, first), _update("2", 80, first)])
    two = writer._values([_update("3", 80, first), _update("4", 70, first)])
    assert one["1"] is one["2"] is two["3"]  # formatted once for the run
    assert two["4"]["icp_score"] == "70"
    assert len(writer._outcomes) == 2

    later = datetime(2026, 1, 2, tzinfo=UTC)
    three = writer._values([_update("1", 80, later)])
    assert three["1"] is not one["1"]
    assert three["1"]["icp_scored_at"] != one["1"]["icp_scored_at"]
    assert list(writer._outcomes) == [(80, "Tier 1", (), "why", "v1", later, None)]
    assert list(writer._stamps) == [later]
