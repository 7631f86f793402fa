"""CPU time spent inside icpsync by one full sync against a sandbox in its own process.

    python benchmarks/sync_cpu.py --crm salesforce --accounts 100000 --opportunities 30000
    python benchmarks/sync_cpu.py --crm salesforce --profile /tmp/sync.prof  # cProfile too
    python benchmarks/sync_cpu.py --crm hubspot --accounts 100000 --opportunities 30000
    python benchmarks/sync_cpu.py --crm salesforce --connector-only  # the connector's part

The sandbox runs as ``icpsync sandbox`` in a child process (no latency), so the CPU time
measured here (``time.process_time`` around ``run_once``, all of this process's threads;
``main_thread_cpu_s`` is the calling thread's share, the engine's and core's work) is
the sync's own: reading, cleaning, scoring, the state store and building the writes. Module
imports are a process's one-time cost and stay outside every run's figure, as they are for
the modules imported before ``run_once``: NumPy, which a sync imports at the duplicate-id
guard's first fold (past 65,536 ids), is imported before the first run, so the first of
``--repeat`` runs measures what the others do; its CPU is printed once
(``first_use_imports_cpu_s``). A scheduled process pays it once, not per sync. With
``--profile`` the run is made under cProfile, which inflates the Python-level parts; take
the CPU figure from a run without it.

HubSpot's sandbox enforces the ten-second limit (190 calls per 10 s by default) and the
connector paces itself below it. A CPU figure does not depend on the pace (a paced thread
sleeps), but a 100,000-company run at 190 per 10 s takes two minutes, so for HubSpot the
limit is lifted by default (``--rate-limit``, sandbox and connector alike; the search limit
stays). ``--rate-limit 190`` measures at the Professional tier's pace.

With ``--connector-only`` no sync runs: the CPU of
the connector's own steps is measured one by one (best of ``--repeat``) on an installed
sandbox: reading the accounts as batches (when the connector can) and as Account objects,
reading the deals (as batches too, when the connector can), and writing one update per
account.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from latency_bound import SandboxProcess

from icpsync.core.model import ScoreUpdate
from icpsync.engine.registry import build_connector
from icpsync.engine.settings import load_settings
from icpsync.engine.state import StateStore
from icpsync.engine.sync import run_once

LIFTED_RATE_LIMIT = 100_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--crm", choices=["salesforce", "hubspot"], default="salesforce")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--opportunities", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=1, help="Full syncs, each on a fresh CRM.")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=LIFTED_RATE_LIMIT,
        help="HubSpot: calls per 10 s, sandbox and connector (default: lifted).",
    )
    parser.add_argument("--profile", type=Path, help="Write a cProfile dump of the last run.")
    parser.add_argument(
        "--connector-only", action="store_true", help="Time the connector's reads and write."
    )
    args = parser.parse_args()
    if args.connector_only:
        connector_steps(args)
        return
    cpu = time.process_time()
    import numpy  # noqa: F401  (see the module docstring)

    print(json.dumps({"first_use_imports_cpu_s": round(time.process_time() - cpu, 3)}))
    for run in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="icpsync-cpu-") as tmp:
            folder = Path(tmp)
            sandbox = SandboxProcess(
                args.crm,
                folder,
                accounts=args.accounts,
                opportunities=args.opportunities,
                seed=7,
                rate_limit=args.rate_limit if args.crm == "hubspot" else None,
            )
            try:
                settings = load_settings(sandbox.config, state={"dir": str(folder / "state")})
                connector = build_connector(settings, args.crm)
                try:
                    connector.ensure_fields(dry_run=False)
                finally:
                    connector.close()
                state = StateStore(settings.state.database_url())
                connector = build_connector(settings, args.crm)
                profiler = cProfile.Profile() if args.profile and run == args.repeat - 1 else None
                wall, cpu = time.perf_counter(), time.process_time()
                main_cpu = time.thread_time()
                try:
                    if profiler:
                        profiler.enable()
                    report = run_once(settings, connector=connector, state=state)
                finally:
                    if profiler:
                        profiler.disable()
                    cpu = time.process_time() - cpu
                    main_cpu = time.thread_time() - main_cpu
                    wall = time.perf_counter() - wall
                    connector.close()
                    state.close()
            finally:
                sandbox.stop()
        if profiler and args.profile:
            profiler.dump_stats(args.profile)
        done = report.to_dict()
        row = {
            "crm": args.crm,
            "accounts_read": done["accounts_read"],
            "opportunities_read": done["opportunities_read"],
            "written": done["written"],
            "profiled": profiler is not None,
            "rate_limit_per_10s": args.rate_limit if args.crm == "hubspot" else None,
            "cpu_s": round(cpu, 2),
            "main_thread_cpu_s": round(main_cpu, 2),
            "wall_s": round(wall, 2),
            "accounts_per_cpu_s": round(done["accounts_read"] / cpu) if cpu else None,
        }
        print(json.dumps(row), flush=True)


def _cpu(step: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best CPU seconds of ``repeat`` runs of ``step``, and its last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        cpu = time.process_time()
        result = step()
        best = min(best, time.process_time() - cpu)
    return best, result


def connector_steps(args: argparse.Namespace) -> None:
    """CPU seconds of each of the connector's steps of a full sync, best of ``repeat``."""
    repeat = max(args.repeat, 3)
    with tempfile.TemporaryDirectory(prefix="icpsync-cpu-") as tmp:
        folder = Path(tmp)
        sandbox = SandboxProcess(
            args.crm,
            folder,
            accounts=args.accounts,
            opportunities=args.opportunities,
            seed=7,
            rate_limit=args.rate_limit if args.crm == "hubspot" else None,
        )
        try:
            settings = load_settings(sandbox.config, state={"dir": str(folder / "state")})
            connector = build_connector(settings, args.crm)
            try:
                connector.ensure_fields(dry_run=False)
                row: dict[str, Any] = {"crm": args.crm, "repeat": repeat}
                read_batches = getattr(connector, "read_account_batches", None)
                if read_batches is not None:
                    cpu, batches = _cpu(lambda: list(read_batches()), repeat)
                    row["account_batches_cpu_s"] = round(cpu, 3)
                    row["account_batches"] = len(batches)
                cpu, accounts = _cpu(lambda: list(connector.read_accounts()), repeat)
                row["accounts_cpu_s"] = round(cpu, 3)
                row["accounts_read"] = len(accounts)
                read_deals = getattr(connector, "read_opportunity_batches", None)
                if read_deals is not None:
                    cpu, deal_batches = _cpu(lambda: list(read_deals()), repeat)
                    row["opportunity_batches_cpu_s"] = round(cpu, 3)
                    row["opportunity_batches"] = len(deal_batches)
                cpu, deals = _cpu(lambda: list(connector.read_opportunities()), repeat)
                row["opportunities_cpu_s"] = round(cpu, 3)
                row["opportunities_read"] = len(deals)
                now = datetime.now(UTC)
                updates = [
                    ScoreUpdate(a.id, 61, "Tier 2", ("no_fit",), "fit: yes", "v1", now)
                    for a in accounts
                ]
                cpu, report = _cpu(lambda: connector.write_scores(updates), 1)
                row["write_cpu_s"] = round(cpu, 3)
                row["written"] = report.updated
            finally:
                connector.close()
        finally:
            sandbox.stop()
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
