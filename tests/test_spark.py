"""Scoring on a real local Spark (`local[2]`, one session for the module): `senti predict --engine spark` gives
the rows of `senti predict --input`, in order, for a neural and an n-gram model; a Python worker killed mid-job
loses and doubles no row; a tampered bundle fails at the driver before any task; the model is loaded once per
worker, not per batch. Needs Java 17+ and pyspark (`senti[spark]`): skipped with the reason when missing, failed
when CI=true."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from senti.cli import main
from tests.conftest import synthetic_reviews

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]

SPECIAL = ["", "   ", 'a "quoted" word, a back\\slash and a comma: great', "two\nlines: awful", "café ☕ superb",
           "\tawful\t"]


def _missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "no pyspark: pip install -e '.[spark]' (scripts/setup.sh does)"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java for Spark: apt-get install default-jre-headless (scripts/setup.sh does, as root)"
    return None


@pytest.fixture(scope="module")
def spark():
    reason = _missing()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from pyspark import cloudpickle
    from pyspark.sql import SparkSession

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the test's own UDFs travel by value
    saved = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (SparkSession.builder.master("local[2,2]")  # 2 cores; a failed task is tried twice
               .appName("senti-tests").config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", "2")
               .config("spark.driver.memory", "512m").config("spark.executor.memory", "512m")
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", "64")  # several batches per task
               # Spark would otherwise set the workers' OMP_NUM_THREADS itself: leave the threads to senti
               .config("spark.executorEnv.OMP_NUM_THREADS", str(os.cpu_count() or 2))
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    if saved is None:
        os.environ.pop("PYSPARK_PYTHON", None)
    else:
        os.environ["PYSPARK_PYTHON"] = saved


@pytest.fixture(scope="module")
def reviews(tmp_path_factory) -> Path:
    """A CSV of 300 synthetic reviews and the awkward texts: empty, white space, quotes, newlines, non-ASCII."""
    df = synthetic_reviews(300, seed=7)
    df = pd.concat([df, pd.DataFrame({"text": SPECIAL, "label": "positive"})], ignore_index=True)
    df.insert(0, "id", [f"r{i:04d}" for i in range(len(df))])
    path = tmp_path_factory.mktemp("spark-in") / "reviews.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def nbsvm_dir(tmp_path_factory) -> Path:
    import senti

    out = tmp_path_factory.mktemp("spark-nbsvm") / "nbsvm"
    senti.train(out, train=synthetic_reviews(600, seed=2), model="nbsvm", progress=False, report=False)
    return out


def local_predict(run: Path, src: Path, dst: Path, *args: str) -> pd.DataFrame:
    r = CliRunner().invoke(main, ["predict", str(run), "--input", str(src), "--output", str(dst), *args])
    assert r.exit_code == 0, r.output
    return pd.read_csv(dst, dtype=str, keep_default_na=False)


def spark_predict(run: Path, src: Path, dst: Path, *args: str) -> pd.DataFrame:
    r = CliRunner().invoke(main, ["predict", str(run), "--input", str(src), "--output", str(dst), "--engine",
                                  "spark", *args])
    assert r.exit_code == 0, r.output
    return read_output(dst)


def read_output(folder: Path) -> pd.DataFrame:
    """A Spark output folder, its part files in order, every cell as text."""
    parts = sorted(p for p in folder.iterdir() if p.name.startswith("part-"))
    if folder.suffix == ".parquet":
        frames = [pd.read_parquet(p).astype(str) for p in parts]  # a null would read "None", not ""
    else:
        frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in parts]
    return pd.concat(frames, ignore_index=True)


def assert_same_rows(local: pd.DataFrame, spark: pd.DataFrame) -> None:
    """Same columns in the same order, the same rows in the same order; probabilities equal as numbers."""
    assert list(spark.columns) == list(local.columns)
    assert len(spark) == len(local)
    for c in local.columns:
        if c.startswith("prob_") or c == "pred_confidence":
            np.testing.assert_array_equal(spark[c].astype(float), local[c].astype(float), err_msg=c)
        elif c == "pred_empty":
            assert (spark[c].str.lower() == local[c].str.lower()).all()
        else:
            assert spark[c].tolist() == local[c].tolist(), c


def test_a_neural_model_on_spark_gives_the_local_rows_in_order(spark, tiny_run, reviews, tmp_path):
    run = tiny_run.run_dir
    local = local_predict(run, reviews, tmp_path / "local.csv")
    assert local["pred_empty"].str.lower().eq("true").sum() == 2  # "" and "   "
    assert_same_rows(local, spark_predict(run, reviews, tmp_path / "out.parquet"))


def test_an_ngram_model_from_parquet_and_a_folder(spark, nbsvm_dir, reviews, tmp_path):
    local = local_predict(nbsvm_dir, reviews, tmp_path / "local.csv")
    one = tmp_path / "reviews.parquet"  # one file, one row group: spread over both cores, in order
    pd.read_csv(reviews, dtype=str, keep_default_na=False).to_parquet(one, index=False)
    assert_same_rows(local, spark_predict(nbsvm_dir, one, tmp_path / "out.csv"))
    folder = tmp_path / "parts"  # a folder of JSONL files: Spark orders the files as it likes, so compare by id
    folder.mkdir()
    frame = pd.read_csv(reviews, dtype=str, keep_default_na=False)
    for i, part in enumerate((frame.iloc[:150], frame.iloc[150:])):
        part.to_json(folder / f"part{i}.jsonl", orient="records", lines=True, force_ascii=False)
    got = spark_predict(nbsvm_dir, folder, tmp_path / "folder.parquet", "--partitions", "3")
    assert_same_rows(local, got.sort_values("id", ignore_index=True)[list(local.columns)])


def test_non_utf8_bytes_fail_or_are_replaced_as_the_local_path_does(spark, nbsvm_dir, tmp_path):
    src = tmp_path / "latin1.csv"
    src.write_bytes(b"id,text\n1,a great film\n2,caf\xe9 awful\n3,\n")
    local = CliRunner().invoke(main, ["predict", str(nbsvm_dir), "--input", str(src), "--output",
                                      str(tmp_path / "l.csv")])
    remote = CliRunner().invoke(main, ["predict", str(nbsvm_dir), "--input", str(src), "--output",
                                       str(tmp_path / "s.csv"), "--engine", "spark"])
    assert local.exit_code == remote.exit_code == 1
    assert "not valid UTF-8" in local.output and "not valid UTF-8" in remote.output, remote.output
    assert "--errors replace" in remote.output and "Traceback" not in remote.output
    replaced = local_predict(nbsvm_dir, src, tmp_path / "l.csv", "--errors", "replace")
    assert replaced["text"][1] == "caf\ufffd awful"
    assert_same_rows(replaced, spark_predict(nbsvm_dir, src, tmp_path / "s.csv", "--errors", "replace"))


def _jobs(spark) -> int:
    return len(spark.sparkContext.statusTracker().getJobIdsForGroup())


def test_a_tampered_bundle_fails_at_the_driver_before_any_task(spark, tiny_run, reviews, tmp_path):
    import senti
    from senti.spark import predict_udf

    bad = tmp_path / "bad"
    shutil.copytree(tiny_run.model.source, bad)
    vocab = json.loads((bad / "vocab.json").read_text())
    vocab[5], vocab[6] = vocab[6], vocab[5]  # two words swapped: the model would score silently wrong
    (bad / "vocab.json").write_text(json.dumps(vocab))
    before = _jobs(spark)
    with pytest.raises(senti.BundleError, match="checksum"):
        predict_udf(bad)
    r = CliRunner().invoke(main, ["predict", str(bad), "--input", str(reviews), "--output",
                                  str(tmp_path / "out.parquet"), "--engine", "spark"])
    assert r.exit_code == 1 and "checksum" in r.output and "Traceback" not in r.output, r.output
    assert _jobs(spark) == before  # no job, so no task, ran
    assert not (tmp_path / "out.parquet").exists()


def test_a_killed_worker_is_retried_and_every_row_comes_out_once(spark, tiny_run, reviews, tmp_path):
    from pyspark import TaskContext
    from pyspark.sql.functions import col, pandas_udf

    from senti.spark import predict_proba_udf, with_predictions
    from senti.spark.files import read_input, spread

    marker = str(tmp_path / "killed")

    @pandas_udf("string")
    def die_once(texts: pd.Series) -> pd.Series:  # the first attempt of partition 1 loses its Python worker
        ctx = TaskContext.get()
        if ctx.partitionId() == 1 and ctx.attemptNumber() == 0 and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)
        return texts

    df = spread(read_input(spark, str(reviews), "csv", "utf-8", None), 4)
    scored = with_predictions(df.withColumn("text", die_once(col("text"))), predict_proba_udf(tiny_run), "text")
    got = scored.toPandas()
    assert os.path.exists(marker), "the worker was never killed"
    want = pd.read_csv(reviews, dtype=str, keep_default_na=False)
    assert got["id"].is_unique and sorted(got["id"]) == sorted(want["id"])
    got = got.set_index("id").loc[want["id"]]
    proba = tiny_run.model.predict_proba(want["text"].tolist())
    assert got["pred_label"].tolist() == tiny_run.model.classes_[proba.argmax(1)].tolist()
    np.testing.assert_allclose(got["prob_positive"], proba[:, tiny_run.model.labels.index("positive")], atol=1e-6)


def test_the_model_is_loaded_once_per_worker_and_never_pickled(spark, tiny_run, reviews, tmp_path):
    from pyspark import cloudpickle

    from senti.spark import predict_udf
    from senti.spark.files import read_input, spread

    udf = predict_udf(tiny_run)
    assert len(cloudpickle.dumps(udf.func)) < 4_000 < (tiny_run.model.source / "model.safetensors").stat().st_size
    df = spread(read_input(spark, str(reviews), "csv", "utf-8", None), 6)  # 6 tasks of several Arrow batches
    labels = df.withColumn("sentiment", udf("text")).select("sentiment").toPandas()["sentiment"]
    assert labels.tolist() == tiny_run.model.predict(pd.read_csv(reviews, keep_default_na=False)["text"].tolist()
                                                     ).tolist()

    def report(frames):
        from senti.spark.worker import worker_state

        for _ in frames:
            pass
        yield pd.DataFrame({"state": [json.dumps(worker_state())]})

    states = [json.loads(s) for s in df.mapInPandas(report, "state string").toPandas()["state"]]
    loads = [n for s in states for n in s["loads"].values()]
    assert loads and set(loads) == {1}, states  # a worker that scored loaded the model exactly once
    assert {s["torch_threads"] for s in states if s["loads"]} == {1}  # spark.task.cpus, not the 2 cores


def test_import_senti_and_the_cli_help_do_not_import_pyspark():
    code = ("import contextlib, io, sys, senti\nfrom senti.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    main(['predict', '--help'])\nprint('pyspark' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr
