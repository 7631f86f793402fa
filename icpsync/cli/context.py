"""What every command shares: loading the settings (with log redaction) and the exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from icpsync.core.profile import Profile, load_profile
from icpsync.engine.logs import configure
from icpsync.engine.settings import Settings, load_settings

if TYPE_CHECKING:
    from icpsync.engine.state import StateStore

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


@contextmanager
def state_from(ctx: click.Context) -> Iterator[StateStore]:
    """The configured state store, closed when the block ends."""
    from icpsync.engine.state import StateStore

    state = StateStore(settings_from(ctx).state.database_url())
    try:
        yield state
    finally:
        state.close()
