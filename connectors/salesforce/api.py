"""Every Salesforce call goes through :class:`Api`: counted, retried, translated.

* 5xx (an HTML 502 from a proxy included), timeouts and dropped connections back off and
  retry (tenacity), up to ``max_retries`` and ``RETRY_DEADLINE_S`` in all; a
  ``before_retry`` hook lets writers re-read what a timed-out request may already have
  applied, so no record is written twice.
* 401 ``INVALID_SESSION_ID`` logs in again (once per expiry across threads) and retries.
  In ``session`` mode, which cannot log in, the first 401 of a call is retried with the
  same session (real orgs answer a spurious 401 now and then); a second one is expiry.
* 403 ``REQUEST_LIMIT_EXCEEDED`` raises :class:`BudgetExhausted`; other API errors raise
  :class:`Refused` (a :class:`FatalError`) with Salesforce's ``errorCode: message``.
* ``Sforce-Limit-Info`` is read after each call into :class:`Budget`, which also counts the
  calls the run sends (Bulk API 2.0 answers carry no usage that simple-salesforce reads);
  every call, reads included, is checked against it first: the call that would spend more
  than ``api_budget_share`` of what was left when the run started is not made
  (:class:`BudgetExhausted`, the run stops and the next one resumes).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceOperationError,
    SalesforceRefusedRequest,
)
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from icpsync.connectors.salesforce.auth import Session, connection_problem
from icpsync.core.errors import BudgetExhausted, FatalError, RetriableError
from icpsync.core.model import ConnectorStats

log = logging.getLogger(__name__)
T = TypeVar("T")
#: the most time one call spends retrying (its waits included) before it gives up.
RETRY_DEADLINE_S = 300.0


class Refused(FatalError):
    """Salesforce refused a request (4xx other than the daily limit).

    Attributes:
        status: the HTTP status.
        code: Salesforce's ``errorCode`` (``""`` when the body had none).
        detail: Salesforce's ``message``.
    """

    def __init__(self, message: str, status: int, code: str, detail: str = ""):
        super().__init__(message)
        self.status = status
        self.code = code
        self.detail = detail


def _refused(kind: str, exc: SalesforceError, text: str | None = None) -> Refused:
    content = exc.content
    first: Any = content[0] if isinstance(content, list) and content else {}
    if not isinstance(first, dict):
        first = {}
    code, detail = str(first.get("errorCode") or ""), str(first.get("message") or "")
    message = text or error_text(exc)
    return Refused(f"salesforce {kind}: {message}", int(exc.status), code, detail)


def error_text(exc: SalesforceError) -> str:
    """``errorCode: message`` from Salesforce's error body, or the status."""
    content = exc.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        return f"{first.get('errorCode', exc.status)}: {first.get('message', '')}".strip()
    return f"HTTP {exc.status}"


#: a request whose outcome is unknown: it may have been applied (a write is read back).
UNCERTAIN = (requests.Timeout, requests.ConnectionError, requests.exceptions.JSONDecodeError)


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, requests.exceptions.SSLError):
        return False  # an untrusted certificate stays untrusted
    if isinstance(exc, UNCERTAIN):
        return True
    if isinstance(exc, SalesforceExpiredSession):
        return True
    return isinstance(exc, SalesforceGeneralError) and int(exc.status) >= 500


def _limit_refusal(exc: BaseException) -> bool:
    return isinstance(exc, SalesforceRefusedRequest) and "REQUEST_LIMIT_EXCEEDED" in str(
        exc.content
    )


class Budget:
    """The share of the daily API budget this run may spend."""

    def __init__(self, share: float):
        self.share = share
        self.used: int | None = None
        self.total: int | None = None
        self.start_used: int | None = None
        #: calls this run sent: Bulk API 2.0 answers carry no usage simple-salesforce reads,
        #: so the org's figure lags behind them until the next REST answer
        self.made = 0
        self._lock = threading.Lock()

    def spend(self) -> None:
        """Count one call this run is about to send."""
        with self._lock:
            self.made += 1

    def observe(self, client: Salesforce) -> None:
        usage = client.api_usage.get("api-usage")
        if usage is None:
            return
        with self._lock:
            if self.start_used is None:  # the call that reported it was this run's
                self.start_used = usage.used - 1
            self.used = max(self.used or 0, usage.used)
            self.total = usage.total

    def allowance(self) -> int | None:
        """Calls this run may make in all, or None before any usage was seen."""
        if self.total is None or self.start_used is None:
            return None
        return int(self.share * max(0, self.total - self.start_used))

    def would_exceed(self, calls: int) -> str | None:
        """Why ``calls`` more calls would pass the share, or None when they fit."""
        allowance = self.allowance()
        if allowance is None or self.used is None or self.start_used is None:
            return None
        spent = max(self.used - self.start_used, self.made)
        if spent + calls > allowance:
            used = self.start_used + spent
            return (
                f"daily API budget share reached: this run used {spent} of the {allowance} calls "
                f"allowed ({self.share:.0%} of what was left; org usage {used}/{self.total})"
            )
        return None


