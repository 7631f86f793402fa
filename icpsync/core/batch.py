"""Accounts, deals and scores a batch at a time, column by column.

This is the one path from a CRM's rows to its writes: a connector reads a page of records
into an :class:`AccountBatch` (one list per :class:`~icpsync.core.model.Account` field), the
scorer turns it into a :class:`ScoreBatch` (one shared outcome per distinct combination of
values), and the sync diffs, counts and writes from the columns. No per-account object is
built on the way unless someone asks for one: :meth:`AccountBatch.account` and
``ScoreBatch[i]`` are views that build an ``Account`` or an ``IcpScore`` on demand, which is
what the per-account APIs (``Scorer.score``, ``Normaliser.account``, ``read_accounts``) are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from operator import attrgetter, itemgetter
from typing import Any

from icpsync.core.model import Account, CurrentIcp, IcpScore, Opportunity

#: Every Account field, in the class's order: the columns of an AccountBatch.
ACCOUNT_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Account))
#: Every Opportunity field, in the class's order: the columns of an OpportunityBatch.
OPPORTUNITY_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Opportunity))
#: Every IcpScore field after ``account_id``: the items of one outcome.
OUTCOME_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(IcpScore))[1:]
_NO_CURRENT = CurrentIcp()


@dataclasses.dataclass(slots=True)
class AccountBatch:
    """Clean accounts as columns: ``columns[field][i]`` is account ``i``'s ``field``.

    Args:
        columns: every name in :data:`ACCOUNT_FIELDS` -> one value per account.
        rows: each account's address for reports (a file's row number), when it has one.
    """

    columns: dict[str, list[Any]]
    rows: list[int | None] | None = None

    @property
    def ids(self) -> list[str]:
        """The accounts' ids, in order."""
        return self.columns["id"]

    @property
    def current(self) -> list[CurrentIcp]:
        """The ICP values the CRM holds for each account."""
        return self.columns["current"]

    def __len__(self) -> int:
        return len(self.columns["id"])

    def account(self, position: int) -> Account:
        """Account ``position`` as an :class:`Account`."""
        columns = self.columns
        return Account(*[columns[name][position] for name in ACCOUNT_FIELDS])

    def __iter__(self) -> Iterator[Account]:
        return map(self.account, range(len(self)))

    def take(self, positions: Sequence[int]) -> AccountBatch:
        """The accounts at ``positions``, in that order."""
        return AccountBatch(*_taken(self.columns, self.rows, positions))

    def with_current(self, changes: dict[int, CurrentIcp]) -> AccountBatch:
        """The same accounts, ``current`` replaced at the given positions."""
        if not changes:
            return self
        current = list(self.current)
        for position, value in changes.items():
            current[position] = value
        return AccountBatch({**self.columns, "current": current}, self.rows)

    @classmethod
    def from_accounts(cls, accounts: Iterable[Account]) -> AccountBatch:
        """The batch holding ``accounts`` (the adapter for per-account readers)."""
        listed = accounts if isinstance(accounts, list | tuple) else list(accounts)
        return cls({name: list(map(attrgetter(name), listed)) for name in ACCOUNT_FIELDS})

    @classmethod
    def empty(cls) -> AccountBatch:
        """A batch of no accounts."""
        return cls({name: [] for name in ACCOUNT_FIELDS})


@dataclasses.dataclass(slots=True)
class OpportunityBatch:
    """Clean deals as columns: ``columns[field][i]`` is deal ``i``'s ``field``.

    Args:
        columns: every name in :data:`OPPORTUNITY_FIELDS` -> one value per deal.
        rows: each deal's address for reports (a file's row number), when it has one.
    """

    columns: dict[str, list[Any]]
    rows: list[int | None] | None = None

    @property
    def ids(self) -> list[str]:
        """The deals' ids, in order."""
        return self.columns["id"]

    def __len__(self) -> int:
        return len(self.columns["id"])

    def opportunity(self, position: int) -> Opportunity:
        """Deal ``position`` as an :class:`Opportunity`."""
        columns = self.columns
        return Opportunity(*[columns[name][position] for name in OPPORTUNITY_FIELDS])

    def __iter__(self) -> Iterator[Opportunity]:
        return map(Opportunity, *[self.columns[name] for name in OPPORTUNITY_FIELDS])

    def take(self, positions: Sequence[int]) -> OpportunityBatch:
        """The deals at ``positions``, in that order."""
        if len(positions) == len(self) and list(positions) == list(range(len(self))):
            return self
        return OpportunityBatch(*_taken(self.columns, self.rows, positions))

    def sliced(self, start: int, stop: int) -> OpportunityBatch:
        """Deals ``start`` to ``stop`` (exclusive); the batch itself when that is all of it."""
        if start == 0 and stop >= len(self):
            return self
        rows = self.rows[start:stop] if self.rows is not None else None
        return OpportunityBatch({k: v[start:stop] for k, v in self.columns.items()}, rows)

    @classmethod
    def from_opportunities(cls, opportunities: Iterable[Opportunity]) -> OpportunityBatch:
        """The batch holding ``opportunities`` (the adapter for per-deal readers)."""
        listed = opportunities if isinstance(opportunities, list | tuple) else list(opportunities)
        return cls({name: list(map(attrgetter(name), listed)) for name in OPPORTUNITY_FIELDS})


@dataclasses.dataclass(slots=True)
class ScoreBatch:
    """What the scorer says about a batch: ids, and per account an outcome tuple.

    An outcome holds the :class:`IcpScore` fields after ``account_id``
    (:data:`OUTCOME_FIELDS`), and is shared by every account with the same values, so a
    batch costs one list of references, not one object per account.
    """

    ids: list[str]
    outcomes: list[tuple[Any, ...]]

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, position: int) -> IcpScore:
        return IcpScore(self.ids[position], *self.outcomes[position])

    def __iter__(self) -> Iterator[IcpScore]:
        return map(self.__getitem__, range(len(self)))

    def column(self, name: str) -> list[Any]:
        """One IcpScore field for every account (``score``, ``tier``, ``reasons_short`` ...)."""
        if name == "account_id":
            return list(self.ids)
        return list(map(itemgetter(OUTCOME_FIELDS.index(name)), self.outcomes))

    def set(self, position: int, result: IcpScore) -> None:
        """Replace account ``position``'s result (a rep's kept edit rewrites its reasons)."""
        if result.account_id != self.ids[position]:
            raise ValueError(f"{result.account_id} is not account {self.ids[position]}")
        self.outcomes[position] = tuple(getattr(result, name) for name in OUTCOME_FIELDS)


def _taken(
    columns: dict[str, list[Any]], rows: list[int | None] | None, positions: Sequence[int]
) -> tuple[dict[str, list[Any]], list[int | None] | None]:
    """The columns and rows of the records at ``positions``, in that order."""
    pick = itemgetter(*positions) if positions else None

    def taken(values: list[Any]) -> list[Any]:
        if pick is None:
            return []
        got = pick(values)
        return list(got) if len(positions) > 1 else [got]

    return {k: taken(v) for k, v in columns.items()}, taken(rows) if rows is not None else None


def no_current(size: int) -> list[CurrentIcp]:
    """``current`` for accounts the CRM holds no ICP values for."""
    return [_NO_CURRENT] * size
