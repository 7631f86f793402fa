"""API calls a sync uses on each sandbox CRM, against the minimum the API allows and against
a naive writer that spends one call per changed record.

    python benchmarks/api_efficiency.py --accounts 20000 --opportunities 60000 [--crm salesforce]

For each CRM: a full sync, a no-change re-sync, and an incremental sync after 1% of the
accounts were edited through the CRM's API. Calls are counted by the sandbox itself
(``/__sandbox__/stats``), so nothing the connector forgets to count escapes. The minimum is
in ``api_minimum.py``: reads ceil(records / page size) or a Bulk job, writes ceil(changed /
batch size) or a Bulk job. The naive writer updates each changed record with its own call.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from api_minimum import minimum_calls

from icpsync.engine.registry import build_connector, sandbox_class
from icpsync.engine.settings import Settings
from icpsync.engine.state import StateStore
from icpsync.engine.sync import run_once


def _calls(server: Any) -> int:
    stats = server.stats()
    return int(stats.get("total", 0))


def _sync(
    settings: Settings, state: StateStore, crm: str, server: Any
) -> tuple[dict[str, Any], int]:
    server.reset_stats()
    connector = build_connector(settings, crm)
    try:
        report = run_once(settings, connector=connector, state=state)
    finally:
        connector.close()
    return report.to_dict(), _calls(server)


def measure(crm: str, accounts: int, opportunities: int) -> list[dict[str, Any]]:
    """The three runs on one CRM with their call counts and minima."""
    module = __import__(f"icpsync.connectors.{crm}.sandbox", fromlist=["edit_accounts"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        server = sandbox_class(crm)(accounts=accounts, opportunities=opportunities, seed=7)
        server.start()
        try:
            overrides = server.settings_overrides()
            overrides["state"] = {"dir": tmp}
            # The sandbox runs on this machine's clock: no skew to allow for.
            overrides.setdefault("sync", {})["cursor_overlap_s"] = 1
            settings = Settings(**overrides)
            state = StateStore(settings.state.database_url())
            connector = build_connector(settings, crm)
            connector.ensure_fields(dry_run=False)
            connector.close()
            for label in ("full sync", "no-change re-sync", "incremental, 1% edited"):
                if label != "full sync":
                    # Runs in a schedule are minutes apart; let the cursor's one-second
                    # overlap pass so a run does not read the previous run's writes again.
                    time.sleep(2)
                if label.startswith("incremental"):
                    module.edit_accounts(settings, max(1, accounts // 100), 11)
                started = time.perf_counter()
                report, calls = _sync(settings, state, crm, server)
                seconds = time.perf_counter() - started
                least = minimum_calls(crm, report, opportunities)
                minimum = least["reads"] + least["writes"]
                rows.append(
                    {
                        "crm": crm,
                        "run": label,
                        "mode": report["mode"],
                        "accounts_read": report["accounts_read"],
                        "opportunities_read": report["opportunities_read"],
                        "changed": report["changed"],
                        "written": report["written"],
                        "calls": calls,
                        "minimum": minimum,
                        "ratio": round(calls / minimum, 3) if minimum else None,
                        "naive_calls": least["reads"] + report["changed"],
                        "seconds": round(seconds, 2),
                        "by_kind": report["api_calls"],
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
            state.close()
        finally:
            server.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--crm", choices=["salesforce", "hubspot"], action="append")
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--opportunities", type=int, default=60_000)
    parser.add_argument("--out", type=Path, help="Also write the rows as JSON here.")
    args = parser.parse_args()
    rows = []
    for crm in args.crm or ["salesforce", "hubspot"]:
        rows += measure(crm, args.accounts, args.opportunities)
    print("\n| CRM | run | read | changed | calls | minimum | ratio | naive writer |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['crm']} | {r['run']} | {r['accounts_read']} | {r['changed']} | {r['calls']} | "
            f"{r['minimum']} | {r['ratio']} | {r['naive_calls']} |"
        )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
