"""Per-account figures from opportunities: won/lost/open counts, open pipeline, last win,
median sales cycle of won deals. Pure; streams (one ``add`` per opportunity)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from statistics import median

from icpsync.core.model import Aggregates, Opportunity


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
        if opp.account_id is None:
            return
        tally = self._tallies.get(opp.account_id)
        if tally is None:
            tally = self._tallies[opp.account_id] = _Tally()
        if not opp.is_closed:
            tally.open += 1
            tally.pipeline += opp.amount or 0.0
        elif opp.is_won:
            tally.won += 1
            if opp.closed is not None:
                if tally.last_win is None or opp.closed > tally.last_win:
                    tally.last_win = opp.closed
                if opp.created is not None and opp.closed >= opp.created:
                    tally.cycles.append((opp.closed - opp.created).days)
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
