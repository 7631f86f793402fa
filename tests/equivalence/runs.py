"""The runs the corpus records, one procedure each, shared by ``make_corpus.py`` (run on the
release's code) and the tests (run on the code of the checkout): what differs between the
two is the code under them, never the procedure.

Each goes through entry points that outlive a rewrite of the internals: the ``icpsync``
command line, ``Normaliser.account`` / ``.opportunity``, ``Scorer.score`` /
``score_many``, and ``run_once`` against the CRM sandboxes.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from equivalence.codec import account_data, decode, opportunity_data, score_data

#: what the human summary prints that is not the result: how long the run took.
_DURATION = re.compile(r" in \d+(\.\d+)? s\b")
#: report keys that are the run's circumstances, not its result.
VOLATILE_REPORT_KEYS = ("started_at", "duration_s")


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    """Work in ``folder`` with no ``ICPSYNC_*`` setting from outside."""
    saved_cwd = Path.cwd()
    saved_env = {k: v for k, v in os.environ.items() if k.startswith("ICPSYNC_")}
    for key in saved_env:
        del os.environ[key]
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.update(saved_env)


def icpsync(folder: Path, args: list[str]) -> dict[str, Any]:
    """``icpsync ARGS`` in ``folder`` (paths in ``args`` relative to it): exit code, stdout
    (durations masked) and stderr."""
    from icpsync.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with _inside(folder), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return {
        "exit_code": code,
        "stdout": _DURATION.sub(" in <duration> s", out.getvalue()),
        "stderr": err.getvalue(),
    }


def score_report(folder: Path, args: list[str]) -> dict[str, Any]:
    """``icpsync ARGS --json``: exit code, stderr, and the report less its timing."""
    run = icpsync(folder, [*args, "--json"])
    report: dict[str, Any] | None = None
    if run["stdout"].strip():
        report = json.loads(run["stdout"])
        for key in VOLATILE_REPORT_KEYS:
            report.pop(key, None)
    return {"exit_code": run["exit_code"], "stderr": run["stderr"], "report": report}


# -- the normaliser ---------------------------------------------------------------------


def normalise(spec: dict[str, Any], *, rejects: bool) -> list[dict[str, Any]]:
    """Clean each stored raw record with one ``Normaliser``, in order.

    ``spec``: ``kind`` (``account`` or ``opportunity``), ``dedupe`` (accounts),
    ``vocabularies`` (field -> ``{"values": {...}, "keep_unknown": bool}``) and ``records``
    (encoded raw records). Per record: the clean fields (None when skipped), the bad values
    and skips it added, and (with ``rejects``) what ``on_reject`` was told.
    """
    from icpsync.core.model import ConnectorStats
    from icpsync.core.normalise import Normaliser, Reject, Vocabulary

    stats = ConnectorStats()
    told: list[Reject] = []
    vocabularies = {
        name: Vocabulary(dict(v["values"]), keep_unknown=v["keep_unknown"])
        for name, v in spec["vocabularies"].items()
    }
    normaliser = Normaliser(stats, vocabularies, told.append if rejects else None)
    results = []
    for row, encoded in enumerate(spec["records"], start=1):
        raw = decode(encoded)
        bad, skipped = dict(stats.bad_values), dict(stats.skipped)
        told.clear()
        if spec["kind"] == "account":
            clean = account_data(normaliser.account(raw, dedupe=spec["dedupe"], row=row))
        else:
            clean = opportunity_data(normaliser.opportunity(raw, row=row))
        result: dict[str, Any] = {
            "clean": clean,
            "bad_values": _added(bad, stats.bad_values),
            "skipped": _added(skipped, stats.skipped),
        }
        if rejects:
            result["rejects"] = [[r.row, r.id, r.column, r.value, r.reason] for r in told]
        results.append(result)
    return results


def _added(before: dict[str, int], after: Any) -> dict[str, int]:
    return {k: n - before.get(k, 0) for k, n in sorted(after.items()) if n != before.get(k, 0)}


# -- the scorer -------------------------------------------------------------------------


def scored(
    profile: Any, cases: list[dict[str, Any]], as_of: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every field of each account's score, from ``Scorer.score`` one by one and from
    ``score_many`` over the whole list (``cases``: encoded ``account`` and ``aggregates``
    keyword arguments)."""
    from icpsync.core.model import Account, Aggregates, CurrentIcp
    from icpsync.core.scoring import Scorer

    accounts, by_id = [], {}
    for case in cases:
        fields = decode(case["account"])
        current = CurrentIcp(**fields.pop("current", {}))
        account = Account(**fields, current=current)
        accounts.append(account)
        by_id[account.id] = Aggregates(**decode(case["aggregates"]))
    one_by_one = Scorer(profile)
    single = [score_data(one_by_one.score(a, by_id[a.id], as_of)) for a in accounts]
    many = [score_data(s) for s in Scorer(profile).score_many(accounts, by_id, as_of)]
    return single, many


