"""Full, repeated and incremental syncs against the sandbox through simple-salesforce."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import pytest

from icpsync.connectors.salesforce.sandbox import Sandbox, edit_accounts
from icpsync.core.model import CurrentIcp, ScoreUpdate
from icpsync.engine.state import StateStore


def _run_cycle(sf, box: Sandbox, tmp_path: Path, edits: int) -> dict[str, object]:
    settings = sf.settings_for(box, tmp_path / "state")
    sf.install(settings)
    state = StateStore(settings.state.database_url())
    try:
        box.org.clock_offset = -timedelta(hours=1)  # the full sync "ran an hour ago"
        box.reset_stats()
        full = sf.sync(settings, state)
        full_calls = box.stats()
        again = sf.sync(settings, state)
        box.org.clock_offset = timedelta(0)
        edited = edit_accounts(settings, edits, 11)
        box.reset_stats()
        incremental = sf.sync(settings, state)
        return {
            "full": full,
            "full_calls": full_calls,
            "again": again,
            "edited": edited,
            "incremental": incremental,
            "writes": box.write_counts(),
        }
    finally:
        state.close()


def test_full_second_and_incremental_sync(sf, make_sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    box = make_sandbox(accounts=2500, opportunities=7500)
    out = _run_cycle(sf, box, tmp_path, edits=40)
    full, again, incremental = out["full"], out["again"], out["incremental"]
    assert full.accounts_read == 2500 and full.written == 2500 and full.failed == 0  # type: ignore[attr-defined]
    calls = out["full_calls"]
    reads = 2500 + full.opportunities_read  # type: ignore[attr-defined]
    assert calls["query"] + calls.get("query_more", 0) <= math.ceil(2500 / 2000) + math.ceil(
        full.opportunities_read / 2000  # type: ignore[attr-defined]
    )
    assert calls["composite_update"] == math.ceil(2500 / 200)
    assert calls["total"] <= math.ceil(reads / 2000) + math.ceil(2500 / 200) + 5
    assert again.written == 0 and again.changed == 0  # type: ignore[attr-defined]
    assert incremental.mode == "incremental"  # type: ignore[attr-defined]
    assert incremental.accounts_read == len(out["edited"])  # type: ignore[attr-defined,arg-type]
    assert 0 < incremental.written <= len(out["edited"])  # type: ignore[attr-defined,arg-type]
    assert incremental.written == incremental.changed  # type: ignore[attr-defined]
    assert set(out["writes"]) <= set(out["edited"])  # type: ignore[arg-type]
    # the values in the org are what the run computed
    values = box.values(["ICP_Score__c", "ICP_Tier__c"])
    assert all(v[0] is not None and v[1] for v in values.values())


def test_bulk_read_and_bulk_write_give_the_same_values(sf, make_sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rest_box = make_sandbox(accounts=600, opportunities=1800)
    bulk_box = make_sandbox(accounts=600, opportunities=1800)
    rest = sf.settings_for(rest_box)
    bulk = sf.settings_for(bulk_box, bulk_read_threshold=100, bulk_write_threshold=100)
    for settings in (rest, bulk):
        sf.install(settings)
    bulk_box.reset_stats()
    report = sf.sync(rest)
    bulk_report = sf.sync(bulk)
    assert report.written == bulk_report.written == 600
    stats = bulk_box.stats()
    assert stats["bulk_query_create"] == 2  # accounts and opportunities
    assert stats["bulk_ingest_create"] == 1  # one job for the 600 changes
    assert "composite_update" not in stats
    assert "query_more" not in stats
    assert rest_box.values(sf.ICP_FIELDS) == bulk_box.values(sf.ICP_FIELDS)
    # the job reported no failed row: its failed results are not read
    assert bulk_report.api_calls.get("bulk_ingest_results", 0) == 0
    assert "bulk_ingest_results" not in stats


def test_per_record_failures_are_reported_not_raised(sf, sandbox: Sandbox) -> None:
    settings = sf.settings_for(sandbox)
    sf.install(settings)
    connector = sf.connector_for(settings)
    try:
        accounts = list(connector.read_accounts())[:3]
        updates = [
            ScoreUpdate(a.id, 50, "Tier 2", (), "why", "v1", sf.NOW, CurrentIcp()) for a in accounts
        ]
        updates.append(ScoreUpdate("001000000000000AAA", 10, "Tier 3", (), "", "v1", sf.NOW))
        updates.append(
            ScoreUpdate(accounts[0].id.replace("001", "002"), 1000, "Tier 1", (), "", "v", sf.NOW)
        )
        report = connector.write_scores(updates)
    finally:
        connector.close()
    assert report.attempted == 5 and report.updated == 3
    reasons = {f.account_id: f.reason for f in report.failures}
    assert reasons["001000000000000AAA"].startswith("ENTITY_IS_DELETED")
    assert all(not f.retriable for f in report.failures)
    assert sandbox.values(["ICP_Tier__c"])[accounts[0].id] == ("Tier 2",)


def test_sync_without_install_is_a_clear_error(sf, sandbox: Sandbox) -> None:
    from icpsync.core.errors import FatalError

    with pytest.raises(FatalError, match="INVALID_FIELD: No such column 'ICP_"):
        sf.sync(sf.settings_for(sandbox))


def test_a_won_deal_rescores_its_account_incrementally(
    sf, sandbox: Sandbox, client_for, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    settings = sf.settings_for(sandbox, tmp_path / "state")
    sf.install(settings)
    state = StateStore(settings.state.database_url())
    try:
        sandbox.org.clock_offset = -timedelta(hours=1)
        sf.sync(settings, state)
        sandbox.org.clock_offset = timedelta(0)
        client = client_for(settings)
        deal = client.query("SELECT Id, AccountId FROM Opportunity WHERE IsClosed = false LIMIT 1")[
            "records"
        ][0]
        client.Opportunity.update(
            deal["Id"], {"StageName": "Closed Won", "CloseDate": "2026-11-20"}
        )
        assert client.Opportunity.get(deal["Id"])["IsWon"] is True
        sandbox.reset_stats()
        report = sf.sync(settings, state)
    finally:
        state.close()
    assert report.mode == "incremental"
    assert report.accounts_read == 1  # read by id: only its deal changed
    assert report.opportunities_read == 1  # only the changed deal (SystemModstamp >= cursor)
    assert sandbox.stats()["query"] >= 3  # COUNT + accounts since cursor + accounts by id


def test_the_override_wins_and_is_never_written(sf, sandbox: Sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = sf.settings_for(sandbox)
    sf.install(settings)
    account_id = sorted(sandbox.org.records["Account"])[0]
    sandbox.org.records["Account"][account_id]["ICP_Tier_Override__c"] = (
        "Anti-ICP"  # a human set it
    )
    report = sf.sync(settings)
    assert report.written == 300
    assert sandbox.values(["ICP_Tier__c", "ICP_Tier_Override__c"])[account_id] == (
        "Anti-ICP",
        "Anti-ICP",
    )
    overrides = sandbox.values(["ICP_Tier_Override__c"])
    assert sum(1 for v in overrides.values() if v != (None,)) == 1
