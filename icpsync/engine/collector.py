"""Fewer scans for garbage cycles while a run's batches go by (``icpsync score``, a sync).

Every batch allocates thousands of lists and tuples that die with it (reference counting
frees them; they hold no cycles), and at Python's default thresholds the collector rescans
them, and everything built before, over and over: a tenth to a sixth of a run's CPU. Inside
:func:`fewer_collections` the objects built before (modules, profile, settings, clients)
are frozen out of the scans and the young generation is collected every
:data:`GC_THRESHOLD` allocations; both are restored when the last block open in the
process ends (the scheduler may run two syncs at once, and the collector is one per process).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Allocations between collections of the young generation inside (Python: 700), counted
#: net of the objects freed: above what a run holds at once (a Bulk chunk's 50,000 updates
#: and what they hold, a page's columns), so a scan does not walk a chunk still being
#: built or written again and again. At 10,000 a 100,000-account Salesforce sync spent
#: 0.1-0.3 s of CPU in 15-67 scans; at this figure it makes none, and a 1,000,000-account
#: sync's peak memory is unchanged (docs/benchmarks.md).
GC_THRESHOLD = 200_000


_lock = threading.Lock()
_open = 0
_previous: tuple[int, int, int] | None = None


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Scan for garbage cycles less often until the block ends (see the module docstring)."""
    global _open, _previous
    with _lock:
        if _open == 0:
            _previous = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(GC_THRESHOLD, *_previous[1:])
        _open += 1
    try:
        yield
    finally:
        with _lock:
            _open -= 1
            if _open == 0 and _previous is not None:
                gc.set_threshold(*_previous)
                gc.unfreeze()
