"""The ``icpsync`` command line. Every command shares one error policy: a config problem
prints one line and exits 2; a locked connection exits 3; a CRM failure exits 1; no
traceback reaches the user."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from icpsync import __version__
from icpsync.cli.context import EXIT_CONFIG, EXIT_FAILED, EXIT_LOCKED, profile_for, settings_from
from icpsync.cli.lazy_group import LazyGroup
from icpsync.cli.output import (
    echo_json,
    edit_summary,
    failure_summary,
    run_summary,
    table,
    tier_summary,
)
from icpsync.core.errors import ConfigError, ConnectorError, IcpSyncError, RunLocked

#: The commands of the other modules, imported when run or listed (``--help``).
_ELSEWHERE = {
    **{name: f"icpsync.cli.crm:{name}" for name in ("install", "uninstall", "doctor", "sandbox")},
    **{
        name: f"icpsync.cli.history:{name}"
        for name in ("runs", "failures", "drift", "schedule", "demo")
    },
    "learn": "icpsync.cli.evidence:learn_command",
    "report": "icpsync.cli.evidence:report_command",
}


@click.group(
    cls=LazyGroup,
    lazy=_ELSEWHERE,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="icpsync")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Config file (default: $ICPSYNC_CONFIG, else ./icpsync.toml).",
)
@click.option("--log-json", is_flag=True, help="Log JSON lines instead of readable text.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, log_json: bool) -> None:
    """Score B2B accounts on ICP fit and keep the result current in your CRM."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["log_json"] = log_json


@cli.command()
@click.option(
    "--accounts",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    required=True,
    help="Accounts CSV or JSONL (canonical columns, or a Salesforce or HubSpot export).",
)
@click.option(
    "--opportunities",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Opportunities CSV or JSONL (for customer and deal aggregates).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the scored rows here (CSV; never one of the input files).",
)
@click.option(
    "--profile", "profile_path", type=click.Path(path_type=Path), help="Profile TOML to use."
)
@click.option(
    "--field-map",
    "field_map_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Field map TOML naming the files' columns (default: [file] field_map).",
)
@click.option("--encoding", help="The files' encoding (default: detected, e.g. utf-8).")
@click.option("--delimiter", help="The CSV delimiter: a character, or tab (default: sniffed).")
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write every row skipped or value set to missing here (CSV).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run report as one JSON object.")
@click.pass_context
def score(
    ctx: click.Context,
    accounts: Path,
    opportunities: Path | None,
    out: Path | None,
    profile_path: Path | None,
    field_map_path: Path | None,
    encoding: str | None,
    delimiter: str | None,
    rejects_path: Path | None,
    as_json: bool,
) -> None:
    """Score every row of an accounts file."""
    settings = settings_from(ctx)
    profile = profile_for(settings, profile_path)
    from icpsync.connectors.file.rejects import RejectLog
    from icpsync.engine.field_map import load_field_map
    from icpsync.engine.score_files import refuse_overwriting_inputs, score_files

    refuse_overwriting_inputs(rejects_path, accounts, opportunities, out, flag="--rejects")
    field_map = load_field_map(field_map_path or settings.file.field_map, base="file")
    inputs: list[str] = []
    with RejectLog(rejects_path) as rejects:
        report = score_files(
            accounts,
            opportunities,
            out,
            profile,
            now=datetime.now(UTC),
            field_map=field_map,
            encoding=encoding,
            delimiter=delimiter,
            rejects=rejects,
            on_input=inputs.append,
        )
    if as_json:
        data = report.to_dict()
        data["inputs"] = inputs
        data["rejects"] = {"count": rejects.count, "file": str(rejects_path or "") or None}
        echo_json(data)
    else:
        for line in inputs:
            click.echo(line)
        click.echo(tier_summary(report.tiers))
        click.echo(run_summary(report.to_dict()))
        for line in rejects.summary():
            click.echo(line)
    if not report.scored:
        raise ConfigError(
            "no account was scored (no row with an id)"
            + (" (every row is listed above)" if rejects.count and not as_json else "")
            + (f"; {out} was not written" if out else ""),
            source=str(accounts),
        )
    if as_json:
        return
    click.echo(
        f"profile {profile.name} (version {profile.version})"
        + (f"; scored rows written to {out}" if out else "")
    )


