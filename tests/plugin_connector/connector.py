"""The memo connector: reads companies and deals from a memo store, writes ICP values back."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from icpsync.core.errors import ConfigError
from icpsync.core.model import (
    Account,
    ConnectorStats,
    Opportunity,
    RecordFailure,
    ScoreUpdate,
    WriteReport,
)
from icpsync.core.normalise import ICP_RAW_KEYS, Normaliser
from icpsync.engine.field_map import FieldMap, load_field_map
from icpsync.engine.protocol import Check, PlanStep
from plugin_connector.settings import SPEC
from plugin_connector.store import MemoCrm

if TYPE_CHECKING:
    from icpsync.engine.settings import Settings


def _rename(record: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    return {canonical: record.get(crm) for canonical, crm in names.items()}


class MemoConnector:
    """Companies (accounts) and deals (opportunities) of a memo store."""

    name: ClassVar[str] = "memo"

    def __init__(self, crm: MemoCrm, field_map: FieldMap, *, write_batch: int = 40):
        self.crm = crm
        self.field_map = field_map
        self.write_chunk_size = write_batch
        self.stats = ConnectorStats()

    @classmethod
    def from_settings(cls, settings: Settings) -> MemoConnector:
        """Build from the ``[memo]`` section."""
        conf = SPEC.section(settings)
        if conf.store is None:
            raise ConfigError(
                "expected the path of the memo store", source=settings.source, key="memo.store"
            )
        if conf.api_key is None:
            raise ConfigError(
                "expected an API key (set ICPSYNC_MEMO__API_KEY)",
                source=settings.source,
                key="memo.api_key",
            )
        crm = MemoCrm(conf.store, conf.api_key.get_secret_value())
        return cls(crm, load_field_map(conf.field_map), write_batch=conf.write_batch)

    # -- reading -------------------------------------------------------------------------

    def _load(self, kind: str) -> dict[str, Any]:
        self.stats.api_calls[kind] += 1
        return self.crm.load()

    def _account(self, normaliser: Normaliser, record: Mapping[str, Any]) -> Account | None:
        raw = _rename(record, self.field_map.account.fields)
        for key, name in self.field_map.icp.items():
            raw[ICP_RAW_KEYS[key]] = record.get(name)
        return normaliser.account(raw)

    def read_accounts(self, since: datetime | None = None) -> Iterator[Account]:
        """Every company (modified at or after ``since`` when given)."""
        normaliser = Normaliser(self.stats, self.field_map.vocabularies)
        for record in self._load("read_accounts")["companies"]:
            account = self._account(normaliser, record)
            if account is None:
                continue
            if since is not None and account.last_modified and account.last_modified < since:
                continue
            yield account

    def read_accounts_by_id(self, ids: Collection[str]) -> Iterator[Account]:
        """The named companies."""
        wanted = set(ids)
        normaliser = Normaliser(self.stats, self.field_map.vocabularies)
        for record in self._load("read_accounts_by_id")["companies"]:
            if str(record.get(self.field_map.account.fields["id"])) in wanted:
                account = self._account(normaliser, record)
                if account is not None:
                    yield account

    def read_opportunities(self, since: datetime | None = None) -> Iterator[Opportunity]:
        """Every deal (modified at or after ``since`` when given)."""
        normaliser = Normaliser(self.stats, self.field_map.vocabularies)
        for record in self._load("read_opportunities")["deals"]:
            opp = normaliser.opportunity(_rename(record, self.field_map.opportunity.fields))
            if opp is None:
                continue
            if since is not None and opp.last_modified and opp.last_modified < since:
                continue
            yield opp

    # -- writing, install, doctor -----------------------------------------------------------

    def _written_fields(self) -> list[str]:
        return [name for key, name in self.field_map.icp.items() if key != "override"]

    def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
        """Set the ICP fields of each company; one save per call."""
        report = WriteReport(attempted=len(updates))
        data = self._load("write")
        missing = [f for f in self._written_fields() if f not in data["fields"]]
        if missing:
            reason = f"fields not installed: {', '.join(missing)} (run icpsync install)"
            report.failures = [RecordFailure(u.account_id, reason) for u in updates]
            return report
        id_field = self.field_map.account.fields["id"]
        companies = {str(c.get(id_field)): c for c in data["companies"]}
        icp = self.field_map.icp
        for update in updates:
            company = companies.get(update.account_id)
            if company is None:
                report.failures.append(
                    RecordFailure(update.account_id, "no such company", retriable=False)
                )
                continue
            company[icp["score"]] = update.score
            company[icp["tier"]] = update.tier
            company[icp["flags"]] = ";".join(update.flags)
            company[icp["reasons"]] = update.reasons
            company[icp["profile_version"]] = update.profile_version
            company[icp["scored_at"]] = update.scored_at.isoformat()
            company[self.field_map.account.fields["last_modified"]] = self.crm.now()
            report.updated += 1
        self.crm.save(data)
        return report

    def ensure_fields(self, *, dry_run: bool) -> list[PlanStep]:
        """Create the ICP fields the store lacks (the override too: people set it)."""
        data = self._load("install")
        steps = []
        for name in self.field_map.icp_names():
            if name in data["fields"]:
                steps.append(PlanStep("none", name, "memo text field", done=True))
                continue
            steps.append(PlanStep("create", name, "memo text field", done=not dry_run))
            if not dry_run:
                data["fields"].append(name)
        if not dry_run and any(s.action == "create" for s in steps):
            self.crm.save(data)
        return steps

    def preflight(self) -> list[Check]:
        """The key is accepted and every ICP field exists."""
        try:
            data = self._load("doctor")
        except Exception as exc:
            return [Check("API key", False, str(exc), "set ICPSYNC_MEMO__API_KEY")]
        missing = [n for n in self.field_map.icp_names() if n not in data["fields"]]
        return [
            Check("API key", True, "accepted"),
            Check(
                "ICP fields",
                not missing,
                f"missing: {', '.join(missing)}" if missing else "all present",
                "run icpsync install --crm memo",
            ),
        ]

    def close(self) -> None:
        """Nothing held open: every write is saved as it happens."""
