"""The frozen reference normaliser plus the one rule added after it: a headcount above ten
million or a revenue above 10^13 is a bad value (made missing and counted).

The rule is applied to the reference's own clean values, so the live normaliser is still
checked against code that was written independently of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reference import normalise_v1 as REFERENCE

T = TypeVar("T")
LIMITS = {"employees": 10_000_000, "annual_revenue": 1e13}


class Normaliser(REFERENCE.Normaliser):
    """``reference.normalise_v1.Normaliser`` with implausible values made missing."""

    def _clean(self, name: str, raw: object, parse: Callable[[object], T | None]) -> T | None:
        value = super()._clean(name, raw, parse)
        limit = LIMITS.get(name)
        if limit is not None and value is not None and value > limit:  # type: ignore[operator]
            self.stats.bad_values[name] += 1
            return None
        return value
