"""What a connector is: the one interface the sync engine, the CLI and the tests use.

A connector is a small class satisfying :class:`Connector`. It is built with an injected
vendor client (tests point that client at a local sandbox) and a separate
``from_settings`` builds the real one. Connectors are found by name through the
``icpsync.connectors`` entry point group (see :mod:`icpsync.engine.registry`); the module an
entry point names declares ``SPEC``, a :class:`~icpsync.engine.connector_spec.ConnectorSpec`:
the connector's settings section, its secrets, its path-valued keys, its field map and its
sandbox (a :class:`Sandbox`), in one place.

Accounts are read a batch of columns at a time. A connector reading pages of records
(Bulk CSV, a JSON page) should satisfy :class:`ReadsBatches` too: ``read_account_batches``
yields :class:`~icpsync.core.batch.AccountBatch` es (one list per ``Account`` field) with no
``Account`` object built per record, and is what the sync and ``icpsync score`` read with;
``read_account_batches_by_id`` is its by-id form. Without them the engine batches
``read_accounts`` itself (:mod:`icpsync.engine.account_batches`): a connector written before
batches keeps working, only slower. Both forms must yield the same accounts in the same order.
Deals likewise: ``read_opportunity_batches`` (:class:`ReadsOpportunityBatches`) yields
:class:`~icpsync.core.batch.OpportunityBatch` es, and without it the engine batches
``read_opportunities`` (:mod:`icpsync.engine.opportunity_batches`). A sync reads the deals,
then ``read_account_batches(cursor)``; before the deals it calls the connector's
``will_read_account_batches(cursor)`` if it has one, so the connector may begin that read
(a Bulk query job the CRM runs meanwhile) while the deals are read.

A connector may set the class attribute ``thread_safe_writes = True`` when
``write_scores`` can run in another thread while the run reads on; the engine then
overlaps one chunk's writes with the next accounts' reads (``[sync] overlap_writes``).
Such a connector may also define ``write_scores_held(updates, wanted)``, which the engine
then calls instead: ``wanted`` (a ``threading.Event``) is set once the engine waits for the
outcome (always, at the latest when the run ends or fails), so what only the outcome needs
(polling a Bulk job) may wait for it. A subclass or wrapper that replaces ``write_scores``
alone is called through its ``write_scores``, not bypassed.

A connector that buffers its writes (the file connector) defines ``flush()``: the engine
calls it after the last write and before the run is recorded and the cursor moves, so the
cursor never vouches for writes that are not durable. A reader that meets a record it
cannot place (an incremental search result without a timestamp) adds its id and why to
``stats.unplaced``: the run becomes ``partial`` and the record is quarantined.
``write_scores`` marks each :class:`~icpsync.core.model.RecordFailure` ``retriable`` or not:
a record refused for good is quarantined and does not hold the cursor back.

A CRM connector may also satisfy :class:`Uninstalls` (take out what ``ensure_fields``
created); :func:`uninstaller` says clearly when a connector cannot. Two more optional
methods are looked up by name: ``rep_view() -> list[str]`` (what a rep sees, for
``icpsync demo``) and the classmethod ``emit_metadata(settings, folder) -> list[Path]``
(``install --emit-metadata``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from icpsync.core.batch import AccountBatch, OpportunityBatch
from icpsync.core.errors import ConfigError
from icpsync.core.model import Account, ConnectorStats, Opportunity, ScoreUpdate, WriteReport

if TYPE_CHECKING:
    from icpsync.engine.settings import Settings


class Sandbox(Protocol):
    """A local server speaking a CRM's API (``icpsync sandbox``, ``icpsync demo``, tests).

    Built with keyword arguments ``accounts``, ``opportunities``, ``seed``, ``port``,
    ``latency_ms``, ``fault_rate`` (and any of its own, e.g. ``rate_limit``).
    """

    @property
    def url(self) -> str:
        """Where it listens, once started."""
        ...

    def start(self) -> None:
        """Listen (on a free port unless one was given)."""
        ...

    def stop(self) -> None:
        """Stop listening."""
        ...

    def settings_overrides(self) -> dict[str, Any]:
        """Settings data (``Settings(**data)``) pointing icpsync at this sandbox."""
        ...

    def write_config(self, path: Path) -> Path:
        """Write an icpsync config file pointing at this sandbox."""
        ...


@dataclass(frozen=True, slots=True)
class Check:
    """One line of ``doctor``/preflight: passed or not, what was seen, how to fix it."""

    name: str
    ok: bool
    detail: str = ""
    fix: str = ""


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One thing ``install`` creates or changes (or would, with ``--dry-run``)."""

    action: str
    target: str
    detail: str = ""
    done: bool = False


