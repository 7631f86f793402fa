"""The sync loop's writes, reports and state store contents equal the previous release's,
run after run (the scenario and how its record was made: ``tests/sync_scenario.py``)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from sync_scenario import run_scenario

STORED = Path(__file__).parent / "fixtures" / "sync_scenario.json.gz"


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    record = run_scenario(tmp_path_factory.mktemp("scenario"))
    return json.loads(json.dumps(record, sort_keys=True))  # as stored: JSON types


@pytest.fixture(scope="module")
def stored() -> list[dict[str, Any]]:
    with gzip.open(STORED, "rt", encoding="utf-8") as handle:
        data: list[dict[str, Any]] = json.load(handle)
    return data


def test_the_scenario_goes_through_every_branch(stored: list[dict[str, Any]]) -> None:
    reports = {run["run"]: dict(run["report"]) for run in stored}
    assert reports["first"]["status"] == "partial" and reports["first"]["quarantined"] == 2
    assert reports["kept edits"]["released"] == 2
    assert {e["action"] for e in reports["kept edits"]["human_edits"]} == {"kept"}
    assert {e["action"] for e in reports["reverted edits"]["human_edits"]} == {"reverted"}
    assert reports["incremental"]["mode"] == "incremental"
    assert reports["incremental"]["accounts_read"] == 9  # 6 changed, 3 through their deals
    assert reports["dry run"]["changed"] == 1 and reports["dry run"]["written"] == 0


@pytest.mark.parametrize("step", range(6))
def test_each_run_writes_reports_and_keeps_what_the_previous_release_did(
    replayed: list[dict[str, Any]], stored: list[dict[str, Any]], step: int
) -> None:
    now, then = replayed[step], stored[step]
    assert now["run"] == then["run"]
    assert now["writes"] == then["writes"]
    assert now["report"] == then["report"]
    assert now["output"] == then["output"]
    for table, rows in then["state"].items():
        assert now["state"][table] == rows, table
