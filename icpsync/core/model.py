"""The canonical model: what every connector reads into and the scorer reads from.

Values here are already clean: a bad CRM value has become ``None`` (and was counted by
the connector that read it). Only connectors know CRM field names.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from itertools import repeat
from types import MappingProxyType
from typing import Any

TIER_1 = "Tier 1"
TIER_2 = "Tier 2"
TIER_3 = "Tier 3"
NOT_ICP = "Not ICP"
ANTI_ICP = "Anti-ICP"
#: Tiers from best to worst; ``Anti-ICP`` is below every other tier.
TIERS: tuple[str, ...] = (TIER_1, TIER_2, TIER_3, NOT_ICP, ANTI_ICP)

#: The canonical columns of an accounts file and of an opportunities file.
ACCOUNT_COLUMNS = (
    "id",
    "name",
    "domain",
    "industry",
    "employees",
    "annual_revenue",
    "country",
    "region",
    "tech_stack",
)
OPPORTUNITY_COLUMNS = (
    "id",
    "account_id",
    "stage",
    "is_closed",
    "is_won",
    "amount",
    "created",
    "closed",
)

_EMPTY: Mapping[str, object] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class CurrentIcp:
    """The ICP values the CRM holds now for one account (all optional)."""

    score: int | None = None
    tier: str | None = None
    flags: tuple[str, ...] = ()
    reasons: str | None = None
    profile_version: str | None = None
    scored_at: datetime | None = None
    override: str | None = None


@dataclass(frozen=True, slots=True)
class Account:
    """One B2B account in canonical form."""

    id: str
    name: str | None = None
    domain: str | None = None
    industry: str | None = None
    employees: int | None = None
    annual_revenue: float | None = None
    country: str | None = None
    region: str | None = None
    tech_stack: frozenset[str] = frozenset()
    signals: Mapping[str, object] = field(default_factory=lambda: _EMPTY)
    last_modified: datetime | None = None
    current: CurrentIcp = CurrentIcp()


@dataclass(frozen=True, slots=True)
class Opportunity:
    """One deal in canonical form."""

    id: str
    account_id: str | None
    stage: str | None = None
    is_closed: bool = False
    is_won: bool = False
    amount: float | None = None
    created: date | None = None
    closed: date | None = None
    last_modified: datetime | None = None


@dataclass(frozen=True, slots=True)
class Aggregates:
    """Per-account figures derived from its opportunities."""

    won_deals: int = 0
    lost_deals: int = 0
    open_deals: int = 0
    open_pipeline: float = 0.0
    last_win: date | None = None
    sales_cycle_days: float | None = None

    @property
    def customer(self) -> bool:
        """True once the account has won at least one deal."""
        return self.won_deals > 0


NO_AGGREGATES = Aggregates()


@dataclass(frozen=True, slots=True)
class Contribution:
    """One line of *why*: points earned (or lost) and a label a rep can read."""

    points: int
    label: str

    def __str__(self) -> str:
        return f"{self.points:+d} {self.label}"


@dataclass(frozen=True, slots=True)
class IcpScore:
    """What the scorer says about one account."""

    account_id: str
    score: int
    tier: str
    flags: tuple[str, ...]
    contributions: tuple[Contribution, ...]
    missing: tuple[str, ...]
    profile_version: str
    computed_tier: str
    overridden: bool = False
    reasons: str = ""
    reasons_short: str = ""


@dataclass(frozen=True, slots=True)
class ScoreUpdate:
    """The ICP values to write to one account, and what it held before."""

    account_id: str
    score: int
    tier: str
    flags: tuple[str, ...]
    reasons: str
    profile_version: str
    scored_at: datetime
    previous: CurrentIcp = CurrentIcp()
    #: a tier to write to the override field too (a rep's direct edit kept as the override);
    #: None leaves the override field alone, as every other write does.
    override: str | None = None


#: Every ScoreUpdate field, in the class's order, and the setter of its slot.
UPDATE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ScoreUpdate))
_UPDATE_SETTERS = tuple(getattr(ScoreUpdate, name).__set__ for name in UPDATE_FIELDS)


def score_updates(columns: Sequence[Iterable[Any]], count: int) -> list[ScoreUpdate]:
    """``count`` updates from one iterable per field (:data:`UPDATE_FIELDS`' order), set a
    field at a time by ``map`` in C: what ``ScoreUpdate(...)`` does (it only assigns) one
    update at a time, with a Python call per field."""
    made = list(map(object.__new__, repeat(ScoreUpdate, count)))
    for setter, column in zip(_UPDATE_SETTERS, columns, strict=True):
        deque(map(setter, made, column), maxlen=0)
    return made


@dataclass(frozen=True, slots=True)
class RecordFailure:
    """One record a write could not apply."""

    account_id: str
    reason: str
    retriable: bool = True


@dataclass(slots=True)
class WriteReport:
    """The outcome of ``write_scores``: what was tried, applied and refused."""

    attempted: int = 0
    updated: int = 0
    failures: list[RecordFailure] = field(default_factory=list)
    stopped: str | None = None

    def merge(self, other: WriteReport) -> None:
        """Add ``other`` into this report."""
        self.attempted += other.attempted
        self.updated += other.updated
        self.failures.extend(other.failures)
        self.stopped = self.stopped or other.stopped


@dataclass(slots=True)
class ConnectorStats:
    """Counters a connector keeps while it runs: API calls, bad values, skipped rows, and
    records the reader could not place (id -> why; the run becomes ``partial`` and they are
    quarantined until a full run or ``sync --retry-failed`` reads them)."""

    api_calls: Counter[str] = field(default_factory=Counter)
    bad_values: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    unplaced: dict[str, str] = field(default_factory=dict)
