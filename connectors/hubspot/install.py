"""``icpsync install --crm hubspot``: the property group and the tool's company properties.

Idempotent: existing groups and properties are left alone (a 409 from a concurrent
install counts as existing), missing tier options are added to an existing enumeration,
and a property of the wrong type is reported for an admin to fix (never changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyGroupCreate, PropertyUpdate

from icpsync.connectors.hubspot.client import HubSpotApi, RequestRefused
from icpsync.connectors.hubspot.values import TIER_OPTIONS
from icpsync.engine.field_map import FieldMap
from icpsync.engine.protocol import PlanStep

OBJECT = "companies"


@dataclass(frozen=True)
class PropertySpec:
    """One property the tool needs: its key in the field map, label, type and field type."""

    key: str
    label: str
    type: str
    field_type: str
    description: str
    options: tuple[tuple[str, str], ...] = ()


SPECS = (
    PropertySpec("score", "ICP score", "number", "number", "ICP fit score 0-100 (icpsync)."),
    PropertySpec("tier", "ICP tier", "enumeration", "select", "ICP tier (icpsync).", TIER_OPTIONS),
    PropertySpec(
        "flags", "ICP anti-ICP flags", "string", "text", "Anti-ICP flags, ;-separated (icpsync)."
    ),
    PropertySpec("reasons", "ICP reasons", "string", "textarea", "Why this score (icpsync)."),
    PropertySpec(
        "profile_version",
        "ICP profile version",
        "string",
        "text",
        "Version of the ICP profile that scored it.",
    ),
    PropertySpec(
        "scored_at",
        "ICP scored at",
        "datetime",
        "date",
        "When the ICP values last changed (icpsync).",
    ),
    PropertySpec(
        "override",
        "ICP tier override",
        "enumeration",
        "select",
        "Set by a person: wins over the computed tier; icpsync never writes it.",
        TIER_OPTIONS,
    ),
)


#: the order of the properties in their group (and on the record's "View all properties").
ORDER = ("tier", "score", "reasons", "flags", "override", "scored_at", "profile_version")


def display_order(key: str) -> int:
    """Where a property sits in the tool's group."""
    return ORDER.index(key) if key in ORDER else len(ORDER)


def specs_for(field_map: FieldMap) -> list[tuple[str, PropertySpec]]:
    """``(property name, spec)`` for every ICP key the field map names."""
    return [(field_map.icp[s.key], s) for s in SPECS if s.key in field_map.icp]


def existing_properties(api: HubSpotApi) -> dict[str, Any]:
    """Company properties by name (one call)."""
    result = api.call("properties", api.properties.get_all, OBJECT, archived=False)
    return {p.name: p for p in result.results}


def ensure_fields(api: HubSpotApi, field_map: FieldMap, *, dry_run: bool) -> list[PlanStep]:
    """Create the group and the properties that are missing; add missing tier options."""
    group = str(field_map.options.get("group", "icpsync"))
    label = str(field_map.options.get("group_label", "ICP fit (icpsync)"))
    steps: list[PlanStep] = []
    groups = {g.name for g in api.call("groups", api.groups.get_all, OBJECT).results}
    if group in groups:
        steps.append(PlanStep("none", f"{OBJECT} group {group}", "exists", done=True))
    else:
        if not dry_run:
            _create(
                lambda: api.call(
                    "groups",
                    api.groups.create,
                    OBJECT,
                    PropertyGroupCreate(name=group, label=label),
                )
            )
        steps.append(PlanStep("create", f"{OBJECT} group {group}", label, done=not dry_run))
    have = existing_properties(api)
    for name, spec in specs_for(field_map):
        target = f"{OBJECT}.{name}"
        prop = have.get(name)
        if prop is None:
            if not dry_run:
                body = PropertyCreate(
                    name=name,
                    label=spec.label,
                    type=spec.type,
                    field_type=spec.field_type,
                    group_name=group,
                    description=spec.description,
                    display_order=display_order(spec.key),
                    options=[
                        OptionInput(label=lab, value=val, display_order=i, hidden=False)
                        for i, (val, lab) in enumerate(spec.options)
                    ],
                )
                _create(
                    lambda body=body: api.call("properties", api.properties.create, OBJECT, body)
                )
            steps.append(
                PlanStep("create", target, f"{spec.type}/{spec.field_type}", done=not dry_run)
            )
            continue
        if prop.type != spec.type:
            steps.append(
                PlanStep(
                    "conflict",
                    target,
                    f"is {prop.type}, expected {spec.type}: "
                    f"rename it or point [icp] {spec.key} at another property",
                    done=False,
                )
            )
            continue
        values = {o.value for o in prop.options or []}
        missing = [(v, lab) for v, lab in spec.options if v not in values]
        if missing:
            if not dry_run:
                options = [
                    OptionInput(
                        label=o.label,
                        value=o.value,
                        display_order=o.display_order,
                        hidden=bool(o.hidden),
                    )
                    for o in prop.options or []
                ] + [
                    OptionInput(label=lab, value=v, display_order=len(values) + i, hidden=False)
                    for i, (v, lab) in enumerate(missing)
                ]
                api.call(
                    "properties",
                    api.properties.update,
                    OBJECT,
                    name,
                    PropertyUpdate(options=options),
                )
            steps.append(
                PlanStep(
                    "update",
                    target,
                    "add options " + ", ".join(lab for _, lab in missing),
                    done=not dry_run,
                )
            )
        elif prop.group_name != group or prop.display_order != display_order(spec.key):
            if not dry_run:
                change = PropertyUpdate(group_name=group, display_order=display_order(spec.key))
                api.call("properties", api.properties.update, OBJECT, name, change)
            steps.append(
                PlanStep(
                    "update",
                    target,
                    f"into group {group}, position {display_order(spec.key) + 1}",
                    done=not dry_run,
                )
            )
        else:
            steps.append(PlanStep("none", target, "exists", done=True))
    return steps


def _create(call: Any) -> None:
    """Create (retried); a 409 (made meanwhile, or by a retried call whose response was
    lost) counts as done."""
    try:
        call()
    except RequestRefused as exc:
        if exc.status != 409:
            raise
