"""What reps see in HubSpot, and taking it out again.

The tool's properties sit in their own group in a set order; the tier lists are dynamic
company lists. HubSpot has no public API to place properties on the company record's
sidebar, so doctor says once where an admin does that by hand. ``uninstall`` deletes the
lists and (unless fields are kept) the properties and their group, after saying how many
companies hold a value in each property.
"""

from __future__ import annotations

from icpsync.connectors.hubspot.client import HubSpotApi
from icpsync.connectors.hubspot.install import OBJECT, display_order, existing_properties, specs_for
from icpsync.connectors.hubspot.lists import LISTS, TierLists
from icpsync.core.errors import ConnectorError
from icpsync.engine.field_map import FieldMap
from icpsync.engine.protocol import Check, PlanStep

SIDEBAR = (
    "Settings > Objects > Companies > Record customization > Default view > "
    "About this company card: Edit properties, add the ICP tier, score and reasons"
)


def group_of(field_map: FieldMap) -> str:
    return str(field_map.options.get("group", "icpsync"))


def visibility_checks(api: HubSpotApi, field_map: FieldMap) -> list[Check]:
    """The group order, one line per list, and the sidebar step (said once)."""
    checks = []
    props = existing_properties(api)
    group = group_of(field_map)
    ours = [(name, spec) for name, spec in specs_for(field_map) if name in props]
    misplaced = [
        name
        for name, spec in ours
        if props[name].group_name != group or props[name].display_order != display_order(spec.key)
    ]
    checks.append(
        Check(
            f"property group {group}",
            not misplaced,
            f"{len(ours)} properties in order"
            if not misplaced
            else "out of place: " + ", ".join(misplaced),
            "run `icpsync install --crm hubspot`",
        )
    )
    lists = TierLists(api, field_map.icp["tier"])
    for name, _ in LISTS:
        try:
            found = lists.find(name)
        except ConnectorError as exc:
            checks.append(
                Check(
                    f"list {name}", False, str(exc), "give the app the crm.lists.read/write scopes"
                )
            )
            continue
        checks.append(
            Check(
                f"list {name}",
                found is not None,
                f"dynamic, id {found['listId']}" if found else "missing",
                "run `icpsync install --crm hubspot`",
            )
        )
    checks.append(Check("record sidebar (by hand, no API)", True, SIDEBAR))
    return checks


def uninstall(
    api: HubSpotApi, field_map: FieldMap, *, dry_run: bool, keep_fields: bool
) -> list[PlanStep]:
    """Lists, then (unless ``keep_fields``) the properties and their group."""
    steps = TierLists(api, field_map.icp["tier"]).remove(dry_run=dry_run)
    if keep_fields:
        return [*steps, PlanStep("keep fields", OBJECT, "--keep-fields: properties stay", True)]
    props = existing_properties(api)
    ours = [name for name, _ in specs_for(field_map) if name in props]
    for name in ours:
        held = companies_with_value(api, name)
        if not dry_run:
            api.call("properties", api.properties.archive, OBJECT, name)
        steps.append(
            PlanStep(
                "delete property",
                f"{OBJECT}.{name}",
                f"{held:,} companies hold a value",
                not dry_run,
            )
        )
    group = group_of(field_map)
    groups = {g.name for g in api.call("groups", api.groups.get_all, OBJECT).results}
    if group in groups:
        others = [n for n, p in props.items() if p.group_name == group and n not in ours]
        if others:
            steps.append(PlanStep("keep group", group, f"it also holds {', '.join(others)}", True))
        else:
            if not dry_run:
                api.call("groups", api.groups.archive, OBJECT, group)
            steps.append(PlanStep("delete property group", group, "", not dry_run))
    return steps


def companies_with_value(api: HubSpotApi, prop: str) -> int:
    """How many companies hold a value in ``prop`` (one search, its ``total``)."""
    from hubspot.crm.companies import Filter, FilterGroup, PublicObjectSearchRequest

    request = PublicObjectSearchRequest(
        filter_groups=[FilterGroup(filters=[Filter(property_name=prop, operator="HAS_PROPERTY")])],
        properties=["hs_object_id"],
        limit=1,
    )
    page = api.call("search_companies", api.companies_search.do_search, request, raw=True)
    return int(page.get("total") or 0)


def rep_view(api: HubSpotApi, field_map: FieldMap) -> list[str]:
    """The group a rep finds on a company and the companies per tier list."""
    props = existing_properties(api)
    ordered = sorted(
        (
            (display_order(spec.key), name, props[name].label)
            for name, spec in specs_for(field_map)
            if name in props
        )
    )
    lines = [
        f"property group {group_of(field_map)!r} on each company: "
        + ", ".join(lab for _, _, lab in ordered)
    ]
    sizes = TierLists(api, field_map.icp["tier"]).sizes()
    lines.append(
        "lists: " + ", ".join(f"{n} {s if s is not None else 'missing'}" for n, s in sizes.items())
    )
    lines.append(f"sidebar (by hand): {SIDEBAR}")
    return lines
