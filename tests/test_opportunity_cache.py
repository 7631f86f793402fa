"""The state store's copy of opportunities: incremental runs read only changed deals and
still score every touched account on all of its deals."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from icpsync.connectors.file import FileConnector
from icpsync.core.aggregates import AggregateBuilder
from icpsync.core.batch import OpportunityBatch
from icpsync.core.model import Aggregates, Opportunity, RecordFailure
from icpsync.core.scoring import Scorer
from icpsync.engine import deal_figures
from icpsync.engine import opportunity_cache as oc
from icpsync.engine.opportunity_cache import OpportunityCache
from icpsync.engine.run_report import RunReport
from icpsync.engine.settings import Settings, load_settings
from icpsync.engine.state import StateStore
from icpsync.engine.sync import OPPORTUNITIES, run_once

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _run(settings: Settings, state: StateStore, **options: object) -> RunReport:
    connector = FileConnector.from_settings(settings)
    try:
        return run_once(settings, connector=connector, state=state, now=NOW, **options)  # type: ignore[arg-type]
    finally:
        connector.close()


def _org(settings: Settings) -> str:
    return FileConnector.from_settings(settings).org_id()


def _append_deals(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open() as handle:
        fields = list(csv.DictReader(handle).fieldnames or [])
    with path.open("a", newline="") as handle:
        csv.DictWriter(handle, fieldnames=fields).writerows(rows)


def _new_deal(deal_id: str, account_id: str) -> dict[str, str]:
    return {
        "id": deal_id,
        "account_id": account_id,
        "stage": "Closed Won",
        "is_closed": "true",
        "is_won": "true",
        "amount": "50000",
        "created": "2026-06-01",
        "closed": "2026-10-01",
        "last_modified": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
    }


def _move_deal(path: Path, deal_id: str, account_id: str) -> None:
    rows = list(csv.DictReader(path.read_text().splitlines()))
    for row in rows:
        if row["id"] == deal_id:
            row["account_id"] = account_id
            row["last_modified"] = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _values(path: Path) -> dict[str, tuple[str, str, str]]:
    with path.open() as handle:
        return {
            r["id"]: (r["icp_score"], r["icp_tier"], r["icp_reasons"])
            for r in csv.DictReader(handle)
        }


def test_incremental_run_reads_only_changed_deals_and_matches_a_full_run(
    file_config: Path, tmp_path: Path
) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())
    first = _run(settings, state)
    assert first.opportunities_read == 360
    assert OpportunityCache(state.engine, "file", _org(settings)).count() == 360

    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    new_deals = [
        {
            "id": f"NEW{i}",
            "account_id": "A0000007",
            "stage": "Closed Won",
            "is_closed": "true",
            "is_won": "true",
            "amount": "50000",
            "created": "2026-06-01",
            "closed": "2026-10-01",
            "last_modified": later,
        }
        for i in range(3)
    ]
    _append_deals(settings.file.opportunities, new_deals)  # type: ignore[arg-type]
    second = _run(settings, state)
    assert second.mode == "incremental"
    assert second.opportunities_read == 3  # not the 363 deals
    assert second.accounts_read == 1  # the account those deals belong to
    assert OpportunityCache(state.engine, "file", _org(settings)).count() == 363

    # A full run from scratch on the same files gives the same values.
    fresh_dir = tmp_path / "fresh"
    fresh = load_settings(
        file_config,
        state={"dir": str(fresh_dir)},
        file={
            "accounts": str(settings.file.accounts),
            "opportunities": str(settings.file.opportunities),
            "output": str(fresh_dir / "out.csv"),
        },
    )
    fresh_state = StateStore(fresh.state.database_url())
    _run(fresh, fresh_state)
    assert _values(fresh.file.output) == _values(settings.file.output)  # type: ignore[arg-type]
    state.close()
    fresh_state.close()


def test_interrupted_reload_forces_a_full_read_of_deals(file_config: Path) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())
    _run(settings, state)
    assert state.cursor("file", OPPORTUNITIES, org=_org(settings)) is not None
    # A forced full run clears the copy and its cursor first; if it dies there, the next
    # run must not trust the half-built copy.
    state.clear_cursor("file", OPPORTUNITIES, org=_org(settings))
    OpportunityCache(state.engine, "file", _org(settings)).clear()
    report = _run(settings, state)
    assert report.mode == "incremental"
    assert report.opportunities_read == 360
    assert OpportunityCache(state.engine, "file", _org(settings)).count() == 360
    assert state.cursor("file", OPPORTUNITIES, org=_org(settings)) is not None
    state.close()


def test_rereading_the_same_deal_touches_nothing_and_a_moved_deal_touches_both(
    tmp_path: Path,
) -> None:
    state = StateStore(f"sqlite:///{tmp_path / 's.db'}")
    cache = OpportunityCache(state.engine, "crm")
    deal = Opportunity(
        "O1",
        "A1",
        is_closed=True,
        is_won=True,
        amount=10.0,
        created=date(2026, 1, 1),
        closed=date(2026, 2, 1),
    )
    cache.put(deal)
    assert cache.flush() == {"A1"}
    cache.put(deal)
    assert cache.flush() == set()
    cache.put(replace(deal, account_id="A2"))
    assert cache.flush() == {"A1", "A2"}
    figures = cache.aggregates_for(["A1", "A2"])
    assert "A1" not in figures
    assert figures["A2"].won_deals == 1 and figures["A2"].sales_cycle_days == 31.0
    state.close()


def test_a_reload_that_meets_an_id_again_keeps_the_latest(tmp_path: Path) -> None:
    state = StateStore(f"sqlite:///{tmp_path / 's.db'}")
    cache = OpportunityCache(state.engine, "crm")
    cache.clear()
    first = Opportunity("O1", "A1", is_closed=True, is_won=False)
    cache.put(first)
    cache.flush()
    cache.put(replace(first, is_won=True))
    assert cache.flush() == {"A1"}
    assert cache.count() == 1
    assert cache.aggregates_for(["A1"])["A1"].won_deals == 1
    state.close()


def test_a_dry_run_leaves_the_copy_alone(file_config: Path) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())
    _run(settings, state)
    cursor = state.cursor("file", OPPORTUNITIES, org=_org(settings))
    _append_deals(settings.file.opportunities, [_new_deal("DRY1", "A0000009")])  # type: ignore[arg-type]
    preview = _run(settings, state, full=True, dry_run=True)
    assert preview.opportunities_read == 361
    assert OpportunityCache(state.engine, "file", _org(settings)).count() == 360  # untouched
    assert state.cursor("file", OPPORTUNITIES, org=_org(settings)) == cursor
    real = _run(settings, state)
    assert real.opportunities_read == 1 and real.accounts_read == 1
    state.close()


def test_accounts_of_deals_stored_by_a_failed_run_are_read_by_the_next(
    file_config: Path, tmp_path: Path
) -> None:
    profile = tmp_path / "pipeline.toml"
    profile.write_text(
        '[profile]\n[[profile.criteria]]\nid = "big_pipeline"\nfield = "open_pipeline"\n'
        "at_least = 10000000\npoints = 60\n"
    )
    settings = load_settings(file_config, profile_file=str(profile))
    state = StateStore(settings.state.database_url())
    deal = _new_deal("BIG1", "A0000011") | {"stage": "Negotiation", "is_closed": "false"}
    deal |= {"is_won": "false", "closed": "", "amount": "20000000"}
    _append_deals(settings.file.opportunities, [deal])  # type: ignore[arg-type]
    _run(settings, state)  # A0000011 now holds the big deal, and its score says so
    _move_deal(settings.file.opportunities, "BIG1", "A0000012")  # type: ignore[arg-type]

    class Refusing(FileConnector):
        def write_scores(self, updates):  # type: ignore[no-untyped-def]
            report = super().write_scores([])
            report.attempted = len(updates)
            report.failures = [RecordFailure(u.account_id, "LOCKED") for u in updates]
            return report

    connector = Refusing.from_settings(settings)
    try:
        failed = run_once(settings, connector=connector, state=state, now=NOW)
    finally:
        connector.close()
    assert failed.failed == 2 and not failed.complete
    assert OpportunityCache(state.engine, "file", _org(settings)).dirty() == {
        "A0000011",
        "A0000012",
    }
    # The moved deal is stored now: comparing with the copy finds nothing new, and its
    # modification time names only its new account. The dirty list names the old one too.
    retry = _run(settings, state)
    assert retry.accounts_read == 2 and retry.written == 2
    assert OpportunityCache(state.engine, "file", _org(settings)).dirty() == set()
    state.close()


def _deals(count: int, accounts: int) -> list[Opportunity]:
    return [
        Opportunity(
            f"O{i}",
            f"A{(i * 7) % accounts}",
            is_closed=i % 3 != 0,
            is_won=i % 2 == 0,
            amount=1000.0 + i,
            created=date(2025, 1 + i % 12, 1),
            closed=date(2026, 1 + i % 12, 2) if i % 3 else None,
        )
        for i in range(count)
    ]


def _counted_lookups(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The ids of every lookup the deal copies make in the database from now on."""
    asked: list[list[str]] = []
    lookup = oc.rows_by_ids

    def counted(conn, table, columns, key, ids, equal):  # type: ignore[no-untyped-def]
        asked.append(list(ids))
        return lookup(conn, table, columns, key, ids, equal)

    monkeypatch.setattr(oc, "rows_by_ids", counted)
    return asked


