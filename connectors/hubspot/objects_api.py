"""One CRM object type's list pages and batch updates, sent through the generated client's
own ``ApiClient.request``, below its parameter handling and model serialiser.

The generated ``basic_api.get_page`` checks its keyword arguments, walks its query and
header parameters through ``sanitize_for_serialization`` and expands them into pairs on
every call, and urllib3 then url-encodes the 20 or so pairs: for a list whose pages differ
only in ``after``, the same query string built 1,000 times. The generated
``batch_api.update`` walks every request body through the same serialiser (one Python call
per input, per property and per value) before its REST client encodes it. icpsync's queries
and bodies are plain already, so this API object hands them to the ``ApiClient.request``
the generated methods end in: the same host, connection pool, CA bundle, timeout,
private-app token, headers and error classes (401 ``UnauthorizedException``, 5xx
``ServiceException``...), and the REST client's own ``json.dumps``. A page's query string
(:class:`PageQuery`) is encoded once, with the pairs, order and text the generated method
sends. Both calls keep the generated calling convention (``get_page`` /
``get_page_with_http_info``, ``update`` / ``update_with_http_info``), so
:class:`~icpsync.connectors.hubspot.client.HubSpotApi` limits, counts, retries and translates
them like any generated call; they return the raw response (call them with ``raw``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

#: the authentication the generated CRM methods name (the private-app token's header).
AUTH = ["oauth2"]
#: what the generated CRM methods accept.
ACCEPT = ["application/json", "*/*"]


class PageQuery:
    """The query string of ``GET /crm/v3/objects/{type}`` pages, encoded once.

    The pairs the generated ``get_page`` sends, in its order (``limit``, ``after``, one
    ``properties`` pair per name, one ``associations`` pair per type, ``archived``), each
    encoded as urllib3 encodes them; only ``after`` changes from page to page.
    """

    def __init__(self, limit: int, properties: Sequence[str], associations: Sequence[str] = ()):
        self.head = urlencode([("limit", limit)])
        pairs = [("properties", p) for p in properties]
        pairs += [("associations", a) for a in associations]
        self.tail = urlencode([*pairs, ("archived", False)])

    def __call__(self, after: str | None = None) -> str:
        """The query string of the page after ``after`` (the first page for None)."""
        if after is None:
            return f"{self.head}&{self.tail}"
        return f"{self.head}&{urlencode([('after', after)])}&{self.tail}"


class ObjectsApi:
    """List pages and batch updates of one object type, through ``api_client`` (a generated
    ``ApiClient`` of that object type's package, whose error classes it raises)."""

    def __init__(self, api_client: Any, object_type: str):
        self.api_client = api_client
        self.path = f"/crm/v3/objects/{object_type}"

    def get_page(self, query: str, **kwargs: Any) -> Any:
        """One list page: the raw response (there are no models)."""
        return self.get_page_with_http_info(query, **kwargs)

    def get_page_with_http_info(self, query: str, **kwargs: Any) -> Any:
        """``GET`` the page ``query`` (a :class:`PageQuery`'s string) names; the response
        is returned unread."""
        return self._request("GET", f"{self.path}?{query}", None, kwargs)

    def update(self, body: dict[str, Any], **kwargs: Any) -> Any:
        """The batch update: the raw response (there are no models)."""
        return self.update_with_http_info(body, **kwargs)

    def update_with_http_info(self, body: dict[str, Any], **kwargs: Any) -> Any:
        """``POST .../batch/update``: ``body`` is sent as JSON exactly as given; the response
        is returned unread."""
        return self._request("POST", f"{self.path}/batch/update", body, kwargs)

    def _request(self, method: str, path: str, body: Any, kwargs: dict[str, Any]) -> Any:
        """The call, with the headers the generated methods send (``_preload_content`` is
        always off; ``_request_timeout`` is passed on)."""
        client = self.api_client
        headers: dict[str, str] = dict(client.default_headers)
        if client.cookie:
            headers["Cookie"] = client.cookie
        headers["Accept"] = client.select_header_accept(ACCEPT)
        if body is not None:
            headers["Content-Type"] = "application/json"
        client.update_params_for_auth(headers, [], AUTH)
        return client.request(
            method,
            client.configuration.host + path,
            query_params=None,
            headers=headers,
            body=body,
            _preload_content=False,
            _request_timeout=kwargs.get("_request_timeout"),
        )
