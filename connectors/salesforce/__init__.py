"""Salesforce connector (simple-salesforce) and its local sandbox org."""

from connectors.salesforce.connector import SalesforceConnector

__all__ = ["SalesforceConnector"]
