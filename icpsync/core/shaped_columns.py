"""Whole columns of the one common shape parsed at once, a shortcut of the per-value parsers.

A shortcut (:data:`SHORTCUTS`) gives a parser's answer for every value of a column when every value
has the shape the CRMs send (UTC timestamps of one layout such as
``2024-05-15T00:01:26.000Z``, decimal digits, JSON numbers or booleans, or nothing) and none is
refused; otherwise None, and the caller parses value by value (which says why). A value of
the shape is one the parser reads without its other rules (trimming, missing tokens,
separators, other offsets, epoch milliseconds, cutting long text), so the answers are the
same. The shape is checked on the column's text joined, and the parsing is ``map`` in C.
Tests compare the two on adversarial columns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from icpsync.core.parsers import (
    MAX_EMPLOYEES,
    MAX_REVENUE,
    MAX_TEXT,
    parse_bool,
    parse_datetime,
    parse_employees,
    parse_float,
    parse_int,
    parse_revenue,
)

#: A UTC timestamp's text with every digit read as 0 -> its offset (``Z``, ``+0000`` or
#: ``+00:00``).
UTC_SHAPES = {
    f"0000-00-00T00:00:00{fraction}{offset}": offset
    for fraction in ("", *(f".{'0' * digits}" for digits in range(1, 7)))
    for offset in ("Z", "+0000", "+00:00")
}
_DIGITS_AS_ZERO = str.maketrans("123456789", "000000000")
_DECIMAL = re.compile(r"[0-9.]*")
_NONE = type(None)
_NUMBER_CLASSES = frozenset({float, int, _NONE})
_TEXT_CLASSES = frozenset({str, _NONE})
_NONE_AS_EMPTY: dict[Any, str] = {None: ""}
_NONE_AS_ZERO: dict[Any, float] = {None: 0.0}
# stand-ins parsed where a value is missing, their answers then replaced by None
_EMPTY_AS_ZERO: dict[Any, str] = {"": "0"}
_EMPTY_AS_EPOCH: dict[Any, str] = {"": "1970-01-01T00:00:00Z"}
_MISSING_AS_NONE: dict[Any, None] = {None: None, "": None}
#: Whole numbers up to this one are floats exactly (``round(float(n)) == n``).
_EXACT = 2**53
_BOOLEAN_CLASSES = frozenset({bool, str, _NONE})
_BOOLEANS = frozenset({True, False, None, ""})


def _texts(values: Sequence[Any], classes: set[type] | None = None) -> list[str] | None:
    """The values ("" for None), when every one is text (and there is one); ``classes``:
    the values' classes, when the caller has them."""
    if classes is None:
        classes = set(map(type, values))
    if not classes or not classes <= _TEXT_CLASSES:
        return None
    return list(map(_NONE_AS_EMPTY.get, values, values)) if _NONE in classes else values  # type: ignore[return-value]


def utc_datetimes(values: Sequence[Any]) -> list[datetime | None] | None:
    """:func:`~icpsync.core.parsers.parse_datetime` of a column of UTC timestamps, every
    one of the same layout (one of :data:`UTC_SHAPES`)."""
    texts = _texts(values)
    if texts is None:
        return None
    present = list(filter(None, texts))
    if present:
        shape = present[0].translate(_DIGITS_AS_ZERO)
        offset = UTC_SHAPES.get(shape)
        lines = "\n".join(present)
        if (
            offset is None
            or lines.translate(_DIGITS_AS_ZERO) != "\n".join([shape] * len(present))
            or lines.count(offset) != len(present)  # each offset zero, not only of its shape
        ):
            return None
    missing = len(present) < len(texts)
    stamps = map(_EMPTY_AS_EPOCH.get, texts, texts) if missing else texts
    try:  # the offset read is UTC itself: astimezone(UTC) would give the same object
        read: list[Any] = list(map(datetime.fromisoformat, stamps))
    except ValueError:  # not a date (month 13)
        return None
    return list(map(_MISSING_AS_NONE.get, texts, read)) if missing else read


