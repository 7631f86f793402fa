"""One settings tree: a TOML file overridden by ``ICPSYNC_<SECTION>__<KEY>`` variables.

The file is ``--config PATH``, else ``$ICPSYNC_CONFIG``, else ``./icpsync.toml`` (which may
be absent: defaults then apply). Every credential is a ``SecretStr``. Any problem becomes a
:class:`~icpsync.core.errors.ConfigError` naming the file, the key and what was expected.

The core sections are declared here; each connector's section (``[file]``, ``[salesforce]``,
``[hubspot]``, any installed one) comes from its ``ConnectorSpec`` through the registry:
:func:`settings_model` adds one field per registered connector to :class:`Settings`, and
``Settings(...)`` builds that model, so ``settings.hubspot.access_token`` reads as before.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, create_model, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from icpsync.core.errors import ConfigError
from icpsync.core.profile import Profile, config_error_from, load_profile
from icpsync.engine.connector_spec import Section, connector_spec, connector_specs, fields_of_type

__all__ = [
    "DEFAULT_CONFIG",
    "ENV_PREFIX",
    "MASK",
    "DriftSettings",
    "LoggingSettings",
    "ScheduleSettings",
    "Section",
    "Settings",
    "StateSettings",
    "SyncSettings",
    "config_path",
    "load_settings",
    "section_settings",
    "settings_model",
]

ENV_PREFIX = "ICPSYNC_"
DEFAULT_CONFIG = Path("icpsync.toml")
MASK = "**********"


class SyncSettings(Section):
    """How a run behaves, whatever the CRM."""

    crm: str = "file"
    lookback_days: int = Field(default=730, ge=1)
    write_chunk: int = Field(default=50_000, ge=1)
    overlap_writes: bool = True
    cursor_overlap_s: int = Field(default=120, ge=0)
    examples: int = Field(default=5, ge=0)
    #: a rep's direct edit of the tier: keep it as the override, or revert it.
    human_edits: Literal["keep", "revert"] = "keep"


class StateSettings(Section):
    """Where runs, cursors, history and drift are kept."""

    dir: Path = Path(".icpsync")
    url: str | None = None
    lease_seconds: int = Field(default=3600, ge=10)

    def database_url(self) -> str:
        """The SQLAlchemy URL: ``url`` when set, else SQLite in ``dir``."""
        return self.url or f"sqlite:///{self.dir / 'icpsync.db'}"


class ScheduleSettings(Section):
    """Background jobs for ``icpsync schedule``."""

    #: connections to keep current; unset: the ``[sync] crm`` one.
    connections: list[str] | None = None
    incremental_minutes: int = Field(default=15, ge=1)
    full_cron: str = "0 2 * * *"
    #: the quarterly profile check (is the profile going stale?); "" turns it off.
    validate_cron: str = "0 6 1 1,4,7,10 *"
    misfire_grace_s: int = Field(default=600, ge=1)
    timezone: str = "UTC"


class DriftSettings(Section):
    """When drift is worth a warning."""

    psi_warn: float = Field(default=0.2, ge=0)
    tier_change_share_warn: float = Field(default=0.1, ge=0, le=1)
    profile_drift_warn: float = Field(default=0.15, ge=0, le=1)
    recent_win_days: int = Field(default=90, ge=1)


class LoggingSettings(Section):
    """Log format and level."""

    json_lines: bool = False
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(BaseSettings):
    """The whole settings tree: the core sections here, one section per registered connector.

    ``Settings(**data)`` builds :func:`settings_model`, this class with the connectors'
    sections added, so ``settings.salesforce`` and ``ICPSYNC_SALESFORCE__PASSWORD`` work.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    profile_file: Path | None = None
    profile: Profile | None = None
    sync: SyncSettings = Field(default_factory=SyncSettings)
    state: StateSettings = Field(default_factory=StateSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    drift: DriftSettings = Field(default_factory=DriftSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

    #: where the settings were read from (not a setting).
    source: str = Field(default="defaults", exclude=True)

    if TYPE_CHECKING:
        # Connector sections (``settings.salesforce``...) are fields of the built model;
        # typed code reads them through ``SPEC.section(settings)``.
        def __getattr__(self, name: str) -> Any: ...

    def __new__(cls, *args: Any, **kwargs: Any) -> Settings:
        # ``Settings(...)`` builds the model that knows the installed connectors.
        return super().__new__(settings_model() if cls is Settings else cls)

    @model_validator(mode="after")
    def _one_profile(self) -> Settings:
        if self.profile is not None and self.profile_file is not None:
            raise ValueError("give either [profile] or profile_file, not both")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment variables override what the TOML file (passed as init data) says.
        return (env_settings, init_settings)

    def active_profile(self) -> Profile:
        """The profile in force: inline, from ``profile_file``, or the built-in default."""
        if self.profile is not None:
            return self.profile
        if self.profile_file is not None:
            return load_profile(self.profile_file)
        from icpsync.core.default_profile import default_profile

        return default_profile()

    def masked(self) -> dict[str, Any]:
        """The effective settings as plain data, every connector's secrets shown as ``MASK``."""
        data = self.model_dump(mode="json", exclude={"profile"})
        for spec in connector_specs():
            section = data.get(spec.name)
            for key in spec.secret_fields:
                if isinstance(section, dict) and section.get(key) is not None:
                    section[key] = MASK
        return data

    def secret_values(self) -> list[str]:
        """Every credential set in a connector section (for log redaction)."""
        values = []
        for spec in connector_specs():
            section = getattr(self, spec.name, None)
            for key in spec.secret_fields:
                secret = getattr(section, key, None)
                if isinstance(secret, SecretStr) and secret.get_secret_value():
                    values.append(secret.get_secret_value())
        return values


_MODELS: dict[tuple[tuple[str, type[BaseModel]], ...], type[Settings]] = {}


def settings_model() -> type[Settings]:
    """:class:`Settings` with one section per registered connector (built once per set).

    Raises:
        ConfigError: a connector's name is that of a core section.
    """
    specs = connector_specs()
    key = tuple((spec.name, spec.settings) for spec in specs)
    model = _MODELS.get(key)
    if model is None:
        fields: dict[str, Any] = {}
        for spec in specs:
            if spec.name in Settings.model_fields:
                raise ConfigError(
                    f"connector {spec.name!r} takes the name of a core section",
                    source="entry point icpsync.connectors",
                )
            fields[spec.name] = (spec.settings, Field(default_factory=spec.settings))
        model = create_model("Settings", __base__=Settings, __module__=__name__, **fields)
        _MODELS[key] = model
    return model


def section_settings(name: str, **section: Any) -> Settings:
    """Settings from one connector section alone: defaults elsewhere, no config file, no
    environment (``learn --accounts A --opportunities O`` reads its files so).

    Raises:
        ConfigError: no connector of that name, or the section is invalid.
    """
    spec = connector_spec(name)
    try:
        conf = spec.settings(**section)
    except ValidationError as exc:
        secrets = {f"{name}.{key}" for key in spec.secret_fields}
        raise config_error_from(
            exc, source="command line", prefix=name, secret_keys=secrets
        ) from None
    return settings_model().model_construct(**{name: conf})


def config_path(explicit: str | Path | None) -> tuple[Path, bool]:
    """The config file to read and whether it must exist."""
    if explicit:
        return Path(explicit), True
    env = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if env:
        return Path(env), True
    return DEFAULT_CONFIG, False


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read the settings tree (file, then environment), resolving relative paths to the file.

    Raises:
        ConfigError: the file is missing or unreadable, is not TOML, or a key is wrong.
    """
    config, required = config_path(path)
    data: dict[str, Any] = {}
    source = str(config)
    if config.exists():
        try:
            data = tomllib.loads(config.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML ({exc})", source=source) from exc
        except UnicodeDecodeError:
            raise ConfigError("not UTF-8 text", source=source) from None
        except OSError as exc:
            raise ConfigError(f"cannot read config ({exc.strerror})", source=source) from exc
    elif required:
        raise ConfigError("config file not found", source=source)
    else:
        source = "defaults"
    model = settings_model()
    _resolve_paths(data, config.parent, model)
    for key, value in overrides.items():
        data[key] = value
    try:
        settings = model(**data)
    except ValidationError as exc:
        secrets = {f"{s.name}.{k}" for s in connector_specs() for k in s.secret_fields}
        err = config_error_from(exc, source=source, secret_keys=secrets)
        env_name = ENV_PREFIX + (err.key or "").replace(".", "__").upper()
        if err.key and env_name in {k.upper() for k in os.environ}:
            err = ConfigError(err.message, source=f"environment {env_name}", key=err.key)
        raise err from None
    settings.source = source
    if settings.profile_file is not None:
        settings.active_profile()  # fail early on a bad profile file
    return settings


def _path_keys(model: type[BaseModel]) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Top-level and section keys typed ``Path``, by section."""
    keys: dict[tuple[str, ...], tuple[str, ...]] = {(): fields_of_type(model, Path)}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, Section):
            keys[(name,)] = fields_of_type(annotation, Path)
    return keys


def _resolve_paths(data: dict[str, Any], base: Path, model: type[BaseModel]) -> None:
    """Paths in the config file are relative to the file, not to the working directory."""
    for section, keys in _path_keys(model).items():
        table: Any = data
        for part in section:
            table = table.get(part) if isinstance(table, dict) else None
        if not isinstance(table, dict):
            continue
        for key in keys:
            value = table.get(key)
            if isinstance(value, str) and value and not Path(value).is_absolute():
                table[key] = str(base / value)
