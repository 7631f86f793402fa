"""Companies read a page at a time into columns give exactly the accounts the record-by-record
reading gives: each company's properties mapped to the normaliser's raw keys and cleaned by
``Normaliser.account``, in the same order, with the same values counted as bad.

The record-by-record reading is spelt out here (``_raw``) from the field map, as the
previous release read a company; the pages it reads are fetched with the real client from
the sandbox, like the connector's own.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import chain, pairwise
from typing import Any

import pytest

from icpsync.connectors.hubspot import HubSpotConnector, reader
from icpsync.connectors.hubspot.client import HubSpotApi
from icpsync.connectors.hubspot.reader import JOIN, SEARCH_PAGE
from icpsync.connectors.hubspot.sandbox import Sandbox
from icpsync.connectors.hubspot.values import NATIVE_TIER, TIER_LABEL
from icpsync.core.batch import AccountBatch
from icpsync.core.model import Account, ConnectorStats
from icpsync.core.normalise import ICP_RAW_KEYS, Normaliser
from icpsync.engine.field_map import FieldMap, load_field_map
from icpsync.engine.settings import Settings

COMPANIES = 250  # three list pages of 100
#: signals: one property every company has, one most companies leave empty.
SIGNALS = {"created": "createdate", "native_tier": "hs_ideal_customer_profile"}


def _field_map(*, signals: bool) -> FieldMap:
    field_map = load_field_map("hubspot")
    if not signals:
        return field_map
    account = dataclasses.replace(field_map.account, signals=SIGNALS)
    return dataclasses.replace(field_map, account=account)


def _odd_values(sandbox: Sandbox) -> dict[int, list[str]]:
    """Bad values, missing properties, current ICP values and mirrored tiers, spread over
    every page (and some companies of every page left as seeded); case -> company ids."""
    rng = random.Random(3)
    cases: dict[int, list[str]] = {}
    with sandbox.portal.lock:
        companies = sandbox.portal.records["companies"]
        for n, (cid, props) in enumerate(companies.items()):
            case = n % 11
            cases.setdefault(case, []).append(cid)
            if case == 0:
                props["numberofemployees"] = rng.choice(["lots", "-3", "12.5k", "99999999999"])
                props["annualrevenue"] = rng.choice(["n/a", "1e20", "-", "€2M"])
            elif case == 1:
                for name in ("country", "industry", "web_technologies", "annualrevenue"):
                    props.pop(name, None)
                props["domain"] = ""
            elif case == 2:
                props["industry"] = "SPACE_TOURISM"
                props["web_technologies"] = "salesforce;;unknown_tool;HUBSPOT"
                props["country"] = "  USA "
            elif case == 3:
                props.update(
                    icp_score="55",
                    icp_tier="tier_1",
                    icp_anti_flags="Competitor;Student",
                    icp_reasons="Industry Technology +20",
                    icp_profile_version="default-1",
                    icp_scored_at="2026-01-01T00:00:00.000Z",
                    hs_ideal_customer_profile="tier_1",
                )
            elif case == 4:
                props.update(
                    icp_score="eighty",
                    icp_tier="tier_2",
                    icp_tier_override=rng.choice(["tier_3", "bogus", "Tier 1"]),
                    icp_scored_at="soon",
                    hs_ideal_customer_profile="tier_3",  # the mirror disagrees
                )
            elif case == 5:
                props.update(icp_tier="not_icp", icp_score="", icp_reasons="n/a")
            elif case == 6:
                props["domain"] = "https://www.Example-" + str(n) + ".com/about"
                props["name"] = "  Acme  " + str(n)
    return cases


def _raw(record: dict[str, Any], field_map: FieldMap, mirror: bool) -> dict[str, object]:
    """One company as the normaliser's raw record, read property by property."""
    props = record.get("properties") or {}
    raw: dict[str, object] = {
        key: props.get(name) for key, name in field_map.account.fields.items()
    }
    raw["id"] = record.get("id")
    raw["signals"] = {
        signal: props.get(name)
        for signal, name in field_map.account.signals.items()
        if props.get(name) not in (None, "")
    }
    for key, name in field_map.icp.items():
        raw[ICP_RAW_KEYS[key]] = props.get(name)
    for key in ("icp_tier", "icp_tier_override"):
        value = raw.get(key)
        raw[key] = None if value in (None, "") else TIER_LABEL.get(str(value), value)
    native = props.get("hs_ideal_customer_profile") or ""
    if mirror and NATIVE_TIER.get(str(raw["icp_tier"]), "") != native:
        raw["icp_tier"] = None  # the mirror is off: the tier must be written again
    return raw


