"""senti: sentiment analysis of reviews and social posts with recurrent neural networks.

    >>> import senti
    >>> run = senti.train("runs/imdb", dataset="imdb")          # doctest: +SKIP
    >>> model = senti.load("runs/imdb")                        # doctest: +SKIP
    >>> model.predict(["A wonderful, moving film."])           # doctest: +SKIP
    array(['positive'], dtype=object)
"""

from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"

from senti.bundle import BundleError
from senti.config import CleanConfig, DataConfig, RunConfig, TrainConfig, VocabConfig
from senti.data.datasets import DATASETS, load_dataset
from senti.data.readers import DataError, read_texts
from senti.estimator import SentimentClassifier
from senti.explain import Explanation
from senti.models.registry import PRESETS
from senti.pipeline import SentimentModel
from senti.text.vectors import read_vectors
from senti.training.lm import PretrainConfig
from senti.training.lm import pretrain_encoder as pretrain
from senti.training.run import Run, resume, train
from senti.training.trainer import TrainingError, TrainingInterrupted
from senti.training.word2vec import pretrain_embeddings


def load(path: str | Path, runtime: str = "auto", threads: int | None = None) -> SentimentModel:
    """Load a trained model from a run directory or a bundle folder (no pickle, checksums verified).

    ``runtime``: ``auto`` scores a minGRU from its folded per-word tables, any other network with the fastest
    verified ONNX export (``senti export``) if there is one, else PyTorch; ``torch``, ``onnx``, ``onnx-int8``
    or ``folded`` insist on one."""
    return SentimentModel.load(path, runtime, threads)


__all__ = [
    "DATASETS",
    "PRESETS",
    "BundleError",
    "CleanConfig",
    "DataConfig",
    "DataError",
    "Explanation",
    "PretrainConfig",
    "Run",
    "RunConfig",
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
    "train",
]
