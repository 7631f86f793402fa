"""Stream query results a page at a time: REST query pages, or Bulk API 2.0 CSV pages when big.

REST pages are fetched with ``query`` + ``query_more`` (what ``query_all_iter`` does), one
page per call so that a transient fault retries that page, not the whole read. From
``bulk_read_threshold`` records (the first REST page's ``totalSize`` says how many) a Bulk
2.0 query job is used and each CSV page is parsed as it arrives; nothing holds all records.
Either way a page is read as columns (:class:`Page`): one list of values per field, no
object per record. The next page of a chain is fetched (by one reader thread) while the
caller works on the current one, so a page's round trip and the org's time to make it
overlap the work on the page before; at most two pages are held. A read can also be
started ahead (:meth:`Reader.start`): its first page and, when it is Bulk-sized, its job,
which the org then runs while the caller does other work (reads the deals).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from simple_salesforce.bulk2 import Operation

from icpsync.connectors.salesforce import bulk
from icpsync.connectors.salesforce.api import Api
from icpsync.connectors.salesforce.pages import CsvPage, JsonPage, Page

QUERY_OPTIONS = {"Sforce-Query-Options": "batchSize=2000"}
BULK_PAGE = 50_000
R = TypeVar("R")


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

    def close(self) -> None:
        """Stop the reader threads (after the fetches they may be running)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None

    def _open(self, obj: str, query: str, allow_bulk: bool) -> tuple[Any, str | None]:
        """The first REST page, or (from the bulk threshold) None and a Bulk job's id."""
        page = self.api.call(
            f"query_{obj.lower()}", lambda c: c.query(query, headers=QUERY_OPTIONS)
        )
        if allow_bulk and 0 < self.bulk_threshold <= int(page.get("totalSize") or 0):
            job = self.api.call(
                f"bulk_query_create_{obj.lower()}",
                lambda c: bulk.client(obj, c).create_job(Operation.query, query),
            )
            return None, str(job["id"])
        return page, None

    def pages(self, obj: str, query: str, *, allow_bulk: bool = True) -> Iterator[Page]:
        """The results of ``query``, a page at a time.

        The first REST page says how many records the query has (``totalSize``): at or above
        the bulk threshold its records are dropped and a Bulk 2.0 job reads them instead
        (one call spent), else paging goes on. No separate ``COUNT()`` call is needed.
        """
        page, job_id = self._open(obj, query, allow_bulk)
        if job_id is not None:
            yield from self._bulk(obj, job_id)
            return
        kind = f"query_more_{obj.lower()}"

        def following(page: Any) -> Callable[[], Any] | None:
            if page["done"]:
                return None
            fetch = _more(page["nextRecordsUrl"])
            return lambda: self.api.call(kind, fetch)

        first = page
        for each in self._chain(lambda: first, following):
            yield JsonPage(each["records"])

    def _bulk(self, obj: str, job_id: str) -> Iterator[Page]:
        bulk.wait(
            self.api, obj, job_id, query=True, poll_s=self.poll_s, deadline_s=self.bulk_timeout_s
        )
        kind = f"bulk_query_results_{obj.lower()}"

        def results(locator: str) -> Callable[[], Any]:
            fetch = _results(obj, job_id, locator)
            return lambda: self.api.call(kind, fetch)

        def following(page: Any) -> Callable[[], Any] | None:
            return results(page["locator"]) if page["locator"] else None

        # Not fetched ahead: a results page is up to BULK_PAGE rows of text, and holding two
        # took a 1,000,000-account sync's peak memory to the edge of its budget.
        for page in self._chain(results(""), following, ahead=False):
            yield CsvPage(page["records"])

    def _chain(
        self,
        first: Callable[[], R],
        following: Callable[[R], Callable[[], R] | None],
        *,
        ahead: bool = True,
    ) -> Iterator[R]:
        """The pages of a chain (``following(page)`` says how to fetch the next, or None
        at the end); with ``ahead`` each next page is fetched by the reader thread while the
        caller works on the one just yielded, else once the caller is done with it. A
        fetch's error is raised where its page is wanted."""
        if self._pool is None:  # kept across reads: its thread keeps its connection
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="sf-read")
        pool = self._pool
        pending: Future[R] | None = pool.submit(first)
        try:
            while pending is not None:
                page: R | None = pending.result()
                fetch = following(page)  # type: ignore[arg-type]
                pending = pool.submit(fetch) if ahead and fetch is not None else None
                yield page  # type: ignore[misc]
                page = None  # not held while the next one is fetched
                if not ahead and fetch is not None:
                    pending = pool.submit(fetch)
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
