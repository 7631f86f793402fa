"""Find connectors by name through the ``icpsync.connectors`` entry point group.

A third CRM is one new sub-package plus one entry point line in ``pyproject.toml``.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import TYPE_CHECKING, cast

from icpsync.core.errors import ConfigError

if TYPE_CHECKING:
    from icpsync.engine.protocol import Connector
    from icpsync.engine.settings import Settings

GROUP = "icpsync.connectors"


def connector_names() -> list[str]:
    """Names of every installed connector."""
    return sorted(ep.name for ep in entry_points(group=GROUP))


def connector_class(name: str) -> type[Connector]:
    """The connector class registered under ``name``.

    Raises:
        ConfigError: no connector of that name is installed.
    """
    matches = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not matches:
        raise ConfigError(
            f"unknown connector {name!r}; expected one of {', '.join(connector_names())}",
            key="sync.crm",
        )
    return cast("type[Connector]", matches[0].load())


def build_connector(settings: Settings, name: str | None = None) -> Connector:
    """Build the named (else the configured) connector from the settings."""
    try:
        cls = connector_class(name or settings.sync.crm)
    except ConfigError as exc:
        raise ConfigError(exc.message, source=settings.source, key=exc.key) from None
    from icpsync.engine.config_checks import check_credentials

    check_credentials(settings, name)  # the file and the variable to set, before any login
    return cls.from_settings(settings)
