"""Tier policies: how ``learn`` turns a stated policy into the score cut-offs it writes.

Two inputs: the expected win rate of each score (a logistic fit of won ~ score on the
closed deals) and the scores of the whole book of accounts (not only those with deals), so
a tier's share means a share of the accounts a team has to work.

- ``lift``: Tier k starts at the lowest score whose expected win rate reaches ``lifts[k]``
  times the base rate (for a multiple above 1: or loses at the base loss rate divided by
  it, whichever comes first, so a high base rate still has a Tier 1), raised until Tiers
  1..k hold at most ``shares[k]`` of the book.
  The learned default: Tier 1 from 2x the base rate within 20% of the book, Tier 2 down to
  50% of the book, Tier 3 from 0.5x the base rate; Not ICP below.
- ``share``: Tiers 1..k hold at most ``shares[k]`` of the book (target shares).

The scorer never sees a policy: it reads the cut-offs written next to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from icpsync.core.profile import Tiers
from icpsync.evidence.metrics import logistic_fit

#: An expected win rate no score should be asked to reach.
MAX_TIER_RATE = 0.95


@dataclass(frozen=True)
class TierPolicy:
    """A stated tier policy: cumulative book shares and (for ``lift``) win-rate multiples."""

    kind: Literal["share", "lift"]
    shares: tuple[float, float, float]
    lifts: tuple[float, float, float] | None = None

    def describe(self) -> str:
        """One sentence a RevOps analyst can check against the cut-offs."""
        s1, s2, s3 = (f"{s:.0%}" for s in self.shares)
        if self.kind == "share" or self.lifts is None:
            return (
                f"Tier 1 is the top {s1} of the book by score, Tiers 1-2 the top {s2}, "
                f"Tiers 1-3 the top {s3}; Not ICP below."
            )
        l1, l2, l3 = self.lifts
        return (
            f"Tier 1 from an expected win rate of {l1:g}x the base rate, at most {s1} of the "
            f"book; Tier 2 down to {s2} of the book while at least {l2:g}x; Tier 3 from "
            f"{l3:g}x (at most {s3}); Not ICP below."
        )


LIFT_POLICY = TierPolicy("lift", shares=(0.2, 0.5, 1.0), lifts=(2.0, 0.5, 0.5))
SHARE_POLICY = TierPolicy("share", shares=(0.2, 0.5, 0.8))
POLICIES = {"lift": LIFT_POLICY, "share": SHARE_POLICY}


def policy_for(tiers: Tiers) -> TierPolicy:
    """The policy ``learn`` follows for a profile's ``[profile.tiers]``: its ``share`` or
    ``lift`` policy (with its own shares and lifts when given), or the learned default
    (``lift``) for fixed, hand-written cut-offs."""
    if tiers.policy == "share":
        return TierPolicy("share", tiers.shares or SHARE_POLICY.shares)
    if tiers.policy == "lift":
        return TierPolicy(
            "lift", tiers.shares or LIFT_POLICY.shares, tiers.lifts or LIFT_POLICY.lifts
        )
    return LIFT_POLICY


def expected_rates(scores: np.ndarray, won: np.ndarray) -> np.ndarray:
    """Expected win rate at each score 0..100 from a logistic fit of won ~ score."""
    slope, intercept = logistic_fit(scores, won)
    grid = np.arange(101)
    result: np.ndarray = 1.0 / (1.0 + np.exp(-(intercept + slope * grid)))
    return result


def share_cutoff(book_scores: np.ndarray, share: float) -> int:
    """The lowest cut-off (0..101) at which at most ``share`` of the book scores at or above."""
    if len(book_scores) == 0 or share >= 1.0:
        return 0
    for cut in range(102):
        if float(np.mean(book_scores >= cut)) <= share + 1e-12:
            return cut
    return 101


def lift_target(lift: float, base: float) -> float:
    """The expected win rate a tier at ``lift`` needs: ``lift`` times the base win rate, or
    for ``lift`` above 1 the base *loss* rate divided by ``lift`` when that comes first (2x
    a base rate of 57% is out of reach; losing half as often as average is not)."""
    target = lift * base
    if lift > 1:
        target = min(target, 1 - (1 - base) / lift)
    return min(target, MAX_TIER_RATE)


def lift_cutoff(expected: np.ndarray, target: float) -> int:
    """The lowest score whose expected win rate reaches ``target`` (100 when none does)."""
    reached = np.nonzero(expected >= target)[0]
    return int(reached[0]) if len(reached) else 100


def resolve_cutoffs(
    policy: TierPolicy,
    deal_scores: Sequence[float] | np.ndarray,
    won: Sequence[bool] | np.ndarray,
    book_scores: Sequence[float] | np.ndarray,
) -> tuple[int, int, int]:
    """Tier 1/2/3 minimum scores under ``policy``.

    Args:
        policy: the stated policy.
        deal_scores: the score of each closed deal's account (for the expected win rate).
        won: each deal's outcome.
        book_scores: the score of every account in the book (for the shares); empty: the
            deals' accounts stand in for the book.
    """
    s = np.asarray(deal_scores, dtype=float)
    y = np.asarray(won, dtype=bool)
    book = np.asarray(book_scores, dtype=float)
    if len(book) == 0:
        book = s
    cuts = [share_cutoff(book, share) for share in policy.shares]
    if policy.kind == "lift" and policy.lifts is not None and len(s):
        expected = expected_rates(s, y)
        base = float(y.mean())
        cuts = [
            max(cut, lift_cutoff(expected, lift_target(lift, base)))
            for cut, lift in zip(cuts, policy.lifts, strict=True)
        ]
    t1, t2, t3 = (min(c, 100) for c in cuts)
    t3 = max(t3, 1)
    t2 = max(t2, t3)
    return (max(t1, t2), t2, t3)
