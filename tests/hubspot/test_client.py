"""Vendor errors become icpsync's error tree; the token never reaches a log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
import urllib3
from hubspot.crm.companies.exceptions import ApiException, ForbiddenException
from hubspot.crm.deals.exceptions import ServiceException

from icpsync.connectors.hubspot.client import (
    RateLimited,
    RequestRefused,
    ResponseLost,
    translate,
)
from icpsync.connectors.hubspot.sandbox import TOKEN, Sandbox
from icpsync.core.errors import AuthError, BudgetExhausted, RetriableError


def _error(cls: type[ApiException], status: int, body: dict[str, Any]) -> ApiException:
    exc = cls(status=status, reason="x")
    exc.body = json.dumps(body)
    return exc


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (_error(ForbiddenException, 403, {"message": "missing scopes"}), AuthError),
        (_error(ApiException, 429, {"policyName": "DAILY"}), BudgetExhausted),
        (_error(ApiException, 429, {"policyName": "TEN_SECONDLY_ROLLING"}), RateLimited),
        (_error(ServiceException, 502, {"message": "bad gateway"}), RetriableError),
        (_error(ApiException, 400, {"category": "VALIDATION_ERROR"}), RequestRefused),
        (urllib3.exceptions.ReadTimeoutError(None, "/x", "read timed out"), ResponseLost),
    ],
)
def test_vendor_errors_map_onto_the_error_tree(exc: Exception, expected: type) -> None:
    translated = translate(exc, "list_companies")
    assert type(translated) is expected


def test_refusal_keeps_status_and_category() -> None:
    refused = translate(_error(ApiException, 409, {"category": "CONFLICT", "message": "dup"}), "k")
    assert isinstance(refused, RequestRefused)
    assert refused.status == 409 and refused.category == "CONFLICT" and "dup" in str(refused)


def test_the_token_is_never_logged(
    sandbox: Sandbox, runner_for: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.limits.fault_rate = 0.2  # retries log too
    runner = runner_for(sandbox)
    runner.sync()
    assert caplog.records
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(runner.settings.hubspot)
