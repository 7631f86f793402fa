"""Bulk API 2.0 jobs: query jobs paged by locator, ingest (update) jobs with row results."""

from __future__ import annotations

import csv
import io
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from icpsync.connectors.salesforce.sandbox import schema
from icpsync.connectors.salesforce.sandbox.org import ApiError, Org, RecordError
from icpsync.connectors.salesforce.sandbox.seed import sf_id

_serial = itertools.count(1)


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@dataclass
class QueryJob:
    id: str
    query: str
    operation: str
    header: list[str]
    rows: list[list[str]]
    polls: int = 0

    def info(self) -> dict[str, Any]:
        state = "UploadComplete" if self.polls == 0 else "JobComplete"
        self.polls += 1
        return {
            "id": self.id,
            "operation": self.operation,
            "object": "",
            "state": state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "numberRecordsProcessed": len(self.rows) if state == "JobComplete" else 0,
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        }

    def page(self, locator: str, max_records: int) -> tuple[str, str, int]:
        """CSV text, the next locator (``"null"`` at the end) and the row count."""
        start = int(locator or 0)
        chunk = self.rows[start : start + max_records]
        end = start + len(chunk)
        following = str(end) if end < len(self.rows) else "null"
        return _csv([self.header, *chunk]), following, len(chunk)


@dataclass
class IngestJob:
    id: str
    object: str
    operation: str
    state: str = "Open"
    data: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    succeeded: list[list[str]] = field(default_factory=list)
    failed: list[list[str]] = field(default_factory=list)
    error: str | None = None

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "state": self.state,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
            "numberRecordsProcessed": len(self.succeeded) + len(self.failed),
            "numberRecordsFailed": len(self.failed),
            "errorMessage": self.error,
            "contentUrl": f"services/data/vXX.X/jobs/ingest/{self.id}/batches",
        }


class Jobs:
    """The org's bulk jobs."""

    def __init__(self, org: Org):
        self.org = org
        self.lock = threading.Lock()
        self.query_jobs: dict[str, QueryJob] = {}
        self.ingest_jobs: dict[str, IngestJob] = {}
        #: jobs never finish: their status stays ``InProgress`` (a stuck org, for deadlines).
        self.stalled = False

    def create_query(self, body: dict[str, Any]) -> dict[str, Any]:
        text = str(body.get("query") or "")
        query, rows = self.org.query(text)
        if query.count:
            raise ApiError(400, "INVALIDJOB", "Aggregate queries are not supported by Bulk 2.0")
        job = QueryJob(
            id=sf_id("750", next(_serial)),
            query=text,
            operation=str(body.get("operation") or "query"),
            header=query.fields,
            rows=[[schema.to_csv(r[f]) for f in query.fields] for r in rows],
        )
        with self.lock:
            self.query_jobs[job.id] = job
        return job.info() | {"state": "UploadComplete"}

    def query_job(self, job_id: str) -> QueryJob:
        job = self.query_jobs.get(job_id)
        if job is None:
            raise ApiError(404, "NOT_FOUND", f"Could not find job {job_id}")
        return job

    def create_ingest(self, body: dict[str, Any]) -> dict[str, Any]:
        operation = body.get("operation")
        if operation != "update":
            raise ApiError(400, "FEATURENOTENABLED", f"operation {operation!r} is not supported")
        self.org.fields(str(body.get("object")))  # INVALID_TYPE for an unknown object
        job = IngestJob(
            id=sf_id("750", next(_serial)), object=str(body["object"]), operation=operation
        )
        with self.lock:
            self.ingest_jobs[job.id] = job
        return job.info()

    def ingest_job(self, job_id: str) -> IngestJob:
        job = self.ingest_jobs.get(job_id)
        if job is None:
            raise ApiError(404, "NOT_FOUND", f"Could not find job {job_id}")
        return job

    def upload(self, job_id: str, text: str) -> None:
        job = self.ingest_job(job_id)
        if job.state != "Open":
            raise ApiError(409, "INVALIDJOBSTATE", f"Job {job_id} is not Open")
        job.data = [text]  # a retried upload replaces the first one

    def close(
        self, job_id: str, state: str, row_fault: Callable[[], bool] = lambda: False
    ) -> dict[str, Any]:
        """``UploadComplete`` processes the rows now; ``Aborted`` drops them."""
        job = self.ingest_job(job_id)
        if state == "Aborted":
            job.state = "Aborted"
            return job.info()
        if state != "UploadComplete" or job.state != "Open":
            raise ApiError(400, "INVALIDJOBSTATE", f"cannot move job from {job.state} to {state}")
        rows: list[list[str]] = []
        for part in job.data:
            reader = csv.reader(io.StringIO(part))
            header = next(reader, [])
            job.header = job.header or header
            rows.extend(reader)
        id_col = next((i for i, h in enumerate(job.header) if h.lower() == "id"), None)
        if id_col is None:
            job.state, job.error = "Failed", "InvalidBatch : Field name not found : Id"
            return job.info()
        for row in rows:
            values = {
                h: (None if v == "#N/A" else v)
                for h, v in zip(job.header, row, strict=False)
                if v != "" and h.lower() != "id"
            }
            try:
                if row_fault():
                    raise RecordError(
                        "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"
                    )
                self.org.update(job.object, row[id_col], values)
                job.succeeded.append([row[id_col], "false", *row])
            except RecordError as exc:
                job.failed.append([row[id_col], f"{exc.code}:{exc.message}:--", *row])
        job.state = "JobComplete"
        return job.info()

    def results(self, job_id: str, kind: str) -> str:
        job = self.ingest_job(job_id)
        if kind == "successfulResults":
            return _csv([["sf__Id", "sf__Created", *job.header], *job.succeeded])
        if kind == "failedResults":
            return _csv([["sf__Id", "sf__Error", *job.header], *job.failed])
        if kind == "unprocessedrecords":
            return _csv([job.header])
        raise ApiError(404, "NOT_FOUND", f"unknown result set {kind}")
