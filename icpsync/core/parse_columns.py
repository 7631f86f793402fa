"""Parse many distinct texts at once: the numbers and dates of a column, the work done in C.

:func:`parsed_texts` gives, for a set of distinct raw texts (``str`` or None), what the
parser of :mod:`icpsync.core.parsers` it is asked for gives each one, as a mapping. It does
so with ``map`` over the whole set when every text is of the plain form that parser
accepts (``"1200"``, ``"2026-10-01T00:00:00.000Z"``); when any is not (a refused value, a
NaN, an epoch, a date without a zone), the rest are parsed one by one by the parser
itself, so a refusal and its reason are never decided here. Missing texts (None, ``""``,
``"N/A"`` ...) are None, as :func:`~icpsync.core.parsers.clean_text` makes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Set
from datetime import UTC, datetime
from itertools import compress
from math import isfinite
from operator import attrgetter, itemgetter, methodcaller, not_
from typing import Any

from icpsync.core.parsers import (
    MAX_EMPLOYEES,
    MAX_REVENUE,
    MAX_TEXT,
    MISSING_TOKENS,
    Unusable,
    parse_date,
    parse_datetime,
    parse_employees,
    parse_float,
    parse_int,
    parse_revenue,
)

#: Below this many new distinct texts the parser is simply called on each.
FEW = 16
_no_commas = methodcaller("replace", ",", "")
_zulu = methodcaller("replace", "Z", "+00:00")
_fifth_last = itemgetter(slice(-5, -4))
_tzinfo = attrgetter("tzinfo")
_to_utc = methodcaller("astimezone", UTC)
_day = methodcaller("date")
_SIGNS = frozenset({"+", "-"})

Many = Callable[[list[str]], list[Any] | None]


def _floats(texts: list[str]) -> list[float] | None:
    """:func:`parse_float` of plain texts: finite, non-negative, no ``_``."""
    if "_" in "".join(texts):
        return None  # float() reads 1_000, parse_float refuses it
    try:
        numbers = list(map(float, map(_no_commas, texts)))
    except ValueError:
        return None
    if not all(map(isfinite, numbers)) or min(numbers) < 0:
        return None
    return numbers


def _ints(texts: list[str]) -> list[int] | None:
    numbers = _floats(texts)
    return None if numbers is None else list(map(round, numbers))


def _employees(texts: list[str]) -> list[int] | None:
    numbers = _ints(texts)
    return None if numbers is None or max(numbers) > MAX_EMPLOYEES else numbers


def _revenues(texts: list[str]) -> list[float] | None:
    numbers = _floats(texts)
    return None if numbers is None or max(numbers) > MAX_REVENUE else numbers


def _datetimes(texts: list[str]) -> list[datetime] | None:
    """:func:`parse_datetime` of ISO texts that each carry a zone."""
    isos = list(map(_zulu, texts))
    fifths = list(map(_fifth_last, isos))
    if not _SIGNS.isdisjoint(fifths):  # +0000 offsets (Salesforce REST): +00:00
        for i in compress(range(len(isos)), map(_SIGNS.__contains__, fifths)):
            iso = isos[i]
            if len(iso) > 5 and iso[-3] != ":" and "T" in iso:
                isos[i] = f"{iso[:-2]}:{iso[-2:]}"
    try:
        parsed = list(map(datetime.fromisoformat, isos))
    except ValueError:
        return None
    if None in set(map(_tzinfo, parsed)):
        return None
    return list(map(_to_utc, parsed))


def _dates(texts: list[str]) -> list[Any] | None:
    moments = _datetimes(texts)
    return None if moments is None else list(map(_day, moments))


_MANY: dict[Callable[[object], object], Many] = {
    parse_float: _floats,
    parse_int: _ints,
    parse_employees: _employees,
    parse_revenue: _revenues,
    parse_datetime: _datetimes,
    parse_date: _dates,
}


def each_parsed(parse: Callable[[object], object], raws: Iterable[object]) -> dict[Any, Any]:
    """Raw value -> ``parse`` of it, or the :class:`~icpsync.core.parsers.Refused` marker."""
    found: dict[Any, Any] = {}
    for raw in raws:
        try:
            found[raw] = parse(raw)
        except Unusable as exc:
            found[raw] = exc.marker()
    return found


def parsed_texts(parse: Callable[[object], object], raws: Set[str | None]) -> dict[Any, Any]:
    """Distinct text -> ``parse`` of it (or its refusal), all at once where it can be."""
    many = _MANY.get(parse)
    if many is None or len(raws) < FEW:
        return each_parsed(parse, raws)
    found: dict[Any, Any] = {}
    texts: list[Any] = list(raws)
    if None in raws:
        texts.remove(None)
        found[None] = None
    stripped = list(map(str.strip, texts))
    if max(map(len, stripped), default=0) > MAX_TEXT:
        return each_parsed(parse, raws)
    gone = list(map(MISSING_TOKENS.__contains__, map(str.lower, stripped)))
    if any(gone):
        found.update(dict.fromkeys(compress(texts, gone)))
        kept = list(map(not_, gone))
        texts, stripped = list(compress(texts, kept)), list(compress(stripped, kept))
    values = many(stripped) if stripped else []
    if values is None:
        found.update(each_parsed(parse, texts))
    else:
        found.update(zip(texts, values, strict=True))
    return found
