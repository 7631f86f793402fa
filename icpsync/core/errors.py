"""The one error tree of icpsync.

::

    IcpSyncError
    ├── ConfigError            bad settings, profile or field map (exit 2, no traceback)
    ├── ConnectorError         a CRM or file could not be used
    │   ├── RetriableError     worth retrying later in the same run (5xx, timeouts, 429)
    │   ├── FatalError         retrying will not help (bad request, missing field)
    │   │   └── AuthError      credentials rejected or session unusable
    │   └── BudgetExhausted    the API budget is spent: stop cleanly, resume next run
    ├── RunLocked              another run holds the lease for this connection
    │   └── LeaseLost          this run's lease was taken over: its cursor stays put
    └── RecordError            one record is unusable: skipped and counted

Adapters translate vendor exceptions into this tree with ``raise ... from exc``.
"""

from __future__ import annotations


class IcpSyncError(Exception):
    """Base of every error icpsync raises on purpose."""


class ConfigError(IcpSyncError):
    """A config, profile or field map is invalid.

    Args:
        message: what was expected, in plain words.
        source: the file (or environment variable) the bad value came from.
        key: the dotted key that is wrong, when there is one.
    """

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None):
        self.message = message
        self.source = source
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source or "config"
        if self.key:
            where = f"{where}: {self.key}"
        return f"{where}: {self.message}"


class ConnectorError(IcpSyncError):
    """A CRM or input file could not be read or written."""


class RetriableError(ConnectorError):
    """A transient fault: retrying with back-off may succeed."""


class FatalError(ConnectorError):
    """A fault that retrying will not fix."""


class AuthError(FatalError):
    """The credentials were rejected or the session cannot be renewed."""


class BudgetExhausted(ConnectorError):
    """The API budget for this run or day is spent; the next run resumes."""


class RunLocked(IcpSyncError):
    """Another run holds the lease for this connection."""


class LeaseLost(RunLocked):
    """This run's lease was taken over by another run: it may not move the cursor."""


class RecordError(IcpSyncError):
    """One record is unusable; it is skipped and counted, the run goes on."""
