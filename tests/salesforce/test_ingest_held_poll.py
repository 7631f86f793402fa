"""A Bulk ingest job whose first poll is held until the engine wants its outcome: the
deadline still holds, failed rows are still read, a budget stop, a refusal of the daily
limit or a spurious 401 on the poll lose nothing, and the engine never waits on a held
job for nothing. simple-salesforce against the sandbox org."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest

from icpsync.connectors.salesforce import SalesforceConnector, bulk
from icpsync.connectors.salesforce.sandbox import REJECTED, Sandbox
from icpsync.connectors.salesforce.sandbox.faults import LOCK, SPURIOUS_401
from icpsync.core.model import ScoreUpdate, WriteReport
from icpsync.engine.ledger import RunLedger


def _updates(sf, connector, n: int | None = None) -> list[ScoreUpdate]:  # type: ignore[no-untyped-def]
    accounts = list(connector.read_accounts())[:n]
    return [ScoreUpdate(a.id, 61, "Tier 2", ("student",), "why", "v2", sf.NOW) for a in accounts]


def _scripted(box: Sandbox, faults: list[str | None]) -> None:
    """The next requests draw ``faults`` in order (None: no fault), then none."""
    queue = iter(faults)
    box.faults.draw = lambda: next(queue, None)  # type: ignore[method-assign]


def _until(done: Any, deadline_s: float = 10.0) -> None:
    end = time.monotonic() + deadline_s
    while not done():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def _held_write(
    connector: SalesforceConnector, updates: list[ScoreUpdate], wanted: threading.Event
) -> tuple[threading.Thread, list[WriteReport]]:
    """``write_scores_held`` in a thread of its own (as the engine's writer thread)."""
    out: list[WriteReport] = []
    thread = threading.Thread(
        target=lambda: out.append(connector.write_scores_held(updates, wanted))
    )
    thread.start()
    return thread, out


# -- a slow org: no more polls than the fixed schedule, the deadline holds ----------------


@pytest.mark.parametrize("expect_s", [None, 0.05, 0.6])
@pytest.mark.parametrize("held", [False, True])
def test_a_job_that_never_ends_is_aborted_at_the_deadline_within_the_fixed_polls(
    sf, sandbox: Sandbox, expect_s: float | None, held: bool
) -> None:  # type: ignore[no-untyped-def]
    poll_s, deadline_s = 0.05, 1.0
    fixed = list(
        itertools.takewhile(lambda at: at <= deadline_s, bulk.poll_times(poll_s, poll_s, None))
    )
    connector = sf.connector_for(sf.settings_for(sandbox))
    jobs = sandbox.app.jobs
    jobs.proceed.clear()  # the org never gets to the job
    wanted = threading.Event()
    if held:  # the outcome is wanted halfway through the deadline
        threading.Timer(deadline_s / 2, wanted.set).start()
    else:
        wanted.set()
    try:
        job_id = sf.closed_ingest_job(connector, sandbox, 5)
        sandbox.reset_stats()
        started = time.monotonic()
        with pytest.raises(bulk.BulkTimeout, match="bulk_timeout_s"):
            bulk.wait(
                connector.api,
                "Account",
                job_id,
                query=False,
                poll_s=poll_s,
                deadline_s=deadline_s,
                expect_s=expect_s,
                wanted=wanted,
            )
        took = time.monotonic() - started
        state = jobs.ingest_job(job_id).state
    finally:
        jobs.proceed.set()
        connector.close()
    stats = sandbox.stats()
    assert took < deadline_s + 1.0  # the deadline holds
    assert 1 <= stats["bulk_ingest_poll"] <= len(fixed)  # never more polls than fixed
    assert stats["bulk_ingest_close"] == 1 and state == "Aborted"  # the abort (a PATCH)


def test_a_held_job_never_wanted_is_polled_at_its_deadline_and_reported_unconfirmed(
    sf, sandbox: Sandbox
) -> None:  # type: ignore[no-untyped-def]
    settings = sf.settings_for(
        sandbox, bulk_write_threshold=10, bulk_poll_s=0.05, bulk_timeout_s=1.0
    )
    sf.install(settings)
    connector = sf.connector_for(settings)
    jobs = sandbox.app.jobs
    try:
        updates = _updates(sf, connector, 50)
        sandbox.reset_stats()
        jobs.proceed.clear()  # the org is slow: the job runs past the deadline
        started = time.monotonic()
        report = connector.write_scores_held(updates, threading.Event())
        took = time.monotonic() - started
    finally:
        jobs.proceed.set()
        connector.close()
    stats = sandbox.stats()
    assert took < 3.0 and stats["bulk_ingest_poll"] == 1
    assert stats["bulk_ingest_close"] == 2  # the close, then the abort
    # outcome unknown: every record reported, retriable (the next run compares)
    assert report.updated == 0 and not report.stopped
    assert sorted(f.account_id for f in report.failures) == sorted(u.account_id for u in updates)
    assert all(f.retriable and "bulk_timeout_s" in f.reason for f in report.failures)


# -- numberRecordsFailed > 0: failedResults read, every refused record reported -----------


def test_a_job_with_validation_rule_and_row_lock_failures_reports_every_record(
    sf, sandbox: Sandbox
) -> None:  # type: ignore[no-untyped-def]
    settings = sf.settings_for(sandbox, bulk_write_threshold=10, lock_retries=2)
    sf.install(settings)
    connector = sf.connector_for(settings)
    sandbox.faults.lock_share = 0.5
    try:
        updates = _updates(sf, connector, 120)
        refused = sorted(u.account_id for u in updates[::12])  # 10 records
        sandbox.reject_writes(refused)
        sandbox.reset_stats()
        _scripted(sandbox, [None, None, LOCK])  # create, upload, close: rows locked
        wanted = threading.Event()
        thread, out = _held_write(connector, updates, wanted)
        time.sleep(0.2)
        wanted.set()
        thread.join(30)
    finally:
        connector.close()
    (report,) = out
    stats = sandbox.stats()
    assert stats["bulk_ingest_results"] == 1  # numberRecordsFailed > 0: failedResults read
    assert sorted(f.account_id for f in report.failures) == refused
    for failure in report.failures:
        assert not failure.retriable
        assert (
            failure.reason.startswith("FIELD_CUSTOM_VALIDATION_EXCEPTION")
            and REJECTED in failure.reason
        )
    assert report.updated == len(updates) - len(refused)  # the locked rows, retried
    assert stats.get("composite_update", 0) >= 1
    values = sandbox.values(["ICP_Score__c"])
    assert all(values[u.account_id] == (61,) for u in updates if u.account_id not in refused)


def test_a_job_that_leaves_rows_unprocessed_does_not_count_them_written(
    sf, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """An org that ends a job with fewer rows processed than uploaded (no failedResults
    row for the others: numberRecordsProcessed < rows) must not have them taken as written."""
    from icpsync.connectors.salesforce.sandbox import bulk as sandbox_bulk

    apply_rows = sandbox_bulk.apply_rows

    def leaving_three(org, obj, header, id_col, rows, *rest):  # type: ignore[no-untyped-def]
        return apply_rows(org, obj, header, id_col, rows[:-3], *rest)

    monkeypatch.setattr(sandbox_bulk, "apply_rows", leaving_three)
    settings = sf.settings_for(sandbox, bulk_write_threshold=10)
    sf.install(settings)
    connector = sf.connector_for(settings)
    try:
        updates = _updates(sf, connector, 40)
        report = connector.write_scores(updates)
    finally:
        connector.close()
    accounted = report.updated + len(report.failures)
    assert accounted == len(updates)  # every record: written, or failed (to retry)
    unwritten = {u.account_id for u in updates[-3:]}
    assert unwritten <= {f.account_id for f in report.failures}
    assert all(f.retriable for f in report.failures)  # not confirmed: the next run compares


# -- the API budget and REQUEST_LIMIT_EXCEEDED while the job's outcome waits -------------


@pytest.mark.parametrize("limit", ["org_daily_limit", "run_budget_share"])
def test_the_budget_running_out_while_a_job_is_held_stops_the_run_and_loses_nothing(
    sf, sandbox: Sandbox, limit: str
) -> None:  # type: ignore[no-untyped-def]
    settings = sf.settings_for(sandbox, bulk_write_threshold=10, bulk_poll_s=0.02)
    sf.install(settings)
    connector = sf.connector_for(settings)
    jobs = sandbox.app.jobs
    try:
        updates = _updates(sf, connector, 60)
        sandbox.reset_stats()
        wanted = threading.Event()
        thread, out = _held_write(connector, updates, wanted)
        _until(lambda: sandbox.stats().get("bulk_ingest_close") == 1)
        _until(lambda: all(j.state == "JobComplete" for j in jobs.ingest_jobs.values()))
        time.sleep(0.1)  # the first poll is due, and held
        assert "bulk_ingest_poll" not in sandbox.stats()
        if limit == "org_daily_limit":  # the engine's reads spent the org's day meanwhile
            sandbox.org.daily_limit = sandbox.org.api_used
        else:  # ... or this run's share of it
            connector.api.budget.share = 1e-9
        wanted.set()
        thread.join(30)
        assert not thread.is_alive()
    finally:
        connector.close()
    (report,) = out
    stats = sandbox.stats()
    assert report.stopped and report.updated == 0
    if limit == "org_daily_limit":
        assert "REQUEST_LIMIT_EXCEEDED" in report.stopped and stats["bulk_ingest_poll"] == 1
    else:
        assert "budget" in report.stopped and "bulk_ingest_poll" not in stats
    assert "bulk_ingest_results" not in stats
    # every record reported not written, to retry: the next run reads and compares
    assert sorted(f.account_id for f in report.failures) == sorted(u.account_id for u in updates)
    assert all(f.retriable and f.reason.startswith("not written") for f in report.failures)


def test_a_job_is_not_held_when_the_budget_share_is_nearly_spent(sf, sandbox: Sandbox) -> None:  # type: ignore[no-untyped-def]
    """With fewer than ``HOLD_ROOM`` calls left in the run's share, the job is polled on its
    schedule, not held for the engine: reads made meanwhile could spend its poll."""
    from icpsync.connectors.salesforce.writer import HOLD_ROOM

    settings = sf.settings_for(sandbox, bulk_write_threshold=10, bulk_poll_s=0.02)
    sf.install(settings)
    connector = sf.connector_for(settings)
    try:
        updates = _updates(sf, connector, 60)
        budget = connector.api.budget
        assert budget.total is not None and budget.start_used is not None
        spent = max((budget.used or 0) - budget.start_used, budget.made)
        budget.share = (spent + HOLD_ROOM // 2 + 0.5) / (budget.total - budget.start_used)
        assert budget.would_exceed(6) is None and budget.would_exceed(HOLD_ROOM)
        sandbox.reset_stats()
        wanted = threading.Event()  # never set: a held job would wait to its deadline
        thread, out = _held_write(connector, updates, wanted)
        thread.join(20)
        assert not thread.is_alive()
    finally:
        connector.close()
    (report,) = out
    assert not wanted.is_set()
    assert report.updated == len(updates) and not report.failures and not report.stopped
    assert sandbox.stats()["bulk_ingest_poll"] >= 1


# -- a spurious 401 on the poll -------------------------------------------------------------


@pytest.mark.parametrize("held", [False, True])
def test_a_spurious_401_on_the_poll_is_retried(sf, sandbox: Sandbox, held: bool) -> None:  # type: ignore[no-untyped-def]
    settings = sf.settings_for(sandbox, bulk_write_threshold=10, bulk_poll_s=0.05)
    sf.install(settings)
    connector = sf.connector_for(settings)
    try:
        updates = _updates(sf, connector, 30)
        sandbox.reset_stats()
        _scripted(sandbox, [None, None, None, SPURIOUS_401])  # create, upload, close, poll
        wanted = threading.Event()
        if not held:
            wanted.set()
        thread, out = _held_write(connector, updates, wanted)
        time.sleep(0.2)
        wanted.set()
        thread.join(30)
    finally:
        connector.close()
    (report,) = out
    stats = sandbox.stats()
    assert report.updated == 30 and not report.failures and not report.stopped
    assert stats["bulk_ingest_poll"] == 2 and "bulk_ingest_results" not in stats
    assert connector.writer.refusal is None


# -- small writes (Collections) and the engine: never held for nothing ---------------------


def test_a_small_write_by_collections_is_not_held(sf, sandbox: Sandbox) -> None:  # type: ignore[no-untyped-def]
    settings = sf.settings_for(sandbox, bulk_write_threshold=100, bulk_timeout_s=30)
    sf.install(settings)
    connector = sf.connector_for(settings)
    try:
        updates = _updates(sf, connector, 50)
        sandbox.reset_stats()
        started = time.monotonic()
        report = connector.write_scores_held(updates, threading.Event())  # never wanted
        took = time.monotonic() - started
    finally:
        connector.close()
    assert took < 5 and report.updated == 50
    assert "bulk_ingest_create" not in sandbox.stats()


@pytest.mark.parametrize("write_concurrency", [1, 4])
def test_a_sync_with_held_chunks_completes_at_any_write_concurrency(
    sf, make_sandbox, monkeypatch: pytest.MonkeyPatch, write_concurrency: int
) -> None:  # type: ignore[no-untyped-def]
    box = make_sandbox(accounts=600, opportunities=900, poison=3)
    monkeypatch.setattr(SalesforceConnector, "write_chunk_size", 250)
    settings = sf.settings_for(
        box,
        bulk_write_threshold=50,
        bulk_poll_s=0.05,
        bulk_timeout_s=30,
        write_concurrency=write_concurrency,
    )
    sf.install(settings)
    started = time.monotonic()
    report = sf.sync(settings)
    assert time.monotonic() - started < 20
    assert report.written == 597 and report.quarantined == 3 and report.status == "partial"
    refusing = [j for j in box.app.jobs.ingest_jobs.values() if j.failed]
    assert refusing and box.stats()["bulk_ingest_results"] == len(refusing)


def test_a_run_whose_bookkeeping_fails_does_not_wait_for_the_held_job_deadline(
    sf, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # 300 accounts in chunks of 250: the second (last) chunk is handed over by the writer's
    # close, and recording the first then fails (the state store refuses).
    monkeypatch.setattr(SalesforceConnector, "write_chunk_size", 250)
    settings = sf.settings_for(
        sandbox, bulk_write_threshold=10, bulk_poll_s=0.05, bulk_timeout_s=20
    )
    sf.install(settings)

    def failing(self, updates, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("the state store refused: disk full")

    monkeypatch.setattr(RunLedger, "written", failing)
    sandbox.reset_stats()
    started = time.monotonic()
    with pytest.raises(OSError, match="disk full"):
        sf.sync(settings)
    took = time.monotonic() - started
    stats = sandbox.stats()
    assert took < 10  # not the held job's deadline (bulk_timeout_s)
    assert stats["bulk_ingest_create"] == 2
    assert all(j.state == "JobComplete" for j in sandbox.app.jobs.ingest_jobs.values())


def test_a_run_cut_short_by_an_error_lets_the_held_job_through(
    sf, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(SalesforceConnector, "write_chunk_size", 100)
    settings = sf.settings_for(
        sandbox, bulk_write_threshold=10, bulk_poll_s=0.05, bulk_timeout_s=20
    )
    sf.install(settings)
    checkpoint = RunLedger.checkpoint

    def crashing(self):  # type: ignore[no-untyped-def]
        if sandbox.stats().get("bulk_ingest_close"):  # a chunk's job is in flight, held
            raise RuntimeError("crash")
        return checkpoint(self)

    monkeypatch.setattr(RunLedger, "checkpoint", crashing)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="crash"):
        sf.sync(settings)
    assert time.monotonic() - started < 10
    assert all(j.state == "JobComplete" for j in sandbox.app.jobs.ingest_jobs.values())


def test_access_revoked_while_a_job_is_held_stops_the_writes_and_keeps_the_refusal(
    sf, sandbox: Sandbox
) -> None:  # type: ignore[no-untyped-def]
    settings = sf.settings_for(sandbox, bulk_write_threshold=10, bulk_poll_s=0.02)
    sf.install(settings)
    connector = sf.connector_for(settings)
    try:
        updates = _updates(sf, connector, 40)
        sandbox.reset_stats()
        wanted = threading.Event()
        thread, out = _held_write(connector, updates, wanted)
        _until(lambda: sandbox.stats().get("bulk_ingest_close") == 1)
        time.sleep(0.1)
        sandbox.revoke_access()  # an admin revokes the app while the outcome waits
        wanted.set()
        thread.join(30)
        assert not thread.is_alive()
    finally:
        sandbox.restore()
        connector.close()
    (report,) = out
    assert report.stopped and report.updated == 0
    assert connector.writer.refusal is not None  # raised by the connector once counted
    assert sorted(f.account_id for f in report.failures) == sorted(u.account_id for u in updates)
    assert all(f.retriable and f.reason.startswith("not written") for f in report.failures)
