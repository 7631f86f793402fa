"""The aggregates of a full run, from the deals it has just read.

A full run reloads the deal copy from every deal it reads, then looks each batch of
accounts up in that copy. The same aggregates are the copy's deals tallied in the order
they were stored (:class:`~icpsync.core.aggregates.AggregateBuilder`, the one way they are
made), so the reload tallies its deals as it stores them and the run's lookups are
answered from :class:`DealFigures` instead of a query per batch.

They are held by account, not by deal: up to :data:`SMALL` accounts as the aggregates
themselves; beyond, as sorted NumPy columns (about 38 bytes an account holding a deal for
an 18-character id: the id's bytes, the counts in the narrowest integers that hold them,
the pipeline, the last win's day and the median cycle). An id is matched by its bytes,
never by a hash, so an account gets the aggregates of its own deals or none.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from icpsync.core.aggregates import AggregateBuilder, from_columns
from icpsync.core.model import Aggregates

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

#: accounts holding a deal up to which the aggregates are kept as objects (NumPy beyond).
SMALL = 65_536
#: ends every stored id's bytes: NumPy pads fixed-width bytes with NUL and ignores trailing
#: ones, so without it an id ending in NUL would match the same id without.
_END = b"\x01"


@lru_cache(maxsize=8192)
def _day(ordinal: int) -> date | None:
    """A last win from its day number (0: none; remembered: wins share days)."""
    return date.fromordinal(ordinal) if ordinal else None


def _key(account_id: str) -> bytes:
    return account_id.encode("utf-8", "surrogatepass") + _END


class DealFigures:
    """Every account's aggregates of one complete read of the deals.

    Args:
        tallied: the deals, counted in the order they were stored.
    """

    def __init__(self, tallied: AggregateBuilder):
        self._few: dict[str, Aggregates] | None = None
        if len(tallied) <= SMALL:
            self._few = tallied.result()
            return
        import numpy as np

        ids, (won, lost, opened, pipeline, last_win, cycle) = tallied.take_columns()
        count = len(ids)
        width = max(map(len, map(_key, ids)))
        keys = np.fromiter(map(_key, ids), dtype=f"S{width}", count=count)
        order = np.argsort(keys)
        counts = np.array([won, lost, opened])
        self._keys: npt.NDArray[np.bytes_] = keys[order]
        self._counts: npt.NDArray[Any] = counts.astype(np.min_scalar_type(counts.max()))[:, order]
        self._pipeline: npt.NDArray[np.float64] = np.array(pipeline, dtype=np.float64)[order]
        days = (d.toordinal() if d is not None else 0 for d in last_win)
        self._last_win: npt.NDArray[np.int32] = np.fromiter(days, np.int32, count)[order]
        # float32 holds every median exactly: whole or half days, under 2**23 days
        medians = (np.nan if c is None else c for c in cycle)
        self._cycle: npt.NDArray[np.float32] = np.fromiter(medians, np.float32, count)[order]

    def get(self, account_ids: Sequence[str]) -> dict[str, Aggregates]:
        """The aggregates of those of ``account_ids`` that hold a deal."""
        few = self._few
        if few is not None:
            return {a: found for a in account_ids if (found := few.get(a)) is not None}
        if not account_ids:
            return {}
        import numpy as np

        keys = self._keys
        width = keys.dtype.itemsize
        wanted = [_key(a) for a in account_ids]
        if max(map(len, wanted)) > width:  # longer than every stored id: none of them
            wanted = [k if len(k) <= width else b"" for k in wanted]
        looked = np.array(wanted, dtype=keys.dtype)
        at = keys.searchsorted(looked)
        at[at == len(keys)] = 0
        hits = np.flatnonzero(keys[at] == looked)
        if not len(hits):
            return {}
        held = at[hits]
        won, lost, opened = self._counts[:, held].tolist()
        cycles = self._cycle[held].tolist()
        columns = (
            won,
            lost,
            opened,
            self._pipeline[held].tolist(),
            map(_day, self._last_win[held].tolist()),
            [None if c != c else c for c in cycles],  # NaN: no cycle
        )
        named = [account_ids[i] for i in hits.tolist()]
        return dict(zip(named, from_columns(columns, len(named)), strict=True))
