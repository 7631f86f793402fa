"""Peak memory of a full sync, in a fresh process per size.

    python benchmarks/sync_memory.py --sizes 100000 1000000
    python benchmarks/sync_memory.py --crm salesforce --sizes 100000 1000000

File connector (the default): writes synthetic canonical CSVs (accounts, and three
opportunities per ten accounts) and runs ``run_once`` on them in a child process.
Salesforce or HubSpot: starts the CRM's sandbox (``icpsync sandbox``, seeded with as many
accounts and 30% as many deals) in a process of its own, so that its memory is not counted,
and runs ``ensure_fields`` then ``run_once`` against it in the child. HubSpot's ten-second
limit is lifted (``--rate-limit``), which changes the pace, not what is held in memory.
Reports the child's peak RSS (``VmHWM``: unlike ``ru_maxrss`` it does not start from the
forking parent's size), its time and its CPU time.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from latency_bound import SandboxProcess

from icpsync.core.model import ACCOUNT_COLUMNS, OPPORTUNITY_COLUMNS

PEAK = r"""
def peak_rss_mb():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
"""

CHILD = (
    PEAK
    + r"""
import json, sys, time
from pathlib import Path
from icpsync.engine.settings import Settings
from icpsync.engine.state import StateStore
from icpsync.engine.sync import run_once
folder = Path(sys.argv[1])
settings = Settings(file={"accounts": str(folder / "accounts.csv"),
                          "opportunities": str(folder / "opportunities.csv"),
                          "output": str(folder / "out.csv")},
                    state={"dir": str(folder / "state")})
state = StateStore(settings.state.database_url())
start, cpu = time.perf_counter(), time.process_time()
report = run_once(settings, state=state)
print(json.dumps({"seconds": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
                  "scored": report.scored, "written": report.written,
                  "peak_rss_mb": peak_rss_mb()}))
"""
)

CRM_CHILD = (
    PEAK
    + r"""
import json, sys, time
from icpsync.engine.registry import build_connector
from icpsync.engine.settings import load_settings
from icpsync.engine.state import StateStore
from icpsync.engine.sync import run_once
config, state_dir, crm = sys.argv[1:4]
settings = load_settings(config, state={"dir": state_dir})
connector = build_connector(settings, crm)
try:
    connector.ensure_fields(dry_run=False)
finally:
    connector.close()
connector = build_connector(settings, crm)
state = StateStore(settings.state.database_url())
start, cpu = time.perf_counter(), time.process_time()
try:
    report = run_once(settings, connector=connector, state=state)
finally:
    connector.close()
    state.close()
print(json.dumps({"seconds": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
                  "scored": report.scored, "written": report.written,
                  "peak_rss_mb": peak_rss_mb()}))
"""
)

LIFTED_RATE_LIMIT = 100_000


def write_data(folder: Path, accounts: int) -> None:
    """Synthetic canonical files; fast enough for a million rows."""
    import random

    rng = random.Random(1)
    industries = ["Technology", "Finance", "Retail", "Education", "Healthcare", "Manufacturing"]
    countries = ["United States", "Canada", "Germany", "United Kingdom", "India"]
    tools = ["Salesforce", "HubSpot", "Outreach", "Slack", "Jira", "Gong"]
    with (folder / "accounts.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ACCOUNT_COLUMNS)
        for i in range(accounts):
            employees = int(rng.lognormvariate(5.3, 1.8))
            writer.writerow(
                [
                    f"A{i:08d}",
                    f"Company {i}",
                    f"c{i}.example.com",
                    rng.choice(industries),
                    employees,
                    employees * 150_000,
                    rng.choice(countries),
                    "",
                    ";".join(rng.sample(tools, rng.randint(0, 3))),
                ]
            )
    with (folder / "opportunities.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(OPPORTUNITY_COLUMNS)
        for i in range(accounts * 3 // 10):
            won = rng.random() < 0.4
            writer.writerow(
                [
                    f"O{i:08d}",
                    f"A{rng.randrange(accounts):08d}",
                    "Closed Won" if won else "Closed Lost",
                    "true",
                    str(won).lower(),
                    rng.randint(1000, 90000),
                    "2025-01-10",
                    "2025-04-01",
                ]
            )


def _file_sync(folder: Path, size: int) -> dict[str, Any]:
    started = time.perf_counter()
    write_data(folder, size)
    generated = time.perf_counter() - started
    return {**_child([CHILD, str(folder)]), "generate_s": round(generated, 1)}


def _crm_sync(crm: str, folder: Path, size: int, rate_limit: int) -> dict[str, Any]:
    started = time.perf_counter()
    sandbox = SandboxProcess(
        crm,
        folder,
        accounts=size,
        opportunities=size * 3 // 10,
        seed=7,
        rate_limit=rate_limit if crm == "hubspot" else None,
    )
    generated = time.perf_counter() - started
    try:
        result = _child([CRM_CHILD, str(sandbox.config), str(folder / "state"), crm])
    finally:
        sandbox.stop()
    return {**result, "sandbox_start_s": round(generated, 1)}


def _child(argv: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", *argv], check=True, capture_output=True, text=True
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--crm", choices=["file", "salesforce", "hubspot"], default="file")
    parser.add_argument("--rate-limit", type=int, default=LIFTED_RATE_LIMIT, help="HubSpot.")
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            if args.crm == "file":
                result = _file_sync(folder, size)
            else:
                result = _crm_sync(args.crm, folder, size, args.rate_limit)
            result = {k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}
            rows.append({"crm": args.crm, "accounts": size, **result})
            print(json.dumps(rows[-1]), flush=True)
    if len(rows) >= 2:
        ratio = rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
        print(f"peak RSS ratio {rows[-1]['accounts']:,} / {rows[0]['accounts']:,}: {ratio:.2f}")


if __name__ == "__main__":
    main()