@pytest.mark.parametrize("small", [deal_figures.SMALL, 10])  # as objects, then as NumPy
def test_after_a_reload_aggregates_come_from_the_deals_stored_without_a_lookup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small: int
) -> None:
    monkeypatch.setattr(deal_figures, "SMALL", small)
    state = StateStore(f"sqlite:///{tmp_path / 's.db'}")
    reloaded = OpportunityCache(state.engine, "crm", "org")
    reloaded.clear()
    # 300 deals of 1000 accounts, each account's deals in several batches of 70; and deals
    # of no account, of an empty id, of ids that end in NUL or are not ASCII
    deals = _deals(300, 1000)
    odd = ["", "A7\x00", "Ä1", "A1" + "9" * 40]
    deals += [replace(d, id=f"X{i}", account_id=None) for i, d in enumerate(deals[:5])]
    deals += [replace(d, id=f"Y{i}", account_id=odd[i % 4]) for i, d in enumerate(deals[:12])]
    for start in range(0, len(deals), 70):
        reloaded.put_batch(OpportunityBatch.from_opportunities(deals[start : start + 70]))
    reloaded.flush()
    asked = _counted_lookups(monkeypatch)
    accounts = [f"A{i}" for i in range(1000)] + ["A1000", "nobody", "", "A7\x00", "Ä1"]
    accounts += ["A1" + "9" * 40, "A1" + "9" * 39, "A1" + "9" * 41, "A7\x00\x00", "\x01"]
    unknown = OpportunityCache(state.engine, "crm", "org")  # not reloaded: asks the copy
    builder = AggregateBuilder()
    for start in range(0, len(deals), 70):
        builder.add_batch(OpportunityBatch.from_opportunities(deals[start : start + 70]))
    expected = builder.result()
    for start in range(0, len(accounts), 100):
        batch = accounts[start : start + 100]
        asked.clear()
        figures = reloaded.aggregates_for(batch)
        assert figures == {a: expected[a] for a in batch if a in expected}
        assert list(figures) == [a for a in batch if a in expected]
        assert not asked  # no lookup in the database
        # what the copy tells (SQLite's JSON functions end a text at a NUL: the copy never
        # found an id that holds one)
        plain = [a for a in batch if "\x00" not in a]
        assert {a: figures[a] for a in plain if a in figures} == unknown.aggregates_for(plain)
    assert {"", "A7\x00", "Ä1", "A1" + "9" * 40} <= set(reloaded.aggregates_for(accounts))
    assert reloaded.aggregates_for([]) == {}
    assert not reloaded.aggregates_for(["A1000", "nobody", "A7\x00\x00", "A", "Ä"])
    state.close()


