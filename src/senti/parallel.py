"""Scoring on several processes. The text pipeline (clean → tokens → ids) is pure Python and holds the GIL,
so a second core only helps from a second process; each worker runs the whole prediction path on its share.

Workers are fresh interpreters (``spawn``) that load the model's bundle themselves with the same runtime:
forking a process whose ONNX Runtime or OpenMP threads exist left the children deadlocked here. They start in
a few seconds and are kept for the model's lifetime, so a stream of chunks pays that once. Each worker scores
with one thread: the cores are shared out between processes, not oversubscribed.
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from senti.errors import ConfigError
from senti.runtime.cpu import configure_cpu
from senti.scoring import RUNTIMES, TextScorer, read_scorer

# Texts per task: large enough that pickling and scheduling cost nothing next to scoring, small enough that
# both workers stay busy to the end of an input.
CHUNK = 2_000

_worker_scorer: TextScorer | None = None


def resolve_n_process(n_process: int) -> int:
    if n_process == -1:
        return os.cpu_count() or 1
    if n_process < 1:
        raise ConfigError(f"n_process must be ≥ 1, or -1 for every core; got {n_process}")
    return n_process


def _init_worker(source: str, runtime: str) -> None:
    global _worker_scorer
    configure_cpu(1)
    _worker_scorer = read_scorer(source, runtime, threads=1)[0]


def _score(texts: list[str], batch_size: int | None) -> np.ndarray:
    assert _worker_scorer is not None
    return _worker_scorer.predict_proba(texts, batch_size)


class WorkerPool:
    """``n`` worker processes that score lists of texts with the bundle at ``source``, with ``runtime``
    (the runtime the parent uses; ``auto`` for kinds that have no choice)."""

    def __init__(self, source: Path | None, runtime: str, n: int):
        if source is None:
            raise ValueError("scoring on several processes needs a saved model: save it, or load it with senti.load")
        self.n = n
        runtime = runtime if runtime in RUNTIMES else "auto"
        self.executor = ProcessPoolExecutor(n, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                                            initargs=(str(source), runtime))
        atexit.register(self.close)

    def predict_proba(self, texts: Sequence[str], batch_size: int | None) -> np.ndarray:
        chunks = [list(texts[i:i + CHUNK]) for i in range(0, len(texts), CHUNK)]
        return np.concatenate(list(self.executor.map(_score, chunks, [batch_size] * len(chunks))))

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
