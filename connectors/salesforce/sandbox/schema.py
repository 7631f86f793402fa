"""Field definitions of the sandbox's objects and how values travel as JSON and CSV.

Each field is a describe-shaped dict (``name``, ``type``, ``label``, ``length``,
``precision``, ``scale``, ``updateable``, ``custom``, ``picklistValues`` ...). Values are
held as Python objects (aware datetimes, dates, numbers, booleans, strings) and rendered the
way the REST API (JSON) and Bulk API 2.0 (CSV) render them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

INDUSTRIES = [
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
]
ACCOUNT_TYPES = (
    "Prospect",
    "Customer - Direct",
    "Customer - Channel",
    "Channel Partner / Reseller",
    "Other",
)
STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
TOOLS = [
    "Salesforce",
    "HubSpot",
    "Microsoft Dynamics",
    "Outreach",
    "Salesloft",
    "Gong",
    "Slack",
    "Zendesk",
    "Jira",
    "Snowflake",
    "Marketo",
    "Shopify",
]


def field(
    name: str,
    ftype: str,
    *,
    label: str | None = None,
    updateable: bool = True,
    custom: bool = False,
    length: int = 0,
    precision: int = 0,
    scale: int = 0,
    values: tuple[str, ...] | list[str] = (),
    restricted: bool = False,
) -> dict[str, Any]:
    """A describe entry for one field."""
    return {
        "name": name,
        "label": label or name.removesuffix("__c").replace("_", " "),
        "type": ftype,
        "length": length or (255 if ftype == "picklist" else 0),
        "precision": precision,
        "scale": scale,
        "updateable": updateable,
        "createable": updateable,
        "nillable": ftype not in ("id", "boolean"),
        "custom": custom,
        "calculated": False,
        "restrictedPicklist": restricted,
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": v, "value": v, "validFor": None}
            for v in values
        ],
    }


def _system() -> list[dict[str, Any]]:
    return [
        field("Id", "id", updateable=False, length=18),
        field("CreatedDate", "datetime", updateable=False),
        field("LastModifiedDate", "datetime", updateable=False),
        field("SystemModstamp", "datetime", updateable=False),
        field("IsDeleted", "boolean", updateable=False),
    ]


def standard_objects() -> dict[str, dict[str, dict[str, Any]]]:
    """The objects a fresh sandbox org has, keyed by name, each a dict of fields."""
    objects = {
        "Account": [
            *_system(),
            field("Name", "string", length=255),
            field("Website", "url", length=255),
            field("Industry", "picklist", values=INDUSTRIES),
            field("Type", "picklist", values=ACCOUNT_TYPES),
            field("NumberOfEmployees", "int", precision=8),
            field("AnnualRevenue", "currency", precision=18),
            field("BillingCountry", "string", length=80),
            field("BillingState", "string", length=80),
            field("Tech_Stack__c", "multipicklist", custom=True, values=TOOLS, length=4099),
        ],
        "Opportunity": [
            *_system(),
            field("Name", "string", length=120),
            field("AccountId", "reference", length=18),
            field("StageName", "picklist", values=STAGES),
            field("IsClosed", "boolean", updateable=False),
            field("IsWon", "boolean", updateable=False),
            field("Amount", "currency", precision=18, scale=2),
            field("CloseDate", "date"),
        ],
        "User": [*_system(), field("Username", "string", length=80), field("Name", "string")],
        "PermissionSet": [
            *_system(),
            field("Name", "string", length=80),
            field("Label", "string", length=80),
            field("Description", "string", length=255),
        ],
        "FieldPermissions": [
            *_system(),
            field("ParentId", "reference", length=18),
            field("SobjectType", "string", length=80),
            field("Field", "string", length=120),
            field("PermissionsRead", "boolean"),
            field("PermissionsEdit", "boolean"),
        ],
        "PermissionSetAssignment": [
            *_system(),
            field("AssigneeId", "reference", length=18),
            field("PermissionSetId", "reference", length=18),
        ],
    }
    return {name: {f["name"]: f for f in fields} for name, fields in objects.items()}


def tooling_objects() -> dict[str, dict[str, dict[str, Any]]]:
    """The Tooling API objects the sandbox answers queries on."""
    fields = [
        field("Id", "id", updateable=False, length=18),
        field("DeveloperName", "string", length=40),
        field("TableEnumOrId", "string", length=40),
        field("FullName", "string", length=255),
    ]
    return {"CustomField": {f["name"]: f for f in fields}}


def custom_field(full_name: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """The describe entry of a field created through Tooling ``CustomField``.

    Raises:
        ValueError: the metadata names a type the sandbox does not support.
    """
    name = full_name.split(".", 1)[1]
    label = str(metadata.get("label") or name)
    kind = metadata.get("type")
    if kind == "Number":
        precision, scale = int(metadata.get("precision", 18)), int(metadata.get("scale", 0))
        return field(name, "double", label=label, custom=True, precision=precision, scale=scale)
    if kind == "Text":
        return field(name, "string", label=label, custom=True, length=int(metadata["length"]))
    if kind == "LongTextArea":
        return field(name, "textarea", label=label, custom=True, length=int(metadata["length"]))
    if kind == "DateTime":
        return field(name, "datetime", label=label, custom=True)
    if kind == "Picklist":
        value_set = metadata.get("valueSet") or {}
        values = [v["fullName"] for v in value_set.get("valueSetDefinition", {}).get("value", [])]
        restricted = bool(value_set.get("restricted", False))
        return field(
            name, "picklist", label=label, custom=True, values=values, restricted=restricted
        )
    raise ValueError(f"unsupported field type {kind!r}")


def to_json(value: Any) -> Any:
    """A value as the REST API renders it."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
            f"{value.microsecond // 1000:03d}+0000"
        )
    if isinstance(value, date):
        return value.isoformat()
    return value


def to_csv(value: Any) -> str:
    """A value as Bulk API 2.0 renders it in CSV."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
            f"{value.microsecond // 1000:03d}Z"
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def coerce(spec: dict[str, Any], value: Any) -> Any:
    """A SOQL literal or an input value as the field's Python type.

    Raises:
        ValueError: the value does not fit the field's type.
    """
    if value is None:
        return None
    kind = spec["type"]
    if kind == "datetime":
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        text = str(value).replace("Z", "+00:00")
        if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
            text = f"{text[:-2]}:{text[-2:]}"
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if kind == "date":
        return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    if kind in ("double", "currency", "percent"):
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)
    if kind == "int":
        if isinstance(value, bool):
            raise ValueError(value)
        return int(float(value))
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise ValueError(value)
    return str(value)
