"""Scoring throughput: the core alone, and the CSV-in/CSV-out pipeline (`icpsync score`).

    python benchmarks/score_bench.py --accounts 1000000

The core part scores synthetic accounts already in memory (default profile, one core),
one call at a time (``Scorer.score``) and in batches (``Scorer.score_many``, the columnar
path). The pipeline part (run first, so that the benchmark process is small when it starts
children) writes a canonical CSV and times `icpsync score --accounts ... --out ...` in a
child process, reporting its peak RSS.
Each part runs ``--repeat`` times; every run prints one JSON line with the wall-clock
rate and the CPU-time rate (the machine may be shared: CPU time is what this process
got), and a summary line gives the best run and the spread.
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
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from icpsync.core.default_profile import default_profile
from icpsync.core.model import ACCOUNT_COLUMNS, NO_AGGREGATES, Account
from icpsync.core.scoring import Scorer

INDUSTRIES = ["Technology", "Finance", "Retail", "Education", "Healthcare", "Manufacturing", None]
COUNTRIES = ["United States", "Canada", "Germany", "United Kingdom", "India", None]
STACKS = [
    frozenset(),
    frozenset({"Salesforce"}),
    frozenset({"HubSpot", "Outreach"}),
    frozenset({"Slack", "Jira"}),
    frozenset({"Salesforce", "Gong", "Slack"}),
]


def iter_accounts(n: int) -> Iterator[Account]:
    """n varied synthetic accounts (cheap to build, realistic spread of values)."""
    import random

    rng = random.Random(1)
    for i in range(n):
        employees = int(rng.lognormvariate(5.3, 1.8)) if rng.random() > 0.05 else None
        yield Account(
            id=f"A{i}",
            domain=f"c{i}.example.com",
            industry=rng.choice(INDUSTRIES),
            employees=employees,
            annual_revenue=employees * 150_000.0 if employees else None,
            country=rng.choice(COUNTRIES),
            tech_stack=rng.choice(STACKS),
        )


def accounts(n: int) -> list[Account]:
    """The n accounts of :func:`iter_accounts`, in memory."""
    return list(iter_accounts(n))


def bench_core(data: list[Account], batched: bool) -> dict[str, float]:
    scorer = Scorer(default_profile())
    now = datetime(2026, 11, 1, tzinfo=UTC)
    wall, cpu = time.perf_counter(), time.process_time()
    if batched:
        for _ in scorer.score_many(data, {}, now):
            pass
    else:
        score = scorer.score
        for account in data:
            score(account, NO_AGGREGATES, now)
    return _rates(len(data), time.perf_counter() - wall, time.process_time() - cpu)


def _rates(n: int, wall: float, cpu: float) -> dict[str, float]:
    return {
        "accounts": n,
        "seconds": round(wall, 2),
        "accounts_per_s": round(n / wall),
        "cpu_seconds": round(cpu, 2),
        "accounts_per_cpu_s": round(n / cpu),
    }


def write_csv(path: Path, n: int) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ACCOUNT_COLUMNS)
        for a in iter_accounts(n):
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


def bench_pipeline(path: Path, n: int) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
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
            str(path.with_name("scored.csv")),
        ],
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of children: the largest child so far (the CSV writer is smaller).
    return {**_rates(n, seconds, cpu), "peak_rss_mb": round(after.ru_maxrss / 1024)}


def _summary(runs: list[dict[str, float]]) -> dict[str, float]:
    rates = [r["accounts_per_s"] for r in runs]
    cpu_rates = [r["accounts_per_cpu_s"] for r in runs]
    return {
        "best_accounts_per_s": max(rates),
        "spread_accounts_per_s": [min(rates), max(rates)],
        "best_accounts_per_cpu_s": max(cpu_rates),
        "spread_accounts_per_cpu_s": [min(cpu_rates), max(cpu_rates)],
    }


def pipeline(n: int, repeat: int) -> None:
    """Time ``icpsync score`` on an n-account CSV, ``repeat`` times.

    Runs first, from a small process: a child's peak RSS includes what its parent held
    when it was started, so the CSV is written by a child too.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "accounts.csv"
        command = [sys.executable, __file__, "--accounts", str(n), "--write-csv", str(path)]
        subprocess.run(command, check=True)
        runs = [bench_pipeline(path, n) for _ in range(repeat)]
        for run in runs:
            print(json.dumps({"pipeline": run}), flush=True)
        print(json.dumps({"pipeline_summary": _summary(runs)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--write-csv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_csv:
        write_csv(Path(args.write_csv), args.accounts)
        return
    if not args.skip_pipeline:
        pipeline(args.accounts, args.repeat)
    data = accounts(args.accounts)
    for name, batched in (("core", False), ("core_batched", True)):
        runs = [bench_core(data, batched) for _ in range(args.repeat)]
        for run in runs:
            print(json.dumps({name: run}), flush=True)
        rss = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps({f"{name}_summary": {**_summary(runs), "peak_rss_mb": rss}}), flush=True)


if __name__ == "__main__":
    main()
