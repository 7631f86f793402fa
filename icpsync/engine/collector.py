"""Fewer scans for garbage cycles while a run's batches go by (``icpsync score``, a sync).

Every batch allocates thousands of lists and tuples that die with it (reference counting
frees them; they hold no cycles), and at Python's default thresholds the collector rescans
them, and everything built before, over and over: a tenth to a sixth of a run's CPU. Inside
:func:`fewer_collections` the objects built before (modules, profile, settings, clients)
are frozen out of the scans and the young generation is collected every
:data:`GC_THRESHOLD` allocations; both are restored afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Allocations between collections of the young generation inside (Python: 700).
GC_THRESHOLD = 10_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Scan for garbage cycles less often until the block ends (see the module docstring)."""
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()
