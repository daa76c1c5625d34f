"""senti: sentiment analysis of reviews and social posts with recurrent neural networks.

    >>> import senti
    >>> run = senti.train("runs/imdb", dataset="imdb")          # doctest: +SKIP
    >>> model = senti.load("runs/imdb")                        # doctest: +SKIP
    >>> model.predict(["A wonderful, moving film."])           # doctest: +SKIP
    array(['positive'], dtype=object)

The names below are imported on first use (PEP 562), so ``import senti`` and the ``senti`` command load torch and
scikit-learn only when a model, a trainer or a dataset is actually used.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name → (module, attribute in it)
_LAZY: dict[str, tuple[str, str]] = {
    "BundleError": ("senti.errors", "BundleError"),
    "ConfigError": ("senti.errors", "ConfigError"),
    "DataError": ("senti.errors", "DataError"),
    "SentiError": ("senti.errors", "SentiError"),
    "TrainingError": ("senti.errors", "TrainingError"),
    "TrainingInterrupted": ("senti.errors", "TrainingInterrupted"),
    "CleanConfig": ("senti.config", "CleanConfig"),
    "DataConfig": ("senti.config", "DataConfig"),
    "RunConfig": ("senti.config", "RunConfig"),
    "TrainConfig": ("senti.config", "TrainConfig"),
    "VocabConfig": ("senti.config", "VocabConfig"),
    "DATASETS": ("senti.data.datasets", "DATASETS"),
    "load_dataset": ("senti.data.datasets", "load_dataset"),
    "read_texts": ("senti.data.readers", "read_texts"),
    "SentimentClassifier": ("senti.estimator", "SentimentClassifier"),
    "Explanation": ("senti.explain", "Explanation"),
    "PRESETS": ("senti.models.registry", "PRESETS"),
    "SentimentModel": ("senti.pipeline", "SentimentModel"),
    "read_vectors": ("senti.text.vectors", "read_vectors"),
    "run_suite": ("senti.evaluation.behaviour", "run_suite"),
    "PretrainConfig": ("senti.training.lm", "PretrainConfig"),
    "pretrain": ("senti.training.lm", "pretrain_encoder"),
    "Run": ("senti.training.run", "Run"),
    "resume": ("senti.training.run", "resume"),
    "train": ("senti.training.run", "train"),
    "pretrain_embeddings": ("senti.training.word2vec", "pretrain_embeddings"),
}

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ imports on first use
    from senti.config import CleanConfig, DataConfig, RunConfig, TrainConfig, VocabConfig
    from senti.data.datasets import DATASETS, load_dataset
    from senti.data.readers import read_texts
    from senti.errors import BundleError, ConfigError, DataError, SentiError, TrainingError, TrainingInterrupted
    from senti.estimator import SentimentClassifier
    from senti.evaluation.behaviour import run_suite
    from senti.explain import Explanation
    from senti.models.registry import PRESETS
    from senti.pipeline import SentimentModel
    from senti.text.vectors import read_vectors
    from senti.training.lm import PretrainConfig
    from senti.training.lm import pretrain_encoder as pretrain
    from senti.training.run import Run, resume, train
    from senti.training.word2vec import pretrain_embeddings


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'senti' has no attribute {name!r}")
    module, attr = _LAZY[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def load(path: str | Path, runtime: str = "auto", threads: int | None = None) -> SentimentModel:
    """Load a trained model from a run directory or a bundle folder (no pickle, checksums verified).

    ``runtime``: ``auto`` scores a minGRU from its folded per-word tables, any other network with the fastest
    verified ONNX export (``senti export``) if there is one, else PyTorch; ``torch``, ``onnx``, ``onnx-int8``
    or ``folded`` insist on one."""
    if not Path(path).exists():  # before the bundle reader, which would call it "not a senti model"
        from senti.errors import BundleError

        raise BundleError(f"{path}: does not exist; pass a run directory or its model/ folder")
    from senti.pipeline import SentimentModel

    return SentimentModel.load(path, runtime, threads)


__all__ = [
    "DATASETS",
    "PRESETS",
    "BundleError",
    "CleanConfig",
    "ConfigError",
    "DataConfig",
    "DataError",
    "Explanation",
    "PretrainConfig",
    "Run",
    "RunConfig",
    "SentiError",
    "SentimentClassifier",
    "SentimentModel",
    "TrainConfig",
    "TrainingError",
    "TrainingInterrupted",
    "VocabConfig",
    "__version__",
    "load",
    "load_dataset",
    "pretrain",
    "pretrain_embeddings",
    "read_texts",
    "read_vectors",
    "resume",
    "run_suite",
    "train",
]
