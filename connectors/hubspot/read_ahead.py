"""Fetch the next page while the caller works on this one.

A paged list is a chain: each page names the next (``paging.next.after``), so its calls
cannot overlap each other. What can overlap is the caller's work on one page (cleaning,
scoring, the state store) and the call for the next: without that, every page costs the
call's round trip plus the caller's work, and a run with only reads in flight (the deals,
before any write) falls below the rate HubSpot allows.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
_END = object()


def read_ahead(pages: Iterator[T]) -> Generator[T, None, None]:
    """``pages`` in order, each one fetched in a worker thread while the caller holds the
    one before. Errors surface where the page they belong to would have. Only the worker
    advances ``pages``, one step at a time; closing the result waits for the step in hand.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="hubspot-read-ahead") as pool:
        pending = pool.submit(next, pages, _END)
        while True:
            page = pending.result()
            if page is _END:
                return
            pending = pool.submit(next, pages, _END)
            yield page  # type: ignore[misc]
