"""The file connector's ``[file]`` settings section and its declaration to the registry."""

from __future__ import annotations

from pathlib import Path

from icpsync.engine.connector_spec import ConnectorSpec, Section


class FileSettings(Section):
    """The file connector: CSV or JSON Lines in, scored rows out."""

    accounts: Path | None = None
    opportunities: Path | None = None
    output: Path | None = None
    field_map: str = "file"


SPEC = ConnectorSpec(name="file", settings=FileSettings)