def _pages(api: HubSpotApi, properties: list[str]) -> Iterator[list[dict[str, Any]]]:
    after = None
    while True:
        page = api.call(
            "list_companies",
            api.companies.get_page,
            raw=True,
            limit=100,
            after=after,
            properties=properties,
            archived=False,
        )
        yield page.get("results") or []
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            return


def _expected(
    connector: HubSpotConnector, records: list[dict[str, Any]], mirror: bool
) -> tuple[list[Account], ConnectorStats]:
    stats = ConnectorStats()
    normaliser = Normaliser(stats, connector.field_map.vocabularies)
    accounts = [normaliser.account(_raw(r, connector.field_map, mirror)) for r in records]
    return [a for a in accounts if a is not None], stats


@pytest.fixture
def odd_portal(
    start_sandbox: Callable[..., Sandbox], runner_for: Callable[..., Any]
) -> tuple[Settings, dict[int, list[str]]]:
    """An installed portal of odd companies: its settings, and which company is which case."""
    sandbox = start_sandbox(accounts=COMPANIES, opportunities=20, rate_limit=10_000)
    settings = runner_for(sandbox).settings
    return settings, _odd_values(sandbox)


def _connector(settings: Settings, *, signals: bool, mirror: bool = False) -> HubSpotConnector:
    return HubSpotConnector(
        HubSpotApi.from_settings(settings.hubspot),
        _field_map(signals=signals),
        mirror_native_tier=mirror,
    )


@pytest.mark.parametrize(("signals", "mirror"), [(False, False), (True, False), (True, True)])
def test_batches_hold_the_accounts_read_record_by_record(
    odd_portal: tuple[Settings, dict[int, list[str]]], signals: bool, mirror: bool
) -> None:
    settings, cases = odd_portal
    connector = _connector(settings, signals=signals, mirror=mirror)
    try:
        batches = list(connector.read_account_batches())
        bad_in_batches = dict(connector.stats.bad_values)
        properties = connector.reader.company_properties
        records = list(chain.from_iterable(_pages(connector.api, properties)))
        expected, expected_stats = _expected(connector, records, mirror)
        connector.stats.bad_values.clear()
        one_by_one = list(connector.read_accounts())
    finally:
        connector.close()

    assert [len(b) for b in batches] == [250]  # pages joined up to reader.JOIN records
    read = list(chain.from_iterable(batches))
    assert [a.id for a in read] == [r["id"] for r in records]  # the portal's order
    assert read == expected
    assert one_by_one == expected
    assert bad_in_batches == dict(expected_stats.bad_values)
    assert connector.stats.bad_values == expected_stats.bad_values
    for field in ("employees", "annual_revenue", "icp_score", "icp_scored_at"):
        assert expected_stats.bad_values[field] > 0, field
    # what the odd values became, so the comparison is not one of two plain reads
    by_id = {a.id: a for a in read}
    assert all(by_id[i].current.tier == "Tier 1" for i in cases[3])  # the mirror agrees
    assert all(by_id[i].current.score == 55 for i in cases[3])
    assert all(by_id[i].current.flags == ("Competitor", "Student") for i in cases[3])
    assert all(by_id[i].current.tier == (None if mirror else "Tier 2") for i in cases[4])
    assert {by_id[i].current.override for i in cases[4]} <= {"Tier 1", "Tier 3", None}
    assert all(by_id[i].current.tier == "Not ICP" for i in cases[5])
    assert all(by_id[i].country is None and by_id[i].domain is None for i in cases[1])
    assert all(by_id[i].industry == "SPACE_TOURISM" for i in cases[2])
    assert all(by_id[i].country == "United States" for i in cases[2])
    assert all(by_id[i].domain == f"example-{n * 11 + 6}.com" for n, i in enumerate(cases[6]))
    if signals:
        assert all(a.signals.get("created") for a in read)
        tiered = {i for c in (3, 4) for i in cases[c]}
        assert {a.id for a in read if "native_tier" in a.signals} == tiered
    else:
        assert all(not a.signals for a in read)


