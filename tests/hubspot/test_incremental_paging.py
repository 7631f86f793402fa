"""Incremental reads page a search whose order the run's own writes change.

The run writes ICP values for earlier pages while later pages are still being read; every
write moves ``hs_lastmodifieddate``, so an offset (``after``) into a search sorted by it
skips records. Each page must be a fresh search from the last timestamp seen, bounded above
by the time the read started.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from icpsync.connectors.hubspot.sandbox import Sandbox, edit_accounts

COMPANIES = 1200
NO_OVERLAP = {"cursor_overlap_s": 0}


def test_writes_during_an_incremental_read_skip_no_edited_company(
    start_sandbox: Callable[..., Sandbox], runner_for: Callable[..., Any]
) -> None:
    sandbox = start_sandbox(accounts=COMPANIES, opportunities=1200, rate_limit=2000)
    runner = runner_for(sandbox, sync={**NO_OVERLAP, "write_chunk": 200})
    assert runner.sync().mode == "full"
    settle = runner.sync()  # reads the full run's writes; its cursor is before the edits
    assert settle.mode == "incremental" and settle.written == 0

    edited = edit_accounts(runner.settings, COMPANIES, 5)
    assert len(edited) == COMPANIES
    sandbox.reset_stats()
    report = runner.sync()

    assert report.mode == "incremental" and report.failed == 0
    assert report.written > 2 * 200  # several chunks written while later pages were read
    assert report.accounts_read == COMPANIES  # none skipped by the run's own writes
    stats = sandbox.stats()
    # one search per page, about: each page starts again at the last timestamp it saw, and
    # the sandbox stamps a batch of 100 edits within a few milliseconds
    assert stats["search_companies"] <= COMPANIES // 200 + 4
    assert max(sandbox.write_counts().values()) <= 2  # full run + this run at most

    check = runner.sync(full=True, dry_run=True)
    assert check.accounts_read == COMPANIES
    assert check.changed == 0  # nothing left stale for a full run to find


def test_a_page_of_records_sharing_one_timestamp_is_paged_by_id(
    start_sandbox: Callable[..., Sandbox], runner_for: Callable[..., Any]
) -> None:
    sandbox = start_sandbox(accounts=700, opportunities=700, rate_limit=2000)
    runner = runner_for(sandbox, sync=NO_OVERLAP)
    runner.sync()
    runner.sync()
    edited = edit_accounts(runner.settings, 700, 3)
    with sandbox.portal.lock:  # a bulk edit: 450 companies share one modification time
        companies = sandbox.portal.records["companies"]
        stamp = companies[edited[0]]["hs_lastmodifieddate"]
        for cid in edited[:450]:
            companies[cid]["hs_lastmodifieddate"] = stamp
        sandbox.portal.version += 1

    report = runner.sync()

    assert report.accounts_read == 700  # each once: a whole page at one time read by id
    check = runner.sync(full=True, dry_run=True)
    assert check.changed == 0
