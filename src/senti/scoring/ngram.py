"""The n-gram scorer: cleaner → tokens → a linear model (TF-IDF + logistic regression, NB-SVM) or the random
forest over their n-gram features, computed with NumPy."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from senti.bundle import save_bundle
from senti.config import CleanConfig, VocabConfig
from senti.errors import BundleError
from senti.models.linear import LinearTextClassifier
from senti.scoring.base import ScorerBase


class NgramScorer(ScorerBase):
    net: LinearTextClassifier

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        if not len(texts):
            return self.empty()
        return self.predict_proba_cleaned([self.cleaner.for_tokenizer(t) for t in texts], batch_size)

    def predict_proba_cleaned(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Probabilities of texts this scorer's cleaner has prepared (``Cleaner.for_tokenizer``)."""
        return self.net.predict_proba_texts(texts)

    def word_scores(self, n_words: int) -> tuple[list[str], np.ndarray]:
        return self.net.word_weights()

    def save(self, directory: str | Path, manifest_extra: dict[str, Any]) -> Path:
        return save_bundle(directory, self.manifest(manifest_extra), self.net.vocabulary_, self.net.state_dict())

    @classmethod
    def from_bundle(cls, directory: Path, manifest: dict[str, Any], net: LinearTextClassifier, vocab: list[str],
                    weights: dict[str, np.ndarray], clean: CleanConfig, vocab_config: VocabConfig,
                    runtime: str, threads: int | None, read_scorer: Any) -> NgramScorer:
        try:
            net.load_state_dict(weights, vocab)
        except (RuntimeError, ValueError) as e:
            raise BundleError(f"{directory}: weights do not match the recorded architecture: {e}") from e
        scorer = cls(net, clean, vocab_config, manifest["model"])
        scorer.use_runtime(runtime, directory, threads)  # only checks: n-gram models compute with NumPy
        return scorer
