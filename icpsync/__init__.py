"""icpsync: score B2B accounts on Ideal Customer Profile fit inside the CRM."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("icpsync")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
