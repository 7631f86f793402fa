"""Connector adapters, one sub-package per CRM; found by name through entry points."""
