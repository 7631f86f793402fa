"""Values to JSON and back, keeping their Python type: the corpus stores raw records,
canonical accounts and scores, and ``1``, ``1.0``, ``True``, ``-0.0``, ``nan``, a set and a
list must stay apart.

JSON's own types stand for themselves (``None``, ``bool``, ``int``, finite ``float``,
``str``, ``list``). Everything else is a one-entry object ``{"$kind": value}``: ``$float``
(``"nan"``, ``"inf"``, ``"-inf"``), ``$bytes`` (hex), ``$tuple``, ``$set`` (a frozenset, items
in a fixed order), ``$dict`` (a mapping, as ``[key, value]`` pairs in order), ``$date`` and
``$datetime`` (ISO 8601). So every JSON object in a stored file is a tag, and a raw record
that is itself a dict is a ``$dict`` like any other mapping.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

#: the canonical fields of an account and of its ``current`` ICP values, in order; read
#: with ``getattr`` so that any object with these attributes serialises alike.
ACCOUNT_FIELDS = (
    "id",
    "name",
    "domain",
    "industry",
    "employees",
    "annual_revenue",
    "country",
    "region",
    "tech_stack",
    "signals",
    "last_modified",
)
CURRENT_FIELDS = ("score", "tier", "flags", "reasons", "profile_version", "scored_at", "override")
OPPORTUNITY_FIELDS = (
    "id",
    "account_id",
    "stage",
    "is_closed",
    "is_won",
    "amount",
    "created",
    "closed",
    "last_modified",
)
AGGREGATE_FIELDS = (
    "won_deals",
    "lost_deals",
    "open_deals",
    "open_pipeline",
    "last_win",
    "sales_cycle_days",
)
#: every field of a score, in the order the corpus lists them.
SCORE_FIELDS = (
    "account_id",
    "score",
    "tier",
    "computed_tier",
    "overridden",
    "flags",
    "contributions",
    "missing",
    "reasons",
    "reasons_short",
    "profile_version",
)


def encode(value: Any) -> Any:
    """``value`` as JSON data that :func:`decode` turns back into an equal value of the
    same type."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode(v) for v in value]}
    if isinstance(value, frozenset | set):
        items = [encode(v) for v in value]
        return {"$set": sorted(items, key=lambda item: json.dumps(item, sort_keys=True))}
    if isinstance(value, Mapping):
        return {"$dict": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    raise TypeError(f"cannot store {type(value).__name__}: {value!r}")


def decode(data: Any) -> Any:
    """The value :func:`encode` stored (mappings come back as plain dicts, sets as
    frozensets)."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    ((kind, body),) = data.items()
    if kind == "$float":
        return float(body)
    if kind == "$bytes":
        return bytes.fromhex(body)
    if kind == "$tuple":
        return tuple(decode(v) for v in body)
    if kind == "$set":
        return frozenset(decode(v) for v in body)
    if kind == "$dict":
        return {decode(k): decode(v) for k, v in body}
    if kind == "$datetime":
        return datetime.fromisoformat(body)
    if kind == "$date":
        return date.fromisoformat(body)
    raise ValueError(f"unknown tag {kind!r}")


def account_data(account: Any) -> dict[str, Any] | None:
    """Every canonical field of an account (``current`` as its own fields), encoded."""
    if account is None:
        return None
    data = {name: encode(getattr(account, name)) for name in ACCOUNT_FIELDS}
    current = account.current
    data["current"] = {name: encode(getattr(current, name)) for name in CURRENT_FIELDS}
    return data


def opportunity_data(opportunity: Any) -> dict[str, Any] | None:
    """Every canonical field of an opportunity, encoded."""
    if opportunity is None:
        return None
    return {name: encode(getattr(opportunity, name)) for name in OPPORTUNITY_FIELDS}


def score_data(result: Any) -> dict[str, Any]:
    """Every field of a score, encoded (contributions as ``[points, label]`` pairs)."""
    return {
        name: [[c.points, c.label] for c in result.contributions]
        if name == "contributions"
        else encode(getattr(result, name))
        for name in SCORE_FIELDS
    }


def dumps(data: Any) -> str:
    """Stored JSON: ASCII, one key order, readable in a diff."""
    return json.dumps(data, ensure_ascii=True, indent=1, allow_nan=False) + "\n"
