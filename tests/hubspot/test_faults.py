"""Fault drills: injected faults, a DAILY stop, a spent budget, per-record refusals, SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from icpsync.connectors.hubspot.sandbox import Sandbox
from icpsync.engine.settings import load_settings
from icpsync.engine.state import StateStore
from icpsync.engine.sync import run_once

ACCOUNTS, DEALS = 600, 1800


@pytest.mark.parametrize("concurrency", [1, 4])
def test_faults_end_with_the_values_of_a_clean_run_and_no_double_writes(
    start_sandbox: Callable[..., Sandbox], runner_for: Callable[..., Any], concurrency: int
) -> None:
    clean = start_sandbox(ACCOUNTS, DEALS)
    runner_for(clean).sync()
    faulty = start_sandbox(ACCOUNTS, DEALS, fault_delay_s=0.05)
    runner = runner_for(faulty, write_concurrency=concurrency)  # installs without faults
    faulty.limits.fault_rate = 0.1  # the drill is the sync's
    faulty.reset_stats()

    report = runner.sync()

    stats = faulty.stats()
    injected = {k: v for k, v in stats.items() if k.startswith("fault_")}
    assert sum(injected.values()) >= 3, injected
    assert {"fault_timeout", "fault_500", "fault_503", "fault_429"} & set(injected)
    assert report.failed == 0 and report.written == ACCOUNTS
    assert faulty.values() == clean.values()
    assert max(faulty.write_counts().values()) == 1
    assert len(faulty.write_counts()) == ACCOUNTS


def test_timed_out_writes_are_read_back_not_written_twice(
    start_sandbox: Callable[..., Sandbox], runner_for: Callable[..., Any]
) -> None:
    # the sandbox applies the call, then holds the response past the client's timeout
    sandbox = start_sandbox(ACCOUNTS, DEALS, fault_delay_s=0.6)
    runner = runner_for(sandbox, timeout_s=0.3, max_retries=12)
    sandbox.limits.fault_rate = 0.5  # half the calls fail, many of them after the write
    sandbox.reset_stats()
    report = runner.sync()
    stats = sandbox.stats()
    assert stats.get("fault_timeout", 0) > 0
    assert stats.get("batch_read_companies", 0) > 0  # the read-backs
    assert max(sandbox.write_counts().values()) == 1
    assert report.written + report.failed == ACCOUNTS
    assert report.failed == 0 or all(f.retriable for f in report.failures)


def test_refused_records_are_reported_one_by_one_and_written_after_the_fix(
    sandbox: Sandbox, runner_for: Callable[..., Any]
) -> None:
    runner = runner_for(sandbox)
    with sandbox.portal.lock:  # an admin deleted the Anti-ICP option
        tier = sandbox.portal.properties["companies"]["icp_tier"]
        tier["options"] = [o for o in tier["options"] if o["value"] != "anti_icp"]

    first = runner.sync()

    anti = {cid for cid, v in sandbox.values().items() if v[1] == "anti_icp"}
    assert not anti
    assert first.failed > 0 and first.written == 300 - first.failed
    assert all(not f.retriable and "INVALID_OPTION" in f.reason for f in first.failures)
    assert first.stopped is None

    runner.install()  # adds the missing option back
    second = runner.sync(full=True)
    assert second.failed == 0 and second.written == first.failed
    refused = {f.account_id for f in first.failures}
    assert refused == {cid for cid, v in sandbox.values().items() if v[1] == "anti_icp"}


def test_daily_limit_stops_cleanly_and_the_next_run_resumes(
    start_sandbox: Callable[..., Sandbox], runner_for: Callable[..., Any]
) -> None:
    clean = start_sandbox(ACCOUNTS, DEALS)
    runner_for(clean).sync()
    sandbox = start_sandbox(ACCOUNTS, DEALS)
    runner = runner_for(sandbox, daily_budget_share=1.0)  # only HubSpot's 429 stops it
    # enough for the portal id, the property definitions (which mapped properties the portal
    # lacks), the reads and three batch updates, then DAILY 429s
    sandbox.limits.daily_limit = sandbox.limits.daily_used + 1 + 1 + 6 + 18 + 3

    stopped = runner.sync()

    assert stopped.stopped and "daily" in stopped.stopped
    assert stopped.written == 300
    assert {f.account_id for f in stopped.failures}.isdisjoint(sandbox.write_counts())
    portal = str(sandbox.portal.portal_id)
    assert runner.state.cursor("hubspot", "accounts", org=portal) is None
    assert sandbox.stats()["429_daily"] >= 1

    sandbox.limits.daily_limit = 10**6  # the next day
    resumed = runner.sync()
    assert resumed.mode == "full" and resumed.stopped is None
    assert resumed.written == ACCOUNTS - 300
    assert sandbox.values() == clean.values()


def test_run_stops_at_its_share_of_the_daily_budget(
    sandbox: Sandbox, runner_for: Callable[..., Any]
) -> None:
    runner = runner_for(sandbox)
    left = sandbox.limits.daily_limit - sandbox.limits.daily_used
    # a share worth the portal id, the property definitions (which mapped properties the
    # portal lacks), the 12 reads and one batch update
    runner.settings.hubspot.daily_budget_share = 15.5 / left
    sandbox.reset_stats()
    report = runner.sync()
    assert report.stopped and "share" in report.stopped
    assert report.written == 100
    assert sandbox.stats()["total"] == 15
    assert sandbox.stats().get("429", 0) == 0


def test_sigkill_half_way_then_a_normal_run_matches_an_uninterrupted_run(
    start_sandbox: Callable[..., Sandbox], runner_for: Callable[..., Any], tmp_path: Path
) -> None:
    accounts, deals = 2000, 1000
    clean = start_sandbox(accounts, deals)
    runner_for(clean).sync()
    sandbox = start_sandbox(accounts, deals, latency_ms=15)
    runner_for(sandbox)  # installs the properties
    config = sandbox.write_config(tmp_path / "killed" / "icpsync.toml", retry_backoff_s=0.01)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICPSYNC_")}
    sandbox.reset_stats()
    proc = subprocess.Popen(
        [sys.executable, "-m", "icpsync", "--config", str(config), "sync", "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while sandbox.stats().get("batch_update_companies", 0) < 5:
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    # A batch the sandbox had received before the kill is still applied: let it land.
    written_before = -1
    while written_before != len(sandbox.write_counts()):
        written_before = len(sandbox.write_counts())
        time.sleep(0.2)
    assert 0 < written_before < accounts

    settings = load_settings(config)
    state = StateStore(settings.state.database_url())
    try:
        assert state.cursor("hubspot", "accounts", org=str(sandbox.portal.portal_id)) is None
        report = run_once(settings, state=state)
    finally:
        state.close()
    assert report.mode == "full" and report.failed == 0
    assert report.written == accounts - written_before
    assert sandbox.values() == clean.values()


def test_each_fault_kind_on_a_write_is_retried_once_and_counted(
    sandbox: Sandbox, runner_for: Callable[..., Any]
) -> None:
    runner = runner_for(sandbox)
    sandbox.limits.inject("batch_update_companies", "429", "503", "timeout", "207", "500")
    sandbox.reset_stats()
    connector = runner.connector()
    try:
        report = run_once(runner.settings, connector=connector, state=runner.state)
        retries = dict(connector.api.retries)
    finally:
        connector.close()
    stats = sandbox.stats()
    for kind in ("429", "503", "timeout", "207", "500"):
        assert stats[f"fault_{kind}"] == 1
    assert report.written == 300 and report.failed == 0
    assert retries["RateLimited"] == 1 and retries["ResponseLost"] == 1
    assert retries["RetriableError"] == 2 and retries["record"] == 1
    # a 5xx or a lost response may have been applied: each is read back before the retry
    assert stats["batch_read_companies"] == 3
    assert max(sandbox.write_counts().values()) == 1
