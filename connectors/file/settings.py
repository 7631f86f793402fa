"""The file connector's ``[file]`` settings section and its declaration to the registry."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator

from icpsync.connectors.file.text_format import delimiter_character, encoding_name
from icpsync.engine.connector_spec import ConnectorSpec, Section


class FileSettings(Section):
    """The file connector: CSV or JSON Lines in, scored rows out.

    ``encoding`` and ``delimiter`` are detected when not set (as ``score`` does without
    ``--encoding`` / ``--delimiter``).
    """

    accounts: Path | None = None
    opportunities: Path | None = None
    output: Path | None = None
    field_map: str = "file"
    encoding: str | None = None
    delimiter: str | None = None

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None and encoding_name(value) is None:
            raise ValueError(f"expected an encoding such as utf-8 or windows-1252, got {value!r}")
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None and delimiter_character(value) is None:
            raise ValueError(f"expected one character or tab/comma/semicolon/pipe, got {value!r}")
        return value


SPEC = ConnectorSpec(name="file", settings=FileSettings)
