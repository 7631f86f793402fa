"""Lists API v3 on the sandbox portal: company lists with property filters.

``POST /crm/v3/lists/``, ``GET /crm/v3/lists/object-type-id/{type}/name/{name}``,
``GET|DELETE /crm/v3/lists/{id}``, ``PUT /crm/v3/lists/{id}/update-list-filters`` and
``GET /crm/v3/lists/{id}/memberships``, in HubSpot's shapes. A dynamic list's filter must be
an ``OR`` branch of ``AND`` branches of property filters, as HubSpot requires; its members
are worked out from the companies' current property values whenever they are read (the
real portal fills dynamic lists asynchronously; the sandbox is always done). Enumeration
filters take ``IS_ANY_OF``/``IS_NONE_OF``/``IS_EXACTLY``; string filters ``IS_EQUAL_TO``/
``IS_NOT_EQUAL_TO``; any property ``IS_KNOWN``/``IS_UNKNOWN``. The search API's ``EQ``/``IN``
are refused with 400, as HubSpot does.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from icpsync.connectors.hubspot.sandbox.schema import Response, error, now_iso

OBJECT_TYPES = {"0-2": "companies"}
OPERATORS: dict[str, tuple[str, ...]] = {
    "ENUMERATION": ("IS_ANY_OF", "IS_NONE_OF", "IS_EXACTLY"),
    "STRING": ("IS_EQUAL_TO", "IS_NOT_EQUAL_TO"),
    "ALL_PROPERTY": ("IS_KNOWN", "IS_UNKNOWN"),
}
MAX_PAGE = 250
_LIST = r"/crm/v3/lists/(?P<id>\d+)"
#: (method, path, route name) for the server's route table.
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"/crm/v3/lists/?$"), "lists_create"),
    (
        "GET",
        re.compile(r"/crm/v3/lists/object-type-id/(?P<type>[\w-]+)/name/(?P<name>[^/]+)$"),
        "lists_by_name",
    ),
    ("GET", re.compile(_LIST + r"$"), "lists_get"),
    ("DELETE", re.compile(_LIST + r"$"), "lists_delete"),
    ("PUT", re.compile(_LIST + r"/update-list-filters$"), "lists_filters"),
    ("GET", re.compile(_LIST + r"/memberships$"), "lists_members"),
]
_ids = itertools.count(101)


class ListError(ValueError):
    """A filter HubSpot would refuse."""


class Lists:
    """The portal's lists; ``records(kind)`` and ``properties(kind)`` read the portal."""

    def __init__(
        self,
        records: Callable[[str], dict[str, dict[str, str]]],
        properties: Callable[[str], dict[str, dict[str, Any]]],
    ):
        self.records = records
        self.properties = properties
        self.lists: dict[str, dict[str, Any]] = {}

    def route(
        self, name: str, params: dict[str, str], query: dict[str, list[str]], body: dict[str, Any]
    ) -> Response:
        """One Lists API call (``name`` from the server's route table)."""
        if name == "lists_create":
            return self.create(body)
        if name == "lists_by_name":
            return self.by_name(params["type"], unquote(params["name"]))
        found = self.lists.get(params.get("id", ""))
        if found is None:
            return error(404, "OBJECT_NOT_FOUND", f"List does not exist with id {params.get('id')}")
        if name == "lists_get":
            return 200, {"list": self._view(found, query.get("includeFilters") == ["true"])}
        if name == "lists_delete":
            del self.lists[found["listId"]]
            return 204, {}
        if name == "lists_filters":
            return self.update_filters(found, body)
        after = int((query.get("after") or ["0"])[0] or 0)
        limit = min(MAX_PAGE, int((query.get("limit") or ["100"])[0]))
        return 200, self._members_page(found, after, limit)

    def create(self, body: dict[str, Any]) -> Response:
        for key in ("name", "objectTypeId", "processingType"):
            if not body.get(key):
                return error(400, "VALIDATION_ERROR", f"{key} is required")
        if body["objectTypeId"] not in OBJECT_TYPES:
            return error(
                400, "VALIDATION_ERROR", f"unsupported objectTypeId {body['objectTypeId']}"
            )
        if body["processingType"] not in ("DYNAMIC", "MANUAL", "SNAPSHOT"):
            return error(
                400, "VALIDATION_ERROR", "processingType must be DYNAMIC, MANUAL or SNAPSHOT"
            )
        if any(x["name"].lower() == str(body["name"]).lower() for x in self.lists.values()):
            return error(
                400,
                "VALIDATION_ERROR",
                f"A list named {body['name']!r} already exists.",
                subCategory="ILS.DUPLICATE_LIST_NAMES",
            )
        branch = body.get("filterBranch")
        if body["processingType"] == "DYNAMIC":
            try:
                self._check_branch(OBJECT_TYPES[body["objectTypeId"]], branch)
            except ListError as exc:
                return error(400, "VALIDATION_ERROR", str(exc))
        stamp = now_iso()
        created = {
            "listId": str(next(_ids)),
            "listVersion": 1,
            "name": body["name"],
            "objectTypeId": body["objectTypeId"],
            "processingType": body["processingType"],
            "processingStatus": "COMPLETE",
            "createdAt": stamp,
            "updatedAt": stamp,
            "filtersUpdatedAt": stamp,
            "createdById": "1",
            "updatedById": "1",
            "filterBranch": branch,
        }
        self.lists[created["listId"]] = created
        return 200, {"list": self._view(created, True)}

    def by_name(self, object_type: str, name: str) -> Response:
        for found in self.lists.values():
            if found["objectTypeId"] == object_type and found["name"] == name:
                return 200, {"list": self._view(found, True)}
        return error(404, "OBJECT_NOT_FOUND", f"List does not exist with name {name!r}")

    def update_filters(self, found: dict[str, Any], body: dict[str, Any]) -> Response:
        try:
            self._check_branch(OBJECT_TYPES[found["objectTypeId"]], body.get("filterBranch"))
        except ListError as exc:
            return error(400, "VALIDATION_ERROR", str(exc))
        found["filterBranch"] = body["filterBranch"]
        found["listVersion"] += 1
        found["updatedAt"] = found["filtersUpdatedAt"] = now_iso()
        return 200, {"updatedList": self._view(found, True)}

    # -- filters ---------------------------------------------------------------------------

    def _check_branch(self, kind: str, branch: Any) -> None:
        if not isinstance(branch, dict) or branch.get("filterBranchType") != "OR":
            raise ListError("a dynamic list's filterBranch must be an OR branch")
        if branch.get("filters"):
            raise ListError("the OR branch may not hold filters; put them in AND branches")
        children = branch.get("filterBranches") or []
        if not children:
            raise ListError("the OR branch needs at least one AND branch")
        props = self.properties(kind)
        for child in children:
            if child.get("filterBranchType") != "AND":
                raise ListError("the OR branch's children must be AND branches")
            for flt in child.get("filters") or []:
                if flt.get("filterType") != "PROPERTY":
                    raise ListError(
                        f"the sandbox knows PROPERTY filters only, not {flt.get('filterType')}"
                    )
                if flt.get("property") not in props:
                    raise ListError(f"unknown property {flt.get('property')}")
                operation = flt.get("operation") or {}
                allowed = OPERATORS.get(str(operation.get("operationType")))
                if allowed is None or operation.get("operator") not in allowed:
                    raise ListError(
                        f"invalid operator {operation.get('operator')} for "
                        f"{operation.get('operationType')} operations"
                    )

    def _matches(self, branch: dict[str, Any], values: dict[str, str]) -> bool:
        return any(
            all(_test(f, values.get(f["property"])) for f in child.get("filters") or [])
            for child in branch.get("filterBranches") or []
        )

    def member_ids(self, found: dict[str, Any]) -> list[str]:
        if found["processingType"] != "DYNAMIC":
            return []
        kind = OBJECT_TYPES[found["objectTypeId"]]
        records = self.records(kind)
        branch = found["filterBranch"]
        return sorted((rid for rid, v in records.items() if self._matches(branch, v)), key=int)

    def _members_page(self, found: dict[str, Any], after: int, limit: int) -> dict[str, Any]:
        ids = self.member_ids(found)
        page = ids[after : after + limit]
        body: dict[str, Any] = {
            "results": [
                {"recordId": rid, "membershipTimestamp": found["updatedAt"]} for rid in page
            ]
        }
        if after + limit < len(ids):
            body["paging"] = {"next": {"after": str(after + limit)}}
        return body

    def _view(self, found: dict[str, Any], filters: bool) -> dict[str, Any]:
        out = {k: v for k, v in found.items() if k != "filterBranch" or filters}
        out["size"] = len(self.member_ids(found))
        return out


def _test(flt: dict[str, Any], value: str | None) -> bool:
    operation = flt["operation"]
    operator = operation["operator"]
    if operator == "IS_KNOWN":
        return value not in (None, "")
    if operator == "IS_UNKNOWN":
        return value in (None, "")
    if value in (None, ""):
        return bool(operation.get("includeObjectsWithNoValueSet"))
    if operator in ("IS_ANY_OF", "IS_EXACTLY"):
        return value in operation.get("values", [])
    if operator == "IS_NONE_OF":
        return value not in operation.get("values", [])
    if operator == "IS_EQUAL_TO":
        return value.lower() in [
            str(v).lower() for v in operation.get("values", [operation.get("value")])
        ]
    return value.lower() not in [
        str(v).lower() for v in operation.get("values", [operation.get("value")])
    ]
