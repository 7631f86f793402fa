"""Writes left alone: validation-rule refusals, pooled lock retries, spurious 401s in session
mode, the budget cap on every call, the Bulk poll deadline; simple-salesforce against the
sandbox org."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from icpsync.connectors.salesforce.api import Api
from icpsync.connectors.salesforce.auth import Session
from icpsync.connectors.salesforce.bulk import BulkTimeout
from icpsync.connectors.salesforce.sandbox import REJECTED, Sandbox
from icpsync.connectors.salesforce.sandbox.faults import LOCK, SPURIOUS_401
from icpsync.connectors.salesforce.settings import SalesforceSettings
from icpsync.connectors.salesforce.writer import Writer
from icpsync.core.errors import AuthError, BudgetExhausted
from icpsync.core.model import ConnectorStats, ScoreUpdate
from icpsync.engine.field_map import load_field_map
from icpsync.engine.state import StateStore


def _script(box: Sandbox, faults: list[str | None]) -> None:
    """The next requests draw these faults, in order; then none."""
    queue: Iterator[str | None] = iter(faults)
    box.faults.draw = lambda: next(queue, None)  # type: ignore[method-assign]


def _updates(sf, connector, score: int = 61) -> list[ScoreUpdate]:  # type: ignore[no-untyped-def]
    return [
        ScoreUpdate(a.id, score, "Tier 2", ("student",), "reasons", "v2", sf.NOW)
        for a in connector.read_accounts()
    ]


@pytest.mark.parametrize("bulk_write_threshold", [0, 100], ids=["collections", "bulk"])
def test_validation_rule_refusals_are_one_line_and_not_retriable(
    sf, make_sandbox, bulk_write_threshold: int
) -> None:  # type: ignore[no-untyped-def]
    box = make_sandbox(poison=30)
    settings = sf.settings_for(box, bulk_write_threshold=bulk_write_threshold)
    sf.install(settings)
    box.reset_stats()
    report = sf.sync(settings)
    assert report.written == 270 and report.failed == 30
    assert {f.account_id for f in report.failures} == set(box.poison_ids)
    for failure in report.failures:
        assert not failure.retriable
        assert failure.reason == f"FIELD_CUSTOM_VALIDATION_EXCEPTION: {REJECTED}"
        assert "\n" not in failure.reason and len(failure.reason) <= 200
    if bulk_write_threshold:
        assert box.stats()["bulk_ingest_create"] == 1 and "composite_update" not in box.stats()


def test_locked_rows_are_pooled_into_full_batches(sf, make_sandbox) -> None:  # type: ignore[no-untyped-def]
    box = make_sandbox(accounts=1000, opportunities=100)
    settings = sf.settings_for(box, write_concurrency=1, lock_retries=3)
    sf.install(settings)
    connector = sf.connector_for(settings)
    try:
        updates = _updates(sf, connector)
        box.reset_stats()
        _script(box, [LOCK] * 5)  # each of the five batches of 200: ~30% of its rows locked
        report = connector.write_scores(updates)
    finally:
        connector.close()
    assert report.updated == 1000 and not report.failures
    calls = box.stats()["composite_update"]
    # ~300 locked rows of five batches go again as two full batches, not five partial ones
    assert calls == 7
    assert connector.writer.record_rounds == 1
    writes = box.write_counts()
    assert len(writes) == 1000 and max(writes.values()) == 1


def test_a_spurious_401_in_session_mode_does_not_fail_the_run(sf, make_sandbox) -> None:  # type: ignore[no-untyped-def]
    box = make_sandbox()
    sf.install(sf.settings_for(box))
    session = sf.settings_for(box, auth="session", session_id=box.app.session_id)
    # a 401 on the first read, on a write, and on the install's first query
    _script(box, [SPURIOUS_401, None, SPURIOUS_401])
    report = sf.sync(session)
    assert report.complete and report.written == 300 and report.failed == 0
    _script(box, [SPURIOUS_401])
    sf.install(session)  # install survives it too
    # two 401s in a row on one call: the session really is gone
    _script(box, [SPURIOUS_401, SPURIOUS_401])
    connector = sf.connector_for(session)
    try:
        with pytest.raises(AuthError, match="cannot be renewed"):
            list(connector.read_accounts())
    finally:
        connector.close()


def test_the_budget_share_stops_a_read_before_the_call_that_would_pass_it(sf, make_sandbox) -> None:  # type: ignore[no-untyped-def]
    box = make_sandbox(daily_limit=1000)
    sf.install(sf.settings_for(box))
    box.org.api_used = 0
    # 1.5 calls of the 1000 left: one call, then the next one would pass the share
    connector = sf.connector_for(sf.settings_for(box, api_budget_share=1.5 / 1000))
    try:
        assert list(connector.read_opportunities())
        assert box.org.api_used == 1
        with pytest.raises(BudgetExhausted, match="budget share"):
            list(connector.read_accounts())
    finally:
        connector.close()
    assert box.org.api_used == 1  # the refused call was never sent


def test_a_run_whose_budget_runs_out_while_reading_is_recorded_stopped_and_resumes(  # type: ignore[no-untyped-def]
    sf, make_sandbox, tmp_path
) -> None:
    box = make_sandbox(daily_limit=1000)
    sf.install(sf.settings_for(box))
    box.org.api_used = 0
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        # 2.5 calls of the 1000 left: the org id and the deals, then the accounts' read stops
        tight = sf.settings_for(box, tmp_path, api_budget_share=2.5 / 1000)
        stopped = sf.sync(tight, state)
        assert stopped.stopped and "budget" in stopped.stopped
        assert stopped.status == "stopped" and stopped.written == 0
        [row] = state.list_runs("salesforce")
        assert row["status"] == "stopped"
        assert state.cursor("salesforce", "accounts", org=stopped.org) is None
        # the next run, with budget left, resumes: a full run that writes every account
        resumed = sf.sync(sf.settings_for(box, tmp_path), state)
        assert resumed.mode == "full" and resumed.complete
        assert resumed.written == box.data.accounts == resumed.accounts_read
    finally:
        state.close()


def test_bulk_polling_has_a_deadline(sf, make_sandbox) -> None:  # type: ignore[no-untyped-def]
    box = make_sandbox()
    settings = sf.settings_for(
        box, bulk_read_threshold=1, bulk_write_threshold=10, bulk_timeout_s=0.3
    )
    sf.install(settings)
    connector = sf.connector_for(sf.settings_for(box, bulk_read_threshold=0))
    try:
        updates = _updates(sf, connector)
    finally:
        connector.close()
    box.app.jobs.stalled = True  # the org never finishes a job
    connector = sf.connector_for(settings)
    try:
        with pytest.raises(BulkTimeout, match=r"still InProgress after 0.3 s .*bulk_timeout_s"):
            list(connector.read_accounts())
        report = connector.write_scores(updates)
    finally:
        connector.close()
    assert report.updated == 0 and len(report.failures) == 300
    assert all(f.retriable and "bulk_timeout_s" in f.reason for f in report.failures)
    assert box.stats()["bulk_query_close"] == 1  # the stuck query job was asked to abort


@responses.activate
def test_a_whole_request_400_is_bisected_to_the_refused_record(sf) -> None:  # type: ignore[no-untyped-def]
    # Salesforce refuses the whole Collections request when one value cannot be read
    # (JSON_PARSER_ERROR); the sandbox never sends such a value, so the org is stood in for.
    bad = "001000000000007AAA"
    sent: list[list[str]] = []

    def collections(request: Any) -> tuple[int, dict[str, str], str]:
        ids = [r["id"] for r in json.loads(request.body)["records"]]
        sent.append(ids)
        if bad in ids:
            error = {
                "errorCode": "JSON_PARSER_ERROR",
                "message": "Cannot deserialize instance of double from VALUE_STRING value "
                "abc or request may be missing a required field at [line:1, column:4077]",
            }
            return 400, {}, json.dumps([error])
        return 200, {}, json.dumps([{"id": i, "success": True, "errors": []} for i in ids])

    instance = "https://acme.my.salesforce.com"
    url = f"{instance}/services/data/v62.0/composite/sobjects"
    responses.add_callback(responses.PATCH, url, callback=collections)
    conf = SalesforceSettings(auth="session", session_id="sid", instance_url=instance)  # type: ignore[arg-type]
    session = Session(conf)
    api = Api(session, ConnectorStats(), max_retries=2, share=0.5)
    icp = load_field_map("salesforce").icp
    writer = Writer(api, "Account", icp, bulk_threshold=0, concurrency=1, lock_retries=1)
    ids = [f"001{n:012d}AAA" for n in range(200)]
    try:
        report = writer.write([ScoreUpdate(i, 50, "Tier 2", (), "r", "v1", sf.NOW) for i in ids])
    finally:
        writer.close()
        session.close()
    assert report.updated == 199 and [f.account_id for f in report.failures] == [bad]
    failure = report.failures[0]
    assert not failure.retriable and failure.reason.startswith("JSON_PARSER_ERROR: Cannot")
    assert len(failure.reason) <= 200 and "\n" not in failure.reason
    written = [i for ids_sent in sent for i in ids_sent if bad not in ids_sent]
    assert sorted(written) == sorted(set(ids) - {bad})  # each valid record sent once, applied
    assert len(sent) == 1 + 2 * 8  # the request, then two halves at each of 8 levels
