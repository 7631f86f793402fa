"""Analytics REST API reports on the sandbox org: create, describe, update, run, delete.

``/services/data/vXX.X/analytics/reports`` in Salesforce's shapes (``reportMetadata``,
``reportExtendedMetadata``, ``groupingsDown``/``factMap`` when run), for summary reports on
the ``AccountList`` report type. Saved reports are also rows of the ``Report`` object (and
folders of ``Folder``), so SOQL finds them as in a real org. A report's folder is a report
``Folder`` or the running user's id (the private reports folder).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from icpsync.connectors.salesforce.sandbox.errors import ApiError
from icpsync.connectors.salesforce.sandbox.org import Org
from icpsync.connectors.salesforce.sandbox.schema import field

STANDARD_COLUMNS = {"ACCOUNT.NAME": "Name", "USERS.NAME": "OwnerId", "TYPE": "Type"}


def add_objects(org: Org) -> None:
    """Give the org the ``Report`` and ``Folder`` objects and one shared report folder."""
    system = [
        field(n, "datetime", updateable=False)
        for n in ("CreatedDate", "LastModifiedDate", "SystemModstamp")
    ]
    objects = {
        "Report": [
            field("Id", "id", updateable=False, length=18),
            field("Name", "string", length=40),
            field("DeveloperName", "string", length=80),
            field("Description", "string", length=255),
            field("FolderName", "string", length=40),
            field("OwnerId", "reference", length=18),
            *system,
        ],
        "Folder": [
            field("Id", "id", updateable=False, length=18),
            field("Name", "string", length=40),
            field("DeveloperName", "string", length=80),
            field("Type", "string", length=40),
            *system,
        ],
    }
    with org.lock:
        for name, fields in objects.items():
            org.schema[name] = {f["name"]: f for f in fields}
            org.records[name] = {}
        folder_id = org.new_id("Folder")
        stamp = org.stamp()
        org.records["Folder"][folder_id] = {
            "Id": folder_id,
            "Name": "Sales Ops Reports",
            "DeveloperName": "Sales_Ops_Reports",
            "Type": "Report",
            "CreatedDate": stamp,
            "LastModifiedDate": stamp,
            "SystemModstamp": stamp,
        }


class Reports:
    """The reports resource; metadata kept per report id."""

    def __init__(self, org: Org):
        self.org = org
        self.saved: dict[str, dict[str, Any]] = {}

    def route(self, method: str, version: str, parts: list[str], data: Any) -> tuple[int, Any]:
        """``parts`` after ``analytics/reports``; returns (status, body)."""
        if not parts and method == "POST":
            return 200, self._save(None, (data or {}).get("reportMetadata") or {}, version)
        if not parts:
            return 200, [self._listing(rid, version) for rid in self.saved]
        report_id = parts[0]
        if report_id not in self.saved:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if parts[1:] == ["describe"] and method == "GET":
            return 200, self._describe(report_id)
        if len(parts) == 1 and method == "PATCH":
            return 200, self._save(report_id, (data or {}).get("reportMetadata") or {}, version)
        if len(parts) == 1 and method == "DELETE":
            with self.org.lock:
                del self.saved[report_id]
                self.org.records["Report"].pop(report_id, None)
            return 204, None
        if len(parts) == 1 and method in ("GET", "POST"):
            return 200, self._run(report_id)
        raise ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed.")

    def _column(self, name: str) -> str:
        if name in STANDARD_COLUMNS:
            return STANDARD_COLUMNS[name]
        obj, _, field_name = name.partition(".")
        if obj != "Account" or field_name not in self.org.schema["Account"]:
            raise ApiError(400, "BAD_REQUEST", f"The column {name} is invalid for AccountList")
        return field_name

    def _save(self, report_id: str | None, meta: dict[str, Any], version: str) -> dict[str, Any]:
        if not meta.get("name"):
            raise ApiError(400, "BAD_REQUEST", "A report name is required")
        if (meta.get("reportType") or {}).get("type") != "AccountList":
            raise ApiError(400, "BAD_REQUEST", "The sandbox knows the AccountList report type only")
        for column in meta.get("detailColumns") or []:
            self._column(column)
        for grouping in meta.get("groupingsDown") or []:
            self._column(grouping["name"])
        folder_id = str(meta.get("folderId") or self.org.user_id)
        with self.org.lock:
            folder = self.org.records["Folder"].get(folder_id)
            if folder is None and folder_id != self.org.user_id:
                raise ApiError(400, "BAD_REQUEST", f"Invalid folder id: {folder_id}")
            report_id = report_id or self.org.new_id("Report")
            stamp = self.org.stamp()
            clean = {**meta, "id": report_id, "folderId": folder_id}
            clean.setdefault("aggregates", ["RowCount"])
            clean.setdefault("developerName", "_".join(str(meta["name"]).split()))
            self.saved[report_id] = clean
            self.org.records["Report"][report_id] = {
                "Id": report_id,
                "Name": clean["name"],
                "DeveloperName": clean["developerName"],
                "Description": clean.get("description"),
                "FolderName": folder["Name"] if folder else "My Personal Custom Reports",
                "OwnerId": self.org.user_id,
                "CreatedDate": stamp,
                "LastModifiedDate": stamp,
                "SystemModstamp": stamp,
            }
        return self._describe(report_id)

    def _listing(self, report_id: str, version: str) -> dict[str, Any]:
        meta = self.saved[report_id]
        return {
            "id": report_id,
            "name": meta["name"],
            "url": f"/services/data/v{version}/analytics/reports/{report_id}",
            "describeUrl": f"/services/data/v{version}/analytics/reports/{report_id}/describe",
            "instancesUrl": f"/services/data/v{version}/analytics/reports/{report_id}/instances",
        }

    def _describe(self, report_id: str) -> dict[str, Any]:
        meta = self.saved[report_id]
        return {
            "attributes": {"type": "Report", "reportId": report_id, "reportName": meta["name"]},
            "reportMetadata": meta,
            "reportExtendedMetadata": {
                "aggregateColumnInfo": {"RowCount": {"label": "Record Count", "dataType": "int"}},
                "groupingColumnInfo": {
                    g["name"]: {"label": g["name"], "dataType": "picklist", "groupingLevel": i}
                    for i, g in enumerate(meta.get("groupingsDown") or [])
                },
            },
            "reportTypeMetadata": {"category": "accounts", "type": "AccountList"},
        }

    def _run(self, report_id: str) -> dict[str, Any]:
        meta = self.saved[report_id]
        groupings = meta.get("groupingsDown") or []
        with self.org.lock:
            rows = list(self.org.records["Account"].values())
        fact_map: dict[str, Any] = {"T!T": _cell(len(rows))}
        down: list[dict[str, Any]] = []
        if groupings:
            name = self._column(groupings[0]["name"])
            counts = Counter(r.get(name) for r in rows)
            ordered = sorted(counts, key=lambda v: (v is None, str(v)))
            for key, value in enumerate(ordered):
                label = "-" if value is None else str(value)
                down.append({"key": str(key), "label": label, "value": value, "groupings": []})
                fact_map[f"{key}!T"] = _cell(counts[value])
        return {
            "attributes": {"type": "Report", "reportId": report_id, "reportName": meta["name"]},
            "allData": True,
            "hasDetailRows": False,
            "reportMetadata": meta,
            "groupingsDown": {"groupings": down},
            "groupingsAcross": {"groupings": []},
            "factMap": fact_map,
        }


def _cell(count: int) -> dict[str, Any]:
    return {"aggregates": [{"label": f"{count:,}", "value": count}], "rows": []}
