"""Tooling API ``CustomField`` on the sandbox org: create, read and update field metadata.

A created field exists at once but is hidden by field-level security (see :mod:`.org`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from icpsync.connectors.salesforce.sandbox import schema
from icpsync.connectors.salesforce.sandbox.errors import ApiError


class Tooling:
    """Custom fields; mixed into :class:`~icpsync.connectors.salesforce.sandbox.org.Org`."""

    lock: threading.RLock
    schema: dict[str, dict[str, dict[str, Any]]]
    records: dict[str, dict[str, dict[str, Any]]]
    tooling: dict[str, dict[str, dict[str, Any]]]
    metadata: dict[str, dict[str, Any]]
    fls_fields: set[tuple[str, str]]
    new_id: Callable[[str], str]

    def create_custom_field(self, body: dict[str, Any]) -> str:
        """Tooling ``CustomField`` insert: the field exists, hidden until FLS grants it.

        Raises:
            ApiError: bad metadata, unknown object, or the field exists already.
        """
        full_name = str(body.get("FullName") or "")
        metadata = body.get("Metadata") or {}
        object_name, _, name = full_name.partition(".")
        with self.lock:
            if object_name not in self.schema or not name.endswith("__c"):
                raise ApiError(400, "INVALID_FIELD", f"invalid FullName: {full_name}", ["FullName"])
            if name in self.schema[object_name]:
                raise ApiError(
                    400,
                    "DUPLICATE_DEVELOPER_NAME",
                    f"There is already a field named {name.removesuffix('__c')} on {object_name}.",
                )
            try:
                spec = schema.custom_field(full_name, metadata)
            except (KeyError, ValueError) as exc:
                raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION", str(exc)) from None
            self.schema[object_name][name] = spec
            self.fls_fields.add((object_name, name))
            for record in self.records[object_name].values():
                record.setdefault(name, None)
            field_id = self.new_id("CustomField")
            self.tooling["CustomField"][field_id] = {
                "Id": field_id,
                "DeveloperName": name.removesuffix("__c"),
                "TableEnumOrId": object_name,
                "FullName": full_name,
            }
            self.metadata[field_id] = dict(metadata)
            return field_id

    def custom_field(self, field_id: str) -> dict[str, Any]:
        with self.lock:
            row = self.tooling["CustomField"].get(field_id)
            if row is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            return {**row, "Metadata": self.metadata[field_id]}

    def update_custom_field(self, field_id: str, body: dict[str, Any]) -> None:
        """Tooling ``CustomField`` update (e.g. picklist values added)."""
        with self.lock:
            row = self.tooling["CustomField"].get(field_id)
            if row is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            metadata = {**self.metadata[field_id], **(body.get("Metadata") or {})}
            object_name, _, name = row["FullName"].partition(".")
            try:
                spec = schema.custom_field(row["FullName"], metadata)
            except (KeyError, ValueError) as exc:
                raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION", str(exc)) from None
            self.schema[object_name][name] = spec
            self.metadata[field_id] = metadata
