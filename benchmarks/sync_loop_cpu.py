"""CPU time of the sync loop alone: ``run_once`` against a CRM held in memory.

    python benchmarks/sync_loop_cpu.py --accounts 100000 --opportunities 30000
    python benchmarks/sync_loop_cpu.py --state        # with a SQLite state store
    python benchmarks/sync_loop_cpu.py --per-account  # a connector with read_accounts only

No HTTP, no parsing, no cleaning: the connector hands over synthetic accounts that are
already clean (as ``AccountBatch`` es, or one ``Account`` at a time with ``--per-account``)
and keeps what is written, so the second run (``re-sync``, full, nothing changed) reads the
values the first one wrote. What is measured is the engine's share of a sync: aggregates,
scoring, the diff, human edits, the run's bookkeeping and (with ``--state``) the state
store. Prints the best of ``--repeat`` CPU times (``time.process_time``) per run.
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from itertools import islice

from icpsync.core.batch import AccountBatch
from icpsync.core.model import Account, ConnectorStats, CurrentIcp, ScoreUpdate, WriteReport
from icpsync.core.synthetic import SyntheticData
from icpsync.engine.settings import Settings
from icpsync.engine.state import StateStore
from icpsync.engine.sync import run_once

NOW = datetime(2026, 11, 30, tzinfo=UTC)
PAGE = 2000


class MemoryCrm:
    """A CRM in memory: synthetic accounts and deals; writes become the current values."""

    name = "memory"
    write_chunk_size = 10_000

    def __init__(self, data: SyntheticData):
        self.stats = ConnectorStats()
        self.accounts = list(data.iter_accounts())
        self.opportunities = list(data.iter_opportunities())
        self.held: dict[str, CurrentIcp] = {}

    def org_id(self) -> str:
        return "memory"

    def read_accounts(self, since: datetime | None = None) -> Iterator[Account]:
        held = self.held
        for account in self.accounts:
            current = held.get(account.id)
            yield account if current is None else replace(account, current=current)

    def read_accounts_by_id(self, ids: Collection[str]) -> Iterator[Account]:
        wanted = set(ids)
        return (a for a in self.read_accounts() if a.id in wanted)

    def read_opportunities(self, since: datetime | None = None) -> Iterator[object]:
        return iter(self.opportunities)

    def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
        for u in updates:
            self.held[u.account_id] = CurrentIcp(
                u.score, u.tier, u.flags, u.reasons, u.profile_version, u.scored_at, u.override
            )
        return WriteReport(attempted=len(updates), updated=len(updates))

    def close(self) -> None:
        pass


class MemoryBatchCrm(MemoryCrm):
    """The same CRM, read a page of columns at a time."""

    def read_account_batches(self, since: datetime | None = None) -> Iterator[AccountBatch]:
        stream = self.read_accounts(since)
        while page := list(islice(stream, PAGE)):
            yield AccountBatch.from_accounts(page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--opportunities", type=int, default=30_000)
    parser.add_argument("--state", action="store_true", help="Keep state in SQLite.")
    parser.add_argument("--per-account", action="store_true", help="No read_account_batches.")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = SyntheticData(accounts=args.accounts, opportunities=args.opportunities, seed=7)
    kind = MemoryCrm if args.per_account else MemoryBatchCrm
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        crm = kind(data)
        with tempfile.TemporaryDirectory(prefix="icpsync-loop-") as tmp:
            state = StateStore(f"sqlite:///{tmp}/state.db") if args.state else None
            try:
                for run in ("full", "re-sync"):
                    gc.collect()
                    cpu = time.process_time()
                    report = run_once(
                        Settings(),
                        connector=crm,  # type: ignore[arg-type]
                        state=state,
                        now=NOW,
                        full=True,
                    )
                    cpu = time.process_time() - cpu
                    best[run] = min(best.get(run, cpu), cpu)
                    assert report.accounts_read == args.accounts, report.to_dict()
            finally:
                if state is not None:
                    state.close()
    row = {
        "accounts": args.accounts,
        "state": args.state,
        "reader": "read_accounts" if args.per_account else "read_account_batches",
        **{f"{run}_cpu_s": round(cpu, 3) for run, cpu in best.items()},
    }
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
