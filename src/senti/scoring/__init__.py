"""Scorers: raw texts → class probabilities, one interface (:class:`TextScorer`) for every kind of model.

The scorer classes are imported on first use (PEP 562): loading an n-gram model never imports the neural
scorer, and with it torch."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from senti.scoring.base import CORE_KEYS, RUNTIMES, Classifier, TextScorer
from senti.scoring.load import read_scorer, scorer_for

_LAZY = {"EnsembleScorer": "senti.scoring.ensemble", "NeuralScorer": "senti.scoring.neural",
         "NgramScorer": "senti.scoring.ngram"}

if TYPE_CHECKING:
    from senti.scoring.ensemble import EnsembleScorer
    from senti.scoring.neural import NeuralScorer
    from senti.scoring.ngram import NgramScorer


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'senti.scoring' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = ["CORE_KEYS", "RUNTIMES", "Classifier", "EnsembleScorer", "NeuralScorer", "NgramScorer", "TextScorer",
           "read_scorer", "scorer_for"]
