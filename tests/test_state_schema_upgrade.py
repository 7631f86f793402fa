"""Versions 5 to 7 of the state store's schema: an older database is upgraded in place on
SQLite and on a real PostgreSQL (``state_url``). Version 5 drops the history's index on
``run_id`` (which nothing reads); version 6 makes the written values' table ``WITHOUT
ROWID`` on SQLite; version 7 lets history rows leave the values their run's row holds
(NULL). Every row is kept, and runs go on recording history and written values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, inspect, select
from sqlalchemy.engine import Connection

from icpsync.core.human_edits import Written
from icpsync.core.model import CurrentIcp, ScoreUpdate
from icpsync.engine.run_report import RunReport
from icpsync.engine.schema import (
    HISTORY_OF_RUN,
    SCHEMA_VERSION,
    history,
    meta,
    metadata,
    runs,
    written,
)
from icpsync.engine.state import StateStore
from icpsync.engine.written_values import WrittenValues

NOW = datetime(2026, 11, 1, tzinfo=UTC)
RUN_INDEX = "ix_icpsync_score_history_run_id"


def _indexes(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {i["name"] for i in inspect(conn).get_indexes(history.name)}
    finally:
        engine.dispose()


def test_a_version_4_database_loses_the_history_run_index_and_keeps_its_rows(
    state_url: str,
) -> None:
    if state_url.startswith("sqlite:///"):
        Path(state_url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    old = create_engine(state_url)
    metadata.create_all(old)  # the tables as version 4 had them, with the run index
    with old.begin() as conn:
        # as SQL: an Index object would join the schema's own table (and every database)
        conn.exec_driver_sql(f"CREATE INDEX {RUN_INDEX} ON {history.name} (run_id)")
        conn.execute(insert(meta).values(key="schema_version", value="4"))
        conn.execute(
            insert(history).values(
                run_id=1,
                connection="crm",
                org="o1",
                account_id="A1",
                at=NOW.isoformat(),
                old_score=None,
                new_score=40,
                old_tier=None,
                new_tier="Tier 3",
                flags="",
                profile_version="p1",
            )
        )
    old.dispose()
    assert RUN_INDEX in _indexes(state_url)

    state = StateStore(state_url)
    try:
        with state.engine.connect() as conn:
            version = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version"))
            assert int(version.scalar_one()) == SCHEMA_VERSION == 7
        indexes = _indexes(state_url)
        assert RUN_INDEX not in indexes
        assert "ix_icpsync_score_history_account_id" in indexes  # read by account: kept
        later = ScoreUpdate("A1", 70, "Tier 2", (), "r", "p1", NOW, CurrentIcp(40, "Tier 3"))
        state.record_history(2, "crm", [later], org="o1")
        rows = state.account_history("A1", org="o1")
        assert [(r["run_id"], r["old_score"], r["new_score"]) for r in rows] == [
            (1, None, 40),
            (2, 40, 70),
        ]
    finally:
        state.close()
    StateStore(state_url).close()  # upgrading again finds nothing to do
    assert RUN_INDEX not in _indexes(state_url)


def _written_sql(url: str) -> str | None:
    """The written values' table as SQLite keeps it (None on other databases)."""
    if not url.startswith("sqlite"):
        return None
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return str(
                conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = ?", (written.name,)
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_a_version_5_database_keeps_its_written_values_in_a_table_without_rowid(
    state_url: str,
) -> None:
    if state_url.startswith("sqlite:///"):
        Path(state_url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    old = create_engine(state_url)
    metadata.create_all(old)
    with old.begin() as conn:
        if old.dialect.name == "sqlite":  # the table as version 5 made it: with a rowid
            conn.exec_driver_sql(f"DROP TABLE {written.name}")
            conn.exec_driver_sql(
                f"CREATE TABLE {written.name} (connection VARCHAR(64) NOT NULL, "
                "org VARCHAR(255) NOT NULL, account_id VARCHAR(64) NOT NULL, "
                "tier VARCHAR(16) NOT NULL, score INTEGER, rep_tier VARCHAR(16), "
                "rep_was VARCHAR(16), PRIMARY KEY (connection, org, account_id))"
            )
        conn.execute(insert(meta).values(key="schema_version", value="5"))
        conn.execute(
            insert(written),
            [
                {
                    "connection": "crm",
                    "org": "o1",
                    "account_id": "A1",
                    "tier": "Tier 2",
                    "score": 70,
                    "rep_tier": None,
                    "rep_was": None,
                },
                {
                    "connection": "crm",
                    "org": "o1",
                    "account_id": "A2",
                    "tier": "Tier 1",
                    "score": None,
                    "rep_tier": "Tier 1",
                    "rep_was": "Tier 3",
                },
                {
                    "connection": "crm",
                    "org": "o2",
                    "account_id": "A1",
                    "tier": "Tier 4",
                    "score": 5,
                    "rep_tier": None,
                    "rep_was": None,
                },
            ],
        )
    old.dispose()
    before = _written_sql(state_url)
    assert before is None or "WITHOUT ROWID" not in before.upper()

    state = StateStore(state_url)
    try:
        with state.engine.connect() as conn:
            version = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version"))
            assert int(version.scalar_one()) == SCHEMA_VERSION == 7
        after = _written_sql(state_url)
        assert after is None or after.upper().endswith("WITHOUT ROWID")
        values = WrittenValues(state.engine, "crm", "o1")
        assert values.get(["A1", "A2", "A3"]) == {
            "A1": Written("Tier 2", 70),
            "A2": Written("Tier 1", None, "Tier 1", "Tier 3"),
        }
        values.put_many(["A1", "A3"], ["Tier 3", "Tier 4"], [55, 10])
        assert values.get(["A1", "A3"]) == {
            "A1": Written("Tier 3", 55),
            "A3": Written("Tier 4", 10),
        }
        assert WrittenValues(state.engine, "crm", "o2").get(["A1"]) == {"A1": Written("Tier 4", 5)}
    finally:
        state.close()
    StateStore(state_url).close()  # upgrading again finds nothing to do
    assert _written_sql(state_url) == after


def _history_as_version_6(conn: Connection) -> None:
    """The history table as version 6 made it: every column of the run's values NOT NULL."""
    if conn.dialect.name != "sqlite":
        for name in HISTORY_OF_RUN:
            conn.exec_driver_sql(f"ALTER TABLE {history.name} ALTER COLUMN {name} SET NOT NULL")
        return
    conn.exec_driver_sql(f"DROP TABLE {history.name}")
    conn.exec_driver_sql(
        f"CREATE TABLE {history.name} (id INTEGER NOT NULL, run_id INTEGER NOT NULL, "
        "connection VARCHAR(64) NOT NULL, org VARCHAR(255) DEFAULT '' NOT NULL, "
        "account_id VARCHAR(64) NOT NULL, at VARCHAR(40) NOT NULL, old_score INTEGER, "
        "new_score INTEGER NOT NULL, old_tier VARCHAR(16), new_tier VARCHAR(16) NOT NULL, "
        "flags VARCHAR(255) NOT NULL, profile_version VARCHAR(32) NOT NULL, PRIMARY KEY (id))"
    )
    conn.exec_driver_sql(
        f"CREATE INDEX ix_icpsync_score_history_account_id ON {history.name} (account_id)"
    )


def _nullable(url: str) -> dict[str, bool]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {c["name"]: c["nullable"] for c in inspect(conn).get_columns(history.name)}
    finally:
        engine.dispose()


def _run(org: str, started: datetime, profile: str) -> dict[str, object]:
    return {
        "connection": "crm",
        "org": org,
        "mode": "full",
        "started_at": started.isoformat(),
        "profile_version": profile,
        "complete": True,
        "report": "{}",
        "status": "complete",
    }


def _row(run_id: int, org: str, at: datetime, profile: str, score: int) -> dict[str, object]:
    return {
        "run_id": run_id,
        "connection": "crm",
        "org": org,
        "account_id": "A1",
        "at": at.isoformat(),
        "old_score": None,
        "new_score": score,
        "old_tier": None,
        "new_tier": "Tier 3",
        "flags": "f",
        "profile_version": profile,
    }


def test_a_version_6_database_keeps_its_history_and_new_rows_leave_the_runs_values_to_it(
    state_url: str,
) -> None:
    if state_url.startswith("sqlite:///"):
        Path(state_url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    later = NOW + timedelta(days=1)
    old = create_engine(state_url)
    metadata.create_all(old)
    with old.begin() as conn:
        _history_as_version_6(conn)
        conn.execute(insert(meta).values(key="schema_version", value="6"))
        for org in ("o1", "o2"):  # runs 1 and 2
            conn.execute(insert(runs).values(_run(org, NOW, "p1")))
        conn.execute(
            insert(history),
            [
                _row(1, "o1", NOW, "p1", 40),
                _row(1, "o1", later, "p0", 41),  # not the run's time and profile
                _row(2, "o2", NOW, "p1", 42),
                _row(9, "o1", NOW, "p1", 43),  # a run no longer kept
            ],
        )
        before = [dict(r._mapping) for r in conn.execute(select(history).order_by(history.c.id))]
    old.dispose()
    assert not any(_nullable(state_url)[name] for name in HISTORY_OF_RUN)

    state = StateStore(state_url)
    try:
        with state.engine.connect() as conn:
            version = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version"))
            assert int(version.scalar_one()) == SCHEMA_VERSION == 7
            kept = [dict(r._mapping) for r in conn.execute(select(history).order_by(history.c.id))]
        assert kept == before  # every row and id kept as it was
        assert all(_nullable(state_url)[name] for name in HISTORY_OF_RUN)
        assert state.account_history("A1") == before
        assert state.account_history("A1", org="o1") == [before[0], before[1], before[3]]
        assert "ix_icpsync_score_history_account_id" in _indexes(state_url)

        report = RunReport(crm="crm", org="o1", started_at=later.isoformat(), profile_version="p2")
        run_id = state.start_run(report)
        update_ = ScoreUpdate(
            "A1", 70, "Tier 2", ("x",), "r", "p2", later, CurrentIcp(43, "Tier 3")
        )
        state.record_history(run_id, "crm", [update_], org="o1")
        with state.engine.connect() as conn:
            stored = conn.execute(select(history).where(history.c.run_id == run_id)).one()
        assert [stored._mapping[name] for name in HISTORY_OF_RUN] == [None] * 4  # the run's
        newest = state.account_history("A1", org="o1")[-1]
        assert list(newest) == [c.name for c in history.c]
        assert {k: v for k, v in newest.items() if k != "id"} == {
            "run_id": run_id,
            "connection": "crm",
            "org": "o1",
            "account_id": "A1",
            "at": later.isoformat(),
            "old_score": 43,
            "new_score": 70,
            "old_tier": "Tier 3",
            "new_tier": "Tier 2",
            "flags": "x",
            "profile_version": "p2",
        }
    finally:
        state.close()
    StateStore(state_url).close()  # upgrading again finds nothing to do
    assert all(_nullable(state_url)[name] for name in HISTORY_OF_RUN)


def test_history_left_to_a_run_without_an_org_follows_the_run_to_the_org_that_adopts_it(
    tmp_path: Path,
) -> None:
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        report = RunReport(crm="crm", org=None, started_at=NOW.isoformat(), profile_version="p1")
        run_id = state.start_run(report)
        update_ = ScoreUpdate("A1", 70, "Tier 2", (), "r", "p1", NOW, CurrentIcp(None, None))
        state.record_history(run_id, "crm", [update_], org="")
        assert [r["org"] for r in state.account_history("A1", org="")] == [""]
        assert state.adopt_org("crm", "o1") >= 1
        assert [r["org"] for r in state.account_history("A1", org="o1")] == ["o1"]
        assert state.account_history("A1", org="") == []
        state.record_history(run_id, "crm", [update_], org="o1")  # after: its own org kept
        assert [r["org"] for r in state.account_history("A1")] == ["o1", "o1"]
    finally:
        state.close()
