"""Per-account figures from opportunities: won/lost/open counts, open pipeline, last win,
median sales cycle of won deals. Pure; streams a batch of deals at a time
(:meth:`AggregateBuilder.add_batch`, or :meth:`~AggregateBuilder.add_rows` for deals as
tuples, such as rows of a stored copy), with ``add`` the batch-of-one view."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import date
from itertools import repeat
from statistics import median
from typing import Any

from icpsync.core.batch import OpportunityBatch
from icpsync.core.model import Aggregates, Opportunity

#: The deal fields an aggregate is made of, in the order :meth:`AggregateBuilder.add_rows`
#: takes them.
ROW_FIELDS = ("account_id", "is_closed", "is_won", "amount", "created", "closed")

#: One deal as :data:`ROW_FIELDS`.
DealRow = tuple[str | None, object, object, float | None, date | None, date | None]


#: Every Aggregates field, in the class's order, and the setter of its slot.
_FIELDS = tuple(f.name for f in fields(Aggregates))
_SETTERS = tuple(getattr(Aggregates, name).__set__ for name in _FIELDS)
# A tally is a list: won, lost, open, pipeline, last win, cycles (None until one is known).
_WON, _LOST, _OPEN, _PIPELINE, _LAST_WIN, _CYCLES = range(6)


class AggregateBuilder:
    """Accumulates opportunities into per-account :class:`Aggregates`."""

    def __init__(self) -> None:
        self._tallies: dict[str, list[Any]] = {}

    def add(self, opp: Opportunity) -> None:
        """Count one opportunity (ignored when it names no account)."""
        self.add_rows(
            ((opp.account_id, opp.is_closed, opp.is_won, opp.amount, opp.created, opp.closed),)
        )

    def add_batch(self, batch: OpportunityBatch) -> None:
        """Count a batch of deals, in order (those that name no account are ignored)."""
        columns = batch.columns
        self.add_rows(zip(*[columns[name] for name in ROW_FIELDS], strict=True))

    def add_rows(self, rows: Iterable[DealRow]) -> None:
        """Count deals given as tuples of :data:`ROW_FIELDS` values, in order (a deal that
        names no account is ignored; ``is_closed``/``is_won`` are read as truth values)."""
        tallies = self._tallies
        for account_id, is_closed, is_won, amount, created, closed in rows:
            if account_id is None:
                continue
            tally = tallies.get(account_id)
            if tally is None:
                tally = tallies[account_id] = [0, 0, 0, 0.0, None, None]
            if not is_closed:
                tally[_OPEN] += 1
                tally[_PIPELINE] += amount or 0.0
            elif is_won:
                tally[_WON] += 1
                if closed is not None:
                    last = tally[_LAST_WIN]
                    if last is None or closed > last:
                        tally[_LAST_WIN] = closed
                    if created is not None and closed >= created:
                        days = (closed - created).days
                        if tally[_CYCLES] is None:
                            tally[_CYCLES] = [days]
                        else:
                            tally[_CYCLES].append(days)
            else:
                tally[_LOST] += 1

    def __len__(self) -> int:
        """How many accounts the deals counted so far belong to."""
        return len(self._tallies)

    def columns(self) -> tuple[list[str], list[Sequence[Any]]]:
        """The account ids and, per :class:`Aggregates` field (in the class's order), one
        value per account: what :meth:`result` makes its aggregates of."""
        tallies = self._tallies
        if not tallies:
            return [], [() for _ in _FIELDS]
        won, lost, opened, pipeline, last_win, cycles = zip(*tallies.values(), strict=True)
        pipelines = list(map(round, pipeline, repeat(2)))
        return list(tallies), [won, lost, opened, pipelines, last_win, list(map(_median, cycles))]

    def take_columns(self) -> tuple[list[str], list[Sequence[Any]]]:
        """:meth:`columns`, and the tallies forgotten (a large count is not held twice)."""
        taken = self.columns()
        self._tallies = {}
        return taken

    def result(self) -> dict[str, Aggregates]:
        """Aggregates per account id (made a field at a time, as the constructor would)."""
        ids, columns = self.columns()
        return dict(zip(ids, from_columns(columns, len(ids)), strict=True))


def from_columns(columns: Sequence[Iterable[Any]], count: int) -> list[Aggregates]:
    """``count`` :class:`Aggregates` of one column of values per field (in the class's
    order), each set a field at a time: equal to what the constructor makes, faster."""
    made = list(map(object.__new__, repeat(Aggregates, count)))
    for setter, column in zip(_SETTERS, columns, strict=True):
        deque(map(setter, made, column), maxlen=0)
    return made


def _median(cycles: list[int] | None) -> float | None:
    """The median sales cycle, in days (None without a cycle)."""
    if cycles is None:
        return None
    return float(cycles[0]) if len(cycles) == 1 else float(median(cycles))
