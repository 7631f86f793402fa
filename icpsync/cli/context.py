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
    """Load the settings named by ``--config`` and set up logging from them, redacting every
    secret the registered connectors declare."""
    obj = ctx.find_root().obj
    settings = load_settings(obj.get("config_path"), **overrides)
    configure(
        json_lines=obj.get("log_json") or settings.logging.json_lines,
        level=settings.logging.level,
        secrets=settings.secret_values(),
    )
    return settings


def profile_for(settings: Settings, path: Path | None) -> Profile:
    """``--profile PATH`` when given, else the configured profile."""
    return load_profile(path) if path else settings.active_profile()
