"""The driver's side: verify a bundle, ship it to the executors once, and build the column functions.

``predict_udf`` and ``predict_proba_udf`` are iterator pandas UDFs: Spark hands them Arrow batches of texts,
and each Python worker loads the model once (:mod:`senti.spark.worker`) for all the batches and tasks it runs.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from senti.bundle import MANIFEST, bundle_dir
from senti.errors import BundleError, ConfigError
from senti.io import sha256_file
from senti.spark.worker import ModelSpec, label_batches, score_batches

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.types import StructType

    from senti.pipeline import SentimentModel

# Bundles already added to a Spark application: (application id, manifest checksum) → file name.
_SHIPPED: dict[tuple[str, str], str] = {}
_STAGING: list[str] = []


def bundle_path(run_or_bundle: Any) -> Path:
    """The bundle folder of a run directory, a bundle folder, a ``senti.Run`` or a loaded ``SentimentModel``."""
    source = getattr(getattr(run_or_bundle, "model", run_or_bundle), "source", run_or_bundle)
    if source is None:
        raise ConfigError("the model was never saved: save it (model.save(path)) to score it on Spark")
    if not isinstance(source, (str, Path)):
        raise ConfigError(f"expected a run directory, a bundle folder, a Run or a SentimentModel; "
                          f"got {type(run_or_bundle).__name__}")
    if not Path(source).exists():
        raise BundleError(f"{source}: does not exist; pass a run directory or its model/ folder")
    return bundle_dir(source)


def ship_model(spark: SparkSession, run_or_bundle: Any, runtime: str = "auto") -> tuple[SentimentModel, str, str]:
    """Verify the bundle on the driver and add it to the job's files once; returns the model (as loaded on the
    driver), its name among the job's files and the manifest checksum the executors check against.

    The bundle is copied first and the copy verified, so what ships is what was checked; a tampered bundle fails
    here, before any task runs."""
    import senti

    source = bundle_path(run_or_bundle)
    if not (source / MANIFEST).is_file():
        raise BundleError(f"{source}: not a senti model (no {MANIFEST}); pass a run directory or its model/ folder")
    staging = tempfile.mkdtemp(prefix="senti-spark-")
    _STAGING.append(staging)
    staged = Path(staging) / "bundle"
    shutil.copytree(source, staged, ignore=shutil.ignore_patterns(".*"))
    try:
        model = senti.load(staged, runtime)  # every checksum verified, the network built: a bad bundle fails here
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    model.source = source  # the user's bundle, not the staged copy
    checksum = sha256_file(staged / MANIFEST)
    sc = spark.sparkContext
    key = (sc.applicationId, checksum)
    if key in _SHIPPED:  # this application has it already: the new copy served only to verify
        shutil.rmtree(staging, ignore_errors=True)
        return model, _SHIPPED[key], checksum
    name = f"senti-model-{checksum[:20]}"
    sc.addFile(str(staged.rename(staged.with_name(name))), recursive=True)
    _SHIPPED[key] = name
    return model, name, checksum


@atexit.register
def _remove_staging() -> None:
    for folder in _STAGING:
        shutil.rmtree(folder, ignore_errors=True)


def prediction_schema(labels: list[str]) -> StructType:
    """The struct of one prediction, fields named as the columns of a file scored by ``senti predict``:
    ``pred_label``, ``pred_confidence``, ``prob_<label>`` per class, ``pred_empty``."""
    from pyspark.sql.types import BooleanType, DoubleType, StringType, StructField, StructType

    return StructType([StructField("pred_label", StringType()), StructField("pred_confidence", DoubleType()),
                       *(StructField(f"prob_{lab}", DoubleType()) for lab in labels),
                       StructField("pred_empty", BooleanType())])


def _session(spark: SparkSession | None) -> SparkSession:
    from pyspark.sql import SparkSession

    spark = spark or SparkSession.getActiveSession()
    if spark is None:
        raise ConfigError("no active SparkSession: create one first (SparkSession.builder.getOrCreate()), or pass "
                          "spark=")
    return spark


def predict_proba_udf(run_or_bundle: Any, *, runtime: str = "auto", batch_size: int | None = None,
                      spark: SparkSession | None = None, **spec: Any) -> Any:
    """A column function that scores a text column into a struct: ``pred_label``, ``pred_confidence``,
    ``prob_<label>`` per class and ``pred_empty`` (the columns of a file scored by ``senti predict``)::

        scored = df.withColumn("s", predict_proba_udf("runs/imdb")("review")).select("*", "s.*").drop("s")

    ``run_or_bundle``: a run directory, a bundle folder, a ``senti.Run`` or a saved ``SentimentModel``."""
    from pyspark.sql.functions import pandas_udf

    model, name, checksum = ship_model(_session(spark), run_or_bundle, runtime)
    spec_ = ModelSpec(name, checksum, runtime, batch_size, tuple(model.labels), **spec)

    def predict_proba(batches: Iterator[pd.Series]) -> Iterator[pd.DataFrame]:
        yield from score_batches(spec_, batches)

    return pandas_udf(predict_proba, prediction_schema(model.labels))  # type: ignore[call-overload]


def predict_udf(run_or_bundle: Any, *, runtime: str = "auto", batch_size: int | None = None,
                spark: SparkSession | None = None) -> Any:
    """A column function that labels a text column (a string column of the model's labels)::

        df.withColumn("sentiment", predict_udf("runs/imdb")("review"))

    The model ships to the executors once and each Python worker loads it once; torch / ONNX Runtime use
    ``spark.task.cpus`` threads. Probabilities: :func:`predict_proba_udf`."""
    from pyspark.sql.functions import pandas_udf

    model, name, checksum = ship_model(_session(spark), run_or_bundle, runtime)
    spec_ = ModelSpec(name, checksum, runtime, batch_size, tuple(model.labels))

    def predict(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        yield from label_batches(spec_, batches)

    return pandas_udf(predict, "string")  # type: ignore[call-overload]
