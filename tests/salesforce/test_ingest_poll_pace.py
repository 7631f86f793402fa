"""A Bulk ingest job's first poll timed from what the org reported for the run's earlier job,
never more polls than the fixed schedule on a job that outlasts its first wait, and no
failed results read when the org says no row failed. simple-salesforce against the sandbox
org."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest

from icpsync.connectors.salesforce import SalesforceConnector, bulk, writer
from icpsync.connectors.salesforce.sandbox import Sandbox
from icpsync.connectors.salesforce.sandbox.faults import LOCK
from icpsync.core.model import ScoreUpdate


def test_an_ingest_job_reports_its_processing_time(sf, sandbox: Sandbox) -> None:  # type: ignore[no-untyped-def]
    connector = sf.connector_for(sf.settings_for(sandbox))
    api = connector.api
    jobs = sandbox.app.jobs
    jobs.proceed.clear()  # the org is busy: the job waits before it is processed
    try:
        job_id = sf.closed_ingest_job(connector, sandbox, 50)
        held = api.call("poll", lambda c: bulk.client("Account", c).get_job(job_id, False))
        time.sleep(0.2)
        jobs.proceed.set()
        info = bulk.wait(api, "Account", job_id, query=False, poll_s=0.01, deadline_s=10)
    finally:
        jobs.proceed.set()
        connector.close()
    assert held["state"] == "InProgress" and held["totalProcessingTime"] == 0
    assert info["state"] == "JobComplete" and info["numberRecordsProcessed"] == 50
    # milliseconds from the close, the wait included; the active part without it
    assert info["totalProcessingTime"] >= 200
    assert 0 <= info["apiActiveProcessingTime"] < info["totalProcessingTime"]
    assert info["apexProcessingTime"] == 0


def _polls(  # type: ignore[no-untyped-def]
    sf, box: Sandbox, job_s: float, expect_s: float | None, poll_s: float
) -> tuple[int, float]:
    """Polls of a job that the org ends ``job_s`` after its close (on a clock that the
    waits move), and when the job was seen ended, with or without ``expect_s``."""
    connector = sf.connector_for(sf.settings_for(box))
    jobs = box.app.jobs
    clock = [0.0]
    jobs.proceed.clear()

    def sleep(seconds: float) -> None:
        clock[0] += seconds
        if clock[0] >= job_s and not jobs.proceed.is_set():
            jobs.proceed.set()  # the org ends the job during this wait
            job = jobs.ingest_job(job_id)
            while job.state != "JobComplete":
                time.sleep(0.005)

    try:
        job_id = sf.closed_ingest_job(connector, box, 5)
        box.reset_stats()
        bulk.wait(
            connector.api,
            "Account",
            job_id,
            query=False,
            poll_s=poll_s,
            deadline_s=60,
            sleep=sleep,
            expect_s=expect_s,
        )
    finally:
        jobs.proceed.set()
        connector.close()
    return box.stats()["bulk_ingest_poll"], clock[0]


@pytest.mark.parametrize("expect_s", [0.1, 0.8, 3.0])
@pytest.mark.parametrize("job_s", [0.05, 0.3, 0.7, 1.6, 4.0, 9.0])
def test_an_expected_first_poll_against_the_fixed_schedule(
    sf, sandbox: Sandbox, job_s: float, expect_s: float
) -> None:  # type: ignore[no-untyped-def]
    poll_s = 0.5  # the fixed schedule polls at 0.5, 1.25, 2.375, 4.06, 6.06, 8.06, 10.06 s
    before, seen_before = _polls(sf, sandbox, job_s, None, poll_s)
    after, seen_after = _polls(sf, sandbox, job_s, expect_s, poll_s)
    if job_s > max(expect_s, poll_s):  # slower than both: no more polls, seen no later
        assert after <= before and seen_after <= seen_before
    elif job_s <= expect_s:  # as expected: seen at the first poll
        assert after == 1 and seen_after == pytest.approx(expect_s)
    else:  # slower than expected, faster than bulk_poll_s: one poll more
        assert (before, after) == (1, 2) and seen_after == pytest.approx(1.25)
    if expect_s >= poll_s:  # never more polls, whatever the job takes
        assert after <= before


def test_the_fixed_schedule_is_kept_without_an_expectation() -> None:
    times = list(itertools.islice(bulk.poll_times(0.5, 0.5, None), 7))
    assert times == pytest.approx([0.5, 1.25, 2.375, 4.0625, 6.0625, 8.0625, 10.0625])
    assert list(itertools.islice(bulk.poll_times(0.5, 0.5, 3.0), 3)) == pytest.approx(
        [3.0, 4.0625, 6.0625]
    )


@pytest.mark.parametrize(("job_s", "wanted_s"), [(0.0, 0.4), (0.6, 0.3), (1.0, 0.05), (1.0, 0.6)])
def test_a_first_poll_held_until_the_outcome_is_wanted(
    sf, sandbox: Sandbox, job_s: float, wanted_s: float
) -> None:  # type: ignore[no-untyped-def]
    poll_s = 0.1  # the fixed schedule polls at 0.1, 0.25, 0.475, 0.8125, 1.32 s
    fixed = list(itertools.islice(bulk.poll_times(poll_s, poll_s, None), 8))
    connector = sf.connector_for(sf.settings_for(sandbox))
    jobs = sandbox.app.jobs
    wanted = threading.Event()
    if job_s:
        jobs.proceed.clear()
    try:
        job_id = sf.closed_ingest_job(connector, sandbox, 5)
        sandbox.reset_stats()
        started = time.monotonic()
        timers = [threading.Timer(wanted_s, wanted.set), threading.Timer(job_s, jobs.proceed.set)]
        for timer in timers:
            timer.start()
        bulk.wait(
            connector.api,
            "Account",
            job_id,
            query=False,
            poll_s=poll_s,
            deadline_s=30,
            wanted=wanted,
        )
        seen = time.monotonic() - started
    finally:
        jobs.proceed.set()
        connector.close()
    polls = sandbox.stats()["bulk_ingest_poll"]
    # the fixed schedule's polls up to the first at or after the job's end
    fixed_polls = next(i for i, at in enumerate(fixed, 1) if at >= job_s)
    assert polls <= fixed_polls  # never more polls
    assert seen >= wanted_s  # nothing polled before the outcome was wanted
    if job_s <= wanted_s:  # ended before it was wanted: one poll, then
        assert polls == 1 and seen < wanted_s + 0.25
    else:  # seen at the fixed schedule's first poll after the job's end, or sooner
        assert seen < next(at for at in fixed if at >= job_s) + 0.25


def _updates(sf, connector) -> list[ScoreUpdate]:  # type: ignore[no-untyped-def]
    return [
        ScoreUpdate(a.id, 61, "Tier 2", ("student",), "reasons", "v2", sf.NOW)
        for a in connector.read_accounts()
    ]


def test_a_writer_times_its_next_job_from_the_last_and_reads_no_empty_failed_results(
    sf, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    settings = sf.settings_for(sandbox, bulk_write_threshold=10, bulk_poll_s=0.5)
    sf.install(settings)
    connector = sf.connector_for(settings)
    waits: list[tuple[float | None, dict[str, Any]]] = []
    wait = bulk.wait

    def recorded(*args: Any, **kwargs: Any) -> dict[str, Any]:
        info = wait(*args, **kwargs)
        waits.append((kwargs.get("expect_s"), info))
        return info

    monkeypatch.setattr(bulk, "wait", recorded)
    try:
        updates = _updates(sf, connector)
        sandbox.reset_stats()
        first = connector.write_scores(updates[:200])
        second = connector.write_scores(updates[200:])
    finally:
        connector.close()
    assert first.updated == 200 and second.updated == len(updates) - 200
    (no_expectation, info), (expected, _) = waits
    assert no_expectation is None  # the run's first job: nothing reported yet
    pace = info["totalProcessingTime"] / 1000 / info["numberRecordsProcessed"]
    assert expected == pytest.approx(pace * (len(updates) - 200) * writer.EXPECT_MARGIN)
    stats = sandbox.stats()
    assert stats["bulk_ingest_create"] == stats["bulk_ingest_poll"] == 2
    assert "bulk_ingest_results" not in stats  # no row failed in either job


def test_failed_rows_are_still_read_and_retried(sf, sandbox: Sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox.faults.lock_share = 1.0
    settings = sf.settings_for(sandbox, bulk_write_threshold=10, lock_retries=1)
    sf.install(settings)
    connector = sf.connector_for(settings)
    try:
        updates = _updates(sf, connector)[:100]
        sandbox.reset_stats()
        # create, upload, then the close draws row locks: every row of the job is locked
        queue = iter([None, None, LOCK])
        sandbox.faults.draw = lambda: next(queue, None)  # type: ignore[method-assign]
        report = connector.write_scores(updates)
    finally:
        connector.close()
    stats = sandbox.stats()
    assert stats["bulk_ingest_results"] == 1  # the job said rows failed: they are read
    assert report.updated == 100 and not report.failures  # the locked rows, retried
    assert stats["composite_update"] == 1


def test_a_sync_in_several_bulk_chunks_polls_each_job_when_its_outcome_is_wanted(
    sf, make_sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    box = make_sandbox(accounts=600, opportunities=900)
    monkeypatch.setattr(SalesforceConnector, "write_chunk_size", 250)
    settings = sf.settings_for(box, bulk_write_threshold=50, bulk_poll_s=0.05)
    sf.install(settings)
    held: list[bool] = []
    write = SalesforceConnector.write_scores_held

    def recorded(self, updates, wanted):  # type: ignore[no-untyped-def]
        held.append(not wanted.is_set())
        return write(self, updates, wanted)

    monkeypatch.setattr(SalesforceConnector, "write_scores_held", recorded)
    box.reset_stats()
    report = sf.sync(settings)
    stats = box.stats()
    assert report.written == 600 and report.status == "complete"
    assert stats["bulk_ingest_create"] == 3  # chunks of 250, 250 and 100
    assert stats["bulk_ingest_poll"] >= 3 and "bulk_ingest_results" not in stats
    assert box.values(sf.ICP_FIELDS) and all(
        v[0] is not None for v in box.values(sf.ICP_FIELDS).values()
    )
    assert len(held) == 3 and held[0]  # the first chunk was handed over before it was wanted
