"""HubSpot: companies and deals through hubspot-api-client, with a local sandbox portal.

``SPEC`` (from :mod:`~icpsync.connectors.hubspot.settings`) declares the connector to the
registry; the connector class is imported on first use, so reading the settings does not
import the vendor client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from icpsync.connectors.hubspot.settings import SPEC, HubSpotSettings

if TYPE_CHECKING:
    from icpsync.connectors.hubspot.connector import HubSpotConnector

__all__ = ["SPEC", "HubSpotConnector", "HubSpotSettings"]


def __getattr__(name: str) -> Any:
    if name == "HubSpotConnector":
        from icpsync.connectors.hubspot.connector import HubSpotConnector

        return HubSpotConnector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
