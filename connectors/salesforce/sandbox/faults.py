"""Injected faults: 503s, expired sessions, spurious 401s, HTML 502s from a proxy, row locks
on some batch rows, slow responses.

A request draws a fault with probability ``rate``; which one is drawn evenly among the
kinds in play (all of :data:`KINDS` unless the sandbox names fewer). Draws come from one
seeded generator, so a run is repeatable in kind (thread scheduling still decides which
request gets which draw).

* ``expired``: the session really ends (its token stops working); renewable modes log in again.
* ``spurious_401``: ``INVALID_SESSION_ID`` on a session that is still valid (real orgs do
  this now and then); the same token works on the next request.
* ``bad_gateway``: a 502 with an HTML page, as a load balancer in front of the org sends.
"""

from __future__ import annotations

import random
import threading

UNAVAILABLE = "unavailable"
EXPIRED = "expired"
LOCK = "lock"
SLOW = "slow"
SPURIOUS_401 = "spurious_401"
BAD_GATEWAY = "bad_gateway"
KINDS = (UNAVAILABLE, EXPIRED, LOCK, SLOW, SPURIOUS_401, BAD_GATEWAY)


class Faults:
    """Draws faults for requests and rows.

    Args:
        rate: share of requests that fail (0 disables faults).
        seed: seed of the generator.
        slow_s: how long a slow response takes.
        lock_share: share of rows refused with ``UNABLE_TO_LOCK_ROW`` in a locked batch.
        kinds: the kinds drawn (default: all of :data:`KINDS`).
    """

    def __init__(
        self,
        rate: float,
        seed: int,
        slow_s: float = 1.5,
        lock_share: float = 0.3,
        kinds: tuple[str, ...] = KINDS,
    ):
        unknown = set(kinds) - set(KINDS)
        if unknown or not kinds:
            raise ValueError(f"fault kinds must be among {KINDS}, got {kinds}")
        self.rate = rate
        self.kinds = tuple(kinds)
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
            return self._rng.choice(self.kinds)

    def row_locked(self) -> bool:
        """Whether one row of a locked batch is refused."""
        with self._lock:
            return self._rng.random() < self.lock_share