# -- a sync against each CRM's sandbox --------------------------------------------------

#: the tool's fields as each sandbox stores them (score, tier, flags, reasons, version,
#: last change, override).
SYNC_FIELDS = {
    "salesforce": [
        "ICP_Score__c",
        "ICP_Tier__c",
        "ICP_Anti_Flags__c",
        "ICP_Reasons__c",
        "ICP_Profile_Version__c",
        "ICP_Scored_At__c",
        "ICP_Tier_Override__c",
    ],
    "hubspot": [
        "icp_score",
        "icp_tier",
        "icp_anti_flags",
        "icp_reasons",
        "icp_profile_version",
        "icp_scored_at",
        "icp_tier_override",
    ],
}
#: report keys that are not the sync's result: timing, the cursor (the sandbox stamps
#: writes with the wall clock), API calls (transport, not outcome).
SYNC_VOLATILE_KEYS = (*VOLATILE_REPORT_KEYS, "cursor", "api_calls", "org")


def _sandbox(crm: str, accounts: int, opportunities: int, seed: int) -> Any:
    if crm == "salesforce":
        from icpsync.connectors.salesforce.sandbox import Sandbox as SalesforceSandbox

        return SalesforceSandbox(accounts=accounts, opportunities=opportunities, seed=seed)
    from icpsync.connectors.hubspot.sandbox import Sandbox as HubSpotSandbox

    return HubSpotSandbox(
        accounts=accounts,
        opportunities=opportunities,
        seed=seed,
        rate_limit=10_000,
        search_per_second=100,
    )


def _settings_data(crm: str, box: Any, state_dir: Path) -> dict[str, Any]:
    if crm == "salesforce":
        data: dict[str, Any] = box.settings_overrides()
        data["salesforce"]["bulk_poll_s"] = 0.02
    else:
        data = box.settings_overrides(retry_backoff_s=0.01)
    data["sync"] = {**data["sync"], "lookback_days": 3650}
    data["state"] = {"dir": str(state_dir)}
    return data


def synced(crm: str, spec: dict[str, Any], profile: Any, state_dir: Path) -> dict[str, Any]:
    """A full sync of a freshly seeded, installed sandbox at ``spec["now"]``, then a second
    full sync a minute later: what the first wrote to each account, and what the second
    wrote (nothing, when nothing changed)."""
    from icpsync.engine.registry import build_connector
    from icpsync.engine.settings import Settings
    from icpsync.engine.state import StateStore
    from icpsync.engine.sync import run_once

    now = datetime.fromisoformat(spec["now"])
    box = _sandbox(crm, spec["accounts"], spec["opportunities"], spec["seed"])
    box.start()
    try:
        settings = Settings(**_settings_data(crm, box, state_dir))
        connector = build_connector(settings)
        try:
            connector.ensure_fields(dry_run=False)
        finally:
            connector.close()
        fields = SYNC_FIELDS[crm]
        before = box.values(fields)
        box.reset_stats()
        state = StateStore(settings.state.database_url())
        try:
            first = run_once(settings, state=state, now=now, full=True, profile=profile)
            after = box.values(fields)
            first_writes = box.write_counts()
            box.reset_stats()
            again = run_once(
                settings, state=state, now=now + timedelta(minutes=1), full=True, profile=profile
            )
            again_writes = box.write_counts()
        finally:
            state.close()
    finally:
        box.stop()
    written = {
        rid: dict(zip(fields, (_plain(v) for v in values), strict=True))
        for rid, values in sorted(after.items())
        if values != before.get(rid)
    }
    return {
        "first_run": _report(first.to_dict()),
        "written": written,
        "writes_per_account": sorted(set(first_writes.values())),
        "accounts_written": len(first_writes),
        "second_run": _report(again.to_dict()),
        "second_run_writes": dict(sorted(again_writes.items())),
    }


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _report(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in SYNC_VOLATILE_KEYS}
