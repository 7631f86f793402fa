"""CRM set-up commands: ``install``, ``uninstall``, ``doctor`` and ``sandbox``."""

from __future__ import annotations

import importlib
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from icpsync.cli.output import echo_checks, echo_plan
from icpsync.core.errors import ConfigError

SANDBOX_CRMS = ("salesforce", "hubspot")


@click.command()
@click.option("--crm", help="Connection to install into (default: [sync] crm).")
@click.option("--dry-run", is_flag=True, help="Show what would be created; create nothing.")
@click.option(
    "--emit-metadata",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write a Salesforce DX project of everything install creates; touch no org.",
)
@click.pass_context
def install(ctx: click.Context, crm: str | None, dry_run: bool, emit_metadata: Path | None) -> None:
    """Create the tool's fields, permissions and what reps see (page-layout section, list
    views, report, lists) where missing. Idempotent."""
    from icpsync.cli.context import settings_from
    from icpsync.engine.registry import build_connector, connector_class

    settings = settings_from(ctx)
    if emit_metadata is not None:
        name = crm or settings.sync.crm
        emit = getattr(connector_class(name), "emit_metadata", None)
        if emit is None:
            raise ConfigError(
                f"--emit-metadata writes Salesforce metadata; the {name} connector has none",
                source="--emit-metadata",
            )
        files = emit(settings, emit_metadata)
        click.echo(f"wrote {len(files)} files to {emit_metadata} (a Salesforce DX project):")
        for path in files:
            click.echo(f"- {path.relative_to(emit_metadata)}")
        return
    connector = build_connector(settings, crm)
    try:
        steps = connector.ensure_fields(dry_run=dry_run)
    finally:
        connector.close()
    echo_plan(steps, dry_run=dry_run)


@click.command()
@click.option("--crm", help="Connection to uninstall from (default: [sync] crm).")
@click.option("--dry-run", is_flag=True, help="Show what would be removed; remove nothing.")
@click.option("--yes", is_flag=True, help="Do not ask (needed when not run from a terminal).")
@click.option("--keep-fields", is_flag=True, help="Keep the fields and their values.")
@click.pass_context
def uninstall(
    ctx: click.Context, crm: str | None, dry_run: bool, yes: bool, keep_fields: bool
) -> None:
    """Remove what install created, and only that; the run history stays."""
    from icpsync.cli.context import EXIT_CONFIG, settings_from
    from icpsync.engine.protocol import uninstaller
    from icpsync.engine.registry import build_connector

    settings = settings_from(ctx)
    connector = build_connector(settings, crm)
    try:
        target = uninstaller(connector, connector.name)
        plan = target.uninstall(dry_run=True, keep_fields=keep_fields)
        if all(step.action in ("keep fields", "keep group") for step in plan):
            click.echo(f"nothing to remove: {connector.name} holds nothing icpsync installed")
            return
        echo_plan(plan, dry_run=True)
        if dry_run:
            return
        if not yes:
            if not sys.stdin.isatty():
                click.echo(
                    "icpsync: uninstall deletes from the CRM; not asking without a terminal: "
                    "pass --yes to confirm (or --dry-run to look first)",
                    err=True,
                )
                sys.exit(EXIT_CONFIG)
            click.confirm(f"Remove these from {connector.name}?", abort=True)
        steps = target.uninstall(dry_run=False, keep_fields=keep_fields)
    finally:
        connector.close()
    echo_plan(steps, dry_run=False)
    click.echo("the run history in icpsync's state store is kept")


@click.command()
@click.option("--crm", help="Connection to check (default: [sync] crm).")
@click.pass_context
def doctor(ctx: click.Context, crm: str | None) -> None:
    """Check auth, fields, permissions and API budget; exit 1 when anything fails."""
    from icpsync.cli.context import settings_from
    from icpsync.engine.registry import build_connector

    settings = settings_from(ctx)
    connector = build_connector(settings, crm)
    try:
        ok = echo_checks(connector.preflight())
    finally:
        connector.close()
    if not ok:
        sys.exit(1)


def sandbox_class(crm: str) -> Any:
    """The ``Sandbox`` class of a connector package."""
    return importlib.import_module(f"icpsync.connectors.{crm}.sandbox").Sandbox


@click.command()
@click.argument("crm", type=click.Choice(SANDBOX_CRMS))
@click.option("--accounts", default=2000, show_default=True, help="Accounts (companies) to seed.")
@click.option(
    "--opportunities", default=6000, show_default=True, help="Opportunities (deals) to seed."
)
@click.option("--seed", default=7, show_default=True, help="Random seed for the data and faults.")
@click.option("--port", default=0, help="Port to listen on (default: a free one).")
@click.option("--latency-ms", default=0, help="Latency added to every response.")
@click.option("--fault-rate", default=0.0, help="Share of requests that fail (0-1).")
@click.option("--rate-limit", type=int, help="Requests per 10 s before a 429 (HubSpot).")
@click.option(
    "--write-config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write an icpsync config pointing at this sandbox.",
)
def sandbox(
    crm: str,
    accounts: int,
    opportunities: int,
    seed: int,
    port: int,
    latency_ms: int,
    fault_rate: float,
    rate_limit: int | None,
    write_config: Path | None,
) -> None:
    """Run a local CRM sandbox until interrupted; prints one JSON line when ready."""
    options: dict[str, Any] = {
        "accounts": accounts,
        "opportunities": opportunities,
        "seed": seed,
        "port": port,
        "latency_ms": latency_ms,
        "fault_rate": fault_rate,
    }
    if rate_limit is not None:
        options["rate_limit"] = rate_limit
    server = sandbox_class(crm)(**options)
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if write_config:
            server.write_config(write_config)
        click.echo(
            json.dumps(
                {
                    "crm": crm,
                    "url": server.url,
                    "config": str(write_config) if write_config else None,
                }
            ),
            color=False,
        )
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
