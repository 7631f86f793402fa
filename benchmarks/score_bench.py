"""Scoring throughput: the core alone, and the CSV-in/CSV-out pipeline (`icpsync score`).

    python benchmarks/score_bench.py --accounts 1000000

The core part scores synthetic accounts already in memory (default profile, one core).
The pipeline part writes a canonical CSV and times `icpsync score --accounts ... --out ...`
in a child process, reporting its peak RSS.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from icpsync.default_profile import default_profile
from icpsync.model import ACCOUNT_COLUMNS, NO_AGGREGATES, Account
from icpsync.scoring import Scorer

INDUSTRIES = ["Technology", "Finance", "Retail", "Education", "Healthcare", "Manufacturing", None]
COUNTRIES = ["United States", "Canada", "Germany", "United Kingdom", "India", None]
STACKS = [
    frozenset(),
    frozenset({"Salesforce"}),
    frozenset({"HubSpot", "Outreach"}),
    frozenset({"Slack", "Jira"}),
    frozenset({"Salesforce", "Gong", "Slack"}),
]


def accounts(n: int) -> list[Account]:
    """n varied synthetic accounts (cheap to build, realistic spread of values)."""
    import random

    rng = random.Random(1)
    out = []
    for i in range(n):
        employees = int(rng.lognormvariate(5.3, 1.8)) if rng.random() > 0.05 else None
        out.append(
            Account(
                id=f"A{i}",
                domain=f"c{i}.example.com",
                industry=rng.choice(INDUSTRIES),
                employees=employees,
                annual_revenue=employees * 150_000.0 if employees else None,
                country=rng.choice(COUNTRIES),
                tech_stack=rng.choice(STACKS),
            )
        )
    return out


def bench_core(n: int) -> dict[str, float]:
    data = accounts(n)
    scorer = Scorer(default_profile())
    now = datetime(2026, 11, 1, tzinfo=UTC)
    score = scorer.score
    started = time.perf_counter()
    for account in data:
        score(account, NO_AGGREGATES, now)
    seconds = time.perf_counter() - started
    return {
        "accounts": n,
        "seconds": round(seconds, 2),
        "accounts_per_s": round(n / seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def bench_pipeline(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "accounts.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(ACCOUNT_COLUMNS)
            for a in accounts(n):
                writer.writerow(
                    [
                        a.id,
                        a.name or "",
                        a.domain,
                        a.industry or "",
                        a.employees or "",
                        a.annual_revenue or "",
                        a.country or "",
                        "",
                        ";".join(sorted(a.tech_stack)),
                    ]
                )
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "icpsync",
                "score",
                "--accounts",
                str(path),
                "--out",
                str(Path(tmp) / "scored.csv"),
            ],
            check=True,
            capture_output=True,
        )
        seconds = time.perf_counter() - started
        child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "accounts": n,
        "seconds": round(seconds, 2),
        "accounts_per_s": round(n / seconds),
        "peak_rss_mb": round(child),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    args = parser.parse_args()
    print(json.dumps({"core": bench_core(args.accounts)}), flush=True)
    print(json.dumps({"pipeline": bench_pipeline(args.accounts)}), flush=True)


if __name__ == "__main__":
    main()
