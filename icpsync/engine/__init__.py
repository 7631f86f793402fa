"""The sync engine: settings, the connector registry and protocol, runs, state, drift and the
scheduler."""
