"""A page of companies or deals as columns: HubSpot's JSON records -> the normaliser's
raw keys.

A list, search or batch-read page holds ``results[*]`` = ``{"id", "properties": {name:
string or null}}``. :class:`CompanyColumns` turns one page into one list per canonical key
(the keys ``Normaliser.account`` reads: the account fields, ``signals``, and the ICP
values as ``icp_*``), ready for :func:`~icpsync.core.normalise_columns.accounts_from_columns`;
:class:`DealColumns` does the same for deals (their company from the associations), for
:func:`~icpsync.core.normalise_columns.opportunities_from_columns`. The work per list of
records (a page, or pages joined) is one pass per column, no dict per record.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from typing import Any

from icpsync.connectors.hubspot.values import NATIVE, NATIVE_TIER, tier_label
from icpsync.core.normalise import ICP_RAW_KEYS
from icpsync.engine.field_map import FieldMap

#: HubSpot sends every property value as a string, or null.
Columns = dict[str, Sequence[str | None]]
Signals = list[dict[str, object]] | None
#: the ICP values HubSpot holds as enumeration options (``tier_1``...), read as tiers.
_TIER_KEYS = ("icp_tier", "icp_tier_override")


class CompanyColumns:
    """The field map's company properties, read a page at a time.

    Args:
        field_map: canonical field -> company property, signals and the ICP properties.
        mirror_native_tier: the tier is also mirrored into ``hs_ideal_customer_profile``; a
            company whose mirror disagrees reads as holding no tier (so it is written again).
    """

    def __init__(self, field_map: FieldMap, *, mirror_native_tier: bool = False):
        account = field_map.account
        #: canonical key -> property, in the order the normaliser's raw record had them.
        self.properties: dict[str, str] = {
            key: name for key, name in account.fields.items() if key != "id"
        }
        for key, name in field_map.icp.items():
            self.properties[ICP_RAW_KEYS[key]] = name
        self.signals = dict(account.signals)
        self.mirror_native_tier = mirror_native_tier

    def columns(self, records: Sequence[dict[str, Any]]) -> tuple[Columns, Signals]:
        """One page's columns (canonical key -> one raw value per record) and signals
        (per record, the signals with a value; None when the map has no signals)."""
        props = _properties(records)
        columns: Columns = {"id": _values(records, "id")}
        for key, name in self.properties.items():
            columns[key] = _values(props, name)
        for key in _TIER_KEYS:
            values = columns.get(key)
            if values is not None:
                columns[key] = list(map(tier_label, values))
        if self.mirror_native_tier:
            columns["icp_tier"] = _mirrored(columns.get("icp_tier"), props)
        signals: Signals = None
        if self.signals:
            named = self.signals.items()
            signals = [
                {
                    signal: p.get(name)
                    for signal, name in named
                    if p.get(name) is not None and p.get(name) != ""
                }
                for p in props
            ]
        return columns, signals


class DealColumns:
    """The field map's deal properties, read a page at a time.

    Args:
        field_map: canonical field -> deal property.
    """

    def __init__(self, field_map: FieldMap):
        self.properties = dict(field_map.opportunity.fields)

    def columns(self, records: Sequence[dict[str, Any]]) -> Columns:
        """One page's columns: canonical key -> one raw value per deal; ``id`` is the
        deal's id and ``account_id`` its company (:func:`company_of`)."""
        props = _properties(records)
        columns: Columns = {key: _values(props, name) for key, name in self.properties.items()}
        columns["id"] = _values(records, "id")
        columns["account_id"] = list(map(company_of, records))
        return columns


def company_of(record: dict[str, Any]) -> str | None:
    """The deal's company: the primary (``deal_to_company``) association, else the first."""
    links = ((record.get("associations") or {}).get("companies") or {}).get("results") or []
    for link in links:
        if link.get("type") == "deal_to_company":
            return str(link["id"])
    return str(links[0]["id"]) if links else None


def _properties(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each record's ``properties`` (an empty dict where it has none)."""
    props = _values(records, "properties")
    if all(props):
        return props
    return [p or {} for p in props]


def _values(records: Sequence[dict[str, Any]], key: str) -> list[Any]:
    """``record.get(key)`` of every record: ``dict.get`` mapped in C (a record that is not
    a dict, in a broken payload, is asked as before, and fails as before)."""
    try:
        return list(map(dict.get, records, repeat(key)))
    except TypeError:
        return [record.get(key) for record in records]


def _mirrored(
    tiers: Sequence[str | None] | None, props: Sequence[dict[str, Any]]
) -> list[str | None]:
    """The tiers, None where ``hs_ideal_customer_profile`` does not mirror the tier."""
    values = tiers if tiers is not None else [None] * len(props)
    return [
        tier if NATIVE_TIER.get(str(tier), "") == (p.get(NATIVE) or "") else None
        for tier, p in zip(values, props, strict=True)
    ]
