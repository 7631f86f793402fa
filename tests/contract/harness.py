"""One interface over every connector under test: :class:`CrmUnderTest`.

A harness starts its CRM (a sandbox server, or files for the file connector) seeded from
the shared synthetic data, points icpsync at it (``Settings`` and a config file), and
observes it from the outside: writes counted by the CRM itself, the tool's values as the
CRM holds them, and the changes a person makes (an edit, an override, a validation rule
that refuses a record). The contract tests use nothing else, so a fourth connector joins
the suite with one more implementation.

What a connector cannot do is said, not hidden: :attr:`CrmUnderTest.cannot` maps a
capability (:data:`REJECT_WRITES`...) to the reason it does not exist there, and a test
that needs it calls :func:`require`, which skips with that reason. Expectations that
differ by connector are attributes too (:attr:`CrmUnderTest.needs_install`).

To extend the suite: add the method to :class:`CrmUnderTest` and to each implementation
(or a capability to ``cannot`` where it makes no sense), then write the test once.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pytest
from click.testing import CliRunner, Result
from synthetic_files import write_synthetic

from icpsync.cli import cli
from icpsync.core.model import Account, Opportunity
from icpsync.core.synthetic import SyntheticData
from icpsync.engine.protocol import Check, Connector, PlanStep
from icpsync.engine.quarantine import list_failures
from icpsync.engine.registry import build_connector
from icpsync.engine.run_report import RunReport
from icpsync.engine.score_files import score_files
from icpsync.engine.settings import Settings
from icpsync.engine.state import StateStore
from icpsync.engine.sync import ACCOUNTS as ACCOUNTS_CURSOR
from icpsync.engine.sync import run_once

#: the seeded data every CRM holds: small, so a sandbox seeds in milliseconds.
ACCOUNTS = 120
OPPORTUNITIES = 360
SEED = 5
#: the first run's time; each run is one second later (scores change by the day).
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
#: settings every harness shares. Every seeded deal is read (score_files reads them all);
#: runs here are milliseconds apart, so the clock-skew allowance is taken out of the cursor
#: to see an increment alone.
SYNC = {"lookback_days": 3650, "cursor_overlap_s": 0}
#: capabilities a CRM may lack (:attr:`CrmUnderTest.cannot`).
REJECT_WRITES = "reject_writes"
WHOLE_BATCH_REJECTION = "whole_batch_rejection"
TRANSIENT_FAULTS = "transient_faults"
SPURIOUS_401 = "spurious_401"
REVOKE_ACCESS = "revoke_access"
API_BUDGET = "api_budget"


@dataclass(frozen=True)
class Held:
    """The tool's values one account holds in the CRM, in canonical form."""

    score: int | None = None
    tier: str | None = None
    flags: tuple[str, ...] = ()
    reasons: str | None = None
    profile_version: str | None = None


def split_flags(text: str | None) -> tuple[str, ...]:
    """``a;b`` as a sorted tuple (empty for no text)."""
    return tuple(sorted(f for f in (text or "").split(";") if f))


