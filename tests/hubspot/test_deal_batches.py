"""Deals read a page at a time into columns give exactly the deals the record-by-record
reading gives: each deal's properties mapped to the normaliser's raw keys, its company
from the associations, cleaned by ``Normaliser.opportunity`` and dropped (counted) when
closed before the look-back, in the same order, with the same values counted as bad.

The record-by-record reading is spelt out here (``_raw``) from the field map, as the
previous release read a deal; the pages it reads are fetched with the real client from the
sandbox, like the connector's own.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any

import pytest

from icpsync.connectors.hubspot import HubSpotConnector
from icpsync.connectors.hubspot.client import HubSpotApi
from icpsync.connectors.hubspot.reader import JOIN, PAGE
from icpsync.connectors.hubspot.sandbox import Sandbox
from icpsync.core.batch import OpportunityBatch
from icpsync.core.model import ConnectorStats, Opportunity
from icpsync.core.normalise import Normaliser
from icpsync.core.parsers import parse_datetime
from icpsync.engine.field_map import load_field_map
from icpsync.engine.settings import Settings

DEALS = 250  # three list pages of 100
LOOKBACK_DAYS = 400


def _odd_deals(sandbox: Sandbox) -> dict[int, list[str]]:
    """Bad values, missing properties, repeated and unlinked deals spread over every page;
    case -> deal ids."""
    rng = random.Random(11)
    cases: dict[int, list[str]] = {}
    with sandbox.portal.lock:
        deals = sandbox.portal.records["deals"]
        for n, (did, props) in enumerate(deals.items()):
            case = n % 7
            cases.setdefault(case, []).append(did)
            if case == 0:
                props["amount"] = rng.choice(["lots", "1e400", "-", "€2M", "12,5"])
                props["closedate"] = rng.choice(["soon", "2026-13-40", ""])
            elif case == 1:
                for name in ("dealstage", "amount", "createdate"):
                    props.pop(name, None)
            elif case == 2:
                props["dealstage"] = "a_stage_nobody_mapped"
                props["hs_is_closed"] = rng.choice(["yes", "TRUE", "0", "maybe"])
            elif case == 3:
                sandbox.portal.deal_company.pop(did, None)  # no company
            elif case == 4:  # closed long before the look-back
                props.update(hs_is_closed="true", closedate="2019-03-01T00:00:00.000Z")
    return cases


def _raw(record: dict[str, Any], fields: dict[str, str]) -> dict[str, object]:
    """One deal as the normaliser's raw record, read property by property."""
    props = record.get("properties") or {}
    raw: dict[str, object] = {key: props.get(name) for key, name in fields.items()}
    raw["id"] = record.get("id")
    links = ((record.get("associations") or {}).get("companies") or {}).get("results") or []
    primary = [link for link in links if link.get("type") == "deal_to_company"]
    chosen = primary or links
    raw["account_id"] = str(chosen[0]["id"]) if chosen else None
    return raw


def _pages(api: HubSpotApi, properties: list[str]) -> Iterator[list[dict[str, Any]]]:
    after = None
    while True:
        page = api.call(
            "list_deals",
            api.deals.get_page,
            raw=True,
            limit=100,
            after=after,
            properties=properties,
            archived=False,
            associations=["companies"],
        )
        yield page.get("results") or []
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            return


def _expected(
    connector: HubSpotConnector, records: list[dict[str, Any]]
) -> tuple[list[Opportunity], ConnectorStats]:
    stats = ConnectorStats()
    normaliser = Normaliser(stats, connector.field_map.vocabularies)
    fields = dict(connector.field_map.opportunity.fields)
    cutoff = (datetime.now(UTC) - timedelta(days=LOOKBACK_DAYS)).date()
    kept = []
    for record in records:
        opp = normaliser.opportunity(_raw(record, fields))
        if opp is None:
            continue
        if opp.is_closed and opp.closed is not None and opp.closed < cutoff:
            stats.skipped["deal_closed_before_lookback"] += 1
            continue
        kept.append(opp)
    return kept, stats


@pytest.fixture
def odd_deals(
    start_sandbox: Callable[..., Sandbox], runner_for: Callable[..., Any]
) -> tuple[Settings, dict[int, list[str]]]:
    """An installed portal of odd deals: its settings, and which deal is which case."""
    sandbox = start_sandbox(accounts=40, opportunities=DEALS, rate_limit=10_000)
    settings = runner_for(sandbox).settings
    return settings, _odd_deals(sandbox)


