"""Peak memory of a full sync through the file connector, in a fresh process per size.

    python benchmarks/sync_memory.py --sizes 100000 1000000

Writes synthetic canonical CSVs (accounts, and three opportunities per ten accounts), runs
``run_once`` on them in a child process and reports its peak RSS (ru_maxrss) and time.
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

from icpsync.core.model import ACCOUNT_COLUMNS, OPPORTUNITY_COLUMNS

CHILD = r"""
import json, resource, sys, time
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
start = time.perf_counter()
report = run_once(settings, state=state)
print(json.dumps({"seconds": time.perf_counter() - start, "scored": report.scored,
                  "written": report.written,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            started = time.perf_counter()
            write_data(folder, size)
            generated = time.perf_counter() - started
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(folder)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            rows.append({"accounts": size, **result, "generate_s": generated})
            print(json.dumps(rows[-1]), flush=True)
    if len(rows) >= 2:
        ratio = rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
        print(f"peak RSS ratio {rows[-1]['accounts']:,} / {rows[0]['accounts']:,}: {ratio:.2f}")


if __name__ == "__main__":
    main()
