"""Scorers: raw texts → class probabilities, one interface (:class:`TextScorer`) for every kind of model."""

from senti.scoring.base import CORE_KEYS, RUNTIMES, Classifier, TextScorer
from senti.scoring.ensemble import EnsembleScorer
from senti.scoring.load import read_scorer, scorer_for
from senti.scoring.neural import NeuralScorer
from senti.scoring.ngram import NgramScorer

__all__ = ["CORE_KEYS", "RUNTIMES", "Classifier", "EnsembleScorer", "NeuralScorer", "NgramScorer", "TextScorer",
           "read_scorer", "scorer_for"]