def _connector(settings: Settings) -> HubSpotConnector:
    return HubSpotConnector(
        HubSpotApi.from_settings(settings.hubspot),
        load_field_map("hubspot"),
        lookback_days=LOOKBACK_DAYS,
    )


def test_deal_batches_hold_the_deals_read_record_by_record(
    odd_deals: tuple[Settings, dict[int, list[str]]],
) -> None:
    settings, cases = odd_deals
    connector = _connector(settings)
    try:
        batches = list(connector.read_opportunity_batches())
        stats_of_batches = (dict(connector.stats.bad_values), dict(connector.stats.skipped))
        records = list(chain.from_iterable(_pages(connector.api, connector.reader.deal_properties)))
        expected, expected_stats = _expected(connector, records)
        connector.stats.bad_values.clear()
        connector.stats.skipped.clear()
        one_by_one = list(connector.read_opportunities())
    finally:
        connector.close()

    assert len(records) == DEALS
    assert all(isinstance(b, OpportunityBatch) for b in batches)
    assert len(batches) == 1  # the three pages joined (up to reader.JOIN records)
    read = list(chain.from_iterable(batches))
    assert read == expected  # the portal's order, the same values
    assert one_by_one == expected
    assert stats_of_batches == (
        dict(expected_stats.bad_values),
        dict(expected_stats.skipped),
    )
    assert dict(connector.stats.skipped) == dict(expected_stats.skipped)
    # what the odd values became, so the comparison is not one of two plain reads
    by_id = {d.id: d for d in read}
    old = set(cases[4])
    assert expected_stats.skipped["deal_closed_before_lookback"] >= len(old)
    assert not old & set(by_id)
    assert all(by_id[i].account_id is None for i in cases[3] if i in by_id)
    bare = [by_id[i] for i in cases[1] if i in by_id]
    assert bare and all(d.amount is None and d.stage is None for d in bare)
    assert sum(expected_stats.bad_values.values()) > 0
    assert any(d.account_id for d in read) and any(not d.is_closed for d in read)


def test_changed_deals_come_in_batches_with_their_companies(
    odd_deals: tuple[Settings, dict[int, list[str]]],
) -> None:
    settings, _ = odd_deals
    connector = _connector(settings)
    try:
        records = list(chain.from_iterable(_pages(connector.api, connector.reader.deal_properties)))
        expected = {d.id: d for d in _expected(connector, records)[0]}
        stamps = sorted(m for d in expected.values() if (m := d.last_modified) is not None)
        since = stamps[len(stamps) // 2]
        before = dict(connector.api.calls)
        changed = list(connector.read_opportunity_batches(since))
        calls = {k: v - before.get(k, 0) for k, v in connector.api.calls.items()}
    finally:
        connector.close()

    assert all(isinstance(b, OpportunityBatch) and 0 < len(b) <= 100 for b in changed)
    searched = list(chain.from_iterable(changed))
    now = datetime.now(UTC)
    wanted = [d for d in expected.values() if d.last_modified and since <= d.last_modified < now]
    assert 0 < len(wanted) < len(expected)
    assert sorted(searched, key=lambda d: d.id) == sorted(wanted, key=lambda d: d.id)
    assert any(d.account_id for d in searched)
    # one association read per 1,000 searched deals (those closed long ago included)
    matched = [
        r
        for r in records
        if (m := parse_datetime(r["properties"].get("hs_lastmodifieddate"))) and since <= m < now
    ]
    assert calls["associations"] == -(-len(matched) // 1000)


def test_changed_deals_learn_their_companies_1000_at_a_time(
    start_sandbox: Callable[..., Sandbox], runner_for: Callable[..., Any]
) -> None:
    # 1,200 changed deals: two association reads (1,000 + 200, the API's cap is 1,000
    # inputs and the sandbox refuses more), handed on joined up to reader.JOIN records
    sandbox = start_sandbox(accounts=50, opportunities=1200, rate_limit=10_000)
    connector = _connector(runner_for(sandbox).settings)
    since = datetime(2000, 1, 1, tzinfo=UTC)
    try:
        batches = list(connector.read_opportunity_batches(since))
        calls = dict(connector.api.calls)
        skipped = sum(connector.stats.skipped.values())
    finally:
        connector.close()
    deals = list(chain.from_iterable(batches))
    assert len(batches) == 2 and all(0 < len(b) < JOIN + PAGE for b in batches)
    assert calls["associations"] == 2
    assert len(deals) + skipped == 1200
    linked = sandbox.portal.deal_company
    assert deals and all(d.account_id == linked.get(d.id) for d in deals)
