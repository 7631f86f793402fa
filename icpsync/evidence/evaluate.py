"""Score closed deals with a profile through the real scorer.

Each deal is scored as of the day it was created, from its account and the aggregates of
deals closed before that day, so a profile that uses aggregates is judged without
knowing the outcome it predicts. The computed tier is used (a manual override is a human's
call, not the profile's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from icpsync.core.profile import Profile
from icpsync.evidence.dataset import Example


@dataclass(frozen=True)
class ScoredDeal:
    """A closed deal with the score and tier its account had when the deal was created."""

    example: Example
    score: int
    tier: str
    flags: tuple[str, ...] = ()

    @property
    def won(self) -> bool:
        """True when the deal was won."""
        return self.example.deal.won


def _as_of(example: Example, default: datetime) -> datetime:
    day: date | None = example.deal.created or example.deal.closed
    if day is None:
        return default
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def score_examples(
    profile: Profile, examples: Sequence[Example], *, now: datetime
) -> list[ScoredDeal]:
    """Score every deal's account with ``profile`` (undated deals as of ``now``)."""
    from icpsync.core.scoring import Scorer

    scorer = Scorer(profile)
    scored = []
    for example in examples:
        result = scorer.score(example.account, example.aggregates, _as_of(example, now))
        scored.append(ScoredDeal(example, result.score, result.computed_tier, result.flags))
    return scored
