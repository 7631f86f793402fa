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
    """``[sync] crm`` and every ``[schedule] connections`` entry name an installed connector."""
    names = connector_names()
    wanted = [("sync.crm", settings.sync.crm)]
    wanted += [("schedule.connections", c) for c in settings.schedule.connections or []]
    for key, crm in wanted:
        if crm not in names:
            raise ConfigError(
                f"unknown connector {crm!r}; expected one of {', '.join(names)}",
                source=settings.source,
                key=key,
            )


def check_field_maps(settings: Settings) -> None:
    """The field map of each connector in use loads (a shipped name or a readable file)."""
    from icpsync.engine.field_map import load_field_map

    used = dict.fromkeys([settings.sync.crm, *(settings.schedule.connections or [])])
    for crm in used:
        section = getattr(settings, crm, None)
        name = getattr(section, "field_map", None)
        if not isinstance(name, str):
            continue
        try:
            load_field_map(name, base=crm if crm == "file" else None)
        except ConfigError as exc:
            raise ConfigError(
                f"field map {name!r}: {exc.message} ({exc.source}); expected a shipped name "
                f"such as {crm!r} or the path of a field map TOML file",
                source=settings.source,
                key=f"{crm}.field_map",
            ) from None


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
    if conf.output is None:
        raise ConfigError(
            "expected a path for the scored rows (a sync writes them there; "
            "`icpsync sync --dry-run` shows the changes without writing)",
            source=settings.source,
            key="file.output",
        )


def check_schedule(settings: Settings) -> None:
    """``[schedule] timezone`` is an IANA zone; ``full_cron`` and ``validate_cron`` (unless
    empty: no quarterly check) are 5-field cron expressions."""
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
    crons = [("full_cron", conf.full_cron, "0 2 * * *")]
    if conf.validate_cron:
        crons.append(("validate_cron", conf.validate_cron, "0 6 1 1,4,7,10 *"))
    for key, expression, example in crons:
        try:
            CronTrigger.from_crontab(expression, timezone=zone)
        except ValueError as exc:
            raise ConfigError(
                f"expected a 5-field cron expression such as '{example}' ({exc})",
                source=settings.source,
                key=f"schedule.{key}",
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
    check_field_maps,
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
