"""A connector's accounts as :class:`~icpsync.core.batch.AccountBatch` es: the one read path.

A connector that reads a page of records into columns says so with ``read_account_batches``
(and ``read_account_batches_by_id``); one that streams :class:`~icpsync.core.model.Account`
objects (a third-party connector written before batches) is read through ``read_accounts``
and batched here, so every caller (the sync, ``icpsync score``) reads batches either way.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING, Any

from icpsync.core.batch import AccountBatch
from icpsync.core.model import Account

if TYPE_CHECKING:
    from icpsync.engine.protocol import Connector

#: accounts per batch made from a connector that streams accounts one at a time.
STREAM_BATCH = 2048


def account_batches(
    connector: Connector, since: datetime | None = None, *, size: int = STREAM_BATCH
) -> Iterator[AccountBatch]:
    """The accounts modified at or after ``since`` (all without it), a batch at a time.

    ``size``: accounts per batch made from a connector that streams ``Account`` objects (a
    batch reader's batches are passed on as it makes them).
    """
    read = getattr(connector, "read_account_batches", None)
    if callable(read):
        return iter(read(since))
    return _batched(connector.read_accounts(since), size)


def account_batches_by_id(
    connector: Connector, ids: Collection[str], *, size: int = STREAM_BATCH
) -> Iterator[AccountBatch]:
    """The named accounts, a batch at a time (``size`` as in :func:`account_batches`)."""
    read = getattr(connector, "read_account_batches_by_id", None)
    if callable(read):
        return iter(read(ids))
    return _batched(connector.read_accounts_by_id(ids), size)


def _batched(accounts: Iterable[Account], size: int) -> Iterator[AccountBatch]:
    stream = iter(accounts)
    while chunk := list(islice(stream, size)):
        yield AccountBatch.from_accounts(chunk)


def resized(batches: Iterable[AccountBatch], size: int) -> Iterator[AccountBatch]:
    """The same accounts in the same order, in batches of ``size`` (the last may be smaller).

    Batches are cut and joined column by column; a batch that already has the size passes
    through untouched.
    """
    waiting: list[AccountBatch] = []
    held = 0
    for batch in batches:
        if not held and len(batch) == size:
            yield batch
            continue
        start = 0
        while start < len(batch):
            take = min(size - held, len(batch) - start)
            waiting.append(_slice(batch, start, start + take))
            held += take
            start += take
            if held == size:
                yield _joined(waiting)
                waiting, held = [], 0
    if held:
        yield _joined(waiting)


def _slice(batch: AccountBatch, start: int, stop: int) -> AccountBatch:
    if start == 0 and stop == len(batch):
        return batch
    rows = batch.rows[start:stop] if batch.rows is not None else None
    return AccountBatch({k: v[start:stop] for k, v in batch.columns.items()}, rows)


def _joined(batches: list[AccountBatch]) -> AccountBatch:
    if len(batches) == 1:
        return batches[0]
    columns: dict[str, list[Any]] = {name: [] for name in batches[0].columns}
    for batch in batches:
        for name, values in batch.columns.items():
            columns[name].extend(values)
    rows: list[int | None] | None = None
    if any(b.rows is not None for b in batches):
        rows = []
        for b in batches:
            rows.extend(b.rows if b.rows is not None else [None] * len(b))
    return AccountBatch(columns, rows)
