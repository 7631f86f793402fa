"""Deleting on the sandbox org: records (``DELETE /sobjects/X/id``) and custom fields.

As in a real org: a permission set still assigned to a user cannot be deleted (remove the
assignments first) and takes its field permissions with it; a deleted custom field leaves
describe, SOQL, the records and every field permission naming it.
"""

from __future__ import annotations

import threading
from typing import Any

from icpsync.connectors.salesforce.sandbox.errors import ApiError


class Removal:
    """Deletes; mixed into :class:`~icpsync.connectors.salesforce.sandbox.org.Org`."""

    lock: threading.RLock
    schema: dict[str, dict[str, dict[str, Any]]]
    records: dict[str, dict[str, dict[str, Any]]]
    tooling: dict[str, dict[str, dict[str, Any]]]
    metadata: dict[str, dict[str, Any]]
    fls_fields: set[tuple[str, str]]

    def delete(self, object_name: str, record_id: str) -> None:
        """Delete one record.

        Raises:
            ApiError: unknown record, or a permission set that is still assigned.
        """
        with self.lock:
            table = self.records.get(object_name)
            if table is None or record_id not in table:
                raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted", ["Id"])
            if object_name == "PermissionSet":
                assigned = [
                    a
                    for a in self.records["PermissionSetAssignment"].values()
                    if a["PermissionSetId"] == record_id
                ]
                if assigned:
                    raise ApiError(
                        400,
                        "DELETE_FAILED",
                        "You can't delete this permission set because it's assigned to users.",
                    )
                perms = self.records["FieldPermissions"]
                for perm_id in [k for k, p in perms.items() if p["ParentId"] == record_id]:
                    del perms[perm_id]
            del table[record_id]

    def delete_custom_field(self, field_id: str) -> None:
        """Delete a custom field with its values and field permissions."""
        with self.lock:
            row = self.tooling["CustomField"].pop(field_id, None)
            if row is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            self.metadata.pop(field_id, None)
            object_name, _, name = row["FullName"].partition(".")
            self.schema[object_name].pop(name, None)
            self.fls_fields.discard((object_name, name))
            for record in self.records[object_name].values():
                record.pop(name, None)
            perms = self.records["FieldPermissions"]
            for perm_id in [k for k, p in perms.items() if p["Field"] == row["FullName"]]:
                del perms[perm_id]
