"""Stream query results a page at a time: REST query pages, or Bulk API 2.0 CSV pages when big.

REST pages are fetched with ``query`` + ``query_more`` (what ``query_all_iter`` does), one
page per call so that a transient fault retries that page, not the whole read. From
``bulk_read_threshold`` records (the first REST page's ``totalSize`` says how many) a Bulk
2.0 query job is used and each CSV page is parsed as it arrives; nothing holds all records.
Either way a page is read as columns (:class:`Page`): one list of values per field, no
object per record, and handed to the caller converted (its batch). The next page of a
chain is fetched (by one reader thread) while the caller works on the current one's batch,
so a page's round trip and the org's time to make it overlap the work on the page before: a
REST page from the moment the one before arrived, a Bulk results page (up to ``BULK_PAGE``
rows of text) once the one before was converted, so no two of those are held. A read can also be
opened ahead (:meth:`Reader.open`, from the calling thread while no other call is in
flight): its first page and, when it is Bulk-sized and the API budget covers the rest of
the read, its job, which the org then runs while the caller does other work (reads the
deals); :meth:`Reader.pages` for the same query goes on from there.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from simple_salesforce.bulk2 import Operation

from icpsync.connectors.salesforce import bulk
from icpsync.connectors.salesforce.api import Api
from icpsync.connectors.salesforce.pages import CsvPage, JsonPage, Page

QUERY_OPTIONS = {"Sforce-Query-Options": "batchSize=2000"}
BULK_PAGE = 50_000
R = TypeVar("R")
T = TypeVar("T")


@dataclass(slots=True)
class _Opened:
    """A read's first step: its first REST page (kept while no Bulk job reads it instead),
    the Bulk job's id and when it was created."""

    page: Any
    job_id: str | None = None
    created: float = 0.0


