"""Deals read a page at a time as columns are exactly those of the record-by-record reading
(each record renamed through the field map and cleaned by ``Normaliser.opportunity``): same
values, order, bad-value and skip counts, through Bulk 2.0 CSV pages and REST JSON pages."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any

import pytest

from icpsync.connectors.salesforce import SalesforceConnector, reader, soql
from icpsync.connectors.salesforce.auth import Session
from icpsync.connectors.salesforce.sandbox import Sandbox
from icpsync.core.model import ConnectorStats, Opportunity
from icpsync.core.normalise import Normaliser
from icpsync.engine.field_map import FieldMap

DEALS = 2300  # two REST pages of 2000 (those the look-back keeps)


def _dress(box: Sandbox) -> str:
    """Bad values, deals without an account and a repeated id in the org's Opportunity
    records; returns the repeated id."""
    table = box.org.records["Opportunity"]
    records = sorted(table.values(), key=lambda r: (r["SystemModstamp"], r["Id"]))
    for i, record in enumerate(records):
        record["IsClosed"] = record["IsWon"] = False  # open: every deal is read
        if i % 3 == 0:
            record["IsClosed"] = True
            record["IsWon"] = i % 2 == 0
            record["CloseDate"] = (datetime.now(UTC) - timedelta(days=30 + i % 200)).date()
        if i % 11 == 0:
            record["Amount"] = -250.0  # negative: bad
        if i % 13 == 0:
            record["AccountId"] = None
        if i % 17 == 0:
            record["StageName"] = "Made Up Stage"
    first = records[0]
    copy = {**first, "Amount": 1.0, "SystemModstamp": records[-1]["SystemModstamp"]}
    copy["SystemModstamp"] += timedelta(seconds=1)  # the last record of the last page
    table["copy-of-the-first"] = copy
    return str(first["Id"])


def _connector(sf: Any, box: Sandbox, **overrides: Any) -> SalesforceConnector:
    settings = sf.settings_for(box, **overrides)
    return SalesforceConnector(Session(settings.salesforce), settings.salesforce)


def _record_by_record(
    field_map: FieldMap, pages: list[list[dict[str, Any]]]
) -> tuple[list[Opportunity], ConnectorStats]:
    """The specification: every record renamed through the field map and cleaned by
    ``Normaliser.opportunity``, one at a time."""
    stats = ConnectorStats()
    normaliser = Normaliser(stats, field_map.vocabularies)
    deals = []
    for record in chain.from_iterable(pages):
        deal = normaliser.opportunity(
            {k: record.get(n) for k, n in field_map.opportunity.fields.items()}
        )
        if deal is not None:
            deals.append(deal)
    return deals, stats


def _csv_rows(text: str) -> list[dict[str, Any]]:
    """A Bulk page's rows as ``csv.DictReader`` reads them, an empty field as None."""
    return [
        {k: (v if v != "" else None) for k, v in row.items()}
        for row in csv.DictReader(io.StringIO(text))
    ]


def _raw_pages(
    connector: SalesforceConnector, *, bulk: bool, since: datetime | None = None
) -> list[list[dict[str, Any]]]:
    """The query's pages as the client library gives them (REST records, Bulk CSV)."""
    opp = connector.field_map.opportunity
    closed_since = (datetime.now(UTC) - timedelta(days=connector.lookback_days)).date()
    query = soql.opportunities(opp.object, opp.crm_names(), closed_since, since)
    client = connector.session.client()
    if bulk:
        pages = client.bulk2.Opportunity.query(query, max_records=reader.BULK_PAGE, wait=0)
        return [_csv_rows(page) for page in pages]
    out, page = [], client.query(query, headers=reader.QUERY_OPTIONS)
    while True:
        out.append(page["records"])
        if page["done"]:
            return out
        page = client.query_more(page["nextRecordsUrl"], identifier_is_url=True)


@pytest.mark.parametrize("bulk", [False, True], ids=["rest-json", "bulk-csv"])
def test_batches_are_the_deals_of_the_record_by_record_reading(
    sf: Any, make_sandbox: Callable[..., Sandbox], bulk: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = make_sandbox(accounts=300, opportunities=DEALS)
    sf.install(sf.settings_for(box))
    repeated = _dress(box)
    monkeypatch.setattr(reader, "BULK_PAGE", 700)  # several Bulk result pages
    connector = _connector(sf, box, bulk_read_threshold=1 if bulk else 0)
    try:
        box.reset_stats()
        batches = list(connector.read_opportunity_batches())
        calls = box.stats()
        expected, expected_stats = _record_by_record(
            connector.field_map, _raw_pages(connector, bulk=bulk)
        )
        again = list(connector.read_opportunities())
        bad_values = dict(connector.stats.bad_values)
        since = sorted(d.last_modified for d in expected if d.last_modified)[DEALS // 2]
        recent = list(chain.from_iterable(connector.read_opportunity_batches(since)))
        expected_recent, _ = _record_by_record(
            connector.field_map, _raw_pages(connector, bulk=bulk, since=since)
        )
    finally:
        connector.close()
    if bulk:
        assert calls["bulk_query_create"] == 1 and len(batches) == 4  # 2301 rows, 700 a page
    else:
        assert "bulk_query_create" not in calls and len(batches) == 2
    deals = list(chain.from_iterable(batches))
    assert deals == expected
    assert again == expected  # read_opportunities is a view over the batches
    twice = {name: 2 * n for name, n in expected_stats.bad_values.items()}  # read twice
    assert bad_values == twice
    assert expected_stats.skipped == Counter({"duplicate_opportunity_id": 1})
    # what the org holds reached the deals: none of it vacuous
    assert len(deals) == DEALS
    assert next(d for d in deals if d.id == repeated).amount != 1.0  # the first copy kept
    assert set(expected_stats.bad_values) == {"amount"}
    assert sum(d.stage == "Made Up Stage" for d in deals) >= DEALS // 17  # stages are free text
    assert sum(d.account_id is None for d in deals) >= DEALS // 13
    assert sum(d.is_won for d in deals) and sum(d.is_closed and not d.is_won for d in deals)
    assert all(isinstance(d.last_modified, datetime) for d in deals)
    # modified since: the query's filter, read as batches too
    assert recent == expected_recent and 0 < len(recent) < len(deals)
    assert all(d.last_modified >= since for d in recent if d.last_modified)
