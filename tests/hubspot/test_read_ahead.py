"""The next page is fetched while the caller works on the one before: same pages, same
order, errors where they belong, and no more than one page fetched ahead."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from icpsync.connectors.hubspot.read_ahead import read_ahead


class Pages:
    """Numbered pages; records which pages were fetched, and from which thread."""

    def __init__(self, count: int, fail_at: int | None = None):
        self.count = count
        self.fail_at = fail_at
        self.fetched: list[int] = []
        self.threads: set[str] = set()

    def __iter__(self) -> Iterator[int]:
        for n in range(self.count):
            if n == self.fail_at:
                raise ConnectionError(f"page {n} lost")
            self.fetched.append(n)
            self.threads.add(threading.current_thread().name)
            yield n


def test_pages_come_in_order_fetched_off_the_callers_thread() -> None:
    pages = Pages(5)
    assert list(read_ahead(iter(pages))) == [0, 1, 2, 3, 4]
    assert pages.fetched == [0, 1, 2, 3, 4]
    assert threading.current_thread().name not in pages.threads


def test_the_next_page_is_fetched_while_the_caller_holds_this_one() -> None:
    pages = Pages(5)
    reading = read_ahead(iter(pages))
    assert next(reading) == 0
    assert next(reading) == 1
    assert pages.fetched in ([0, 1], [0, 1, 2])  # page 2 is on its way
    reading.close()  # waits for the page in hand, asks for no other
    assert pages.fetched == [0, 1, 2]


def test_an_error_surfaces_after_the_pages_before_it() -> None:
    pages = Pages(5, fail_at=3)
    got: list[int] = []
    with pytest.raises(ConnectionError, match="page 3 lost"):
        for page in read_ahead(iter(pages)):
            got.append(page)
    assert got == [0, 1, 2]


def test_no_pages() -> None:
    assert list(read_ahead(iter(Pages(0)))) == []
