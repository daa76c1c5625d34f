"""Why a model predicts what it does: per-word attributions (occlusion, integrated gradients) and rationale
spans scored against human selections."""

from senti.explain.attribution import METHODS, Explanation, WordScore, attribute, explain, word_spans

__all__ = ["METHODS", "Explanation", "WordScore", "attribute", "explain", "word_spans"]
