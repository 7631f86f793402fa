"""Salesforce through simple-salesforce and the sandbox: state kept per organization, and a
rep's direct edit of the tier kept as the override or reverted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from icpsync.connectors.salesforce import SalesforceConnector
from icpsync.connectors.salesforce.sandbox import Sandbox
from icpsync.connectors.salesforce.sandbox.seed import sf_id
from icpsync.core.model import TIER_1, TIER_3
from icpsync.engine.settings import Settings
from icpsync.engine.state import StateStore

TIER_FIELDS = ["ICP_Tier__c", "ICP_Tier_Override__c", "ICP_Reasons__c"]


def test_the_org_id_comes_from_the_login_or_one_userinfo_call(sf, make_sandbox) -> None:  # type: ignore[no-untyped-def]
    box: Sandbox = make_sandbox(org_id=sf_id("00D", 42))
    connector = SalesforceConnector.from_settings(sf.settings_for(box))
    try:  # client credentials: the token response's identity URL names the org
        assert connector.org_id() == box.org.org_id == sf_id("00D", 42)
        assert "userinfo" not in box.stats()
    finally:
        connector.close()
    box.reset_stats()
    session = Settings(
        salesforce={
            "auth": "session",
            "session_id": box.app.session_id,
            "instance_url": box.url,
            "ca_bundle": str(box.ca_path),
        }
    )
    connector = SalesforceConnector.from_settings(session)
    try:  # a session id says nothing: one userinfo call, then kept
        assert connector.org_id() == box.org.org_id
        assert connector.org_id() == box.org.org_id
        assert connector.user_id() == box.org.user_id
        assert box.stats()["userinfo"] == 1 and box.stats()["total"] == 1
    finally:
        connector.close()


def test_a_second_org_under_one_state_is_scored_in_full(sf, make_sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first_box: Sandbox = make_sandbox()
    second_box: Sandbox = make_sandbox(accounts=200, opportunities=600, org=2)
    assert (first_box.org.org_id, second_box.org.org_id) == (sf_id("00D", 1), sf_id("00D", 2))
    first = sf.settings_for(first_box, tmp_path / "state")
    second = sf.settings_for(second_box, tmp_path / "state")  # the same state folder
    sf.install(first)
    sf.install(second)
    state = StateStore(first.state.database_url())
    try:
        assert sf.sync(first, state).written == 300
        assert sf.sync(first, state).mode == "incremental"

        report = sf.sync(second, state)
        assert report.org == second_box.org.org_id
        assert report.mode == "full" and report.accounts_read == 200 and report.written == 200
        values = second_box.values(["ICP_Tier__c"])
        assert all(v != (None,) for v in values.values())  # every account scored
        assert sf.sync(second, state).mode == "incremental"
        assert sf.sync(first, state).mode == "incremental"  # the first org's cursor stands

        orgs = [r["org"] for r in reversed(state.list_runs("salesforce"))]
        assert orgs == [first_box.org.org_id] * 2 + [second_box.org.org_id] * 2 + [
            first_box.org.org_id
        ]
        assert {d["org"] for d in state.list_drift("salesforce")} == {
            first_box.org.org_id,
            second_box.org.org_id,
        }
    finally:
        state.close()


def _rep_edits(client: Any, box: Sandbox, count: int) -> dict[str, tuple[str, str]]:
    """A rep changes the tier of ``count`` accounts through the REST API (not the
    override): id -> (the tier we wrote, the rep's tier)."""
    tiers = box.values(["ICP_Tier__c"])
    edits = {}
    for rid in sorted(tiers)[:count]:
        ours = str(tiers[rid][0])
        theirs = TIER_3 if ours != TIER_3 else TIER_1
        client.Account.update(rid, {"ICP_Tier__c": theirs})
        edits[rid] = (ours, theirs)
    return edits


def test_a_rep_tier_edit_is_kept_as_the_override_through_incremental_and_full_runs(
    sf, sandbox: Sandbox, client_for, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    settings = sf.settings_for(sandbox, tmp_path / "state")
    sf.install(settings)
    state = StateStore(settings.state.database_url())
    try:
        sf.sync(settings, state)
        edits = _rep_edits(client_for(settings), sandbox, 4)
        report = sf.sync(settings, state)
        assert report.mode == "incremental"
        assert sorted((e["account_id"], e["ours"], e["rep_value"]) for e in report.human_edits) == [
            (rid, ours, theirs) for rid, (ours, theirs) in sorted(edits.items())
        ]
        assert {e["action"] for e in report.human_edits} == {"kept"}
        assert report.drift["human_edits"] == 4 and report.drift["tier_changed"] == 0
        assert state.list_drift("salesforce")[0]["human_edits"] == 4
        held = sandbox.values(TIER_FIELDS)
        for rid, (ours, theirs) in edits.items():
            tier, override, reasons = held[rid]
            assert tier == theirs and override == theirs
            assert f"tier set by a rep: {theirs} (was {ours})" in reasons

        sandbox.reset_stats()
        incremental = sf.sync(settings, state)
        assert incremental.mode == "incremental" and incremental.written == 0
        full = sf.sync(settings, state, full=True)
        assert full.mode == "full" and full.written == 0 and not full.human_edits
        assert sandbox.values(TIER_FIELDS) == held
        assert not sandbox.write_counts()
    finally:
        state.close()


def test_a_rep_tier_edit_is_reverted_and_reported(
    sf, sandbox: Sandbox, client_for, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    settings = sf.settings_for(sandbox, tmp_path / "state")
    settings = settings.model_copy(
        update={"sync": settings.sync.model_copy(update={"human_edits": "revert"})}
    )
    sf.install(settings)
    state = StateStore(settings.state.database_url())
    try:
        sf.sync(settings, state)
        before = sandbox.values(TIER_FIELDS)
        edits = _rep_edits(client_for(settings), sandbox, 4)
        report = sf.sync(settings, state)
        assert report.written == 4
        assert sorted(
            (e["account_id"], e["rep_value"], e["restored"]) for e in report.human_edits
        ) == [(rid, theirs, ours) for rid, (ours, theirs) in sorted(edits.items())]
        assert {e["action"] for e in report.human_edits} == {"reverted"}
        assert report.drift["tier_changed"] == 0 and not report.transitions.get((TIER_3, TIER_1))
        assert sandbox.values(TIER_FIELDS) == before  # restored, override untouched
        assert sf.sync(settings, state, full=True).written == 0
    finally:
        state.close()


def test_install_upgrades_an_older_read_only_grant_on_the_override(sf, sandbox: Sandbox) -> None:  # type: ignore[no-untyped-def]
    from icpsync.connectors.salesforce.install import INTEGRATION_SET

    settings = sf.settings_for(sandbox)
    sf.install(settings)
    sets = {p["Id"]: p["Name"] for p in sandbox.org.records["PermissionSet"].values()}
    grants = [
        g
        for g in sandbox.org.records["FieldPermissions"].values()
        if sets[g["ParentId"]] == INTEGRATION_SET and g["Field"] == "Account.ICP_Tier_Override__c"
    ]
    assert len(grants) == 1 and grants[0]["PermissionsEdit"]
    grants[0]["PermissionsEdit"] = False  # as the previous release granted it
    connector = SalesforceConnector.from_settings(settings)
    try:
        checks = {c.name: c for c in connector.preflight()}
        assert not checks["field ICP_Tier_Override__c"].ok
        steps = connector.ensure_fields(dry_run=False)
        assert [s.target for s in steps if s.action == "grant edit access"] == [INTEGRATION_SET]
        assert grants[0]["PermissionsEdit"]
        checks = {c.name: c for c in connector.preflight()}
        assert checks["field ICP_Tier_Override__c"].ok
        again = connector.ensure_fields(dry_run=False)
        assert not [s for s in again if s.action == "grant edit access"]
    finally:
        connector.close()
