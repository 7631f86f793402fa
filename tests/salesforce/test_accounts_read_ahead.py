"""The accounts' read begun while the deals are read: after the deals' first page, from the
calling thread, only when the API budget covers both reads; its Bulk job's first poll
counts from the job's creation. simple-salesforce against the sandbox org."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from icpsync.connectors.salesforce import bulk
from icpsync.connectors.salesforce.sandbox import Sandbox
from icpsync.connectors.salesforce.sandbox.faults import SPURIOUS_401
from icpsync.engine.settings import Settings
from icpsync.engine.state import StateStore
from icpsync.engine.sync import run_once

THRESHOLD = 5000
ACCOUNT_CALLS = ("describe", "query_account", "bulk_query_create_account")


def _traced_sync(
    sf: Any, settings: Settings, state: StateStore | None = None
) -> tuple[Any, list[str]]:
    """A sync, and the kinds of its calls in the order they were made (and which thread)."""
    connector = sf.connector_for(settings)
    calls: list[str] = []
    call = connector.api.call

    def traced(kind: str, fn: Any, **kwargs: Any) -> Any:
        calls.append(kind)
        return call(kind, fn, **kwargs)

    connector.api.call = traced
    try:
        report = run_once(settings, connector=connector, state=state, now=sf.NOW)
    finally:
        connector.close()
    return report, calls


def _bulk_box(make_sandbox: Any, sf: Any) -> Sandbox:
    # the deals read in REST pages of 2,000 (at least two), the accounts by a Bulk job
    box = make_sandbox(accounts=THRESHOLD + 500, opportunities=5000, daily_limit=100_000)
    sf.install(sf.settings_for(box))
    box.org.api_used = 0
    return box


def _deal_pages(sf: Any, box: Sandbox) -> int:
    """How many REST pages the deals' read takes."""
    connector = sf.connector_for(sf.settings_for(box))
    try:
        list(connector.read_opportunity_batches())
        calls = connector.stats.api_calls
        return calls["query_opportunity"] + calls["query_more_opportunity"]
    finally:
        connector.close()


def test_the_accounts_job_is_created_after_the_deals_first_page_and_runs_meanwhile(
    sf, make_sandbox
) -> None:  # type: ignore[no-untyped-def]
    box = _bulk_box(make_sandbox, sf)
    settings = sf.settings_for(box, bulk_read_threshold=THRESHOLD)

    report, calls = _traced_sync(sf, settings)

    assert report.complete and report.accounts_read == box.data.accounts
    deal_pages = [i for i, kind in enumerate(calls) if "opportunity" in kind]
    assert calls[0] == "query_opportunity" and len(deal_pages) >= 2
    # describe, the accounts' first page and the job: after the deals' first page, before the next
    assert calls[1:4] == list(ACCOUNT_CALLS)
    assert calls[4] == "query_more_opportunity"
    first_poll = calls.index("bulk_query_poll_account")
    assert first_poll > deal_pages[-1]
    # no call more than a read in series makes: each step once
    assert all(calls.count(kind) == 1 for kind in ACCOUNT_CALLS)


@pytest.mark.parametrize("extra", [1, 3], ids=["deals-and-describe", "and-the-first-page"])
def test_nothing_is_begun_ahead_that_the_budget_does_not_cover(
    sf, make_sandbox, tmp_path, extra: int
) -> None:  # type: ignore[no-untyped-def]
    box = _bulk_box(make_sandbox, sf)
    deals = _deal_pages(sf, box)
    box.org.api_used = 0
    # the deals' pages and ``extra`` calls more: the accounts' read is cut short
    share = (deals + extra + 0.5) / box.org.daily_limit
    tight = sf.settings_for(box, bulk_read_threshold=THRESHOLD, api_budget_share=share)
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        report, calls = _traced_sync(sf, tight, state)
    finally:
        state.close()

    assert report.stopped and "budget" in report.stopped
    last_deal_page = max(i for i, kind in enumerate(calls) if "opportunity" in kind)
    assert calls.count("query_more_opportunity") == deals - 1
    if extra == 1:  # not even describe and the first page fit besides the deals
        assert report.written == 0
        assert all(kind not in ACCOUNT_CALLS for kind in calls[:last_deal_page])
    else:  # describe and the first page ahead; the job only once the deals are read
        assert calls[1:3] == ["describe", "query_account"]
        assert calls.index("bulk_query_create_account") > last_deal_page


def test_a_spurious_401_lands_on_the_call_it_was_drawn_for(sf, make_sandbox) -> None:  # type: ignore[no-untyped-def]
    box = _bulk_box(make_sandbox, sf)
    session = sf.settings_for(
        box, bulk_read_threshold=THRESHOLD, auth="session", session_id=box.app.session_id
    )
    # a 401 on every other request: each one retried once, on the same call (nothing else
    # is in flight while the accounts' read is begun)
    script: Iterator[str | None] = iter([SPURIOUS_401, None] * 8)
    drawn: list[str | None] = []
    box.faults.draw = lambda: drawn.append(next(script, None)) or drawn[-1]  # type: ignore[method-assign]

    report, calls = _traced_sync(sf, session)

    assert report.complete and report.written == box.data.accounts and report.failed == 0
    assert drawn.count(SPURIOUS_401) == 8
    first = calls.index("query_opportunity")  # after the session's userinfo
    assert calls[first + 1 : first + 4] == list(ACCOUNT_CALLS)


@pytest.mark.parametrize("age_s", [0.0, 1.0], ids=["just-created", "created-ahead"])
def test_the_first_poll_counts_from_the_jobs_creation(sf, sandbox: Sandbox, age_s: float) -> None:  # type: ignore[no-untyped-def]
    connector = sf.connector_for(sf.settings_for(sandbox))
    waits: list[float] = []
    try:
        job = connector.reader._create("Account", "SELECT Id FROM Account")
        assert job.job_id is not None
        created = time.monotonic() - age_s
        info = bulk.wait(
            connector.api,
            "Account",
            job.job_id,
            query=True,
            poll_s=0.5,
            deadline_s=30,
            sleep=lambda s: (waits.append(s), time.sleep(s)),  # type: ignore[func-returns-value]
            created=created,
        )
    finally:
        connector.close()
    assert info["state"] == "JobComplete"
    if age_s:
        assert not waits or waits[0] >= 0.75  # polled at once: no first wait
    else:
        assert 0.4 < waits[0] <= 0.5


def test_a_read_begun_ahead_is_used_only_by_the_next_read_of_it(sf, make_sandbox) -> None:  # type: ignore[no-untyped-def]
    box = _bulk_box(make_sandbox, sf)
    connector = sf.connector_for(sf.settings_for(box, bulk_read_threshold=THRESHOLD))
    calls = connector.stats.api_calls
    try:
        connector.will_read_account_batches(None)
        list(connector.read_opportunity_batches())  # begins the accounts' read
        assert calls["query_account"] == calls["bulk_query_create_account"] == 1
        list(connector.read_opportunity_batches())  # another read: the begun one is dropped
        assert calls["query_account"] == 1  # nothing begun ahead unless asked again
        accounts = sum(len(b) for b in connector.read_account_batches(None))
    finally:
        connector.close()
    assert accounts == box.data.accounts
    assert calls["query_account"] == calls["bulk_query_create_account"] == 2  # begun afresh
