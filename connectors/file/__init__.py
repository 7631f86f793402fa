"""The file connector: accounts and opportunities from CSV or JSON Lines files."""

from icpsync.connectors.file.connector import FileConnector

__all__ = ["FileConnector"]
