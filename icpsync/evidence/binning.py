"""Turn traits into bins a profile can express.

Numeric traits are cut where won and lost deals separate (a shallow decision tree on the one
trait, each bin holding at least ``min_support`` deals), with cut points rounded to two
significant digits so a criterion reads "employees 200-1,999". Categorical traits keep each
value with enough support and pool the rest as "other"; tech-stack items with enough
support are each their own yes/no bin. Missing values are their own bin when common enough,
else they earn nothing. Every bin matches a value exactly as the profile criterion written
from it does.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sklearn.tree import DecisionTreeClassifier

from icpsync.evidence.dataset import (
    CATEGORICAL_FIELDS,
    ITEM_FIELDS,
    NUMERIC_FIELDS,
    SIGNAL_PREFIX,
    Example,
)

MAX_BINS = 5
MAX_GROUPS = 15
MAX_ITEMS = 30
MIN_SUPPORT_FLOOR = 20
MIN_SUPPORT_SHARE = 0.02
NUMERIC_SIGNAL_MIN_DISTINCT = 10

BinKind = Literal["range", "values", "other", "missing", "item"]


def min_support(n: int) -> int:
    """Deals a bin needs: 2% of the deals, at least 20."""
    return max(MIN_SUPPORT_FLOOR, round(MIN_SUPPORT_SHARE * n))


def as_number(value: object) -> float | None:
    """A finite number from an int, float or numeric string; else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        try:
            number = float(str(value).strip().replace(",", ""))
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def as_text(value: object) -> str | None:
    """A non-empty stripped string, or None."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@dataclass(frozen=True)
class Bin:
    """One bin of one field; ``matches`` agrees with the criterion written from it.

    ``range`` bins hold ``low <= value <= high`` (either bound may be open); ``values``
    bins hold the named values; ``other`` bins hold any present value not named in
    ``values``; ``missing`` bins hold no value; ``item`` bins hold sets containing the item.
    """

    field: str
    kind: BinKind
    low: float | None = None
    high: float | None = None
    values: tuple[str, ...] = ()

    def matches(self, value: object) -> bool:
        """True when ``value`` falls in this bin."""
        if self.kind == "item":
            return isinstance(value, frozenset | set) and self.values[0] in value
        if self.kind == "missing":
            return _is_missing(value)
        if self.kind == "range":
            number = as_number(value)
            return (
                number is not None
                and (self.low is None or number >= self.low)
                and (self.high is None or number <= self.high)
            )
        text = as_text(value)
        if text is None:
            return False
        named = text.lower() in {v.lower() for v in self.values}  # as the scorer: any case
        return named == (self.kind == "values")

    @property
    def label(self) -> str:
        """What a rep reads: ``employees 200-1,999``, ``industry Technology``."""
        name = self.field.removeprefix(SIGNAL_PREFIX).replace("_", " ")
        if self.kind == "item":
            return f"{self.values[0]} in {name}"
        if self.kind == "missing":
            return f"{name} unknown"
        if self.kind == "other":
            return f"{name} other"
        if self.kind == "values":
            return f"{name} {', '.join(self.values)}"
        if self.low is None:
            return f"{name} at most {_fmt(self.high)}"
        if self.high is None:
            return f"{name} at least {_fmt(self.low)}"
        return f"{name} {_fmt(self.low)}-{_fmt(self.high)}"

    def condition(self) -> dict[str, Any]:
        """The criterion condition (field and one operator) for the profile."""
        cond: dict[str, Any] = {"field": self.field}
        if self.kind == "item":
            cond["contains_any"] = list(self.values)
        elif self.kind == "missing":
            cond["is_missing"] = True
        elif self.kind == "values":
            cond["in"] = list(self.values)
        elif self.kind == "other":
            cond["not_in"] = list(self.values)
        elif self.low is None:
            cond["at_most"] = self.high
        elif self.high is None:
            cond["at_least"] = self.low
        else:
            cond["between"] = [self.low, self.high]
        return cond


@dataclass(frozen=True)
class Feature:
    """A field and its bins; an ``items`` feature's bins are independent yes/no bins."""

    field: str
    kind: Literal["numeric", "categorical", "items"]
    bins: tuple[Bin, ...]


def _is_missing(value: object) -> bool:
    if isinstance(value, frozenset | set):
        return not value
    return as_text(value) is None


def _fmt(number: float | None) -> str:
    if number is None:
        return ""
    return f"{number:,.0f}" if float(number).is_integer() else f"{number:,.4g}"


def nice(number: float) -> float:
    """``number`` rounded to two significant digits (an integer when it is >= 10)."""
    if number == 0:
        return 0.0
    digits = 1 - math.floor(math.log10(abs(number)))
    rounded = round(number, digits)
    return float(round(rounded)) if abs(rounded) >= 10 else float(rounded)


