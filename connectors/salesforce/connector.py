"""The Salesforce connector: reads Accounts and Opportunities, writes ICP values back."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from icpsync.connectors.salesforce import soql
from icpsync.connectors.salesforce.api import Api
from icpsync.connectors.salesforce.auth import Session
from icpsync.connectors.salesforce.doctor import run_checks
from icpsync.connectors.salesforce.install import Installer
from icpsync.connectors.salesforce.layouts import Layouts
from icpsync.connectors.salesforce.listviews import ListViews
from icpsync.connectors.salesforce.pages import Page
from icpsync.connectors.salesforce.reader import Reader, chunks
from icpsync.connectors.salesforce.reports import Report
from icpsync.connectors.salesforce.settings import SPEC, SalesforceSettings
from icpsync.connectors.salesforce.sfdx import emit_project
from icpsync.connectors.salesforce.uninstall import Uninstaller
from icpsync.connectors.salesforce.visibility import rep_view, visibility_checks
from icpsync.connectors.salesforce.writer import Writer
from icpsync.core.batch import AccountBatch, OpportunityBatch
from icpsync.core.errors import ConnectorError
from icpsync.core.model import Account, ConnectorStats, Opportunity, ScoreUpdate, WriteReport
from icpsync.core.normalise import ICP_RAW_KEYS, Normaliser
from icpsync.core.normalise_columns import accounts_from_columns, opportunities_from_columns
from icpsync.engine.field_map import FieldMap, load_field_map
from icpsync.engine.protocol import Check, PlanStep

if TYPE_CHECKING:
    from icpsync.engine.settings import Settings

#: Account ids named in one query.
ID_CHUNK = 200


class SalesforceConnector:
    """Accounts and Opportunities of a Salesforce org through simple-salesforce.

    Args:
        session: the org connection (logs in lazily on first use).
        conf: the ``[salesforce]`` settings.
        field_map: CRM field names; the shipped ``salesforce`` map by default.
        lookback_days: closed opportunities older than this are not read.
    """

    name: ClassVar[str] = "salesforce"
    #: Collections up to bulk_write_threshold records a call; a Bulk job above it.
    write_chunk_size = 50_000
    #: writes use their own clients per thread; logins and counters are locked.
    thread_safe_writes = True

    def __init__(
        self,
        session: Session,
        conf: SalesforceSettings,
        field_map: FieldMap | None = None,
        *,
        lookback_days: int = 730,
    ):
        self.session = session
        self.conf = conf
        self.field_map = field_map or load_field_map(conf.field_map)
        self.lookback_days = lookback_days
        self.stats = ConnectorStats()
        self.api = Api(
            session, self.stats, max_retries=conf.max_retries, share=conf.api_budget_share
        )
        self.api.tool_fields = frozenset(self.field_map.icp_names())
        self.reader = Reader(
            self.api,
            bulk_threshold=conf.bulk_read_threshold,
            poll_s=conf.bulk_poll_s,
            bulk_timeout_s=conf.bulk_timeout_s,
        )
        self.writer = Writer(
            self.api,
            self.field_map.account.object,
            self.field_map.icp,
            bulk_threshold=conf.bulk_write_threshold,
            concurrency=conf.write_concurrency,
            lock_retries=conf.lock_retries,
            poll_s=conf.bulk_poll_s,
            bulk_timeout_s=conf.bulk_timeout_s,
        )
        self._user_id: str | None = None
        self._unavailable: dict[str, str] | None = None
        #: the accounts' read the engine makes after the deals (see ``will_read_account_batches``)
        self._next_since: tuple[datetime | None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SalesforceConnector:
        """Build from the ``[salesforce]`` settings (no network until first use)."""
        conf = SPEC.section(settings)
        return cls(
            Session(conf),
            conf,
            load_field_map(conf.field_map),
            lookback_days=settings.sync.lookback_days,
        )

    # -- reading -------------------------------------------------------------------------

    def unavailable_fields(self) -> dict[str, str]:
        """Canonical field (``signals.<name>`` for a signal) -> the field map's Account field
        this org does not have; read by describe once. Those fields are not queried: their
        criteria are not scorable, and the run goes on."""
        if self._unavailable is None:
            account = self.field_map.account
            obj = account.object
            describe = self.api.call("describe", lambda c: getattr(c, obj).describe())
            present = {f["name"] for f in describe["fields"]}
            wanted = {
                **{k: v for k, v in account.fields.items() if k != "id"},
                **{f"signals.{k}": v for k, v in account.signals.items()},
            }
            self._unavailable = {
                key: name for key, name in wanted.items() if "." not in name and name not in present
            }
        return self._unavailable

    def _account_fields(self) -> list[str]:
        account = self.field_map.account
        icp = [self.field_map.icp[k] for k in ICP_RAW_KEYS if k in self.field_map.icp]
        absent = set(self.unavailable_fields().values())
        names = [n for n in account.crm_names() if n not in absent]
        return list(dict.fromkeys([*names, *icp]))

    def _batch_maker(self, normaliser: Normaliser) -> Callable[[Page], AccountBatch]:
        """Page -> clean accounts, each field's column renamed to its canonical key once
        per page (the field map's names looked up once)."""
        account = self.field_map.account
        icp = [(ICP_RAW_KEYS[key], name) for key, name in self.field_map.icp.items()]
        names = [*account.fields.items(), *icp]  # a later name for the same key wins
        signals = dict(account.signals)

        def batch(page: Page) -> AccountBatch:
            columns: dict[str, Sequence[Any]] = {}
            for key, name in names:
                values = page.column(name)
                if values is not None:
                    columns[key] = values
                elif key in columns:
                    del columns[key]
            if "id" not in columns:
                columns["id"] = [None] * page.size
            held = page.present(signals) if signals else None
            return accounts_from_columns(normaliser, columns, held)

        return batch

    def _account_batches(
        self, queries: Iterable[str], *, allow_bulk: bool
    ) -> Iterator[AccountBatch]:
        normaliser = Normaliser(self.stats, self.field_map.vocabularies)
        obj = self.field_map.account.object
        batch = self._batch_maker(normaliser)
        for query in queries:
            for accounts in self.reader.pages(obj, query, batch, allow_bulk=allow_bulk):
                if len(accounts):  # the page is gone: only its batch is held while read
                    yield accounts

    def read_account_batches(self, since: datetime | None = None) -> Iterator[AccountBatch]:
        """Accounts (``SystemModstamp >= since`` when given) with their current ICP values,
        a page of query results at a time."""
        obj = self.field_map.account.object
        query = soql.accounts(obj, self._account_fields(), since)
        return self._account_batches([query], allow_bulk=True)

    def will_read_account_batches(self, since: datetime | None) -> None:
        """The engine's next read is ``read_account_batches(since)``, after the deals: the
        deals' read opens it (describe, its first page, its Bulk job) once the deals' first
        page is in, when the API budget covers the rest of both reads, so the org runs the
        query job while the deals are read."""
        self._next_since = (since,)

    def _open_accounts(self, deals: Any, since: datetime | None) -> None:
        """After the deals' first page (nothing in flight): open the accounts' read ahead,
        keeping the calls for the deals' other pages."""
        size = len(deals["records"])
        rest = 0 if deals["done"] or not size else int(deals["totalSize"]) - size
        reserve = math.ceil(rest / size) if rest > 0 else 0
        budget = self.api.budget
        # describe (once) and the accounts' first page, besides the deals' other pages
        if budget.allowance() is None or budget.would_exceed(reserve + 2):
            return
        obj = self.field_map.account.object
        query = soql.accounts(obj, self._account_fields(), since)
        self.reader.open(obj, query, reserve=reserve)

    def read_account_batches_by_id(self, ids: Collection[str]) -> Iterator[AccountBatch]:
        """The named accounts, 200 ids a query, a page at a time."""
        obj = self.field_map.account.object
        queries = (
            soql.accounts_by_id(obj, self._account_fields(), part)
            for part in chunks(sorted(ids), ID_CHUNK)
        )
        return self._account_batches(queries, allow_bulk=False)

    def read_accounts(self, since: datetime | None = None) -> Iterator[Account]:
        """Accounts (``SystemModstamp >= since`` when given) with their current ICP values."""
        return chain.from_iterable(self.read_account_batches(since))

    def read_accounts_by_id(self, ids: Collection[str]) -> Iterator[Account]:
        """The named accounts, 200 ids a query."""
        return chain.from_iterable(self.read_account_batches_by_id(ids))

    def read_opportunity_batches(self, since: datetime | None = None) -> Iterator[OpportunityBatch]:
        """Open opportunities and those closed within the look-back (modified at or after
        ``since`` when given: the SOQL filters on ``SystemModstamp``), a page of query
        results at a time."""
        normaliser = Normaliser(self.stats, self.field_map.vocabularies)
        opp = self.field_map.opportunity
        closed_since = (datetime.now(UTC) - timedelta(days=self.lookback_days)).date()
        query = soql.opportunities(opp.object, opp.crm_names(), closed_since, since)
        names = list(opp.fields.items())

        def batch(page: Page) -> OpportunityBatch:
            columns: dict[str, Sequence[Any]] = {}
            for key, name in names:
                values = page.column(name)
                if values is not None:
                    columns[key] = values
            if "id" not in columns:
                columns["id"] = [None] * page.size
            return opportunities_from_columns(normaliser, columns)

        ahead, self._next_since = self._next_since, None  # for this read of the deals only

        def open_accounts(page: Any) -> None:
            if ahead is not None:
                self._open_accounts(page, ahead[0])

        for deals in self.reader.pages(opp.object, query, batch, then=open_accounts):
            if len(deals):  # the page is gone: only its batch is held while read
                yield deals

    def read_opportunities(self, since: datetime | None = None) -> Iterator[Opportunity]:
        """Open opportunities and those closed within the look-back (modified at or after
        ``since`` when given): :meth:`read_opportunity_batches`, a deal at a time."""
        return chain.from_iterable(self.read_opportunity_batches(since))

    # -- writing, setup --------------------------------------------------------------------

    def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
        """Write ICP values (Collections, or one Bulk job above ``bulk_write_threshold``)."""
        return self.writer.write(updates)

    def write_scores_held(
        self, updates: Sequence[ScoreUpdate], wanted: threading.Event
    ) -> WriteReport:
        """:meth:`write_scores`, a Bulk job's first poll held until ``wanted`` is set (the
        engine waits for the outcome): a job that ends meanwhile is seen with one poll."""
        return self.writer.write(updates, wanted)

    def _identity(self) -> None:
        """Learn the running user and org: from the login's identity URL when it gave one
        (client credentials), else from ``/oauth2/userinfo`` (one call)."""
        self.session.client()
        if self.session.user_id is None or self.session.org_id is None:
            info = self.api.call("userinfo", lambda c: c.oauth2("userinfo")) or {}
            self.session.user_id = self.session.user_id or str(info.get("user_id") or "")
            self.session.org_id = self.session.org_id or str(info.get("organization_id") or "")

    def user_id(self) -> str:
        """The running user's id (from the token response or ``/oauth2/userinfo``)."""
        if self._user_id is None:
            self._identity()
            self._user_id = self.session.user_id or ""
        return self._user_id

    def org_id(self) -> str:
        """The organization id (from the token response or ``/oauth2/userinfo``).

        Raises:
            ConnectorError: the org did not say its id.
        """
        if self.session.org_id is None:
            self._identity()
        if not self.session.org_id:
            raise ConnectorError("salesforce: /oauth2/userinfo named no organization_id")
        return self.session.org_id

    def _layouts(self) -> Layouts:
        obj, icp = self.field_map.account.object, self.field_map.icp
        return Layouts(self.api, obj, icp, self.conf.layout_section, self.conf.layouts)

    def _views(self) -> ListViews:
        return ListViews(self.api, self.field_map.account.object, self.field_map.icp)

    def _report(self) -> Report:
        obj, icp = self.field_map.account.object, self.field_map.icp
        return Report(self.api, obj, icp, self.conf.report_folder, self.user_id)

    def ensure_fields(self, *, dry_run: bool) -> list[PlanStep]:
        """Create the missing fields, picklist values and permission sets, then what reps
        see: the page-layout section, list views and report; idempotent."""
        installer = Installer(
            self.api, self.field_map.account.object, self.field_map.icp, self.user_id
        )
        steps = installer.ensure(dry_run=dry_run)
        steps += self._layouts().ensure(dry_run=dry_run)
        steps += self._views().ensure(dry_run=dry_run)
        steps += self._report().ensure(dry_run=dry_run)
        return steps

    def uninstall(self, *, dry_run: bool, keep_fields: bool) -> list[PlanStep]:
        """Remove what install created (layout sections, list views, report, permission
        sets and, unless ``keep_fields``, the fields); run history is not the CRM's."""
        uninstaller = Uninstaller(
            self.api,
            self.field_map.account.object,
            self.field_map.icp,
            self._layouts(),
            self._views(),
            self._report(),
        )
        return uninstaller.remove(dry_run=dry_run, keep_fields=keep_fields)

    @classmethod
    def emit_metadata(cls, settings: Settings, folder: Path) -> list[Path]:
        """Write a Salesforce DX project of everything install creates (no org, no login)."""
        conf = settings.salesforce
        field_map = load_field_map(conf.field_map)
        return emit_project(
            folder,
            field_map.account.object,
            field_map.icp,
            api_version=conf.api_version,
            section=conf.layout_section,
        )

    def rep_view(self) -> list[str]:
        """What a rep sees: the layout section and the accounts per tier."""
        return rep_view(self._layouts(), self._report())

    def preflight(self) -> list[Check]:
        """Auth, API version, fields, permission sets and budget, one line each."""
        checks = run_checks(
            self.api,
            self.field_map.account.object,
            self.field_map.icp,
            self.field_map.account.crm_names(),
            self.conf.auth,
            self.conf.api_version,
            self.user_id,
        )
        if not all(c.ok for c in checks[:2]):
            return checks  # no login or no API version: nothing else can be checked
        return checks + visibility_checks(self._layouts(), self._views(), self._report())

    def flush(self) -> None:
        """After the writes: raise the credentials refusal that halted them, if any.

        The writer reports what it wrote before the org refused the session and the login
        (counted by the run), then the run ends ``failed`` with the refusal, not
        ``stopped``: it will not resume by itself.
        """
        refusal, self.writer.refusal = self.writer.refusal, None
        if refusal is not None:
            raise refusal

    def close(self) -> None:
        """Stop the reader and writer threads and close the HTTP sessions."""
        self.reader.close()
        self.writer.close()
        self.session.close()
