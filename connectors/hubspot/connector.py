"""The HubSpot connector: companies and deals in, ICP values out, through hubspot-api-client."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import chain
from typing import TYPE_CHECKING, ClassVar

from icpsync.connectors.hubspot.account import AccountInfoApi, portal_id
from icpsync.connectors.hubspot.client import HubSpotApi
from icpsync.connectors.hubspot.doctor import missing_properties, preflight
from icpsync.connectors.hubspot.install import ensure_fields, existing_properties
from icpsync.connectors.hubspot.lists import TierLists
from icpsync.connectors.hubspot.reader import Reader
from icpsync.connectors.hubspot.settings import SPEC
from icpsync.connectors.hubspot.visibility import rep_view, uninstall, visibility_checks
from icpsync.connectors.hubspot.writer import Writer
from icpsync.core.batch import AccountBatch, OpportunityBatch
from icpsync.core.errors import AuthError, ConfigError, ConnectorError
from icpsync.core.model import Account, ConnectorStats, Opportunity, ScoreUpdate, WriteReport
from icpsync.engine.field_map import FieldMap, load_field_map
from icpsync.engine.protocol import Check, PlanStep

if TYPE_CHECKING:
    from icpsync.engine.settings import Settings


class HubSpotConnector:
    """A HubSpot portal's companies (accounts) and deals (opportunities).

    Args:
        api: the client wrapper (tests build it against the sandbox).
        field_map: property names and vocabularies; the shipped ``hubspot`` map by default.
        lookback_days: closed deals older than this are not read.
        mirror_native_tier: also write ``hs_ideal_customer_profile``.
        write_concurrency: batch updates in flight at once.
        rate_limit_per_10s: what the client allows itself (doctor compares it with HubSpot's).
    """

    name: ClassVar[str] = "hubspot"
    #: how doctor writes "a property of yours" when it shows how to map one.
    field_example: ClassVar[str] = "your_property"
    #: updates per ``write_scores`` call: 20 batch updates of 100.
    write_chunk_size = 2000
    #: ``write_scores`` may run in a thread while the run reads on: the client's limiter,
    #: counters and budget are locked, and reads and writes use separate API objects.
    thread_safe_writes = True

    def __init__(
        self,
        api: HubSpotApi,
        field_map: FieldMap | None = None,
        *,
        lookback_days: int = 730,
        mirror_native_tier: bool = False,
        write_concurrency: int = 1,
        rate_limit_per_10s: int = 100,
    ):
        self.api = api
        self.field_map = field_map or load_field_map("hubspot")
        self.stats = ConnectorStats(api_calls=api.calls)
        self.mirror_native_tier = mirror_native_tier
        self.rate_limit_per_10s = rate_limit_per_10s
        self.reader = Reader(
            api, self.field_map, self.stats, lookback_days, mirror_native_tier=mirror_native_tier
        )
        self.writer = Writer(
            api,
            self.field_map,
            mirror_native_tier=mirror_native_tier,
            concurrency=write_concurrency,
        )
        self._portal_id: str | None = None
        self._unavailable: dict[str, str] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> HubSpotConnector:
        """Build from the ``[hubspot]`` settings."""
        conf = SPEC.section(settings)
        if conf.access_token is None or not conf.access_token.get_secret_value():
            raise ConfigError(
                "expected a private-app access token (set ICPSYNC_HUBSPOT__ACCESS_TOKEN)",
                source=settings.source,
                key="hubspot.access_token",
            )
        return cls(
            HubSpotApi.from_settings(conf),
            load_field_map(conf.field_map),
            lookback_days=settings.sync.lookback_days,
            mirror_native_tier=conf.mirror_native_tier,
            write_concurrency=conf.write_concurrency,
            rate_limit_per_10s=conf.rate_limit_per_10s,
        )

    def preflight(self) -> list[Check]:
        """Token, properties and their types, deal access, rate-limit headroom."""
        checks = preflight(
            self.api,
            self.field_map,
            rate_limit_per_10s=self.rate_limit_per_10s,
            mirror_native_tier=self.mirror_native_tier,
            seen=self._properties_seen,
        )
        if not checks[0].ok:
            return checks  # no token or no portal: nothing else can be checked
        return checks + visibility_checks(self.api, self.field_map)

    def org_id(self) -> str:
        """The portal id: ``GET /account-info/v3/details`` (one call, then kept); when the
        token may not call it (403), the private-app token's own info (``hubId``).

        Raises:
            AuthError: HubSpot refused both (the token itself is refused).
            ConnectorError: HubSpot did not say which portal the token belongs to.
        """
        if self._portal_id is None:
            info = AccountInfoApi(self.api.companies.api_client)
            try:
                found = portal_id(self.api.call("account_info", info.details, raw=True))
            except AuthError as refused:
                try:
                    answer = self.api.call("token_info", info.token_info, raw=True)
                except ConnectorError:
                    raise refused from None
                found = portal_id(answer, "hubId")
            if not found:
                raise ConnectorError(
                    "HubSpot did not say which portal the token belongs to "
                    "(GET /account-info/v3/details named no portalId)"
                )
            self._portal_id = found
        return self._portal_id

    def unavailable_fields(self) -> dict[str, str]:
        """Canonical field (``signals.<name>`` for a signal) -> the field map's company
        property this portal does not have; read once (``GET /crm/v3/properties/companies``,
        one call). Those properties are not requested: their criteria are not scorable, and
        the run goes on."""
        if self._unavailable is None:
            self._properties_seen(existing_properties(self.api))
        return self._unavailable or {}

    def _properties_seen(self, present: Mapping[str, object]) -> None:
        """Note which mapped properties the portal lacks; stop requesting them."""
        self._unavailable = missing_properties(self.field_map, present)
        self.reader.leave_out(self._unavailable.values())

    def read_account_batches(self, since: datetime | None = None) -> Iterator[AccountBatch]:
        """Every company, or (``since``) those modified at or after it via search, in
        batches of clean accounts (pages joined up to ``reader.JOIN``)."""
        self.unavailable_fields()
        return self.reader.company_batches(since)

    def read_account_batches_by_id(self, ids: Collection[str]) -> Iterator[AccountBatch]:
        """The named companies, in id order (batch reads of 100, joined)."""
        self.unavailable_fields()
        return self.reader.company_batches_by_id(sorted(ids))

    def read_accounts(self, since: datetime | None = None) -> Iterator[Account]:
        """:meth:`read_account_batches`, an account at a time."""
        return chain.from_iterable(self.read_account_batches(since))

    def read_accounts_by_id(self, ids: Collection[str]) -> Iterator[Account]:
        """:meth:`read_account_batches_by_id`, an account at a time."""
        return chain.from_iterable(self.read_account_batches_by_id(ids))

    def read_opportunity_batches(self, since: datetime | None = None) -> Iterator[OpportunityBatch]:
        """Open deals and deals closed within the look-back (modified since ``since``):
        in batches of clean deals (pages joined up to ``reader.JOIN``)."""
        return self.reader.deal_batches(since)

    def read_opportunities(self, since: datetime | None = None) -> Iterator[Opportunity]:
        """:meth:`read_opportunity_batches`, a deal at a time."""
        return chain.from_iterable(self.read_opportunity_batches(since))

    def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
        """Batch updates of 100; per-record failures; a clean stop on the daily limit."""
        return self.writer.write(updates)

    def ensure_fields(self, *, dry_run: bool) -> list[PlanStep]:
        """The property group and the ICP properties in order, then the tier lists
        (idempotent)."""
        steps = ensure_fields(self.api, self.field_map, dry_run=dry_run)
        lists = TierLists(self.api, self.field_map.icp["tier"])
        return steps + lists.ensure(dry_run=dry_run)

    def uninstall(self, *, dry_run: bool, keep_fields: bool) -> list[PlanStep]:
        """Remove the lists and, unless ``keep_fields``, the properties and their group."""
        return uninstall(self.api, self.field_map, dry_run=dry_run, keep_fields=keep_fields)

    def rep_view(self) -> list[str]:
        """What a rep sees: the property group and the companies per tier list."""
        return rep_view(self.api, self.field_map)

    def close(self) -> None:
        """Close the client's connection pools."""
        self.api.close()
