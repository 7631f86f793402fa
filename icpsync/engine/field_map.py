"""Field maps: CRM names and vocabularies <-> the canonical model, loaded from TOML data.

The files live in the ``field_maps`` package (``field_maps/<crm>.toml``) and are found from
the installed package; a path to another file may be given instead. Only connectors use the
CRM names they hold.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from icpsync.core.errors import ConfigError
from icpsync.core.normalise import Vocabulary

ICP_KEYS = ("score", "tier", "flags", "reasons", "profile_version", "scored_at", "override")
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$")


@dataclass(frozen=True)
class ObjectMap:
    """One CRM object: its API name and canonical field -> CRM field."""

    object: str
    fields: Mapping[str, str]
    signals: Mapping[str, str] = field(default_factory=dict)
    #: canonical field -> other names a file's header may give it (files only).
    headers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def crm_names(self) -> list[str]:
        """Every CRM field this map reads, in a stable order, without repeats."""
        return list(dict.fromkeys([*self.fields.values(), *self.signals.values()]))


@dataclass(frozen=True)
class FieldMap:
    """A loaded field map for one CRM."""

    name: str
    source: str
    account: ObjectMap
    opportunity: ObjectMap
    icp: Mapping[str, str]
    vocabularies: Mapping[str, Vocabulary]
    options: Mapping[str, Any] = field(default_factory=dict)

    def icp_names(self) -> list[str]:
        """The tool's own CRM fields, override included."""
        return [self.icp[k] for k in ICP_KEYS if k in self.icp]


def _names(table: object, *, source: str, key: str, any_names: bool = False) -> Mapping[str, str]:
    if not isinstance(table, dict):
        raise ConfigError("expected a table of canonical name = CRM field", source=source, key=key)
    for canonical, crm in table.items():
        if any_names and isinstance(crm, str) and crm.strip() and crm.isprintable():
            continue
        if not isinstance(crm, str) or not _IDENTIFIER.match(crm):
            raise ConfigError(
                f"expected a CRM field name (letters, digits, _), got {crm!r}",
                source=source,
                key=f"{key}.{canonical}",
            )
    return MappingProxyType(dict(table))


def _headers(table: object, *, source: str, key: str) -> Mapping[str, tuple[str, ...]]:
    if not isinstance(table, dict) or not all(
        isinstance(names, list) and all(isinstance(n, str) for n in names)
        for names in table.values()
    ):
        raise ConfigError(
            "expected a table of canonical name = [header, ...]", source=source, key=key
        )
    return MappingProxyType({k: tuple(v) for k, v in table.items()})


def _object(data: dict[str, Any], section: str, source: str) -> ObjectMap:
    table = data.get(section)
    if not isinstance(table, dict) or "object" not in table:
        raise ConfigError("expected a table with 'object' and 'fields'", source=source, key=section)
    any_names = bool((data.get("options") or {}).get("any_column_names"))
    fields = _names(
        table.get("fields", {}), source=source, key=f"{section}.fields", any_names=any_names
    )
    if "id" not in fields:
        raise ConfigError("expected an 'id' field", source=source, key=f"{section}.fields")
    return ObjectMap(
        object=str(table["object"]),
        fields=fields,
        signals=_names(table.get("signals", {}), source=source, key=f"{section}.signals"),
        headers=_headers(table.get("headers", {}), source=source, key=f"{section}.headers"),
    )


def parse_field_map(data: dict[str, Any], *, name: str, source: str) -> FieldMap:
    """Validate a field map's TOML data."""
    icp = _names(data.get("icp", {}), source=source, key="icp")
    unknown = set(icp) - set(ICP_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown ICP field(s) {sorted(unknown)}; expected some of {list(ICP_KEYS)}",
            source=source,
            key="icp",
        )
    vocabularies: dict[str, Vocabulary] = {}
    for fname, spec in (data.get("values") or {}).items():
        if not isinstance(spec, dict) or not isinstance(spec.get("map", {}), dict):
            raise ConfigError(
                "expected keep_unknown and a map table", source=source, key=f"values.{fname}"
            )
        vocabularies[fname] = Vocabulary(
            values={str(k): str(v) for k, v in spec.get("map", {}).items()},
            keep_unknown=bool(spec.get("keep_unknown", True)),
        )
    return FieldMap(
        name=name,
        source=source,
        account=_object(data, "account", source),
        opportunity=_object(data, "opportunity", source),
        icp=icp,
        vocabularies=MappingProxyType(vocabularies),
        options=MappingProxyType(dict(data.get("options", {}))),
    )


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` laid on ``base``, table by table."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merged(base[key], value)
        else:
            merged[key] = value
    return merged


def load_field_map(name_or_path: str | Path, *, base: str | None = None) -> FieldMap:
    """Load ``field_maps/<name>.toml`` from the installed package, or a TOML file path.

    With ``base``, a file path may name only what differs from the shipped ``base`` map
    (e.g. a few ``[account.fields]``); the rest is the shipped map's.

    Raises:
        ConfigError: the file is missing, is not TOML, or does not describe a field map.
    """
    text: str
    path = Path(name_or_path)
    if path.suffix == ".toml":
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read field map ({exc.strerror})", source=source) from exc
        name = path.stem
    else:
        name = str(name_or_path)
        resource = resources.files("icpsync.field_maps").joinpath(f"{name}.toml")
        source = f"field_maps/{name}.toml"
        if not resource.is_file():
            raise ConfigError("no such field map", source=source)
        text = resource.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML ({exc})", source=source) from exc
    if base is not None and name != base:
        shipped = resources.files("icpsync.field_maps").joinpath(f"{base}.toml")
        data = _merged(tomllib.loads(shipped.read_text(encoding="utf-8")), data)
    return parse_field_map(data, name=name, source=source)