@cli.command()
@click.option("--crm", help="Connection to sync (default: [sync] crm).")
@click.option(
    "--full", is_flag=True, help="Read every account, not only those changed since the last run."
)
@click.option("--dry-run", is_flag=True, help="Write nothing; show what would change.")
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Also retry the quarantined records (icpsync failures lists them).",
)
@click.option(
    "--profile", "profile_path", type=click.Path(path_type=Path), help="Profile TOML to use."
)
@click.option("--json", "as_json", is_flag=True, help="Print the run report as one JSON object.")
@click.pass_context
def sync(
    ctx: click.Context,
    crm: str | None,
    full: bool,
    dry_run: bool,
    retry_failed: bool,
    profile_path: Path | None,
    as_json: bool,
) -> None:
    """Score the CRM's accounts and write back what changed.

    Exits 0 when every changed record was written, 1 when records were quarantined or not
    written or the run stopped, 143 after SIGTERM (the batch in flight is finished first).
    """
    from icpsync.cli.stop import EXIT_SIGTERM, StopOnSigterm
    from icpsync.engine.progress import progress_printer
    from icpsync.engine.quarantine import Quarantine
    from icpsync.engine.registry import build_connector
    from icpsync.engine.state import StateStore
    from icpsync.engine.sync import run_once

    settings = settings_from(ctx)
    profile = profile_for(settings, profile_path)
    connector = build_connector(settings, crm)
    state = StateStore(settings.state.database_url())
    try:
        with StopOnSigterm() as sigterm, progress_printer(enabled=not as_json) as on_progress:
            report = run_once(
                settings,
                connector=connector,
                state=state,
                full=full,
                dry_run=dry_run,
                profile=profile,
                on_progress=on_progress,
                should_stop=sigterm,
                retry_failed=retry_failed,
            )
        still_quarantined = Quarantine(state.engine, connector.name, report.org or "").count()
    finally:
        connector.close()
        state.close()
    data = report.to_dict()
    if as_json:
        echo_json(data)
    else:
        click.echo(tier_summary(report.tiers))
        click.echo(run_summary(data))
        if report.transitions:
            click.echo(
                table(
                    ("from", "to", "accounts"),
                    [(o, n, c) for (o, n), c in sorted(report.transitions.items())],
                )
            )
        for ex in report.examples:
            click.echo(
                f"  {ex['id']} {ex['name'] or ''}: {ex['from'] or '-'} -> {ex['to']} "
                f"({ex['score']}) {ex['reasons']}"
            )
        if report.human_edits:
            click.echo(edit_summary(report.human_edits))
        for warning in report.drift.get("warnings", []):
            click.echo(f"drift warning: {warning}")
        if report.status != "complete":
            click.echo(failure_summary(report))
        if still_quarantined and not dry_run:
            click.echo(
                f"{still_quarantined} records in quarantine in all: `icpsync failures` lists "
                "them; `icpsync sync --retry-failed` retries them"
            )
    if sigterm.received:
        sys.exit(EXIT_SIGTERM)
    if report.status != "complete":
        sys.exit(EXIT_FAILED)


@cli.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("check")
@click.pass_context
def config_check(ctx: click.Context) -> None:
    """Validate the config as every command would and print the effective settings,
    secrets masked."""
    import json

    from icpsync.engine.config_checks import check_config

    settings = settings_from(ctx)
    check_config(settings)
    profile = settings.active_profile()
    click.echo(f"config OK: {settings.source}")
    click.echo(json.dumps(settings.masked(), indent=2, default=str))
    click.echo(
        f"profile: {profile.name} (version {profile.version}, {len(profile.criteria)} criteria, "
        f"{len(profile.anti)} anti-ICP rules)"
    )


def main(argv: list[str] | None = None) -> None:
    """Console entry point with the shared error policy."""
    try:
        code = cli.main(args=argv, prog_name="icpsync", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except ConfigError as exc:
        click.echo(f"icpsync: config error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    except RunLocked as exc:
        click.echo(f"icpsync: {exc}", err=True)
        sys.exit(EXIT_LOCKED)
    except (ConnectorError, IcpSyncError) as exc:
        click.echo(f"icpsync: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # the last line of defence: one line, no traceback
        if os.environ.get("ICPSYNC_DEBUG"):
            raise
        click.echo(
            f"icpsync: unexpected error: {type(exc).__name__}: {exc} "
            "(set ICPSYNC_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(EXIT_FAILED)
