"""Writes left alone: whole-batch 400s bisected, record retries pooled, Retry-After and the
rate-limit headers honoured; through hubspot-api-client against the sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from icpsync.connectors.hubspot.client import readable
from icpsync.connectors.hubspot.limiter import SlidingWindowLimiter
from icpsync.connectors.hubspot.sandbox import Sandbox
from icpsync.engine.sync import run_once


def test_a_whole_batch_400_is_bisected_and_every_valid_record_written(
    start_sandbox: Callable[..., Sandbox], runner_for: Callable[..., Any]
) -> None:
    # HubSpot rejects a whole batch of 100 for one invalid input: 30 bad among 200
    sandbox = start_sandbox(200, 600, reject_whole_batch=True, poison=30)
    runner = runner_for(sandbox)
    sandbox.reset_stats()

    report = runner.sync()

    poison = set(sandbox.poison_ids)
    assert len(poison) == 30
    assert report.written == 170 and report.failed == 30
    assert {f.account_id for f in report.failures} == poison
    assert all(not f.retriable for f in report.failures)
    for failure in report.failures:  # one short line: property, code, what HubSpot allows
        assert "\n" not in failure.reason and len(failure.reason) <= 200
        assert failure.reason.startswith("VALIDATION_ERROR: icp_tier: INVALID_OPTION: ")
        assert "allowed options" in failure.reason
    written = sandbox.write_counts()
    assert set(written) == set(sandbox.values()) - poison
    assert max(written.values()) == 1
    # isolating 30 record-specific refusals costs calls, fewer than one per record
    assert 2 < sandbox.stats()["batch_update_companies"] < 200


def test_a_refused_value_is_split_off_in_a_few_calls(
    start_sandbox: Callable[..., Sandbox], runner_for: Callable[..., Any]
) -> None:
    sandbox = start_sandbox(300, 900, reject_whole_batch=True)
    runner = runner_for(sandbox)
    with sandbox.portal.lock:  # an admin deleted the Anti-ICP option
        tier = sandbox.portal.properties["companies"]["icp_tier"]
        tier["options"] = [o for o in tier["options"] if o["value"] != "anti_icp"]
    sandbox.reset_stats()

    report = runner.sync()

    assert report.failed > 0 and report.written == 300 - report.failed
    assert all("'anti_icp' was not one of the allowed options" in f.reason for f in report.failures)
    assert all(not f.retriable for f in report.failures)
    # the 400 names the value: the inputs holding it are split off, the rest go at once;
    # then the refused group is bisected down to single records
    assert len(sandbox.write_counts()) == 300 - report.failed
    assert sandbox.stats()["batch_update_companies"] <= 2 * report.failed + 2 * 3


def test_record_faults_are_pooled_into_full_batches(
    sandbox: Sandbox, runner_for: Callable[..., Any]
) -> None:
    runner = runner_for(sandbox)
    # each of the three batches of 100 comes back 207 with 1-3 records failed (retriable)
    sandbox.limits.inject("batch_update_companies", "207", "207", "207")
    sandbox.reset_stats()
    connector = runner.connector()
    try:
        report = run_once(runner.settings, connector=connector, state=runner.state)
        retries = dict(connector.api.retries)
    finally:
        connector.close()
    assert sandbox.stats()["fault_207"] == 3
    assert report.written == 300 and report.failed == 0
    # the 3-9 failed records of three batches go again in one call: 4, not 6
    assert sandbox.stats()["batch_update_companies"] == 4
    assert retries == {"record": 1}  # record rounds are counted apart from request retries


def test_retry_after_of_a_429_is_what_the_retry_waits(
    sandbox: Sandbox, runner_for: Callable[..., Any]
) -> None:
    runner = runner_for(sandbox)  # retry_backoff_s = 0.01: a back-off would wait 10 ms
    sandbox.limits.inject("batch_update_companies", "429")
    connector = runner.connector()
    waits: list[float] = []
    connector.api.sleep = waits.append
    try:
        report = run_once(runner.settings, connector=connector, state=runner.state)
    finally:
        connector.close()
    assert sandbox.stats()["fault_429"] == 1
    assert report.written == 300
    assert waits == [1.0]  # the sandbox's Retry-After


def test_a_lower_limit_in_the_headers_is_followed(
    start_sandbox: Callable[..., Sandbox], runner_for: Callable[..., Any]
) -> None:
    # HubSpot cut the app to 20 calls per 10 s; the config still says 100
    sandbox = start_sandbox(2000, 500, rate_limit=20)
    runner = runner_for(sandbox, install=False, rate_limit_per_10s=100)
    runner.install()
    sandbox.reset_stats()
    report = runner.sync()
    stats = sandbox.stats()
    assert report.written == 2000 and report.failed == 0
    assert stats["total"] > 40  # more calls than two windows hold
    assert stats.get("429", 0) == 0


def test_the_limiter_starts_from_what_the_window_has_left() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = SlidingWindowLimiter(100, 10.0, clock=lambda: now[0], sleep=sleep)
    with limiter.slot():
        limiter.observe(
            {
                "X-HubSpot-RateLimit-Max": "20",
                "X-HubSpot-RateLimit-Remaining": "3",
                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            }
        )
    assert limiter.limit == 20
    for _ in range(3):  # what the window has left goes without waiting
        with limiter.slot():
            pass
    assert waits == []
    with limiter.slot():  # then the window must pass
        pass
    assert waits and sum(waits) >= 10.0
    limiter.pause(2.5)
    start = now[0]
    limiter.acquire()
    assert now[0] - start >= 2.5


def test_the_reason_of_a_400_body_without_errors_is_read_from_its_nested_message() -> None:
    checks = [
        {
            "isValid": False,
            "message": "NAM Only was not one of the allowed options: ["
            + ", ".join(f"Option {n}" for n in range(200))
            + "]",
            "error": "INVALID_OPTION",
            "name": "dans_tags",
            "localizedErrorMessage": "NAM Only was not one of the allowed options",
            "portalId": 47373842,
        },
        {"isValid": False, "message": "bad", "error": "INVALID_DATE", "name": "icp_scored_at"},
    ]
    body = {
        "status": "error",
        "message": "Property values were not valid: " + json.dumps(checks),
        "correlationId": "c8617a85-58a6-4a95-b619-e7d3594c170c",
        "category": "VALIDATION_ERROR",
    }
    assert len(json.dumps(body)) > 1400
    line = readable(body)
    assert line.startswith(
        "VALIDATION_ERROR: dans_tags: INVALID_OPTION: NAM Only was not one of the allowed options"
    )
    assert len(line) <= 200 and "\n" not in line and line.endswith("…")
    short = readable(
        {**body, "message": "Property values were not valid: " + json.dumps(checks[1:])}
    )
    assert short == "VALIDATION_ERROR: icp_scored_at: INVALID_DATE: bad"