def test_figures_of_many_accounts_keep_counts_too_large_for_a_byte(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deal_figures, "SMALL", 1)
    builder = AggregateBuilder()
    day = date(2026, 1, 1)
    won = [
        Opportunity(
            f"W{i}", "A1", is_closed=True, is_won=True, created=day, closed=day + timedelta(i)
        )
        for i in range(300)
    ]
    builder.add_batch(OpportunityBatch.from_opportunities(won))
    builder.add(Opportunity("O1", "A2", amount=0.1))
    builder.add(Opportunity("O2", "A2", amount=0.2))
    expected = builder.result()
    figures = deal_figures.DealFigures(builder)
    assert not len(builder)  # its tallies forgotten once they are figures
    assert figures.get(["A2", "A1", "A3"]) == {"A2": expected["A2"], "A1": expected["A1"]}
    assert figures.get(["A1"])["A1"].won_deals == 300
    assert figures.get(["A1"])["A1"].sales_cycle_days == 149.5
    assert figures.get(["A1"])["A1"].last_win == day + timedelta(299)
    assert figures.get(["A2"])["A2"].open_pipeline == 0.3  # the sum 0.30000000000000004, rounded
    assert figures.get(["A2"])["A2"].last_win is None


def test_a_reload_that_meets_an_id_twice_looks_its_aggregates_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = StateStore(f"sqlite:///{tmp_path / 's.db'}")
    asked = _counted_lookups(monkeypatch)
    for split in (1, 3):  # the repeat in the same write, then in the next one
        cache = OpportunityCache(state.engine, "crm", "org")
        cache.clear()
        first = Opportunity("O1", "A1", is_closed=False, amount=5.0)
        deals = [
            first,
            Opportunity("O2", "A1", is_closed=False, amount=1.0),
            replace(first, amount=7.0),
        ]
        cache.put_batch(OpportunityBatch.from_opportunities(deals[:split]))
        if split == 3:
            cache.flush()
        cache.put_batch(OpportunityBatch.from_opportunities(deals[split:]))
        cache.flush()
        asked.clear()
        figures = cache.aggregates_for(["A1", "A2"])
        assert asked == [["A1", "A2"]]
        assert figures["A1"].open_deals == 2 and figures["A1"].open_pipeline == 8.0
    state.close()


