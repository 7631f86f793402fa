"""Versions 5 and 6 of the state store's schema: an older database is upgraded in place on
SQLite and on a real PostgreSQL (``state_url``). Version 5 drops the history's index on
``run_id`` (which nothing reads); version 6 makes the written values' table ``WITHOUT
ROWID`` on SQLite. Every row is kept, and runs go on recording history and written values."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, insert, inspect, select

from icpsync.core.human_edits import Written
from icpsync.core.model import CurrentIcp, ScoreUpdate
from icpsync.engine.schema import SCHEMA_VERSION, history, meta, metadata, written
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
            assert int(version.scalar_one()) == SCHEMA_VERSION == 6
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
            assert int(version.scalar_one()) == SCHEMA_VERSION == 6
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
