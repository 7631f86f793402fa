"""Fit won vs lost on binned traits: an L2-regularised logistic regression.

Every bin is a 0/1 column; the penalty strength is chosen by cross-validated log loss on
the training deals alone, so a small or noisy sample gets coefficients shrunk towards zero
(and, once turned into points, fewer criteria) instead of an over-fitted profile.

With the ``revenue`` objective each won deal weighs its amount over the mean won amount
(lost deals weigh 1): the weighted odds are the win odds times the relative deal size, so
the fitted log-odds rank accounts by expected won value (win probability x deal size)
wherever win rates are well under 1.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

from icpsync.evidence.binning import Feature, design_matrix
from icpsync.evidence.dataset import Example

Objective = Literal["wins", "revenue"]
OBJECTIVES: tuple[Objective, ...] = ("wins", "revenue")

log = logging.getLogger(__name__)

C_GRID = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
FOLDS = 5


@dataclass(frozen=True)
class FittedModel:
    """Coefficients per bin of each feature (same order as ``features``)."""

    features: tuple[Feature, ...]
    coefficients: tuple[tuple[float, ...], ...]
    intercept: float
    c: float

    def predict(self, examples: Sequence[Example]) -> np.ndarray:
        """Win probability of each deal under the (unrounded) model."""
        x = design_matrix(examples, self.features)
        beta = np.array([c for coefs in self.coefficients for c in coefs])
        logit = self.intercept + (x @ beta if len(beta) else 0.0)
        result: np.ndarray = 1.0 / (1.0 + np.exp(-logit))
        return result


def deal_weights(examples: Sequence[Example], objective: Objective) -> np.ndarray:
    """1 per deal for ``wins``; for ``revenue`` a won deal's amount over the mean won amount
    (a won deal without an amount weighs 1)."""
    weights = np.ones(len(examples))
    if objective == "revenue":
        amounts = [e.deal.amount for e in examples if e.deal.won and e.deal.amount]
        mean = float(np.mean(amounts)) if amounts else 0.0
        if mean > 0:
            for i, e in enumerate(examples):
                if e.deal.won and e.deal.amount and e.deal.amount > 0:
                    weights[i] = e.deal.amount / mean
    return weights


def fit_model(
    examples: Sequence[Example],
    features: Sequence[Feature],
    *,
    seed: int = 0,
    objective: Objective = "wins",
) -> FittedModel:
    """Fit the regularised model on ``examples`` over the bins of ``features``."""
    y = np.array([e.deal.won for e in examples], dtype=int)
    w = deal_weights(examples, objective)
    x = design_matrix(examples, features)
    if x.shape[1] == 0 or y.min() == y.max():
        rate = float(np.clip(y.mean() if len(y) else 0.5, 1e-6, 1 - 1e-6))
        empty = tuple(tuple(0.0 for _ in f.bins) for f in features)
        return FittedModel(tuple(features), empty, float(np.log(rate / (1 - rate))), 0.0)
    c = choose_c(x, y, seed=seed, weights=w)
    model = LogisticRegression(C=c, max_iter=5000).fit(x, y, sample_weight=w)
    flat = [float(v) for v in model.coef_[0]]
    coefficients, start = [], 0
    for feature in features:
        coefficients.append(tuple(flat[start : start + len(feature.bins)]))
        start += len(feature.bins)
    log.debug("fitted %d bins, C=%s", len(flat), c)
    return FittedModel(tuple(features), tuple(coefficients), float(model.intercept_[0]), c)


def choose_c(
    x: np.ndarray, y: np.ndarray, *, seed: int = 0, weights: np.ndarray | None = None
) -> float:
    """The inverse penalty with the lowest cross-validated (weighted) log loss (ties: the
    stronger penalty)."""
    w = np.ones(len(y)) if weights is None else weights
    folds = min(FOLDS, int(np.bincount(y).min()))
    if folds < 2:
        return C_GRID[0]
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    splits = list(splitter.split(x, y))
    best_c, best_loss = C_GRID[0], np.inf
    for c in C_GRID:
        losses = []
        for train, test in splits:
            model = LogisticRegression(C=c, max_iter=5000)
            model.fit(x[train], y[train], sample_weight=w[train])
            probs = model.predict_proba(x[test])[:, 1]
            losses.append(log_loss(y[test], probs, labels=[0, 1], sample_weight=w[test]))
        loss = float(np.mean(losses))
        if loss < best_loss - 1e-6:
            best_c, best_loss = c, loss
    return best_c
