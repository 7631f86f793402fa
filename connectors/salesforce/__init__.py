"""Salesforce connector (simple-salesforce) and its local sandbox org.

``SPEC`` (from :mod:`~icpsync.connectors.salesforce.settings`) declares the connector to the
registry; the connector class is imported on first use, so reading the settings does not
import the vendor client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from icpsync.connectors.salesforce.settings import SPEC, SalesforceSettings

if TYPE_CHECKING:
    from icpsync.connectors.salesforce.connector import SalesforceConnector

__all__ = ["SPEC", "SalesforceConnector", "SalesforceSettings"]


def __getattr__(name: str) -> Any:
    if name == "SalesforceConnector":
        from icpsync.connectors.salesforce.connector import SalesforceConnector

        return SalesforceConnector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
