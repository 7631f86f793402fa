"""``icpsync doctor``: auth, API version, the tool's fields, permission sets, API budget."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from simple_salesforce import format_soql

from icpsync.connectors.salesforce.api import Api
from icpsync.connectors.salesforce.install import FIELDS, INTEGRATION_SET, READER_SET
from icpsync.core.errors import IcpSyncError
from icpsync.core.model import TIERS
from icpsync.engine.protocol import Check

INSTALL = "run `icpsync install --crm salesforce`"


def run_checks(
    api: Api,
    obj: str,
    icp: Mapping[str, str],
    read_fields: list[str],
    mode: str,
    version: str,
    user_id: Callable[[], str],
) -> list[Check]:
    """Every doctor line; stops early when auth fails (nothing else can be checked)."""
    try:
        api.session.client()
        user = user_id()
    except IcpSyncError as exc:
        return [Check(f"auth ({mode})", False, str(exc), "check the [salesforce] credentials")]
    checks = [Check(f"auth ({mode})", True, f"user {user} at {api.session.instance_url}")]
    try:
        api.call("versions", lambda c: c.restful(""))
        checks.append(Check(f"API version {version}", True))
    except IcpSyncError as exc:
        checks.append(
            Check(
                f"API version {version}",
                False,
                str(exc),
                "set [salesforce] api_version to one the org serves",
            )
        )
        return checks
    describe = api.call("describe", lambda c: getattr(c, obj).describe())
    fields = {f["name"]: f for f in describe["fields"]}
    # Only the id is needed: a field the org lacks leaves its criteria unscorable, no more.
    missing_reads = [n for n in read_fields if n not in fields and "." not in n]
    checks.append(
        Check(
            f"{obj} fields readable",
            "Id" in fields,
            f"{len(read_fields) - len(missing_reads)} of {len(read_fields)} fields"
            + (f"; not in this org: {', '.join(missing_reads)}" if missing_reads else ""),
            "grant read access to the object",
        )
    )
    for key, (_, _, types) in FIELDS.items():
        name = icp.get(key)
        if name:
            checks.append(_field_check(key, name, fields.get(name), types))
    checks += _permission_checks(api, user)
    checks.append(_budget(api))
    return checks


def _field_check(key: str, name: str, spec: dict[str, Any] | None, types: tuple[str, ...]) -> Check:
    label = f"field {name}"
    if spec is None:
        return Check(label, False, "missing or not visible to this user", INSTALL)
    if spec["type"] not in types:
        return Check(
            label,
            False,
            f"type {spec['type']}, expected {' or '.join(types)}",
            "delete or rename the field, then install",
        )
    if not spec.get("updateable"):
        # the override too: a rep's direct edit of the tier is kept by writing it there
        return Check(label, False, "not editable by this user", INSTALL + " (grants edit access)")
    if key == "tier":
        values = {v["value"] for v in spec.get("picklistValues") or []}
        absent = [t for t in TIERS if t not in values]
        if absent:
            return Check(label, False, f"picklist lacks {', '.join(absent)}", INSTALL)
    return Check(label, True, spec["type"])


def _permission_checks(api: Api, user: str) -> list[Check]:
    query = format_soql(
        "SELECT Id, Name FROM PermissionSet WHERE Name IN {}", [INTEGRATION_SET, READER_SET]
    )
    found = {r["Name"]: r["Id"] for r in api.call("query", lambda c: c.query_all(query)["records"])}
    checks = [
        Check(f"permission set {name}", name in found, "" if name in found else "missing", INSTALL)
        for name in (INTEGRATION_SET, READER_SET)
    ]
    if INTEGRATION_SET in found:
        query = format_soql(
            "SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = {} AND PermissionSetId = {}",
            user,
            found[INTEGRATION_SET],
        )
        assigned = bool(api.call("query", lambda c: c.query(query)["totalSize"]))
        checks.append(
            Check(f"{INTEGRATION_SET} assigned to the running user", assigned, "", INSTALL)
        )
    return checks


def _budget(api: Api) -> Check:
    limits = api.call("limits", lambda c: c.limits())
    daily = limits.get("DailyApiRequests") or {}
    remaining, top = int(daily.get("Remaining", 0)), int(daily.get("Max", 0))
    ok = remaining > 0.05 * top
    return Check(
        "daily API budget",
        ok,
        f"{remaining:,} of {top:,} requests left today",
        "wait for the daily reset or lower the sync frequency",
    )
