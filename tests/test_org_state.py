"""State keyed by org, with the file connector: a second org starts with a full run, runs and
drift name the org, and state from the previous release is adopted by the first org seen."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from conftest import REPO, write_synthetic
from sqlalchemy import inspect, select

from icpsync.cli import cli
from icpsync.connectors.file import FileConnector
from icpsync.engine.run_report import RunReport
from icpsync.engine.settings import Settings, load_settings
from icpsync.engine.state import ORG_TABLES, SCHEMA_VERSION, StateStore, meta
from icpsync.engine.sync import run_once

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _config(folder: Path, state: Path, seed: int) -> Path:
    """A file-connector config over its own accounts (one org) with a shared state folder."""
    folder.mkdir(parents=True, exist_ok=True)
    accounts, opportunities = write_synthetic(folder, seed=seed)
    config = folder / "icpsync.toml"
    config.write_text(
        f'[sync]\ncrm = "file"\n[state]\ndir = "{state}"\n'
        f'[file]\naccounts = "{accounts}"\nopportunities = "{opportunities}"\n'
        f'output = "{folder / "out.csv"}"\n'
    )
    return config


def _run(settings: Settings, state: StateStore, **options: object) -> RunReport:
    connector = FileConnector.from_settings(settings)
    try:
        return run_once(settings, connector=connector, state=state, now=NOW, **options)  # type: ignore[arg-type]
    finally:
        connector.close()


def _cli(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
    return result.exit_code, result.stdout


def test_a_second_org_under_one_state_is_scored_in_full(tmp_path: Path) -> None:
    shared = tmp_path / "state"
    first = load_settings(_config(tmp_path / "org-a", shared, seed=5))
    second = load_settings(_config(tmp_path / "org-b", shared, seed=6))
    org_a = FileConnector.from_settings(first).org_id()
    org_b = FileConnector.from_settings(second).org_id()
    assert org_a != org_b and org_a.endswith("accounts.csv")
    state = StateStore(first.state.database_url())
    try:
        assert _run(first, state).written == 120
        again = _run(first, state)
        assert again.mode == "incremental" and again.accounts_read == 0

        other = _run(second, state)
        assert other.org == org_b
        assert other.mode == "full" and other.accounts_read == 120 and other.written == 120
        assert other.drift["psi"] is None  # no baseline of org A's: its own drift starts here
        assert state.cursor("file", "accounts", org=org_b) is not None
        assert _run(second, state).mode == "incremental"
        assert _run(first, state).mode == "incremental"  # org A's cursor is untouched

        runs = state.list_runs("file")
        assert [(r["org"], r["mode"]) for r in reversed(runs)] == [
            (org_a, "full"),
            (org_a, "incremental"),
            (org_b, "full"),
            (org_b, "incremental"),
            (org_a, "incremental"),
        ]
        assert {d["org"] for d in state.list_drift("file")} == {org_a, org_b}
        assert len(state.list_runs("file", org=org_b)) == 2
    finally:
        state.close()


def test_runs_and_drift_commands_show_the_org(tmp_path: Path) -> None:
    config = _config(tmp_path / "org", tmp_path / "state", seed=5)
    org = FileConnector.from_settings(load_settings(config)).org_id()
    code, out = _cli(config, "sync", "--json")
    assert code == 0 and json.loads(out)["org"] == org
    code, out = _cli(config, "runs", "--json")
    assert code == 0 and [(r["org"], r["status"]) for r in json.loads(out)] == [(org, "complete")]
    code, out = _cli(config, "runs")
    header = out.splitlines()[0]
    assert code == 0 and "org" in header and "status" in header and "accounts.csv" in out
    code, out = _cli(config, "drift", "--json")
    assert code == 0 and json.loads(out)[0]["org"] == org
    code, out = _cli(config, "drift")
    assert code == 0 and "rep edits" in out.splitlines()[0] and "accounts.csv" in out


def test_state_of_the_previous_release_is_migrated_and_adopted_by_the_first_org(
    tmp_path: Path,
) -> None:
    database = tmp_path / "state" / "icpsync.db"
    database.parent.mkdir()
    with sqlite3.connect(database) as conn:  # a version-2 database with one complete run
        conn.executescript((REPO / "tests/fixtures/state_v2.sql").read_text())
    settings = load_settings(_config(tmp_path / "org", tmp_path / "state", seed=5))
    org = FileConnector.from_settings(settings).org_id()
    state = StateStore(settings.state.database_url())
    try:
        with state.engine.connect() as conn:
            version = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version"))
            assert int(version.scalar_one()) == SCHEMA_VERSION == 7
            indexes = {i["name"] for i in inspect(conn).get_indexes("icpsync_score_history")}
            assert "ix_icpsync_score_history_run_id" not in indexes  # version 5 dropped it
            for table in ORG_TABLES:  # every table kept its rows, with an empty org
                orgs = {r[0] for r in conn.execute(select(table.c.org))}
                assert orgs <= {""}
        assert [r["status"] for r in state.list_runs("file")] == ["complete"]  # from v2's row

        report = _run(settings, state)
        assert report.mode == "incremental"  # the old cursor now belongs to this org
        assert [r["org"] for r in state.list_runs("file")] == [org, org]
        assert len(state.account_history("A0000000", org=org)) == 1
        with state.engine.connect() as conn:
            for table in ORG_TABLES:
                assert "" not in {r[0] for r in conn.execute(select(table.c.org))}

        newcomer = load_settings(_config(tmp_path / "other", tmp_path / "state", seed=6))
        assert _run(newcomer, state).mode == "full"  # a later org adopts nothing
    finally:
        state.close()


def test_a_connector_without_org_id_keeps_its_state_as_one_org(tmp_path: Path) -> None:
    class Older(FileConnector):
        """A connector written before orgs were kept."""

        org_id = None  # type: ignore[assignment]

    settings = load_settings(_config(tmp_path / "org", tmp_path / "state", seed=5))
    state = StateStore(settings.state.database_url())
    try:
        for expected in ("full", "incremental"):
            connector = Older.from_settings(settings)
            try:
                report = run_once(settings, connector=connector, state=state, now=NOW)
            finally:
                connector.close()
            assert report.mode == expected and report.org == ""
        assert state.cursor("file", "accounts", org="") is not None
    finally:
        state.close()
