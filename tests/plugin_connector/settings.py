"""The ``[memo]`` settings section: the store file (a path, relative to the config file),
the API key (a secret) and the field map."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from icpsync.engine.connector_spec import ConnectorSpec, Section

FIELD_MAP = Path(__file__).with_name("memo.toml")


class MemoSettings(Section):
    """A memo CRM: one JSON file guarded by an API key."""

    store: Path | None = None
    api_key: SecretStr | None = None
    field_map: str = str(FIELD_MAP)
    write_batch: int = Field(default=40, ge=1, le=500)


SPEC = ConnectorSpec(name="memo", settings=MemoSettings)