class CrmUnderTest(Protocol):
    """What the contract tests need from a connector and the CRM behind it."""

    #: the connector's registry name (``[sync] crm``).
    name: ClassVar[str]
    #: whether ``install`` creates anything (False: nothing to create, doctor passes as is).
    needs_install: ClassVar[bool]
    #: whether an incremental run reads an account whose tool fields a rep edited
    #: (False: only a full run finds the edit).
    edits_seen_by_incremental: ClassVar[bool]
    #: capabilities this CRM lacks, each with the reason (see :func:`require`).
    cannot: ClassVar[Mapping[str, str]]
    #: the seed the CRM was filled from.
    data: SyntheticData

    def start(self) -> None:
        """Start the CRM (seeded, nothing installed)."""

    def stop(self) -> None:
        """Stop the CRM and release what the harness holds."""

    def reset(self, state_dir: Path) -> None:
        """Back to the seed (installed fields stay), counts zero, a fresh state folder."""

    def close_state(self) -> None:
        """Close the state store the runs share (a test's end)."""

    def settings(self, **sync: Any) -> Settings:
        """Settings pointing at the CRM; keyword arguments go to ``[sync]``."""

    def write_config(self, path: Path) -> Path:
        """The same settings as a config file."""

    def connector(self) -> Connector:
        """A connector built through the registry from :meth:`settings`."""

    def sync(self, *, retry_failed: bool = False, **options: Any) -> RunReport:
        """One ``run_once`` with the harness's state store (options: full, dry_run...);
        ``retry_failed`` reads the quarantined records too (``sync --retry-failed``)."""

    def cursor(self) -> datetime | None:
        """The accounts cursor of the org the newest run read (None before it moved)."""

    def quarantined(self) -> dict[str, str]:
        """The records in the failures table of that org: id -> reason."""

    def install(self) -> list[PlanStep]:
        """``ensure_fields`` through the connector."""

    def doctor(self) -> list[Check]:
        """The connector's preflight checks."""

    def read(self) -> tuple[list[Account], list[Opportunity]]:
        """Every account and opportunity, as the connector reads them."""

    def expected(self, report: RunReport) -> dict[str, Held]:
        """What ``icpsync score`` makes of the seed at the run's time, by account id."""

    def cli(self, *args: str) -> Result:
        """``icpsync --config <this CRM's config> ARGS`` in-process (exit code, stdout...)."""

    def account_id(self, seed_id: str) -> str:
        """The CRM's id of a seeded account."""

    def opportunity_id(self, seed_id: str) -> str:
        """The CRM's id of a seeded opportunity."""

    def write_counts(self) -> Counter[str]:
        """Account writes the CRM accepted since the last reset, by account id."""

    def reset_counts(self) -> None:
        """Zero :meth:`write_counts` (and the CRM's request counters)."""

    def held(self) -> dict[str, Held]:
        """The tool's values every account holds, by account id."""

    def overrides(self) -> dict[str, str]:
        """The manual override tiers a person set, by account id."""

    def edit_accounts(self, n: int, seed: int) -> list[str]:
        """A person edits ``n`` accounts (employees, industry); returns their ids."""

    def set_override(self, account_id: str, tier: str) -> None:
        """A person sets the manual override tier of one account."""

    def reject_writes(self, ids: list[str]) -> None:
        """The CRM refuses every write of these accounts (a validation rule); ``[]`` lifts it."""

    def schema(self) -> frozenset[str]:
        """What ``install`` creates, as the CRM lists it (fields, permissions, groups)."""

    # -- left alone for a month: what an unattended schedule meets ---------------------

    def configure(self, **sync: Any) -> None:
        """``[sync]`` settings of the runs that follow (until :meth:`reset`)."""

    def runs(self) -> list[dict[str, Any]]:
        """``state.list_runs`` of this connector, newest first (each with org and status)."""

    def rep_sets_tier(self, account_id: str, tier: str) -> None:
        """A rep edits the tool's tier field of one account directly (not the override)."""

    def reject_whole_batch(self, on: bool) -> None:
        """One refused record makes the CRM reject the whole write request, nothing applied."""

    def inject_faults(self, rate: float) -> None:
        """Transient faults (5xx, 429s, lost responses, row locks...) on ``rate`` of the
        requests, from a fixed seed; 0 ends them."""

    def faults_injected(self) -> int:
        """Faults the CRM injected since :meth:`inject_faults`."""

    def spurious_401s(self, count: int) -> None:
        """Credentials that cannot be renewed, and ``count`` requests spread over the next
        run answered 401 although they are valid (each next request goes through)."""

    def revoke_access_after(self, writes: int) -> None:
        """Once the CRM accepted ``writes`` account writes, an admin revokes the tool's
        access: every later request is refused for good."""

    def budget(self, calls: int | None) -> None:
        """The next runs may spend ``calls`` API calls of the daily budget (None: lifted)."""

    def use_org(self, number: int) -> str:
        """Point the runs at org ``number`` (1 the seeded one; 2 another org, started,
        seeded alike and installed on first use) under the same state; its org id."""


