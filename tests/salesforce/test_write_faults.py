"""Deterministic write faults: a timed-out write is not sent twice; row locks are retried."""

from __future__ import annotations

from collections.abc import Iterator

from icpsync.connectors.salesforce.sandbox import Sandbox
from icpsync.connectors.salesforce.sandbox.faults import LOCK, SLOW
from icpsync.core.model import ScoreUpdate


def _script(box: Sandbox, faults: list[str | None]) -> None:
    """The next requests draw these faults, in order; then none."""
    queue: Iterator[str | None] = iter(faults)
    box.faults.draw = lambda: next(queue, None)  # type: ignore[method-assign]


def _updates(sf, connector) -> list[ScoreUpdate]:  # type: ignore[no-untyped-def]
    return [
        ScoreUpdate(a.id, 61, "Tier 2", ("student",), "reasons", "v2", sf.NOW)
        for a in connector.read_accounts()
    ][:250]


def test_a_timed_out_write_is_read_back_not_resent(sf, make_sandbox) -> None:  # type: ignore[no-untyped-def]
    box = make_sandbox(slow_ms=600)
    settings = sf.settings_for(box, timeout_s=0.2, write_concurrency=1)
    sf.install(settings)
    connector = sf.connector_for(settings)
    try:
        updates = _updates(sf, connector)
        box.reset_stats()
        _script(box, [SLOW])  # the first batch is applied, its answer comes too late
        report = connector.write_scores(updates)
    finally:
        connector.close()
    assert report.updated == 250 and not report.failures
    assert connector.stats.api_calls["readback"] == 1
    assert box.stats()["composite_update"] == 2  # 200 (timed out, applied) + 50; no resend
    writes = box.write_counts()
    assert len(writes) == 250 and max(writes.values()) == 1


def test_row_locks_are_retried_then_reported(sf, make_sandbox) -> None:  # type: ignore[no-untyped-def]
    box = make_sandbox()
    box.faults.lock_share = 1.0
    sf.install(sf.settings_for(box))
    retried = sf.connector_for(sf.settings_for(box, write_concurrency=1, lock_retries=2))
    try:
        updates = _updates(sf, retried)
        _script(box, [LOCK])  # every row of the first batch is locked once
        report = retried.write_scores(updates)
    finally:
        retried.close()
    assert report.updated == 250 and not report.failures
    assert retried.stats.api_calls["composite_update"] == 3
    box.reset_stats()
    give_up = sf.connector_for(sf.settings_for(box, write_concurrency=1, lock_retries=0))
    try:
        _script(box, [LOCK])
        second = give_up.write_scores(
            [
                ScoreUpdate(u.account_id, 62, u.tier, u.flags, u.reasons, "v3", u.scored_at)
                for u in updates
            ]
        )
    finally:
        give_up.close()
    assert second.updated == 50 and len(second.failures) == 200
    assert all(f.retriable and f.reason.startswith("UNABLE_TO_LOCK_ROW") for f in second.failures)
    assert len(box.write_counts()) == 50


def test_an_id_given_twice_is_written_once_with_its_last_update(sf, make_sandbox) -> None:  # type: ignore[no-untyped-def]
    """Through a Bulk job and through Collections alike: each record once, the last values."""
    box = make_sandbox()
    for threshold, bulk_jobs in ((1, 1), (10_000, 0)):  # a Bulk job above it, Collections below
        settings = sf.settings_for(box, bulk_write_threshold=threshold, write_concurrency=1)
        sf.install(settings)
        connector = sf.connector_for(settings)
        try:
            first, second = _updates(sf, connector)[:2]
            again = ScoreUpdate(first.account_id, 17, "Tier 3", (), "later", "v3", sf.NOW)
            box.reset_stats()
            report = connector.write_scores([first, second, again])
        finally:
            connector.close()
        assert report.attempted == 3 and report.updated == 2 and not report.failures
        assert connector.stats.api_calls["bulk_ingest_create"] == bulk_jobs
        assert box.write_counts() == {first.account_id: 1, second.account_id: 1}
        held = box.org.records["Account"][first.account_id]
        assert (held["ICP_Score__c"], held["ICP_Reasons__c"]) == (17, "later")
