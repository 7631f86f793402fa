"""A sync killed with SIGKILL half-way, then a normal run, ends like an uninterrupted run."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from icpsync.engine.settings import load_settings
from icpsync.engine.state import StateStore


def _config(folder: Path, accounts: Path, opportunities: Path) -> Path:
    config = folder / "icpsync.toml"
    config.write_text(
        f'[state]\ndir = "{folder / "state"}"\n'
        f'[file]\naccounts = "{accounts}"\nopportunities = "{opportunities}"\n'
        f'output = "{folder / "out.csv"}"\n'
    )
    return config


def _sync(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "icpsync", "--config", str(config), "sync", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _scores(path: Path) -> dict[str, tuple[str, str, str]]:
    with path.open() as handle:
        return {
            r["id"]: (r["icp_score"], r["icp_tier"], r["icp_reasons"])
            for r in csv.DictReader(handle)
        }


def test_sigkill_mid_run_then_rerun_converges(tmp_path: Path, synthetic_files) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    data.mkdir()
    accounts, opportunities = synthetic_files(data, accounts=30_000, opportunities=30_000, seed=9)
    killed_dir, clean_dir = tmp_path / "killed", tmp_path / "clean"
    killed_dir.mkdir()
    clean_dir.mkdir()
    killed_config = _config(killed_dir, accounts, opportunities)

    proc = _sync(killed_config)
    state_db = killed_dir / "state" / "icpsync.db"
    deadline = time.monotonic() + 30
    while not state_db.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # well inside the run: reading and scoring 30,000 accounts takes longer
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()

    settings = load_settings(killed_config)
    state = StateStore(settings.state.database_url())
    org = str(settings.file.accounts.resolve())  # type: ignore[union-attr]
    assert state.cursor("file", "accounts", org=org) is None  # nothing half-done was done
    state.close()

    rerun = _sync(killed_config)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err  # the dead run's lease does not block the next one
    clean = _sync(_config(clean_dir, accounts, opportunities))
    clean.communicate(timeout=120)
    assert clean.returncode == 0
    assert _scores(killed_dir / "out.csv") == _scores(clean_dir / "out.csv")
