"""What the run bookkeeping costs, with the state in SQLite and in a real PostgreSQL.

    python benchmarks/state_backends.py --accounts 30000 --opportunities 30000

For each backend: a full file sync (the run row updated as each batch of accounts finishes,
the lease renewed by its heartbeat, history per written chunk), then a no-change
incremental sync; then, in a subprocess, a full sync stopped with SIGTERM once it has
recorded progress: how long it takes to finish the batch in flight, record the run as
``stopped`` and exit 143. PostgreSQL comes from the ``pgserver`` wheel (test extra).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from icpsync.connectors.file import FileConnector
from icpsync.engine.settings import Settings
from icpsync.engine.state import StateStore
from icpsync.engine.sync import run_once

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from conftest import write_synthetic  # noqa: E402


def _settings(folder: Path, accounts: Path, opportunities: Path, url: str) -> Settings:
    return Settings(
        state={"url": url},
        file={"accounts": accounts, "opportunities": opportunities, "output": folder / "out.csv"},
    )


def _sync(settings: Settings, state: StateStore) -> tuple[float, str]:
    connector = FileConnector.from_settings(settings)
    started = time.perf_counter()
    try:
        report = run_once(settings, connector=connector, state=state)
    finally:
        connector.close()
    return time.perf_counter() - started, report.status


def _sigterm(folder: Path, accounts: Path, opportunities: Path, url: str) -> dict[str, object]:
    config = folder / "term.toml"
    config.write_text(
        f'[state]\nurl = "{url}"\n[file]\naccounts = "{accounts}"\n'
        f'opportunities = "{opportunities}"\noutput = "{folder / "term.csv"}"\n'
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "icpsync", "--config", str(config), "sync", "--json", "--full"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    state = StateStore(url)
    try:
        while proc.poll() is None:
            rows = state.list_runs("file", 1)
            if rows and rows[0]["status"] == "running" and int(rows[0]["accounts_read"]) > 0:
                break
            time.sleep(0.01)
        sent = time.perf_counter()
        os.kill(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=300)
        took = time.perf_counter() - sent
    finally:
        state.close()
    report = json.loads(out)
    return {
        "exit": proc.returncode,
        "status": report["status"],
        "sigterm_to_exit_s": round(took, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=30_000)
    parser.add_argument("--opportunities", type=int, default=30_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="icpsync-bench-state-"))
    accounts, opportunities = write_synthetic(folder, args.accounts, args.opportunities, seed=3)
    backends = {"sqlite": f"sqlite:///{folder / 'state.db'}"}
    server = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

            server = pgserver.get_server(Path(tempfile.mkdtemp(prefix="icpsync-pg-")))
        server.psql("CREATE DATABASE bench;")
        backends["postgresql"] = server.get_uri("bench").replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
    except Exception as exc:  # no pgserver, or it cannot start here
        print(f"PostgreSQL skipped: {type(exc).__name__}: {exc}")
    try:
        for name, url in backends.items():
            settings = _settings(folder / name, accounts, opportunities, url)
            (folder / name).mkdir(exist_ok=True)
            state = StateStore(url)
            try:
                full, full_status = _sync(settings, state)
                again, again_status = _sync(settings, state)
            finally:
                state.close()
            term = _sigterm(folder / name, accounts, opportunities, url)
            print(
                json.dumps(
                    {
                        "backend": name,
                        "accounts": args.accounts,
                        "full_s": round(full, 2),
                        "full_status": full_status,
                        "incremental_s": round(again, 2),
                        "incremental_status": again_status,
                        "sigterm": term,
                    }
                )
            )
    finally:
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    main()
