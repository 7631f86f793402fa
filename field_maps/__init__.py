"""Field maps shipped with icpsync: TOML data, one file per CRM."""