def test_deals_stored_after_the_first_lookup_are_looked_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = StateStore(f"sqlite:///{tmp_path / 's.db'}")
    cache = OpportunityCache(state.engine, "crm", "org")
    cache.clear()
    cache.put(Opportunity("O1", "A1", is_closed=True, is_won=False))
    asked = _counted_lookups(monkeypatch)
    assert cache.aggregates_for(["A1"]) == {}  # not stored yet: not found, as before
    assert asked == [["A1"]]
    cache.flush()
    cache.put(Opportunity("O2", "A2", is_closed=True, is_won=False))
    cache.flush()
    assert set(cache.aggregates_for(["A1", "A2"])) == {"A1", "A2"}
    state.close()


def test_an_incremental_run_after_a_full_one_gives_the_same_aggregates(
    file_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(file_config)
    state = StateStore(settings.state.database_url())
    given: list[dict[str, Aggregates | None]] = []
    score_batch = Scorer.score_batch

    def recording(self, batch, aggregates, as_of):  # type: ignore[no-untyped-def]
        given[-1].update({a: aggregates.get(a) for a in batch.ids})
        return score_batch(self, batch, aggregates, as_of)

    monkeypatch.setattr(Scorer, "score_batch", recording)
    asked = _counted_lookups(monkeypatch)
    given.append({})
    assert _run(settings, state).mode == "full"
    assert not asked  # every aggregate came from the deals the run read
    full = {a: f for a, f in given[0].items() if f is not None}
    assert len(full) > 50 and len(given[0]) == 120
    copy = OpportunityCache(state.engine, "file", _org(settings))
    assert copy.aggregates_for(list(given[0])) == full  # what the copy tells
    # An incremental run looks the accounts of changed deals up in the copy: a deal moved
    # from one account to another changes those two, and only those.
    path = settings.file.opportunities
    assert path is not None
    deal, old = next(
        (r["id"], r["account_id"])
        for r in csv.DictReader(path.read_text().splitlines())
        if r["account_id"] in full and r["account_id"] != "A0000003"
    )
    _move_deal(path, deal, "A0000003")
    given.append({})
    report = _run(settings, state)
    assert report.mode == "incremental" and asked and set(given[1]) == {old, "A0000003"}
    assert {a: f for a, f in given[1].items() if f is not None} == copy.aggregates_for(
        [old, "A0000003"]
    )
    assert given[1][old] != full[old] and given[1]["A0000003"] != full.get("A0000003")
    # A full run after it tells the same as the copy again, for every account.
    given.append({})
    assert _run(settings, state, full=True).mode == "full"
    assert {a: f for a, f in given[2].items() if f is not None} == copy.aggregates_for(
        list(given[2])
    )
    assert given[2][old] == given[1][old] and given[2]["A0000003"] == given[1]["A0000003"]
    state.close()


def test_a_deal_moved_after_a_reload_counts_for_its_new_account_only(tmp_path: Path) -> None:
    state = StateStore(f"sqlite:///{tmp_path / 's.db'}")
    cache = OpportunityCache(state.engine, "crm", "org")
    cache.clear()
    cache.put(Opportunity("O1", "A1", is_closed=True, is_won=True, closed=date(2026, 1, 2)))
    cache.flush()
    assert set(cache.aggregates_for(["A1", "A2"])) == {"A1"}
    cache.put(Opportunity("O1", "A2", is_closed=True, is_won=True, closed=date(2026, 1, 2)))
    assert cache.flush() == {"A1", "A2"}
    figures = cache.aggregates_for(["A1", "A2"])
    assert set(figures) == {"A2"} and figures["A2"].won_deals == 1
    state.close()
