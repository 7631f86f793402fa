"""The state store's bulk paths (COPY on PostgreSQL, the driver's executemany and ON
CONFLICT upserts on SQLite, one-parameter id lookups) store exactly what SQLAlchemy's
generic statements store, on SQLite and on a real PostgreSQL (``state_url``).

The generic path is the one other databases take (``bulk._kind`` answering ``other``):
SQLAlchemy's executemany, an UPDATE then an INSERT per upserted row, ``IN (...)`` lists.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    make_url,
    select,
)
from sqlalchemy.exc import IntegrityError

from icpsync.connectors.file import FileConnector
from icpsync.core.aggregates import AggregateBuilder
from icpsync.core.human_edits import Written
from icpsync.core.model import CurrentIcp, Opportunity, ScoreUpdate
from icpsync.engine import bulk
from icpsync.engine.opportunity_cache import OpportunityCache
from icpsync.engine.quarantine import Quarantine
from icpsync.engine.settings import load_settings
from icpsync.engine.state import (
    StateStore,
    dirty_accounts,
    failures,
    history,
    opportunities,
    written,
)
from icpsync.engine.sync import run_once
from icpsync.engine.written_values import WrittenValues

NOW = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
#: texts COPY must escape (tab, newline, backslash, a literal \N) and other awkward ones.
AWKWARD = ["plain", "tab\there", "new\nline", "back\\slash", "\\N", "", "quote'\"", "zürich ✓"]


@pytest.fixture
def state(state_url: str) -> Iterator[StateStore]:
    store = StateStore(state_url)
    yield store
    store.close()


@pytest.fixture
def generic(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Call to make the bulk module take SQLAlchemy's generic path from then on."""
    return lambda: monkeypatch.setattr(bulk, "_kind", lambda conn: "other")


def _rows(state: StateStore, table: Table) -> list[tuple[Any, ...]]:
    key = [c for c in table.primary_key.columns]
    with state.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table).order_by(*key))]


def _twins(state: StateStore) -> tuple[Table, Table]:
    meta = MetaData()
    made = [
        Table(
            name,
            meta,
            Column("id", String(16), primary_key=True),
            Column("flag", Boolean),
            Column("amount", Float),
            Column("count", Integer),
            Column("note", String(32)),
        )
        for name in ("bulk_fast", "bulk_reference")
    ]
    meta.create_all(state.engine)
    return made[0], made[1]


def _values(i: int) -> tuple[Any, ...]:
    return (
        f"id{i:03d}",
        [True, False, None][i % 3],
        [5000, 12.5, None, 0.1][i % 4],  # an int in a Float column is stored as a float
        [3, None, 0][i % 3],
        [*AWKWARD, None][i % (len(AWKWARD) + 1)],
    )


COLUMNS = ("id", "flag", "amount", "count", "note")


def test_insert_tuples_stores_what_sqlalchemy_executemany_stores(state: StateStore) -> None:
    fast, reference = _twins(state)
    rows = [_values(i) for i in range(1200)]
    with state.engine.begin() as conn:
        bulk.insert_tuples(conn, fast, COLUMNS, rows)
        conn.execute(insert(reference), [dict(zip(COLUMNS, r, strict=True)) for r in rows])
    got, want = _rows(state, fast), _rows(state, reference)
    assert got == want and len(got) == 1200
    assert {r[4] for r in got} == {*AWKWARD, None}  # every awkward text came back as it was
    assert got[0][1] is True and isinstance(got[0][2], float)


def test_a_duplicate_key_raises_integrity_error_and_keeps_nothing(state: StateStore) -> None:
    fast, _ = _twins(state)
    with pytest.raises(IntegrityError), state.engine.begin() as conn:
        bulk.insert_tuples(conn, fast, COLUMNS, [_values(1), _values(2), _values(1)])
    assert _rows(state, fast) == []
    with state.engine.begin() as conn:  # the connection is usable after the rollback
        bulk.insert_tuples(conn, fast, COLUMNS, [_values(1)])
    assert len(_rows(state, fast)) == 1


