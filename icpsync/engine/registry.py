"""Find connectors by name through the ``icpsync.connectors`` entry point group.

A third CRM is one new sub-package plus one entry point line in ``pyproject.toml``. The
entry point names the connector class (``icpsync.connectors.hubspot:HubSpotConnector``);
the module it names declares ``SPEC``, a :class:`~icpsync.engine.protocol.ConnectorSpec`,
which this registry reads without loading the class (and its vendor client).

Entry points are read afresh on every call (a few milliseconds): a connector installed, or
put on ``sys.path``, after start-up is seen. Imported modules are cached by Python as usual.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from icpsync.core.errors import ConfigError
from icpsync.engine.protocol import ConnectorSpec

if TYPE_CHECKING:
    from icpsync.engine.protocol import Connector, Sandbox
    from icpsync.engine.settings import Settings

GROUP = "icpsync.connectors"


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def connector_names() -> list[str]:
    """Names of every installed connector."""
    return sorted(_entry_points())


def _entry_point(name: str) -> EntryPoint:
    found = _entry_points()
    if name not in found:
        raise ConfigError(
            f"unknown connector {name!r}; expected one of {', '.join(sorted(found))}",
            key="sync.crm",
        )
    return found[name]


def _broken(ep: EntryPoint, why: str) -> ConfigError:
    return ConfigError(f"connector {ep.name!r} ({ep.value}) {why}", source=f"entry point {GROUP}")


def connector_spec(name: str) -> ConnectorSpec[Any]:
    """The declaration of the connector registered under ``name``.

    Raises:
        ConfigError: no connector of that name is installed, or it declares no valid ``SPEC``.
    """
    ep = _entry_point(name)
    try:
        module = importlib.import_module(ep.module)
    except Exception as exc:  # a broken package: name it, whatever it raised
        raise _broken(ep, f"cannot be imported ({type(exc).__name__}: {exc})") from exc
    spec = getattr(module, "SPEC", None)
    if not isinstance(spec, ConnectorSpec):
        raise _broken(ep, f"has no SPEC (a ConnectorSpec) in {ep.module}")
    if spec.name != ep.name:
        raise _broken(ep, f"declares the name {spec.name!r}")
    return spec


def connector_specs() -> list[ConnectorSpec[Any]]:
    """The declarations of every installed connector, by name."""
    return [connector_spec(name) for name in connector_names()]


def connector_class(name: str) -> type[Connector]:
    """The connector class registered under ``name``.

    Raises:
        ConfigError: no connector of that name is installed.
    """
    ep = _entry_point(name)
    try:
        return cast("type[Connector]", ep.load())
    except Exception as exc:  # a broken package: name it, whatever it raised
        raise _broken(ep, f"cannot be loaded ({type(exc).__name__}: {exc})") from exc


def build_connector(settings: Settings, name: str | None = None) -> Connector:
    """Build the named (else the configured) connector from the settings."""
    try:
        cls = connector_class(name or settings.sync.crm)
    except ConfigError as exc:
        raise ConfigError(exc.message, source=exc.source or settings.source, key=exc.key) from None
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
