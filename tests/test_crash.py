"""A sync killed half-way: with SIGKILL it shows as ``crashed`` and a normal run then ends
like an uninterrupted one; with SIGTERM it finishes the batch in flight, records the run as
``stopped`` and exits 143. The state lives in SQLite and in a real PostgreSQL."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from icpsync.engine.settings import load_settings
from icpsync.engine.state import StateStore

#: the commands run this checkout's code (not an installed copy) in the subprocess too.
ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("ICPSYNC_")},
    "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
}


def _config(folder: Path, accounts: Path, opportunities: Path, url: str | None = None) -> Path:
    config = folder / "icpsync.toml"
    state = f'url = "{url}"' if url else f'dir = "{folder / "state"}"'
    config.write_text(
        f"[state]\n{state}\n"
        f'[file]\naccounts = "{accounts}"\nopportunities = "{opportunities}"\n'
        f'output = "{folder / "out.csv"}"\n'
    )
    return config


def _runs(config: Path) -> list[dict[str, object]]:
    """``icpsync runs --json``, as an admin would read it."""
    out = subprocess.run(
        [sys.executable, "-m", "icpsync", "--config", str(config), "runs", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=ENV,
    ).stdout
    return list(json.loads(out))


def _wait_for_progress(config: Path, proc: subprocess.Popen[str]) -> None:
    """Until the running sync has recorded accounts read (a batch of them finished)."""
    settings = load_settings(config)
    state = StateStore(settings.state.database_url())
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            rows = state.list_runs("file", 1)
            if rows and rows[0]["status"] == "running" and int(rows[0]["accounts_read"]) > 0:
                return
            time.sleep(0.02)
    finally:
        state.close()
    raise AssertionError("the sync recorded no progress before it ended")


def _sync(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "icpsync", "--config", str(config), "sync", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )


def _scores(path: Path) -> dict[str, tuple[str, str, str]]:
    with path.open() as handle:
        return {
            r["id"]: (r["icp_score"], r["icp_tier"], r["icp_reasons"])
            for r in csv.DictReader(handle)
        }


def test_sigkill_mid_run_shows_crashed_then_rerun_converges(
    tmp_path: Path, synthetic_files
) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    data.mkdir()
    accounts, opportunities = synthetic_files(data, accounts=30_000, opportunities=30_000, seed=9)
    killed_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"
    killed_dir.mkdir()
    clean_dir.mkdir()
    killed_config = _config(killed_dir, accounts, opportunities)

    proc = _sync(killed_config)
    _wait_for_progress(killed_config, proc)  # well inside the run: 30,000 accounts take longer
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()

    settings = load_settings(killed_config)
    state = StateStore(settings.state.database_url())
    org = str(settings.file.accounts.resolve())  # type: ignore[union-attr]
    assert state.cursor("file", "accounts", org=org) is None  # nothing half-done was done
    state.close()
    dead = _runs(killed_config)[0]
    assert dead["status"] == "crashed"  # not an empty success
    assert int(dead["accounts_read"]) > 0  # type: ignore[call-overload]  # the counts it reached

    rerun = _sync(killed_config)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err  # the dead run's lease does not block the next one
    clean = _sync(_config(clean_dir, accounts, opportunities))
    clean.communicate(timeout=120)
    assert clean.returncode == 0
    assert _scores(killed_dir / "out.csv") == _scores(clean_dir / "out.csv")
    assert [r["status"] for r in _runs(killed_config)] == ["complete", "crashed"]


def test_sigkill_and_sigterm_on_either_state_database(
    tmp_path: Path, synthetic_files, state_url: str
) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    data.mkdir()
    accounts, opportunities = synthetic_files(data, accounts=20_000, opportunities=5_000, seed=4)
    config = _config(tmp_path, accounts, opportunities, state_url)

    killed = _sync(config)
    _wait_for_progress(config, killed)
    assert killed.poll() is None, "the run finished before it could be killed"
    os.kill(killed.pid, signal.SIGKILL)
    killed.communicate()
    assert _runs(config)[0]["status"] == "crashed"

    termed = _sync(config)
    _wait_for_progress(config, termed)
    assert termed.poll() is None, "the run finished before SIGTERM"
    os.kill(termed.pid, signal.SIGTERM)
    out, err = termed.communicate(timeout=120)
    assert termed.returncode == 143, err
    report = json.loads(out)
    assert report["status"] == "stopped" and "SIGTERM" in report["stopped"]
    assert 0 < report["accounts_read"] < 20_000  # it finished the batch in flight, no more
    latest = _runs(config)
    assert [r["status"] for r in latest[:2]] == ["stopped", "crashed"]
    assert latest[0]["written"] == report["written"]
    settings = load_settings(config)
    state = StateStore(settings.state.database_url())
    try:
        assert state.cursor("file", "accounts", org=report["org"]) is None
    finally:
        state.close()

    finished = _sync(config)
    _, err = finished.communicate(timeout=120)
    assert finished.returncode == 0, err
    assert _runs(config)[0]["status"] == "complete"
    assert len(_scores(tmp_path / "out.csv")) == 20_000
