"""Records a validation rule refuses for good are quarantined; the schedule goes on.

Through the CLI, simple-salesforce and the sandbox org (whose validation rule answers each
refused record with ``FIELD_CUSTOM_VALIDATION_EXCEPTION`` in the Collections results).
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from icpsync.cli import cli
from icpsync.connectors.salesforce.sandbox import Sandbox

CUSTOMERS = "Billing country is required for customers"
PARTNERS = "Partners need a partner tier"


def _reject(box: Sandbox, rules: dict[str, str]) -> None:
    """Validation rules refusing every save of these Accounts (id -> the rule's message)."""
    with box.org.lock:
        box.org.rejected = dict(rules)


def _cli(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
    return result.exit_code, result.stdout


def test_a_validation_rule_quarantines_records_and_the_cursor_moves_past_them(
    make_sandbox, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    box: Sandbox = make_sandbox(accounts=300, opportunities=900)
    config = box.write_config(tmp_path / "icpsync.toml")
    assert _cli(config, "install", "--crm", "salesforce")[0] == 0
    ids = sorted(box.org.records["Account"])
    customers, partner = ids[10:13], ids[50:51]
    _reject(box, {**dict.fromkeys(customers, CUSTOMERS), **dict.fromkeys(partner, PARTNERS)})

    code, out = _cli(config, "sync")

    assert code == 1
    lines = out.splitlines()
    assert "4 records quarantined (refused by the CRM for good; retried" in out
    first = next(i for i, line in enumerate(lines) if CUSTOMERS in line)
    second = next(i for i, line in enumerate(lines) if PARTNERS in line)
    assert first < second  # commonest reason first, one line each
    assert lines[first].strip().startswith(f"3 x FIELD_CUSTOM_VALIDATION_EXCEPTION: {CUSTOMERS}")
    assert lines[second].strip().startswith("1 x FIELD_CUSTOM_VALIDATION_EXCEPTION")
    assert "the cursor moved" in out
    written = {i for i, v in box.values(["ICP_Tier__c"]).items() if v[0] is not None}
    assert written == set(ids) - set(customers) - set(partner)  # every valid record written

    code, out = _cli(config, "failures", "--json")
    rows = json.loads(out)
    assert code == 0 and {r["record_id"] for r in rows} == set(customers) | set(partner)
    assert all(r["crm"] == "salesforce" and r["attempts"] == 1 for r in rows)
    assert {r["reason"] for r in rows} == {
        f"FIELD_CUSTOM_VALIDATION_EXCEPTION: {CUSTOMERS}",
        f"FIELD_CUSTOM_VALIDATION_EXCEPTION: {PARTNERS}",
    }
    code, out = _cli(config, "failures", "--crm", "salesforce")
    assert code == 0 and customers[0] in out and "4 records quarantined" in out
    code, out = _cli(config, "runs", "--json")
    assert json.loads(out)[0]["status"] == "partial"
    code, out = _cli(config, "runs")
    assert "status" in out.splitlines()[0] and "partial" in out
    assert "4 quarantined, 0 not placed" in out  # the why column

    code, out = _cli(config, "sync", "--json")  # the next scheduled run: incremental, clean
    report = json.loads(out)
    assert code == 0 and report["mode"] == "incremental" and report["status"] == "complete"
    # our own writes are read once more (cursor overlap), the poison records are not retried
    assert report["written"] == 0 and report["quarantined"] == 0
    assert {r["attempts"] for r in json.loads(_cli(config, "failures", "--json")[1])} == {1}

    _reject(box, {})  # the admin fixes the rule
    code, out = _cli(config, "sync", "--retry-failed", "--json")
    report = json.loads(out)
    assert code == 0 and report["status"] == "complete"
    assert report["written"] == 4 and report["released"] == 4
    assert _cli(config, "failures")[1].startswith("no quarantined records")
    assert all(v[0] is not None for v in box.values(["ICP_Tier__c"]).values())


def test_bulk_writes_quarantine_the_same_way(sf, make_sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from icpsync.engine.quarantine import list_failures
    from icpsync.engine.state import StateStore

    box: Sandbox = make_sandbox(accounts=300, opportunities=900)
    settings = sf.settings_for(box, tmp_path / "state", bulk_write_threshold=100)
    sf.install(settings)
    poison = sorted(box.org.records["Account"])[7]
    _reject(box, {poison: CUSTOMERS})
    state = StateStore(settings.state.database_url())
    try:
        report = sf.sync(settings, state)
        assert report.status == "partial" and report.api_calls.get("bulk_ingest_results")
        assert (
            report.quarantined == 1
            and state.cursor("salesforce", "accounts", org=report.org or "") is not None
        )
        rows = list_failures(state.engine, "salesforce")
        assert [r["record_id"] for r in rows] == [poison]
        assert CUSTOMERS in rows[0]["reason"]
    finally:
        state.close()
