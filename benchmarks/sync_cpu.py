"""CPU time spent inside icpsync by one full sync against a sandbox in its own process.

    python benchmarks/sync_cpu.py --crm salesforce --accounts 100000 --opportunities 30000
    python benchmarks/sync_cpu.py --crm salesforce --profile /tmp/sync.prof  # cProfile too
    python benchmarks/sync_cpu.py --crm hubspot --accounts 100000 --opportunities 30000

The sandbox runs as ``icpsync sandbox`` in a child process (no latency), so the CPU time
measured here (``time.process_time`` around ``run_once``, all of this process's threads) is
the sync's own: reading, cleaning, scoring, the state store and building the writes. With
``--profile`` the run is made under cProfile, which inflates the Python-level parts; take
the CPU figure from a run without it.

HubSpot's sandbox enforces the ten-second limit (190 calls per 10 s by default) and the
connector paces itself below it. A CPU figure does not depend on the pace (a paced thread
sleeps), but a 100,000-company run at 190 per 10 s takes two minutes, so for HubSpot the
limit is lifted by default (``--rate-limit``, sandbox and connector alike; the search limit
stays). ``--rate-limit 190`` measures at the Professional tier's pace.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import tempfile
import time
from pathlib import Path

from latency_bound import SandboxProcess

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
    args = parser.parse_args()
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
                try:
                    if profiler:
                        profiler.enable()
                    report = run_once(settings, connector=connector, state=state)
                finally:
                    if profiler:
                        profiler.disable()
                    cpu = time.process_time() - cpu
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
            "wall_s": round(wall, 2),
            "accounts_per_cpu_s": round(done["accounts_read"] / cpu) if cpu else None,
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
