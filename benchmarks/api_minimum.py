"""The fewest API calls each CRM allows for what a run read and wrote (shared by the
benchmarks).

Salesforce: a SOQL page carries 2,000 records; a Bulk API 2.0 job costs 5 calls whatever
its size (query: create, poll, results pages of 50,000; ingest: create, upload, close, poll,
failed results), so the minimum is the cheaper of the two. HubSpot: a list page carries 100
records, a search page 200, a batch update 100; its deal list cannot filter on the close
date, so a full read pages through every deal, and deals found by search need one
association read per 100 to learn their companies.
"""

from __future__ import annotations

import math
from typing import Any

SOQL_PAGE = 2000
BULK_QUERY_PAGE = 50_000
BULK_JOB = 5
SALESFORCE_BATCH = 200
HUBSPOT_LIST_PAGE = 100
HUBSPOT_SEARCH_PAGE = 200
HUBSPOT_BATCH = 100


def _salesforce_read(records: int) -> int:
    paged = max(1, math.ceil(records / SOQL_PAGE))
    bulk = 2 + max(1, math.ceil(records / BULK_QUERY_PAGE))
    return min(paged, bulk)


def minimum_calls(crm: str, report: dict[str, Any], deals_total: int) -> dict[str, int]:
    """``{"reads": n, "writes": m}``: the least the API allows for this run's report."""
    accounts, deals = report["accounts_read"], report["opportunities_read"]
    changed = report["changed"]
    full = report["mode"] == "full"
    if crm == "salesforce":
        reads = _salesforce_read(accounts) + _salesforce_read(deals)
        writes = min(math.ceil(changed / SALESFORCE_BATCH), BULK_JOB) if changed else 0
        return {"reads": reads, "writes": writes}
    if full:
        reads = math.ceil(accounts / HUBSPOT_LIST_PAGE) + math.ceil(deals_total / HUBSPOT_LIST_PAGE)
    else:
        reads = max(1, math.ceil(accounts / HUBSPOT_SEARCH_PAGE))
        reads += max(1, math.ceil(deals / HUBSPOT_SEARCH_PAGE)) + math.ceil(deals / 100)
    return {"reads": reads, "writes": math.ceil(changed / HUBSPOT_BATCH)}
