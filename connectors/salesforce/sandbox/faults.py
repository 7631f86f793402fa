"""Injected faults: 503s, expired sessions, row locks on some batch rows, slow responses.

A request draws a fault with probability ``rate``; which one is drawn evenly among the
four kinds. Draws come from one seeded generator, so a run is repeatable in kind (thread
scheduling still decides which request gets which draw).
"""

from __future__ import annotations

import random
import threading

UNAVAILABLE = "unavailable"
EXPIRED = "expired"
LOCK = "lock"
SLOW = "slow"
KINDS = (UNAVAILABLE, EXPIRED, LOCK, SLOW)


class Faults:
    """Draws faults for requests and rows.

    Args:
        rate: share of requests that fail (0 disables faults).
        seed: seed of the generator.
        slow_s: how long a slow response takes.
        lock_share: share of rows refused with ``UNABLE_TO_LOCK_ROW`` in a locked batch.
    """

    def __init__(self, rate: float, seed: int, slow_s: float = 1.5, lock_share: float = 0.3):
        self.rate = rate
        self.slow_s = slow_s
        self.lock_share = lock_share
        self._rng = random.Random(seed * 31 + 17)
        self._lock = threading.Lock()

    def draw(self) -> str | None:
        """The fault for one request, or None."""
        if self.rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            return self._rng.choice(KINDS)

    def row_locked(self) -> bool:
        """Whether one row of a locked batch is refused."""
        with self._lock:
            return self._rng.random() < self.lock_share
