"""What a connector declares about itself, and where the declarations are found.

Every connector is registered in the ``icpsync.connectors`` entry point group by its class
(``hubspot = "icpsync.connectors.hubspot:HubSpotConnector"``); the module the entry point
names holds ``SPEC``, a :class:`ConnectorSpec`. Settings read the specs (never the classes,
so no vendor client is imported to load a config); :mod:`icpsync.engine.registry` builds
connectors and finds sandboxes from the same entry points.

Entry points are read afresh on every call (a few milliseconds): a connector installed, or
put on ``sys.path``, after start-up is seen. Imported modules are cached by Python as usual.
"""

from __future__ import annotations

import importlib
import types
import typing
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, Generic, TypeVar, cast
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, SecretStr

from icpsync.core.errors import ConfigError

GROUP = "icpsync.connectors"


class Section(BaseModel):
    """Base of every settings section (``[sync]``, ``[hubspot]``...): unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


def fields_of_type(model: type[BaseModel], kind: type) -> tuple[str, ...]:
    """Names of the model's fields typed ``kind`` or ``kind | None``."""

    def holds(annotation: Any) -> bool:
        if annotation is kind:
            return True
        if typing.get_origin(annotation) in (typing.Union, types.UnionType):
            return any(holds(arg) for arg in typing.get_args(annotation))
        return False

    return tuple(name for name, info in model.model_fields.items() if holds(info.annotation))


S = TypeVar("S", bound=Section)


@dataclass(frozen=True)
class ConnectorSpec(Generic[S]):
    """What a connector declares about itself; core settings and the CLI learn it from here.

    Attributes:
        name: the ``--crm`` / ``[sync] crm`` value and the name of the settings section
            (``[name]`` in the file, ``ICPSYNC_<NAME>__<KEY>`` in the environment).
        settings: the section's model: keys, defaults and validation. It has a ``field_map``
            key whose default names the connector's field map. Its ``SecretStr`` keys are the
            connector's secrets (masked by ``config check``, redacted from logs, never echoed
            in a config error); its ``Path`` keys are resolved against the config file's
            folder.
        sandbox: the module of a local sandbox CRM, when there is one: it holds ``Sandbox``
            (see :class:`~icpsync.engine.protocol.Sandbox`) and
            ``edit_accounts(settings, n, seed) -> list[str]``.
    """

    name: str
    settings: type[S]
    sandbox: str | None = None

    def __post_init__(self) -> None:
        if "field_map" not in self.settings.model_fields:
            raise TypeError(f"{self.settings.__name__} needs a field_map key")

    @property
    def secret_fields(self) -> tuple[str, ...]:
        """The section's credential keys: its ``SecretStr`` fields."""
        return fields_of_type(self.settings, SecretStr)

    @property
    def path_keys(self) -> tuple[str, ...]:
        """The section's path keys, relative to the config file when given in it."""
        return fields_of_type(self.settings, Path)

    @property
    def field_map(self) -> str:
        """The field map used when the section names none."""
        return str(self.settings.model_fields["field_map"].default)

    def section(self, settings: BaseModel) -> S:
        """This connector's section of a settings tree, typed."""
        return cast(S, getattr(settings, self.name))


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def connector_names() -> list[str]:
    """Names of every installed connector."""
    return sorted(_entry_points())


def entry_point(name: str) -> EntryPoint:
    """The entry point of the connector registered under ``name``.

    Raises:
        ConfigError: no connector of that name is installed.
    """
    found = _entry_points()
    if name not in found:
        raise ConfigError(
            f"unknown connector {name!r}; expected one of {', '.join(sorted(found))}",
            key="sync.crm",
        )
    return found[name]


def broken(ep: EntryPoint, why: str) -> ConfigError:
    """The error for an installed connector that cannot be used."""
    return ConfigError(f"connector {ep.name!r} ({ep.value}) {why}", source=f"entry point {GROUP}")


def _spec_of(ep: EntryPoint) -> ConnectorSpec[Any]:
    try:
        module = importlib.import_module(ep.module)
    except Exception as exc:  # a broken package: name it, whatever it raised
        raise broken(ep, f"cannot be imported ({type(exc).__name__}: {exc})") from exc
    spec = getattr(module, "SPEC", None)
    if not isinstance(spec, ConnectorSpec):
        raise broken(ep, f"has no SPEC (a ConnectorSpec) in {ep.module}")
    if spec.name != ep.name:
        raise broken(ep, f"declares the name {spec.name!r}")
    return spec


def connector_spec(name: str) -> ConnectorSpec[Any]:
    """The declaration of the connector registered under ``name``.

    Raises:
        ConfigError: no connector of that name is installed, or it declares no valid ``SPEC``.
    """
    return _spec_of(entry_point(name))


def connector_specs() -> list[ConnectorSpec[Any]]:
    """The declarations of every installed connector, by name (one read of the entry points)."""
    found = _entry_points()
    return [_spec_of(found[name]) for name in sorted(found)]


def http_url(value: str | None) -> str | None:
    """``value`` when it is an http(s) URL with a host (a pydantic field check)."""
    if value is None:
        return value
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"expected an http(s) URL such as https://example.com, got {value!r}")
    return value


def missing_credentials(section: str, conf: BaseModel, keys: tuple[str, ...]) -> list[str]:
    """The ``section.key`` names of ``keys`` that ``conf`` leaves unset or empty."""
    missing = []
    for key in keys:
        value = getattr(conf, key)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value in (None, ""):
            missing.append(f"{section}.{key}")
    return missing
