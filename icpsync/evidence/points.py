"""Coefficients -> integer points per bin, anti-ICP candidates and tier thresholds.

Within a field, the worst bin is worth 0 points and every other bin its coefficient's
distance above it; the scale makes the sum of each field's best bin (for tech-stack items:
of every item that raises the odds) 100, so the best account lands near 100 and the worst
near 0. A tech-stack item that lowers the odds keeps
negative points (there is no "does not contain" operator). Bins of one field that round to
the same points are merged into one criterion; a bin worth 0 points is left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from icpsync.evidence.binning import Bin, Feature
from icpsync.evidence.dataset import Example
from icpsync.evidence.fit import FittedModel
from icpsync.evidence.metrics import wilson
from icpsync.evidence.tiers import LIFT_POLICY, TierPolicy, resolve_cutoffs

#: A bin becomes an active anti-ICP rule when its win-rate interval lies wholly under this
#: share of the base rate on at least ``ANTI_ACTIVE_MIN_DEALS`` deals.
ANTI_ACTIVE_RATIO = 1 / 3
ANTI_ACTIVE_MIN_DEALS = 50
#: Weaker evidence (interval under half the base rate, 30 deals) is proposed commented out.
ANTI_MIN_DEALS = 30
ANTI_RATE_RATIO = 0.5


@dataclass(frozen=True)
class Rule:
    """One criterion (or anti-ICP rule): bins of one field merged, with its evidence."""

    bins: tuple[Bin, ...]
    points: int
    deals: int
    wins: int
    active: bool = False

    @property
    def field(self) -> str:
        """The field the rule tests."""
        return self.bins[0].field

    @property
    def bin(self) -> Bin:
        """The rule's condition as one bin."""
        return merge_bins(self.bins)

    @property
    def win_rate(self) -> float:
        """Win rate of the deals in the rule's bins (NaN without deals)."""
        return self.wins / self.deals if self.deals else float("nan")

    def matches(self, example: Example) -> bool:
        """True when the deal's account meets the rule."""
        value = example.value(self.field)
        return any(b.matches(value) for b in self.bins)


@dataclass(frozen=True)
class PointsProfile:
    """What ``learn`` proposes, before it is written as TOML."""

    rules: tuple[Rule, ...]
    anti: tuple[Rule, ...]
    tiers: tuple[int, int, int]
    deals: int
    wins: int
    policy: TierPolicy = LIFT_POLICY

    def score(self, example: Example) -> int:
        """The score the profile gives a deal's account (0..100), without anti rules."""
        return max(0, min(100, sum(r.points for r in self.rules if r.matches(example))))


def merge_bins(bins: Sequence[Bin]) -> Bin:
    """One bin covering ``bins`` (same field: named values joined, adjacent ranges joined)."""
    first = bins[0]
    if len(bins) == 1:
        return first
    if first.kind == "values":
        return Bin(first.field, "values", values=tuple(sorted({v for b in bins for v in b.values})))
    return Bin(first.field, "range", low=bins[0].low, high=bins[-1].high)


def to_points(
    model: FittedModel,
    examples: Sequence[Example],
    *,
    book: Sequence[Example] = (),
    policy: TierPolicy = LIFT_POLICY,
) -> PointsProfile:
    """Turn the fitted model into integer points, anti-ICP rules and tiers.

    Args:
        model: the fitted model.
        examples: the closed deals it was fitted on (evidence, expected win rates).
        book: every account of the book, as examples (the shares the tier policy sets);
            empty: the deals' accounts stand in.
        policy: the tier policy resolved into cut-offs.
    """
    spans = []
    for feature, coefs in zip(model.features, model.coefficients, strict=True):
        spans.append(
            sum(max(c, 0.0) for c in coefs) if feature.kind == "items" else max(coefs) - min(coefs)
        )
    total = sum(spans)
    scale = 100.0 / total if total > 0 else 0.0
    columns = {
        id(b): [b.matches(e.value(b.field)) for e in examples]
        for f in model.features
        for b in f.bins
    }
    won = [e.deal.won for e in examples]
    rules: list[Rule] = []
    for feature, coefs in zip(model.features, model.coefficients, strict=True):
        floor = 0.0 if feature.kind == "items" else min(coefs)
        points = [round(scale * (c - floor)) for c in coefs]
        rules.extend(_rules_for(feature, points, columns, won))
    wins = sum(won)
    rules = [r for r in rules if r.points != 0]
    profile = PointsProfile(tuple(rules), (), (0, 0, 0), len(examples), wins, policy)
    anti = anti_candidates(model.features, columns, won)
    tiers = tier_thresholds(profile, examples, policy=policy, book=book)
    return PointsProfile(tuple(rules), anti, tiers, len(examples), wins, policy)


