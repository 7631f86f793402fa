"""Commands over the state store: ``runs``, ``failures``, ``drift``, ``schedule``, ``demo``."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from icpsync.cli.output import echo_json, table


@click.command()
@click.option("--crm", help="Only runs of this connection.")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs(ctx: click.Context, crm: str | None, limit: int, as_json: bool) -> None:
    """List past runs, newest first, with their status (running, complete, partial,
    stopped, failed, or crashed: died without finishing)."""
    from icpsync.cli.context import state_from

    with state_from(ctx) as state:
        rows = state.list_runs(crm, limit)
        check = state.last_validation(crm)
    if as_json:
        echo_json(rows)
        return
    click.echo(
        table(
            (
                "run",
                "crm",
                "org",
                "mode",
                "status",
                "started",
                "read",
                "changed",
                "written",
                "failed",
                "calls",
                "seconds",
                "why",
            ),
            [
                (
                    r["run_id"],
                    r["crm"],
                    r.get("org") or "-",
                    r["mode"],
                    r["status"],
                    r["started_at"][:19],
                    r["accounts_read"],
                    r["changed"],
                    r["written"],
                    r["failed"],
                    r["api_calls"]["total"],
                    r["duration_s"],
                    _why(r),
                )
                for r in rows
            ],
        )
    )
    from icpsync.evidence.scheduled import describe_verdict  # heavy: only when printed

    click.echo(describe_verdict(check))


def _why(run: dict[str, object]) -> str:
    """One short line on why a run did not complete."""
    status = run["status"]
    if status == "crashed":
        return "died without finishing (killed, or its host went away)"
    text = run.get("error") or run.get("stopped") or ""
    if not text and status == "partial":
        quarantined, unplaced = run.get("quarantined") or 0, run.get("unplaced_count") or 0
        text = f"{quarantined} quarantined, {unplaced} not placed"
    text = str(text)
    return text if len(text) <= 60 else text[:57] + "..."


@click.command()
@click.option("--crm", help="Only records of this connection.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def failures(ctx: click.Context, crm: str | None, as_json: bool) -> None:
    """List the quarantined records: refused by the CRM for good (or not placed by the
    reader); retried by the next full run or `sync --retry-failed`."""
    from icpsync.cli.context import state_from
    from icpsync.engine.quarantine import list_failures

    with state_from(ctx) as state:
        rows = list_failures(state.engine, crm)
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no quarantined records" + (f" for {crm}" if crm else ""))
        return
    click.echo(
        table(
            ("crm", "org", "record", "attempts", "first seen", "last seen", "reason"),
            [
                (
                    r["crm"],
                    r["org"] or "-",
                    r["record_id"],
                    r["attempts"],
                    r["first_seen"][:19],
                    r["last_seen"][:19],
                    r["reason"],
                )
                for r in rows
            ],
        )
    )
    click.echo(
        f"{len(rows)} records quarantined; `icpsync sync --retry-failed` (or a full run) "
        "retries them"
    )


@click.command()
@click.option("--crm", help="Only drift of this connection.")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def drift(ctx: click.Context, crm: str | None, limit: int, as_json: bool) -> None:
    """Show the drift log: tier changes, PSI, and whether recent wins still land in Tier 1-2."""
    from icpsync.cli.context import state_from

    with state_from(ctx) as state:
        rows = state.list_drift(crm, limit)
        check = state.last_validation(crm)
    if as_json:
        echo_json(rows)
        return
    rows = [r for r in rows if r.get("kind") != "validation"]

    def pct(value: object) -> str:
        return f"{value:.1%}" if isinstance(value, int | float) else "-"

    click.echo(
        table(
            (
                "run",
                "crm",
                "org",
                "at",
                "tier changed",
                "rep edits",
                "PSI",
                "recent wins in T1-2",
                "baseline",
                "warnings",
            ),
            [
                (
                    r["run_id"],
                    r["connection"],
                    r.get("org") or "-",
                    r["at"][:19],
                    pct(r.get("tier_change_share")),
                    r.get("human_edits", 0),
                    r.get("psi") if r.get("psi") is not None else "-",
                    pct(r.get("recent_wins_top_tiers_share")),
                    pct(r.get("profile_baseline")),
                    len(r.get("warnings", [])),
                )
                for r in rows
            ],
        )
    )
    from icpsync.evidence.scheduled import describe_verdict  # heavy: only when printed

    click.echo(describe_verdict(check))


@click.command()
@click.option("--once", is_flag=True, help="Run every due job once and exit (for cron and tests).")
@click.pass_context
def schedule(ctx: click.Context, once: bool) -> None:
    """Keep ICP values current: incremental syncs every N minutes, a full one on a cron."""
    from icpsync.cli.context import settings_from
    from icpsync.engine.scheduler import due_jobs, run_job, serve
    from icpsync.engine.state import StateStore
    from icpsync.evidence.scheduled import run_validation

    settings = settings_from(ctx)
    config_path = ctx.find_root().obj.get("config_path")
    config = str(config_path) if config_path else None
    if not once:
        serve(settings, config)
        return
    state = StateStore(settings.state.database_url())
    try:
        jobs = due_jobs(settings, state, datetime.now(UTC))
    finally:
        state.close()
    all_ok = True
    for job in jobs:
        if job.validate:
            verdict = run_validation(config, job.connection)
            all_ok = all_ok and verdict is not None
            click.echo(f"{job.id}: " + ("failed (see log)" if verdict is None else "checked"))
            continue
        summary = run_job(config, job.connection, job.full)
        ok = summary is not None and summary["status"] == "complete"
        all_ok = all_ok and ok
        click.echo(
            f"{job.id}: "
            + (
                "skipped or failed (see log)"
                if summary is None
                else f"scored {summary['scored']}, wrote {summary['written']}, "
                f"failed {summary['failed']}"
                + (f", stopped: {summary['stopped']}" if summary["stopped"] else "")
            )
        )
    if not all_ok:
        sys.exit(1)


@click.command()
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep the demo's state here (default: a temporary folder).",
)
@click.option("--accounts", default=2000, show_default=True, help="Accounts per sandbox CRM.")
@click.option(
    "--edits",
    default=200,
    show_default=True,
    help="Records a 'user' edits before the incremental run.",
)
def demo(state_dir: Path | None, accounts: int, edits: int) -> None:
    """Run the whole product against local Salesforce and HubSpot sandboxes; no credentials."""
    from icpsync.cli.demo import run_demo

    run_demo(state_dir=state_dir, accounts=accounts, edits=edits, echo=click.echo)
