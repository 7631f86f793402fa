"""Main-thread CPU of the engine's bookkeeping parts inside one full sync.

    PYTHONPATH=. python benchmarks/engine_parts_cpu.py --crm salesforce
    PYTHONPATH=. python benchmarks/engine_parts_cpu.py --crm hubspot --repeat 2

Runs ``benchmarks/sync_cpu.py`` (same arguments) with the state store's and the human-edit
check's functions wrapped: each call's thread CPU (``time.thread_time``) is added to its
function's total, printed after the runs (summed over them). The wrappers cost nothing
measurable at these numbers of calls (2 to a few hundred), unlike a profiler, which
inflates the Python-level parts.
"""

from __future__ import annotations

import functools
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import sync_cpu

from icpsync.core.aggregates import AggregateBuilder
from icpsync.engine import opportunity_cache
from icpsync.engine.batch_writer import BatchWriter
from icpsync.engine.deal_figures import DealFigures
from icpsync.engine.human_edit_check import HumanEditCheck
from icpsync.engine.ledger import RunLedger
from icpsync.engine.opportunity_cache import OpportunityCache

CPU: defaultdict[str, float] = defaultdict(float)
CALLS: Counter[str] = Counter()
LABELS: list[str] = []


def _timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            CPU[label] += time.thread_time() - started
            CALLS[label] += 1

    return timed


def _wrap(owner: Any, name: str, label: str) -> None:
    LABELS.append(label)
    setattr(owner, name, _timed(label, getattr(owner, name)))


def main() -> None:
    _wrap(BatchWriter, "_apply", "written chunk's outcome and bookkeeping (on_written)")
    _wrap(RunLedger, "written", "  history (RunLedger.written)")
    _wrap(HumanEditCheck, "written", "  written values (HumanEditCheck.written)")
    _wrap(OpportunityCache, "aggregates_for", "deal copy's lookups (aggregates_for)")
    _wrap(opportunity_cache, "rows_by_ids", "  SQLite's part (rows_by_ids)")
    _wrap(DealFigures, "__init__", "  a full run's figures made (DealFigures)")
    _wrap(DealFigures, "get", "  a full run's figures (DealFigures.get)")
    _wrap(AggregateBuilder, "add_rows", "  aggregates (AggregateBuilder.add_rows)")
    _wrap(AggregateBuilder, "result", "  aggregates (AggregateBuilder.result)")
    _wrap(OpportunityCache, "put_batch", "deal copy's writes (put_batch, with flushes)")
    _wrap(OpportunityCache, "flush", "  deal copy's flushes (flush, the last one too)")
    _wrap(HumanEditCheck, "begin_batch", "written values' lookups (begin_batch)")
    run_and_report()


def run_and_report() -> None:
    """``sync_cpu``'s runs, then each wrapped function's thread CPU and calls."""
    try:
        sync_cpu.main()
    finally:
        for label in LABELS:
            print(f"{CPU[label]:7.3f} s {CALLS[label]:5d} calls  {label}", flush=True)


if __name__ == "__main__":
    sys.argv[0] = "sync_cpu.py"
    main()
