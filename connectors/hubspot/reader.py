"""Reading companies and deals: paged lists, cursor searches and batch reads.

* Companies are read a page at a time; pages are joined into lists of :data:`JOIN`, read
  into columns (:mod:`.columns`) and cleaned together
  (:func:`~icpsync.core.normalise_columns.accounts_from_columns`): one
  :class:`~icpsync.core.batch.AccountBatch` per list. Pages are read as raw JSON, never
  as the client's models.
* Full reads page through ``GET /crm/v3/objects/{type}`` (100 a page; never ``get_all``),
  sent through the client's own ``ApiClient.request`` with the query encoded once
  (:mod:`.objects_api`), the next page read while the caller works on this one
  (:mod:`.read_ahead`).
* Incremental reads search ``cursor <= hs_lastmodifieddate < start of the read`` sorted
  ascending, 200 a page, and never page by offset: the run writes (and so re-stamps)
  records while it reads, which would shift offsets and skip records. Every page is a
  fresh search from the last timestamp seen (ids already read at it are skipped); a page
  all at one timestamp is followed by that timestamp alone, paged by ``hs_object_id``.
  No query pages, so the 10,000-result cap never applies.
* Deals come from one paged list with ``associations=["companies"]``: the deal -> company
  link rides along, so no association call is needed (``ceil(deals / 100)`` calls). An
  incremental run searches the deals modified since its cursor instead, and reads their
  companies with v4 association batch reads of up to 1,000 deals (search results carry
  no associations).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import chain, compress
from typing import Any

from hubspot.crm.companies import Filter, FilterGroup, PublicObjectSearchRequest

from icpsync.connectors.hubspot.client import HubSpotApi
from icpsync.connectors.hubspot.columns import CompanyColumns, DealColumns
from icpsync.connectors.hubspot.objects_api import PageQuery
from icpsync.connectors.hubspot.read_ahead import read_ahead
from icpsync.connectors.hubspot.values import NATIVE, epoch_ms
from icpsync.core.batch import AccountBatch, OpportunityBatch
from icpsync.core.model import Account, ConnectorStats, Opportunity
from icpsync.core.normalise import Normaliser, parse_datetime
from icpsync.core.normalise_columns import accounts_from_columns, opportunities_from_columns
from icpsync.engine.field_map import FieldMap

log = logging.getLogger(__name__)
PAGE = 100
SEARCH_PAGE = 200
#: deals one v4 association batch read asks about (HubSpot's cap: 1,000 inputs).
ASSOCIATION_READ = 1000
LAST_MODIFIED = "hs_lastmodifieddate"
ID = "hs_object_id"
Page = list[dict[str, Any]]
#: why a searched record without a timestamp is reported (``ConnectorStats.unplaced``).
UNPLACED = f"no {LAST_MODIFIED}: the incremental search cannot place it"
#: v4 association type of a deal's primary company.
PRIMARY_DEAL_TO_COMPANY = 5
#: records cleaned together: pages (100 or 200 records) are joined into lists of this many
#: first, so the cleaning's fixed cost per call is paid once per list, not once per page.
JOIN = 1000


def _next(page: dict[str, Any]) -> str | None:
    """The ``after`` token of the next page, or None on the last page."""
    after = ((page.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after else None


class Reader:
    """Reads one portal's companies (as batches of columns) and deals.

    Args:
        api: the limited, retried client.
        field_map: HubSpot property names and vocabularies.
        stats: where bad values and skipped records are counted.
        lookback_days: closed deals older than this are left out.
    """

    def __init__(
        self,
        api: HubSpotApi,
        field_map: FieldMap,
        stats: ConnectorStats,
        lookback_days: int,
        *,
        mirror_native_tier: bool = False,
    ):
        self.api = api
        self.mirror_native_tier = mirror_native_tier
        self.field_map = field_map
        self.stats = stats
        self.lookback_days = lookback_days
        account = field_map.account
        self.company_properties = list(
            dict.fromkeys([*account.crm_names(), *field_map.icp_names(), LAST_MODIFIED])
        )
        if mirror_native_tier:
            self.company_properties.append(NATIVE)
        self.deal_properties = field_map.opportunity.crm_names()
        self.company_columns = CompanyColumns(field_map, mirror_native_tier=mirror_native_tier)
        self.deal_columns = DealColumns(field_map)

    def leave_out(self, names: Iterable[str]) -> None:
        """Stop asking for company properties the portal does not have."""
        absent = set(names)
        self.company_properties = [p for p in self.company_properties if p not in absent]

    # -- companies -------------------------------------------------------------------

    def _batches(self, pages: Iterable[Page]) -> Iterator[AccountBatch]:
        """The clean accounts of the pages, :data:`JOIN` records at a time (one normaliser for
        the whole read: ids are de-duplicated across pages)."""
        normaliser = Normaliser(self.stats, self.field_map.vocabularies)
        for page in _joined(pages, JOIN):
            columns, signals = self.company_columns.columns(page)
            batch = accounts_from_columns(normaliser, columns, signals)
            if len(batch):
                yield batch

    def _list(self, kind: str) -> Iterator[Page]:
        """Every record of ``kind`` (companies or deals), a page (100) at a time, the next
        page read while the caller works on this one."""
        return read_ahead(self._list_pages(kind))

    def _list_pages(self, kind: str) -> Iterator[Page]:
        api = self.api.companies_pages if kind == "companies" else self.api.deals_pages
        # one ``properties=`` pair per name, as the generated ``get_page`` sends them: a
        # comma-separated value would be quoted (%2C), which sends urllib3 down its slow
        # URL path, four times a call
        query = PageQuery(PAGE, self._properties(kind), ["companies"] if kind == "deals" else ())
        after = None
        while True:
            page = self.api.call(f"list_{kind}", api.get_page, query(after), raw=True)
            yield page.get("results") or []
            after = _next(page)
            if not after:
                return

    def _properties(self, kind: str) -> list[str]:
        return self.company_properties if kind == "companies" else self.deal_properties

    def _search(self, kind: str, since: datetime) -> Iterator[Page]:
        """Records of ``kind`` modified at or after ``since`` and before the read started,
        a page at a time.

        Never pages by offset: the run writes what it has read while it reads on, and every
        write moves ``hs_lastmodifieddate``, so offsets into the sorted result set shift and
        skip records. Each page is a fresh search from the last timestamp seen (ids already
        read at it are skipped), bounded above by the time this read started: the run's own
        writes never re-enter, and anything modified later is the next run's (its cursor is
        earlier than this start). A page whose results all share one timestamp is followed
        by reading that timestamp alone, by ``hs_object_id``.
        """
        api = self.api.companies_search if kind == "companies" else self.api.deals_search
        until = Filter(
            property_name=LAST_MODIFIED, operator="LT", value=str(epoch_ms(datetime.now(UTC)))
        )
        lower, strict = epoch_ms(since), False
        read: set[str] = set()  # ids read at ``lower``
        while True:
            after_lower = Filter(
                property_name=LAST_MODIFIED, operator="GT" if strict else "GTE", value=str(lower)
            )
            page, more = self._search_page(kind, api, [after_lower, until], LAST_MODIFIED)
            stamps: list[int] = []
            kept: Page = []
            for record in page:
                stamp = _stamp(record)
                if stamp is None:  # cannot match the filter: reported, the run is partial
                    self._unplaced(kind, str(record.get("id")))
                    continue
                stamps.append(stamp)
                if stamp == lower and record["id"] in read:
                    continue
                if stamp != lower:
                    lower, strict, read = stamp, False, set()
                read.add(record["id"])
                kept.append(record)
            yield kept
            if not more:
                return
            if not stamps:  # a full page without timestamps: no window can move past it
                log.warning(
                    "%s search returned a page without %s: its records are reported as not "
                    "placed and the search stops",
                    kind,
                    LAST_MODIFIED,
                )
                self.stats.skipped[f"{kind}_search_stopped_on_a_page_without_timestamps"] += 1
                return
            if stamps[0] == stamps[-1] == lower and not strict:
                # A whole page at one timestamp: read it out by id, then move past it.
                yield from self._search_at(kind, api, lower, read)
                strict, read = True, set()

    def _unplaced(self, kind: str, record_id: str) -> None:
        """A searched record without a timestamp: a company is reported by id (the run is
        partial and the company quarantined); a deal is counted and logged by id."""
        if kind == "companies":
            self.stats.unplaced[record_id] = UNPLACED
        else:
            self.stats.skipped["deal_without_timestamp"] += 1
            log.warning(
                "deal %s has no %s: not read by this incremental run", record_id, LAST_MODIFIED
            )

    def _search_at(self, kind: str, api: Any, stamp: int, read: set[str]) -> Iterator[Page]:
        """Every record modified at exactly ``stamp`` not in ``read``, paged by id."""
        at = Filter(property_name=LAST_MODIFIED, operator="EQ", value=str(stamp))
        last_id: str | None = None
        while True:
            filters = [at]
            if last_id is not None:
                filters.append(Filter(property_name=ID, operator="GT", value=last_id))
            page, more = self._search_page(kind, api, filters, ID)
            yield [record for record in page if record["id"] not in read]
            if not more or not page:
                return
            last_id = str(page[-1]["id"])

    def _search_page(
        self, kind: str, api: Any, filters: list[Filter], sort: str
    ) -> tuple[Page, bool]:
        """One fresh search (no ``after``): up to 200 matches of ``filters`` sorted by
        ``sort`` ascending, and whether more matched than were returned."""
        request = PublicObjectSearchRequest(
            filter_groups=[FilterGroup(filters=filters)],
            sorts=[{"propertyName": sort, "direction": "ASCENDING"}],
            properties=self._properties(kind),
            limit=SEARCH_PAGE,
        )
        page = self.api.call(
            f"search_{kind}", api.do_search, raw=True, public_object_search_request=request
        )
        return list(page.get("results") or []), _next(page) is not None

    def _with_companies(self, pages: Iterable[Page]) -> Iterator[Page]:
        """Searched deals (search returns no associations) with their companies attached,
        read with v4 association batch reads of up to 1,000 (the API's cap): a page of
        100 at a time."""
        for chunk in _joined(pages, ASSOCIATION_READ):
            body = {"inputs": [{"id": d["id"]} for d in chunk]}
            result = self.api.call(
                "associations", self.api.associations.get_page, "deals", "companies", body, raw=True
            )
            links: dict[str, list[dict[str, Any]]] = {}
            for row in result.get("results") or []:
                primary = {PRIMARY_DEAL_TO_COMPANY}
                links[str(row["from"]["id"])] = [
                    {
                        "id": str(to["toObjectId"]),
                        "type": "deal_to_company"
                        if primary & {t.get("typeId") for t in to.get("associationTypes") or []}
                        else "other",
                    }
                    for to in row.get("to") or []
                ]
            for deal in chunk:
                deal["associations"] = {"companies": {"results": links.get(deal["id"], [])}}
            yield from _joined([chunk], PAGE)

    def company_batches(self, since: datetime | None) -> Iterator[AccountBatch]:
        """Every company (``since`` None) or those modified at or after ``since``, in
        batches of about :data:`JOIN`."""
        pages = self._list("companies") if since is None else self._search("companies", since)
        return self._batches(pages)

    def company_batches_by_id(self, ids: Sequence[str]) -> Iterator[AccountBatch]:
        """The named companies, batch reads of 100 joined up to :data:`JOIN`."""

        def pages() -> Iterator[Page]:
            for start in range(0, len(ids), PAGE):
                body = {
                    "inputs": [{"id": i} for i in ids[start : start + PAGE]],
                    "properties": self.company_properties,
                    "propertiesWithHistory": [],
                }
                result = self.api.call(
                    "batch_read_companies",
                    self.api.companies_batch.read,
                    body,
                    raw=True,
                    archived=False,
                )
                yield result.get("results") or []

        return self._batches(pages())

    def companies(self, since: datetime | None) -> Iterator[Account]:
        """:meth:`company_batches`, an account at a time."""
        return chain.from_iterable(self.company_batches(since))

    # -- deals ------------------------------------------------------------------------

    def deal_batches(
        self, since: datetime | None = None, now: datetime | None = None
    ) -> Iterator[OpportunityBatch]:
        """Open deals and those closed within the look-back, each with its company, in
        batches of about :data:`JOIN` clean deals.

        Every deal (a paged list with companies attached), or with ``since`` only those
        modified at or after it (a search, then v4 association reads for their companies).
        Pages are joined, read into columns and cleaned together
        (:func:`~icpsync.core.normalise_columns.opportunities_from_columns`).
        """
        normaliser = Normaliser(self.stats, self.field_map.vocabularies)
        cutoff = ((now or datetime.now(UTC)) - timedelta(days=self.lookback_days)).date()
        pages = (
            self._list("deals")
            if since is None
            else self._with_companies(self._search("deals", since))
        )
        for page in _joined(pages, JOIN):
            batch = opportunities_from_columns(normaliser, self.deal_columns.columns(page))
            batch = self._within_lookback(batch, cutoff)
            if len(batch):
                yield batch

    def _within_lookback(self, batch: OpportunityBatch, cutoff: date) -> OpportunityBatch:
        """The batch less the deals closed before ``cutoff`` (counted)."""
        columns = batch.columns
        old = [
            closed and day is not None and day < cutoff
            for closed, day in zip(columns["is_closed"], columns["closed"], strict=True)
        ]
        dropped = sum(old)
        if not dropped:
            return batch
        self.stats.skipped["deal_closed_before_lookback"] += dropped
        keep = [not o for o in old]
        return OpportunityBatch(
            {name: list(compress(values, keep)) for name, values in columns.items()}
        )

    def deals(
        self, since: datetime | None = None, now: datetime | None = None
    ) -> Iterator[Opportunity]:
        """:meth:`deal_batches`, a deal at a time."""
        return chain.from_iterable(self.deal_batches(since, now))


def _stamp(record: dict[str, Any]) -> int | None:
    """The record's ``hs_lastmodifieddate`` in epoch milliseconds."""
    stamp = parse_datetime((record.get("properties") or {}).get(LAST_MODIFIED))
    return None if stamp is None else epoch_ms(stamp)


def _joined(pages: Iterable[Page], size: int) -> Iterator[Page]:
    """The records of ``pages`` in order, in lists of ``size`` (the last may be smaller):
    joined and cut a page at a time, with no Python step per record."""
    held: Page = []
    for page in pages:
        held.extend(page)
        if len(held) < size:
            continue
        cut = len(held) - len(held) % size
        for start in range(0, cut, size):
            yield held[start : start + size]
        del held[:cut]
    if held:
        yield held
