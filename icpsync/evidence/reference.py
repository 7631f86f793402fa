"""The non-explainable yardstick: gradient-boosted trees on the same traits.

Numeric traits go in as numbers (missing as NaN), categorical traits as the value groups
the profile uses, tech-stack items as 0/1. Its holdout AUC next to the points profile's
shows what explainability costs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from icpsync.evidence.binning import Feature, as_number, as_text
from icpsync.evidence.dataset import Example


def encode(
    examples: Sequence[Example], features: Sequence[Feature]
) -> tuple[np.ndarray, list[bool]]:
    """A numeric matrix of the traits behind ``features`` and which columns are categorical."""
    columns: list[list[float]] = []
    categorical: list[bool] = []
    for feature in features:
        values = [e.value(feature.field) for e in examples]
        if feature.kind == "numeric":
            columns.append([np.nan if (n := as_number(v)) is None else n for v in values])
            categorical.append(False)
        elif feature.kind == "items":
            for b in feature.bins:
                columns.append([1.0 if b.matches(v) else 0.0 for v in values])
                categorical.append(False)
        else:
            codes = {
                v: float(i)
                for i, v in enumerate(
                    x for b in feature.bins if b.kind == "values" for x in b.values
                )
            }
            other = float(len(codes))
            columns.append(
                [np.nan if (t := as_text(v)) is None else codes.get(t, other) for v in values]
            )
            categorical.append(True)
    if not columns:
        return np.zeros((len(examples), 0)), []
    return np.array(columns, dtype=float).T, categorical


def fit_predict_reference(
    train: Sequence[Example], test: Sequence[Example], features: Sequence[Feature], *, seed: int = 0
) -> np.ndarray:
    """Win probabilities for ``test`` from trees fitted on ``train``."""
    y = np.array([e.deal.won for e in train], dtype=int)
    x_train, categorical = encode(train, features)
    x_test, _ = encode(test, features)
    if x_train.shape[1] == 0 or y.min() == y.max():
        return np.full(len(test), float(y.mean()) if len(y) else 0.5)
    model = HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=200,
        max_leaf_nodes=15,
        min_samples_leaf=20,
        l2_regularization=1.0,
        categorical_features=np.array(categorical),
        early_stopping=len(train) >= 1000,
        random_state=seed,
    )
    # One thread: the data is small, and OpenMP threads spin badly on a busy machine.
    with threadpool_limits(limits=1, user_api="openmp"):
        model.fit(x_train, y)
        result: np.ndarray = model.predict_proba(x_test)[:, 1]
    return result
