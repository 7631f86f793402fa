"""Fault drills: injected faults, a SIGKILL half-way, a spent API budget; values converge."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from icpsync.connectors.salesforce.sandbox import Sandbox
from icpsync.core.model import ScoreUpdate
from icpsync.engine.settings import load_settings
from icpsync.engine.state import StateStore


def _clean_values(sf, make_sandbox, accounts: int, opportunities: int) -> dict:  # type: ignore[no-untyped-def]
    box = make_sandbox(accounts=accounts, opportunities=opportunities)
    settings = sf.settings_for(box)
    sf.install(settings)
    report = sf.sync(settings)
    assert report.complete and report.written == accounts
    return box.values(sf.ICP_FIELDS)


def test_ten_percent_faults_end_like_a_clean_run(sf, make_sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clean = _clean_values(sf, make_sandbox, 800, 2400)
    box = make_sandbox(accounts=800, opportunities=2400, fault_rate=0.1, slow_ms=500)
    settings = sf.settings_for(
        box, tmp_path / "state", timeout_s=0.25, max_retries=8, bulk_read_threshold=500
    )
    sf.install(settings)  # under faults too
    state = StateStore(settings.state.database_url())
    failures = []
    try:
        for _ in range(4):
            box.reset_stats()
            report = sf.sync(settings, state, full=True)
            failures += report.failures
            writes = box.write_counts()
            assert max(writes.values(), default=1) == 1, "a record was written twice in one run"
            assert sum(writes.values()) == report.written
            if report.complete and report.failed == 0:
                break
    finally:
        state.close()
    stats = box.stats()
    assert box.faults.rate == 0.1 and stats["total"] > 0
    assert box.values(sf.ICP_FIELDS) == clean
    assert all(f.account_id.startswith("001") and f.reason for f in failures)


def test_faults_were_really_injected(sf, make_sandbox) -> None:  # type: ignore[no-untyped-def]
    # seed 16: the sync's first draws are an expired session and a slow response
    box = make_sandbox(accounts=400, opportunities=1200, fault_rate=0.3, slow_ms=300, seed=16)
    settings = sf.settings_for(box, timeout_s=0.15, max_retries=10, lock_retries=6)
    box.faults.rate = 0  # the drill is the sync's: install without faults
    sf.install(settings)
    box.faults.rate = 0.3
    report = sf.sync(settings)
    calls = report.api_calls
    # more attempts than the minimum (1 account page, 1 deal page, 2 writes): retries
    # happened; tokens were renewed after 401s
    assert sum(calls.values()) > 4
    assert box.stats()["oauth_token"] > 1
    assert report.written + report.failed == 400


def _subprocess_sync(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "icpsync", "--config", str(config), "sync", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigkill_half_way_then_rerun_converges(sf, make_sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fields = sf.ICP_FIELDS  # scored_at is the wall clock of each run: compared apart
    clean = _clean_values(sf, make_sandbox, 3000, 3000)
    box: Sandbox = make_sandbox(accounts=3000, opportunities=3000, latency_ms=40)
    config = box.write_config(tmp_path / "icpsync.toml", bulk_write_threshold=0)
    settings = load_settings(config)
    sf.install(settings)
    box.reset_stats()
    proc = _subprocess_sync(config)
    deadline = time.monotonic() + 60
    while box.stats().get("composite_update", 0) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    half = sum(box.write_counts().values())
    assert 0 < half < 3000
    rerun = _subprocess_sync(config)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert box.values(fields) == clean
    assert max(box.write_counts().values()) == 1  # the rerun skipped what the dead run wrote


def test_budget_share_stops_the_run_and_the_next_day_resumes(
    sf, make_sandbox, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    clean = _clean_values(sf, make_sandbox, 1000, 3000)
    box = make_sandbox(accounts=1000, opportunities=3000, daily_limit=5000)
    settings = sf.settings_for(box, tmp_path / "state", api_budget_share=0.06, write_concurrency=1)
    sf.install(settings)
    box.org.api_used = 4900  # 100 calls left today: this run may spend 6 (3 go on reads)
    state = StateStore(settings.state.database_url())
    try:
        first = sf.sync(settings, state)
        assert first.stopped and "budget" in first.stopped
        assert 0 < first.written < 1000
        assert state.cursor("salesforce", "accounts", org=box.org.org_id) is None
        box.org.api_used = 0  # a new day
        second = sf.sync(settings, state)
        assert second.complete and second.written == 1000 - first.written
    finally:
        state.close()
    assert box.values(sf.ICP_FIELDS) == clean


def test_request_limit_exceeded_stops_cleanly_then_resumes(sf, sandbox: Sandbox) -> None:  # type: ignore[no-untyped-def]
    settings = sf.settings_for(sandbox)
    sf.install(settings)
    connector = sf.connector_for(settings)
    try:
        accounts = list(connector.read_accounts())
        updates = [
            ScoreUpdate(a.id, 42, "Tier 3", ("student",), "because", "v9", sf.NOW) for a in accounts
        ]
        sandbox.org.api_used = sandbox.org.daily_limit  # the org's daily cap is spent
        report = connector.write_scores(updates)
        assert report.stopped and "REQUEST_LIMIT_EXCEEDED" in report.stopped
        assert report.updated == 0 and len(report.failures) == len(updates) == 300
        assert all(f.retriable for f in report.failures)
        sandbox.org.api_used = 0
        again = connector.write_scores(updates)
    finally:
        connector.close()
    assert again.stopped is None and again.updated == 300
    assert sandbox.values(["ICP_Anti_Flags__c"])[accounts[0].id] == ("student",)
