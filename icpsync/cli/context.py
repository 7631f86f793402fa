"""What every command shares: loading the settings (with log redaction) and the exit codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from icpsync.core.profile import Profile, load_profile
from icpsync.engine.logs import configure
from icpsync.engine.settings import Settings, load_settings

EXIT_CONFIG, EXIT_LOCKED, EXIT_FAILED = 2, 3, 1


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    """Load the settings named by ``--config`` and set up logging from them."""
    obj = ctx.find_root().obj
    settings = load_settings(obj.get("config_path"), **overrides)
    secrets = [
        s.get_secret_value()
        for s in (
            settings.salesforce.password,
            settings.salesforce.security_token,
            settings.salesforce.consumer_secret,
            settings.salesforce.session_id,
            settings.hubspot.access_token,
        )
        if s is not None
    ]
    configure(
        json_lines=obj.get("log_json") or settings.logging.json_lines,
        level=settings.logging.level,
        secrets=secrets,
    )
    return settings


def profile_for(settings: Settings, path: Path | None) -> Profile:
    """``--profile PATH`` when given, else the configured profile."""
    return load_profile(path) if path else settings.active_profile()
