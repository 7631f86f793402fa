"""Bulk API 2.0 jobs: query jobs paged by locator, ingest (update) jobs with row results.

As in a real org, a job is processed after the call that creates (query) or closes (ingest)
it has answered: that call validates and returns at once (``UploadComplete``), the work
starts in a thread of its own once the answer is sent (``InProgress``) and the job's status
says ``JobComplete`` (or ``Failed``) when it is done. How long each job took is kept
(:meth:`Jobs.timings`): the server-side time a client waits for, which no count of calls
shows.
"""

from __future__ import annotations

import csv
import io
import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from icpsync.connectors.salesforce.sandbox.ingest import apply_rows
from icpsync.connectors.salesforce.sandbox.org import ApiError, Org
from icpsync.connectors.salesforce.sandbox.render import SLICE, CsvRows, csv_text
from icpsync.connectors.salesforce.sandbox.seed import sf_id

_serial = itertools.count(1)
#: the results page a client asks first (``maxRecords``: the libraries' default), written
#: as the job ends.
FIRST_PAGE = 50_000


@dataclass
class QueryJob:
    id: str
    query: str
    operation: str
    header: list[str]
    #: the results (made while ``InProgress``), stored as the org stores them: CSV.
    results: CsvRows | None = None
    state: str = "UploadComplete"
    #: seconds from creation to ``JobComplete`` (None while processing).
    seconds: float | None = None

    @property
    def size(self) -> int:
        return self.results.size if self.results is not None else 0

    def info(self) -> dict[str, Any]:
        state = self.state
        return {
            "id": self.id,
            "operation": self.operation,
            "object": "",
            "state": state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "numberRecordsProcessed": self.size if state == "JobComplete" else 0,
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        }

    def page(
        self, locator: str, max_records: int
    ) -> tuple[str, str, int, Callable[[], None] | None]:
        """CSV text, the next locator (``"null"`` at the end), the row count, and what
        writes the next page ahead once this one is sent.

        Raises:
            ApiError: the job is not complete yet (results need ``JobComplete``).
        """
        results = self.results
        if self.state != "JobComplete" or results is None:
            raise ApiError(400, "INVALIDJOBSTATE", f"Job {self.id} is not complete: {self.state}")
        start = int(locator or 0)
        end = max(start, min(start + max_records, self.size))
        if end >= self.size:
            return results.text(start, end), "null", end - start, None
        ahead = end, end + (end - start)
        return (
            results.text(start, end),
            str(end),
            end - start,
            lambda: _background(lambda: results.write_ahead(*ahead)),
        )


