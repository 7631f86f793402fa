"""The SOQL the connector sends, built with ``format_soql`` from field-map names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime

from simple_salesforce import format_soql

from icpsync.core.errors import ConfigError

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def checked(names: Sequence[str]) -> str:
    """A comma-separated field list; every name must be an identifier.

    Raises:
        ConfigError: a name is not a plain field identifier.
    """
    for name in names:
        if not _IDENTIFIER.match(name):
            raise ConfigError(f"not a Salesforce field name: {name!r}", key="field_map")
    return ", ".join(names)


def accounts(obj: str, fields: Sequence[str], since: datetime | None) -> str:
    """Accounts (modified at or after ``since``), oldest change first."""
    if since is None:
        return format_soql(
            "SELECT {:literal} FROM {:literal} ORDER BY SystemModstamp, Id",
            checked(fields),
            checked([obj]),
        )
    return format_soql(
        "SELECT {:literal} FROM {:literal} WHERE SystemModstamp >= {} ORDER BY SystemModstamp, Id",
        checked(fields),
        checked([obj]),
        since,
    )


def accounts_by_id(obj: str, fields: Sequence[str], ids: Sequence[str]) -> str:
    return format_soql(
        "SELECT {:literal} FROM {:literal} WHERE Id IN {}",
        checked(fields),
        checked([obj]),
        list(ids),
    )


def opportunities(
    obj: str, fields: Sequence[str], closed_since: date, since: datetime | None = None
) -> str:
    """Open opportunities and those closed on or after ``closed_since`` (and, when
    ``since`` is given, only those modified at or after it)."""
    where = "(IsClosed = false OR CloseDate >= {})"
    values: list[object] = [closed_since]
    if since is not None:
        where += " AND SystemModstamp >= {}"
        values.append(since)
    return format_soql(
        "SELECT {:literal} FROM {:literal} WHERE " + where,
        checked(fields),
        checked([obj]),
        *values,
    )
