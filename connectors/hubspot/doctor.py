"""``icpsync doctor --crm hubspot``: token, properties, read access and rate-limit headroom."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from icpsync.connectors.hubspot.client import HubSpotApi
from icpsync.connectors.hubspot.install import existing_properties, specs_for
from icpsync.core.errors import AuthError, ConnectorError
from icpsync.engine.field_map import FieldMap
from icpsync.engine.protocol import Check

#: below this many daily calls left, a full sync of a large portal may not finish.
LOW_DAILY_REMAINING = 5_000


def preflight(
    api: HubSpotApi,
    field_map: FieldMap,
    *,
    rate_limit_per_10s: int,
    mirror_native_tier: bool,
    seen: Callable[[Mapping[str, Any]], None] | None = None,
) -> list[Check]:
    """The checks, in order; each failed one says how to fix it. ``seen`` is given the
    portal's company properties once read (so the caller need not read them again)."""
    try:
        props = existing_properties(api)
        if seen is not None:
            seen(props)
    except AuthError as exc:
        return [
            Check(
                "access token",
                False,
                str(exc),
                "give the private app the crm.objects.companies.read/write, "
                "crm.objects.deals.read and crm.schemas.companies.read/write scopes; "
                "set ICPSYNC_HUBSPOT__ACCESS_TOKEN",
            )
        ]
    except ConnectorError as exc:
        return [Check("HubSpot reachable", False, str(exc), "check [hubspot] host and the network")]
    checks = [Check("access token", True, "HubSpot accepted the token")]
    for name, spec in specs_for(field_map):
        prop = props.get(name)
        if prop is None:
            checks.append(
                Check(f"property {name}", False, "missing", "run `icpsync install --crm hubspot`")
            )
            continue
        ok = prop.type == spec.type
        detail = f"{prop.type}" + ("" if ok else f", expected {spec.type}")
        options = {o.value for o in prop.options or []}
        missing = [label for value, label in spec.options if value not in options]
        if missing:
            ok = False
            detail += f"; options missing: {', '.join(missing)}"
        checks.append(
            Check(
                f"property {name}",
                ok,
                detail,
                "run `icpsync install --crm hubspot` (or fix the property's type by hand)",
            )
        )
    # Only the id is needed: a property the portal lacks leaves its criteria unscorable.
    names = [n for n in field_map.account.crm_names() if n != "hs_object_id"]
    absent = sorted(set(missing_properties(field_map, props).values()))
    checks.append(
        Check(
            "company properties read",
            True,
            f"{len(names) - len(absent)} of {len(names)} properties"
            + (f"; not in this portal: {', '.join(absent)}" if absent else ""),
            "fix the names in the [account.fields] of the field map",
        )
    )
    if mirror_native_tier:
        native = props.get("hs_ideal_customer_profile")
        checks.append(
            Check(
                "native ICP tier property",
                native is not None,
                "hs_ideal_customer_profile",
                "turn off [hubspot] mirror_native_tier: this portal lacks the property",
            )
        )
    try:
        stages = api.call("pipelines", api.pipelines.get_all, "deals").results
        checks.append(Check("deals readable", True, f"{len(stages)} deal pipeline(s)"))
    except ConnectorError as exc:
        checks.append(
            Check(
                "deals readable",
                False,
                str(exc),
                "add the crm.objects.deals.read scope to the private app",
            )
        )
    checks.extend(_headroom(api, rate_limit_per_10s))
    return checks


def missing_properties(field_map: FieldMap, present: Mapping[str, object]) -> dict[str, str]:
    """Canonical field (``signals.<name>`` for a signal) -> the field map's company
    property the portal does not have (``present``: the portal's properties by name)."""
    account = field_map.account
    wanted = {
        **{k: v for k, v in account.fields.items() if k != "id"},
        **{f"signals.{k}": v for k, v in account.signals.items()},
    }
    return {key: name for key, name in wanted.items() if name not in present}


def _headroom(api: HubSpotApi, rate_limit_per_10s: int) -> list[Check]:
    headers = {k.lower(): v for k, v in api.last_headers.items()}
    if not headers:
        return [
            Check("rate-limit headers", True, "none sent (OAuth or search): limits not checked")
        ]
    checks = []
    top = headers.get("x-hubspot-ratelimit-max")
    if top is not None and top.isdigit():
        ok = rate_limit_per_10s <= int(top)
        checks.append(
            Check(
                "ten-second limit",
                ok,
                f"client allows {rate_limit_per_10s}, HubSpot allows {top} per 10 s",
                f"set [hubspot] rate_limit_per_10s to at most {top}",
            )
        )
    remaining = headers.get("x-hubspot-ratelimit-daily-remaining")
    daily = headers.get("x-hubspot-ratelimit-daily")
    if remaining is not None and remaining.isdigit():
        checks.append(
            Check(
                "daily API budget",
                int(remaining) >= LOW_DAILY_REMAINING,
                f"{remaining} of {daily or '?'} calls left today",
                "wait for the daily reset (midnight, portal time zone) or raise the API limit",
            )
        )
    return checks
