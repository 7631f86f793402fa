"""CRM set-up commands: ``install``, ``uninstall``, ``doctor`` and ``sandbox``."""

from __future__ import annotations

import gc
import inspect
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from icpsync.cli.output import echo_checks, echo_plan
from icpsync.core.errors import ConfigError
from icpsync.engine.registry import build_connector, connector_class, sandbox_class, sandbox_names


class SandboxCrm(click.ParamType):
    """A connector that declares a local sandbox, looked up in the registry when used."""

    name = "crm"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        names = sandbox_names()
        if value not in names:
            self.fail(f"{value!r} has no sandbox; expected one of {', '.join(names)}", param, ctx)
        return str(value)


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

    settings = settings_from(ctx)
    connector = build_connector(settings, crm)
    try:
        ok = echo_checks(connector.preflight())
        if ok:
            _echo_unavailable(connector, settings, crm or settings.sync.crm)
    finally:
        connector.close()
    if not ok:
        sys.exit(1)


def _echo_unavailable(connector: Any, settings: Any, crm: str) -> None:
    """The criteria this CRM cannot feed, and how to map another field instead."""
    from icpsync.core.unavailable import unavailable_notes

    read = getattr(connector, "unavailable_fields", None)
    missing = read() if read is not None else {}
    notes = unavailable_notes(settings.active_profile(), missing)
    for note in notes:
        click.echo(f"! not scorable: {note}")
    if notes:
        field, _ = next(iter(missing.items()))
        example = getattr(connector, "field_example", "Your_Field__c")
        table = "[account.signals]" if field.startswith("signals.") else "[account.fields]"
        click.echo(
            f"    to use a field the org has (an enrichment vendor's, say): copy "
            f'field_maps/{crm}.toml, set {field.removeprefix("signals.")} = "{example}" '
            f"under {table}, and point [{crm}] field_map at the copy"
        )


@click.command()
@click.argument("crm", type=SandboxCrm())
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
    "--without-field",
    "without_fields",
    multiple=True,
    help=(
        "A field the org lacks: an Account field such as Tech_Stack__c (Salesforce) or a "
        "company property such as web_technologies (HubSpot); repeatable."
    ),
)
@click.option(
    "--org",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Which org (portal) the sandbox plays: 2 starts a second one (another org id).",
)
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
    without_fields: tuple[str, ...],
    org: int,
    write_config: Path | None,
) -> None:
    """Run a local CRM sandbox until interrupted; prints one JSON line when ready.

    CRM is a connector with a sandbox (salesforce, hubspot, or any installed one that has one).
    """
    options: dict[str, Any] = {
        "org": org,
        "accounts": accounts,
        "opportunities": opportunities,
        "seed": seed,
        "port": port,
        "latency_ms": latency_ms,
        "fault_rate": fault_rate,
    }
    if rate_limit is not None:
        options["rate_limit"] = rate_limit
    server_class = sandbox_class(crm)
    if without_fields:
        if "without_fields" not in inspect.signature(server_class).parameters:
            raise click.UsageError(
                f"--without-field is for the salesforce and hubspot sandboxes, not the {crm} one"
            )
        options["without_fields"] = without_fields
    try:
        server = server_class(**options)
    except (KeyError, ValueError) as exc:
        if not without_fields:
            raise
        raise click.UsageError(
            f"--without-field: the {crm} sandbox has no field {exc.args[0]!r} to leave out"
        ) from None
    server.start()
    # The seeded records live as long as the server: out of the collector's scans, which
    # would otherwise walk them again at every full collection while requests are served.
    gc.freeze()
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
