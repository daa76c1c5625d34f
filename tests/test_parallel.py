"""Scoring on several worker processes gives what one process gives, in input order, for every runtime."""

import subprocess
import sys

import numpy as np
import pytest

import senti
from senti import SentimentModel
from senti.parallel import CHUNK
from senti.runtime.onnx import export_onnx

from .conftest import synthetic_reviews


@pytest.fixture(scope="module")
def texts() -> list[str]:
    df = synthetic_reviews(CHUNK * 2 + 345, seed=11)  # three chunks, the last one short
    return [t if i % 7 else t + " " + t for i, t in enumerate(df["text"])]  # mixed lengths


def test_two_processes_score_like_one(tiny_run, texts):
    model = senti.load(tiny_run.run_dir, runtime="torch")
    one = model.predict_proba(texts)
    two = model.predict_proba(texts, n_process=2)
    np.testing.assert_allclose(two, one, atol=1e-6)
    assert list(model.predict(texts, n_process=2)) == list(model.classes_[one.argmax(1)])
    assert model._pool is not None and model._pool.n == 2  # kept for the next call
    with pytest.raises(ValueError, match="n_process"):
        model.predict_proba(texts, n_process=0)


def test_workers_need_a_saved_model(tiny_run, texts):
    model = SentimentModel(tiny_run.model.scorer, tiny_run.model.labels)  # the same model, never saved
    with pytest.raises(ValueError, match="needs a saved model"):
        model.predict_proba(texts, n_process=2)
    assert tiny_run.model.source is not None  # a trained run's model knows its bundle


def test_onnx_workers_open_their_own_session(tiny_run, texts, tmp_path):
    import shutil

    run = shutil.copytree(tiny_run.run_dir, tmp_path / "run")
    export_onnx(run)
    model = SentimentModel.load(run, runtime="onnx")
    np.testing.assert_allclose(model.predict_proba(texts, n_process=2), model.predict_proba(texts), atol=1e-6)


def test_cli_n_process_writes_the_same_file(tiny_run, texts, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(texts) + "\n", encoding="utf-8")
    outs = []
    for n in (1, 2):
        dst = tmp_path / f"out{n}.csv"
        done = subprocess.run([sys.executable, "-m", "senti.cli", "predict", str(tiny_run.run_dir), "--input",
                               str(src), "--output", str(dst), "--n-process", str(n)], capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        outs.append(dst.read_text(encoding="utf-8"))
    assert outs[0] == outs[1]
    assert outs[0].count("\n") == len(texts) + 1
