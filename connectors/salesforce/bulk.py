"""Bulk API 2.0 steps through simple-salesforce's ``_Bulk2Client``, each under the call policy.

The library's ``sf.bulk2`` helpers run a whole job in one go with no retry and no session
renewal; taking the steps one by one lets a fault retry only the step that failed, and
every poll is counted.
"""

from __future__ import annotations

import time
from typing import Any

from simple_salesforce.bulk2 import _Bulk2Client

from icpsync.connectors.salesforce.api import Api
from icpsync.core.errors import FatalError

DONE = ("JobComplete", "Failed", "Aborted")


def client(obj: str, sf: Any) -> _Bulk2Client:
    """A bulk client for ``obj`` on ``sf``'s current token and session."""
    return _Bulk2Client(obj, sf.bulk2_url, dict(sf.headers), sf.session)


def wait(api: Api, obj: str, job_id: str, *, query: bool, poll_s: float) -> dict[str, Any]:
    """Poll a job until it ends; its final info.

    Raises:
        FatalError: the job failed or was aborted.
    """
    kind = f"bulk_query_poll_{obj.lower()}" if query else "bulk_ingest_poll"
    delay = poll_s
    while True:
        time.sleep(delay)
        info = api.call(kind, lambda c: client(obj, c).get_job(job_id, query))
        if info["state"] in DONE:
            if info["state"] != "JobComplete":
                raise FatalError(
                    f"salesforce bulk job {job_id} {info['state']}: {info.get('errorMessage')}"
                )
            return dict(info)
        delay = min(2.0, delay * 1.5)
