"""The HubSpot client as icpsync uses it: one set of API objects, limited, retried, counted.

hubspot-api-client builds a new ``ApiClient`` (and connection pool) on every attribute
access of ``client.crm.companies.basic_api``; this wrapper builds each API once and closes
their pools. Its own urllib3 retry is switched off (it never retries POST anyway): retries
happen here, with tenacity, so they are counted and bounded (attempts, and a deadline on
the time one call may spend retrying). Vendor errors (each API package has its own
``ApiException``) become icpsync's error tree::

    401/403                   -> AuthError
    429 DAILY                 -> BudgetExhausted (stop cleanly, resume next run)
    429 TEN_SECONDLY/SECONDLY -> RateLimited (retried after ``Retry-After``, else a back-off)
    5xx, timeouts, lost conn. -> RetriableError (retried)
    other 4xx                 -> RequestRefused (a FatalError with HubSpot's message)

The ``X-HubSpot-RateLimit-*`` headers of every response tune the limiter (HubSpot's limit
and what its window has left); a 429 pauses every caller of the limiter until its
``Retry-After``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
import urllib3
from hubspot import HubSpot
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)
from urllib3.util.retry import Retry

from icpsync.connectors.hubspot.limiter import SlidingWindowLimiter, shared_limiter
from icpsync.connectors.hubspot.objects_api import ObjectsApi
from icpsync.core.errors import AuthError, BudgetExhausted, FatalError, RetriableError

if TYPE_CHECKING:
    from icpsync.connectors.hubspot.settings import HubSpotSettings

log = logging.getLogger(__name__)
T = TypeVar("T")
_SEARCH = "search"
#: the most time one call spends retrying (its waits included) before it gives up.
RETRY_DEADLINE_S = 300.0


class RateLimited(RetriableError):
    """HubSpot said 429 for the ten-secondly (or search's secondly) policy.

    Attributes:
        retry_after: seconds HubSpot asked to wait (``Retry-After``), when it said.
    """

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ResponseLost(RetriableError):
    """No response came back (timeout, dropped connection): the call may have been applied."""


class RequestRefused(FatalError):
    """HubSpot refused the request (4xx other than auth and rate limits).

    Attributes:
        status: the HTTP status.
        category: HubSpot's error category (``VALIDATION_ERROR``, ``CONFLICT``...).
    """

    def __init__(
        self, message: str, status: int, category: str | None, body: dict[str, Any] | None = None
    ):
        super().__init__(message)
        self.status = status
        self.category = category
        self.body = body or {}


def snippet(body: object, limit: int = 120) -> str:
    """A short, readable form of a response body: the text of an HTML page (a proxy's
    error page, say) without its tags, or the start of anything else."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    if text.lstrip().startswith("<"):
        text = "HTML page: " + re.sub(r"<[^>]*>", " ", text)
    return " ".join(text.split())[:limit]


def not_json(kind: str, body: object) -> RetriableError:
    """The error for a 2xx response whose body is not the JSON HubSpot sends."""
    return RetriableError(
        f"HubSpot {kind}: the response was not HubSpot's JSON (cut off, or from a proxy?): "
        f"{snippet(body)!r}"
    )


def _refuse_broken_json(api_client: Any) -> None:
    """Make one generated API client raise on a body that is not JSON.

    Its own ``deserialize`` falls back to building models from the raw text, which turns
    a cut-off body into a model full of ``None`` (and a ``TypeError`` far away).
    """
    lenient = api_client.deserialize

    def deserialize(response: Any, response_type: Any) -> Any:
        if response_type != "file" and response.data:
            try:
                json.loads(response.data)
            except ValueError:
                raise not_json(str(response_type), response.data) from None
        return lenient(response, response_type)

    api_client.deserialize = deserialize


def _decode(body: bytes | None, unread: bool) -> Any:
    """A raw response body as JSON ({} when empty); with ``unread`` only checked to be a
    whole JSON object (not a proxy's page, not cut off) and None returned.

    orjson, not ``json``: HubSpot pages are objects of strings, which it builds about
    twice as fast (docs/benchmarks.md).
    """
    if unread:
        text = (body or b"").strip()
        if not (text.startswith(b"{") and text.endswith(b"}")):
            raise ValueError("not a JSON object")
        return None
    return orjson.loads(body or b"{}")


def error_body(exc: Exception) -> dict[str, Any]:
    """HubSpot's JSON error body of a client exception ({} when there is none)."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        return {"message": snippet(body)}
    return data if isinstance(data, dict) else {}


def translate(exc: Exception, kind: str) -> Exception:
    """icpsync's error for a hubspot-api-client or urllib3 exception."""
    if isinstance(exc, urllib3.exceptions.HTTPError):
        peer = getattr(exc, "conn", None) or getattr(exc, "pool", None)
        host = getattr(peer, "host", None)
        where = f" from {host}" if host else ""
        return ResponseLost(f"HubSpot {kind}: no response{where} ({type(exc).__name__})")
    status = int(getattr(exc, "status", 0) or 0)
    body = error_body(exc)
    message = str(body.get("message") or getattr(exc, "reason", "") or exc)
    if status in (401, 403):
        return AuthError(
            f"HubSpot refused the access token ({status}): {message.rstrip('.')}. "
            "Check the private app's token and its crm.objects.companies/deals and schema scopes."
        )
    if status == 429:
        if body.get("policyName") == "DAILY":
            return BudgetExhausted("HubSpot's daily API limit is reached")
        return RateLimited(
            f"HubSpot rate limit ({body.get('policyName', 'unknown')}): {message}",
            retry_after(getattr(exc, "headers", None)),
        )
    if status >= 500 or status == 0:
        return RetriableError(f"HubSpot {kind}: server error {status}: {snippet(message)}")
    return RequestRefused(
        f"HubSpot {kind}: {status} {readable(body) or message}", status, body.get("category"), body
    )


def retry_after(headers: Any) -> float | None:
    """``Retry-After`` in seconds (HubSpot sends a number), or None."""
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def readable(body: dict[str, Any], limit: int = 200) -> str:
    """One short line from a HubSpot error body: category, property, code and message.

    A whole-batch 400 nests the property checks as escaped JSON in ``message``
    (``Property values were not valid: [{"isValid":false,"name":...}]``) and repeats them
    in ``errors``; both are read, the first invalid property is named.
    """
    checks: list[tuple[str, str, str]] = []
    for item in body.get("errors") or []:
        if not isinstance(item, dict):
            continue
        names = (item.get("context") or {}).get("propertyName") or []
        name = ",".join(map(str, names))
        checks.append((name, str(item.get("code") or ""), str(item.get("message") or "")))
    message = str(body.get("message") or "")
    head, sep, nested = message.partition(": [")
    if not checks and sep:
        try:
            parsed = json.loads("[" + nested)
        except ValueError:
            parsed = []
        for item in parsed if isinstance(parsed, list) else []:
            if isinstance(item, dict) and not item.get("isValid", False):
                checks.append(
                    (
                        str(item.get("name") or ""),
                        str(item.get("error") or ""),
                        str(item.get("message") or ""),
                    )
                )
    category = str(body.get("category") or "")
    if checks:
        name, code, text = checks[0]
        more = f" (+{len(checks) - 1} more)" if len(checks) > 1 else ""
        where = f"{name}: " if name else ""
        line = f"{category}: {where}{code}: {text}{more}"
    else:
        line = f"{category}: {head if sep else message}" if category else message
    line = " ".join(line.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _fingerprint(token: str) -> str:
    """A short, one-way name for a token (limiters are shared per app, never keyed by it)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def _is_vendor_error(exc: Exception) -> bool:
    return type(exc).__module__.startswith("hubspot.") and hasattr(exc, "status")


class DailyBudget:
    """Stops a run before it spends more than ``share`` of the daily calls left at its start.

    A share of 1 sets no limit of its own: HubSpot's ``DAILY`` 429 stops the run.
    """

    def __init__(self, share: float):
        self.share = share
        self.allowed: int | None = None
        self.used = 0
        self.remaining: int | None = None
        self.daily: int | None = None

    def check(self) -> None:
        """Raise BudgetExhausted when this run's share is spent."""
        if self.allowed is not None and self.used >= self.allowed:
            raise BudgetExhausted(
                f"this run used its share ({self.share * 100:.3g}%) of HubSpot's daily API calls"
            )

    def observe(self, headers: Any) -> None:
        """Read ``X-HubSpot-RateLimit-Daily(-Remaining)`` from a response."""
        self.used += 1
        if headers is None:
            return
        remaining = headers.get("X-HubSpot-RateLimit-Daily-Remaining")
        daily = headers.get("X-HubSpot-RateLimit-Daily")
        if remaining is not None and str(remaining).isdigit():
            self.remaining = int(remaining)
            if self.allowed is None and self.share < 1:
                # the first call is already spent: it counts against the share too
                self.allowed = int((self.remaining + 1) * self.share)
        if daily is not None and str(daily).isdigit():
            self.daily = int(daily)


class HubSpotApi:
    """The API objects icpsync uses, behind one limiter, one retry policy and one budget.

    Args:
        client: a ``hubspot.HubSpot`` client (its ``host`` points at the portal or sandbox).
        rate_limit_per_10s: calls per 10 s the client allows itself.
        search_per_second: search calls per second.
        timeout_s: per-request timeout.
        max_retries: retries of a retriable failure (so ``max_retries + 1`` attempts).
        backoff_s: first back-off; doubles each retry.
        budget_share: share of the remaining daily calls one run may spend.
        limiter_key: share the limiters with every client of this key in the process
            (HubSpot counts per app); private limiters when None.
    """

    def __init__(
        self,
        client: HubSpot,
        *,
        rate_limit_per_10s: int = 100,
        search_per_second: int = 4,
        timeout_s: float = 60.0,
        max_retries: int = 5,
        backoff_s: float = 1.0,
        budget_share: float = 0.5,
        limiter_key: str | None = None,
    ):
        crm = client.crm
        self.companies = crm.companies.basic_api
        self.companies_search = crm.companies.search_api
        self.companies_batch = crm.companies.batch_api
        self.deals = crm.deals.basic_api
        #: list pages (queries encoded once) and batch updates (plain dict bodies) through
        #: the generated APIs' own clients: reads on the basic APIs', writes on the batch one.
        self.companies_pages = ObjectsApi(self.companies.api_client, "companies")
        self.deals_pages = ObjectsApi(self.deals.api_client, "deals")
        self.companies_update = ObjectsApi(self.companies_batch.api_client, "companies")
        self.deals_batch = crm.deals.batch_api
        self.deals_search = crm.deals.search_api
        self.properties = crm.properties.core_api
        self.groups = crm.properties.groups_api
        self.pipelines = crm.pipelines.pipelines_api
        self.associations = crm.associations.v4.batch_api
        self.lists = crm.lists.lists_api
        self.list_members = crm.lists.memberships_api
        for api in self._apis():
            _refuse_broken_json(api.api_client)
        if limiter_key is None:
            self.limiter = SlidingWindowLimiter(rate_limit_per_10s, 10.0)
            self.search_limiter = SlidingWindowLimiter(search_per_second, 1.0)
        else:
            self.limiter = shared_limiter(limiter_key, rate_limit_per_10s, 10.0)
            self.search_limiter = shared_limiter(limiter_key + "#search", search_per_second, 1.0)
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.budget = DailyBudget(budget_share)
        self.calls: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()
        self._limit_headers: Any = None
        #: how retries wait (tests record the waits through it).
        self.sleep: Callable[[float], None] = time.sleep
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, conf: HubSpotSettings) -> HubSpotApi:
        """A client for the ``[hubspot]`` settings (token, host, limits, retries)."""
        token = conf.access_token.get_secret_value() if conf.access_token else None
        client = HubSpot(access_token=token, host=conf.host.rstrip("/"), retry=Retry(False))
        return cls(
            client,
            rate_limit_per_10s=conf.rate_limit_per_10s,
            search_per_second=conf.search_per_second,
            timeout_s=conf.timeout_s,
            max_retries=conf.max_retries,
            backoff_s=conf.retry_backoff_s,
            budget_share=conf.daily_budget_share,
            limiter_key=f"{conf.host.rstrip('/')}|{_fingerprint(token or '')}",
        )

    def call_once(
        self,
        kind: str,
        method: Callable[..., T],
        *args: Any,
        raw: bool = False,
        unread_200: bool = False,
        **kwargs: Any,
    ) -> T:
        """One attempt of ``method`` (a bound API method), limited, counted and translated.

        With ``raw`` the response body is returned as parsed JSON instead of the client's
        models (whose deserialiser parses every ``createdAt`` with dateutil: most of the
        time of a large read). With ``unread_200`` too (batch writes), a 200's body is
        only checked to be a JSON object and None is returned: HubSpot answers a batch
        update with 200 only when every input was applied (one failed input makes it a
        207 with ``errors``), so the echo of 100 records is not worth parsing.
        """
        with_info = getattr(method.__self__, f"{method.__name__}_with_http_info")  # type: ignore[attr-defined]
        limiter = self.search_limiter if kind.startswith(_SEARCH) else self.limiter
        with self._lock:
            self.budget.check()
            self.calls[kind] += 1
        if raw:
            kwargs["_preload_content"] = False
        with limiter.slot():
            try:
                result = with_info(*args, _request_timeout=self.timeout_s, **kwargs)
                if raw:
                    headers = result.headers
                    try:
                        data: Any = _decode(result.data, unread_200 and result.status == 200)
                    except ValueError:
                        raise not_json(kind, result.data) from None
                    finally:
                        result.release_conn()
                else:
                    data, _status, headers = result
            except Exception as exc:
                if not (_is_vendor_error(exc) or isinstance(exc, urllib3.exceptions.HTTPError)):
                    raise
                with self._lock:
                    self.budget.observe(getattr(exc, "headers", None))
                error = translate(exc, kind)
                if isinstance(error, RateLimited):
                    limiter.pause(error.retry_after or self.backoff_s)
                else:
                    limiter.observe(getattr(exc, "headers", None))
                raise error from exc
            limiter.observe(headers)
        with self._lock:
            self.budget.observe(headers)
            if headers is not None and headers.get("X-HubSpot-RateLimit-Max") is not None:
                self._limit_headers = headers
        return data

    @property
    def last_headers(self) -> dict[str, str]:
        """The ``X-HubSpot-RateLimit-*`` headers of the last response that had them (picked
        out when asked, not on every call)."""
        headers = self._limit_headers
        if headers is None:
            return {}
        return {k: v for k, v in headers.items() if k.lower().startswith("x-hubspot-ratelimit")}

    def retrying(self) -> Retrying:
        """The request retry policy: retriable errors, ``max_retries`` times and at most
        ``RETRY_DEADLINE_S`` in all; a 429 waits its ``Retry-After`` (else an exponential
        back-off from ``backoff_s``), other faults back off from a fifth of it."""
        cap = max(self.backoff_s * 16, 10.0)
        limited = wait_exponential(multiplier=self.backoff_s, max=cap)
        # a 5xx or a lost response is worth trying again soon (HubSpot's own SDKs wait
        # 200 ms x n); a 429 waits what HubSpot asked, else the full back-off
        faulted = wait_exponential(multiplier=self.backoff_s / 5, max=cap)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if not isinstance(exc, RateLimited):
                return float(faulted(state))
            return float(exc.retry_after if exc.retry_after is not None else limited(state))

        return Retrying(
            retry=retry_if_exception_type(RetriableError),
            stop=stop_after_attempt(self.max_retries + 1) | stop_after_delay(RETRY_DEADLINE_S),
            wait=wait,
            sleep=lambda seconds: self.sleep(seconds),
            reraise=True,
            before_sleep=self._note_retry,
        )

    def note_retry(self, kind: str) -> None:
        """Count one retry of ``kind`` (request retries count by error type; ``record``
        counts the rounds of retrying records)."""
        with self._lock:
            self.retries[kind] += 1

    def _note_retry(self, state: Any) -> None:
        exc = state.outcome.exception() if state.outcome else None
        with self._lock:
            self.retries[type(exc).__name__] += 1
        log.info("HubSpot call failed (%s); retrying", exc)

    def call(
        self, kind: str, method: Callable[..., T], *args: Any, raw: bool = False, **kwargs: Any
    ) -> T:
        """``call_once`` retried on retriable errors (use only for reads and idempotent calls)."""
        for attempt in self.retrying():
            with attempt:
                return self.call_once(kind, method, *args, raw=raw, **kwargs)
        raise AssertionError("unreachable")  # pragma: no cover

    def _apis(self) -> tuple[Any, ...]:
        return (
            self.companies,
            self.companies_search,
            self.companies_batch,
            self.deals,
            self.deals_batch,
            self.deals_search,
            self.properties,
            self.groups,
            self.pipelines,
            self.associations,
            self.lists,
            self.list_members,
        )

    def close(self) -> None:
        """Close every API object's connection pool."""
        for api in self._apis():
            api.api_client.rest_client.pool_manager.clear()
            api.api_client.close()
