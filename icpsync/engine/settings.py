"""One settings tree: a TOML file overridden by ``ICPSYNC_<SECTION>__<KEY>`` variables.

The file is ``--config PATH``, else ``$ICPSYNC_CONFIG``, else ``./icpsync.toml`` (which may
be absent: defaults then apply). Every credential is a ``SecretStr``. Any problem becomes a
:class:`~icpsync.core.errors.ConfigError` naming the file, the key and what was expected.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from icpsync.core.errors import ConfigError
from icpsync.core.profile import Profile, config_error_from, load_profile

ENV_PREFIX = "ICPSYNC_"
DEFAULT_CONFIG = Path("icpsync.toml")


class Section(BaseModel):
    """Base of every settings section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class SyncSettings(Section):
    """How a run behaves, whatever the CRM."""

    crm: str = "file"
    lookback_days: int = Field(default=730, ge=1)
    write_chunk: int = Field(default=50_000, ge=1)
    overlap_writes: bool = True
    cursor_overlap_s: int = Field(default=120, ge=0)
    examples: int = Field(default=5, ge=0)


class StateSettings(Section):
    """Where runs, cursors, history and drift are kept."""

    dir: Path = Path(".icpsync")
    url: str | None = None
    lease_seconds: int = Field(default=3600, ge=10)

    def database_url(self) -> str:
        """The SQLAlchemy URL: ``url`` when set, else SQLite in ``dir``."""
        return self.url or f"sqlite:///{self.dir / 'icpsync.db'}"


class FileSettings(Section):
    """The file connector: CSV or JSON Lines in, scored rows out."""

    accounts: Path | None = None
    opportunities: Path | None = None
    output: Path | None = None
    field_map: str = "file"


class SalesforceSettings(Section):
    """A Salesforce org reached through simple-salesforce."""

    auth: Literal["password", "jwt", "client_credentials", "session"] = "password"
    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    domain: str = "login"
    consumer_key: str | None = None
    consumer_secret: SecretStr | None = None
    privatekey_file: Path | None = None
    session_id: SecretStr | None = None
    instance_url: str | None = None
    api_version: str = "62.0"
    ca_bundle: Path | None = None
    timeout_s: float = Field(default=60.0, gt=0)
    field_map: str = "salesforce"
    bulk_read_threshold: int = Field(default=100_000, ge=0)
    bulk_write_threshold: int = Field(default=2000, ge=0)
    api_budget_share: float = Field(default=0.5, gt=0, le=1)
    max_retries: int = Field(default=5, ge=0)
    lock_retries: int = Field(default=3, ge=0)
    write_concurrency: int = Field(default=4, ge=1, le=25)
    bulk_poll_s: float = Field(default=0.5, gt=0)
    bulk_timeout_s: float = Field(default=3600.0, gt=0)


class HubSpotSettings(Section):
    """A HubSpot portal reached through hubspot-api-client."""

    access_token: SecretStr | None = None
    host: str = "https://api.hubapi.com"
    field_map: str = "hubspot"
    rate_limit_per_10s: int = Field(default=100, ge=1)
    search_per_second: int = Field(default=4, ge=1)
    mirror_native_tier: bool = False
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=5, ge=0)
    retry_backoff_s: float = Field(default=1.0, ge=0)
    write_concurrency: int = Field(default=1, ge=1, le=10)
    daily_budget_share: float = Field(default=0.5, gt=0, le=1)


class ScheduleSettings(Section):
    """Background jobs for ``icpsync schedule``."""

    #: connections to keep current; unset: the ``[sync] crm`` one.
    connections: list[str] | None = None
    incremental_minutes: int = Field(default=15, ge=1)
    full_cron: str = "0 2 * * *"
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
    """The whole settings tree."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    profile_file: Path | None = None
    profile: Profile | None = None
    sync: SyncSettings = Field(default_factory=SyncSettings)
    state: StateSettings = Field(default_factory=StateSettings)
    file: FileSettings = Field(default_factory=FileSettings)
    salesforce: SalesforceSettings = Field(default_factory=SalesforceSettings)
    hubspot: HubSpotSettings = Field(default_factory=HubSpotSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    drift: DriftSettings = Field(default_factory=DriftSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

    #: where the settings were read from (not a setting).
    source: str = Field(default="defaults", exclude=True)

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
        """The effective settings as plain data, secrets shown as ``**********``."""
        return self.model_dump(mode="json", exclude={"profile"})


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
    _resolve_paths(data, config.parent)
    for key, value in overrides.items():
        data[key] = value
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        err = config_error_from(exc, source=source)
        env_name = ENV_PREFIX + (err.key or "").replace(".", "__").upper()
        if err.key and env_name in {k.upper() for k in os.environ}:
            err = ConfigError(err.message, source=f"environment {env_name}", key=err.key)
        raise err from None
    settings.source = source
    if settings.profile_file is not None:
        settings.active_profile()  # fail early on a bad profile file
    return settings


_PATH_KEYS = {
    (): ("profile_file",),
    ("file",): ("accounts", "opportunities", "output"),
    ("state",): ("dir",),
    ("salesforce",): ("privatekey_file", "ca_bundle"),
}


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    """Paths in the config file are relative to the file, not to the working directory."""
    for section, keys in _PATH_KEYS.items():
        table: Any = data
        for part in section:
            table = table.get(part) if isinstance(table, dict) else None
        if not isinstance(table, dict):
            continue
        for key in keys:
            value = table.get(key)
            if isinstance(value, str) and value and not Path(value).is_absolute():
                table[key] = str(base / value)
