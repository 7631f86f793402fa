"""The "Accounts by ICP tier" report, through the Analytics REST API (``analytics/reports``).

A summary report on the ``AccountList`` report type grouped by the tier field with the
record count. It is saved in the report folder named by ``[salesforce] report_folder``
(a folder's API name) or, by default, in the integration user's private reports (the
folder id of "My Personal Custom Reports" is the user's id): only that user sees it there,
so name a shared folder for reps. The report is found again by name and its description,
which marks it as the tool's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from simple_salesforce import format_soql

from icpsync.connectors.salesforce.api import Api
from icpsync.core.errors import ConfigError
from icpsync.engine.protocol import PlanStep

NAME = "Accounts by ICP tier"
MARK = "Created by icpsync: accounts per ICP tier. Removed by icpsync uninstall."
PRIVATE = "the integration user's private reports"


class Report:
    """Plans, creates, deletes and runs the tool's report."""

    def __init__(
        self,
        api: Api,
        obj: str,
        icp: Mapping[str, str],
        folder: str | None,
        user_id: Callable[[], str],
    ):
        self.api, self.obj, self.icp, self.folder = api, obj, icp, folder
        self._user_id = user_id

    def where(self) -> str:
        return f"folder {self.folder}" if self.folder else PRIVATE

    def _folder_id(self) -> str:
        if not self.folder:
            return self._user_id()
        query = format_soql(
            "SELECT Id FROM Folder WHERE Type = 'Report' AND DeveloperName = {}", self.folder
        )
        rows = self.api.call("query", lambda c: c.query_all(query)["records"])
        if not rows:
            raise ConfigError(
                f"no report folder with the API name {self.folder!r} (Reports > Folders); "
                "leave it unset for the integration user's private reports",
                key="salesforce.report_folder",
            )
        return str(rows[0]["Id"])

    def metadata(self, folder_id: str) -> dict[str, Any]:
        tier = f"{self.obj}.{self.icp['tier']}"
        details = ["ACCOUNT.NAME", f"{self.obj}.{self.icp['score']}", "USERS.NAME"]
        if "reasons" in self.icp:
            details.append(f"{self.obj}.{self.icp['reasons']}")
        return {
            "name": NAME,
            "description": MARK,
            "reportFormat": "SUMMARY",
            "reportType": {"type": "AccountList"},
            "folderId": folder_id,
            "detailColumns": details,
            "groupingsDown": [{"name": tier, "sortOrder": "Asc", "dateGranularity": "None"}],
            "aggregates": ["RowCount"],
        }

    def find(self) -> str | None:
        """The id of the tool's report, or None."""
        query = format_soql("SELECT Id, Description FROM Report WHERE Name = {}", NAME)
        rows = self.api.call("query", lambda c: c.query_all(query)["records"])
        ours = [r for r in rows if r.get("Description") == MARK]
        return str(ours[0]["Id"]) if ours else None

    def ensure(self, *, dry_run: bool) -> list[PlanStep]:
        report_id = self.find()
        folder_id = self._folder_id()
        wanted = self.metadata(folder_id)
        if report_id is None:
            if not dry_run:
                body = {"reportMetadata": wanted}
                self.api.call(
                    "analytics", lambda c: c.restful("analytics/reports", method="POST", json=body)
                )
            return [PlanStep("create report", NAME, f"in {self.where()}", not dry_run)]
        described: dict[str, Any] = self.api.call(
            "analytics", lambda c: c.restful(f"analytics/reports/{report_id}/describe") or {}
        )
        have = described["reportMetadata"]
        keys = ("reportFormat", "detailColumns", "groupingsDown", "aggregates", "folderId")
        if all(_comparable(have.get(k)) == _comparable(wanted[k]) for k in keys):
            return [PlanStep("unchanged", f"report {NAME}", f"in {self.where()}", True)]
        if not dry_run:
            body = {"reportMetadata": {**wanted, "id": report_id}}
            self.api.call(
                "analytics",
                lambda c: c.restful(f"analytics/reports/{report_id}", method="PATCH", json=body),
            )
        return [PlanStep("update report", NAME, f"in {self.where()}", not dry_run)]

    def remove(self, *, dry_run: bool) -> list[PlanStep]:
        report_id = self.find()
        if report_id is None:
            return []
        if not dry_run:
            self.api.call(
                "analytics",
                lambda c: c.restful(f"analytics/reports/{report_id}", method="DELETE"),
            )
        return [PlanStep("delete report", NAME, report_id, not dry_run)]

    def run(self) -> dict[str, int]:
        """Accounts per tier as the report counts them (empty when there is no report)."""
        report_id = self.find()
        if report_id is None:
            return {}
        result: dict[str, Any] = self.api.call(
            "analytics",
            lambda c: (
                c.restful(f"analytics/reports/{report_id}", params={"includeDetails": "false"})
                or {}
            ),
        )
        counts = {}
        for group in result["groupingsDown"]["groupings"]:
            cell = result["factMap"][f"{group['key']}!T"]
            counts[str(group["label"])] = int(cell["aggregates"][0]["value"])
        return counts


def _comparable(value: Any) -> Any:
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if k in ("name", "sortOrder", "type")}
    return value
