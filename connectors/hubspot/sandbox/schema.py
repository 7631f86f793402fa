"""The sandbox portal's schema: property definitions and property groups, by object type.

Every operation returns ``(status, body)`` in HubSpot's shapes (201 on create, 409 on a
duplicate, HubSpot's error body otherwise).
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from icpsync.connectors.hubspot.sandbox import seed
from icpsync.connectors.hubspot.sandbox.properties import (
    FIELD_TYPES,
    TYPES,
    default_groups,
    default_properties,
    definition,
    group,
)

Response = tuple[int, dict[str, Any]]


def error(status: int, category: str, message: str, **extra: Any) -> Response:
    """HubSpot's error body."""
    body = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
    }
    body.update(extra)
    return status, body


def now_iso() -> str:
    """The current time as HubSpot writes it."""
    return seed.iso_ms(time.time())


class Schema:
    """Company and deal properties and groups of one portal."""

    def __init__(self, lock: threading.RLock):
        self.lock = lock
        self.properties = default_properties()
        self.groups = default_groups()

    def list_properties(self, kind: str) -> Response:
        with self.lock:
            return 200, {"results": list(self.properties[kind].values())}

    def get_property(self, kind: str, name: str) -> Response:
        with self.lock:
            prop = self.properties[kind].get(name)
        if prop is None:
            return error(
                404, "OBJECT_NOT_FOUND", f"Unable to find property {name} for object type {kind}"
            )
        return 200, prop

    def create_property(self, kind: str, spec: dict[str, Any]) -> Response:
        """``POST /crm/v3/properties/{kind}``: 201, 409 on a duplicate, 400 when invalid."""
        required = ("name", "label", "type", "fieldType", "groupName")
        missing = [k for k in required if not spec.get(k)]
        if missing:
            return error(400, "VALIDATION_ERROR", f"missing required fields: {missing}")
        if spec["type"] not in TYPES or spec["fieldType"] not in FIELD_TYPES:
            return error(400, "VALIDATION_ERROR", "invalid type or fieldType")
        with self.lock:
            if spec["groupName"] not in self.groups[kind]:
                return error(
                    400, "VALIDATION_ERROR", f"property group {spec['groupName']} does not exist"
                )
            if spec["name"] in self.properties[kind]:
                return error(409, "CONFLICT", f"A property named '{spec['name']}' already exists.")
            options = [
                {
                    "label": o["label"],
                    "value": o["value"],
                    "displayOrder": o.get("displayOrder", i),
                    "hidden": bool(o.get("hidden", False)),
                }
                for i, o in enumerate(spec.get("options") or [])
            ]
            prop = definition(
                spec["name"],
                spec["label"],
                spec["type"],
                spec["fieldType"],
                group=spec["groupName"],
                options=options,
                hubspot_defined=False,
            )
            prop["description"] = spec.get("description") or ""
            prop["displayOrder"] = int(spec.get("displayOrder", -1))
            self.properties[kind][spec["name"]] = prop
        return 201, prop

    def update_property(self, kind: str, name: str, spec: dict[str, Any]) -> Response:
        """``PATCH /crm/v3/properties/{kind}/{name}`` (labels, options)."""
        with self.lock:
            prop = self.properties[kind].get(name)
            if prop is None:
                return error(404, "OBJECT_NOT_FOUND", f"Unable to find property {name}")
            if prop["hubspotDefined"] and "options" in spec:
                return error(400, "VALIDATION_ERROR", f"{name} is a HubSpot-defined property")
            if spec.get("groupName") is not None and spec["groupName"] not in self.groups[kind]:
                return error(
                    400, "VALIDATION_ERROR", f"property group {spec['groupName']} does not exist"
                )
            for key in ("label", "description", "groupName", "displayOrder"):
                if spec.get(key) is not None:
                    prop[key] = spec[key]
            if spec.get("options") is not None:
                prop["options"] = [
                    {
                        "label": o["label"],
                        "value": o["value"],
                        "displayOrder": o.get("displayOrder", i),
                        "hidden": bool(o.get("hidden", False)),
                    }
                    for i, o in enumerate(spec["options"])
                ]
            return 200, prop

    def list_groups(self, kind: str) -> Response:
        with self.lock:
            return 200, {"results": list(self.groups[kind].values())}

    def create_group(self, kind: str, spec: dict[str, Any]) -> Response:
        """``POST /crm/v3/properties/{kind}/groups``: 201 or 409."""
        if not spec.get("name") or not spec.get("label"):
            return error(400, "VALIDATION_ERROR", "name and label are required")
        with self.lock:
            if spec["name"] in self.groups[kind]:
                return error(
                    409, "CONFLICT", f"A property group named '{spec['name']}' already exists."
                )
            created = group(spec["name"], spec["label"], int(spec.get("displayOrder", -1)))
            self.groups[kind][spec["name"]] = created
        return 201, created

    def archive_property(self, kind: str, name: str) -> Response:
        """``DELETE /crm/v3/properties/{kind}/{name}``: 204; HubSpot's own refuse."""
        with self.lock:
            prop = self.properties[kind].get(name)
            if prop is None:
                return error(404, "OBJECT_NOT_FOUND", f"Unable to find property {name}")
            if prop["hubspotDefined"]:
                return error(400, "VALIDATION_ERROR", f"{name} is a HubSpot-defined property")
            del self.properties[kind][name]
        return 204, {}

    def archive_group(self, kind: str, name: str) -> Response:
        """``DELETE /crm/v3/properties/{kind}/groups/{name}``: 204 once it is empty."""
        with self.lock:
            if name not in self.groups[kind]:
                return error(404, "OBJECT_NOT_FOUND", f"Unable to find property group {name}")
            held = [p for p in self.properties[kind].values() if p["groupName"] == name]
            if held:
                return error(
                    400,
                    "VALIDATION_ERROR",
                    f"property group {name} still holds {len(held)} properties",
                )
            del self.groups[kind][name]
        return 204, {}
