"""What ``config check`` checks beyond the settings' own types: each a small function that
raises a :class:`ConfigError` naming the file, the key and what was expected, so a config
that passes is one the next command accepts.

The checks of one connector's section (credentials for its auth mode, host URLs) live on
that section's model; these are the checks across sections.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from icpsync.core.errors import ConfigError
from icpsync.engine.settings import ENV_PREFIX

if TYPE_CHECKING:
    from icpsync.engine.settings import Settings


def check_not_empty(settings: Settings) -> None:
    """A config that sets nothing is a mistake, not a wish for the defaults."""
    if not settings.model_fields_set - {"source"}:
        raise ConfigError(
            "the config sets nothing: set [sync] crm (file, salesforce or hubspot) and its "
            "section (config.example.toml is a commented starting point); "
            "`icpsync score --accounts FILE` needs no config",
            source=settings.source
            if settings.source != "defaults"
            else "icpsync.toml (not found) and no ICPSYNC_ variables",
        )


def check_connector(settings: Settings) -> None:
    """``[sync] crm`` names an installed connector."""
    from icpsync.engine.registry import connector_names

    names = connector_names()
    if settings.sync.crm not in names:
        raise ConfigError(
            f"unknown connector {settings.sync.crm!r}; expected one of {', '.join(names)}",
            source=settings.source,
            key="sync.crm",
        )


def check_credentials(settings: Settings, crm: str | None = None) -> None:
    """The chosen (else the named) connector's section has the credentials its auth mode
    needs."""
    section = getattr(settings, crm or settings.sync.crm, None)
    missing: Callable[[], list[str]] | None = getattr(section, "missing_credentials", None)
    if missing is None:
        return
    keys = missing()  # the environment is already read into the settings
    if keys:
        names = ", ".join(ENV_PREFIX + key.replace(".", "__").upper() for key in keys)
        mode = getattr(section, "auth", None)
        needs = f"auth = {mode!r} needs" if mode else "needs"
        raise ConfigError(
            f"{needs} {', '.join(keys)}: set the environment variable(s) {names} "
            f"(or the key(s) in this file)",
            source=settings.source,
            key=keys[0],
        )


def check_file_inputs(settings: Settings) -> None:
    """The file connector knows its accounts file."""
    if settings.sync.crm == "file" and settings.file.accounts is None:
        raise ConfigError(
            "expected a path to the accounts file", source=settings.source, key="file.accounts"
        )


def check_schedule(settings: Settings) -> None:
    """``[schedule] timezone`` is an IANA zone and ``full_cron`` a 5-field cron expression."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from apscheduler.triggers.cron import CronTrigger

    conf = settings.schedule
    try:
        zone = ZoneInfo(conf.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {conf.timezone!r}; expected an IANA name such as "
            "'Europe/Paris' or 'UTC'",
            source=settings.source,
            key="schedule.timezone",
        ) from None
    try:
        CronTrigger.from_crontab(conf.full_cron, timezone=zone)
    except ValueError as exc:
        raise ConfigError(
            f"expected a 5-field cron expression such as '0 2 * * *' ({exc})",
            source=settings.source,
            key="schedule.full_cron",
        ) from None


def check_state_url(settings: Settings) -> None:
    """``[state] url`` is a SQLAlchemy URL whose database driver is installed."""
    url = settings.state.url
    if url is None:
        return
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    where = {"source": settings.source, "key": "state.url"}
    try:
        dialect = make_url(url).get_dialect()
    except NoSuchModuleError:  # a kind of ArgumentError: first
        raise ConfigError(
            f"unknown database {url.split(':', 1)[0]!r}; expected sqlite, postgresql, mysql...",
            **where,
        ) from None
    except ArgumentError:
        raise ConfigError(
            "expected a database URL such as sqlite:///icpsync.db or "
            "postgresql+psycopg://user@host/db",
            **where,
        ) from None
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        raise ConfigError(
            f"the database driver is not installed ({exc.name or exc}); pip install it",
            **where,
        ) from None


CHECKS = (
    check_not_empty,
    check_connector,
    check_credentials,
    check_file_inputs,
    check_schedule,
    check_state_url,
)


def check_config(settings: Settings) -> None:
    """Run every check; the first problem found is raised.

    Raises:
        ConfigError: naming the file, the key and what was expected.
    """
    for check in CHECKS:
        check(settings)
