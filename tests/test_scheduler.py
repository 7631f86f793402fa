"""The scheduler: job settings, due jobs under an injected clock, and a real run of a job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from icpsync.connectors.file import FileConnector
from icpsync.engine.scheduler import build_scheduler, due_jobs, job_specs, run_job
from icpsync.engine.settings import load_settings
from icpsync.engine.state import StateStore


def test_jobs_from_settings_run_one_at_a_time_with_a_sane_grace(file_config: Path) -> None:
    settings = load_settings(file_config)
    specs = job_specs(settings)
    assert [s.id for s in specs] == ["file:incremental", "file:full", "file:validate"]
    check = next(s for s in specs if s.validate)  # the quarterly profile check
    new_year = datetime(2026, 12, 31, tzinfo=UTC)
    assert check.trigger.get_next_fire_time(None, new_year) == datetime(2027, 1, 1, 6, tzinfo=UTC)
    scheduler = build_scheduler(settings, str(file_config))
    assert scheduler._job_defaults["max_instances"] == 1
    assert scheduler._job_defaults["coalesce"] is True
    assert scheduler._job_defaults["misfire_grace_time"] == 600
    assert scheduler._executors["default"]._pool._max_workers == 1
    start = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    full = next(s for s in specs if s.full)
    assert full.trigger.get_next_fire_time(None, start) == datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    incremental = next(s for s in specs if not s.full)
    assert incremental.trigger.interval.total_seconds() == 15 * 60
    scheduler._jobstores["default"].engine.dispose()  # close its SQLite connection


def test_due_jobs_follow_the_injected_clock(file_config: Path) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())
    clock = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    assert [j.id for j in due_jobs(settings, state, clock)] == ["file:full"]  # never ran in full

    summary = run_job(str(file_config), "file", True)
    assert summary is not None and summary["mode"] == "full" and summary["written"] == 120
    last_full = state.last_full_started_at("file")
    assert last_full is not None

    # Before the next 02:00 after the last full run only the incremental job is due ...
    next_fire = datetime.combine(last_full.date(), datetime.min.time(), UTC) + timedelta(hours=2)
    if next_fire <= last_full:
        next_fire += timedelta(days=1)
    assert [j.id for j in due_jobs(settings, state, next_fire - timedelta(minutes=1))] == [
        "file:incremental"
    ]
    # ... and at 02:00 the full one.
    assert [j.id for j in due_jobs(settings, state, next_fire)] == ["file:full"]

    summary = run_job(str(file_config), "file", False)
    assert summary is not None and summary["mode"] == "incremental" and summary["written"] == 0
    state.close()


def test_scheduled_job_reports_a_locked_connection_instead_of_raising(file_config: Path) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())
    with state.lease("file", org=FileConnector.from_settings(settings).org_id(), seconds=60):
        assert run_job(str(file_config), "file", False) is None
    state.close()


def test_schedule_runs_at_once_and_stops_cleanly_on_sigterm(file_config: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "icpsync", "--config", str(file_config), "schedule"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    settings = load_settings(file_config)
    deadline = time.monotonic() + 60
    runs: list[dict[str, object]] = []
    while time.monotonic() < deadline and not runs:
        time.sleep(0.3)
        if (settings.state.dir / "icpsync.db").exists():
            state = StateStore(settings.state.database_url())
            # a running run's row carries its progress (duration_s too): wait for the end
            runs = [r for r in state.list_runs("file") if r["status"] != "running"]
            state.close()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert runs and runs[0]["status"] == "complete" and runs[0]["written"] == 120
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "stopping after the current batch" in err


def test_jobs_default_to_the_sync_connection(file_config: Path) -> None:
    text = file_config.read_text().replace('crm = "file"', 'crm = "hubspot"')
    file_config.write_text(text)
    assert [s.id for s in job_specs(load_settings(file_config))] == [
        "hubspot:incremental",
        "hubspot:full",
        "hubspot:validate",
    ]
    off = text + '[schedule]\nvalidate_cron = ""\n'
    file_config.write_text(off)  # the profile check can be turned off
    assert [s.id for s in job_specs(load_settings(file_config))][-1] == "hubspot:full"


def test_schedule_once_exits_1_when_a_job_fails(file_config: Path) -> None:
    import subprocess
    import sys

    ok = subprocess.run(
        [sys.executable, "-m", "icpsync", "--config", str(file_config), "schedule", "--once"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "file:full: scored 120, wrote 120, failed 0" in ok.stdout
    broken = file_config.read_text() + '[schedule]\nconnections = ["hubspot"]\n'
    file_config.write_text(broken)  # no token, no portal: the job fails
    failed = subprocess.run(
        [sys.executable, "-m", "icpsync", "--config", str(file_config), "schedule", "--once"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 1
    assert "hubspot:full: skipped or failed" in failed.stdout
    assert "Traceback" not in failed.stderr
