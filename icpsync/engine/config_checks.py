"""What ``config check`` checks beyond the settings' own types: each a small function that
raises a :class:`ConfigError` naming the file, the key and what was expected, so a config
that passes is one the next command accepts.

The checks of one connector's section (credentials for its auth mode, host URLs) live on
that section's model; these are the checks across sections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from icpsync.core.errors import ConfigError
from icpsync.engine.registry import check_credentials, connector_names

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
    names = connector_names()
    if settings.sync.crm not in names:
        raise ConfigError(
            f"unknown connector {settings.sync.crm!r}; expected one of {', '.join(names)}",
            source=settings.source,
            key="sync.crm",
        )


def check_file_inputs(settings: Settings) -> None:
    """The file connector knows its accounts file, and its input files exist."""
    if settings.sync.crm != "file":
        return
    conf = settings.file
    if conf.accounts is None:
        raise ConfigError(
            "expected a path to the accounts file", source=settings.source, key="file.accounts"
        )
    for key, path in (("accounts", conf.accounts), ("opportunities", conf.opportunities)):
        if path is not None and not path.is_file():
            raise ConfigError(f"no such file: {path}", source=settings.source, key=f"file.{key}")


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
