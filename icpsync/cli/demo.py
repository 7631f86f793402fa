"""``icpsync demo``: the whole product against the local CRM sandboxes, no credentials.

For each connector with a sandbox (from the registry): start its sandbox on a free port,
install the fields, check them, run a full sync, show what a rep sees (the record section,
the tier lists' sizes), run it again (nothing to write), let a "user" edit records through
the CRM's API, then run an incremental sync, and print what happened in words a newcomer
understands.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from icpsync.cli.output import table, tier_summary
from icpsync.core.errors import IcpSyncError
from icpsync.engine.registry import build_connector, sandbox_module, sandbox_names
from icpsync.engine.run_report import RunReport
from icpsync.engine.settings import Settings
from icpsync.engine.state import StateStore
from icpsync.engine.sync import run_once

#: the sandboxes run on this machine's clock; one second covers timestamps' resolution.
CURSOR_OVERLAP_S = 1


def available_crms() -> list[str]:
    """The registered connectors whose sandbox is installed (Salesforce and HubSpot, and any
    other connector that declares one)."""
    found = []
    for crm in sandbox_names():
        try:
            sandbox_module(crm)
        except ImportError:
            continue
        found.append(crm)
    if not found:
        raise IcpSyncError("no sandbox CRM is installed; reinstall icpsync")
    return found


def _sync(settings: Settings, state: StateStore, crm: str) -> RunReport:
    connector = build_connector(settings, crm)
    try:
        return run_once(settings, connector=connector, state=state)
    finally:
        connector.close()


def _demo_crm(
    crm: str, state_dir: Path, accounts: int, edits: int, echo: Callable[[str], None]
) -> dict[str, Any]:
    module = sandbox_module(crm)
    with ExitStack() as stack:
        server = module.Sandbox(accounts=accounts, opportunities=accounts * 3, seed=7)
        server.start()
        stack.callback(server.stop)
        overrides = server.settings_overrides()
        overrides["state"] = {"dir": str(state_dir / crm)}
        # The sandbox runs on this machine's clock: no clock skew to allow for.
        overrides.setdefault("sync", {})["cursor_overlap_s"] = CURSOR_OVERLAP_S
        settings = Settings(**overrides)
        state = StateStore(settings.state.database_url())
        stack.callback(state.close)
        echo(f"\n== {crm}: sandbox at {server.url} with {accounts} accounts")

        connector = build_connector(settings, crm)
        try:
            steps = connector.ensure_fields(dry_run=False)
            checks = connector.preflight()
        finally:
            connector.close()
        echo(
            f"install: {sum(1 for s in steps if s.action not in ('none', 'unchanged'))} changes; "
            f"doctor: {sum(c.ok for c in checks)}/{len(checks)} checks pass"
        )

        full = _sync(settings, state, crm)
        rep_lines = _rep_view(settings, crm)
        # Our own writes bump the records' modification times, so the next run reads them
        # once more (and finds nothing to write). A pause longer than the cursor's overlap
        # keeps the run after that from reading them a third time.
        time.sleep(CURSOR_OVERLAP_S + 1)
        again = _sync(settings, state, crm)
        edited = module.edit_accounts(settings, edits, 11)
        incremental = _sync(settings, state, crm)

        echo(tier_summary(full.tiers))
        if rep_lines:
            echo("what a rep sees after the full sync:")
            for line in rep_lines:
                echo(f"  {line}")
        rows = [
            (
                name,
                r.mode,
                r.accounts_read,
                r.changed,
                r.written,
                r.failed,
                r.api_calls.total(),
                f"{r.duration_s:.1f}",
            )
            for name, r in (
                ("full sync", full),
                ("second sync (re-reads its own writes)", again),
                (f"after {len(edited)} edits", incremental),
            )
        ]
        echo(
            table(
                ("run", "mode", "read", "changed", "written", "failed", "API calls", "seconds"),
                rows,
            )
        )
        for ex in full.examples[:3] + incremental.examples[:2]:
            echo(f"  {ex['name'] or ex['id']}: {ex['to']} ({ex['score']}) - {ex['reasons']}")
        moved = incremental.drift.get("tier_changed", 0)
        echo(
            f"drift: {moved} accounts changed tier in the incremental run; "
            f"recent wins in Tier 1-2: {full.drift.get('recent_wins_top_tiers_share', 0):.0%}"
        )
        return {
            "crm": crm,
            "full": full.to_dict(),
            "second": again.to_dict(),
            "incremental": incremental.to_dict(),
        }


def _rep_view(settings: Settings, crm: str) -> list[str]:
    """What a rep sees: the record section and the tier lists' sizes (if the CRM says)."""
    connector = build_connector(settings, crm)
    try:
        view = getattr(connector, "rep_view", None)
        return list(view()) if view is not None else []
    finally:
        connector.close()


def run_demo(
    *, state_dir: Path | None, accounts: int, edits: int, echo: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Run the demo on every CRM with a sandbox; returns their run reports."""
    started = time.perf_counter()
    with ExitStack() as stack:
        if state_dir is None:
            state_dir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="icpsync-demo-"))
            )
        crms = available_crms()
        echo(
            f"icpsync demo: scoring accounts in {len(crms)} local sandbox CRMs "
            f"({', '.join(crms)}; no credentials needed)"
        )
        results = [_demo_crm(crm, Path(state_dir), accounts, edits, echo) for crm in crms]
    echo(
        f"\ndone in {time.perf_counter() - started:.0f} s. A real org: copy config.example.toml to "
        "icpsync.toml, fill in credentials, then `icpsync install`, `icpsync doctor`, "
        "`icpsync sync --dry-run`."
    )
    return results