def _numbers(values: Sequence[Any], limit: float, whole: bool) -> list[Any] | None:
    """:func:`~icpsync.core.parsers.parse_float` (rounded when ``whole``) of every value
    when each is decimal digits (with points), a JSON number or missing, and none is
    refused, NaN or above ``limit``."""
    keys: Sequence[Any]
    classes = set(map(type, values))
    rounded = False  # whole numbers already
    if classes <= _NUMBER_CLASSES:  # JSON numbers (bool is not among them)
        try:
            numbers = list(map(float, map(_NONE_AS_ZERO.get, values, values)))  # type: ignore[arg-type]
        except OverflowError:  # an int too large (the per-value parser raises it too)
            return None
        total = sum(numbers)  # NaN when one is, infinite when one is (or they add up so)
        if total != total or math.isinf(total) or min(numbers, default=0.0) < 0:
            return None
        keys, missing = values, None in values
    else:
        texts = _texts(values, classes)
        if texts is None:
            return None
        joined = "".join(texts)
        if _DECIMAL.fullmatch(joined) is None:
            return None
        if len(joined) > MAX_TEXT and max(map(len, texts)) > MAX_TEXT:
            return None  # the per-value parser reads a long text's start only
        missing = "" in texts
        digits = map(_EMPTY_AS_ZERO.get, texts, texts) if missing else texts
        try:
            if "." in joined:
                numbers = list(map(float, digits))
            else:  # digits only: read by int, faster, each float then rounded as float() rounds
                numbers = list(map(int, digits))
                rounded = whole and max(numbers, default=0) <= _EXACT
                if not rounded:
                    numbers = list(map(float, numbers))
        except (ValueError, OverflowError):  # "." or two points; beyond a float (infinite)
            return None
        keys = texts
    top = max(numbers, default=0.0)
    if top > limit or math.isinf(top):
        return None
    if whole and not rounded:
        numbers = list(map(round, numbers))
    return list(map(_MISSING_AS_NONE.get, keys, numbers)) if missing else numbers


def floats(values: Sequence[Any]) -> list[float | None] | None:
    """:func:`~icpsync.core.parsers.parse_float` of the column."""
    return _numbers(values, math.inf, whole=False)


def revenues(values: Sequence[Any]) -> list[float | None] | None:
    """:func:`~icpsync.core.parsers.parse_revenue` of the column."""
    return _numbers(values, MAX_REVENUE, whole=False)


def ints(values: Sequence[Any]) -> list[int | None] | None:
    """:func:`~icpsync.core.parsers.parse_int` of the column."""
    return _numbers(values, math.inf, whole=True)


def headcounts(values: Sequence[Any]) -> list[int | None] | None:
    """:func:`~icpsync.core.parsers.parse_employees` of the column (a number up to half
    above :data:`~icpsync.core.parsers.MAX_EMPLOYEES` rounds to it at most)."""
    return _numbers(values, MAX_EMPLOYEES + 0.5, whole=True)


def booleans(values: Sequence[Any]) -> list[bool | None] | None:
    """:func:`~icpsync.core.parsers.parse_bool` of a column of JSON booleans, nulls and
    empty text."""
    classes = set(map(type, values))
    if not classes <= _BOOLEAN_CLASSES or (str in classes and not set(values) <= _BOOLEANS):
        return None
    return list(map(_MISSING_AS_NONE.get, values, values)) if "" in values else list(values)


#: Per-value parser -> its whole-column shortcut.
SHORTCUTS: dict[Callable[..., Any], Callable[[Sequence[Any]], list[Any] | None]] = {
    parse_bool: booleans,
    parse_datetime: utc_datetimes,
    parse_float: floats,
    parse_revenue: revenues,
    parse_int: ints,
    parse_employees: headcounts,
}
