"""What reps see in Salesforce: the layout section, list views and report, as checks and
as a short picture for ``icpsync demo``."""

from __future__ import annotations

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
                    f"layout {name}",
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
    report_id = report.find()
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
    """The section a rep sees on an account and the accounts per tier (the report's counts)."""
    fields = section_fields(layouts.icp)
    names = layouts.names()
    lines = [
        f"page layout section {layouts.label!r} on {len(names)} layout(s): " + ", ".join(names)
    ]
    lines += [f"  {name} ({'editable' if how == 'Edit' else 'read only'})" for name, how in fields]
    counts = report.run()
    if counts:
        lines.append(
            f"report {NAME!r} ({report.where()}): "
            + ", ".join(f"{k} {v}" for k, v in counts.items())
        )
    return lines
