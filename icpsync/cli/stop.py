"""SIGTERM for one command: finish the batch in flight, record the run as stopped, exit 143.

A container stop or a service manager sends SIGTERM and waits a grace period before
SIGKILL. :class:`StopOnSigterm` turns the signal into a stop request the sync asks for
between batches (``should_stop``), so the batch in flight is written, the run is recorded
as ``stopped`` with the counts it reached, the cursor stays, and the command exits 143
(128 + 15, as a shell reports a process ended by SIGTERM).
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

log = logging.getLogger(__name__)
EXIT_SIGTERM = 128 + signal.SIGTERM
REASON = "SIGTERM received: stopped after the batch in flight"


class StopOnSigterm:
    """While entered, SIGTERM sets :attr:`received` instead of ending the process; calling
    the object returns the stop reason once it has (``should_stop`` of ``run_once``)."""

    def __init__(self) -> None:
        self.received = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> StopOnSigterm:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGTERM, self._previous)
            self._installed = False

    def __call__(self) -> str | None:
        return REASON if self.received else None

    def _handle(self, signum: int, _frame: object) -> None:
        log.warning("SIGTERM received: stopping after the batch in flight")
        self.received = True
