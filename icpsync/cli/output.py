"""Terminal output shared by the commands: tables, tier summaries, check lists."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from icpsync.core.model import TIERS
from icpsync.core.text import table
from icpsync.engine.protocol import Check, PlanStep

if TYPE_CHECKING:
    from icpsync.engine.run_report import RunReport


def tier_summary(tiers: Mapping[str, int]) -> str:
    """Accounts per tier with their share."""
    total = sum(tiers.values()) or 1
    return table(
        ("tier", "accounts", "share"),
        [(t, tiers.get(t, 0), f"{tiers.get(t, 0) / total:.1%}") for t in TIERS],
    )


def echo_json(data: Any) -> None:
    """One JSON object on stdout."""
    click.echo(json.dumps(data, default=str, sort_keys=False))


def echo_checks(checks: Sequence[Check]) -> bool:
    """Print a check mark or a cross per line, with the fix for each cross; True if all pass."""
    for check in checks:
        mark = click.style("✓", fg="green") if check.ok else click.style("✗", fg="red")
        detail = f" ({check.detail})" if check.detail else ""
        click.echo(f"{mark} {check.name}{detail}")
        if not check.ok and check.fix:
            click.echo(f"    fix: {check.fix}")
    return all(c.ok for c in checks)


def echo_plan(steps: Sequence[PlanStep], *, dry_run: bool) -> None:
    """Print what install created (or would create)."""
    if not steps:
        click.echo("nothing to do: every field exists")
        return
    verb = "would" if dry_run else "did"
    for step in steps:
        if step.action in ("none", "unchanged", "keep fields"):
            state = "exists" if step.action == "none" else step.action
        else:
            state = f"{verb} {step.action}"
        click.echo(f"- {state}: {step.target}{' - ' + step.detail if step.detail else ''}")


def run_summary(data: Mapping[str, Any]) -> str:
    """A short human summary of a run report."""
    calls = data.get("api_calls", {})
    lines = [
        f"{data['crm']}{' (' + data['org'] + ')' if data.get('org') else ''} "
        f"{data['mode']} run{' (dry run)' if data.get('dry_run') else ''} "
        f"{data.get('status', '')}: "
        f"read {data['accounts_read']} accounts and {data['opportunities_read']} opportunities, "
        f"scored {data['scored']}, changed {data['changed']}, wrote {data['written']}, "
        f"unchanged {data['unchanged']}, failed {data['failed']} "
        f"in {data['duration_s']:.1f} s using {calls.get('total', 0)} API calls",
    ]
    if data.get("bad_values"):
        lines.append(
            "bad values (now missing): "
            + ", ".join(f"{k} {v}" for k, v in data["bad_values"].items())
        )
    if data.get("skipped"):
        lines.append(
            "skipped records: " + ", ".join(f"{k} {v}" for k, v in data["skipped"].items())
        )
    for note in data.get("unavailable") or []:
        lines.append(f"not scorable: {note}")
    if data.get("stopped"):
        lines.append(f"stopped early: {data['stopped']} (the next run resumes)")
    return "\n".join(lines)


def edit_summary(edits: Sequence[Mapping[str, Any]]) -> str:
    """The reps' direct edits a run found: one line each (id, rep's value, what we did)."""
    kept = sum(1 for e in edits if e["action"] == "kept")
    lines = [
        f"{len(edits)} direct edits by reps of the tool's fields "
        f"({kept} kept as the override, {len(edits) - kept} reverted):"
    ]
    for e in edits:
        if e["action"] == "kept":
            what = f"kept as the override (we had written {e['ours']})"
        else:
            what = f"restored {e['restored']}"
        lines.append(f"  {e['account_id']}: {e['field']} set to {e['rep_value']} by a rep; {what}")
    return "\n".join(lines)


#: quarantine reasons printed one a line after a run (the rest are summed up).
REASON_LINES = 10


def failure_summary(report: RunReport) -> str:
    """Why a run did not complete: the stop or error, the records quarantined (one line per
    reason, commonest first), those left to retry, and whether the cursor moved."""
    lines = []
    if report.error:
        lines.append(f"failed: {report.error}")
    if report.stopped:
        lines.append(f"stopped: {report.stopped}")
    if report.quarantined:
        lines.append(
            f"{report.quarantined} records quarantined (refused by the CRM for good; retried "
            "by the next full run or `sync --retry-failed`):"
        )
        reasons = report.quarantine_reasons.most_common()
        for reason, count in reasons[:REASON_LINES]:
            ids = [f.account_id for f in report.failures if f.reason == reason][:3]
            example = f" (e.g. {', '.join(ids)})" if ids else ""
            lines.append(f"  {count} x {reason}{example}")
        if len(reasons) > REASON_LINES:
            rest = sum(count for _, count in reasons[REASON_LINES:])
            lines.append(
                f"  {rest} more, for {len(reasons) - REASON_LINES} other reasons: "
                "`icpsync failures` lists every record"
            )
    if report.unplaced:
        lines.append(f"{len(report.unplaced)} records the reader could not place (quarantined):")
        for reason, count in Counter(report.unplaced.values()).most_common():
            ids = [i for i, why in report.unplaced.items() if why == reason][:3]
            lines.append(f"  {count} x {reason} (e.g. {', '.join(ids)})")
    retriable = [f for f in report.failures if f.retriable]
    if report.failed > report.quarantined:
        lines.append(f"{report.failed - report.quarantined} records not written; the commonest:")
        for reason, count in Counter(f.reason for f in retriable).most_common(3):
            ids = [f.account_id for f in retriable if f.reason == reason][:3]
            lines.append(f"  {count} x {reason} (e.g. {', '.join(ids)})")
    if report.complete:
        lines.append("the cursor moved: everything else was written")
    else:
        lines.append("the cursor did not move: the next run retries what was not written")
    return "\n".join(lines)
