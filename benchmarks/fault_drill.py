"""The fault drill: a first sync under injected faults against a clean one, in both CRMs.

For each CRM two sandboxes are seeded alike; one injects faults into ``--fault-rate`` of
its API requests. Each gets ``icpsync install`` then a first ``icpsync sync --json``, run
through the CLI in a child process as an admin would. Printed per CRM (one JSON line):
exit codes, sync wall times and their ratio, and how many accounts' ICP values differ
from the clean run (0 is the target; ``scored_at`` is each run's own clock, left out).

Salesforce runs in session mode (session id + instance URL + CA bundle, as the issue's
drill did): its faults are 503s, spurious 401s (the session stays valid), HTML 502s, row
locks and slow responses. HubSpot's are 500/503, HTML 502s, lost responses, 429s with
``Retry-After`` and 207 partial failures.

    python benchmarks/fault_drill.py --accounts 2000 --opportunities 6000 --fault-rate 0.1
    python benchmarks/fault_drill.py --crm salesforce --sf-bulk-write-threshold 0 ...
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from icpsync.connectors.hubspot.sandbox import Sandbox as HubSpotSandbox
from icpsync.connectors.salesforce.sandbox import Sandbox as SalesforceSandbox
from icpsync.connectors.salesforce.sandbox.faults import (
    BAD_GATEWAY,
    LOCK,
    SLOW,
    SPURIOUS_401,
    UNAVAILABLE,
)

SF_FIELDS = [
    "ICP_Score__c",
    "ICP_Tier__c",
    "ICP_Anti_Flags__c",
    "ICP_Reasons__c",
    "ICP_Profile_Version__c",
]
#: a session id cannot be renewed: a real expiry is a genuine failure, not a fault to ride out.
SF_FAULTS = (UNAVAILABLE, SPURIOUS_401, BAD_GATEWAY, LOCK, SLOW)


def _cli(config: Path, *args: str) -> tuple[int, float, dict[str, Any] | None]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICPSYNC_")}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "icpsync", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    elapsed = time.perf_counter() - started
    report = None
    if "--json" in args:
        try:
            report = json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            report = None
    if done.returncode:
        sys.stderr.write(f"{config.parent.name} {' '.join(args)}: {done.stderr[-800:]}\n")
    return done.returncode, elapsed, report


def _salesforce(args: argparse.Namespace, folder: Path, rate: float) -> Any:
    box = SalesforceSandbox(
        accounts=args.accounts,
        opportunities=args.opportunities,
        seed=args.seed,
        fault_rate=rate,
        fault_kinds=SF_FAULTS,
        latency_ms=args.latency_ms,
    ).start()
    extra = {}
    if args.sf_bulk_write_threshold is not None:
        extra["bulk_write_threshold"] = args.sf_bulk_write_threshold
    config = box.write_config(
        folder / "icpsync.toml", auth="session", session_id=box.app.session_id, **extra
    )
    with config.open("a", encoding="utf-8") as out:
        out.write(f'\n[state]\ndir = "{folder / "state"}"\n')
    return box, config, lambda: box.values(SF_FIELDS)


def _hubspot(args: argparse.Namespace, folder: Path, rate: float) -> Any:
    box = HubSpotSandbox(
        accounts=args.accounts,
        opportunities=args.opportunities,
        seed=args.seed,
        fault_rate=rate,
        latency_ms=args.latency_ms,
    ).start()
    config = box.write_config(folder / "icpsync.toml")
    return box, config, box.values


def drill(crm: str, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Install + first sync on a clean and a faulty sandbox; the comparison."""
    start = _salesforce if crm == "salesforce" else _hubspot
    runs: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for name, rate in (("clean", 0.0), ("faulty", args.fault_rate)):
        box, config, read_values = start(args, root / f"{crm}-{name}", rate)
        try:
            install_code, _, _ = _cli(config, "install")
            code, seconds, report = _cli(config, "sync", "--json")
            values[name] = read_values()
            runs[name] = {
                "install_exit": install_code,
                "sync_exit": code,
                "sync_s": round(seconds, 2),
                "written": (report or {}).get("written"),
                "failed": (report or {}).get("failed"),
                "api_calls": ((report or {}).get("api_calls") or {}).get("total"),
            }
        finally:
            box.stop()
    clean, faulty = values["clean"], values["faulty"]
    differ = sum(1 for rid, v in clean.items() if faulty.get(rid) != v)
    return {
        "crm": crm,
        "accounts": args.accounts,
        "opportunities": args.opportunities,
        "fault_rate": args.fault_rate,
        "bulk_write_threshold": args.sf_bulk_write_threshold if crm == "salesforce" else None,
        "clean": runs["clean"],
        "faulty": runs["faulty"],
        "time_ratio": round(runs["faulty"]["sync_s"] / max(runs["clean"]["sync_s"], 1e-9), 2),
        "accounts_differing": differ,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crm", choices=("salesforce", "hubspot", "both"), default="both")
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--opportunities", type=int, default=6000)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1, help="drills per CRM")
    parser.add_argument(
        "--sf-bulk-write-threshold",
        type=int,
        help="[salesforce] bulk_write_threshold (0: sObject Collections only)",
    )
    args = parser.parse_args()
    crms = ("salesforce", "hubspot") if args.crm == "both" else (args.crm,)
    with tempfile.TemporaryDirectory(prefix="icpsync-fault-drill-") as tmp:
        for crm in crms:
            for attempt in range(args.repeat):
                root = Path(tmp) / f"{crm}-{attempt}"
                args.seed += attempt
                print(json.dumps(drill(crm, args, root)), flush=True)
                args.seed -= attempt


if __name__ == "__main__":
    main()
