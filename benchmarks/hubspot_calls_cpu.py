"""CPU per HubSpot call on the connector's HTTP side, this tree against another, alternately.

    python benchmarks/hubspot_calls_cpu.py --base /path/to/other/checkout --rounds 3

One sandbox process (100,000 companies, 30,000 deals, limit lifted) and one thread: each
round reads every company page and every deal page (``Reader._list_pages``) and writes
100,000 updates (``Writer.write``, 50 calls of 2,000, as a sync hands them over), first
with the other checkout's ``connectors/hubspot/reader.py`` and ``writer.py`` (loaded under
other names, on this tree's client), then with this tree's. Thread CPU (``time.thread_time``)
per pass and per call, averaged over the rounds. Alternating in one process cancels most of
a shared machine's drift, which moves whole syncs by more than a change of 0.1 ms a call.
The updates have one ``scored_at`` and about 6,000 distinct outcomes, as a sync's do
(6,369 in a sync of the seeded 100,000).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from latency_bound import SandboxProcess

from icpsync.connectors.hubspot import reader as this_reader
from icpsync.connectors.hubspot import writer as this_writer
from icpsync.core.model import ScoreUpdate
from icpsync.engine.registry import build_connector
from icpsync.engine.settings import load_settings

TIERS = ("Tier 1", "Tier 2", "Tier 3", "Not ICP")


def _load(tree: Path, name: str) -> ModuleType:
    """``connectors/hubspot/<name>.py`` of another checkout, as a module of its own."""
    spec = importlib.util.spec_from_file_location(
        f"other_{name}", tree / "connectors" / "hubspot" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _updates(ids: list[str]) -> list[ScoreUpdate]:
    """One update per id: one ``scored_at``, about 6,000 distinct outcomes (score, 20
    reasons, 3 flag sets; the tier follows the score)."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    reasons = [f"+{a} industry; +{b} size" for a in range(0, 25, 5) for b in range(0, 20, 5)]
    flags: list[tuple[str, ...]] = [(), ("competitor",), ("student",)]
    updates = []
    for i in ids:
        score = rng.randint(0, 100)
        tier = TIERS[0 if score >= 80 else 1 if score >= 60 else 2 if score >= 40 else 3]
        updates.append(
            ScoreUpdate(i, score, tier, rng.choice(flags), rng.choice(reasons), "default-1", now)
        )
    return updates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", type=Path, required=True, help="The other checkout.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--opportunities", type=int, default=30_000)
    args = parser.parse_args()
    trees: dict[str, tuple[Any, Any]] = {
        "base": (_load(args.base, "reader"), _load(args.base, "writer")),
        "this": (this_reader, this_writer),
    }
    cpu: defaultdict[str, float] = defaultdict(float)
    calls: defaultdict[str, int] = defaultdict(int)
    with tempfile.TemporaryDirectory(prefix="icpsync-calls-") as tmp:
        sandbox = SandboxProcess(
            "hubspot",
            Path(tmp),
            accounts=args.accounts,
            opportunities=args.opportunities,
            seed=7,
            rate_limit=1_000_000,
        )
        try:
            settings = load_settings(sandbox.config, state={"dir": str(Path(tmp) / "state")})
            connector: Any = build_connector(settings, "hubspot")
            try:
                connector.ensure_fields(dry_run=False)
                connector.unavailable_fields()
                ids = [a.id for a in connector.read_accounts()]
                updates = _updates(ids)
                chunks = [updates[n : n + 2000] for n in range(0, len(updates), 2000)]
                for _ in range(args.rounds):
                    for tree, (reader, writer) in trees.items():
                        read = reader.Reader(
                            connector.api, connector.field_map, connector.stats, 730
                        )
                        read.leave_out(connector.unavailable_fields().values())
                        for kind in ("companies", "deals"):
                            start = time.thread_time()
                            pages = sum(1 for _ in read._list_pages(kind))
                            cpu[f"{tree} read {kind}"] += time.thread_time() - start
                            calls[f"{tree} read {kind}"] += pages
                        write = writer.Writer(connector.api, connector.field_map)
                        start = time.thread_time()
                        for chunk in chunks:
                            report = write.write(chunk)
                            assert report.updated == len(chunk), report
                        cpu[f"{tree} write"] += time.thread_time() - start
                        calls[f"{tree} write"] += -(-len(updates) // 100)
            finally:
                connector.close()
        finally:
            sandbox.stop()
    for step, seconds in cpu.items():
        row = {
            "step": step,
            "cpu_s_per_pass": round(seconds / args.rounds, 3),
            "cpu_ms_per_call": round(seconds / calls[step] * 1000, 3),
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
