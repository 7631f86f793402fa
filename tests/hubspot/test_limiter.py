"""The sliding-window limiter, on a fake clock: never more than the limit in any window."""

from __future__ import annotations

import threading

import pytest

from icpsync.connectors.hubspot.limiter import SLACK_S, SlidingWindowLimiter, shared_limiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_no_window_ever_holds_more_than_the_limit() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(10, 1.0, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(95):
        with limiter.slot():
            sent.append(clock.now)
            clock.now += 0.013  # each call takes 13 ms
    for i, start in enumerate(sent):
        in_window = [t for t in sent[i:] if t < start + 1.0]
        assert len(in_window) <= 10
    # and it does not wait much longer than it must: ~95 calls at 10 per ~1.05 s
    assert sent[-1] < 9 * (1.0 + SLACK_S) + 1.0


def test_calls_in_flight_count_against_the_window() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(2, 10.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.acquire()
    released = threading.Event()

    def sleep(seconds: float) -> None:
        limiter.release()  # one call finishes while the third waits
        released.set()
        clock.now += seconds

    limiter._sleep = sleep
    limiter.acquire()
    assert released.is_set()
    assert clock.now >= 10.0  # the finished call still counts for a whole window


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SlidingWindowLimiter(0, 1.0)


def test_connectors_of_one_app_share_a_limiter() -> None:
    a = shared_limiter("http://x|abc", 100, 10.0)
    assert shared_limiter("http://x|abc", 100, 10.0) is a
    assert shared_limiter("http://y|abc", 100, 10.0) is not a
