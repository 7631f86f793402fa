"""Salesforce connector (simple-salesforce) and its local sandbox org."""

from icpsync.connectors.salesforce.connector import SalesforceConnector

__all__ = ["SalesforceConnector"]
