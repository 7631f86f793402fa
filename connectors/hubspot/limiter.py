"""A sliding-window rate limiter shared by every call of one connector.

A call holds a slot from before it is sent until its response is in; a finished call keeps
counting for one window after it finished. So at any moment the calls sent in the last
window, as any server counts them, never exceed ``limit`` (the server sees each arrival
no later than the response leaves it). Thread-safe; the clock is injectable for tests.

HubSpot's ``X-HubSpot-RateLimit-Max``, ``-Remaining`` and ``-Interval-Milliseconds``
headers tune it (:meth:`SlidingWindowLimiter.observe`): the limit becomes the lower of the
configured one and HubSpot's, the window HubSpot's interval, and calls HubSpot counts that
this process did not make (another process of the same app, a run just before) take slots
until a window has passed. So a run starts from what the window has left, not from a full
window. A 429 pauses every caller until its ``Retry-After`` (:meth:`pause`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
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
        self.configured = limit
        self.limit = limit
        self.window_s = window_s + SLACK_S
        self._paused_until = 0.0
        self._clock = clock
        self._sleep = sleep
        self._done: deque[float] = deque()
        self._in_flight = 0
        self._lock = threading.Lock()
        self.waited_s = 0.0

    def _wait_time(self, now: float) -> float:
        if now < self._paused_until:
            return self._paused_until - now
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

    def observe(self, headers: Mapping[str, str] | None) -> None:
        """Adapt to HubSpot's rate-limit headers of one response (absent: nothing changes).

        Call it while holding the slot of the call the response belongs to.
        """
        if headers is None:
            return
        limit = _number(headers.get("X-HubSpot-RateLimit-Max"))
        remaining = _number(headers.get("X-HubSpot-RateLimit-Remaining"))
        interval = _number(headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"))
        with self._lock:
            now = self._clock()
            if interval:
                self.window_s = interval / 1000 + SLACK_S
            if limit:
                self.limit = max(1, min(self.configured, limit))
            if limit is None or remaining is None:
                return
            while self._done and self._done[0] <= now - self.window_s:
                self._done.popleft()
            counted = self._in_flight + len(self._done)
            # calls HubSpot counts in its window that this limiter does not know about
            unknown = (limit - remaining) - counted
            self._done.extend([now] * max(0, unknown))

    def pause(self, seconds: float) -> None:
        """Let no call start for ``seconds`` (HubSpot answered 429)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot for the duration of one call."""
        self.acquire()
        try:
            yield
        finally:
            self.release()


def _number(value: object) -> int | None:
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() else None


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
