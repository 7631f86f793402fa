"""Version 5 of the state store's schema: a database of version 4 is upgraded in place on
SQLite and on a real PostgreSQL (``state_url``): the history's index on ``run_id`` (which
nothing reads) is dropped, every row is kept, and runs go on recording history."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, insert, inspect, select

from icpsync.core.model import CurrentIcp, ScoreUpdate
from icpsync.engine.schema import SCHEMA_VERSION, history, meta, metadata
from icpsync.engine.state import StateStore

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
            assert int(version.scalar_one()) == SCHEMA_VERSION == 5
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
