"""``icpsync install``: the tool's Account fields, tier values and permission sets.

Fields are created through Tooling ``CustomField``; a new field is invisible until
field-level security grants it, so install also creates an integration permission set
(read + edit on the tool's fields, the override included: a rep's direct edit of the tier
is kept by writing it there) assigned to the running user and a read-only permission set
for reps. Everything is looked up first: a second run creates nothing, and a read-only
grant made by an older release is upgraded to edit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from simple_salesforce import format_soql

from icpsync.connectors.salesforce.api import Api
from icpsync.core.errors import FatalError
from icpsync.core.model import TIERS
from icpsync.engine.protocol import PlanStep

INTEGRATION_SET = "ICPSync_Integration"
READER_SET = "ICPSync_Reader"


def _picklist(values: tuple[str, ...]) -> dict[str, Any]:
    return {
        "restricted": True,
        "valueSetDefinition": {
            "sorted": False,
            "value": [{"fullName": v, "default": False, "label": v} for v in values],
        },
    }


#: ICP key -> (label, Tooling metadata, describe types accepted by doctor)
FIELDS: dict[str, tuple[str, dict[str, Any], tuple[str, ...]]] = {
    "score": ("ICP Score", {"type": "Number", "precision": 3, "scale": 0}, ("double", "int")),
    "tier": ("ICP Tier", {"type": "Picklist", "valueSet": _picklist(TIERS)}, ("picklist",)),
    "flags": ("ICP Anti-ICP Flags", {"type": "Text", "length": 255}, ("string", "textarea")),
    "reasons": ("ICP Reasons", {"type": "Text", "length": 255}, ("string", "textarea")),
    "profile_version": ("ICP Profile Version", {"type": "Text", "length": 40}, ("string",)),
    "scored_at": ("ICP Scored At", {"type": "DateTime"}, ("datetime",)),
    "override": (
        "ICP Tier Override",
        {"type": "Picklist", "valueSet": _picklist(TIERS)},
        ("picklist",),
    ),
}
PICKLISTS = ("tier", "override")


class Installer:
    """Plans and applies what is missing in the org."""

    def __init__(self, api: Api, obj: str, icp: Mapping[str, str], user_id: Any):
        self.api, self.obj, self.icp = api, obj, icp
        self._user_id = user_id

    def ensure(self, *, dry_run: bool) -> list[PlanStep]:
        steps = self._fields(dry_run) + self._permission_sets(dry_run)
        if not steps:
            return [
                PlanStep("none", self.obj, "fields, permission sets and assignment in place", True)
            ]
        return steps

    def _create(self, kind: str, fn: Any) -> None:
        """Create something; "already exists" (a retried request that had landed) is fine."""
        try:
            self.api.call(kind, fn)
        except FatalError as exc:
            if "DUPLICATE_DEVELOPER_NAME" not in str(exc):
                raise

    def _existing_fields(self) -> dict[str, str]:
        query = format_soql(
            "SELECT Id, DeveloperName FROM CustomField WHERE TableEnumOrId = {}", self.obj
        )
        rows = self.api.call(
            "tooling_query", lambda c: c.toolingexecute("query/", params={"q": query})["records"]
        )
        return {f"{r['DeveloperName']}__c": r["Id"] for r in rows}

    def _fields(self, dry_run: bool) -> list[PlanStep]:
        steps: list[PlanStep] = []
        existing = self._existing_fields()
        for key, (label, metadata, _) in FIELDS.items():
            name = self.icp.get(key)
            if not name:
                continue
            target = f"{self.obj}.{name}"
            if name not in existing:
                if not dry_run:
                    body = {"FullName": target, "Metadata": {"label": label, **metadata}}
                    self._create(
                        "tooling_create",
                        lambda c, b=body: c.toolingexecute("sobjects/CustomField", "POST", b),
                    )
                steps.append(
                    PlanStep("create field", target, f"{label} ({metadata['type']})", not dry_run)
                )
            elif key in PICKLISTS:
                step = self._picklist_values(existing[name], target, dry_run)
                if step:
                    steps.append(step)
        return steps

    def _picklist_values(self, field_id: str, target: str, dry_run: bool) -> PlanStep | None:
        current = self.api.call(
            "tooling_get", lambda c: c.toolingexecute(f"sobjects/CustomField/{field_id}")
        )
        metadata = dict(current.get("Metadata") or {})
        value_set = metadata.get("valueSet") or {"restricted": True, "valueSetDefinition": {}}
        definition = value_set.setdefault("valueSetDefinition", {"sorted": False})
        values = list(definition.get("value") or [])
        have = {v.get("fullName") for v in values}
        missing = [t for t in TIERS if t not in have]
        if not missing:
            return None
        if not dry_run:
            definition["value"] = values + _picklist(tuple(missing))["valueSetDefinition"]["value"]
            metadata["valueSet"] = value_set
            body = {"Metadata": metadata}
            self.api.call(
                "tooling_update",
                lambda c: c.toolingexecute(f"sobjects/CustomField/{field_id}", "PATCH", body),
            )
        return PlanStep("add picklist values", target, ", ".join(missing), not dry_run)

    def _permission_sets(self, dry_run: bool) -> list[PlanStep]:
        steps: list[PlanStep] = []
        names = [INTEGRATION_SET, READER_SET]
        query = format_soql("SELECT Id, Name FROM PermissionSet WHERE Name IN {}", names)
        found = {
            r["Name"]: r["Id"]
            for r in self.api.call("query", lambda c: c.query_all(query)["records"])
        }
        for name, label in (
            (INTEGRATION_SET, "ICP Sync integration"),
            (READER_SET, "ICP Sync read-only"),
        ):
            if name in found:
                continue
            if not dry_run:
                new_set = {"Name": name, "Label": label, "Description": "Created by icpsync"}
                self._create("insert", lambda c, b=new_set: cast(Any, c).PermissionSet.create(b))
            steps.append(PlanStep("create permission set", name, label, not dry_run))
        if not dry_run and len(found) < len(names):
            rows = self.api.call("query", lambda c: c.query_all(query)["records"])
            found = {r["Name"]: r["Id"] for r in rows}
        wanted: list[dict[str, Any]] = []
        for set_name in names:
            for name in self.icp.values():
                edit = set_name == INTEGRATION_SET
                wanted.append(
                    {
                        "set": set_name,
                        "Field": f"{self.obj}.{name}",
                        "PermissionsRead": True,
                        "PermissionsEdit": edit,
                    }
                )
        have: dict[tuple[str, str], tuple[str, bool]] = {}
        ids = [found[n] for n in names if n in found]
        if ids:
            query = format_soql(
                "SELECT Id, ParentId, Field, PermissionsEdit FROM FieldPermissions "
                "WHERE ParentId IN {}",
                ids,
            )
            rows = self.api.call("query", lambda c: c.query_all(query)["records"])
            have = {
                (r["ParentId"], r["Field"]): (r["Id"], bool(r["PermissionsEdit"])) for r in rows
            }
        missing = [w for w in wanted if (found.get(w["set"]), w["Field"]) not in have]
        steps += self._upgrade_to_edit(wanted, found, have, dry_run=dry_run)
        if missing:
            if not dry_run:
                records = [
                    {
                        "attributes": {"type": "FieldPermissions"},
                        "ParentId": found[w["set"]],
                        "SobjectType": self.obj,
                        "Field": w["Field"],
                        "PermissionsRead": True,
                        "PermissionsEdit": w["PermissionsEdit"],
                    }
                    for w in missing
                ]
                body: dict[str, Any] = {"allOrNone": True, "records": records}
                self.api.call(
                    "composite_insert",
                    lambda c: c.restful("composite/sobjects", method="POST", json=body),
                )
            for set_name in names:
                count = sum(1 for w in missing if w["set"] == set_name)
                if count:
                    steps.append(
                        PlanStep(
                            "grant field access",
                            set_name,
                            f"{count} field permission(s)",
                            not dry_run,
                        )
                    )
        steps += self._assignment(found, dry_run)
        return steps

    def _upgrade_to_edit(
        self,
        wanted: list[dict[str, Any]],
        found: dict[str, str],
        have: dict[tuple[str, str], tuple[str, bool]],
        *,
        dry_run: bool,
    ) -> list[PlanStep]:
        """Grant edit where an existing field permission only grants read (one call)."""
        upgrades = []
        for w in wanted:
            held = have.get((found.get(w["set"], ""), w["Field"]))
            if w["PermissionsEdit"] and held is not None and not held[1]:
                upgrades.append((w, held[0]))
        if not upgrades:
            return []
        if not dry_run:
            records = [
                {"attributes": {"type": "FieldPermissions"}, "id": rid, "PermissionsEdit": True}
                for _, rid in upgrades
            ]
            body: dict[str, Any] = {"allOrNone": True, "records": records}
            self.api.call(
                "composite_update",
                lambda c: c.restful("composite/sobjects", method="PATCH", json=body),
            )
        fields = ", ".join(w["Field"] for w, _ in upgrades)
        return [PlanStep("grant edit access", INTEGRATION_SET, fields, not dry_run)]

    def _assignment(self, found: dict[str, str], dry_run: bool) -> list[PlanStep]:
        user_id = self._user_id()
        set_id = found.get(INTEGRATION_SET)
        if set_id:
            query = format_soql(
                "SELECT Id FROM PermissionSetAssignment "
                "WHERE AssigneeId = {} AND PermissionSetId = {}",
                user_id,
                set_id,
            )
            if self.api.call("query", lambda c: c.query(query)["totalSize"]):
                return []
        if not dry_run:
            assignment = {"AssigneeId": user_id, "PermissionSetId": set_id}
            self.api.call(
                "insert", lambda c: cast(Any, c).PermissionSetAssignment.create(assignment)
            )
        return [
            PlanStep(
                "assign permission set",
                INTEGRATION_SET,
                f"to the running user {user_id}",
                not dry_run,
            )
        ]
