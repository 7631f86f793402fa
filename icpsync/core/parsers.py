"""Read one raw value: text, numbers, booleans, dates, sets, vocabulary values.

Each parser is a pure function of its raw value: ``None`` (or missing text such as
``"N/A"``) gives ``None``; a value present but unusable raises :class:`Unusable` with the
reason. The normaliser (:mod:`icpsync.core.normalise_columns`) applies them a column at a
time and counts what they refuse.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import MappingProxyType

MAX_TEXT = 1000
MISSING_TOKENS = frozenset({"", "n/a", "na", "null", "none", "-", "--", "?", "nan", "unknown"})
#: The longest missing token: a longer text is never one.
LONGEST_TOKEN = max(len(t) for t in MISSING_TOKENS)
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})
#: Above these a value is taken for a typing or unit error, not a fact.
MAX_EMPLOYEES = 10_000_000
MAX_REVENUE = 1e13


class Unusable(Exception):
    """The raw value is present but unusable, and why."""

    def __init__(self, raw: object, reason: str = "unreadable"):
        super().__init__(raw)
        self.reason = reason

    def marker(self) -> Refused:
        return Refused(self.reason)


class Refused:
    """A parser's remembered answer for a value it refused (counted at every occurrence)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str = "unreadable"):
        self.reason = reason


@dataclass(frozen=True)
class Vocabulary:
    """CRM value -> canonical value for one field, matched case-insensitively.

    Args:
        values: raw value -> canonical value.
        keep_unknown: keep a value outside ``values`` as it is (else it is bad).
    """

    values: Mapping[str, str] = field(default_factory=dict)
    keep_unknown: bool = True

    def __post_init__(self) -> None:
        lowered = {k.strip().lower(): v for k, v in self.values.items()}
        object.__setattr__(self, "values", MappingProxyType(lowered))

    def lookup(self, raw: str) -> str:
        hit = self.values.get(raw.lower())
        if hit is not None:
            return hit
        if self.keep_unknown:
            return raw
        raise Unusable(raw, "not one of the field map's values")


def clean_text(raw: object) -> str | None:
    """Trimmed text, cut to :data:`MAX_TEXT` characters; None for missing tokens."""
    if raw is None or raw == "":
        return None
    if raw.__class__ is str:
        text = raw.strip()
        if len(text) <= LONGEST_TOKEN and text.lower() in MISSING_TOKENS:
            return None
        return text if len(text) <= MAX_TEXT else text[:MAX_TEXT]
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if isinstance(raw, float) and math.isnan(raw):
        return None
    text = str(raw).strip()
    if text.lower() in MISSING_TOKENS:
        return None
    return text[:MAX_TEXT]


def parse_int(raw: object) -> int | None:
    """A non-negative integer, or None when missing; raises :class:`Unusable`."""
    number = parse_float(raw)
    if number is None:
        return None
    return round(number)


def parse_float(raw: object) -> float | None:
    """A finite non-negative number (``"1,200"``, ``"$3.5M"`` are not guessed at)."""
    if raw.__class__ is not str and isinstance(raw, int | float):  # text skips the tests
        if isinstance(raw, bool):
            raise Unusable(raw, "not a number")
        value = float(raw)
    else:
        text = clean_text(raw)
        if text is None:
            return None
        try:
            value = float(text.replace(",", "").replace("_", "x"))
        except ValueError:
            raise Unusable(raw, "not a number") from None
    if math.isnan(value):
        return None
    if math.isinf(value):
        raise Unusable(raw, "not a finite number")
    if value < 0:
        raise Unusable(raw, "negative")
    return value


def parse_employees(raw: object) -> int | None:
    """A headcount: :func:`parse_int` up to :data:`MAX_EMPLOYEES`."""
    number = parse_int(raw)
    if number is not None and number > MAX_EMPLOYEES:
        raise Unusable(raw, f"implausible: above {MAX_EMPLOYEES:,}")
    return number


def parse_revenue(raw: object) -> float | None:
    """A yearly revenue: :func:`parse_float` up to :data:`MAX_REVENUE`."""
    number = parse_float(raw)
    if number is not None and number > MAX_REVENUE:
        raise Unusable(raw, "implausible: above 10^13")
    return number


def parse_bool(raw: object) -> bool | None:
    """``true/false/1/0/yes/no`` in any case."""
    if isinstance(raw, bool):
        return raw
    text = clean_text(raw)
    if text is None:
        return None
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise Unusable(raw, "not true or false")


def parse_datetime(raw: object) -> datetime | None:
    """An ISO 8601 date or datetime (``Z`` and ``+0000`` accepted), as aware UTC."""
    if raw.__class__ is not str and isinstance(raw, date):  # text skips the tests
        value = raw if isinstance(raw, datetime) else datetime(raw.year, raw.month, raw.day)
    else:
        text = clean_text(raw)
        if text is None:
            return None
        text = text.replace("Z", "+00:00")
        if len(text) > 5 and text[-5] in "+-" and text[-3] != ":" and "T" in text:
            text = f"{text[:-2]}:{text[-2:]}"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            try:  # epoch milliseconds (HubSpot date properties)
                value = datetime.fromtimestamp(int(text) / 1000, tz=UTC)
            except (ValueError, OverflowError, OSError):
                raise Unusable(raw, "not a date") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_date(raw: object) -> date | None:
    """A calendar date from an ISO date or datetime."""
    value = parse_datetime(raw)
    return None if value is None else value.date()


def parse_set(raw: object) -> frozenset[str]:
    """A ``;``-separated (or list) set of trimmed, non-empty strings."""
    if raw is None:
        return frozenset()
    items: Iterable[object] = (
        raw
        if isinstance(raw, list | tuple | set | frozenset)
        else (str(clean_text(raw) or "").split(";"))
    )
    return frozenset(filter(None, map(clean_text, items)))


def parse_flags(raw: object) -> tuple[str, ...]:
    """A set of flags (:func:`parse_set`), sorted."""
    return tuple(sorted(parse_set(raw)))
