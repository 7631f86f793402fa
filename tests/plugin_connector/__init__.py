"""A fourth connector that lives outside icpsync: "memo", a CRM kept in one JSON file.

It is registered the way a third-party package would be, by an entry point
(``memo = plugin_connector:MemoConnector`` in the ``icpsync.connectors`` group), and declares
everything icpsync learns about it in ``SPEC``: its ``[memo]`` settings section (with a
secret), its field map (``memo.toml`` beside this file) and its install/doctor steps.
"""

from plugin_connector.connector import MemoConnector
from plugin_connector.settings import SPEC, MemoSettings

__all__ = ["SPEC", "MemoConnector", "MemoSettings"]
