"""CPU time of the state store's share of a full sync, alone, on SQLite and PostgreSQL.

    PYTHONPATH=. python benchmarks/state_bulk.py --accounts 100000 --opportunities 21005
    PYTHONPATH=. python benchmarks/state_bulk.py --backend sqlite --profile /tmp/state.prof

Made-up accounts and deals go through the same calls a Salesforce full sync makes, in
the same batches: the deal copy rebuilt (``OpportunityCache.clear``/``put_batch``/``flush``),
then per 500 accounts their aggregates and written values looked up, and per write chunk
of 50,000 the score history and the written values stored. A second round (``again``)
repeats it on the filled store: every deal read again unchanged, every account's written
values replaced (the upsert's update path), history added. The figures are this
process's CPU (``time.process_time``) per phase, best of ``--repeat``; PostgreSQL's own
work happens in its server process and shows only in the wall time. PostgreSQL comes
from the ``pgserver`` wheel (test extra).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import random
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from icpsync.core.batch import OpportunityBatch
from icpsync.core.human_edits import Written
from icpsync.core.model import CurrentIcp, Opportunity, ScoreUpdate
from icpsync.engine.opportunity_cache import OpportunityCache
from icpsync.engine.state import StateStore
from icpsync.engine.written_values import WrittenValues

ACCOUNT_BATCH = 500
#: deals per batch put (a REST query page).
DEAL_PAGE = 2000
WRITE_CHUNK = 50_000
TIERS = ("Tier 1", "Tier 2", "Tier 3", "Tier 4")


def _account_ids(count: int) -> list[str]:
    return [f"001{i:015d}" for i in range(count)]


def _opportunities(count: int, accounts: list[str], rng: random.Random) -> list[Opportunity]:
    today = date(2026, 11, 30)
    out = []
    for i in range(count):
        created = today - timedelta(days=rng.randrange(30, 900))
        closed_flag = rng.random() < 0.7
        out.append(
            Opportunity(
                id=f"006{i:015d}",
                account_id=rng.choice(accounts) if rng.random() < 0.98 else None,
                is_closed=closed_flag,
                is_won=closed_flag and rng.random() < 0.4,
                amount=round(rng.uniform(1000, 90000), 2) if rng.random() < 0.9 else None,
                created=created,
                closed=created + timedelta(days=rng.randrange(5, 200)) if closed_flag else None,
                last_modified=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=i),
            )
        )
    return out


def _updates(accounts: list[str], rng: random.Random, at: datetime) -> list[ScoreUpdate]:
    out = []
    for account_id in accounts:
        score = rng.randrange(0, 101)
        out.append(
            ScoreUpdate(
                account_id=account_id,
                score=score,
                tier=TIERS[min(score // 25, 3)],
                flags=("no_deals",) if score < 20 else (),
                reasons="size +20; industry +15",
                profile_version="default-1",
                scored_at=at,
                previous=CurrentIcp(score=rng.randrange(0, 101), tier=rng.choice(TIERS)),
            )
        )
    return out


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _round(
    state: StateStore, run_id: int, accounts: list[str], opps: list[Opportunity], at: datetime
) -> dict[str, float]:
    """One full sync's state-store calls; CPU seconds per phase."""
    rng = random.Random(at.toordinal())
    updates = _updates(accounts, rng, at)
    cache = OpportunityCache(state.engine, "salesforce", "00D000000000001")
    written = WrittenValues(state.engine, "salesforce", "00D000000000001")
    times: dict[str, float] = {}

    def timed(name: str, job: Callable[[], object]) -> None:
        started, wall = time.process_time(), time.perf_counter()
        job()
        times[name] = times.get(name, 0.0) + time.process_time() - started
        times[f"{name} wall"] = times.get(f"{name} wall", 0.0) + time.perf_counter() - wall

    def deals() -> None:
        cache.clear()
        for batch in _chunks(opps, DEAL_PAGE):
            cache.put_batch(OpportunityBatch.from_opportunities(batch))
        cache.flush()

    timed("deals", deals)
    for batch in _chunks(accounts, ACCOUNT_BATCH):
        timed("aggregates_for", lambda b=batch: cache.aggregates_for(b))
        timed("written.get", lambda b=batch: written.get(b))
    for chunk in _chunks(updates, WRITE_CHUNK):
        timed(
            "record_history",
            lambda c=chunk: state.record_history(run_id, "salesforce", c, org="00D000000000001"),
        )
        rows = {u.account_id: Written(u.tier, u.score) for u in chunk}
        timed("written.put", lambda r=rows: written.put(r))  # type: ignore[misc]
    times["total"] = sum(v for k, v in times.items() if not k.endswith(" wall"))
    return times


@contextmanager
def _postgres(wanted: bool) -> Iterator[Any]:
    """A PostgreSQL server from the pgserver wheel (None when not wanted)."""
    if not wanted:
        yield None
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(Path(tempfile.mkdtemp(prefix="icpsync-pg-")))
    try:
        yield server
    finally:
        server.cleanup()


def _urls(which: str, folder: Path, server: Any, repeat: int) -> Iterator[tuple[str, str]]:
    if which in ("sqlite", "both"):
        folder.mkdir(parents=True, exist_ok=True)
        yield "sqlite", f"sqlite:///{folder / 'state.db'}"
    if server is not None:
        name = f"bench_state_{repeat}"
        server.psql(f"DROP DATABASE IF EXISTS {name};")
        server.psql(f"CREATE DATABASE {name};")
        uri = server.get_uri(name)
        yield "postgresql", uri.replace("postgresql://", "postgresql+psycopg://", 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--opportunities", type=int, default=21_005)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3, help="Fresh stores; best of these.")
    parser.add_argument("--profile", type=Path, help="cProfile dump of the last fresh round.")
    args = parser.parse_args()
    rng = random.Random(7)
    accounts = _account_ids(args.accounts)
    opps = _opportunities(args.opportunities, accounts, rng)
    at = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    with (
        tempfile.TemporaryDirectory(prefix="icpsync-state-") as tmp,
        _postgres(args.backend in ("postgresql", "both")) as server,
    ):
        for repeat in range(args.repeat):
            for name, url in _urls(args.backend, Path(tmp) / f"r{repeat}", server, repeat):
                state = StateStore(url)
                profiler = (
                    cProfile.Profile() if args.profile and repeat == args.repeat - 1 else None
                )
                wall = time.perf_counter()
                if profiler:
                    profiler.enable()
                fresh = _round(state, 1, accounts, opps, at)
                if profiler:
                    profiler.disable()
                    profiler.dump_stats(str(args.profile))
                fresh_wall = time.perf_counter() - wall
                wall = time.perf_counter()
                again = _round(state, 2, accounts, opps, at + timedelta(days=1))
                again_wall = time.perf_counter() - wall
                state.close()
                print(
                    json.dumps(
                        {
                            "backend": name,
                            "profiled": profiler is not None,
                            "fresh_wall_s": round(fresh_wall, 2),
                            "fresh": {k: round(v, 3) for k, v in fresh.items()},
                            "again_wall_s": round(again_wall, 2),
                            "again": {k: round(v, 3) for k, v in again.items()},
                        }
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
