"""Find connectors by name through the ``icpsync.connectors`` entry point group.

A third CRM is one new sub-package plus one entry point line in ``pyproject.toml``. The
entry point names the connector class (``icpsync.connectors.hubspot:HubSpotConnector``);
the module it names declares ``SPEC`` (see :mod:`icpsync.engine.connector_spec`), which
also says where the connector's sandbox is.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, cast

from icpsync.core.errors import ConfigError
from icpsync.engine.connector_spec import (
    broken,
    connector_names,
    connector_spec,
    connector_specs,
    entry_point,
)
from icpsync.engine.settings import ENV_PREFIX

if TYPE_CHECKING:
    from icpsync.engine.protocol import Connector, Sandbox
    from icpsync.engine.settings import Settings

__all__ = [
    "build_connector",
    "connector_class",
    "connector_names",
    "connector_spec",
    "connector_specs",
    "sandbox_class",
    "sandbox_module",
    "sandbox_names",
]


def connector_class(name: str) -> type[Connector]:
    """The connector class registered under ``name``.

    Raises:
        ConfigError: no connector of that name is installed, or it cannot be loaded.
    """
    ep = entry_point(name)
    try:
        return cast("type[Connector]", ep.load())
    except Exception as exc:  # a broken package: name it, whatever it raised
        raise broken(ep, f"cannot be loaded ({type(exc).__name__}: {exc})") from exc


def build_connector(settings: Settings, name: str | None = None) -> Connector:
    """Build the named (else the configured) connector from the settings."""
    try:
        cls = connector_class(name or settings.sync.crm)
    except ConfigError as exc:
        raise ConfigError(exc.message, source=exc.source or settings.source, key=exc.key) from None
    check_credentials(settings, name)  # the file and the variable to set, before any login
    return cls.from_settings(settings)


def sandbox_names() -> list[str]:
    """Connectors that declare a local sandbox CRM."""
    return [spec.name for spec in connector_specs() if spec.sandbox]


def sandbox_module(name: str) -> ModuleType:
    """The module of the named connector's sandbox: ``Sandbox`` and ``edit_accounts``.

    Raises:
        ConfigError: the connector declares no sandbox.
        ImportError: it declares one that is not installed.
    """
    spec = connector_spec(name)
    if spec.sandbox is None:
        raise ConfigError(
            f"connector {name!r} has no sandbox; expected one of {', '.join(sandbox_names())}"
        )
    return importlib.import_module(spec.sandbox)


def sandbox_class(name: str) -> Callable[..., Sandbox]:
    """The named connector's ``Sandbox`` class."""
    return cast("Callable[..., Sandbox]", sandbox_module(name).Sandbox)


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
