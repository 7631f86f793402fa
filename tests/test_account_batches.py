"""The one read path: a connector's own batches when it has them, else its ``read_accounts``
batched; and batches cut and joined to the sync's size without changing the accounts."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import UTC, datetime

import pytest

from icpsync.core.batch import AccountBatch
from icpsync.core.model import Account, CurrentIcp
from icpsync.engine.account_batches import account_batches, account_batches_by_id, resized

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ACCOUNTS = [
    Account(f"A{i:03d}", name=f"n{i}", employees=i, last_modified=T0, current=CurrentIcp(score=i))
    for i in range(23)
]


class Streams:
    """A connector written before batches: accounts one at a time."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def read_accounts(self, since: datetime | None = None) -> Iterator[Account]:
        self.calls.append(("read_accounts", since))
        return iter(ACCOUNTS)

    def read_accounts_by_id(self, ids: Collection[str]) -> Iterator[Account]:
        self.calls.append(("read_accounts_by_id", tuple(ids)))
        return (a for a in ACCOUNTS if a.id in set(ids))


class Batches(Streams):
    """A connector reading pages into columns (and the by-id form through streaming)."""

    def read_account_batches(self, since: datetime | None = None) -> Iterator[AccountBatch]:
        self.calls.append(("read_account_batches", since))
        yield AccountBatch.from_accounts(ACCOUNTS[:10])
        yield AccountBatch.from_accounts(ACCOUNTS[10:])


def test_a_streaming_connector_is_read_in_batches_of_the_size_asked() -> None:
    connector = Streams()
    batches = list(account_batches(connector, T0, size=10))  # type: ignore[arg-type]
    assert [len(b) for b in batches] == [10, 10, 3]
    assert [a for b in batches for a in b] == ACCOUNTS
    assert connector.calls == [("read_accounts", T0)]
    by_id = list(account_batches_by_id(connector, ["A004", "A020"]))  # type: ignore[arg-type]
    assert [a.id for b in by_id for a in b] == ["A004", "A020"]


def test_a_batch_reader_is_read_with_its_own_method_and_batches() -> None:
    connector = Batches()
    batches = list(account_batches(connector, T0, size=5))  # type: ignore[arg-type]
    assert [len(b) for b in batches] == [10, 13]  # its own batches, as they come
    assert [a for b in batches for a in b] == ACCOUNTS
    assert connector.calls == [("read_account_batches", T0)]
    # no by-id batch reader: the by-id stream is batched
    assert [len(b) for b in account_batches_by_id(connector, ["A001"])] == [1]  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [1, 4, 10, 23, 500])
@pytest.mark.parametrize("cuts", [[23], [1] * 23, [3, 0, 7, 13], [10, 10, 3]])
def test_resized_batches_hold_the_same_accounts_in_the_same_order(
    size: int, cuts: list[int]
) -> None:
    pieces, start = [], 0
    for n in cuts:
        piece = AccountBatch.from_accounts(ACCOUNTS[start : start + n])
        if n % 2:  # some pieces carry row numbers, some do not
            piece.rows = list(range(start + 2, start + n + 2))
        pieces.append(piece)
        start += n
    out = list(resized(pieces, size))
    assert all(len(b) == size for b in out[:-1]) and 0 < len(out[-1]) <= size
    assert [a for b in out for a in b] == ACCOUNTS
    rows = [r for b in out for r in (b.rows or [None] * len(b))]
    expected = [r for p in pieces for r in (p.rows or [None] * len(p))]
    assert rows == expected
