"""Sync runs through hubspot-api-client against the sandbox: calls, re-syncs, increments."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from icpsync.connectors.hubspot.sandbox import Sandbox, edit_accounts
from icpsync.connectors.hubspot.values import TIER_LABEL
from icpsync.core.model import TIERS

#: Runs minutes apart do not re-read each other's writes; here they are milliseconds apart,
#: so the clock-skew allowance is taken out to see the increment alone.
NO_OVERLAP = {"cursor_overlap_s": 0}
SETUP_CALLS = 3  # the budget header read and property look-ups a run may add


def test_full_sync_writes_every_company_in_the_fewest_calls(
    start_sandbox: Callable[..., Sandbox], runner_for: Callable[..., Any]
) -> None:
    sandbox = start_sandbox(accounts=1000, opportunities=3000)
    runner = runner_for(sandbox)
    sandbox.reset_stats()

    report = runner.sync()

    stats = sandbox.stats()
    assert report.mode == "full"
    assert report.accounts_read == 1000
    assert report.written == 1000 and report.failed == 0
    assert stats["list_companies"] == math.ceil(1000 / 100)
    assert stats["list_deals"] == math.ceil(3000 / 100)
    assert stats["batch_update_companies"] == math.ceil(report.changed / 100)
    assert stats["total"] <= 10 + 30 + 10 + SETUP_CALLS
    assert stats.get("429", 0) == 0
    tiers = {v[1] for v in sandbox.values().values()}
    assert tiers <= set(TIER_LABEL) and len(tiers) >= 3  # enumeration values, not labels
    assert set(report.tiers) <= set(TIERS)


def test_second_sync_writes_nothing_and_edits_are_read_incrementally(
    start_sandbox: Callable[..., Sandbox],
    runner_for: Callable[..., Any],
) -> None:
    sandbox = start_sandbox(accounts=800, opportunities=2400)
    runner = runner_for(sandbox, sync=NO_OVERLAP)
    runner.sync()
    again = runner.sync()
    assert again.mode == "incremental"
    assert again.written == 0 and again.changed == 0

    edited = edit_accounts(runner.settings, 100, 11)
    before = sandbox.values()
    sandbox.reset_stats()
    third = runner.sync()

    after = sandbox.values()
    changed = {cid for cid in after if after[cid] != before[cid]}
    assert third.mode == "incremental"
    assert third.accounts_read == 100
    assert 0 < third.written == len(changed) <= 100
    assert changed <= set(edited)
    stats = sandbox.stats()
    assert stats["search_companies"] == 1 and stats["search_deals"] == 1
    assert stats.get("list_companies", 0) == 0 and stats.get("list_deals", 0) == 0
    assert max(sandbox.write_counts().values()) == 1


def test_limiter_keeps_every_run_under_the_default_limit(
    start_sandbox: Callable[..., Sandbox], runner_for: Callable[..., Any]
) -> None:
    # ~250 calls in a few seconds from separate connectors: over one window's worth at 190.
    sandbox = start_sandbox(accounts=1200, opportunities=3600)
    runner = runner_for(sandbox)
    for _ in range(4):
        runner.sync(full=True)
    stats = sandbox.stats()
    assert stats["total"] > 190
    assert stats.get("429", 0) == 0


def test_override_wins_and_is_never_written(
    sandbox: Sandbox, runner_for: Callable[..., Any]
) -> None:
    runner = runner_for(sandbox)
    target = "9000000005"
    with sandbox.portal.lock:
        sandbox.portal.records["companies"][target]["icp_tier_override"] = "anti_icp"
    report = runner.sync()
    stored = sandbox.company(target)
    assert report.failed == 0
    assert stored["icp_tier"] == "anti_icp"
    assert stored["icp_tier_override"] == "anti_icp"


def test_mirror_native_tier_sets_and_clears_hubspots_own_property(
    sandbox: Sandbox, runner_for: Callable[..., Any]
) -> None:
    runner = runner_for(sandbox, mirror_native_tier=True)
    runner.sync()
    native = {"tier_1": "tier_1", "tier_2": "tier_2", "tier_3": "tier_3"}
    for cid in list(sandbox.values())[:300]:
        props = sandbox.company(cid)
        assert props.get("hs_ideal_customer_profile", "") == native.get(props["icp_tier"], "")


def test_bad_values_are_counted_and_the_company_still_scored(
    sandbox: Sandbox, runner_for: Callable[..., Any]
) -> None:
    runner = runner_for(sandbox)
    with sandbox.portal.lock:
        companies = sandbox.portal.records["companies"]
        companies["9000000001"]["numberofemployees"] = "-40"
        companies["9000000002"]["annualrevenue"] = "lots"
    report = runner.sync()
    assert report.bad_values["employees"] == 1
    assert report.bad_values["annual_revenue"] == 1
    assert report.accounts_read == 300 and report.failed == 0
    assert sandbox.company("9000000001")["icp_score"] != ""


def test_deals_are_aggregated_per_associated_company(
    sandbox: Sandbox, runner_for: Callable[..., Any]
) -> None:
    runner = runner_for(sandbox)
    connector = runner.connector()
    try:
        deals = list(connector.read_opportunities())
    finally:
        connector.close()
    with sandbox.portal.lock:
        expected = sandbox.portal.deal_company
    assert deals and all(d.account_id == expected[d.id] for d in deals)
    assert {d.stage for d in deals if d.is_won} == {"Closed Won"}
    assert any(not d.is_closed for d in deals)

    short = runner_for(sandbox, install=False)
    short.settings.sync.lookback_days = 180
    connector = short.connector()
    try:
        recent = list(connector.read_opportunities())
        skipped = connector.stats.skipped["deal_closed_before_lookback"]
    finally:
        connector.close()
    assert len(recent) + skipped == len(sandbox.portal.records["deals"])
    assert len(recent) < len(deals)
    assert {d.id for d in deals if not d.is_closed} <= {d.id for d in recent}


def test_a_changed_deal_rescoring_only_its_company_by_batch_read(
    sandbox: Sandbox, runner_for: Callable[..., Any]
) -> None:
    from hubspot.crm.deals import (
        BatchInputSimplePublicObjectBatchInput,
        SimplePublicObjectBatchInput,
    )

    from icpsync.connectors.hubspot.client import HubSpotApi

    runner = runner_for(sandbox, sync=NO_OVERLAP)
    runner.sync()
    runner.sync()
    deal, company = next(iter(sandbox.portal.deal_company.items()))
    api = HubSpotApi.from_settings(runner.settings.hubspot)
    try:  # a rep edits a deal: only its company is read again
        body = BatchInputSimplePublicObjectBatchInput(
            inputs=[SimplePublicObjectBatchInput(id=deal, properties={"amount": "123456"})]
        )
        api.call_once("batch_update_deals", api.deals_batch.update, body)
    finally:
        api.close()
    sandbox.reset_stats()
    report = runner.sync()
    assert report.accounts_read == 1 and report.opportunities_read == 1
    stats = sandbox.stats()
    assert stats["search_deals"] == 1 and stats["associations_deals"] == 1
    assert stats["batch_read_companies"] == 1
    assert stats.get("list_deals", 0) == 0
    assert report.examples == [] or report.examples[0]["id"] == company


def test_turning_the_mirror_on_later_fills_and_repairs_hubspots_own_tier(
    sandbox: Sandbox, runner_for: Callable[..., Any]
) -> None:
    runner_for(sandbox).sync()  # mirror off: the native property is left alone
    assert all(
        not sandbox.company(cid).get("hs_ideal_customer_profile") for cid in sandbox.values()
    )
    mirrored = runner_for(sandbox, mirror_native_tier=True)
    first = mirrored.sync()
    native = {"tier_1": "tier_1", "tier_2": "tier_2", "tier_3": "tier_3"}
    top = [c for c in sandbox.values() if sandbox.company(c)["icp_tier"] in native]
    assert top and first.written == len(top)  # only the companies whose mirror was empty
    assert all(sandbox.company(c)["hs_ideal_customer_profile"] for c in top)
    with sandbox.portal.lock:  # someone edits HubSpot's own field by hand
        sandbox.portal.records["companies"][top[0]]["hs_ideal_customer_profile"] = ""
    repaired = mirrored.sync(full=True)
    assert repaired.written == 1
    assert (
        sandbox.company(top[0])["hs_ideal_customer_profile"]
        == native[sandbox.company(top[0])["icp_tier"]]
    )
