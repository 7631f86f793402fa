"""Where the evidence is checked: the newest closes, or cross-validation without dates.

A time holdout trains on deals closed before a cut-off day and tests on those closed on or
after it, so nothing from the test period reaches the fit. Without close dates (or with too
few deals on one side of the cut-off) the deals are split into stratified folds grouped by
account instead, and the description says so.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np

from icpsync.core.errors import ConfigError
from icpsync.evidence.dataset import Dataset

log = logging.getLogger(__name__)

DEFAULT_SHARE = 0.2
FOLDS = 5
MIN_TEST_DEALS = 20
MIN_TRAIN_DEALS = 40


@dataclass(frozen=True)
class Holdout:
    """The newest ``share`` of closed deals, or those closed in the last ``days`` days."""

    share: float | None = DEFAULT_SHARE
    days: int | None = None

    def __str__(self) -> str:
        return f"last {self.days} days" if self.days is not None else f"newest {self.share:.0%}"


def parse_holdout(text: str) -> Holdout:
    """``0.2`` or ``20%`` (a share of the closed deals) or ``90d`` (days).

    Raises:
        ConfigError: the value is neither.
    """
    raw = text.strip().lower()
    if match := re.fullmatch(r"(\d+)\s*d(ays?)?", raw):
        days = int(match.group(1))
        if days > 0:
            return Holdout(share=None, days=days)
    else:
        try:
            share = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
        except ValueError:
            share = -1.0
        if 0 < share < 1:
            return Holdout(share=share)
    raise ConfigError(
        f"expected a share like 0.2 or 20%, or days like 90d; got {text!r}", key="--holdout"
    )


@dataclass(frozen=True)
class Split:
    """Row indices of one training set and its test set."""

    train: tuple[int, ...]
    test: tuple[int, ...]


@dataclass(frozen=True)
class SplitPlan:
    """How the evidence is validated."""

    method: Literal["time", "cv"]
    splits: tuple[Split, ...]
    description: str
    cutoff: date | None = None


def plan_splits(dataset: Dataset, holdout: Holdout | None = None, *, seed: int = 0) -> SplitPlan:
    """A time holdout when the deals are dated, else grouped stratified cross-validation."""
    holdout = holdout or Holdout()
    if dataset.dated:
        split, cutoff = time_split(dataset, holdout)
        if len(split.test) >= MIN_TEST_DEALS and len(split.train) >= MIN_TRAIN_DEALS:
            first = dataset.examples[split.test[0]].deal.closed
            last = dataset.examples[split.test[-1]].deal.closed
            text = (
                f"time holdout: trained on {len(split.train)} deals closed before {cutoff}, "
                f"tested on the {len(split.test)} closed {first} to {last} ({holdout})"
            )
            return SplitPlan("time", (split,), text, cutoff)
        reason = "too few deals on one side of the time cut-off"
    else:
        reason = "the deals have no close dates, so no time holdout is possible"
    splits = cross_validation(dataset, seed=seed)
    text = f"{len(splits)}-fold cross-validation grouped by account ({reason})"
    log.info(text)
    return SplitPlan("cv", splits, text)


def time_split(dataset: Dataset, holdout: Holdout) -> tuple[Split, date]:
    """Train on deals closed before the cut-off day, test on those closed on or after it."""
    closed = [e.deal.closed for e in dataset.examples]
    days = [d for d in closed if d is not None]
    if not days:
        return Split((), ()), date.min
    if holdout.days is not None:
        cutoff = max(days) - timedelta(days=holdout.days - 1)
    else:
        share = holdout.share if holdout.share is not None else DEFAULT_SHARE
        ordered = sorted(days)
        cutoff = ordered[min(len(ordered) - 1, int(len(ordered) * (1 - share)))]
    train = tuple(i for i, d in enumerate(closed) if d is not None and d < cutoff)
    test = tuple(i for i, d in enumerate(closed) if d is not None and d >= cutoff)
    return Split(train, test), cutoff


def cross_validation(dataset: Dataset, *, seed: int = 0) -> tuple[Split, ...]:
    """Stratified folds that keep each account's deals together."""
    y = np.array([e.deal.won for e in dataset.examples], dtype=int)
    groups = np.array([e.account.id for e in dataset.examples])
    n_groups = len(set(groups.tolist()))
    minority = int(min(y.sum(), len(y) - y.sum()))
    folds = min(FOLDS, n_groups, minority)
    if folds < 2:
        return ()
    from sklearn.model_selection import StratifiedGroupKFold  # slow import: only when used

    splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    return tuple(
        Split(tuple(int(i) for i in tr), tuple(int(i) for i in te))
        for tr, te in splitter.split(np.zeros(len(y)), y, groups)
    )
