"""``POST /crm/v3/objects/{type}/batch/update`` sent through the generated client's own
``ApiClient.request``, below its model serialiser.

The generated ``batch_api.update`` walks every request body through
``ApiClient.sanitize_for_serialization`` (one Python call per input, per property and per
value: 1,000 calls of 100 inputs cost more than the JSON encoding itself) before its REST
client encodes it. icpsync's bodies are already plain JSON-shaped dicts of strings, so
this API object hands them to the same ``ApiClient.request`` the generated method ends
in: the same host, connection pool, CA bundle, timeout, private-app token, headers and
error classes (401 ``UnauthorizedException``, 5xx ``ServiceException``...), and the REST
client's own ``json.dumps``. It keeps the generated calling convention
(``update``/``update_with_http_info``), so :class:`~icpsync.connectors.hubspot.client.
HubSpotApi` limits, counts, retries and translates it like any generated call.
"""

from __future__ import annotations

from typing import Any

#: the authentication the generated CRM methods name (the private-app token's header).
AUTH = ["oauth2"]


class BatchUpdateApi:
    """``update(body)`` for one object type, through ``api_client`` (a generated
    ``ApiClient`` of that object type's package, whose error classes it raises)."""

    def __init__(self, api_client: Any, object_type: str):
        self.api_client = api_client
        self.path = f"/crm/v3/objects/{object_type}/batch/update"

    def update(self, body: dict[str, Any], **kwargs: Any) -> Any:
        """The batch update: the raw response (call it with ``raw``; there are no models)."""
        return self.update_with_http_info(body, **kwargs)

    def update_with_http_info(self, body: dict[str, Any], **kwargs: Any) -> Any:
        """The call itself: ``body`` is sent as JSON exactly as given; the response is
        returned unread (``_preload_content`` is always off)."""
        client = self.api_client
        headers: dict[str, str] = dict(client.default_headers)
        if client.cookie:
            headers["Cookie"] = client.cookie
        headers["Accept"] = client.select_header_accept(["application/json", "*/*"])
        headers["Content-Type"] = "application/json"
        client.update_params_for_auth(headers, [], AUTH)
        return client.request(
            "POST",
            client.configuration.host + self.path,
            query_params=[],
            headers=headers,
            body=body,
            _preload_content=False,
            _request_timeout=kwargs.get("_request_timeout"),
        )
