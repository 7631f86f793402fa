"""``icpsync install`` / ``doctor`` for HubSpot, through the CLI and the connector."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hubspot import HubSpot
from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyGroupCreate

from icpsync.cli import cli
from icpsync.connectors.hubspot.sandbox import TOKEN, Sandbox


def _cli(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_install_creates_the_properties_once_and_doctor_passes(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = sandbox.write_config(tmp_path / "icpsync.toml")

    code, before = _cli(config, "doctor", "--crm", "hubspot")
    assert code == 1 and "icpsync install" in before

    code, planned = _cli(config, "install", "--crm", "hubspot", "--dry-run")
    assert code == 0 and "icp_tier" in planned
    assert "icp_score" not in sandbox.portal.properties["companies"]

    sandbox.reset_stats()
    code, _ = _cli(config, "install", "--crm", "hubspot")
    assert code == 0
    created = sandbox.stats()
    assert created["create_property_companies"] == 7
    assert created["create_group_companies"] == 1
    props = sandbox.portal.properties["companies"]
    assert props["icp_score"]["type"] == "number"
    assert props["icp_scored_at"]["type"] == "datetime"
    assert props["icp_reasons"]["fieldType"] == "textarea"
    assert [o["label"] for o in props["icp_tier"]["options"]] == [
        "Tier 1",
        "Tier 2",
        "Tier 3",
        "Not ICP",
        "Anti-ICP",
    ]
    assert props["icp_tier"]["groupName"] == "icpsync"

    sandbox.reset_stats()
    code, _ = _cli(config, "install", "--crm", "hubspot")
    again = sandbox.stats()
    assert code == 0
    assert not {k for k in again if k.startswith(("create_", "update_"))}

    code, after = _cli(config, "doctor", "--crm", "hubspot")
    assert code == 0, after
    assert "190" in after  # the rate-limit headroom line


def test_install_adds_missing_tier_options_and_survives_a_409(
    sandbox: Sandbox, runner_for: Callable[..., Any]
) -> None:
    client = HubSpot(access_token=TOKEN, host=sandbox.url)
    props = client.crm.properties
    props.groups_api.create("companies", PropertyGroupCreate(name="icpsync", label="ICP"))
    props.core_api.create(
        "companies",
        PropertyCreate(
            name="icp_tier",
            label="ICP tier",
            type="enumeration",
            field_type="select",
            group_name="icpsync",
            options=[OptionInput(label="Tier 1", value="tier_1", hidden=False)],
        ),
    )
    for api in (props.groups_api, props.core_api):
        api.api_client.rest_client.pool_manager.clear()
    runner = runner_for(sandbox, install=False)
    connector = runner.connector()
    try:
        steps = {s.target: s for s in connector.ensure_fields(dry_run=False)}
    finally:
        connector.close()
    assert steps["companies.icp_tier"].action == "update"
    assert steps["companies group icpsync"].action == "none"
    options = [o["value"] for o in sandbox.portal.properties["companies"]["icp_tier"]["options"]]
    assert options == ["tier_1", "tier_2", "tier_3", "not_icp", "anti_icp"]


def test_doctor_reports_a_wrong_type_a_bad_token_and_too_high_a_rate(
    sandbox: Sandbox, runner_for: Callable[..., Any]
) -> None:
    runner_for(sandbox)  # installs
    with sandbox.portal.lock:
        sandbox.portal.properties["companies"]["icp_score"]["type"] = "string"
    fast = runner_for(sandbox, install=False, rate_limit_per_10s=250)
    connector = fast.connector()
    try:
        checks = {c.name: c for c in connector.preflight()}
    finally:
        connector.close()
    assert not checks["property icp_score"].ok
    assert "expected number" in checks["property icp_score"].detail
    assert not checks["ten-second limit"].ok
    assert "at most 190" in checks["ten-second limit"].fix
    assert checks["daily API budget"].ok

    bad = runner_for(sandbox, install=False, access_token="pat-wrong")
    connector = bad.connector()
    try:
        checks_bad = connector.preflight()
    finally:
        connector.close()
    assert len(checks_bad) == 1 and not checks_bad[0].ok
    assert "scope" in checks_bad[0].fix
    assert "pat-wrong" not in checks_bad[0].detail


def test_sync_without_a_token_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "icpsync.toml"
    config.write_text('[sync]\ncrm = "hubspot"\n')
    from icpsync.cli import main

    try:
        main(["--config", str(config), "sync"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("expected an exit")
