"""The version-3 migration (state keyed by org) on SQLite and on a real PostgreSQL server
(``pgserver`` starts one from a wheel): tables keyed by connection are rebuilt with the org
in their key, the other tables gain the column, every row is kept, and a run afterwards
adopts them for its org."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Column, Index, MetaData, Table, create_engine, insert, select

from icpsync.connectors.file import FileConnector
from icpsync.core.default_profile import default_profile
from icpsync.engine import state as schema
from icpsync.engine.settings import Settings
from icpsync.engine.state import StateStore
from icpsync.engine.sync import run_once

NOW = datetime(2026, 11, 1, tzinfo=UTC)
VERSION = default_profile().version


def _version_2() -> MetaData:
    """The schema of version 2: the same tables without ``org`` (nor the runs' ``status``
    and ``holder`` of version 4)."""
    old = MetaData()
    later = {"org", "status", "holder"}
    for table in (*schema.ORG_TABLES, schema.meta):
        columns = [
            Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in table.columns
            if c.name not in later
        ]
        copy = Table(table.name, old, *columns)
        for column in table.columns:
            if column.index and column.name not in later:
                copy.c[column.name].index = True
    Index(
        "ix_icpsync_opportunities_account",
        old.tables["icpsync_opportunities"].c.connection,
        old.tables["icpsync_opportunities"].c.account_id,
    )
    return old


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    pgserver = pytest.importorskip("pgserver")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    # Not under tmp_path: run as root, pgserver hands the data folder to its own user,
    # which must reach it (pytest's folders are private to the user running the tests).
    folder = Path(tempfile.mkdtemp(prefix="icpsync-pg-"))
    server = pgserver.get_server(folder, cleanup_mode="stop")
    try:
        yield server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def test_version_2_state_is_migrated_and_adopted_by_the_first_org(
    database_url: str, sample_files: tuple[Path, Path], tmp_path: Path
) -> None:
    engine = create_engine(database_url)
    old = _version_2()
    old.create_all(engine)
    t = old.tables
    with engine.begin() as conn:
        conn.execute(insert(t["icpsync_meta"]).values(key="schema_version", value="2"))
        conn.execute(
            insert(t["icpsync_runs"]).values(
                connection="file",
                mode="full",
                started_at=NOW.isoformat(),
                profile_version=VERSION,
                complete=True,
                report='{"crm": "file"}',
            )
        )
        for obj in ("accounts", "opportunities"):
            conn.execute(
                insert(t["icpsync_cursors"]).values(
                    connection="file", object=obj, value=NOW.isoformat()
                )
            )
        conn.execute(
            insert(t["icpsync_profile_baselines"]).values(
                connection="file", profile_version=VERSION, share=0.5, at=NOW.isoformat()
            )
        )
    engine.dispose()

    state = StateStore(database_url)
    try:
        with state.engine.connect() as conn:
            version = conn.execute(
                select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")
            ).scalar_one()
            assert int(version) == schema.SCHEMA_VERSION
            cursors = conn.execute(select(schema.cursors)).all()
        assert sorted((c.object, c.org) for c in cursors) == [
            ("accounts", ""),
            ("opportunities", ""),
        ]
        accounts, opportunities = sample_files
        settings = Settings(
            sync={"crm": "file"},
            file={
                "accounts": accounts,
                "opportunities": opportunities,
                "output": tmp_path / "out.csv",
            },
        )
        connector = FileConnector.from_settings(settings)
        org = connector.org_id()
        try:  # the previous release's cursor is this org's now: an incremental run
            report = run_once(settings, connector=connector, state=state, now=NOW)
        finally:
            connector.close()
        assert report.mode == "incremental"
        assert state.profile_baseline("file", VERSION, org=org) == 0.5
        assert [r["org"] for r in state.list_runs("file")] == [org, org]
        # the version-2 run has no status column value: it is read from its report
        assert [r["status"] for r in state.list_runs("file")] == ["complete", "complete"]
        # a second org keeps its own key: the rebuilt tables take both
        state.set_cursor("file", "accounts", NOW, org="elsewhere")
        assert state.cursor("file", "accounts", org="elsewhere") == NOW
        assert state.cursor("file", "accounts", org=org) != NOW  # moved by the run
    finally:
        state.close()