class Reader:
    """Runs the connector's queries.

    Args:
        api: the call policy.
        bulk_threshold: record count from which a Bulk 2.0 query is used (0: never).
        poll_s: first wait before polling a bulk job.
        bulk_timeout_s: longest wait for a bulk job.
    """

    def __init__(
        self, api: Api, *, bulk_threshold: int, poll_s: float = 0.5, bulk_timeout_s: float = 3600
    ):
        self.api = api
        self.bulk_threshold = bulk_threshold
        self.poll_s = poll_s
        self.bulk_timeout_s = bulk_timeout_s
        self._pool: ThreadPoolExecutor | None = None
        #: the read begun by :meth:`open`: the next read goes on from it if it is for the
        #: same query, any other read drops it (no stale page or job is ever used later).
        self._opened: tuple[tuple[str, str], _Opened] | None = None

    def close(self) -> None:
        """Stop the reader threads (after the fetches they may be running)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None
        self._opened = None

    def _bulk_sized(self, page: Any) -> bool:
        return 0 < self.bulk_threshold <= int(page.get("totalSize") or 0)

    def _create(self, obj: str, query: str) -> _Opened:
        job = self.api.call(
            f"bulk_query_create_{obj.lower()}",
            lambda c: bulk.client(obj, c).create_job(Operation.query, query),
        )
        return _Opened(None, str(job["id"]), time.monotonic())

    def _first(self, obj: str, query: str) -> Any:
        return self.api.call(
            f"query_{obj.lower()}", lambda c: c.query(query, headers=QUERY_OPTIONS)
        )

    def open(self, obj: str, query: str, *, reserve: int) -> None:
        """Begin the read of ``query`` now, from the calling thread (no other call may be in
        flight): its first REST page and, when it is Bulk-sized, its job. Each step is taken
        only when the API budget covers it, the rest of this read and ``reserve`` calls
        (another read under way); :meth:`pages` for the same query goes on from there.
        A run that stops before it reads the query (a stop asked for, a lost lease, a
        failed deal page) has spent up to three calls on it and leaves its Bulk query job
        on the org, unread.
        """
        budget = self.api.budget
        if budget.allowance() is None or budget.would_exceed(reserve + 1):
            return  # read in series when the budget is unknown or short
        page = self._first(obj, query)
        opened = _Opened(page)
        if self._bulk_sized(page):
            # create, one poll, the results pages
            results = math.ceil(int(page["totalSize"]) / BULK_PAGE)
            if not budget.would_exceed(reserve + 2 + results):
                opened = self._create(obj, query)
        self._opened = ((obj, query), opened)

    def pages(
        self,
        obj: str,
        query: str,
        convert: Callable[[Page], T],
        *,
        allow_bulk: bool = True,
        then: Callable[[Any], None] | None = None,
    ) -> Iterator[T]:
        """The results of ``query``, a page at a time, each made into ``convert(page)``
        (the page itself is not held past that).

        The first REST page says how many records the query has (``totalSize``): at or above
        the bulk threshold its records are dropped and a Bulk 2.0 job reads them instead
        (one call spent), else paging goes on. No separate ``COUNT()`` call is needed. A
        read begun by :meth:`open` goes on from where it is. ``then`` is called with the
        first REST page of a paged read before the next page is asked for (nothing in
        flight then).
        """
        begun, self._opened = self._opened, None
        if begun is not None and begun[0] == (obj, query):
            opened = begun[1]
        else:
            opened = _Opened(self._first(obj, query))
        del begun
        if opened.job_id is None and allow_bulk and self._bulk_sized(opened.page):
            opened = self._create(obj, query)
        if opened.job_id is not None:
            yield from self._bulk(obj, opened.job_id, opened.created, convert)
            return
        page = opened.page
        del opened
        kind = f"query_more_{obj.lower()}"

        def following(page: Any) -> Callable[[], Any] | None:
            if page["done"]:
                return None
            fetch = _more(page["nextRecordsUrl"])
            return lambda: self.api.call(kind, fetch)

        if then is not None:
            then(page)
        first = page
        del page
        yield from self._chain(
            lambda: first, following, lambda each: convert(JsonPage(each["records"]))
        )

    def _bulk(
        self, obj: str, job_id: str, created: float, convert: Callable[[Page], T]
    ) -> Iterator[T]:
        bulk.wait(
            self.api,
            obj,
            job_id,
            query=True,
            poll_s=self.poll_s,
            deadline_s=self.bulk_timeout_s,
            created=created,
        )
        kind = f"bulk_query_results_{obj.lower()}"

        def results(locator: str) -> Callable[[], Any]:
            fetch = _results(obj, job_id, locator)
            return lambda: self.api.call(kind, fetch)

        def following(page: Any) -> Callable[[], Any] | None:
            return results(page["locator"]) if page["locator"] else None

        # Not fetched before the page before is converted: a results page is up to
        # BULK_PAGE rows of text, and holding two took a 1,000,000-account sync's peak
        # memory to the edge of its budget.
        yield from self._chain(
            results(""), following, lambda page: convert(CsvPage(page.pop("records"))), ahead=False
        )

    def _chain(
        self,
        first: Callable[[], R],
        following: Callable[[R], Callable[[], R] | None],
        convert: Callable[[R], T],
        *,
        ahead: bool = True,
    ) -> Iterator[T]:
        """The pages of a chain (``following(page)`` says how to fetch the next, or None
        at the end), each yielded as ``convert(page)``. The next page is fetched by the
        reader thread while the caller works on the one yielded: with ``ahead`` from the
        moment the page before arrived, else once it was converted (and dropped). A
        fetch's error is raised where its page is wanted."""
        if self._pool is None:  # kept across reads: its thread keeps its connection
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="sf-read")
        pool = self._pool
        pending: Future[R] | None = pool.submit(first)
        try:
            while pending is not None:
                page = pending.result()
                fetch = following(page)
                pending = pool.submit(fetch) if ahead and fetch is not None else None
                item = convert(page)
                del page  # not held while the next one is fetched
                if not ahead and fetch is not None:
                    pending = pool.submit(fetch)
                yield item
                del item
        finally:
            if pending is not None:  # the caller stopped early: the fetched page is dropped
                pending.cancel()


def _more(url: str) -> Callable[[Any], Any]:
    def fetch(client: Any) -> Any:
        return client.query_more(url, identifier_is_url=True, headers=QUERY_OPTIONS)

    return fetch


def _results(obj: str, job_id: str, locator: str) -> Callable[[Any], Any]:
    def fetch(client: Any) -> Any:
        return bulk.client(obj, client).get_query_results(job_id, locator, BULK_PAGE)

    return fetch


def chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
