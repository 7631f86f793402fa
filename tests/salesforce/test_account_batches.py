"""Accounts read a page at a time as columns are exactly those of the record-by-record reading
(each record renamed through the field map and cleaned by ``Normaliser.account``): same
values, order, bad-value and skip counts, through Bulk 2.0 CSV pages and REST JSON pages."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from itertools import chain
from typing import Any

import pytest

from icpsync.connectors.salesforce import SalesforceConnector, reader, soql
from icpsync.connectors.salesforce.auth import Session
from icpsync.connectors.salesforce.sandbox import Sandbox, schema
from icpsync.core.model import Account, ConnectorStats
from icpsync.core.normalise import ICP_RAW_KEYS, Normaliser
from icpsync.engine.field_map import FieldMap, load_field_map

ACCOUNTS = 2300  # two REST pages of 2000
SIGNALS = {"intent": "Intent_Score__c", "plan": "Plan__c", "absent": "Not_In_Org__c"}


def _field_map() -> FieldMap:
    shipped = load_field_map("salesforce")
    account = dataclasses.replace(shipped.account, signals=SIGNALS)
    return dataclasses.replace(shipped, account=account)


def _dress(box: Sandbox) -> dict[str, str]:
    """Signals, ICP values, bad values and a repeated id in the org's Account records;
    the repeated id (a later copy of the first account) -> its copy's name."""
    box.org.schema["Account"]["Intent_Score__c"] = schema.field(
        "Intent_Score__c", "double", custom=True, precision=5, scale=2
    )
    box.org.schema["Account"]["Plan__c"] = schema.field("Plan__c", "string", length=40)
    table = box.org.records["Account"]
    records = sorted(table.values(), key=lambda r: (r["SystemModstamp"], r["Id"]))
    for i, record in enumerate(records):
        record["Intent_Score__c"] = [None, 0.0, 0.75, 12.5][i % 4]
        record["Plan__c"] = [None, "", "gold", " silver "][i % 7 % 4]
        if i % 11 == 0:
            record["NumberOfEmployees"] = -5  # negative: bad
        if i % 13 == 0:
            record["AnnualRevenue"] = 5e14  # implausible: bad
        if i % 17 == 0:
            record["BillingCountry"] = "USA"  # the field map's vocabulary
        if i % 5 == 0:
            record["ICP_Score__c"] = 40.0 + i % 50
            record["ICP_Tier__c"] = "Tier 2"
            record["ICP_Anti_Flags__c"] = "no_fit;tiny"
            record["ICP_Reasons__c"] = "fit: yes"
            record["ICP_Profile_Version__c"] = "v1"
            record["ICP_Scored_At__c"] = record["SystemModstamp"]
        if i % 15 == 0:
            record["ICP_Tier_Override__c"] = "Tier 9" if i % 30 == 0 else "Tier 1"  # bad, good
        if i % 19 == 0:
            record["Name"] = "n/a"  # a missing token
    first = records[0]
    copy = {**first, "Name": "Later copy", "SystemModstamp": records[-1]["SystemModstamp"]}
    copy["SystemModstamp"] += timedelta(seconds=1)  # the last record of the last page
    table["copy-of-the-first"] = copy
    return {first["Id"]: "Later copy"}


def _dressed(sf: Any, make_sandbox: Callable[..., Sandbox]) -> tuple[Sandbox, dict[str, str]]:
    box = make_sandbox(accounts=ACCOUNTS, opportunities=10, without_fields=("Tech_Stack__c",))
    sf.install(sf.settings_for(box))
    return box, _dress(box)


def _connector(sf: Any, box: Sandbox, **overrides: Any) -> SalesforceConnector:
    settings = sf.settings_for(box, **overrides)
    return SalesforceConnector(Session(settings.salesforce), settings.salesforce, _field_map())


def _record_by_record(
    field_map: FieldMap, pages: list[list[dict[str, Any]]]
) -> tuple[list[Account], ConnectorStats]:
    """The specification: every record renamed through the field map (signals: the fields
    holding a value) and cleaned by ``Normaliser.account``, one at a time."""
    stats = ConnectorStats()
    normaliser = Normaliser(stats, field_map.vocabularies)
    accounts = []
    for record in chain.from_iterable(pages):
        raw: dict[str, Any] = {k: record.get(n) for k, n in field_map.account.fields.items()}
        signals = {k: record.get(n) for k, n in field_map.account.signals.items()}
        raw["signals"] = {k: v for k, v in signals.items() if v is not None}
        for key, name in field_map.icp.items():
            raw[ICP_RAW_KEYS[key]] = record.get(name)
        account = normaliser.account(raw)
        if account is not None:
            accounts.append(account)
    return accounts, stats


