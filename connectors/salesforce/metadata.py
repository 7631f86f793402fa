"""Metadata API calls (``sf.mdapi``, zeep over SOAP) under the connector's call policy.

``sf.mdapi`` builds its own ``requests`` session inside zeep, so the settings' CA bundle and
timeout do not reach it: :func:`mdapi` swaps in a session from :class:`Session`. zeep raises
``Fault`` for SOAP faults and simple-salesforce a plain ``Exception`` "(statusCode, message)"
for a failed save result; :func:`md_call` turns an expired session into the REST client's
``SalesforceExpiredSession`` (so :class:`Api` logs in again and retries) and everything else
into :class:`FatalError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
)
from zeep.exceptions import Error as ZeepError
from zeep.exceptions import Fault

from icpsync.connectors.salesforce.api import Api
from icpsync.core.errors import BudgetExhausted, FatalError, IcpSyncError

T = TypeVar("T")
_PATCHED = "_icpsync_session"


def mdapi(api: Api, client: Salesforce) -> Any:
    """``client.mdapi`` with the session's CA bundle and timeout on its transport."""
    md = client.mdapi
    transport = md._client.transport
    if not getattr(transport, _PATCHED, False):
        http = api.session.http()
        http.hooks["response"].append(_refuse_non_soap)
        transport.session = http
        transport.operation_timeout = api.session.conf.timeout_s
        setattr(transport, _PATCHED, True)
    return md


def _refuse_non_soap(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """Raise the REST client's error for an answer that is not SOAP (a proxy's 503 page,
    a 404 for an API version the org lacks) before zeep tries to parse it; a 5xx is
    retried like any other."""
    if "xml" in response.headers.get("Content-Type", ""):
        return
    error = SalesforceGeneralError if response.status_code >= 500 else SalesforceError
    raise error(response.url, response.status_code, "metadata", response.content)


def md_call(api: Api, kind: str, fn: Callable[[Any], T]) -> T:
    """Run ``fn(mdapi)`` through :meth:`Api.call`; see the module docstring for errors."""

    def attempt(client: Salesforce) -> T:
        try:
            return fn(mdapi(api, client))
        except Fault as exc:
            code = str(exc.code or "")
            if "INVALID_SESSION_ID" in code:
                raise SalesforceExpiredSession(
                    client.metadata_url, 401, "metadata", b"INVALID_SESSION_ID"
                ) from exc
            if "REQUEST_LIMIT_EXCEEDED" in code:
                raise BudgetExhausted(f"salesforce: REQUEST_LIMIT_EXCEEDED: {exc.message}") from exc
            raise FatalError(
                f"salesforce {kind}: {code.rpartition(':')[2]}: {exc.message}"
            ) from exc

    try:
        return api.call(kind, attempt)
    except IcpSyncError:
        raise
    except ZeepError as exc:
        raise FatalError(f"salesforce {kind}: {exc}") from exc
    except Exception as exc:  # simple-salesforce raises a bare Exception for failed saves
        if type(exc) is Exception:
            raise FatalError(f"salesforce {kind}: {str(exc).strip()}") from exc
        raise


def encode_name(name: str) -> str:
    """A layout name as the Metadata API spells it: ``(`` -> ``%28`` (kept if encoded)."""
    if "%" in name:
        return name
    return quote(name, safe=" -_.'&")


def plain(value: Any) -> Any:
    """A zeep object (or list of them) as plain dicts and lists, for comparing."""
    from zeep.helpers import serialize_object

    return serialize_object(value, target_cls=dict)
