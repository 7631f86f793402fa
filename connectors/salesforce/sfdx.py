"""``icpsync install --crm salesforce --emit-metadata DIR``: a Salesforce DX project.

For change-managed orgs: everything install creates, in source format, for an admin to
deploy with their own pipeline (``sf project deploy start --source-dir force-app``):
the fields, both permission sets, the list views, a report folder with the report, and the
page-layout section as a documented patch (layouts belong to the admin; the patch says
where the section goes). Every file is XML in the Metadata API namespace.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from icpsync.connectors.salesforce.install import FIELDS, INTEGRATION_SET, READER_SET
from icpsync.connectors.salesforce.layouts import COLUMNS
from icpsync.connectors.salesforce.listviews import VIEWS, columns
from icpsync.connectors.salesforce.reports import MARK, NAME

MD = "http://soap.sforce.com/2006/04/metadata"
REPORT_FOLDER = "ICP_Sync"


def _element(tag: str, body: Any) -> ET.Element:
    """An element from nested data: dict -> children, list -> repeated tags, scalar -> text."""
    node = ET.Element(tag)
    _fill(node, body)
    return node


def _fill(node: ET.Element, body: Any) -> None:
    if isinstance(body, dict):
        for key, value in body.items():
            for item in value if isinstance(value, list) else [value]:
                child = ET.SubElement(node, key)
                _fill(child, item)
    elif isinstance(body, bool):
        node.text = str(body).lower()
    elif body is not None:
        node.text = str(body)


def _write(path: Path, root: str, body: Any, comment: str = "") -> Path:
    node = _element(root, body)
    node.set("xmlns", MD)
    ET.indent(node, space="    ")
    text = ET.tostring(node, encoding="unicode")
    note = f"<!-- {comment} -->\n" if comment else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n{note}{text}\n', encoding="utf-8")
    return path


def _field(name: str, key: str) -> dict[str, Any]:
    label, metadata, _ = FIELDS[key]
    body: dict[str, Any] = {"fullName": name, "externalId": False, "label": label}
    for attr in ("length", "precision", "scale"):
        if attr in metadata:
            body[attr] = metadata[attr]
    body["required"] = False
    body["trackHistory"] = False
    body["type"] = metadata["type"]
    if "valueSet" in metadata:
        definition = metadata["valueSet"]["valueSetDefinition"]
        body["valueSet"] = {
            "restricted": True,
            "valueSetDefinition": {"sorted": False, "value": definition["value"]},
        }
    return body


def emit_project(
    folder: Path, obj: str, icp: Mapping[str, str], *, api_version: str, section: str
) -> list[Path]:
    """Write the project under ``folder``; returns the files written."""
    base = folder / "force-app" / "main" / "default"
    written = []
    project = {
        "packageDirectories": [{"path": "force-app", "default": True}],
        "name": "icpsync",
        "namespace": "",
        "sourceApiVersion": api_version,
    }
    (folder / "sfdx-project.json").parent.mkdir(parents=True, exist_ok=True)
    (folder / "sfdx-project.json").write_text(json.dumps(project, indent=2) + "\n")
    written.append(folder / "sfdx-project.json")
    for key, name in icp.items():
        if key in FIELDS:
            path = base / "objects" / obj / "fields" / f"{name}.field-meta.xml"
            written.append(_write(path, "CustomField", _field(name, key)))
    for set_name, label in (
        (INTEGRATION_SET, "ICP Sync integration"),
        (READER_SET, "ICP Sync read-only"),
    ):
        perms = [
            {
                "editable": set_name == INTEGRATION_SET and key != "override",
                "field": f"{obj}.{name}",
                "readable": True,
            }
            for key, name in icp.items()
        ]
        body = {
            "description": "Created by icpsync",
            "fieldPermissions": perms,
            "hasActivationRequired": False,
            "label": label,
        }
        path = base / "permissionsets" / f"{set_name}.permissionset-meta.xml"
        written.append(_write(path, "PermissionSet", body))
    for view in VIEWS:
        body = {
            "fullName": view.name,
            "columns": columns(icp),
            "filterScope": view.scope,
            "filters": {"field": icp["tier"], "operation": "equals", "value": view.tier},
            "label": view.label,
        }
        path = base / "objects" / obj / "listViews" / f"{view.name}.listView-meta.xml"
        written.append(_write(path, "ListView", body))
    written += _report(base, obj, icp)
    written += _layout_patch(folder, icp, section)
    written.append(_readme(folder, obj, section))
    return written


def _report(base: Path, obj: str, icp: Mapping[str, str]) -> list[Path]:
    reports = base / "reports"
    folder = _write(
        reports / f"{REPORT_FOLDER}.reportFolder-meta.xml",
        "ReportFolder",
        {"name": "ICP Sync", "publicFolderAccess": "ReadOnly"},
    )
    details = ["ACCOUNT.NAME", f"{obj}.{icp['score']}", "USERS.NAME"]
    if "reasons" in icp:
        details.append(f"{obj}.{icp['reasons']}")
    body = {
        "columns": [{"field": d} for d in details],
        "description": MARK,
        "format": "Summary",
        "groupingsDown": {
            "dateGranularity": "Day",
            "field": f"{obj}.{icp['tier']}",
            "sortOrder": "Asc",
        },
        "name": NAME,
        "reportType": "AccountList",
        "scope": "organization",
        "showDetails": False,
        "showGrandTotal": True,
        "showSubTotals": True,
        "timeFrameFilter": {"dateColumn": "CREATED_DATE", "interval": "INTERVAL_CUSTOM"},
    }
    report = _write(
        reports / REPORT_FOLDER / "Accounts_by_ICP_tier.report-meta.xml", "Report", body
    )
    return [folder, report]


def _layout_patch(folder: Path, icp: Mapping[str, str], section: str) -> list[Path]:
    body = {
        "customLabel": True,
        "detailHeading": True,
        "editHeading": True,
        "label": section,
        "layoutColumns": [
            {
                "layoutItems": [
                    {"behavior": how, "field": icp[key]} for key, how in column if key in icp
                ]
            }
            for column in COLUMNS
        ],
        "style": "TwoColumnsTopToBottom",
    }
    comment = (
        "A patch, not a component: paste this <layoutSections> element into each Account "
        "layout (force-app/main/default/layouts/Account-*.layout-meta.xml), right after its "
        "first <layoutSections>, leaving the rest of the layout as it is. Leave out a field "
        "the layout already shows elsewhere (a layout may not hold a field twice)."
    )
    path = folder / "layout-patches" / "Account.icpFitSection.xml"
    return [_write(path, "layoutSections", body, comment)]


def _readme(folder: Path, obj: str, section: str) -> Path:
    text = f"""# icpsync metadata for change-managed orgs

Generated by `icpsync install --crm salesforce --emit-metadata`. Deploy with your pipeline:

    sf project deploy start --source-dir force-app --target-org <alias>

Then assign the `{INTEGRATION_SET}` permission set to the integration user and
`{READER_SET}` to reps (Setup > Permission Sets > Manage Assignments).

Page layouts are yours, so they are not in `force-app`: `layout-patches/Account.icpFitSection.xml`
is the "{section}" section for the {obj} layouts. Retrieve each layout
(`sf project retrieve start --metadata "Layout:{obj}-{obj} Layout"`), paste the section after
the first `<layoutSections>`, and deploy the layout with the rest. Or let
`icpsync install --crm salesforce` add it (a read-modify-write that keeps everything else).

The report lands in the public folder `{REPORT_FOLDER}` (read-only for everyone).
`icpsync uninstall --crm salesforce` removes what install created.
"""
    path = folder / "README.md"
    path.write_text(text, encoding="utf-8")
    return path
