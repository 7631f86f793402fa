"""Rate limits, the daily budget, injected faults and request counters of the sandbox.

The ten-secondly limit is a sliding window over every non-search call (as HubSpot's
``TEN_SECONDLY_ROLLING`` policy); search has its own per-second window and no rate-limit
headers; every call counts against the daily budget. Faults are drawn from a seeded RNG:
``500``/``503`` (HubSpot's JSON error), ``502`` (a proxy's HTML page), ``timeout`` (the call
is applied, the response lost), ``429`` (with ``Retry-After`` and the rate-limit headers)
and, on batch updates, ``207`` (some inputs fail with a retriable error).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass

WINDOW_S = 10.0
SEARCH_WINDOW_S = 1.0
FAULT_KINDS = ("500", "502", "503", "timeout", "429")


@dataclass(frozen=True)
class Refusal:
    """A 429: which policy, and the message HubSpot sends."""

    policy: str
    message: str


class Limits:
    """Counts calls, enforces the limits, and decides which calls fail.

    Args:
        rate_limit: calls per 10 s (sliding window) before ``TEN_SECONDLY_ROLLING``.
        search_per_second: search calls per second before the secondly 429.
        daily_limit: calls per day before ``DAILY``.
        fault_rate: share of calls that fail (5xx, dropped responses, 429, 207 partials).
        seed: seed of the fault RNG.
        fault_kinds: the request faults drawn (default :data:`FAULT_KINDS`; ``207`` is
            added on batch updates unless ``partials`` is False).
        partials: draw ``207`` partial failures on batch updates.
    """

    def __init__(
        self,
        rate_limit: int,
        search_per_second: int,
        daily_limit: int,
        fault_rate: float,
        seed: int,
        fault_kinds: tuple[str, ...] = FAULT_KINDS,
        partials: bool = True,
    ):
        unknown = set(fault_kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"fault kinds must be among {FAULT_KINDS}, got {fault_kinds}")
        self.fault_kinds = tuple(fault_kinds)
        self.partials = partials
        self.rate_limit = rate_limit
        self.search_per_second = search_per_second
        self.daily_limit = daily_limit
        self.fault_rate = fault_rate
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self._search_window: deque[float] = deque()
        self.daily_used = 0
        self.calls: Counter[str] = Counter()
        self._planned: deque[tuple[str, str]] = deque()

    def inject(self, kind: str, *faults: str) -> None:
        """Fail the next calls of ``kind`` (e.g. ``batch_update_companies``) with ``faults``."""
        with self._lock:
            self._planned.extend((kind, fault) for fault in faults)

    def admit(self, kind: str, search: bool) -> tuple[Refusal | None, dict[str, str]]:
        """Count one call of ``kind``; a refusal when over a limit, and the headers to send."""
        now = time.monotonic()
        with self._lock:
            self.calls["total"] += 1
            self.calls[kind] += 1
            if self.daily_used >= self.daily_limit:
                self.calls["429"] += 1
                self.calls["429_daily"] += 1
                return Refusal("DAILY", "You have reached your daily limit."), self._daily_headers()
            window = self._search_window if search else self._window
            span = SEARCH_WINDOW_S if search else WINDOW_S
            limit = self.search_per_second if search else self.rate_limit
            while window and window[0] <= now - span:
                window.popleft()
            if len(window) >= limit:
                self.calls["429"] += 1
                if search:
                    return Refusal("SECONDLY", "You have reached your secondly limit."), {}
                wait = max(1, math.ceil(window[0] + span - now))
                return (
                    Refusal(
                        "TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit."
                    ),
                    {**self._headers(0), "Retry-After": str(wait)},
                )
            window.append(now)
            self.daily_used += 1
            if search:
                return None, {}
            return None, self._headers(limit - len(window))

    def _daily_headers(self) -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily_limit - self.daily_used)),
        }

    def _headers(self, remaining: int) -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(WINDOW_S * 1000)),
            "X-HubSpot-RateLimit-Max": str(self.rate_limit),
            "X-HubSpot-RateLimit-Remaining": str(max(0, remaining)),
            **self._daily_headers(),
        }

    def fault(self, kind: str, partial_possible: bool) -> str | None:
        """The fault to inject into this call (``500``, ``503``, ``timeout``, ``429``, ``207``)."""
        with self._lock:
            if self._planned and self._planned[0][0] == kind:
                chosen = self._planned.popleft()[1]
                self.calls[f"fault_{chosen}"] += 1
                return chosen
        if self.fault_rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= self.fault_rate:
                return None
            kinds = self.fault_kinds
            if partial_possible and self.partials:
                kinds = (*kinds, "207")
            chosen = self._rng.choice(kinds)
            self.calls[f"fault_{chosen}"] += 1
            return chosen

    def partial_ids(self, ids: list[str]) -> set[str]:
        """Which inputs of a batch a ``207`` fault fails (one to three of them)."""
        with self._lock:
            return set(self._rng.sample(ids, min(len(ids), self._rng.randint(1, 3))))

    def stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self.calls)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
