"""``senti predict --engine spark``: score a file or a folder of files on Spark into Parquet, CSV or JSONL.

One output row per input row, every input column kept, then the columns of ``senti predict --input``
(``pred_label``, ``pred_confidence``, ``prob_<label>``, ``pred_empty``). The rows keep the input's order across
the output's part files (``part-00000``, ``part-00001``, ...): when the input is read into fewer partitions than
there are cores (or ``--partitions`` asks for another number), the rows are spread by ranges of their position,
not hashed. The output is a folder, as Spark writes.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from senti.errors import ConfigError, DataError, SentiError
from senti.spark.udf import predict_proba_udf

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

COMPRESSIONS = (".gz", ".bz2", ".zst", ".lz4", ".snappy", ".deflate")
FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "json", ".json": "json", ".ndjson": "json",
           ".parquet": "parquet", ".txt": "text"}
OUTPUTS = ("csv", "tsv", "json", "parquet")
_ROW = "__senti_row"
_PRED = "__senti_prediction"


@contextlib.contextmanager
def spark_session(master: str = "local[*]", app_name: str = "senti predict") -> Iterator[SparkSession]:
    """The active SparkSession if there is one (left running), else a new one on ``master`` (stopped after)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:
        raise ConfigError("the Spark engine needs pyspark: pip install 'senti[spark]' (and Java 17+)") from e
    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    builder = SparkSession.builder.master(master).appName(app_name).config("spark.ui.showConsoleProgress", "false")
    if master.startswith("local") and not os.environ.get("PYSPARK_PYTHON"):
        os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers: this interpreter, with its senti
    try:
        spark = builder.getOrCreate()
    except Exception as e:  # the JVM did not start: no java, a bad master URL
        raise ConfigError(f"could not start Spark on {master!r}: {str(e).splitlines()[0]} "
                          "(Spark needs Java 17+: apt-get install default-jre-headless)") from e
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        spark.stop()


def _name_format(name: str) -> str | None:
    name = name.rstrip("/").lower()
    while name.endswith(COMPRESSIONS):
        name = name[: name.rfind(".")]
    return next((f for suffix, f in FORMATS.items() if name.endswith(suffix)), None)


def file_format(spark: SparkSession | None, path: str, output: bool = False) -> str:
    """csv, tsv, json, parquet or text from the name (compression suffixes ignored); a folder without one: from
    the names of the files in it (any file system Spark reads)."""
    fmt = _name_format(path)
    if fmt is None and not output and spark is not None:
        fmt = _folder_format(spark, path)
    if fmt is None or (output and fmt not in OUTPUTS):
        kinds = (".parquet, .csv, .tsv or .jsonl (Spark writes a folder of part files of that format)" if output
                 else ".csv, .tsv, .jsonl, .parquet or .txt (or a folder of them)")
        raise DataError(f"{path}: cannot tell the format from the name; use {kinds}")
    return fmt


def _folder_format(spark: SparkSession, path: str) -> str | None:
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    fs = hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(hpath):
        raise DataError(f"{path}: no such file or folder")
    if not fs.getFileStatus(hpath).isDirectory():
        return None
    names = [s.getPath().getName() for s in fs.listStatus(hpath)]
    found = {_name_format(n) for n in names if not n.startswith(("_", "."))} - {None}
    if len(found) > 1:
        raise DataError(f"{path}: a folder of several formats ({', '.join(sorted(found))}); score one at a time")
    return found.pop() if found else None


def read_input(spark: SparkSession, path: str, fmt: str, encoding: str, sep: str | None) -> DataFrame:
    """The input as Spark reads it, its cells as ``senti predict`` reads them: CSV cells as strings (empty, not
    null), quoted fields with newlines kept, a quote inside a field doubled (RFC 4180)."""
    if fmt in ("csv", "tsv"):
        from senti.predict_io import _separator

        reader = (spark.read.option("header", True).option("multiLine", True).option("escape", '"')
                  .option("sep", _separator(sep) if sep else ("," if fmt == "csv" else "\t"))
                  .option("encoding", encoding).option("mode", "FAILFAST"))
        if fmt == "tsv" and _quotes_are_text(path, encoding):
            reader = reader.option("quote", "\u0000")  # as senti.data.readers.tsv_quoting decides for pandas
        return reader.csv(path).na.fill("")
    if sep is not None:
        raise DataError(f"{path}: a separator (--sep) applies to CSV and TSV files, not {fmt}")
    if fmt == "json":
        return spark.read.option("encoding", encoding).option("mode", "FAILFAST").json(path)
    if fmt == "text":
        return spark.read.text(path).withColumnRenamed("value", "text")
    return spark.read.parquet(path)


def _quotes_are_text(path: str, encoding: str) -> bool:
    """A local corpus TSV whose quotes do not enclose whole fields (``"Wow" is all I can say<TAB>pos``)."""
    import csv

    from senti.data.readers import codec, tsv_quoting

    return "://" not in path and os.path.isfile(path) and tsv_quoting(path, codec(encoding, "replace"),
                                                                      "replace") == csv.QUOTE_NONE