@dataclass
class IngestJob:
    id: str
    object: str
    operation: str
    state: str = "Open"
    data: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    #: the rows saved, as uploaded (``successfulResults`` adds ``sf__Id, sf__Created``).
    succeeded: list[Sequence[str]] = field(default_factory=list)
    failed: list[list[str]] = field(default_factory=list)
    error: str | None = None
    #: seconds from ``UploadComplete`` to the end of processing (None while processing).
    seconds: float | None = None
    #: of which spent processing (not waiting for the org to start it).
    active: float | None = None

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
            "retries": 0,
            # milliseconds, as an org reports them (0 until the job has ended here)
            "totalProcessingTime": round((self.seconds or 0.0) * 1000),
            "apiActiveProcessingTime": round((self.active or 0.0) * 1000),
            "apexProcessingTime": 0,
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
        #: cleared, jobs started from then on wait (truly ``InProgress``) until it is set.
        self.proceed = threading.Event()
        self.proceed.set()

    def create_query(self, body: dict[str, Any]) -> tuple[dict[str, Any], Callable[[], None]]:
        """Check the query; the answer (``UploadComplete``) and what starts the job once it
        is sent. The job runs in the background (``InProgress``): it takes the rows (the
        org's state then) and stores them as CSV, ``JobComplete`` when done."""
        started = time.perf_counter()
        text = str(body.get("query") or "")
        query, take = self.org.plan(text)
        if query.count:
            raise ApiError(400, "INVALIDJOB", "Aggregate queries are not supported by Bulk 2.0")
        job = QueryJob(
            id=sf_id("750", next(_serial)),
            query=text,
            operation=str(body.get("operation") or "query"),
            header=query.fields,
        )
        with self.lock:
            self.query_jobs[job.id] = job
        answer = job.info()
        job.state = "InProgress"

        def process() -> None:
            self.proceed.wait()
            try:
                job.results = CsvRows(job.header, take())
            except Exception:  # a job that breaks fails, as in an org
                job.state = "Failed"
                job.seconds = time.perf_counter() - started
                return
            job.state = "JobComplete"
            job.seconds = time.perf_counter() - started
            job.results.write_ahead(0, FIRST_PAGE)

        return answer, lambda: _background(process)

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
    ) -> tuple[dict[str, Any], Callable[[], None] | None]:
        """The answer, and what starts the job once it is sent: ``UploadComplete`` answers at
        once and the rows are processed in the background (``InProgress`` until done);
        ``Aborted`` drops them (nothing to start)."""
        job = self.ingest_job(job_id)
        if state == "Aborted":
            job.state = "Aborted"
            return job.info(), None
        if state != "UploadComplete" or job.state != "Open":
            raise ApiError(400, "INVALIDJOBSTATE", f"cannot move job from {job.state} to {state}")
        job.state = "UploadComplete"
        answer = job.info()
        job.state = "InProgress"
        started = time.perf_counter()

        def process() -> None:
            self.proceed.wait()
            active = time.perf_counter()
            try:
                state = self._process(job, row_fault)
            except Exception as exc:  # a job that breaks fails, as in an org
                state, job.error = "Failed", f"UNKNOWN_EXCEPTION : {exc}"
            ended = time.perf_counter()
            job.seconds, job.active = ended - started, ended - active
            job.state = state  # its times are there once it has ended

        return answer, lambda: _background(process)

    def _process(self, job: IngestJob, row_fault: Callable[[], bool]) -> str:
        """Apply the job's rows; the state it ends in."""
        rows: list[list[str]] = []
        for part in job.data:
            reader = csv.reader(io.StringIO(part))
            header = next(reader, [])
            job.header = job.header or header
            while chunk := list(itertools.islice(reader, SLICE)):  # others get a turn
                rows += chunk
        id_col = next((i for i, h in enumerate(job.header) if h.lower() == "id"), None)
        if id_col is None:
            job.error = "InvalidBatch : Field name not found : Id"
            return "Failed"
        apply_rows(
            self.org, job.object, job.header, id_col, rows, row_fault, job.succeeded, job.failed
        )
        return "JobComplete"

    def timings(self) -> list[dict[str, Any]]:
        """Each finished job's kind, rows and processing seconds, in creation order."""
        with self.lock:
            jobs: list[QueryJob | IngestJob] = [*self.query_jobs.values()]
            jobs += self.ingest_jobs.values()
        out = []
        for job in sorted(jobs, key=lambda j: j.id):
            if job.seconds is None:
                continue
            if isinstance(job, QueryJob):
                kind, rows = "query", job.size
            else:
                kind, rows = "ingest", len(job.succeeded) + len(job.failed)
            out.append({"id": job.id, "kind": kind, "rows": rows, "seconds": job.seconds})
        return out

    def results(self, job_id: str, kind: str) -> str:
        job = self.ingest_job(job_id)
        if kind == "successfulResults":
            id_col = next((i for i, h in enumerate(job.header) if h.lower() == "id"), 0)
            rows = ([row[id_col], "false", *row] for row in job.succeeded)
            return csv_text(["sf__Id", "sf__Created", *job.header], rows)
        if kind == "failedResults":
            return csv_text(["sf__Id", "sf__Error", *job.header], job.failed)
        if kind == "unprocessedrecords":
            return csv_text(job.header, [])
        raise ApiError(404, "NOT_FOUND", f"unknown result set {kind}")


def _background(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="sandbox-bulk-job", daemon=True).start()
