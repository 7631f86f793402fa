"""Runs tell the truth: each ends in a status kept in the runs history (``complete``,
``partial``, ``stopped``, ``failed``) with the counts it reached; a run whose API budget
runs out while reading stops, keeps its cursor, and the next run resumes."""

from __future__ import annotations

from collections import Counter

import pytest

from contract.harness import (
    ACCOUNTS,
    API_BUDGET,
    REJECT_WRITES,
    REVOKE_ACCESS,
    CrmUnderTest,
    require,
)
from icpsync.core.errors import IcpSyncError
from icpsync.core.model import ANTI_ICP, TIER_1

COUNTS = ("accounts_read", "scored", "changed", "written", "failed", "quarantined")


def test_a_clean_run_is_recorded_complete_with_its_counts(crm: CrmUnderTest) -> None:
    report = crm.sync()

    [row] = crm.runs()
    assert row["status"] == "complete" and row["org"] == report.org
    assert {k: row[k] for k in COUNTS} == {k: getattr(report, k) for k in COUNTS}
    assert row["written"] == ACCOUNTS and row["api_calls"] == report.to_dict()["api_calls"]


def test_complete_partial_and_stopped_runs_are_listed_as_such(crm: CrmUnderTest) -> None:
    require(crm, REJECT_WRITES)
    require(crm, API_BUDGET)
    first = crm.sync()
    refused = crm.account_id("A0000007")
    crm.set_override(refused, ANTI_ICP if crm.held()[refused].tier != ANTI_ICP else TIER_1)
    crm.reject_writes([refused])  # the override's write is refused for good
    partial = crm.sync()
    crm.budget(1)
    stopped = crm.sync()

    assert (first.status, partial.status, stopped.status) == ("complete", "partial", "stopped")
    rows = crm.runs()
    assert [r["status"] for r in rows] == ["stopped", "partial", "complete"]
    assert rows[1]["quarantined"] == rows[1]["failed"] == 1 and rows[1]["written"] == 0
    assert rows[0]["stopped"] == stopped.stopped and rows[0]["written"] == 0


def test_a_run_that_fails_mid_way_is_recorded_failed_with_the_counts_it_reached(
    crm: CrmUnderTest,
) -> None:
    require(crm, REVOKE_ACCESS)
    crm.configure(write_chunk=20)  # six write requests
    crm.revoke_access_after(40)

    with pytest.raises(IcpSyncError):
        crm.sync()

    [row] = crm.runs()
    accepted = crm.write_counts()
    assert row["status"] == "failed" and row["error"]
    assert 40 <= row["written"] == len(accepted) < ACCOUNTS  # what the CRM took, not zeros
    assert row["accounts_read"] == ACCOUNTS and row["api_calls"]["total"] > 0
    assert crm.cursor() is None  # the next run reads everything again


def test_a_run_out_of_budget_while_reading_stops_keeps_its_cursor_and_the_next_resumes(
    crm: CrmUnderTest,
) -> None:
    require(crm, API_BUDGET)
    crm.sync()
    crm.sync()  # its cursor passes the first run's own writes
    cursor = crm.cursor()
    edited = crm.edit_accounts(5, seed=11)
    crm.budget(1)  # one call: the read is cut short
    crm.reset_counts()

    stopped = crm.sync()

    assert stopped.status == "stopped" and stopped.stopped
    assert stopped.written == 0 and crm.write_counts() == Counter()
    assert stopped.accounts_read < len(edited)
    assert crm.runs()[0]["status"] == "stopped"
    assert crm.cursor() == cursor is not None  # kept, not moved past the unread edits

    crm.budget(None)
    resumed = crm.sync()

    assert resumed.mode == "incremental" and resumed.status == "complete"
    assert resumed.accounts_read == len(edited) and resumed.written > 0
    assert set(crm.write_counts()) <= set(edited)
    assert (crm.cursor() or cursor) > cursor
    assert crm.sync(full=True).written == 0  # nothing was left behind