def learn_features(
    examples: Sequence[Example], fields: Sequence[str] | None = None
) -> list[Feature]:
    """Bins for every usable field, learned from ``examples`` (training deals only).

    Args:
        examples: the training deals.
        fields: fields to consider; default: the numeric, categorical and item fields plus
            every signal on these deals.
    """
    if fields is None:
        signals = sorted({k for e in examples for k in e.account.signals})
        fields = [
            *NUMERIC_FIELDS,
            *CATEGORICAL_FIELDS,
            *ITEM_FIELDS,
            *(SIGNAL_PREFIX + s for s in signals),
        ]
    won = np.array([e.deal.won for e in examples], dtype=bool)
    support = min_support(len(examples))
    features = []
    for name in fields:
        values = [e.value(name) for e in examples]
        if name in ITEM_FIELDS:
            feature = item_feature(name, values, support)
        elif name in NUMERIC_FIELDS or (name.startswith(SIGNAL_PREFIX) and _looks_numeric(values)):
            feature = numeric_feature(name, values, won, support)
        else:
            feature = categorical_feature(name, values, support)
        if feature is not None:
            features.append(feature)
    return features


def _looks_numeric(values: Sequence[object]) -> bool:
    present = [v for v in values if as_text(v) is not None]
    numbers = [n for n in (as_number(v) for v in present) if n is not None]
    return (
        bool(present)
        and len(numbers) >= 0.95 * len(present)
        and (len(set(numbers)) >= NUMERIC_SIGNAL_MIN_DISTINCT)
    )


def numeric_feature(
    name: str, values: Sequence[object], won: np.ndarray, support: int
) -> Feature | None:
    """Range bins cut where the outcome changes, plus a missing bin when common."""
    numbers = np.array([np.nan if (n := as_number(v)) is None else n for v in values])
    present = ~np.isnan(numbers)
    if present.sum() < 2 * support:
        return None
    tree = DecisionTreeClassifier(max_leaf_nodes=MAX_BINS, min_samples_leaf=support, random_state=0)
    tree.fit(numbers[present].reshape(-1, 1), won[present])
    raw_cuts = sorted(
        float(t) for t, f in zip(tree.tree_.threshold, tree.tree_.feature, strict=True) if f >= 0
    )
    lowest, highest = float(numbers[present].min()), float(numbers[present].max())
    integral = bool(np.all(np.mod(numbers[present], 1) == 0))
    rounded = (math.ceil(nice(t)) if integral else nice(t) for t in raw_cuts)
    cuts = sorted({float(c) for c in rounded if lowest < c <= highest})
    if not cuts:
        return None
    step = 1.0 if integral else 0.0
    edges: list[float | None] = [None, *cuts]
    bins = [
        Bin(name, "range", low, None if i == len(cuts) else cuts[i] - step)
        for i, low in enumerate(edges)
    ]
    if (~present).sum() >= support:
        bins.append(Bin(name, "missing"))
    return Feature(name, "numeric", tuple(bins))


def categorical_feature(name: str, values: Sequence[object], support: int) -> Feature | None:
    """One bin per common value, rare values pooled as "other", missing when common."""
    texts = [as_text(v) for v in values]
    spelling: dict[str, str] = {}
    for text in texts:
        if text is not None:
            spelling.setdefault(text.lower(), text)
    counts = Counter(spelling[t.lower()] for t in texts if t is not None)
    kept = sorted(v for v, c in counts.most_common(MAX_GROUPS) if c >= support)
    bins = [Bin(name, "values", values=(v,)) for v in kept]
    pooled = sum(c for v, c in counts.items() if v not in kept)
    if kept and pooled >= support:
        bins.append(Bin(name, "other", values=tuple(kept)))
    if sum(t is None for t in texts) >= support:
        bins.append(Bin(name, "missing"))
    return Feature(name, "categorical", tuple(bins)) if len(bins) >= 2 else None


def item_feature(name: str, values: Sequence[object], support: int) -> Feature | None:
    """One yes/no bin per item present on at least ``support`` deals (and absent on as many)."""
    sets = [v if isinstance(v, frozenset | set) else frozenset() for v in values]
    counts = Counter(item for s in sets for item in s)
    n = len(sets)
    kept = [i for i, c in counts.most_common() if support <= c <= n - support][:MAX_ITEMS]
    if not kept:
        return None
    return Feature(name, "items", tuple(Bin(name, "item", values=(i,)) for i in sorted(kept)))


def design_matrix(examples: Sequence[Example], features: Sequence[Feature]) -> np.ndarray:
    """One 0/1 column per bin: 1 where the deal falls in the bin."""
    columns = []
    for feature in features:
        values = [e.value(feature.field) for e in examples]
        for b in feature.bins:
            columns.append([1.0 if b.matches(v) else 0.0 for v in values])
    if not columns:
        return np.zeros((len(examples), 0))
    return np.array(columns).T
