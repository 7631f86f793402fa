"""The portal's identity: ``GET /account-info/v3/details`` (``portalId``), or, for a private
app whose token may not call it (403), ``POST /oauth/v2/private-apps/get/access-token-info``
(``hubId``), which any private-app token may call about itself.

hubspot-api-client 12 has no account-info API, and its ``api_request`` goes around the
configured host, timeout and retries; this small API object sends the call through the
companies API's own client instead (same host, pool, auth and error classes), so
:class:`~icpsync.connectors.hubspot.client.HubSpotApi` limits, counts and translates it
like any other call.
"""

from __future__ import annotations

from typing import Any

DETAILS_PATH = "/account-info/v3/details"
TOKEN_INFO_PATH = "/oauth/v2/private-apps/get/access-token-info"


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

    def token_info(self, **kwargs: Any) -> Any:
        """What the client's own private-app token belongs to (``hubId``, ``appId``...)."""
        return self.token_info_with_http_info(**kwargs)

    def token_info_with_http_info(self, **kwargs: Any) -> Any:
        """The call itself, in the generated clients' calling convention."""
        token = self.api_client.configuration.access_token
        return self.api_client.call_api(
            TOKEN_INFO_PATH,
            "POST",
            {},
            [],
            {"Accept": "application/json", "Content-Type": "application/json"},
            body={"tokenKey": token},
            response_types_map={200: "object"},
            auth_settings=["oauth2"],
            _return_http_data_only=False,
            _preload_content=kwargs.get("_preload_content", True),
            _request_timeout=kwargs.get("_request_timeout"),
        )


def portal_id(answer: object, key: str = "portalId") -> str:
    """The portal id in an account-details (``portalId``) or token-info (``hubId``) answer;
    empty when it has none."""
    value = answer.get(key) if isinstance(answer, dict) else None
    return "" if value is None else str(value)
