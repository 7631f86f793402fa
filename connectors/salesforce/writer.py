"""Write ICP values: sObject Collections (200 a call, concurrent) or one Bulk 2.0 job.

Only the tool's fields are sent; the override only to keep a rep's direct tier edit
(``[sync] human_edits = "keep"``).

* Request faults retry the call (:class:`~icpsync.connectors.salesforce.api.Api`). When a
  request timed out (its outcome unknown), the records are read back before the retry and
  those already holding the new values are not sent again, so no record is written twice.
* Record faults (``UNABLE_TO_LOCK_ROW``, ``UNKNOWN_EXCEPTION``, records rolled back with
  another's failure) are pooled: collected over the whole write call and retried at its
  end, regrouped into full batches of 200, ``lock_retries`` rounds (counted apart from
  request retries).
* A whole-request 400 on Collections is bisected until the refused records are isolated;
  a Bulk job that fails as a whole is written by Collections instead. Every refused record
  keeps one readable line (code, message, fields) and is not retriable; so are the other
  per-record errors (validation rules, deleted records, field-level security).
* Every call is checked against the API budget share first; when it is spent, or the org
  answers ``REQUEST_LIMIT_EXCEEDED``, the remaining records are reported unwritten and the
  report says the run stopped (the next run resumes).
* When the org refuses the credentials (the session ended and logging in again failed),
  the remaining records are reported unwritten the same way, and the refusal is kept in
  :attr:`Writer.refusal` for the connector to raise once the run counted what was written.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import lru_cache
from itertools import repeat
from operator import attrgetter, is_
from typing import Any

from simple_salesforce.bulk2 import Operation
from tenacity import Retrying, retry_if_result, stop_after_attempt, wait_exponential

from icpsync.connectors.salesforce import bulk, soql
from icpsync.connectors.salesforce.api import UNCERTAIN, Api, Refused
from icpsync.core.errors import AuthError, BudgetExhausted, ConnectorError
from icpsync.core.model import RecordFailure, ScoreUpdate, WriteReport

BATCH = 200
LOCKED = "UNABLE_TO_LOCK_ROW"
ROLLED_BACK = "ALL_OR_NONE_OPERATION_ROLLED_BACK"
RETRIABLE_CODES = {LOCKED, ROLLED_BACK, "UNKNOWN_EXCEPTION", "REQUEST_RUNNING_TOO_LONG"}
#: a reason kept per record is one line of at most this many characters.
REASON_MAX = 200

#: account id -> why it is to be tried again.
Again = dict[str, str]


def _utc_stamp(at: datetime) -> str:
    """``at`` as Salesforce's UTC datetime text (one run's updates share their time)."""
    return _stamp(at, at.fold)  # equal datetimes may differ in fold, and so in UTC


@lru_cache(maxsize=64)
def _stamp(at: datetime, _fold: int) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def values(update: ScoreUpdate, icp: Mapping[str, str]) -> dict[str, Any]:
    """The field values to write for one update (the override only when the update sets
    it: a rep's direct edit of the tier kept as the override)."""
    out = {
        icp["score"]: update.score,
        icp["tier"]: update.tier,
        icp["flags"]: ";".join(update.flags) or None,
        icp["reasons"]: update.reasons or None,
        icp["profile_version"]: update.profile_version,
        icp["scored_at"]: _utc_stamp(update.scored_at),
    }
    if update.override is not None and "override" in icp:
        out[icp["override"]] = update.override
    return out


#: what a Bulk ingest cell holds to set a field to no value.
NO_VALUE = "#N/A"


def _cells(column: list[Any]) -> list[Any]:
    """A column's Bulk ingest cells: each value, ``#N/A`` for None."""
    if None not in column:
        return column
    return [NO_VALUE if value is None else value for value in column]


def _joined(flags: list[tuple[str, ...]]) -> list[str]:
    """The flags cells: ``;``-joined, ``#N/A`` for none; each distinct tuple joined once."""
    text = {f: ";".join(f) or NO_VALUE for f in set(flags)}
    return list(map(text.__getitem__, flags))


_FOLD = attrgetter("fold")


def _stamps(moments: list[datetime]) -> list[str]:
    """:func:`_utc_stamp` of each moment, each distinct one formatted once (equal moments
    of equal fold have the same stamp); one run's moment (one object) formatted once."""
    if moments and all(map(is_, moments, repeat(moments[0]))):
        return [_utc_stamp(moments[0])] * len(moments)
    if 1 in map(_FOLD, moments):
        return list(map(_utc_stamp, moments))
    text = {moment: _utc_stamp(moment) for moment in set(moments)}
    return list(map(text.__getitem__, moments))


#: what makes ``csv.writer`` quote a cell (or may: a carriage return, on some versions).
_SPECIAL = (",", '"', "\n", "\r")


#: Cells a writer remembers for the texts and integers it wrote (reasons repeat across
#: chunks; writing a text's cell costs ``csv.writer`` a look at every character).
CELLS_REMEMBERED = 10_000


def _csv_cells(column: Sequence[Any], known: dict[Any, str] | None = None) -> Sequence[str]:
    """Each value as ``csv.writer`` writes it in a row (minimal quoting, ``\\n`` line ends):
    a column of texts none of which holds a character that may be quoted is its own cells;
    otherwise each value by ``csv.writer`` itself, once per distinct value in a column of
    texts and integers (values equal there have the same cell, unlike ``1``, ``True`` and
    ``1.0`` or ``0.0`` and ``-0.0``), or found in ``known`` (such values' cells, added to
    up to :data:`CELLS_REMEMBERED`)."""
    first = column[0] if column else ""
    if first.__class__ is str and any(special in first for special in _SPECIAL):
        text = first  # a cell that may be quoted: no need to look at the others
    else:
        try:
            text = "".join(column)
        except TypeError:  # not only texts
            text = _SPECIAL[0]
    if not any(special in text for special in _SPECIAL):
        return column
    if not set(map(type, column)) <= {str, int}:
        return _csv_cells_of(column)
    known = {} if known is None else known
    new = list(set(column).difference(known))
    cells = _csv_cells_of(new)
    if len(known) + len(new) > CELLS_REMEMBERED:
        known = {**known, **dict(zip(new, cells, strict=True))}  # for this column only
    else:
        known.update(zip(new, cells, strict=True))
    return list(map(known.__getitem__, column))


def _csv_cells_of(values: Sequence[Any]) -> list[str]:
    """Each value's cell as ``csv.writer`` writes it (beside an empty cell, so that a lone
    empty value is not quoted as a row of one would be)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    cells: list[str] = []
    for value in values:
        out.seek(0)
        out.truncate()
        writer.writerow((value, ""))
        cells.append(out.getvalue()[:-2])
    return cells


#: an ingest job is expected to take up to this many times the last one's time per row.
EXPECT_MARGIN = 1.25
#: a job's first poll is held for the engine only while the run's budget share has this
#: many calls left: the reads made meanwhile must not spend the calls its outcome needs.
HOLD_ROOM = 50


def _pace(info: Mapping[str, Any]) -> float | None:
    """Seconds per row of a finished ingest job, from the processing time the org reports
    (``totalProcessingTime``, milliseconds); None when it reports none."""
    total, rows = info.get("totalProcessingTime"), info.get("numberRecordsProcessed")
    if not isinstance(total, int | float) or not isinstance(rows, int) or total <= 0 or rows <= 0:
        return None
    return total / 1000 / rows


def reason(code: str, message: str, fields: Sequence[str] = ()) -> str:
    """One readable line: ``CODE: message [fields]``."""
    where = f" [{', '.join(fields)}]" if fields else ""
    line = " ".join(f"{code}: {message}{where}".split())
    return line if len(line) <= REASON_MAX else line[: REASON_MAX - 1] + "…"


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
        bulk_timeout_s: float = 3600,
    ):
        self.api, self.obj, self.icp = api, obj, icp
        self.bulk_threshold = bulk_threshold
        self.concurrency = max(1, concurrency)
        self.lock_retries = lock_retries
        self.poll_s = poll_s
        self.bulk_timeout_s = bulk_timeout_s
        self.record_rounds = 0
        self._stop: str | None = None
        #: the credentials refusal that halted the writes (raised by the connector's flush).
        self.refusal: AuthError | None = None
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        #: Bulk ingest cells of the texts and integers written so far (see _csv_cells).
        self._cells: dict[Any, str] = {}
        #: seconds a row of the last Bulk ingest job took, as the org reported it.
        self._pace: float | None = None

    def write(
        self, updates: Sequence[ScoreUpdate], wanted: threading.Event | None = None
    ) -> WriteReport:
        """Write ``updates``; never raises for one record. With ``wanted``, a Bulk job's
        first poll is held until it is set (the caller waits for the outcome)."""
        self._stop = None
        report = WriteReport(attempted=len(updates))
        ids = [u.account_id for u in updates]
        unique = len(set(ids)) == len(ids)
        by_id: dict[str, ScoreUpdate] = {}  # an id given twice is written with its last update
        todo: Again = {}
        first = True

        def send_round() -> Again:
            nonlocal first, by_id
            if first and unique:  # every update once, in order
                pending = list(updates)
            else:
                by_id = by_id or dict(zip(ids, updates, strict=True))
                pending = list(by_id.values()) if first else [by_id[i] for i in todo]
            if first and self.bulk_threshold and len(pending) > self.bulk_threshold:
                part, again = self._bulk(pending, wanted)
            else:
                part, again = self._collections(pending)
            if not first:
                self.record_rounds += 1
            first = False
            report.updated += part.updated
            report.failures.extend(part.failures)
            todo.clear()
            todo.update(again)
            return again

        rounds = Retrying(
            retry=retry_if_result(lambda again: bool(again) and self._stop is None),
            stop=stop_after_attempt(self.lock_retries + 1),
            wait=wait_exponential(multiplier=0.05, max=2.0),
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else {},
        )
        rounds(send_round)
        for rid, why in todo.items():
            why = f"not written: {self._stop}" if self._stop else why
            report.failures.append(RecordFailure(rid, why, True))
        report.stopped = self._stop
        return report

    def close(self) -> None:
        """Stop the writer threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _halt(self, why: str | BudgetExhausted | AuthError) -> None:
        with self._lock:
            self._stop = self._stop or str(why)
            if isinstance(why, AuthError):
                self.refusal = self.refusal or why

    # -- sObject Collections -----------------------------------------------------------

    def _collections(self, updates: Sequence[ScoreUpdate]) -> tuple[WriteReport, Again]:
        """Full batches of 200, ``concurrency`` at once."""
        batches = [updates[i : i + BATCH] for i in range(0, len(updates), BATCH)]
        if self._pool is None:  # kept across calls: each thread keeps its client
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="sf-write")
        report, again = WriteReport(), {}
        for part, retry in self._pool.map(self._collection, batches):
            report.merge(part)
            again.update(retry)
        return report, again

    def _collection(self, batch: Sequence[ScoreUpdate]) -> tuple[WriteReport, Again]:
        """One Collections request; a whole-request 400 is bisected."""
        report, again = WriteReport(), {}
        pending = {u.account_id: u for u in batch}
        if self._stop is not None:
            return report, dict.fromkeys(pending, "")
        sent: list[ScoreUpdate] = []

        def send(client: Any) -> Any:
            sent[:] = list(pending.values())
            if not sent:
                return []
            records = [
                {"attributes": {"type": self.obj}, "id": u.account_id, **values(u, self.icp)}
                for u in sent
            ]
            body = {"allOrNone": False, "records": records}
            return client.restful("composite/sobjects", method="PATCH", json=body)

        def settle(exc: BaseException) -> None:
            if isinstance(exc, UNCERTAIN):
                report.updated += self._already_written(pending)

        try:
            results = self.api.call("composite_update", send, before_retry=settle)
        except (BudgetExhausted, AuthError) as exc:  # nothing more can be written now
            self._halt(exc)
            return report, dict.fromkeys(pending, "")
        except Refused as exc:
            if exc.status == 400 and len(pending) > 1:
                ids = list(pending)
                for half in (ids[: len(ids) // 2], ids[len(ids) // 2 :]):
                    part, retry = self._collection([pending[i] for i in half])
                    report.merge(part)
                    again.update(retry)
                return report, again
            why = reason(exc.code or f"HTTP {exc.status}", exc.detail)
            report.failures += [RecordFailure(i, why, False) for i in pending]
            return report, again
        except ConnectorError as exc:  # request faults outlasted their retries
            return report, dict.fromkeys(pending, str(exc))
        for update, result in zip(sent, results or [], strict=False):
            if result.get("success"):
                report.updated += 1
                continue
            error = (result.get("errors") or [{}])[0]
            code = str(error.get("statusCode") or "UNKNOWN")
            why = reason(code, str(error.get("message") or ""), error.get("fields") or ())
            if code in RETRIABLE_CODES:
                again[update.account_id] = why
            else:
                report.failures.append(RecordFailure(update.account_id, why, False))
        for update in sent[len(results or []) :]:
            again[update.account_id] = "Salesforce returned no outcome for this record"
        return report, again

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

    def _bulk_csv(self, updates: Sequence[ScoreUpdate]) -> str:
        """The ingest CSV of ``updates``: what :func:`values` gives for each, a column at a
        time, ``#N/A`` for no value (an empty override cell leaves a rep's tier alone);
        the bytes ``csv.writer`` writes (:func:`_csv_cells`), joined a row at a time."""
        icp = self.icp
        keys = ("score", "tier", "flags", "reasons", "profile_version", "scored_at")
        names = ["Id", *(icp[k] for k in keys)]
        columns: list[Sequence[Any]] = [
            [u.account_id for u in updates],
            _cells([u.score for u in updates]),
            _cells([u.tier for u in updates]),
            _joined([u.flags for u in updates]),
            [u.reasons or NO_VALUE for u in updates],
            _cells([u.profile_version for u in updates]),
            _stamps([u.scored_at for u in updates]),
        ]
        override = icp.get("override")
        overrides = [u.override for u in updates]
        if override and overrides.count(None) < len(overrides):
            names.append(override)
            columns.append(["" if o is None else o for o in overrides])
        cells = [_csv_cells(column, self._cells) for column in columns]
        lines = [",".join(_csv_cells(names)), *map(",".join, zip(*cells, strict=True))]
        lines.append("")  # the last row ends with a line break too
        return "\n".join(lines)

    def _expected_s(self, rows: int) -> float | None:
        """How long an ingest job of ``rows`` is expected to take: at the last job's pace as
        the org reported it, with :data:`EXPECT_MARGIN` (at most ``POLL_MAX_S`` more);
        None before any job reported it."""
        if self._pace is None:
            return None
        expected = self._pace * rows
        return min(expected * EXPECT_MARGIN, expected + bulk.POLL_MAX_S)

    def _bulk(
        self, updates: list[ScoreUpdate], wanted: threading.Event | None = None
    ) -> tuple[WriteReport, Again]:
        report = WriteReport()
        why = self.api.budget.would_exceed(6)
        if why:
            self._halt(why)
            return report, dict.fromkeys((u.account_id for u in updates), "")
        data = self._bulk_csv(updates)
        obj = self.obj
        try:
            job = self.api.call(
                "bulk_ingest_create", lambda c: bulk.client(obj, c).create_job(Operation.update)
            )
            job_id = job["id"]
            self.api.call(
                "bulk_ingest_upload", lambda c: bulk.client(obj, c).upload_job_data(job_id, data)
            )
            data = ""  # uploaded: not held while the job runs and its outcome waits
            try:
                self.api.call("bulk_ingest_close", lambda c: bulk.client(obj, c).close_job(job_id))
            except ConnectorError:
                info = self.api.call(
                    "bulk_ingest_poll", lambda c: bulk.client(obj, c).get_job(job_id, False)
                )
                if info["state"] in ("Open", "Aborted", "Failed"):
                    raise
            info = bulk.wait(
                self.api,
                obj,
                job_id,
                query=False,
                poll_s=self.poll_s,
                deadline_s=self.bulk_timeout_s,
                expect_s=self._expected_s(len(updates)),
                wanted=None if self.api.budget.would_exceed(HOLD_ROOM) else wanted,
            )
            self._pace = _pace(info) or self._pace
            failed_csv = ""  # the org said no row failed: no results to read
            if info.get("numberRecordsFailed") != 0:
                failed_csv = self.api.call(
                    "bulk_ingest_results",
                    lambda c: bulk.client(obj, c).get_ingest_results(job_id, "failedResults"),
                )
        except (BudgetExhausted, AuthError) as exc:
            self._halt(exc)
            return report, dict.fromkeys((u.account_id for u in updates), "")
        except bulk.BulkTimeout as exc:  # outcome unknown: the next run reads and compares
            report.failures += [RecordFailure(u.account_id, str(exc), True) for u in updates]
            return report, {}
        except ConnectorError:  # the job failed as a whole: Collections isolate the records
            return self._collections(updates)
        by_id: dict[str, ScoreUpdate] = {}  # built when a record failed
        again: Again = {}
        for row in csv.DictReader(io.StringIO(failed_csv)):
            code, _, message = str(row.get("sf__Error") or "").partition(":")
            by_id = by_id or {u.account_id: u for u in updates}
            failed = by_id.get(str(row.get("sf__Id") or row.get("Id") or ""))
            if failed is None:
                continue
            why = reason(code, message.removesuffix(":--"))
            if code in RETRIABLE_CODES:
                again[failed.account_id] = why
            else:
                report.failures.append(RecordFailure(failed.account_id, why, False))
        processed = int(info.get("numberRecordsProcessed", 0))
        failed_rows = int(info.get("numberRecordsFailed", 0))
        if processed < len(updates) or len(report.failures) + len(again) < failed_rows:
            # rows without an outcome (left unprocessed, or failed rows the results do not
            # list): none is taken as written; the next run reads and compares
            why = f"salesforce bulk job {job_id}: {processed} of {len(updates)} rows processed"
            known = {f.account_id for f in report.failures} | again.keys()
            report.failures += [
                RecordFailure(u.account_id, why, True) for u in updates if u.account_id not in known
            ]
            return report, again
        report.updated = processed - failed_rows
        return report, again
