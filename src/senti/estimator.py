"""``SentimentClassifier``: senti behind the scikit-learn estimator contract, for ``Pipeline``,
``cross_val_score`` and ``GridSearchCV``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from senti.data.labels import canonical_label
from senti.pipeline import SentimentModel


class SentimentClassifier(ClassifierMixin, BaseEstimator):
    """Train a senti model on in-memory texts.

    Parameters mirror ``senti train`` options; ``None`` keeps the preset's value.

    >>> clf = SentimentClassifier(model="gru", epochs=3).fit(texts, labels)   # doctest: +SKIP
    >>> clf.predict(["great film"])                                          # doctest: +SKIP
    """

    def __init__(self, model: str = "default", epochs: int | None = None, lr: float | None = None,
                 batch_size: int | None = None, max_length: int | None = None, embedding_dim: int | None = None,
                 hidden_size: int | None = None, min_count: int | None = None, valid_fraction: float = 0.1,
                 seed: int = 0, verbose: bool = False):
        self.model = model
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.max_length = max_length
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.min_count = min_count
        self.valid_fraction = valid_fraction
        self.seed = seed
        self.verbose = verbose

    def fit(self, X: Sequence[str], y: Sequence) -> SentimentClassifier:
        from senti.training.run import train

        X, y = list(X), list(y)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} texts but y has {len(y)} labels")
        frame = pd.DataFrame({"text": X, "label": y})
        params = {k: v for k, v in self.get_params().items() if k not in ("model", "verbose")}
        run = train(None, train=frame, model=self.model, progress=self.verbose, **params)
        self.model_: SentimentModel = run.model
        self.history_ = run.history
        # Answer in the caller's labels (ints stay ints, 0.0 stays 0.0, like scikit-learn's classes_), ordered like
        # predict_proba's columns; senti spells each label as canonical_label does while training.
        first: dict[str, object] = {}
        for v in y:
            first.setdefault(canonical_label(v), v)
        self.classes_ = np.asarray([first[c] for c in run.model.labels])
        return self

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        return self.model_.predict_proba(list(X))

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
