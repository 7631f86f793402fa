"""The sandbox portal's property definitions and value validation (``INVALID_OPTION``...)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from icpsync.connectors.hubspot.sandbox.seed import INDUSTRY_OPTIONS, STAGES, TECH_VALUES

_CREATED = "2020-01-01T00:00:00.000Z"
TYPES = ("bool", "date", "datetime", "enumeration", "number", "phone_number", "string")
FIELD_TYPES = (
    "booleancheckbox",
    "calculation_equation",
    "checkbox",
    "date",
    "file",
    "html",
    "number",
    "phonenumber",
    "radio",
    "select",
    "text",
    "textarea",
)


def definition(
    name: str,
    label: str,
    type_: str,
    field_type: str,
    *,
    group: str = "companyinformation",
    options: list[dict[str, Any]] | None = None,
    read_only: bool = False,
    hubspot_defined: bool = True,
) -> dict[str, Any]:
    """A property as ``GET /crm/v3/properties/{object}/{name}`` returns it."""
    return {
        "name": name,
        "label": label,
        "type": type_,
        "fieldType": field_type,
        "description": "",
        "groupName": group,
        "options": options or [],
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": False,
        "hidden": False,
        "hubspotDefined": hubspot_defined,
        "formField": not read_only,
        "modificationMetadata": {
            "archivable": not hubspot_defined,
            "readOnlyDefinition": hubspot_defined,
            "readOnlyValue": read_only,
        },
        "createdAt": _CREATED,
        "updatedAt": _CREATED,
        "archived": False,
    }


def _options(values: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {"label": label, "value": value, "displayOrder": i, "hidden": False}
        for i, (value, label) in enumerate(values)
    ]


def default_properties() -> dict[str, dict[str, dict[str, Any]]]:
    """Built-in company and deal properties of a fresh portal."""
    industry = _options([(v, v.replace("_", " ").title()) for v in INDUSTRY_OPTIONS])
    tech = _options([(v, k) for k, v in TECH_VALUES.items()])
    tiers = _options([("tier_1", "Tier 1"), ("tier_2", "Tier 2"), ("tier_3", "Tier 3")])
    stages = _options([(s, label) for s, label, _ in STAGES])
    company = [
        definition("hs_object_id", "Record ID", "number", "number", read_only=True),
        definition("name", "Company name", "string", "text"),
        definition("domain", "Company Domain Name", "string", "text"),
        definition("industry", "Industry", "enumeration", "select", options=industry),
        definition("numberofemployees", "Number of Employees", "number", "number"),
        definition("annualrevenue", "Annual Revenue", "number", "number"),
        definition("country", "Country/Region", "string", "text"),
        definition("web_technologies", "Web Technologies", "enumeration", "checkbox", options=tech),
        definition("createdate", "Create Date", "datetime", "date", read_only=True),
        definition("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", read_only=True),
        definition(
            "hs_ideal_customer_profile",
            "Ideal Customer Profile Tier",
            "enumeration",
            "radio",
            options=tiers,
        ),
    ]
    deal = [
        definition("hs_object_id", "Record ID", "number", "number", group="dealinformation"),
        definition("dealname", "Deal Name", "string", "text", group="dealinformation"),
        definition("pipeline", "Pipeline", "enumeration", "select", group="dealinformation"),
        definition(
            "dealstage",
            "Deal Stage",
            "enumeration",
            "radio",
            group="dealinformation",
            options=stages,
        ),
        definition("amount", "Amount", "number", "number", group="dealinformation"),
        definition("closedate", "Close Date", "datetime", "date", group="dealinformation"),
        definition("createdate", "Create Date", "datetime", "date", group="dealinformation"),
        definition("hs_is_closed", "Is Deal Closed?", "bool", "booleancheckbox", read_only=True),
        definition("hs_is_closed_won", "Is Closed Won", "bool", "booleancheckbox", read_only=True),
        definition("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", read_only=True),
    ]
    return {"companies": {p["name"]: p for p in company}, "deals": {p["name"]: p for p in deal}}


def default_groups() -> dict[str, dict[str, dict[str, Any]]]:
    """Built-in property groups."""
    return {
        "companies": {"companyinformation": group("companyinformation", "Company information")},
        "deals": {"dealinformation": group("dealinformation", "Deal information")},
    }


def group(name: str, label: str, display_order: int = -1) -> dict[str, Any]:
    """A property group as the API returns it."""
    return {"name": name, "label": label, "displayOrder": display_order, "archived": False}


@lru_cache(maxsize=1 << 18)  # searches compare the same timestamps over and over
def parse_time(value: str) -> float | None:
    """Epoch milliseconds from an ISO string or an epoch-ms string; None when unreadable."""
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp() * 1000


def invalid(prop: dict[str, Any] | None, name: str, value: object) -> tuple[str, str] | None:
    """``(code, message)`` when ``value`` may not be written to ``prop``, else None."""
    if prop is None:
        return "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'
    if prop["modificationMetadata"]["readOnlyValue"]:
        return (
            "READ_ONLY_VALUE",
            f'Property "{name}" is a read only property; its value cannot be set.',
        )
    text = "" if value is None else str(value)
    if text == "":
        return None
    kind = prop["type"]
    if kind == "enumeration":
        allowed = {o["value"] for o in prop["options"]}
        parts = text.split(";") if prop["fieldType"] == "checkbox" else [text]
        bad = [p for p in parts if p not in allowed]
        if bad:
            return (
                "INVALID_OPTION",
                f"{bad[0]!r} was not one of the allowed options: {sorted(allowed)}",
            )
    elif kind == "number":
        try:
            float(text)
        except ValueError:
            return "INVALID_DECIMAL", f"{text!r} is not a valid number for {name}"
    elif kind in ("datetime", "date") and parse_time(text) is None:
        return "INVALID_DATE", f"{text!r} is not a valid date for {name}"
    elif kind == "bool" and text not in ("true", "false"):
        return "INVALID_BOOLEAN", f"{text!r} is not a valid boolean for {name}"
    return None
