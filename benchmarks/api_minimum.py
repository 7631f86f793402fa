"""The fewest API calls each CRM allows for what a run read and wrote (shared by the
benchmarks).

Salesforce: a SOQL page carries 2,000 records; a Bulk API 2.0 job costs a few calls whatever
its size (query: create, poll, a results page per 50,000; ingest: create, upload, close,
poll, and the failed results when the job reports failed rows). The minimum is that of the
path the settings choose: Bulk from ``bulk_read_threshold`` records read and above
``bulk_write_threshold`` changes.

HubSpot: a list page carries 100 records, a search page 200, a batch update 100; its deal
list cannot filter on the close date, so a full read pages through every deal, and deals
found by search need one association read per 1,000 (the v4 batch read's cap) to learn
their companies.
"""

from __future__ import annotations

import math
from typing import Any

SOQL_PAGE = 2000
BULK_QUERY_PAGE = 50_000
#: an ingest job's calls: create, upload, close, poll (its failed results apart).
BULK_JOB = 4
SALESFORCE_BATCH = 200
HUBSPOT_LIST_PAGE = 100
HUBSPOT_SEARCH_PAGE = 200
HUBSPOT_BATCH = 100
HUBSPOT_ASSOCIATION_READ = 1000


#: the Salesforce connector's defaults (``[salesforce]`` settings).
BULK_READ_THRESHOLD = 100_000
BULK_WRITE_THRESHOLD = 2000


def _salesforce_read(records: int) -> int:
    if records >= BULK_READ_THRESHOLD:
        return 2 + math.ceil(records / BULK_QUERY_PAGE)
    return max(1, math.ceil(records / SOQL_PAGE))


def minimum_calls(crm: str, report: dict[str, Any], deals_total: int) -> dict[str, int]:
    """``{"reads": n, "writes": m}``: the least the API allows for this run's report."""
    accounts, deals = report["accounts_read"], report["opportunities_read"]
    changed = report["changed"]
    full = report["mode"] == "full"
    if crm == "salesforce":
        reads = _salesforce_read(accounts) + _salesforce_read(deals)
        if changed > BULK_WRITE_THRESHOLD:
            writes = BULK_JOB + (1 if report.get("failed") else 0)
        else:
            writes = math.ceil(changed / SALESFORCE_BATCH)
        return {"reads": reads, "writes": writes}
    if full:
        reads = math.ceil(accounts / HUBSPOT_LIST_PAGE) + math.ceil(deals_total / HUBSPOT_LIST_PAGE)
    else:
        reads = max(1, math.ceil(accounts / HUBSPOT_SEARCH_PAGE))
        reads += max(1, math.ceil(deals / HUBSPOT_SEARCH_PAGE))
        reads += math.ceil(deals / HUBSPOT_ASSOCIATION_READ)
    return {"reads": reads, "writes": math.ceil(changed / HUBSPOT_BATCH)}
