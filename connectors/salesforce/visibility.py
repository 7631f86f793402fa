"""What reps see in Salesforce: the layout section, list views and report, as checks and
as a short picture for ``icpsync demo``."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from simple_salesforce import format_soql

from icpsync.connectors.salesforce.install import FIELDS
from icpsync.connectors.salesforce.layouts import Layouts, section_fields
from icpsync.connectors.salesforce.listviews import ListViews
from icpsync.connectors.salesforce.reports import NAME, Report
from icpsync.core.errors import IcpSyncError
from icpsync.engine.protocol import Check

INSTALL = "run `icpsync install --crm salesforce`"


def visibility_checks(layouts: Layouts, views: ListViews, report: Report) -> list[Check]:
    """One line per layout, one for the list views, one for the report."""
    checks = []
    try:
        for name, present in layouts.present().items():
            checks.append(
                Check(
                    f"layout {unquote(name)}",
                    present,
                    f"section {layouts.label!r}" + ("" if present else " missing"),
                    INSTALL,
                )
            )
    except IcpSyncError as exc:
        checks.append(
            Check(
                "page layouts", False, str(exc), "grant Modify Metadata or set [salesforce] layouts"
            )
        )
    try:
        found = views.read()
        missing = [n for n in views.full_names() if n not in found]
        checks.append(
            Check(
                "list views",
                not missing,
                ", ".join(missing) + " missing" if missing else f"{len(found)} on the tier",
                INSTALL,
            )
        )
    except IcpSyncError as exc:
        checks.append(Check("list views", False, str(exc), INSTALL))
    try:
        report_id = report.find()
    except IcpSyncError as exc:
        checks.append(Check(f"report {NAME}", False, str(exc), "grant the View Reports permission"))
        return checks
    checks.append(
        Check(
            f"report {NAME}",
            report_id is not None,
            f"in {report.where()}" if report_id else "missing",
            INSTALL,
        )
    )
    return checks


def rep_view(layouts: Layouts, report: Report) -> list[str]:
    """The section as a rep sees it on a Tier 1 account, and the accounts per tier (the
    report's counts, which the list views filter on)."""
    fields = section_fields(layouts.icp)
    names = layouts.names()
    lines = [f"page layout section {layouts.label!r} on " + ", ".join(unquote(n) for n in names)]
    sample = _sample(layouts, [name for name, _ in fields])
    if sample:
        lines.append(f"  on {sample.get('Name')}:")
    for name, how in fields:
        label = FIELDS[_key(layouts.icp, name)][0]
        value = sample.get(name) if sample else None
        shown = "-" if value in (None, "") else str(value)
        lines.append(f"  {label}: {shown}" + (" (editable)" if how == "Edit" else ""))
    counts = report.run()
    if counts:
        lines.append(
            f"report {NAME!r} ({report.where()}): "
            + ", ".join(f"{k} {v}" for k, v in counts.items())
        )
    return lines


def _key(icp: dict[str, str] | Any, name: str) -> str:
    return next(k for k, v in icp.items() if v == name)


def _sample(layouts: Layouts, names: list[str]) -> dict[str, Any] | None:
    """One Tier 1 account with the section's fields (fields are validated identifiers)."""
    tier = layouts.icp.get("tier")
    if not tier:
        return None
    query = format_soql(
        f"SELECT Name, {', '.join(names)} FROM {layouts.obj} WHERE {tier} = {{}} LIMIT 1",
        "Tier 1",
    )
    rows = layouts.api.call("query", lambda c: c.query(query)["records"])
    return dict(rows[0]) if rows else None
