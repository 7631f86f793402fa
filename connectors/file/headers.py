"""Which header of a file becomes which canonical column.

A column is found by the name the field map gives it, then by the header names the map
lists for it (exports of Salesforce and HubSpot); case, spaces and punctuation are ignored
(``Annual Revenue`` = ``annual_revenue`` = ``AnnualRevenue``). Each header serves one column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from icpsync.core.errors import ConfigError
from icpsync.engine.field_map import ObjectMap


def header_key(name: str) -> str:
    """A header's name with case, spaces and punctuation removed."""
    return "".join(char for char in name.casefold() if char.isalnum())


def match_columns(header: Sequence[str], object_map: ObjectMap) -> dict[str, str]:
    """Canonical field -> the header that holds it, for the fields the header has."""
    present = set(header)
    by_key: dict[str, str] = {}
    for name in header:
        by_key.setdefault(header_key(name), name)
    used: set[str] = set()
    matched: dict[str, str] = {}
    # exact names first, so a header the map names is never taken by another field's synonym
    for canonical, column in object_map.fields.items():
        if column in present and column not in used:
            matched[canonical] = column
            used.add(column)
    for canonical, column in object_map.fields.items():
        if canonical in matched:
            continue
        for candidate in (column, *object_map.headers.get(canonical, ())):
            found = by_key.get(header_key(candidate))
            if found is not None and found not in used:
                matched[canonical] = found
                used.add(found)
                break
    return matched


def describe_columns(matched: Mapping[str, str]) -> str:
    """``Account ID -> id, Account Name -> name`` (only headers that were renamed in full)."""
    return ", ".join(
        f"{column} -> {canonical}" if column != canonical else canonical
        for canonical, column in matched.items()
    )


def require_id(
    path: str, header: Sequence[str], matched: Mapping[str, str], object_map: ObjectMap
) -> None:
    """Raise when no header holds the id.

    Raises:
        ConfigError: naming the columns found and the ones that would do.
    """
    if "id" in matched:
        return
    expected = [object_map.fields["id"], *object_map.headers.get("id", ())]
    found = ", ".join(repr(h) for h in header[:12]) or "none"
    if len(header) > 12:
        found += f" and {len(header) - 12} more"
    raise ConfigError(
        f"no id column: found {found}; expected one of {', '.join(expected)} "
        "(or name it with --field-map, [file] field_map)",
        source=path,
    )
