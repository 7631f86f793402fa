"""A sliding-window rate limiter shared by every call of one connector.

A call holds a slot from before it is sent until its response is in; a finished call keeps
counting for one window after it finished. So at any moment the calls sent in the last
window, as any server counts them, never exceed ``limit`` (the server sees each arrival
no later than the response leaves it). Thread-safe; the clock is injectable for tests.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: added to the window so clock granularity and scheduling never tip a call over.
SLACK_S = 0.05


class SlidingWindowLimiter:
    """At most ``limit`` calls in flight or finished within the last ``window_s`` seconds.

    Args:
        limit: calls allowed per window.
        window_s: the window's length in seconds.
        clock: monotonic seconds (``time.monotonic`` by default).
        sleep: how to wait (``time.sleep`` by default).
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.window_s = window_s + SLACK_S
        self._clock = clock
        self._sleep = sleep
        self._done: deque[float] = deque()
        self._in_flight = 0
        self._lock = threading.Lock()
        self.waited_s = 0.0

    def _wait_time(self, now: float) -> float:
        while self._done and self._done[0] <= now - self.window_s:
            self._done.popleft()
        if self._in_flight + len(self._done) < self.limit:
            return 0.0
        if self._done:
            return max(self._done[0] + self.window_s - now, 0.001)
        return 0.01  # every slot is in flight: wait for one to finish

    def acquire(self) -> None:
        """Wait until a call may be sent, and take a slot."""
        while True:
            with self._lock:
                wait = self._wait_time(self._clock())
                if wait == 0.0:
                    self._in_flight += 1
                    return
            self.waited_s += wait
            self._sleep(wait)

    def release(self) -> None:
        """The call's response is in (or it failed): its slot counts until a window passes."""
        with self._lock:
            self._in_flight -= 1
            self._done.append(self._clock())

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot for the duration of one call."""
        self.acquire()
        try:
            yield
        finally:
            self.release()


_SHARED: dict[tuple[str, int, float], SlidingWindowLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(key: str, limit: int, window_s: float) -> SlidingWindowLimiter:
    """The process-wide limiter for ``key`` (one per HubSpot app), made on first use.

    HubSpot counts calls per app, not per client object: connectors built one after the
    other in one process (the scheduler, the demo, tests) must share one window.
    """
    with _SHARED_LOCK:
        limiter = _SHARED.get((key, limit, window_s))
        if limiter is None:
            limiter = _SHARED[(key, limit, window_s)] = SlidingWindowLimiter(limit, window_s)
        return limiter
