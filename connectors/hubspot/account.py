"""The portal's identity: ``GET /account-info/v3/details`` (``portalId``).

hubspot-api-client 12 has no account-info API, and its ``api_request`` goes around the
configured host, timeout and retries; this small API object sends the call through the
companies API's own client instead (same host, pool, auth and error classes), so
:class:`~icpsync.connectors.hubspot.client.HubSpotApi` limits, counts and translates it
like any other call.
"""

from __future__ import annotations

from typing import Any

DETAILS_PATH = "/account-info/v3/details"


class AccountInfoApi:
    """``details()``: the account's ``portalId``, ``timeZone``, ``companyCurrency``..."""

    def __init__(self, api_client: Any):
        self.api_client = api_client

    def details(self, **kwargs: Any) -> Any:
        """The account details (a dict, or the raw response with ``_preload_content``)."""
        return self.details_with_http_info(**kwargs)

    def details_with_http_info(self, **kwargs: Any) -> Any:
        """The call itself, in the generated clients' calling convention."""
        return self.api_client.call_api(
            DETAILS_PATH,
            "GET",
            {},
            [],
            {"Accept": "application/json"},
            response_types_map={200: "object"},
            auth_settings=["oauth2"],
            _return_http_data_only=False,
            _preload_content=kwargs.get("_preload_content", True),
            _request_timeout=kwargs.get("_request_timeout"),
        )


def portal_id(details: dict[str, Any]) -> str:
    """The portal id of an account-details answer (empty when it has none)."""
    value = details.get("portalId")
    return "" if value is None else str(value)