def _rules_for(
    feature: Feature, points: list[int], columns: dict[int, list[bool]], won: list[bool]
) -> list[Rule]:
    groups: list[list[int]] = []
    for i, b in enumerate(feature.bins):
        prev = groups[-1][-1] if groups else None
        mergeable = (
            prev is not None
            and points[prev] == points[i]
            and (
                (b.kind == "values" and feature.bins[prev].kind == "values")
                or (b.kind == "range" and feature.bins[prev].kind == "range")
            )
        )
        if mergeable:
            groups[-1].append(i)
        else:
            groups.append([i])
    if feature.kind == "categorical":  # named values with equal points, wherever they sit
        groups = _merge_equal_values(feature, points, groups)
    rules = []
    for group in groups:
        hit = [any(columns[id(feature.bins[i])][row] for i in group) for row in range(len(won))]
        rules.append(
            Rule(
                tuple(feature.bins[i] for i in group),
                points[group[0]],
                sum(hit),
                sum(w for w, h in zip(won, hit, strict=True) if h),
            )
        )
    return rules


def _merge_equal_values(
    feature: Feature, points: list[int], groups: list[list[int]]
) -> list[list[int]]:
    by_points: dict[int, list[int]] = {}
    merged: list[list[int]] = []
    for group in groups:
        if feature.bins[group[0]].kind == "values":
            key = points[group[0]]
            if key in by_points:
                by_points[key].extend(group)
                continue
            by_points[key] = list(group)
            merged.append(by_points[key])
        else:
            merged.append(group)
    return merged


def anti_candidates(
    features: Sequence[Feature], columns: dict[int, list[bool]], won: list[bool]
) -> tuple[Rule, ...]:
    """Bins that win far below the base rate.

    Active (applied) when the Wilson interval lies wholly under ``ANTI_ACTIVE_RATIO`` of the
    base rate on at least ``ANTI_ACTIVE_MIN_DEALS`` deals; a candidate for a human (written
    commented out) when its upper bound is under ``ANTI_RATE_RATIO`` of it on at least
    ``ANTI_MIN_DEALS`` deals.
    """
    base = sum(won) / len(won) if won else 0.0
    found = []
    for feature in features:
        for b in feature.bins:
            if b.kind not in ("range", "values", "item"):
                continue
            hit = columns[id(b)]
            n = sum(hit)
            w = sum(x for x, h in zip(won, hit, strict=True) if h)
            if n < ANTI_MIN_DEALS:
                continue
            high = wilson(w, n).high
            if high < ANTI_RATE_RATIO * base:
                active = n >= ANTI_ACTIVE_MIN_DEALS and high < ANTI_ACTIVE_RATIO * base
                found.append(Rule((b,), 0, n, w, active))
    return tuple(found)


def tier_thresholds(
    profile: PointsProfile,
    examples: Sequence[Example],
    *,
    policy: TierPolicy = LIFT_POLICY,
    book: Sequence[Example] = (),
) -> tuple[int, int, int]:
    """Tier 1/2/3 minimum scores of ``profile`` under ``policy``
    (:func:`~icpsync.evidence.tiers.resolve_cutoffs`): expected win rates from the deals in
    ``examples``, shares from the accounts in ``book``."""
    if not examples:
        return (70, 50, 30)
    scores = np.array([profile.score(e) for e in examples], dtype=float)
    won = np.array([e.deal.won for e in examples], dtype=bool)
    book_scores = np.array([profile.score(e) for e in book], dtype=float)
    return resolve_cutoffs(policy, scores, won, book_scores)


def slug(text: str) -> str:
    """An id-friendly form of a label: ``employees 200-1,999`` -> ``employees_200_1999``."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower().replace(",", "")).strip("_")[:60] or "rule"
