"""Bulk jobs run on the org's side after the call that starts them; polling starts short,
backs off and keeps its deadline; a query's next page is fetched while the current one is
worked on. simple-salesforce against the sandbox org."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from simple_salesforce.bulk2 import Operation
from simple_salesforce.exceptions import SalesforceMalformedRequest

from icpsync.connectors.salesforce import bulk, reader
from icpsync.connectors.salesforce.sandbox import Sandbox


def _until(done: Callable[[], bool], deadline_s: float = 10.0) -> bool:
    """Whether ``done()`` came true within ``deadline_s`` (checked every 10 ms)."""
    end = time.monotonic() + deadline_s
    while not done():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


def _sandbox_jobs(box: Sandbox) -> list[dict[str, Any]]:
    url = f"{box.url}/__sandbox__/jobs"
    return list(requests.get(url, verify=str(box.ca_path), timeout=10).json())


def test_a_query_job_runs_after_the_call_that_creates_it(sf, sandbox: Sandbox) -> None:  # type: ignore[no-untyped-def]
    connector = sf.connector_for(sf.settings_for(sandbox))
    api = connector.api
    sandbox.app.jobs.proceed.clear()  # the org is busy: jobs wait
    try:
        job = api.call(
            "create",
            lambda c: bulk.client("Account", c).create_job(
                Operation.query, "SELECT Id FROM Account"
            ),
        )
        assert job["state"] == "UploadComplete"
        held = api.call("poll", lambda c: bulk.client("Account", c).get_job(job["id"], True))
        assert held["state"] == "InProgress"
        with pytest.raises(SalesforceMalformedRequest):  # no results before JobComplete
            bulk.client("Account", api.session.client()).get_query_results(job["id"])
        sandbox.app.jobs.proceed.set()
        info = bulk.wait(api, "Account", job["id"], query=True, poll_s=0.01, deadline_s=10)
        page = api.call("results", lambda c: bulk.client("Account", c).get_query_results(job["id"]))
    finally:
        sandbox.app.jobs.proceed.set()
        connector.close()
    assert info["state"] == "JobComplete"
    assert page["number_of_records"] == sandbox.data.accounts
    timings = _sandbox_jobs(sandbox)
    assert [(t["kind"], t["rows"]) for t in timings] == [("query", sandbox.data.accounts)]
    assert timings[0]["seconds"] > 0


def test_an_ingest_job_is_processed_after_it_is_closed(sf, sandbox: Sandbox) -> None:  # type: ignore[no-untyped-def]
    settings = sf.settings_for(sandbox)
    sf.install(settings)
    connector = sf.connector_for(settings)
    api = connector.api
    target = next(iter(sandbox.app.org.records["Account"]))
    sandbox.app.jobs.proceed.clear()
    try:
        job = api.call("create", lambda c: bulk.client("Account", c).create_job(Operation.update))
        data = f"Id,ICP_Score__c\n{target},42\n"
        api.call("upload", lambda c: bulk.client("Account", c).upload_job_data(job["id"], data))
        closed = api.call("close", lambda c: bulk.client("Account", c).close_job(job["id"]))
        assert closed["state"] == "UploadComplete"
        held = api.call("poll", lambda c: bulk.client("Account", c).get_job(job["id"], False))
        assert held["state"] == "InProgress"
        assert sandbox.app.org.records["Account"][target].get("ICP_Score__c") is None
        sandbox.app.jobs.proceed.set()
        info = bulk.wait(api, "Account", job["id"], query=False, poll_s=0.01, deadline_s=10)
    finally:
        sandbox.app.jobs.proceed.set()
        connector.close()
    assert info["state"] == "JobComplete" and info["numberRecordsProcessed"] == 1
    assert sandbox.app.org.records["Account"][target]["ICP_Score__c"] == 42
    assert [(t["kind"], t["rows"]) for t in _sandbox_jobs(sandbox)] == [("ingest", 1)]


def _query_job(connector: Any) -> str:
    job = connector.api.call(
        "create",
        lambda c: bulk.client("Account", c).create_job(Operation.query, "SELECT Id FROM Account"),
    )
    return str(job["id"])


def test_polling_starts_short_and_backs_off_until_the_job_ends(sf, sandbox: Sandbox) -> None:  # type: ignore[no-untyped-def]
    connector = sf.connector_for(sf.settings_for(sandbox))
    sandbox.app.jobs.proceed.clear()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 4:  # the org finishes the job during the fourth wait
            sandbox.app.jobs.proceed.set()
        time.sleep(seconds)

    try:
        job_id = _query_job(connector)
        sandbox.reset_stats()
        info = bulk.wait(
            connector.api, "Account", job_id, query=True, poll_s=0.01, deadline_s=30, sleep=sleep
        )
    finally:
        sandbox.app.jobs.proceed.set()
        connector.close()
    assert info["state"] == "JobComplete"
    assert len(waits) >= 4
    assert waits[0] == 0.01
    for before, after in itertools.pairwise(waits):
        assert after == pytest.approx(min(before * bulk.POLL_GROWTH, bulk.POLL_MAX_S))
    assert sandbox.stats()["bulk_query_poll"] == len(waits)  # one poll after each wait


def test_polling_stops_before_a_wait_would_pass_the_deadline(sf, sandbox: Sandbox) -> None:  # type: ignore[no-untyped-def]
    connector = sf.connector_for(sf.settings_for(sandbox))
    sandbox.app.jobs.stalled = True  # the org never finishes
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    try:
        job_id = _query_job(connector)
        started = time.monotonic()
        with pytest.raises(bulk.BulkTimeout, match=r"still InProgress after 0.5 s"):
            bulk.wait(
                connector.api,
                "Account",
                job_id,
                query=True,
                poll_s=0.02,
                deadline_s=0.5,
                sleep=sleep,
            )
        elapsed = time.monotonic() - started
    finally:
        connector.close()
    following = min(waits[-1] * bulk.POLL_GROWTH, bulk.POLL_MAX_S)
    assert sum(waits) <= 0.5  # no wait went past the deadline...
    assert elapsed + following > 0.5  # ...and the one not started would have
    assert waits[:2] == [0.02, pytest.approx(0.03)]
    assert sandbox.stats()["bulk_query_close"] == 1  # the job was asked to abort


@pytest.mark.parametrize("bulk_read", [False, True], ids=["rest", "bulk"])
def test_rest_pages_are_fetched_ahead_and_bulk_results_pages_once_the_one_before_is_converted(
    sf, make_sandbox, monkeypatch, bulk_read: bool
) -> None:  # type: ignore[no-untyped-def]
    box = make_sandbox(accounts=4500, opportunities=10)
    monkeypatch.setattr(reader, "BULK_PAGE", 2000)
    settings = sf.settings_for(box, bulk_read_threshold=1 if bulk_read else 0)
    connector = sf.connector_for(settings)
    more = "bulk_query_results" if bulk_read else "query_more"
    fetched_when_converted: list[int] = []

    def ids(page: Any) -> list[str]:
        fetched_when_converted.append(box.stats().get(more, 0))
        return list(page.column("Id") or [])

    try:
        box.reset_stats()
        pages = connector.reader.pages("Account", "SELECT Id FROM Account ORDER BY Id", ids)
        first = next(pages)
        # page 2 is asked for while page 1's result is still with the caller
        assert _until(lambda: box.stats().get(more, 0) == (2 if bulk_read else 1))
        got = first + [i for page in pages for i in page]
        assert box.stats()[more] == (3 if bulk_read else 2)
        assert got == sorted(box.app.org.records["Account"])  # all, once each, in order
        if bulk_read:  # a Bulk results page is large: none is fetched while one is converted
            assert fetched_when_converted == [1, 2, 3]

        box.reset_stats()
        stopped = connector.reader.pages("Account", "SELECT Id FROM Account ORDER BY Id", ids)
        next(stopped)
        stopped.close()  # the caller stops after page 1: at most one page was fetched ahead
        connector.reader.close()
        assert box.stats().get(more, 0) <= (2 if bulk_read else 1)
    finally:
        connector.close()
