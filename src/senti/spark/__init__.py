"""Scoring on Apache Spark (``pip install 'senti[spark]'``, Java 17+).

    >>> from senti.spark import predict_udf, predict_proba_udf                      # doctest: +SKIP
    >>> df = df.withColumn("sentiment", predict_udf("runs/imdb")("review"))          # doctest: +SKIP
    >>> df = df.withColumn("s", predict_proba_udf("runs/imdb")("review")).select("*", "s.*")  # doctest: +SKIP

The bundle is verified on the driver (a tampered one fails there, before any task runs), shipped to the
executors once with the job's files, and loaded once per Python worker, whose threads follow ``spark.task.cpus``.
``score_files`` is ``senti predict --engine spark``: files or folders in, a folder of Parquet / CSV / JSONL out.

``import senti`` never imports this package, nor pyspark.
"""

from __future__ import annotations

try:
    import pyspark  # noqa: F401
except ImportError as e:  # pragma: no cover - the message is the point
    from senti.errors import ConfigError

    raise ConfigError("senti.spark needs pyspark: pip install 'senti[spark]' (and Java 17+)") from e

from senti.spark.files import score_files, spark_session, with_predictions
from senti.spark.udf import predict_proba_udf, predict_udf, prediction_schema, ship_model

__all__ = ["predict_proba_udf", "predict_udf", "prediction_schema", "score_files", "ship_model", "spark_session",
           "with_predictions"]
