"""A connector's deals as :class:`~icpsync.core.batch.OpportunityBatch` es: the one read path.

A connector that reads a page of deals into columns says so with
``read_opportunity_batches``; one that streams :class:`~icpsync.core.model.Opportunity`
objects (a third-party connector written before batches) is read through
``read_opportunities`` and batched here, so the sync reads batches either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING

from icpsync.core.batch import OpportunityBatch
from icpsync.core.model import Opportunity

if TYPE_CHECKING:
    from icpsync.engine.protocol import Connector

#: deals per batch made from a connector that streams deals one at a time.
STREAM_BATCH = 2048


def opportunity_batches(
    connector: Connector, since: datetime | None = None, *, size: int = STREAM_BATCH
) -> Iterator[OpportunityBatch]:
    """The deals :meth:`~icpsync.engine.protocol.Connector.read_opportunities` streams
    (modified at or after ``since`` when given), a batch at a time, in order.

    ``size``: deals per batch made from a connector that streams ``Opportunity`` objects (a
    batch reader's batches are passed on as it makes them).
    """
    read = getattr(connector, "read_opportunity_batches", None)
    if callable(read):
        return iter(read(since))
    return _batched(connector.read_opportunities(since), size)


def _batched(deals: Iterable[Opportunity], size: int) -> Iterator[OpportunityBatch]:
    stream = iter(deals)
    while chunk := list(islice(stream, size)):
        yield OpportunityBatch.from_opportunities(chunk)