def test_a_portal_without_an_optional_property(
    start_sandbox: Callable[..., Sandbox], runner_for: Callable[..., Any]
) -> None:
    sandbox = start_sandbox(
        accounts=120, opportunities=20, rate_limit=10_000, without_fields=("web_technologies",)
    )
    connector = _connector(runner_for(sandbox).settings, signals=False)
    try:
        batches = list(connector.read_account_batches())
        properties = connector.reader.company_properties
        assert "web_technologies" not in properties
        records = list(chain.from_iterable(_pages(connector.api, properties)))
        expected, _ = _expected(connector, records, mirror=False)
    finally:
        connector.close()
    assert [len(b) for b in batches] == [120]  # pages joined up to reader.JOIN records
    read = list(chain.from_iterable(batches))
    assert read == expected
    assert all(a.tech_stack == frozenset() for a in read)
    assert sum(a.employees is not None for a in read) > 100


def test_named_and_changed_companies_come_in_batches_too(
    odd_portal: tuple[Settings, dict[int, list[str]]],
) -> None:
    settings, _ = odd_portal
    connector = _connector(settings, signals=True)
    try:
        properties = connector.reader.company_properties
        records = list(chain.from_iterable(_pages(connector.api, properties)))
        expected = {a.id: a for a in _expected(connector, records, mirror=False)[0]}
        ids = random.Random(5).sample(sorted(expected), 150)
        named = list(connector.read_account_batches_by_id(ids))
        stamps = sorted(m for a in expected.values() if (m := a.last_modified) is not None)
        since = stamps[len(stamps) // 2]
        changed = list(connector.read_account_batches(since))
    finally:
        connector.close()

    assert [len(b) for b in named] == [150]  # batch reads joined up to reader.JOIN records
    assert [a.id for a in chain.from_iterable(named)] == sorted(ids)
    assert all(a == expected[a.id] for a in chain.from_iterable(named))

    assert all(isinstance(b, AccountBatch) and 0 < len(b) < JOIN + SEARCH_PAGE for b in changed)
    searched = list(chain.from_iterable(changed))
    now = datetime.now(UTC)
    wanted = [a for a in expected.values() if a.last_modified and since <= a.last_modified < now]
    assert 0 < len(wanted) < len(expected)
    assert sorted(searched, key=lambda a: a.id) == sorted(wanted, key=lambda a: a.id)
    modified = [m for a in searched if (m := a.last_modified) is not None]
    assert len(modified) == len(searched) and modified == sorted(
        modified
    )  # the search reads in order of modification


def test_pages_are_joined_up_to_the_join_size(
    odd_portal: tuple[Settings, dict[int, list[str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "JOIN", 150)
    connector = _connector(odd_portal[0], signals=False)
    try:
        batches = list(connector.read_account_batches())
        one_by_one = list(connector.read_accounts())
    finally:
        connector.close()
    assert [len(b) for b in batches] == [150, 100]  # the pages' records in lists of 150
    assert list(chain.from_iterable(batches)) == one_by_one


def test_records_are_cut_into_lists_of_the_size_and_nothing_is_left_empty() -> None:
    records = [{"id": str(i)} for i in range(5)]
    assert list(reader._joined([records], 2)) == [records[:2], records[2:4], records[4:]]
    assert list(reader._joined(iter([]), 2)) == []
    assert list(reader._joined([[], []], 2)) == []


def test_pages_of_any_size_are_joined_and_cut_in_order() -> None:
    records = [{"id": str(i)} for i in range(23)]
    cuts = [0, 3, 3, 10, 11, 20, 23]  # pages of 3, 0, 7, 1, 9 and 3 records
    pages = [records[a:b] for a, b in pairwise(cuts)]
    for size in (1, 2, 4, 7, 23, 50):
        joined = list(reader._joined(iter(pages), size))
        assert [r for part in joined for r in part] == records
        assert all(len(part) == size for part in joined[:-1])
        assert 0 < len(joined[-1]) <= size