@pytest.mark.parametrize("update", [None, ("note",), ()])
def test_upsert_tuples_matches_the_generic_path(
    state: StateStore, generic: Any, update: tuple[str, ...] | None
) -> None:
    fast, reference = _twins(state)
    first = [_values(i) for i in range(0, 700)]
    second = [(r[0], not r[1], 1.5, 7, f"again {r[4]}") for r in first[::3]]
    second += [_values(i) for i in range(700, 900)]  # new keys among the updates
    with state.engine.begin() as conn:
        bulk.upsert_tuples(conn, fast, COLUMNS, first, update=update)
        bulk.upsert_tuples(conn, fast, COLUMNS, second, update=update)
    generic()
    with state.engine.begin() as conn:
        bulk.upsert_tuples(conn, reference, COLUMNS, first, update=update)
        bulk.upsert_tuples(conn, reference, COLUMNS, second, update=update)
    got = _rows(state, fast)
    assert got == _rows(state, reference) and len(got) == 900
    changed = {r[0]: r for r in got}[first[0][0]]
    if update is None:
        assert changed[1:] == (not first[0][1], 1.5, 7, f"again {first[0][4]}")
    elif update == ("note",):
        assert changed[1:] == (*first[0][1:4], f"again {first[0][4]}")
    else:
        assert changed == first[0]


def test_upsert_needs_the_key_columns(state: StateStore) -> None:
    fast, _ = _twins(state)
    with pytest.raises(ValueError, match="key columns"), state.engine.begin() as conn:
        bulk.upsert_tuples(conn, fast, ("note",), [("x",)])


def test_ids_in_finds_every_id_in_one_condition_or_in_chunks(
    state: StateStore, generic: Any
) -> None:
    fast, _ = _twins(state)
    rows = [_values(i) for i in range(1200)]
    with state.engine.begin() as conn:
        bulk.insert_tuples(conn, fast, COLUMNS, rows)
    wanted = [r[0] for r in rows[::2]] + ["absent", "o'brien"]
    for path in ("fast", "generic"):
        if path == "generic":
            generic()
        with state.engine.connect() as conn:
            conditions = list(bulk.ids_in(conn, fast.c.id, wanted))
            assert len(conditions) == (1 if path == "fast" else 2)
            found = [r[0] for c in conditions for r in conn.execute(select(fast.c.id).where(c))]
            assert list(bulk.ids_in(conn, fast.c.id, [])) == []
        assert sorted(found) == sorted(r[0] for r in rows[::2])


def _updates(count: int) -> list[ScoreUpdate]:
    return [
        ScoreUpdate(
            account_id=f"001{i:05d}",
            score=i % 101,
            tier=f"Tier {i % 4 + 1}",
            flags=("x" * 200, "y" * 100) if i == 0 else tuple(AWKWARD[: i % 3]),
            reasons="r",
            profile_version="p-1",
            scored_at=NOW if i % 2 else NOW.astimezone(UTC).replace(tzinfo=None),
            previous=CurrentIcp(score=None if i % 5 == 0 else i, tier=None if i % 7 else "Tier 2"),
        )
        for i in range(count)
    ]


def test_history_rows_equal_the_generic_path_and_columns_equal_updates(
    state: StateStore, generic: Any
) -> None:
    updates = _updates(1100)
    state.record_history(1, "crm", updates, org="o1")
    fast = _rows(state, history)
    with state.engine.begin() as conn:
        conn.execute(history.delete())
    generic()
    state.record_history(1, "crm", updates, org="o1")
    reference = _rows(state, history)
    assert [r[1:] for r in fast] == [r[1:] for r in reference]  # all but the serial id
    first = fast[0]
    assert first[1:5] == (1, "crm", "o1", "00100000")
    assert first[5] == NOW.replace(tzinfo=None).isoformat()  # each update's own time
    assert fast[1][5] == NOW.isoformat()
    assert len(first[10]) == 255 and first[10].startswith("x" * 200 + ";y")
    with pytest.raises(ValueError, match="one value per account"):
        state.record_history_columns(
            2,
            "crm",
            org="o1",
            account_ids=["a", "b"],
            at=["t"],
            old_scores=[None, None],
            new_scores=[1, 2],
            old_tiers=[None, None],
            new_tiers=["T", "T"],
            flags=["", ""],
            profile_versions=["p", "p"],
        )


def test_a_batch_of_history_is_numbered_in_account_order_keeping_each_accounts_own(
    state: StateStore,
) -> None:
    updates = _updates(300)
    shuffled = [u for i, u in enumerate(updates[::-1]) if i % 7] + updates[::-7]
    again = replace(updates[10], score=99, tier="Tier 1")  # written twice in one batch
    batch = [u for u in shuffled if u is not updates[10]]
    batch[150:150] = [again]
    batch.insert(0, updates[10])
    state.record_history(4, "crm", batch, org="o1")
    stored = _rows(state, history)  # in id order
    assert [r[4] for r in stored] == sorted(u.account_id for u in batch)
    tenth = [r[7] for r in stored if r[4] == updates[10].account_id]
    assert tenth == [updates[10].score, 99]  # in the order it was given


