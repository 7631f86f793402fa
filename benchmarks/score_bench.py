"""Scoring throughput: the core alone, and the CSV-in/CSV-out pipeline (`icpsync score`).

    python benchmarks/score_bench.py --accounts 1000000

The core part scores synthetic accounts already in memory (default profile, one core),
one call at a time (``Scorer.score``) and in batches (``Scorer.score_many``, the columnar
path). The pipeline part (run first, so that the benchmark process is small when it starts
children) writes a canonical CSV and times `icpsync score --accounts ... --out ...` in a
child process, reporting its peak RSS.
Each part runs ``--repeat`` times; every run prints one JSON line with the wall-clock
rate and the CPU-time rate (the machine may be shared: CPU time is what this process
got), and a summary line gives the best run and the spread. Pipeline runs also print the
load average before the run, the CPU share of the wall time (about 1 on an idle machine
for a one-core process) and the output's SHA-256; ``--tree A --tree B`` times two source
trees alternately on the same file (``--csv``), e.g. a branch against ``main``:

    python benchmarks/score_bench.py --pipeline-only --accounts 1000000 --csv /tmp/acc1m.csv \
        --tree /work/main --tree .
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


def bench_pipeline(path: Path, n: int, tree: str | None = None) -> dict[str, Any]:
    """One ``icpsync score`` run of ``path`` in a child process (the source tree ``tree``
    when given, else the installed package): wall and CPU rates, peak RSS, the load
    average before the run and the output's SHA-256."""
    out = path.with_name("scored.csv")
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(Path(tree).resolve())
    load = os.getloadavg()[0]
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "icpsync", "score", "--accounts", str(path), "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=tree or None,
    )
    _, status, usage = os.wait4(child.pid, 0)  # this child's own CPU time and peak RSS
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, child.args)
    cpu = usage.ru_utime + usage.ru_stime
    with out.open("rb") as handle:  # in pieces: the next child's peak RSS counts ours
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    return {
        **({"tree": tree} if tree else {}),
        **_rates(n, seconds, cpu),
        "rows_per_s_wall": round(n / seconds),
        "rows_per_cpu_s": round(n / cpu),
        "cpu_share": round(cpu / seconds, 2),
        "load_average_1m": round(load, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "output_sha256": digest[:16],
    }


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rates = [r["accounts_per_s"] for r in runs]
    cpu_rates = [r["accounts_per_cpu_s"] for r in runs]
    return {
        "best_accounts_per_s": max(rates),
        "spread_accounts_per_s": [min(rates), max(rates)],
        "best_accounts_per_cpu_s": max(cpu_rates),
        "spread_accounts_per_cpu_s": [min(cpu_rates), max(cpu_rates)],
    }


def pipeline(n: int, repeat: int, trees: list[str] | None, csv_path: str | None) -> None:
    """Time ``icpsync score`` on an n-account CSV, ``repeat`` times (per source tree of
    ``trees``, alternating between them, so that each sees the same machine load).

    Runs first, from a small process: a child's peak RSS includes what its parent held
    when it was started, so the CSV is written by a child too.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "accounts.csv"
        if csv_path:
            path.symlink_to(Path(csv_path).resolve())
        else:
            command = [sys.executable, __file__, "--accounts", str(n), "--write-csv", str(path)]
            subprocess.run(command, check=True)
        names: list[str | None] = list(trees) if trees else [None]
        by_tree: dict[str | None, list[dict[str, Any]]] = {tree: [] for tree in names}
        for _ in range(repeat):
            for tree, runs in by_tree.items():
                runs.append(bench_pipeline(path, n, tree))
                print(json.dumps({"pipeline": runs[-1]}), flush=True)
        for tree, runs in by_tree.items():
            summary = {
                **({"tree": tree} if tree else {}),
                **_summary(runs),
                "best_rows_per_s_wall": max(r["rows_per_s_wall"] for r in runs),
                "best_rows_per_cpu_s": max(r["rows_per_cpu_s"] for r in runs),
                "load_average_1m": [r["load_average_1m"] for r in runs],
                "output_sha256": sorted({r["output_sha256"] for r in runs}),
            }
            print(json.dumps({"pipeline_summary": summary}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--pipeline-only", action="store_true", help="Skip the core part.")
    parser.add_argument(
        "--tree",
        action="append",
        help="Source tree to time `icpsync score` from (repeatable: runs alternate).",
    )
    parser.add_argument("--csv", help="Score this accounts CSV instead of writing one.")
    parser.add_argument("--write-csv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_csv:
        write_csv(Path(args.write_csv), args.accounts)
        return
    if not args.skip_pipeline:
        pipeline(args.accounts, args.repeat, args.tree, args.csv)
    if args.pipeline_only:
        return
    data = accounts(args.accounts)
    for name, batched in (("core", False), ("core_batched", True)):
        runs = [bench_core(data, batched) for _ in range(args.repeat)]
        for run in runs:
            print(json.dumps({name: run}), flush=True)
        rss = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps({f"{name}_summary": {**_summary(runs), "peak_rss_mb": rss}}), flush=True)


if __name__ == "__main__":
    main()
