"""Find connectors by name through the ``icpsync.connectors`` entry point group.

A third CRM is one new sub-package plus one entry point line in ``pyproject.toml``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, cast

from icpsync.core.errors import ConfigError
from icpsync.engine.settings import ENV_PREFIX

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
    check_credentials(settings, name)  # the file and the variable to set, before any login
    return cls.from_settings(settings)


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
