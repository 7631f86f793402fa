"""Fetch the next step of a read while the caller works on this one.

A paged list is a chain: each page names the next (``paging.next.after``), so its calls
cannot overlap each other. What can overlap is the caller's work on one step (cleaning,
scoring, the state store) and the calls for the next: without that, every page costs the
call's round trip plus the caller's work, and a run with only reads in flight (the deals,
before any write) falls below the rate HubSpot allows. A step may be several pages joined
and read into columns (the reader's lists of ``JOIN`` records): one hand-off between the
threads per step, not per page, and the records are read into columns in the thread that
decoded them.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
_END = object()


def read_ahead(
    steps: Iterator[T], closing: threading.Event | None = None
) -> Generator[T, None, None]:
    """``steps`` in order, each one made in a worker thread while the caller holds the
    one before. Errors surface where the step they belong to would have. Only the worker
    advances ``steps``, one step at a time; closing the result sets ``closing`` (when
    given: a step of several calls stops making them) and waits for the step in hand.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="hubspot-read-ahead") as pool:
        try:
            pending = pool.submit(next, steps, _END)
            while True:
                step = pending.result()
                if step is _END:
                    return
                pending = pool.submit(next, steps, _END)
                yield step  # type: ignore[misc]
        finally:
            if closing is not None:
                closing.set()
