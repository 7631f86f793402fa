"""Write ICP values: sObject Collections (200 a call, concurrent) or one Bulk 2.0 job.

Only the tool's fields are sent; the override only to keep a rep's direct tier edit. Row
locks are retried a bounded number of times; other per-record errors become
:class:`RecordFailure`. When a request timed out (its outcome unknown), the records are
read back before the retry and those already holding the new values are not sent again,
so no record is written twice.
Before each call the API budget share is checked; when it is spent, or the org answers
``REQUEST_LIMIT_EXCEEDED``, the remaining records are reported unwritten and the report
says the run stopped (the next run resumes).
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from typing import Any

from simple_salesforce.bulk2 import Operation

from icpsync.connectors.salesforce import bulk, soql
from icpsync.connectors.salesforce.api import UNCERTAIN, Api
from icpsync.connectors.salesforce.reader import chunks
from icpsync.core.errors import AuthError, BudgetExhausted, ConnectorError
from icpsync.core.model import RecordFailure, ScoreUpdate, WriteReport

BATCH = 200
LOCKED = "UNABLE_TO_LOCK_ROW"
RETRIABLE_CODES = {LOCKED, "UNKNOWN_EXCEPTION", "REQUEST_RUNNING_TOO_LONG"}


def values(update: ScoreUpdate, icp: Mapping[str, str]) -> dict[str, Any]:
    """The field values to write for one update (the override only when the update sets
    it: a rep's direct edit of the tier kept as the override)."""
    out = {
        icp["score"]: update.score,
        icp["tier"]: update.tier,
        icp["flags"]: ";".join(update.flags) or None,
        icp["reasons"]: update.reasons or None,
        icp["profile_version"]: update.profile_version,
        icp["scored_at"]: update.scored_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if update.override is not None and "override" in icp:
        out[icp["override"]] = update.override
    return out


class Writer:
    """Writes score updates to Account."""

    def __init__(
        self,
        api: Api,
        obj: str,
        icp: Mapping[str, str],
        *,
        bulk_threshold: int,
        concurrency: int,
        lock_retries: int,
        poll_s: float = 0.5,
    ):
        self.api, self.obj, self.icp = api, obj, icp
        self.bulk_threshold = bulk_threshold
        self.concurrency = max(1, concurrency)
        self.lock_retries = lock_retries
        self.poll_s = poll_s
        self._stop: str | None = None
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def write(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
        """Write ``updates``; never raises for one record."""
        self._stop = None
        if self.bulk_threshold and len(updates) > self.bulk_threshold:
            report = self._bulk(list(updates))
        else:
            report = WriteReport(attempted=len(updates))
            batches = list(chunks(list(updates), BATCH))  # type: ignore[arg-type]
            if self._pool is None:  # kept across calls: each thread keeps its client
                self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="sf-write")
            for part in self._pool.map(self._collection, batches):
                report.merge(part)
            report.attempted = len(updates)
        report.stopped = self._stop
        return report

    def close(self) -> None:
        """Stop the writer threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _halt(self, reason: str) -> None:
        with self._lock:
            self._stop = self._stop or reason

    def _unwritten(self, updates: Sequence[ScoreUpdate], reason: str) -> WriteReport:
        return WriteReport(failures=[RecordFailure(u.account_id, reason) for u in updates])

    # -- sObject Collections -----------------------------------------------------------

    def _collection(self, batch: Sequence[ScoreUpdate]) -> WriteReport:
        report = WriteReport()
        pending = {u.account_id: u for u in batch}
        for attempt in range(self.lock_retries + 1):
            if self._stop is None:
                reason = self.api.budget.would_exceed(1)
                if reason:
                    self._halt(reason)
            if self._stop is not None:
                report.merge(self._unwritten(list(pending.values()), f"not written: {self._stop}"))
                return report
            sent: list[ScoreUpdate] = []

            def send(
                client: Any,
                sent: list[ScoreUpdate] = sent,
                pending: dict[str, ScoreUpdate] = pending,
            ) -> Any:
                sent[:] = list(pending.values())
                if not sent:
                    return []
                records = [
                    {"attributes": {"type": self.obj}, "id": u.account_id, **values(u, self.icp)}
                    for u in sent
                ]
                body = {"allOrNone": False, "records": records}
                return client.restful("composite/sobjects", method="PATCH", json=body)

            def settle(
                exc: BaseException,
                report: WriteReport = report,
                pending: dict[str, ScoreUpdate] = pending,
            ) -> None:
                if isinstance(exc, UNCERTAIN):
                    report.updated += self._already_written(pending)

            try:
                results = self.api.call("composite_update", send, before_retry=settle)
            except (BudgetExhausted, AuthError) as exc:  # nothing more can be written now
                self._halt(str(exc))
                report.merge(self._unwritten(list(pending.values()), f"not written: {exc}"))
                return report
            except ConnectorError as exc:
                report.merge(self._unwritten(list(pending.values()), str(exc)))
                return report
            locked: dict[str, ScoreUpdate] = {}
            for update, result in zip(sent, results or [], strict=False):
                if result.get("success"):
                    report.updated += 1
                    continue
                error = (result.get("errors") or [{}])[0]
                code = str(error.get("statusCode") or "UNKNOWN")
                if code == LOCKED and attempt < self.lock_retries:
                    locked[update.account_id] = update
                else:
                    reason = f"{code}: {error.get('message', '')}".strip()
                    report.failures.append(
                        RecordFailure(update.account_id, reason, code in RETRIABLE_CODES)
                    )
            pending = locked
            if not pending:
                return report
            time.sleep(0.05 * 2**attempt)
        return report

    def _already_written(self, pending: dict[str, ScoreUpdate]) -> int:
        """Drop from ``pending`` the records that already hold their new values."""
        if not pending:
            return 0
        names = [self.icp[k] for k in ("score", "tier", "flags", "reasons", "profile_version")]
        query = soql.accounts_by_id(self.obj, ["Id", *names], list(pending))
        rows = self.api.call("readback", lambda c: c.query_all(query)["records"])
        done = 0
        for row in rows:
            update = pending.get(row["Id"])
            if update is None:
                continue
            wanted = values(update, self.icp)
            held = {n: row.get(n) for n in names}
            score = held[self.icp["score"]]
            if (
                score is not None
                and round(float(score)) == update.score
                and all(held[n] == wanted[n] for n in names[1:])
            ):
                del pending[update.account_id]
                done += 1
        return done

    # -- Bulk API 2.0 ------------------------------------------------------------------

    def _bulk(self, updates: list[ScoreUpdate]) -> WriteReport:
        report = WriteReport(attempted=len(updates))
        reason = self.api.budget.would_exceed(6)
        if reason:
            self._halt(reason)
            report.merge(self._unwritten(updates, f"not written: {reason}"))
            return report
        names = [self.icp[k] for k in ("score", "tier", "flags", "reasons", "profile_version")]
        names.append(self.icp["scored_at"])
        override = self.icp.get("override")
        if override and any(u.override is not None for u in updates):
            names.append(override)  # an empty cell leaves a row's override as it is
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["Id", *names])
        for update in updates:
            row = values(update, self.icp)
            writer.writerow(
                [
                    update.account_id,
                    *("#N/A" if row.get(n, "") is None else row.get(n, "") for n in names),
                ]
            )
        data = out.getvalue()
        obj = self.obj
        try:
            job = self.api.call(
                "bulk_ingest_create", lambda c: bulk.client(obj, c).create_job(Operation.update)
            )
            job_id = job["id"]
            self.api.call(
                "bulk_ingest_upload", lambda c: bulk.client(obj, c).upload_job_data(job_id, data)
            )
            try:
                self.api.call("bulk_ingest_close", lambda c: bulk.client(obj, c).close_job(job_id))
            except ConnectorError:
                info = self.api.call(
                    "bulk_ingest_poll", lambda c: bulk.client(obj, c).get_job(job_id, False)
                )
                if info["state"] in ("Open", "Aborted", "Failed"):
                    raise
            info = bulk.wait(self.api, obj, job_id, query=False, poll_s=self.poll_s)
            failed_csv = self.api.call(
                "bulk_ingest_results",
                lambda c: bulk.client(obj, c).get_ingest_results(job_id, "failedResults"),
            )
        except BudgetExhausted as exc:
            self._halt(str(exc))
            report.merge(self._unwritten(updates, f"not written: {exc}"))
            return report
        except ConnectorError as exc:
            report.merge(self._unwritten(updates, str(exc)))
            return report
        by_id = {u.account_id: u for u in updates}
        locked: list[ScoreUpdate] = []
        for row in csv.DictReader(io.StringIO(failed_csv)):
            code, _, message = str(row.get("sf__Error") or "").partition(":")
            failed = by_id.get(str(row.get("sf__Id") or row.get("Id") or ""))
            if failed is None:
                continue
            if code == LOCKED:
                locked.append(failed)
            else:
                reason = f"{code}: {message.removesuffix(':--')}"
                report.failures.append(
                    RecordFailure(failed.account_id, reason, code in RETRIABLE_CODES)
                )
        report.updated = int(info.get("numberRecordsProcessed", 0)) - int(
            info.get("numberRecordsFailed", 0)
        )
        for batch in chunks(locked, BATCH):  # type: ignore[arg-type]
            report.merge(self._collection(batch))  # type: ignore[arg-type]
        return report
