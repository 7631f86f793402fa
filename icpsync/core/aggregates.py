"""Per-account figures from opportunities: won/lost/open counts, open pipeline, last win,
median sales cycle of won deals. Pure; streams a batch of deals at a time
(:meth:`AggregateBuilder.add_batch`, or :meth:`~AggregateBuilder.add_rows` for deals as
tuples, such as rows of a stored copy), with ``add`` the batch-of-one view."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from statistics import median

from icpsync.core.batch import OpportunityBatch
from icpsync.core.model import Aggregates, Opportunity

#: The deal fields an aggregate is made of, in the order :meth:`AggregateBuilder.add_rows`
#: takes them.
ROW_FIELDS = ("account_id", "is_closed", "is_won", "amount", "created", "closed")

#: One deal as :data:`ROW_FIELDS`.
DealRow = tuple[str | None, object, object, float | None, date | None, date | None]


@dataclass(slots=True)
class _Tally:
    won: int = 0
    lost: int = 0
    open: int = 0
    pipeline: float = 0.0
    last_win: date | None = None
    cycles: list[int] = field(default_factory=list)


class AggregateBuilder:
    """Accumulates opportunities into per-account :class:`Aggregates`."""

    def __init__(self) -> None:
        self._tallies: dict[str, _Tally] = {}

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
                tally = tallies[account_id] = _Tally()
            if not is_closed:
                tally.open += 1
                tally.pipeline += amount or 0.0
            elif is_won:
                tally.won += 1
                if closed is not None:
                    if tally.last_win is None or closed > tally.last_win:
                        tally.last_win = closed
                    if created is not None and closed >= created:
                        tally.cycles.append((closed - created).days)
            else:
                tally.lost += 1

    def result(self) -> dict[str, Aggregates]:
        """Aggregates per account id."""
        return {
            account_id: Aggregates(
                won_deals=t.won,
                lost_deals=t.lost,
                open_deals=t.open,
                open_pipeline=round(t.pipeline, 2),
                last_win=t.last_win,
                sales_cycle_days=float(median(t.cycles)) if t.cycles else None,
            )
            for account_id, t in self._tallies.items()
        }