class Api:
    """Calls simple-salesforce through one policy (see the module docstring)."""

    def __init__(self, session: Session, stats: ConnectorStats, *, max_retries: int, share: float):
        self.session = session
        self.stats = stats
        self.max_retries = max_retries
        self.budget = Budget(share)
        self._stats_lock = threading.Lock()
        #: the tool's own fields: an INVALID_FIELD naming one means ``install`` has not run.
        self.tool_fields: frozenset[str] = frozenset()

    def _fatal_text(self, exc: SalesforceError) -> str:
        text = error_text(exc)
        if "INVALID_FIELD" in text and any(name in text for name in self.tool_fields):
            text += "; the tool's fields are not in this org yet: run `icpsync install`"
        return text

    def count(self, kind: str, n: int = 1) -> None:
        with self._stats_lock:
            self.stats.api_calls[kind] += n

    def call(
        self,
        kind: str,
        fn: Callable[[Salesforce], T],
        *,
        before_retry: Callable[[BaseException], None] | None = None,
    ) -> T:
        """Run ``fn(client)`` under the retry policy; one count per attempt.

        Raises:
            BudgetExhausted: the org refused with ``REQUEST_LIMIT_EXCEEDED``.
            AuthError: the session expired and could not be renewed.
            RetriableError: a transient fault outlasted the retries.
            FatalError: any other API error.
        """

        spurious_401_retried = False

        def attempt() -> T:
            nonlocal spurious_401_retried
            reason = self.budget.would_exceed(1)
            if reason:
                raise BudgetExhausted(reason)
            client = self.session.client()
            generation = self.session.current_generation()
            self.count(kind)
            self.budget.spend()
            try:
                result = fn(client)
            except SalesforceExpiredSession:
                if self.session.mode == "session" and not spurious_401_retried:
                    spurious_401_retried = True  # maybe spurious: once more, same session
                    log.info("salesforce %s: 401 in session mode; retrying once", kind)
                    raise
                self.session.refresh(generation)
                raise
            self.budget.observe(client)
            return result

        def prepare(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.info("salesforce %s: retrying after %s", kind, type(exc).__name__)
            if before_retry is not None and exc is not None:
                before_retry(exc)

        retrying = Retrying(
            retry=retry_if_exception(_transient),
            stop=stop_after_attempt(self.max_retries + 1) | stop_after_delay(RETRY_DEADLINE_S),
            wait=wait_exponential(multiplier=0.1, max=5),
            before_sleep=prepare,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except SalesforceRefusedRequest as exc:
            if _limit_refusal(exc):
                raise BudgetExhausted(f"salesforce: {error_text(exc)}") from exc
            raise _refused(kind, exc, self._fatal_text(exc)) from exc
        except SalesforceError as exc:
            if _transient(exc):
                raise RetriableError(f"salesforce {kind}: {error_text(exc)}") from exc
            raise _refused(kind, exc, self._fatal_text(exc)) from exc
        except requests.exceptions.JSONDecodeError as exc:
            raise RetriableError(
                f"salesforce {kind}: the response was not valid JSON (cut off, or from a proxy?)"
            ) from exc
        except requests.exceptions.SSLError as exc:
            conf = self.session.conf
            raise FatalError(f"salesforce {kind}: {connection_problem(exc, conf)}") from exc
        except requests.RequestException as exc:
            conf = self.session.conf
            raise RetriableError(f"salesforce {kind}: {connection_problem(exc, conf)}") from exc
        except SalesforceOperationError as exc:
            raise FatalError(f"salesforce {kind}: {exc}") from exc
