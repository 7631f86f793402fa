"""Six sync runs over the file connector, recorded: every write, every report and the state
store's contents after each run.

The record of the previous release is stored in ``tests/fixtures/sync_scenario.json.gz``;
``tests/test_sync_scenario.py`` replays the scenario and compares. The runs go through the
sync loop's every branch: a first full sync with records the CRM refuses for good (one of
them applied all the same, so the next run finds it right), an incremental run with nothing
new, a full run with reps' direct edits kept as the override, an incremental run over
accounts and deals changed since, a full run reverting edits, and a dry run.

Record it again (only when the stored outputs must change, and say why in the commit)::

    PYTHONPATH=. /work/venv/bin/python tests/sync_scenario.py tests/fixtures/sync_scenario.json.gz
"""

from __future__ import annotations

import csv
import gzip
import json
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from synthetic_files import write_synthetic

from icpsync.connectors.file import FileConnector
from icpsync.core.model import RecordFailure, ScoreUpdate, WriteReport
from icpsync.engine.settings import Settings, load_settings
from icpsync.engine.state import (
    StateStore,
    baselines,
    dirty_accounts,
    drift_log,
    failures,
    history_rows,
    opportunities,
    runs,
    written,
)
from icpsync.engine.sync import run_once

NOW = datetime(2026, 11, 1, tzinfo=UTC)
LATER = datetime(2026, 11, 2, tzinfo=UTC)
#: refused for good in the first run; the second of them is applied all the same.
REFUSED = ("A0000007", "A0000011")
#: tables compared (the lease, the cursors' times and the schema version vary by design); the
#: history as the store reads it back (a row's run values are kept in the run's row).
TABLES = {
    "written": (written, ("account_id",)),
    "failures": (failures, ("account_id",)),
    "history": (history_rows().subquery(), ("run_id", "account_id", "at")),
    "runs": (runs, ("id",)),
    "drift_log": (drift_log, ("run_id",)),
    "baselines": (baselines, ("profile_version",)),
    "opportunities": (opportunities, ("id",)),
    "dirty_accounts": (dirty_accounts, ("account_id",)),
}
VOLATILE = {"id", "holder", "org", "duration_s"}
#: wall-clock times (the read's start): only whether one is set is compared.
CLOCKED = {"cursor"}


class Recording(FileConnector):
    """The file connector, keeping every ``write_scores`` call; ``refuse`` ids are reported
    refused for good (``apply_refused``: written to the file all the same)."""

    refuse: tuple[str, ...] = ()
    apply_refused: tuple[str, ...] = ()
    calls: list[list[str]]

    def write_scores(self, updates: Sequence[ScoreUpdate]) -> WriteReport:
        self.calls.append([repr(u) for u in updates])
        kept = [u for u in updates if u.account_id not in self.refuse]
        kept += [u for u in updates if u.account_id in self.apply_refused]
        report = super().write_scores(kept)
        refused = [u for u in updates if u.account_id in self.refuse]
        report.attempted = len(updates)
        report.updated = len(updates) - len(refused)
        report.failures += [RecordFailure(u.account_id, "INVALID_OPTION", False) for u in refused]
        return report


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _rewrite(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _rep_edits(output: Path, ids: Sequence[str]) -> None:
    """A rep changes the tier of these accounts in the output (the CRM)."""
    rows = _rows(output)
    for row in rows:
        if row["id"] in ids:
            row["icp_tier"] = "Tier 3" if row["icp_tier"] != "Tier 3" else "Tier 1"
    _rewrite(output, rows)


def _touch(accounts: Path, opportunities_path: Path) -> None:
    """Five accounts change after the cursor; three others only through a new deal each."""
    rows = _rows(accounts)
    for row in rows[20:25]:
        row["employees"] = str(int(row["employees"] or 0) + 900)
        row["last_modified"] = "2100-01-01T00:00:00+00:00"
    rows[30]["last_modified"] = "2100-01-01T00:00:00+00:00"  # a kept edit, read again
    _rewrite(accounts, rows)
    deals = _rows(opportunities_path)
    for n, row in enumerate(rows[40:43]):
        deals.append(
            {
                **deals[0],
                "id": f"NEW{n}",
                "account_id": row["id"],
                "stage": "Closed Won",
                "is_closed": "True",
                "is_won": "True",
                "amount": "50000",
                "closed": "2026-10-20",
                "last_modified": "2100-01-01T00:00:00+00:00",
            }
        )
    _rewrite(opportunities_path, deals)


def _plain(value: Any) -> Any:
    if isinstance(value, str) and value[:1] == "{":
        try:
            data = json.loads(value)
        except ValueError:
            return value
        return _kept(data)
    return value


def _kept(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """The items of a report, in order (the JSON kept in the state store, byte for byte)."""
    return [(k, v is not None if k in CLOCKED else v) for k, v in data.items() if k not in VOLATILE]


def _state(state: StateStore) -> dict[str, list[dict[str, Any]]]:
    out = {}
    with state.engine.connect() as conn:
        for name, (table, order) in TABLES.items():
            query = select(table).order_by(*(table.c[c] for c in order))
            out[name] = [
                {k: _plain(v) for k, v in row._mapping.items() if k not in VOLATILE}
                for row in conn.execute(query)
            ]
    return out


def _report(report: Any) -> list[tuple[str, Any]]:
    return _kept(report.to_dict())


def run_scenario(folder: Path) -> list[dict[str, Any]]:
    """Run the six runs in ``folder``; per run its writes, report, output file and state."""
    accounts, deals = write_synthetic(folder, accounts=400, opportunities=1000, seed=13)
    output = folder / "out.csv"
    config = folder / "icpsync.toml"

    def settings(policy: str) -> Settings:
        config.write_text(
            f'[sync]\ncrm = "file"\nhuman_edits = "{policy}"\nexamples = 7\n'
            f'[state]\ndir = "{folder / "state"}"\n'
            f'[file]\naccounts = "{accounts}"\nopportunities = "{deals}"\noutput = "{output}"\n'
        )
        return load_settings(config)

    state = StateStore(settings("keep").state.database_url())
    record = []

    def run(name: str, policy: str, now: datetime = NOW, **options: Any) -> None:
        current = settings(policy)
        connector = Recording.from_settings(current)
        connector.calls = []
        if name == "first":
            connector.refuse, connector.apply_refused = REFUSED, REFUSED[1:]
        try:
            report = run_once(current, connector=connector, state=state, now=now, **options)
        finally:
            connector.close()
        record.append(
            {
                "run": name,
                "writes": connector.calls,
                "report": _report(report),
                "output": output.read_text() if output.exists() else None,
                "state": _state(state),
            }
        )

    try:
        run("first", "keep")
        run("nothing new", "keep")
        ids = [r["id"] for r in _rows(output)]
        _rep_edits(output, [ids[30], ids[31], ids[32], ids[33]])
        run("kept edits", "keep", full=True)
        _touch(accounts, deals)
        run("incremental", "keep", LATER)
        _rep_edits(output, [ids[50], ids[51], ids[52]])
        run("reverted edits", "revert", LATER, full=True)
        _rep_edits(output, [ids[60]])
        run("dry run", "keep", LATER, full=True, dry_run=True)
    finally:
        state.close()
    return record


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        record = run_scenario(Path(tmp))
    with gzip.open(sys.argv[1], "wt", encoding="utf-8") as handle:
        json.dump(record, handle, indent=0, sort_keys=True)


if __name__ == "__main__":
    main()