@runtime_checkable
class Connector(Protocol):
    """A CRM (or file) the engine reads accounts from and writes ICP values to."""

    name: ClassVar[str]
    #: counters: API calls by kind, bad values by canonical field, skipped records.
    stats: ConnectorStats
    #: how many updates the engine hands to one ``write_scores`` call.
    write_chunk_size: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Connector:
        """Build the connector with a real client from the settings."""
        ...

    def preflight(self) -> list[Check]:
        """Auth, fields present and writable, budget left; cheap and side-effect free."""
        ...

    def org_id(self) -> str:
        """The CRM identity this connector reads and writes (Salesforce organization id,
        HubSpot portal id, a file's resolved path): the state a run keeps belongs to it.

        Costs at most one API call per connector (the answer is kept). A third-party
        connector without it still runs: its state is kept as one org's.
        """
        ...

    def read_accounts(self, since: datetime | None = None) -> Iterator[Account]:
        """Stream accounts (modified at or after ``since`` when given) with current ICP values."""
        ...

    def read_accounts_by_id(self, ids: Collection[str]) -> Iterator[Account]:
        """Stream the named accounts (used when only their opportunities changed)."""
        ...

    def read_opportunities(self, since: datetime | None = None) -> Iterator[Opportunity]:
        """Stream open opportunities and those closed within the look-back."""
        ...

    def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
        """Write ICP values, batching as the API allows; never raises for one record."""
        ...

    def ensure_fields(self, *, dry_run: bool) -> list[PlanStep]:
        """Create the tool's fields that are missing; idempotent."""
        ...

    def close(self) -> None:
        """Release sessions and files."""
        ...


@runtime_checkable
class ReadsBatches(Protocol):
    """Preferred: a connector that reads accounts as batches of columns (see the module
    docstring). The engine reads through
    :func:`~icpsync.engine.account_batches.account_batches`, which looks each method up on its
    own and falls back on ``read_accounts`` / ``read_accounts_by_id`` for one that is absent."""

    def read_account_batches(self, since: datetime | None = None) -> Iterator[AccountBatch]:
        """The accounts :meth:`Connector.read_accounts` streams, a batch at a time, in order."""
        ...

    def read_account_batches_by_id(self, ids: Collection[str]) -> Iterator[AccountBatch]:
        """The accounts :meth:`Connector.read_accounts_by_id` streams, a batch at a time."""
        ...


@runtime_checkable
class ReadsOpportunityBatches(Protocol):
    """Preferred: a connector that reads deals as batches of columns. The engine reads
    through :func:`~icpsync.engine.opportunity_batches.opportunity_batches`, which falls back
    on ``read_opportunities`` when this method is absent."""

    def read_opportunity_batches(self, since: datetime | None = None) -> Iterator[OpportunityBatch]:
        """The deals :meth:`Connector.read_opportunities` streams, a batch at a time, in order."""
        ...


@runtime_checkable
class Uninstalls(Protocol):
    """Optional: a connector that can remove what its install created."""

    def uninstall(self, *, dry_run: bool, keep_fields: bool) -> list[PlanStep]:
        """Remove what install created, and only that (fields too unless ``keep_fields``);
        with ``dry_run`` only plan, saying how many records hold a value in the fields."""
        ...


def uninstaller(connector: object, crm: str) -> Uninstalls:
    """``connector`` as an :class:`Uninstalls`.

    Raises:
        ConfigError: the connector has nothing to uninstall.
    """
    if not isinstance(connector, Uninstalls):
        raise ConfigError(
            f"the {crm} connector has no uninstall (it creates nothing in a CRM)",
            source="--crm",
        )
    return connector
