"""HubSpot: companies and deals through hubspot-api-client, with a local sandbox portal."""

from icpsync.connectors.hubspot.connector import HubSpotConnector

__all__ = ["HubSpotConnector"]
