"""``icpsync uninstall --crm salesforce``: take out what install created, and only that.

Order matters: the layout sections, list views and report go first (they name the fields),
then the permission set assignments and sets, then (unless ``keep_fields``) the fields.
Before the fields go, the plan says how many accounts hold a value in them, so the CLI can
show what data the deletion loses before it asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simple_salesforce import format_soql

from icpsync.connectors.salesforce.api import Api
from icpsync.connectors.salesforce.install import INTEGRATION_SET, READER_SET
from icpsync.connectors.salesforce.layouts import Layouts
from icpsync.connectors.salesforce.listviews import ListViews
from icpsync.connectors.salesforce.reports import Report
from icpsync.core.errors import FatalError
from icpsync.engine.protocol import PlanStep


class Uninstaller:
    """Plans and applies the removal (see the module docstring)."""

    def __init__(
        self,
        api: Api,
        obj: str,
        icp: Mapping[str, str],
        layouts: Layouts,
        views: ListViews,
        report: Report,
    ):
        self.api, self.obj, self.icp = api, obj, icp
        self.layouts, self.views, self.report = layouts, views, report

    def remove(self, *, dry_run: bool, keep_fields: bool) -> list[PlanStep]:
        # counted first: once the permission sets are gone the fields are invisible to SOQL
        fields = {} if keep_fields else self._our_fields()
        held = self.records_with_values(sorted(fields)) if fields else 0
        steps = self.layouts.remove(dry_run=dry_run)
        steps += self.views.remove(dry_run=dry_run)
        steps += self.report.remove(dry_run=dry_run)
        steps += self._permission_sets(dry_run)
        if keep_fields:
            steps.append(PlanStep("keep fields", self.obj, "--keep-fields: values stay", True))
        else:
            steps += self._fields(fields, held, dry_run)
        return steps

    def _query(self, soql: str) -> list[dict[str, Any]]:
        return self.api.call("query", lambda c: c.query_all(soql)["records"])

    def _permission_sets(self, dry_run: bool) -> list[PlanStep]:
        sets = self._query(
            format_soql(
                "SELECT Id, Name FROM PermissionSet WHERE Name IN {}", [INTEGRATION_SET, READER_SET]
            )
        )
        if not sets:
            return []
        ids = [s["Id"] for s in sets]
        assignments = self._query(
            format_soql("SELECT Id FROM PermissionSetAssignment WHERE PermissionSetId IN {}", ids)
        )
        steps = []
        if assignments:
            if not dry_run:
                for row in assignments:
                    self._delete("PermissionSetAssignment", row["Id"])
            steps.append(
                PlanStep(
                    "remove assignments",
                    "permission sets",
                    f"{len(assignments)} user(s)",
                    not dry_run,
                )
            )
        for row in sets:
            if not dry_run:
                self._delete("PermissionSet", row["Id"])
            steps.append(PlanStep("delete permission set", row["Name"], "", not dry_run))
        return steps

    def _delete(self, obj: str, record_id: str) -> None:
        """Delete one record; already gone (a retried call that had landed) is fine."""
        try:
            self.api.call("delete", lambda c: getattr(c, obj).delete(record_id))
        except FatalError as exc:
            if "ENTITY_IS_DELETED" not in str(exc) and "NOT_FOUND" not in str(exc):
                raise

    def _our_fields(self) -> dict[str, str]:
        """The tool's custom fields that exist: name -> Tooling id."""
        rows = self.api.call(
            "tooling_query",
            lambda c: c.toolingexecute(
                "query/",
                params={
                    "q": format_soql(
                        "SELECT Id, DeveloperName FROM CustomField WHERE TableEnumOrId = {}",
                        self.obj,
                    )
                },
            )["records"],
        )
        ours = set(self.icp.values())
        fields = {f"{r['DeveloperName']}__c": r["Id"] for r in rows}
        return {name: fid for name, fid in fields.items() if name in ours}

    def _fields(self, fields: dict[str, str], held: int, dry_run: bool) -> list[PlanStep]:
        if not fields:
            return []
        steps = [
            PlanStep(
                "delete values",
                self.obj,
                f"{held:,} record(s) hold a value in the {len(fields)} field(s) below",
                not dry_run,
            )
        ]
        for name, field_id in sorted(fields.items()):
            if not dry_run:
                self._delete_field(field_id)
            steps.append(PlanStep("delete field", f"{self.obj}.{name}", "", not dry_run))
        return steps

    def _delete_field(self, field_id: str) -> None:
        path = f"sobjects/CustomField/{field_id}"
        try:
            self.api.call("tooling_delete", lambda c: c.toolingexecute(path, "DELETE"))
        except FatalError as exc:
            if "NOT_FOUND" not in str(exc):  # gone already: a retried call had landed
                raise

    def records_with_values(self, names: list[str]) -> int:
        """Accounts holding a value in any of the named fields (one COUNT() query)."""
        if not names:
            return 0
        where = " OR ".join(f"{n} != null" for n in names)
        soql = f"SELECT COUNT() FROM {self.obj} WHERE {where}"  # names are validated identifiers
        return int(self.api.call("query", lambda c: c.query(soql)["totalSize"]))
