"""Keep the run lease alive from a background thread while the run reads, scores and waits.

A run's lease expires ``lease_seconds`` after it was last renewed. The heartbeat renews it
every third of that, whatever the run is doing (a long read, a Bulk job, a slow write), and
has its own deadline: if the lease could not be renewed before it ran out (the database
was unreachable, a renewal hung) or another run holds it now, the lease counts as lost.
The run checks :meth:`Heartbeat.lost` between batches and stops; the cursor and finish
writes are fenced in the state store as well, so a run that missed the news still cannot
move the cursor.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from icpsync.engine.state import StateStore

log = logging.getLogger(__name__)


class Heartbeat:
    """Renews the lease of ``connection``'s ``org`` as ``holder`` every ``seconds / 3``
    until stopped.

    Args:
        state: the state store holding the lease.
        connection: the connection whose lease it is.
        holder: the lease token this run holds.
        seconds: how long each renewal keeps the lease.
        org: the org whose lease it is.
        interval: seconds between renewals (a third of ``seconds`` by default).
    """

    def __init__(
        self,
        state: StateStore,
        connection: str,
        holder: str,
        seconds: float,
        *,
        org: str,
        interval: float | None = None,
    ):
        self.state = state
        self.connection = connection
        self.org = org
        self.holder = holder
        self.seconds = seconds
        self.interval = interval if interval is not None else seconds / 3
        self.renewals = 0
        self._deadline = time.monotonic() + seconds
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="icpsync-lease", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=max(1.0, self.interval))

    def lost(self) -> bool:
        """True once the lease was taken over or could not be renewed before it ran out."""
        if not self._lost.is_set() and time.monotonic() >= self._deadline:
            log.warning("the run lease of %s ran out before it was renewed", self.connection)
            self._lost.set()
        return self._lost.is_set()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            started = time.monotonic()
            try:
                ours = self.state.renew_lease(
                    self.connection, self.holder, org=self.org, seconds=self.seconds
                )
            except Exception:  # the database is unreachable: try again until the deadline
                log.warning("could not renew the run lease", exc_info=True)
                if self.lost():
                    return
                continue
            if not ours:
                log.warning("the run lease of %s was taken over", self.connection)
                self._lost.set()
                return
            self.renewals += 1
            self._deadline = started + self.seconds