def _csv_rows(text: str) -> list[dict[str, Any]]:
    """A Bulk page's rows as ``csv.DictReader`` reads them, an empty field as None."""
    return [
        {k: (v if v != "" else None) for k, v in row.items()}
        for row in csv.DictReader(io.StringIO(text))
    ]


def _raw_pages(connector: SalesforceConnector, *, bulk: bool) -> list[list[dict[str, Any]]]:
    """The query's pages as the client library gives them (REST records, Bulk CSV)."""
    query = soql.accounts("Account", connector._account_fields(), None)
    client = connector.session.client()
    if bulk:
        pages = client.bulk2.Account.query(query, max_records=reader.BULK_PAGE, wait=0)
        return [_csv_rows(page) for page in pages]
    out, page = [], client.query(query, headers=reader.QUERY_OPTIONS)
    while True:
        out.append(page["records"])
        if page["done"]:
            return out
        page = client.query_more(page["nextRecordsUrl"], identifier_is_url=True)


@pytest.mark.parametrize("bulk", [False, True], ids=["rest-json", "bulk-csv"])
def test_batches_are_the_accounts_of_the_record_by_record_reading(
    sf: Any, make_sandbox: Callable[..., Sandbox], bulk: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    box, dressed = _dressed(sf, make_sandbox)
    monkeypatch.setattr(reader, "BULK_PAGE", 700)  # several Bulk result pages
    threshold = 1 if bulk else 0
    connector = _connector(sf, box, bulk_read_threshold=threshold)
    try:
        assert connector.unavailable_fields() == {
            "tech_stack": "Tech_Stack__c",
            "signals.absent": "Not_In_Org__c",
        }
        box.reset_stats()
        batches = list(connector.read_account_batches())
        calls = box.stats()
        expected, expected_stats = _record_by_record(
            connector.field_map, _raw_pages(connector, bulk=bulk)
        )
        again = list(connector.read_accounts())
    finally:
        connector.close()
    if bulk:
        assert calls["bulk_query_create"] == 1 and len(batches) == 4  # 2301 rows, 700 a page
    else:
        assert "bulk_query_create" not in calls and len(batches) == 2
    accounts = list(chain.from_iterable(batches))
    assert accounts == expected
    assert [a.signals for a in accounts] == [a.signals for a in expected]  # mappings, not ==
    assert again == expected  # read_accounts is a view over the batches
    twice = {name: 2 * n for name, n in expected_stats.bad_values.items()}  # read twice
    assert dict(connector.stats.bad_values) == twice
    assert connector.stats.skipped["duplicate_account_id"] == 2
    assert expected_stats.skipped == Counter({"duplicate_account_id": 1})
    # what the org holds reached the accounts: none of it vacuous
    assert len(accounts) == ACCOUNTS
    (repeated,) = dressed
    assert next(a for a in accounts if a.id == repeated).name != dressed[repeated]
    assert {"employees", "annual_revenue", "icp_tier_override"} <= set(expected_stats.bad_values)
    assert sum(a.country == "United States" for a in accounts) > ACCOUNTS // 17
    assert all(not a.tech_stack for a in accounts)
    plans = Counter(a.signals.get("plan") for a in accounts)
    assert plans["gold"] and plans[" silver "] and plans[None]
    assert "" not in plans if bulk else plans[""]  # an empty CSV field is no value
    intents = {a.signals.get("intent") for a in accounts}
    assert intents == ({None, "0", "0.75", "12.5"} if bulk else {None, 0.0, 0.75, 12.5})
    current = [a.current for a in accounts if a.current.score is not None]
    assert len(current) > ACCOUNTS // 6
    assert {c.override for c in current} >= {"Tier 1", None}
    assert all(c.flags == ("no_fit", "tiny") and c.scored_at for c in current)


def test_batches_by_id_are_the_named_accounts(
    sf: Any, make_sandbox: Callable[..., Sandbox]
) -> None:
    box, _ = _dressed(sf, make_sandbox)
    connector = _connector(sf, box)
    try:
        everyone = list(connector.read_accounts())
        wanted = [a.id for a in everyone[::7]] + ["001000000000000AAA"]  # one not in the org
        batches = list(connector.read_account_batches_by_id(wanted))
        by_id = list(connector.read_accounts_by_id(wanted))
    finally:
        connector.close()
    assert len(batches) == -(-len(wanted) // 200)  # one query (and page) per 200 ids
    named = {a.id: a for a in everyone if a.id in set(wanted)}
    got = list(chain.from_iterable(batches))
    assert sorted(got, key=lambda a: a.id) == sorted(named.values(), key=lambda a: a.id)
    assert by_id == got
