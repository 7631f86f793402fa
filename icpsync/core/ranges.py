"""The outcomes of a field's range checks for many numbers at once, found by bisection.

Checks such as ``employees between 200 and 2,000`` or ``annual_revenue at least 1e7`` cut
the number line at their bounds; every number strictly between two neighbouring bounds,
and every number equal to one, gets the same outcome from all of them. So the outcome of
each piece is worked out once, from one number in it, and a column of numbers finds its
pieces with ``bisect`` run by ``map`` in C instead of testing every distinct number.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from itertools import compress, count, pairwise, repeat
from math import isfinite, isnan
from operator import add, is_
from typing import Any

#: Integers beyond this are not all exact as floats (the checks compare ``float(value)``).
EXACT_INT = 2**53


class Ranges:
    """The pieces a field's range checks cut the number line into, and their outcomes.

    Args:
        bounds: every finite bound of the field's checks.
        outcome: the outcomes of all the field's checks for one present number (their
            code, see ``FieldChecks``).
    """

    __slots__ = ("bounds", "outcomes", "pieces")

    def __init__(self, bounds: Sequence[float], outcome: Callable[[float], int]):
        self.bounds = sorted(set(bounds))
        #: piece 2i: between bounds[i-1] and bounds[i] (the ends open); 2i+1: bounds[i]
        self.pieces = [self._inside(0)]
        for i, bound in enumerate(self.bounds, start=1):
            self.pieces += [bound, self._inside(i)]
        self.outcomes = [outcome(number) for number in self.pieces]

    def _inside(self, i: int) -> float:
        """A number strictly between bounds ``i - 1`` and ``i`` (the ends open)."""
        bounds = self.bounds
        if not bounds:
            return 0.0
        if i == 0:
            return bounds[0] - 1.0
        if i == len(bounds):
            return bounds[-1] + 1.0
        return (bounds[i - 1] + bounds[i]) / 2

    @classmethod
    def of(cls, bounds: Sequence[Any], outcome: Callable[[float], int]) -> Ranges | None:
        """The pieces, or None when a bound is not a plain finite number or two bounds are
        too close for a number between them."""
        if not all(b.__class__ in (int, float) and isfinite(b) for b in bounds):
            return None
        ranges = cls([float(b) for b in bounds], outcome)
        if any(low >= high for low, high in pairwise(ranges.pieces)):
            return None
        return ranges

    def lookup(self, numbers: list[Any], cls: type) -> dict[Any, int] | None:
        """Number -> outcomes for distinct ``numbers`` all of class ``cls`` (int or float),
        or None when some cannot be placed exactly (NaN, integers beyond 2**53)."""
        if not numbers:
            return {}
        placed = self._placed(numbers, cls)
        return None if placed is None else dict(zip(numbers, placed, strict=True))

    def column(self, values: list[Any], cls: type, gaps: bool, missing: int) -> list[int] | None:
        """The outcomes for each value of a column of numbers of class ``cls`` (int or
        float) and, when ``gaps``, Nones (``missing`` for those), placed one by one without
        a dictionary of the distinct numbers; None when a number cannot be placed exactly
        (see :meth:`lookup`)."""
        numbers = [0 if v is None else v for v in values] if gaps else values
        each = self._placed(numbers, cls)
        if each is None:
            return None
        placed = list(each)
        if gaps:
            for position in list(compress(count(), map(is_, values, repeat(None)))):
                placed[position] = missing
        return placed

    def _placed(self, numbers: list[Any], cls: type) -> Iterator[int] | None:
        """Each number's outcomes in turn (by bisection on the bounds), or None when some
        number of class ``cls`` cannot be placed exactly (NaN, integers beyond 2**53)."""
        if cls is float:
            if any(map(isnan, numbers)):
                return None
        elif cls is not int or max(numbers) > EXACT_INT or min(numbers) < -EXACT_INT:
            return None
        bounds = repeat(self.bounds)
        pieces = map(add, map(bisect_left, bounds, numbers), map(bisect_right, bounds, numbers))
        return map(self.outcomes.__getitem__, pieces)
