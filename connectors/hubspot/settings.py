"""The HubSpot connector's ``[hubspot]`` settings section and its declaration to the registry
(secret: the private-app token; sandbox: a local portal)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from icpsync.engine.connector_spec import ConnectorSpec, Section


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


SPEC = ConnectorSpec(
    name="hubspot", settings=HubSpotSettings, sandbox="icpsync.connectors.hubspot.sandbox"
)
