"""What reps see in Salesforce: the layout section, list views and report; uninstall.

Everything goes through the unmodified simple-salesforce client (``sf.mdapi`` is zeep over
SOAP) against the sandbox org, whose Account layouts were built by an "admin".
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from icpsync.cli import cli
from icpsync.connectors.salesforce.install import INTEGRATION_SET, READER_SET
from icpsync.connectors.salesforce.metadata import mdapi
from icpsync.connectors.salesforce.reports import NAME
from icpsync.connectors.salesforce.sandbox import Sandbox
from icpsync.core.errors import ConfigError

MD = "{http://soap.sforce.com/2006/04/metadata}"
SECTION = "ICP Fit"
LAYOUTS = ("Account-Account Layout", "Account-Account %28Marketing%29 Layout")
TOOL_FIELDS = (
    "ICP_Tier__c",
    "ICP_Score__c",
    "ICP_Anti_Flags__c",
    "ICP_Reasons__c",
    "ICP_Tier_Override__c",
    "ICP_Scored_At__c",
)


def _layouts(box: Sandbox) -> dict[str, str]:
    return {name: str(box.app.mdapi.get("Layout", name)) for name in LAYOUTS}


def _split(xml: str) -> tuple[str, list[ET.Element]]:
    """The layout without the tool's section (as text), and the tool's sections."""
    root = ET.fromstring(xml)
    ours = [s for s in root.findall("layoutSections") if s.findtext("label") == SECTION]
    for section in ours:
        root.remove(section)
    return ET.tostring(root, encoding="unicode"), ours


def _items(section: ET.Element) -> list[tuple[str | None, str | None]]:
    return [(i.findtext("field"), i.findtext("behavior")) for i in section.iter("layoutItems")]


def _cli(config: Path, *args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(cli, ["--config", str(config), *args], input=stdin)


def test_install_adds_the_section_and_keeps_every_layout_as_the_admin_built_it(
    sf: Any, sandbox: Sandbox
) -> None:
    before = _layouts(sandbox)
    assert all("<layoutColumns/>" in xml for xml in before.values())  # empty columns seeded
    settings = sf.settings_for(sandbox)
    sf.install(settings)

    after = _layouts(sandbox)
    for name in LAYOUTS:
        rest, ours = _split(after[name])
        assert rest == _split(before[name])[0], f"{name} changed outside the ICP section"
        assert len(ours) == 1
        items = dict(_items(ours[0]))
        assert set(items) == set(TOOL_FIELDS)
        assert items["ICP_Tier_Override__c"] == "Edit"
        assert items["ICP_Scored_At__c"] == "Readonly"
        # right below the first section, where reps look first
        labels = [s.findtext("label") for s in ET.fromstring(after[name]).findall("layoutSections")]
        assert labels.index(SECTION) == 1

    writes = sandbox.app.mdapi.calls.copy()
    connector = sf.connector_for(settings)
    try:
        steps = connector.ensure_fields(dry_run=False)
    finally:
        connector.close()
    assert {s.action for s in steps} <= {"none", "unchanged"}, steps
    assert _layouts(sandbox) == after
    calls = sandbox.app.mdapi.calls - writes
    assert not any(op in calls for op in ("createMetadata", "updateMetadata", "upsertMetadata"))


def test_list_views_filter_on_the_tier_field(sf: Any, sandbox: Sandbox, client_for: Any) -> None:
    settings = sf.settings_for(sandbox)
    sf.install(settings)
    md = mdapi(sf.connector_for(settings).api, client_for(settings))
    views = md.ListView.read(["Account.ICP_Tier_1", "Account.My_ICP_Tier_1", "Account.Anti_ICP"])
    by_name = {v.fullName: v for v in views}
    assert by_name["Account.ICP_Tier_1"].label == "ICP Tier 1 accounts"
    assert by_name["Account.My_ICP_Tier_1"].filterScope == "Mine"
    assert by_name["Account.ICP_Tier_1"].filterScope == "Everything"
    for view, tier in (
        ("ICP_Tier_1", "Tier 1"),
        ("My_ICP_Tier_1", "Tier 1"),
        ("Anti_ICP", "Anti-ICP"),
    ):
        (flt,) = by_name[f"Account.{view}"].filters
        assert (flt.field, flt.operation, flt.value) == ("ICP_Tier__c", "equals", tier)
        assert list(by_name[f"Account.{view}"].columns) == [
            "ACCOUNT.NAME",
            "ICP_Tier__c",
            "ICP_Score__c",
            "CORE.USERS.ALIAS",
            "ICP_Reasons__c",
        ]


def test_the_report_groups_accounts_by_tier(sf: Any, sandbox: Sandbox, client_for: Any) -> None:
    settings = sf.settings_for(sandbox)
    sf.install(settings)
    sf.sync(settings)
    client = client_for(settings)
    rows = client.query_all(f"SELECT Id, FolderName FROM Report WHERE Name = '{NAME}'")["records"]
    assert len(rows) == 1 and rows[0]["FolderName"] == "My Personal Custom Reports"
    described = client.restful(f"analytics/reports/{rows[0]['Id']}/describe")
    meta = described["reportMetadata"]
    assert meta["reportFormat"] == "SUMMARY" and meta["aggregates"] == ["RowCount"]
    assert [g["name"] for g in meta["groupingsDown"]] == ["Account.ICP_Tier__c"]
    result = client.restful(
        f"analytics/reports/{rows[0]['Id']}", params={"includeDetails": "false"}
    )
    counts = {
        g["label"]: result["factMap"][f"{g['key']}!T"]["aggregates"][0]["value"]
        for g in result["groupingsDown"]["groupings"]
    }
    expected = Counter(r["ICP_Tier__c"] for r in sandbox.org.records["Account"].values())
    assert counts == {str(k): v for k, v in expected.items()} and len(counts) >= 4


def test_a_named_report_folder_is_used_and_an_unknown_one_is_a_config_error(
    sf: Any, sandbox: Sandbox, client_for: Any
) -> None:
    settings = sf.settings_for(sandbox, report_folder="Sales_Ops_Reports")
    sf.install(settings)
    client = client_for(settings)
    rows = client.query_all(f"SELECT FolderName FROM Report WHERE Name = '{NAME}'")["records"]
    assert rows[0]["FolderName"] == "Sales Ops Reports"
    from icpsync.core.errors import ConfigError

    wrong = sf.settings_for(sandbox, report_folder="No_Such_Folder")
    connector = sf.connector_for(wrong)
    try:
        with pytest.raises(ConfigError, match=r"salesforce\.report_folder"):
            connector.ensure_fields(dry_run=True)
    finally:
        connector.close()


def test_a_field_the_admin_already_placed_is_not_added_twice(sf: Any, sandbox: Sandbox) -> None:
    settings = sf.settings_for(sandbox)
    connector = sf.connector_for(settings)
    try:
        connector.ensure_fields(dry_run=False)
        connector.uninstall(dry_run=False, keep_fields=True)
    finally:
        connector.close()
    # the admin puts the tier into "Account Information" by hand, then installs again
    name = "Account-Account Layout"
    xml = str(sandbox.app.mdapi.get("Layout", name))
    placed = xml.replace(
        "<field>Website</field></layoutItems>",
        "<field>Website</field></layoutItems>"
        "<layoutItems><behavior>Readonly</behavior><field>ICP_Tier__c</field></layoutItems>",
        1,
    )
    sandbox.app.mdapi.put("Layout", placed.replace("<Layout>", f'<Layout xmlns="{MD[1:-1]}">', 1))
    sf.install(settings)
    after = str(sandbox.app.mdapi.get("Layout", name))
    assert after.count("<field>ICP_Tier__c</field>") == 1
    _, (section,) = _split(after)
    assert "ICP_Tier__c" not in dict(_items(section)) and "ICP_Score__c" in dict(_items(section))


def test_configured_layouts_only_and_a_wrong_name_says_so(sf: Any, sandbox: Sandbox) -> None:
    before = _layouts(sandbox)
    settings = sf.settings_for(sandbox, layouts=["Account-Account (Marketing) Layout"])
    sf.install(settings)
    after = _layouts(sandbox)
    assert after["Account-Account Layout"] == before["Account-Account Layout"]
    assert SECTION in after["Account-Account %28Marketing%29 Layout"]

    wrong = sf.settings_for(sandbox, layouts=["Account-Sales Layout"])
    connector = sf.connector_for(wrong)
    try:
        with pytest.raises(ConfigError, match="no page layout named 'Account-Sales Layout'"):
            connector.ensure_fields(dry_run=True)
    finally:
        connector.close()


def test_the_sandbox_refuses_what_a_real_org_refuses(
    sf: Any, sandbox: Sandbox, client_for: Any
) -> None:
    settings = sf.settings_for(sandbox)
    md = mdapi(sf.connector_for(settings).api, client_for(settings))
    assert md.Layout.read(["Account-Account (Marketing) Layout"]).fullName is None  # decoded name
    layout = md.Layout.read(["Account-Account Layout"])
    column = layout.layoutSections[0].layoutColumns[0]
    column.layoutItems = [*column.layoutItems, md.LayoutItem(behavior="Edit", field="Name")]
    with pytest.raises(Exception, match="FIELD_INTEGRITY_EXCEPTION"):
        md.Layout.update([layout])


def test_an_expired_session_on_the_metadata_api_logs_in_again(sf: Any, sandbox: Sandbox) -> None:
    settings = sf.settings_for(sandbox)
    connector = sf.connector_for(settings)
    try:
        assert connector._layouts().names()
        sandbox.app.tokens.clear()  # every session expires
        assert sorted(connector._layouts().names()) == sorted(LAYOUTS)
    finally:
        connector.close()


def test_uninstall_restores_each_layout_and_leaves_nothing_of_the_tool(
    sf: Any, sandbox: Sandbox, tmp_path: Path
) -> None:
    before = _layouts(sandbox)
    config = sandbox.write_config(tmp_path / "icpsync.toml")
    installed = _cli(config, "install", "--crm", "salesforce")
    assert installed.exit_code == 0, installed.output
    assert "did add section: layout Account-Account Layout" in installed.output
    assert (
        f"did create report: {NAME}" in installed.output and "private reports" in installed.output
    )
    sf.sync(sf.settings_for(sandbox))

    refused = _cli(config, "uninstall", "--crm", "salesforce")  # no terminal, no --yes
    assert refused.exit_code == 2 and "--yes" in refused.output
    assert "ICP_Tier__c" in sandbox.org.schema["Account"]

    dry = _cli(config, "uninstall", "--crm", "salesforce", "--dry-run")
    assert dry.exit_code == 0
    assert (
        f"would delete values: Account - {len(sandbox.org.records['Account'])} record(s)"
        in dry.output
    )
    assert "would remove section: layout Account-Account Layout" in dry.output

    done = _cli(config, "uninstall", "--crm", "salesforce", "--yes")
    assert done.exit_code == 0, done.output
    assert _layouts(sandbox) == before
    assert sandbox.app.mdapi.names("ListView") == []
    assert not sandbox.org.records["Report"]
    names = {p["Name"] for p in sandbox.org.records["PermissionSet"].values()}
    assert not names & {INTEGRATION_SET, READER_SET}
    assert not sandbox.org.tooling["CustomField"]
    assert not [f for f in sandbox.org.schema["Account"] if f.startswith("ICP_")]

    again = _cli(config, "uninstall", "--crm", "salesforce", "--yes")
    assert again.exit_code == 0 and "nothing to remove" in again.output


def test_uninstall_keep_fields_keeps_the_values(sf: Any, sandbox: Sandbox) -> None:
    settings = sf.settings_for(sandbox)
    sf.install(settings)
    sf.sync(settings)
    connector = sf.connector_for(settings)
    try:
        steps = connector.uninstall(dry_run=False, keep_fields=True)
    finally:
        connector.close()
    assert "delete field" not in {s.action for s in steps}
    assert len(sandbox.org.tooling["CustomField"]) == 7
    assert all(r["ICP_Tier__c"] for r in sandbox.org.records["Account"].values())


def test_doctor_checks_layouts_list_views_and_report(
    sf: Any, sandbox: Sandbox, tmp_path: Path
) -> None:
    config = sandbox.write_config(tmp_path / "icpsync.toml")
    _cli(config, "install", "--crm", "salesforce")
    ok = _cli(config, "doctor", "--crm", "salesforce")
    assert ok.exit_code == 0, ok.output
    assert "✓ layout Account-Account Layout (section 'ICP Fit')" in ok.output
    assert "✓ list views (3 on the tier)" in ok.output and f"✓ report {NAME}" in ok.output
    sandbox.app.mdapi.components.pop(("ListView", "Account.Anti_ICP"))
    broken = _cli(config, "doctor", "--crm", "salesforce")
    assert broken.exit_code == 1
    assert "✗ list views (Account.Anti_ICP missing)" in broken.output
    assert "fix: run `icpsync install --crm salesforce`" in broken.output


def test_dry_run_lists_every_step(sandbox: Sandbox, tmp_path: Path) -> None:
    config = sandbox.write_config(tmp_path / "icpsync.toml")
    dry = _cli(config, "install", "--crm", "salesforce", "--dry-run")
    assert dry.exit_code == 0, dry.output
    for line in (
        "would create field: Account.ICP_Tier__c",
        "would add section: layout Account-Account Layout",
        "would add section: layout Account-Account (Marketing) Layout",
        "would create list view: Account.ICP_Tier_1",
        "would create list view: Account.My_ICP_Tier_1",
        "would create list view: Account.Anti_ICP",
        f"would create report: {NAME}",
    ):
        assert line in dry.output
    assert sandbox.app.mdapi.calls["updateMetadata"] == 0 and not sandbox.org.records["Report"]


def test_emit_metadata_writes_a_valid_sfdx_project(tmp_path: Path) -> None:
    config = tmp_path / "icpsync.toml"
    config.write_text('[sync]\ncrm = "salesforce"\n')  # no credentials needed
    out = tmp_path / "sfdx"
    result = _cli(config, "install", "--crm", "salesforce", "--emit-metadata", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "sfdx-project.json").is_file()
    base = out / "force-app" / "main" / "default"
    files = sorted(out.rglob("*.xml"))
    assert len(files) >= 15
    for path in files:
        root = ET.parse(path).getroot()
        assert root.tag.startswith(MD), path
    fields = {
        p.name.removesuffix(".field-meta.xml") for p in (base / "objects/Account/fields").iterdir()
    }
    assert fields == {*TOOL_FIELDS, "ICP_Profile_Version__c"}
    for path in (base / "objects/Account/fields").iterdir():
        assert ET.parse(path).getroot().findtext(f"{MD}fullName") == path.name.split(".")[0]
    for set_name in (INTEGRATION_SET, READER_SET):
        root = ET.parse(base / "permissionsets" / f"{set_name}.permissionset-meta.xml").getroot()
        named = {e.findtext(f"{MD}field") for e in root.findall(f"{MD}fieldPermissions")}
        assert named == {f"Account.{f}" for f in fields}
    view = ET.parse(base / "objects/Account/listViews/My_ICP_Tier_1.listView-meta.xml").getroot()
    assert view.findtext(f"{MD}filterScope") == "Mine"
    assert view.findtext(f"{MD}filters/{MD}field") == "ICP_Tier__c"
    report = ET.parse(base / "reports/ICP_Sync/Accounts_by_ICP_tier.report-meta.xml").getroot()
    assert report.findtext(f"{MD}groupingsDown/{MD}field") == "Account.ICP_Tier__c"
    patch = ET.parse(out / "layout-patches" / "Account.icpFitSection.xml").getroot()
    assert patch.tag == f"{MD}layoutSections"
    assert {e.text for e in patch.iter(f"{MD}field")} == set(TOOL_FIELDS)


def test_the_sandbox_speaks_create_upsert_delete_and_list(
    sf: Any, sandbox: Sandbox, client_for: Any
) -> None:
    settings = sf.settings_for(sandbox)
    md = mdapi(sf.connector_for(settings).api, client_for(settings))
    view = md.ListView(
        fullName="Account.Big_Ones",
        label="Big ones",
        filterScope="Everything",
        columns=["ACCOUNT.NAME"],
        filters=[
            md.ListViewFilter(field="NumberOfEmployees", operation="greaterThan", value="1000")
        ],
    )
    md.ListView.create([view])
    with pytest.raises(Exception, match="DUPLICATE_DEVELOPER_NAME"):
        md.ListView.create([view])
    view.label = "Big accounts"
    md.ListView.upsert([view])
    assert md.ListView.read(["Account.Big_Ones"]).label == "Big accounts"
    listed = md.list_metadata([md.ListMetadataQuery(type="ListView")])
    assert [r.fullName for r in listed] == ["Account.Big_Ones"]
    assert listed[0].fileName == "objects/Account.Big_Ones.listView"
    md.ListView.delete(["Account.Big_Ones"])
    assert md.ListView.read(["Account.Big_Ones"]).fullName is None
    with pytest.raises(Exception, match="INVALID_CROSS_REFERENCE_KEY"):
        md.ListView.delete(["Account.Big_Ones"])
    bad = md.ListView(
        fullName="Account.Bad", label="Bad", filterScope="Everything", columns=["Nope__c"]
    )
    with pytest.raises(Exception, match=r"Unknown field: Account\.Nope__c"):
        md.ListView.create([bad])
    layouts = md.list_metadata([md.ListMetadataQuery(type="Layout")])
    assert sorted(r.fullName for r in layouts) == sorted(LAYOUTS)


def test_install_and_uninstall_through_injected_faults(sf: Any, make_sandbox: Any) -> None:
    box = make_sandbox(accounts=50, opportunities=50, fault_rate=0.3, seed=3, slow_ms=50)
    before = _layouts(box)
    settings = sf.settings_for(box, max_retries=10)
    connector = sf.connector_for(settings)
    try:
        connector.ensure_fields(dry_run=False)
        assert all(SECTION in xml for xml in _layouts(box).values())
        connector.uninstall(dry_run=False, keep_fields=False)
    finally:
        connector.close()
    assert box.stats()["oauth_token"] > 1  # sessions expired under the calls and were renewed
    assert _layouts(box) == before and box.app.mdapi.names("ListView") == []
