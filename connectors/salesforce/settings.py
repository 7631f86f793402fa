"""The Salesforce connector's ``[salesforce]`` settings section and its declaration to the
registry (secrets: its ``SecretStr`` keys; sandbox: a local org)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator

from icpsync.engine.connector_spec import ConnectorSpec, Section, http_url, missing_credentials


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
    # What reps see (install / uninstall): the page-layout section, its layouts, the report.
    #: label of the section install adds to the Account page layouts.
    layout_section: str = Field(default="ICP Fit", min_length=1, max_length=80)
    #: page layouts to add it to (e.g. "Account-Account Layout"); unset: every Account layout.
    layouts: list[str] | None = None
    #: API name of the report folder; unset: the integration user's private reports.
    report_folder: str | None = None

    #: the settings each auth mode needs.
    REQUIRED: ClassVar[dict[str, tuple[str, ...]]] = {
        "password": ("username", "password", "security_token"),
        "jwt": ("username", "consumer_key", "privatekey_file"),
        "client_credentials": ("consumer_key", "consumer_secret"),
        "session": ("session_id", "instance_url"),
    }

    @field_validator("instance_url")
    @classmethod
    def _instance_url_is_a_url(cls, value: str | None) -> str | None:
        return http_url(value)

    def missing_credentials(self) -> list[str]:
        """The ``salesforce.<key>`` settings the auth mode needs and does not have."""
        return missing_credentials("salesforce", self, self.REQUIRED[self.auth])


SPEC = ConnectorSpec(
    name="salesforce",
    settings=SalesforceSettings,
    sandbox="icpsync.connectors.salesforce.sandbox",
)
