"""Writing ICP values: ``batch_api.update``, 100 companies a call, per-record outcomes.

* Request faults (429, 5xx, lost responses) retry the call (the client's policy: its
  attempts, ``Retry-After``, a deadline). A call whose response was lost (timeout, dropped
  connection, 5xx) may have been applied, so before retrying it the records are read back
  and those already holding the values are counted as written, never written twice.
* A whole-batch 400 ``VALIDATION_ERROR`` (HubSpot rejects all 100 inputs for one invalid
  value, naming no record) is bisected until the refused records are isolated; every
  valid record is written. Each refused record keeps one readable line (property, code,
  what HubSpot allows) and is not retriable.
* Record faults (a 207 naming records that failed for a transient reason) are pooled:
  collected over the whole call and retried at its end, regrouped into full batches, a
  bounded number of rounds (counted apart from request retries). Validation errors and
  missing records in a 207 are reported at once, not retriable.
* A ``DAILY`` 429 or a spent budget stops the run cleanly: the records not written are
  reported and the next run resumes.

Request bodies are plain JSON-shaped dicts, sent through the client's own
``ApiClient.request`` (:mod:`.objects_api`: no model serialiser walking every value), and
responses are read as raw JSON: building and parsing the client's models (a
``Configuration`` copied per input, every ``createdAt`` parsed by dateutil) cost more than
the rest of a sync together. A 200 is HubSpot's answer when every input was applied (a
partly failed batch is a 207), so its body, an echo of the 100 records, is not parsed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from operator import attrgetter
from typing import Any

from tenacity import Retrying, retry_if_result, stop_after_attempt, wait_exponential

from icpsync.connectors.hubspot.client import (
    HubSpotApi,
    RateLimited,
    RequestRefused,
    readable,
)
from icpsync.connectors.hubspot.values import NATIVE, NATIVE_TIER, TIER_VALUE, hubspot_datetime
from icpsync.core.errors import BudgetExhausted, RetriableError
from icpsync.core.model import RecordFailure, ScoreUpdate, WriteReport
from icpsync.engine.field_map import FieldMap

log = logging.getLogger(__name__)
BATCH = 100
#: categories of a 207 error that retrying will not fix.
FINAL_CATEGORIES = frozenset({"VALIDATION_ERROR", "OBJECT_NOT_FOUND"})
#: codes of a 400 that concern every input alike: bisecting would only spend calls.
SHARED_CODES = frozenset({"PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE"})
#: compared when reading back after a lost response (scored_at is reformatted by HubSpot).
_COMPARED = ("score", "tier", "flags", "reasons", "profile_version")

Values = dict[str, dict[str, str]]
#: the ScoreUpdate fields that decide the values written (``Writer._outcome_values``).
_OUTCOME = attrgetter(
    "score", "tier", "flags", "reasons", "profile_version", "scored_at", "override"
)
_SCORED_AT = 5  # its position in an ``_OUTCOME`` key
_ACCOUNT_ID = attrgetter("account_id")
#: distinct outcomes a writer keeps formatted (a run has a few thousand).
OUTCOMES_KEPT = 50_000


class Writer:
    """Writes score updates in batches of 100, optionally several batches at once.

    Args:
        api: the limited, retried client.
        field_map: the ICP property names.
        mirror_native_tier: also set ``hs_ideal_customer_profile`` (tier_1/2/3, else cleared).
        concurrency: batches in flight at once (the limiter still paces them).
        record_retries: rounds of retrying records that failed for a transient reason
            (default: the client's ``max_retries``).
    """

    def __init__(
        self,
        api: HubSpotApi,
        field_map: FieldMap,
        *,
        mirror_native_tier: bool = False,
        concurrency: int = 1,
        record_retries: int | None = None,
    ):
        self.api = api
        self.icp = field_map.icp
        self.mirror_native_tier = mirror_native_tier
        self.concurrency = concurrency
        self.record_retries = api.max_retries if record_retries is None else record_retries
        self._stop = threading.Event()
        self._stop_reason = ""
        #: outcome (``_OUTCOME``'s fields) -> its property values, shared across writes.
        self._outcomes: dict[tuple[Any, ...], dict[str, str]] = {}
        self._stamps: dict[datetime, str] = {}

    def properties(self, update: ScoreUpdate) -> dict[str, str]:
        """The property values one update writes (the override only when the update sets
        it: a rep's direct edit of the tier kept as the override)."""
        return self._values([update])[update.account_id]

    def _values(self, updates: Sequence[ScoreUpdate]) -> Values:
        """Account id -> the property values to write, for every update.

        Updates with equal values share one (never modified) dict: a run writes one
        ``scored_at`` and a few thousand distinct outcomes, each formatted once for the
        whole run, not once per ``write`` (at most :data:`OUTCOMES_KEPT` are kept, and
        only the latest run's: a new ``scored_at`` lets the earlier ones go).
        """
        keys = list(map(_OUTCOME, updates))
        made = self._outcomes
        new = set(keys).difference(made)
        stamps = self._stamps
        next_run = stamps and not stamps.keys() >= {key[_SCORED_AT] for key in new}
        if next_run or len(made) + len(new) > OUTCOMES_KEPT:
            # a later run's scoring time, or too many: the outcomes kept so far go (a new
            # dict, not a cleared one: a write in another thread keeps its own)
            self._outcomes = made = {}
            self._stamps = {}
            new = set(keys)
            stamps = self._stamps
        for key in new:
            made[key] = self._outcome_values(*key, stamps=stamps)
        return dict(zip(map(_ACCOUNT_ID, updates), map(made.__getitem__, keys), strict=True))

    def _outcome_values(
        self,
        score: int,
        tier: str,
        flags: tuple[str, ...],
        reasons: str,
        version: str,
        scored_at: datetime,
        override: str | None,
        *,
        stamps: dict[datetime, str],
    ) -> dict[str, str]:
        """The property values of one outcome (``_OUTCOME``'s fields, in its order)."""
        icp = self.icp
        stamp = stamps.get(scored_at)
        if stamp is None:
            stamp = stamps[scored_at] = hubspot_datetime(scored_at)
        props = {
            icp["score"]: str(score),
            icp["tier"]: TIER_VALUE.get(tier, tier),
            icp["flags"]: ";".join(flags),
            icp["reasons"]: reasons,
            icp["profile_version"]: version,
            icp["scored_at"]: stamp,
        }
        if self.mirror_native_tier:
            props[NATIVE] = NATIVE_TIER.get(tier, "")
        field = icp.get("override")
        if override is not None and field is not None:
            props[field] = TIER_VALUE.get(override, override)
        return props

    def write(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
        """Write ``updates``; one report for all of them (never raises for one record)."""
        report = WriteReport(attempted=len(updates))
        values = self._values(updates)
        last: dict[str, str] = dict.fromkeys(values, "")

        def send_round() -> dict[str, str]:
            """One pass over the ids still to write, in full batches; the ids to try again."""
            ids = list(last)
            batches = [
                {i: values[i] for i in ids[n : n + BATCH]} for n in range(0, len(ids), BATCH)
            ]
            if self.concurrency > 1 and len(batches) > 1:
                with ThreadPoolExecutor(self.concurrency, "hubspot-write") as pool:
                    parts = list(pool.map(self._batch, batches))
            else:
                parts = [self._batch(b) for b in batches]
            again: dict[str, str] = {}
            for part, retry in parts:
                report.merge(part)
                again.update(retry)
            if again and not self._stop.is_set():
                self.api.note_retry("record")
                log.info("%d records failed for a transient reason; retrying them", len(again))
            last.clear()
            last.update(again)
            return again

        rounds = Retrying(
            retry=retry_if_result(lambda again: bool(again) and not self._stop.is_set()),
            stop=stop_after_attempt(self.record_retries + 1),
            wait=wait_exponential(multiplier=self.api.backoff_s / 5, max=10.0),
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else {},
        )
        rounds(send_round)
        for rid, reason in last.items():
            if self._stop.is_set():
                reason = f"not written: {self._stop_reason}"
            report.failures.append(RecordFailure(rid, reason, retriable=True))
        if self._stop.is_set():
            report.stopped = self._stop_reason
        return report

    def _batch(self, values: Values) -> tuple[WriteReport, dict[str, str]]:
        """One batch of up to 100: its report, and the ids worth another round."""
        report = WriteReport()
        if self._stop.is_set():
            return report, dict.fromkeys(values, "not written: the run is stopping")
        pending = dict(values)
        try:
            result = self._send_retried(pending, report)
        except BudgetExhausted as exc:
            self._stop_reason = self._stop_reason or str(exc)
            self._stop.set()
            return report, dict.fromkeys(pending, f"not written: {exc}")
        except RequestRefused as exc:
            return self._refused(pending, exc, report)
        except RetriableError as exc:
            return report, dict.fromkeys(pending, str(exc))
        again: dict[str, str] = {}
        if result is None:  # a 200: every input was applied (or none was left to send)
            report.updated += len(pending)
            return report, again
        for record in result.get("results") or []:
            if pending.pop(str(record.get("id")), None) is not None:
                report.updated += 1
        for error in result.get("errors") or []:
            ids = [str(i) for i in ((error.get("context") or {}).get("ids") or [])]
            reason = readable(error)
            for rid in ids:
                if pending.pop(rid, None) is None:
                    continue
                if error.get("category") in FINAL_CATEGORIES:
                    report.failures.append(RecordFailure(rid, reason, retriable=False))
                else:
                    again[rid] = reason
        for rid in pending:  # neither a result nor an error: not applied, as far as we know
            again[rid] = "HubSpot returned no outcome for this record"
        return report, again

    def _refused(
        self, pending: Values, exc: RequestRefused, report: WriteReport
    ) -> tuple[WriteReport, dict[str, str]]:
        """A 400 for the whole batch: bisect to the inputs HubSpot refuses."""
        reason = readable(exc.body) or str(exc)
        codes = {str(e.get("code")) for e in exc.body.get("errors") or [] if isinstance(e, dict)}
        bisect = exc.status == 400 and exc.category == "VALIDATION_ERROR"
        if len(pending) > 1 and bisect and not codes & SHARED_CODES:
            again: dict[str, str] = {}
            for group in _split(pending, exc.body):
                part, retry = self._batch({i: pending[i] for i in group})
                report.merge(part)
                again.update(retry)
            return report, again
        for rid in pending:
            report.failures.append(RecordFailure(rid, reason, retriable=False))
        return report, {}

    def _send_retried(self, pending: Values, report: WriteReport) -> Any:
        """The batch update under the request retry policy (lost responses read back)."""
        lost = False
        for attempt in self.api.retrying():
            with attempt:
                if lost:
                    self._drop_applied(pending, report)
                    lost = False
                if not pending:
                    return None
                try:
                    return self._send(pending)
                except RateLimited:
                    raise
                except RetriableError:
                    lost = True
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, pending: Values) -> dict[str, Any] | None:
        """One ``POST /crm/v3/objects/companies/batch/update``: None on a 200 (HubSpot
        applied every input), the JSON of a 207 (``results`` and per-record ``errors``)."""
        body = {"inputs": [{"id": rid, "properties": props} for rid, props in pending.items()]}
        result: dict[str, Any] | None = self.api.call_once(
            "batch_update", self.api.companies_update.update, body, raw=True, unread_200=True
        )
        return result

    def _drop_applied(self, pending: Values, report: WriteReport) -> None:
        """After a lost response: count (and drop) records that already hold the values."""
        names = [self.icp[k] for k in _COMPARED]
        body = {
            "inputs": [{"id": rid} for rid in pending],
            "properties": names,
            "propertiesWithHistory": [],
        }
        result = self.api.call(
            "batch_read_companies", self.api.companies_batch.read, body, raw=True, archived=False
        )
        for record in result.get("results") or []:
            rid = str(record.get("id"))
            wanted = pending.get(rid)
            props: dict[str, Any] = record.get("properties") or {}
            if wanted is not None and all((props.get(n) or "") == wanted[n] for n in names):
                pending.pop(rid)
                report.updated += 1
        log.info("read back after a lost response: %d still to write", len(pending))


def _split(pending: Values, body: dict[str, Any]) -> list[list[str]]:
    """How to divide a refused batch: the inputs holding the value the 400 names apart from
    the others (HubSpot names the property and value, never the record), else halves."""
    ids = list(pending)
    checks = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    if checks:
        names = (checks[0].get("context") or {}).get("propertyName") or []
        text = str(checks[0].get("message") or "").split(":")[0]  # not the allowed values
        name = str(names[0]) if names else ""
        suspects = [i for i in ids if pending[i].get(name) and str(pending[i][name]) in text]
        if 0 < len(suspects) < len(ids):
            chosen = set(suspects)
            return [[i for i in ids if i not in chosen], suspects]
    return [ids[: len(ids) // 2], ids[len(ids) // 2 :]]
