"""Thread CPU of scoring, the diff, the run report's counts and the Salesforce Bulk write
inside one full sync.

    PYTHONPATH=. python benchmarks/score_path_cpu.py --crm salesforce --repeat 3

Runs ``benchmarks/sync_cpu.py`` (same arguments) with these functions wrapped: each call's
thread CPU (``time.thread_time``, the calling thread's: the main thread's for scoring and
the diff, the writer thread's for ``Writer.write``) is added to its function's total,
printed after the runs (summed over them). A few hundred calls: the wrappers cost nothing
measurable, unlike a profiler.
"""

from __future__ import annotations

import sys

from engine_parts_cpu import _wrap, run_and_report

from icpsync.connectors.salesforce.writer import Writer
from icpsync.core.diff import Diff
from icpsync.core.scoring import Scorer
from icpsync.engine.run_report import RunReport


def main() -> None:
    _wrap(Scorer, "score_batch", "scoring (Scorer.score_batch)")
    _wrap(Scorer, "_outcome", "  new outcomes (Scorer._outcome)")
    _wrap(Diff, "changed", "diff (Diff.changed)")
    _wrap(Diff, "updates_at", "updates (Diff.updates_at)")
    _wrap(RunReport, "count_scored", "counts (RunReport.count_scored)")
    _wrap(RunReport, "count_changes", "counts (RunReport.count_changes)")
    _wrap(Writer, "write", "writer thread (Writer.write)")
    _wrap(Writer, "_bulk_csv", "  ingest CSV (Writer._bulk_csv)")
    run_and_report()


if __name__ == "__main__":
    sys.argv[0] = "sync_cpu.py"
    main()
