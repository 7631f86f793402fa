"""CRM search semantics: filter groups (OR of ANDed filters), operators and sorts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from icpsync.connectors.hubspot.sandbox.properties import parse_time

OPERATORS = (
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
)
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 10
MAX_FILTERS = 25


class SearchError(ValueError):
    """A search request HubSpot would refuse with 400."""


def _key(kind: str, value: str) -> object:
    """A comparable key for a property value of ``kind``."""
    if kind in ("datetime", "date"):
        return parse_time(value)
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return None
    return value.lower()


def compile_filters(
    groups: list[dict[str, Any]], kinds: Mapping[str, str]
) -> Callable[[Mapping[str, str]], bool]:
    """A predicate over a record's properties; raises :class:`SearchError` when invalid."""
    if len(groups) > MAX_GROUPS:
        raise SearchError(f"at most {MAX_GROUPS} filterGroups are allowed")
    if sum(len(g.get("filters") or []) for g in groups) > MAX_FILTERS:
        raise SearchError(f"at most {MAX_FILTERS} filters are allowed")
    compiled: list[list[Callable[[Mapping[str, str]], bool]]] = []
    for group in groups:
        filters = group.get("filters") or []
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise SearchError(f"at most {MAX_FILTERS_PER_GROUP} filters per group are allowed")
        compiled.append([_one(f, kinds) for f in filters])
    if not compiled:
        return lambda props: True
    return lambda props: any(all(f(props) for f in group) for group in compiled)


def _one(spec: dict[str, Any], kinds: Mapping[str, str]) -> Callable[[Mapping[str, str]], bool]:
    name = spec.get("propertyName")
    op = spec.get("operator", "EQ")
    if op not in OPERATORS:
        raise SearchError(f"unknown operator {op!r}")
    if not name or name not in kinds:
        raise SearchError(f"unknown property {name!r}")
    kind = kinds[name]

    def value_of(props: Mapping[str, str]) -> object:
        raw = props.get(name)
        return None if raw in (None, "") else _key(kind, str(raw))

    if op == "HAS_PROPERTY":
        return lambda p: value_of(p) is not None
    if op == "NOT_HAS_PROPERTY":
        return lambda p: value_of(p) is None
    if op in ("IN", "NOT_IN"):
        wanted = {_key(kind, str(v)) for v in spec.get("values") or []}
        if op == "IN":
            return lambda p: value_of(p) in wanted
        return lambda p: value_of(p) not in wanted
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token = str(spec.get("value", "")).lower().strip("*")
        hit = op == "CONTAINS_TOKEN"
        return lambda p: (token in str(p.get(name) or "").lower()) == hit
    target = _key(kind, str(spec.get("value", "")))
    if target is None:
        raise SearchError(f"invalid value for {name}: {spec.get('value')!r}")
    if op == "BETWEEN":
        high = _key(kind, str(spec.get("highValue", "")))
        return lambda p: _cmp(value_of(p), target, ">=") and _cmp(value_of(p), high, "<=")
    symbol = {"EQ": "==", "NEQ": "!=", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}[op]
    return lambda p: _cmp(value_of(p), target, symbol)


def _cmp(left: Any, right: Any, symbol: str) -> bool:
    if symbol == "!=":
        return left != right
    if left is None or right is None:
        return False
    try:
        if symbol == "==":
            return bool(left == right)
        if symbol == "<":
            return bool(left < right)
        if symbol == "<=":
            return bool(left <= right)
        if symbol == ">":
            return bool(left > right)
        return bool(left >= right)
    except TypeError:
        return False


def sort_keys(sorts: list[Any]) -> list[tuple[str, bool]]:
    """``[(property, descending)]`` from the string (``-name``) or object sort forms."""
    out = []
    for sort in sorts or []:
        if isinstance(sort, str):
            out.append((sort.lstrip("-"), sort.startswith("-")))
        elif isinstance(sort, dict):
            out.append((str(sort.get("propertyName")), sort.get("direction") == "DESCENDING"))
    return out
