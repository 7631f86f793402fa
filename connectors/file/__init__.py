"""The file connector: accounts and opportunities from CSV or JSON Lines files.

``SPEC`` (from :mod:`~icpsync.connectors.file.settings`) declares the connector to the
registry; the connector class is imported on first use, so reading the settings does not
import the vendor client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from icpsync.connectors.file.settings import SPEC, FileSettings

if TYPE_CHECKING:
    from icpsync.connectors.file.connector import FileConnector

__all__ = ["SPEC", "FileConnector", "FileSettings"]


def __getattr__(name: str) -> Any:
    if name == "FileConnector":
        from icpsync.connectors.file.connector import FileConnector

        return FileConnector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
