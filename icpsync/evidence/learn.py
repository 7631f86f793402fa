"""Learn a points profile from closed deals, and validate the procedure out of sample.

``validate`` repeats the whole procedure (binning, fit, points, tiers) on each training
set and scores the deals held out with the resulting profile through the real scorer,
next to the unrounded model and the gradient-boosted reference on the same split.
``learn_profile`` then learns the profile to write from every closed deal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from icpsync.core.profile import Profile
from icpsync.evidence.binning import learn_features
from icpsync.evidence.dataset import (
    CATEGORICAL_FIELDS,
    ITEM_FIELDS,
    NUMERIC_FIELDS,
    SIGNAL_PREFIX,
    Dataset,
    Example,
)
from icpsync.evidence.evaluate import ScoredDeal, score_examples
from icpsync.evidence.fit import FittedModel, Objective, fit_model
from icpsync.evidence.holdout import SplitPlan
from icpsync.evidence.metrics import Interval, auc_interval
from icpsync.evidence.points import PointsProfile, to_points
from icpsync.evidence.profile_writer import profile_from_text, render_profile
from icpsync.evidence.reference import fit_predict_reference
from icpsync.evidence.tiers import LIFT_POLICY, TierPolicy


@dataclass(frozen=True)
class LearnedProfile:
    """A learned profile: its points, the model behind them, and its TOML text."""

    points: PointsProfile
    model: FittedModel
    profile: Profile
    text: str


def candidate_fields(dataset: Dataset, ignore: Sequence[str] = ()) -> list[str]:
    """Fields to learn from: account traits, the prior sales cycle and every signal, minus
    ``ignore`` (names with or without the ``signals.`` prefix)."""
    skip = set(ignore) | {SIGNAL_PREFIX + name for name in ignore}
    fields = [
        *NUMERIC_FIELDS,
        *CATEGORICAL_FIELDS,
        *ITEM_FIELDS,
        *(SIGNAL_PREFIX + s for s in dataset.signal_names()),
    ]
    return [f for f in fields if f not in skip]


def learn_profile(
    examples: Sequence[Example],
    fields: Sequence[str],
    *,
    book: Sequence[Example] = (),
    policy: TierPolicy = LIFT_POLICY,
    objective: Objective = "wins",
    name: str = "Learned ICP profile",
    description: str = "",
    header: Sequence[str] = (),
    seed: int = 0,
) -> LearnedProfile:
    """Bin, fit and convert to points on ``examples``; set the tiers by ``policy`` against
    ``book`` (every account); render and parse the profile."""
    features = learn_features(examples, fields)
    model = fit_model(examples, features, seed=seed, objective=objective)
    points = to_points(model, examples, book=book, policy=policy)
    text = render_profile(points, name=name, description=description, header=header)
    return LearnedProfile(points, model, profile_from_text(text), text)


@dataclass(frozen=True)
class Validation:
    """Held-out deals scored by profiles learned without them, with the two yardsticks."""

    plan: SplitPlan
    scored: tuple[ScoredDeal, ...]
    model_probs: np.ndarray
    reference_probs: np.ndarray
    book_tiers: Counter[str] = field(default_factory=Counter)

    def aucs(self, *, seed: int = 0) -> dict[str, Interval]:
        """AUC with interval of the points profile, the unrounded model and the trees."""
        won = [s.won for s in self.scored]
        groups = [s.example.account.id for s in self.scored]
        return {
            "points_profile": auc_interval([s.score for s in self.scored], won, groups, seed=seed),
            "logistic_model": auc_interval(self.model_probs, won, groups, seed=seed),
            "reference_trees": auc_interval(self.reference_probs, won, groups, seed=seed),
        }

    def comparison(self, *, seed: int = 0) -> dict[str, Any]:
        """The AUCs side by side and what explainability costs (trees minus points)."""
        aucs = self.aucs(seed=seed)
        return {
            "method": self.plan.method,
            "description": self.plan.description,
            "deals": len(self.scored),
            **{k: v.to_dict() for k, v in aucs.items()},
            "explainability_cost": round(
                aucs["reference_trees"].value - aucs["points_profile"].value, 4
            ),
        }


def validate(
    dataset: Dataset,
    plan: SplitPlan,
    fields: Sequence[str],
    *,
    now: datetime,
    seed: int = 0,
    policy: TierPolicy = LIFT_POLICY,
    objective: Objective = "wins",
) -> Validation:
    """Run the learning procedure on each training set of ``plan`` and score its test set.

    The tiers of each training profile are set against the whole book as it stood at the
    cut-off (aggregates from deals closed before it); ``book_tiers`` counts the book's
    accounts per tier under the profiles learned (summed over the splits).
    """
    scored: list[ScoredDeal] = []
    model_probs: list[np.ndarray] = []
    reference_probs: list[np.ndarray] = []
    book_tiers: Counter[str] = Counter()
    for split in plan.splits:
        train, test = dataset.subset(split.train), dataset.subset(split.test)
        book = dataset.book(before=plan.cutoff)
        learned = learn_profile(
            train, fields, book=book, policy=policy, objective=objective, seed=seed
        )
        scored.extend(score_examples(learned.profile, test, now=now))
        book_tiers.update(s.tier for s in score_examples(learned.profile, book, now=now))
        model_probs.append(learned.model.predict(test))
        reference_probs.append(
            fit_predict_reference(train, test, learned.model.features, seed=seed)
        )
    return Validation(
        plan,
        tuple(scored),
        np.concatenate(model_probs) if model_probs else np.zeros(0),
        np.concatenate(reference_probs) if reference_probs else np.zeros(0),
        book_tiers,
    )
