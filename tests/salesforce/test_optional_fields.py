"""An org without a field the field map names (``Tech_Stack__c``, which most orgs lack):
doctor passes and says which criteria cannot score; sync reads every account in full and
says so once in the run report and once in each account's reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from icpsync.cli import cli
from icpsync.connectors.salesforce.sandbox import Sandbox

NOTE = "tech stack: field Tech_Stack__c not in this org"


def test_an_org_without_the_tech_stack_field_is_synced_in_full(  # type: ignore[no-untyped-def]
    sf, make_sandbox, tmp_path: Path
) -> None:
    box: Sandbox = make_sandbox(accounts=400, opportunities=1200, without_fields=("Tech_Stack__c",))
    settings = sf.settings_for(box, tmp_path / "state")
    sf.install(settings)
    connector = sf.connector_for(settings)
    try:
        assert connector.unavailable_fields() == {"tech_stack": "Tech_Stack__c"}
        checks = connector.preflight()
    finally:
        connector.close()
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    readable = next(c for c in checks if c.name == "Account fields readable")
    assert "not in this org: Tech_Stack__c" in readable.detail

    report = sf.sync(settings)
    assert report.failed == 0 and report.accounts_read == 400 and report.written == 400
    assert report.unavailable == [f"{NOTE}; 25 points unavailable"]
    reasons = [v[0] for v in box.values(["ICP_Reasons__c"]).values()]
    assert len(reasons) == 400
    assert all(r.count(NOTE) == 1 or r.endswith("…") for r in reasons)
    assert sum(NOTE in r for r in reasons) > 300
    assert not any("missing: tech stack" in r for r in reasons)


def test_doctor_and_sync_output_name_the_unscorable_criteria(  # type: ignore[no-untyped-def]
    make_sandbox, tmp_path: Path
) -> None:
    box: Sandbox = make_sandbox(accounts=50, opportunities=100, without_fields=("Tech_Stack__c",))
    config = box.write_config(tmp_path / "icpsync.toml")
    config.write_text(config.read_text() + f'\n[state]\ndir = "{tmp_path / "state"}"\n')
    runner = CliRunner()
    installed = runner.invoke(cli, ["--config", str(config), "install"], catch_exceptions=False)
    assert installed.exit_code == 0, installed.stdout
    doctor = runner.invoke(cli, ["--config", str(config), "doctor"], catch_exceptions=False)
    assert doctor.exit_code == 0, doctor.stdout
    assert f"! not scorable: {NOTE}; 25 points unavailable" in doctor.stdout
    assert 'tech_stack = "Your_Field__c" under [account.fields]' in doctor.stdout
    synced = runner.invoke(cli, ["--config", str(config), "sync"], catch_exceptions=False)
    assert synced.exit_code == 0, synced.stdout
    assert f"not scorable: {NOTE}; 25 points unavailable" in synced.stdout
    as_json = runner.invoke(
        cli, ["--config", str(config), "sync", "--full", "--json"], catch_exceptions=False
    )
    report = json.loads(as_json.stdout)
    assert report["unavailable"] == [f"{NOTE}; 25 points unavailable"]
    assert report["accounts_read"] == 50


def test_without_field_is_refused_by_a_sandbox_that_cannot_leave_fields_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Salesforce and HubSpot sandboxes take ``--without-field``; a sandbox that cannot
    leave a field out says so (exit 2) instead of ignoring it."""

    class Plain:
        def __init__(self, org: int = 1, accounts: int = 1, opportunities: int = 1) -> None:
            raise AssertionError("started a sandbox that cannot leave the field out")

    monkeypatch.setattr("icpsync.cli.crm.sandbox_class", lambda crm: Plain)
    result = CliRunner().invoke(cli, ["sandbox", "hubspot", "--without-field", "X__c"])
    assert result.exit_code == 2 and "not the hubspot one" in result.output
