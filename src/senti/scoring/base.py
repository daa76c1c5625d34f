"""The one interface every kind of model answers: texts in, class probabilities out.

A scorer holds the whole path from raw text to probabilities for one kind of model: its cleaning, its features
(a vocabulary and a network, an n-gram vocabulary, or other scorers) and how it computes (a runtime). It knows
nothing of label names: its columns are ordered like the labels of the model that holds it
(:class:`senti.pipeline.SentimentModel`), which it is saved with.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from senti.config import CleanConfig, VocabConfig
from senti.text import Cleaner, Vocabulary

# Manifest keys a scorer reads itself; every other key is the model's metadata (training, metrics, exports…).
CORE_KEYS = frozenset(("labels", "clean", "vocab", "model", "files", "format", "format_version"))
RUNTIMES = ("auto", "torch", "onnx", "onnx-int8", "folded")


class TextScorer(Protocol):
    """Class probabilities for raw texts, and what it takes to save and explain them."""

    runtime: str  # how it computes: torch, onnx, onnx-int8, folded, numpy or ensemble
    net: Any  # the fitted model underneath: a network, an n-gram classifier, or the stacker
    vocab: Vocabulary | None  # the network's vocabulary; None for models that do not use ids
    clean_config: CleanConfig
    vocab_config: VocabConfig
    model_config: dict[str, Any]
    cleaner: Cleaner

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """(N, C) probabilities, input order kept; ``texts`` are already checked to be ``str``."""

    def tokens(self, text: str) -> list[str]:
        """The tokens the model reads for ``text``."""

    def word_scores(self, n_words: int) -> tuple[list[str], np.ndarray]:
        """Frequent words and a score per class for each (n, C): log-odds of the word read alone, or the
        model's own weights."""

    def use_runtime(self, runtime: str, directory: str | Path, threads: int | None = None) -> None:
        """Compute with ``runtime`` (an export found in ``directory`` or a form built from the weights)."""

    def save(self, directory: str | Path, manifest_extra: dict[str, Any]) -> Path:
        """Write a bundle: this scorer's files and configs, plus ``manifest_extra`` (labels, metadata)."""


class Classifier(Protocol):
    """What explanations need of a model: its labels, its scorer and its probabilities."""

    scorer: TextScorer

    @property
    def labels(self) -> list[str]: ...

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray: ...


class ScorerBase:
    """What every scorer shares: the configs it records and the cleaning of raw text."""

    runtime = "numpy"
    vocab: Vocabulary | None = None

    def __init__(self, net: Any, clean: CleanConfig, vocab_config: VocabConfig, model_config: dict[str, Any]):
        self.net = net
        self.clean_config = clean
        self.vocab_config = vocab_config
        self.model_config = model_config
        self.cleaner = Cleaner(clean)

    @classmethod
    def from_trained(cls, net: Any, vocab: Vocabulary | None, clean: CleanConfig, vocab_config: VocabConfig,
                     model_config: dict[str, Any]) -> ScorerBase:
        """The scorer of a model training has just fitted."""
        return cls(net, clean, vocab_config, model_config)

    @property
    def num_classes(self) -> int:
        return int(self.net.config.num_classes)

    def tokens(self, text: str) -> list[str]:
        return self.cleaner.tokens(text)

    def use_runtime(self, runtime: str, directory: str | Path, threads: int | None = None) -> None:
        from senti.errors import BundleError

        if runtime not in ("auto", "torch"):
            raise BundleError(f"{directory}: a {self.model_config.get('architecture')} model has no {runtime} "
                              "export")

    def manifest(self, extra: dict[str, Any]) -> dict[str, Any]:
        """The bundle manifest: labels first, then the configs, then the rest of ``extra``."""
        head = {"labels": extra["labels"]} if "labels" in extra else {}
        return {**head, "clean": dataclasses.asdict(self.clean_config), "vocab": dataclasses.asdict(self.vocab_config),
                "model": self.model_config, **{k: v for k, v in extra.items() if k != "labels"}}

    def empty(self) -> np.ndarray:
        return np.empty((0, self.num_classes), dtype=np.float32)


def log_odds(proba: np.ndarray) -> np.ndarray:
    """Per-class log-odds; a single strong word saturates P at ~1.0, which ranks nothing, its log-odds do."""
    proba = np.clip(proba.astype(np.float64), 1e-12, 1 - 1e-12)
    return np.log(proba) - np.log1p(-proba)
