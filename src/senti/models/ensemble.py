"""Stacking: a logistic regression over the log-probabilities of several trained senti models.

An RNN and an NB-SVM make different mistakes (the RNN reads order and negation, the n-gram model
remembers rare decisive phrases), so their combination beats both (Mesnil et al. 2015 did the same with
NB-SVM, paragraph vectors and an RNN language model). The stacker is fitted on the validation split, which
none of the members trained on, so it learns how far to trust each member on unseen text.

A member is anything with ``predict_proba(texts, batch_size)`` (a scorer, or a trained model while stacking)
whose columns are ordered like the ensemble's labels; the bundle stores each member as a complete senti bundle
of its own under ``members/NAME/`` and the stacker's coefficients in ``model.safetensors``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from senti.models.linear import sigmoid

EPS = 1e-6
REFIT = ("linear", "none")


class Member(Protocol):
    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray: ...


@dataclass
class EnsembleConfig:
    members: list[str] = field(default_factory=lambda: ["bigru", "nbsvm3"])
    C: float = 1.0  # inverse regularisation of the stacker
    # Once the stacker is fitted, members of these kinds train again on train + validation for the bundle:
    # "linear" (the n-gram models, seconds) or "none". The stacker keeps the weights it learned from the
    # members trained without validation, as scikit-learn's StackingClassifier does with its refitted estimators.
    refit: str = "linear"
    num_classes: int = 2
    vocab_size: int = 0  # an ensemble has no vocabulary of its own; kept for the common manifest
    # Options of the neural members' networks (e.g. hidden_size): `senti train --hidden-size 64` reshapes the
    # network of a stack as it does a network's (senti.training.resolve puts them here).
    network: dict[str, Any] = field(default_factory=dict)
    # On a small corpus a network trains in seconds and differs most from one seed to the next, so averaging
    # two pays: when the training texts hold at most ``seeds_max_words`` words, each neural member trains
    # ``seeds`` times (seed, seed + 1, ...: members PRESET, PRESET@1, ...), and the stacker weighs them all.
    # The run's config records the members it trained.
    seeds: int = 1
    seeds_max_words: int = 0

    def __post_init__(self) -> None:
        if self.refit not in REFIT:
            raise ValueError(f"refit must be one of {REFIT}, got {self.refit!r}")
        if self.seeds < 1 or self.seeds_max_words < 0:
            raise ValueError(f"seeds must be at least 1 and seeds_max_words at least 0, got {self.seeds} and "
                             f"{self.seeds_max_words}")


class EnsembleClassifier:
    """Combine members' class probabilities with a logistic regression on their log-probabilities."""

    def __init__(self, config: EnsembleConfig):
        self.config = config
        self.members: dict[str, Member] = {}
        self.coef_: np.ndarray | None = None  # (K', M·K)
        self.intercept_: np.ndarray | None = None  # (K',)

    def features(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        missing = [m for m in self.config.members if m not in self.members]
        if missing:
            raise ValueError(f"ensemble members {missing} are not loaded")
        return self.features_of([self.members[m].predict_proba(texts, batch_size) for m in self.config.members])

    @staticmethod
    def features_of(probas: Sequence[np.ndarray]) -> np.ndarray:
        """The stacker's features from each member's probabilities, in member order: (N, M·K) log-probabilities."""
        return np.hstack([np.log(np.clip(p, EPS, 1.0)) for p in probas]).astype(np.float32)

    def fit(self, texts: Sequence[str], y: np.ndarray) -> EnsembleClassifier:
        """Fit the stacker on texts none of the members trained on."""
        return self.fit_features(self.features(texts), y)

    def fit_features(self, features: np.ndarray, y: np.ndarray) -> EnsembleClassifier:
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=self.config.C, max_iter=1000).fit(features, y)
        self.coef_, self.intercept_ = lr.coef_.astype(np.float32), lr.intercept_.astype(np.float32)
        return self

    def member_weights(self) -> dict[str, float]:
        """How much each member moves the decision: the norm of its block of stacker coefficients."""
        k = self.coef_.shape[1] // len(self.config.members)
        return {m: float(np.linalg.norm(self.coef_[:, i * k:(i + 1) * k])) for i, m in enumerate(self.config.members)}

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        return self.combine(self.features(texts, batch_size))

    def combine(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities from the members' log-probabilities (:meth:`features`)."""
        scores = features @ self.coef_.T + self.intercept_
        if scores.shape[1] == 1:
            p1 = sigmoid(scores[:, 0])
            return np.column_stack([1 - p1, p1]).astype(np.float32)
        scores -= scores.max(1, keepdims=True)
        e = np.exp(scores)
        return (e / e.sum(1, keepdims=True)).astype(np.float32)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"coef": self.coef_.copy(), "intercept": self.intercept_.copy()}

    def load_state_dict(self, state: dict[str, np.ndarray], members: dict[str, Member]) -> None:
        if set(state) != {"coef", "intercept"}:
            raise ValueError(f"expected weights ['coef', 'intercept'], found {sorted(state)}")
        coef = np.asarray(state["coef"])  # tensors too
        width = len(members) * self.config.num_classes  # every member scores the ensemble's classes
        if coef.ndim != 2 or coef.shape[1] != width or set(members) != set(self.config.members):
            raise ValueError(f"stacker weights {tuple(coef.shape)} do not fit members {sorted(members)}")
        self.members = dict(members)
        self.coef_, self.intercept_ = coef, np.asarray(state["intercept"])
