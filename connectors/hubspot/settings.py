"""The HubSpot connector's ``[hubspot]`` settings section and its declaration to the registry
(secret: the private-app token; sandbox: a local portal)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from icpsync.engine.connector_spec import ConnectorSpec, Section, http_url, missing_credentials


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

    @field_validator("host")
    @classmethod
    def _host_is_a_url(cls, value: str) -> str:
        return http_url(value) or value

    def missing_credentials(self) -> list[str]:
        """``hubspot.access_token`` when it is not set."""
        return missing_credentials("hubspot", self, ("access_token",))


SPEC = ConnectorSpec(
    name="hubspot", settings=HubSpotSettings, sandbox="icpsync.connectors.hubspot.sandbox"
)
