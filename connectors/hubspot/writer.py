"""Writing ICP values: ``batch_api.update``, 100 companies a call, per-record outcomes.

A 207 names the records that failed: validation errors (``INVALID_OPTION``,
``PROPERTY_DOESNT_EXIST``) and missing records are reported at once; other errors are
retried. A call whose response was lost (timeout, dropped connection, 5xx) may have been
applied, so before retrying it the records are read back and those already holding the
values are counted as written, never written twice. A ``DAILY`` 429 or a spent budget
stops the run cleanly: the records not written are reported and the next run resumes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInput,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInput,
    SimplePublicObjectId,
)

from icpsync.connectors.hubspot.client import HubSpotApi, RateLimited, RequestRefused
from icpsync.connectors.hubspot.values import NATIVE, NATIVE_TIER, TIER_VALUE, hubspot_datetime
from icpsync.core.errors import BudgetExhausted, RetriableError
from icpsync.core.model import RecordFailure, ScoreUpdate, WriteReport
from icpsync.engine.field_map import FieldMap

log = logging.getLogger(__name__)
BATCH = 100
#: categories of a 207 error that retrying will not fix.
FINAL_CATEGORIES = frozenset({"VALIDATION_ERROR", "OBJECT_NOT_FOUND"})
#: compared when reading back after a lost response (scored_at is reformatted by HubSpot).
_COMPARED = ("score", "tier", "flags", "reasons", "profile_version")


class _Retry(RetriableError):
    """Some records of a batch failed in a way worth retrying."""


class Writer:
    """Writes score updates in batches of 100, optionally several batches at once.

    Args:
        api: the limited, retried client.
        field_map: the ICP property names.
        mirror_native_tier: also set ``hs_ideal_customer_profile`` (tier_1/2/3, else cleared).
        concurrency: batches in flight at once (the limiter still paces them).
    """

    def __init__(
        self,
        api: HubSpotApi,
        field_map: FieldMap,
        *,
        mirror_native_tier: bool = False,
        concurrency: int = 1,
    ):
        self.api = api
        self.icp = field_map.icp
        self.mirror_native_tier = mirror_native_tier
        self.concurrency = concurrency
        self._stop = threading.Event()

    def properties(self, update: ScoreUpdate) -> dict[str, str]:
        """The property values one update writes (never the override)."""
        icp = self.icp
        values = {
            icp["score"]: str(update.score),
            icp["tier"]: TIER_VALUE.get(update.tier, update.tier),
            icp["flags"]: ";".join(update.flags),
            icp["reasons"]: update.reasons,
            icp["profile_version"]: update.profile_version,
            icp["scored_at"]: hubspot_datetime(update.scored_at),
        }
        if self.mirror_native_tier:
            values[NATIVE] = NATIVE_TIER.get(update.tier, "")
        return values

    def write(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
        """Write ``updates``; one report for all of them."""
        report = WriteReport(attempted=len(updates))
        batches = [
            {u.account_id: self.properties(u) for u in updates[i : i + BATCH]}
            for i in range(0, len(updates), BATCH)
        ]
        if self.concurrency > 1 and len(batches) > 1:
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="hubspot-write") as pool:
                parts = list(pool.map(self._batch, batches))
        else:
            parts = [self._batch(b) for b in batches]
        for part in parts:
            report.merge(part)
        return report

    def _batch(self, values: dict[str, dict[str, str]]) -> WriteReport:
        """One batch of up to 100: retried per record until written or refused."""
        report = WriteReport()
        pending = dict(values)
        reasons: dict[str, str] = {}
        lost = False
        if self._stop.is_set():
            return self._unwritten(report, pending, "not written: the run is stopping")
        try:
            for attempt in self.api.retrying():
                with attempt:
                    if lost:
                        self._drop_applied(pending, report)
                        lost = False
                    if not pending:
                        break
                    try:
                        self._send(pending, report, reasons)
                    except RateLimited:
                        raise
                    except RetriableError:
                        lost = True
                        raise
                    if pending:
                        raise _Retry(f"{len(pending)} records failed; retrying")
        except BudgetExhausted as exc:
            self._stop.set()
            report.stopped = str(exc)
            return self._unwritten(report, pending, f"not written: {exc}")
        except RequestRefused as exc:
            return self._unwritten(report, pending, str(exc), retriable=False)
        except RetriableError as exc:
            for rid in pending:
                report.failures.append(
                    RecordFailure(rid, reasons.get(rid, str(exc)), retriable=True)
                )
        return report

    def _send(
        self, pending: dict[str, dict[str, str]], report: WriteReport, reasons: dict[str, str]
    ) -> None:
        body = BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=rid, properties=props)
                for rid, props in pending.items()
            ]
        )
        result = self.api.call_once("batch_update", self.api.companies_batch.update, body)
        for record in result.results or []:
            if pending.pop(str(record.id), None) is not None:
                report.updated += 1
        for error in getattr(result, "errors", None) or []:
            ids = [str(i) for i in ((error.context or {}).get("ids") or [])]
            detail = (
                "; ".join(f"{e.code}: {e.message}" for e in (error.errors or []) if e.code)
                or error.message
            )
            reason = f"{error.category}: {detail}"
            for rid in ids:
                if rid not in pending:
                    continue
                if error.category in FINAL_CATEGORIES:
                    pending.pop(rid)
                    report.failures.append(RecordFailure(rid, reason, retriable=False))
                else:
                    reasons[rid] = reason

    def _drop_applied(self, pending: dict[str, dict[str, str]], report: WriteReport) -> None:
        """After a lost response: count (and drop) records that already hold the values."""
        names = [self.icp[k] for k in _COMPARED]
        body = BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=rid) for rid in pending],
            properties=names,
            properties_with_history=[],
        )
        result = self.api.call(
            "batch_read_companies", self.api.companies_batch.read, body, archived=False
        )
        for record in result.results or []:
            rid = str(record.id)
            wanted = pending.get(rid)
            props: dict[str, Any] = record.properties or {}
            if wanted is not None and all((props.get(n) or "") == wanted[n] for n in names):
                pending.pop(rid)
                report.updated += 1
        log.info("read back after a lost response: %d still to write", len(pending))

    @staticmethod
    def _unwritten(
        report: WriteReport,
        pending: dict[str, dict[str, str]],
        reason: str,
        *,
        retriable: bool = True,
    ) -> WriteReport:
        for rid in pending:
            report.failures.append(RecordFailure(rid, reason, retriable=retriable))
        return report