def spread(df: DataFrame, n: int) -> DataFrame:
    """``n`` partitions of consecutive rows, in order: ranges of each row's position (a sampling pass), not a
    hash, so part file i holds the rows before part file i + 1's."""
    from pyspark.sql.functions import monotonically_increasing_id

    return (df.withColumn(_ROW, monotonically_increasing_id()).repartitionByRange(n, _ROW)
            .sortWithinPartitions(_ROW).drop(_ROW))


def with_predictions(df: DataFrame, udf: Any, text_column: str) -> DataFrame:
    """``df`` with the prediction columns appended (a column of the same name replaced in place, as
    ``senti predict`` does)."""
    from pyspark.sql.functions import col

    fields = udf.returnType.fieldNames()
    scored = df.withColumn(_PRED, udf(col(f"`{text_column}`")))
    keep = [col(f"{_PRED}.`{c}`").alias(c) if c in fields else col(f"`{c}`") for c in df.columns]
    return scored.select(*keep, *(col(f"{_PRED}.`{f}`").alias(f) for f in fields if f not in df.columns))


def write_output(df: DataFrame, path: str, fmt: str) -> None:
    writer = df.write.mode("overwrite")
    if fmt in ("csv", "tsv"):
        # Every value quoted, quotes doubled, white space kept: a text of spaces stays one; pandas reads it back.
        writer = (writer.option("header", True).option("sep", "," if fmt == "csv" else "\t")
                  .option("quoteAll", True).option("escape", '"').option("ignoreLeadingWhiteSpace", False)
                  .option("ignoreTrailingWhiteSpace", False))
    writer.format(fmt).save(path)


def score_files(spark: SparkSession, run_or_bundle: Any, src: str, dst: str, text_column: str = "text",
                partitions: int | None = None, batch_size: int | None = None, runtime: str = "auto",
                encoding: str = "utf-8", encoding_errors: str = "strict", sep: str | None = None) -> int:
    """Score ``src`` (a file or folder, any URI Spark reads) into ``dst`` (a folder; Parquet, CSV, TSV or JSONL
    by extension); returns the number of rows scored. The model is verified before any input is read."""
    if partitions is not None and partitions < 1:
        raise ConfigError(f"partitions must be ≥ 1, got {partitions}")
    if encoding_errors not in ("strict", "replace"):
        raise ConfigError(f"encoding errors must be strict or replace, got {encoding_errors!r}")
    out_fmt = file_format(spark, dst, output=True)
    _refuse_overwriting(src, dst)
    counter = spark.sparkContext.accumulator(0)
    fmt = file_format(spark, src)
    strict = encoding_errors == "strict" and fmt != "parquet" and encoding.lower().replace("_", "-") in (
        "utf-8", "utf8")
    udf = predict_proba_udf(run_or_bundle, runtime=runtime, batch_size=batch_size, spark=spark, source=src,
                            strict_utf8=strict, counter=counter)
    with _job_errors(src):
        df = read_input(spark, src, fmt, encoding, sep)
        if text_column not in df.columns:
            raise DataError(f"{src}: no text column {text_column!r}; columns present: {df.columns} "
                            "(choose one with --text-column)")
        n = partitions or spark.sparkContext.defaultParallelism
        if partitions is not None or df.rdd.getNumPartitions() < n:
            df = spread(df, n)
        write_output(with_predictions(df, udf, text_column), dst, out_fmt)
    return int(counter.value)


def _refuse_overwriting(src: str, dst: str) -> None:
    """Spark's overwrite empties ``dst`` first: never the input, never a local folder that is not Spark's."""
    if os.path.abspath(src.rstrip("/")) == os.path.abspath(dst.rstrip("/")):
        raise ConfigError(f"{dst}: the output is the input; write the predictions elsewhere")
    if "://" not in dst and os.path.isdir(dst) and os.listdir(dst) and not os.path.exists(
            os.path.join(dst, "_SUCCESS")):
        raise ConfigError(f"{dst}: a folder that Spark did not write; refusing to replace it")
    if "://" not in dst and os.path.isfile(dst):
        raise ConfigError(f"{dst}: a file; Spark writes a folder of part files there, so remove it first")


@contextlib.contextmanager
def _job_errors(src: str) -> Iterator[None]:
    """A SentiError raised in a task (bad bytes, a bundle that differs on an executor), or a malformed input,
    as one line at the driver rather than a page of JVM stack."""
    try:
        yield
    except SentiError:
        raise
    except Exception as e:
        text = str(e)
        found = re.search(r"senti\.errors\.(DataError|BundleError|ConfigError): ([^\n]+)", text)
        if found:
            from senti import errors

            raise getattr(errors, found.group(1))(found.group(2)) from None
        if "MALFORMED_RECORD" in text or "Malformed records" in text:
            raise DataError(f"{src}: a malformed record ({text.splitlines()[0][:300]})") from e
        if "PATH_NOT_FOUND" in text or "Path does not exist" in text:
            raise DataError(f"{src}: no such file or folder") from e
        raise
