"""The admin's path through the CLI: install (twice), doctor, sync --json, with a sandbox."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from icpsync.cli import cli
from icpsync.connectors.salesforce.install import INTEGRATION_SET, READER_SET
from icpsync.connectors.salesforce.sandbox import Sandbox


def _icpsync(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess (as an admin runs it)."""
    return subprocess.run(
        [sys.executable, "-m", "icpsync", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


class _Result:
    def __init__(self, returncode: int, stdout: str):
        self.returncode, self.stdout = returncode, stdout


def _cli(config: Path, *args: str) -> _Result:
    """The CLI in-process (the same click commands; faster than a subprocess)."""
    result = CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
    return _Result(result.exit_code, result.stdout)


def test_install_doctor_sync_from_a_fresh_org(make_sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    box: Sandbox = make_sandbox(accounts=3000, opportunities=9000)
    config = box.write_config(tmp_path / "icpsync.toml")

    before = _cli(config, "doctor", "--crm", "salesforce")
    assert before.returncode == 1
    assert "✗ field ICP_Score__c" in before.stdout and "icpsync install" in before.stdout

    dry = _cli(config, "install", "--crm", "salesforce", "--dry-run")
    assert dry.returncode == 0, dry.stdout
    assert "ICP_Tier__c" in dry.stdout and not box.org.tooling["CustomField"]

    first = _cli(config, "install", "--crm", "salesforce")
    assert first.returncode == 0, first.stdout
    assert len(box.org.tooling["CustomField"]) == 7
    names = {p["Name"] for p in box.org.records["PermissionSet"].values()}
    assert names == {INTEGRATION_SET, READER_SET}
    grants = box.org.records["FieldPermissions"].values()
    # the override too: a rep's direct edit of the tier is kept by writing it there
    assert sum(1 for g in grants if g["PermissionsEdit"]) == 7
    box.reset_stats()
    second = _cli(config, "install", "--crm", "salesforce")
    assert second.returncode == 0 and "exists" in second.stdout
    assert (
        len(box.org.tooling["CustomField"]) == 7 and len(box.org.records["FieldPermissions"]) == 14
    )
    assert "tooling_post" not in box.stats() and "sobject_insert" not in box.stats()

    doctor = _cli(config, "doctor", "--crm", "salesforce")
    assert doctor.returncode == 0, doctor.stdout
    assert "✗" not in doctor.stdout and "daily API budget" in doctor.stdout

    box.reset_stats()
    synced = _cli(config, "sync", "--crm", "salesforce", "--json")
    assert synced.returncode == 0, synced.stdout
    report = json.loads(synced.stdout)
    assert report["written"] == report["accounts_read"] == 3000
    calls = box.stats()
    reads = report["accounts_read"] + report["opportunities_read"]
    queries = calls["query"] + calls.get("query_more", 0)
    assert queries == math.ceil(3000 / 2000) + math.ceil(report["opportunities_read"] / 2000)
    # 3,000 changes are above the default bulk_write_threshold: one Bulk API 2.0 job
    assert calls["bulk_ingest_create"] == 1 and "composite_update" not in calls
    bulk_job = sum(v for k, v in calls.items() if k.startswith("bulk_ingest"))
    assert calls["total"] <= math.ceil(reads / 2000) + bulk_job + 5 and bulk_job <= 8

    again = json.loads(_cli(config, "sync", "--crm", "salesforce", "--json").stdout)
    assert again["written"] == 0


def test_failed_login_is_one_line_naming_the_mode(sandbox: Sandbox, tmp_path: Path) -> None:
    config = sandbox.write_config(tmp_path / "icpsync.toml")
    config.write_text(config.read_text().replace("sandbox-secret", "wrong-secret"))
    result = _icpsync(config, "sync", "--crm", "salesforce")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert (
        "salesforce (client_credentials): login refused: invalid client credentials"
        in result.stderr
    )
    doctor = _cli(config, "doctor", "--crm", "salesforce")
    assert doctor.returncode == 1 and "✗ auth (client_credentials)" in doctor.stdout
    assert "wrong-secret" not in doctor.stdout + result.stderr


def test_install_adds_missing_tier_values(sf, sandbox: Sandbox) -> None:  # type: ignore[no-untyped-def]
    settings = sf.settings_for(sandbox)
    sf.install(settings)
    tier_id = next(
        i for i, r in sandbox.org.tooling["CustomField"].items() if r["DeveloperName"] == "ICP_Tier"
    )
    metadata = sandbox.org.metadata[tier_id]
    metadata["valueSet"]["valueSetDefinition"]["value"] = metadata["valueSet"][
        "valueSetDefinition"
    ]["value"][:2]
    sandbox.org.update_custom_field(tier_id, {"Metadata": metadata})
    connector = sf.connector_for(settings)
    try:
        checks = {c.name: c for c in connector.preflight()}
        assert (
            not checks["field ICP_Tier__c"].ok and "Not ICP" in checks["field ICP_Tier__c"].detail
        )
        steps = connector.ensure_fields(dry_run=False)
        assert [(s.action, s.detail) for s in steps if s.action != "unchanged"] == [
            ("add picklist values", "Tier 3, Not ICP, Anti-ICP")
        ]
        assert all(c.ok for c in connector.preflight())
    finally:
        connector.close()


def test_sandbox_command_prints_one_json_line(tmp_path: Path) -> None:
    config = tmp_path / "sb.toml"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "icpsync",
            "sandbox",
            "salesforce",
            "--accounts",
            "50",
            "--opportunities",
            "100",
            "--write-config",
            str(config),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert ready["url"].startswith("https://127.0.0.1:") and ready["config"] == str(config)
        result = _cli(config, "doctor", "--crm", "salesforce")
        assert "✓ auth (client_credentials)" in result.stdout
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert proc.returncode == 0