def test_written_values_upsert_equals_replacing_the_rows(state: StateStore, generic: Any) -> None:
    other = WrittenValues(state.engine, "crm", "other-org")
    other.put({"00100001": Written("Tier 4", 1)})

    def round_trip() -> dict[str, Written]:
        store = WrittenValues(state.engine, "crm", "o1")
        store.put({f"001{i:05d}": Written(f"Tier {i % 4 + 1}", i) for i in range(1200)})
        store.put(
            {f"001{i:05d}": Written("Tier 1", None, "Tier 2", "Tier 3") for i in range(0, 1500, 3)}
        )
        store.put_many(["00100001", "00100002", "00100001"], ["A", "B", "C"], [1, 2, 3])
        return store.get([f"001{i:05d}" for i in range(1600)])

    fast_rows = round_trip()
    fast_table = _rows(state, written)
    with state.engine.begin() as conn:
        conn.execute(written.delete().where(written.c.org == "o1"))
    generic()
    reference_rows = round_trip()
    assert fast_rows == reference_rows and fast_table == _rows(state, written)
    assert len(fast_rows) == 1300  # 1200, and every third of 1200-1499 added
    assert fast_rows["00100000"] == Written("Tier 1", None, "Tier 2", "Tier 3")
    assert fast_rows["00100001"] == Written("C", 3)  # named twice: the last values win
    assert fast_rows["00101200"] == Written("Tier 1", None, "Tier 2", "Tier 3")
    assert other.get(["00100001"]) == {"00100001": Written("Tier 4", 1)}  # its own org
    with pytest.raises(ValueError, match="one value per account"):
        other.put_many(["a"], ["T"], [1, 2])


def _deals(count: int, shift: int = 0) -> list[Opportunity]:
    start = date(2025, 1, 1)
    return [
        Opportunity(
            id=f"006{i:05d}",
            account_id=None if i % 17 == 0 else f"001{(i * 7 + shift) % 300:05d}",
            is_closed=i % 3 != 0,
            is_won=i % 3 == 1,
            amount=None if i % 11 == 0 else (1000 * i if i % 2 else 250.5 * i),
            created=start + timedelta(days=i % 40),
            closed=None if i % 3 == 0 else start + timedelta(days=i % 40 + i % 90),
            last_modified=NOW + timedelta(seconds=i),
        )
        for i in range(count)
    ]


def _cache_round(state: StateStore) -> tuple[list[set[str]], dict[str, Any], set[str]]:
    cache = OpportunityCache(state.engine, "crm", "o1")
    cache.clear()
    touched = [set().union(*(cache.put(o) for o in _deals(1100))), cache.flush()]
    later = OpportunityCache(state.engine, "crm", "o1")  # an incremental run
    moved = _deals(1100, shift=1)[::4] + _deals(1200)[1100:]
    touched.append(set().union(*(later.put(o) for o in moved)) | later.flush())
    aggregates = later.aggregates_for([f"001{i:05d}" for i in range(300)])
    return touched, aggregates, later.dirty()


