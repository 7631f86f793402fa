"""What reps see in HubSpot: the property group in order, dynamic tier lists; uninstall.

Through the unmodified hubspot-api-client (``client.crm.lists``) against the sandbox.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hubspot import HubSpot
from hubspot.crm.lists import ListCreateRequest
from hubspot.crm.lists.exceptions import ApiException

from icpsync.cli import cli
from icpsync.connectors.hubspot.install import ORDER
from icpsync.connectors.hubspot.lists import LISTS, TierLists
from icpsync.connectors.hubspot.sandbox import TOKEN, Sandbox
from icpsync.connectors.hubspot.values import TIER_VALUE


def _cli(config: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def _client(sandbox: Sandbox) -> HubSpot:
    return HubSpot(access_token=TOKEN, host=sandbox.url)


def test_lists_hold_exactly_the_companies_of_their_tier_after_a_sync(
    sandbox: Sandbox, tmp_path: Path, runner_for: Callable[..., Any]
) -> None:
    runner = runner_for(sandbox)
    runner.sync()
    client = _client(sandbox)
    companies = sandbox.portal.records["companies"]
    for name, tier in LISTS:
        found = client.crm.lists.lists_api.get_by_name(name, "0-2").list
        assert found.processing_type == "DYNAMIC" and found.object_type_id == "0-2"
        page = client.crm.lists.memberships_api.get_page(found.list_id, limit=250)
        members = {r.record_id for r in page.results}
        while page.paging and page.paging.next:
            page = client.crm.lists.memberships_api.get_page(
                found.list_id, limit=250, after=page.paging.next.after
            )
            members |= {r.record_id for r in page.results}
        expected = {cid for cid, p in companies.items() if p.get("icp_tier") == TIER_VALUE[tier]}
        assert members == expected and expected, name
    # the filter is HubSpot's real shape: OR of AND branches, an enumeration operation
    stored = next(x for x in sandbox.portal.lists.lists.values() if x["name"] == LISTS[0][0])
    branch = stored["filterBranch"]
    assert branch["filterBranchType"] == "OR"
    (inner,) = branch["filterBranches"]
    (flt,) = inner["filters"]
    assert flt["property"] == "icp_tier" and flt["filterType"] == "PROPERTY"
    assert flt["operation"] == {
        "operationType": "ENUMERATION",
        "operator": "IS_ANY_OF",
        "values": ["tier_1"],
        "includeObjectsWithNoValueSet": False,
    }


def test_install_twice_changes_nothing_and_orders_the_group(
    sandbox: Sandbox, tmp_path: Path, runner_for: Callable[..., Any]
) -> None:
    runner = runner_for(sandbox)
    props = sandbox.portal.properties["companies"]
    ours = {p["name"]: p for p in props.values() if p["groupName"] == "icpsync"}
    assert len(ours) == 7
    order = sorted(ours, key=lambda n: ours[n]["displayOrder"])
    assert order[:3] == ["icp_tier", "icp_score", "icp_reasons"]
    assert [ours[n]["displayOrder"] for n in order] == list(range(len(ORDER)))

    sandbox.reset_stats()
    connector = runner.connector()
    try:
        steps = connector.ensure_fields(dry_run=False)
    finally:
        connector.close()
    assert {s.action for s in steps} <= {"none", "unchanged"}, steps
    stats = sandbox.stats()
    assert not [k for k in stats if k.startswith(("create_", "update_", "lists_create"))], stats
    assert len(sandbox.portal.lists.lists) == 3


def test_install_puts_an_existing_property_back_in_order(
    sandbox: Sandbox, tmp_path: Path, runner_for: Callable[..., Any]
) -> None:
    runner = runner_for(sandbox)
    sandbox.portal.properties["companies"]["icp_tier"]["displayOrder"] = 9
    connector = runner.connector()
    try:
        checks = {c.name: c for c in connector.preflight()}
        assert not checks["property group icpsync"].ok
        steps = connector.ensure_fields(dry_run=False)
    finally:
        connector.close()
    assert [s.target for s in steps if s.action == "update"] == ["companies.icp_tier"]
    assert sandbox.portal.properties["companies"]["icp_tier"]["displayOrder"] == 0


def test_the_sandbox_refuses_search_operators_and_duplicate_names(sandbox: Sandbox) -> None:
    client = _client(sandbox)
    bad = {
        "filterBranchType": "OR",
        "filters": [],
        "filterBranches": [
            {
                "filterBranchType": "AND",
                "filterBranches": [],
                "filters": [
                    {
                        "filterType": "PROPERTY",
                        "property": "name",
                        "operation": {"operationType": "STRING", "operator": "EQ", "value": "x"},
                    }
                ],
            }
        ],
    }
    request = ListCreateRequest(
        name="x", object_type_id="0-2", processing_type="DYNAMIC", filter_branch=bad
    )
    with pytest.raises(ApiException) as refused:
        client.crm.lists.lists_api.create(request)
    assert refused.value.status == 400 and "EQ" in str(refused.value.body)
    manual = ListCreateRequest(name="Mine", object_type_id="0-2", processing_type="MANUAL")
    client.crm.lists.lists_api.create(manual)
    with pytest.raises(ApiException) as duplicate:
        client.crm.lists.lists_api.create(manual)
    assert "ILS.DUPLICATE_LIST_NAMES" in str(duplicate.value.body)


def test_doctor_checks_the_lists_and_says_the_sidebar_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = sandbox.write_config(tmp_path / "icpsync.toml")
    before = _cli(config, "doctor", "--crm", "hubspot")
    assert before.exit_code == 1 and "✗ list ICP Tier 1 companies (missing)" in before.output
    assert _cli(config, "install", "--crm", "hubspot").exit_code == 0
    after = _cli(config, "doctor", "--crm", "hubspot")
    assert after.exit_code == 0, after.output
    assert after.output.count("Record customization") == 1
    for name, _ in LISTS:
        assert f"✓ list {name} (dynamic" in after.output


def test_uninstall_removes_lists_properties_and_group_after_saying_what_data_goes(
    sandbox: Sandbox, tmp_path: Path, runner_for: Callable[..., Any]
) -> None:
    config = sandbox.write_config(tmp_path / "icpsync.toml")
    runner = runner_for(sandbox)
    runner.sync()
    holding = sum(1 for p in sandbox.portal.records["companies"].values() if p.get("icp_tier"))

    refused = _cli(config, "uninstall", "--crm", "hubspot")
    assert refused.exit_code == 2 and "pass --yes" in refused.output
    assert len(sandbox.portal.lists.lists) == 3

    kept = _cli(config, "uninstall", "--crm", "hubspot", "--yes", "--keep-fields")
    assert kept.exit_code == 0, kept.output
    assert not sandbox.portal.lists.lists and "icp_tier" in sandbox.portal.properties["companies"]

    dry = _cli(config, "uninstall", "--crm", "hubspot", "--dry-run")
    assert f"would delete property: companies.icp_tier - {holding:,} companies hold a value" in (
        dry.output
    )
    done = _cli(config, "uninstall", "--crm", "hubspot", "--yes")
    assert done.exit_code == 0, done.output
    assert not [n for n in sandbox.portal.properties["companies"] if n.startswith("icp_")]
    assert "icpsync" not in sandbox.portal.schema.groups["companies"]
    assert runner.state.list_runs()  # the run history stays


def test_tier_lists_sizes_count_every_page(
    start_sandbox: Callable[..., Sandbox], tmp_path: Path, runner_for: Callable[..., Any]
) -> None:
    sandbox = start_sandbox(accounts=1500, opportunities=1500)
    runner = runner_for(sandbox)
    runner.sync()
    connector = runner.connector()
    try:
        sizes = TierLists(connector.api, "icp_tier").sizes()
    finally:
        connector.close()
    records = sandbox.portal.records["companies"].values()
    expected = sum(1 for p in records if p.get("icp_tier") == "tier_2")
    assert sizes["ICP Tier 2 companies"] == expected > 250  # more than one page
