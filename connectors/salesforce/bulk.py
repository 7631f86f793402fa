"""Bulk API 2.0 steps through simple-salesforce's ``_Bulk2Client``, each under the call policy.

The library's ``sf.bulk2`` helpers run a whole job in one go with no retry and no session
renewal; taking the steps one by one lets a fault retry only the step that failed, and
every poll is counted. Polling has a deadline (``[salesforce] bulk_timeout_s``): a job
still running then is aborted and the wait ends with a clear error.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from simple_salesforce.bulk2 import _Bulk2Client
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_exponential

from icpsync.connectors.salesforce.api import Api
from icpsync.core.errors import ConnectorError, FatalError, RetriableError

log = logging.getLogger(__name__)
DONE = ("JobComplete", "Failed", "Aborted")


class BulkTimeout(RetriableError):
    """A Bulk job did not finish within the deadline (it was asked to abort)."""


def client(obj: str, sf: Any) -> _Bulk2Client:
    """A bulk client for ``obj`` on ``sf``'s current token and session."""
    return _Bulk2Client(obj, sf.bulk2_url, dict(sf.headers), sf.session)


def wait(
    api: Api, obj: str, job_id: str, *, query: bool, poll_s: float, deadline_s: float
) -> dict[str, Any]:
    """Poll a job until it ends, at most ``deadline_s`` seconds; its final info.

    Raises:
        FatalError: the job failed or was aborted.
        BulkTimeout: the job was still running at the deadline (an abort was requested).
    """
    kind = f"bulk_query_poll_{obj.lower()}" if query else "bulk_ingest_poll"
    time.sleep(poll_s)
    polling = Retrying(
        retry=retry_if_result(lambda info: info["state"] not in DONE),
        stop=stop_after_delay(deadline_s),
        wait=wait_exponential(multiplier=poll_s, exp_base=1.5, min=poll_s, max=2.0),
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