def test_the_deal_copy_and_its_aggregates_equal_the_generic_path(
    state: StateStore, generic: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from icpsync.engine import opportunity_cache

    monkeypatch.setattr(opportunity_cache, "BATCH", 300)  # several batches, one partial
    fast = _cache_round(state)
    fast_tables = _rows(state, opportunities), _rows(state, dirty_accounts)
    with state.engine.begin() as conn:
        conn.execute(opportunities.delete())
        conn.execute(dirty_accounts.delete())
    generic()
    assert _cache_round(state) == fast
    assert (_rows(state, opportunities), _rows(state, dirty_accounts)) == fast_tables
    touched, aggregates, dirty = fast
    assert len(fast_tables[0]) == 1200 and dirty == touched[2] and dirty
    builder = AggregateBuilder()  # the copy's aggregates are those of the deals it holds
    moved = {d.id: d for d in _deals(1100, shift=1)[::4]}
    for deal in [*_deals(1100), *_deals(1200)[1100:]]:
        builder.add(moved.get(deal.id, deal))
    assert aggregates == builder.result()


def test_quarantine_rows_equal_the_generic_path(state: StateStore, generic: Any) -> None:
    from icpsync.core.model import RecordFailure

    def round_trip() -> list[tuple[Any, ...]]:
        store = Quarantine(state.engine, "crm", "o1")
        store.put([RecordFailure(f"001{i:05d}", f"why {i}", False) for i in range(700)], NOW)
        later = NOW + timedelta(hours=1)
        store.put([RecordFailure(f"001{i:05d}", "again", False) for i in range(0, 900, 2)], later)
        held = set(range(700)) | set(range(700, 900, 2))
        gone = store.release([f"001{i:05d}" for i in range(0, 900, 5)])
        assert gone == len(held & set(range(0, 900, 5)))
        rows = _rows(state, failures)
        with state.engine.begin() as conn:
            conn.execute(failures.delete())
        return rows

    fast = round_trip()
    generic()
    assert fast == round_trip()
    by_id = {r[2]: r for r in fast}
    later = (NOW + timedelta(hours=1)).isoformat()
    assert by_id["00100002"][3:] == ("again", NOW.isoformat(), later, 2)
    assert by_id["00100802"][6] == 1 and "00100005" not in by_id


def test_a_full_and_an_incremental_sync_store_the_same_rows_as_the_generic_path(
    state_url: str, tmp_path: Path, generic: Any, synthetic_files: Any
) -> None:
    def sync_twice(folder: Path, url: str) -> dict[str, list[tuple[Any, ...]]]:
        folder.mkdir()
        accounts, deals = synthetic_files(folder, accounts=1300, opportunities=900, seed=11)
        config = folder / "icpsync.toml"
        config.write_text(
            f'[sync]\ncrm = "file"\n[file]\naccounts = "{accounts}"\n'
            f'opportunities = "{deals}"\noutput = "{folder / "out.csv"}"\n'
        )
        settings = load_settings(config)
        state = StateStore(url)
        try:
            for run in range(2):
                if run:  # a deal moves and an account changes: an incremental run
                    _edit(deals, accounts)
                connector = FileConnector.from_settings(settings)
                try:
                    report = run_once(settings, connector=connector, state=state, now=NOW)
                finally:
                    connector.close()
                assert report.status == "complete"
            assert report.mode == "incremental" and report.accounts_read >= 2
            org = FileConnector.from_settings(settings).org_id()
            tables = (history, written, opportunities, dirty_accounts, failures)
            rows = {t.name: _rows(state, t) for t in tables}
            # the org is the accounts file's path: the same text in both folders
            return {
                name: [tuple("ORG" if v == org else v for v in r) for r in table_rows]
                for name, table_rows in rows.items()
            }
        finally:
            state.close()

    fast = sync_twice(tmp_path / "a", state_url)
    generic()
    other_url = state_url
    if state_url.startswith("sqlite"):
        other_url = f"sqlite:///{tmp_path / 'generic.db'}"
    else:  # a second database on the same server
        url = make_url(state_url)
        engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {url.database}_generic")
        engine.dispose()
        other_url = url.set(database=f"{url.database}_generic").render_as_string(False)
    reference = sync_twice(tmp_path / "b", other_url)
    assert len(fast["icpsync_score_history"]) >= 1300 and len(fast["icpsync_written"]) == 1300
    assert fast == reference


def _edit(deals: Path, accounts: Path) -> None:
    later = "2099-01-01T00:00:00+00:00"  # after any cursor, the same in every run
    rows = list(csv.DictReader(deals.read_text().splitlines()))
    rows[0]["account_id"], rows[0]["last_modified"] = rows[5]["account_id"], later
    _write(deals, rows)
    rows = list(csv.DictReader(accounts.read_text().splitlines()))
    rows[3]["employees"], rows[3]["last_modified"] = "900", later
    _write(accounts, rows)


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_seen_many_releases_what_seen_one_by_one_releases(state: StateStore) -> None:
    from icpsync.core.model import RecordFailure
    from icpsync.engine.quarantine import CHUNK, RunQuarantine
    from icpsync.engine.run_report import RunReport

    ids = [f"001{i:05d}" for i in range(CHUNK + 300)]
    right = [i % 2 == 0 for i in range(len(ids))]
    outcomes = []
    for org, batch in (("one", False), ("many", True)):
        store = Quarantine(state.engine, "crm", org)
        store.put([RecordFailure(i, "why", False) for i in ids[::3]], NOW)
        report = RunReport(crm="crm")
        run = RunQuarantine(store, report)
        if batch:
            run.seen_many(ids[:100], right[:100])
            run.seen_many(["other"], [True])  # none held: nothing to do
            run.seen_many(ids[100:], right[100:])
        else:
            for account_id, unchanged in zip(ids, right, strict=True):
                run.seen(account_id, unchanged=unchanged)
        run.finish(read_everything=False, at=NOW)
        outcomes.append((report.released, store.ids(), run._unseen))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == len([i for i in range(0, len(ids), 3) if i % 2 == 0])


def test_on_sqlite_only_the_commit_that_moves_cursors_syncs_the_wal(tmp_path: Path) -> None:
    from sqlalchemy import event

    from icpsync.engine.run_report import RunReport

    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    seen: list[tuple[str, int]] = []

    def note(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT")):
            level = conn.connection.driver_connection.execute("PRAGMA synchronous").fetchone()
            seen.append((statement.split()[2 if statement.startswith("INSERT") else 1], level[0]))

    event.listen(state.engine, "before_cursor_execute", note)
    try:
        report = RunReport(crm="crm", started_at=NOW.isoformat())
        report.org = "o1"
        run_id = state.start_run(report)
        state.record_history(run_id, "crm", _updates(3), org="o1")
        assert state.finish_run(run_id, report, NOW, move_cursors={"accounts": NOW})
        state.set_cursor("crm", "deals", NOW, org="o1")
        with state.engine.connect() as conn:
            level = conn.connection.driver_connection.execute("PRAGMA synchronous").fetchone()
        assert level[0] == 1  # NORMAL again afterwards
    finally:
        state.close()
    full, normal = 2, 1
    assert ("icpsync_cursors", full) in seen and ("icpsync_runs", normal) in seen
    assert all(level == full for table, level in seen if table == "icpsync_cursors")
    assert state.cursor("crm", "accounts", org="o1") == NOW


@pytest.mark.parametrize("state_url", ["postgresql"], indirect=True)
def test_postgresql_statistics_are_refreshed_after_large_writes_and_a_reload(
    state: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import text

    from icpsync.engine import written_values

    def tuples(table: str) -> float:
        query = text("SELECT reltuples FROM pg_class WHERE relname = :name")
        with state.engine.connect() as conn:
            return float(conn.execute(query, {"name": table}).scalar_one())

    assert tuples("icpsync_written") < 0 and tuples("icpsync_opportunities") < 0  # never
    monkeypatch.setattr(written_values, "ANALYZE_AFTER", 50)
    store = WrittenValues(state.engine, "crm", "o1")
    store.put({f"a{i}": Written("T") for i in range(49)})
    assert tuples("icpsync_written") < 0  # a small write: left to autovacuum
    store.put({f"b{i}": Written("T") for i in range(50)})
    assert tuples("icpsync_written") == 99
    cache = OpportunityCache(state.engine, "crm", "o1")
    cache.clear()
    for deal in _deals(120):
        cache.put(deal)
    cache.flush()
    assert tuples("icpsync_opportunities") < 0
    cache.aggregates_for(["00100007"])  # the first lookup after the reload
    assert tuples("icpsync_opportunities") == 120


def test_the_key_order_is_a_stable_sort_of_the_positions() -> None:
    keys = ["b", "a", "c", "a"]
    assert bulk.key_order(keys) == [1, 3, 0, 2]  # stable: the two a's keep their order
    keys[0] = "z"
    assert bulk.key_order(keys) == [1, 3, 2, 0]
    assert bulk.key_order(("c", "b")) == [1, 0] and bulk.key_order([]) == []


def test_an_order_that_does_not_name_every_account_is_refused(state: StateStore) -> None:
    with pytest.raises(ValueError, match="order"):
        state.record_history_columns(
            1,
            "salesforce",
            org="00D",
            account_ids=["b", "a"],
            at=["2026-12-01T00:00:00+00:00"] * 2,
            old_scores=[None, None],
            new_scores=[10, 20],
            old_tiers=[None, None],
            new_tiers=["Tier 1", "Tier 2"],
            flags=["", ""],
            profile_versions=["p", "p"],
            order=[1],
        )


@pytest.mark.parametrize("sorted_once", [False, True], ids=["each-sorts", "order-given"])
def test_a_chunks_written_values_and_history_are_each_in_account_order(
    state: StateStore, sorted_once: bool
) -> None:
    updates = _updates(400)[::-1]
    store = WrittenValues(state.engine, "crm", "o1")
    order = bulk.key_order([u.account_id for u in updates]) if sorted_once else None
    with state.transaction() as conn:
        store.put_many(
            [u.account_id for u in updates],
            [u.tier for u in updates],
            [u.score for u in updates],
            conn=conn,
            order=order,
        )
        state.record_history(1, "crm", updates, org="o1", conn=conn, order=order)
    stored = _rows(state, history)  # in id order
    assert [r[4] for r in stored] == sorted(u.account_id for u in updates)
    assert [r[7] for r in stored] == [u.score for u in updates[::-1]]
    got = store.get([u.account_id for u in updates])
    assert got == {u.account_id: Written(u.tier, u.score) for u in updates}


def test_columns_of_unequal_lengths_are_refused(state: StateStore) -> None:
    with state.engine.begin() as conn, pytest.raises(ValueError, match="one value per row"):
        bulk.insert_columns(conn, history, ("account_id", "flags"), (["a", "b"], [""]))