class HarnessBase:
    """The parts every harness shares: settings, state, runs, the CLI, expected scores.

    Subclasses provide ``connection()`` (the settings data of their CRM) and the
    CRM-facing methods of :class:`CrmUnderTest`.
    """

    name: ClassVar[str]

    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.data = SyntheticData(accounts=ACCOUNTS, opportunities=OPPORTUNITIES, seed=SEED)
        self.state_dir = folder / "state"
        self._state: StateStore | None = None
        self._runs = 0
        self._org = ""
        #: ``[sync]`` and connector-section settings the test asked for (until reset).
        self._sync: dict[str, Any] = {}
        self._section: dict[str, Any] = {}

    def connection(self) -> dict[str, Any]:
        raise NotImplementedError

    def restore(self) -> None:
        raise NotImplementedError

    def reset_counts(self) -> None:
        raise NotImplementedError

    # -- settings and state ----------------------------------------------------------

    def _settings_data(self, **sync: Any) -> dict[str, Any]:
        data = self.connection()
        data[self.name] = {**data.get(self.name, {}), **self._section}
        data["sync"] = {**data.get("sync", {}), **SYNC, **self._sync, **sync}
        data["state"] = {"dir": str(self.state_dir)}
        return data

    def settings(self, **sync: Any) -> Settings:
        return Settings(**self._settings_data(**sync))

    def write_config(self, path: Path) -> Path:
        lines = []
        for section, values in self._settings_data().items():
            lines.append(f"[{section}]")
            lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    @property
    def state(self) -> StateStore:
        if self._state is None:
            self._state = StateStore(self.settings().state.database_url())
        return self._state

    def close_state(self) -> None:
        if self._state is not None:
            self._state.close()
            self._state = None

    def reset(self, state_dir: Path) -> None:
        self.close_state()
        self.state_dir = state_dir
        self._sync, self._section = {}, {}
        self.restore()
        self.reset_counts()

    def configure(self, **sync: Any) -> None:
        self._sync.update(sync)

    def runs(self) -> list[dict[str, Any]]:
        return self.state.list_runs(self.name)

    # -- through the connector -------------------------------------------------------

    def connector(self) -> Connector:
        return build_connector(self.settings())

    def sync(self, *, retry_failed: bool = False, **options: Any) -> RunReport:
        self._runs += 1
        now = NOW + timedelta(seconds=self._runs)
        report = run_once(
            self.settings(), state=self.state, now=now, retry_failed=retry_failed, **options
        )
        self._org = report.org or ""
        return report

    def _last_org(self) -> str:
        """The org of the newest run (one that raised included)."""
        runs = self.state.list_runs(self.name, limit=1)
        return (runs[0]["org"] or "") if runs else self._org

    def cursor(self) -> datetime | None:
        return self.state.cursor(self.name, ACCOUNTS_CURSOR, org=self._last_org())

    def quarantined(self) -> dict[str, str]:
        org = self._last_org()
        rows = list_failures(self.state.engine, self.name, org=org)
        return {r["record_id"]: r["reason"] for r in rows if r["org"] == (org or None)}

    def install(self) -> list[PlanStep]:
        connector = self.connector()
        try:
            return connector.ensure_fields(dry_run=False)
        finally:
            connector.close()

    def doctor(self) -> list[Check]:
        connector = self.connector()
        try:
            return connector.preflight()
        finally:
            connector.close()

    def read(self) -> tuple[list[Account], list[Opportunity]]:
        """Every account and opportunity, as the connector reads them."""
        connector = self.connector()
        try:
            return list(connector.read_accounts()), list(connector.read_opportunities())
        finally:
            connector.close()

    def cli(self, *args: str) -> Result:
        config = self.write_config(self.folder / "icpsync.toml")
        return CliRunner().invoke(cli, ["--config", str(config), *args])

    # -- what the seed says ----------------------------------------------------------

    def expected(self, report: RunReport) -> dict[str, Held]:
        """What ``icpsync score`` computes from the seed as canonical files, at the run's
        time, by this CRM's account ids: the values a run should leave in the CRM."""
        folder = self.folder / "expected"
        folder.mkdir(exist_ok=True)
        accounts, opportunities = write_synthetic(folder, ACCOUNTS, OPPORTUNITIES, SEED)
        out = folder / "scored.csv"
        profile = self.settings().active_profile()
        now = datetime.fromisoformat(report.started_at)
        score_files(accounts, opportunities, out, profile, now=now)
        return _read_scored(out, self.account_id)

    def account_id(self, seed_id: str) -> str:
        raise NotImplementedError


def _read_scored(path: Path, account_id: Callable[[str], str]) -> dict[str, Held]:
    """The rows ``score_files`` wrote, by the CRM's account id."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            account_id(row["id"]): Held(
                int(row["icp_score"]),
                row["icp_tier"],
                split_flags(row["icp_anti_flags"]),
                row["icp_reasons"] or None,
                row["icp_profile_version"],
            )
            for row in csv.DictReader(handle)
        }


def require(crm: CrmUnderTest, capability: str) -> None:
    """Skip the test, saying why, when ``crm`` cannot do ``capability``."""
    reason = crm.cannot.get(capability)
    if reason is not None:
        pytest.skip(f"{crm.name}: {reason}")


def seed_index(seed_id: str) -> int:
    """The index of a seeded record (``A0000012`` -> 12, ``O00000012`` -> 12)."""
    return int(seed_id[1:])
