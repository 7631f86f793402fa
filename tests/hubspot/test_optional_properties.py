"""A portal without a property the field map names (``web_technologies``, which a portal
without HubSpot's enrichment lacks): doctor passes and says which criteria cannot score;
sync reads every company in full, does not ask for the property, and says so once in the
run report and once in each company's reasons."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from icpsync.cli import cli
from icpsync.connectors.hubspot.sandbox import Sandbox

NOTE = "tech stack: field web_technologies not in this org"


def test_a_portal_without_the_tech_property_is_synced_in_full(
    start_sandbox: Callable[..., Sandbox], runner_for: Callable[..., object]
) -> None:
    box = start_sandbox(accounts=300, opportunities=600, without_fields=("web_technologies",))
    runner = runner_for(box)
    connector = runner.connector()  # type: ignore[attr-defined]
    try:
        box.reset_stats()
        checks = connector.preflight()
        read_by_doctor = box.stats()["total"]
        assert connector.unavailable_fields() == {"tech_stack": "web_technologies"}
        assert box.stats()["total"] == read_by_doctor  # the definitions doctor read are kept
        assert "web_technologies" not in connector.reader.company_properties
        assert "numberofemployees" in connector.reader.company_properties
    finally:
        connector.close()
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    read = next(c for c in checks if c.name == "company properties read")
    assert "not in this portal: web_technologies" in read.detail

    report = runner.sync()  # type: ignore[attr-defined]
    assert report.failed == 0 and report.accounts_read == 300 and report.written == 300
    assert report.unavailable == [f"{NOTE}; 25 points unavailable"]
    assert report.api_calls["properties"] == 1  # one read of the definitions a run
    reasons = [v[0] or "" for v in box.values(("icp_reasons",)).values()]
    assert len(reasons) == 300
    assert all(r.count(NOTE) == 1 or r.endswith("…") for r in reasons)
    assert sum(NOTE in r for r in reasons) > 200
    assert not any("missing: tech stack" in r for r in reasons)


def test_a_portal_with_the_property_has_nothing_unavailable(
    sandbox: Sandbox, runner_for: Callable[..., object]
) -> None:
    report = runner_for(sandbox).sync()  # type: ignore[attr-defined]
    assert report.unavailable == []
    assert report.failed == 0 and report.accounts_read == 300


def test_doctor_and_sync_output_name_the_unscorable_criteria(
    start_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    box = start_sandbox(accounts=50, opportunities=100, without_fields=("web_technologies",))
    config = box.write_config(tmp_path / "icpsync.toml")
    runner = CliRunner()
    installed = runner.invoke(cli, ["--config", str(config), "install"], catch_exceptions=False)
    assert installed.exit_code == 0, installed.stdout
    doctor = runner.invoke(cli, ["--config", str(config), "doctor"], catch_exceptions=False)
    assert doctor.exit_code == 0, doctor.stdout
    assert f"! not scorable: {NOTE}; 25 points unavailable" in doctor.stdout
    assert 'tech_stack = "your_property" under [account.fields]' in doctor.stdout
    assert "field_maps/hubspot.toml" in doctor.stdout
    synced = runner.invoke(cli, ["--config", str(config), "sync", "--json"], catch_exceptions=False)
    assert synced.exit_code == 0, synced.stdout
    report = json.loads(synced.stdout)
    assert report["unavailable"] == [f"{NOTE}; 25 points unavailable"]
    assert report["accounts_read"] == 50


def test_the_sandbox_refuses_to_leave_out_a_property_it_does_not_have() -> None:
    result = CliRunner().invoke(cli, ["sandbox", "hubspot", "--without-field", "no_such_prop"])
    assert result.exit_code == 2
    assert "the hubspot sandbox has no field 'no_such_prop' to leave out" in result.output
