"""REST, Tooling and Bulk 2.0 routes of the sandbox (the part of the org API behind auth).

``Routes`` is mixed into the app: it answers one authenticated request with a
:class:`Response` in Salesforce's shapes, errors as ``[{message, errorCode, fields}]``.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from icpsync.connectors.salesforce.sandbox.bulk import Jobs
from icpsync.connectors.salesforce.sandbox.faults import LOCK, Faults
from icpsync.connectors.salesforce.sandbox.org import Org, RecordError
from icpsync.connectors.salesforce.sandbox.render import Selection, json_column
from icpsync.connectors.salesforce.sandbox.reports import Reports
from icpsync.connectors.salesforce.sandbox.schema import to_json
from icpsync.connectors.salesforce.sandbox.seed import sf_id

MIN_VERSION, MAX_VERSION = 42.0, 62.0
#: REST query pages kept written ahead at most (the oldest go first).
PAGES_AHEAD = 16
_serial = itertools.count(1)


class Response:
    """What a route answers: status, body (JSON-able, text or None) and extra headers;
    ``after``: work the org starts once the answer is sent (a Bulk job's processing)."""

    def __init__(
        self,
        status: int = 200,
        body: Any = None,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json;charset=UTF-8",
        after: Callable[[], None] | None = None,
    ):
        self.status, self.body, self.headers = status, body, headers or {}
        self.content_type = content_type
        self.after = after


class Routes:
    """The org's REST resources; expects ``org``, ``jobs``, ``faults`` and ``cursors``."""

    org: Org
    jobs: Jobs
    faults: Faults
    cursors: dict[str, Selection]
    #: (cursor, start, end) -> the page's JSON, being written or written (see ``_page``).
    pages_ahead: dict[tuple[str, int, int], Future[str]]
    cursors_lock: threading.Lock
    reports: Reports

    def _route(
        self,
        method: str,
        version: str,
        rest: str,
        params: dict[str, list[str]],
        headers: Any,
        body: bytes,
        fault: str | None,
    ) -> Response:
        parts = rest.split("/")
        data = json.loads(body) if body and "json" in str(headers.get("Content-Type")) else None
        locked = fault == LOCK
        if rest == "" and method == "GET":
            names = ("sobjects", "query", "queryAll", "limits", "tooling", "composite", "jobs")
            return Response(body={n: f"/services/data/v{version}/{n}" for n in names})
        if parts[0] in ("query", "queryAll") and len(parts) == 1:
            return self._query(version, params["q"][0], headers, tooling=False)
        if parts[0] in ("query", "queryAll") and len(parts) == 2:
            return self._query_more(version, parts[1])
        if parts[0] == "tooling" and parts[1:2] == ["query"]:
            return self._query(version, params["q"][0], headers, tooling=True)
        if parts[0] == "limits":
            used, limit = self.org.api_used, self.org.daily_limit
            return Response(
                body={
                    "DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)},
                    "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                }
            )
        if parts[0] == "sobjects":
            return self._sobjects(method, version, parts[1:], data)
        if parts[0] == "composite" and parts[1:] == ["sobjects"]:
            return self._collection(method, data, locked)
        if parts[0] == "tooling" and parts[1:3] == ["sobjects", "CustomField"]:
            return self._custom_field(method, parts[3:], data)
        if parts[0] == "analytics" and parts[1:2] == ["reports"]:
            status, out = self.reports.route(method, version, parts[2:], data)
            return Response(status, out)
        if parts[0] == "jobs":
            return self._jobs(method, parts[1:], params, data, body, locked)
        return error(404, "NOT_FOUND", "The requested resource does not exist")

    def _record(self, version: str, object_name: str, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attributes": {
                "type": object_name,
                "url": f"/services/data/v{version}/sobjects/{object_name}/{row.get('Id', '')}",
            }
        }
        out.update((k, to_json(v)) for k, v in row.items())
        return out

    def _query(self, version: str, text: str, headers: Any, *, tooling: bool) -> Response:
        query, selection = self.org.query(text, tooling=tooling)
        if query.count:
            return Response(body={"totalSize": selection.size, "done": True, "records": []})
        size = 2000
        option = str(headers.get("Sforce-Query-Options") or "")
        found = re.search(r"batchSize=(\d+)", option)
        if found:
            size = max(200, min(2000, int(found.group(1))))
        cursor_id = sf_id("01g", next(_serial))
        self.cursors[cursor_id] = selection
        return self._page(version, cursor_id, 0, size)

    def _page(self, version: str, cursor_id: str, start: int, size: int) -> Response:
        """A page of a cursor's rows; the next page is written once this one is sent (a
        client asks for it next), as the org keeps a query's results ready."""
        selection = self.cursors[cursor_id]
        total = selection.size
        end = min(start + size, total) if start < total else start
        with self.cursors_lock:
            ahead = self.pages_ahead.pop((cursor_id, start, end), None)
        text = (
            ahead.result()
            if ahead is not None
            else _page_text(version, cursor_id, selection, start, end)
        )
        if end >= total:
            self.cursors.pop(cursor_id, None)
            return Response(body=text)
        following = end, min(end + 2000, total)
        return Response(body=text, after=lambda: self._write_ahead(version, cursor_id, *following))

    def _write_ahead(self, version: str, cursor_id: str, start: int, end: int) -> None:
        """Write a cursor's page in the background (for the request to come)."""
        selection = self.cursors.get(cursor_id)
        if selection is None:
            return
        future: Future[str] = Future()
        with self.cursors_lock:
            while len(self.pages_ahead) >= PAGES_AHEAD:  # pages of cursors left unread
                del self.pages_ahead[next(iter(self.pages_ahead))]
            self.pages_ahead[cursor_id, start, end] = future

        def write() -> None:
            try:
                future.set_result(_page_text(version, cursor_id, selection, start, end))
            except Exception as exc:  # raised to the request that wants the page
                future.set_exception(exc)

        threading.Thread(target=write, name="sandbox-page", daemon=True).start()

    def _query_more(self, version: str, locator: str) -> Response:
        cursor_id, _, start = locator.partition("-")
        if cursor_id not in self.cursors or not start.isdigit():
            return error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        size = 2000
        return self._page(version, cursor_id, int(start), size)

    def _sobjects(self, method: str, version: str, parts: list[str], data: Any) -> Response:
        if not parts:
            names = sorted(self.org.schema)
            return Response(body={"sobjects": [{"name": n, "queryable": True} for n in names]})
        object_name = parts[0]
        if parts[1:] == ["describe"] and method == "GET":
            return Response(body=self.org.describe(object_name))
        if len(parts) == 1 and method == "POST":
            try:
                new_id = self.org.insert(object_name, dict(data or {}))
            except RecordError as exc:
                return error(400, exc.code, exc.message, exc.fields)
            return Response(201, {"id": new_id, "success": True, "errors": []})
        if len(parts) == 2 and method == "PATCH":
            try:
                self.org.update(object_name, parts[1], dict(data or {}))
            except RecordError as exc:
                status = 404 if exc.code in ("ENTITY_IS_DELETED", "MALFORMED_ID") else 400
                return error(status, exc.code, exc.message, exc.fields)
            return Response(204)
        if len(parts) == 2 and method == "DELETE":
            self.org.delete(object_name, parts[1])
            return Response(204)
        if len(parts) == 2 and method == "GET":
            with self.org.lock:
                fields = self.org.fields(object_name)
                row = self.org.records.get(object_name, {}).get(parts[1])
                if row is None:
                    return error(404, "NOT_FOUND", "The requested resource does not exist")
                visible = {k: v for k, v in row.items() if k in fields}
            return Response(body=self._record(version, object_name, visible))
        return error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed.")

    def _collection(self, method: str, data: Any, locked: bool) -> Response:
        if not isinstance(data, dict) or not isinstance(data.get("records"), list):
            return error(400, "JSON_PARSER_ERROR", "expected {allOrNone, records}")
        records = data["records"]
        if len(records) > 200:
            return error(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records",
            )
        results = []
        for record in records:
            object_name = str((record.get("attributes") or {}).get("type") or "")
            try:
                if locked and self.faults.row_locked():
                    raise RecordError(
                        "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"
                    )
                if method == "PATCH":
                    record_id = str(record.get("id") or record.get("Id") or "")
                    self.org.update(object_name, record_id, record)
                elif method == "POST":
                    record_id = self.org.insert(object_name, record)
                else:
                    return error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed.")
                results.append({"id": record_id, "success": True, "errors": []})
            except RecordError as exc:
                problem = {"statusCode": exc.code, "message": exc.message, "fields": exc.fields}
                results.append({"success": False, "errors": [problem]})
        return Response(body=results)

    def _custom_field(self, method: str, parts: list[str], data: Any) -> Response:
        if not parts and method == "POST":
            field_id = self.org.create_custom_field(dict(data or {}))
            return Response(201, {"id": field_id, "success": True, "errors": [], "warnings": []})
        if len(parts) == 1 and method == "GET":
            return Response(body=self.org.custom_field(parts[0]))
        if len(parts) == 1 and method == "PATCH":
            self.org.update_custom_field(parts[0], dict(data or {}))
            return Response(204)
        if len(parts) == 1 and method == "DELETE":
            self.org.delete_custom_field(parts[0])
            return Response(204)
        return error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed.")

    def _jobs(
        self,
        method: str,
        parts: list[str],
        params: dict[str, list[str]],
        data: Any,
        body: bytes,
        locked: bool,
    ) -> Response:
        kind = parts[0] if parts else ""
        if kind == "query":
            if len(parts) == 1 and method == "POST":
                answer, start = self.jobs.create_query(dict(data or {}))
                return Response(body=answer, after=start)
            job = self.jobs.query_job(parts[1])
            if len(parts) == 2 and method == "GET":
                info = job.info()
                return Response(body={**info, "state": "InProgress"} if self.jobs.stalled else info)
            if len(parts) == 2 and method == "PATCH":
                return Response(body={**job.info(), "state": str((data or {}).get("state"))})
            if parts[2:] == ["results"] and method == "GET":
                text, locator, count, ahead = job.page(
                    params.get("locator", [""])[0], int(params.get("maxRecords", ["50000"])[0])
                )
                return Response(
                    body=text,
                    headers={"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(count)},
                    content_type="text/csv",
                    after=ahead,
                )
        if kind == "ingest":
            if len(parts) == 1 and method == "POST":
                return Response(body=self.jobs.create_ingest(dict(data or {})))
            job_id = parts[1]
            if parts[2:] == ["batches"] and method == "PUT":
                self.jobs.upload(job_id, body.decode("utf-8"))
                return Response(201)
            if len(parts) == 2 and method == "PATCH":
                row_fault = self.faults.row_locked if locked else (lambda: False)
                answer, after = self.jobs.close(job_id, str(data.get("state")), row_fault)
                return Response(body=answer, after=after)
            if len(parts) == 2 and method == "GET":
                info = self.jobs.ingest_job(job_id).info()
                return Response(body={**info, "state": "InProgress"} if self.jobs.stalled else info)
            if len(parts) == 2 and method == "DELETE":
                self.jobs.ingest_jobs.pop(job_id, None)
                return Response(204)
            if len(parts) == 3 and method == "GET":
                return Response(body=self.jobs.results(job_id, parts[2]), content_type="text/csv")
        return error(404, "NOT_FOUND", "The requested resource does not exist")


def _page_text(version: str, cursor_id: str, selection: Selection, start: int, end: int) -> str:
    """A REST query page's JSON: rows ``start`` to ``end`` of the cursor's selection."""
    total = selection.size
    body: dict[str, Any] = {
        "totalSize": total,
        "done": end >= total,
        "records": _records(version, selection, start, end),
    }
    if end < total:
        body["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor_id}-{end}"
    return json.dumps(body)


def _records(version: str, selection: Selection, start: int, end: int) -> list[dict[str, Any]]:
    """Rows ``start`` to ``end`` as REST records (``attributes`` first, then the fields)."""
    fields, part = selection.fields, selection.columns(start, end)
    ids = part[fields.index("Id")] if "Id" in fields else [""] * (end - start)
    url = f"/services/data/v{version}/sobjects/{selection.object}/"
    records = []
    for record_id, values in zip(ids, zip(*map(json_column, part), strict=True), strict=True):
        record: dict[str, Any] = {
            "attributes": {"type": selection.object, "url": f"{url}{record_id}"}
        }
        record.update(zip(fields, values, strict=True))
        records.append(record)
    return records


def error(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    return Response(status, [{"message": message, "errorCode": code, "fields": fields or []}])


def versions() -> list[dict[str, str]]:
    out = []
    version = MIN_VERSION
    while version <= MAX_VERSION:
        out.append(
            {
                "label": "sandbox",
                "url": f"/services/data/v{version:.1f}",
                "version": f"{version:.1f}",
            }
        )
        version += 1
    return out


def request_kind(method: str, rest: str) -> str:
    """A short name for what a request does, for the stats."""
    parts = rest.split("/")
    head = parts[0]
    if head in ("query", "queryAll"):
        return "query" if len(parts) == 1 else "query_more"
    if head == "tooling":
        return "tooling_query" if parts[1:2] == ["query"] else f"tooling_{method.lower()}"
    if head == "sobjects":
        if parts[-1] == "describe":
            return "describe"
        kinds = {"POST": "sobject_insert", "PATCH": "sobject_update", "DELETE": "sobject_delete"}
        return kinds.get(method, "sobject_get")
    if head == "composite":
        return "composite_update" if method == "PATCH" else "composite_insert"
    if head == "analytics":
        return "analytics"
    if head == "jobs":
        job = parts[1] if len(parts) > 1 else ""
        step = {"POST": "create", "PUT": "upload", "PATCH": "close", "DELETE": "delete"}.get(
            method, "results" if len(parts) > 3 else "poll"
        )
        return f"bulk_{job}_{step}"
    return head or "root"
