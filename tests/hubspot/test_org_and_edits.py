"""HubSpot through hubspot-api-client and the sandbox: state kept per portal, and a rep's
direct edit of the tier kept as the override or reverted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInput,
    SimplePublicObjectBatchInput,
)

from icpsync.connectors.hubspot import HubSpotConnector
from icpsync.connectors.hubspot.client import HubSpotApi
from icpsync.connectors.hubspot.sandbox import Sandbox
from icpsync.connectors.hubspot.values import TIER_LABEL, TIER_VALUE
from icpsync.core.model import TIER_1, TIER_3
from icpsync.engine.settings import Settings

TIER_PROPS = ("icp_tier", "icp_tier_override", "icp_reasons")
SECOND_PORTAL = 99_000_001


def test_the_portal_id_is_one_account_details_call(
    sandbox: Sandbox, runner_for: Callable[..., Any]
) -> None:
    connector = HubSpotConnector.from_settings(runner_for(sandbox, install=False).settings)
    sandbox.reset_stats()
    try:
        assert connector.org_id() == str(sandbox.portal.portal_id)
        assert connector.org_id() == str(sandbox.portal.portal_id)  # kept
        assert sandbox.stats()["account_details"] == 1 and sandbox.stats()["total"] == 1
    finally:
        connector.close()


def test_a_token_that_may_not_read_account_details_names_its_portal_itself(
    sandbox: Sandbox, runner_for: Callable[..., Any]
) -> None:
    sandbox.portal.account_info_allowed = False  # a private app without that scope: 403
    connector = HubSpotConnector.from_settings(runner_for(sandbox, install=False).settings)
    sandbox.reset_stats()
    try:
        assert connector.org_id() == str(sandbox.portal.portal_id)
        assert sandbox.stats()["account_details"] == 1 and sandbox.stats()["token_info"] == 1
    finally:
        connector.close()


def test_a_second_portal_under_one_state_is_scored_in_full(
    start_sandbox: Callable[..., Sandbox], runner_for: Callable[..., Any]
) -> None:
    first_box = start_sandbox(300, 900)
    second_box = start_sandbox(200, 600, portal_id=SECOND_PORTAL)
    first = runner_for(first_box)
    # the second portal's settings, the first one's state store
    second = runner_for(second_box)
    second.state.close()
    second.state = first.state
    second.settings = second.settings.model_copy(update={"state": first.settings.state})

    assert first.sync().written == 300
    assert first.sync().mode == "incremental"
    report = second.sync()
    assert report.org == str(SECOND_PORTAL)
    assert report.mode == "full" and report.accounts_read == 200 and report.written == 200
    assert all(v[1] for v in second_box.values().values())  # every company has a tier
    assert second.sync().mode == "incremental"
    assert first.sync().mode == "incremental"  # the first portal's cursor stands

    orgs = [r["org"] for r in reversed(first.state.list_runs("hubspot"))]
    portal = str(first_box.portal.portal_id)
    assert orgs == [portal, portal, str(SECOND_PORTAL), str(SECOND_PORTAL), portal]
    assert {d["org"] for d in first.state.list_drift("hubspot")} == {portal, str(SECOND_PORTAL)}


def _rep_edits(settings: Settings, sandbox: Sandbox, count: int) -> dict[str, tuple[str, str]]:
    """A rep changes the tier of ``count`` companies through the API (not the override):
    id -> (the tier we wrote, the rep's tier)."""
    held = sandbox.values(("icp_tier",))
    edits = {}
    for cid in sorted(held, key=int)[:count]:
        ours = TIER_LABEL[str(held[cid][0])]
        edits[cid] = (ours, TIER_3 if ours != TIER_3 else TIER_1)
    api = HubSpotApi.from_settings(settings.hubspot)
    try:
        inputs = [
            SimplePublicObjectBatchInput(id=cid, properties={"icp_tier": TIER_VALUE[theirs]})
            for cid, (_, theirs) in edits.items()
        ]
        body = BatchInputSimplePublicObjectBatchInput(inputs=inputs)
        api.call("batch_update", api.companies_batch.update, body)
    finally:
        api.close()
    return edits


def test_a_rep_tier_edit_is_kept_as_the_override_through_incremental_and_full_runs(
    sandbox: Sandbox, runner_for: Callable[..., Any]
) -> None:
    runner = runner_for(sandbox)
    runner.sync()
    edits = _rep_edits(runner.settings, sandbox, 4)
    report = runner.sync()
    assert report.mode == "incremental"
    assert sorted((e["account_id"], e["ours"], e["rep_value"]) for e in report.human_edits) == [
        (cid, ours, theirs) for cid, (ours, theirs) in sorted(edits.items())
    ]
    assert {e["action"] for e in report.human_edits} == {"kept"}
    assert report.drift["human_edits"] == 4 and report.drift["tier_changed"] == 0
    assert runner.state.list_drift("hubspot")[0]["human_edits"] == 4
    held = sandbox.values(TIER_PROPS)
    for cid, (ours, theirs) in edits.items():
        tier, override, reasons = held[cid]
        assert tier == override == TIER_VALUE[theirs]
        assert f"tier set by a rep: {theirs} (was {ours})" in str(reasons)

    sandbox.reset_stats()
    incremental = runner.sync()
    assert incremental.mode == "incremental" and incremental.written == 0
    full = runner.sync(full=True)
    assert full.mode == "full" and full.written == 0 and not full.human_edits
    assert sandbox.values(TIER_PROPS) == held
    assert not sandbox.write_counts()


def test_a_rep_tier_edit_is_reverted_and_reported(
    sandbox: Sandbox, runner_for: Callable[..., Any]
) -> None:
    runner = runner_for(sandbox, sync={"human_edits": "revert"})
    runner.sync()
    before = sandbox.values(TIER_PROPS)
    edits = _rep_edits(runner.settings, sandbox, 4)
    report = runner.sync()
    assert report.written == 4
    assert sorted((e["account_id"], e["rep_value"], e["restored"]) for e in report.human_edits) == [
        (cid, theirs, ours) for cid, (ours, theirs) in sorted(edits.items())
    ]
    assert {e["action"] for e in report.human_edits} == {"reverted"}
    assert report.drift["tier_changed"] == 0
    assert sandbox.values(TIER_PROPS) == before  # restored, override untouched
    assert runner.sync(full=True).written == 0
