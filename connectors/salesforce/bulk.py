"""Bulk API 2.0 steps through simple-salesforce's ``_Bulk2Client``, each under the call policy.

The library's ``sf.bulk2`` helpers run a whole job in one go with no retry and no session
renewal; taking the steps one by one lets a fault retry only the step that failed, and
every poll is counted. A job runs on the org's side after the call that starts it has
answered, for seconds to minutes: polling starts short (``[salesforce] bulk_poll_s``) and
backs off by half each time up to ``POLL_MAX_S``, so a quick job is seen done soon after it
ends and a long one costs few calls (the wait past a job's end stays under half its run
time, or ``POLL_MAX_S``); a caller that expects the job to end sooner (an update job after
one the org said took less) may have the first poll come then (see :func:`wait`). Polling
has a deadline (``[salesforce] bulk_timeout_s``): no wait goes past it, and a job still
running then is aborted and the wait ends with a clear error.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from simple_salesforce.bulk2 import _Bulk2Client
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_result,
    stop_before_delay,
)

from icpsync.connectors.salesforce.api import Api
from icpsync.core.errors import ConnectorError, FatalError, RetriableError

log = logging.getLogger(__name__)
DONE = ("JobComplete", "Failed", "Aborted")
#: the longest wait between two polls of a job.
POLL_MAX_S = 2.0
#: each wait between polls is this many times the one before.
POLL_GROWTH = 1.5


class BulkTimeout(RetriableError):
    """A Bulk job did not finish within the deadline (it was asked to abort)."""


def client(obj: str, sf: Any) -> _Bulk2Client:
    """A bulk client for ``obj`` on ``sf``'s current token and session."""
    return _Bulk2Client(obj, sf.bulk2_url, dict(sf.headers), sf.session)


def poll_times(first_wait: float, poll_s: float, expect_s: float | None) -> Iterator[float]:
    """When a job is polled, in seconds from the start of the wait: the fixed schedule
    (``first_wait``, then waits from ``poll_s * POLL_GROWTH``, each ``POLL_GROWTH`` times
    the one before, at most ``POLL_MAX_S``), or, with ``expect_s``, a first poll then and
    the fixed schedule's polls after both (its first poll left out). Against the fixed
    schedule, a job that ends after both first polls is polled no more often and seen
    ended no later; one that ends by ``expect_s`` is seen then, with one poll; one that
    ends after ``expect_s`` but by an earlier ``first_wait`` costs one poll more."""

    def fixed() -> Iterator[float]:
        at, step = first_wait, min(poll_s * POLL_GROWTH, POLL_MAX_S)
        while True:
            yield at
            at, step = at + step, min(step * POLL_GROWTH, POLL_MAX_S)

    if expect_s is None:
        yield from fixed()
        return
    expect_s = max(0.0, expect_s)
    yield expect_s
    after = max(expect_s, first_wait)
    yield from (at for at in fixed() if at > after)


def wait(
    api: Api,
    obj: str,
    job_id: str,
    *,
    query: bool,
    poll_s: float,
    deadline_s: float,
    sleep: Callable[[float], None] = time.sleep,
    created: float | None = None,
    expect_s: float | None = None,
    wanted: threading.Event | None = None,
) -> dict[str, Any]:
    """Poll a job until it ends, at most ``deadline_s`` seconds; its final info.

    The first poll comes ``poll_s`` after the job was created (``created``, a
    ``time.monotonic()`` reading; the call by default: a job created ahead may be polled at
    once), then each wait is ``POLL_GROWTH`` times the one before, at most ``POLL_MAX_S``;
    a wait that would end past the deadline is not started. The deadline counts from the
    call. ``expect_s``, how long the job is expected to take from the call (from what the
    org reported for an earlier job of the run), moves the first poll there; a job still
    running then is polled on the fixed schedule after it (:func:`poll_times`). With
    ``wanted``, the first poll is held until it is set (the caller waits for the outcome),
    at most to the deadline, and the schedule goes on after it: a job that ends before
    its outcome is wanted costs one poll, and no job is polled more often.

    Raises:
        FatalError: the job failed or was aborted.
        BulkTimeout: the job was still running at the deadline (an abort was requested).
    """
    kind = f"bulk_query_poll_{obj.lower()}" if query else "bulk_ingest_poll"
    started = time.monotonic()
    first_wait = poll_s if created is None else max(0.0, poll_s - (started - created))
    times = poll_times(first_wait, poll_s, expect_s)
    polls = [next(times)]  # when each poll comes, from the start of the wait
    if polls[0] > 0:
        sleep(min(polls[0], deadline_s))
    if wanted is not None and not wanted.is_set():
        wanted.wait(max(0.0, deadline_s - (time.monotonic() - started)))
        polls[0] = max(polls[0], time.monotonic() - started)

    def between(state: RetryCallState) -> float:
        while len(polls) <= state.attempt_number:
            polls.append(next(at for at in times if at > polls[-1]))
        return polls[state.attempt_number] - polls[state.attempt_number - 1]

    polling = Retrying(
        retry=retry_if_result(lambda info: info["state"] not in DONE),
        stop=stop_before_delay(max(0.0, deadline_s - (time.monotonic() - started))),
        wait=between,
        sleep=sleep,
    )
    try:
        info = polling(lambda: api.call(kind, lambda c: client(obj, c).get_job(job_id, query)))
    except RetryError as exc:
        state = exc.last_attempt.result()["state"] if not exc.last_attempt.failed else "?"
        with contextlib.suppress(ConnectorError):
            api.call("bulk_abort", lambda c: client(obj, c).abort_job(job_id, query))
        raise BulkTimeout(
            f"salesforce bulk job {job_id} still {state} after {deadline_s:g} s "
            "([salesforce] bulk_timeout_s); it was asked to abort, the next run retries"
        ) from exc
    if info["state"] != "JobComplete":
        problem = info.get("errorMessage")
        raise FatalError(f"salesforce bulk job {job_id} {info['state']}: {problem}")
    return dict(info)
