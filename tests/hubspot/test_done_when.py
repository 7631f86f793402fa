"""The issue's "done when", through the CLI, on a sandbox past the 10,000-result search cap.

The limit is raised on both sides (sandbox and connector at 2,000 per 10 s) so the run is
CPU-bound; test_sync.py proves no 429 at the default (Professional) limit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from icpsync.cli import cli
from icpsync.connectors.hubspot.sandbox import Sandbox, edit_accounts
from icpsync.engine.settings import load_settings

COMPANIES, DEALS = 10_500, 10_500


def _run(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
    return result.exit_code, result.stdout


@pytest.mark.slow
def test_install_doctor_sync_resync_and_increment_on_a_large_portal(
    start_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sandbox = start_sandbox(COMPANIES, DEALS, rate_limit=2000, search_per_second=100)
    config = sandbox.write_config(
        tmp_path / "icpsync.toml", sync={"cursor_overlap_s": 0}, write_concurrency=4
    )  # no clock-skew allowance: the runs are milliseconds apart (see test_sync.py)

    assert _run(config, "install", "--crm", "hubspot")[0] == 0
    sandbox.reset_stats()
    assert _run(config, "install", "--crm", "hubspot")[0] == 0
    assert not [k for k in sandbox.stats() if k.startswith(("create_", "update_"))]
    code, checks = _run(config, "doctor", "--crm", "hubspot")
    assert code == 0, checks

    sandbox.reset_stats()
    code, out = _run(config, "sync", "--crm", "hubspot", "--json")
    full = json.loads(out)
    stats = sandbox.stats()
    assert code == 0 and full["written"] == COMPANIES and full["failed"] == 0
    assert stats["list_companies"] == math.ceil(COMPANIES / 100)
    assert stats["list_deals"] == math.ceil(DEALS / 100)
    assert stats["batch_update_companies"] == math.ceil(COMPANIES / 100)
    assert stats["account_details"] == 1  # the portal id the state is kept under
    # one read of the company property definitions: which mapped properties the portal lacks
    assert stats["list_properties_companies"] == 1
    assert stats["total"] == 2 + stats["list_companies"] + stats["list_deals"] + math.ceil(
        COMPANIES / 100
    )
    assert stats.get("429", 0) == 0

    sandbox.reset_stats()
    code, out = _run(config, "sync", "--crm", "hubspot", "--json")
    again = json.loads(out)
    assert code == 0 and again["mode"] == "incremental" and again["written"] == 0
    assert again["accounts_read"] == COMPANIES  # every one was written after the cursor
    stats = sandbox.stats()
    assert stats["search_companies"] > 10_000 // 200  # past the cap: re-windowed
    assert stats.get("list_deals", 0) == 0 and stats["search_deals"] == 1

    edited = edit_accounts(load_settings(config), 100, 11)
    before = sandbox.values()
    sandbox.reset_stats()
    code, out = _run(config, "sync", "--crm", "hubspot", "--json")
    third = json.loads(out)
    after = sandbox.values()
    changed = {c for c in after if after[c] != before[c]}
    assert code == 0 and third["accounts_read"] == 100
    assert third["written"] == len(changed) and changed <= set(edited)
    assert sandbox.stats()["search_companies"] == 1
    # portal id, property definitions, company search, deal search, one update
    assert sandbox.stats()["total"] <= 5
    assert max(sandbox.write_counts().values()) == 1
