"""The ``learn`` and ``report`` commands (registered in the root group as ``learn_command``
and ``report_command``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from icpsync.cli.output import echo_json
from icpsync.core.profile import load_profile
from icpsync.engine.registry import build_connector
from icpsync.engine.settings import Settings, load_settings, section_settings
from icpsync.evidence.dataset import Dataset, load_dataset
from icpsync.evidence.holdout import Holdout, parse_holdout

log = logging.getLogger(__name__)

_FILE = click.Path(path_type=Path, exists=True, dir_okay=False)


def _settings(ctx: click.Context) -> Settings:
    obj = ctx.find_root().obj or {}
    return load_settings(obj.get("config_path"))


def read_dataset(
    ctx: click.Context, accounts: Path | None, opportunities: Path | None
) -> tuple[Dataset, str]:
    """Closed deals from the files given, else from the configured connection."""
    if accounts is not None or opportunities is not None:
        if accounts is None or opportunities is None:
            raise click.UsageError("--accounts and --opportunities go together")
        files = build_connector(
            section_settings("file", accounts=accounts, opportunities=opportunities), "file"
        )
        try:
            dataset = load_dataset(files.read_accounts(), files.read_opportunities())
        finally:
            files.close()
        return dataset, accounts.parent.name

    settings = _settings(ctx)
    connector = build_connector(settings)
    try:
        dataset = load_dataset(connector.read_accounts(), connector.read_opportunities())
    finally:
        connector.close()
    return dataset, f"the {settings.sync.crm} connection"


def _holdout(text: str | None) -> Holdout | None:
    return parse_holdout(text) if text is not None else None


def _common(func: Any) -> Any:
    options = [
        click.option(
            "--accounts", type=_FILE, help="Accounts CSV/JSONL with the canonical columns."
        ),
        click.option("--opportunities", type=_FILE, help="Opportunities CSV/JSONL (closed deals)."),
        click.option(
            "--holdout",
            "holdout_text",
            metavar="SHARE|DAYS",
            help="Validate on the newest closes: a share (0.2, 20%) or days (90d).",
        ),
        click.option(
            "--ignore",
            multiple=True,
            metavar="FIELD",
            help="Leave a trait or signal out of the learning (repeatable).",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command("learn")
@_common
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("learned-profile.toml"),
    show_default=True,
    help="Where to write the proposed profile.",
)
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
@click.option(
    "--objective",
    type=click.Choice(["wins", "revenue"]),
    default="wins",
    show_default=True,
    help="Rank accounts by win probability, or by expected won revenue (probability x size).",
)
@click.pass_context
def learn_command(
    ctx: click.Context,
    accounts: Path | None,
    opportunities: Path | None,
    holdout_text: str | None,
    ignore: tuple[str, ...],
    as_json: bool,
    out: Path,
    force: bool,
    objective: str,
) -> None:
    """Learn an ICP profile from closed-won vs closed-lost deals and validate it.

    Tiers follow the configured profile's ``[profile.tiers] policy`` (``share`` or ``lift``);
    fixed cut-offs get the learned default (Tier 1 from 2x the base win rate, at most 20% of
    the book; Tier 2 to 50%; Tier 3 from 0.5x; Not ICP below).
    """
    from icpsync.evidence.profile_writer import write_profile
    from icpsync.evidence.report import render_learn
    from icpsync.evidence.runs import run_learn
    from icpsync.evidence.tiers import policy_for

    holdout = _holdout(holdout_text)
    if out.exists() and not force:
        raise click.UsageError(f"{out} exists; pass --force to replace it")
    policy = policy_for(_settings(ctx).active_profile().tiers)
    dataset, source = read_dataset(ctx, accounts, opportunities)
    outcome = run_learn(
        dataset,
        holdout=holdout,
        ignore=ignore,
        now=datetime.now(UTC),
        source=source,
        objective="revenue" if objective == "revenue" else "wins",
        policy=policy,
    )
    payload = outcome.payload
    payload["profile"]["path"] = None
    if outcome.text is not None:
        write_profile(out, outcome.text, force=force)
        payload["profile"]["path"] = str(out)
        payload["notes"].append(f"wrote the {payload['profile']['kind']} profile to {out}")
    else:
        payload["notes"].append(f"nothing written to {out}")
    if as_json:
        echo_json(payload)
    else:
        click.echo(render_learn(payload))


@click.command("report")
@_common
@click.option(
    "--profile",
    "profile_path",
    type=_FILE,
    help="Profile TOML to judge (default: the configured profile).",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write a self-contained HTML report with charts here.",
)
@click.pass_context
def report_command(
    ctx: click.Context,
    accounts: Path | None,
    opportunities: Path | None,
    holdout_text: str | None,
    ignore: tuple[str, ...],
    as_json: bool,
    profile_path: Path | None,
    html_path: Path | None,
) -> None:
    """Win rate, deal size and sales cycle by tier, lift, AUC and calibration on closed deals."""
    from icpsync.evidence.html import render_html
    from icpsync.evidence.report import render_report
    from icpsync.evidence.runs import run_report

    holdout = _holdout(holdout_text)
    profile = load_profile(profile_path) if profile_path else _settings(ctx).active_profile()
    dataset, _ = read_dataset(ctx, accounts, opportunities)
    payload = run_report(dataset, profile, holdout=holdout, ignore=ignore, now=datetime.now(UTC))
    if html_path is not None:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(render_html(payload), encoding="utf-8")
        payload["notes"].append(f"wrote the HTML report to {html_path}")
    if as_json:
        echo_json(payload)
    else:
        click.echo(render_report(payload))
