"""Deals read a batch of columns at a time: a connector's own batches when it has them,
else its ``read_opportunities`` batched; and the deal step of a sync (aggregates, the
state store's copy, touched accounts, recent wins, the checks every ``OPPORTUNITY_CHECK``
deals) the same whatever the batches' sizes, as when the deals came one at a time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from icpsync.core.aggregates import AggregateBuilder
from icpsync.core.batch import OpportunityBatch
from icpsync.core.model import Opportunity
from icpsync.engine import opportunity_cache, sync
from icpsync.engine.bulk import ids_in, rows_by_ids
from icpsync.engine.opportunity_batches import opportunity_batches
from icpsync.engine.opportunity_cache import OpportunityCache
from icpsync.engine.run_report import RunReport
from icpsync.engine.schema import dirty_accounts
from icpsync.engine.schema import opportunities as deal_table
from icpsync.engine.state import StateStore

T0 = datetime(2026, 6, 1, tzinfo=UTC)
RECENT = date(2026, 3, 1)


def _deal(i: int, *, account: str | None = None, amount: float | None = None) -> Opportunity:
    closed = i % 3 != 0
    return Opportunity(
        id=f"D{i:03d}",
        account_id=account if account is not None else (None if i % 11 == 5 else f"A{i % 7}"),
        stage="Closed Won" if closed and i % 2 else None,
        is_closed=closed,
        is_won=closed and i % 2 == 1,
        amount=amount if amount is not None else (None if i % 5 == 0 else 1000.1 * i + 0.07),
        created=date(2025, 1 + i % 12, 1 + i % 27) if i % 13 else None,
        closed=date(2026, 1 + i % 5, 1 + i % 20) if closed else None,
        last_modified=T0 + timedelta(days=i % 9 - 4) if i % 17 else None,
    )


DEALS = [_deal(i) for i in range(47)]


def _cut(deals: list[Opportunity], sizes: list[int]) -> list[OpportunityBatch]:
    out, start = [], 0
    for size in sizes:
        out.append(OpportunityBatch.from_opportunities(deals[start : start + size]))
        start += size
    assert start == len(deals)
    return out


class Streams:
    """A connector written before deal batches: deals one at a time."""

    name = "streams"

    def __init__(self, deals: list[Opportunity]) -> None:
        self.deals = deals
        self.calls: list[tuple[str, object]] = []

    def read_opportunities(self, since: datetime | None = None) -> Iterator[Opportunity]:
        self.calls.append(("read_opportunities", since))
        return iter(self.deals)


class Batches(Streams):
    """A connector reading pages of deals into columns."""

    def __init__(self, deals: list[Opportunity], sizes: list[int]) -> None:
        super().__init__(deals)
        self.sizes = sizes

    def read_opportunity_batches(self, since: datetime | None = None) -> Iterator[OpportunityBatch]:
        self.calls.append(("read_opportunity_batches", since))
        return iter(_cut(self.deals, self.sizes))


def test_a_streaming_connector_is_read_in_batches_of_the_size_asked() -> None:
    connector = Streams(DEALS)
    batches = list(opportunity_batches(connector, T0, size=20))  # type: ignore[arg-type]
    assert [len(b) for b in batches] == [20, 20, 7]
    assert [d for b in batches for d in b] == DEALS
    assert connector.calls == [("read_opportunities", T0)]


def test_a_batch_reader_is_read_with_its_own_method_and_batches() -> None:
    connector = Batches(DEALS, [30, 0, 17])
    batches = list(opportunity_batches(connector, None, size=5))  # type: ignore[arg-type]
    assert [len(b) for b in batches] == [30, 0, 17]  # its own batches, as they come
    assert [d for b in batches for d in b] == DEALS
    assert connector.calls == [("read_opportunity_batches", None)]


def test_a_batch_is_its_deals_sliced_and_taken() -> None:
    batch = OpportunityBatch.from_opportunities(DEALS[:10])
    batch.rows = list(range(2, 12))
    assert list(batch.sliced(3, 6)) == DEALS[3:6] and batch.sliced(3, 6).rows == [5, 6, 7]
    assert batch.sliced(0, 10) is batch and batch.take(range(10)) is batch
    taken = batch.take([7, 1])
    assert list(taken) == [DEALS[7], DEALS[1]] and taken.rows == [9, 3]
    assert len(batch.take([])) == 0 and batch.opportunity(4) == DEALS[4]


def test_aggregates_of_a_batch_are_those_of_its_deals_one_at_a_time() -> None:
    one_by_one = AggregateBuilder()
    for deal in DEALS:
        one_by_one.add(deal)
    batched = AggregateBuilder()
    for batch in _cut(DEALS, [1, 20, 0, 26]):
        batched.add_batch(batch)
    expected = one_by_one.result()
    assert batched.result() == expected
    # none of it vacuous: wins, losses, open pipeline and cycles are all there
    assert sum(a.won_deals for a in expected.values()) > 5
    assert sum(a.lost_deals for a in expected.values()) > 5
    assert any(a.open_pipeline for a in expected.values())
    assert any(a.sales_cycle_days is not None for a in expected.values())
    assert None not in expected


def _per_deal(
    deals: list[Opportunity],
    report: RunReport,
    check: int,
    checkpoint: object,
    cursor: datetime | None,
) -> tuple[AggregateBuilder, set[str], Counter[str]]:
    """The specification of the deal step: one deal at a time, checked every ``check``."""
    builder, touched, wins = AggregateBuilder(), set(), Counter[str]()
    for deal in deals:
        report.opportunities_read += 1
        if report.opportunities_read % check == 0:
            checkpoint()  # type: ignore[operator]
            if report.stopped:
                break
        builder.add(deal)
        if deal.account_id is None:
            continue
        if cursor is not None and deal.last_modified is not None and deal.last_modified >= cursor:
            touched.add(deal.account_id)
        if deal.is_won and deal.closed is not None and deal.closed >= RECENT:
            wins[deal.account_id] += 1
    return builder, touched, wins


class Checks:
    """A checkpoint that notes the count it was called at and stops at the ``stop_at``-th."""

    def __init__(self, report: RunReport, stop_at: int | None) -> None:
        self.report, self.stop_at, self.counts = report, stop_at, []  # type: ignore[var-annotated]

    def __call__(self) -> None:
        self.counts.append(self.report.opportunities_read)
        if len(self.counts) == self.stop_at:
            self.report.stopped = "stop requested"


@pytest.mark.parametrize("sizes", [[47], [1] * 47, [4, 0, 5, 12, 26], [20, 20, 7]])
@pytest.mark.parametrize("stop_at", [None, 1, 3])
@pytest.mark.parametrize("cursor", [None, T0])
def test_the_deal_step_reads_batches_as_it_read_deals_one_at_a_time(
    monkeypatch: pytest.MonkeyPatch, sizes: list[int], stop_at: int | None, cursor: datetime | None
) -> None:
    monkeypatch.setattr(sync, "OPPORTUNITY_CHECK", 5)
    expected_report = RunReport(crm="x")
    expected_checks = Checks(expected_report, stop_at)
    builder, touched, wins = _per_deal(DEALS, expected_report, 5, expected_checks, cursor)

    report = RunReport(crm="x")
    checks = Checks(report, stop_at)
    source, got_touched, got_wins = sync._read_opportunities(
        Batches(DEALS, sizes),  # type: ignore[arg-type]
        report,
        None,
        cursor,
        None,
        RECENT,
        checks,
    )
    assert checks.counts == expected_checks.counts
    assert checks.counts == (
        [5, 10, 15] if stop_at == 3 else [5] if stop_at else list(range(5, 47, 5))
    )
    assert report.opportunities_read == expected_report.opportunities_read
    assert report.opportunities_read == (15 if stop_at == 3 else 5 if stop_at else 47)
    assert source.aggregates_for([]) == builder.result()
    assert got_touched == touched and got_wins == wins
    assert list(got_wins.items()) == list(wins.items())  # counted in the deals' order
    if stop_at is None:
        assert wins and (touched if cursor else not touched)


def _stored(store: StateStore) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with store.engine.connect() as conn:
        deals = conn.execute(select(deal_table).order_by(deal_table.c.id)).all()
        dirty = conn.execute(select(dirty_accounts).order_by(dirty_accounts.c.account_id)).all()
    return [tuple(r) for r in deals], [tuple(r) for r in dirty]


def test_the_copy_stores_a_batch_as_it_stored_its_deals_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(opportunity_cache, "BATCH", 9)  # batches end and start writes
    changed = [
        _deal(i, account="A9" if i % 4 == 0 else None, amount=5.5 if i % 3 == 1 else None)
        for i in range(0, 47, 2)
    ]
    outcomes = []
    for one_at_a_time in (True, False):
        store = StateStore(f"sqlite:///{tmp_path / f'{one_at_a_time}.db'}")
        cache = OpportunityCache(store.engine, "crm", "org")
        touched: list[set[str]] = []
        for run, deals in enumerate((DEALS, changed)):
            if run == 0:
                cache.clear()  # a full run's reload
            moved: set[str] = set()
            if one_at_a_time:
                for deal in deals:
                    moved |= cache.put(deal)
            else:
                for batch in _cut(deals, [2, 10, 0, len(deals) - 12]):
                    moved |= cache.put_batch(batch)
            moved |= cache.flush()
            touched.append(moved)
        aggregates = cache.aggregates_for([f"A{i}" for i in range(10)])
        outcomes.append((touched, _stored(store), aggregates))
        store.close()
    assert outcomes[0] == outcomes[1]
    touched, (deals, dirty), aggregates = outcomes[1]
    assert len(deals) == len(DEALS) and dirty and "A9" in touched[1]
    assert aggregates["A9"].won_deals + aggregates["A9"].lost_deals > 0


def test_a_batch_of_accounts_looks_up_the_rows_select_would_fetch_in_its_order(
    tmp_path: Path,
) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    cache = OpportunityCache(store.engine, "crm", "org")
    other = OpportunityCache(store.engine, "crm", "another org")
    cache.clear()
    deals = [_deal(i, account=f"A{(i * 7) % 13}") for i in range(200)]
    for batch in _cut(deals, [64, 136]):
        cache.put_batch(batch)
        other.put_batch(batch)
    cache.flush()
    other.flush()
    wanted = [f"A{i}" for i in (12, 3, 0, 7, 99)]
    columns = ("id", "account_id", "is_closed", "is_won", "amount", "created", "closed")
    query = select(*(deal_table.c[c] for c in columns)).where(
        deal_table.c.connection == "crm", deal_table.c.org == "org"
    )
    with store.engine.connect() as conn:
        got = rows_by_ids(
            conn, deal_table, columns, "account_id", wanted, {"connection": "crm", "org": "org"}
        )
        (condition,) = ids_in(conn, deal_table.c.account_id, wanted)
        expected = conn.execute(query.where(condition)).all()
        assert rows_by_ids(conn, deal_table, columns, "account_id", [], {"org": "org"}) == []
    store.close()
    assert [(*r[:2], bool(r[2]), bool(r[3]), *r[4:]) for r in got] == [tuple(r) for r in expected]
    assert len(got) == sum(d.account_id in wanted for d in deals) > 50
