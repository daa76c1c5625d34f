"""The executor's side: a model loaded once per Python worker, and batches of texts scored with it.

Spark keeps its Python workers between tasks (``spark.python.worker.reuse``, on by default), so a model cached
in this module's dict serves every task and every Arrow batch the worker gets after the first. What a UDF's
closure carries is a :class:`ModelSpec`: the name of the bundle among the job's files (``SparkContext.addFile``)
and the checksum the driver verified, a few dozen bytes, never the model itself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from senti.bundle import MANIFEST
from senti.errors import BundleError, DataError
from senti.io import sha256_file
from senti.predict_io import _with_text
from senti.scoring.records import prediction_columns

if TYPE_CHECKING:
    from senti.pipeline import SentimentModel


@dataclass(frozen=True)
class ModelSpec:
    """What an executor needs to find, check and run the shipped model."""

    name: str  # the bundle folder's name among the job's files (SparkFiles.get)
    checksum: str  # sha256 of its manifest file as the driver verified it (the manifest holds every file's)
    runtime: str = "auto"
    batch_size: int | None = None
    labels: tuple[str, ...] = ()
    source: str = ""  # the input's name, for messages
    strict_utf8: bool = False  # Spark read the input with undecodable bytes replaced by U+FFFD: refuse those rows
    counter: Any = None  # a Spark accumulator of the rows scored (the file engine's), or None


# One model per (bundle, runtime, threads) in this Python worker; the number of loads (tests read it).
_MODELS: dict[tuple[str, str, int], SentimentModel] = {}
LOADS: dict[tuple[str, str, int], int] = {}


def task_cpus() -> int:
    """The cores Spark gave this task (``spark.task.cpus``), not the machine's."""
    from pyspark import TaskContext

    ctx = TaskContext.get()
    if ctx is not None:
        try:
            return max(1, int(ctx.cpus()))
        except (AttributeError, TypeError, ValueError):
            pass
    return max(1, int(os.environ.get("OMP_NUM_THREADS") or 1))  # Spark sets it to spark.task.cpus


def model_for(spec: ModelSpec) -> SentimentModel:
    """The worker's copy of the shipped model: loaded (and its checksums verified) on first use, then cached."""
    threads = task_cpus()
    key = (spec.name, spec.runtime, threads)
    model = _MODELS.get(key)
    if model is not None:
        return model
    from pyspark import SparkFiles

    import senti

    path = SparkFiles.get(spec.name)
    if not os.path.isfile(os.path.join(path, MANIFEST)):
        raise BundleError(f"{spec.name}: the model was not shipped to this executor (no {path}/{MANIFEST})")
    if sha256_file(os.path.join(path, MANIFEST)) != spec.checksum:
        raise BundleError(f"{path}: this executor's copy of the model differs from the one the driver verified")
    model = senti.load(path, spec.runtime, threads)  # every file's sha256 and the manifest's own checked again
    if "torch" in sys.modules:  # a neural model: torch's intra-op threads to the task's cores
        from senti.runtime.cpu import configure_cpu

        configure_cpu(threads)
    _MODELS[key] = model
    LOADS[key] = LOADS.get(key, 0) + 1
    return model


def texts_of(batch: pd.Series, spec: ModelSpec) -> list[str]:
    """The texts of a column batch, a missing cell scored as an empty text (as ``senti predict --input``)."""
    texts = _with_text(batch.to_frame("text"), "text", spec.source)[1]
    if spec.strict_utf8:
        bad = next((i for i, t in enumerate(texts) if "\ufffd" in t), None)
        if bad is not None:
            raise DataError(f"{spec.source}: not valid UTF-8 (a text holds undecodable bytes: {texts[bad][:60]!r}); "
                            "re-save it as UTF-8, name its encoding with --encoding (e.g. cp1252), or pass "
                            "--errors replace")
    return texts


def score_frame(model: SentimentModel, texts: list[str], spec: ModelSpec) -> pd.DataFrame:
    """The prediction columns of ``texts`` (:func:`senti.scoring.records.prediction_columns`), with float
    columns as the doubles a CSV written by ``senti predict`` reads back as."""
    columns = prediction_columns(model.labels, model.predict_proba(texts, spec.batch_size), texts)
    for name, values in columns.items():
        if isinstance(values, np.ndarray) and values.dtype == np.float32:
            # float32 → its shortest decimal (what pandas writes) → double: 0.123457, not 0.12345699965953827
            columns[name] = values.astype(str).astype(np.float64)
    return pd.DataFrame(columns)


def score_batches(spec: ModelSpec, batches: Iterator[pd.Series]) -> Iterator[pd.DataFrame]:
    """Iterator pandas UDF body of the struct column: the model found once, then every batch scored."""
    model = model_for(spec)
    for batch in batches:
        texts = texts_of(batch, spec)
        out = score_frame(model, texts, spec)
        if spec.counter is not None:
            spec.counter.add(len(out))
        yield out


def label_batches(spec: ModelSpec, batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
    """Iterator pandas UDF body of the label column."""
    model = model_for(spec)
    for batch in batches:
        yield pd.Series(model.predict(texts_of(batch, spec), spec.batch_size), dtype=object)


def worker_state() -> dict[str, Any]:
    """This worker's process id, the models it loaded and how often, and torch's threads (tests, benchmarks)."""
    import resource

    torch = sys.modules.get("torch")
    return {"pid": os.getpid(), "loads": {"|".join(map(str, k)): v for k, v in LOADS.items()},
            "torch_threads": torch.get_num_threads() if torch is not None else None,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
